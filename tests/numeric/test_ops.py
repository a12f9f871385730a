#!/usr/bin/env python3
"""test_ops.py — every op of LANGUAGE.md section 5 (except grad, optimizers and initializers)
and the gradient ops that autodiff makes (max_pool2d_grad, avg_pool2d_grad, gather_grad, in IR
text) run through `tfc run` on small random inputs, on every backend, and compared with NumPy.

Usage: test_ops.py TFC [--backends interp,cpu1,cpu2] [--jobs J] [FILTER]. Each case writes a
one-graph .tg program and its inputs as .npy files to a folder of its own (J cases at a time,
default 2) and runs it with the reference interpreter (interp) and the CPU backend at 1 and 2
threads (cpu1, cpu2). Every output is compared with a float64 NumPy reference rounded to the
output dtype: relative 1e-5 for elementwise ops, 1e-4 for reductions, matrix products and
convolutions; integers and bools exactly; NaN matches NaN, inf matches the same inf. The CPU
backend's float outputs also get an absolute 1e-6: its transcendental functions are polynomials
accurate to a few ulp (docs/math-accuracy.md), which is a large relative error next to a zero of
the function (sin near a multiple of pi). Its outputs must also match the interpreter's within
the same tolerance, and be bit-identical at 1 and 2 threads. Runtime errors (an index out of
range) must exit 1 with a message on every backend. A final check fails if some callable op of
ir/ops.def appears in no case. Prints 'N passed, M failed' and exits 1 on any failure. NumPy only.
"""
import concurrent.futures
import math
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

EW, RED = 1e-5, 1e-4  # relative tolerances: elementwise; reductions, matmul, conv
HERE = os.path.dirname(os.path.abspath(__file__))
OPS_DEF = os.path.join(HERE, "..", "..", "ir", "ops.def")
DTYPE_NAMES = {np.float32: "f32", np.float16: "f16", np.int32: "i32", np.int64: "i64", np.bool_: "bool"}
OPERATORS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "@": "matmul", "<": "lt",
             "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}

rng = np.random.default_rng(20240611)


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def ints(lo, hi, *shape, dtype=np.int32):
    return rng.integers(lo, hi, size=shape).astype(dtype)


def tg_type(a):
    return "%s[%s]" % (DTYPE_NAMES[a.dtype.type], ", ".join(str(d) for d in a.shape))


class Case:
    """One program: `graph g(inputs) -> (outputs) { body }`, its inputs and expected outputs."""

    def __init__(self, label, body, inputs, want, rtol=EW, error=None, tgir=None):
        self.label, self.body, self.rtol, self.error, self.tgir = label, body, rtol, error, tgir
        self.inputs = {name: np.array(a, copy=True) for name, a in inputs.items()}  # later edits must not leak in
        self.want = want if isinstance(want, dict) else {"y": want}

    def source(self):
        if self.tgir:  # Graph IR text, run as it is (-O0): attributes no .tg program can write
            return self.tgir
        args = ", ".join("%s : %s" % (n, tg_type(a)) for n, a in self.inputs.items())
        outs = ", ".join(self.want) if self.want else "y"
        return "graph g(%s) -> (%s) {\n  %s\n}\n" % (args, outs, self.body.replace(";", "\n  "))


CASES = []


def case(label, body, inputs, want, rtol=EW):
    CASES.append(Case(label, body, inputs, want, rtol))


def error_case(label, body, inputs, message, keyword=None):
    """The interpreter must print `message`; compiled code, which checks without the offending
    value at hand, a message containing `keyword` (default: the op name before the colon)."""
    c = Case(label, body, inputs, {"y": None}, error=message)
    c.keyword = keyword or message.split(":")[0]
    CASES.append(c)


def like(ref, *arrays):
    """The float64 reference rounded to the dtype of the first operand."""
    with np.errstate(all="ignore"):
        return np.asarray(ref).astype(arrays[0].dtype)


# ---- elementwise arithmetic and comparisons ------------------------------------------------

