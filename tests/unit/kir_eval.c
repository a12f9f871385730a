/* kir_eval.c — the test oracle for the lowering: Kernel IR run statement by statement on host
 * memory, f32 in float arithmetic, integers wrapping in their width, f16/bf16 rounded on store
 * as the interpreter rounds; GEMM and convolution by naive loops into a result tile, then the
 * epilogue per row range. Every load and store is bounds-checked. Also a validator of the
 * rules in codegen/codegen.h. Test-only. */
#include "tests/unit/kir_eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the validator ------------------------------------------------------------------------------ */

typedef struct validator {
    const cg_program *p;
    char *buf;
    size_t size;
    bool bad;
    const cg_expr **seen;
    size_t cap, used;
} validator;

static void fail(validator *v, const char *fmt, ...) {
    if (v->bad) return;
    v->bad = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->buf, v->size, fmt, ap);
    va_end(ap);
}

static bool visit(validator *v, const cg_expr *e) {
    if (2 * (v->used + 1) > v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 1024;
        const cg_expr **t = calloc(cap, sizeof *t);
        for (size_t i = 0; i < v->cap; i++) {
            if (!v->seen[i]) continue;
            size_t j = ((uintptr_t)v->seen[i] >> 4) & (cap - 1);
            while (t[j]) j = (j + 1) & (cap - 1);
            t[j] = v->seen[i];
        }
        free(v->seen);
        v->seen = t;
        v->cap = cap;
    }
    size_t j = ((uintptr_t)e >> 4) & (v->cap - 1);
    while (v->seen[j] && v->seen[j] != e) j = (j + 1) & (v->cap - 1);
    if (v->seen[j]) return false;
    v->seen[j] = e;
    v->used++;
    return true;
}

static bool value_type(ir_dtype t) { return t == IR_F32 || t == IR_I32 || t == IR_I64 || t == IR_BOOL; }

static ir_dtype mem_value(ir_dtype t) { return t == IR_F16 || t == IR_BF16 ? IR_F32 : t; }

static void check_call(validator *v, const cg_expr *e) {
    const cg_expr *a = e->a[0], *b = e->a[1];
    cg_fn f = e->fn;
    if (cg_fn_arity(f) == 1) {
        if (f == CG_NOT) {
            if (a->type != IR_BOOL || e->type != IR_BOOL) fail(v, "not: bool expected");
        } else if (f == CG_ISNAN) {
            if (a->type != IR_F32 || e->type != IR_BOOL) fail(v, "isnan: f32 -> bool expected");
        } else if (e->type != a->type || (f != CG_NEG && f != CG_ABS && f != CG_RELU && a->type != IR_F32)) {
            fail(v, "%s: bad operand type %s", cg_fn_name(f), ir_dtype_name(a->type));
        }
        return;
    }
    if (!b || a->type != b->type) {
        fail(v, "%s: operand types differ", cg_fn_name(f));
        return;
    }
    if (f >= CG_LT) {
        if (e->type != IR_BOOL) fail(v, "%s: result must be bool", cg_fn_name(f));
        if (a->type == IR_BOOL && f != CG_EQ && f != CG_NE) fail(v, "%s: ordered comparison of bools", cg_fn_name(f));
    } else if (f == CG_AND || f == CG_OR) {
        if (a->type != IR_BOOL || e->type != IR_BOOL) fail(v, "%s: bool expected", cg_fn_name(f));
    } else if (e->type != a->type || a->type == IR_BOOL) {
        fail(v, "%s: bad types", cg_fn_name(f));
    } else if ((f == CG_REM || f == CG_FLOOR_DIV || f == CG_FLOOR_MOD) && a->type == IR_F32) {
        fail(v, "%s on f32", cg_fn_name(f));
    } else if (f == CG_POW && a->type != IR_F32) {
        fail(v, "pow on integers");
    }
}

