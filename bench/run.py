#!/usr/bin/env python3
"""run.py — the benchmark suite (BENCHMARKS.md, bench/README.md): B1-B8 through tfc's generated
libraries and each peer on the same weights and inputs, B9 (compile times), and the machine's
limits measured in the same run; prints one table per thread count and writes results.json,
results.md and results.svg into --out.

  python3 bench/run.py [--tfc build/tfc] [--threads 1,2] [--runs 11] [--only B2,B7] [--out bench/results]

It makes bench/.venv (python3 -m venv) on first use, installs numpy and safetensors and then each
peer's packages separately (a failure is recorded and that peer skipped), and re-runs itself
inside it. Timings on shared machines are noisy: the systems are interleaved round by round
(each round times every workload on every system), and each figure is the median of all rounds'
calls with its min and max. Not part of the test suite.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(HERE, ".venv")
VENV_PY = os.path.join(VENV, "bin", "python")
INSTALLED = os.path.join(VENV, "installed.json")

# Each peer's packages, from PyPI, installed one peer at a time so one failure costs only that
# peer; a later line for the same peer would be its fallback. PyPI's torch wheel brings its CUDA
# libraries (gigabytes) but runs on the CPU.
PEER_PACKAGES = [
    ("numpy", ["numpy"], []),
    ("onnxruntime", ["onnx", "onnxruntime"], []),
    ("jax", ["jax[cpu]"], []),
    ("torch", ["torch"], []),
]
PEERS = ["numpy", "onnxruntime", "jax", "torch", "torch_compile"]
STREAM_FLOATS = 16777216   # 64 MB per array, 192 MB in all: far beyond any cache
RTOL, ATOL = 1e-3, 1e-4


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError("failed: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p.stdout + p.stderr


# ---------------------------------------------------------------- the virtual environment
def ensure_venv():
    """Re-executes this script inside bench/.venv, making it first when missing."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(VENV_PY):
        log("making %s" % VENV)
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([VENV_PY, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=False)
        subprocess.run([VENV_PY, "-m", "pip", "install", "-q", "numpy", "safetensors"], check=True)
    os.execv(VENV_PY, [VENV_PY, os.path.abspath(__file__)] + sys.argv[1:])


def install_peers(wanted):
    """Installs each wanted peer's packages once, recording success or pip's last line of error
    in bench/.venv/installed.json (delete an entry to try again). Returns the record."""
    status = json.load(open(INSTALLED)) if os.path.exists(INSTALLED) else {}
    tried = set(status)   # recorded by an earlier run: not tried again
    for peer, pkgs, extra in PEER_PACKAGES:
        if status.get(peer) == "ok" or peer in tried or not any(p == peer or p.startswith(peer + "_") for p in wanted):
            continue
        log("installing %s (%s)" % (peer, " ".join(pkgs)))
        p = subprocess.run([sys.executable, "-m", "pip", "install", "-q"] + extra + pkgs, capture_output=True, text=True)
        status[peer] = "ok" if p.returncode == 0 else "pip failed: " + (p.stderr.strip().splitlines() or ["?"])[-1]
        with open(INSTALLED, "w") as f:
            json.dump(status, f, indent=1)
    return status


# ---------------------------------------------------------------- preparation
def build_tools(bindir):
    """The limit probes: fma_peak, stream, gemm_time (OpenBLAS through pkg-config)."""
    blas = sh(["pkg-config", "--cflags", "--libs", "openblas"]).split()
    sh(["cc", "-O2", "-o", os.path.join(bindir, "fma_peak"), os.path.join(HERE, "fma_peak.c"), "-lpthread"])
    sh(["cc", "-O3", "-march=native", "-o", os.path.join(bindir, "stream"), os.path.join(HERE, "stream.c"), "-lpthread"])
    sh(["cc", "-O2", "-o", os.path.join(bindir, "gemm_time"), os.path.join(HERE, "gemm_time.c")] + blas)


def prepare(tfc, w, work, rng):
    """Writes w's parameters (tfc's initializers, seed 0) and random inputs into one data file,
    compiles the library with those weights and builds its worker. Returns the paths."""
    import numpy as np
    from safetensors.numpy import load_file, save_file
    d = os.path.join(work, w.id)
    os.makedirs(d, exist_ok=True)
    weights = os.path.join(d, "weights.safetensors")
    sh([tfc, "run", w.path, "--graph", w.weights_graph, "--random-inputs", "--save-weights", weights] + w.defines)
    params = load_file(weights) if os.path.getsize(weights) > 8 else {}
    lib = os.path.join(d, "lib")
    sh([tfc, "compile", w.path, "--graph", w.graph, "-o", lib, "--name", w.name()]
       + (["--weights", weights] if params else []) + w.defines)
    worker = os.path.join(d, "tfc_worker")
    env = dict(os.environ, PKG_CONFIG_PATH=lib)
    flags = sh(["pkg-config", "--cflags", "--libs", w.name()], env=env).split()
    sh(["cc", "-O2", "-std=c11", "-Wall", "-D_POSIX_C_SOURCE=200809L", "-DPREFIX=" + w.name(), "-include", os.path.join(lib, w.name() + ".h"), "-o", worker,
        os.path.join(HERE, "tfc_worker.c")] + flags)
    args = []
    for line in sh([worker, "--list"]).splitlines():
        g, name, io, dtype, dims = line.split()
        if g == w.graph and io == "in":
            args.append((name, dtype, [] if dims == "scalar" else [int(x) for x in dims.split("x")]))
    from workloads import make_inputs
    data = dict(params)
    data.update(make_inputs(w, args, rng))
    path = os.path.join(d, "data.safetensors")
    save_file({k: np.ascontiguousarray(v) for k, v in data.items()}, path)
    return {"data": path, "worker": worker}


def compile_times(tfc, w, n):
    """B9: n cold `tfc compile` runs (each into a fresh folder), in ms: median, min, max."""
    t = []
    for _ in range(n):
        with tempfile.TemporaryDirectory(prefix="tfc-b9-") as d:
            t0 = time.perf_counter()
            sh([tfc, "compile", w.path, "--graph", w.graph, "-o", d, "--name", w.name()] + w.defines)
            t.append((time.perf_counter() - t0) * 1e3)
    return stats(t)


def stats(ms):
    return {"median": statistics.median(ms), "min": min(ms), "max": max(ms), "n": len(ms)}


# ---------------------------------------------------------------- workers
class Worker:
    """One process that speaks the worker protocol for one system at one thread count."""

    def __init__(self, system, cmd, env=None):
        self.system = system
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, env=env, cwd=ROOT)

    def ask(self, **req):
        try:
            self.p.stdin.write(json.dumps(req) + "\n")
            self.p.stdin.flush()
            line = self.p.stdout.readline()
            return json.loads(line) if line else {"ok": False, "why": "the worker exited"}
        except (BrokenPipeError, ValueError) as e:
            return {"ok": False, "why": "worker: %s" % e}

    def close(self):
        try:
            self.ask(cmd="quit")
        except Exception:
            pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def check_outputs(ref_path, got_path):
    """Each output vs tfc's: allclose with rtol 1e-3, atol 1e-4. Returns None or what differs."""
    import numpy as np
    from safetensors.numpy import load_file
    ref, got = load_file(ref_path), load_file(got_path)
    bad = []
    for k, r in ref.items():
        if k not in got:
            bad.append("%s missing" % k)
            continue
        g, r64 = np.asarray(got[k], np.float64), r.astype(np.float64)
        if g.size != r.size:
            bad.append("%s shape %s, tfc %s" % (k, got[k].shape, r.shape))
        elif not np.allclose(g.reshape(r.shape), r64, rtol=RTOL, atol=ATOL):
            bad.append("%s max abs diff %.3g" % (k, float(np.abs(g.reshape(r.shape) - r64).max())))
    return "; ".join(bad) or None


