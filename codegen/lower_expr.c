/* lower_expr.c — Kernel IR expressions as the lowering builds them: hash-consed (one node per
 * distinct expression, so that equal coordinates are equal pointers and shared values are shared
 * DAG nodes), with integer index arithmetic folded and simplified by the ranges of loop indices,
 * and the rounding of f32 values to f16/bf16 written with plain f32 arithmetic. */
#include "codegen/lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Every expression the lowering makes is a cg_node; the backend sees its first member. */
typedef struct cg_node {
    cg_expr e;
    int level;                /* the scope level of the innermost variable it reads */
    bool ranged;              /* integers: lo <= value <= hi */
    int64_t lo, hi;
    uint64_t hash;
    struct cg_node *next;     /* the hash bucket's chain */
} cg_node;

struct cg_expr_table {
    cg_node **buckets;
    size_t cap, used;
};

static const cg_node *node_of(const cg_expr *e) { return (const cg_node *)e; }

int cg_expr_level(const cg_expr *e) { return node_of(e)->level; }

bool cg_is_const(const cg_expr *e, int64_t v) {
    return e->kind == CG_CONST && e->type != IR_F32 && e->value.i == v;
}

static bool const_i(const cg_expr *e, int64_t *v) {
    if (e->kind != CG_CONST || e->type == IR_F32) return false;
    *v = e->value.i;
    return true;
}

ir_dtype cg_value_type(ir_dtype memory) { return memory == IR_F16 || memory == IR_BF16 ? IR_F32 : memory; }

/* ---- the table ------------------------------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0xFF51AFD7ED558CCDull;
}

static uint64_t expr_hash(const cg_expr *e) {
    uint64_t bits;
    memcpy(&bits, &e->value, sizeof bits);
    uint64_t h = mix((uint64_t)e->kind, (uint64_t)e->type);
    h = mix(h, (uint64_t)e->fn);
    h = mix(h, (uint64_t)(uint32_t)e->var);
    h = mix(h, (uint64_t)(uint32_t)e->buf);
    h = mix(h, bits);
    for (int i = 0; i < 3; i++) h = mix(h, (uint64_t)(uintptr_t)e->a[i]);
    return h;
}

static bool expr_equal(const cg_expr *x, const cg_expr *y) {
    return x->kind == y->kind && x->type == y->type && x->fn == y->fn && x->var == y->var && x->buf == y->buf &&
           memcmp(&x->value, &y->value, sizeof x->value) == 0 && x->a[0] == y->a[0] && x->a[1] == y->a[1] &&
           x->a[2] == y->a[2];
}

static void table_grow(cg_expr_table *t) {
    size_t cap = t->cap ? t->cap * 2 : 4096;
    cg_node **b = calloc(cap, sizeof *b);
    IR_ASSERT(b != NULL);
    for (size_t i = 0; i < t->cap; i++) {
        for (cg_node *n = t->buckets[i], *next; n; n = next) {
            next = n->next;
            n->next = b[n->hash & (cap - 1)];
            b[n->hash & (cap - 1)] = n;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->cap = cap;
}

void cg_expr_table_free(cg_lower *w) {
    if (!w->exprs) return;
    free(w->exprs->buckets);
    free(w->exprs);
    w->exprs = NULL;
}

/* Integer ranges: only loop indices and what is computed from them are bounded. */
static const int64_t RANGE_MAX = (int64_t)1 << 61;

static bool in_range(int64_t v) { return v > -RANGE_MAX && v < RANGE_MAX; }

static void set_range(cg_node *n, int64_t lo, int64_t hi) {
    n->ranged = in_range(lo) && in_range(hi) && lo <= hi;
    n->lo = lo;
    n->hi = hi;
}

