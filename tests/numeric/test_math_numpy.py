#!/usr/bin/env python3
"""test_math_numpy.py — the CPU backend's transcendental functions against NumPy over the whole
float range: 2^20 inputs per function (every special value, all denormal exponents, a sweep of
the useful range, random bit patterns over all floats) run through `tfc run --backend cpu` and
compared with NumPy's float64 result rounded to float32. Prints each function's largest error in
ulps and fails if it exceeds the bound documented in docs/math-accuracy.md (pow: random pairs).
NaN must match NaN and infinities the same infinity. Usage: test_math_numpy.py TFC
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

N = 1 << 20
rng = np.random.default_rng(7)


def erf64(x):
    from math import erf
    return np.vectorize(erf, otypes=[np.float64])(x)


def sigmoid64(x):
    x = x.astype(np.float64)
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


FUNCTIONS = {  # name: (reference on float64, max ulp from docs/math-accuracy.md)
    "exp": (np.exp, 1), "log": (np.log, 1), "tanh": (np.tanh, 3), "sigmoid": (sigmoid64, 2),
    "silu": (lambda x: x * sigmoid64(x), 3), "erf": (erf64, 1),
    "gelu": (lambda x: 0.5 * x * (1 + erf64(x / np.sqrt(2))), 3),
    "gelu_tanh": (lambda x: x * sigmoid64(2 * np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)), 3),
    "sin": (np.sin, 1), "cos": (np.cos, 1),
}
# Where 1 + erf(x/sqrt 2) cancels in double, the formula above is not a reference: the
# comparison for gelu is limited to x > -5 (docs/math-accuracy.md uses erfc there).
DOMAIN = {"gelu": lambda x: x > -5, "log": lambda x: x >= 0}


def inputs():
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 88.7, -87.3, 89.0, -104.0,
                        -150.0, 1e-45, -1e-45, 1.17549435e-38, 3.4028235e38, -3.4028235e38, np.pi, -np.pi,
                        1e30, -1e30], np.float32)
    denormals = (rng.integers(1, 1 << 23, 4096, dtype=np.uint32)).view(np.float32)
    sweep = np.linspace(-20, 20, N // 4, dtype=np.float32)
    mags = (10.0 ** rng.uniform(-40, 38.5, N // 4)).astype(np.float32) * rng.choice([-1, 1], N // 4).astype(np.float32)
    bits = rng.integers(0, 1 << 32, N - special.size - denormals.size - sweep.size - mags.size,
                        dtype=np.uint64).astype(np.uint32).view(np.float32)
    return np.concatenate([special, denormals, sweep, mags, bits]).astype(np.float32)


def ulp_error(got, want):
    """Distance in representable floats (+0 and -0 one point); inf where the kinds differ."""
    def key(a):
        i = a.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    err = np.abs(key(got) - key(want)).astype(np.float64)
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    err[nan_g & nan_w] = 0
    err[nan_g ^ nan_w] = np.inf
    return err


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    tfc = sys.argv[1]
    x = inputs()
    names = list(FUNCTIONS)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="tfc-math-") as tmp:
        src = os.path.join(tmp, "math.tg")
        with open(src, "w") as f:
            f.write("graph g(x : f32[%d], a : f32[%d], b : f32[%d]) -> (%s, pow) {\n" % (N, N, N, ", ".join(names)))
            for n in names:
                f.write("  %s = %s(x)\n" % (n, n))
            f.write("  pow = a ** b\n}\n")
        a = np.abs(rng.standard_normal(N).astype(np.float32)) * 10 ** rng.uniform(-3, 3, N).astype(np.float32)
        b = rng.uniform(-30, 30, N).astype(np.float32)
        b[: N // 8] = np.round(b[: N // 8])
        a[: N // 16] = -a[: N // 16]   # negative bases with integral exponents
        for name, arr in (("x", x), ("a", a), ("b", b)):
            np.save(os.path.join(tmp, name + ".npy"), arr)
        cmd = [tfc, "run", src, "--backend", "cpu"] + sum((["--in", "%s=%s/%s.npy" % (n, tmp, n)] for n in "xab"), [])
        cmd += sum((["--out", "%s=%s/out_%s.npy" % (n, tmp, n)] for n in names + ["pow"]), [])
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            print("FAIL tfc run: exit %d\n%s" % (p.returncode, p.stderr))
            return 1
        with np.errstate(all="ignore"):
            for name in names + ["pow"]:
                got = np.load(os.path.join(tmp, "out_%s.npy" % name))
                if name == "pow":
                    want, bound, keep = np.power(a.astype(np.float64), b.astype(np.float64)).astype(np.float32), 1, slice(None)
                    inp = a
                else:
                    ref, bound = FUNCTIONS[name]
                    want = ref(x.astype(np.float64)).astype(np.float32)
                    keep = DOMAIN.get(name, lambda v: np.ones(v.shape, bool))(x) | np.isnan(x)
                    inp = x
                err = ulp_error(got[keep], want[keep])
                worst = int(np.argmax(err))
                ok = err.max() <= bound
                failed += not ok
                print("%s %-10s max %s ulp (bound %d) at x = %r: %r vs NumPy %r" % (
                    "ok  " if ok else "FAIL", name, err.max(), bound, inp[keep][worst], got[keep][worst],
                    want[keep][worst]))
    print("%d passed, %d failed" % (len(names) + 1 - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
