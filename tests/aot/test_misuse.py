#!/usr/bin/env python3
"""test_misuse.py — aot.misuse: builds misuse.c against the MLP's inference graph (prefix mlp,
--seed 7) and tests/aot/gather.tg (prefix gth), writes the weights files it loads (other weights
from `tfc run --seed 8 --save-weights`, and from them: garbage bytes, a truncated file, a wrong
shape, a wrong dtype, a missing and an extra tensor), runs it (every check must pass and the
process must exit normally), then checks what it wrote: its outputs equal `tfc run`'s with each
set of weights, and the file mlp_save_weights wrote holds exactly tfc's initial parameters.

Usage: test_misuse.py TFC CC EXAMPLES_DIR
"""
import os
import subprocess
import sys

import numpy as np

from aot_common import HERE, Failure, Tally, build_c, command_line, compare, identical, mlp_probs, pkg_flags, \
    read_safetensors, run, scratch_folder, tfc_compile, tfc_run, write_bin, write_safetensors

SEED, OTHER_SEED = "7", "8"


def weight_files(tfc, model, folder):
    """The other weights, and the broken files made from them: each broken one differs from the
    model's weights before the point where it is wrong, so a load that copied some tensors before
    failing would change the outputs."""
    other = os.path.join(folder, "seed_other.safetensors")
    run([tfc, "run", model, "--graph", "infer", "--random-inputs", "--seed", OTHER_SEED, "--save-weights", other])
    w = read_safetensors(other)
    rng = np.random.default_rng(3)
    with open(os.path.join(folder, "garbage.safetensors"), "wb") as f:
        f.write(rng.integers(0, 256, size=3000, dtype=np.uint8).tobytes())
    with open(other, "rb") as f:
        data = f.read()
    with open(os.path.join(folder, "truncated.safetensors"), "wb") as f:
        f.write(data[:len(data) // 2])
    write_safetensors(os.path.join(folder, "wrong_shape.safetensors"),
                      dict(w, w3=np.zeros((512, 11), np.float32)))
    write_safetensors(os.path.join(folder, "wrong_dtype.safetensors"), dict(w, b1=w["b1"].astype(np.float16)))
    write_safetensors(os.path.join(folder, "missing.safetensors"), {k: v for k, v in w.items() if k != "b3"})
    write_safetensors(os.path.join(folder, "extra.safetensors"), dict(w, w4=np.ones((10, 10), np.float32)))
    return other


def check_outputs(tfc, model, folder, x, other):
    """What misuse wrote: outputs with the compiled and with the other weights, and the save."""
    ref = tfc_run(tfc, model, "infer", {"x": x}, ["probs"], folder, ["--seed", SEED])
    notes = ["compiled weights: " + compare(ref, mlp_probs(folder), "compiled weights")]
    ref = tfc_run(tfc, model, "infer", {"x": x}, ["probs"], folder, ["--weights", other])
    notes.append("loaded weights: " + compare(ref, mlp_probs(folder, "probs_other"), "loaded weights"))
    initial = os.path.join(folder, "initial.safetensors")
    run([tfc, "run", model, "--graph", "infer", "--random-inputs", "--seed", SEED, "--save-weights", initial])
    want, saved = read_safetensors(initial), read_safetensors(os.path.join(folder, "saved.safetensors"))
    if sorted(want) != sorted(saved):
        raise Failure("mlp_save_weights wrote tensors %s, tfc %s" % (sorted(saved), sorted(want)))
    bad = [k for k in want if not identical(want[k], saved[k])]
    if bad:
        raise Failure("mlp_save_weights wrote other values than tfc's initial ones for %s" % bad)
    return "; ".join(notes) + "; saved weights identical to tfc's"


def main():
    tfc, cc, examples = command_line(__doc__, 3)
    model = os.path.join(examples, "mlp.tg")
    tally = Tally()
    with scratch_folder("tfc-aot-misuse-", tally) as folder:
        lib_mlp, lib_gth = os.path.join(folder, "mlp"), os.path.join(folder, "gth")
        tfc_compile(tfc, model, "mlp", lib_mlp, ["--graph", "infer", "--seed", SEED])
        tfc_compile(tfc, os.path.join(HERE, "gather.tg"), "gth", lib_gth)
        exe = build_c(cc, [os.path.join(HERE, "misuse.c")], os.path.join(folder, "misuse"),
                      pkg_flags([lib_mlp, lib_gth], ["mlp", "gth"]))
        other = weight_files(tfc, model, folder)
        x = np.random.default_rng(5).uniform(-1, 1, size=(64, 784)).astype(np.float32)
        write_bin(folder, "x", x)
        p = subprocess.run([exe, folder], capture_output=True, text=True, timeout=300)
        print(p.stdout, end="")
        if p.returncode < 0:
            tally.fail("misuse", "killed by signal %d (an abort is what must never happen)\n%s" % (-p.returncode,
                                                                                                  p.stderr))
        elif p.returncode != 0:
            tally.fail("misuse", "%d checks failed\n%s" % (p.returncode, p.stderr))
        else:
            tally.ok("misuse: every check")
            tally.check("outputs and saved weights", check_outputs, tfc, model, folder, x, other)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
