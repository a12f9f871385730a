/* shape_rules_tensor.c — shape rules of matmul and the data-movement ops: transpose, reshape,
 * broadcast_to, concat, slice, pad, gather, one_hot. Each follows NumPy exactly and writes its
 * attributes back in a normalized form that the rule maps to itself (the text parser re-runs it). */
#include "ir/ir.h"

#include <string.h>

static const ir_type *operand_type(const ir_graph *g, const ir_node *n, int i) {
    return &ir_operand(g, n, i)->type;
}

/* ---- matmul: np.matmul ------------------------------------------------------------------- */

static bool check_matmul_operand(ir_node *n, ir_diag *d, const ir_type *t) {
    if (t->dtype != IR_F32 && t->dtype != IR_I32 && t->dtype != IR_I64) {
        ir_error(d, n->loc, "matmul: expected f32, i32 or i64 operands, got %s", ir_type_text(t).s);
        return false;
    }
    if (t->rank < 1) {
        ir_error(d, n->loc, "matmul: operands must have at least one axis, got the scalar %s; use mul",
                 ir_type_text(t).s);
        return false;
    }
    return true;
}

/* PERM_A / PERM_B (n > 0): the operand is read as transpose(operand, perm), which canonicalize
 * writes when it absorbs a transpose. Checks the perm against the operand's axes, normalizes
 * negative entries, and gives the type the matmul rule sees. n = 0: no transpose. */
static bool matmul_operand(ir_node *n, ir_diag *d, ir_attr_id id, const ir_type *t, ir_type *seen) {
    ir_attr *perm = &n->attr[id];
    *seen = *t;
    if (perm->n == 0) return true;
    const char *name = ir_attr_table[id].name;
    if (perm->n != t->rank) {
        int shown = perm->n < 0 || perm->n > IR_MAX_RANK ? 0 : perm->n;
        ir_error(d, n->loc, "matmul: %s %s has %d entries, but %s has %d axes", name, ir_ints_text(perm->v, shown).s,
                 perm->n, ir_type_text(t).s, t->rank);
        return false;
    }
    bool seen_axis[IR_MAX_RANK] = {false};
    ir_text given = ir_ints_text(perm->v, perm->n);
    for (int i = 0; i < t->rank; i++) {
        int64_t p = perm->v[i];
        if (p < 0 && p >= -(int64_t)t->rank) p += t->rank;
        if (p < 0 || p >= t->rank || seen_axis[p]) {
            ir_error(d, n->loc, "matmul: %s %s is not a permutation of the %d axes of %s", name, given.s, t->rank,
                     ir_type_text(t).s);
            return false;
        }
        seen_axis[p] = true;
        perm->v[i] = p;
        seen->dims[i] = t->dims[p];
    }
    return true;
}

/* A 1-D a is [1,K] and a 1-D b is [K,1], the added 1 removed from the result; the batch dims
 * (all but the last two) broadcast. [..., M, K] @ [..., K, N] -> [..., M, N], after PERM_A and
 * PERM_B have transposed the operands. */
bool shape_matmul(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *ta = operand_type(g, n, 0), *tb = operand_type(g, n, 1);
    if (!check_matmul_operand(n, d, ta) || !check_matmul_operand(n, d, tb) || !ir_shape_same_dtype(n, d, ta, tb))
        return false;
    ir_type pa, pb;
    if (!matmul_operand(n, d, IR_ATTR_PERM_A, ta, &pa) || !matmul_operand(n, d, IR_ATTR_PERM_B, tb, &pb)) return false;
    const ir_type *a = &pa, *b = &pb;
    int64_t m = a->rank >= 2 ? a->dims[a->rank - 2] : 1, k = a->dims[a->rank - 1];
    int64_t kb = b->rank >= 2 ? b->dims[b->rank - 2] : b->dims[0], nn = b->dims[b->rank - 1];
    if (k != kb) {
        ir_error(d, n->loc, "matmul: inner dimensions differ: %s @ %s", ir_type_text(a).s, ir_type_text(b).s);
        return false;
    }
    ir_type ba = *a, bb = *b, out;
    ba.rank = a->rank >= 2 ? a->rank - 2 : 0;
    bb.rank = b->rank >= 2 ? b->rank - 2 : 0;
    if (!ir_broadcast_shapes(&ba, &bb, &out)) {
        ir_error(d, n->loc, "matmul: batch dimensions do not broadcast: %s @ %s", ir_type_text(a).s,
                 ir_type_text(b).s);
        return false;
    }
    if (a->rank >= 2) out.dims[out.rank++] = m;
    if (b->rank >= 2) out.dims[out.rank++] = nn;
    return ir_shape_set(n, d, &out);
}

