#!/usr/bin/env python3
"""test_optimizers.py — train.optimizers: the trajectories of `minimize ... with sgd(...)` and
`adam(...)` equal PyTorch's update rules (tests/train/train_common.py, in float64) on the
interpreter and the CPU backend.

The model is a two-layer net, logits = tanh(x @ w1 + b1) @ w2 + b2 with the mean cross entropy
as its loss (broadcast biases, a matmul on either side of an elementwise op, a reduction): its
gradient is written out analytically below. Its weights come from a safetensors file the test
writes (parameters without initializers), its inputs are fixed. For each optimizer setting and
k = 1..5, `tfc run --graph train --steps k --save-weights W --out loss=L` on each backend must
give:
  - every parameter after k steps as the reference's (rtol 1e-5, atol 1e-6: see RTOL below);
  - in L the loss of step k, computed before its update, as the reference's (rtol 1e-5);
  - on the step lines of k > 1, the losses of steps 1..k (rtol 2e-5: six printed digits).
The test also shows it can fail: for each setting, the rule's near relatives (no momentum,
Nesterov, decoupled weight decay, no bias correction, other betas...) move the parameters
further from the reference than 100 times the tolerance within five steps.

Usage: test_optimizers.py TFC
"""
import os
import sys

import numpy as np

from train_common import SGD, Adam, Failure, Tally, command_line, read_safetensors, save_inputs, scratch_folder, \
    tfc_steps, trajectory, write_safetensors

STEPS = 5
BATCH, FEATURES, HIDDEN, CLASSES = 8, 6, 5, 3

# f32 against float64: every gradient carries a relative error of a few f32 ulps (sums of at most
# 8 products), and each step adds lr times it and one rounding of p (|p| <= ~2, ulp <= 2.4e-7) to
# the parameters; five steps of this mildly nonlinear net hardly amplify that (measured: SGD stays
# within 0.03 of the tolerance below). Adam adds a documented f32 effect (docs/training.md): its
# bias corrections 1 - beta^t are taken in f32, and 1 - 0.999f is 1.3e-5 off 0.001, so each
# update is off by up to 6.4e-6 of lr (relative), which five steps of lr 0.01 accumulate to about
# 4e-7 (measured: 0.37 of the tolerance). rtol 1e-5 with atol 1e-6 covers both with a margin, and
# stays far below the effect of any change to a rule, which the test measures (each change moves
# some parameter by more than 100 x the tolerance).
RTOL, ATOL = 1e-5, 1e-6
PRINTED_RTOL = 2e-5   # the step lines' six significant digits round by up to 5e-6 relative

MODEL = """param w1 : f32[%(F)d, %(H)d]
param b1 : f32[%(H)d]
param w2 : f32[%(H)d, %(C)d]
param b2 : f32[%(C)d]

graph train(x : f32[%(B)d, %(F)d], y : i32[%(B)d]) -> (loss) {
  h = tanh(x @ w1 + b1)
  loss = mean(cross_entropy(h @ w2 + b2, y))
  minimize loss with %%s
}
""" % {"B": BATCH, "F": FEATURES, "H": HIDDEN, "C": CLASSES}

# (the optimizer as the model writes it, the reference, its near relatives that must differ); the
# references are made afresh for each trajectory (they keep state), hence the lambdas.
SETTINGS = [
    ("sgd(lr=0.1)", lambda: SGD(0.1),
     [("momentum 0.1", lambda: SGD(0.1, 0.1)), ("weight decay 0.01", lambda: SGD(0.1, weight_decay=0.01))]),
    ("sgd(lr=0.1, momentum=0.9)", lambda: SGD(0.1, 0.9),
     [("no momentum", lambda: SGD(0.1)), ("Nesterov", lambda: SGD(0.1, 0.9, nesterov=True))]),
    ("sgd(lr=0.05, momentum=0.5, weight_decay=0.1)", lambda: SGD(0.05, 0.5, 0.1),
     [("no weight decay", lambda: SGD(0.05, 0.5)),
      ("decoupled weight decay", lambda: SGD(0.05, 0.5, 0.1, decoupled=True))]),
    ("adam(lr=0.01)", lambda: Adam(0.01),
     [("no bias correction", lambda: Adam(0.01, bias_correction=False)), ("beta1 0.8", lambda: Adam(0.01, beta1=0.8))]),
    ("adam(lr=0.02, beta1=0.5, beta2=0.9, eps=0.001)", lambda: Adam(0.02, 0.5, 0.9, 1e-3),
     [("default betas", lambda: Adam(0.02, eps=1e-3)), ("default eps", lambda: Adam(0.02, 0.5, 0.9)),
      ("no bias correction", lambda: Adam(0.02, 0.5, 0.9, 1e-3, bias_correction=False))]),
    ("adam(lr=0.01, weight_decay=0.5)", lambda: Adam(0.01, weight_decay=0.5),
     [("no weight decay", lambda: Adam(0.01)),
      ("AdamW's decoupled weight decay", lambda: Adam(0.01, weight_decay=0.5, decoupled=True))]),
]