# ---------------------------------------------------------------- one thread count
def run_threads(args, tfc, wls, prep, bindir, work, threads, peers):
    res = {"threads": threads, "workloads": {}, "limits": {}, "notes": []}
    workers = []
    for w in wls:
        if w.id in prep:
            wk = Worker("tfc", [prep[w.id]["worker"], w.graph, str(threads)])
            wk.only = w.id
            workers.append(wk)
    for peer in peers:
        wk = Worker(peer, [sys.executable, os.path.join(HERE, "peer_worker.py"), peer, str(threads)])
        wk.only = None
        workers.append(wk)
    loaded = []   # (worker, workload)
    for w in wls:
        if w.id not in prep:
            continue
        r = res["workloads"].setdefault(w.id, {"systems": {}})
        for wk in workers:
            if wk.only not in (None, w.id):
                continue
            a = wk.ask(cmd="load", workload=w.id, data=prep[w.id]["data"])
            if a.get("ok"):
                loaded.append((wk, w))
                r["systems"][wk.system] = {"times_ms": [], "load_s": a.get("seconds")}
            else:
                r["systems"][wk.system] = {"skipped": a.get("why", "?")}
                log("  %d thread(s): %s skips %s: %s" % (threads, wk.system, w.id, a.get("why")))
    rounds = max(1, -(-args.runs // args.runs_per_round))
    for rnd in range(rounds):
        log("  %d thread(s): round %d/%d" % (threads, rnd + 1, rounds))
        for wk, w in loaded:
            # The previous system's thread pool may still be spinning on the cores (OpenMP
            # workers wait actively for a while after a call): let it fall asleep first.
            time.sleep(args.settle)
            a = wk.ask(cmd="time", workload=w.id, runs=args.runs_per_round)
            s = res["workloads"][w.id]["systems"][wk.system]
            if a.get("ok"):
                s["times_ms"] += [t * 1e3 for t in a["times"]]
            else:
                s["error"] = a.get("why")
    for wk, w in loaded:   # correctness: each system's outputs against tfc's (`output` starts afresh)
        path = os.path.join(work, w.id, "out-%s-%d.safetensors" % (wk.system, threads))
        a = wk.ask(cmd="output", workload=w.id, path=path)
        res["workloads"][w.id]["systems"][wk.system]["output"] = path if a.get("ok") else None
    for w in wls:
        systems = res["workloads"].get(w.id, {}).get("systems", {})
        ref = systems.get("tfc", {}).get("output")
        for name, s in systems.items():
            if s.get("times_ms"):
                s.update(stats(s["times_ms"]))
            if name != "tfc" and s.get("output") and ref:
                s["mismatch"] = check_outputs(ref, s["output"])
                if s["mismatch"]:
                    log("  %d thread(s): %s differs from tfc on %s: %s" % (threads, name, w.id, s["mismatch"]))
    for wk in workers:
        wk.close()

    # The machine's limits, right after the timed rounds.
    lim = res["limits"]
    out = sh([os.path.join(bindir, "fma_peak"), str(threads), str(args.runs)])
    lim["fma_gflops"] = float(re.search(r"median ([\d.]+) GFLOP/s", out).group(1))
    out = sh([os.path.join(bindir, "stream"), str(STREAM_FLOATS), str(threads), str(args.runs)])
    for kind, v in re.findall(r"triad (\w+) threads \d+: median ([\d.]+)", out):
        lim["triad_%s_gbs" % kind] = float(v)
    from workloads import yardstick_shapes
    for w in wls:
        if w.id not in prep or w.memory_bound:
            continue
        shapes, factor = yardstick_shapes(tfc, w)
        if shapes:
            g = sh([os.path.join(bindir, "gemm_time"), str(threads), str(args.runs)] + shapes)
            res["workloads"][w.id]["gemm_ms"] = factor * float(re.search(r"gemm total: ([\d.]+) ms", g).group(1))
            res["workloads"][w.id]["gemm_shapes"] = shapes
            res["workloads"][w.id]["gemm_factor"] = factor
    return res


# ---------------------------------------------------------------- reports
def figures(w, r, lim, cost, peers, compile_ms):
    """One table row's numbers."""
    t = r["systems"].get("tfc", {})
    row = {"id": w.id, "label": w.label}
    if "median" in t:
        med = t["median"]
        row.update(tfc_ms=med, tfc_min=t["min"], tfc_max=t["max"], gflops=cost[0] / (med * 1e-3) * 1e-9,
                   gbs=cost[1] / (med * 1e-3) * 1e-9)
        if w.memory_bound and lim.get("triad_regular_gbs"):
            row["limit"] = row["gbs"] / lim["triad_regular_gbs"]
            row["limit_kind"] = "triad"
        elif r.get("gemm_ms"):
            row["limit"] = med / r["gemm_ms"]
            row["limit_kind"] = "gemm"
        for p in peers:
            s = r["systems"].get(p, {})
            if "median" in s:
                row["vs_" + p] = med / s["median"]
                if s.get("mismatch"):
                    row["bad_" + p] = s["mismatch"]
    if compile_ms:
        row["compile_ms"] = compile_ms["median"]
    return row


def table(rows, peers):
    head = ["workload", "tfc ms median (min-max)", "GFLOP/s", "GB/s", "limit"] + ["tfc/%s" % p for p in peers] + \
           ["compile ms"]
    lines = []
    for row in rows:
        if "tfc_ms" not in row:
            lines.append([row["id"] + " " + row["label"], "-"] + [""] * (len(head) - 2))
            continue
        lim = ""
        if row.get("limit_kind") == "triad":
            lim = "%.0f%% triad" % (100 * row["limit"])
        elif row.get("limit_kind") == "gemm":
            lim = "%.2fx gemm" % row["limit"]
        cells = [row["id"] + " " + row["label"], "%.3f (%.3f-%.3f)" % (row["tfc_ms"], row["tfc_min"], row["tfc_max"]),
                 "%.1f" % row["gflops"], "%.2f" % row["gbs"], lim]
        for p in peers:
            v = row.get("vs_" + p)
            cells.append("-" if v is None else "%.2f%s" % (v, "!" if row.get("bad_" + p) else ""))
        cells.append("%.0f" % row["compile_ms"] if "compile_ms" in row else "")
        lines.append(cells)
    return head, lines


def markdown(head, lines):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(l) + " |" for l in lines]
    return "\n".join(out)


def plain(head, lines):
    widths = [max(len(head[i]), *(len(l[i]) for l in lines)) for i in range(len(head))]
    fmt = lambda cells: "  ".join(c.ljust(widths[i]) for i, c in enumerate(cells))  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * x for x in widths])] + [fmt(l) for l in lines])


