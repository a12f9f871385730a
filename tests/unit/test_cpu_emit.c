/* test_cpu_emit.c — the CPU backend's LLVM side on hand-built Kernel IR: programs are JIT-compiled
 * and their kernels called directly (whole and split ranges) against plain C with the reference
 * interpreter's semantics: non-temporal flat loops on odd sizes and misaligned outputs, broadcasts,
 * reductions with NaN, argmax, checks, f16/bf16, casts, integer floor division, an epilogue on
 * the scratch tile; and the assembly and IR the backend makes (vector FMA/mul, vmovntps). */
#define _POSIX_C_SOURCE 200809L
#include "codegen/cpu/cpu.h"
#include "tests/unit/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- a tiny Kernel IR builder ----------------------------------------------------------------- */

enum { MAX_ITEMS = 64 };

static cg_program *program_new(int n_slots) {
    ir_arena *a = ir_arena_create();
    cg_program *p = ir_alloc(a, sizeof *p);
    p->arena = a;
    p->n_slots = n_slots;
    p->kernels = ir_alloc(a, MAX_ITEMS * sizeof *p->kernels);
    p->buffers = ir_alloc(a, MAX_ITEMS * sizeof *p->buffers);
    p->vars = ir_alloc(a, MAX_ITEMS * sizeof *p->vars);
    return p;
}

static void program_free(cg_program *p) { ir_arena_destroy(p->arena); }

static int buf(cg_program *p, int slot, int64_t offset, ir_dtype t, int64_t elems) {
    p->buffers[p->n_buffers] = (cg_buffer){"b", slot, offset, t, elems};
    return p->n_buffers++;
}

static int ivar(cg_program *p, const char *name) {
    p->vars[p->n_vars] = (cg_var){name, IR_I64, true};
    return p->n_vars++;
}

static int svar(cg_program *p, const char *name, ir_dtype t) {
    p->vars[p->n_vars] = (cg_var){name, t, false};
    return p->n_vars++;
}

static cg_expr *ex(cg_program *p, cg_expr_kind k, ir_dtype t) {
    cg_expr *x = ir_alloc(p->arena, sizeof *x);
    x->kind = k;
    x->type = t;
    return x;
}

static cg_expr *fc(cg_program *p, double v) {
    cg_expr *x = ex(p, CG_CONST, IR_F32);
    x->value.f = v;
    return x;
}

static cg_expr *ic(cg_program *p, ir_dtype t, int64_t v) {
    cg_expr *x = ex(p, CG_CONST, t);
    x->value.i = v;
    return x;
}

static cg_expr *vr(cg_program *p, int var) {
    cg_expr *x = ex(p, CG_VAR, p->vars[var].is_index ? IR_I64 : p->vars[var].type);
    x->var = var;
    return x;
}

static ir_dtype compute_type(ir_dtype t) { return t == IR_F16 || t == IR_BF16 ? IR_F32 : t; }

static cg_expr *ld(cg_program *p, int b, cg_expr *index) {
    cg_expr *x = ex(p, CG_LOAD, compute_type(p->buffers[b].dtype));
    x->buf = b;
    x->a[0] = index;
    return x;
}

static cg_expr *un(cg_program *p, cg_fn f, cg_expr *a) {
    cg_expr *x = ex(p, CG_CALL, f == CG_ISNAN ? IR_BOOL : a->type);
    x->fn = f;
    x->a[0] = a;
    return x;
}

static cg_expr *bin(cg_program *p, cg_fn f, cg_expr *a, cg_expr *b) {
    cg_expr *x = ex(p, CG_CALL, f >= CG_LT ? IR_BOOL : a->type);
    x->fn = f;
    x->a[0] = a;
    x->a[1] = b;
    return x;
}

static cg_expr *sel(cg_program *p, cg_expr *c, cg_expr *t, cg_expr *f) {
    cg_expr *x = ex(p, CG_SELECT, t->type);
    x->a[0] = c, x->a[1] = t, x->a[2] = f;
    return x;
}

static cg_expr *cast(cg_program *p, ir_dtype t, cg_expr *a) {
    cg_expr *x = ex(p, CG_CAST, t);
    x->a[0] = a;
    return x;
}

/* row * cols + col */
static cg_expr *at2(cg_program *p, int row, int64_t cols, int col) {
    return bin(p, CG_ADD, bin(p, CG_MUL, vr(p, row), ic(p, IR_I64, cols)), vr(p, col));
}

static cg_stmt *stmt(cg_program *p, cg_stmt_kind k) {
    cg_stmt *s = ir_alloc(p->arena, sizeof *s);
    s->kind = k;
    return s;
}

static cg_stmt *store(cg_program *p, int b, cg_expr *index, cg_expr *value, bool nontemporal) {
    cg_stmt *s = stmt(p, CG_STORE);
    s->buf = b, s->index = index, s->value = value, s->nontemporal = nontemporal;
    return s;
}

static cg_stmt *assign(cg_program *p, int var, cg_expr *value) {
    cg_stmt *s = stmt(p, CG_ASSIGN);
    s->var = var, s->value = value;
    return s;
}

static cg_stmt *check(cg_program *p, int index, cg_expr *value) {
    cg_stmt *s = stmt(p, CG_CHECK);
    s->check = index, s->value = value;
    return s;
}

static cg_stmt **copy_body(cg_program *p, int n, cg_stmt *const *body) {
    cg_stmt **b = ir_alloc(p->arena, sizeof *b * (size_t)n);
    memcpy(b, body, sizeof *b * (size_t)n);
    return b;
}

static cg_stmt *loop_n(cg_program *p, int var, int64_t extent, unsigned flags, int n, cg_stmt *const *body) {
    cg_stmt *s = stmt(p, CG_LOOP);
    s->var = var, s->extent = extent, s->flags = flags, s->n_body = n, s->body = copy_body(p, n, body);
    return s;
}
#define LIST(...) (sizeof((cg_stmt *[]){__VA_ARGS__}) / sizeof(cg_stmt *)), ((cg_stmt *[]){__VA_ARGS__})
#define LOOP(p, var, extent, flags, ...) loop_n(p, var, extent, flags, LIST(__VA_ARGS__))

