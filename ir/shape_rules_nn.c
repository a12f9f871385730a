/* shape_rules_nn.c — shape rules of reductions (sum mean max min argmax global_avg_pool),
 * normalizations (softmax, log_softmax, layer_norm, batch_norm) and losses (cross_entropy, mse).
 * Axes are normalized in place: non-negative, and for AXES sorted with the "all" marker expanded. */
#include "ir/ir.h"

static const ir_type *operand_type(const ir_graph *g, const ir_node *n, int i) {
    return &ir_operand(g, n, i)->type;
}

static bool check_float(ir_node *n, ir_diag *d, const char *what, const ir_type *t) {
    if (ir_dtype_is_float(t->dtype)) return true;
    ir_error(d, n->loc, "%s: %s must be a float tensor, got %s; use cast(x, f32) first", ir_op_name(n->op), what,
             ir_type_text(t).s);
    return false;
}

static bool check_index_dtype(ir_node *n, ir_diag *d, const char *what, const ir_type *t) {
    if (t->dtype == IR_I32 || t->dtype == IR_I64) return true;
    ir_error(d, n->loc, "%s: %s must be i32 or i64, got %s", ir_op_name(n->op), what, ir_type_text(t).s);
    return false;
}

/* AXES: n = -1 means every axis; otherwise each in [-rank, rank), normalized, sorted, distinct. */
static bool normalize_axes(ir_node *n, ir_diag *d, const ir_type *x) {
    ir_attr *axes = &n->attr[IR_ATTR_AXES];
    if (axes->n == -1) {
        axes->n = x->rank;
        for (int i = 0; i < x->rank; i++) axes->v[i] = i;
        return true;
    }
    if (axes->n < 0 || axes->n > IR_MAX_RANK) {
        ir_error(d, n->loc, "%s: invalid axes list (%d entries)", ir_op_name(n->op), axes->n);
        return false;
    }
    for (int i = 0; i < axes->n; i++)
        if (!ir_shape_axis(n, d, &axes->v[i], x)) return false;
    for (int i = 1; i < axes->n; i++) /* insertion sort: at most IR_MAX_RANK entries */
        for (int j = i; j > 0 && axes->v[j - 1] > axes->v[j]; j--) {
            int64_t t = axes->v[j];
            axes->v[j] = axes->v[j - 1];
            axes->v[j - 1] = t;
        }
    for (int i = 1; i < axes->n; i++) {
        if (axes->v[i] == axes->v[i - 1]) {
            ir_error(d, n->loc, "%s: axis %lld is listed twice", ir_op_name(n->op), (long long)axes->v[i]);
            return false;
        }
    }
    return true;
}

/* The reduced type: each axis in mask becomes 1 (keepdims) or disappears. */
static ir_type reduced_type(const ir_type *x, const bool *reduce, bool keepdims) {
    ir_type out = {.dtype = x->dtype, .rank = 0};
    for (int i = 0; i < x->rank; i++) {
        if (!reduce[i])
            out.dims[out.rank++] = x->dims[i];
        else if (keepdims)
            out.dims[out.rank++] = 1;
    }
    return out;
}

/* max, min and argmax have no identity: reducing zero elements has no answer. */
static bool check_nonempty(ir_node *n, ir_diag *d, const ir_type *x, const bool *reduce) {
    for (int i = 0; i < x->rank; i++) {
        if (reduce[i] && x->dims[i] == 0) {
            ir_error(d, n->loc, "%s: cannot reduce the empty axis %d of %s (no identity)", ir_op_name(n->op), i,
                     ir_type_text(x).s);
            return false;
        }
    }
    return true;
}

/* sum mean max min: mean needs a float tensor, the others any numeric one. */
bool shape_reduce(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0);
    if (n->op == IR_OP_MEAN) {
        if (!check_float(n, d, "x", x)) return false;
    } else if (x->dtype == IR_BOOL) {
        ir_error(d, n->loc, "%s: cannot reduce a bool tensor %s; use cast(x, i32) first", ir_op_name(n->op),
                 ir_type_text(x).s);
        return false;
    }
    if (!normalize_axes(n, d, x)) return false;
    const ir_attr *axes = &n->attr[IR_ATTR_AXES];
    bool reduce[IR_MAX_RANK] = {false};
    for (int i = 0; i < axes->n; i++) reduce[axes->v[i]] = true;
    if ((n->op == IR_OP_MAX || n->op == IR_OP_MIN) && !check_nonempty(n, d, x, reduce)) return false;
    ir_attr *keep = &n->attr[IR_ATTR_KEEPDIMS];
    keep->v[0] = keep->v[0] != 0;
    ir_type out = reduced_type(x, reduce, keep->v[0]);
    return ir_shape_set(n, d, &out);
}

