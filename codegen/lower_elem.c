/* lower_elem.c — the elemental emitter: the scalar value of a node at a point of its index
 * space, composed through its operands' index maps (broadcast, transpose, slice, pad, concat,
 * reshape, gather, one_hot) and elementwise functions with the interpreter's semantics, or loaded
 * from the node's buffer when another kernel computes it. (node, coordinates) is memoized for the
 * whole kernel: equal coordinates are equal pointers (hash-consing), and a memoized value stays
 * valid in every later statement of the scope it was computed for. */
#include "codegen/lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the memo ------------------------------------------------------------------------------- */

typedef struct memo_entry {
    int id;                   /* -1: empty */
    int rank;
    cg_expr *c[IR_MAX_RANK];
    cg_expr *value;
} memo_entry;

struct cg_memo_table {
    memo_entry *slots;
    size_t cap, used;
};

static uint64_t memo_hash(int id, const cg_coords *c) {
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < c->rank; i++) h = (h ^ (uint64_t)(uintptr_t)c->c[i]) * 0xFF51AFD7ED558CCDull;
    return h ^ (h >> 31);
}

static memo_entry *memo_slot(const cg_memo_table *m, int id, const cg_coords *c) {
    size_t i = memo_hash(id, c) & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        memo_entry *e = &m->slots[i];
        if (e->id < 0) return e;
        if (e->id == id && e->rank == c->rank && memcmp(e->c, c->c, sizeof(cg_expr *) * (size_t)c->rank) == 0)
            return e;
    }
}

static void memo_alloc(cg_memo_table *m, size_t cap) {
    m->slots = malloc(sizeof *m->slots * cap);
    IR_ASSERT(m->slots != NULL);
    for (size_t i = 0; i < cap; i++) m->slots[i].id = -1;
    m->cap = cap;
    m->used = 0;
}

void cg_memo_set(cg_lower *w, int id, const cg_coords *c, cg_expr *value) {
    if (!w->memo) {
        w->memo = calloc(1, sizeof *w->memo);
        IR_ASSERT(w->memo != NULL);
    }
    cg_memo_table *m = w->memo;
    if (2 * (m->used + 1) > m->cap) {
        cg_memo_table old = *m;
        memo_alloc(m, old.cap ? 2 * old.cap : 1024);
        for (size_t i = 0; i < old.cap; i++) {
            if (old.slots[i].id < 0) continue;
            cg_coords key = {.rank = old.slots[i].rank};
            memcpy(key.c, old.slots[i].c, sizeof(cg_expr *) * (size_t)key.rank);
            *memo_slot(m, old.slots[i].id, &key) = old.slots[i];
            m->used++;
        }
        free(old.slots);
    }
    memo_entry *e = memo_slot(m, id, c);
    if (e->id < 0) m->used++;
    e->id = id;
    e->rank = c->rank;
    memcpy(e->c, c->c, sizeof(cg_expr *) * (size_t)c->rank);
    e->value = value;
}

static cg_expr *memo_get(cg_lower *w, int id, const cg_coords *c) {
    if (!w->memo || !w->memo->cap) return NULL;
    memo_entry *e = memo_slot(w->memo, id, c);
    return e->id < 0 ? NULL : e->value;
}

void cg_memo_reset(cg_lower *w) {
    if (!w->memo) return;
    for (size_t i = 0; i < w->memo->cap; i++) w->memo->slots[i].id = -1;
    w->memo->used = 0;
}

void cg_memo_free(cg_lower *w) {
    if (!w->memo) return;
    free(w->memo->slots);
    free(w->memo);
    w->memo = NULL;
}

bool cg_in_kernel(const cg_lower *w, int id) { return id >= w->first && id < w->end; }

/* ---- index maps ----------------------------------------------------------------------------- */

/* NumPy broadcasting of operand type t into c's space: aligned right, size-1 axes read at 0.
 * The linear index survives when nothing is actually broadcast. */
static void broadcast_coords(cg_lower *w, const cg_coords *c, const ir_type *space, const ir_type *t, cg_coords *out) {
    int shift = c->rank - t->rank;
    IR_ASSERT(shift >= 0);
    out->rank = t->rank;
    for (int i = 0; i < t->rank; i++) out->c[i] = t->dims[i] == 1 ? cg_index(w, 0) : c->c[i + shift];
    out->flat = ir_type_elems(t) == ir_type_elems(space) ? c->flat : NULL;
}

