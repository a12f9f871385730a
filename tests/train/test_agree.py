#!/usr/bin/env python3
"""test_agree.py — train.agree: the three ways of running a training step agree step by step:
`tfc run --graph train --steps N` on the interpreter and on the CPU backend, and a generated
library (`tfc compile` of the whole model) trained N steps through PREFIX_run by a generic C
driver (train_steps.c, built against the library's PREFIX.pc). Two models, the same initial
weights (--seed) and fixed inputs:
  - examples/mlp.tg (SGD with momentum): 784-512-512-10, batch 64, 10 steps;
  - tests/train/convnet.tg (Adam with weight decay: moments and a step count in the model): a
    padded and a strided grouped conv2d, max and average pooling, layer_norm, gelu; 20 steps.
Checks, for each model:
  - the library's loss of every step equals the CPU backend's (rtol 1e-5: tfc run prints six
    digits) and, in full f32, the last step's (`--out`): the same kernels, so bit-identical;
  - the interpreter's losses equal the CPU backend's within rtol 1e-4, printed and the last in
    full: the two sum in different orders (the CPU backend's GEMM tiles and vector lanes), a few
    f32 ulps per step that training compounds (measured, last step: 1.2e-5 on mlp.tg, whose
    nearly solved batch makes its loss small and its log-softmax cancel; 1e-7 on convnet.tg);
  - the trained weights (--save-weights, PREFIX_save_weights): the library's equal the CPU
    backend's bit for bit; the interpreter's equal them within rtol 1e-4 / atol 1e-6 (measured:
    at most 9e-8 apart);
  - every weight moved, and the loss fell.

Usage: test_agree.py TFC CC EXAMPLES_DIR
"""
import os
import re
import sys

import numpy as np

from train_common import HERE, Failure, Tally, build_c, command_line, pkg_flags, read_safetensors, run, save_inputs, \
    scratch_folder, tfc_compile, tfc_steps, write_bin

SEED = "3"
LOSS_RTOL_CPU, LOSS_RTOL_INTERP = 1e-5, 1e-4
W_RTOL_INTERP, W_ATOL_INTERP = 1e-4, 1e-6


def mlp_data(rng):
    x = rng.standard_normal((64, 784)).astype(np.float32)
    return {"x": x, "y": (x @ rng.standard_normal((784, 10))).argmax(axis=1).astype(np.int32)}


def convnet_data(rng):
    """16 images of 12 x 12: a bright square in one of 10 places, plus noise; the label is the place."""
    y = np.arange(16) % 10
    x = 0.3 * rng.standard_normal((16, 1, 12, 12))
    for i, c in enumerate(y):
        r, q = divmod(int(c), 5)
        x[i, 0, 2 + 5 * r:5 + 5 * r, 1 + 2 * q:3 + 2 * q] += 2
    return {"x": x.astype(np.float32), "y": y.astype(np.int32)}


# (name, model, steps, data)
MODELS = [("mlp", None, 10, mlp_data), ("convnet", os.path.join(HERE, "convnet.tg"), 20, convnet_data)]


def library_steps(tfc, cc, model, prefix, folder, steps):
    """The library's loss of each step (nine digits) and its trained weights."""
    lib = os.path.join(folder, "lib")
    tfc_compile(tfc, model, prefix, lib, ["--seed", SEED])
    exe = build_c(cc, [os.path.join(HERE, "train_steps.c")], os.path.join(folder, "train_steps"),
                  ["-pedantic", "-DPREFIX=%s" % prefix, "-include", os.path.join(lib, prefix + ".h"),
                   "-I", os.path.join(HERE, "..", "aot")] + pkg_flags(lib, prefix))
    weights = os.path.join(folder, "lib.safetensors")
    p = run([exe, "train", folder, str(steps), weights])
    losses = [float(v) for v in re.findall(r"^step \d+: loss (\S+)$", p.stdout, re.M)]
    if len(losses) != steps:
        raise Failure("train_steps printed %d step lines, expected %d:\n%s" % (len(losses), steps, p.stdout))
    return np.array(losses), read_safetensors(weights)


def run_steps(tfc, model, folder, steps, backend, inputs):
    """tfc run's loss of each step (six digits), the last step's in full, and the trained weights."""
    weights, last = os.path.join(folder, backend + ".safetensors"), os.path.join(folder, backend + ".loss.npy")
    losses = tfc_steps(tfc, model, "train", steps, ["--backend", backend, "--seed", SEED, "--save-weights", weights,
                                                    "--out", "loss=" + last] + inputs)
    return losses, float(np.load(last)), read_safetensors(weights)