static cg_kernel *kernel_n(cg_program *p, const char *name, int n, cg_stmt *const *body) {
    cg_kernel *k = &p->kernels[p->n_kernels++];
    k->name = name;
    k->kind = CG_KERNEL_LOOP;
    k->n_body = n;
    k->body = copy_body(p, n, body);
    k->parallel_extent = n && body[0]->kind == CG_LOOP && (body[0]->flags & CG_LOOP_PARALLEL) ? body[0]->extent : 1;
    k->grain = 1;
    k->cost = (ir_cost){1, 2, 3};
    return k;
}
#define KERNEL(p, name, ...) kernel_n(p, name, LIST(__VA_ARGS__))

enum { PV = CG_LOOP_PARALLEL | CG_LOOP_VECTOR };

/* ---- compiling and calling --------------------------------------------------------------------- */

static int opt_level = 2; /* main runs the tests at each -O level */

static cg_cpu_jit *jit(const cg_program *p) {
    ir_diag d;
    ir_diag_init(&d, stderr);
    cg_cpu_options o = {.opt_level = opt_level};
    cg_cpu_jit *j = cg_cpu_jit_create(p, &o, &d);
    CHECK(j != NULL && d.errors == 0);
    ir_diag_free(&d);
    return j;
}

static rt_kernel_fn fn_of(const cg_cpu_jit *j, const char *name) {
    const rt_program *rp = cg_cpu_jit_program(j);
    for (int i = 0; i < rp->n_steps; i++)
        if (strcmp(rp->steps[i].name, name) == 0) return rp->steps[i].fn;
    CHECK(false, "no kernel %s", name);
    return NULL;
}

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Deterministic inputs in [-1, 1). */
static float rnd(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(*s >> 40) / (double)(1ull << 23) - 1.0);
}

static bool same(float a, float b) { return bits_of(a) == bits_of(b) || (isnan(a) && isnan(b)); }

/* ---- the flat non-temporal loop -------------------------------------------------------------- */

/* out[i] = a[i] * b[i] + c[i] (non-temporal); half[i] = f16(exp(a[i]) * b[i]) (non-temporal). */
static cg_program *flat_program(void) {
    cg_program *p = program_new(6);
    int a = buf(p, 1, 0, IR_F32, 0), b = buf(p, 2, 0, IR_F32, 0), c = buf(p, 3, 0, IR_F32, 0);
    int out = buf(p, 4, 0, IR_F32, 0), half = buf(p, 5, 0, IR_F16, 0);
    int i = ivar(p, "i"), k = ivar(p, "k");
    cg_expr *prod = bin(p, CG_MUL, ld(p, a, vr(p, i)), ld(p, b, vr(p, i)));
    KERNEL(p, "flat", LOOP(p, i, 1000003, PV, store(p, out, vr(p, i), bin(p, CG_ADD, prod, ld(p, c, vr(p, i))), true)));
    cg_expr *e = bin(p, CG_MUL, un(p, CG_EXP, ld(p, a, vr(p, k))), ld(p, b, vr(p, k)));
    KERNEL(p, "flat_half", LOOP(p, k, 1000003, PV, store(p, half, vr(p, k), e, true)));
    return p;
}


static void test_flat(void) {
    cg_program *p = flat_program();
    cg_cpu_jit *j = jit(p);
    if (!j) return program_free(p);
    rt_kernel_fn flat = fn_of(j, "flat"), flat_half = fn_of(j, "flat_half");
    enum { N = 1000003 };
    float *a = malloc(N * 4), *b = malloc(N * 4), *c = malloc(N * 4), *ref = malloc(N * 4);
    char *raw = aligned_alloc(64, (N * 4 + 128) / 64 * 64), *raw16 = aligned_alloc(64, (N * 2 + 128) / 64 * 64);
    uint64_t seed = 1;
    for (int i = 0; i < N; i++) {
        a[i] = rnd(&seed), b[i] = rnd(&seed), c[i] = rnd(&seed);
        float prod = a[i] * b[i]; /* two statements: no contraction into an FMA */
        ref[i] = prod + c[i];
    }
    static const int64_t sizes[] = {1, 7, 1000003};
    static const int misalign[] = {0, 4, 12, 60};
    for (int si = 0; si < 3; si++) {
        for (int mi = 0; mi < 4; mi++) {
            int64_t n = sizes[si];
            float *out = (float *)(raw + misalign[mi]);
            uint16_t *half = (uint16_t *)(raw16 + misalign[mi] / 2);
            for (int split = 0; split < 2; split++) {
                memset(raw, 0x7f, (size_t)(n * 4 + 64));
                memset(raw16, 0x7f, (size_t)(n * 2 + 64));
                char *slots[6] = {NULL, (char *)a, (char *)b, (char *)c, (char *)out, (char *)half};
                int64_t k = split ? n / 3 : n;
                CHECK(flat(slots, 0, k, NULL) == 0 && flat(slots, k, n, NULL) == 0);
                CHECK(flat_half(slots, 0, k, NULL) == 0 && flat_half(slots, k, n, NULL) == 0);
                int bad = 0, bad16 = 0;
                for (int64_t i = 0; i < n; i++) {
                    bad += bits_of(out[i]) != bits_of(ref[i]);
                    float want = expf(a[i]) * b[i], got = ir_f16_to_f32(half[i]);
                    bad16 += !(fabsf(got - want) <= 2e-3f * fabsf(want) + 1e-6f);
                }
                CHECK(bad == 0, "flat n=%lld misalign=%d split=%d: %d wrong", (long long)n, misalign[mi], split, bad);
                CHECK(bad16 == 0, "flat_half n=%lld misalign=%d: %d wrong", (long long)n, misalign[mi], bad16);
                CHECK(bits_of(out[n]) == 0x7f7f7f7fu && half[n] == 0x7f7f, "wrote past the end");
            }
        }
    }
    free(a), free(b), free(c), free(ref), free(raw), free(raw16);
    cg_cpu_jit_destroy(j);
    program_free(p);
}

/* Two non-temporal outputs 4096 bytes apart in one slot: both get aligned vmovntps. */
static cg_program *two_outputs_program(void) {
    cg_program *p = program_new(3);
    int a = buf(p, 1, 0, IR_F32, 0), o1 = buf(p, 2, 0, IR_F32, 1000), o2 = buf(p, 2, 4096, IR_F32, 1000);
    int i = ivar(p, "i");
    KERNEL(p, "two", LOOP(p, i, 1000, PV, store(p, o1, vr(p, i), bin(p, CG_ADD, ld(p, a, vr(p, i)), fc(p, 1)), true),
                          store(p, o2, vr(p, i), bin(p, CG_MUL, ld(p, a, vr(p, i)), fc(p, 2)), true)));
    return p;
}

