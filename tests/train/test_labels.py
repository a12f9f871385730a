#!/usr/bin/env python3
"""test_labels.py — train.labels: cross_entropy's gradient refuses a label outside [0, K) as its
forward does (LANGUAGE.md §6: never silent garbage), also where the forward loss is computed by
nobody: a graph whose only output is grad(mean(cross_entropy(...)), x), and a training step whose
loss is not an output. There one_hot would give the bad label a row of zeros and the step would
silently compute a wrong gradient; its checked form (one_hot_checked in ops.def) reports it.
Checks, on a small model (logits x @ w, 4 classes, batch 2):
  - `tfc run` on the interpreter and the CPU backend, both graphs, a label past the end and a
    negative one: exit status 1 and the forward's message (the interpreter names the label and
    its example, the CPU backend's run-time check the range), at the cross_entropy call;
  - with labels in range the gradient and the trained weights equal NumPy's (softmax(x w) -
    one_hot(y)) / B, so the check costs nothing when it passes;
  - a generated library (`tfc compile`, driven through PREFIX_run by train_steps.c): PREFIX_run
    returns non-zero and PREFIX_error gives the CPU backend's message; with labels in range it runs.

Usage: test_labels.py TFC CC
"""
import os
import subprocess
import sys

import numpy as np

from train_common import HERE, Failure, Tally, build_c, command_line, pkg_flags, read_safetensors, save_inputs, \
    scratch_folder, tfc_compile, write_bin, write_safetensors

MODEL = """param w : f32[3, 4] = glorot()

graph saliency(x : f32[2, 3], y : i32[2]) -> (dx) {
  dx = grad(mean(cross_entropy(x @ w, y)), x)
}

graph train(x : f32[2, 3], y : i32[2]) -> (h) {
  h = x * 2
  l = mean(cross_entropy(x @ w, y))
  minimize l with sgd(lr=0.5)
}
"""
LR = 0.5
# where each graph's cross_entropy call is in MODEL (line:column), as the messages give it
CALL = {"saliency": "labels.tg:4:18", "train": "labels.tg:9:12"}
X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], np.float32)
W = np.array([[0.3, -0.2, 0.1, 0.4], [-0.5, 0.6, 0.2, -0.1], [0.25, 0.05, -0.3, 0.15]], np.float32)
GOOD = np.array([3, 0], np.int32)
# (labels, the interpreter's words for them)
BAD = [(np.array([1, 4], np.int32), "cross_entropy: label 4 of example 1 is out of range for 4 classes"),
       (np.array([-1, 2], np.int32), "cross_entropy: label -1 of example 0 is out of range for 4 classes")]
CPU_MESSAGE = "cross_entropy: label out of range [0, 4)"


def reference(y):
    """d mean(cross_entropy(x w, y)) / d(x w) in float64: (softmax(x w) - one_hot(y)) / B."""
    z = X.astype(np.float64) @ W
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return (p - np.eye(4)[y]) / len(y)


def tfc(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


def refused(tfc_path, model, folder, graph, backend, labels, words):
    args = save_inputs(folder, {"x": X, "y": labels})
    p = tfc([tfc_path, "run", model, "--graph", graph, "--backend", backend, "--weights",
             os.path.join(folder, "w.safetensors")] + args)
    wanted = [words, CALL[graph]]
    if p.returncode != 1 or any(w not in p.stderr for w in wanted) or "internal error" in p.stderr:
        raise Failure("exit status %d, wanted 1 and %s in stderr:\n%s%s" % (p.returncode, wanted, p.stdout, p.stderr))


def close(got, want, what):
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-6):
        raise Failure("%s:\ngot      %s\nexpected %s" % (what, got, want))
    return "largest difference %.2g" % float(np.max(np.abs(got - want)))


def gradient_in_range(tfc_path, model, folder, backend):
    out = os.path.join(folder, "dx.%s.npy" % backend)
    p = tfc([tfc_path, "run", model, "--graph", "saliency", "--backend", backend, "--weights",
             os.path.join(folder, "w.safetensors"), "--out", "dx=" + out] + save_inputs(folder, {"x": X, "y": GOOD}))
    if p.returncode != 0:
        raise Failure("exit status %d:\n%s" % (p.returncode, p.stderr))
    return close(np.load(out), reference(GOOD) @ W.T.astype(np.float64), "dx")


def trained_in_range(tfc_path, model, folder, backend):
    saved = os.path.join(folder, "trained.%s.safetensors" % backend)
    p = tfc([tfc_path, "run", model, "--graph", "train", "--backend", backend, "--weights",
             os.path.join(folder, "w.safetensors"), "--save-weights", saved] + save_inputs(folder, {"x": X, "y": GOOD}))
    if p.returncode != 0:
        raise Failure("exit status %d:\n%s" % (p.returncode, p.stderr))
    want = W - LR * (X.T.astype(np.float64) @ reference(GOOD))
    return close(read_safetensors(saved)["w"], want, "trained w")


def library(tfc_path, cc, model, folder):
    """The model compiled whole and train_steps.c built against it; returns step(graph, labels), the
    process of `train_steps GRAPH DIR 1 OUT` on X and those labels."""
    lib = os.path.join(folder, "lib")
    tfc_compile(tfc_path, model, "lbl", lib, [])
    exe = build_c(cc, [os.path.join(HERE, "train_steps.c")], os.path.join(folder, "train_steps"),
                  ["-pedantic", "-DPREFIX=lbl", "-include", os.path.join(lib, "lbl.h"),
                   "-I", os.path.join(HERE, "..", "aot")] + pkg_flags(lib, "lbl"))

    def step(graph, labels):
        write_bin(folder, "x", X)
        write_bin(folder, "y", labels)
        return tfc([exe, graph, folder, "1", os.path.join(folder, "lib.safetensors")])
    return step


def library_refuses(step, graph, labels):
    p = step(graph, labels)
    if p.returncode != 1 or CPU_MESSAGE not in p.stderr or CALL[graph] not in p.stderr:
        raise Failure("exit status %d, wanted 1 and '%s' at %s from lbl_error:\n%s%s"
                      % (p.returncode, CPU_MESSAGE, CALL[graph], p.stdout, p.stderr))


def library_runs(step, graph):
    p = step(graph, GOOD)
    if p.returncode != 0:
        raise Failure("exit status %d:\n%s%s" % (p.returncode, p.stdout, p.stderr))


def main():
    tfc_path, cc = command_line(__doc__, 2)
    tally = Tally()
    with scratch_folder("tfc-train-labels-", tally) as folder:
        model = os.path.join(folder, "labels.tg")
        with open(model, "w") as f:
            f.write(MODEL)
        write_safetensors(os.path.join(folder, "w.safetensors"), {"w": W})
        for backend in ("interp", "cpu"):
            for graph in ("saliency", "train"):
                for labels, words in BAD:
                    tally.check("%s, %s: labels %s refused" % (backend, graph, labels.tolist()), refused, tfc_path,
                                model, folder, graph, backend, labels, words if backend == "interp" else CPU_MESSAGE)
            tally.check("%s: the gradient with labels in range" % backend, gradient_in_range, tfc_path, model, folder,
                        backend)
            tally.check("%s: a training step with labels in range" % backend, trained_in_range, tfc_path, model,
                        folder, backend)
        step = library(tfc_path, cc, model, folder)
        for graph in ("saliency", "train"):
            for labels, _ in BAD:
                tally.check("library, %s: labels %s refused" % (graph, labels.tolist()), library_refuses, step, graph,
                            labels)
            tally.check("library, %s: labels in range" % graph, library_runs, step, graph)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
