"""random_program.py — the random-graph generator of the property test (random_graphs.py): one
valid .tg graph of 5-15 random ops and its random inputs, reproducible from (seed, index). The op
methods are in random_ops_math.py and random_ops_shape.py; this file holds the pool of values,
the leaves (inputs, parameters, constants), range control, the outputs and the source text."""
import math
import os

import numpy as np

from random_ops_math import MathOps
from random_ops_shape import ShapeOps
from random_values import INTS, LIMIT, MAX_ELEMS, NP_DTYPES, Val, broadcast, ints_text, nelems, tg_type


class Program(MathOps, ShapeOps):
    """One random graph. Ops are drawn by weight from OPS; each op method picks its operands from
    the pool of earlier values (recent and unused ones first) or makes new leaves (inputs or
    constants) of a fitting shape, and returns the new value, or None when it does not apply."""

    def __init__(self, seed, index, specials=0.0):
        self.index, self.seed = index, seed
        self.label = "program %d (seed %d)" % (index, seed)
        self.rng = np.random.default_rng([seed, index])
        self.inputs = []     # (name, dtype, shape, array)
        self.params = []     # declaration lines
        self.stmts = []      # (name, text)
        self.outputs = []    # (name, written type or None)
        self.pool = []
        self.counter = 0
        self.max_inputs = int(self.rng.integers(2, 8))
        self.constant_only = self.rng.random() < 0.05   # every leaf a constant: fold takes it all
        self.specials = self.rng.random() < specials     # NaN, infinities and signed zeros in float inputs

    # -- randomness helpers
    def chance(self, p):
        return self.rng.random() < p

    def choice(self, seq, p=None):
        if p is not None:
            p = np.asarray(p, float)
            p = p / p.sum()
        return seq[int(self.rng.choice(len(seq), p=p))]

    def randint(self, lo, hi):
        """An integer in [lo, hi]."""
        return int(self.rng.integers(lo, hi + 1))

    def dim(self):
        return self.choice([1, 2, 3, 4, 5, 6], p=[2, 3, 3, 3, 1.5, 1])

    def shape(self, min_rank=0, max_rank=4):
        ranks = list(range(min_rank, max_rank + 1))
        rank = self.choice(ranks, p=[[1, 3, 4, 3, 2][r] if r <= 4 else 1 for r in ranks])
        return tuple(self.dim() for _ in range(rank))

    def perm(self, rank):
        return [int(x) for x in self.rng.permutation(rank)]

    def fresh(self, prefix="v"):
        self.counter += 1
        return "%s%d" % (prefix, self.counter)

    def literal(self, x, dtype):
        """A literal as the source writes it: unsigned, a negative one as (-x)."""
        if dtype in INTS:
            s = str(abs(int(x)))
        else:
            s = repr(abs(float(x)))
            if s.endswith(".0") and self.chance(0.5):
                s = s[:-2]
        return "(-%s)" % s if x < 0 else s

    # -- the pool
    def use(self, v):
        v.uses += 1
        return v.text

    def make(self, text, dtype, shape, lo, hi, alt=None, bind=0.7, exact=False):
        """A new value; bound to a name by a statement (probability `bind`), or kept inline."""
        assert lo <= hi, "generator bug: interval [%r, %r] for %s" % (lo, hi, text)
        if self.chance(bind):
            name = self.fresh()
            self.stmts.append((name, text))
            v = Val(name, dtype, shape, lo, hi, alt, exact)
        else:
            v = Val("(" + text + ")", dtype, shape, lo, hi, exact=exact)
        self.pool.append(v)
        return v

    def pick(self, pred):
        cands = [v for v in self.pool if pred(v)]
        if not cands:
            return None
        if self.chance(0.45):   # the newest: long chains, which fusion wants
            return cands[-1]
        w = np.array([(1.0 + i) ** 2 * (3.0 if v.uses == 0 else 1.0) for i, v in enumerate(cands)])
        return cands[int(self.rng.choice(len(cands), p=w / w.sum()))]

    # -- leaves
    def input_leaf(self, dtype, shape, lo, hi):
        name = self.fresh("x")
        if dtype == "bool":
            a = self.rng.random(shape) < 0.5
        elif dtype in INTS:
            a = self.rng.integers(int(lo), int(hi) + 1, size=shape)
        else:
            a = self.rng.uniform(lo, hi, size=shape)
            if self.specials and a.size and self.chance(0.3):   # IEEE corner cases
                a.flat[self.rng.integers(0, a.size, size=2)] = self.choice([np.nan, np.inf, -np.inf, -0.0, 0.0])
        self.inputs.append((name, dtype, shape, np.asarray(a).astype(NP_DTYPES[dtype])))
        v = Val(name, dtype, shape, lo, hi, exact=True) if dtype != "bool" else Val(name, dtype, shape, 0, 1)
        self.pool.append(v)
        return v

    def param_leaf(self, shape):
        name = self.fresh("p")
        self.params.append("param %s : %s = uniform(-1, 1)" % (name, tg_type("f32", shape)))
        v = Val(name, "f32", shape, -1, 1, exact=True)
        self.pool.append(v)
        return v

    def constant_leaf(self, dtype, shape, lo=-4, hi=5):
        """A constant built from the creation ops (integers within [lo, hi]): fold and
        canonicalize get constant operands."""
        if dtype == "f16":
            c = self.constant_leaf("f32", shape)
            return self.make("cast(%s, f16)" % self.use(c), "f16", shape, c.lo - 0.01, c.hi + 0.01, exact=c.exact)
        n, s = nelems(shape), ints_text(shape)
        ramp = "reshape(arange(%d), %s)" % (n, s)
        if dtype == "bool":
            return self.make("%s < %d" % (ramp, self.randint(0, n)), "bool", shape, 0, 1)
        if dtype in INTS:
            base = -(n // 2)
            if lo <= base and max(n - 1 + base, base) <= hi and self.chance(0.6):
                text = "%s - %d" % (ramp, -base) if base else ramp
                text = text if dtype == "i32" else "cast(%s, i64)" % text
                return self.make(text, dtype, shape, base, max(n - 1 + base, base))
            k = self.randint(max(int(lo), -3), min(int(hi), 3)) if lo <= 3 and hi >= -3 else self.randint(lo, hi)
            return self.make("full(%s, %s, %s)" % (s, self.literal(k, "i32"), dtype), dtype, shape, k, k)
        form = self.choice(["zeros", "ones", "full", "ramp"], p=[1, 1, 2, 3])
        if form == "zeros":
            return self.make("zeros(%s)" % s, "f32", shape, 0, 0, exact=True)
        if form == "ones":
            return self.make("ones(%s)" % s, "f32", shape, 1, 1, exact=True)
        if form == "full":
            k = round(float(self.rng.uniform(-2, 2)), 3)
            return self.make("full(%s, %s)" % (s, self.literal(k, "f32")), "f32", shape, k, k, exact=True)
        c = round(4.0 / max(n, 1), 4) or 0.001
        return self.make("cast(%s, f32) * %s - 1" % (ramp, self.literal(c, "f32")), "f32", shape, -1,
                         max(n - 1, 0) * c - 1)

    def leaf(self, dtype, shape, lo=None, hi=None):
        """A new input, parameter or constant of this dtype and shape (integers within [lo, hi])."""
        shape = tuple(shape)
        default = lo is None
        if default:
            lo, hi = (-2.0, 2.0) if dtype not in INTS else (-4, 5)
        if len(self.inputs) < self.max_inputs and not self.constant_only and self.chance(0.8):
            return self.input_leaf(dtype, shape, lo, hi)
        if dtype == "f32" and default and not self.constant_only and self.chance(0.15):
            return self.param_leaf(shape)
        return self.constant_leaf(dtype, shape, lo, hi)

    def get(self, dtype, shape=None, min_rank=0, max_rank=4, fresh=0.1, pred=None):
        """An operand: from the pool when one fits (and a coin says so), else a new leaf."""
        def ok(v):
            if v.dtype != dtype or (shape is not None and v.shape != tuple(shape)):
                return False
            return min_rank <= v.rank <= max_rank and (pred is None or pred(v))
        v = None if self.chance(fresh) else self.pick(ok)
        if v is None:
            v = self.leaf(dtype, shape if shape is not None else self.shape(min_rank, max_rank))
        return v

    def num_dtype(self):
        return self.choice(["f32", "i32", "i64", "f16"], p=[8, 2.5, 0.3, 0.4])

    # -- keeping values in range
    def fit(self, v, m=LIMIT):
        """v itself when |v| <= m, else a squashed copy: tanh, a scale or a clip (ints: a clip)."""
        if v.bound <= m or v.dtype == "bool":
            return v
        if v.dtype in INTS:
            k = max(1, int(m))
            return self.make("clip(%s, %s, %d)" % (self.use(v), self.literal(-k, "i32"), k), v.dtype, v.shape,
                             min(max(v.lo, -k), k), min(max(v.hi, -k), k), bind=0.3)
        form = self.choice(["tanh", "scale", "clip"])
        if form == "tanh":
            return self.make("tanh(%s)" % self.use(v), v.dtype, v.shape, math.tanh(v.lo), math.tanh(v.hi), bind=0.3)
        if form == "scale":
            c = float("%.3g" % (m / v.bound * 0.99))
            return self.make("%s * %s" % (self.use(v), self.literal(c, "f32")), v.dtype, v.shape, v.lo * c,
                             v.hi * c, bind=0.3)
        return self.make("clip(%s, %s, %s)" % (self.use(v), self.literal(-m, "f32"), self.literal(m, "f32")), v.dtype,
                         v.shape, min(max(v.lo, -m), m), min(max(v.hi, -m), m), bind=0.3)

    def apart(self, v):
        """v, or v plus random noise when it is a float that is not exact: what a discontinuous
        op (comparison, argmax, floor, ceil, cast to an integer) reads must not sit on a tie or
        a boundary (rows that are equal in exact arithmetic, an integer), where the rounding
        difference a pass may make would flip the result."""
        if v.exact:
            return v
        noise = self.param_leaf(v.shape) if self.constant_only else self.input_leaf(v.dtype, v.shape, -1, 1)
        return self.make("%s + %s" % (self.use(v), self.use(noise)), v.dtype, v.shape, v.lo - 1, v.hi + 1, bind=0.4)

    def positive(self, v, floor=0.25):
        """v when every element is >= floor, else a positive function of it."""
        v = self.fit(v)
        if v.lo >= floor:
            return v
        form = self.choice(["abs", "square", "exp", "sigmoid"])
        t = self.use(v)
        if form == "abs":
            return self.make("abs(%s) + 0.5" % t, v.dtype, v.shape, 0.5, v.bound + 0.5, bind=0.3)
        if form == "square":
            return self.make("%s * %s + 0.25" % (t, t), v.dtype, v.shape, 0.25, v.bound ** 2 + 0.25, bind=0.3)
        if form == "exp":
            v = self.fit(v, 3)
            return self.make("exp(%s)" % self.use(v), v.dtype, v.shape, math.exp(v.lo), math.exp(v.hi), bind=0.3)
        return self.make("sigmoid(%s) + 0.25" % t, v.dtype, v.shape, 0.25, 1.25, bind=0.3)

    def partner(self, a, dtype=None):
        """A value that broadcasts with a (same dtype): from the pool, or a leaf of a shape made
        from a's by dropping leading axes, setting axes to 1, growing a's 1s, adding an axis."""
        dtype = dtype or a.dtype

        def fits(v):
            s = broadcast(a.shape, v.shape)
            return v is not a and s is not None and len(s) <= 4 and nelems(s) <= MAX_ELEMS
        if self.chance(0.55):
            v = self.pick(lambda v: v.dtype == dtype and fits(v))
            if v is not None:
                return v
        s = list(a.shape)
        if s and self.chance(0.35):
            s = s[self.randint(1, len(s)):]
        s = [1 if self.chance(0.25) else d for d in s]
        s = [self.dim() if d == 1 and self.chance(0.3) else d for d in s]
        if len(s) < 4 and self.chance(0.2):
            s.insert(0, self.dim())
        out = broadcast(a.shape, tuple(s))
        if out is None or nelems(out) > MAX_ELEMS:
            s = list(a.shape)
        return self.leaf(dtype, s)

    OPS = [("unary", 10), ("binary", 14), ("compare_select", 5), ("clip", 2), ("cast", 3), ("reduce", 6),
           ("argmax", 1.5), ("softmax", 2.5), ("layer_norm", 1.5), ("batch_norm", 1), ("matmul", 7),
           ("transpose", 3), ("reshape", 3), ("broadcast_to", 1.5), ("concat", 2), ("slice", 2.5), ("pad", 1.5),
           ("gather", 1.5), ("one_hot", 1), ("conv2d", 1), ("pool", 0.8), ("loss", 1), ("identity", 7),
           ("duplicate", 3), ("constant", 2), ("transpose_chain", 1.5), ("reshape_chain", 1),
           ("broadcast_chain", 1), ("big_constant", 0.15), ("rowwise", 3), ("epilogue", 3)]

    def generate(self):
        n_ops = self.randint(5, 15)
        made, tries = 0, 0
        while made < n_ops and tries < 200:
            tries += 1
            name = self.choice([o for o, _ in self.OPS], p=[w for _, w in self.OPS])
            if getattr(self, "op_" + name)() is not None:
                made += 1
        self.choose_outputs()
        if self.chance(0.1):   # an input nothing reads
            self.input_leaf("f32", self.shape(), -1, 1)
        return self

    def choose_outputs(self):
        """The newest 1-3 values nothing reads, sometimes an intermediate that fusion must keep
        materialized, often the mean of the other unread floats (so little is dead), sometimes
        an input itself or one value under two names."""
        sinks = [v for v in self.pool if v.uses == 0 and not v.text[0] in "xp"]
        k = self.choice([1, 2, 3], p=[3, 3, 2])
        chosen = sinks[-k:]
        if self.chance(0.3) and self.pool:
            v = self.choice(self.pool)
            if v not in chosen:
                chosen.append(v)
        rest = [v for v in sinks if v not in chosen and v.dtype == "f32" and 0 not in v.shape]
        if rest and self.chance(0.6):
            terms = [self.use(self.fit(v)) for v in rest]
            chosen.append(self.make(" + ".join("mean(%s)" % t for t in terms), "f32", (), -LIMIT * len(terms),
                                    LIMIT * len(terms)))
        if not chosen:
            chosen.append(self.leaf("f32", self.shape()))
        for v in chosen:
            if not v.named or v.text.startswith("p"):
                name = self.fresh("o")
                self.stmts.append((name, v.text))
            else:
                name = v.text
            typed = tg_type(v.dtype, v.shape) if self.chance(0.3) else None
            self.outputs.append((name, typed))
        if self.chance(0.05) and self.inputs:
            name = self.fresh("o")
            self.stmts.append((name, self.inputs[0][0]))
            self.outputs.append((name, None))
        if self.chance(0.05):
            name = self.fresh("o")
            self.stmts.append((name, self.outputs[0][0]))
            self.outputs.append((name, None))

    # ---- output ----------------------------------------------------------------------------------

    def source(self):
        lines = ["# random program %d of seed %d (tests/passes/random_graphs.py --only %d --seed %d)"
                 % (self.index, self.seed, self.index, self.seed)]
        lines += self.params
        args = ", ".join("%s : %s" % (n, tg_type(dt, s)) for n, dt, s, _ in self.inputs)
        outs = ", ".join(n if t is None else "%s : %s" % (n, t) for n, t in self.outputs)
        lines.append("graph g(%s) -> (%s) {" % (args, outs))
        lines += ["  %s = %s" % st for st in self.stmts]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def write(self, folder):
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "prog.tg")
        with open(path, "w") as f:
            f.write(self.source())
        ins = []
        for name, _, _, a in self.inputs:
            p = os.path.join(folder, name + ".npy")
            np.save(p, a)
            ins += ["--in", "%s=%s" % (name, p)]
        return path, ins