def add_arithmetic():
    shapes = [((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((2, 3), ()), ((1,), (3, 1, 2))]
    ops = [("+", np.add), ("-", np.subtract), ("*", np.multiply), ("/", np.divide)]
    for sa, sb in shapes:
        a, b = f32(*sa), f32(*sb)
        for sym, fn in ops:
            case("a %s b %s %s" % (sym, sa, sb), "y = a %s b" % sym, {"a": a, "b": b},
                 like(fn(a.astype(np.float64), b), a))
        for name, fn in [("maximum", np.maximum), ("minimum", np.minimum)]:
            case("%s %s %s" % (name, sa, sb), "y = %s(a, b)" % name, {"a": a, "b": b}, like(fn(a, b), a))
    for name in ["add", "sub", "mul", "div"]:
        a, b = f32(2, 3), f32(3)
        fn = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[name]
        case("%s by name" % name, "y = %s(a, b)" % name, {"a": a, "b": b}, like(fn(a.astype(np.float64), b), a))
    a = np.abs(f32(3, 4)) + 0.1
    b = f32(4)
    case("a ** b", "y = a ** b", {"a": a, "b": b}, like(np.power(a.astype(np.float64), b), a))
    e = np.array([2, 3, 0.5, -1], np.float32)
    with np.errstate(invalid="ignore"):  # (-x) ** 0.5 is NaN, as in NumPy
        case("pow(a, b) negative base", "y = pow(a, b)", {"a": -a, "b": e}, like(np.power(-a.astype(np.float64), e), a))
    a = f32(2, 3)
    case("literals are weakly typed", "y = 2 * a - 1.5 / (a * a + 1)", {"a": a},
         like(2 * a.astype(np.float64) - 1.5 / (a.astype(np.float64) ** 2 + 1), a))
    case("unary minus", "y = -a", {"a": a}, -a)
    nan = np.array([1, np.nan, 3, -np.inf], np.float32)
    other = np.array([np.nan, 2, 1, 0], np.float32)
    case("maximum propagates NaN", "y = maximum(a, b)", {"a": nan, "b": other}, np.maximum(nan, other))
    case("minimum propagates NaN", "y = minimum(a, b)", {"a": nan, "b": other}, np.minimum(nan, other))
    add_integer_arithmetic()


def add_integer_arithmetic():
    big = np.array([2**31 - 1, -2**31, 65536, -7, 12345], np.int32)
    small = np.array([1, -1, 65536, 3, -54321], np.int32)
    with np.errstate(all="ignore"):
        for sym, fn in [("+", np.add), ("-", np.subtract), ("*", np.multiply)]:
            case("i32 a %s b wraps" % sym, "y = a %s b" % sym, {"a": big, "b": small}, fn(big, small))
        case("i64 a * b wraps", "y = a * b", {"a": big.astype(np.int64) * 2**31, "b": small.astype(np.int64)},
             big.astype(np.int64) * 2**31 * small.astype(np.int64))
    case("i32 maximum", "y = maximum(a, b)", {"a": big, "b": small}, np.maximum(big, small))
    case("i32 minimum broadcast", "y = minimum(a, b)", {"a": big.reshape(5, 1), "b": small},
         np.minimum(big.reshape(5, 1), small))
    base = np.array([2, 3, -2, 2, 0, 7], np.int32)
    expo = np.array([10, 3, 3, 31, 0, 0], np.int32)
    with np.errstate(all="ignore"):
        case("i32 pow wraps", "y = a ** b", {"a": base, "b": expo}, base ** expo)
    error_case("i32 pow with a negative exponent", "y = a ** b", {"a": base, "b": -expo},
               "negative integer powers", keyword="negative integer power")


def add_comparisons():
    a, b = f32(3, 4), f32(4)
    a[0, :2] = b[:2]  # some ties
    a[1, 0] = np.nan
    for sym, fn in [("<", np.less), ("<=", np.less_equal), (">", np.greater), (">=", np.greater_equal),
                    ("==", np.equal), ("!=", np.not_equal)]:
        case("a %s b" % sym, "y = a %s b" % sym, {"a": a, "b": b}, fn(a, b))
        ia, ib = ints(-3, 3, 3, 4), ints(-3, 3, 4)
        case("i32 a %s b" % sym, "y = a %s b" % sym, {"a": ia, "b": ib}, fn(ia, ib))
    for name, fn in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal),
                     ("eq", np.equal), ("ne", np.not_equal)]:
        case("%s by name" % name, "y = %s(a, b)" % name, {"a": a, "b": b}, fn(a, b))
    p, q = rng.random((2, 3)) < 0.5, rng.random(3) < 0.5
    case("bool ==", "y = a == b", {"a": p, "b": q}, p == q)
    case("bool !=", "y = a != b", {"a": p, "b": q}, p != q)
    c = rng.random((2, 1, 3)) < 0.5
    x, z = f32(4, 3), f32(1)
    case("select broadcast", "y = select(c, a, b)", {"c": c, "a": x, "b": z}, np.where(c, x, z))
    case("select from a comparison", "y = select(a > 0, a, 0.5 * a)", {"a": x}, np.where(x > 0, x, 0.5 * x))
    ic = ints(-5, 5, 4, 3)
    case("select i32", "y = select(c, a, b)", {"c": c, "a": ic, "b": ic[:1] * 7}, np.where(c, ic, ic[:1] * 7))


# ---- unary ops at every magnitude --------------------------------------------------------------

def erf64(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def sigmoid64(x):
    with np.errstate(all="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


UNARY = {
    "abs": np.abs, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "tanh": np.tanh, "sigmoid": sigmoid64, "relu": lambda x: np.where(x < 0, 0.0, x),
    "gelu": lambda x: 0.5 * x * (1.0 + erf64(x / math.sqrt(2.0))),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3))),
    "silu": lambda x: x * sigmoid64(x), "sin": np.sin, "cos": np.cos, "erf": erf64, "floor": np.floor,
    "ceil": np.ceil, "neg": np.negative,
}

MAGNITUDES = {
    "random": f32(3, 4, scale=3.0),
    "tiny": np.array([1e-30, -1e-30, 3e-38, -3e-38, 1e-40, -1e-40, 0.0, -0.0], np.float32),
    "huge": np.array([1e30, -1e30, 3e38, -3e38, 1e5, -1e5, 12345.678, -98765.4], np.float32),
    "around 80": np.array([80, -80, 88.7, -88.7, 89, -89, 104, -104, 20, -20, 0.5, -0.5], np.float32),
    "halves": np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.0, 1.0], np.float32),
}


def add_unary():
    for name, fn in UNARY.items():
        for mag, x in MAGNITUDES.items():
            with np.errstate(all="ignore"):
                want = like(fn(x.astype(np.float64)), x)
            body = "y = -a" if name == "neg" else "y = %s(a)" % name
            case("%s at %s" % (name, mag), body, {"a": x}, want)
    x = MAGNITUDES["random"]
    for alpha in [0.01, 0.2]:
        body = "y = leaky_relu(a)" if alpha == 0.01 else "y = leaky_relu(a, alpha=%r)" % alpha
        case("leaky_relu alpha %g" % alpha, body, {"a": x}, like(np.where(x >= 0, x, alpha * x.astype(np.float64)), x))
    ix = np.array([-3, 0, 5, -2**31, 2**31 - 1], np.int32)
    with np.errstate(all="ignore"):
        case("i32 abs wraps", "y = abs(a)", {"a": ix}, np.abs(ix))
        case("i32 neg wraps", "y = -a", {"a": ix}, -ix)
    case("i32 relu", "y = relu(a)", {"a": ix}, np.maximum(ix, 0))
    lo, hi = f32(4) - 1, f32(3, 1) + 1
    v = np.array([-5, 0.25, 5, np.nan], np.float32)
    case("clip tensors", "y = clip(a, lo, hi)", {"a": f32(3, 4, scale=2), "lo": lo, "hi": hi}, None)
    CASES[-1].want["y"] = np.minimum(np.maximum(CASES[-1].inputs["a"], lo), hi)
    case("clip literals and NaN", "y = clip(a, 0, 1)", {"a": v}, np.clip(v, 0, 1))
    case("clip i32", "y = clip(a, -2, 3)", {"a": ix}, np.clip(ix, -2, 3))
    add_casts()