static void check_expr(validator *v, const cg_expr *e) {
    if (v->bad || !visit(v, e)) return;
    if (!value_type(e->type)) fail(v, "expression of type %s", ir_dtype_name(e->type));
    switch (e->kind) {
    case CG_CONST: break;
    case CG_VAR:
        if (e->var < 0 || e->var >= v->p->n_vars || v->p->vars[e->var].type != e->type) fail(v, "bad variable %d", e->var);
        break;
    case CG_BEGIN:
        if (e->type != IR_I64) fail(v, "begin must be i64");
        break;
    case CG_LOAD:
        if (e->buf < 0 || e->buf >= v->p->n_buffers) fail(v, "load of buffer %d", e->buf);
        else if (e->a[0]->type != IR_I64 || e->type != mem_value(v->p->buffers[e->buf].dtype)) fail(v, "bad load types");
        break;
    case CG_CALL: check_call(v, e); break;
    case CG_SELECT:
        if (e->a[0]->type != IR_BOOL || e->a[1]->type != e->type || e->a[2]->type != e->type) fail(v, "bad select types");
        break;
    case CG_CAST:
        if (e->a[0]->type == e->type) fail(v, "cast to its own type");
        break;
    default: fail(v, "bad expression kind %d", e->kind);
    }
    int n = e->kind == CG_SELECT ? 3 : e->kind == CG_CALL ? cg_fn_arity(e->fn) : e->kind == CG_LOAD || e->kind == CG_CAST;
    for (int i = 0; i < n; i++) check_expr(v, e->a[i]);
}

static bool has_loop(const cg_stmt *s) {
    for (int i = 0; i < s->n_body; i++)
        if (s->body[i]->kind == CG_LOOP) return true;
    return false;
}

static void check_stmts(validator *v, const cg_kernel *k, cg_stmt **body, int n, bool top) {
    for (int i = 0; i < n && !v->bad; i++) {
        const cg_stmt *s = body[i];
        switch (s->kind) {
        case CG_LOOP:
            if (s->var < 0 || s->var >= v->p->n_vars || !v->p->vars[s->var].is_index) fail(v, "loop over a non-index variable");
            if ((s->flags & CG_LOOP_PARALLEL) && !(top && i == 0 && n == 1)) fail(v, "%s: misplaced parallel loop", k->name);
            if ((s->flags & CG_LOOP_VECTOR) && has_loop(s)) fail(v, "%s: vector loop that is not innermost", k->name);
            if (s->extent < 0) fail(v, "negative extent");
            check_stmts(v, k, s->body, s->n_body, false);
            break;
        case CG_ASSIGN:
            if (s->var < 0 || s->var >= v->p->n_vars || v->p->vars[s->var].is_index ||
                v->p->vars[s->var].type != s->value->type)
                fail(v, "%s: bad assignment", k->name);
            check_expr(v, s->value);
            break;
        case CG_STORE:
            if (s->buf < 0 || s->buf >= v->p->n_buffers || s->index->type != IR_I64 ||
                s->value->type != mem_value(v->p->buffers[s->buf].dtype))
                fail(v, "%s: bad store", k->name);
            check_expr(v, s->index);
            check_expr(v, s->value);
            break;
        case CG_CHECK:
            if (s->check < 0 || s->check >= k->n_checks || s->value->type != IR_BOOL) fail(v, "%s: bad check", k->name);
            check_expr(v, s->value);
            break;
        default: fail(v, "bad statement kind");
        }
    }
}