static const ir_type *type_of(const cg_lower *w, int id) { return &w->g->nodes[id]->type; }

static cg_expr *operand_at(cg_lower *w, const ir_node *n, int k, const cg_coords *c) {
    cg_coords oc;
    broadcast_coords(w, c, &n->type, type_of(w, n->in[k]), &oc);
    return cg_elem(w, n->in[k], &oc);
}

static cg_expr *reshape_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    cg_coords xc;
    cg_delinearize(w, cg_linearize(w, c, &n->type), type_of(w, n->in[0]), &xc);
    return cg_elem(w, n->in[0], &xc);
}

/* out[j] = x[i] with i[perm[k]] = j[k]. */
static cg_expr *transpose_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    const ir_attr *perm = &n->attr[IR_ATTR_PERM];
    cg_coords xc = {.rank = c->rank};
    bool identity = true;
    for (int k = 0; k < perm->n; k++) {
        xc.c[perm->v[k]] = c->c[k];
        identity &= perm->v[k] == k;
    }
    xc.flat = identity ? c->flat : NULL;
    return cg_elem(w, n->in[0], &xc);
}

/* out[j] = x[start + j * step] per axis (start and step normalized by shape inference). */
static cg_expr *slice_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    const ir_type *xt = type_of(w, n->in[0]);
    cg_coords xc = {.rank = c->rank};
    bool identity = true;
    for (int k = 0; k < c->rank; k++) {
        int64_t start = n->attr[IR_ATTR_START].v[k], step = n->attr[IR_ATTR_STEP].v[k];
        xc.c[k] = cg_add(w, cg_mul(w, c->c[k], cg_index(w, step)), cg_index(w, start));
        identity &= start == 0 && step == 1 && xt->dims[k] == n->type.dims[k];
    }
    xc.flat = identity ? c->flat : NULL;
    return cg_elem(w, n->in[0], &xc);
}

/* out[j] = x[j - lo] inside x, else the pad value; the load's index is clamped into x, so it
 * stays in bounds on the lanes that take the pad value. */
static cg_expr *pad_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    const ir_type *xt = type_of(w, n->in[0]);
    cg_expr *fill = cg_const_of(w, n->type.dtype, n->attr[IR_ATTR_VALUE].f);
    if (ir_type_elems(xt) == 0) return fill;
    cg_coords xc = {.rank = c->rank};
    cg_expr *inside = cg_const_i(w, IR_BOOL, 1);
    for (int k = 0; k < c->rank; k++) {
        cg_expr *j = cg_sub(w, c->c[k], cg_index(w, n->attr[IR_ATTR_LO].v[k]));
        xc.c[k] = cg_clamp_inside(w, j, xt->dims[k], &inside);
    }
    xc.flat = NULL;
    return cg_select(w, inside, cg_elem(w, n->in[0], &xc), fill);
}

/* Operand k covers [start_k, start_k + d_k) of the axis: a chain of selects on the coordinate,
 * each operand read at its clamped coordinate. */
static cg_expr *concat_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    int axis = (int)n->attr[IR_ATTR_AXIS].v[0], parts = n->n_in;
    int64_t at = 0, *starts = ir_alloc(w->a, sizeof(int64_t) * (size_t)parts);
    for (int k = 0; k < parts; k++) {
        starts[k] = at;
        at += type_of(w, n->in[k])->dims[axis];
    }
    cg_expr *result = NULL;
    for (int k = parts - 1; k >= 0; k--) {
        int64_t d = type_of(w, n->in[k])->dims[axis];
        if (d == 0) continue;
        cg_coords xc = *c;
        xc.flat = NULL;
        xc.c[axis] = cg_clamp(w, cg_sub(w, c->c[axis], cg_index(w, starts[k])), 0, d - 1);
        cg_expr *v = cg_elem(w, n->in[k], &xc);
        result = result ? cg_select(w, cg_call2(w, CG_LT, c->c[axis], cg_index(w, starts[k] + d)), v, result) : v;
    }
    IR_ASSERT(result != NULL); /* a non-empty output has a non-empty part */
    return result;
}

