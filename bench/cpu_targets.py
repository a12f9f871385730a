#!/usr/bin/env python3
"""cpu_targets.py — the CPU backend's targets, measured as ratios in one run (BENCHMARKS.md):

  B8  examples/elementwise.tg: bandwidth (3 x N x 4 bytes per run, as STREAM counts) as a
      fraction of STREAM triad with regular and with non-temporal stores, measured here.
  B3  examples/mlp.tg at batch 256 (B2: at its batch 64) and B7 examples/transformer.tg:
      end-to-end time as a multiple of the sum of their GEMMs' OpenBLAS times (the GEMM shapes
      are read from the Kernel IR dump; OpenBLAS runs on the same number of threads).
  B4  the training step of examples/mlp.tg (graph train, batch 64: forward, backward, SGD with
      momentum) as a multiple of three forward passes' GEMM time (3 x the OpenBLAS time of the
      infer graph's GEMMs, the target's yardstick), and of the train graph's own GEMMs (the
      backward pass needs no input gradient of the first layer, so it has five GEMMs, not six).

Usage: cpu_targets.py TFC [--threads 1,2] [--runs 21]. Builds bench/stream.c and bench/gemm_time.c
with the system compiler, prints one table per thread count. Not a test: timings on a shared
machine are noisy, so every figure is a median of --runs runs with its min and max.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "examples")


def sh(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("failed: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p.stdout + p.stderr


def build(tmp):
    flags = sh(["pkg-config", "--cflags", "--libs", "openblas"]).split()
    sh(["cc", "-O3", "-march=native", "-o", os.path.join(tmp, "stream"), os.path.join(HERE, "stream.c"), "-lpthread"])
    sh(["cc", "-O2", "-o", os.path.join(tmp, "gemm_time"), os.path.join(HERE, "gemm_time.c")] + flags)


def tfc_bench(tfc, model, graph, threads, runs, defines):
    out = sh([tfc, "run", model, "--graph", graph, "--random-inputs", "--threads", str(threads), "--bench", str(runs)]
             + defines)
    m = re.search(r"bench: \S+ \d+ runs median ([\d.]+) ms min ([\d.]+) ms max ([\d.]+) ms", out)
    return float(m.group(1)), float(m.group(2)), float(m.group(3))


def gemm_shapes(tfc, model, graph, defines):
    """M,N,K,TA,TB,BATCH of every GEMM kernel, from `tfc dump --stage kernel`."""
    text = sh([tfc, "dump", model, "--graph", graph, "--stage", "kernel"] + defines)
    shapes = []
    for line in text.splitlines():
        m = re.search(r"\bgemm m=(\d+) n=(\d+) k=(\d+)", line)
        if not m:
            continue
        b = re.search(r"batch=\[([\d, ]*)\]", line)
        batch = 1
        for d in (b.group(1).split(",") if b and b.group(1).strip() else []):
            batch *= int(d)
        shapes.append("%s,%s,%s,%d,%d,%d" % (m.group(1), m.group(2), m.group(3), "trans_a" in line, "trans_b" in line,
                                             batch))
    return shapes


def gemm_total(tmp, threads, runs, shapes):
    """The sum of the OpenBLAS medians of the GEMMs `shapes` (bench/gemm_time.c), in ms."""
    g = sh([os.path.join(tmp, "gemm_time"), str(threads), str(runs)] + shapes)
    return float(re.search(r"gemm total: ([\d.]+) ms", g).group(1))


def training_step(tfc, threads, runs, tmp):
    """B4: the train graph of mlp.tg timed by tfc run --bench (each run is one step: the weights
    move from run to run, which changes no kernel's work) against three forward passes' GEMMs and
    against its own GEMMs."""
    path = os.path.join(EXAMPLES, "mlp.tg")
    med, lo, hi = tfc_bench(tfc, path, "train", threads, runs, [])
    forward = gemm_shapes(tfc, path, "infer", [])
    own = gemm_shapes(tfc, path, "train", [])
    fwd_ms, own_ms = gemm_total(tmp, threads, runs, forward), gemm_total(tmp, threads, runs, own)
    print("B4 mlp training step batch 64: median %.3f ms (min %.3f, max %.3f); 3 x forward GEMMs (3 x %d) in OpenBLAS "
          "%.3f ms: ratio %.2f x; its own %d GEMMs in OpenBLAS %.3f ms: ratio %.2f x"
          % (med, lo, hi, len(forward), 3 * fwd_ms, med / (3 * fwd_ms), len(own), own_ms, med / own_ms))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tfc")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    tfc = os.path.abspath(args.tfc)
    cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
    print("machine: %s, %d cores; OpenBLAS core type: %s" % (cpu.group(1) if cpu else "?", os.cpu_count(),
                                                             os.environ.get("OPENBLAS_CORETYPE", "its own choice")))
    with tempfile.TemporaryDirectory(prefix="tfc-bench-") as tmp:
        build(tmp)
        n = 16777216
        for t in [int(x) for x in args.threads.split(",")]:
            print("\n== %d thread%s, medians of %d runs ==" % (t, "" if t == 1 else "s", args.runs))
            stream = sh([os.path.join(tmp, "stream"), str(n), str(t), str(args.runs)])
            triad = {k: float(v) for k, v in re.findall(r"triad (\w+) threads \d+: median ([\d.]+)", stream)}
            print(stream.rstrip())
            med, lo, hi = tfc_bench(tfc, os.path.join(EXAMPLES, "elementwise.tg"), "chain", t, args.runs, [])
            gbs = 3.0 * n * 4 / (med * 1e-3) * 1e-9
            print("B8 elementwise chain: median %.3f ms (min %.3f, max %.3f) = %.2f GB/s = %.0f %% of triad regular, "
                  "%.0f %% of triad non-temporal" % (med, lo, hi, gbs, 100 * gbs / triad["regular"],
                                                     100 * gbs / triad["nontemporal"]))
            for label, model, graph, defines in [("B3 mlp batch 256", "mlp.tg", "infer", ["-D", "B=256"]),
                                                  ("B2 mlp batch 64", "mlp.tg", "infer", []),
                                                  ("B7 transformer layer", "transformer.tg", "encoder", [])]:
                path = os.path.join(EXAMPLES, model)
                med, lo, hi = tfc_bench(tfc, path, graph, t, args.runs, defines)
                shapes = gemm_shapes(tfc, path, graph, defines)
                total = gemm_total(tmp, t, args.runs, shapes)
                print("%s: median %.3f ms (min %.3f, max %.3f); %d GEMMs in OpenBLAS %.3f ms; ratio %.2f x"
                      % (label, med, lo, hi, len(shapes), total, med / total))
            training_step(tfc, t, args.runs, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
