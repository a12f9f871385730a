/* kernels_common.c — iteration and conversion helpers shared by the interpreter's kernels:
 * a row-major walk over an index space that keeps one strided offset per operand (which
 * expresses broadcasting, transposition and slicing alike), strides and dense copies. */
#include "ir/kernels.h"

#include <stdlib.h>
#include <string.h>

void ir_iter_init(ir_iter *it, const ir_type *space) {
    memset(it, 0, sizeof *it);
    it->rank = space->rank;
    for (int i = 0; i < space->rank; i++) it->dims[i] = space->dims[i];
}

int ir_iter_add(ir_iter *it, int64_t base, const int64_t *strides) {
    IR_ASSERT(it->n_ops < IR_ITER_MAX_OPS);
    int k = it->n_ops++;
    it->off[k] = base;
    for (int i = 0; i < it->rank; i++) it->stride[k][i] = strides[i];
    return k;
}

/* Axis i of t lines up with axis i + (space rank - t rank); a dim of 1 is read with stride 0. */
int ir_iter_add_bcast(ir_iter *it, const ir_type *t) {
    int shift = it->rank - t->rank;
    IR_ASSERT(shift >= 0);
    int64_t dense[IR_MAX_RANK], strides[IR_MAX_RANK] = {0};
    ir_kern_strides(t, dense);
    for (int i = 0; i < t->rank; i++) {
        IR_ASSERT(t->dims[i] == 1 || t->dims[i] == it->dims[i + shift]);
        strides[i + shift] = t->dims[i] == 1 ? 0 : dense[i];
    }
    return ir_iter_add(it, 0, strides);
}

/* Odometer step: bump the last axis; on wrap, rewind it and carry into the one before. */
void ir_iter_next(ir_iter *it) {
    for (int i = it->rank - 1; i >= 0; i--) {
        for (int k = 0; k < it->n_ops; k++) it->off[k] += it->stride[k][i];
        if (++it->idx[i] < it->dims[i]) return;
        for (int k = 0; k < it->n_ops; k++) it->off[k] -= it->stride[k][i] * it->dims[i];
        it->idx[i] = 0;
    }
}

void ir_kern_strides(const ir_type *t, int64_t *strides) {
    int64_t s = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= t->dims[i];
    }
}

int64_t ir_kern_span(const ir_type *t, int from, int to) {
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= t->dims[i];
    return p;
}

void *ir_kern_alloc(const ir_node *n, size_t count, size_t size, ir_diag *d) {
    void *p = calloc(count ? count : 1, size);
    if (!p) ir_error(d, n->loc, "%s: out of memory", ir_op_table[n->op].name);
    return p;
}

double *ir_kern_to_f64(const ir_node *n, const ir_tensor *t, ir_diag *d) {
    int64_t count = ir_type_elems(&t->type);
    double *v = ir_kern_alloc(n, (size_t)count, sizeof *v, d);
    if (!v) return NULL;
    if (t->type.dtype == IR_F32) {
        const float *src = t->data;
        for (int64_t i = 0; i < count; i++) v[i] = src[i];
    } else {
        for (int64_t i = 0; i < count; i++) v[i] = ir_tensor_get(t, i);
    }
    return v;
}
