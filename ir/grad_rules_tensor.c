/* grad_rules_tensor.c — reverse-mode rules of matmul, the reductions and the shape and indexing
 * ops (ops.def, column grad). Data movement is undone by the inverse movement (a slice by a
 * strided placement, a pad by a slice, a broadcast by a sum); gather by its scatter-add,
 * gather_grad. Every rule gives exactly the operand's type. */
#include "ir/ir.h"

#include <string.h>

static const ir_type *type_of(const ir_builder *b, int id) { return ir_build_type(b, id); }

/* ---- reductions ------------------------------------------------------------------------------ */

/* x's dims with each reduced axis of reduction n as 1: the keepdims shape of its result. */
static void kept_dims(const ir_builder *b, const ir_node *n, int64_t *dims, int64_t *count) {
    const ir_type *x = type_of(b, n->in[0]);
    bool reduced[IR_MAX_RANK];
    IR_ASSERT(ir_reduced_axes(n, reduced));
    *count = 1;
    for (int i = 0; i < x->rank; i++) {
        dims[i] = reduced[i] ? 1 : x->dims[i];
        if (reduced[i]) *count *= x->dims[i];
    }
}

/* dy / count, divided in f32 whatever dy's dtype (an f16 count overflows above 65504, a bf16
 * one rounds above 256), as the forward mean divides its exact sum. */
static int div_count(ir_builder *b, int dy, int64_t count) {
    ir_dtype dt = b->failed ? IR_F32 : type_of(b, dy)->dtype;
    int wide = ir_build_cast(b, dy, IR_F32);
    int q = ir_build_binary(b, IR_OP_DIV, wide, ir_build_scalar(b, (double)count, IR_F32));
    return ir_build_cast(b, q, dt);
}

/* sum, mean: dy (reshaped to keepdims, divided by the count for mean) broadcast over x. */
bool grad_sum(ir_builder *b, const ir_node *n, int dy, int *dx) {
    const ir_type *x = type_of(b, n->in[0]);
    int64_t dims[IR_MAX_RANK], count;
    kept_dims(b, n, dims, &count);
    int g = ir_build_reshape(b, dy, dims, x->rank);
    if (n->op == IR_OP_MEAN) g = div_count(b, g, count);
    dx[0] = ir_build_broadcast_to(b, g, x->dims, x->rank);
    return !b->failed;
}

/* max, min: dy goes to the elements equal to the result, split evenly among ties (JAX's and
 * PyTorch's amax rule); a NaN result matches nothing and gives NaN. */
bool grad_max(ir_builder *b, const ir_node *n, int dy, int *dx) {
    const ir_type *x = type_of(b, n->in[0]);
    int64_t dims[IR_MAX_RANK], count;
    kept_dims(b, n, dims, &count);
    const ir_attr *reduced = &n->attr[IR_ATTR_AXES];
    int axes[IR_MAX_RANK];
    for (int i = 0; i < reduced->n; i++) axes[i] = (int)reduced->v[i];
    int result = ir_build_reshape(b, n->id, dims, x->rank);
    int hit = ir_build_cast(b, ir_build_binary(b, IR_OP_EQ, n->in[0], result), x->dtype);
    int ties = ir_build_reduce_axes(b, IR_OP_SUM, hit, axes, reduced->n, true);
    int share = ir_build_binary(b, IR_OP_DIV, ir_build_reshape(b, dy, dims, x->rank), ties);
    dx[0] = ir_build_binary(b, IR_OP_MUL, hit, share);
    return !b->failed;
}

/* ---- matmul --------------------------------------------------------------------------------- */

/* The permutation matmul reads operand k through (PERM_A, PERM_B; identity when absent). */
static void operand_perm(const ir_node *n, int k, int rank, int *perm) {
    const ir_attr *p = &n->attr[k == 0 ? IR_ATTR_PERM_A : IR_ATTR_PERM_B];
    for (int i = 0; i < rank; i++) perm[i] = p->n ? (int)p->v[i] : i;
}

/* matmul(x, y) reading x through perm_x and y through perm_y (NULL: as they are). */
static int matmul_perm(ir_builder *b, int x, const int *perm_x, int y, const int *perm_y) {
    if (b->failed || x < 0 || y < 0) return -1;
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    const int *perms[2] = {perm_x, perm_y};
    const int ids[2] = {x, y};
    for (int k = 0; k < 2; k++) {
        int rank = type_of(b, ids[k])->rank;
        bool identity = true;
        for (int i = 0; perms[k] && i < rank; i++) identity = identity && perms[k][i] == i;
        if (identity) continue; /* n = 0: read as it is */
        ir_attr *a = &attrs[k == 0 ? IR_ATTR_PERM_A : IR_ATTR_PERM_B];
        a->n = rank;
        for (int i = 0; i < rank; i++) a->v[i] = perms[k][i];
    }
    return ir_build(b, IR_OP_MATMUL, ids, 2, attrs);
}

