/* simplify.c — helpers shared by the simplification passes: in-place rewrites checked by shape
 * inference, splat constants read as the interpreter stores them, and liveness, so that each
 * pass removes exactly the nodes its own rewrites orphaned. */
#include "passes/simplify.h"

#include <stdlib.h>
#include <string.h>

bool pass_is_constant(const ir_node *n) {
    return n->op == IR_OP_CONSTANT || n->op == IR_OP_FULL || n->op == IR_OP_ARANGE;
}

bool pass_splat_value(const ir_node *n, double *v) {
    if (n->op != IR_OP_CONSTANT && n->op != IR_OP_FULL) return false;
    /* Store and reload through a one-element tensor: the rounding is the interpreter's own. */
    ir_type one = {.dtype = n->type.dtype, .rank = 0};
    ir_tensor t;
    if (!ir_tensor_alloc(&t, &one)) return false;
    ir_tensor_set(&t, 0, n->attr[IR_ATTR_VALUE].f);
    *v = ir_tensor_get(&t, 0);
    ir_tensor_free(&t);
    return true;
}

void pass_become(ir_graph *g, ir_node *n, ir_op op, const int *in, int n_in) {
    int kept[IR_MAX_RANK];
    IR_ASSERT(n_in >= 0 && n_in <= IR_MAX_RANK);
    for (int k = 0; k < n_in; k++) kept[k] = in[k]; /* `in` may be n->in itself */
    if (n_in > n->n_in) n->in = ir_alloc(g->module->arena, sizeof *n->in * (size_t)n_in);
    for (int k = 0; k < n_in; k++) n->in[k] = kept[k];
    n->n_in = n_in;
    n->op = op;
    memset(n->attr, 0, sizeof n->attr);
}

bool pass_reinfer(ir_graph *g, ir_node *n, ir_diag *d) {
    ir_type before = n->type;
    if (!ir_infer(g, n, d)) {
        ir_bug(d, n->loc, "a rewritten %s does not type-check",
                 ir_op_name(n->op));
        return false;
    }
    if (ir_type_equal(&before, &n->type)) return true;
    ir_bug(d, n->loc, "a rewrite changed %s from %s to %s",
             ir_op_name(n->op), ir_type_text(&before).s, ir_type_text(&n->type).s);
    return false;
}

/* Depth-first from the roots (outputs, the minimize loss, input nodes, and the first n_old nodes
 * whose old_dead flag is set) with an explicit stack; a node is pushed once, when first reached.
 * Operands may sit after their users while a pass is rewriting, so no order is assumed. */
static bool *reachable(const ir_graph *g, const bool *old_dead, int n_old) {
    size_t n = (size_t)g->n_nodes + 1;
    bool *live = calloc(n, sizeof *live);
    int *stack = malloc(sizeof *stack * n);
    if (!live || !stack) ir_internal_error(__FILE__, __LINE__, "out of memory");
    int n_roots = g->n_outputs + (g->minimize ? 1 : 0);
    for (int i = 0; i < g->n_nodes + n_roots; i++) {
        int out = i - g->n_nodes;
        int root = out < 0 ? i : out < g->n_outputs ? g->output_nodes[out] : g->minimize->loss;
        if (i < g->n_nodes) {
            const ir_node *r = g->nodes[i];
            bool is_root = r->op == IR_OP_INPUT || (i < n_old && old_dead && old_dead[i]);
            if (!is_root || r->dead) continue;
        }
        if (live[root]) continue;
        live[root] = true;
        int top = 0;
        stack[top++] = root;
        while (top > 0) {
            const ir_node *v = g->nodes[stack[--top]];
            for (int k = 0; k < v->n_in; k++) {
                if (live[v->in[k]]) continue;
                live[v->in[k]] = true;
                stack[top++] = v->in[k];
            }
        }
    }
    free(stack);
    return live;
}

bool *pass_live_nodes(const ir_graph *g) { return reachable(g, NULL, 0); }

/* Old dead code is kept as a root, so nothing it reads is removed under it: that is dce's. */
int pass_drop_orphans(ir_graph *g, const bool *was_live, int n_before) {
    bool *old_dead = malloc(sizeof *old_dead * ((size_t)n_before + 1));
    if (!old_dead) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < n_before; i++) old_dead[i] = !was_live[i];
    bool *live = reachable(g, old_dead, n_before);
    int dropped = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        if (!live[i] && !n->dead) {
            n->dead = true;
            dropped++;
        }
    }
    free(live);
    free(old_dead);
    return dropped;
}
