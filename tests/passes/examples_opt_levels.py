#!/usr/bin/env python3
"""examples_opt_levels.py — every graph of examples/*.tg gives the same outputs at -O1, -O2 and
-O3 as at -O0, with --random-inputs --seed 1 and --verify-each: floats within rtol 1e-4 / atol
1e-5 (NaN where -O0 has NaN), integers and bools exactly; the -O3 memory plan must pass
plan_check.py. A training graph (one with `minimize`) runs two steps, so that the second reads
the optimizer state the first wrote, and its trained parameters (--save-weights) must agree too:
the backward graph goes through the same passes as the forward one.

Usage: examples_opt_levels.py TFC EXAMPLES_DIR [--levels 0,1,2,3]
-O0 and -O3 always run at full size. The models in SHRINK run -O1 and -O2 (with their own -O0)
at the smaller size given there, which keeps the sanitizer build within its time (elementwise.tg
at full size is 16M elements through ~15 ops). Prints each run's time, then 'N passed, M failed'.
"""
import argparse
import glob
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

from plan_check import check_plan, elementwise_ops

RTOL, ATOL = 1e-4, 1e-5
ELEMENTWISE = elementwise_ops()
SHRINK = {"elementwise": ["-D", "N=65536"]}


def graphs(model):
    """The graphs of a module, and for each whether its body says `minimize`."""
    found, current = {}, None
    with open(model) as f:
        for line in f:
            line = line.split("#", 1)[0]
            m = re.match(r"\s*graph\s+([A-Za-z_]\w*)", line)
            if m:
                current = m.group(1)
                found[current] = False
            if current and re.search(r"\bminimize\b", line):
                found[current] = True
    return found


def outputs(tfc, model, graph):
    """The output names, from the graph line of the lowered IR."""
    p = subprocess.run([tfc, "dump", model, "--graph", graph, "--stage", "graph"], capture_output=True, text=True)
    m = re.search(r"^graph @\w+\([^)]*\) -> \(([^)]*)\)", p.stdout, re.M)
    if p.returncode != 0 or not m:
        return None, p.stderr
    return [o.strip() for o in m.group(1).split(",") if o.strip()], None


SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "I64": np.int64, "BOOL": np.bool_}


def read_safetensors(path):
    """The tensors of a .safetensors file, keyed '@NAME' (a parameter, not an output)."""
    with open(path, "rb") as f:
        data = f.read()
    size = struct.unpack("<Q", data[:8])[0]
    header, base = json.loads(data[8:8 + size]), 8 + size
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        raw = np.frombuffer(data[base + lo:base + hi], dtype=SAFETENSORS_DTYPES[info["dtype"]])
        tensors["@" + name] = raw.reshape(info["shape"])
    return tensors


def run(tfc, model, graph, level, outs, folder, extra, trains):
    """Runs one level; returns (arrays, seconds, error). -O3 also writes the planned IR, and a
    plan that plan_check.py finds unsound is an error. A training graph also gives its trained
    parameters, after two steps."""
    tag = "O%d%s" % (level, "-small" if extra else "")
    dump = os.path.join(folder, "%s.%s.dump" % (graph, tag))
    weights = os.path.join(folder, "%s.%s.safetensors" % (graph, tag))
    args = [tfc, "run", model, "--graph", graph, "--random-inputs", "--seed", "1", "-O%d" % level, "--verify-each", "--backend", "interp"]
    args += extra + (["--dump-after", "plan", "--dump-dir", dump] if level == 3 else [])
    args += ["--steps", "2", "--save-weights", weights] if trains else []
    for o in outs:
        args += ["--out", "%s=%s" % (o, os.path.join(folder, "%s.%s.%s.npy" % (graph, tag, o)))]
    start = time.monotonic()
    p = subprocess.run(args, capture_output=True, text=True, timeout=1200)
    took = time.monotonic() - start
    if p.returncode != 0:
        return None, took, "exit status %d\n%s" % (p.returncode, p.stderr)
    if level == 3:
        files = glob.glob(os.path.join(dump, "*.plan.tgir"))
        if not files:
            return None, took, "--dump-after plan wrote no file"
        with open(files[-1]) as f:
            problems = check_plan(f.read(), ELEMENTWISE)
        if problems:
            return None, took, "bad memory plan: " + "; ".join(problems[:5])
    arrays = {o: np.load(os.path.join(folder, "%s.%s.%s.npy" % (graph, tag, o))) for o in outs}
    if trains:
        arrays.update(read_safetensors(weights))
    return arrays, took, None


