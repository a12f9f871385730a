#!/usr/bin/env python3
"""test_examples.py — aot.examples: every graph of examples/*.tg (but training graphs, which
test_train.py runs step by step) and the first programs of the random-graph suite
(tests/passes/random_program.py), each compiled by `tfc compile`, run through the generic
harness (harness.c, linked through the library's own PREFIX.pc, built as C99 -pedantic -Werror)
and compared with `tfc run --backend cpu` on the same inputs and the same --seed: floats within
rtol 1e-5 / atol 1e-6 (f16 within 1e-2), integers and bools exactly. Each case also says whether
it is bit-identical. The library runs on 2 threads twice (the same bytes both times), tfc run
on 1. The library's argument table (PREFIX_graph) must list the graph's inputs and outputs with
tfc's names, dtypes and shapes.

Usage: test_examples.py TFC CC EXAMPLES_DIR [--random N] [--seed S] [--jobs J] [--keep DIR]
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import sys
import tempfile
import time

import numpy as np

from aot_common import DTYPES, Failure, Tally, arg_table, compare, harness, read_bin, run, tfc_compile, tfc_run, \
    write_bin

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "passes"))
from examples_opt_levels import graphs  # noqa: E402
from random_program import Program  # noqa: E402

# Sizes that keep the suite quick (the sanitizer build runs tfc under ASan): the library and
# tfc run see the same -D, so the comparison is as strong.
DEFINES = {"elementwise": ["-D", "N=65536"]}
SEED = "7"   # parameters' initial values, the same for tfc compile and tfc run


def signature(tfc, model, graph, defines):
    """The graph's (input names, output names) from the first line of its Graph IR."""
    p = run([tfc, "dump", model, "--graph", graph, "--stage", "graph"] + defines)
    m = re.search(r"^graph @\w+\(([^)]*)\) -> \(([^)]*)\)", p.stdout, re.M)
    if not m:
        raise Failure("no graph line in tfc dump's output")
    ins = re.findall(r"%(\w+)\s*:", m.group(1))
    return ins, [o.strip() for o in m.group(2).split(",") if o.strip()]


def example_inputs(table_args, seed):
    """Inputs for an example graph, from the library's table: floats uniform in [-1, 1), integers
    and bools 0 or 1 (valid class ids), reproducible."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, is_out, dtype, shape, _ in table_args:
        if is_out:
            continue
        if dtype in ("f32", "f16"):
            out[name] = rng.uniform(-1, 1, size=shape).astype(DTYPES[dtype])
        else:
            out[name] = rng.integers(0, 2, size=shape).astype(DTYPES[dtype])
    return out


def check_table(table_args, inputs, refs):
    """The table lists exactly the inputs (in order), then the outputs, each with tfc's dtype,
    shape and byte size."""
    want = [(n, False, a) for n, a in inputs.items()] + [(n, True, a) for n, a in refs.items()]
    got = [(n, o, d, s, b) for n, o, d, s, b in table_args]
    if [(n, o) for n, o, _ in want] != [(n, o) for n, o, _, _, _ in got]:
        raise Failure("argument table lists %s, expected %s" % ([(n, "out" if o else "in") for n, o, _, _, _ in got],
                                                                  [(n, "out" if o else "in") for n, o, _ in want]))
    for (name, _, a), (_, _, dtype, shape, nbytes) in zip(want, got):
        if np.dtype(DTYPES[dtype]) != a.dtype or tuple(shape) != a.shape or nbytes != a.nbytes:
            raise Failure("argument %s: the table says %s%s (%d bytes), tfc says %s%s (%d bytes)"
                          % (name, dtype, list(shape), nbytes, a.dtype, list(a.shape), a.nbytes))


def check_case(tfc, cc, case, folder):
    """Compiles, runs both ways and compares one graph. case: (label, model, graph, defines, inputs or None)."""
    label, model, graph, defines, given = case
    prefix = re.sub(r"\W", "_", label).lower()
    os.makedirs(folder, exist_ok=True)
    start = time.monotonic()
    flags = ["--graph", graph, "--seed", SEED] + defines
    tfc_compile(tfc, model, prefix, folder, flags)
    exe = harness(cc, folder, prefix, os.path.join(folder, "harness"))
    table = arg_table(exe)
    if list(table) != [graph]:
        raise Failure("the library's graphs are %s, expected [%s]" % (list(table), graph))
    ins, outs = signature(tfc, model, graph, defines)
    inputs = given if given is not None else example_inputs(table[graph], 1)
    if list(inputs) != ins:
        raise Failure("inputs %s, the graph's are %s" % (list(inputs), ins))
    refs = tfc_run(tfc, model, graph, inputs, outs, folder, ["--seed", SEED, "--threads", "1"] + defines)
    check_table(table[graph], inputs, refs)
    for name, a in inputs.items():
        write_bin(folder, name, a)
    run([exe, graph, folder, "--threads", "2", "--repeat", "2"])
    gots = {n: read_bin(folder, n, d, s) for n, o, d, s, _ in table[graph] if o}
    note = compare(refs, gots, "library vs tfc run")
    return "%s, %.1f s" % (note, time.monotonic() - start)


def cases(examples, n_random, seed):
    found = []
    for model in sorted(os.path.join(examples, f) for f in os.listdir(examples) if f.endswith(".tg")):
        base = os.path.basename(model)[:-3]
        for graph, trains in graphs(model).items():
            if not trains:   # a step changes the parameters, so runs differ: test_train.py checks those
                found.append(("%s_%s" % (base, graph), model, graph, DEFINES.get(base, []), None))
    return found + [("random%d" % i, None, "g", [], (seed, i)) for i in range(n_random)]


def prepare_random(case, folder):
    """Writes random program (seed, index) as a .tg file; the case with its model and inputs."""
    label, _, graph, defines, (seed, index) = case
    prog = Program(seed, index).generate()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "prog.tg")
    with open(path, "w") as f:
        f.write(prog.source())
    return label, path, graph, defines, {name: a for name, _, _, a in prog.inputs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tfc")
    ap.add_argument("cc")
    ap.add_argument("examples")
    ap.add_argument("--random", type=int, default=20, help="programs of the random-graph suite (default 20)")
    ap.add_argument("--seed", type=int, default=1, help="their generator seed (default 1)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--keep", help="keep every case's files under this folder")
    a = ap.parse_args()
    tally = Tally()
    work = a.keep or tempfile.mkdtemp(prefix="tfc-aot-examples-")

    def one(case):
        folder = os.path.join(work, case[0])
        try:
            if case[1] is None:
                case = prepare_random(case, folder)
            return case[0], check_case(a.tfc, a.cc, case, folder), None
        except Failure as e:
            if case[1] and case[1].endswith("prog.tg"):
                with open(case[1]) as f:
                    e = Failure("%s\nthe program:\n%s" % (e, f.read()))
            return case[0], None, e

    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        for label, note, err in pool.map(one, cases(a.examples, a.random, a.seed)):
            if err:
                tally.fail(label, err)
            else:
                tally.ok(label, note)
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
