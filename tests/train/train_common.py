"""train_common.py — what the training tests (tests/train/test_*.py) share: the helpers of the
generated-library tests (tests/aot/aot_common.py: running commands, safetensors, .bin files, the
pass/fail tally), `tfc run --graph G --steps N` with its per-step lines read back, and NumPy
implementations of PyTorch's optimizers (torch.optim.SGD and torch.optim.Adam as their documented
algorithms, in float64). NumPy only.
"""
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "aot"))
from aot_common import Failure, Tally, build_c, command_line, pkg_flags, read_safetensors, run, scratch_folder, \
    tfc_compile, write_bin, write_safetensors  # noqa: E402,F401  (re-exported for the tests)


def save_inputs(folder, inputs):
    """Writes each input as FOLDER/NAME.npy; returns the `--in NAME=FILE` arguments."""
    args = []
    for name, a in inputs.items():
        path = os.path.join(folder, name + ".npy")
        np.save(path, a)
        args += ["--in", "%s=%s" % (name, path)]
    return args


def tfc_steps(tfc, model, graph, steps, args, output="loss"):
    """`tfc run MODEL --graph GRAPH --steps STEPS ARGS`: the value of scalar output OUTPUT printed
    on each step line (`step 3/5: loss 0.693147`, six significant digits). A single step prints
    no step line (its outputs are printed or written as any graph's): none is expected then."""
    p = run([tfc, "run", model, "--graph", graph, "--steps", str(steps)] + list(args))
    values = re.findall(r"^step \d+/%d: .*\b%s (\S+)" % (steps, re.escape(output)), p.stdout, re.M)
    if len(values) != (steps if steps > 1 else 0):
        raise Failure("tfc run --steps %d printed %d step lines with %s:\n%s" % (steps, len(values), output, p.stdout))
    return np.array([float(v) for v in values])


# ---- PyTorch's optimizers in NumPy ---------------------------------------------------------------
# Each optimizer keeps its state per parameter name and updates a dict {name: float64 array} in
# place from the gradients {name: array}: one call, one optimizer.step(). The flags that PyTorch's
# defaults leave off (nesterov, decoupled weight decay, Adam without bias correction) are here so
# that the tests can show that their tolerance tells the documented rule from its near relatives.

class SGD:
    """torch.optim.SGD(lr, momentum, weight_decay), dampening 0: d = g + wd p; buf = d on the
    first step (PyTorch clones it), then buf = momentum buf + d; d = buf (nesterov: d = g' +
    momentum buf); p = p - lr d. decoupled: p = p (1 - lr wd) instead of adding wd p to d."""

    def __init__(self, lr, momentum=0.0, weight_decay=0.0, nesterov=False, decoupled=False):
        self.lr, self.momentum, self.wd = lr, momentum, weight_decay
        self.nesterov, self.decoupled = nesterov, decoupled
        self.buf = {}

    def step(self, params, grads):
        for n, p in params.items():
            d = grads[n].copy()
            if self.wd and self.decoupled:
                p *= 1 - self.lr * self.wd
            elif self.wd:
                d += self.wd * p
            if self.momentum:
                self.buf[n] = d.copy() if n not in self.buf else self.momentum * self.buf[n] + d
                d = d + self.momentum * self.buf[n] if self.nesterov else self.buf[n]
            p -= self.lr * d


class Adam:
    """torch.optim.Adam(lr, betas, eps, weight_decay), amsgrad off: t = t + 1; g = g + wd p;
    m = lerp(m, g, 1 - beta1); v = beta2 v + (1 - beta2) g^2; p = p - lr / (1 - beta1^t) m /
    (sqrt(v) / sqrt(1 - beta2^t) + eps). decoupled: AdamW's p = p (1 - lr wd) instead;
    bias_correction=False: the rule without the two corrections."""

    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False,
                 bias_correction=True):
        self.lr, self.beta1, self.beta2, self.eps, self.wd = lr, beta1, beta2, eps, weight_decay
        self.decoupled, self.bias_correction = decoupled, bias_correction
        self.t, self.m, self.v = 0, {}, {}

    def step(self, params, grads):
        self.t += 1
        c1 = 1 - self.beta1 ** self.t if self.bias_correction else 1.0
        c2 = 1 - self.beta2 ** self.t if self.bias_correction else 1.0
        for n, p in params.items():
            g = grads[n].copy()
            if self.wd and self.decoupled:
                p *= 1 - self.lr * self.wd
            elif self.wd:
                g += self.wd * p
            m = self.m.get(n, np.zeros_like(p))
            v = self.v.get(n, np.zeros_like(p))
            self.m[n] = m + (1 - self.beta1) * (g - m)
            self.v[n] = self.beta2 * v + (1 - self.beta2) * g * g
            p -= (self.lr / c1) * self.m[n] / (np.sqrt(self.v[n]) / np.sqrt(c2) + self.eps)


def trajectory(params, loss_and_grads, optimizer, steps):
    """Runs `steps` optimizer steps from params ({name: array}, copied to float64) on the loss
    that loss_and_grads(params) gives with its gradients. Returns the loss of each step (before
    its update, as a graph's outputs are) and the parameters after each step: (losses[k],
    after[k]) for k = 0..steps-1."""
    p = {n: np.array(a, dtype=np.float64) for n, a in params.items()}
    losses, after = [], []
    for _ in range(steps):
        loss, grads = loss_and_grads(p)
        losses.append(loss)
        optimizer.step(p, grads)
        after.append({n: a.copy() for n, a in p.items()})
    return np.array(losses), after
