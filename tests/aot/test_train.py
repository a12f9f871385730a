#!/usr/bin/env python3
"""test_train.py — aot.train: examples/mlp.tg compiled whole (`tfc compile` without --graph: the
infer graph and the train graph with its SGD updates and momentum state in one library) trains
through its C API (train_mlp.c) on a fixed batch, and agrees step by step with `tfc run --graph
train --steps N` on the CPU backend and the interpreter:
  - the loss of every step equals tfc run's (CPU: within 1e-5 relative, tfc run printing six
    digits; interpreter: 1e-3, its sums run in another order and twenty steps compound that);
  - the loss falls at least tenfold over the steps;
  - the weights file written before training holds the initial parameters, the one after training
    the trained ones (equal to tfc run --save-weights within rtol 1e-4), and neither holds
    optimizer state;
  - the infer graph of the trained model gives tfc run's output with the trained weights.

Usage: test_train.py TFC CC EXAMPLES_DIR
"""
import os
import re
import sys

import numpy as np

from aot_common import HERE, Failure, Tally, build_c, command_line, compare, pkg_flags, read_bin, read_safetensors, \
    run, scratch_folder, tfc_compile, tfc_run, write_bin

SEED = "7"
STEPS = 20
WEIGHTS = ["w1", "b1", "w2", "b2", "w3", "b3"]


def batch():
    """64 examples of 784 features, labelled by a fixed random linear teacher: learnable."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 784)).astype(np.float32)
    y = (x @ rng.standard_normal((784, 10))).argmax(axis=1).astype(np.int32)
    return x, y


def tfc_steps(tfc, model, folder, backend, save):
    """The loss of each step of `tfc run --graph train --steps STEPS`."""
    p = run([tfc, "run", model, "--graph", "train", "--steps", str(STEPS), "--seed", SEED, "--backend", backend,
             "--in", "x=%s" % os.path.join(folder, "x.npy"), "--in", "y=%s" % os.path.join(folder, "y.npy"),
             "--save-weights", save])
    losses = [float(v) for v in re.findall(r"^step \d+/%d: loss (\S+)$" % STEPS, p.stdout, re.M)]
    if len(losses) != STEPS:
        raise Failure("tfc run --steps %d (%s) printed %d step lines:\n%s" % (STEPS, backend, len(losses), p.stdout))
    return np.array(losses)


def same_losses(got, want, rtol, what):
    if not np.allclose(got, want, rtol=rtol, atol=0):
        worst = int(np.argmax(np.abs(got - want) / np.abs(want)))
        raise Failure("%s: step %d loss %.7g, expected %.7g (rtol %g)\nlibrary: %s\nexpected: %s"
                      % (what, worst + 1, got[worst], want[worst], rtol, got, want))


def check_weights_files(folder, trained_ref):
    initial = read_safetensors(os.path.join(folder, "initial.safetensors"))
    trained = read_safetensors(os.path.join(folder, "trained.safetensors"))
    for name, w in (("initial", initial), ("trained", trained)):
        if sorted(w) != sorted(WEIGHTS):
            raise Failure("%s.safetensors holds %s, expected the weights %s only" % (name, sorted(w), WEIGHTS))
    ref_initial = read_safetensors(os.path.join(folder, "ref_initial.safetensors"))
    for n in WEIGHTS:
        if not np.array_equal(initial[n], ref_initial[n]):
            raise Failure("initial.safetensors: %s is not the compiled-in value (tfc run --seed %s)" % (n, SEED))
        if np.array_equal(trained[n], initial[n]) and n.startswith("w"):
            raise Failure("trained.safetensors: %s did not change" % n)
        if not np.allclose(trained[n], trained_ref[n], rtol=1e-4, atol=1e-6):
            raise Failure("trained.safetensors: %s differs from tfc run's by %.3g" % (
                n, np.abs(trained[n] - trained_ref[n]).max()))


def main():
    tfc, cc, examples = command_line(__doc__, 3)
    model = os.path.join(examples, "mlp.tg")
    tally = Tally()
    with scratch_folder("tfc-aot-train-", tally, "aot.train") as folder:
        x, y = batch()
        np.save(os.path.join(folder, "x.npy"), x)
        np.save(os.path.join(folder, "y.npy"), y)
        write_bin(folder, "x", x)
        write_bin(folder, "y", y)
        lib = os.path.join(folder, "lib")
        tfc_compile(tfc, model, "mlp", lib, ["--seed", SEED])
        exe = build_c(cc, [os.path.join(HERE, "train_mlp.c")], os.path.join(folder, "train_mlp"),
                      ["-pedantic"] + pkg_flags(lib, "mlp"))
        print(run([exe, folder, str(STEPS)]).stdout, end="")
        got = read_bin(folder, "losses", "f32", (STEPS,)).astype(np.float64)
        run([tfc, "run", model, "--graph", "infer", "--random-inputs", "--seed", SEED, "--save-weights",
             os.path.join(folder, "ref_initial.safetensors")])
        cpu = tfc_steps(tfc, model, folder, "cpu", os.path.join(folder, "ref_cpu.safetensors"))
        interp = tfc_steps(tfc, model, folder, "interp", os.path.join(folder, "ref_interp.safetensors"))
        tally.check("library vs tfc run --backend cpu, step by step", same_losses, got, cpu, 1e-5, "cpu")
        tally.check("library vs tfc run --backend interp, step by step", same_losses, got, interp, 1e-3, "interp")

        def falls():
            if not got[-1] * 10 <= got[0]:
                raise Failure("loss %g -> %g over %d steps: not a tenfold fall" % (got[0], got[-1], STEPS))
            return "%.4g -> %.4g" % (got[0], got[-1])
        tally.check("the loss falls tenfold", falls)
        trained_ref = read_safetensors(os.path.join(folder, "ref_cpu.safetensors"))
        tally.check("weights files before and after training", check_weights_files, folder, trained_ref)
        tally.check("trained model infers as tfc run with its weights", lambda: compare(
            tfc_run(tfc, model, "infer", {"x": x}, ["probs"], folder,
                    ["--weights", os.path.join(folder, "trained.safetensors")]),
            {"probs": read_bin(folder, "probs", "f32", (64, 10))}, "trained model"))
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
