/* grad_rules_elementwise.c — reverse-mode rules of the elementwise ops (ops.def, column grad).
 * STUB: being written. */
#include "ir/ir.h"

/* Ops without operands. */
bool grad_leaf(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)b;
    (void)n;
    (void)dy;
    (void)dx;
    return true;
}

/* Piecewise-constant ops and ops without a float result: no gradient flows back. */
bool grad_none(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)b;
    (void)dy;
    for (int k = 0; k < n->n_in; k++) dx[k] = -1;
    return true;
}

bool grad_add(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_sub(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_mul(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_div(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_pow(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_maximum(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_minimum(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_select(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_clip(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_unary(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_cast(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}