const char *kir_validate(const cg_program *p, char *buf, size_t size) {
    validator v = {.p = p, .buf = buf, .size = size};
    for (int b = 0; b < p->n_buffers; b++) {
        const cg_buffer *x = &p->buffers[b];
        int64_t bytes = x->elems * (int64_t)ir_dtype_size(x->dtype);
        if (x->slot != CG_SCRATCH_SLOT && (x->slot < 0 || x->slot >= p->n_slots)) fail(&v, "buffer %s in slot %d", x->name, x->slot);
        if (x->offset % (int64_t)ir_dtype_size(x->dtype) != 0) fail(&v, "buffer %s misaligned", x->name);
        if (x->slot == 0 && (x->offset % 64 != 0 || x->offset + bytes > p->arena_bytes)) fail(&v, "buffer %s outside the arena", x->name);
    }
    for (int k = 0; k < p->n_kernels && !v.bad; k++) {
        const cg_kernel *kk = &p->kernels[k];
        bool parallel = kk->n_body == 1 && kk->body[0]->kind == CG_LOOP && (kk->body[0]->flags & CG_LOOP_PARALLEL);
        if (kk->parallel_extent != (parallel ? kk->body[0]->extent : 1) || kk->grain < 1)
            fail(&v, "%s: parallel extent %lld or grain %lld wrong", kk->name, (long long)kk->parallel_extent, (long long)kk->grain);
        if (kk->kind != CG_KERNEL_LOOP && kk->n_body && !parallel) fail(&v, "%s: an epilogue must be a parallel loop", kk->name);
        check_stmts(&v, kk, kk->body, kk->n_body, true);
    }
    free(v.seen);
    return v.bad ? buf : NULL;
}

/* ---- the evaluator ------------------------------------------------------------------------------ */

typedef struct kv {
    double f;                 /* f32 values (always a float's value) */
    int64_t i;                /* integers and bools */
} kv;

typedef struct ev {
    const cg_program *p;
    const cg_kernel *k;
    char **slots;
    char *scratch;
    int64_t scratch_elems;
    int64_t begin, end;
    kv *vars;
    const cg_expr **mkey;     /* the per-statement memo: a shared node is evaluated once */
    kv *mval;
    unsigned *mgen;
    size_t mcap, mused;
    unsigned gen;
    int failed;               /* the first failed check, -1 */
    const char *error;
    char errbuf[256];
} ev;

static void error(ev *e, const char *fmt, ...) {
    if (e->error) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->errbuf, sizeof e->errbuf, fmt, ap);
    va_end(ap);
    e->error = e->errbuf;
}

static size_t slot_of(const ev *e, const cg_expr *x) { return ((uintptr_t)x >> 4) & (e->mcap - 1); }

static kv *memo_find(ev *e, const cg_expr *x, bool *found) {
    if (2 * (e->mused + 1) > e->mcap) {
        size_t old_cap = e->mcap;
        const cg_expr **ok = e->mkey;
        kv *ov = e->mval;
        unsigned *og = e->mgen;
        e->mcap = old_cap ? 2 * old_cap : 1024;
        e->mkey = calloc(e->mcap, sizeof *e->mkey);
        e->mval = calloc(e->mcap, sizeof *e->mval);
        e->mgen = calloc(e->mcap, sizeof *e->mgen);
        e->mused = 0;
        for (size_t i = 0; i < old_cap; i++) {
            if (og[i] != e->gen) continue;
            size_t j = slot_of(e, ok[i]);
            while (e->mgen[j] == e->gen) j = (j + 1) & (e->mcap - 1);
            e->mkey[j] = ok[i], e->mval[j] = ov[i], e->mgen[j] = e->gen, e->mused++;
        }
        free(ok), free(ov), free(og);
    }
    size_t j = slot_of(e, x);
    while (e->mgen[j] == e->gen && e->mkey[j] != x) j = (j + 1) & (e->mcap - 1);
    *found = e->mgen[j] == e->gen;
    if (!*found) e->mkey[j] = x, e->mgen[j] = e->gen, e->mused++;
    return &e->mval[j];
}

static void memo_clear(ev *e) {
    e->mused = 0;
    if (++e->gen == 0) {
        memset(e->mgen, 0, sizeof *e->mgen * e->mcap);
        e->gen = 1;
    }
}

/* The address of element idx of buffer b, or NULL (reported) when out of bounds. */
static char *element(ev *e, int b, int64_t idx) {
    const cg_buffer *x = &e->p->buffers[b];
    bool scratch = x->slot == CG_SCRATCH_SLOT;
    int64_t elems = scratch ? e->scratch_elems : x->elems;
    if (idx < 0 || idx >= elems || (scratch && !e->scratch)) {
        error(e, "kernel %s: access to %s[%lld] outside [0, %lld)", e->k->name, x->name, (long long)idx, (long long)elems);
        return NULL;
    }
    char *base = scratch ? e->scratch : e->slots[x->slot];
    return base + x->offset + idx * (int64_t)ir_dtype_size(x->dtype);
}

