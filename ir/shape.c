/* shape.c — shape and dtype inference: ir_infer (arity, then the op's rule from ops.def),
 * NumPy broadcasting, the helpers the rules in shape_rules_*.c share, and the leaf rules.
 * A rule checks its operands, normalizes the node's attributes in place and sets n->type;
 * it is idempotent, because the IR text parser re-runs it on printed (normalized) IR. */
#include "ir/ir.h"

#include <string.h>

ir_text ir_type_text(const ir_type *t) {
    ir_text x;
    ir_type_str(t, x.s, sizeof x.s);
    return x;
}

ir_text ir_ints_text(const int64_t *v, int n) {
    ir_text x;
    size_t used = (size_t)snprintf(x.s, sizeof x.s, "[");
    for (int i = 0; i < n && used < sizeof x.s; i++)
        used += (size_t)snprintf(x.s + used, sizeof x.s - used, "%s%lld", i ? "," : "", (long long)v[i]);
    if (used < sizeof x.s) snprintf(x.s + used, sizeof x.s - used, "]");
    return x;
}

bool ir_shape_set(ir_node *n, ir_diag *d, const ir_type *t) {
    int64_t elems;
    if (t->rank < 0 || t->rank > IR_MAX_RANK) {
        ir_error(d, n->loc, "%s: invalid result rank %d", ir_op_name(n->op), t->rank);
        return false;
    }
    if (!ir_dims_product(t->dims, t->rank, &elems)) {
        bool negative = false;
        for (int i = 0; i < t->rank; i++) negative |= t->dims[i] < 0;
        ir_error(d, n->loc, "%s: result %s %s", ir_op_name(n->op), ir_type_text(t).s,
                 negative ? "has a negative dimension" : "has too many elements");
        return false;
    }
    n->type = *t;
    return true;
}

bool ir_shape_axis(ir_node *n, ir_diag *d, int64_t *axis, const ir_type *t) {
    if (*axis < -(int64_t)t->rank || *axis >= t->rank) {
        ir_error(d, n->loc, "%s: axis %lld is out of range for %s", ir_op_name(n->op), (long long)*axis,
                 ir_type_text(t).s);
        return false;
    }
    if (*axis < 0) *axis += t->rank;
    return true;
}

/* NumPy: align on the right; each pair of dims is equal or one of them is 1 (a 0 only meets
 * 0 or 1). The result has a's dtype. */
bool ir_broadcast_shapes(const ir_type *a, const ir_type *b, ir_type *out) {
    ir_type r;
    memset(&r, 0, sizeof r);
    r.dtype = a->dtype;
    r.rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r.rank; i++) {
        int ia = i - (r.rank - a->rank), ib = i - (r.rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1)
            r.dims[i] = da;
        else if (da == 1)
            r.dims[i] = db;
        else
            return false;
    }
    *out = r;
    return true;
}

bool ir_shape_broadcast(ir_node *n, ir_diag *d, const ir_type *a, const ir_type *b, ir_type *out) {
    if (ir_broadcast_shapes(a, b, out)) return true;
    ir_error(d, n->loc, "%s: shapes %s and %s do not broadcast", ir_op_name(n->op), ir_type_text(a).s,
             ir_type_text(b).s);
    return false;
}

bool ir_shape_same_dtype(ir_node *n, ir_diag *d, const ir_type *a, const ir_type *b) {
    if (a->dtype == b->dtype) return true;
    ir_error(d, n->loc, "%s: dtypes differ: %s and %s; use cast(x, %s) to convert one of them",
             ir_op_name(n->op), ir_type_text(a).s, ir_type_text(b).s, ir_dtype_name(a->dtype));
    return false;
}

