/* cost.c — the cost model: floating-point work and bytes moved per node, from its inferred
 * types alone. Dumps print it beside every op (FLOPs, bytes, arithmetic intensity) and the
 * fusion and split passes compare it; it counts what an ideal kernel must touch, once. */
#include "ir/ir.h"

ir_cost ir_node_cost(const ir_graph *g, const ir_node *n) {
    IR_ASSERT((unsigned)n->op < IR_OP_COUNT);
    return ir_op_table[n->op].cost(g, n);
}

static double type_elems(const ir_type *t) { return (double)ir_type_elems(t); }

static double type_bytes(const ir_type *t) { return type_elems(t) * (double)ir_dtype_size(t->dtype); }

static double operand_bytes(const ir_graph *g, const ir_node *n) {
    double bytes = 0;
    for (int i = 0; i < n->n_in; i++) bytes += type_bytes(&ir_operand(g, n, i)->type);
    return bytes;
}

/* input and param are bound, not computed; constant, full and arange write their result. */
ir_cost cost_leaf(const ir_graph *g, const ir_node *n) {
    (void)g;
    ir_cost c = {0, 0, 0};
    if (n->op != IR_OP_INPUT && n->op != IR_OP_PARAM) c.bytes_written = type_bytes(&n->type);
    return c;
}

/* The elements the op visits: the largest of the output, each operand and, where they
 * broadcast, all operands broadcast together (mse). For a true elementwise op this is the
 * output; for cross_entropy it is the logits, not the per-example losses. */
static double visited_elems(const ir_graph *g, const ir_node *n) {
    ir_type all = n->type;
    all.rank = 0;
    bool broadcasts = true;
    double most = type_elems(&n->type);
    for (int i = 0; i < n->n_in; i++) {
        const ir_type *t = &ir_operand(g, n, i)->type;
        if (type_elems(t) > most) most = type_elems(t);
        broadcasts = broadcasts && ir_broadcast_shapes(&all, t, &all);
    }
    if (broadcasts && type_elems(&all) > most) most = type_elems(&all);
    return most;
}

/* The common case: `flops` of work, every operand read once, the result written once. */
static ir_cost streaming_cost(const ir_graph *g, const ir_node *n, double flops) {
    ir_cost c = {flops, operand_bytes(g, n), type_bytes(&n->type)};
    return c;
}

/* flops = visited elements × the op's flops_per_elem; every operand read once. */
ir_cost cost_elementwise(const ir_graph *g, const ir_node *n) {
    return streaming_cost(g, n, visited_elems(g, n) * ir_op_table[n->op].flops_per_elem);
}

/* flops = input elements × flops_per_elem (for mse, its two operands broadcast together): the
 * elementwise rule, since visited_elems already counts the largest operand. */
ir_cost cost_reduce(const ir_graph *g, const ir_node *n) { return cost_elementwise(g, n); }

/* 2·batch·M·N·K = 2 × (output elements) × K, one multiply and one add per term. */
ir_cost cost_matmul(const ir_graph *g, const ir_node *n) {
    const ir_type *a = &ir_operand(g, n, 0)->type;
    const ir_attr *perm = &n->attr[IR_ATTR_PERM_A];
    /* K is the last axis of a as the product sees it: through PERM_A when a transpose was absorbed. */
    int last = a->rank - 1;
    int k_axis = perm->n == a->rank && last >= 0 ? (int)perm->v[last] : last;
    double k = k_axis >= 0 && k_axis < a->rank ? (double)a->dims[k_axis] : 0;
    return streaming_cost(g, n, 2 * type_elems(&n->type) * k);
}

/* 2·N·O·Ho·Wo·(C/groups)·kh·kw = 2 × (output elements) × (w.dims[1]·kh·kw). */
ir_cost cost_conv2d(const ir_graph *g, const ir_node *n) {
    const ir_type *w = &ir_operand(g, n, 1)->type;
    double per_out = w->rank == 4 ? (double)w->dims[1] * (double)w->dims[2] * (double)w->dims[3] : 0;
    return streaming_cost(g, n, 2 * type_elems(&n->type) * per_out);
}

/* output elements × kh·kw: one compare or add per window element. */
ir_cost cost_pool2d(const ir_graph *g, const ir_node *n) {
    const ir_attr *k = &n->attr[IR_ATTR_KERNEL];
    double window = k->n == 2 ? (double)k->v[0] * (double)k->v[1] : 1;
    return streaming_cost(g, n, type_elems(&n->type) * window * ir_op_table[n->op].flops_per_elem);
}

/* No arithmetic. gather and slice read only what they copy (the output's worth, plus the
 * indices for gather); the other movements read their whole operands. */
ir_cost cost_move(const ir_graph *g, const ir_node *n) {
    ir_cost c = {0, 0, 0};
    c.bytes_written = type_bytes(&n->type);
    if (n->op == IR_OP_GATHER)
        c.bytes_read = c.bytes_written + type_bytes(&ir_operand(g, n, 1)->type);
    else if (n->op == IR_OP_SLICE)
        c.bytes_read = c.bytes_written;
    else
        c.bytes_read = operand_bytes(g, n);
    return c;
}