cg_expr *cg_gather_index(cg_lower *w, const ir_node *n, const cg_coords *ic, int64_t dim) {
    cg_expr *v = cg_cast(w, IR_I64, cg_elem(w, n->in[1], ic));
    int level = cg_expr_level(v) > w->min_level ? cg_expr_level(v) : w->min_level;
    cg_expr *ok =
        cg_call2(w, CG_AND, cg_call2(w, CG_GE, v, cg_index(w, -dim)), cg_call2(w, CG_LT, v, cg_index(w, dim)));
    char msg[160];
    snprintf(msg, sizeof msg, "%s: index out of range [-%lld, %lld) for axis %d", ir_op_name(n->op), (long long)dim,
             (long long)dim, (int)n->attr[IR_ATTR_AXIS].v[0]);
    cg_emit_check(w, level, ok, n->loc, msg);
    v = cg_select(w, cg_call2(w, CG_LT, v, cg_index(w, 0)), cg_add(w, v, cg_index(w, dim)), v);
    return cg_clamp(w, v, 0, dim - 1);
}

void cg_check_label(cg_lower *w, const ir_node *n, cg_expr *label, int64_t classes, int level) {
    cg_expr *ok =
        cg_call2(w, CG_AND, cg_call2(w, CG_GE, label, cg_index(w, 0)), cg_call2(w, CG_LT, label, cg_index(w, classes)));
    char msg[120];
    snprintf(msg, sizeof msg, "cross_entropy: label out of range [0, %lld)", (long long)classes);
    cg_emit_check(w, level, ok, n->loc, msg);
}

/* np.take: an index in [-dim, 0) counts from the end; outside [-dim, dim) the check fails and
 * the load uses the clamped index. */
static cg_expr *gather_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    const ir_type *xt = type_of(w, n->in[0]), *it = type_of(w, n->in[1]);
    int axis = (int)n->attr[IR_ATTR_AXIS].v[0];
    int64_t dim = xt->dims[axis];
    cg_coords ic = {.rank = it->rank}, xc = {.rank = xt->rank};
    if (dim == 0) { /* every index is out of range: the check fails, nothing is read */
        cg_emit_check(w, w->min_level, cg_const_i(w, IR_BOOL, 0), n->loc, "gather: index out of range of an empty axis");
        return cg_const_of(w, n->type.dtype, 0);
    }
    for (int i = 0; i < it->rank; i++) ic.c[i] = c->c[axis + i];
    for (int i = 0; i < axis; i++) xc.c[i] = c->c[i];
    xc.c[axis] = cg_gather_index(w, n, &ic, dim);
    for (int i = axis + 1; i < xt->rank; i++) xc.c[i] = c->c[i - 1 + it->rank];
    return cg_elem(w, n->in[0], &xc);
}

/* (idx[...] == c) as 0 or 1; an index outside [0, depth) matches nothing, except in
 * one_hot_checked, where it fails cross_entropy's check (at the index's loop level, once per
 * label rather than per class). */
static cg_expr *one_hot_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    cg_coords ic = {.rank = c->rank - 1};
    for (int i = 0; i < ic.rank; i++) ic.c[i] = c->c[i];
    cg_expr *v = cg_cast(w, IR_I64, cg_elem(w, n->in[0], &ic));
    if (n->op == IR_OP_ONE_HOT_CHECKED) {
        int level = cg_expr_level(v) > w->min_level ? cg_expr_level(v) : w->min_level;
        cg_check_label(w, n, v, n->attr[IR_ATTR_DEPTH].v[0], level);
    }
    return cg_cast(w, IR_F32, cg_call2(w, CG_EQ, v, c->c[c->rank - 1]));
}

/* ---- elementwise functions ------------------------------------------------------------------- */

static cg_fn float_unary_fn(ir_op op) {
    switch (op) {
    case IR_OP_NEG: return CG_NEG;
    case IR_OP_ABS: return CG_ABS;
    case IR_OP_EXP: return CG_EXP;
    case IR_OP_LOG: return CG_LOG;
    case IR_OP_SQRT: return CG_SQRT;
    case IR_OP_RSQRT: return CG_RSQRT;
    case IR_OP_TANH: return CG_TANH;
    case IR_OP_SIGMOID: return CG_SIGMOID;
    case IR_OP_RELU: return CG_RELU;
    case IR_OP_GELU: return CG_GELU;
    case IR_OP_GELU_TANH: return CG_GELU_TANH;
    case IR_OP_SILU: return CG_SILU;
    case IR_OP_SIN: return CG_SIN;
    case IR_OP_COS: return CG_COS;
    case IR_OP_ERF: return CG_ERF;
    case IR_OP_FLOOR: return CG_FLOOR;
    default: return CG_CEIL;
    }
}

