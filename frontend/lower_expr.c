/* lower_expr.c — expressions to Graph IR: names, weakly typed literals (folded at compile time
 * when both operands are literals, else constants of the dtype of the tensor they meet),
 * operators, and the one function that appends a node and infers its type. */
#include "frontend/lower.h"

#include <math.h>
#include <string.h>

fe_value fe_error_value(void) { return (fe_value){.kind = FE_V_ERROR}; }

static fe_value int_value(int64_t i, ir_loc loc) { return (fe_value){.kind = FE_V_INT, .loc = loc, .i = i}; }
static fe_value float_value(double f, ir_loc loc) { return (fe_value){.kind = FE_V_FLOAT, .loc = loc, .f = f}; }
static fe_value bool_value(bool b, ir_loc loc) { return (fe_value){.kind = FE_V_BOOL, .loc = loc, .i = b}; }

static bool is_literal(const fe_value *v) { return v->kind == FE_V_INT || v->kind == FE_V_FLOAT || v->kind == FE_V_BOOL; }

const char *fe_value_desc(const fe_value *v) {
    switch (v->kind) {
    case FE_V_TENSOR: return "a tensor";
    case FE_V_INT: return "an integer";
    case FE_V_FLOAT: return "a float";
    case FE_V_BOOL: return "a bool";
    case FE_V_STRING: return "a string";
    case FE_V_DTYPE: return "a dtype";
    case FE_V_LIST: return "a list";
    case FE_V_ERROR: break;
    }
    return "an invalid value";
}

ir_node *fe_add_node(fe_ctx *c, ir_op op, const int *in, int n, ir_loc loc) {
    if (c->graph_too_big) return NULL;
    if (c->g->n_nodes >= FE_MAX_NODES) {
        fe_error(c, loc, "graph '%s' is too large: more than %d operations after inlining fn calls", c->g->name,
                 FE_MAX_NODES);
        c->graph_too_big = true;
        return NULL;
    }
    return ir_graph_add_node(c->g, op, in, n, loc);
}

bool fe_infer(fe_ctx *c, ir_node *n) {
    if (ir_infer(c->g, n, c->d)) return true;
    fe_inline_notes(c);
    return false;
}

static ir_dtype literal_dtype(const fe_value *v) {
    return v->kind == FE_V_FLOAT ? IR_F32 : v->kind == FE_V_BOOL ? IR_BOOL : IR_I32;
}

static const char *article(ir_dtype dt) { return dt == IR_BF16 || dt == IR_BOOL ? "a" : "an"; }

/* Whether literal v can take dtype dt: integers must fit (i64 within 2^53, as constants hold
 * a double), floats need a float tensor, bools a bool one. */
static bool literal_fits(fe_ctx *c, const fe_value *v, ir_dtype dt) {
    char lit[48];
    if (v->kind == FE_V_FLOAT) snprintf(lit, sizeof lit, "float literal %g", v->f);
    else if (v->kind == FE_V_BOOL) snprintf(lit, sizeof lit, "bool literal '%s'", v->i ? "true" : "false");
    else snprintf(lit, sizeof lit, "integer literal %lld", (long long)v->i);
    bool ok;
    if (dt == IR_BOOL) ok = v->kind == FE_V_BOOL;
    else if (v->kind == FE_V_BOOL) ok = false;
    else if (ir_dtype_is_float(dt)) ok = true;
    else if (v->kind == FE_V_FLOAT) {
        fe_error(c, v->loc, "%s cannot be combined with %s %s tensor (use cast(x, f32) on the tensor)", lit,
                 article(dt), ir_dtype_name(dt));
        return false;
    } else if (dt == IR_I32) ok = v->i >= INT32_MIN && v->i <= INT32_MAX;
    else ok = v->i >= -(INT64_C(1) << 53) && v->i <= (INT64_C(1) << 53);
    if (!ok && v->kind == FE_V_INT && (dt == IR_I32 || dt == IR_I64))
        fe_error(c, v->loc, "%s does not fit in %s", lit, ir_dtype_name(dt));
    else if (!ok)
        fe_error(c, v->loc, "%s cannot be combined with %s %s tensor", lit, article(dt), ir_dtype_name(dt));
    return ok;
}

static int constant(fe_ctx *c, const fe_value *v, ir_dtype dt) {
    if (!literal_fits(c, v, dt)) return -1;
    ir_node *n = fe_add_node(c, IR_OP_CONSTANT, NULL, 0, v->loc);
    if (!n) return -1;
    n->attr[IR_ATTR_VALUE].f = v->kind == FE_V_FLOAT ? v->f : (double)v->i;
    n->attr[IR_ATTR_DTYPE].v[0] = dt;
    return fe_infer(c, n) ? n->id : -1;
}