/* ---- transpose ------------------------------------------------------------------------------ */

/* PERM n = 0 is the marker for reversed axes; otherwise a permutation of 0..rank-1. */
bool shape_transpose(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0);
    ir_attr *perm = &n->attr[IR_ATTR_PERM];
    if (perm->n == 0) {
        perm->n = x->rank;
        for (int i = 0; i < x->rank; i++) perm->v[i] = x->rank - 1 - i;
    }
    if (perm->n != x->rank) {
        int shown = perm->n < 0 || perm->n > IR_MAX_RANK ? 0 : perm->n;
        ir_error(d, n->loc, "transpose: perm %s has %d entries, but %s has %d axes", ir_ints_text(perm->v, shown).s,
                 perm->n, ir_type_text(x).s, x->rank);
        return false;
    }
    bool seen[IR_MAX_RANK] = {false};
    ir_type out = {.dtype = x->dtype, .rank = x->rank};
    ir_text given = ir_ints_text(perm->v, perm->n);
    for (int i = 0; i < x->rank; i++) {
        int64_t p = perm->v[i];
        if (p < 0 && p >= -(int64_t)x->rank) p += x->rank;
        if (p < 0 || p >= x->rank || seen[p]) {
            ir_error(d, n->loc, "transpose: perm %s is not a permutation of the %d axes of %s", given.s, x->rank,
                     ir_type_text(x).s);
            return false;
        }
        seen[p] = true;
        perm->v[i] = p;
        out.dims[i] = x->dims[p];
    }
    return ir_shape_set(n, d, &out);
}

/* ---- reshape, broadcast_to ---------------------------------------------------------------- */

static bool check_shape_attr(ir_node *n, ir_diag *d, const ir_attr *shape, bool allow_infer) {
    if (shape->n < 0 || shape->n > IR_MAX_RANK) {
        ir_error(d, n->loc, "%s: shape must have 0 to %d dimensions, got %d", ir_op_name(n->op), IR_MAX_RANK,
                 shape->n);
        return false;
    }
    int inferred = 0;
    for (int i = 0; i < shape->n; i++) {
        if (allow_infer && shape->v[i] == -1 && inferred++ == 0) continue;
        if (shape->v[i] >= 0) continue;
        if (allow_infer && shape->v[i] == -1)
            ir_error(d, n->loc, "%s: shape %s has more than one -1", ir_op_name(n->op),
                     ir_ints_text(shape->v, shape->n).s);
        else
            ir_error(d, n->loc, "%s: negative dimension %lld in shape %s", ir_op_name(n->op), (long long)shape->v[i],
                     ir_ints_text(shape->v, shape->n).s);
        return false;
    }
    return true;
}

/* At most one -1, inferred so that the element count is kept, and written back. */
bool shape_reshape(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0);
    ir_attr *shape = &n->attr[IR_ATTR_SHAPE];
    if (!check_shape_attr(n, d, shape, true)) return false;
    int64_t elems = ir_type_elems(x), known = 1;
    int infer_at = -1;
    bool ok = true;
    for (int i = 0; i < shape->n && ok; i++) {
        if (shape->v[i] == -1)
            infer_at = i;
        else if (shape->v[i] != 0 && known > IR_MAX_ELEMS / shape->v[i])
            ok = false; /* more elements than any tensor can have */
        else
            known *= shape->v[i];
    }
    /* a -1 among zero-sized dims is ambiguous, as in NumPy */
    if (ok && infer_at >= 0 && known != 0 && elems % known == 0) {
        shape->v[infer_at] = elems / known;
        known *= shape->v[infer_at];
    } else if (infer_at >= 0) {
        ok = false;
    }
    if (!ok || known != elems) {
        ir_error(d, n->loc, "reshape: cannot reshape %s (%lld elements) into %s", ir_type_text(x).s,
                 (long long)elems, ir_ints_text(shape->v, shape->n).s);
        return false;
    }
    ir_type out = {.dtype = x->dtype, .rank = shape->n};
    memcpy(out.dims, shape->v, sizeof(int64_t) * (size_t)shape->n);
    return ir_shape_set(n, d, &out);
}

