/* kernels_reduce.c — interpreter kernels for reductions (sum, mean, max, min over a set of
 * axes), argmax, softmax and log_softmax. Floats accumulate in double, integers in 64-bit
 * two's complement; max/min propagate NaN and argmax returns the first maximum, as NumPy. */
#include "ir/kernels.h"

#include <math.h>
#include <stdlib.h>

/* For each axis of x, the stride of that axis in the output: 0 when it is reduced. With
 * keepdims the output keeps the axis (size 1); without, the following axes move left. */
static void reduce_strides(const ir_node *n, const ir_type *x, const ir_type *out, int64_t *strides) {
    const ir_attr *axes = &n->attr[IR_ATTR_AXES];
    bool keep = n->attr[IR_ATTR_KEEPDIMS].v[0] != 0;
    int64_t out_strides[IR_MAX_RANK];
    ir_kern_strides(out, out_strides);
    int o = 0, a = 0;
    for (int i = 0; i < x->rank; i++) {
        bool reduced = a < axes->n && axes->v[a] == i;
        if (reduced) a++;
        strides[i] = reduced ? 0 : out_strides[o];
        if (!reduced || keep) o++;
    }
    IR_ASSERT(a == axes->n && o == out->rank);
}

typedef struct reduce_acc {
    double *f;     /* float accumulators, one per output element */
    int64_t *i;    /* integer accumulators */
} reduce_acc;

/* Folds x[xi] into accumulator oi; integer sums wrap modulo 2^64 before the final store. */
static void reduce_step(ir_op op, reduce_acc *acc, bool as_float, const ir_tensor *x, int64_t xi, int64_t oi) {
    if (as_float) {
        double v = ir_tensor_get(x, xi), *a = &acc->f[oi];
        if (op == IR_OP_SUM || op == IR_OP_MEAN) *a += v;
        else if (op == IR_OP_MAX && (isnan(v) || v > *a)) *a = v;
        else if (op == IR_OP_MIN && (isnan(v) || v < *a)) *a = v;
    } else {
        int64_t v = ir_tensor_get_i64(x, xi), *a = &acc->i[oi];
        if (op == IR_OP_SUM || op == IR_OP_MEAN) *a = ir_kern_wrap64((uint64_t)*a + (uint64_t)v);
        else if (op == IR_OP_MAX && v > *a) *a = v;
        else if (op == IR_OP_MIN && v < *a) *a = v;
    }
}

/* The identity each accumulator starts from; a NaN never compares, so it survives max/min. */
static void reduce_init(ir_op op, reduce_acc *acc, bool as_float, int64_t count) {
    for (int64_t k = 0; k < count; k++) {
        if (as_float) acc->f[k] = op == IR_OP_MAX ? -INFINITY : op == IR_OP_MIN ? INFINITY : 0.0;
        else acc->i[k] = op == IR_OP_MAX ? INT64_MIN : op == IR_OP_MIN ? INT64_MAX : 0;
    }
}

static void reduce_store(ir_op op, const reduce_acc *acc, bool as_float, int64_t group, ir_tensor *out) {
    int64_t count = ir_type_elems(&out->type);
    for (int64_t k = 0; k < count; k++) {
        if (op == IR_OP_MEAN) /* sum / count; an empty mean is NaN, as np.mean */
            ir_tensor_set(out, k, (as_float ? acc->f[k] : (double)acc->i[k]) / (double)group);
        else if (as_float)
            ir_tensor_set(out, k, acc->f[k]);
        else
            ir_tensor_set_i64(out, k, acc->i[k]);
    }
}