static kv load(ev *e, int b, int64_t idx) {
    kv r = {0, 0};
    char *at = element(e, b, idx);
    if (!at) return r;
    switch (e->p->buffers[b].dtype) {
    case IR_F32: { float f; memcpy(&f, at, 4); r.f = f; break; }
    case IR_F16: { uint16_t h; memcpy(&h, at, 2); r.f = ir_f16_to_f32(h); break; }
    case IR_BF16: { uint16_t h; memcpy(&h, at, 2); r.f = ir_bf16_to_f32(h); break; }
    case IR_I32: { int32_t v; memcpy(&v, at, 4); r.i = v; break; }
    case IR_I64: memcpy(&r.i, at, 8); break;
    default: r.i = *(uint8_t *)at != 0; break;
    }
    return r;
}

static void store(ev *e, int b, int64_t idx, kv v) {
    char *at = element(e, b, idx);
    if (!at) return;
    float f = (float)v.f;
    switch (e->p->buffers[b].dtype) {
    case IR_F32: memcpy(at, &f, 4); break;
    case IR_F16: { uint16_t h = ir_f32_to_f16(f); memcpy(at, &h, 2); break; }
    case IR_BF16: { uint16_t h = ir_f32_to_bf16(f); memcpy(at, &h, 2); break; }
    case IR_I32: { int32_t x = (int32_t)v.i; memcpy(at, &x, 4); break; }
    case IR_I64: memcpy(at, &v.i, 8); break;
    default: *(uint8_t *)at = v.i != 0; break;
    }
}