/* Integer neg and abs wrap (abs(INT_MIN) == INT_MIN) and relu is x < 0 ? 0 : x. */
static cg_expr *unary_value(cg_lower *w, const ir_node *n, cg_expr *x) {
    if (n->op == IR_OP_LEAKY_RELU) {
        cg_expr *scaled = cg_call2(w, CG_MUL, cg_const_f(w, n->attr[IR_ATTR_ALPHA].f), x);
        return cg_select(w, cg_call2(w, CG_GE, x, cg_const_f(w, 0)), x, scaled);
    }
    if (x->type == IR_F32) return cg_call1(w, float_unary_fn(n->op), x);
    cg_expr *zero = cg_const_i(w, x->type, 0), *neg = cg_call2(w, CG_SUB, zero, x);
    cg_expr *negative = cg_call2(w, CG_LT, x, zero);
    switch (n->op) {
    case IR_OP_NEG: return neg;
    case IR_OP_ABS: return cg_select(w, negative, neg, x);
    default: return cg_select(w, negative, zero, x); /* relu */
    }
}

static cg_fn binary_fn(ir_op op) {
    switch (op) {
    case IR_OP_ADD: return CG_ADD;
    case IR_OP_SUB: return CG_SUB;
    case IR_OP_MUL: return CG_MUL;
    case IR_OP_DIV: return CG_DIV;
    case IR_OP_LT: return CG_LT;
    case IR_OP_LE: return CG_LE;
    case IR_OP_GT: return CG_GT;
    case IR_OP_GE: return CG_GE;
    case IR_OP_EQ: return CG_EQ;
    default: return CG_NE;
    }
}

static cg_expr *binary_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    cg_expr *a = operand_at(w, n, 0, c), *b = operand_at(w, n, 1, c);
    switch (n->op) {
    case IR_OP_MAXIMUM: return cg_max_num(w, a, b);
    case IR_OP_MINIMUM: return cg_min_num(w, a, b);
    case IR_OP_POW:
        if (a->type == IR_F32) return cg_call2(w, CG_POW, a, b);
        return cg_int_pow(w, a, b, cg_coords_level(c) > w->min_level ? cg_coords_level(c) : w->min_level, n->loc);
    case IR_OP_DIV:
        if (a->type != IR_F32) {
            ir_bug(w->d, n->loc, "lowering: integer div reached code generation");
            w->failed = true;
        }
        return cg_call2(w, CG_DIV, a, b);
    default: return cg_call2(w, binary_fn(n->op), a, b);
    }
}

/* cast: float → int truncates and saturates (NaN 0), float → bool is x != 0 (NaN too), and
 * everything else is CG_CAST's own rule; the f16/bf16 rounding is the caller's. */
static cg_expr *cast_value(cg_lower *w, const ir_node *n, cg_expr *x) {
    ir_dtype to = n->type.dtype;
    if (x->type == IR_F32 && to == IR_BOOL) return cg_call2(w, CG_NE, x, cg_const_f(w, 0));
    return cg_cast(w, to, x);
}

static cg_expr *elementwise_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    switch (n->op) {
    case IR_OP_SELECT:
        return cg_select(w, operand_at(w, n, 0, c), operand_at(w, n, 1, c), operand_at(w, n, 2, c));
    case IR_OP_CLIP: {
        cg_expr *x = cg_max_num(w, operand_at(w, n, 0, c), operand_at(w, n, 1, c));
        return cg_min_num(w, x, operand_at(w, n, 2, c));
    }
    case IR_OP_CAST: return cast_value(w, n, operand_at(w, n, 0, c));
    default: break;
    }
    if (n->n_in == 1) return unary_value(w, n, operand_at(w, n, 0, c));
    return binary_value(w, n, c);
}

/* Ops whose f16/bf16 results are already representable: no rounding after them. */
static bool exact_op(ir_op op) {
    switch (op) {
    case IR_OP_SELECT: case IR_OP_CLIP: case IR_OP_MAXIMUM: case IR_OP_MINIMUM: case IR_OP_NEG:
    case IR_OP_ABS: case IR_OP_RELU: case IR_OP_FLOOR: case IR_OP_CEIL: case IR_OP_CONSTANT: case IR_OP_FULL:
    case IR_OP_MAX: case IR_OP_MIN: case IR_OP_MAX_POOL2D:
        return true;
    default: return (ir_op_table[op].flags & IR_MOVEMENT) != 0;
    }
}

/* ---- the dispatch ------------------------------------------------------------------------------ */