static void range_of_call(cg_node *n) {
    const cg_node *a = node_of(n->e.a[0]), *b = n->e.a[1] ? node_of(n->e.a[1]) : NULL;
    if (!a->ranged || (b && !b->ranged)) return;
    switch (n->e.fn) {
    case CG_ADD: set_range(n, a->lo + b->lo, a->hi + b->hi); break;
    case CG_SUB: set_range(n, a->lo - b->hi, a->hi - b->lo); break;
    case CG_MUL:
        if (b->lo == b->hi && b->lo >= 0 && (b->lo == 0 || (a->hi < RANGE_MAX / b->lo && a->lo > -RANGE_MAX / b->lo)))
            set_range(n, a->lo * b->lo, a->hi * b->lo);
        break;
    case CG_DIV:
        if (b->lo == b->hi && b->lo > 0 && a->lo >= 0) set_range(n, a->lo / b->lo, a->hi / b->lo);
        break;
    case CG_REM:
        if (b->lo == b->hi && b->lo > 0 && a->lo >= 0) set_range(n, a->hi < b->lo ? a->lo : 0, a->hi < b->lo ? a->hi : b->lo - 1);
        break;
    default: break;
    }
}

static void range_of(cg_lower *w, cg_node *n) {
    const cg_expr *e = &n->e;
    if (e->type == IR_BOOL) {
        set_range(n, 0, 1);
        return;
    }
    if (e->type != IR_I64 && e->type != IR_I32) return;
    switch (e->kind) {
    case CG_CONST: set_range(n, e->value.i, e->value.i); break;
    case CG_VAR:
        if (w->var_extent[e->var] > 0) set_range(n, 0, w->var_extent[e->var] - 1);
        break;
    case CG_BEGIN: set_range(n, 0, RANGE_MAX - 1); break;
    case CG_CALL:
        if (e->type == IR_I64) range_of_call(n); /* i32 arithmetic may wrap */
        break;
    case CG_SELECT: {
        const cg_node *a = node_of(e->a[1]), *b = node_of(e->a[2]);
        if (a->ranged && b->ranged) set_range(n, a->lo < b->lo ? a->lo : b->lo, a->hi > b->hi ? a->hi : b->hi);
        break;
    }
    case CG_CAST: {
        const cg_node *a = node_of(e->a[0]);
        if (a->ranged && e->a[0]->type != IR_F32 && (e->type == IR_I64 || (a->lo >= INT32_MIN && a->hi <= INT32_MAX)))
            set_range(n, a->lo, a->hi);
        break;
    }
    default: break;
    }
}

/* The one node equal to *proto (made on first request). */
static cg_expr *intern(cg_lower *w, const cg_expr *proto) {
    if (!w->exprs) {
        w->exprs = calloc(1, sizeof *w->exprs);
        IR_ASSERT(w->exprs != NULL);
    }
    cg_expr_table *t = w->exprs;
    if (2 * (t->used + 1) > t->cap) table_grow(t);
    uint64_t h = expr_hash(proto);
    for (cg_node *n = t->buckets[h & (t->cap - 1)]; n; n = n->next)
        if (n->hash == h && expr_equal(&n->e, proto)) return &n->e;
    cg_node *n = ir_alloc(w->a, sizeof *n);
    n->e = *proto;
    n->hash = h;
    for (int i = 0; i < 3; i++)
        if (proto->a[i] && node_of(proto->a[i])->level > n->level) n->level = node_of(proto->a[i])->level;
    if (proto->kind == CG_VAR) n->level = w->var_level[proto->var];
    range_of(w, n);
    n->next = t->buckets[h & (t->cap - 1)];
    t->buckets[h & (t->cap - 1)] = n;
    t->used++;
    return &n->e;
}

/* ---- leaves ---------------------------------------------------------------------------------- */

cg_expr *cg_const_f(cg_lower *w, double v) {
    cg_expr e = {.kind = CG_CONST, .type = IR_F32};
    e.value.f = isnan(v) ? (double)NAN : (double)(float)v;
    return intern(w, &e);
}

/* An integer constant keeps the dtype's own value: i32 wraps, bool is 0 or 1. */
static int64_t wrap_to(ir_dtype t, int64_t v) {
    if (t == IR_BOOL) return v != 0;
    if (t == IR_I32) {
        uint32_t low = (uint32_t)(uint64_t)v;
        return low <= INT32_MAX ? (int64_t)low : (int64_t)low - ((int64_t)1 << 32);
    }
    return v;
}

