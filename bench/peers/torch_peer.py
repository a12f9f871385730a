"""PyTorch peer: the examples/*.tg models as torch functions, run eagerly under
torch.inference_mode ("torch") or through torch.compile ("torch_compile"); mlp's training step
is autograd plus torch.optim.SGD(lr=0.05, momentum=0.9), updating the weights in place. The
thread count is torch.set_num_threads (the worker also sets OMP_NUM_THREADS first)."""
import numpy as np

import torch
import torch.nn.functional as F

from peers import MLP_PARAMS, NORM_EPS, SGD_LR, SGD_MOMENTUM, model_of, split_data

_threads_set = False


def _set_threads(threads):
    global _threads_set
    torch.set_num_threads(threads)
    if not _threads_set:
        try:
            torch.set_num_interop_threads(1)  # only allowed before any inter-op work
        except RuntimeError:
            pass
        _threads_set = True


def mlp_logits(p, x):
    h1 = torch.relu(x @ p["w1"] + p["b1"])
    h2 = torch.relu(h1 @ p["w2"] + p["b2"])
    return h2 @ p["w3"] + p["b3"]


def mlp_probs(p, x):
    return torch.softmax(mlp_logits(p, x), dim=-1)


def lenet(p, img):
    a = F.max_pool2d(torch.relu(F.conv2d(img, p["c1"], padding=2) + p["c1b"]), 2)
    b = F.max_pool2d(torch.relu(F.conv2d(a, p["c2"]) + p["c2b"]), 2)
    h = torch.relu(b.reshape(b.shape[0], -1) @ p["f1"] + p["f1b"])
    h2 = torch.relu(h @ p["f2"] + p["f2b"])
    return h2 @ p["f3"] + p["f3b"]


def resnet_block(p, x):
    h = F.conv2d(x, p["w1"], padding=1)
    h = torch.relu(F.batch_norm(h, p["m1"], p["v1"], p["g1"], p["b1"], False, 0.0, NORM_EPS))
    y = F.conv2d(h, p["w2"], padding=1)
    return torch.relu(F.batch_norm(y, p["m2"], p["v2"], p["g2"], p["b2"], False, 0.0, NORM_EPS) + x)


def transformer(p, x, mask, heads=12):
    b, s, d = x.shape
    hd = d // heads

    def split(t):
        return t.reshape(b, s, heads, hd).transpose(1, 2)

    q = split(x @ p["wq"] + p["bq"])
    k = split(x @ p["wk"] + p["bk"])
    v = split(x @ p["wv"] + p["bv"])
    scores = q @ k.transpose(2, 3) * 0.125 + mask
    ctx = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, s, d)
    h = F.layer_norm(x + ctx @ p["wo"] + p["bo"], (d,), p["g1"], p["n1"], NORM_EPS)
    ff = F.gelu(h @ p["w1"] + p["b1"])
    return F.layer_norm(h + ff @ p["w2"] + p["b2"], (d,), p["g2"], p["n2"], NORM_EPS)


def chain(a, b):
    return torch.tanh(a * 1.5 + b) * torch.sigmoid(b - a) + torch.relu(a) / (1 + torch.exp(-b))


def _np(t):
    return t.detach().cpu().numpy().copy()


def prepare(workload, data, threads, compiled=False):
    _set_threads(threads)
    model, graph = model_of(workload)
    ts = {k: torch.from_numpy(np.array(v)) for k, v in data.items()}
    params, inputs = split_data(ts)

    if model == "mlp" and graph == "train":
        x, y = inputs["x"], inputs["y"].long()
        init = {k: params[k].clone() for k in MLP_PARAMS}
        p = {k: v.clone().requires_grad_(True) for k, v in init.items()}
        opt = torch.optim.SGD(list(p.values()), lr=SGD_LR, momentum=SGD_MOMENTUM)

        def loss_fn(p, x, y):
            return F.cross_entropy(mlp_logits(p, x), y)

        lf = torch.compile(loss_fn) if compiled else loss_fn

        def call():
            opt.zero_grad(set_to_none=True)
            loss = lf(p, x, y)
            loss.backward()
            opt.step()
            return loss

        def outputs():
            with torch.no_grad():
                for k in MLP_PARAMS:
                    p[k].copy_(init[k])
            opt.state.clear()  # drops the momentum buffers: the next step starts them afresh
            out = {"loss": _np(call())}
            out.update({k: _np(v) for k, v in p.items()})
            return out

        return call, outputs

    if model == "mlp":
        f, args, name = mlp_probs, (params, inputs["x"]), "probs"
    elif model == "lenet":
        f, args, name = lenet, (params, inputs["img"]), "logits"
    elif model == "resnet_block":
        f, args, name = resnet_block, (params, inputs["x"]), "y"
    elif model == "transformer":
        f, args, name = transformer, (params, inputs["x"], inputs["mask"]), "y"
    elif model == "elementwise":
        f, args, name = chain, (inputs["a"], inputs["b"]), "y"
    else:
        raise ValueError(model)
    if compiled:
        f = torch.compile(f)

    def call():
        with torch.inference_mode():
            return f(*args)

    return call, (lambda: {name: _np(call())})
