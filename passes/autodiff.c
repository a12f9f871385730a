/* autodiff.c — reverse-mode differentiation: every grad(y, x) node becomes the graph computing
 * the gradient. One reverse sweep per distinct y, over the nodes on a path from one of its x's
 * to y, applies each op's rule (ops.def, column grad) and adds up the contributions a value gets
 * from its several users. The semantics (zeros, errors, non-smooth points): docs/training.md. */
#include "passes/simplify.h"

#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) ir_internal_error(__FILE__, __LINE__, "out of memory");
    return p;
}

/* One reverse sweep: the gradients of y with respect to the nodes of the forward graph. */
typedef struct sweep {
    ir_graph *g;
    ir_diag *d;
    int n;                    /* the forward graph: node ids below n (rules append after them) */
    int y;
    bool *on_path;            /* depends on one of y's x's (or is one) and y depends on it */
    int *grad;                /* the node holding d y / d node, -1: none (yet) */
    int *dx;                  /* scratch: one slot per operand of the node being differentiated */
} sweep;

static bool is_float(const ir_graph *g, int id) { return ir_dtype_is_float(g->nodes[id]->type.dtype); }

/* Marks the nodes on a path from some x of a grad(y, x) node of this sweep's y to y. Operands
 * have smaller ids than their users, so one pass forward and one backward suffice. */
static void mark_path(sweep *s) {
    ir_graph *g = s->g;
    bool *from_x = xcalloc((size_t)s->n, sizeof *from_x), *to_y = xcalloc((size_t)s->n, sizeof *to_y);
    for (int i = 0; i < s->n; i++) {
        const ir_node *n = g->nodes[i];
        if (n->op == IR_OP_GRAD && n->in[0] == s->y) from_x[n->in[1]] = true;
    }
    for (int i = 0; i <= s->y; i++)
        for (int k = 0; k < g->nodes[i]->n_in && !from_x[i]; k++) from_x[i] = from_x[g->nodes[i]->in[k]];
    to_y[s->y] = true;
    for (int i = s->y; i >= 0; i--)
        for (int k = 0; to_y[i] && k < g->nodes[i]->n_in; k++) to_y[g->nodes[i]->in[k]] = true;
    for (int i = 0; i < s->n; i++) s->on_path[i] = from_x[i] && to_y[i];
    free(from_x);
    free(to_y);
}

/* True when node `to` depends on node `from` (or is it). */
static bool depends_on(const ir_graph *g, int from, int to) {
    if (to < from) return false;
    bool *reach = xcalloc((size_t)(to + 1), sizeof *reach);
    reach[from] = true;
    for (int i = from + 1; i <= to; i++)
        for (int k = 0; k < g->nodes[i]->n_in && !reach[i]; k++) reach[i] = reach[g->nodes[i]->in[k]];
    bool r = reach[to];
    free(reach);
    return r;
}

/* A grad node on the path: differentiating through it would be a second derivative. Reported
 * at each grad(y, x) of this y whose x leads to it. */
static void second_order_error(const sweep *s, const ir_node *inner) {
    for (int i = 0; i < s->n; i++) {
        const ir_node *outer = s->g->nodes[i];
        if (outer->op != IR_OP_GRAD || outer->in[0] != s->y || !depends_on(s->g, outer->in[1], inner->id)) continue;
        ir_error(s->d, outer->loc,
                 "grad: the path from x to y goes through another grad; gradients of gradients are not supported");
        ir_note(s->d, inner->loc, "the inner grad is here");
    }
}

/* Adds the contribution g to the gradient of node `to` (at `to`'s location). */
static bool accumulate(sweep *s, int to, int g) {
    const ir_node *target = s->g->nodes[to];
    if (!ir_type_equal(&s->g->nodes[g]->type, &target->type)) {
        ir_text want = ir_type_text(&target->type), got = ir_type_text(&s->g->nodes[g]->type);
        ir_bug(s->d, target->loc, "a gradient rule gave %s for a value of type %s", got.s, want.s);
        return false;
    }
    if (s->grad[to] < 0) {
        s->grad[to] = g;
        return true;
    }
    ir_builder b = {s->g, s->d, target->loc, false};
    s->grad[to] = ir_build_binary(&b, IR_OP_ADD, s->grad[to], g);
    return !b.failed;
}