cg_expr *cg_const_i(cg_lower *w, ir_dtype t, int64_t v) {
    IR_ASSERT(t == IR_I32 || t == IR_I64 || t == IR_BOOL);
    cg_expr e = {.kind = CG_CONST, .type = t};
    e.value.i = wrap_to(t, v);
    return intern(w, &e);
}

cg_expr *cg_index(cg_lower *w, int64_t v) { return cg_const_i(w, IR_I64, v); }

static int64_t saturate(double v, int64_t lo, int64_t hi) {
    if (isnan(v)) return 0;
    if (v <= (double)lo) return lo;
    if (v >= (double)hi) return hi;
    return (int64_t)v;
}

/* f16 and bf16 constants hold the value the interpreter's conversion stores (ir.h). */
cg_expr *cg_const_of(cg_lower *w, ir_dtype dtype, double v) {
    switch (dtype) {
    case IR_F32: return cg_const_f(w, v);
    case IR_F16: return cg_const_f(w, ir_f16_to_f32(ir_f32_to_f16((float)v)));
    case IR_BF16: return cg_const_f(w, ir_bf16_to_f32(ir_f32_to_bf16((float)v)));
    case IR_I32: return cg_const_i(w, IR_I32, saturate(v, INT32_MIN, INT32_MAX));
    case IR_I64: return cg_const_i(w, IR_I64, saturate(v, INT64_MIN, INT64_MAX));
    case IR_BOOL: return cg_const_i(w, IR_BOOL, v != 0);
    default: ir_internal_error(__FILE__, __LINE__, "bad dtype");
    }
}

cg_expr *cg_var_ref(cg_lower *w, int var) {
    /* The index of a one-iteration loop is the constant 0, so that values read in several such
       loops of a kernel have the same expression (the memo is keyed by coordinate expressions). */
    if (w->var_extent[var] == 1) return cg_index(w, 0);
    cg_expr e = {.kind = CG_VAR, .type = w->p->vars[var].type, .var = var};
    return intern(w, &e);
}

cg_expr *cg_begin(cg_lower *w) {
    cg_expr e = {.kind = CG_BEGIN, .type = IR_I64};
    return intern(w, &e);
}

cg_expr *cg_load(cg_lower *w, int buf, cg_expr *index) {
    IR_ASSERT(index->type == IR_I64);
    cg_expr e = {.kind = CG_LOAD, .type = cg_value_type(w->p->buffers[buf].dtype), .buf = buf, .a = {index}};
    return intern(w, &e);
}

/* ---- calls ------------------------------------------------------------------------------------ */

static bool is_compare(cg_fn f) { return f >= CG_LT && f <= CG_NE; }

static bool compare_i(cg_fn f, int64_t a, int64_t b) {
    switch (f) {
    case CG_LT: return a < b;
    case CG_LE: return a <= b;
    case CG_GT: return a > b;
    case CG_GE: return a >= b;
    case CG_EQ: return a == b;
    default: return a != b;
    }
}

/* A comparison the operands' ranges decide: 1 true, 0 false, -1 unknown. */
static int compare_by_range(cg_fn f, const cg_node *a, const cg_node *b) {
    if (!a->ranged || !b->ranged) return -1;
    bool single = a->lo == a->hi && b->lo == b->hi, apart = a->hi < b->lo || b->hi < a->lo;
    switch (f) {
    case CG_LT: return a->hi < b->lo ? 1 : a->lo >= b->hi ? 0 : -1;
    case CG_LE: return a->hi <= b->lo ? 1 : a->lo > b->hi ? 0 : -1;
    case CG_GT: return a->lo > b->hi ? 1 : a->hi <= b->lo ? 0 : -1;
    case CG_GE: return a->lo >= b->hi ? 1 : a->hi < b->lo ? 0 : -1;
    case CG_EQ: return apart ? 0 : single ? 1 : -1;
    case CG_NE: return apart ? 1 : single ? 0 : -1;
    default: return -1;
    }
}

