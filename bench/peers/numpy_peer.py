"""NumPy peer: the examples/*.tg models written with NumPy (OpenBLAS for the GEMMs), with a
hand-written backward pass for mlp's training step. It is also the reference that
peers/check.py compares the other peers against."""
import numpy as np

from peers import MLP_PARAMS, NORM_EPS, SGD_LR, SGD_MOMENTUM, model_of

try:  # erf for the exact gelu; SciPy comes with JAX, the fallback keeps NumPy alone usable
    from scipy.special import erf as _erf
except ImportError:  # pragma: no cover
    def _erf(x):
        # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): below f32 rounding of gelu's result
        s = np.sign(x)
        a = np.abs(x)
        t = 1.0 / (1.0 + 0.3275911 * a)
        p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
        return (s * (1.0 - p * np.exp(-a * a))).astype(x.dtype)

F32 = np.float32


def relu(x):
    return np.maximum(x, F32(0))


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def mlp_forward(p, x):
    h1 = relu(x @ p["w1"] + p["b1"])
    h2 = relu(h1 @ p["w2"] + p["b2"])
    return h1, h2, h2 @ p["w3"] + p["b3"]


def conv2d(x, w, padding):
    """NCHW x OIHW, stride 1, symmetric zero padding: im2col and one GEMM."""
    n, c, _, _ = x.shape
    o, _, kh, kw = w.shape
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))  # N C OH OW kh kw
    oh, ow = win.shape[2], win.shape[3]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    y = cols @ w.reshape(o, c * kh * kw).T  # [N*OH*OW, O]
    return y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)


def max_pool2(x):
    n, c, h, w = x.shape
    return x[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def batch_norm(x, m, v, g, b):
    scale = g / np.sqrt(v + F32(NORM_EPS))
    shape = (1, -1, 1, 1)
    return (x - m.reshape(shape)) * scale.reshape(shape) + b.reshape(shape)


def layer_norm(x, g, b):
    mu = x.mean(axis=-1, keepdims=True)
    d = x - mu
    var = (d * d).mean(axis=-1, keepdims=True)
    return d / np.sqrt(var + F32(NORM_EPS)) * g + b


def gelu(x):
    return F32(0.5) * x * (F32(1) + _erf(x * F32(0.7071067811865476)))


def lenet(p, img):
    a = max_pool2(relu(conv2d(img, p["c1"], 2) + p["c1b"]))
    b = max_pool2(relu(conv2d(a, p["c2"], 0) + p["c2b"]))
    h = relu(b.reshape(b.shape[0], -1) @ p["f1"] + p["f1b"])
    h2 = relu(h @ p["f2"] + p["f2b"])
    return h2 @ p["f3"] + p["f3b"]


def resnet_block(p, x):
    h = relu(batch_norm(conv2d(x, p["w1"], 1), p["m1"], p["v1"], p["g1"], p["b1"]))
    return relu(batch_norm(conv2d(h, p["w2"], 1), p["m2"], p["v2"], p["g2"], p["b2"]) + x)


def transformer(p, x, mask, heads=12):
    b, s, d = x.shape
    hd = d // heads

    def split(t):
        return t.reshape(b, s, heads, hd).transpose(0, 2, 1, 3)

    q = split(x @ p["wq"] + p["bq"])
    k = split(x @ p["wk"] + p["bk"])
    v = split(x @ p["wv"] + p["bv"])
    scores = q @ k.transpose(0, 1, 3, 2) * F32(0.125) + mask
    ctx = (softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(b, s, d)
    h = layer_norm(x + ctx @ p["wo"] + p["bo"], p["g1"], p["n1"])
    return layer_norm(h + gelu(h @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"], p["g2"], p["n2"])


def chain(a, b):
    with np.errstate(over="ignore"):
        return np.tanh(a * F32(1.5) + b) * (F32(1) / (F32(1) + np.exp(a - b))) + relu(a) / (F32(1) + np.exp(-b))


class MlpTrainer:
    """One SGD step with momentum (PyTorch's rule: buf = m*buf + g; p -= lr*buf) per call,
    updating the weights in place; reset() returns to the loaded weights."""

    def __init__(self, data):
        self.init = {k: np.array(data[k], F32) for k in MLP_PARAMS}
        self.x = np.ascontiguousarray(data["input.x"], F32)
        self.y = np.asarray(data["input.y"]).astype(np.int64)
        self.reset()

    def reset(self):
        self.p = {k: v.copy() for k, v in self.init.items()}
        self.buf = {k: np.zeros_like(v) for k, v in self.init.items()}

    def step(self):
        p, x, y = self.p, self.x, self.y
        n = x.shape[0]
        h1, h2, logits = mlp_forward(p, x)
        m = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - m)
        s = e.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = np.mean(np.log(s[:, 0]) + m[:, 0] - logits[rows, y], dtype=F32)
        d3 = e / s
        d3[rows, y] -= F32(1)
        d3 *= F32(1.0 / n)
        g = {"w3": h2.T @ d3, "b3": d3.sum(axis=0)}
        d2 = d3 @ p["w3"].T
        d2 *= h2 > 0
        g["w2"], g["b2"] = h1.T @ d2, d2.sum(axis=0)
        d1 = d2 @ p["w2"].T
        d1 *= h1 > 0
        g["w1"], g["b1"] = x.T @ d1, d1.sum(axis=0)
        for k in MLP_PARAMS:
            buf = self.buf[k]
            buf *= F32(SGD_MOMENTUM)
            buf += g[k]
            p[k] -= F32(SGD_LR) * buf
        return np.asarray(loss, F32)

    def outputs(self):
        self.reset()
        out = {"loss": self.step()}
        out.update({k: v.copy() for k, v in self.p.items()})
        return out


def prepare(workload, data, threads):
    model, graph = model_of(workload)
    d = {k: np.ascontiguousarray(v) for k, v in data.items()}
    if model == "mlp" and graph == "train":
        t = MlpTrainer(d)
        return t.step, t.outputs
    if model == "mlp":
        x = d["input.x"]
        call, name = (lambda: softmax(mlp_forward(d, x)[2])), "probs"
    elif model == "lenet":
        img = d["input.img"]
        call, name = (lambda: lenet(d, img)), "logits"
    elif model == "resnet_block":
        x = d["input.x"]
        call, name = (lambda: resnet_block(d, x)), "y"
    elif model == "transformer":
        x, mask = d["input.x"], d["input.mask"]
        call, name = (lambda: transformer(d, x, mask)), "y"
    elif model == "elementwise":
        a, b = d["input.a"], d["input.b"]
        call, name = (lambda: chain(a, b)), "y"
    else:
        raise ValueError(model)
    return call, (lambda: {name: np.asarray(call())})
