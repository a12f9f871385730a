/* shape_rules_grad.c — the shape rule of grad(y, x), what the frontend writes for the language's
 * grad and the optimizer pass for each trained parameter; the autodiff pass replaces it. */
#include "ir/ir.h"

/* grad(y, x): y a scalar float, x a float value -> x's type. */
bool shape_grad(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *y = &ir_operand(g, n, 0)->type, *x = &ir_operand(g, n, 1)->type;
    if (y->rank != 0 || !ir_dtype_is_float(y->dtype)) {
        ir_error(d, n->loc, "grad: the differentiated value must be a float scalar, got %s", ir_type_text(y).s);
        return false;
    }
    if (!ir_dtype_is_float(x->dtype)) {
        ir_error(d, n->loc, "grad: gradients are taken with respect to float values; this one is %s",
                 ir_type_text(x).s);
        return false;
    }
    return ir_shape_set(n, d, x);
}

/* The gradient ops' cost: like the pool they undo (window taps read, each output written). */
ir_cost cost_pool2d_grad(const ir_graph *g, const ir_node *n) {
    double taps = (double)(n->attr[IR_ATTR_KERNEL].v[0] * n->attr[IR_ATTR_KERNEL].v[1]);
    double read = 0;
    for (int k = 0; k < n->n_in; k++) {
        const ir_node *in = ir_operand(g, n, k);
        read += (double)ir_node_bytes(in);
    }
    const ir_node *dy = ir_operand(g, n, n->n_in - 1);
    double dy_elems = (double)ir_type_elems(&dy->type);
    return (ir_cost){dy_elems * taps * ir_op_table[n->op].flops_per_elem, read, (double)ir_node_bytes(n)};
}