def svg(results, peers):
    """A grouped bar chart by hand: for each thread count and workload, tfc's time over the
    limit's and over each peer's (log scale; below 1 is tfc faster)."""
    import math
    def vs_limit(row):   # tfc's time over the limit's time: GEMM time, or triad's time for B8's bytes
        if row.get("limit_kind") == "gemm":
            return row["limit"]
        return 1 / row["limit"] if row.get("limit") else None
    groups = []
    for tr in results["runs"]:
        for row in tr["rows"]:
            groups.append(("%s t%d" % (row["id"], tr["threads"]), [vs_limit(row)] + [row.get("vs_" + p) for p in peers]))
    peers = ["limit"] + list(peers)
    colors = ["#999999", "#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b2"]
    bw, gap, h, top, left = 10, 14, 300, 40, 50
    width = max(560, left + len(groups) * (len(peers) * bw + gap) + 20)
    y = lambda v: top + h / 2 - math.log10(max(min(v, 100), 0.01)) / 2 * (h / 2)  # noqa: E731  (0.01..100)
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="10">'
             % (width, h + top + 70),
             '<text x="%d" y="16" font-size="13">tfc time / limit or peer time (log scale; below 1: tfc faster)</text>' % left]
    for v in (0.01, 0.1, 1, 10, 100):
        parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s"/><text x="4" y="%.1f">%g</text>'
                     % (left, width - 10, y(v), y(v), "#000" if v == 1 else "#ddd", y(v) + 3, v))
    x = left + 4
    for name, vals in groups:
        for i, v in enumerate(vals):
            if v:
                y0, y1 = sorted((y(1), y(v)))
                parts.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s vs %s: %.2f</title></rect>'
                             % (x + i * bw, y0, bw - 1, max(y1 - y0, 0.5), colors[i % 6], name, peers[i], v))
        parts.append('<text transform="translate(%d,%d) rotate(60)">%s</text>' % (x, top + h + 6, name))
        x += len(peers) * bw + gap
    for i, p in enumerate(peers):
        parts.append('<rect x="%d" y="24" width="9" height="9" fill="%s"/><text x="%d" y="32">%s</text>'
                     % (left + i * 90, colors[i % 6], left + 12 + i * 90, p))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tfc", default=os.path.join(ROOT, "build", "tfc"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=11, help="timed calls per workload and system, at least")
    ap.add_argument("--runs-per-round", type=int, default=3)
    ap.add_argument("--settle", type=float, default=0.3,
                    help="seconds of idle before each system's timed calls (default 0.3)")
    ap.add_argument("--compile-runs", type=int, default=5)
    ap.add_argument("--only", default=None, help="workloads, e.g. B2,B7")
    ap.add_argument("--peers", default=",".join(PEERS), help="peers to try (empty: tfc alone)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    ensure_venv()
    import numpy as np
    sys.path.insert(0, HERE)
    import workloads

    tfc = os.path.abspath(args.tfc)
    if not os.access(tfc, os.X_OK):
        sys.exit("no tfc at %s (--tfc PATH)" % tfc)
    os.makedirs(args.out, exist_ok=True)
    wls = workloads.by_ids(args.only)
    installed = install_peers([x for x in args.peers.split(",") if x])
    notes = []
    peers = []
    for p in [x for x in args.peers.split(",") if x]:
        pkg = "torch" if p == "torch_compile" else p
        if installed.get(pkg, "ok") != "ok":
            notes.append("%s skipped: %s" % (p, installed[pkg]))
        else:
            peers.append(p)
    for n in notes:
        log(n)

    cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
    machine = "%s, %d cores; OpenBLAS core type: %s" % (cpu.group(1) if cpu else platform.machine(), os.cpu_count(),
                                                        os.environ.get("OPENBLAS_CORETYPE", "its own choice"))
    results = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine,
               "command": " ".join(["python3", "bench/run.py"] + sys.argv[1:]), "runs": [], "notes": notes,
               "peers": peers, "ratio": "tfc median time / peer median time: below 1, tfc is faster"}
    work = os.path.join(args.out, "work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir)
    build_tools(bindir)
    rng = np.random.default_rng(0)
    prep, costs, compile_ms = {}, {}, {}
    for w in wls:
        log("preparing %s (%s)" % (w.id, w.label))
        try:
            prep[w.id] = prepare(tfc, w, work, rng)
            costs[w.id] = workloads.cost(tfc, w)
            compile_ms[w.id] = compile_times(tfc, w, args.compile_runs)
        except RuntimeError as e:
            notes.append("%s not prepared: %s" % (w.id, str(e).splitlines()[0]))
            log(str(e))
    for t in [int(x) for x in args.threads.split(",")]:
        res = run_threads(args, tfc, wls, prep, bindir, work, t, peers)
        res["rows"] = [figures(w, res["workloads"].get(w.id, {"systems": {}}), res["limits"], costs.get(w.id, (0, 0)),
                               peers, compile_ms.get(w.id)) for w in wls]
        results["runs"].append(res)
    for w in wls:
        if w.id in compile_ms:
            results.setdefault("compile_ms", {})[w.id] = compile_ms[w.id]
            results.setdefault("cost", {})[w.id] = {"flops": costs[w.id][0], "bytes": costs[w.id][1]}

    md = ["# tfc benchmark suite", "", "%s; %s" % (results["date"], machine), "", "`%s`" % results["command"], "",
          "Times are medians of >= %d calls (interleaved rounds) with min-max. GFLOP/s and GB/s use tfc's cost "
          "model (kernel FLOPs and bytes). limit: for GEMM-bound workloads tfc's time / the OpenBLAS time of its "
          "GEMMs (B4: 3 forward passes'; B5, B6: convolutions as im2col GEMMs), for B8 its GB/s / STREAM triad. "
          "tfc/PEER: tfc's median / the peer's (below 1: tfc faster; ! marks outputs that differ from tfc's beyond "
          "rtol 1e-3, atol 1e-4). compile ms: B9, cold `tfc compile`, median of %d." % (args.runs, args.compile_runs)]
    for res in results["runs"]:
        head, lines = table(res["rows"], peers)
        lim = res["limits"]
        title = "== %d thread%s: FMA peak %.0f GFLOP/s, triad %.1f GB/s (non-temporal %.1f GB/s) ==" % (
            res["threads"], "" if res["threads"] == 1 else "s", lim.get("fma_gflops", 0), lim.get("triad_regular_gbs", 0),
            lim.get("triad_nontemporal_gbs", 0))
        print("\n" + title + "\n" + plain(head, lines))
        md += ["", "## " + title.strip("= "), "", markdown(head, lines)]
        for w in wls:
            for name, s in res["workloads"].get(w.id, {}).get("systems", {}).items():
                if s.get("mismatch"):
                    md.append("- %s %s: outputs differ from tfc's: %s" % (w.id, name, s["mismatch"]))
                if s.get("skipped") and name != "tfc":
                    md.append("- %s %s skipped: %s" % (w.id, name, s["skipped"]))
    if notes:
        print("\n" + "\n".join("note: " + n for n in notes))
        md += [""] + ["- " + n for n in notes]
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(args.out, "results.svg"), "w") as f:
        f.write(svg(results, peers))
    print("\nwrote %s/results.json, results.md, results.svg" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