/* One operand as the batched product sees it: the node (reshaped to a matrix if a vector), the
 * permutation that reads it as a matrix (perm_t: its last two axes swapped), and its types. */
typedef struct mm_operand {
    int node;                 /* the operand, or its [1, K] / [K, 1] reshape */
    int perm[IR_MAX_RANK];    /* how the product reads `node` */
    int perm_t[IR_MAX_RANK];  /* how it reads the transpose of that */
    ir_type seen;             /* the matrix the product multiplies */
    bool vector;
} mm_operand;

static mm_operand mm_prepare(ir_builder *b, const ir_node *n, int k) {
    mm_operand o = {.node = n->in[k]};
    const ir_type *t = type_of(b, o.node);
    o.vector = t->rank == 1;
    o.seen = *t;
    if (o.vector) { /* a is [1, K], b is [K, 1] */
        o.seen.rank = 2;
        o.seen.dims[k == 0 ? 0 : 1] = 1;
        o.seen.dims[k == 0 ? 1 : 0] = t->dims[0];
        o.node = ir_build_reshape(b, o.node, o.seen.dims, 2);
        o.perm[0] = 0, o.perm[1] = 1;
    } else {
        operand_perm(n, k, t->rank, o.perm);
        for (int i = 0; i < t->rank; i++) o.seen.dims[i] = t->dims[o.perm[i]];
    }
    int rank = o.seen.rank;
    /* reading the transpose of transpose(x, perm) is reading x through perm ∘ swap */
    for (int i = 0; i < rank; i++) o.perm_t[i] = o.perm[i];
    o.perm_t[rank - 2] = o.perm[rank - 1];
    o.perm_t[rank - 1] = o.perm[rank - 2];
    return o;
}

/* g (the gradient of the matrix the product saw) summed over broadcast batch axes and laid out
 * as the operand is: the vector's unit axis dropped, or the read permutation undone. */
static int mm_finish(ir_builder *b, const mm_operand *o, int g, int operand) {
    int s = ir_build_sum_to(b, g, &o->seen);
    const ir_type *t = type_of(b, operand);
    if (o->vector) return ir_build_reshape(b, s, t->dims, 1);
    int inverse[IR_MAX_RANK];
    for (int i = 0; i < t->rank; i++) inverse[o->perm[i]] = i;
    return ir_build_transpose(b, s, inverse);
}

/* Y = A @ B (np.matmul, batch axes broadcast, a vector operand read as a one-row or
 * one-column matrix): dA = dY @ B^T and dB = A^T @ dY on the matrix forms, with dY given the
 * unit axes a vector operand removed. */
bool grad_matmul(ir_builder *b, const ir_node *n, int dy, int *dx) {
    mm_operand a = mm_prepare(b, n, 0), c = mm_prepare(b, n, 1);
    if (b->failed) return false;
    const ir_type *t = type_of(b, dy);
    int batch = t->rank - !a.vector - !c.vector;
    int64_t dims[IR_MAX_RANK];
    memcpy(dims, t->dims, sizeof(int64_t) * (size_t)batch);
    dims[batch] = a.seen.dims[a.seen.rank - 2];
    dims[batch + 1] = c.seen.dims[c.seen.rank - 1];
    int dy2 = ir_build_reshape(b, dy, dims, batch + 2);
    dx[0] = mm_finish(b, &a, matmul_perm(b, dy2, NULL, c.node, c.perm_t), n->in[0]);
    dx[1] = mm_finish(b, &c, matmul_perm(b, a.node, a.perm_t, dy2, NULL), n->in[1]);
    return !b->failed;
}

/* ---- movement ----------------------------------------------------------------------------- */

/* transpose(x, perm): dy transposed by the inverse permutation. */
bool grad_transpose(ir_builder *b, const ir_node *n, int dy, int *dx) {
    const ir_attr *perm = &n->attr[IR_ATTR_PERM];
    int inverse[IR_MAX_RANK];
    for (int i = 0; i < perm->n; i++) inverse[perm->v[i]] = i;
    dx[0] = ir_build_transpose(b, dy, inverse);
    return !b->failed;
}

bool grad_reshape(ir_builder *b, const ir_node *n, int dy, int *dx) {
    const ir_type *x = type_of(b, n->in[0]);
    dx[0] = ir_build_reshape(b, dy, x->dims, x->rank);
    return !b->failed;
}

bool grad_broadcast_to(ir_builder *b, const ir_node *n, int dy, int *dx) {
    dx[0] = ir_build_sum_to(b, dy, type_of(b, n->in[0]));
    return !b->failed;
}

