#!/usr/bin/env python3
"""test_cmake_consumer.py — aot.cmake_consumer: `cmake --install` of the build tree into a
temporary prefix holds tfc, the CMake package, tfc.pc and the docs (and no headers); a user's
project (tests/aot/consumer) finds it with find_package(tfc), makes two libraries with
tfc_add_library (static with WEIGHTS; SHARED with OPT and SEED), builds and runs, and its outputs
equal `tfc run`'s. A second build does nothing; touching the model regenerates both libraries;
new weights regenerate the one that uses them and relink the program, whose outputs follow.
Last, examples/aot builds against the same install and prints tfc run's classes.

Usage: test_cmake_consumer.py CMAKE GENERATOR MAKE_PROGRAM CC BUILD_DIR SOURCE_DIR
"""
import glob
import os
import re
import shutil
import sys
import tempfile
import time

import numpy as np

from aot_common import HERE, Failure, Tally, compare, mlp_probs, run, tfc_run, write_bin


class Project:
    """A CMake project configured against the install in `prefix`."""

    def __init__(self, cmake, generator, make_program, cc, source, build, prefix, defines):
        self.cmake, self.build_dir = cmake, build
        cmd = [cmake, "-S", source, "-B", build, "-G", generator, "-DCMAKE_C_COMPILER=" + cc,
               "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_BUILD_TYPE=Release"]
        if make_program:
            cmd.append("-DCMAKE_MAKE_PROGRAM=" + make_program)
        run(cmd + ["-D%s=%s" % kv for kv in defines.items()])

    def build(self):
        """Builds; returns the prefixes whose library was regenerated (from the rule's comment)."""
        out = run([self.cmake, "--build", self.build_dir]).stdout
        return sorted(set(re.findall(r"tfc compile \S+ --name (\w+)", out)))


def check_install(cmake, build_dir, prefix):
    run([cmake, "--install", build_dir, "--prefix", prefix])
    tfc = os.path.join(prefix, "bin", "tfc")
    run([tfc, "--version"])
    for name in ("tfcConfig.cmake", "tfcConfigVersion.cmake", "tfc.pc"):
        if not glob.glob(os.path.join(prefix, "**", name), recursive=True):
            raise Failure("the install has no %s" % name)
    if not glob.glob(os.path.join(prefix, "share", "doc", "*", "c-api.md")):
        raise Failure("the install has no docs/c-api.md under share/doc")
    if os.path.exists(os.path.join(prefix, "include")):
        raise Failure("the install has headers (include/): generated headers are complete, none should be")
    pc_dir = os.path.dirname(glob.glob(os.path.join(prefix, "**", "tfc.pc"), recursive=True)[0])
    env = dict(os.environ, PKG_CONFIG_PATH=pc_dir)
    found = run(["pkg-config", "--variable=tfc", "tfc"], env=env).stdout.strip()
    if os.path.realpath(found) != os.path.realpath(tfc):
        raise Failure("pkg-config --variable=tfc tfc says %s, not %s" % (found, tfc))
    libs = run(["pkg-config", "--libs", "tfc"], env=env).stdout.split()
    if "-lopenblas" not in libs or "-lm" not in libs:
        raise Failure("pkg-config --libs tfc gives %s, without -lopenblas -lm" % libs)
    return tfc


def expect_rebuilt(project, want, what):
    got = project.build()
    if got != want:
        raise Failure("%s: regenerated %s, expected %s" % (what, got or "nothing", want or "nothing"))


def touch_later(path):
    """Sets path's time to now, after a pause that keeps it apart from the outputs' times on file
    systems with coarse timestamps."""
    time.sleep(1.1)
    os.utime(path, None)