static int64_t fold_i(cg_fn f, ir_dtype t, int64_t a, int64_t b) {
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    int64_t q;
    switch (f) {
    case CG_ADD: return wrap_to(t, (int64_t)(ua + ub));
    case CG_SUB: return wrap_to(t, (int64_t)(ua - ub));
    case CG_MUL: return wrap_to(t, (int64_t)(ua * ub));
    case CG_DIV: return a / b;
    case CG_REM: return a % b;
    case CG_FLOOR_DIV:
        q = a / b;
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
    case CG_FLOOR_MOD:
        q = a % b;
        return (q != 0 && (q < 0) != (b < 0)) ? q + b : q;
    case CG_AND: return a && b;
    case CG_OR: return a || b;
    default: return compare_i(f, a, b);
    }
}

static cg_expr *make_call(cg_lower *w, cg_fn f, ir_dtype type, cg_expr *a, cg_expr *b) {
    cg_expr e = {.kind = CG_CALL, .type = type, .fn = f, .a = {a, b}};
    return intern(w, &e);
}

static bool is_call(const cg_expr *e, cg_fn f) { return e->kind == CG_CALL && e->fn == f; }

/* Integer index identities: (a/c)*c + a%c = a; (x*c2 + y)/c and %c for y in [0, c) or [0, c2). */
static cg_expr *simplify_add(cg_lower *w, cg_expr *a, cg_expr *b) {
    int64_t ca = 0, cb = 0;
    if (const_i(a, &ca) && !const_i(b, &cb)) return simplify_add(w, b, a);
    if (const_i(b, &cb) && cb == 0) return a;
    if (const_i(b, &cb) && is_call(a, CG_ADD) && const_i(a->a[1], &ca))
        return cg_add(w, a->a[0], cg_index(w, ca + cb));
    if (is_call(a, CG_MUL) && is_call(b, CG_REM) && is_call(a->a[0], CG_DIV) && a->a[0]->a[0] == b->a[0] &&
        a->a[0]->a[1] == b->a[1] && a->a[1] == b->a[1])
        return b->a[0];
    return make_call(w, CG_ADD, IR_I64, a, b);
}

static cg_expr *simplify_mul(cg_lower *w, cg_expr *a, cg_expr *b) {
    int64_t ca = 0, cb = 0;
    if (const_i(a, &ca) && !const_i(b, &cb)) return simplify_mul(w, b, a);
    if (const_i(b, &cb)) {
        if (cb == 0) return cg_index(w, 0);
        if (cb == 1) return a;
        if (is_call(a, CG_MUL) && const_i(a->a[1], &ca)) return cg_mul(w, a->a[0], cg_index(w, ca * cb));
    }
    return make_call(w, CG_MUL, IR_I64, a, b);
}

/* x*c2 + y with y in [0, lim): the parts of a linear index. */
static bool split_linear(cg_expr *a, cg_expr **x, int64_t *c2, cg_expr **y) {
    if (is_call(a, CG_MUL) && const_i(a->a[1], c2)) {
        *x = a->a[0];
        *y = NULL;
        return true;
    }
    if (is_call(a, CG_ADD) && is_call(a->a[0], CG_MUL) && const_i(a->a[0]->a[1], c2)) {
        *x = a->a[0]->a[0];
        *y = a->a[1];
        return true;
    }
    return false;
}

static bool y_below(cg_expr *y, int64_t lim) {
    return !y || (node_of(y)->ranged && node_of(y)->lo >= 0 && node_of(y)->hi < lim);
}