static cg_expr *buffer_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    int buf = w->buf_of[n->id];
    if (buf < 0) {
        ir_bug(w->d, n->loc, "lowering: %s (node %d) is read by kernel '%s' but has no buffer", ir_op_name(n->op),
               n->id, w->k->name);
        w->failed = true;
        return cg_const_of(w, n->type.dtype, 0);
    }
    return cg_load(w, buf, cg_linearize(w, c, &n->type));
}

/* The library call's result in the scratch tile: row r's element j at (r - begin) * len + j. */
static cg_expr *scratch_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    cg_expr *flat = cg_linearize(w, c, &n->type), *len = cg_index(w, w->epi_row_len);
    cg_expr *begin = cg_mul(w, cg_begin(w), len);
    if (w->epi_row && flat == cg_add(w, cg_mul(w, w->epi_row, len), w->epi_col))
        return cg_load(w, w->scratch_buf, cg_add(w, cg_mul(w, cg_sub(w, w->epi_row, cg_begin(w)), len), w->epi_col));
    return cg_load(w, w->scratch_buf, cg_sub(w, flat, begin));
}

static cg_expr *inside_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    unsigned flags = ir_op_table[n->op].flags;
    switch (n->op) {
    case IR_OP_TRANSPOSE: return transpose_value(w, n, c);
    case IR_OP_BROADCAST_TO: return operand_at(w, n, 0, c);
    case IR_OP_SLICE: return slice_value(w, n, c);
    case IR_OP_PAD: return pad_value(w, n, c);
    case IR_OP_CONCAT: return concat_value(w, n, c);
    case IR_OP_GATHER: return gather_value(w, n, c);
    case IR_OP_ONE_HOT:
    case IR_OP_ONE_HOT_CHECKED: return one_hot_value(w, n, c);
    case IR_OP_MAX_POOL2D:
    case IR_OP_AVG_POOL2D: return cg_pool_value(w, n, c);
    case IR_OP_MAX_POOL2D_GRAD:
    case IR_OP_AVG_POOL2D_GRAD: return cg_pool_grad_value(w, n, c);
    case IR_OP_GATHER_GRAD: return cg_gather_grad_value(w, n, c);
    case IR_OP_MATMUL: return cg_matmul_value(w, n, c);
    case IR_OP_CONV2D: return cg_conv_value(w, n, c);
    case IR_OP_CROSS_ENTROPY: return cg_cross_entropy_value(w, n, c);
    default: break;
    }
    if (flags & IR_ELEMENTWISE) return elementwise_value(w, n, c);
    if (flags & IR_REDUCTION) return cg_reduce_value(w, n, c);
    ir_bug(w->d, n->loc, "lowering: %s (node %d) cannot be lowered here (kernel '%s'); composites must be decomposed first",
           ir_op_name(n->op), n->id, w->k->name);
    w->failed = true;
    return cg_const_of(w, n->type.dtype, 0);
}

static cg_expr *compute(cg_lower *w, const ir_node *n, const cg_coords *c) {
    switch (n->op) {
    case IR_OP_CONSTANT:
    case IR_OP_FULL: return cg_const_of(w, n->type.dtype, n->attr[IR_ATTR_VALUE].f);
    case IR_OP_ARANGE: return cg_cast(w, n->type.dtype, c->c[0]);
    case IR_OP_INPUT:
    case IR_OP_PARAM: return buffer_value(w, n, c);
    case IR_OP_RESHAPE:
        if (n->group < 0 || cg_in_kernel(w, n->id)) return reshape_value(w, n, c);
        break;
    default: break;
    }
    if (n->id == w->library_node) return scratch_value(w, n, c);
    if (!cg_in_kernel(w, n->id)) return buffer_value(w, n, c);
    cg_expr *v = inside_value(w, n, c);
    if ((n->type.dtype == IR_F16 || n->type.dtype == IR_BF16) && !exact_op(n->op)) v = cg_round_to(w, n->type.dtype, v);
    return v;
}

cg_expr *cg_elem(cg_lower *w, int id, const cg_coords *c) {
    IR_ASSERT(c->rank == w->g->nodes[id]->type.rank);
    cg_expr *v = memo_get(w, id, c);
    if (v) return v;
    v = compute(w, w->g->nodes[id], c);
    IR_ASSERT(v->type == cg_value_type(w->g->nodes[id]->type.dtype));
    cg_memo_set(w, id, c, v);
    return v;
}