int fe_tensor(fe_ctx *c, fe_value v, ir_dtype dt, const char *what) {
    switch (v.kind) {
    case FE_V_TENSOR: return v.node;
    case FE_V_ERROR: return -1;
    case FE_V_INT: case FE_V_FLOAT: case FE_V_BOOL: return constant(c, &v, dt);
    default: break;
    }
    fe_error(c, v.loc, "%s must be a tensor, not %s", what, fe_value_desc(&v));
    return -1;
}

/* The dtype literal operands of an elementwise op take: that of the first tensor among the
 * data operands (select's condition excluded), else the widest literal's default. */
static ir_dtype context_dtype(fe_ctx *c, ir_op op, const fe_value *operands, int n) {
    int first = op == IR_OP_SELECT ? 1 : 0;
    bool any_float = false, all_bool = true;
    for (int i = first; i < n; i++) {
        if (operands[i].kind == FE_V_TENSOR) return c->g->nodes[operands[i].node]->type.dtype;
        any_float |= operands[i].kind == FE_V_FLOAT;
        all_bool &= operands[i].kind == FE_V_BOOL;
    }
    return any_float ? IR_F32 : all_bool && n > first ? IR_BOOL : IR_I32;
}

fe_value fe_emit(fe_ctx *c, ir_op op, const fe_value *operands, int n, const ir_attr *attrs, ir_loc loc) {
    for (int i = 0; i < n; i++)
        if (operands[i].kind == FE_V_ERROR) return fe_error_value();
    bool typed_together = (ir_op_table[op].flags & IR_ELEMENTWISE) && n >= 2;
    ir_dtype ctx = typed_together ? context_dtype(c, op, operands, n) : IR_F32;
    int *ids = n ? ir_alloc(c->arena, sizeof *ids * (size_t)n) : NULL;
    char what[64];
    snprintf(what, sizeof what, "an operand of %s", ir_op_table[op].name);
    for (int i = 0; i < n; i++) {
        ir_dtype dt = !typed_together ? literal_dtype(&operands[i]) : op == IR_OP_SELECT && i == 0 ? IR_BOOL : ctx;
        ids[i] = fe_tensor(c, operands[i], dt, what);
        if (ids[i] < 0) return fe_error_value();
    }
    ir_node *node = fe_add_node(c, op, ids, n, loc);
    if (!node) return fe_error_value();
    if (attrs) memcpy(node->attr, attrs, sizeof node->attr);
    if (!fe_infer(c, node)) return fe_error_value();
    return (fe_value){.kind = FE_V_TENSOR, .loc = loc, .node = node->id};
}

/* ---- names -------------------------------------------------------------------------------- */

static fe_value param_value(fe_ctx *c, const fe_binding *b, ir_loc use) {
    if (!c->g) {
        fe_error(c, use, "'%s' is a parameter; an initializer's arguments must be constants", b->name);
        return fe_error_value();
    }
    int *node = &c->param_nodes[b->param];
    if (*node < 0) {
        ir_node *n = fe_add_node(c, IR_OP_PARAM, NULL, 0, b->loc);
        if (!n) return fe_error_value();
        n->attr[IR_ATTR_PARAM].v[0] = b->param;
        if (!fe_infer(c, n)) return fe_error_value();
        *node = n->id;
    }
    return (fe_value){.kind = FE_V_TENSOR, .loc = use, .node = *node};
}

void fe_unknown_name(fe_ctx *c, const char *name, ir_loc loc) {
    ir_op op = ir_op_lookup(name);
    if (fe_map_get(&c->fns, name)) {
        fe_error(c, loc, "'%s' is a fn; call it as %s(...)", name, name);
    } else if (op != IR_OP_COUNT && ir_op_table[op].signature) {
        fe_error(c, loc, "'%s' is an operation; call it as %s(...)", name, name);
    } else if (c->body && fe_map_get(&c->body->assigned, name)) {
        const fe_name *later = fe_map_get(&c->body->assigned, name);
        if (fe_error(c, loc, "'%s' is used before it is bound", name))
            ir_note(c->d, later->loc, "'%s' is bound here", name);
    } else {
        const char *near = fe_closest_in(c, name, c->body ? &c->body->locals : NULL, &c->globals);
        if (near) fe_error(c, loc, "unknown name '%s'; did you mean '%s'?", name, near);
        else fe_error(c, loc, "unknown name '%s'", name);
    }
}

static fe_value lower_name(fe_ctx *c, const fe_expr *e) {
    fe_binding *b = fe_lookup(c, e->str);
    if (!b) {
        fe_unknown_name(c, e->str, e->loc);
        return fe_error_value();
    }
    if (b->param >= 0 || (!c->g && strcmp(b->what, "parameter") == 0)) return param_value(c, b, e->loc);
    fe_value v = b->value;
    if (v.kind != FE_V_ERROR) v.loc = e->loc;
    return v;
}

