#!/usr/bin/env python3
"""random_graphs.py — the random-graph property test of the optimization passes and the CPU
backend: random valid .tg programs over the ops of LANGUAGE.md section 5 must give the same outputs
with the interpreter at -O0 (the oracle), at -O3 and after each pass of passes/passes.def run alone
(plus decompose,fuse and decompose,fuse,plan), and compiled by the CPU backend at -O0 and at -O3
on 1 and 2 threads (bit-identical between the two).

Usage: random_graphs.py TFC [--count N] [--seed S] [--keep DIR] [--jobs J] [--config NAME]...
                            [--only I] [--reduce] [--print] [--specials RATE]
Program I of seed S is the same whatever --count is, so `--only I` regenerates one failure and
`--count 5000` runs more. Floats must agree within rtol 1e-4 / atol 1e-5 (NaN where -O0 has NaN),
integers and bools exactly (f16 outputs within 1e-2); every run uses --verify-each, and a configuration that plans must
leave a sound memory plan (plan_check.py). The reproducers in regress/*.tg are checked first,
on --random-inputs. A failure prints the program, the configuration and the mismatch, is
written under --keep (shrunk first with --reduce), and the script exits 1. The generator is
random_program.py; docs/passes.md (its last section) explains it. NumPy only.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from plan_check import check_plan, elementwise_ops
from random_program import Program

HERE = os.path.dirname(os.path.abspath(__file__))
PASSES_DEF = os.path.join(HERE, "..", "..", "passes", "passes.def")
RTOL, ATOL = 1e-4, 1e-5
F16_RTOL, F16_ATOL = 1e-2, 1e-2   # f16 outputs: a rewrite may round an f16 intermediate differently
ELEMENTWISE = elementwise_ops()


# ---- running and comparing -----------------------------------------------------------------------

def pass_names():
    with open(PASSES_DEF) as f:
        return re.findall(r'^PASS\(\s*\w+\s*,\s*"([^"]+)"', f.read(), re.M)


INTERP = ["--backend", "interp"]


def configurations():
    """The passes on the interpreter, then the CPU backend at -O0 and -O3 on 1 and 2 threads (the
    two -O3 runs must also be bit-identical: cpu-O3-t2 is compared with cpu-O3-t1 exactly)."""
    names = pass_names()
    cfgs = [("O0", ["-O0"] + INTERP), ("O3", ["-O3"] + INTERP)] + [(p, ["--passes=" + p] + INTERP) for p in names]
    for combo in ["decompose,fuse", "decompose,fuse,plan"]:
        if all(p in names for p in combo.split(",")):
            cfgs.append((combo, ["--passes=" + combo] + INTERP))
    cpu = ["--backend", "cpu", "--threads"]
    cfgs += [("cpu-O0", ["-O0"] + cpu + ["1"]), ("cpu-O3-t1", ["-O3"] + cpu + ["1"]), ("cpu-O3-t2", ["-O3"] + cpu + ["2"])]
    return cfgs


def plans(flags):
    """Whether a configuration runs the plan pass (its result is then checked by plan_check)."""
    return "-O3" in flags or any(f.startswith("--passes=") and "plan" in f[9:].split(",") for f in flags)


def run_tfc(tfc, prog, folder, ins, outputs, flags):
    """Runs one configuration; returns (outputs as arrays, None) or (None, what went wrong).
    A configuration that plans also writes the planned IR, and a bad plan is what went wrong."""
    os.makedirs(folder, exist_ok=True)
    outs = []
    for name in outputs:
        outs += ["--out", "%s=%s" % (name, os.path.join(folder, name + ".npy"))]
    dump = ["--dump-after", "plan", "--dump-dir", os.path.join(folder, "dump")] if plans(flags) else []
    cmd = [tfc, "run", prog] + flags + ["--verify-each"] + dump + ins + outs
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return None, "timed out after 300 s"
    if p.returncode != 0:
        return None, "exit status %d\n%s%s" % (p.returncode, p.stdout, p.stderr)
    try:
        got = {n: np.load(os.path.join(folder, n + ".npy")) for n in outputs}
    except (OSError, ValueError) as e:
        return None, "cannot read an output: %s" % e
    if dump:
        files = glob.glob(os.path.join(folder, "dump", "*.plan.tgir"))
        if not files:
            return None, "--dump-after plan wrote no file"
        with open(files[-1]) as f:
            text = f.read()
        problems = check_plan(text, ELEMENTWISE)
        if problems:
            return None, "bad memory plan: %s\n%s" % ("; ".join(problems[:3]), text)
    return got, None


def mismatch(ref, got, rtol=RTOL, atol=ATOL, versus="-O0 vs this"):
    """None when got matches ref, else a description of the first differences. Floats within
    rtol/atol (f16 within F16_RTOL/F16_ATOL, NaN where ref has NaN), the rest exactly; `versus`
    names the two sides in the description (tests/aot/aot_common.py passes its own)."""
    if ref.dtype != got.dtype or ref.shape != got.shape:
        return "type %s%s, expected %s%s" % (got.dtype, list(got.shape), ref.dtype, list(ref.shape))
    if ref.dtype.kind == "f":
        if ref.dtype == np.float16:
            rtol, atol = F16_RTOL, F16_ATOL
        r, g = ref.astype(np.float64), got.astype(np.float64)
        with np.errstate(invalid="ignore"):
            close = (np.abs(r - g) <= atol + rtol * np.abs(r)) | (r == g) | (np.isnan(r) & np.isnan(g))
    else:
        close = ref == got
    if close.all():
        return None
    bad = np.argwhere(~close)
    shown = ", ".join("%s: %r vs %r" % ([int(x) for x in i], ref[tuple(i)].item(), got[tuple(i)].item())
                      for i in bad[:4])
    return "%d of %d elements differ (%s): %s" % (len(bad), ref.size, versus, shown)


class RegressFile:
    """A reproducer kept in tests/passes/regress/ (a .tg file), checked like a generated program
    but on --random-inputs --seed 1."""

    def __init__(self, tfc, path):
        self.path, self.label = path, "regress/" + os.path.basename(path)
        p = subprocess.run([tfc, "dump", path, "--stage", "graph"], capture_output=True, text=True)
        m = re.search(r"^graph @\w+\([^)]*\) -> \(([^)]*)\)", p.stdout, re.M)
        self.outputs = [(o.strip(), None) for o in m.group(1).split(",") if o.strip()] if m else []
        self.error = None if m else "tfc dump failed:\n" + p.stderr

    def source(self):
        with open(self.path) as f:
            return f.read()

    def write(self, folder):
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "prog.tg")
        shutil.copyfile(self.path, path)
        return path, ["--random-inputs", "--seed", "1"]


def regress_files(tfc):
    folder = os.path.join(HERE, "regress")
    names = sorted(f for f in os.listdir(folder) if f.endswith(".tg")) if os.path.isdir(folder) else []
    return [RegressFile(tfc, os.path.join(folder, f)) for f in names]


def check_program(tfc, prog, cfgs, workdir):
    """Runs every configuration; returns a list of (config, message) failures."""
    if getattr(prog, "error", None):
        return [("O0", prog.error)]
    folder = os.path.join(workdir, re.sub(r"\W+", "_", prog.label))
    path, ins = prog.write(folder)
    outputs = [n for n, _ in prog.outputs]
    base, err = run_tfc(tfc, path, os.path.join(folder, "O0"), ins, outputs, ["-O0"] + INTERP)
    if err:
        return [("O0", "-O0 failed (a generator or interpreter bug): " + err)]
    failures, results = [], {}
    for name, flags in cfgs:
        if name == "O0":
            continue
        got, err = run_tfc(tfc, path, os.path.join(folder, name.replace(",", "+")), ins, outputs, flags)
        if err:
            failures.append((name, err))
            continue
        results[name] = got
        for o in outputs:
            m = mismatch(base[o], got[o])
            if m:
                failures.append((name, "output %s: %s" % (o, m)))
        if name == "cpu-O3-t2" and "cpu-O3-t1" in results:
            for o in outputs:
                if got[o].tobytes() != results["cpu-O3-t1"][o].tobytes():
                    failures.append((name, "output %s differs from cpu-O3-t1: not bit-identical across threads" % o))
    shutil.rmtree(folder, ignore_errors=True)
    return failures


def still_fails(tfc, prog, cfg, workdir):
    """The reduction's test: -O0 runs (unless -O0 was what failed) and cfg still fails."""
    cfgs = [c for c in configurations() if c[0] == cfg] if cfg != "O0" else []
    fails = check_program(tfc, prog, cfgs, workdir)
    if cfg == "O0":
        return bool(fails) and "is not bound" not in fails[0][1] and "unknown" not in fails[0][1]
    return any(name == cfg for name, _ in fails) and not any(name == "O0" for name, _ in fails)


