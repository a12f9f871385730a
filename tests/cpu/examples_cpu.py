#!/usr/bin/env python3
"""examples_cpu.py — every graph of examples/*.tg (except training graphs) compiled by the CPU
backend gives the interpreter's outputs: the interpreter at -O0 is the oracle; the CPU backend
runs at -O0 and -O3 on 1 thread and at -O3 on 2 threads, with --random-inputs --seed 1. Floats
within rtol 1e-4 / atol 1e-5 (the tolerance of the pass tests: reductions and GEMMs sum in
another order), integers and bools exactly, and the two -O3 runs bit-identical.

Usage: examples_cpu.py TFC EXAMPLES_DIR [-D NAME=VALUE for a model: MODEL:NAME=VALUE]...
Prints each run's time, then 'N passed, M failed'.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "passes"))
from examples_opt_levels import graphs, mismatch, outputs, Tally  # noqa: E402

CONFIGS = [("interp-O0", ["--backend", "interp", "-O0"]),
           ("cpu-O0-t1", ["--backend", "cpu", "-O0", "--threads", "1"]),
           ("cpu-O3-t1", ["--backend", "cpu", "-O3", "--threads", "1"]),
           ("cpu-O3-t2", ["--backend", "cpu", "-O3", "--threads", "2"])]


def run(tfc, model, graph, tag, flags, outs, folder, extra):
    args = [tfc, "run", model, "--graph", graph, "--random-inputs", "--seed", "1"] + flags + extra
    paths = {o: os.path.join(folder, "%s.%s.%s.npy" % (graph, tag, o)) for o in outs}
    for o in outs:
        args += ["--out", "%s=%s" % (o, paths[o])]
    start = time.monotonic()
    p = subprocess.run(args, capture_output=True, text=True, timeout=1200)
    took = time.monotonic() - start
    if p.returncode != 0:
        return None, took, "exit status %d\n%s" % (p.returncode, p.stderr)
    return {o: np.load(paths[o]) for o in outs}, took, None


def check_graph(tfc, model, graph, folder, extra, tally):
    name = "%s/%s" % (os.path.basename(model), graph)
    outs, err = outputs(tfc, model, graph)
    if outs is None:
        tally.fail(name, "dump: " + err)
        return
    results = {}
    for tag, flags in CONFIGS:
        got, took, err = run(tfc, model, graph, tag, flags, outs, folder, extra)
        print("  %s %s: %.1f s" % (name, tag, took), flush=True)
        if err:
            tally.fail("%s %s" % (name, tag), err)
            if tag == "interp-O0":
                return
            continue
        results[tag] = got
        if tag == "interp-O0":
            continue
        problems = [(o, mismatch(results["interp-O0"][o], got[o])) for o in outs]
        problems = [(o, m) for o, m in problems if m]
        if tag == "cpu-O3-t2" and "cpu-O3-t1" in results:
            problems += [(o, "not bit-identical to 1 thread") for o in outs
                         if got[o].tobytes() != results["cpu-O3-t1"][o].tobytes()]
        if problems:
            tally.fail("%s %s" % (name, tag), "\n".join("output %s: %s" % p for p in problems))
        else:
            tally.passed += 1


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    tfc, examples = sys.argv[1], sys.argv[2]
    defines = {}
    for arg in sys.argv[3:]:
        model, define = arg.split(":", 1)
        defines.setdefault(model, []).extend(["-D", define])
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="tfc-examples-cpu-") as folder:
        for model in sorted(os.path.join(examples, f) for f in os.listdir(examples) if f.endswith(".tg")):
            for graph, trains in graphs(model).items():
                if trains:
                    print("  %s/%s: skipped (a training graph)" % (os.path.basename(model), graph))
                    continue
                extra = defines.get(os.path.basename(model)[:-3], [])
                check_graph(tfc, model, graph, folder, extra, tally)
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