static void test_two_outputs(void) {
    cg_program *p = two_outputs_program();
    cg_cpu_jit *j = jit(p);
    if (j) {
        static float a[1000];
        char *raw = aligned_alloc(64, 8192);
        uint64_t seed = 7;
        for (int n = 0; n < 1000; n++) a[n] = rnd(&seed);
        for (int mis = 0; mis < 64; mis += 20) {
            float *o = (float *)(raw + mis);
            char *slots[3] = {NULL, (char *)a, (char *)o};
            CHECK(fn_of(j, "two")(slots, 0, 333, NULL) == 0 && fn_of(j, "two")(slots, 333, 1000, NULL) == 0);
            int bad = 0;
            for (int n = 0; n < 1000; n++) bad += o[n] != a[n] + 1 || o[1024 + n] != a[n] * 2;
            CHECK(bad == 0, "two outputs, misaligned by %d: %d wrong", mis, bad);
        }
        free(raw);
        cg_cpu_jit_destroy(j);
    }
    program_free(p);
}

static char *read_all(FILE *f) {
    long n = ftell(f);
    rewind(f);
    char *s = calloc((size_t)n + 1, 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = 0;
    return s;
}

static char *dump(const cg_program *p, const char *cpu, bool asm_text) {
    ir_diag d;
    ir_diag_init(&d, stderr);
    cg_cpu_options o = {.opt_level = 2, .cpu = cpu};
    FILE *f = tmpfile();
    bool ok = asm_text ? cg_cpu_print_asm(f, p, &o, &d) : cg_cpu_print_llvm(f, p, &o, &d);
    CHECK(ok && d.errors == 0, "dump for %s", cpu);
    char *s = read_all(f);
    fclose(f);
    ir_diag_free(&d);
    return s;
}

/* Whether the assembly of function `name` (from its label to its .Lfunc_end) contains `what`. */
static bool function_has(const char *asm_text, const char *name, const char *what) {
    char label[64];
    snprintf(label, sizeof label, "\n%s:", name);
    const char *start = strstr(asm_text, label);
    if (!start) return false;
    const char *end = strstr(start, ".Lfunc_end");
    const char *hit = strstr(start, what);
    return hit && (!end || hit < end);
}

static void test_flat_asm(void) {
    cg_program *p = flat_program();
    char *v3 = dump(p, "x86-64-v3", true);
    CHECK(strstr(v3, "vmovntps") && strstr(v3, "%ymm"), "x86-64-v3: no non-temporal ymm stores");
    CHECK(strstr(v3, "vmulps") || strstr(v3, "vfmadd"), "x86-64-v3: no vector multiply");
    CHECK(strstr(v3, "vaddps") && strstr(v3, "sfence"));
    char *v4 = dump(p, "x86-64-v4", true);
    CHECK(strstr(v4, "vmovntps") && strstr(v4, "%zmm"), "x86-64-v4: no non-temporal zmm stores");
    CHECK(strstr(v4, "vmulps") || strstr(v4, "vfmadd"));
    /* the multiply and the add stay two roundings, like the interpreter's f32 (in "flat"; the
       exp of "flat_half" uses FMAs inside its polynomial) */
    CHECK(!function_has(v3, "flat", "vfmadd") && !function_has(v4, "flat", "vfmadd"), "a*b+c was contracted");
    free(v3), free(v4);
    program_free(p);
    p = two_outputs_program();
    char *two = dump(p, "x86-64-v3", true), *nt = strstr(two, "vmovntps");
    CHECK(nt && strstr(nt + 1, "vmovntps"), "the second output's stores are not non-temporal");
    free(two);
    program_free(p);
    /* without non-temporal stores LLVM's loop vectorizer does it */
    p = program_new(4);
    int a = buf(p, 1, 0, IR_F32, 0), b = buf(p, 2, 0, IR_F32, 0), out = buf(p, 3, 0, IR_F32, 0);
    int i = ivar(p, "i");
    KERNEL(p, "add", LOOP(p, i, 4096, PV, store(p, out, vr(p, i), bin(p, CG_ADD, ld(p, a, vr(p, i)), ld(p, b, vr(p, i))), false)));
    char *add = dump(p, "x86-64-v3", true);
    CHECK(strstr(add, "vaddps") && strstr(add, "%ymm") && !strstr(add, "vmovnt") && !strstr(add, "sfence"));
    free(add);
    program_free(p);
}

/* ---- broadcasts, reductions, argmax -------------------------------------------------------------- */

enum { R = 6, C = 1001 };

static void test_broadcast(void) {
    cg_program *p = program_new(5);
    int x = buf(p, 1, 0, IR_F32, R * C), bias = buf(p, 2, 0, IR_F32, C), rowv = buf(p, 3, 0, IR_F32, R);
    int out = buf(p, 4, 64, IR_F32, R * C); /* at a byte offset in its slot */
    int r = ivar(p, "r"), c = ivar(p, "c");
    cg_expr *v = bin(p, CG_SUB, bin(p, CG_ADD, ld(p, x, at2(p, r, C, c)), ld(p, bias, vr(p, c))), ld(p, rowv, vr(p, r)));
    KERNEL(p, "bcast", LOOP(p, r, R, CG_LOOP_PARALLEL, LOOP(p, c, C, CG_LOOP_VECTOR, store(p, out, at2(p, r, C, c), v, false))));
    cg_cpu_jit *j = jit(p);
    if (j) {
        static float xs[R * C], bs[C], rs[R], os[R * C + 16];
        uint64_t seed = 2;
        for (int i = 0; i < R * C; i++) xs[i] = rnd(&seed);
        for (int i = 0; i < C; i++) bs[i] = rnd(&seed);
        for (int i = 0; i < R; i++) rs[i] = rnd(&seed);
        char *slots[5] = {NULL, (char *)xs, (char *)bs, (char *)rs, (char *)os};
        rt_kernel_fn f = fn_of(j, "bcast");
        CHECK(f(slots, 0, 2, NULL) == 0 && f(slots, 2, R, NULL) == 0);
        int bad = 0;
        for (int i = 0; i < R; i++)
            for (int k = 0; k < C; k++) {
                float t = xs[i * C + k] + bs[k];
                bad += bits_of(os[16 + i * C + k]) != bits_of(t - rs[i]);
            }
        CHECK(bad == 0, "broadcast: %d wrong", bad);
        cg_cpu_jit_destroy(j);
    }
    program_free(p);
}

/* sum, max and min of each row; NaN in rows 2 (middle), 4 (last element), 5 (first). */
static cg_program *reduce_program(void) {
    cg_program *p = program_new(5);
    int x = buf(p, 1, 0, IR_F32, R * C), sum = buf(p, 2, 0, IR_F32, R), mx = buf(p, 3, 0, IR_F32, R);
    int mn = buf(p, 4, 0, IR_F32, R);
    int r = ivar(p, "r"), c = ivar(p, "c");
    int s = svar(p, "s", IR_F32), m = svar(p, "m", IR_F32), n = svar(p, "n", IR_F32);
    cg_expr *xe = ld(p, x, at2(p, r, C, c));
    KERNEL(p, "rows", LOOP(p, r, R, CG_LOOP_PARALLEL, assign(p, s, fc(p, 0.0)), assign(p, m, fc(p, -INFINITY)),
                           assign(p, n, fc(p, INFINITY)),
                           LOOP(p, c, C, CG_LOOP_VECTOR, assign(p, s, bin(p, CG_ADD, vr(p, s), xe)),
                                assign(p, m, bin(p, CG_MAX, vr(p, m), xe)), assign(p, n, bin(p, CG_MIN, xe, vr(p, n)))),
                           store(p, sum, vr(p, r), vr(p, s), false), store(p, mx, vr(p, r), vr(p, m), false),
                           store(p, mn, vr(p, r), vr(p, n), false)));
    return p;
}

static void test_reduce(void) {
    cg_program *p = reduce_program();
    cg_cpu_jit *j = jit(p);
    if (j) {
        static float xs[R * C];
        float sums[R], maxs[R], mins[R];
        uint64_t seed = 3;
        for (int i = 0; i < R * C; i++) xs[i] = rnd(&seed);
        xs[2 * C + 500] = NAN, xs[4 * C + C - 1] = NAN, xs[5 * C] = NAN;
        char *slots[5] = {NULL, (char *)xs, (char *)sums, (char *)maxs, (char *)mins};
        rt_kernel_fn f = fn_of(j, "rows");
        CHECK(f(slots, 0, 1, NULL) == 0 && f(slots, 1, R, NULL) == 0);
        for (int i = 0; i < R; i++) {
            double s = 0;
            float m = -INFINITY, n = INFINITY;
            bool nan = false;
            for (int k = 0; k < C; k++) {
                float v = xs[i * C + k];
                nan |= isnan(v);
                s += v;
                m = v > m ? v : m, n = v < n ? v : n;
            }
            if (nan) {
                CHECK(isnan(sums[i]) && isnan(maxs[i]) && isnan(mins[i]), "row %d: NaN lost", i);
            } else {
                CHECK(fabs(sums[i] - s) < 1e-3, "row %d: sum %g, want %g", i, (double)sums[i], s);
                CHECK(maxs[i] == m && mins[i] == n, "row %d: max %g min %g", i, (double)maxs[i], (double)mins[i]);
            }
        }
        cg_cpu_jit_destroy(j);
    }
    /* the reductions are vectorized, with reassociation only on them */
    char *ir = dump(p, "x86-64-v3", false);
    CHECK(strstr(ir, "fadd reassoc nsz <8 x float>"), "sum not vectorized");
    CHECK(strstr(ir, "@llvm.maximum.v8f32") && strstr(ir, "@llvm.minimum.v8f32"), "max/min not vectorized");
    free(ir);
    program_free(p);
}

/* First index of the row maximum: t = x > best; bi = t ? c : bi; best = t ? x : best. */
static void test_argmax(void) {
    cg_program *p = program_new(4);
    int x = buf(p, 1, 0, IR_F32, R * C), vals = buf(p, 2, 0, IR_F32, R), idx = buf(p, 3, 0, IR_I64, R);
    int r = ivar(p, "r"), c = ivar(p, "c");
    int best = svar(p, "best", IR_F32), bi = svar(p, "bi", IR_I64), t = svar(p, "t", IR_BOOL);
    cg_expr *xe = ld(p, x, at2(p, r, C, c));
    KERNEL(p, "argmax",
           LOOP(p, r, R, CG_LOOP_PARALLEL, assign(p, best, fc(p, -INFINITY)), assign(p, bi, ic(p, IR_I64, 0)),
                LOOP(p, c, C, CG_LOOP_VECTOR, assign(p, t, bin(p, CG_GT, xe, vr(p, best))),
                     assign(p, bi, sel(p, vr(p, t), vr(p, c), vr(p, bi))),
                     assign(p, best, sel(p, vr(p, t), xe, vr(p, best)))),
                store(p, vals, vr(p, r), vr(p, best), false), store(p, idx, vr(p, r), vr(p, bi), false)));
    cg_cpu_jit *j = jit(p);
    if (j) {
        static float xs[R * C];
        float got_v[R];
        int64_t got_i[R];
        uint64_t seed = 4;
        for (int i = 0; i < R * C; i++) xs[i] = rnd(&seed);
        xs[1 * C + 10] = 5, xs[1 * C + 900] = 5; /* ties: the first wins */
        xs[3 * C + C - 1] = 7;
        char *slots[4] = {NULL, (char *)xs, (char *)got_v, (char *)got_i};
        CHECK(fn_of(j, "argmax")(slots, 0, R, NULL) == 0);
        for (int i = 0; i < R; i++) {
            int64_t want = 0;
            float bv = -INFINITY;
            for (int k = 0; k < C; k++)
                if (xs[i * C + k] > bv) bv = xs[i * C + k], want = k;
            CHECK(got_i[i] == want && got_v[i] == bv, "row %d: %lld, want %lld", i, (long long)got_i[i], (long long)want);
        }
        cg_cpu_jit_destroy(j);
    }
    program_free(p);
}

/* ---- checks ------------------------------------------------------------------------------------ */

static void add_check_kernel(cg_program *p, const char *name, int idx, int out, bool nontemporal) {
    int i = ivar(p, "i");
    cg_expr *v = ld(p, idx, vr(p, i));
    cg_kernel *k = KERNEL(p, name, LOOP(p, i, 100, PV, check(p, 0, bin(p, CG_GE, v, ic(p, IR_I64, -1000))),
                                        check(p, 1, bin(p, CG_LT, v, ic(p, IR_I64, 10))),
                                        check(p, 2, bin(p, CG_GE, v, ic(p, IR_I64, 0))),
                                        store(p, out, vr(p, i), cast(p, IR_F32, v), nontemporal)));
    static const char *const msgs[3] = {"never", "index out of range [0, 10)", "negative"};
    k->n_checks = 3;
    k->checks = ir_alloc(p->arena, sizeof msgs);
    memcpy(k->checks, msgs, sizeof msgs);
}

static void test_checks(void) {
    cg_program *p = program_new(3);
    int idx = buf(p, 1, 0, IR_I64, 100), out = buf(p, 2, 0, IR_F32, 100);
    add_check_kernel(p, "checked", idx, out, false);
    add_check_kernel(p, "checked_nt", idx, out, true);
    cg_cpu_jit *j = jit(p);
    if (j) {
        const rt_program *rp = cg_cpu_jit_program(j);
        CHECK(rp->n_steps == 2 && rp->steps[0].n_checks == 3 && strcmp(rp->steps[0].checks[1], "index out of range [0, 10)") == 0);
        CHECK(rp->steps[0].extent == 100 && rp->steps[0].flops == 1 && rp->steps[0].bytes == 5);
        int64_t ids[100];
        float outs[100];
        for (int i = 0; i < 100; i++) ids[i] = i % 10;
        ids[40] = 12, ids[70] = -1;
        char *slots[3] = {NULL, (char *)ids, (char *)outs};
        for (int nt = 0; nt < 2; nt++) {
            rt_kernel_fn f = fn_of(j, nt ? "checked_nt" : "checked");
            memset(outs, 0, sizeof outs);
            CHECK(f(slots, 0, 100, NULL) == 2, "the first failed check is 1");
            int r1 = f(slots, 50, 100, NULL), r2 = f(slots, 0, 40, NULL), r3 = f(slots, 41, 70, NULL);
            CHECK(r1 == 3 && r2 == 0 && r3 == 0, "%d %d %d", r1, r2, r3);
            int bad = 0;
            for (int i = 0; i < 100; i++) bad += outs[i] != (float)ids[i];
            CHECK(bad == 0, "a failed check stopped the kernel");
        }
        cg_cpu_jit_destroy(j);
    }
    program_free(p);
}

/* ---- f16 and bf16 --------------------------------------------------------------------------------- */

enum { NH = 65536 + 64 };

static void test_half(void) {
    cg_program *p = program_new(7);
    int x = buf(p, 1, 0, IR_F32, NH), h = buf(p, 2, 0, IR_F16, NH), bf = buf(p, 3, 0, IR_BF16, NH);
    int hin = buf(p, 4, 0, IR_F16, NH), bin16 = buf(p, 5, 0, IR_BF16, NH), y = buf(p, 6, 0, IR_F32, 2 * NH);
    int i = ivar(p, "i"), k = ivar(p, "k");
    KERNEL(p, "to_half", LOOP(p, i, NH, PV, store(p, h, vr(p, i), ld(p, x, vr(p, i)), false),
                              store(p, bf, vr(p, i), ld(p, x, vr(p, i)), false)));
    KERNEL(p, "from_half", LOOP(p, k, NH, PV, store(p, y, vr(p, k), ld(p, hin, vr(p, k)), false),
                                store(p, y, bin(p, CG_ADD, vr(p, k), ic(p, IR_I64, NH)), ld(p, bin16, vr(p, k)), false)));
    cg_cpu_jit *j = jit(p);
    if (j) {
        static float xs[NH], ys[2 * NH];
        static uint16_t hs[NH], bs[NH], hin_s[NH], bin_s[NH];
        static const float special[] = {0.0f, -0.0f, 1.0f, 65504.0f, 65519.0f, 65520.0f, 1e-8f, 3e-8f, 2.98e-8f,
                                        3e-5f, 6.1e-5f, 1e-40f, -1e-45f, 1.0009765625f, 1.00048828125f,
                                        1.00390625f, 1.005859375f, 3.4e38f, INFINITY, -INFINITY, NAN, -NAN};
        int ns = (int)(sizeof special / sizeof special[0]);
        uint64_t seed = 5;
        for (int n = 0; n < NH; n++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            xs[n] = n < ns ? special[n] : float_of((uint32_t)(seed >> 32));
            hin_s[n] = bin_s[n] = (uint16_t)n; /* every 16-bit pattern */
        }
        char *slots[7] = {NULL, (char *)xs, (char *)hs, (char *)bs, (char *)hin_s, (char *)bin_s, (char *)ys};
        CHECK(fn_of(j, "to_half")(slots, 0, 1000, NULL) == 0 && fn_of(j, "to_half")(slots, 1000, NH, NULL) == 0);
        CHECK(fn_of(j, "from_half")(slots, 0, NH, NULL) == 0);
        int bad_h = 0, bad_b = 0, bad_lh = 0, bad_lb = 0;
        for (int n = 0; n < NH; n++) {
            uint16_t want = ir_f32_to_f16(xs[n]);
            /* NaN payloads: hardware keeps some payload bits, the interpreter a canonical NaN */
            bad_h += isnan(xs[n]) ? (hs[n] & 0xfc00) != (want & 0xfc00) || !(hs[n] & 0x3ff) : hs[n] != want;
            bad_b += bs[n] != ir_f32_to_bf16(xs[n]);
            float lh = ir_f16_to_f32(hin_s[n]);
            bad_lh += isnan(lh) ? !isnan(ys[n]) || signbit(lh) != signbit(ys[n]) : bits_of(ys[n]) != bits_of(lh);
            bad_lb += bits_of(ys[NH + n]) != (uint32_t)bin_s[n] << 16;
        }
        CHECK(bad_h == 0 && bad_b == 0, "f32 → f16: %d wrong, → bf16: %d wrong", bad_h, bad_b);
        CHECK(bad_lh == 0 && bad_lb == 0, "f16 → f32: %d wrong, bf16 → f32: %d wrong", bad_lh, bad_lb);
        cg_cpu_jit_destroy(j);
    }
    program_free(p);
}

/* ---- casts and elementwise semantics ------------------------------------------------------------ */

static int64_t saturate(double v, int64_t lo, int64_t hi) {
    if (isnan(v)) return 0;
    if (v <= (double)lo) return lo;
    if (v >= (double)hi) return hi;
    return (int64_t)v;
}

static void test_casts(void) {
    static const float fx[] = {NAN, -NAN, INFINITY, -INFINITY, 3e9f, -3e9f, 1e19f, -1e19f, 2147483520.0f,
                               2147483648.0f, -2147483648.0f, 9.2233720e18f, -2.7f, 2.7f, -0.0f, 0.5f, 1e-45f, 42.0f};
    static const int64_t ix[] = {0, 1, -1, INT64_MAX, INT64_MIN, 16777217, 0x100000001ll, -4294967297ll,
                                 123456789012ll, -5, 7, 1ll << 40, 3, 4, 5, 6, 8, 9};
    enum { N = sizeof fx / sizeof fx[0] };
    cg_program *p = program_new(9);
    int f = buf(p, 1, 0, IR_F32, N), i64 = buf(p, 2, 0, IR_I64, N), o32 = buf(p, 3, 0, IR_I32, N);
    int o64 = buf(p, 4, 0, IR_I64, N), ob = buf(p, 5, 0, IR_BOOL, N), of = buf(p, 6, 0, IR_F32, N);
    int ow = buf(p, 7, 0, IR_I32, N), obf = buf(p, 8, 0, IR_F32, N);
    int i = ivar(p, "i");
    cg_expr *fe = ld(p, f, vr(p, i)), *ie = ld(p, i64, vr(p, i));
    KERNEL(p, "casts", LOOP(p, i, N, PV, store(p, o32, vr(p, i), cast(p, IR_I32, fe), false),
                            store(p, o64, vr(p, i), cast(p, IR_I64, fe), false),
                            store(p, ob, vr(p, i), cast(p, IR_BOOL, fe), false),
                            store(p, of, vr(p, i), cast(p, IR_F32, ie), false),
                            store(p, ow, vr(p, i), cast(p, IR_I32, ie), false),
                            store(p, obf, vr(p, i), cast(p, IR_F32, cast(p, IR_BOOL, ie)), false)));
    cg_cpu_jit *j = jit(p);
    if (j) {
        int32_t r32[N], rw[N];
        int64_t r64[N];
        uint8_t rb[N];
        float rf[N], rbf[N];
        char *slots[9] = {NULL, (char *)fx, (char *)ix, (char *)r32, (char *)r64, (char *)rb, (char *)rf, (char *)rw, (char *)rbf};
        CHECK(fn_of(j, "casts")(slots, 0, N, NULL) == 0);
        for (int n = 0; n < N; n++) {
            CHECK(r32[n] == saturate(fx[n], INT32_MIN, INT32_MAX), "f32 %g → i32 %d", (double)fx[n], r32[n]);
            CHECK(r64[n] == saturate(fx[n], INT64_MIN, INT64_MAX), "f32 %g → i64 %lld", (double)fx[n], (long long)r64[n]);
            CHECK(rb[n] == (fx[n] != 0), "f32 %g → bool %d", (double)fx[n], rb[n]);
            CHECK(rf[n] == (float)ix[n], "i64 %lld → f32 %g", (long long)ix[n], (double)rf[n]);
            CHECK(rw[n] == (int32_t)(uint32_t)(uint64_t)ix[n], "i64 %lld → i32 %d", (long long)ix[n], rw[n]);
            CHECK(rbf[n] == (ix[n] != 0 ? 1.0f : 0.0f));
        }
        cg_cpu_jit_destroy(j);
    }
    program_free(p);
}

static float ref_max(float a, float b) { return isnan(a) || a >= b ? a : b; }
static float ref_min(float a, float b) { return isnan(a) || a <= b ? a : b; }

enum { NE = 10 };

static void test_elementwise(void) {
    static const float xa[] = {1, NAN, 2, -0.0f, 0.0f, -INFINITY, 3, -2.5f, 4, 0.25f};
    static const float xb[] = {NAN, 1, 2, 0.0f, -0.0f, 5, -INFINITY, 1.5f, 1e-3f, 16};
    cg_program *p = program_new(4);
    int a = buf(p, 1, 0, IR_F32, NE), b = buf(p, 2, 0, IR_F32, NE), o = buf(p, 3, 0, IR_F32, 16 * NE);
    int i = ivar(p, "i");
    cg_expr *av = ld(p, a, vr(p, i)), *bv = ld(p, b, vr(p, i));
    cg_expr *outs[16] = {
        bin(p, CG_MAX, av, bv), bin(p, CG_MIN, av, bv), un(p, CG_RELU, av), cast(p, IR_F32, bin(p, CG_LT, av, bv)),
        cast(p, IR_F32, bin(p, CG_NE, av, bv)), cast(p, IR_F32, un(p, CG_ISNAN, av)), un(p, CG_SQRT, bv),
        un(p, CG_FLOOR, av), un(p, CG_CEIL, av), un(p, CG_ABS, av), un(p, CG_NEG, av),
        sel(p, bin(p, CG_GE, av, bv), av, bv), bin(p, CG_DIV, av, bv), bin(p, CG_SUB, av, bv),
        un(p, CG_RSQRT, bv), bin(p, CG_FLOOR_MOD, av, bv),
    };
    cg_stmt *body[16];
    for (int k = 0; k < 16; k++) body[k] = store(p, o, bin(p, CG_ADD, vr(p, i), ic(p, IR_I64, k * NE)), outs[k], false);
    kernel_n(p, "elementwise", 1, (cg_stmt *[]){loop_n(p, i, NE, PV, 16, body)});
    cg_cpu_jit *j = jit(p);
    if (j) {
        float r[16 * NE];
        char *slots[4] = {NULL, (char *)xa, (char *)xb, (char *)r};
        CHECK(fn_of(j, "elementwise")(slots, 0, NE, NULL) == 0);
        for (int n = 0; n < NE; n++) {
            float x = xa[n], y = xb[n];
            float want[16] = {ref_max(x, y), ref_min(x, y), x < 0 ? 0.0f : x, (float)(x < y), (float)(x != y),
                              (float)isnan(x), sqrtf(y), floorf(x), ceilf(x), fabsf(x), -x, x >= y ? x : y,
                              x / y, x - y, (float)(1.0 / sqrt(y)), 0};
            float m = fmodf(x, y); /* np.remainder */
            want[15] = m != 0 && ((m < 0) != (y < 0)) ? m + y : (m == 0 ? copysignf(0.0f, y) : m);
            for (int k = 0; k < 16; k++) {
                float got = r[k * NE + n];
                bool ok = same(got, want[k]) || (k == 14 && fabsf(got - want[k]) <= 2e-7f * fabsf(want[k]));
                CHECK(ok, "op %d on (%g, %g): %g, want %g", k, (double)x, (double)y, (double)got, (double)want[k]);
            }
        }
        cg_cpu_jit_destroy(j);
    }
    program_free(p);
}

/* ---- integer division ---------------------------------------------------------------------------- */

static int64_t wrap_neg(int64_t a) { return (int64_t)(0 - (uint64_t)a); }

static int64_t ref_div(int64_t a, int64_t b, bool floor, bool rem) {
    if (b == 0 || b == -1) return rem ? 0 : b == 0 ? 0 : wrap_neg(a);
    int64_t q = a / b, r = a % b;
    if (floor && r != 0 && (r < 0) != (b < 0)) q -= 1, r += b;
    return rem ? r : q;
}

static void test_int_div(ir_dtype t) {
    static const int64_t as[] = {-7, -6, -1, 0, 1, 6, 7, INT32_MIN, INT32_MAX, INT64_MIN, INT64_MAX, -100};
    static const int64_t bs[] = {-3, -2, -1, 0, 1, 2, 3, 7, -100};
    enum { NA = sizeof as / sizeof as[0], NB = sizeof bs / sizeof bs[0], N = NA * NB };
    cg_program *p = program_new(4);
    int a = buf(p, 1, 0, t, N), b = buf(p, 2, 0, t, N), o = buf(p, 3, 0, t, 6 * N);
    int i = ivar(p, "i");
    cg_expr *av = ld(p, a, vr(p, i)), *bv = ld(p, b, vr(p, i));
    cg_expr *outs[6] = {bin(p, CG_FLOOR_DIV, av, bv), bin(p, CG_FLOOR_MOD, av, bv), bin(p, CG_DIV, av, bv),
                        bin(p, CG_REM, av, bv), bin(p, CG_FLOOR_DIV, av, ic(p, t, -3)), bin(p, CG_FLOOR_MOD, av, ic(p, t, 4))};
    cg_stmt *body[6];
    for (int k = 0; k < 6; k++) body[k] = store(p, o, bin(p, CG_ADD, vr(p, i), ic(p, IR_I64, k * N)), outs[k], false);
    kernel_n(p, "idiv", 1, (cg_stmt *[]){loop_n(p, i, N, PV, 6, body)});
    cg_cpu_jit *j = jit(p);
    if (j) {
        int64_t a64[N], b64[N], o64[6 * N];
        int32_t a32[N], b32[N], o32[6 * N];
        for (int n = 0; n < N; n++) {
            a64[n] = as[n / NB], b64[n] = bs[n % NB];
            if (t == IR_I32) a64[n] = (int32_t)(uint32_t)(uint64_t)a64[n]; /* as the i32 buffer holds it */
            a32[n] = (int32_t)a64[n], b32[n] = (int32_t)b64[n];
        }
        bool w = t == IR_I64;
        char *slots[4] = {NULL, w ? (char *)a64 : (char *)a32, w ? (char *)b64 : (char *)b32, w ? (char *)o64 : (char *)o32};
        CHECK(fn_of(j, "idiv")(slots, 0, N, NULL) == 0);
        for (int n = 0; n < N; n++) {
            int64_t x = a64[n], y = b64[n];
            int64_t want[6] = {ref_div(x, y, true, false), ref_div(x, y, true, true), ref_div(x, y, false, false),
                               ref_div(x, y, false, true), ref_div(x, -3, true, false), ref_div(x, 4, true, true)};
            for (int k = 0; k < 6; k++) {
                int64_t got = w ? o64[k * N + n] : o32[k * N + n];
                int64_t exp = w ? want[k] : (int32_t)(uint32_t)(uint64_t)want[k];
                CHECK(got == exp, "%s op %d (%lld, %lld): %lld, want %lld", ir_dtype_name(t), k, (long long)x,
                      (long long)y, (long long)got, (long long)exp);
            }
        }
        cg_cpu_jit_destroy(j);
    }
    program_free(p);
}

/* ---- an epilogue on the scratch tile ------------------------------------------------------------- */

/* out[r, c] = relu(scratch[(r - begin) * N + c] + bias[c]) for the rows [begin, end) just made. */
static void test_epilogue(void) {
    enum { ROWS = 10, COLS = 19 };
    cg_program *p = program_new(3);
    int bias = buf(p, 1, 0, IR_F32, COLS), out = buf(p, 2, 0, IR_F32, ROWS * COLS);
    int tile = buf(p, CG_SCRATCH_SLOT, 0, IR_F32, ROWS * COLS);
    int r = ivar(p, "r"), c = ivar(p, "c");
    cg_expr *row = bin(p, CG_SUB, vr(p, r), ex(p, CG_BEGIN, IR_I64));
    cg_expr *at = bin(p, CG_ADD, bin(p, CG_MUL, row, ic(p, IR_I64, COLS)), vr(p, c));
    cg_expr *v = un(p, CG_RELU, bin(p, CG_ADD, ld(p, tile, at), ld(p, bias, vr(p, c))));
    cg_kernel *k = KERNEL(p, "gemm_epilogue",
                          LOOP(p, r, ROWS, CG_LOOP_PARALLEL, LOOP(p, c, COLS, CG_LOOP_VECTOR, store(p, out, at2(p, r, COLS, c), v, false))));
    k->kind = CG_KERNEL_GEMM;
    k->gemm.m = ROWS, k->gemm.n = COLS, k->gemm.k = 4;
    cg_kernel *plain = &p->kernels[p->n_kernels++]; /* a GEMM without epilogue: no function */
    plain->name = "gemm_plain", plain->kind = CG_KERNEL_GEMM, plain->parallel_extent = 1, plain->gemm.m = 3;
    cg_cpu_jit *j = jit(p);
    if (j) {
        const rt_program *rp = cg_cpu_jit_program(j);
        CHECK(rp->n_steps == 2 && rp->steps[0].kind == RT_STEP_GEMM && rp->steps[0].gemm.m == ROWS);
        CHECK(rp->steps[1].fn == NULL && rp->steps[1].gemm.m == 3 && strcmp(rp->steps[1].name, "gemm_plain") == 0);
        float b[COLS], o[ROWS * COLS], scratch[4 * COLS];
        uint64_t seed = 6;
        for (int n = 0; n < COLS; n++) b[n] = rnd(&seed);
        for (int n = 0; n < 4 * COLS; n++) scratch[n] = rnd(&seed);
        for (int n = 0; n < ROWS * COLS; n++) o[n] = 99;
        char *slots[3] = {NULL, (char *)b, (char *)o};
        CHECK(rp->steps[0].fn(slots, 3, 7, (char *)scratch) == 0);
        int bad = 0;
        for (int row_i = 0; row_i < ROWS; row_i++)
            for (int n = 0; n < COLS; n++) {
                bool made = row_i >= 3 && row_i < 7;
                float t = made ? scratch[(row_i - 3) * COLS + n] + b[n] : 99;
                float want = made && t < 0 ? 0.0f : t;
                bad += !same(o[row_i * COLS + n], want);
            }
        CHECK(bad == 0, "epilogue: %d wrong", bad);
        cg_cpu_jit_destroy(j);
    }
    program_free(p);
}

/* ---- targets and dumps ------------------------------------------------------------------------- */

static void test_targets(void) {
    FILE *f = tmpfile();
    ir_diag d;
    ir_diag_init(&d, f);
    cg_cpu_options o = {.opt_level = 2, .cpu = "znver9"};
    CHECK(cg_cpu_target_machine(&o, &d) == NULL && d.errors == 1);
    char *msg = read_all(f);
    CHECK(strstr(msg, "unknown CPU 'znver9'") && strstr(msg, "x86-64-v3"), "message: %s", msg);
    free(msg);
    fclose(f);
    ir_diag_free(&d);
    ir_diag_init(&d, stderr);
    static const char *const cpus[] = {NULL, "native", "x86-64", "x86-64-v3", "znver4", "skylake-avx512"};
    static const int widths[] = {0, 0, 16, 32, 64, 64};
    for (int i = 0; i < 6; i++) {
        o.cpu = cpus[i];
        LLVMTargetMachineRef tm = cg_cpu_target_machine(&o, &d);
        CHECK(tm != NULL, "cpu %s", cpus[i] ? cpus[i] : "NULL");
        if (!tm) continue;
        int w = cg_cpu_vector_bytes(tm);
        CHECK(widths[i] ? w == widths[i] : (w == 16 || w == 32 || w == 64), "cpu %s: %d", cpus[i] ? cpus[i] : "NULL", w);
        LLVMDisposeTargetMachine(tm);
    }
    CHECK(d.errors == 0);
    ir_diag_free(&d);
}

static void test_dump_dir(void) {
    ir_module *m = ir_module_create();
    cg_program *p = flat_program();
    p->graph = ir_module_add_graph(m, "flatgraph", IR_NO_LOC);
    mkdir("cpu_emit_dump", 0777);
    /* Dumps an earlier, interrupted run left would pass the check below without being written. */
    remove("cpu_emit_dump/flatgraph.ll"), remove("cpu_emit_dump/flatgraph.opt.ll");
    ir_diag d;
    ir_diag_init(&d, stderr);
    cg_cpu_options o = {.opt_level = 2, .dump_dir = "cpu_emit_dump"};
    cg_cpu_jit *j = cg_cpu_jit_create(p, &o, &d);
    CHECK(j && d.errors == 0 && strcmp(cg_cpu_jit_program(j)->name, "flatgraph") == 0);
    cg_cpu_jit_destroy(j);
    FILE *before = fopen("cpu_emit_dump/flatgraph.ll", "r"), *after = fopen("cpu_emit_dump/flatgraph.opt.ll", "r");
    CHECK(before && after, "dumps not written");
    if (before) fclose(before);
    if (after) fclose(after);
    remove("cpu_emit_dump/flatgraph.ll"), remove("cpu_emit_dump/flatgraph.opt.ll"), remove("cpu_emit_dump");
    ir_diag_free(&d);
    FILE *f = tmpfile();
    ir_diag_init(&d, f);
    o.dump_dir = "cpu_emit_no_such_dir/x";
    CHECK(cg_cpu_jit_create(p, &o, &d) == NULL && d.errors == 1);
    char *msg = read_all(f);
    CHECK(strstr(msg, "cpu_emit_no_such_dir/x") != NULL, "message: %s", msg);
    free(msg);
    fclose(f);
    ir_diag_free(&d);
    program_free(p);
    ir_module_destroy(m);
}

/* Broken Kernel IR is an internal error naming the kernel, with nothing leaked. */
static void expect_bug(cg_program *p, const char *kernel, const char *what) {
    FILE *f = tmpfile();
    ir_diag d;
    ir_diag_init(&d, f);
    cg_cpu_options o = {.opt_level = 2};
    CHECK(cg_cpu_jit_create(p, &o, &d) == NULL && d.bugs == 1);
    char *msg = read_all(f);
    CHECK(strstr(msg, kernel) && strstr(msg, what), "message: %s", msg);
    free(msg);
    fclose(f);
    ir_diag_free(&d);
    program_free(p);
}

static void test_errors(void) {
    cg_program *p = program_new(2);
    int out = buf(p, 1, 0, IR_F32, 4), i = ivar(p, "i");
    KERNEL(p, "good", LOOP(p, i, 4, PV, store(p, out, vr(p, i), fc(p, 1), false)));
    KERNEL(p, "bad_buffer", LOOP(p, i, 4, PV, store(p, out, vr(p, i), ld(p, out, vr(p, i)), false)));
    p->kernels[1].body[0]->body[0]->value->buf = 7;
    expect_bug(p, "bad_buffer", "buffer 7 out of range");
    p = program_new(2);
    out = buf(p, 1, 0, IR_F32, 4), i = ivar(p, "i");
    KERNEL(p, "bad_index", store(p, out, vr(p, i), fc(p, 1), false));
    expect_bug(p, "bad_index", "index i used outside its loop");
    p = program_new(2);
    out = buf(p, 1, 0, IR_F32, 4), i = ivar(p, "i");
    KERNEL(p, "twice", store(p, out, ic(p, IR_I64, 0), fc(p, 1), false));
    KERNEL(p, "twice", store(p, out, ic(p, IR_I64, 1), fc(p, 1), false));
    expect_bug(p, "twice", "two kernels are named");
}

int main(void) {
    test_errors();
    test_targets();
    test_flat_asm();
    test_dump_dir();
    static const int levels[] = {2, 0, 1, 3};
    for (int l = 0; l < 4; l++) {
        opt_level = levels[l];
        test_flat();
        test_two_outputs();
        test_broadcast();
        test_reduce();
        test_argmax();
        test_checks();
        test_half();
        test_casts();
        test_elementwise();
        test_int_div(IR_I32);
        test_int_div(IR_I64);
        test_epilogue();
    }
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
