#!/usr/bin/env python3
"""Self-check of the peers: runs every peer on every workload (B1-B8, random weights and
inputs of the suite's shapes) and prints the largest difference of each output from the
NumPy peer's. Not part of the test suite; run it after changing a peer:
    python3 bench/peers/check.py [--peers jax,torch] [--only B2,B7] [--threads 1] [--data DIR]
With --data, the workloads' weights and inputs are read from DIR/B2.safetensors etc."""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def make_data(wid, rng):
    import numpy as np

    def f(*shape, std=1.0):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    mlp = lambda: {"w1": f(784, 512, std=0.05), "b1": f(512, std=0.1), "w2": f(512, 512, std=0.06),
                   "b2": f(512, std=0.1), "w3": f(512, 10, std=0.06), "b3": f(10, std=0.1)}
    batch = {"B1": 1, "B2": 64, "B3": 256, "B4": 64}
    if wid in ("B1", "B2", "B3"):
        return {**mlp(), "input.x": f(batch[wid], 784)}
    if wid == "B4":
        return {**mlp(), "input.x": f(64, 784), "input.y": rng.integers(0, 10, 64).astype(np.int32)}
    if wid == "B5":
        return {"c1": f(6, 1, 5, 5, std=0.6), "c1b": f(6, 1, 1, std=0.1), "c2": f(16, 6, 5, 5, std=0.1),
                "c2b": f(16, 1, 1, std=0.1), "f1": f(400, 120, std=0.08), "f1b": f(120, std=0.1),
                "f2": f(120, 84, std=0.1), "f2b": f(84, std=0.1), "f3": f(84, 10, std=0.1),
                "f3b": f(10, std=0.1), "input.img": f(64, 1, 28, 28)}
    if wid == "B6":
        d = {"input.x": f(1, 64, 56, 56)}
        for i in ("1", "2"):
            d.update({"w" + i: f(64, 64, 3, 3, std=0.06), "m" + i: f(64, std=0.1),
                      "v" + i: (0.5 + rng.random(64)).astype(np.float32), "g" + i: 1 + f(64, std=0.1),
                      "b" + i: f(64, std=0.1)})
        return d
    if wid == "B7":
        D, Fd = 768, 3072
        d = {"input.x": f(1, 128, D)}
        mask = np.zeros((1, 1, 1, 128), np.float32)
        mask[..., 100:] = -10000.0  # padding positions, as a BERT attention mask
        d["input.mask"] = mask
        for n in ("q", "k", "v", "o"):
            d["w" + n], d["b" + n] = f(D, D, std=0.02), f(D, std=0.02)
        d.update({"w1": f(D, Fd, std=0.02), "b1": f(Fd, std=0.02), "w2": f(Fd, D, std=0.02),
                  "b2": f(D, std=0.02), "g1": 1 + f(D, std=0.1), "n1": f(D, std=0.1),
                  "g2": 1 + f(D, std=0.1), "n2": f(D, std=0.1)})
        return d
    if wid == "B8":
        n = 16777216
        return {"input.a": f(n, std=2.0), "input.b": f(n, std=2.0)}
    raise ValueError(wid)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers", default="onnxruntime,jax,torch,torch_compile")
    ap.add_argument("--only", default="B1,B2,B3,B4,B5,B6,B7,B8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", help="directory of WID.safetensors files to use instead of random data")
    args = ap.parse_args()

    import peer_worker
    peer_worker.set_thread_env(args.threads)
    import numpy as np
    from peers import Skip, load_peer

    ref_peer = load_peer("numpy")
    peers = {}
    for name in args.peers.split(","):
        try:
            peers[name] = load_peer(name)
        except Exception as e:
            print("%-14s not available: %s: %s" % (name, type(e).__name__, e))
    rng = np.random.default_rng(0)
    worst = 0.0
    print("%-4s %-14s %-8s %11s %11s %9s %s" % ("wl", "peer", "output", "max|diff|", "max|ref|", "load s", "call s"))
    for wid in args.only.split(","):
        if args.data:
            data = peer_worker.load_data(os.path.join(args.data, wid + ".safetensors"))
        else:
            data = make_data(wid, rng)
        ref = ref_peer.prepare(wid, data, args.threads)[1]()
        for name, peer in peers.items():
            t0 = time.perf_counter()
            try:
                fn, outputs_fn = peer.prepare(wid, data, args.threads)
                fn()
            except Skip as e:
                print("%-4s %-14s skipped: %s" % (wid, name, e))
                continue
            except Exception as e:
                print("%-4s %-14s FAILED: %s: %s" % (wid, name, type(e).__name__, e))
                continue
            load_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            fn()
            call_s = time.perf_counter() - t0
            out = outputs_fn()
            for k, r in ref.items():
                if k not in out:
                    print("%-4s %-14s %-8s MISSING" % (wid, name, k))
                    continue
                o = np.asarray(out[k], np.float64)
                r = np.asarray(r, np.float64)
                if k in data and not k.startswith("input."):
                    # an updated parameter: compare the updates, which are small beside the weights
                    o, r = o - data[k], r - data[k]
                    k = "d" + k
                diff = float(np.max(np.abs(o - r))) if r.size else 0.0
                scale = float(np.max(np.abs(r))) if r.size else 0.0
                worst = max(worst, diff / max(scale, 1e-6))
                print("%-4s %-14s %-8s %11.3e %11.3e %9.2f %.4f" % (wid, name, k, diff, scale, load_s, call_s))
            sys.stdout.flush()
    print("largest difference relative to the output's largest magnitude: %.3e" % worst)
    return 0 if worst < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