static int64_t wrap(ir_dtype t, uint64_t v) {
    if (t == IR_BOOL) return v != 0;
    if (t == IR_I32) {
        uint32_t low = (uint32_t)v;
        return low <= INT32_MAX ? (int64_t)low : (int64_t)low - ((int64_t)1 << 32);
    }
    return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

static float sigmoidf(float x) {
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static float unary_f(cg_fn f, float x) {
    switch (f) {
    case CG_NEG: return -x;
    case CG_ABS: return fabsf(x);
    case CG_EXP: return expf(x);
    case CG_LOG: return logf(x);
    case CG_SQRT: return sqrtf(x);
    case CG_RSQRT: return 1.0f / sqrtf(x);
    case CG_TANH: return tanhf(x);
    case CG_SIGMOID: return sigmoidf(x);
    case CG_RELU: return x < 0 ? 0.0f : x;
    case CG_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case CG_GELU_TANH: return 0.5f * x * (1.0f + tanhf(0.79788456080286535f * (x + 0.044715f * x * x * x)));
    case CG_SILU: return x * sigmoidf(x);
    case CG_SIN: return sinf(x);
    case CG_COS: return cosf(x);
    case CG_ERF: return erff(x);
    case CG_FLOOR: return floorf(x);
    default: return ceilf(x);
    }
}

static bool compare(cg_fn f, double a, double b) {
    switch (f) {
    case CG_LT: return a < b;
    case CG_LE: return a <= b;
    case CG_GT: return a > b;
    case CG_GE: return a >= b;
    case CG_EQ: return a == b;
    default: return a != b;
    }
}

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

static kv binary(ev *e, const cg_expr *x, kv a, kv b) {
    kv r = {0, 0};
    ir_dtype t = x->a[0]->type;
    cg_fn f = x->fn;
    if (f >= CG_LT) {
        r.i = t == IR_F32 ? compare(f, a.f, b.f) : compare_i(f, a.i, b.i);
        return r;
    }
    if (t == IR_F32) {
        float fa = (float)a.f, fb = (float)b.f;
        switch (f) {
        case CG_ADD: r.f = fa + fb; break;
        case CG_SUB: r.f = fa - fb; break;
        case CG_MUL: r.f = fa * fb; break;
        case CG_DIV: r.f = fa / fb; break;
        case CG_POW: r.f = powf(fa, fb); break;
        case CG_MAX: r.f = isnan(fa) || fa >= fb ? fa : fb; break;
        case CG_MIN: r.f = isnan(fa) || fa <= fb ? fa : fb; break;
        default: error(e, "kernel %s: %s on f32", e->k->name, cg_fn_name(f)); break;
        }
        r.f = (float)r.f;
        return r;
    }
    uint64_t ua = (uint64_t)a.i, ub = (uint64_t)b.i;
    bool divides = f == CG_DIV || f == CG_REM || f == CG_FLOOR_DIV || f == CG_FLOOR_MOD;
    if (divides && b.i == 0) {
        error(e, "kernel %s: integer division by zero", e->k->name);
        return r;
    }
    if (divides && b.i == -1) { /* the quotient wraps, the remainder is 0 */
        r.i = f == CG_DIV || f == CG_FLOOR_DIV ? wrap(x->type, 0 - ua) : 0;
        return r;
    }
    int64_t q;
    switch (f) {
    case CG_ADD: r.i = wrap(x->type, ua + ub); break;
    case CG_SUB: r.i = wrap(x->type, ua - ub); break;
    case CG_MUL: r.i = wrap(x->type, ua * ub); break;
    case CG_DIV: r.i = a.i / b.i; break;
    case CG_REM: r.i = a.i % b.i; break;
    case CG_FLOOR_DIV:
        q = a.i / b.i;
        r.i = (a.i % b.i != 0 && (a.i < 0) != (b.i < 0)) ? q - 1 : q;
        break;
    case CG_FLOOR_MOD:
        q = a.i % b.i;
        r.i = (q != 0 && (q < 0) != (b.i < 0)) ? q + b.i : q;
        break;
    case CG_MAX: r.i = a.i > b.i ? a.i : b.i; break;
    case CG_MIN: r.i = a.i < b.i ? a.i : b.i; break;
    case CG_AND: r.i = a.i && b.i; break;
    case CG_OR: r.i = a.i || b.i; break;
    default: error(e, "kernel %s: %s on integers", e->k->name, cg_fn_name(f)); break;
    }
    return r;
}

static int64_t saturate(double v, int64_t lo, int64_t hi) {
    if (isnan(v)) return 0;
    if (v <= (double)lo) return lo;
    if (v >= (double)hi) return hi;
    return (int64_t)v;
}

static kv cast(const cg_expr *x, kv a) {
    kv r = {0, 0};
    ir_dtype from = x->a[0]->type, to = x->type;
    if (from == IR_F32) {
        if (to == IR_BOOL) r.i = a.f != 0;
        else r.i = to == IR_I32 ? saturate(a.f, INT32_MIN, INT32_MAX) : saturate(a.f, INT64_MIN, INT64_MAX);
    } else if (to == IR_F32) {
        r.f = (float)a.i;
    } else {
        r.i = wrap(to, (uint64_t)a.i);
    }
    return r;
}

static kv eval(ev *e, const cg_expr *x) {
    bool found;
    kv *slot = memo_find(e, x, &found);
    if (found) return *slot;
    kv r = {0, 0}, a, b;
    switch (x->kind) {
    case CG_CONST:
        if (x->type == IR_F32) r.f = (float)x->value.f;
        else r.i = x->value.i;
        break;
    case CG_VAR: r = e->vars[x->var]; break;
    case CG_BEGIN: r.i = e->begin; break;
    case CG_LOAD: r = load(e, x->buf, eval(e, x->a[0]).i); break;
    case CG_CALL:
        a = eval(e, x->a[0]);
        if (cg_fn_arity(x->fn) == 1) {
            if (x->fn == CG_NOT) r.i = !a.i;
            else if (x->fn == CG_ISNAN) r.i = isnan(a.f);
            else if (x->type == IR_F32) r.f = unary_f(x->fn, (float)a.f);
            else if (x->fn == CG_NEG) r.i = wrap(x->type, 0 - (uint64_t)a.i);
            else if (x->fn == CG_ABS) r.i = a.i < 0 ? wrap(x->type, 0 - (uint64_t)a.i) : a.i;
            else r.i = a.i < 0 ? 0 : a.i;
        } else {
            b = eval(e, x->a[1]);
            r = binary(e, x, a, b);
        }
        break;
    case CG_SELECT: r = eval(e, x->a[0]).i ? eval(e, x->a[1]) : eval(e, x->a[2]); break;
    case CG_CAST: r = cast(x, eval(e, x->a[0])); break;
    default: error(e, "bad expression"); break;
    }
    slot = memo_find(e, x, &found); /* the table may have grown */
    *slot = r;
    return r;
}

static void run(ev *e, cg_stmt *const *body, int n, bool top) {
    for (int i = 0; i < n && !e->error; i++) {
        const cg_stmt *s = body[i];
        switch (s->kind) {
        case CG_LOOP: {
            bool range = top && i == 0 && (s->flags & CG_LOOP_PARALLEL);
            int64_t lo = range ? e->begin : 0, hi = range ? e->end : s->extent;
            for (int64_t v = lo; v < hi && !e->error; v++) {
                e->vars[s->var].i = v;
                run(e, s->body, s->n_body, false);
            }
            break;
        }
        case CG_ASSIGN:
            memo_clear(e);
            e->vars[s->var] = eval(e, s->value);
            break;
        case CG_STORE: {
            memo_clear(e);
            int64_t idx = eval(e, s->index).i;
            store(e, s->buf, idx, eval(e, s->value));
            break;
        }
        default:
            memo_clear(e);
            if (!eval(e, s->value).i && e->failed < 0) e->failed = s->check;
            break;
        }
    }
}

/* The body over [0, rows) in uneven chunks, as the runtime's pool may split it. */
static void run_chunks(ev *e, int64_t rows, int64_t chunk) {
    for (int64_t r0 = 0; r0 < rows && !e->error; r0 += chunk, chunk = chunk % 3 + 1) {
        e->begin = r0;
        e->end = r0 + chunk < rows ? r0 + chunk : rows;
        run(e, e->k->body, e->k->n_body, true);
    }
}

/* Library operands are read through the buffers the kernel names for them (lib_buf), which
 * must be where its rt_ref points: the bounds are that buffer's. */
static int lib_buffer(ev *e, int which, rt_ref r) {
    int b = e->k->lib_buf[which];
    if (b < 0 || b >= e->p->n_buffers || e->p->buffers[b].slot != r.slot || e->p->buffers[b].offset != r.offset ||
        e->p->buffers[b].dtype != IR_F32) {
        error(e, "kernel %s: library operand %d is not the f32 buffer it names", e->k->name, which);
        return -1;
    }
    return b;
}

static float read_f32(ev *e, int b, int64_t idx) { return b < 0 ? 0.0f : (float)load(e, b, idx).f; }

/* Writes the library's result where it goes: through the epilogue in row tiles, or to c. */
static void finish_library(ev *e, float *result, int64_t rows, int64_t row_len, rt_ref c) {
    if (e->k->n_body) {
        for (int64_t r0 = 0, tile = 3; r0 < rows && !e->error; r0 += tile, tile = tile % 4 + 2) {
            e->begin = r0;
            e->end = r0 + tile < rows ? r0 + tile : rows;
            e->scratch = (char *)(result + r0 * row_len);
            e->scratch_elems = (e->end - r0) * row_len;
            run(e, e->k->body, e->k->n_body, true);
        }
        e->scratch = NULL;
        return;
    }
    int b = lib_buffer(e, 2, c);
    for (int64_t i = 0; b >= 0 && i < rows * row_len; i++) store(e, b, i, (kv){result[i], 0});
}

static void run_gemm(ev *e) {
    const rt_gemm *g = &e->k->gemm;
    int64_t batches = 1;
    for (int i = 0; i < g->batch_rank; i++) batches *= g->batch[i];
    float *c = calloc((size_t)(batches * g->m * g->n) + 1, sizeof *c);
    int ba = lib_buffer(e, 0, g->a), bb = lib_buffer(e, 1, g->b);
    for (int64_t bi = 0; bi < batches; bi++) {
        int64_t oa = 0, ob = 0, rest = bi;
        for (int d = g->batch_rank - 1; d >= 0; d--) {
            int64_t x = rest % g->batch[d];
            rest /= g->batch[d];
            oa += x * g->batch_stride_a[d];
            ob += x * g->batch_stride_b[d];
        }
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t j = 0; j < g->n; j++) {
                double acc = 0;
                for (int64_t p = 0; p < g->k; p++) {
                    float av = read_f32(e, ba, oa + (g->trans_a ? p * g->lda + i : i * g->lda + p));
                    float bv = read_f32(e, bb, ob + (g->trans_b ? j * g->ldb + p : p * g->ldb + j));
                    acc += (double)av * bv;
                }
                c[(bi * g->m + i) * g->n + j] = (float)acc;
            }
    }
    finish_library(e, c, batches * g->m, g->n, g->c);
    free(c);
}

static void run_conv(ev *e) {
    const rt_conv *v = &e->k->conv;
    int64_t cg = v->c / v->groups, og = v->o / v->groups;
    float *out = calloc((size_t)(v->n * v->o * v->oh * v->ow) + 1, sizeof *out);
    int bx = lib_buffer(e, 0, v->x), bw = lib_buffer(e, 1, v->w);
    for (int64_t b = 0; b < v->n; b++)
        for (int64_t o = 0; o < v->o; o++)
            for (int64_t y = 0; y < v->oh; y++)
                for (int64_t x = 0; x < v->ow; x++) {
                    double acc = 0;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t i = 0; i < v->kh; i++)
                            for (int64_t j = 0; j < v->kw; j++) {
                                int64_t iy = y * v->stride_h - v->pad_h + i * v->dilation_h;
                                int64_t ix = x * v->stride_w - v->pad_w + j * v->dilation_w;
                                if (iy < 0 || iy >= v->h || ix < 0 || ix >= v->w_in) continue;
                                int64_t ch = o / og * cg + c;
                                acc += (double)read_f32(e, bx, ((b * v->c + ch) * v->h + iy) * v->w_in + ix) *
                                       read_f32(e, bw, ((o * cg + c) * v->kh + i) * v->kw + j);
                            }
                    out[((b * v->o + o) * v->oh + y) * v->ow + x] = (float)acc;
                }
    finish_library(e, out, v->n * v->o * v->oh, v->ow, v->out);
    free(out);
}