def data():
    """Weights of order one and a batch whose gradients have no component near zero (Adam's
    first step divides each by its own magnitude, which would magnify f32 noise in a zero)."""
    rng = np.random.default_rng(11)
    weights = {"w1": rng.standard_normal((FEATURES, HIDDEN)) * 0.8, "b1": rng.standard_normal(HIDDEN) * 0.3,
               "w2": rng.standard_normal((HIDDEN, CLASSES)), "b2": rng.standard_normal(CLASSES) * 0.3}
    x = rng.standard_normal((BATCH, FEATURES))
    y = rng.integers(0, CLASSES, BATCH)
    return {n: w.astype(np.float32) for n, w in weights.items()}, x.astype(np.float32), y.astype(np.int32)


def loss_and_grads(x, y):
    """The model's loss and its gradient with respect to every parameter, in float64."""
    x = x.astype(np.float64)
    onehot = np.eye(CLASSES)[y]

    def f(p):
        h = np.tanh(x @ p["w1"] + p["b1"])
        logits = h @ p["w2"] + p["b2"]
        z = logits - logits.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -np.mean(np.sum(logp * onehot, axis=1))
        dlogits = (np.exp(logp) - onehot) / BATCH
        dh = dlogits @ p["w2"].T
        dz = dh * (1 - h * h)
        return loss, {"w1": x.T @ dz, "b1": dz.sum(axis=0), "w2": h.T @ dlogits, "b2": dlogits.sum(axis=0)}
    return f


def check_gradient(weights, f):
    """The analytic gradient against central differences (float64): the reference's own check."""
    p = {n: w.astype(np.float64) for n, w in weights.items()}
    _, g = f(p)
    for n in p:
        for i in np.ndindex(p[n].shape):
            old = p[n][i]
            p[n][i] = old + 1e-6
            up, _ = f(p)
            p[n][i] = old - 1e-6
            down, _ = f(p)
            p[n][i] = old
            if abs((up - down) / 2e-6 - g[n][i]) > 1e-7:
                raise Failure("reference gradient of %s%s: %g, central difference %g" % (n, i, g[n][i],
                                                                                           (up - down) / 2e-6))


def worst(got, want):
    """The largest |got - want| in units of the tolerance atol + rtol |want|, over all parameters."""
    return max(float(np.max(np.abs(got[n].astype(np.float64) - want[n]) / (ATOL + RTOL * np.abs(want[n]))))
               for n in want)


def distinguishes(ref, relatives, weights, f):
    """Each near relative of the rule ends further than 100 x the tolerance from the reference."""
    notes = []
    for name, make in relatives:
        _, after = trajectory(weights, f, make(), STEPS)
        far = max(worst(a, r) for a, r in zip(after, ref))
        if far < 100:
            raise Failure("%s stays within %.1f x the tolerance of the rule: the test could not tell them apart"
                          % (name, far))
        notes.append("%s %.0fx" % (name, far))
    return ", ".join(notes)


def check_backend(tfc, model, folder, inputs, backend, ref_losses, ref_after):
    """k = 1..STEPS steps on one backend: parameters after step k and the loss of step k."""
    notes = []
    for k in range(1, STEPS + 1):
        w_out, l_out = os.path.join(folder, "w.safetensors"), os.path.join(folder, "loss.npy")
        args = ["--backend", backend, "--weights", os.path.join(folder, "init.safetensors"), "--save-weights", w_out,
                "--out", "loss=" + l_out] + inputs
        printed = tfc_steps(tfc, model, "train", k, args)
        got = read_safetensors(w_out)
        if sorted(got) != sorted(ref_after[k - 1]):
            raise Failure("--save-weights after %d steps holds %s, expected the parameters only" % (k, sorted(got)))
        err = worst(got, ref_after[k - 1])
        if err > 1:
            raise Failure("after %d steps a parameter is %.3g x the tolerance from PyTorch's rule:\n%s" % (
                k, err, "\n".join("%s: got %s\n    want %s" % (n, got[n].ravel(), ref_after[k - 1][n].ravel())
                                  for n in got)))
        loss = float(np.load(l_out))
        if not np.isclose(loss, ref_losses[k - 1], rtol=RTOL, atol=0):
            raise Failure("step %d: loss %.8g, expected %.8g (the value before the update)" % (k, loss,
                                                                                                 ref_losses[k - 1]))
        if k > 1 and not np.allclose(printed, ref_losses[:k], rtol=PRINTED_RTOL, atol=0):
            raise Failure("--steps %d printed losses %s, expected %s" % (k, printed, ref_losses[:k]))
        notes.append("%.2f" % err)
    return "worst parameter error per k, in tolerances: " + " ".join(notes)


def main():
    (tfc,) = command_line(__doc__, 1)
    tally = Tally()
    weights, x, y = data()
    f = loss_and_grads(x, y)
    tally.check("the reference gradient is the central difference", check_gradient, weights, f)
    with scratch_folder("tfc-train-opt-") as folder:
        write_safetensors(os.path.join(folder, "init.safetensors"), weights)
        inputs = save_inputs(folder, {"x": x, "y": y})
        for i, (optimizer, make_ref, relatives) in enumerate(SETTINGS):
            model = os.path.join(folder, "model%d.tg" % i)
            with open(model, "w") as out:
                out.write(MODEL % optimizer)
            ref_losses, ref_after = trajectory(weights, f, make_ref(), STEPS)
            tally.check("%s: the tolerance tells the rule from" % optimizer, distinguishes, ref_after, relatives,
                        weights, f)
            for backend in ["interp", "cpu"]:
                tally.check("%s on %s, k = 1..%d steps" % (optimizer, backend, STEPS), check_backend, tfc, model,
                            folder, inputs, backend, ref_losses, ref_after)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
