/* decompose.c — composite ops (softmax, log_softmax, layer_norm, batch_norm, cross_entropy, mse)
 * rewritten into elementwise ops and reductions that fusion can group, in the numerically stable
 * forms (max subtracted before exp). Every new node carries the composite's location; f16 and
 * bf16 composites compute in f32 between two casts, as the interpreter's kernels do. */
#include "passes/simplify.h"

#include <stdlib.h>
#include <string.h>

/* Appends nodes at one location; after a failure every call returns -1 and builds nothing. */
typedef struct builder {
    ir_graph *g;
    ir_diag *d;
    ir_loc loc;
    bool failed;
} builder;

static int build(builder *b, ir_op op, const int *in, int n_in, const ir_attr *attrs) {
    if (b->failed) return -1;
    ir_node *n = pass_add(b->g, op, in, n_in, attrs, b->loc, b->d);
    if (!n) b->failed = true;
    return n ? n->id : -1;
}

static int unary(builder *b, ir_op op, int x) { return build(b, op, &x, 1, NULL); }

static int binary(builder *b, ir_op op, int x, int y) {
    int in[2] = {x, y};
    return build(b, op, in, 2, NULL);
}

/* axis -1: every axis (the AXES marker). */
static int reduce(builder *b, ir_op op, int x, int axis, bool keepdims) {
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_AXES].n = axis < 0 ? -1 : 1;
    attrs[IR_ATTR_AXES].v[0] = axis < 0 ? 0 : axis;
    attrs[IR_ATTR_KEEPDIMS].v[0] = keepdims;
    return build(b, op, &x, 1, attrs);
}

static int scalar(builder *b, double v, ir_dtype dt) {
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_VALUE].f = v;
    attrs[IR_ATTR_DTYPE].v[0] = dt;
    return build(b, IR_OP_CONSTANT, NULL, 0, attrs);
}

static int cast(builder *b, int x, ir_dtype dt) {
    if (b->failed || b->g->nodes[x]->type.dtype == dt) return x;
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_DTYPE].v[0] = dt;
    return build(b, IR_OP_CAST, &x, 1, attrs);
}

static int reshape(builder *b, int x, const int64_t *dims, int rank) {
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_SHAPE].n = rank;
    memcpy(attrs[IR_ATTR_SHAPE].v, dims, sizeof(int64_t) * (size_t)rank);
    return build(b, IR_OP_RESHAPE, &x, 1, attrs);
}

static const ir_type *type_of(const builder *b, int id) { return &b->g->nodes[id]->type; }

static int select3(builder *b, int cond, int x, int y) {
    int in[3] = {cond, x, y};
    return build(b, IR_OP_SELECT, in, 3, NULL);
}

/* log(s) for s = sum(e), e = exp(d), along `axis` (keepdims), where max(d) = 0. A unique
 * maximum makes s = 1 + t, t the sum of the other terms, and an f32 s drops the part of t
 * below 2^-24: log_softmax would round a -1e-6 to 0. log1p(t) keeps it, by Goldberg's formula
 * log1p(t) = log(u) * t / (u - 1) with u = 1 + t (the rounding of u cancels), or t itself when
 * u rounds to 1. With a tie, s - t >= 2 and log(s) >= log 2 loses nothing; a NaN fails both
 * tests and comes out of log(s). */
static int log_sum(builder *b, int d, int e, int s, int axis) {
    int zero = scalar(b, 0, IR_F32), one = scalar(b, 1, IR_F32);
    int t = reduce(b, IR_OP_SUM, select3(b, binary(b, IR_OP_LT, d, zero), e, zero), axis, true);
    int u = binary(b, IR_OP_ADD, t, one);
    int ratio = binary(b, IR_OP_DIV, t, binary(b, IR_OP_SUB, u, one));
    /* One node per statement: C leaves the order of argument evaluation open, and the node
     * order (so the printed IR) must not depend on the compiler. */
    int u_is_one = binary(b, IR_OP_EQ, u, one);
    int goldberg = binary(b, IR_OP_MUL, unary(b, IR_OP_LOG, u), ratio);
    int log1p = select3(b, u_is_one, t, goldberg);
    int rest = binary(b, IR_OP_SUB, s, t);
    int unique = binary(b, IR_OP_LT, rest, scalar(b, 1.5, IR_F32));
    return select3(b, unique, log1p, unary(b, IR_OP_LOG, s));
}

/* softmax(x) = e / sum(e) with e = exp(x - max(x)); log_softmax(x) = d - log(sum(exp(d))) with
 * d = x - max(x); all along `axis`, keepdims, so the row statistics broadcast back. */
static int softmax(builder *b, const int *in, const ir_node *n) {
    int axis = (int)n->attr[IR_ATTR_AXIS].v[0];
    int d = binary(b, IR_OP_SUB, in[0], reduce(b, IR_OP_MAX, in[0], axis, true));
    int e = unary(b, IR_OP_EXP, d);
    int s = reduce(b, IR_OP_SUM, e, axis, true);
    if (n->op == IR_OP_SOFTMAX) return binary(b, IR_OP_DIV, e, s);
    return binary(b, IR_OP_SUB, d, log_sum(b, d, e, s, axis));
}