/* NumPy: x's dims align right with the target's; each equals the target's or is 1. */
bool shape_broadcast_to(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0);
    const ir_attr *shape = &n->attr[IR_ATTR_SHAPE];
    if (!check_shape_attr(n, d, shape, false)) return false;
    bool ok = x->rank <= shape->n;
    for (int i = 0; ok && i < x->rank; i++) {
        int64_t have = x->dims[i], want = shape->v[shape->n - x->rank + i];
        ok = have == want || have == 1;
    }
    if (!ok) {
        ir_error(d, n->loc, "broadcast_to: cannot broadcast %s to %s", ir_type_text(x).s,
                 ir_ints_text(shape->v, shape->n).s);
        return false;
    }
    ir_type out = {.dtype = x->dtype, .rank = shape->n};
    memcpy(out.dims, shape->v, sizeof(int64_t) * (size_t)shape->n);
    return ir_shape_set(n, d, &out);
}

/* ---- concat -------------------------------------------------------------------------------- */

/* Same dtype and rank; every dim equal except AXIS, whose sizes add up. */
bool shape_concat(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *first = operand_type(g, n, 0);
    if (first->rank == 0) {
        ir_error(d, n->loc, "concat: cannot concatenate scalars (%s); reshape them to [1] first",
                 ir_type_text(first).s);
        return false;
    }
    int64_t *axis = &n->attr[IR_ATTR_AXIS].v[0];
    if (!ir_shape_axis(n, d, axis, first)) return false;
    ir_type out = *first;
    out.dims[*axis] = 0;
    for (int i = 0; i < n->n_in; i++) {
        const ir_type *t = operand_type(g, n, i);
        if (!ir_shape_same_dtype(n, d, first, t)) return false;
        bool ok = t->rank == first->rank;
        for (int j = 0; ok && j < t->rank; j++) ok = j == *axis || t->dims[j] == first->dims[j];
        if (!ok) {
            ir_error(d, n->loc, "concat: operand %d has type %s, which does not match %s outside axis %lld", i,
                     ir_type_text(t).s, ir_type_text(first).s, (long long)*axis);
            return false;
        }
        out.dims[*axis] += t->dims[*axis]; /* each below 2^40: no overflow before the check */
        if (out.dims[*axis] > IR_MAX_ELEMS) break;
    }
    return ir_shape_set(n, d, &out);
}

/* ---- slice ------------------------------------------------------------------------------------ */

/* One axis of Python's slice(start, stop, step).indices(dim), with None for a missing start or
 * stop; returns the length len(range(start, stop, step)). */
static int64_t slice_indices(int64_t dim, bool has_start, int64_t *start, bool has_stop, int64_t *stop,
                             int64_t step) {
    int64_t lower = step > 0 ? 0 : -1, upper = step > 0 ? dim : dim - 1;
    int64_t *ends[2] = {start, stop};
    bool given[2] = {has_start, has_stop};
    for (int e = 0; e < 2; e++) {
        int64_t *v = ends[e];
        if (!given[e]) {
            *v = (step > 0) == (e == 0) ? lower : upper;
            continue;
        }
        if (*v < 0) {
            *v += dim;
            if (*v < lower) *v = lower;
        } else if (*v > upper) {
            *v = upper;
        }
    }
    /* |step| as unsigned: step may be INT64_MIN. */
    uint64_t mag = step > 0 ? (uint64_t)step : (uint64_t)0 - (uint64_t)step;
    int64_t span = step > 0 ? *stop - *start : *start - *stop;
    return span > 0 ? (int64_t)(((uint64_t)span - 1) / mag + 1) : 0;
}