def same_losses(got, want, rtol, what):
    if not np.allclose(got, want, rtol=rtol, atol=0):
        k = int(np.argmax(np.abs(got - want) / np.abs(want)))
        raise Failure("%s: step %d loss %.9g, expected %.9g (rtol %g)\ngot:      %s\nexpected: %s"
                      % (what, k + 1, got[k], want[k], rtol, got, want))
    return "largest relative difference %.2g" % float(np.max(np.abs(got - want) / np.abs(want)))


def same_weights(got, want, rtol, atol, what):
    if sorted(got) != sorted(want):
        raise Failure("%s holds %s, expected %s" % (what, sorted(got), sorted(want)))
    for n in want:
        if rtol == 0 and got[n].tobytes() != want[n].tobytes():
            raise Failure("%s: %s is not bit-identical (largest difference %.3g)"
                          % (what, n, np.max(np.abs(got[n] - want[n]))))
        if not np.allclose(got[n], want[n], rtol=rtol, atol=atol):
            raise Failure("%s: %s differs by up to %.3g (rtol %g, atol %g)"
                          % (what, n, np.max(np.abs(got[n] - want[n])), rtol, atol))
    return "bit-identical" if rtol == 0 else "largest difference %.2g" % max(
        float(np.max(np.abs(got[n].astype(np.float64) - want[n]))) for n in want)


def trained(losses, before, after):
    """The loss fell and every parameter moved."""
    still = [n for n in after if np.array_equal(before[n], after[n])]
    if still or not losses[-1] < losses[0]:
        raise Failure("loss %s; parameters that did not move: %s" % (losses, still))
    return "loss %.4g -> %.4g" % (losses[0], losses[-1])


def check_model(tally, tfc, cc, name, model, steps, data, folder):
    rng = np.random.default_rng(8)
    inputs = data(rng)
    for n, a in inputs.items():
        write_bin(folder, n, a)
    in_args = save_inputs(folder, inputs)
    lib, lib_w = library_steps(tfc, cc, model, name, folder, steps)
    cpu, cpu_last, cpu_w = run_steps(tfc, model, folder, steps, "cpu", in_args)
    interp, interp_last, interp_w = run_steps(tfc, model, folder, steps, "interp", in_args)
    tally.check("%s: library vs CPU backend, loss of each of %d steps" % (name, steps), same_losses, lib, cpu,
                LOSS_RTOL_CPU, "library")

    def last_bits():
        if np.float32(lib[-1]) != np.float32(cpu_last):
            raise Failure("last step's loss: library %.9g, CPU backend %.9g" % (lib[-1], cpu_last))
    tally.check("%s: library vs CPU backend, the last loss in full" % name, last_bits)
    tally.check("%s: interpreter vs CPU backend, loss of each step" % name, same_losses, interp, cpu,
                LOSS_RTOL_INTERP, "interpreter")
    tally.check("%s: interpreter vs CPU backend, the last loss in full" % name, same_losses, np.array([interp_last]),
                np.array([cpu_last]), LOSS_RTOL_INTERP, "interpreter")
    tally.check("%s: library vs CPU backend, trained weights" % name, same_weights, lib_w, cpu_w, 0, 0, "library")
    tally.check("%s: interpreter vs CPU backend, trained weights" % name, same_weights, interp_w, cpu_w,
                W_RTOL_INTERP, W_ATOL_INTERP, "interpreter")
    tally.check("%s: trained" % name, trained, lib, initial_weights(tfc, model, folder), lib_w)


def initial_weights(tfc, model, folder):
    """The parameters before training: those the initializers give for --seed (an inference run
    of the module writes them unchanged)."""
    path = os.path.join(folder, "initial.safetensors")
    run([tfc, "run", model, "--graph", "infer", "--random-inputs", "--seed", SEED, "--save-weights", path])
    return read_safetensors(path)


def main():
    tfc, cc, examples = command_line(__doc__, 3)
    tally = Tally()
    for name, model, steps, data in MODELS:
        with scratch_folder("tfc-train-agree-", tally, name) as folder:
            check_model(tally, tfc, cc, name, model or os.path.join(examples, "mlp.tg"), steps, data, folder)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