def add_casts():
    x = np.array([1.9, -1.9, 0.5, -0.5, 0.0, 1e6, -123456.7, 2.5], np.float32)
    case("cast f32 to i32 truncates", "y = cast(a, i32)", {"a": x}, np.trunc(x).astype(np.int32))
    case("cast f32 to i64", "y = cast(a, i64)", {"a": x}, np.trunc(x).astype(np.int64))
    special = np.array([np.nan, 3e9, -3e9, np.inf, -np.inf], np.float32)
    # Documented choice (NumPy leaves these undefined): NaN -> 0, out of range saturates.
    case("cast f32 to i32 saturates, NaN is 0", "y = cast(a, i32)", {"a": special},
         np.array([0, 2**31 - 1, -2**31, 2**31 - 1, -2**31], np.int32))
    case("cast f32 to bool", "y = cast(a, bool)", {"a": np.append(x, np.nan).astype(np.float32)},
         np.append(x, np.nan).astype(bool))
    i = np.array([0, 1, -7, 2**31 - 1], np.int32)
    case("cast i32 to f32", "y = cast(a, f32)", {"a": i}, i.astype(np.float32))
    case("cast i32 to bool", "y = cast(a, bool)", {"a": i}, i.astype(bool))
    big = np.array([2**32 + 5, -1, 2**40 - 3], np.int64)
    case("cast i64 to i32 wraps", "y = cast(a, i32)", {"a": big}, big.astype(np.int32))
    b = np.array([True, False, True])
    case("cast bool to f32", "y = cast(a, f32)", {"a": b}, b.astype(np.float32))
    case("cast bool to i32", "y = cast(a, i32)", {"a": b}, b.astype(np.int32))
    h = f32(5)
    case("cast f32 to f16", "y = cast(a, f16)", {"a": h}, h.astype(np.float16), rtol=0)
    case("cast f16 to f32", "y = cast(a, f32)", {"a": h.astype(np.float16)}, h.astype(np.float16).astype(np.float32),
         rtol=0)
    hx, hy = f32(2, 3).astype(np.float16), f32(3).astype(np.float16)
    case("f16 add", "y = a + b", {"a": hx, "b": hy}, like(hx.astype(np.float64) + hy, hx), rtol=1e-3)
    case("f16 exp", "y = exp(a)", {"a": hx}, like(np.exp(hx.astype(np.float64)), hx), rtol=1e-3)


# ---- reductions and normalization ------------------------------------------------------------

def add_reductions():
    x = f32(3, 4, 5)
    fns = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}
    axes = [None, 0, -1, [0, 2], [2, 0], [-1, -3, 1], [1]]
    for name, fn in fns.items():
        for ax in axes:
            for keep in [False, True]:
                np_ax = tuple(ax) if isinstance(ax, list) else ax
                args = ["a"]
                if ax is not None:
                    args.append("axis=%s" % ax)
                if keep:
                    args.append("keepdims=true")
                case("%s axis=%s keepdims=%s" % (name, ax, keep), "y = %s(%s)" % (name, ", ".join(args)),
                     {"a": x}, like(fn(x.astype(np.float64), axis=np_ax, keepdims=keep), x), rtol=RED)
    xn = x.copy()
    xn[1, 2, 3] = np.nan
    case("max with a NaN", "y = max(a, axis=2)", {"a": xn}, np.max(xn, axis=2))
    case("min with a NaN", "y = min(a, axis=[0, 1])", {"a": xn}, np.min(xn, axis=(0, 1)))
    big = ints(-2**30, 2**30, 4, 6)
    with np.errstate(all="ignore"):
        case("i32 sum wraps", "y = sum(a, axis=0)", {"a": big * 2}, np.sum(big * 2, axis=0, dtype=np.int32))
    case("i32 max", "y = max(a, axis=1, keepdims=true)", {"a": big}, np.max(big, axis=1, keepdims=True))
    case("i64 min", "y = min(a)", {"a": big.astype(np.int64)}, np.min(big.astype(np.int64)))
    add_argmax()


def add_argmax():
    ties = ints(0, 3, 4, 5).astype(np.float32)
    for ax in [0, 1, -1]:
        for keep in [False, True]:
            body = "y = argmax(a, axis=%d%s)" % (ax, ", keepdims=true" if keep else "")
            case("argmax ties axis=%d keepdims=%s" % (ax, keep), body, {"a": ties},
                 np.argmax(ties, axis=ax, keepdims=keep).astype(np.int32))
    x = f32(2, 3, 4)
    case("argmax default axis", "y = argmax(a)", {"a": x}, np.argmax(x, axis=-1).astype(np.int32))
    x = x.copy()
    x[0, 1, 2] = np.nan
    case("argmax NaN first", "y = argmax(a, axis=2)", {"a": x}, np.argmax(x, axis=2).astype(np.int32))
    i = ints(-3, 3, 3, 6)
    case("argmax i32", "y = argmax(a, axis=0)", {"a": i}, np.argmax(i, axis=0).astype(np.int32))