static cg_expr *simplify_divrem(cg_lower *w, cg_fn f, cg_expr *a, int64_t c) {
    const cg_node *na = node_of(a);
    bool nonneg = na->ranged && na->lo >= 0;
    if (c == 1) return f == CG_DIV ? a : cg_index(w, 0);
    if (nonneg && na->hi < c) return f == CG_DIV ? cg_index(w, 0) : a;
    cg_expr *x, *y;
    int64_t c2;
    if (nonneg && c > 0 && split_linear(a, &x, &c2, &y) && c2 > 0 && node_of(x)->ranged && node_of(x)->lo >= 0) {
        if (c2 % c == 0 && y_below(y, c)) /* (x*c2 + y) = (x*c2/c)*c + y */
            return f == CG_DIV ? cg_mul(w, x, cg_index(w, c2 / c)) : (y ? y : cg_index(w, 0));
        if (c % c2 == 0 && y_below(y, c2)) { /* (x*c2 + y) / c = x / (c/c2) */
            if (f == CG_DIV) return cg_call2(w, CG_DIV, x, cg_index(w, c / c2));
            cg_expr *r = cg_mul(w, cg_call2(w, CG_REM, x, cg_index(w, c / c2)), cg_index(w, c2));
            return y ? cg_add(w, r, y) : r;
        }
    }
    return make_call(w, f, IR_I64, a, cg_index(w, c));
}

static ir_dtype call_type(cg_fn f, const cg_expr *a) {
    if (is_compare(f) || f == CG_ISNAN) return IR_BOOL;
    return a->type;
}

cg_expr *cg_call1(cg_lower *w, cg_fn f, cg_expr *a) {
    IR_ASSERT(cg_fn_arity(f) == 1);
    int64_t v;
    if (f == CG_NOT && const_i(a, &v)) return cg_const_i(w, IR_BOOL, !v);
    if (f == CG_NEG && a->type != IR_F32 && const_i(a, &v)) return cg_const_i(w, a->type, (int64_t)(0 - (uint64_t)v));
    if (f == CG_NEG && a->type == IR_F32 && a->kind == CG_CONST) return cg_const_f(w, -a->value.f);
    return make_call(w, f, call_type(f, a), a, NULL);
}

cg_expr *cg_call2(cg_lower *w, cg_fn f, cg_expr *a, cg_expr *b) {
    IR_ASSERT(cg_fn_arity(f) == 2 && a->type == b->type);
    int64_t ca = 0, cb = 0;
    bool ka = const_i(a, &ca), kb = const_i(b, &cb);
    bool divides = f == CG_DIV || f == CG_REM || f == CG_FLOOR_DIV || f == CG_FLOOR_MOD;
    if (ka && kb && f != CG_POW && f != CG_MAX && f != CG_MIN && !(divides && (cb == 0 || (cb == -1 && ca == INT64_MIN))))
        return cg_const_i(w, call_type(f, a), fold_i(f, a->type, ca, cb));
    if (a->type == IR_BOOL && (f == CG_AND || f == CG_OR)) {
        if (ka) return (ca != 0) == (f == CG_AND) ? b : a;
        if (kb) return (cb != 0) == (f == CG_AND) ? a : b;
    }
    if (is_compare(f) && a->type != IR_F32) {
        int r = compare_by_range(f, node_of(a), node_of(b));
        if (r >= 0) return cg_const_i(w, IR_BOOL, r);
    }
    if (a->type == IR_I64) {
        switch (f) {
        case CG_ADD: return simplify_add(w, a, b);
        case CG_SUB:
            if (a == b) return cg_index(w, 0);
            if (kb) return cg_add(w, a, cg_index(w, (int64_t)(0 - (uint64_t)cb)));
            break;
        case CG_MUL: return simplify_mul(w, a, b);
        case CG_DIV:
        case CG_REM:
            if (kb && cb > 0) return simplify_divrem(w, f, a, cb);
            break;
        default: break;
        }
    }
    return make_call(w, f, call_type(f, a), a, b);
}

cg_expr *cg_select(cg_lower *w, cg_expr *c, cg_expr *a, cg_expr *b) {
    IR_ASSERT(c->type == IR_BOOL && a->type == b->type);
    int64_t v;
    if (const_i(c, &v)) return v ? a : b;
    if (a == b) return a;
    cg_expr e = {.kind = CG_SELECT, .type = a->type, .a = {c, a, b}};
    return intern(w, &e);
}

