"""random_ops_shape.py — the random-graph generator's matmul and data-movement ops (transpose,
reshape, broadcast_to, concat, slice, pad, gather, one_hot) and the patterns aimed at one pass:
identities for canonicalize, duplicates for CSE, constants for fold, transposes feeding matmul.
A mixin of random_program.Program, like random_ops_math.py."""
import numpy as np

from random_values import INTS, LIMIT, MAX_ELEMS, Val, ints_text, matmul_shape, nelems, slice_len


class ShapeOps:
    """Op methods of Program (see random_program.py for the helpers they call)."""

    # ---- linear algebra and data movement -----------------------------------------------------

    def transposed(self, dtype, target):
        """An operand of shape `target` made by transposing a source: a swap of the last two
        axes (what canonicalize folds into matmul), [0, 2, 1, 3] (attention heads) or any perm."""
        r = len(target)
        if r == 4 and self.chance(0.3):
            p = [0, 2, 1, 3]
        elif self.chance(0.6):
            p = list(range(r - 2)) + [r - 1, r - 2]
        else:
            p = self.perm(r)
        src_shape = [0] * r
        for i, pi in enumerate(p):
            src_shape[pi] = target[i]
        src = self.fit(self.get(dtype, shape=tuple(src_shape)), 4 if dtype == "f32" else 3)
        if r == 2 and p == [1, 0] and self.chance(0.5):
            text = "transpose(%s)" % self.use(src)
        else:
            text = "transpose(%s, perm=%s)" % (self.use(src), ints_text(p))
        return self.make(text, dtype, target, src.lo, src.hi, bind=0.5, exact=src.exact)

    def matmul_operand(self, dtype, shape):
        if len(shape) >= 2 and self.chance(0.35):
            return self.transposed(dtype, shape)
        return self.fit(self.get(dtype, shape=shape), 4 if dtype == "f32" else 3)

    def op_matmul(self):
        dt = self.choice(["f32", "i32"], p=[9, 1])
        m = 4 if dt == "f32" else 3
        if self.chance(0.6):
            a = self.fit(self.get(dt, min_rank=1), m)
        else:
            a = self.matmul_operand(dt, self.shape(1, 4))
        k, n = a.shape[-1], self.dim()
        if a.rank == 1 or self.chance(0.12):
            bshape = (k,) if self.chance(0.3) else self.shape(0, 2) + (k, n)
        else:
            batch = list(a.shape[:-2])
            batch = [1 if self.chance(0.2) else d for d in batch]
            batch = batch[self.randint(0, len(batch)) if self.chance(0.3) else 0:]
            batch = [self.dim() if d == 1 and self.chance(0.4) else d for d in batch]
            bshape = tuple(batch) + (k, n)
        out = matmul_shape(a.shape, bshape)
        if out is None or len(out) > 4 or nelems(out) > MAX_ELEMS:
            return None
        b = self.matmul_operand(dt, bshape)
        bound = max(k, 1) * a.bound * b.bound
        ta, tb = self.use(a), self.use(b)
        text = "%s @ %s" % (ta, tb) if self.chance(0.8) else "matmul(%s, %s)" % (ta, tb)
        return self.make(text, dt, out, -bound, bound)

    def op_epilogue(self):
        """A contraction and what usually follows it: a bias along the last axis (conv2d: per
        channel), an activation, a scale, a residual add: epilogue fusion. The bias or the
        contraction itself is sometimes read elsewhere too."""
        conv = self.chance(0.3)
        c = self.op_conv2d() if conv else self.op_matmul()
        if c is None or c.dtype != "f32" or c.rank == 0:
            return c
        c = self.fit(c)
        bshape = (c.shape[1], 1, 1) if conv else (c.shape[-1],)
        v = self.arith("add", c, self.fit(self.get("f32", shape=bshape), 2))
        if self.chance(0.7):
            act = self.choice(["relu", "gelu", "tanh", "sigmoid", "silu", "gelu_tanh"])
            v = self.make("%s(%s)" % (act, self.use(v)), "f32", v.shape, min(v.lo, 0) if act != "relu" else 0,
                          max(v.hi, 1))
        if self.chance(0.4):
            k = self.choice([0.5, 2, 0.125, -1])
            v = self.make("%s * %s" % (self.use(v), self.literal(k, "f32")), "f32", v.shape,
                          min(v.lo * k, v.hi * k), max(v.lo * k, v.hi * k))
        if self.chance(0.4):
            v = self.arith("add", v, self.fit(self.get("f32", shape=v.shape)))
        return v

    def any_dtype(self):
        return self.choice(["f32", "i32", "bool"], p=[6, 2, 1])

    def op_transpose(self):
        x = self.get(self.any_dtype(), min_rank=1)
        if self.chance(0.25):
            return self.make("transpose(%s)" % self.use(x), x.dtype, x.shape[::-1], x.lo, x.hi, exact=x.exact)
        p = self.perm(x.rank)
        written = [a - x.rank if self.chance(0.15) else a for a in p]
        return self.make("transpose(%s, perm=%s)" % (self.use(x), ints_text(written)), x.dtype,
                         [x.shape[a] for a in p], x.lo, x.hi, exact=x.exact)

    def factor_shape(self, n, rank=None):
        """A random shape of rank 0..4 with n elements."""
        if n == 0:
            s = list(self.shape(1, 3))
            s[self.randint(0, len(s) - 1)] = 0
            return tuple(s)
        primes, m, p = [], n, 2
        while m > 1:
            while m % p == 0:
                primes.append(p)
                m //= p
            p += 1
        rank = rank if rank is not None else self.randint(1 if n > 1 else 0, 4)
        rank = max(rank, 1) if primes else rank
        dims = [1] * rank
        for q in primes:
            dims[self.randint(0, rank - 1)] *= q
        return tuple(dims)

    def reshape_text(self, x, shape):
        s = list(shape)
        if s and nelems(s) > 0 and self.chance(0.3):
            s[self.randint(0, len(s) - 1)] = -1
        return "reshape(%s, %s)" % (self.use(x), ints_text(s))

    def op_reshape(self):
        x = self.get(self.any_dtype())
        shape = self.factor_shape(nelems(x.shape))
        return self.make(self.reshape_text(x, shape), x.dtype, shape, x.lo, x.hi, exact=x.exact)

    def grown(self, shape):
        """A shape that `shape` broadcasts to: 1s grown, maybe a leading axis added."""
        s = [self.dim() if d == 1 and self.chance(0.6) else d for d in shape]
        while len(s) < 4 and self.chance(0.35):
            s.insert(0, self.dim())
        return tuple(s) if nelems(s) <= MAX_ELEMS else tuple(shape)

    def op_broadcast_to(self):
        x = self.get(self.any_dtype(), max_rank=3)
        s = self.grown(x.shape)
        return self.make("broadcast_to(%s, %s)" % (self.use(x), ints_text(s)), x.dtype, s, x.lo, x.hi, exact=x.exact)

    def op_concat(self):
        a = self.get(self.any_dtype(), min_rank=1)
        ax = self.randint(0, a.rank - 1)
        parts = [a]

        def same_but_axis(v):
            return v.rank == a.rank and all(i == ax or v.shape[i] == a.shape[i] for i in range(a.rank))
        for _ in range(self.choice([0, 1, 2, 3], p=[1, 5, 3, 1])):
            if self.chance(0.2):
                parts.append(a)
                continue
            v = self.pick(lambda v: v.dtype == a.dtype and same_but_axis(v)) if self.chance(0.5) else None
            if v is None:
                s = list(a.shape)
                s[ax] = self.randint(1, 4)
                v = self.leaf(a.dtype, s)
            parts.append(v)
        shape = list(a.shape)
        shape[ax] = sum(v.shape[ax] for v in parts)
        if nelems(shape) > MAX_ELEMS:
            return None
        written = ax - a.rank if self.chance(0.3) else ax
        axis_text = "" if written == 0 and self.chance(0.5) else ", axis=%d" % written
        text = "concat([%s]%s)" % (", ".join(self.use(v) for v in parts), axis_text)
        return self.make(text, a.dtype, shape, min(v.lo for v in parts), max(v.hi for v in parts),
                         exact=all(v.exact for v in parts))

    def op_slice(self):
        x = self.get(self.any_dtype(), min_rank=1)
        for _ in range(6):
            n = x.rank if self.chance(0.8) else self.randint(0, x.rank)
            starts, stops, steps, shape = [], [], [], list(x.shape)
            for i in range(n):
                d = x.shape[i]
                step = self.choice([1, 2, 3, -1, -2], p=[6, 2, 1, 1.5, 1])
                start, stop = self.randint(-d - 1, d + 1), self.randint(-d - 1, d + 1)
                if self.chance(0.3):   # most of the axis
                    start, stop = (0, d) if step > 0 else (d - 1, -d - 1)
                starts.append(start)
                stops.append(stop)
                steps.append(step)
                shape[i] = slice_len(d, start, stop, step)
            if 0 not in shape or self.chance(0.1):
                break
        if all(s == 1 for s in steps) and self.chance(0.5):
            step_text = ""
        else:
            step_text = ", step=%s" % ints_text(steps)
        text = "slice(%s, start=%s, stop=%s%s)" % (self.use(x), ints_text(starts), ints_text(stops), step_text)
        return self.make(text, x.dtype, shape, x.lo, x.hi, exact=x.exact)

    def op_pad(self):
        x = self.get(self.choice(["f32", "i32"], p=[4, 1]), min_rank=1)
        widths = [[self.randint(0, 2), self.randint(0, 2)] for _ in x.shape]
        shape = [d + lo + hi for d, (lo, hi) in zip(x.shape, widths)]
        if nelems(shape) > MAX_ELEMS:
            return None
        value, value_text = 0, ""
        if self.chance(0.5):
            value = self.randint(-3, 3) if x.dtype in INTS else round(float(self.rng.uniform(-2, 2)), 2)
            value_text = ", value=%s" % self.literal(value, x.dtype)
        text = "pad(%s, [%s]%s)" % (self.use(x), ", ".join(ints_text(w) for w in widths), value_text)
        return self.make(text, x.dtype, shape, min(x.lo, value), max(x.hi, value), exact=x.exact)

    def op_gather(self):
        x = self.get(self.any_dtype(), min_rank=1, pred=lambda v: 0 not in v.shape)
        if 0 in x.shape:
            return None
        ax = self.randint(-x.rank, x.rank - 1)
        d = x.shape[ax]
        form = self.choice(["pool", "input", "arange", "reversed"], p=[2, 3, 1, 1])
        idx = None
        if form == "pool":
            idx = self.pick(lambda v: v.dtype in INTS and v.rank <= 2 and v.lo >= -d and v.hi <= d - 1)
        if idx is None and form == "arange":
            idx = self.make("arange(%d)" % d, "i32", (d,), 0, d - 1)
        if idx is None and form == "reversed":
            idx = self.make("%d - arange(%d)" % (d - 1, d), "i32", (d,), 0, d - 1)
        if idx is None:
            idx = self.leaf("i32", self.shape(0, 2), -d, d - 1)
        shape = x.shape[:ax % x.rank] + idx.shape + x.shape[ax % x.rank + 1:]
        if nelems(shape) > MAX_ELEMS or len(shape) > 6:
            return None
        axis_text = "" if ax == 0 and self.chance(0.5) else ", axis=%d" % ax
        return self.make("gather(%s, %s%s)" % (self.use(x), self.use(idx), axis_text), x.dtype, shape, x.lo, x.hi,
                         exact=x.exact)

    def op_one_hot(self):
        depth = self.randint(1, 6)
        idx = self.pick(lambda v: v.dtype in INTS and v.rank <= 3)
        if idx is None or self.chance(0.3):
            idx = self.leaf("i32", self.shape(0, 2), -1, depth)
        shape = idx.shape + (depth,)
        if nelems(shape) > MAX_ELEMS:
            return None
        return self.make("one_hot(%s, %d)" % (self.use(idx), depth), "f32", shape, 0, 1, exact=True)

    # ---- patterns aimed at one pass -----------------------------------------------------------

    def op_identity(self):
        """An identity or near-identity canonicalize may rewrite (x*1, x+0, --x, a no-op
        transpose/reshape/slice/pad, x*ones, ...) or must not (x + zeros that broadcasts,
        (x+1)-1, x - x, which is not 0 for inf)."""
        v = self.fit(self.get(self.num_dtype()), LIMIT if self.chance(0.5) else 3)
        dt, t, s, lo, hi, b = v.dtype, self.use(v), v.shape, v.lo, v.hi, v.bound
        one, zero = self.literal(1, dt), self.literal(0, dt)
        same = (s, lo, hi)
        forms = [
            ("%s * %s" % (t, one),) + same, ("%s * %s" % (one, t),) + same, ("%s + %s" % (t, zero),) + same,
            ("%s + %s" % (zero, t),) + same, ("%s - %s" % (t, zero),) + same, ("-(-%s)" % t,) + same,
            ("--%s" % t,) + same, ("%s ** 1" % t,) + same, ("maximum(%s, %s)" % (t, t),) + same,
            ("minimum(%s, %s)" % (t, t),) + same, ("reshape(%s, %s)" % (t, ints_text(s)),) + same,
            ("broadcast_to(%s, %s)" % (t, ints_text(s)),) + same, ("cast(%s, %s)" % (t, dt),) + same,
            ("sum(%s, axis=[])" % t,) + same, ("%s - %s" % (t, t), s, 0, 0), ("%s * %s" % (t, zero), s, 0, 0),
            ("%s * 2 * 3" % t, s, 6 * lo, 6 * hi), ("%s - (-%s)" % (t, t), s, 2 * lo, 2 * hi),
            ("-%s * -%s" % (t, t), s, 0, b * b),
        ]
        if s:
            forms += [("transpose(%s, perm=%s)" % (t, ints_text(range(len(s)))),) + same,
                      ("slice(%s, start=%s, stop=%s)" % (t, ints_text([0] * len(s)), ints_text(s)),) + same,
                      ("pad(%s, [%s])" % (t, ", ".join("[0, 0]" for _ in s)),) + same,
                      ("concat([%s], axis=%d)" % (t, len(s) - 1),) + same]
            if 1 in s:
                red = "mean" if dt == "f32" else "sum"
                forms.append(("%s(%s, axis=%d, keepdims=true)" % (red, t, s.index(1)),) + same)
        g = self.grown(s)
        dtype_arg = "" if dt == "f32" else ", dtype=%s" % dt
        forms += [("%s * ones(%s%s)" % (t, ints_text(g), dtype_arg), g, lo, hi),
                  ("zeros(%s%s) + %s" % (ints_text(g), dtype_arg, t), g, lo, hi)]
        if dt == "f32":
            forms += [("%s / 1" % t,) + same, ("%s * 1.0" % t,) + same, ("%s + 0.0" % t,) + same,
                      ("%s ** 2" % t, s, 0, b * b), ("(%s * 2) * 3" % t, s, 6 * lo, 6 * hi),
                      ("(%s + 1) - 1" % t, s, lo - 0.01, hi + 0.01), ("%s / 4 * 4" % t,) + same,
                      ("abs(abs(%s))" % t, s, 0, b), ("relu(relu(%s))" % t, s, max(lo, 0), max(hi, 0))]
        else:
            forms += [("cast(cast(%s, f32), %s)" % (t, dt),) + same]
        text, shape, lo, hi = self.choice(forms)
        if nelems(shape) > MAX_ELEMS:
            return None
        return self.make(text, dt, shape, min(lo, hi), max(lo, hi))

    def op_duplicate(self):
        """The right-hand side of an earlier statement again (or with commuted operands): CSE."""
        named = [v for v in self.pool if v.named and any(n == v.text for n, _ in self.stmts)]
        if not named:
            return None
        v = self.choice(named)
        text = dict(self.stmts)[v.text]
        if v.alt and self.chance(0.5):
            text = v.alt
        return self.make(text, v.dtype, v.shape, v.lo, v.hi, bind=0.8, exact=v.exact)

    def op_constant(self):
        """A computation on constants only (fold), sometimes with a scalar literal."""
        s = self.shape(0, 3)
        a = self.constant_leaf("f32", s)
        op = self.choice(["add", "sub", "mul", "maximum"])
        b = self.constant_leaf("f32", s) if self.chance(0.6) else Val("2.5", "f32", (), 2.5, 2.5)
        v = self.arith(op, self.fit(a), self.fit(b))
        if self.chance(0.5):
            v = self.make("tanh(%s)" % self.use(v), "f32", v.shape, -1, 1)
        return v

    def op_big_constant(self):
        """A constant over fold's 64 KiB cap, reduced to a small value."""
        r, c = self.choice([(128, 136), (130, 130), (64, 300)])
        n = r * c
        big = "cast(reshape(arange(%d), [%d, %d]), f32) * 0.0001" % (n, r, c)
        if self.chance(0.5):
            return self.make("sum(%s, axis=1)" % big, "f32", (r,), 0, c * n * 1e-4)
        return self.make("slice(%s, start=[0, 0], stop=[3, 4])" % big, "f32", (3, 4), 0, 1)

    def op_transpose_chain(self):
        x = self.get(self.any_dtype(), min_rank=2)
        p = self.perm(x.rank)
        mid = [x.shape[a] for a in p]
        q = [int(a) for a in np.argsort(p)] if self.chance(0.5) else self.perm(x.rank)
        out = [mid[a] for a in q]
        text = "transpose(transpose(%s, perm=%s), perm=%s)" % (self.use(x), ints_text(p), ints_text(q))
        return self.make(text, x.dtype, out, x.lo, x.hi, exact=x.exact)

    def op_reshape_chain(self):
        x = self.get(self.any_dtype())
        n = nelems(x.shape)
        s1 = self.factor_shape(n)
        s2 = x.shape if self.chance(0.4) else self.factor_shape(n)
        inner = Val("(" + self.reshape_text(x, s1) + ")", x.dtype, s1, x.lo, x.hi)
        return self.make(self.reshape_text(inner, s2), x.dtype, s2, x.lo, x.hi, exact=x.exact)

    def op_broadcast_chain(self):
        x = self.get(self.any_dtype(), max_rank=2)
        s1 = self.grown(x.shape)
        s2 = self.grown(s1)
        text = "broadcast_to(broadcast_to(%s, %s), %s)" % (self.use(x), ints_text(s1), ints_text(s2))
        return self.make(text, x.dtype, s2, x.lo, x.hi, exact=x.exact)