def reduce_program(tfc, prog, cfg, workdir):
    """Greedy shrinking: drop outputs, statements and unused inputs while cfg still fails."""
    changed = True
    while changed:
        changed = False
        for i in range(len(prog.outputs) - 1, -1, -1):
            if len(prog.outputs) > 1:
                saved = prog.outputs[:]
                del prog.outputs[i]
                if still_fails(tfc, prog, cfg, workdir):
                    changed = True
                else:
                    prog.outputs = saved
        for i in range(len(prog.stmts) - 1, -1, -1):
            saved = prog.stmts[:]
            del prog.stmts[i]
            if still_fails(tfc, prog, cfg, workdir):
                changed = True
            else:
                prog.stmts = saved
        body = " ".join(t for _, t in prog.stmts)
        for i in range(len(prog.inputs) - 1, -1, -1):
            if not re.search(r"\b%s\b" % prog.inputs[i][0], body):
                saved = prog.inputs[:]
                del prog.inputs[i]
                if still_fails(tfc, prog, cfg, workdir):
                    changed = True
                else:
                    prog.inputs = saved
    return prog


def keep_program(prog, keep, failures):
    folder = os.path.join(keep, re.sub(r"\W+", "_", prog.label))
    prog.write(folder)
    with open(os.path.join(folder, "failures.txt"), "w") as f:
        for cfg, msg in failures:
            f.write("== %s\n%s\n" % (cfg, msg))
    return folder


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tfc")
    ap.add_argument("--count", type=int, default=200, help="programs to generate (default 200)")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.add_argument("--keep", help="write failing programs and their inputs under this folder")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="programs checked at once")
    ap.add_argument("--config", action="append", help="check only these configurations (O3, fuse, ...)")
    ap.add_argument("--only", type=int, help="check only program ONLY")
    ap.add_argument("--reduce", action="store_true", help="shrink each failing program before printing it")
    ap.add_argument("--print", action="store_true", help="print every program (no run)")
    ap.add_argument("--specials", type=float, default=0.25,
                    help="the share of programs whose float inputs may hold NaN, infinities and signed zeros "
                    "(default 0.25), which unsound identities (x*0 -> 0, x-x -> 0) get wrong")
    args = ap.parse_args()

    cfgs = configurations()
    if args.config:
        unknown = set(args.config) - {c for c, _ in cfgs}
        if unknown:
            sys.exit("unknown configuration %s; known: %s"
                     % (", ".join(sorted(unknown)), ", ".join(c for c, _ in cfgs)))
        cfgs = [c for c in cfgs if c[0] in args.config]
    indices = [args.only] if args.only is not None else list(range(args.count))
    programs = [Program(args.seed, i, args.specials).generate() for i in indices]
    if args.only is None and not args.print:
        programs = regress_files(args.tfc) + programs
    if args.print:
        for p in programs:
            print(p.source())
        return 0

    workdir = tempfile.mkdtemp(prefix="tfc-random-")
    passed = failed = 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
            results = ex.map(lambda p: (p, check_program(args.tfc, p, cfgs, workdir)), programs)
            for prog, failures in results:
                if not failures:
                    passed += 1
                    continue
                failed += 1
                print("FAIL %s:" % prog.label)
                for cfg, msg in failures:
                    print("  [%s] %s" % (cfg, msg.rstrip().replace("\n", "\n    ")))
                if args.reduce and isinstance(prog, Program):
                    reduce_program(args.tfc, prog, failures[0][0], workdir)
                    print("  reduced for [%s]:" % failures[0][0])
                print("    " + prog.source().rstrip().replace("\n", "\n    "))
                if args.keep:
                    print("  kept in %s" % keep_program(prog, args.keep, failures))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("%d passed, %d failed (%d programs x %d configurations)" % (passed, failed, len(programs), len(cfgs)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
