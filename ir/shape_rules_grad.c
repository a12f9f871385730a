/* shape_rules_grad.c — shape rules of the gradient ops (grad and the *_grad scatters).
 * STUB: being written. */
#include "ir/ir.h"

bool shape_grad(ir_graph *g, ir_node *n, ir_diag *d) {
    (void)g;
    ir_bug(d, n->loc, "%s: shape rule not written yet", ir_op_name(n->op));
    return false;
}

bool shape_max_pool2d_grad(ir_graph *g, ir_node *n, ir_diag *d) {
    (void)g;
    ir_bug(d, n->loc, "%s: shape rule not written yet", ir_op_name(n->op));
    return false;
}

bool shape_avg_pool2d_grad(ir_graph *g, ir_node *n, ir_diag *d) {
    (void)g;
    ir_bug(d, n->loc, "%s: shape rule not written yet", ir_op_name(n->op));
    return false;
}

bool shape_gather_grad(ir_graph *g, ir_node *n, ir_diag *d) {
    (void)g;
    ir_bug(d, n->loc, "%s: shape rule not written yet", ir_op_name(n->op));
    return false;
}

ir_cost cost_pool2d_grad(const ir_graph *g, const ir_node *n) {
    (void)g;
    (void)n;
    return (ir_cost){0, 0, 0};
}