/* layer_norm(x, g, b) = (x - mean) * rsqrt(var + eps) * g + b over the last axis, with
 * var = mean((x - mean)^2): the two-pass form, which does not cancel like E[x^2] - E[x]^2. */
static int layer_norm(builder *b, const int *in, const ir_node *n) {
    int last = type_of(b, in[0])->rank - 1;
    int c = binary(b, IR_OP_SUB, in[0], reduce(b, IR_OP_MEAN, in[0], last, true));
    int var = reduce(b, IR_OP_MEAN, binary(b, IR_OP_MUL, c, c), last, true);
    int rstd = unary(b, IR_OP_RSQRT, binary(b, IR_OP_ADD, var, scalar(b, n->attr[IR_ATTR_EPS].f, IR_F32)));
    int y = binary(b, IR_OP_MUL, binary(b, IR_OP_MUL, c, rstd), in[1]);
    return binary(b, IR_OP_ADD, y, in[2]);
}

/* batch_norm(x, mean, var, g, b) = (x - mean') * (rsqrt(var + eps) * g)' + b' where v' is the
 * [C] vector reshaped to [C, 1, ...] so it broadcasts along channel axis 1. The scale is
 * computed on the [C] vectors, once per channel. */
static int batch_norm(builder *b, const int *in, const ir_node *n) {
    const ir_type *x = type_of(b, in[0]);
    int64_t dims[IR_MAX_RANK];
    dims[0] = x->dims[1];
    for (int i = 1; i < x->rank - 1; i++) dims[i] = 1;
    int scale = binary(b, IR_OP_ADD, in[2], scalar(b, n->attr[IR_ATTR_EPS].f, IR_F32));
    scale = binary(b, IR_OP_MUL, unary(b, IR_OP_RSQRT, scale), in[3]);
    int mean = in[1], shift = in[4];
    if (x->rank > 2) {
        mean = reshape(b, mean, dims, x->rank - 1);
        scale = reshape(b, scale, dims, x->rank - 1);
        shift = reshape(b, shift, dims, x->rank - 1);
    }
    return binary(b, IR_OP_ADD, binary(b, IR_OP_MUL, binary(b, IR_OP_SUB, in[0], mean), scale), shift);
}

/* mse(a, b) = mean((a - b)^2) over every axis of the broadcast shape. */
static int mse(builder *b, const int *in, const ir_node *n) {
    (void)n;
    int diff = binary(b, IR_OP_SUB, in[0], in[1]);
    return reduce(b, IR_OP_MEAN, binary(b, IR_OP_MUL, diff, diff), -1, false);
}

typedef int (*expand_fn)(builder *b, const int *in, const ir_node *n);

static expand_fn expansion(ir_op op) {
    switch (op) {
    case IR_OP_SOFTMAX:
    case IR_OP_LOG_SOFTMAX: return softmax;
    case IR_OP_LAYER_NORM: return layer_norm;
    case IR_OP_BATCH_NORM: return batch_norm;
    case IR_OP_MSE: return mse;
    /* cross_entropy stays whole: its kernel reports a label outside [0, K) (LANGUAGE.md §6), and
     * no primitive can (one_hot gives a zero row); it is one row-wise kernel as it is. */
    default: return NULL;
    }
}

/* Composites over empty tensors stay: nothing to gain, and max over an empty axis is an error. */
static bool worth_expanding(const ir_graph *g, const ir_node *n) {
    if (!(ir_op_table[n->op].flags & IR_COMPOSITE) || !expansion(n->op)) return false;
    for (int k = 0; k < n->n_in; k++)
        if (ir_type_elems(&ir_operand(g, n, k)->type) == 0) return false;
    return true;
}

/* The primitives computing n: float operands in f32, the result cast back to n's dtype. */
static int expand(builder *b, const ir_node *n) {
    int in[IR_MAX_RANK];
    for (int k = 0; k < n->n_in; k++) {
        bool is_float = ir_dtype_is_float(type_of(b, n->in[k])->dtype);
        in[k] = is_float ? cast(b, n->in[k], IR_F32) : n->in[k];
    }
    if (b->failed) return -1;
    return cast(b, expansion(n->op)(b, in, n), n->type.dtype);
}

bool pass_decompose(ir_graph *g, pass_context *ctx) {
    int n_before = g->n_nodes, expanded = 0;
    int *repl = malloc(sizeof *repl * ((size_t)n_before + 1));
    if (!repl) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < n_before; i++) repl[i] = i;
    for (int i = 0; i < n_before; i++) {
        ir_node *n = g->nodes[i];
        if (n->dead || !worth_expanding(g, n)) continue;
        builder b = {g, ctx->diag, n->loc, false};
        int r = expand(&b, n);
        if (b.failed) {
            free(repl);
            return false;
        }
        repl[i] = r;
        n->dead = true;
        expanded++;
    }
    /* The new nodes read the composites' operands, which may be composites replaced too. */
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i]->n_in; k++)
            if (g->nodes[i]->in[k] < n_before) g->nodes[i]->in[k] = repl[g->nodes[i]->in[k]];
    for (int i = 0; i < g->n_outputs; i++) g->output_nodes[i] = repl[g->output_nodes[i]];
    free(repl);
    return expanded == 0 || ir_graph_cleanup(g, ctx->diag);
}