def consumer(tfc, args, work, tally):
    cmake, generator, make_program, cc, _, source_dir = args
    src = os.path.join(work, "src")
    os.makedirs(src)
    model, weights = os.path.join(src, "mlp.tg"), os.path.join(src, "w.safetensors")
    shutil.copyfile(os.path.join(source_dir, "examples", "mlp.tg"), model)
    run([tfc, "run", model, "--graph", "infer", "--random-inputs", "--seed", "8", "--save-weights", weights])
    x = np.random.default_rng(13).uniform(-1, 1, size=(64, 784)).astype(np.float32)
    write_bin(work, "x", x)

    project = Project(cmake, generator, make_program, cc, os.path.join(HERE, "consumer"), os.path.join(work, "build"),
                      os.path.join(work, "prefix"), {"TFC_TEST_MODEL": model, "TFC_TEST_WEIGHTS": weights})
    exe = os.path.join(work, "build", "consumer")

    def reference(flags):
        return tfc_run(tfc, model, "infer", {"x": x}, ["probs"], work, flags)

    def run_and_compare(what):
        run([exe, work])
        a = compare(reference(["--weights", weights]), mlp_probs(work, "a"), what + ", mlpa")
        b = compare(reference(["--seed", "7", "-O2"]), mlp_probs(work, "b"), what + ", mlpb")
        return "mlpa %s, mlpb %s" % (a, b)

    tally.check("configure, build (both libraries generated)", expect_rebuilt, project, ["mlpa", "mlpb"], "first build")
    tally.check("the program's outputs", run_and_compare, "first build")
    tally.check("a second build regenerates nothing", expect_rebuilt, project, [], "second build")
    touch_later(model)
    tally.check("touching the model regenerates both", expect_rebuilt, project, ["mlpa", "mlpb"], "model touched")
    run([tfc, "run", model, "--graph", "infer", "--random-inputs", "--seed", "9", "--save-weights", weights])
    touch_later(weights)
    tally.check("new weights regenerate mlpa only", expect_rebuilt, project, ["mlpa"], "weights replaced")
    tally.check("the relinked program uses the new weights", run_and_compare, "new weights")


def example(tfc, args, work):
    """examples/aot against the install: mlp_demo prints the classes that tfc run gives for the
    same inputs (--random-inputs) and parameters (seed 0 for both)."""
    cmake, generator, make_program, cc, _, source_dir = args
    model = os.path.join(work, "src", "example_mlp.tg")
    shutil.copyfile(os.path.join(source_dir, "examples", "mlp.tg"), model)
    project = Project(cmake, generator, make_program, cc, os.path.join(source_dir, "examples", "aot"),
                      os.path.join(work, "example"), os.path.join(work, "prefix"), {"MLP_MODEL": model})
    project.build()
    out = run([os.path.join(work, "example", "mlp_demo"), "1", "3"]).stdout
    m = re.search(r"predicted classes of the first 16 rows:([\d ]+)", out)
    if not m or "per inference" not in out:
        raise Failure("mlp_demo printed:\n" + out)
    probs = os.path.join(work, "example_probs.npy")
    run([tfc, "run", model, "--graph", "infer", "--random-inputs", "--out", "probs=" + probs])
    want = [int(c) for c in np.load(probs).argmax(-1)[:16]]
    got = [int(c) for c in m.group(1).split()]
    if got != want:
        raise Failure("mlp_demo's classes %s, tfc run's %s" % (got, want))
    return "classes %s" % " ".join(map(str, got))


def main():
    if len(sys.argv) != 7:
        print(__doc__)
        return 2
    args = sys.argv[1:]
    tally = Tally()
    work = tempfile.mkdtemp(prefix="tfc-aot-consumer-")
    try:
        tfc = check_install(args[0], args[4], os.path.join(work, "prefix"))
        tally.ok("cmake --install: tfc, the CMake package, tfc.pc, docs, no headers")
        consumer(tfc, args, work, tally)
        tally.check("examples/aot builds against the install and runs", example, tfc, args, work)
    except Failure as e:
        tally.fail("setup", e)
    shutil.rmtree(work, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