/* argmax(x, axis): i32 index of the first maximum. */
bool shape_argmax(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0);
    int64_t *axis = &n->attr[IR_ATTR_AXIS].v[0];
    if (!ir_shape_axis(n, d, axis, x)) return false;
    bool reduce[IR_MAX_RANK] = {false};
    reduce[*axis] = true;
    if (!check_nonempty(n, d, x, reduce)) return false;
    ir_attr *keep = &n->attr[IR_ATTR_KEEPDIMS];
    keep->v[0] = keep->v[0] != 0;
    ir_type out = reduced_type(x, reduce, keep->v[0]);
    out.dtype = IR_I32;
    return ir_shape_set(n, d, &out);
}

/* global_avg_pool: [N, C, H, W] -> [N, C], the mean over H and W. */
bool shape_global_avg_pool(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0);
    if (!check_float(n, d, "x", x)) return false;
    if (x->rank != 4) {
        ir_error(d, n->loc, "global_avg_pool: expected a rank-4 NCHW tensor, got %s", ir_type_text(x).s);
        return false;
    }
    ir_type out = {.dtype = x->dtype, .rank = 2, .dims = {x->dims[0], x->dims[1]}};
    return ir_shape_set(n, d, &out);
}

/* softmax, log_softmax: float, along AXIS; the type is unchanged. */
bool shape_softmax(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0);
    return check_float(n, d, "x", x) && ir_shape_axis(n, d, &n->attr[IR_ATTR_AXIS].v[0], x) &&
           ir_shape_set(n, d, x);
}

/* Checks that a per-channel operand (gamma, beta, mean, var) is exactly [c] of x's dtype. */
static bool check_vector(ir_node *n, ir_diag *d, const char *what, const ir_type *v, const ir_type *x,
                         int64_t c, const char *meaning) {
    if (v->dtype == x->dtype && v->rank == 1 && v->dims[0] == c) return true;
    ir_type want = {.dtype = x->dtype, .rank = 1, .dims = {c}};
    ir_error(d, n->loc, "%s: %s must be %s (%s of x: %s), got %s", ir_op_name(n->op), what,
             ir_type_text(&want).s, meaning, ir_type_text(x).s, ir_type_text(v).s);
    return false;
}

/* layer_norm(x, gamma, beta) over the last axis: gamma and beta are [x.dims[last]]. */
bool shape_layer_norm(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0);
    if (!check_float(n, d, "x", x)) return false;
    if (x->rank < 1) {
        ir_error(d, n->loc, "layer_norm: x must have at least one axis, got %s", ir_type_text(x).s);
        return false;
    }
    int64_t c = x->dims[x->rank - 1];
    return check_vector(n, d, "gamma", operand_type(g, n, 1), x, c, "the last axis") &&
           check_vector(n, d, "beta", operand_type(g, n, 2), x, c, "the last axis") && ir_shape_set(n, d, x);
}

/* batch_norm(x, mean, var, gamma, beta), inference form, channels on axis 1. */
bool shape_batch_norm(ir_graph *g, ir_node *n, ir_diag *d) {
    static const char *const names[] = {"x", "mean", "var", "gamma", "beta"};
    const ir_type *x = operand_type(g, n, 0);
    if (!check_float(n, d, "x", x)) return false;
    if (x->rank < 2) {
        ir_error(d, n->loc, "batch_norm: x must have at least two axes (channels on axis 1), got %s",
                 ir_type_text(x).s);
        return false;
    }
    for (int i = 1; i < 5; i++)
        if (!check_vector(n, d, names[i], operand_type(g, n, i), x, x->dims[1], "the channels")) return false;
    return ir_shape_set(n, d, x);
}

/* cross_entropy(logits [..., K], labels [...]) -> f32 [...], one loss per example. */
bool shape_cross_entropy(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0), *y = operand_type(g, n, 1);
    if (!check_float(n, d, "logits", x) || !check_index_dtype(n, d, "labels", y)) return false;
    if (x->rank < 1) {
        ir_error(d, n->loc, "cross_entropy: logits must have a class axis, got %s", ir_type_text(x).s);
        return false;
    }
    bool ok = y->rank == x->rank - 1;
    for (int i = 0; ok && i < y->rank; i++) ok = y->dims[i] == x->dims[i];
    if (!ok) {
        ir_error(d, n->loc, "cross_entropy: labels %s must have the shape of logits %s without its last axis",
                 ir_type_text(y).s, ir_type_text(x).s);
        return false;
    }
    ir_type out = *y;
    out.dtype = IR_F32;
    return ir_shape_set(n, d, &out);
}

/* mse(a, b): the mean of (a - b)^2 over the broadcast shape, a scalar. */
bool shape_mse(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *a = operand_type(g, n, 0), *b = operand_type(g, n, 1);
    ir_type both;
    if (!ir_shape_same_dtype(n, d, a, b) || !check_float(n, d, "a", a) || !ir_shape_broadcast(n, d, a, b, &both))
        return false;
    int64_t elems;
    if (!ir_dims_product(both.dims, both.rank, &elems)) { /* the cost model counts them */
        ir_error(d, n->loc, "mse: %s and %s broadcast to %s, which has too many elements", ir_type_text(a).s,
                 ir_type_text(b).s, ir_type_text(&both).s);
        return false;
    }
    ir_type out = {.dtype = a->dtype, .rank = 0};
    return ir_shape_set(n, d, &out);
}