def softmax64(x, axis):
    x = x.astype(np.float64)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax64(x, axis):
    x = x.astype(np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def add_normalization():
    x = f32(2, 3, 5, scale=4)
    x[0, 0] += 1000  # stability: no overflow from a large row
    for ax in [None, -1, 0, 1]:
        arg = "" if ax is None else ", axis=%d" % ax
        a = -1 if ax is None else ax
        case("softmax axis=%s" % ax, "y = softmax(a%s)" % arg, {"a": x}, like(softmax64(x, a), x), rtol=RED)
        case("log_softmax axis=%s" % ax, "y = log_softmax(a%s)" % arg, {"a": x}, like(log_softmax64(x, a), x),
             rtol=RED)
    x, g, b = f32(2, 3, 8, scale=3) + 1, f32(8), f32(8)
    for eps in [None, 1e-3]:
        e = 1e-5 if eps is None else eps
        m = x.astype(np.float64).mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        want = (x - m) / np.sqrt(v + e) * g + b
        body = "y = layer_norm(a, g, b%s)" % ("" if eps is None else ", eps=%r" % eps)
        case("layer_norm eps=%s" % e, body, {"a": x, "g": g, "b": b}, like(want, x), rtol=RED)
    x, c = f32(2, 3, 4, 5), 3
    mean, var, gamma, beta = f32(c), np.abs(f32(c)) + 0.5, f32(c), f32(c)
    sh = (1, c, 1, 1)
    want = (x - mean.reshape(sh)) / np.sqrt(var.reshape(sh).astype(np.float64) + 1e-5) * gamma.reshape(sh) + \
        beta.reshape(sh)
    case("batch_norm NCHW", "y = batch_norm(a, m, v, g, b)", {"a": x, "m": mean, "v": var, "g": gamma, "b": beta},
         like(want, x), rtol=RED)
    x2 = f32(4, c)
    want = (x2 - mean) / np.sqrt(var.astype(np.float64) + 0.1) * gamma + beta
    case("batch_norm NC eps", "y = batch_norm(a, m, v, g, b, eps=0.1)",
         {"a": x2, "m": mean, "v": var, "g": gamma, "b": beta}, like(want, x2), rtol=RED)


# ---- linear algebra, shape and indexing -------------------------------------------------------

def add_matmul():
    shapes = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
              ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((1, 3, 4), (6, 4, 2))]
    for sa, sb in shapes:
        a, b = f32(*sa), f32(*sb)
        case("matmul %s @ %s" % (sa, sb), "y = a @ b", {"a": a, "b": b},
             like(np.matmul(a.astype(np.float64), b), a), rtol=RED)
    a, b = f32(3, 4), f32(4, 2)
    case("matmul by name", "y = matmul(a, b)", {"a": a, "b": b}, like(a.astype(np.float64) @ b, a), rtol=RED)
    ia, ib = ints(-100, 100, 2, 3, 4), ints(-100, 100, 4, 2)
    case("matmul i32", "y = a @ b", {"a": ia, "b": ib}, np.matmul(ia, ib))
    wa = np.full((1, 2), 65536, np.int32)
    with np.errstate(all="ignore"):
        case("matmul i32 wraps", "y = a @ b", {"a": wa, "b": wa.T.copy()}, np.matmul(wa, wa.T))
    # canonicalize (in the default pipeline) turns these transposes into matmul's perm_a / perm_b
    a, b = f32(2, 4, 3), f32(2, 5, 4)
    case("matmul transposed operands", "y = transpose(a, perm=[0, 2, 1]) @ transpose(b, perm=[0, 2, 1])",
         {"a": a, "b": b}, like(np.matmul(a.transpose(0, 2, 1).astype(np.float64), b.transpose(0, 2, 1)), a),
         rtol=RED)
    tgir = ("graph @g(%%a : f32[2,4,3], %%b : f32[2,5,4]) -> (y) {\n  %%0 = input() [index=0] : f32[2,4,3]\n"
            "  %%1 = input() [index=1] : f32[2,5,4]\n  %%2 = matmul(%%0, %%1) [%s] : f32[2,3,5]\n  return y = %%2\n}\n")
    CASES.append(Case("matmul perm_a perm_b (IR text)", "", {"a": a, "b": b},
                      like(np.matmul(a.transpose(0, 2, 1).astype(np.float64), b.transpose(0, 2, 1)), a), rtol=RED,
                      tgir=tgir % "perm_a=[0,2,1], perm_b=[0,-1,1]"))
    a, w = f32(4, 3), f32(5, 4)
    case("matmul transposed 2-D", "y = transpose(a) @ transpose(w)", {"a": a, "w": w},
         like(a.T.astype(np.float64) @ w.T, a), rtol=RED)


def add_movement():
    x = f32(2, 3, 4)
    case("transpose default", "y = transpose(a)", {"a": x}, np.transpose(x))
    for perm in [[0, 2, 1], [2, 0, 1], [1, 0, 2]]:
        case("transpose perm=%s" % perm, "y = transpose(a, perm=%s)" % perm, {"a": x}, np.transpose(x, perm))
    case("reshape", "y = reshape(a, [4, 6])", {"a": x}, x.reshape(4, 6))
    case("reshape -1", "y = reshape(a, [-1, 2, 2])", {"a": x}, x.reshape(-1, 2, 2))
    case("reshape to scalar", "y = reshape(a, [])", {"a": f32(1, 1)}, None)
    CASES[-1].want["y"] = CASES[-1].inputs["a"].reshape(())
    case("broadcast_to", "y = broadcast_to(a, [2, 3, 4])", {"a": f32(3, 1)}, None)
    CASES[-1].want["y"] = np.broadcast_to(CASES[-1].inputs["a"], (2, 3, 4))
    a, b, c = f32(2, 3), f32(2, 1), f32(2, 2)
    case("concat axis=-1", "y = concat([a, b, c], axis=-1)", {"a": a, "b": b, "c": c},
         np.concatenate([a, b, c], axis=-1))
    case("concat axis=0", "y = concat([a, a])", {"a": a}, np.concatenate([a, a]))
    ia, ib = ints(0, 9, 1, 3), ints(0, 9, 2, 3)
    case("concat i32", "y = concat([a, b], axis=0)", {"a": ia, "b": ib}, np.concatenate([ia, ib]))
    add_slices()
    p = f32(2, 3)
    case("pad", "y = pad(a, [[1, 2], [0, 3]])", {"a": p}, np.pad(p, [[1, 2], [0, 3]]))
    case("pad value", "y = pad(a, [[0, 1], [2, 0]], value=0.5)", {"a": p},
         np.pad(p, [[0, 1], [2, 0]], constant_values=0.5))
    ip = ints(0, 9, 2, 2)
    case("pad i32", "y = pad(a, [[1, 1], [1, 1]], value=-1)", {"a": ip}, np.pad(ip, 1, constant_values=-1))


