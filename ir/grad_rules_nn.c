/* grad_rules_nn.c — reverse-mode rules of normalization, convolution, pooling and the losses.
 * STUB: being written. */
#include "ir/ir.h"

bool grad_softmax(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_log_softmax(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_layer_norm(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_batch_norm(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_conv2d(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_max_pool2d(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_avg_pool2d(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_global_avg_pool(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_cross_entropy(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}

bool grad_mse(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)dy;
    (void)dx;
    ir_bug(b->d, n->loc, "%s: gradient rule not written yet", ir_op_name(n->op));
    b->failed = true;
    return false;
}
