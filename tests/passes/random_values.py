"""random_values.py — what the random-graph generator (random_program.py) knows about a value:
its text, dtype, shape and an interval holding every element, plus NumPy's shape rules for the
ops whose result shapes the generator must predict."""
import numpy as np

LIMIT = 16.0          # a float operand larger in magnitude is squashed first (keeps rounding small)
MAX_ELEMS = 2048      # no value gets more elements (keeps the sanitizer build fast)
NP_DTYPES = {"f32": np.float32, "f16": np.float16, "i32": np.int32, "i64": np.int64, "bool": np.bool_}
INTS = ("i32", "i64")


class Val:
    """A value of the program: its text (a bound name, or a parenthesized expression that is
    written out again at each use, which is how repeated subexpressions appear), dtype, shape,
    an interval [lo, hi] holding every element (bools: 0..1), and whether it is exact: the same
    bits whatever the passes do (an input, a constant, integers, data movement of exact values),
    unlike float arithmetic, whose rounding canonicalize or decompose may change."""

    def __init__(self, text, dtype, shape, lo, hi, alt=None, exact=False):
        self.text, self.dtype, self.shape = text, dtype, tuple(int(d) for d in shape)
        self.lo, self.hi, self.alt, self.uses = float(lo), float(hi), alt, 0
        self.is_exact = exact

    @property
    def exact(self):
        return self.is_exact or self.dtype in ("i32", "i64", "bool")

    @property
    def bound(self):
        return max(abs(self.lo), abs(self.hi))

    @property
    def rank(self):
        return len(self.shape)

    @property
    def named(self):
        return not self.text.startswith("(")


def nelems(shape):
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def broadcast(*shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def tg_type(dtype, shape):
    return "%s[%s]" % (dtype, ", ".join(str(d) for d in shape))


def ints_text(v):
    return "[%s]" % ", ".join(str(int(x)) for x in v)


def matmul_shape(a, b):
    """np.matmul's result shape, or None."""
    ka = a[-1]
    kb = b[0] if len(b) == 1 else b[-2]
    if ka != kb:
        return None
    batch = broadcast(a[:-2], b[:-2])
    if batch is None:
        return None
    return batch + (a[-2:-1] if len(a) >= 2 else ()) + (b[-1:] if len(b) >= 2 else ())


def slice_len(dim, start, stop, step):
    return len(range(*slice(start, stop, step).indices(dim)))


def conv_out(size, lo, hi, k, stride, dilation):
    span = dilation * (k - 1) + 1
    return (size + lo + hi - span) // stride + 1 if size + lo + hi >= span else 0