def mismatch(ref, got):
    if ref.dtype != got.dtype or ref.shape != got.shape:
        return "type %s%s, expected %s%s" % (got.dtype, list(got.shape), ref.dtype, list(ref.shape))
    if ref.dtype.kind == "f":
        r, g = ref.astype(np.float64), got.astype(np.float64)
        with np.errstate(invalid="ignore"):
            close = (np.abs(r - g) <= ATOL + RTOL * np.abs(r)) | (r == g) | (np.isnan(r) & np.isnan(g))
    else:
        close = ref == got
    if close.all():
        return None
    bad = np.argwhere(~close)
    err = np.abs(ref.astype(np.float64) - got.astype(np.float64))[~close].max() if ref.dtype.kind == "f" else None
    shown = ", ".join("%s: %r vs %r" % ([int(x) for x in i], ref[tuple(i)].item(), got[tuple(i)].item())
                      for i in bad[:3])
    return "%d of %d elements differ (largest difference %s): %s" % (len(bad), ref.size, err, shown)


def check_graph(tfc, model, graph, trains, levels, folder, tally):
    name = "%s/%s" % (os.path.basename(model), graph)
    outs, err = outputs(tfc, model, graph)
    if outs is None:
        tally.fail(name, "dump: " + err)
        return
    small = SHRINK.get(os.path.basename(model)[:-3])
    plans = [(0, []), (3, [])] + [(lv, small or []) for lv in (1, 2)]
    baselines = {}
    for level, extra in plans:
        if level not in levels and level != 0:
            continue
        key = tuple(extra)
        if key not in baselines:
            base, took, err = run(tfc, model, graph, 0, outs, folder, extra, trains)
            print("  %s -O0%s: %.1f s" % (name, " " + " ".join(extra) if extra else "", took), flush=True)
            baselines[key] = base
            if err:
                tally.fail(name + " -O0", err)
        if level == 0 or baselines[key] is None:
            continue
        got, took, err = run(tfc, model, graph, level, outs, folder, extra, trains)
        print("  %s -O%d%s: %.1f s" % (name, level, " " + " ".join(extra) if extra else "", took), flush=True)
        if err:
            tally.fail("%s -O%d" % (name, level), err)
            continue
        problems = [(o, mismatch(ref, got[o]) if o in got else "missing") for o, ref in baselines[key].items()]
        problems = [(o, m) for o, m in problems if m]
        if problems:
            tally.fail("%s -O%d" % (name, level), "\n".join("output %s: %s" % p for p in problems))
        else:
            tally.passed += 1


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def fail(self, what, detail):
        self.failed += 1
        print("FAIL %s\n    %s" % (what, detail.rstrip().replace("\n", "\n    ")), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tfc")
    ap.add_argument("examples")
    ap.add_argument("--levels", default="0,1,2,3", help="the -O levels compared with -O0 (default 0,1,2,3)")
    args = ap.parse_args()
    levels = {int(x) for x in args.levels.split(",")}
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="tfc-examples-") as folder:
        for model in sorted(os.path.join(args.examples, f) for f in os.listdir(args.examples) if f.endswith(".tg")):
            for graph, trains in graphs(model).items():
                check_graph(args.tfc, model, graph, trains, levels, folder, tally)
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