/* Applies node i's rule to its accumulated gradient and passes the results to its operands on
 * the path. Nodes without a float value or without an operand on the path pass nothing. */
static bool backprop_node(sweep *s, int i) {
    const ir_node *n = s->g->nodes[i];
    bool feeds = false;
    for (int k = 0; k < n->n_in; k++) feeds |= s->on_path[n->in[k]] && is_float(s->g, n->in[k]);
    if (!feeds || !is_float(s->g, i)) return true;
    if (n->op == IR_OP_GRAD) {
        second_order_error(s, n);
        return false;
    }
    for (int k = 0; k < n->n_in; k++) s->dx[k] = -1;
    ir_builder b = {s->g, s->d, n->loc, false};
    if (!ir_op_table[n->op].grad(&b, n, s->grad[i], s->dx) || b.failed) return false;
    for (int k = 0; k < n->n_in; k++) {
        int operand = n->in[k];
        if (s->dx[k] < 0 || !s->on_path[operand] || !is_float(s->g, operand)) continue;
        if (!accumulate(s, operand, s->dx[k])) return false;
    }
    return true;
}

/* The sweep for y: seeds d y / d y = 1 and runs back from y; then each grad(y, x) gets the
 * gradient of its x, or zeros when y does not depend on x (differentiably). */
static bool run_sweep(sweep *s, int *result) {
    ir_graph *g = s->g;
    const ir_node *first = NULL;
    for (int i = 0; i < s->n && !first; i++)
        if (g->nodes[i]->op == IR_OP_GRAD && g->nodes[i]->in[0] == s->y) first = g->nodes[i];
    mark_path(s);
    for (int i = 0; i < s->n; i++) s->grad[i] = -1;
    ir_builder seed = {g, s->d, first->loc, false};
    s->grad[s->y] = ir_build_scalar(&seed, 1, g->nodes[s->y]->type.dtype);
    if (seed.failed) return false;
    for (int i = s->y; i >= 0; i--)
        if (s->on_path[i] && s->grad[i] >= 0 && !backprop_node(s, i)) return false;
    for (int i = 0; i < s->n; i++) {
        const ir_node *n = g->nodes[i];
        if (n->op != IR_OP_GRAD || n->in[0] != s->y) continue;
        result[i] = s->grad[n->in[1]];
        if (result[i] >= 0) continue;
        ir_builder b = {g, s->d, n->loc, false};
        result[i] = ir_build_full_like(&b, &n->type, 0);
        if (b.failed) return false;
    }
    return true;
}

bool pass_autodiff(ir_graph *g, pass_context *ctx) {
    int n = g->n_nodes, max_in = 1;
    bool any = false;
    for (int i = 0; i < n; i++) {
        any |= g->nodes[i]->op == IR_OP_GRAD;
        if (g->nodes[i]->n_in > max_in) max_in = g->nodes[i]->n_in;
    }
    if (!any) return true;
    bool *was_live = pass_live_nodes(g);
    int *result = xcalloc((size_t)n, sizeof *result);
    bool *swept = xcalloc((size_t)n, sizeof *swept);
    sweep s = {.g = g, .d = ctx->diag, .n = n, .y = -1};
    s.on_path = xcalloc((size_t)n, sizeof *s.on_path);
    s.grad = xcalloc((size_t)n, sizeof *s.grad);
    s.dx = xcalloc((size_t)max_in, sizeof *s.dx);
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        const ir_node *gn = g->nodes[i];
        if (gn->op != IR_OP_GRAD || swept[gn->in[0]]) continue;
        swept[gn->in[0]] = true;
        s.y = gn->in[0];
        ok = run_sweep(&s, result);
    }
    for (int i = 0; ok && i < n; i++) {
        if (g->nodes[i]->op != IR_OP_GRAD) continue;
        ir_graph_replace_uses(g, i, result[i]);
        g->nodes[i]->dead = true;
    }
    /* What the rewrite orphaned goes: the gradient nodes no one uses (a rule gives every
     * operand's gradient, needed or not) and forward values only a grad node read. */
    if (ok) pass_drop_orphans(g, was_live, n);
    free(s.on_path);
    free(s.grad);
    free(s.dx);
    free(swept);
    free(result);
    free(was_live);
    return ok && ir_graph_cleanup(g, ctx->diag);
}
