/* shape_rules_elementwise.c — shape rules of the elementwise ops: binary arithmetic and
 * comparisons, select and clip (NumPy broadcasting), unary math and cast. Operands must
 * already share a dtype: the frontend gives literals the dtype of the tensor they meet. */
#include "ir/ir.h"

static const ir_type *operand_type(const ir_graph *g, const ir_node *n, int i) {
    return &ir_operand(g, n, i)->type;
}

/* numeric: anything but bool */
static bool check_numeric(ir_node *n, ir_diag *d, const ir_type *t) {
    if (t->dtype != IR_BOOL) return true;
    ir_error(d, n->loc, "%s: expected a numeric tensor, got %s; use cast(x, i32) or cast(x, f32) first",
             ir_op_name(n->op), ir_type_text(t).s);
    return false;
}

static bool check_float(ir_node *n, ir_diag *d, const ir_type *t) {
    if (ir_dtype_is_float(t->dtype)) return true;
    ir_error(d, n->loc, "%s: expected a float tensor, got %s; use cast(x, f32) first", ir_op_name(n->op),
             ir_type_text(t).s);
    return false;
}

/* add sub mul div pow maximum minimum: same dtype, not bool, broadcast. */
bool shape_arith(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *a = operand_type(g, n, 0), *b = operand_type(g, n, 1);
    if (!ir_shape_same_dtype(n, d, a, b) || !check_numeric(n, d, a)) return false;
    if (n->op == IR_OP_DIV && !ir_dtype_is_float(a->dtype)) {
        ir_error(d, n->loc, "div: integer division is not supported; cast to f32 first (operands %s and %s)",
                 ir_type_text(a).s, ir_type_text(b).s);
        return false;
    }
    ir_type out;
    return ir_shape_broadcast(n, d, a, b, &out) && ir_shape_set(n, d, &out);
}

/* lt le gt ge eq ne: same dtype (bool only for eq and ne), broadcast, result bool. */
bool shape_compare(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *a = operand_type(g, n, 0), *b = operand_type(g, n, 1);
    if (!ir_shape_same_dtype(n, d, a, b)) return false;
    if (a->dtype == IR_BOOL && n->op != IR_OP_EQ && n->op != IR_OP_NE) {
        ir_error(d, n->loc, "%s: bool operands %s and %s cannot be ordered; only eq and ne compare bools",
                 ir_op_name(n->op), ir_type_text(a).s, ir_type_text(b).s);
        return false;
    }
    ir_type out;
    if (!ir_shape_broadcast(n, d, a, b, &out)) return false;
    out.dtype = IR_BOOL;
    return ir_shape_set(n, d, &out);
}

/* select(cond, a, b): cond bool; a and b one dtype; the three broadcast together. */
bool shape_select(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *c = operand_type(g, n, 0), *a = operand_type(g, n, 1), *b = operand_type(g, n, 2);
    if (c->dtype != IR_BOOL) {
        ir_error(d, n->loc, "select: the condition must be bool, got %s", ir_type_text(c).s);
        return false;
    }
    if (!ir_shape_same_dtype(n, d, a, b)) return false;
    ir_type ab, out;
    if (!ir_shape_broadcast(n, d, a, b, &ab) || !ir_shape_broadcast(n, d, c, &ab, &out)) return false;
    out.dtype = a->dtype;
    return ir_shape_set(n, d, &out);
}

/* clip(x, lo, hi): one numeric dtype; the three broadcast together. */
bool shape_clip(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0), *lo = operand_type(g, n, 1), *hi = operand_type(g, n, 2);
    if (!ir_shape_same_dtype(n, d, x, lo) || !ir_shape_same_dtype(n, d, x, hi) || !check_numeric(n, d, x))
        return false;
    ir_type xl, out;
    if (!ir_shape_broadcast(n, d, x, lo, &xl) || !ir_shape_broadcast(n, d, &xl, hi, &out)) return false;
    return ir_shape_set(n, d, &out);
}

/* neg abs relu: any numeric dtype. */
bool shape_unary_num(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0);
    return check_numeric(n, d, x) && ir_shape_set(n, d, x);
}

/* exp log tanh ...: float dtypes only; integers need an explicit cast. */
bool shape_unary_float(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0);
    return check_float(n, d, x) && ir_shape_set(n, d, x);
}

bool shape_cast(ir_graph *g, ir_node *n, ir_diag *d) {
    int64_t dt = n->attr[IR_ATTR_DTYPE].v[0];
    if (dt < 0 || dt >= IR_DTYPE_COUNT) {
        ir_error(d, n->loc, "cast: invalid dtype %lld", (long long)dt);
        return false;
    }
    ir_type out = *operand_type(g, n, 0);
    out.dtype = (ir_dtype)dt;
    return ir_shape_set(n, d, &out);
}
