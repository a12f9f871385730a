/* kernels_grad.c — the reference interpreter's kernels of the gradient ops.
 * STUB: being written. */
#include "ir/kernels.h"

bool interp_grad(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)in;
    (void)out;
    ir_bug(d, n->loc, "%s: kernel not written yet", ir_op_name(n->op));
    return false;
}

bool interp_max_pool2d_grad(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)in;
    (void)out;
    ir_bug(d, n->loc, "%s: kernel not written yet", ir_op_name(n->op));
    return false;
}

bool interp_avg_pool2d_grad(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)in;
    (void)out;
    ir_bug(d, n->loc, "%s: kernel not written yet", ir_op_name(n->op));
    return false;
}

bool interp_gather_grad(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)in;
    (void)out;
    ir_bug(d, n->loc, "%s: kernel not written yet", ir_op_name(n->op));
    return false;
}

