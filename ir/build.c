/* build.c — appending typed nodes: the small vocabulary that decomposition, the gradient rules
 * and the optimizer lowering write their graphs in. Each call infers the new node's type; an
 * ill-typed node is a bug in the caller, reported once, after which the builder builds nothing. */
#include "ir/ir.h"

#include <string.h>

int ir_build(ir_builder *b, ir_op op, const int *in, int n_in, const ir_attr *attrs) {
    if (b->failed) return -1;
    for (int k = 0; k < n_in; k++) {
        if (in[k] < 0) {
            b->failed = true;
            return -1;
        }
    }
    ir_node *n = ir_graph_add_node(b->g, op, in, n_in, b->loc);
    if (attrs) memcpy(n->attr, attrs, sizeof n->attr);
    if (ir_infer(b->g, n, b->d)) return n->id;
    ir_bug(b->d, b->loc, "a rewrite built an ill-typed %s", ir_op_name(op));
    n->dead = true;
    b->failed = true;
    return -1;
}

int ir_build_unary(ir_builder *b, ir_op op, int x) { return ir_build(b, op, &x, 1, NULL); }

int ir_build_binary(ir_builder *b, ir_op op, int x, int y) {
    int in[2] = {x, y};
    return ir_build(b, op, in, 2, NULL);
}

int ir_build_select(ir_builder *b, int cond, int x, int y) {
    int in[3] = {cond, x, y};
    return ir_build(b, IR_OP_SELECT, in, 3, NULL);
}

int ir_build_add(ir_builder *b, int x, int y) { return ir_build_binary(b, IR_OP_ADD, x, y); }
int ir_build_sub(ir_builder *b, int x, int y) { return ir_build_binary(b, IR_OP_SUB, x, y); }
int ir_build_mul(ir_builder *b, int x, int y) { return ir_build_binary(b, IR_OP_MUL, x, y); }
int ir_build_div(ir_builder *b, int x, int y) { return ir_build_binary(b, IR_OP_DIV, x, y); }

int ir_build_scalar(ir_builder *b, double v, ir_dtype dt) {
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_VALUE].f = v;
    attrs[IR_ATTR_DTYPE].v[0] = dt;
    return ir_build(b, IR_OP_CONSTANT, NULL, 0, attrs);
}

int ir_build_scalar_like(ir_builder *b, int like, double v) {
    if (b->failed || like < 0) {
        b->failed = true;
        return -1;
    }
    return ir_build_scalar(b, v, ir_build_type(b, like)->dtype);
}

/* The constant first, then the product or sum: the node order never depends on the compiler. */
int ir_build_mul_k(ir_builder *b, int x, double v) { return ir_build_mul(b, x, ir_build_scalar_like(b, x, v)); }
int ir_build_add_k(ir_builder *b, int x, double v) { return ir_build_add(b, x, ir_build_scalar_like(b, x, v)); }

int ir_build_full_like(ir_builder *b, const ir_type *t, double v) {
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_VALUE].f = v;
    attrs[IR_ATTR_DTYPE].v[0] = t->dtype;
    attrs[IR_ATTR_SHAPE].n = t->rank;
    memcpy(attrs[IR_ATTR_SHAPE].v, t->dims, sizeof(int64_t) * (size_t)t->rank);
    return ir_build(b, IR_OP_FULL, NULL, 0, attrs);
}

int ir_build_cast(ir_builder *b, int x, ir_dtype dt) {
    if (b->failed || x < 0 || ir_build_type(b, x)->dtype == dt) return b->failed ? -1 : x;
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_DTYPE].v[0] = dt;
    return ir_build(b, IR_OP_CAST, &x, 1, attrs);
}

int ir_build_f32(ir_builder *b, int x) { return ir_build_cast(b, x, IR_F32); }

static bool same_dims(const ir_type *t, const int64_t *dims, int rank) {
    return t->rank == rank && memcmp(t->dims, dims, sizeof(int64_t) * (size_t)rank) == 0;
}

static int shape_op(ir_builder *b, ir_op op, int x, const int64_t *dims, int rank) {
    if (b->failed || x < 0) return -1;
    if (same_dims(ir_build_type(b, x), dims, rank)) return x;
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_SHAPE].n = rank;
    memcpy(attrs[IR_ATTR_SHAPE].v, dims, sizeof(int64_t) * (size_t)rank);
    return ir_build(b, op, &x, 1, attrs);
}

