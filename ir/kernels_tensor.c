/* kernels_tensor.c — interpreter kernels that move data without arithmetic: transpose, reshape,
 * broadcast_to, concat, slice, pad, and the indexing ops gather (np.take), one_hot and one_hot_checked.
 * Elements are copied as bytes, so every dtype moves exactly. */
#include "ir/kernels.h"

#include <string.h>

static void copy_bytes(ir_tensor *out, int64_t oi, const ir_tensor *in, int64_t ii, int64_t count) {
    size_t size = ir_dtype_size(out->type.dtype);
    memcpy((char *)out->data + (size_t)oi * size, (const char *)in->data + (size_t)ii * size, (size_t)count * size);
}

/* Copies every output element from in at the iterator's operand-0 offset. */
static void gather_strided(ir_tensor *out, const ir_tensor *in, int64_t base, const int64_t *strides) {
    ir_iter it;
    ir_iter_init(&it, &out->type);
    ir_iter_add(&it, base, strides);
    int64_t count = ir_type_elems(&out->type);
    for (int64_t i = 0; i < count; i++, ir_iter_next(&it)) copy_bytes(out, i, in, it.off[0], 1);
}

/* out[j] = x[i] with i[perm[k]] = j[k]: output axis k walks input axis perm[k]. */
bool interp_transpose(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)d;
    const ir_attr *perm = &n->attr[IR_ATTR_PERM];
    IR_ASSERT(perm->n == in[0].type.rank);
    int64_t dense[IR_MAX_RANK], strides[IR_MAX_RANK];
    ir_kern_strides(&in[0].type, dense);
    for (int k = 0; k < perm->n; k++) strides[k] = dense[perm->v[k]];
    gather_strided(out, &in[0], 0, strides);
    return true;
}

bool interp_reshape(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)n, (void)d;
    IR_ASSERT(ir_type_elems(&in[0].type) == ir_type_elems(&out->type));
    copy_bytes(out, 0, &in[0], 0, ir_type_elems(&out->type));
    return true;
}

bool interp_broadcast_to(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)n, (void)d;
    ir_iter it;
    ir_iter_init(&it, &out->type);
    ir_iter_add_bcast(&it, &in[0].type);
    int64_t count = ir_type_elems(&out->type);
    for (int64_t i = 0; i < count; i++, ir_iter_next(&it)) copy_bytes(out, i, &in[0], it.off[0], 1);
    return true;
}

/* Seen as [outer, axis * inner], the output row o is the inputs' rows o laid end to end. */
bool interp_concat(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)d;
    int axis = (int)n->attr[IR_ATTR_AXIS].v[0];
    IR_ASSERT(axis >= 0 && axis < out->type.rank);
    int64_t outer = ir_kern_span(&out->type, 0, axis), row = ir_kern_span(&out->type, axis, out->type.rank);
    int64_t at = 0;
    for (int k = 0; k < n->n_in; k++) {
        int64_t part = ir_kern_span(&in[k].type, axis, in[k].type.rank);
        for (int64_t o = 0; o < outer; o++) copy_bytes(out, o * row + at, &in[k], o * part, part);
        at += part;
    }
    IR_ASSERT(at == row);
    return true;
}

/* out[j] = x[start + j * step] per axis; start/step are normalized like slice.indices. */
bool interp_slice(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)d;
    const ir_attr *start = &n->attr[IR_ATTR_START], *step = &n->attr[IR_ATTR_STEP];
    int rank = in[0].type.rank;
    IR_ASSERT(start->n == rank && step->n == rank);
    int64_t dense[IR_MAX_RANK], strides[IR_MAX_RANK], base = 0;
    ir_kern_strides(&in[0].type, dense);
    for (int k = 0; k < rank; k++) {
        strides[k] = step->v[k] * dense[k];
        base += start->v[k] * dense[k];
    }
    /* Only an empty result may have a start outside the axis; it reads nothing. */
    if (ir_type_elems(&out->type) > 0) gather_strided(out, &in[0], base, strides);
    return true;
}