bool interp_reduce(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    const ir_tensor *x = &in[0];
    int64_t x_count = ir_type_elems(&x->type), out_count = ir_type_elems(&out->type);
    if (out_count == 0) return true;
    int64_t group = x_count / out_count;
    if (x_count == 0 && (n->op == IR_OP_MAX || n->op == IR_OP_MIN)) {
        ir_error(d, n->loc, "%s: reduction over an empty axis has no identity", ir_op_table[n->op].name);
        return false;
    }
    bool as_float = ir_dtype_is_float(x->type.dtype);
    reduce_acc acc = {0};
    if (as_float ? !(acc.f = ir_kern_alloc(n, (size_t)out_count, sizeof *acc.f, d))
                 : !(acc.i = ir_kern_alloc(n, (size_t)out_count, sizeof *acc.i, d)))
        return false;
    reduce_init(n->op, &acc, as_float, out_count);
    int64_t dense[IR_MAX_RANK], to_out[IR_MAX_RANK];
    ir_kern_strides(&x->type, dense);
    reduce_strides(n, &x->type, &out->type, to_out);
    ir_iter it;
    ir_iter_init(&it, &x->type);
    ir_iter_add(&it, 0, to_out);
    for (int64_t i = 0; i < x_count; i++, ir_iter_next(&it)) reduce_step(n->op, &acc, as_float, x, i, it.off[0]);
    reduce_store(n->op, &acc, as_float, group, out);
    free(acc.f);
    free(acc.i);
    return true;
}

/* ---- argmax, softmax: one axis, seen as [outer, len, inner] ---------------------------------- */

typedef struct axis_view {
    int64_t outer, len, inner;
} axis_view;

static axis_view view_axis(const ir_type *t, int axis) {
    IR_ASSERT(axis >= 0 && axis < t->rank);
    return (axis_view){ir_kern_span(t, 0, axis), t->dims[axis], ir_kern_span(t, axis + 1, t->rank)};
}

/* Index along the axis of the first maximum; a NaN counts as the maximum (np.argmax). */
static int64_t argmax_line(const ir_tensor *x, int64_t base, int64_t len, int64_t step) {
    int64_t best = 0;
    if (ir_dtype_is_float(x->type.dtype)) {
        double bv = ir_tensor_get(x, base);
        for (int64_t k = 0; k < len && !isnan(bv); k++) {
            double v = ir_tensor_get(x, base + k * step);
            if (isnan(v) || v > bv) best = k, bv = v;
        }
    } else {
        int64_t bv = ir_tensor_get_i64(x, base);
        for (int64_t k = 1; k < len; k++) {
            int64_t v = ir_tensor_get_i64(x, base + k * step);
            if (v > bv) best = k, bv = v;
        }
    }
    return best;
}

bool interp_argmax(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    axis_view v = view_axis(&in[0].type, (int)n->attr[IR_ATTR_AXIS].v[0]);
    if (v.len == 0 && v.outer * v.inner > 0) {
        ir_error(d, n->loc, "argmax: attempt to get argmax of an empty axis");
        return false;
    }
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t i = 0; i < v.inner; i++)
            ir_tensor_set_i64(out, o * v.inner + i, argmax_line(&in[0], o * v.len * v.inner + i, v.len, v.inner));
    return true;
}

/* softmax(x)_k = e^(x_k - m) / sum_j e^(x_j - m), m = max_j x_j (no overflow);
 * log_softmax(x)_k = x_k - m - log(sum_j e^(x_j - m)). */
static void softmax_line(bool log_form, const ir_tensor *x, ir_tensor *out, int64_t base, int64_t len,
                         int64_t step) {
    double m = -INFINITY;
    for (int64_t k = 0; k < len; k++) {
        double v = ir_tensor_get(x, base + k * step);
        if (isnan(v) || v > m) m = v;
        if (isnan(m)) break;
    }
    double sum = 0;
    for (int64_t k = 0; k < len; k++) sum += exp(ir_tensor_get(x, base + k * step) - m);
    double log_sum = log(sum);
    for (int64_t k = 0; k < len; k++) {
        double z = ir_tensor_get(x, base + k * step) - m;
        ir_tensor_set(out, base + k * step, log_form ? z - log_sum : exp(z) / sum);
    }
}

bool interp_softmax(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)d;
    axis_view v = view_axis(&in[0].type, (int)n->attr[IR_ATTR_AXIS].v[0]);
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t i = 0; i < v.inner; i++)
            softmax_line(n->op == IR_OP_LOG_SOFTMAX, &in[0], out, o * v.len * v.inner + i, v.len, v.inner);
    return true;
}
