#!/usr/bin/env python3
"""test_compile_cli.py — `tfc compile` as a user drives it: every user error exits 1 with one
message naming what is wrong (bad --name, names that would clash in the generated API, an
unavailable --target, an unwritable -o, bad --weights, an unknown graph, a graph that cannot be
compiled yet), and the success path writes PREFIX.h, libPREFIX.a, libPREFIX.so and PREFIX.pc,
whose header compiles as C and C++, and whose library, linked through pkg-config, computes what
`tfc run` computes.
Usage: test_compile_cli.py TFC EXAMPLES_DIR"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from cli_common import check, expect_error, finish, tfc, write_safetensors

EXAMPLES = sys.argv[2]
MLP = os.path.join(EXAMPLES, "mlp.tg")


def sh(cmd, cwd=None, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    return p.returncode, p.stdout + p.stderr


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


SMALL = """param w : f32[4] = zeros()
graph {name}(x : f32[4]) -> (y : f32[4]) {{
  y = x * w
}}
"""


def test_help():
    rc, out, _ = tfc("--help")
    check("tfc --help lists compile", rc == 0 and re.search(r"^\s+compile\s", out, re.M), out)
    rc, out, _ = tfc("compile", "--help")
    check("compile --help", rc == 0 and "usage: tfc compile" in out and "--shared" in out and "-o DIR" in out, out)


def test_errors(tmp):
    small = write(os.path.join(tmp, "small.tg"), SMALL.format(name="infer"))
    expect_error("missing model", ["compile", os.path.join(tmp, "nope.tg")], "cannot open", "nope.tg")
    expect_error("no model", ["compile"], "no model file given")
    for bad in ["3d", "int", "my-model"]:
        expect_error(f"bad --name {bad}", ["compile", small, "--name", bad, "-o", tmp], f"--name '{bad}'",
                     "not a C identifier")
    # The default prefix comes from the file name, made an identifier: never an error by itself.
    create = write(os.path.join(tmp, "clash.tg"), SMALL.format(name="create"))
    expect_error("graph name clash", ["compile", create, "-o", tmp], "graph 'create' would be clash_create",
                 "rename the graph")
    macros = write(os.path.join(tmp, "macros.tg"),
                   "graph infer(x_y : f32[4]) -> (o : f32[4]) {\n  o = x_y\n}\n"
                   "graph infer_x(y : f32[4]) -> (p : f32[4]) {\n  p = y\n}\n")
    expect_error("macro clash", ["compile", macros, "-o", tmp], "would both define MACROS_INFER_X_Y_SHAPE")
    expect_error("--target cuda", ["compile", small, "--target", "cuda"],
                 "tfc: error: --target cuda is not available yet (available: cpu)")
    expect_error("unknown --target", ["compile", small, "--target", "tpu"], "--target tpu is unknown")
    blocker = write(os.path.join(tmp, "a_file"), "not a folder\n")
    expect_error("-o under a regular file", ["compile", small, "-o", os.path.join(blocker, "sub")],
                 os.path.join(blocker, "sub"))
    expect_error("--weights missing", ["compile", small, "--weights", os.path.join(tmp, "none.safetensors")],
                 "none.safetensors")
    wrong = os.path.join(tmp, "wrong.safetensors")
    write_safetensors(wrong, {"w": np.zeros((5,), np.float32)})
    expect_error("--weights wrong shape", ["compile", small, "-o", tmp, "--weights", wrong], "wrong.safetensors",
                 "parameter 'w'", "f32[4]")
    extra = os.path.join(tmp, "extra.safetensors")
    write_safetensors(extra, {"w": np.zeros((4,), np.float32), "v": np.zeros((4,), np.float32)})
    expect_error("--weights extra tensor", ["compile", small, "-o", tmp, "--weights", extra], "extra.safetensors",
                 "'v' is not a parameter")
    expect_error("unknown graph", ["compile", MLP, "--graph", "infre", "-o", tmp], "no graph named 'infre'",
                 "did you mean 'infer'")
    expect_error("unknown option", ["compile", small, "--threads", "2"], "unknown option '--threads'")
    params_only = write(os.path.join(tmp, "params_only.tg"), "param w : f32[4] = zeros()\n")
    expect_error("no graph", ["compile", params_only, "-o", tmp], "the module has no graph")
    # A module with one graph in error (an out-of-range learning rate) fails as a whole, and the
    # note gives the command that compiles the graph that can.
    one_bad = write(os.path.join(tmp, "one_bad.tg"),
                    "param w : f32[4] = ones()\ngraph infer(x : f32[4]) -> (y) {\n  y = x * w\n}\n"
                    "graph train(x : f32[4]) -> (l) {\n  l = sum(x * w)\n  minimize l with sgd(lr=-1)\n}\n")
    expect_error("one graph in error", ["compile", one_bad, "-o", tmp], "sgd: 'lr' must be >= 0, not -1",
                 "--graph infer")
    for f in ["small.h", "libsmall.a", "clash.h", "macros.h", "one_bad.h"]:
        check(f"no {f} after an error", not os.path.exists(os.path.join(tmp, f)), f)


SUMMARY = re.compile(r"^tfc: wrote (\S+)/(\w+)\.h, \1/lib\2\.a \((\d+) KiB\)(?:, \1/lib\2\.so \((\d+) KiB\))?, "
                     r"\1/\2\.pc: (\d+) graphs?, (\d+) parameters? \((\d+) KiB\), compiled in (\d+) ms\n$")

PROGRAM = r"""#include "mlp.h"
#include <stdio.h>
int main(int argc, char **argv) {
    static float x[MLP_INFER_X_COUNT], probs[MLP_INFER_PROBS_COUNT];
    FILE *f = fopen(argv[1], "rb");
    if (argc < 3 || !f || fread(x, sizeof x, 1, f) != 1) return 3;
    fclose(f);
    mlp_model *m = mlp_create(NULL);
    if (!m) { fprintf(stderr, "%s\n", mlp_create_error()); return 1; }
    if (mlp_infer(m, x, probs) != 0) { fprintf(stderr, "%s\n", mlp_error(m)); return 1; }
    f = fopen(argv[2], "wb");
    if (!f || fwrite(probs, sizeof probs, 1, f) != 1) return 3;
    fclose(f);
    mlp_destroy(m);
    return 0;
}
"""


def test_success(tmp):
    """mlp's infer graph: four files, a header that compiles, a library that computes what tfc
    run computes, linked statically and dynamically."""
    out_dir = os.path.join(tmp, "lib")
    rc, out, err = tfc("compile", MLP, "--graph", "infer", "-o", out_dir, "--name", "mlp", "--shared")
    check("compile mlp --graph infer --shared", rc == 0, f"rc={rc}\n{out}{err}")
    if rc != 0:
        return
    m = SUMMARY.match(out)
    check("summary line", m and m.group(1) == out_dir and m.group(2) == "mlp" and m.group(5) == "1"
          and m.group(6) == "6" and m.group(7) == str((784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10) * 4 // 1024 + 1),
          out)
    files = ["mlp.h", "libmlp.a", "libmlp.so", "mlp.pc"]
    for f in files:
        check(f"wrote {f}", os.path.isfile(os.path.join(out_dir, f)), str(os.listdir(out_dir)))
    if m:
        check("archive size", int(m.group(3)) == (os.path.getsize(os.path.join(out_dir, "libmlp.a")) + 1023) // 1024, out)
    header = open(os.path.join(out_dir, "mlp.h")).read()
    check("header names the graph", "int mlp_infer(mlp_model *m, const float *x, float *probs);" in header
          and "#define MLP_INFER_X_SHAPE {64, 784}" in header and "mlp_train" not in header, header[:2000])
    prog = write(os.path.join(tmp, "use.c"), PROGRAM)
    for cc, flags in [("gcc", "-std=c99 -Wall -Wextra -pedantic -Werror"),
                      ("g++", "-x c++ -std=c++11 -Wall -Wextra -pedantic -Werror")]:
        rc, log = sh([cc, *flags.split(), "-I", out_dir, "-c", prog, "-o", os.path.join(tmp, f"use_{cc}.o")])
        check(f"{cc} compiles a program using the header", rc == 0, log)

    env = dict(os.environ, PKG_CONFIG_PATH=out_dir)
    rc, pc = sh(["pkg-config", "--cflags", "--libs", "mlp"], env=env)
    check("pkg-config", rc == 0 and f"-I{out_dir}" in pc and f"-L{out_dir}" in pc and "-lmlp" in pc, pc)
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (64, 784)).astype(np.float32)
    x.tofile(os.path.join(tmp, "x.bin"))
    np.save(os.path.join(tmp, "x.npy"), x)
    rc, _, err = tfc("run", MLP, "--graph", "infer", "--in", f"x={tmp}/x.npy", "--out", f"probs={tmp}/want.npy")
    check("tfc run reference", rc == 0, err)
    want = np.load(os.path.join(tmp, "want.npy")) if rc == 0 else None
    links = {"static": [os.path.join(out_dir, "libmlp.a"), "-lopenblas", "-lm", "-lpthread"],
             "shared (pkg-config)": pc.split()}
    for kind, libs in links.items():
        exe = os.path.join(tmp, "use_" + kind.split()[0])
        rc, log = sh(["gcc", "-std=c99", "-I", out_dir, prog, "-o", exe, *libs])
        check(f"link {kind}", rc == 0, log)
        if rc != 0:
            continue
        rc, log = sh([exe, os.path.join(tmp, "x.bin"), os.path.join(tmp, "got.bin")],
                     env=dict(os.environ, LD_LIBRARY_PATH=out_dir))
        check(f"run {kind}", rc == 0, log)
        if rc == 0 and want is not None:
            got = np.fromfile(os.path.join(tmp, "got.bin"), np.float32).reshape(64, 10)
            check(f"{kind} library matches tfc run", np.allclose(got, want, rtol=1e-5, atol=1e-6),
                  f"max diff {np.abs(got - want).max()}")


def test_defaults_and_tgir(tmp):
    """Default -o (the current folder) and --name (the file name); a .tgir file with two graphs
    compiled with --graph keeps only that graph."""
    src = write(os.path.join(tmp, "two-graphs.tg"),
                SMALL.format(name="first") + "graph second(z : f32[4]) -> (v : f32[4]) {\n  v = z + w\n}\n")
    rc, out, err = tfc("compile", src, cwd=tmp)
    check("default -o and --name", rc == 0 and out.startswith("tfc: wrote ./two_graphs.h")
          and os.path.isfile(os.path.join(tmp, "libtwo_graphs.a")) and "2 graphs, 1 parameter " in out,
          f"rc={rc}\n{out}{err}")
    rc, text, err = tfc("dump", src, "--stage", "graph")
    tgir = write(os.path.join(tmp, "two.tgir"), text)
    out_dir = os.path.join(tmp, "tgir")
    rc, out, err = tfc("compile", tgir, "--graph", "second", "-o", out_dir + "/")
    check("compile .tgir --graph", rc == 0 and f"wrote {out_dir}/two.h" in out and "1 graph," in out,
          f"rc={rc}\n{out}{err}")
    if rc == 0:
        header = open(os.path.join(out_dir, "two.h")).read()
        check(".tgir --graph keeps one graph", "two_second(" in header and "two_first" not in header
              and "#define TWO_NUM_GRAPHS 1" in header, header)


WEIGHTS_PROGRAM = r"""#include "small.h"
#include <stdio.h>
int main(void) {
    float x[SMALL_INFER_X_COUNT] = {1, 1, 1, 1}, y[SMALL_INFER_Y_COUNT];
    small_model *m = small_create(NULL);
    if (!m || small_infer(m, x, y) != 0) return 1;
    for (int i = 0; i < SMALL_INFER_Y_COUNT; i++) printf("%g\n", (double)y[i]);
    small_destroy(m);
    return 0;
}
"""


def test_weights(tmp):
    """--weights values are what the library starts from."""
    small = write(os.path.join(tmp, "small.tg"), SMALL.format(name="infer"))
    weights = os.path.join(tmp, "w.safetensors")
    write_safetensors(weights, {"w": np.array([1.5, -2, 3, 0.25], np.float32)})
    rc, out, err = tfc("compile", small, "--weights", weights, "-o", tmp)
    check("compile --weights", rc == 0 and "1 parameter (1 KiB)" in out, f"rc={rc}\n{out}{err}")
    if rc != 0:
        return
    prog = write(os.path.join(tmp, "weights.c"), WEIGHTS_PROGRAM)
    exe = os.path.join(tmp, "weights")
    rc, log = sh(["gcc", "-std=c99", "-I", tmp, prog, "-o", exe, os.path.join(tmp, "libsmall.a"), "-lopenblas",
                  "-lm", "-lpthread"])
    check("link --weights library", rc == 0, log)
    if rc == 0:
        rc, log = sh([exe])
        check("library starts from --weights", rc == 0 and log.split() == ["1.5", "-2", "3", "0.25"], log)


def test_training_module(tmp):
    """examples/mlp.tg whole: both graphs in one library; the train graph's function takes its
    inputs and its loss (the updates stay inside the model); the optimizer state is not compiled
    in (the summary counts and sizes the six weights)."""
    rc, out, err = tfc("compile", MLP, "-o", tmp, "--name", "mlp")
    m = SUMMARY.match(out)
    check("compile mlp.tg (both graphs)", rc == 0 and m and m.group(5) == "2" and m.group(6) == "6" and
          m.group(7) == str((784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10) * 4 // 1024 + 1),
          f"rc={rc}\n{out}{err}")
    if rc != 0:
        return
    header = open(os.path.join(tmp, "mlp.h")).read()
    check("train function", "int mlp_train(mlp_model *m, const float *x, const int32_t *y, float *loss);" in header
          and "#define MLP_NUM_GRAPHS 2" in header and "momentum_buffer" not in header
          and "A training step" in header, header[:4000])


def main():
    if not shutil.which("gcc") or not shutil.which("pkg-config"):
        print("test_compile_cli.py needs gcc and pkg-config")
        return 1
    test_help()
    with tempfile.TemporaryDirectory() as tmp:
        test_errors(tmp)
    with tempfile.TemporaryDirectory() as tmp:
        test_success(tmp)
    with tempfile.TemporaryDirectory() as tmp:
        test_defaults_and_tgir(tmp)
    with tempfile.TemporaryDirectory() as tmp:
        test_weights(tmp)
    with tempfile.TemporaryDirectory() as tmp:
        test_training_module(tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