/* ---- operators ------------------------------------------------------------------------------ */

static const ir_op binop_ops[] = {
    [FE_ADD] = IR_OP_ADD, [FE_SUB] = IR_OP_SUB, [FE_MUL] = IR_OP_MUL, [FE_DIV] = IR_OP_DIV,
    [FE_MATMUL] = IR_OP_MATMUL, [FE_POW] = IR_OP_POW, [FE_EQ] = IR_OP_EQ, [FE_NE] = IR_OP_NE,
    [FE_LT] = IR_OP_LT, [FE_LE] = IR_OP_LE, [FE_GT] = IR_OP_GT, [FE_GE] = IR_OP_GE,
};

static bool is_comparison(fe_binop op) { return op >= FE_EQ; }

static fe_value fold_compare(fe_binop op, const fe_value *a, const fe_value *b, ir_loc loc) {
    int cmp;
    if (a->kind != FE_V_FLOAT && b->kind != FE_V_FLOAT) {
        cmp = (a->i > b->i) - (a->i < b->i);
    } else {
        double x = a->kind == FE_V_FLOAT ? a->f : (double)a->i, y = b->kind == FE_V_FLOAT ? b->f : (double)b->i;
        cmp = (x > y) - (x < y);
    }
    bool r = op == FE_EQ ? cmp == 0 : op == FE_NE ? cmp != 0 : op == FE_LT ? cmp < 0
           : op == FE_LE ? cmp <= 0 : op == FE_GT ? cmp > 0 : cmp >= 0;
    return bool_value(r, loc);
}

/* b**e by squaring; false on overflow. */
static bool int_power(int64_t b, int64_t e, int64_t *out) {
    int64_t r = 1;
    while (e > 0) {
        if ((e & 1) && __builtin_mul_overflow(r, b, &r)) return false;
        e >>= 1;
        if (e > 0 && __builtin_mul_overflow(b, b, &b)) return false;
    }
    *out = r;
    return true;
}

/* Integer literals stay integers under + - * and ** with a non-negative exponent, and under /
 * when it divides exactly (so [N / 2] is a dimension); otherwise the result is a float. */
static fe_value fold_int(fe_ctx *c, fe_binop op, int64_t x, int64_t y, ir_loc loc) {
    int64_t r = 0;
    bool overflow = false;
    switch (op) {
    case FE_ADD: overflow = __builtin_add_overflow(x, y, &r); break;
    case FE_SUB: overflow = __builtin_sub_overflow(x, y, &r); break;
    case FE_MUL: overflow = __builtin_mul_overflow(x, y, &r); break;
    case FE_DIV:
        if (y == 0) {
            fe_error(c, loc, "division by zero in a constant expression");
            return fe_error_value();
        }
        if ((x == INT64_MIN && y == -1) || x % y != 0) return float_value((double)x / (double)y, loc);
        r = x / y;
        break;
    case FE_POW:
        if (y < 0) return float_value(pow((double)x, (double)y), loc);
        overflow = !int_power(x, y, &r);
        break;
    default: IR_ASSERT(!"not an arithmetic operator");
    }
    if (overflow) {
        fe_error(c, loc, "integer overflow in a constant expression");
        return fe_error_value();
    }
    return int_value(r, loc);
}

static fe_value fold(fe_ctx *c, const fe_expr *e, const fe_value *a, const fe_value *b) {
    if (a->kind == FE_V_BOOL || b->kind == FE_V_BOOL) {
        if ((e->op == FE_EQ || e->op == FE_NE) && a->kind == b->kind)
            return bool_value((a->i == b->i) == (e->op == FE_EQ), e->loc);
        fe_error(c, e->loc, "operator '%s' cannot be applied to a bool literal", fe_binop_symbol(e->op));
        return fe_error_value();
    }
    if (is_comparison(e->op)) return fold_compare(e->op, a, b, e->loc);
    if (e->op == FE_MATMUL) {
        fe_error(c, e->loc, "operator '@' needs tensors, not two numbers");
        return fe_error_value();
    }
    if (a->kind == FE_V_INT && b->kind == FE_V_INT) return fold_int(c, e->op, a->i, b->i, e->loc);
    double x = a->kind == FE_V_FLOAT ? a->f : (double)a->i, y = b->kind == FE_V_FLOAT ? b->f : (double)b->i;
    if (e->op == FE_DIV && y == 0) {
        fe_error(c, e->loc, "division by zero in a constant expression");
        return fe_error_value();
    }
    double r = e->op == FE_ADD ? x + y : e->op == FE_SUB ? x - y : e->op == FE_MUL ? x * y
             : e->op == FE_DIV ? x / y : pow(x, y);
    if (!isfinite(r)) {
        fe_error(c, e->loc, "constant expression has no finite value");
        return fe_error_value();
    }
    return float_value(r, e->loc);
}

