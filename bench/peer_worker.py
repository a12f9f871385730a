#!/usr/bin/env python3
"""Benchmark worker for one peer at one thread count: `peer_worker.py PEER THREADS` speaks the
worker protocol of bench/README.md on stdin/stdout (one JSON object per line each way).

The thread count is fixed for the process: the BLAS/OpenMP variables and XLA's flags are set
here before any numerical library is imported, because they are read once at import."""
import json
import os
import sys
import time
import traceback


def set_thread_env(threads, peer=None):
    n = str(threads)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = n
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false"
                                   " intra_op_parallelism_threads=1").strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if peer == "jax" and hasattr(os, "sched_setaffinity"):
        # XLA's CPU runtime sizes its thread pool from the CPUs this process may run on and
        # disregards the flags above (measured: 1.65 cores busy at "1 thread"), so the CPU set
        # is what holds it to THREADS
        cpus = sorted(os.sched_getaffinity(0))
        if threads < len(cpus):
            os.sched_setaffinity(0, cpus[:threads])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load_data(path):
    from safetensors.numpy import load_file
    return load_file(path)


def save_outputs(outputs, path):
    import numpy as np
    from safetensors.numpy import save_file
    save_file({k: np.ascontiguousarray(np.asarray(v)) for k, v in outputs.items()}, path)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: peer_worker.py PEER THREADS\n")
        return 2
    peer_name, threads = sys.argv[1], int(sys.argv[2])
    set_thread_env(threads, peer_name)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    # Replies go to the real stdout; anything the libraries print goes to stderr.
    reply_to = sys.stdout
    sys.stdout = sys.stderr

    def reply(obj):
        reply_to.write(json.dumps(obj) + "\n")
        reply_to.flush()

    try:
        from peers import Skip, load_peer
        peer = load_peer(peer_name)
    except Exception as e:  # a peer that is not installed: every command says why
        peer, Skip = None, Exception
        import_error = "%s: %s" % (type(e).__name__, e)

    loaded = {}  # workload id -> (fn, outputs_fn)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            cmd = req.get("cmd")
            if cmd == "quit":
                reply({"ok": True})
                break
            if peer is None:
                reply({"ok": False, "why": "%s is not available (%s)" % (peer_name, import_error)})
                continue
            wid = req.get("workload")
            if cmd == "load":
                loaded.pop(wid, None)
                t0 = time.perf_counter()
                try:
                    fn, outputs_fn = peer.prepare(wid, load_data(req["data"]), threads)
                    fn()  # warm-up: compiles (jit, torch.compile) and touches the memory once
                except Skip as e:
                    reply({"ok": False, "why": str(e)})
                    continue
                loaded[wid] = (fn, outputs_fn)
                reply({"ok": True, "seconds": time.perf_counter() - t0})
            elif cmd == "time":
                if wid not in loaded:
                    reply({"ok": False, "why": "workload %s is not loaded" % wid})
                    continue
                fn = loaded[wid][0]
                times = []
                for _ in range(int(req.get("runs", 1))):
                    t0 = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - t0)
                reply({"ok": True, "times": times})
            elif cmd == "output":
                if wid not in loaded:
                    reply({"ok": False, "why": "workload %s is not loaded" % wid})
                    continue
                save_outputs(loaded[wid][1](), req["path"])
                reply({"ok": True})
            else:
                reply({"ok": False, "why": "unknown command %r" % cmd})
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            reply({"ok": False, "why": "%s: %s" % (type(e).__name__, e)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
