"""random_ops_math.py — the random-graph generator's arithmetic ops: elementwise (unary, binary,
comparisons, select, clip, cast), reductions, normalizations, convolution, pooling and losses.
A mixin of random_program.Program: each op_NAME method adds one op (and whatever squashing its
operands need) and returns the new value, or None when it does not apply."""
import math

from random_values import INTS, LIMIT, MAX_ELEMS, Val, broadcast, conv_out, ints_text, nelems


class MathOps:
    """Op methods of Program (see random_program.py for the helpers they call)."""

    # ---- elementwise ops ----------------------------------------------------------------------

    UNARY_FLOAT = {
        "exp": (3, lambda lo, hi: (math.exp(lo), math.exp(hi))),
        "tanh": (LIMIT, lambda lo, hi: (math.tanh(lo), math.tanh(hi))),
        "sigmoid": (LIMIT, lambda lo, hi: (0.0, 1.0)),
        "gelu": (LIMIT, lambda lo, hi: (-0.2 if lo < 0 else 0.0, max(hi, 0.0))),
        "gelu_tanh": (LIMIT, lambda lo, hi: (-0.2 if lo < 0 else 0.0, max(hi, 0.0))),
        "silu": (LIMIT, lambda lo, hi: (-0.3 if lo < 0 else 0.0, max(hi, 0.0))),
        "sin": (LIMIT, lambda lo, hi: (-1.0, 1.0)),
        "cos": (LIMIT, lambda lo, hi: (-1.0, 1.0)),
        "erf": (LIMIT, lambda lo, hi: (-1.0, 1.0)),
        "floor": (LIMIT, lambda lo, hi: (math.floor(lo), math.floor(hi))),
        "ceil": (LIMIT, lambda lo, hi: (math.ceil(lo), math.ceil(hi))),
    }

    def op_unary(self):
        dt = self.num_dtype()
        names = ["neg", "abs", "relu"] + ([] if dt in INTS else
                                          list(self.UNARY_FLOAT) + ["log", "sqrt", "rsqrt", "leaky_relu"])
        if dt == "f16":   # discontinuous ops read only f32 (see apart): f16 rounding is too coarse
            names = [n for n in names if n not in ("floor", "ceil")]
        op = self.choice(names)
        v = self.fit(self.get(dt))
        lo, hi = v.lo, v.hi
        if op == "neg":
            return self.make("-%s" % self.use(v), dt, v.shape, -hi, -lo, exact=v.exact)
        if op == "abs":
            return self.make("abs(%s)" % self.use(v), dt, v.shape, 0 if lo < 0 < hi else min(abs(lo), abs(hi)),
                             v.bound, exact=v.exact)
        if op == "relu":
            return self.make("relu(%s)" % self.use(v), dt, v.shape, max(lo, 0), max(hi, 0), exact=v.exact)
        if op == "leaky_relu":
            alpha = self.choice([0.01, 0.1, 0.2, 0.5])
            text = "leaky_relu(%s)" % self.use(v) if alpha == 0.01 else \
                "leaky_relu(%s, alpha=%r)" % (self.use(v), alpha)
            return self.make(text, dt, v.shape, min(lo, alpha * lo), max(hi, alpha * hi))
        if op in ("log", "sqrt", "rsqrt"):
            v = self.positive(v)
            f = {"log": math.log, "sqrt": math.sqrt, "rsqrt": lambda x: 1 / math.sqrt(x)}[op]
            a, b = f(v.lo), f(v.hi)
            return self.make("%s(%s)" % (op, self.use(v)), dt, v.shape, min(a, b), max(a, b))
        m, rule = self.UNARY_FLOAT[op]
        v = self.fit(v, m)
        if op in ("floor", "ceil"):
            v = self.apart(v)
        a, b = rule(v.lo, v.hi)
        return self.make("%s(%s)" % (op, self.use(v)), dt, v.shape, a, b)

    def op_binary(self):
        dt = self.num_dtype()
        ops = ["add", "sub", "mul", "maximum", "minimum"] + (["pow"] if dt in INTS else ["div", "pow"])
        op = self.choice(ops, p=[4, 3, 4, 1.5, 1.5] + ([0.5] if dt in INTS else [2, 1]))
        a = self.fit(self.get(dt), 100 if dt in INTS else LIMIT)
        if op == "div":
            return self.div(a)
        if op == "pow":
            return self.power(a)
        if self.chance(0.25):   # a weakly typed literal
            k = self.randint(-3, 3) if dt in INTS else round(float(self.rng.uniform(-3, 3)), 2)
            b = Val(self.literal(k, dt), dt, (), k, k, exact=True)
        else:
            b = self.fit(self.partner(a), 100 if dt in INTS else LIMIT)
        return self.arith(op, a, b)

    def arith(self, op, a, b):
        """a OP b for add sub mul maximum minimum, by operator or by name, either operand order
        for the commutative ones (the other order is kept for the duplicate pattern)."""
        shape = broadcast(a.shape, b.shape)
        corners = {"add": lambda: (a.lo + b.lo, a.hi + b.hi), "sub": lambda: (a.lo - b.hi, a.hi - b.lo),
                   "maximum": lambda: (max(a.lo, b.lo), max(a.hi, b.hi)),
                   "minimum": lambda: (min(a.lo, b.lo), min(a.hi, b.hi))}
        if op == "mul":
            p = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
            lo, hi = min(p), max(p)
        else:
            lo, hi = corners[op]()
        sym = {"add": "+", "sub": "-", "mul": "*"}.get(op)
        ta, tb = self.use(a), self.use(b)
        if sym and self.chance(0.85):
            text, alt = "%s %s %s" % (ta, sym, tb), ("%s %s %s" % (tb, sym, ta) if op != "sub" else None)
        else:
            text, alt = "%s(%s, %s)" % (op, ta, tb), ("%s(%s, %s)" % (op, tb, ta) if op != "sub" else None)
        if alt and self.chance(0.5):
            text, alt = alt, text
        exact = op in ("maximum", "minimum") and a.exact and b.exact
        return self.make(text, a.dtype, shape, lo, hi, alt=alt, exact=exact)

    def div(self, a):
        if self.chance(0.3):
            k = self.choice([2, 0.5, 3, -4, 1.5, -0.25, 8])
            return self.make("%s / %s" % (self.use(a), self.literal(k, "f32")), a.dtype, a.shape,
                             min(a.lo / k, a.hi / k), max(a.lo / k, a.hi / k))
        b = self.partner(a)
        if not (b.lo >= 0.25 or b.hi <= -0.25):
            b = self.positive(b)
        b = self.fit(b)
        q = [a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi]
        return self.make("%s / %s" % (self.use(a), self.use(b)), a.dtype, broadcast(a.shape, b.shape), min(q), max(q))

    def power(self, a):
        if a.dtype in INTS:
            a = self.fit(a, 4)
            if self.chance(0.6):
                k = self.choice([0, 1, 2, 3])
                return self.make("%s ** %d" % (self.use(a), k), a.dtype, a.shape, -a.bound ** k, a.bound ** k)
            e = self.partner(a)
            text = "%s ** clip(%s, 0, 3)" % (self.use(a), self.use(self.fit(e, 100)))
            return self.make(text, a.dtype, broadcast(a.shape, e.shape), -a.bound ** 3 - 1, a.bound ** 3 + 1)
        a = self.positive(self.fit(a, 4))
        if self.chance(0.5):
            k = self.choice([2, 3, 0.5, -1, 1.5, -0.5, 0, 1, -2])
            c = [a.lo ** k, a.hi ** k]
            return self.make("%s ** %s" % (self.use(a), self.literal(k, "f32")), a.dtype, a.shape, min(c), max(c))
        e = self.fit(self.partner(a), 2)
        c = [a.lo ** e.lo, a.lo ** e.hi, a.hi ** e.lo, a.hi ** e.hi]
        ta, te = self.use(a), self.use(e)
        text = "%s ** %s" % (ta, te) if self.chance(0.8) else "pow(%s, %s)" % (ta, te)
        return self.make(text, a.dtype, broadcast(a.shape, e.shape), min(c), max(c))

    def comparison(self):
        """A bool value: a comparison of two numbers (or eq/ne of two bools)."""
        dt = self.choice(["f32", "i32", "bool"], p=[6, 3, 1])
        a = self.get(dt)
        ops = ["==", "!="] if dt == "bool" else ["<", "<=", ">", ">=", "==", "!="]
        op = self.choice(ops)
        if dt != "bool" and self.chance(0.3):
            k = self.randint(-2, 2) if dt in INTS else round(float(self.rng.uniform(-1, 1)), 2)
            b = Val(self.literal(k, dt), dt, (), k, k, exact=True)
        else:
            b = self.partner(a)
            b = self.apart(b) if a.exact else b
        a = self.apart(a)   # one noisy side is enough
        names = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
        ta, tb = self.use(a), self.use(b)
        text = "%s %s %s" % (ta, op, tb) if self.chance(0.85) else "%s(%s, %s)" % (names[op], ta, tb)
        return self.make(text, "bool", broadcast(a.shape, b.shape), 0, 1)

    def op_compare_select(self):
        c = self.pick(lambda v: v.dtype == "bool") if self.chance(0.4) else None
        c = c or self.comparison()
        if self.chance(0.3):
            return c
        dt = self.num_dtype()
        a = self.fit(self.get(dt, pred=lambda v: broadcast(v.shape, c.shape) is not None))
        if broadcast(a.shape, c.shape) is None:
            a = self.fit(self.leaf(dt, c.shape))
        if self.chance(0.3):
            k = self.randint(-2, 2) if dt in INTS else round(float(self.rng.uniform(-2, 2)), 2)
            b = Val(self.literal(k, dt), dt, (), k, k, exact=True)
        else:
            b = self.fit(self.partner(a))
        shape = broadcast(c.shape, a.shape, b.shape)
        if shape is None or len(shape) > 4 or nelems(shape) > MAX_ELEMS:
            return c
        ta, tb = self.use(a), self.use(b)
        if self.chance(0.5):
            ta, tb = tb, ta
        return self.make("select(%s, %s, %s)" % (self.use(c), ta, tb), dt, shape, min(a.lo, b.lo), max(a.hi, b.hi),
                         exact=a.exact and b.exact)

    def op_clip(self):
        dt = self.num_dtype()
        x = self.fit(self.get(dt), 100 if dt in INTS else LIMIT)
        if self.chance(0.75):
            if dt in INTS:
                lo = self.randint(-4, 2)
                hi = lo + self.randint(0, 5)
            else:
                lo = round(float(self.rng.uniform(-2, 1)), 2)
                hi = round(lo + float(self.rng.uniform(0, 3)), 2)
            return self.make("clip(%s, %s, %s)" % (self.use(x), self.literal(lo, dt), self.literal(hi, dt)), dt,
                             x.shape, min(max(x.lo, lo), hi), min(max(x.hi, lo), hi), exact=x.exact)
        lo, hi = self.fit(self.partner(x)), self.fit(self.partner(x))
        shape = broadcast(x.shape, lo.shape, hi.shape)
        if shape is None or len(shape) > 4 or nelems(shape) > MAX_ELEMS:
            return None
        return self.make("clip(%s, %s, %s)" % (self.use(x), self.use(lo), self.use(hi)), dt, shape,
                         min(max(x.lo, lo.lo), hi.lo), min(max(x.hi, lo.hi), hi.hi))

    def op_cast(self):
        src = self.choice(["f32", "i32", "bool", "i64", "f16"], p=[5, 3, 2, 0.5, 0.5])
        v = self.get(src)
        if src == "f16":   # to f32 only when exact: an f16 rounding difference exceeds the f32 tolerance
            to = self.choice(["f32", "f16"]) if v.exact else "f16"
            return self.make("cast(%s, %s)" % (self.use(v), to), to, v.shape, v.lo, v.hi, exact=v.exact)
        if src == "f32":
            to = self.choice(["i32", "bool", "f16", "bf16", "f32", "i64", "int round trip"],
                             p=[3, 2, 2, 1, 1, 0.5, 1])
            if to in ("f16", "bf16"):   # a storage round trip: must not be folded away
                # of an exact value: one f32 ulp of difference may move the result by an f16 ulp
                v = v if v.exact else self.get("f32", pred=lambda u: u.exact)
                if not v.exact or v.bound > LIMIT:
                    return None
                return self.make("cast(cast(%s, %s), f32)" % (self.use(v), to), "f32", v.shape, v.lo - 0.01 * v.bound,
                                 v.hi + 0.01 * v.bound, exact=v.exact)
            if to == "f32":
                return self.make("cast(%s, f32)" % self.use(v), "f32", v.shape, v.lo, v.hi, exact=v.exact)
            v = self.apart(self.fit(v, 100))
            lo, hi = math.trunc(v.lo), math.trunc(v.hi)
            if to in INTS:
                return self.make("cast(%s, %s)" % (self.use(v), to), to, v.shape, lo, hi)
            if to == "bool":
                return self.make("cast(%s, bool)" % self.use(v), "bool", v.shape, 0, 1)
            return self.make("cast(cast(%s, i32), f32)" % self.use(v), "f32", v.shape, lo, hi, exact=True)
        if src == "bool":
            to = self.choice(["f32", "i32", "bool"])
            return self.make("cast(%s, %s)" % (self.use(v), to), to, v.shape, 0, 1)
        to = self.choice(["f32", "bool", "i64" if src == "i32" else "i32", src])
        if to == "bool":
            return self.make("cast(%s, bool)" % self.use(v), "bool", v.shape, 0, 1)
        if to == "f32":
            v = self.fit(v, 1 << 20)
        return self.make("cast(%s, %s)" % (self.use(v), to), to, v.shape, v.lo, v.hi, exact=True)

    # ---- reductions and normalizations ----------------------------------------------------------

    def axes_arg(self, rank):
        """(text, reduced axes): omitted (all axes), one int or a list, possibly negative."""
        form = self.choice(["all", "int", "list"], p=[1, 3, 2] if rank else [1, 0, 0.3])
        if form == "all":
            return "", list(range(rank))
        if form == "int":
            ax = self.randint(-rank, rank - 1)
            return ", axis=%d" % ax, [ax % rank]
        k = self.randint(0, rank)
        axes = [int(a) for a in self.rng.permutation(rank)[:k]]
        written = [a - rank if self.chance(0.3) else a for a in axes]
        return ", axis=%s" % ints_text(written), sorted(axes)

    def keepdims_arg(self):
        keep = self.chance(0.4)
        if keep:
            return ", keepdims=true", True
        return (", keepdims=false" if self.chance(0.3) else ""), False

    def op_reduce(self):
        op = self.choice(["sum", "mean", "max", "min"], p=[3, 3, 2, 1.5])
        dt = "f32" if op == "mean" else self.choice(["f32", "i32"], p=[4, 1])
        x = self.fit(self.get(dt), 100 if dt in INTS else LIMIT)
        axes_text, axes = self.axes_arg(x.rank)
        if op in ("max", "min") and any(x.shape[a] == 0 for a in axes):
            return None
        keep_text, keep = self.keepdims_arg()
        shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape) if keep or i not in axes)
        n = nelems([x.shape[a] for a in axes])
        lo, hi = (n * x.lo, n * x.hi) if op == "sum" else (x.lo, x.hi)
        if op == "sum" and n == 0:
            lo = hi = 0
        return self.make("%s(%s%s%s)" % (op, self.use(x), axes_text, keep_text), dt, shape, min(lo, hi), max(lo, hi),
                         exact=op in ("max", "min") and x.exact)

    def op_argmax(self):
        x = self.get(self.choice(["f32", "i32"], p=[3, 1]), min_rank=1, pred=lambda v: 0 not in v.shape)
        if 0 in x.shape:
            return None
        x = self.apart(x)
        ax = self.randint(-x.rank, x.rank - 1)
        keep_text, keep = self.keepdims_arg()
        axis_text = "" if ax == -1 and self.chance(0.5) else ", axis=%d" % ax
        shape = tuple(1 if i == ax % x.rank else d for i, d in enumerate(x.shape) if keep or i != ax % x.rank)
        return self.make("argmax(%s%s%s)" % (self.use(x), axis_text, keep_text), "i32", shape, 0,
                         x.shape[ax % x.rank] - 1)

    def op_softmax(self):
        op = self.choice(["softmax", "log_softmax"], p=[2, 1])
        x = self.fit(self.get("f32", min_rank=1))
        ax = self.randint(-x.rank, x.rank - 1)
        axis_text = "" if ax == -1 and self.chance(0.5) else ", axis=%d" % ax
        n = x.shape[ax % x.rank]
        lo, hi = (0, 1) if op == "softmax" else (-(x.hi - x.lo) - math.log(max(n, 1)) - 0.01, 0)
        return self.make("%s(%s%s)" % (op, self.use(x), axis_text), "f32", x.shape, lo, hi)

    def vector(self, n, positive=False):
        """A [n] f32 operand of a normalization: input, pool value or constant."""
        if self.chance(0.25):
            k = self.choice(["ones", "zeros"]) if not positive else "ones"
            return self.make("%s([%d])" % (k, n), "f32", (n,), float(k == "ones"), 1)
        v = self.fit(self.get("f32", shape=(n,)), 4)
        return self.positive(v, 0.1) if positive else v

    def eps_arg(self):
        return self.choice(["", ", eps=1e-3", ", eps=0.1", ", eps=1e-5"], p=[3, 1, 1, 1])

    def op_layer_norm(self):
        x = self.fit(self.get("f32", min_rank=1))
        d = x.shape[-1]
        g, b = self.vector(d), self.vector(d)
        bound = math.sqrt(max(d, 1)) * g.bound + b.bound
        return self.make("layer_norm(%s, %s, %s%s)" % (self.use(x), self.use(g), self.use(b), self.eps_arg()), "f32",
                         x.shape, -bound, bound)

    def op_batch_norm(self):
        x = self.fit(self.get("f32", min_rank=2))
        c = x.shape[1]
        mean, var = self.vector(c), self.vector(c, positive=True)
        g, b = self.vector(c), self.vector(c)
        bound = (x.bound + mean.bound) / math.sqrt(max(var.lo, 0.1)) * g.bound + b.bound
        text = "batch_norm(%s, %s, %s, %s, %s%s)" % (self.use(x), self.use(mean), self.use(var), self.use(g),
                                                      self.use(b), self.eps_arg())
        return self.make(text, "f32", x.shape, -bound, bound)

    def op_rowwise(self):
        """A reduction written out by hand and broadcast back along the reduced axis (softmax,
        normalization, centering, logsumexp), with keepdims or a reshape: row-wise fusion."""
        x = self.fit(self.get("f32", min_rank=1, pred=lambda v: 0 not in v.shape), 8)
        if 0 in x.shape:
            return None
        ax = self.randint(-x.rank, x.rank - 1)
        n, kept = x.shape[ax], tuple(1 if i == ax % x.rank else d for i, d in enumerate(x.shape))
        t = self.use(x)

        def reduced(op, text):   # op(text) over ax, in x's rank
            if self.chance(0.7):
                return "%s(%s, axis=%d, keepdims=true)" % (op, text, ax)
            return "reshape(%s(%s, axis=%d), %s)" % (op, text, ax, ints_text(kept))
        form = self.choice(["softmax", "norm", "center", "logsumexp"])
        if form == "center":
            return self.make("%s - %s" % (t, reduced("mean", t)), "f32", x.shape, x.lo - x.hi, x.hi - x.lo)
        if form == "norm":
            d = self.make("%s - %s" % (t, reduced("mean", t)), "f32", x.shape, x.lo - x.hi, x.hi - x.lo)
            td = self.use(d)
            r = self.make("rsqrt(%s + %s)" % (reduced("mean", "%s * %s" % (td, td)), self.choice(["1e-5", "0.01"])),
                          "f32", kept, 0, 320)
            bound = math.sqrt(n)
            return self.make("%s * %s" % (self.use(d), self.use(r)), "f32", x.shape, -bound, bound)
        m = self.make(reduced("max", t), "f32", kept, x.lo, x.hi)
        e = self.make("exp(%s - %s)" % (t, self.use(m)), "f32", x.shape, 0, 1)
        s = self.make(reduced("sum", self.use(e)), "f32", kept, 1, n)
        if form == "softmax":
            return self.make("%s / %s" % (self.use(e), self.use(s)), "f32", x.shape, 0, 1)
        return self.make("%s + log(%s)" % (self.use(m), self.use(s)), "f32", kept, x.lo, x.hi + math.log(n))

    # ---- convolution, pooling, losses ---------------------------------------------------------

    def image(self):
        x = self.pick(lambda v: v.dtype == "f32" and v.rank == 4 and min(v.shape[2:]) >= 2 and 0 not in v.shape)
        if x is None or self.chance(0.4):
            x = self.leaf("f32", (self.randint(1, 2), self.randint(1, 4), self.randint(3, 7), self.randint(3, 7)))
        return self.fit(x, 4)

    def int2(self, v):
        return str(v[0]) if v[0] == v[1] and self.chance(0.7) else ints_text(v)

    def op_conv2d(self):
        x = self.image()
        n, c, h, w = x.shape
        divisors = [g for g in range(1, c + 1) if c % g == 0]
        groups = self.choice(divisors) if self.chance(0.3) else 1
        o = groups * self.randint(1, 3)
        kh, kw = self.randint(1, 3), self.randint(1, 3)
        stride = [self.randint(1, 2), self.randint(1, 2)]
        dil = [self.randint(1, 2), self.randint(1, 2)] if self.chance(0.3) else [1, 1]
        pad_form = self.choice(["none", "int", "pair", "same", "valid"], p=[2, 2, 1, 1, 0.5])
        args, lo = "", [0, 0]
        hi = [0, 0]
        if pad_form == "same" and stride == [1, 1]:
            args += ', padding="same"'
            for i, k in enumerate((kh, kw)):
                total = dil[i] * (k - 1)
                lo[i], hi[i] = total // 2, total - total // 2
        elif pad_form == "valid":
            args += ', padding="valid"'
        elif pad_form in ("int", "pair"):
            p = [self.randint(0, 2)] * 2 if pad_form == "int" else [self.randint(0, 2), self.randint(0, 2)]
            args += ", padding=%s" % self.int2(p)
            lo, hi = p, p
        ho = conv_out(h, lo[0], hi[0], kh, stride[0], dil[0])
        wo = conv_out(w, lo[1], hi[1], kw, stride[1], dil[1])
        if ho < 1 or wo < 1:
            return None
        if stride != [1, 1] or self.chance(0.2):
            args = ", stride=%s" % self.int2(stride) + args
        if dil != [1, 1]:
            args += ", dilation=%s" % self.int2(dil)
        if groups != 1:
            args += ", groups=%d" % groups
        wt = self.fit(self.get("f32", shape=(o, c // groups, kh, kw)), 1)
        bound = (c // groups) * kh * kw * x.bound * wt.bound
        return self.make("conv2d(%s, %s%s)" % (self.use(x), self.use(wt), args), "f32", (n, o, ho, wo), -bound, bound)

    def op_pool(self):
        op = self.choice(["max_pool2d", "avg_pool2d", "global_avg_pool"], p=[2, 2, 1])
        x = self.image()
        if op == "global_avg_pool":
            return self.make("global_avg_pool(%s)" % self.use(x), "f32", x.shape[:2], x.lo, x.hi)
        k = [self.randint(1, 3), self.randint(1, 3)]
        args = ", %s" % self.int2(k)
        stride = k
        if self.chance(0.4):
            stride = [self.randint(1, 3), self.randint(1, 3)]
            args += ", stride=%s" % self.int2(stride)
        pad = [0, 0]
        if self.chance(0.4):
            pad = [self.randint(0, k[0] // 2), self.randint(0, k[1] // 2)]
            args += ", padding=%s" % self.int2(pad)
        ho = conv_out(x.shape[2], pad[0], pad[0], k[0], stride[0], 1)
        wo = conv_out(x.shape[3], pad[1], pad[1], k[1], stride[1], 1)
        if ho < 1 or wo < 1:
            return None
        lo, hi = (x.lo, x.hi) if op == "max_pool2d" else (min(x.lo, 0), max(x.hi, 0))
        return self.make("%s(%s%s)" % (op, self.use(x), args), "f32", x.shape[:2] + (ho, wo), lo, hi)

    def op_loss(self):
        if self.chance(0.4):
            a = self.fit(self.get("f32"))
            b = self.fit(self.partner(a))
            return self.make("mse(%s, %s)" % (self.use(a), self.use(b)), "f32", (), 0, (a.bound + b.bound) ** 2)
        x = self.fit(self.get("f32", min_rank=1, max_rank=3, pred=lambda v: v.shape[-1] > 0))
        k = x.shape[-1]
        if k == 0:
            return None
        lab = self.pick(lambda v: v.dtype == "i32" and v.shape == x.shape[:-1] and v.lo >= 0 and v.hi <= k - 1)
        if lab is None:
            lab = self.leaf("i32", x.shape[:-1], 0, k - 1)
        return self.make("cross_entropy(%s, %s)" % (self.use(x), self.use(lab)), "f32", x.shape[:-1], 0,
                         (x.hi - x.lo) + math.log(k) + 0.01)