def add_slices():
    x = np.arange(60, dtype=np.float32).reshape(4, 3, 5)
    cases = [
        ([1, 0, 0], [3, 3, 5], None, (slice(1, 3), slice(0, 3), slice(0, 5))),
        ([0, 0, 0], [4, 3, 5], [2, 1, 2], (slice(0, 4, 2), slice(0, 3), slice(0, 5, 2))),
        ([3, 2, 4], [-100, -100, -100], [-1, -1, -2], (slice(3, None, -1), slice(2, None, -1), slice(4, None, -2))),
        ([-1, 0, -2], [0, 3, 1], [-2, 2, -1], (slice(-1, 0, -2), slice(0, 3, 2), slice(-2, 1, -1))),
        ([-3, 1, 0], [100, -1, 5], [1, 1, 3], (slice(-3, 100), slice(1, -1), slice(0, 5, 3))),
        ([2, 0, 0], [2, 3, 5], None, (slice(2, 2), slice(0, 3), slice(0, 5))),
    ]
    for start, stop, step, index in cases:
        body = "y = slice(a, start=%s, stop=%s%s)" % (start, stop, "" if step is None else ", step=%s" % step)
        case("slice %s:%s:%s" % (start, stop, step), body, {"a": x}, x[index])


def add_indexing():
    x = f32(5, 3)
    idx = np.array([4, -1, 0, -5, 2], np.int32)
    case("gather axis=0", "y = gather(a, i)", {"a": x, "i": idx}, np.take(x, idx, axis=0))
    idx2 = np.array([[2, -3], [0, 1]], np.int64)
    case("gather axis=1 2-D indices", "y = gather(a, i, axis=1)", {"a": x, "i": idx2}, np.take(x, idx2, axis=1))
    x3 = f32(2, 4, 3)
    case("gather axis=-2", "y = gather(a, i, axis=-2)", {"a": x3, "i": idx[:3] % 4},
         np.take(x3, idx[:3] % 4, axis=-2))
    case("gather i32 table", "y = gather(a, i)", {"a": ints(0, 99, 6, 2), "i": np.array([5, 0], np.int32)}, None)
    CASES[-1].want["y"] = np.take(CASES[-1].inputs["a"], [5, 0], axis=0)
    error_case("gather index out of range", "y = gather(a, i)", {"a": x, "i": np.array([0, 5], np.int32)},
               "gather: index 5 is out of range for axis 0 of size 5")
    error_case("gather negative index out of range", "y = gather(a, i, axis=1)",
               {"a": x, "i": np.array([-4], np.int32)}, "index -4 is out of range for axis 1 of size 3", keyword="gather")
    labels = np.array([[0, 4], [2, 5], [-1, 3]], np.int32)
    depth = 5
    # Documented choice (as tf.one_hot and jax.nn.one_hot): an out-of-range index gives zeros.
    want = np.zeros(labels.shape + (depth,), np.float32)
    for pos, v in np.ndenumerate(labels):
        if 0 <= v < depth:
            want[pos + (v,)] = 1
    case("one_hot with out-of-range rows", "y = one_hot(i, 5)", {"i": labels}, want)
    case("one_hot i64", "y = one_hot(i, depth=3)", {"i": np.array([2, 0], np.int64)}, np.eye(3, dtype=np.float32)[[2, 0]])


# ---- convolution and pooling ------------------------------------------------------------------

def conv2d_ref(x, w, stride=(1, 1), pad=((0, 0), (0, 0)), dil=(1, 1), groups=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0)) + tuple(pad))
    oh = (xp.shape[2] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for g in range(groups):
        xs, ws = xp[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og].astype(np.float64)
        for i in range(kh):
            for j in range(kw):
                y0, x0 = i * dil[0], j * dil[1]
                patch = xs[:, :, y0:y0 + stride[0] * (oh - 1) + 1:stride[0], x0:x0 + stride[1] * (ow - 1) + 1:stride[1]]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, ws[:, :, i, j])
    return out


