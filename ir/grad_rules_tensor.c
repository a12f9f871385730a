/* grad_rules_tensor.c — reverse-mode rules of matmul, the reductions and the shape and indexing ops.
 * STUB: being written. */
#include "ir/ir.h"

bool grad_sum(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_max(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_matmul(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_transpose(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_reshape(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_broadcast_to(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_concat(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_slice(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_pad(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_gather(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}