/* CG_CAST of constants, with its rules: float→int truncates and saturates (NaN 0), int→int
 * wraps, anything→bool is != 0, bool→number 0 or 1. */
static cg_expr *fold_cast(cg_lower *w, ir_dtype t, const cg_expr *a) {
    if (a->type == IR_F32) {
        double v = a->value.f;
        if (t == IR_BOOL) return cg_const_i(w, t, v != 0);
        return cg_const_i(w, t, t == IR_I32 ? saturate(v, INT32_MIN, INT32_MAX) : saturate(v, INT64_MIN, INT64_MAX));
    }
    if (t == IR_F32) return cg_const_f(w, (double)(float)a->value.i);
    return cg_const_i(w, t, a->value.i);
}

cg_expr *cg_cast(cg_lower *w, ir_dtype t, cg_expr *a) {
    t = cg_value_type(t);
    if (a->type == t) return a;
    if (a->kind == CG_CONST) return fold_cast(w, t, a);
    /* i32 → i64 → i32, or i64 → i32 → i64 of a value that fits in i32: the value itself */
    const cg_expr *x = a->kind == CG_CAST ? a->a[0] : NULL;
    if (x && x->type == t && (t == IR_I32 || t == IR_I64) && (a->type == IR_I32 || a->type == IR_I64) &&
        (a->type == IR_I64 || (node_of(x)->ranged && node_of(x)->lo >= INT32_MIN && node_of(x)->hi <= INT32_MAX)))
        return a->a[0];
    cg_expr e = {.kind = CG_CAST, .type = t, .a = {a}};
    return intern(w, &e);
}

/* ---- helpers --------------------------------------------------------------------------------- */

cg_expr *cg_add(cg_lower *w, cg_expr *a, cg_expr *b) { return cg_call2(w, CG_ADD, a, b); }
cg_expr *cg_sub(cg_lower *w, cg_expr *a, cg_expr *b) { return cg_call2(w, CG_SUB, a, b); }
cg_expr *cg_mul(cg_lower *w, cg_expr *a, cg_expr *b) { return cg_call2(w, CG_MUL, a, b); }

cg_expr *cg_max_num(cg_lower *w, cg_expr *a, cg_expr *b) {
    if (a->type == IR_F32) return cg_call2(w, CG_MAX, a, b);
    return cg_select(w, cg_call2(w, CG_GT, b, a), b, a);
}

cg_expr *cg_min_num(cg_lower *w, cg_expr *a, cg_expr *b) {
    if (a->type == IR_F32) return cg_call2(w, CG_MIN, a, b);
    return cg_select(w, cg_call2(w, CG_LT, b, a), b, a);
}

cg_expr *cg_clamp(cg_lower *w, cg_expr *x, int64_t lo, int64_t hi) {
    return cg_min_num(w, cg_max_num(w, x, cg_index(w, lo)), cg_index(w, hi));
}

cg_expr *cg_clamp_inside(cg_lower *w, cg_expr *pos, int64_t dim, cg_expr **inside) {
    cg_expr *in_range = cg_call2(w, CG_AND, cg_call2(w, CG_GE, pos, cg_index(w, 0)),
                                cg_call2(w, CG_LT, pos, cg_index(w, dim)));
    *inside = cg_call2(w, CG_AND, *inside, in_range);
    return cg_clamp(w, pos, 0, dim - 1);
}

/* Rounding x to a format with p significant bits inside f32's normal range is Veltkamp's split:
 * c = x * (2^(24-p) + 1), hi = c - (c - x), exact round-to-nearest-even under IEEE f32
 * arithmetic (checked against the interpreter's conversion for all 2^32 inputs). Below the
 * format's normal range the quantum is fixed and (x + M) - M rounds to it for an M whose ulp is
 * that quantum; zero keeps its sign; out of range gives infinity. No fast-math: the backend
 * must not contract or reassociate these (it only relaxes reduction updates). */
static cg_expr *veltkamp(cg_lower *w, cg_expr *x, double split) {
    cg_expr *c = cg_call2(w, CG_MUL, x, cg_const_f(w, split));
    return cg_call2(w, CG_SUB, c, cg_call2(w, CG_SUB, c, x));
}