/* out[j] = x[j - lo] where that is inside x, else VALUE (negative widths crop). */
bool interp_pad(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)d;
    const ir_attr *lo = &n->attr[IR_ATTR_LO];
    const ir_type *xt = &in[0].type;
    IR_ASSERT(lo->n == xt->rank);
    int64_t dense[IR_MAX_RANK];
    ir_kern_strides(xt, dense);
    ir_iter it;
    ir_iter_init(&it, &out->type);
    int64_t count = ir_type_elems(&out->type);
    double value = n->attr[IR_ATTR_VALUE].f;
    for (int64_t i = 0; i < count; i++, ir_iter_next(&it)) {
        int64_t src = 0;
        bool inside = true;
        for (int k = 0; k < xt->rank && inside; k++) {
            int64_t j = it.idx[k] - lo->v[k];
            inside = j >= 0 && j < xt->dims[k];
            src += j * dense[k];
        }
        if (inside) copy_bytes(out, i, &in[0], src, 1);
        else ir_tensor_set(out, i, value);
    }
    return true;
}

bool ir_kern_check_indices(const ir_node *n, const ir_tensor *idx, int axis, int64_t dim, ir_diag *d) {
    int64_t n_idx = ir_type_elems(&idx->type);
    for (int64_t k = 0; k < n_idx; k++) {
        int64_t v = ir_tensor_get_i64(idx, k);
        if (v < -dim || v >= dim) {
            ir_error(d, n->loc, "%s: index %lld is out of range for axis %d of size %lld", ir_op_name(n->op),
                     (long long)v, axis, (long long)dim);
            return false;
        }
    }
    return true;
}

/* np.take(x, idx, axis): out = x[:axis] + idx.shape + x[axis+1:]; an index in [-dim, 0)
 * counts from the end, anything outside [-dim, dim) is an error. */
bool interp_gather(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    const ir_tensor *x = &in[0], *idx = &in[1];
    int axis = (int)n->attr[IR_ATTR_AXIS].v[0];
    IR_ASSERT(axis >= 0 && axis < x->type.rank);
    int64_t dim = x->type.dims[axis], n_idx = ir_type_elems(&idx->type);
    int64_t outer = ir_kern_span(&x->type, 0, axis), inner = ir_kern_span(&x->type, axis + 1, x->type.rank);
    if (!ir_kern_check_indices(n, idx, axis, dim, d)) return false;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t k = 0; k < n_idx; k++) {
            int64_t v = ir_tensor_get_i64(idx, k);
            if (v < 0) v += dim;
            copy_bytes(out, (o * n_idx + k) * inner, x, (o * dim + v) * inner, inner);
        }
    }
    return true;
}

/* out[..., c] = (idx[...] == c); an index outside [0, depth) gives a row of zeros, as
 * tf.one_hot and jax.nn.one_hot do. */
bool interp_one_hot(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)d;
    int64_t depth = n->attr[IR_ATTR_DEPTH].v[0], count = ir_type_elems(&in[0].type);
    IR_ASSERT(ir_type_elems(&out->type) == count * depth);
    for (int64_t k = 0; k < count; k++) {
        int64_t v = ir_tensor_get_i64(&in[0], k);
        if (v >= 0 && v < depth) ir_tensor_set(out, k * depth + v, 1.0);
    }
    return true;
}

bool ir_kern_check_labels(const ir_node *n, const ir_tensor *labels, int64_t classes, ir_diag *d) {
    int64_t count = ir_type_elems(&labels->type);
    for (int64_t k = 0; k < count; k++) {
        int64_t v = ir_tensor_get_i64(labels, k);
        if (v < 0 || v >= classes) {
            ir_error(d, n->loc, "cross_entropy: label %lld of example %lld is out of range for %lld classes",
                     (long long)v, (long long)k, (long long)classes);
            return false;
        }
    }
    return true;
}

/* one_hot of cross_entropy's labels in its gradient: a label outside [0, depth) is the forward's
 * error, not a row of zeros. */
bool interp_one_hot_checked(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    return ir_kern_check_labels(n, &in[0], n->attr[IR_ATTR_DEPTH].v[0], d) && interp_one_hot(n, in, out, d);
}