int ir_build_reshape(ir_builder *b, int x, const int64_t *dims, int rank) {
    return shape_op(b, IR_OP_RESHAPE, x, dims, rank);
}

int ir_build_broadcast_to(ir_builder *b, int x, const int64_t *dims, int rank) {
    return shape_op(b, IR_OP_BROADCAST_TO, x, dims, rank);
}

int ir_build_transpose(ir_builder *b, int x, const int *perm) {
    if (b->failed || x < 0) return -1;
    int rank = ir_build_type(b, x)->rank;
    bool identity = true;
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_PERM].n = rank;
    for (int i = 0; i < rank; i++) {
        attrs[IR_ATTR_PERM].v[i] = perm[i];
        identity = identity && perm[i] == i;
    }
    if (identity) return x;
    return ir_build(b, IR_OP_TRANSPOSE, &x, 1, attrs);
}

int ir_build_reduce_axes(ir_builder *b, ir_op op, int x, const int *axes, int n_axes, bool keepdims) {
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_AXES].n = n_axes;
    for (int i = 0; i < n_axes; i++) attrs[IR_ATTR_AXES].v[i] = axes[i];
    attrs[IR_ATTR_KEEPDIMS].v[0] = keepdims;
    return ir_build(b, op, &x, 1, attrs);
}

int ir_build_reduce(ir_builder *b, ir_op op, int x, int axis, bool keepdims) {
    if (axis < 0) {
        ir_attr attrs[IR_ATTR_COUNT] = {{0}};
        attrs[IR_ATTR_AXES].n = -1;
        attrs[IR_ATTR_KEEPDIMS].v[0] = keepdims;
        return ir_build(b, op, &x, 1, attrs);
    }
    return ir_build_reduce_axes(b, op, x, &axis, 1, keepdims);
}

int ir_build_sum_to(ir_builder *b, int x, const ir_type *to) {
    if (b->failed || x < 0) return -1;
    const ir_type *from = ir_build_type(b, x);
    if (same_dims(from, to->dims, to->rank)) return x;
    /* Broadcasting aligns trailing axes: the leading axes `to` lacks, and the axes where it has 1
     * and the result more, were made by copying; their gradient is the sum of the copies. */
    int lead = from->rank - to->rank, axes[IR_MAX_RANK], n = 0;
    IR_ASSERT(lead >= 0);
    for (int i = 0; i < from->rank; i++)
        if (i < lead || (to->dims[i - lead] == 1 && from->dims[i] != 1)) axes[n++] = i;
    int s = n ? ir_build_reduce_axes(b, IR_OP_SUM, x, axes, n, true) : x;
    return ir_build_reshape(b, s, to->dims, to->rank);
}

int ir_build_slice(ir_builder *b, int x, const int64_t *start, const int64_t *stop, const int64_t *step) {
    if (b->failed || x < 0) return -1;
    const ir_type *t = ir_build_type(b, x);
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    bool whole = true;
    attrs[IR_ATTR_START].n = attrs[IR_ATTR_STOP].n = attrs[IR_ATTR_STEP].n = t->rank;
    for (int i = 0; i < t->rank; i++) {
        int64_t s = step ? step[i] : 1;
        attrs[IR_ATTR_START].v[i] = start[i];
        attrs[IR_ATTR_STOP].v[i] = stop[i];
        attrs[IR_ATTR_STEP].v[i] = s;
        whole = whole && s == 1 && start[i] == 0 && stop[i] >= t->dims[i];
    }
    return whole ? x : ir_build(b, IR_OP_SLICE, &x, 1, attrs);
}

int ir_build_pad(ir_builder *b, int x, const int64_t *lo, const int64_t *hi) {
    if (b->failed || x < 0) return -1;
    int rank = ir_build_type(b, x)->rank;
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    bool none = true;
    attrs[IR_ATTR_LO].n = attrs[IR_ATTR_HI].n = rank;
    for (int i = 0; i < rank; i++) {
        attrs[IR_ATTR_LO].v[i] = lo[i];
        attrs[IR_ATTR_HI].v[i] = hi[i];
        none = none && lo[i] == 0 && hi[i] == 0;
    }
    return none ? x : ir_build(b, IR_OP_PAD, &x, 1, attrs);
}