/* concat: each operand gets its own range of dy along the axis. */
bool grad_concat(ir_builder *b, const ir_node *n, int dy, int *dx) {
    const ir_type *t = type_of(b, dy);
    int axis = (int)n->attr[IR_ATTR_AXIS].v[0];
    int64_t start[IR_MAX_RANK] = {0}, stop[IR_MAX_RANK];
    memcpy(stop, t->dims, sizeof(int64_t) * (size_t)t->rank);
    stop[axis] = 0;
    for (int k = 0; k < n->n_in; k++) {
        start[axis] = stop[axis];
        stop[axis] += type_of(b, n->in[k])->dims[axis];
        dx[k] = ir_build_slice(b, dy, start, stop, NULL);
    }
    return !b->failed;
}

/* pad: the part of dy over x (the fill value is an attribute: nothing flows to it). */
bool grad_pad(ir_builder *b, const ir_node *n, int dy, int *dx) {
    const ir_type *x = type_of(b, n->in[0]);
    int64_t stop[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) stop[i] = n->attr[IR_ATTR_LO].v[i] + x->dims[i];
    dx[0] = ir_build_slice(b, dy, n->attr[IR_ATTR_LO].v, stop, NULL);
    return !b->failed;
}

/* Spreads g's `axis` (length L) to stride m: [P, L, 1, Q] padded to [P, L, m, Q], flattened
 * and cut after the last element, so g[l] lands at l*m of a span (L-1)*m+1 of zeros. Working on
 * the 4-D view keeps the rank bounded whatever x's rank. */
static int spread_axis(ir_builder *b, int g, int axis, int64_t m) {
    if (b->failed) return -1;
    const ir_type *t = type_of(b, g);
    int64_t p = 1, q = 1, len = t->dims[axis], dims[IR_MAX_RANK];
    for (int i = 0; i < axis; i++) p *= t->dims[i];
    for (int i = axis + 1; i < t->rank; i++) q *= t->dims[i];
    int64_t four[4] = {p, len, 1, q}, lo[4] = {0}, hi[4] = {0, 0, m - 1, 0};
    int64_t flat[3] = {p, len * m, q}, start[3] = {0}, stop[3] = {p, (len - 1) * m + 1, q};
    int s = ir_build_reshape(b, g, four, 4);
    s = ir_build_pad(b, s, lo, hi);
    s = ir_build_reshape(b, s, flat, 3);
    s = ir_build_slice(b, s, start, stop, NULL);
    memcpy(dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
    dims[axis] = (len - 1) * m + 1;
    return ir_build_reshape(b, s, dims, t->rank);
}

/* slice(x, start, stop, step): dy put back where the slice took it, zeros elsewhere. Axes with
 * a negative step are reversed first, so every axis is an increasing range first, first+m, ...
 * (m = |step|); a stride m > 1 is made by spreading, then one pad places every axis. */
bool grad_slice(ir_builder *b, const ir_node *n, int dy, int *dx) {
    const ir_type *x = type_of(b, n->in[0]), *t = type_of(b, dy);
    if (ir_type_elems(t) == 0) {
        dx[0] = ir_build_full_like(b, x, 0);
        return !b->failed;
    }
    const int64_t *start = n->attr[IR_ATTR_START].v, *step = n->attr[IR_ATTR_STEP].v;
    int64_t rev_start[IR_MAX_RANK], rev_stop[IR_MAX_RANK], rev_step[IR_MAX_RANK], first[IR_MAX_RANK];
    for (int i = 0; i < t->rank; i++) {
        int64_t len = t->dims[i];
        bool down = step[i] < 0 && len > 1;
        first[i] = step[i] < 0 ? start[i] + (len - 1) * step[i] : start[i];
        rev_start[i] = down ? len - 1 : 0;
        rev_stop[i] = down ? -len - 1 : len;
        rev_step[i] = down ? -1 : 1;
    }
    int g = ir_build_slice(b, dy, rev_start, rev_stop, rev_step);
    for (int i = 0; i < t->rank; i++) {
        int64_t m = step[i] < 0 ? -step[i] : step[i];
        if (m > 1 && t->dims[i] > 1) g = spread_axis(b, g, i, m);
    }
    if (b->failed) return false;
    int64_t lo[IR_MAX_RANK], hi[IR_MAX_RANK];
    const ir_type *spread = type_of(b, g);
    for (int i = 0; i < t->rank; i++) {
        lo[i] = first[i];
        hi[i] = x->dims[i] - first[i] - spread->dims[i];
    }
    dx[0] = ir_build_pad(b, g, lo, hi);
    return !b->failed;
}

/* gather(x, idx, axis): the scatter-add gather_grad (repeated indices add); none to idx. */
bool grad_gather(ir_builder *b, const ir_node *n, int dy, int *dx) {
    const ir_type *x = type_of(b, n->in[0]);
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_AXIS] = n->attr[IR_ATTR_AXIS];
    attrs[IR_ATTR_SHAPE].n = x->rank;
    memcpy(attrs[IR_ATTR_SHAPE].v, x->dims, sizeof(int64_t) * (size_t)x->rank);
    int in[2] = {dy, n->in[1]};
    dx[0] = ir_build(b, IR_OP_GATHER_GRAD, in, 2, attrs);
    dx[1] = -1;
    return !b->failed;
}
