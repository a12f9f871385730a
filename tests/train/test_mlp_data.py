#!/usr/bin/env python3
"""test_mlp_data.py — train.mlp_data: examples/mlp.tg as written (its train graph, SGD with
momentum, batch 64) learns a synthetic data set through `tfc run --epochs`:
  - 600 rows from 10 Gaussian blobs in 784 dimensions (centres 0.3 N(0, 1) per coordinate, unit
    noise: neighbouring centres lie about 12 noise deviations apart, so the classes are well
    separated yet the first epoch is far from solved), labels as NumPy's int64;
  - `--epochs 3 --shuffle --seed 1` walks 9 minibatches an epoch (the last 24 rows dropped) and
    prints each epoch's mean loss: the last must be at most a tenth of the first, and each must
    be below the one before;
  - the trained weights (--save-weights) in the infer graph, over the whole training set (-D
    B=600) and over 300 fresh rows of the same blobs: at least 99 % and 95 % classified right.
    The fresh rows show that the net learnt the blobs: 600 points in 784 dimensions can be fit
    whatever their labels, so the training set alone would not.
A few seconds on the CPU backend.

Usage: test_mlp_data.py TFC EXAMPLES_DIR
"""
import os
import re
import sys

import numpy as np

from train_common import Failure, Tally, command_line, read_safetensors, run, save_inputs, scratch_folder

ROWS, FRESH, CLASSES, FEATURES, EPOCHS = 600, 300, 10, 784, 3
WEIGHTS = ["w1", "b1", "w2", "b2", "w3", "b3"]


def blobs():
    """The training set and a fresh draw from the same blobs (every class equally often in the
    training set, in a shuffled order)."""
    rng = np.random.default_rng(2)
    centres = 0.3 * rng.standard_normal((CLASSES, FEATURES))
    y = rng.permutation(np.arange(ROWS) % CLASSES)
    x = centres[y] + rng.standard_normal((ROWS, FEATURES))
    y_fresh = rng.integers(0, CLASSES, FRESH)
    x_fresh = centres[y_fresh] + rng.standard_normal((FRESH, FEATURES))
    return x.astype(np.float32), y.astype(np.int64), x_fresh.astype(np.float32), y_fresh


def train(tfc, model, folder, inputs):
    """The epoch lines of `tfc run --epochs`; writes FOLDER/trained.safetensors."""
    p = run([tfc, "run", model, "--graph", "train", "--epochs", str(EPOCHS), "--shuffle", "--seed", "1",
             "--save-weights", os.path.join(folder, "trained.safetensors")] + inputs)
    lines = re.findall(r"^epoch (\d+)/%d: loss (\S+) \((\d+) steps, [\d.]+ s\)$" % EPOCHS, p.stdout, re.M)
    if [int(e) for e, _, _ in lines] != list(range(1, EPOCHS + 1)) or any(int(s) != ROWS // 64 for _, _, s in lines):
        raise Failure("expected %d epoch lines of %d steps each:\n%s" % (EPOCHS, ROWS // 64, p.stdout))
    losses = np.array([float(v) for _, v, _ in lines])
    if not (losses[-1] * 10 <= losses[0] and np.all(np.diff(losses) < 0)):
        raise Failure("epoch mean losses %s: not falling, or not tenfold" % losses)
    return "epoch mean losses %s (%.0fx lower)" % (" ".join("%.4g" % v for v in losses), losses[0] / losses[-1])


def accuracy(tfc, model, folder, x, y, least, what):
    """The share of rows that the infer graph with the trained weights classifies right."""
    weights = os.path.join(folder, "trained.safetensors")
    if sorted(read_safetensors(weights)) != sorted(WEIGHTS):
        raise Failure("the trained weights file holds %s, expected %s" % (sorted(read_safetensors(weights)), WEIGHTS))
    probs = os.path.join(folder, "probs.npy")
    run([tfc, "run", model, "--graph", "infer", "-D", "B=%d" % len(x), "--weights", weights, "--out", "probs=" + probs]
        + save_inputs(folder, {"x": x}))
    right = float(np.mean(np.load(probs).argmax(axis=1) == y))
    if right < least:
        raise Failure("%s: %.1f %% classified right, expected at least %.0f %%" % (what, 100 * right, 100 * least))
    return "%.1f %%" % (100 * right)


def main():
    tfc, examples = command_line(__doc__, 2)
    model = os.path.join(examples, "mlp.tg")
    tally = Tally()
    x, y, x_fresh, y_fresh = blobs()
    with scratch_folder("tfc-train-mlp-") as folder:
        if tally.check("mlp.tg: --epochs %d --shuffle on %d rows" % (EPOCHS, ROWS), train, tfc, model, folder,
                       save_inputs(folder, {"x": x, "y": y})):
            tally.check("trained mlp.tg infers the training set", accuracy, tfc, model, folder, x, y, 0.99,
                        "training set")
            tally.check("trained mlp.tg infers fresh rows of the blobs", accuracy, tfc, model, folder, x_fresh,
                        y_fresh, 0.95, "fresh rows")
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