static bool operand_ok(fe_ctx *c, const fe_expr *e, const fe_value *v) {
    if (v->kind == FE_V_TENSOR || is_literal(v)) return true;
    fe_error(c, v->loc, "operator '%s' cannot be applied to %s", fe_binop_symbol(e->op), fe_value_desc(v));
    return false;
}

static fe_value lower_binary(fe_ctx *c, const fe_expr *e) {
    fe_value a = fe_lower_expr(c, e->lhs);
    fe_value b = fe_lower_expr(c, e->rhs);
    if (a.kind == FE_V_ERROR || b.kind == FE_V_ERROR) return fe_error_value();
    bool a_ok = operand_ok(c, e, &a), b_ok = operand_ok(c, e, &b);   /* report both */
    if (!a_ok || !b_ok) return fe_error_value();
    if (is_literal(&a) && is_literal(&b)) return fold(c, e, &a, &b);
    fe_value operands[2] = {a, b};
    return fe_emit(c, binop_ops[e->op], operands, 2, NULL, e->loc);
}

static fe_value lower_neg(fe_ctx *c, const fe_expr *e) {
    fe_value v = fe_lower_expr(c, e->lhs);
    switch (v.kind) {
    case FE_V_ERROR: return v;
    case FE_V_INT:
        if (v.i == INT64_MIN) {
            fe_error(c, e->loc, "integer overflow in a constant expression");
            return fe_error_value();
        }
        return int_value(-v.i, e->loc);
    case FE_V_FLOAT: return float_value(-v.f, e->loc);
    case FE_V_TENSOR: return fe_emit(c, IR_OP_NEG, &v, 1, NULL, e->loc);
    default: break;
    }
    fe_error(c, v.loc, "unary '-' cannot be applied to %s", fe_value_desc(&v));
    return fe_error_value();
}

static fe_value lower_list(fe_ctx *c, const fe_expr *e) {
    fe_value v = {.kind = FE_V_LIST, .loc = e->loc, .n_items = e->n_items};
    v.items = ir_alloc(c->arena, sizeof *v.items * (size_t)(e->n_items ? e->n_items : 1));
    bool ok = true;
    for (int i = 0; i < e->n_items; i++) {
        v.items[i] = fe_lower_expr(c, e->items[i]);
        ok &= v.items[i].kind != FE_V_ERROR;
    }
    return ok ? v : fe_error_value();
}

static fe_value lower_call_value(fe_ctx *c, const fe_expr *e) {
    fe_value out[1];
    int n = fe_lower_call(c, e, out, 1);
    if (n == 1) return out[0];
    if (n > 1) {
        fe_error(c, e->loc, "'%s' returns %d values; bind them with 'a, b = %s(...)'", e->str, n, e->str);
        fe_inline_notes(c);
    }
    return fe_error_value();
}

static fe_value lower_expr_kind(fe_ctx *c, const fe_expr *e) {
    switch (e->kind) {
    case FE_E_INT: return int_value(e->ival, e->loc);
    case FE_E_FLOAT: return float_value(e->fval, e->loc);
    case FE_E_BOOL: return bool_value(e->ival != 0, e->loc);
    case FE_E_STRING: return (fe_value){.kind = FE_V_STRING, .loc = e->loc, .s = e->str};
    case FE_E_DTYPE: return (fe_value){.kind = FE_V_DTYPE, .loc = e->loc, .i = e->dtype};
    case FE_E_NAME: return lower_name(c, e);
    case FE_E_CALL: return lower_call_value(c, e);
    case FE_E_LIST: return lower_list(c, e);
    case FE_E_BINARY: return lower_binary(c, e);
    case FE_E_NEG: return lower_neg(c, e);
    case FE_E_ERROR: break;
    }
    return fe_error_value();
}

/* The depth counts across inlined fn calls, which nest expression walks inside each other. */
fe_value fe_lower_expr(fe_ctx *c, const fe_expr *e) {
    if (c->graph_too_big || c->too_deep || fe_stopped(c)) return fe_error_value();
    if (c->depth >= FE_MAX_LOWER_DEPTH) {
        fe_error(c, e->loc, "expression nested too deeply after inlining fn calls (more than %d levels)",
                 FE_MAX_LOWER_DEPTH);
        c->too_deep = true;
        return fe_error_value();
    }
    c->depth++;
    fe_value v = lower_expr_kind(c, e);
    c->depth--;
    return v;
}
