"""JAX peer: the examples/*.tg models as jax.numpy functions under jax.jit on the CPU (XLA);
mlp's training step is jax.grad plus the SGD-momentum update, all in one jitted function whose
parameter buffers are donated so that XLA may update them in place. The thread count is set
by the worker through XLA_FLAGS before JAX is imported."""
import numpy as np

import jax
import jax.numpy as jnp
from jax import lax

from peers import MLP_PARAMS, NORM_EPS, SGD_LR, SGD_MOMENTUM, model_of, split_data


def mlp_logits(p, x):
    h1 = jax.nn.relu(x @ p["w1"] + p["b1"])
    h2 = jax.nn.relu(h1 @ p["w2"] + p["b2"])
    return h2 @ p["w3"] + p["b3"]


def conv2d(x, w, padding):
    return lax.conv_general_dilated(x, w, (1, 1), [(padding, padding)] * 2,
                                    dimension_numbers=("NCHW", "OIHW", "NCHW"))


def max_pool2(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def batch_norm(x, m, v, g, b):
    s = (1, -1, 1, 1)
    return (x - m.reshape(s)) * (g / jnp.sqrt(v + NORM_EPS)).reshape(s) + b.reshape(s)


def layer_norm(x, g, b):
    mu = x.mean(axis=-1, keepdims=True)
    var = jnp.square(x - mu).mean(axis=-1, keepdims=True)
    return (x - mu) * lax.rsqrt(var + NORM_EPS) * g + b


def lenet(p, img):
    a = max_pool2(jax.nn.relu(conv2d(img, p["c1"], 2) + p["c1b"]))
    b = max_pool2(jax.nn.relu(conv2d(a, p["c2"], 0) + p["c2b"]))
    h = jax.nn.relu(b.reshape(b.shape[0], -1) @ p["f1"] + p["f1b"])
    h2 = jax.nn.relu(h @ p["f2"] + p["f2b"])
    return h2 @ p["f3"] + p["f3b"]


def resnet_block(p, x):
    h = jax.nn.relu(batch_norm(conv2d(x, p["w1"], 1), p["m1"], p["v1"], p["g1"], p["b1"]))
    return jax.nn.relu(batch_norm(conv2d(h, p["w2"], 1), p["m2"], p["v2"], p["g2"], p["b2"]) + x)


def transformer(p, x, mask, heads=12):
    b, s, d = x.shape
    hd = d // heads

    def split(t):
        return t.reshape(b, s, heads, hd).transpose(0, 2, 1, 3)

    q = split(x @ p["wq"] + p["bq"])
    k = split(x @ p["wk"] + p["bk"])
    v = split(x @ p["wv"] + p["bv"])
    scores = q @ k.transpose(0, 1, 3, 2) * 0.125 + mask
    ctx = (jax.nn.softmax(scores, axis=-1) @ v).transpose(0, 2, 1, 3).reshape(b, s, d)
    h = layer_norm(x + ctx @ p["wo"] + p["bo"], p["g1"], p["n1"])
    ff = jax.nn.gelu(h @ p["w1"] + p["b1"], approximate=False)
    return layer_norm(h + ff @ p["w2"] + p["b2"], p["g2"], p["n2"])


def chain(a, b):
    return jnp.tanh(a * 1.5 + b) * jax.nn.sigmoid(b - a) + jax.nn.relu(a) / (1 + jnp.exp(-b))


def mlp_loss(p, x, y):
    logits = mlp_logits(p, x)
    lse = jax.nn.logsumexp(logits, axis=1)
    return jnp.mean(lse - jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0])


def _sgd_step(p, buf, x, y):
    loss, g = jax.value_and_grad(mlp_loss)(p, x, y)
    buf = {k: SGD_MOMENTUM * buf[k] + g[k] for k in p}
    p = {k: p[k] - SGD_LR * buf[k] for k in p}
    return p, buf, loss


def prepare(workload, data, threads):
    model, graph = model_of(workload)
    dev = {k: jax.device_put(np.ascontiguousarray(v)) for k, v in data.items()}
    params, inputs = split_data(dev)

    if model == "mlp" and graph == "train":
        step = jax.jit(_sgd_step, donate_argnums=(0, 1))
        x, y = inputs["x"], inputs["y"].astype(jnp.int32)
        init = {k: np.asarray(data[k]) for k in MLP_PARAMS}
        state = {}

        def reset():
            state["p"] = {k: jax.device_put(v.copy()) for k, v in init.items()}
            state["buf"] = {k: jnp.zeros_like(v) for k, v in state["p"].items()}

        def call():
            state["p"], state["buf"], loss = step(state["p"], state["buf"], x, y)
            loss.block_until_ready()
            return loss

        def outputs():
            reset()
            out = {"loss": np.asarray(call())}
            out.update({k: np.asarray(v) for k, v in state["p"].items()})
            return out

        reset()
        return call, outputs

    if model == "mlp":
        f = jax.jit(lambda p, x: jax.nn.softmax(mlp_logits(p, x), axis=-1))
        args, name = (params, inputs["x"]), "probs"
    elif model == "lenet":
        f, args, name = jax.jit(lenet), (params, inputs["img"]), "logits"
    elif model == "resnet_block":
        f, args, name = jax.jit(resnet_block), (params, inputs["x"]), "y"
    elif model == "transformer":
        f, args, name = jax.jit(transformer), (params, inputs["x"], inputs["mask"]), "y"
    elif model == "elementwise":
        f, args, name = jax.jit(chain), (inputs["a"], inputs["b"]), "y"
    else:
        raise ValueError(model)

    def call():
        return f(*args).block_until_ready()

    return call, (lambda: {name: np.asarray(call())})