/* The written-back form: len 0 is start = stop = 0; otherwise start is Python's and stop the
 * first index past the range, clamped to dim for step > 0. A range that runs down through
 * index 0 has no non-negative stop, and -1 would be read back as dim-1, so it is stored as
 * -dim-1, which Python's rule maps back to -1. Re-normalizing gives the same (start, stop, len). */
static void slice_canonical(int64_t dim, int64_t len, int64_t step, int64_t *start, int64_t *stop) {
    if (len == 0) {
        *start = *stop = 0;
        return;
    }
    /* last is in [0, dim); |step| <= dim unless len is 1, so only last + step can overflow */
    int64_t last = *start + (len - 1) * step;
    if (step > 0)
        *stop = step >= dim - last ? dim : last + step;
    else
        *stop = step < -last ? -dim - 1 : last + step;
}

static bool check_slice_lists(ir_node *n, ir_diag *d, const ir_type *x) {
    static const ir_attr_id ids[3] = {IR_ATTR_START, IR_ATTR_STOP, IR_ATTR_STEP};
    for (int i = 0; i < 3; i++) {
        const ir_attr *a = &n->attr[ids[i]];
        if (a->n < 0 || a->n > x->rank) {
            ir_error(d, n->loc, "slice: %s has %d entries, but %s has %d axes", ir_attr_table[ids[i]].name, a->n,
                     ir_type_text(x).s, x->rank);
            return false;
        }
    }
    const ir_attr *step = &n->attr[IR_ATTR_STEP];
    for (int i = 0; i < step->n; i++) {
        if (step->v[i] == 0) {
            ir_error(d, n->loc, "slice: step on axis %d is zero", i);
            return false;
        }
    }
    return true;
}

/* START/STOP/STEP may be shorter than the rank (missing axes: the whole axis, step 1); STEP
 * n = 0 means all ones. All three are written back with n = rank. */
bool shape_slice(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0);
    if (!check_slice_lists(n, d, x)) return false;
    ir_attr *start = &n->attr[IR_ATTR_START], *stop = &n->attr[IR_ATTR_STOP], *step = &n->attr[IR_ATTR_STEP];
    ir_type out = {.dtype = x->dtype, .rank = x->rank};
    for (int i = 0; i < x->rank; i++) {
        int64_t s = i < step->n ? step->v[i] : 1, lo = start->v[i], hi = stop->v[i];
        int64_t len = slice_indices(x->dims[i], i < start->n, &lo, i < stop->n, &hi, s);
        slice_canonical(x->dims[i], len, s, &lo, &hi);
        start->v[i] = lo;
        stop->v[i] = hi;
        step->v[i] = s;
        out.dims[i] = len;
    }
    start->n = stop->n = step->n = x->rank;
    return ir_shape_set(n, d, &out);
}

/* ---- pad ------------------------------------------------------------------------------------ */

/* LO and HI: one non-negative width per axis. */
bool shape_pad(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0);
    const ir_attr *lo = &n->attr[IR_ATTR_LO], *hi = &n->attr[IR_ATTR_HI];
    if (lo->n != x->rank || hi->n != x->rank) {
        ir_error(d, n->loc, "pad: expected %d [lo, hi] pairs for %s, got %d", x->rank, ir_type_text(x).s,
                 lo->n == hi->n ? lo->n : (lo->n > hi->n ? lo->n : hi->n));
        return false;
    }
    ir_type out = *x;
    for (int i = 0; i < x->rank; i++) {
        if (lo->v[i] < 0 || hi->v[i] < 0) {
            ir_error(d, n->loc, "pad: negative width [%lld, %lld] on axis %d", (long long)lo->v[i],
                     (long long)hi->v[i], i);
            return false;
        }
        /* clamp so the sum cannot overflow; ir_shape_set rejects anything that large */
        int64_t l = lo->v[i] < IR_MAX_ELEMS ? lo->v[i] : IR_MAX_ELEMS;
        int64_t h = hi->v[i] < IR_MAX_ELEMS ? hi->v[i] : IR_MAX_ELEMS;
        out.dims[i] = x->dims[i] + l + h;
    }
    return ir_shape_set(n, d, &out);
}

/* ---- gather, one_hot ----------------------------------------------------------------------- */

