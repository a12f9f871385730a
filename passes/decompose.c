/* decompose.c — composite ops (softmax, log_softmax, layer_norm, batch_norm, cross_entropy, mse)
 * rewritten into elementwise ops and reductions that fusion can group, in the numerically stable
 * forms (max subtracted before exp). Every new node carries the composite's location; f16 and
 * bf16 composites compute in f32 between two casts, as the interpreter's kernels do. */
#include "passes/passes.h"

#include <stdlib.h>

/* log(s) for s = sum(e), e = exp(d), along `axis` (keepdims), where max(d) = 0. A unique
 * maximum makes s = 1 + t, t the sum of the other terms, and an f32 s drops the part of t
 * below 2^-24: log_softmax would round a -1e-6 to 0. log1p(t) keeps it, by Goldberg's formula
 * log1p(t) = log(u) * t / (u - 1) with u = 1 + t (the rounding of u cancels), or t itself when
 * u rounds to 1. With a tie, s - t >= 2 and log(s) >= log 2 loses nothing; a NaN fails both
 * tests and comes out of log(s). */
static int log_sum(ir_builder *b, int d, int e, int s, int axis) {
    int zero = ir_build_scalar(b, 0, IR_F32), one = ir_build_scalar(b, 1, IR_F32);
    int below = ir_build_binary(b, IR_OP_LT, d, zero);
    int t = ir_build_reduce(b, IR_OP_SUM, ir_build_select(b, below, e, zero), axis, true);
    int u = ir_build_binary(b, IR_OP_ADD, t, one);
    int ratio = ir_build_binary(b, IR_OP_DIV, t, ir_build_binary(b, IR_OP_SUB, u, one));
    /* One node per statement: C leaves the order of argument evaluation open, and the node
     * order (so the printed IR) must not depend on the compiler. */
    int u_is_one = ir_build_binary(b, IR_OP_EQ, u, one);
    int goldberg = ir_build_binary(b, IR_OP_MUL, ir_build_unary(b, IR_OP_LOG, u), ratio);
    int log1p = ir_build_select(b, u_is_one, t, goldberg);
    int rest = ir_build_binary(b, IR_OP_SUB, s, t);
    int unique = ir_build_binary(b, IR_OP_LT, rest, ir_build_scalar(b, 1.5, IR_F32));
    return ir_build_select(b, unique, log1p, ir_build_unary(b, IR_OP_LOG, s));
}

/* softmax(x) = e / sum(e) with e = exp(x - max(x)); log_softmax(x) = d - log(sum(exp(d))) with
 * d = x - max(x); all along `axis`, keepdims, so the row statistics broadcast back. */
static int softmax(ir_builder *b, const int *in, const ir_node *n) {
    int axis = (int)n->attr[IR_ATTR_AXIS].v[0];
    int d = ir_build_binary(b, IR_OP_SUB, in[0], ir_build_reduce(b, IR_OP_MAX, in[0], axis, true));
    int e = ir_build_unary(b, IR_OP_EXP, d);
    int s = ir_build_reduce(b, IR_OP_SUM, e, axis, true);
    if (n->op == IR_OP_SOFTMAX) return ir_build_binary(b, IR_OP_DIV, e, s);
    return ir_build_binary(b, IR_OP_SUB, d, log_sum(b, d, e, s, axis));
}

/* layer_norm(x, g, b) = (x - mean) * rsqrt(var + eps) * g + b over the last axis, with
 * var = mean((x - mean)^2): the two-pass form, which does not cancel like E[x^2] - E[x]^2. */
static int layer_norm(ir_builder *b, const int *in, const ir_node *n) {
    int last = ir_build_type(b, in[0])->rank - 1;
    int c = ir_build_binary(b, IR_OP_SUB, in[0], ir_build_reduce(b, IR_OP_MEAN, in[0], last, true));
    int var = ir_build_reduce(b, IR_OP_MEAN, ir_build_binary(b, IR_OP_MUL, c, c), last, true);
    int eps = ir_build_scalar(b, n->attr[IR_ATTR_EPS].f, IR_F32);
    int rstd = ir_build_unary(b, IR_OP_RSQRT, ir_build_binary(b, IR_OP_ADD, var, eps));
    int y = ir_build_binary(b, IR_OP_MUL, ir_build_binary(b, IR_OP_MUL, c, rstd), in[1]);
    return ir_build_binary(b, IR_OP_ADD, y, in[2]);
}

/* batch_norm(x, mean, var, g, b) = (x - mean') * (rsqrt(var + eps) * g)' + b' where v' is the
 * [C] vector reshaped to [C, 1, ...] so it broadcasts along channel axis 1. The scale is
 * computed on the [C] vectors, once per channel. */
static int batch_norm(ir_builder *b, const int *in, const ir_node *n) {
    const ir_type *x = ir_build_type(b, in[0]);
    int64_t dims[IR_MAX_RANK];
    dims[0] = x->dims[1];
    for (int i = 1; i < x->rank - 1; i++) dims[i] = 1;
    int scale = ir_build_binary(b, IR_OP_ADD, in[2], ir_build_scalar(b, n->attr[IR_ATTR_EPS].f, IR_F32));
    scale = ir_build_binary(b, IR_OP_MUL, ir_build_unary(b, IR_OP_RSQRT, scale), in[3]);
    int mean = in[1], shift = in[4];
    if (x->rank > 2) {
        mean = ir_build_reshape(b, mean, dims, x->rank - 1);
        scale = ir_build_reshape(b, scale, dims, x->rank - 1);
        shift = ir_build_reshape(b, shift, dims, x->rank - 1);
    }
    int centered = ir_build_binary(b, IR_OP_SUB, in[0], mean);
    return ir_build_binary(b, IR_OP_ADD, ir_build_binary(b, IR_OP_MUL, centered, scale), shift);
}

/* mse(a, b) = mean((a - b)^2) over every axis of the broadcast shape. */
static int mse(ir_builder *b, const int *in, const ir_node *n) {
    (void)n;
    int diff = ir_build_binary(b, IR_OP_SUB, in[0], in[1]);
    return ir_build_reduce(b, IR_OP_MEAN, ir_build_binary(b, IR_OP_MUL, diff, diff), -1, false);
}

typedef int (*expand_fn)(ir_builder *b, const int *in, const ir_node *n);

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
static int expand(ir_builder *b, const ir_node *n) {
    int in[IR_MAX_RANK];
    for (int k = 0; k < n->n_in; k++) {
        bool is_float = ir_dtype_is_float(ir_build_type(b, n->in[k])->dtype);
        in[k] = is_float ? ir_build_cast(b, n->in[k], IR_F32) : n->in[k];
    }
    if (b->failed) return -1;
    return ir_build_cast(b, expansion(n->op)(b, in, n), n->type.dtype);
}

bool pass_decompose(ir_graph *g, pass_context *ctx) {
    int n_before = g->n_nodes, expanded = 0;
    int *repl = malloc(sizeof *repl * ((size_t)n_before + 1));
    if (!repl) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < n_before; i++) repl[i] = i;
    for (int i = 0; i < n_before; i++) {
        ir_node *n = g->nodes[i];
        if (n->dead || !worth_expanding(g, n)) continue;
        ir_builder b = {g, ctx->diag, n->loc, false};
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
    ir_graph_remap_roots(g, repl);
    free(repl);
    return expanded == 0 || ir_graph_cleanup(g, ctx->diag);
}