def pool_ref(x, kernel, stride, pad, is_max):
    fill = -np.inf if is_max else 0.0
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0)) + tuple(pad), constant_values=fill)
    oh = (xp.shape[2] - kernel[0]) // stride[0] + 1
    ow = (xp.shape[3] - kernel[1]) // stride[1] + 1
    windows = [xp[:, :, i:i + stride[0] * (oh - 1) + 1:stride[0], j:j + stride[1] * (ow - 1) + 1:stride[1]]
               for i in range(kernel[0]) for j in range(kernel[1])]
    stack = np.stack(windows)
    # count_include_pad: the divisor is the whole window, padding included
    return stack.max(axis=0) if is_max else stack.sum(axis=0) / (kernel[0] * kernel[1])


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def add_conv():
    convs = [  # x shape, w shape, stride, padding, dilation, groups
        ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0, 1, 1),
        ((1, 2, 8, 9), (3, 2, 3, 2), 2, 1, 1, 1),
        ((1, 2, 8, 9), (3, 2, 3, 3), [2, 1], [1, 2], 1, 1),
        ((1, 3, 9, 9), (2, 3, 3, 3), 1, 2, 2, 1),
        ((2, 4, 5, 5), (6, 2, 3, 3), 1, 1, [1, 2], 2),
        ((1, 4, 6, 6), (4, 1, 3, 3), 1, 1, 1, 4),
        ((1, 2, 5, 7), (3, 2, 1, 1), 3, 0, 1, 1),
        # Stride 1 with more than one block of 48 output channels and several bands of output rows
        # (the CPU runtime's convolution without im2col, runtime/conv.c), also grouped and dilated.
        # Their sums have 72 and 18 terms: the inputs are scaled by 1/4 so that an output near 0
        # (cancellation) stays within the CPU's absolute tolerance (1e-6) at f32 rounding.
        ((1, 8, 20, 21), (60, 8, 3, 3), 1, 1, 1, 1),
        ((2, 6, 9, 10), (100, 3, 3, 2), 1, [2, 0], [1, 2], 2),
    ]
    for xs, wsh, stride, padding, dil, groups in convs:
        x, w = f32(*xs), f32(*wsh)
        if wsh[0] > 48:
            x, w = (x * 0.25).astype(np.float32), (w * 0.25).astype(np.float32)
        p = pair(padding)
        want = conv2d_ref(x, w, pair(stride), ((p[0], p[0]), (p[1], p[1])), pair(dil), groups)
        body = "y = conv2d(a, w, stride=%s, padding=%s, dilation=%s, groups=%d)" % (stride, padding, dil, groups)
        case("conv2d x%s w%s s%s p%s d%s g%d" % (xs, wsh, stride, padding, dil, groups), body, {"a": x, "w": w},
             like(want, x), rtol=RED)
    for wsh, dil in [((2, 3, 3, 3), 1), ((2, 3, 4, 2), 1), ((2, 3, 3, 3), 2)]:
        x, w = f32(1, 3, 6, 5), f32(*wsh)
        tot = [dil * (k - 1) for k in wsh[2:]]
        pad = tuple((t // 2, t - t // 2) for t in tot)  # PyTorch's split: the extra pad goes after
        body = 'y = conv2d(a, w, padding="same", dilation=%d)' % dil
        case("conv2d same w%s d%d" % (wsh, dil), body, {"a": x, "w": w},
             like(conv2d_ref(x, w, (1, 1), pad, (dil, dil)), x), rtol=RED)
    x, w = f32(1, 1, 5, 5), f32(1, 1, 3, 3)
    case("conv2d defaults", "y = conv2d(a, w)", {"a": x, "w": w}, like(conv2d_ref(x, w), x), rtol=RED)


def add_pools():
    pools = [((2, 3, 6, 6), 2, None, 0), ((1, 2, 7, 7), 3, 2, 1), ((1, 2, 5, 8), [2, 3], [1, 2], [1, 1]),
             ((1, 1, 6, 5), [3, 2], 1, [1, 0]), ((1, 1, 4, 4), 4, None, 2)]
    for xs, kernel, stride, padding in pools:
        x = f32(*xs)
        k = pair(kernel)
        s = k if stride is None else pair(stride)
        p = pair(padding)
        pad = ((p[0], p[0]), (p[1], p[1]))
        args = "%s%s%s" % (kernel, "" if stride is None else ", stride=%s" % stride,
                           ", padding=%s" % padding if padding != 0 else "")
        for name, is_max in [("max_pool2d", True), ("avg_pool2d", False)]:
            case("%s x%s %s" % (name, xs, args), "y = %s(a, %s)" % (name, args), {"a": x},
                 like(pool_ref(x, k, s, pad, is_max), x), rtol=RED)
    x = f32(2, 3, 4, 5)
    x[0, 0, 1, 1] = np.nan
    case("max_pool2d propagates NaN", "y = max_pool2d(a, 2)", {"a": x}, like(pool_ref(x, (2, 2), (2, 2),
         ((0, 0), (0, 0)), True), x))
    x = f32(2, 3, 4, 5)
    case("global_avg_pool", "y = global_avg_pool(a)", {"a": x}, like(x.astype(np.float64).mean(axis=(2, 3)), x),
         rtol=RED)


# ---- the gradient ops (Graph IR text: autodiff makes them, no program calls them) ------------

def tgir_type(a, dtype=None):
    """The IR text type of array a (or of its shape with another dtype)."""
    return "%s[%s]" % (DTYPE_NAMES[(dtype or a.dtype).type], ",".join(str(d) for d in a.shape))


def tgir_case(label, inputs, op_line, out, want, rtol):
    """A one-op graph in IR text: y = %N (the op_line defines it) over the named inputs."""
    names = list(inputs)
    head = ", ".join("%%%s : %s" % (n, tgir_type(inputs[n])) for n in names)
    body = "".join("  %%%d = input() [index=%d] : %s\n" % (i, i, tgir_type(inputs[n])) for i, n in enumerate(names))
    src = "graph @g(%s) -> (y) {\n%s  %%%d = %s : %s\n  return y = %%%d\n}\n" % (
        head, body, len(names), op_line, out, len(names))
    CASES.append(Case(label, "", inputs, want, rtol=rtol, tgir=src))
    return CASES[-1]


def pool_grad_ref(x_shape, dy, k, s, lo, x=None):
    """dx of max_pool2d (x given: each window's first maximum, a NaN first, padding excluded) or
    of avg_pool2d (every tap in the input gets dy / (kh * kw)), in float64."""
    dx = np.zeros(x_shape)
    dy64 = dy.astype(np.float64)
    n, c, oh, ow = dy.shape
    for b, ch, i, j in np.ndindex(n, c, oh, ow):
        rows = [r for r in range(i * s[0] - lo[0], i * s[0] - lo[0] + k[0]) if 0 <= r < x_shape[2]]
        cols = [q for q in range(j * s[1] - lo[1], j * s[1] - lo[1] + k[1]) if 0 <= q < x_shape[3]]
        if x is None:
            for r in rows:
                for q in cols:
                    dx[b, ch, r, q] += dy64[b, ch, i, j] / (k[0] * k[1])
            continue
        best = None
        for r in rows:
            for q in cols:
                v, w = x[b, ch, r, q], None if best is None else x[b, ch][best]
                if best is None or (not np.isnan(w) and (np.isnan(v) or v > w)):
                    best = (r, q)
        dx[b, ch][best] += dy64[b, ch, i, j]
    return dx


def add_gradient_ops():
    geometries = [((2, 3, 7, 8), (3, 3), (2, 2), (1, 1), (1, 1)), ((1, 2, 6, 6), (2, 2), (2, 2), (0, 0), (0, 0)),
                  ((1, 2, 9, 7), (2, 3), (3, 4), (0, 0), (0, 0)), ((2, 1, 5, 6), (3, 2), (1, 1), (1, 0), (0, 1)),
                  ((1, 1, 4, 5), (4, 4), (1, 3), (2, 2), (2, 1))]
    for i, (xs, k, s, lo, hi) in enumerate(geometries):
        oh, ow = [(xs[2 + a] + lo[a] + hi[a] - k[a]) // s[a] + 1 for a in range(2)]
        for dt in [np.float32] + ([np.float16] if i % 2 == 0 else []):
            x = np.round(f32(*xs) * 2).astype(dt) / 2  # ties
            x.flat[::7] = np.nan if i == 0 else x.flat[::7]
            dy = f32(xs[0], xs[1], oh, ow).astype(dt)
            attrs = "kernel=[%d,%d], stride=[%d,%d], lo=[%d,%d], hi=[%d,%d]" % (k + s + lo + hi)
            rtol = RED if dt == np.float32 else 1e-3
            what = "%s %s k%s s%s lo%s hi%s" % (dt.__name__, xs, k, s, lo, hi)
            tgir_case("max_pool2d_grad " + what, {"x": x, "dy": dy}, "max_pool2d_grad(%%0, %%1) [%s]" % attrs,
                      tgir_type(x), like(pool_grad_ref(xs, dy, k, s, lo, x), x), rtol)
            tgir_case("avg_pool2d_grad " + what, {"dy": dy},
                      "avg_pool2d_grad(%%0) [%s, shape=[%s]]" % (attrs, ",".join(map(str, xs))), tgir_type(x),
                      like(pool_grad_ref(xs, dy, k, s, lo), x), rtol)
    gathers = [((7, 16), 0, ints(-7, 7, 12)), ((3, 4, 2), 1, ints(-4, 4, 2, 3, dtype=np.int64)),
               ((2, 5), 1, ints(0, 5, 9)), ((4, 3), 0, np.array(2, np.int32)), ((30, 256), 0, ints(-30, 30, 50))]
    for xs, axis, idx in gathers:
        for dt in [np.float32, np.float16]:
            dy = f32(*np.take(np.zeros(xs), idx, axis=axis).shape).astype(dt)
            want = np.zeros(xs)
            idx_axes = list(range(axis, axis + idx.ndim))  # dy's axes that the indices index
            np.add.at(np.moveaxis(want, axis, 0), idx,
                      np.moveaxis(dy.astype(np.float64), idx_axes, list(range(idx.ndim))))
            tgir_case("gather_grad %s x%s axis=%d idx%s" % (dt.__name__, xs, axis, idx.shape), {"dy": dy, "i": idx},
                      "gather_grad(%%0, %%1) [axis=%d, shape=[%s]]" % (axis, ",".join(map(str, xs))),
                      tgir_type(np.zeros(xs), np.dtype(dt)), like(want, dy), RED if dt == np.float32 else 1e-3)
    c = tgir_case("gather_grad index out of range", {"dy": f32(3, 2), "i": np.array([0, -1, 5], np.int32)},
                  "gather_grad(%0, %1) [axis=0, shape=[5,2]]", "f32[5,2]", {"y": None}, EW)
    c.error, c.keyword = "gather_grad: index 5 is out of range for axis 0 of size 5", "gather_grad: index"


# ---- losses, creation, and a composite ---------------------------------------------------------

def add_losses():
    logits = f32(6, 5, scale=3)
    logits[0] += 500  # no overflow
    labels = np.array([0, 4, 2, 2, 1, 3], np.int32)
    want = -log_softmax64(logits, -1)[np.arange(6), labels]
    case("cross_entropy", "y = cross_entropy(a, l)", {"a": logits, "l": labels}, like(want, logits), rtol=RED)
    l3 = f32(2, 3, 4)
    lab3 = ints(0, 4, 2, 3, dtype=np.int64)
    want = -np.take_along_axis(log_softmax64(l3, -1), lab3[..., None], axis=-1)[..., 0]
    case("cross_entropy rank 3, i64 labels", "y = cross_entropy(a, l)", {"a": l3, "l": lab3}, like(want, l3),
         rtol=RED)
    case("mean of cross_entropy", "y = mean(cross_entropy(a, l))", {"a": logits, "l": labels},
         like(-log_softmax64(logits, -1)[np.arange(6), labels].mean(), logits), rtol=RED)
    error_case("cross_entropy label out of range", "y = cross_entropy(a, l)",
               {"a": logits, "l": np.array([0, 1, 5, 0, 0, 0], np.int32)}, "label 5", keyword="cross_entropy")
    error_case("cross_entropy negative label", "y = cross_entropy(a, l)",
               {"a": logits, "l": np.array([0, 1, 0, -1, 0, 0], np.int32)}, "label -1", keyword="cross_entropy")
    a, b = f32(3, 4), f32(4)
    case("mse broadcast", "y = mse(a, b)", {"a": a, "b": b},
         like(((a.astype(np.float64) - b) ** 2).mean(), a), rtol=RED)
    case("mse same shape", "y = mse(a, b)", {"a": a, "b": a * 0.5}, like(((a * 0.5) ** 2).mean(), a), rtol=RED)


def add_creation():
    a = f32(2, 3)
    case("zeros", "y = a + zeros([2, 3])", {"a": a}, a)
    case("ones", "y = a * ones([3])", {"a": a}, a)
    case("full", "y = a + full([2, 1], 2.5)", {"a": a}, like(a.astype(np.float64) + 2.5, a))
    i = ints(0, 5, 4)
    case("arange", "y = arange(4) + i", {"i": i}, np.arange(4, dtype=np.int32) + i)
    case("arange alone", "y = arange(6)", {}, np.arange(6, dtype=np.int32))
    case("full i32", "y = full([2, 2], 7, dtype=i32) + i", {"i": ints(0, 5, 2, 2)}, None)
    CASES[-1].want["y"] = CASES[-1].inputs["i"] + 7
    x = f32(4, 6)
    case("two outputs", "s = softmax(x); m = argmax(x)", {"x": x},
         {"s": like(softmax64(x, -1), x), "m": np.argmax(x, -1).astype(np.int32)}, rtol=RED)


# ---- running and comparing -------------------------------------------------------------------

BACKENDS = {"interp": ["--backend", "interp"], "cpu1": ["--backend", "cpu", "--threads", "1"],
            "cpu2": ["--backend", "cpu", "--threads", "2"]}
CPU_ATOL = 1e-6


def compare(got, want, rtol, atol=0.0):
    """None when got matches want, else a one-line reason."""
    if got.shape != want.shape or got.dtype != want.dtype:
        return "got %s %s, expected %s %s" % (got.dtype, got.shape, want.dtype, want.shape)
    if want.dtype.kind in "biu":
        bad = np.argwhere(got != want)
        return None if bad.size == 0 else "differs at %s: %s vs %s" % (
            tuple(bad[0]), got[tuple(bad[0])], want[tuple(bad[0])])
    g, w = got.astype(np.float64), want.astype(np.float64)
    tiny = max(np.finfo(want.dtype).smallest_subnormal, atol)  # one unit of the last place at zero
    with np.errstate(invalid="ignore"):
        ok = (np.isnan(g) & np.isnan(w)) | (g == w) | (np.abs(g - w) <= rtol * np.abs(w) + tiny)
    if ok.all():
        return None
    pos = tuple(np.argwhere(~ok)[0])
    return "%d of %d differ; first at %s: %r vs %r" % ((~ok).sum(), ok.size, pos, g[pos], w[pos])


def run_case(tfc, c, tmp, backend):
    """Runs c on one backend: (None, outputs) or (reason, None)."""
    src = os.path.join(tmp, "prog.tgir" if c.tgir else "prog.tg")
    with open(src, "w") as f:
        f.write(c.source())
    cmd = [tfc, "run", src, "--graph", "g"] + BACKENDS[backend] + (["-O0"] if c.tgir else [])
    for name, arr in c.inputs.items():
        path = os.path.join(tmp, "in_%s.npy" % name)
        np.save(path, arr)
        cmd += ["--in", "%s=%s" % (name, path)]
    for name in c.want:
        cmd += ["--out", "%s=%s" % (name, os.path.join(tmp, "out_%s.npy" % name))]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "timed out", None
    if c.error is not None:
        want = c.error if backend == "interp" else c.keyword
        if p.returncode != 1:
            return "expected exit 1 with '%s', got exit %d; stderr: %s" % (want, p.returncode, p.stderr.strip()), None
        return (None, {}) if want in p.stderr else ("stderr lacks '%s': %s" % (want, p.stderr.strip()), None)
    if p.returncode != 0:
        return "exit %d: %s" % (p.returncode, p.stderr.strip()), None
    got = {name: np.load(os.path.join(tmp, "out_%s.npy" % name)) for name in c.want}
    atol = 0.0 if backend == "interp" else CPU_ATOL
    for name, want in c.want.items():
        why = compare(got[name], np.asarray(want), c.rtol, atol)
        if why:
            return "output %s: %s" % (name, why), None
    return None, got


def check_case(tfc, c, tmp, backends):
    """Every backend against NumPy, compiled code against the interpreter and across threads."""
    results = {}
    for b in backends:
        why, got = run_case(tfc, c, tmp, b)
        if why:
            return "%s: %s" % (b, why)
        results[b] = got
    if c.error is not None:
        return None
    for b in backends:
        if b != "interp" and "interp" in results:
            for name in c.want:
                why = compare(results[b][name], results["interp"][name], c.rtol, CPU_ATOL)
                if why:
                    return "%s vs interp, output %s: %s" % (b, name, why)
    if "cpu1" in results and "cpu2" in results:
        for name in c.want:
            a, b = results["cpu1"][name], results["cpu2"][name]
            if a.tobytes() != b.tobytes():
                return "output %s differs between 1 and 2 threads" % name
    return None


def callable_ops():
    """Op names of ir/ops.def that programs call by name (their signature is not NULL)."""
    with open(OPS_DEF) as f:
        text = f.read()
    rows = re.findall(r'OP\(\s*\w+,\s*"(\w+)",\s*-?\d+,\s*-?\d+,\s*[^,]+,\s*[^,]+,\s*(NULL|")', text)
    return [name for name, sig in rows if sig != "NULL"]


def ops_in(body):
    """The op names a program body uses: calls by name and operators."""
    seen = set(re.findall(r"\b(\w+)\(", body))
    body = re.sub(r"\b\d*\.?\d+(e[-+]?\d+)?\b", "0", body)  # numbers: no '-' of an exponent
    for m in re.finditer(r"\*\*|<=|>=|==|!=|[-+*/@<>]", body):
        sym, before = m.group(), body[:m.start()].rstrip()
        if sym == "-" and (not before or before[-1] in "=([,*/+-@<>"):
            if re.match(r"\s*[A-Za-z_(]", body[m.end():]):
                seen.add("neg")
        else:
            seen.add(OPERATORS[sym])
    return seen


def uncovered_ops():
    seen = set()
    for c in CASES:
        seen |= ops_in(c.body)
    return [name for name in callable_ops() if name not in seen]


def take_option(args, name, default):
    """The value of `name VALUE` in args (removed from them), or default."""
    if name not in args:
        return default
    i = args.index(name)
    value = args[i + 1] if i + 1 < len(args) else ""
    del args[i:i + 2]
    return value


def main():
    args = sys.argv[1:]
    backends = take_option(args, "--backends", ",".join(BACKENDS)).split(",")
    jobs = take_option(args, "--jobs", str(min(2, os.cpu_count() or 1)))
    if not args or any(b not in BACKENDS for b in backends) or not jobs.isdigit() or int(jobs) < 1:
        print("usage: test_ops.py TFC [--backends interp,cpu1,cpu2] [--jobs J] [FILTER]")
        return 2
    tfc, pattern = os.path.abspath(args[0]), args[1] if len(args) > 1 else ""
    for add in [add_arithmetic, add_comparisons, add_unary, add_reductions, add_normalization, add_matmul,
                add_movement, add_indexing, add_conv, add_pools, add_gradient_ops, add_losses, add_creation]:
        add()
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="tfc_ops_") as tmp:
        def one(numbered):
            """Checks one case in a folder of its own (cases run J at a time)."""
            i, c = numbered
            folder = os.path.join(tmp, str(i))
            os.mkdir(folder)
            return c, check_case(tfc, c, folder, backends)

        selected = [c for c in CASES if pattern in c.label]
        with concurrent.futures.ThreadPoolExecutor(max_workers=int(jobs)) as pool:
            for c, why in pool.map(one, enumerate(selected)):
                if why is None:
                    passed += 1
                else:
                    failed += 1
                    print("FAIL %s: %s\n  program: %s" % (c.label, why, c.source().replace("\n", "\n  ")))
    if not pattern:
        missing = uncovered_ops()
        if missing:
            failed += 1
            print("FAIL coverage: no case calls %s" % ", ".join(missing))
        else:
            passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