/* The IR text parser can hand any operand count to any op, so this is a user error. */
static bool check_arity(const ir_node *n, ir_diag *d) {
    const ir_op_info *info = &ir_op_table[n->op];
    if (n->n_in >= info->min_in && (info->max_in < 0 || n->n_in <= info->max_in)) return true;
    const char *s = n->n_in == 1 ? "" : "s";
    if (info->max_in < 0)
        ir_error(d, n->loc, "%s: expected at least %d operand%s, got %d", info->name, info->min_in,
                 info->min_in == 1 ? "" : "s", n->n_in);
    else if (info->min_in == info->max_in)
        ir_error(d, n->loc, "%s: expected %d operand%s, got %d", info->name, info->min_in,
                 info->min_in == 1 ? "" : "s", n->n_in);
    else
        ir_error(d, n->loc, "%s: expected %d to %d operands, got %d operand%s", info->name, info->min_in,
                 info->max_in, n->n_in, s);
    return false;
}

bool ir_infer(ir_graph *g, ir_node *n, ir_diag *d) {
    IR_ASSERT((unsigned)n->op < IR_OP_COUNT);
    if (!check_arity(n, d)) return false;
    for (int i = 0; i < n->n_in; i++) IR_ASSERT(n->in[i] >= 0 && n->in[i] < g->n_nodes);
    return ir_op_table[n->op].shape(g, n, d);
}

/* ---- leaves ---------------------------------------------------------------------------- */

static bool check_dtype_attr(ir_node *n, ir_diag *d) {
    int64_t dt = n->attr[IR_ATTR_DTYPE].v[0];
    if (dt >= 0 && dt < IR_DTYPE_COUNT) return true;
    ir_error(d, n->loc, "%s: invalid dtype %lld", ir_op_name(n->op), (long long)dt);
    return false;
}

bool shape_input(ir_graph *g, ir_node *n, ir_diag *d) {
    int64_t i = n->attr[IR_ATTR_INDEX].v[0];
    if (i < 0 || i >= g->n_inputs) {
        ir_error(d, n->loc, "input: index %lld is out of range; graph '%s' has %d input%s", (long long)i,
                 g->name, g->n_inputs, g->n_inputs == 1 ? "" : "s");
        return false;
    }
    return ir_shape_set(n, d, &g->input_types[i]);
}

bool shape_param(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_module *m = g->module;
    int64_t i = n->attr[IR_ATTR_PARAM].v[0];
    if (i < 0 || i >= m->n_params) {
        ir_error(d, n->loc, "param: index %lld is out of range; the module has %d parameter%s", (long long)i,
                 m->n_params, m->n_params == 1 ? "" : "s");
        return false;
    }
    return ir_shape_set(n, d, &m->params[i].type);
}

bool shape_constant(ir_graph *g, ir_node *n, ir_diag *d) {
    (void)g;
    if (!check_dtype_attr(n, d)) return false;
    ir_type t = {.dtype = (ir_dtype)n->attr[IR_ATTR_DTYPE].v[0], .rank = 0};
    return ir_shape_set(n, d, &t);
}

bool shape_full(ir_graph *g, ir_node *n, ir_diag *d) {
    (void)g;
    const ir_attr *shape = &n->attr[IR_ATTR_SHAPE];
    if (!check_dtype_attr(n, d)) return false;
    if (shape->n < 0 || shape->n > IR_MAX_RANK) {
        ir_error(d, n->loc, "full: shape must have 0 to %d dimensions, got %d", IR_MAX_RANK, shape->n);
        return false;
    }
    ir_type t = {.dtype = (ir_dtype)n->attr[IR_ATTR_DTYPE].v[0], .rank = shape->n};
    for (int i = 0; i < shape->n; i++) {
        if (shape->v[i] < 0) {
            ir_error(d, n->loc, "full: negative dimension %lld in shape %s", (long long)shape->v[i],
                     ir_ints_text(shape->v, shape->n).s);
            return false;
        }
        t.dims[i] = shape->v[i];
    }
    return ir_shape_set(n, d, &t);
}

bool shape_arange(ir_graph *g, ir_node *n, ir_diag *d) {
    (void)g;
    int64_t len = n->attr[IR_ATTR_N].v[0];
    if (len < 0 || len > INT32_MAX) {
        ir_error(d, n->loc, "arange: length %lld must be between 0 and %d (the result is i32)", (long long)len,
                 INT32_MAX);
        return false;
    }
    ir_type t = {.dtype = IR_I32, .rank = 1, .dims = {len}};
    return ir_shape_set(n, d, &t);
}