static cg_expr *fixed_quantum(cg_lower *w, cg_expr *x, double magic) {
    cg_expr *m = cg_const_f(w, magic);
    return cg_call2(w, CG_SUB, cg_call2(w, CG_ADD, x, m), m);
}

cg_expr *cg_round_to(cg_lower *w, ir_dtype dtype, cg_expr *x) {
    IR_ASSERT(x->type == IR_F32);
    if (x->kind == CG_CONST) return cg_const_of(w, dtype, x->value.f);
    cg_expr *a = cg_call1(w, CG_ABS, x), *zero = cg_const_f(w, 0), *r;
    if (dtype == IR_F16) {
        cg_expr *small = cg_call2(w, CG_LT, a, cg_const_f(w, 0x1p-14));
        r = cg_select(w, small, fixed_quantum(w, x, 0.75), veltkamp(w, x, 8193.0));
    } else {
        IR_ASSERT(dtype == IR_BF16);
        cg_expr *big = cg_call2(w, CG_GE, a, cg_const_f(w, 0x1p64));
        cg_expr *y = cg_select(w, big, cg_call2(w, CG_MUL, x, cg_const_f(w, 0x1p-80)), x);
        cg_expr *h = veltkamp(w, y, 65537.0);
        h = cg_select(w, big, cg_call2(w, CG_MUL, h, cg_const_f(w, 0x1p80)), h);
        cg_expr *small = cg_call2(w, CG_LT, a, cg_const_f(w, 0x1p-126));
        r = cg_select(w, small, fixed_quantum(w, x, 0x1.8p-110), h);
    }
    r = cg_select(w, cg_call2(w, CG_EQ, r, zero), cg_call2(w, CG_MUL, x, zero), r);
    cg_expr *inf = cg_const_f(w, INFINITY);
    if (dtype == IR_F16) {
        cg_expr *signed_inf = cg_select(w, cg_call2(w, CG_GT, x, zero), inf, cg_const_f(w, -INFINITY));
        return cg_select(w, cg_call2(w, CG_GE, a, cg_const_f(w, 65520.0)), signed_inf, r);
    }
    return cg_select(w, cg_call2(w, CG_EQ, a, inf), x, r);
}

/* ---- names ------------------------------------------------------------------------------------ */

static const char *const fn_names[CG_FN_COUNT] = {
    [CG_NEG] = "neg", [CG_ABS] = "abs", [CG_EXP] = "exp", [CG_LOG] = "log", [CG_SQRT] = "sqrt",
    [CG_RSQRT] = "rsqrt", [CG_TANH] = "tanh", [CG_SIGMOID] = "sigmoid", [CG_RELU] = "relu",
    [CG_GELU] = "gelu", [CG_GELU_TANH] = "gelu_tanh", [CG_SILU] = "silu", [CG_SIN] = "sin",
    [CG_COS] = "cos", [CG_ERF] = "erf", [CG_FLOOR] = "floor", [CG_CEIL] = "ceil", [CG_NOT] = "not",
    [CG_ISNAN] = "isnan", [CG_ADD] = "add", [CG_SUB] = "sub", [CG_MUL] = "mul", [CG_DIV] = "div",
    [CG_REM] = "rem", [CG_FLOOR_DIV] = "floor_div", [CG_FLOOR_MOD] = "floor_mod", [CG_POW] = "pow",
    [CG_MAX] = "max", [CG_MIN] = "min", [CG_AND] = "and", [CG_OR] = "or", [CG_LT] = "lt",
    [CG_LE] = "le", [CG_GT] = "gt", [CG_GE] = "ge", [CG_EQ] = "eq", [CG_NE] = "ne",
};

const char *cg_fn_name(cg_fn f) { return f >= 0 && f < CG_FN_COUNT && fn_names[f] ? fn_names[f] : "?"; }

int cg_fn_arity(cg_fn f) { return f >= CG_ADD ? 2 : 1; }