int kir_eval_program(const cg_program *p, char **slots, const char **message) {
    static char msg[256];
    size_t arena = (size_t)(p->arena_bytes + 63) / 64 * 64;
    slots[0] = aligned_alloc(64, arena ? arena : 64);
    memset(slots[0], 0xA5, arena); /* stale bytes, as a reused arena has */
    ev e = {.p = p, .slots = slots, .failed = -1, .gen = 1};
    e.vars = calloc((size_t)p->n_vars + 1, sizeof *e.vars);
    int result = -1;
    for (int k = 0; k < p->n_kernels && result < 0; k++) {
        e.k = &p->kernels[k];
        e.failed = -1;
        if (e.k->kind == CG_KERNEL_GEMM) run_gemm(&e);
        else if (e.k->kind == CG_KERNEL_CONV) run_conv(&e);
        else if (e.k->n_body == 1 && e.k->body[0]->kind == CG_LOOP && (e.k->body[0]->flags & CG_LOOP_PARALLEL))
            run_chunks(&e, e.k->parallel_extent, e.k->parallel_extent / 3 + 1);
        else {
            e.begin = 0, e.end = 1;
            run(&e, e.k->body, e.k->n_body, true);
        }
        if (e.error) {
            snprintf(msg, sizeof msg, "%s", e.error);
            *message = msg;
            result = k;
        } else if (e.failed >= 0) {
            *message = e.k->checks[e.failed];
            result = k;
        }
    }
    free(e.vars);
    free(e.mkey);
    free(e.mval);
    free(e.mgen);
    free(slots[0]);
    slots[0] = NULL;
    return result;
}