static bool check_indices(ir_node *n, ir_diag *d, const ir_type *t) {
    if (t->dtype == IR_I32 || t->dtype == IR_I64) return true;
    ir_error(d, n->loc, "%s: indices must be i32 or i64, got %s", ir_op_name(n->op), ir_type_text(t).s);
    return false;
}

static bool check_rank(ir_node *n, ir_diag *d, int rank) {
    if (rank <= IR_MAX_RANK) return true;
    ir_error(d, n->loc, "%s: the result would have %d axes; at most %d are supported", ir_op_name(n->op), rank,
             IR_MAX_RANK);
    return false;
}

/* np.take: x.shape[:axis] + idx.shape + x.shape[axis+1:] */
bool shape_gather(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0), *idx = operand_type(g, n, 1);
    int64_t *axis = &n->attr[IR_ATTR_AXIS].v[0];
    if (!check_indices(n, d, idx) || !ir_shape_axis(n, d, axis, x) || !check_rank(n, d, x->rank - 1 + idx->rank))
        return false;
    ir_type out = {.dtype = x->dtype, .rank = 0};
    for (int i = 0; i < *axis; i++) out.dims[out.rank++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++) out.dims[out.rank++] = idx->dims[i];
    for (int i = (int)*axis + 1; i < x->rank; i++) out.dims[out.rank++] = x->dims[i];
    return ir_shape_set(n, d, &out);
}

/* gather_grad(dy, idx) [axis, shape = x's dims] -> dy's dtype, x's dims; dy must be what
 * gather(x, idx, axis) gives. */
bool shape_gather_grad(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *dy = operand_type(g, n, 0), *idx = operand_type(g, n, 1);
    const ir_attr *shape = &n->attr[IR_ATTR_SHAPE];
    ir_type x = {.dtype = dy->dtype, .rank = shape->n};
    int64_t elems;
    if (shape->n < 1 || shape->n > IR_MAX_RANK) {
        ir_error(d, n->loc, "gather_grad: shape must have 1 to %d entries, got %d", IR_MAX_RANK, shape->n);
        return false;
    }
    for (int i = 0; i < shape->n; i++) x.dims[i] = shape->v[i];
    bool dims_ok = ir_dims_product(x.dims, x.rank, &elems);
    for (int i = 0; i < x.rank; i++) dims_ok = dims_ok && x.dims[i] >= 0;
    if (!dims_ok) {
        ir_error(d, n->loc, "gather_grad: shape %s is not a tensor shape", ir_ints_text(x.dims, x.rank).s);
        return false;
    }
    int64_t *axis = &n->attr[IR_ATTR_AXIS].v[0];
    if (!check_indices(n, d, idx) || !ir_shape_axis(n, d, axis, &x) || !check_rank(n, d, x.rank - 1 + idx->rank))
        return false;
    ir_type want = {.dtype = x.dtype, .rank = 0};
    for (int i = 0; i < *axis; i++) want.dims[want.rank++] = x.dims[i];
    for (int i = 0; i < idx->rank; i++) want.dims[want.rank++] = idx->dims[i];
    for (int i = (int)*axis + 1; i < x.rank; i++) want.dims[want.rank++] = x.dims[i];
    if (!ir_type_equal(&want, dy)) {
        ir_error(d, n->loc, "gather_grad: the gradient is %s but gathering %s gives %s", ir_type_text(dy).s,
                 ir_type_text(&x).s, ir_type_text(&want).s);
        return false;
    }
    return ir_shape_set(n, d, &x);
}

/* one_hot(idx, depth), one_hot_checked(idx) [depth] -> f32[idx.shape..., depth] */
bool shape_one_hot(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *idx = operand_type(g, n, 0);
    int64_t depth = n->attr[IR_ATTR_DEPTH].v[0];
    if (!check_indices(n, d, idx) || !check_rank(n, d, idx->rank + 1)) return false;
    if (depth < 1) {
        ir_error(d, n->loc, "%s: depth must be at least 1, got %lld", ir_op_name(n->op), (long long)depth);
        return false;
    }
    ir_type out = *idx;
    out.dtype = IR_F32;
    out.dims[out.rank++] = depth;
    return ir_shape_set(n, d, &out);
}
