/* test_grad.c — the gradients: every op's rule (ir/grad_rules_*.c) through the autodiff pass
 * (passes/autodiff.c) and grad(y, x) in the frontend. For each differentiable op and each float
 * operand x, l = sum(op(...) * r) with a random r and g = grad(l, x) run in the interpreter are
 * checked against central differences of l; the same graph through the CPU backend must give the
 * interpreter's gradients, and its f16 and bf16 versions the f32 ones within their precision.
 * Then the documented choices at non-smooth points, the paths autodiff takes, and its errors. */
#include "codegen/cpu/cpu.h"
#include "frontend/frontend.h"
#include "passes/passes.h"
#include "runtime/program.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

/* ---- central differences: the step and the tolerance ------------------------------------------
 * fd = (l(x + h) - l(x - h)) / (2h), the step taken as the difference of the stored f32 values.
 * Truncation error: h²/6 · |∂³l/∂x³|; the inputs below keep |f'''| · |r| under about 20 (no input
 * within 0.2 of a pole, positive inputs of log, sqrt, rsqrt and pow at least 0.5), so with h = 1e-2
 * it is below 3.4e-4. Round-off: the interpreter rounds each value to f32 (relative 2^-24 = 6e-8),
 * so l is off by about 6e-8 · Σ|y_i r_i| <= 6e-8 · 50 for these sizes, and the quotient by
 * 2 · 3e-6 / 2h = 3e-4. Their sum stays under ATOL = 1e-3; RTOL = 5e-3 · |g| covers the larger
 * gradients, whose third derivatives scale with them (exp, pow). A wrong rule is off by O(|g|):
 * a missing factor or term shows up far above this. Kinks (relu at 0, ties of max and maximum,
 * the edges of clip) are kept at least 0.05 > h away by the inputs' construction. */
static const double FD_STEP = 1e-2, FD_ATOL = 1e-3, FD_RTOL = 5e-3;
/* The CPU backend against the interpreter: both in f32, they differ by reassociation (blocked
 * GEMM and reductions) and by the backend's polynomial transcendental functions (a few ulp),
 * relative 1e-4 (LANGUAGE.md's reduction tolerance) of the gradient's largest element. */
static const double CPU_RTOL = 1e-4;
/* f16 and bf16 against f32 from the same (rounded) inputs, relative to the largest gradient:
 * each op rounds to the dtype (unit roundoff u = 2^-11, 2^-8) and a gradient passes through up
 * to some ten of them, so 10u bounds the error: 1e-2 (20u) and 5e-2 (13u). */
static const double F16_TOL = 1e-2, BF16_TOL = 5e-2;

/* ---- deterministic inputs ------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static double uniform(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

static double normal(void) {
    double u = uniform(), v = uniform();
    return sqrt(-2 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

typedef enum {
    GEN_NORMAL,   /* N(0, 1) */
    GEN_AWAY,     /* |v| in [0.2, 1.5], random sign: away from the kinks at 0 */
    GEN_POSITIVE, /* [0.5, 2] */
    GEN_DISTINCT, /* a permutation of (k - n/2) * 0.1 + shift: no two within 0.1 */
    GEN_BOOLS,
    GEN_INDEX,  /* integers in [0, limit) */
    GEN_VALUES, /* the given values */
} gen_kind;

typedef struct arg_spec {
    const char *decl; /* "x : f32[2,3]" */
    gen_kind gen;
    double shift;         /* GEN_DISTINCT */
    int limit;            /* GEN_INDEX */
    const double *values; /* GEN_VALUES */
} arg_spec;

static void fill(ir_tensor *t, const arg_spec *a) {
    int64_t n = ir_type_elems(&t->type);
    for (int64_t i = 0; i < n; i++) {
        double v = 0;
        switch (a->gen) {
        case GEN_NORMAL: v = normal(); break;
        case GEN_AWAY: v = (0.2 + 1.3 * uniform()) * (uniform() < 0.5 ? -1 : 1); break;
        case GEN_POSITIVE: v = 0.5 + 1.5 * uniform(); break;
        case GEN_DISTINCT: v = (double)i; break;
        case GEN_BOOLS: v = uniform() < 0.5; break;
        case GEN_INDEX: v = (double)(int)(uniform() * a->limit); break;
        case GEN_VALUES: v = a->values[i]; break;
        }
        ir_tensor_set(t, i, v);
    }
    if (a->gen != GEN_DISTINCT) return;
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates over 0..n-1, then scaled */
        int64_t j = (int64_t)(uniform() * (double)(i + 1));
        double vi = ir_tensor_get(t, i);
        ir_tensor_set(t, i, ir_tensor_get(t, j));
        ir_tensor_set(t, j, vi);
    }
    for (int64_t i = 0; i < n; i++) ir_tensor_set(t, i, (ir_tensor_get(t, i) - (double)(n / 2)) * 0.1 + a->shift);
}

/* ---- compiling and running ------------------------------------------------------------------ */

typedef struct session {
    ir_diag diag;
    FILE *log;
    ir_module *m;
    char text[4096]; /* what the diagnostics said (session_log) */
} session;

/* Compiles source and runs the passes (each followed by the verifier); false with the
 * diagnostics in s->text. */
static bool session_open(session *s, const char *src, const pass_id *passes, int n_passes) {
    memset(s, 0, sizeof *s);
    s->log = tmpfile();
    if (!s->log) abort();
    ir_diag_init(&s->diag, s->log);
    int file = ir_diag_add_source(&s->diag, "case.tg", src, strlen(src));
    s->m = fe_compile(&s->diag, file, NULL);
    if (!s->m) return false;
    pass_pipeline p = {.n = n_passes};
    for (int i = 0; i < n_passes; i++) p.ids[i] = passes[i];
    pass_run_options o = {.verify_each = true};
    return n_passes == 0 || pass_run_pipeline(s->m, &p, &o, &s->diag);
}

static const char *session_log(session *s) {
    fflush(s->log);
    rewind(s->log);
    size_t len = fread(s->text, 1, sizeof s->text - 1, s->log);
    s->text[len] = 0;
    return s->text;
}

static void session_close(session *s) {
    if (s->m) ir_module_destroy(s->m);
    ir_diag_free(&s->diag);
    fclose(s->log);
}

static ir_graph *graph0(const session *s) { return s->m->graphs[0]; }

/* The module's parameters from their initializers (seed 0); freed with free_tensors. */
static ir_tensor *init_params(session *s) {
    ir_tensor *p = calloc((size_t)s->m->n_params + 1, sizeof *p);
    for (int i = 0; i < s->m->n_params; i++)
        if (!ir_tensor_alloc(&p[i], &s->m->params[i].type) || !ir_param_init(&s->m->params[i], 0, &p[i], &s->diag))
            abort();
    return p;
}

static void free_tensors(ir_tensor *t, int n) {
    for (int i = 0; i < n; i++) ir_tensor_free(&t[i]);
    free(t);
}

static bool interp(session *s, const ir_tensor *params, const ir_tensor *inputs, ir_tensor *outputs) {
    return ir_interp_graph(graph0(s), params, inputs, outputs, &s->diag);
}

static bool has_op(const ir_graph *g, ir_op op) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->op == op) return true;
    return false;
}

/* A matmul reading both operands through permutations: the forward product after canonicalize
 * absorbed transpose(a) and transpose(b) (each gradient product reads one operand as it is). */
static bool has_permuted_matmul(const ir_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if (n->op == IR_OP_MATMUL && n->attr[IR_ATTR_PERM_A].n > 0 && n->attr[IR_ATTR_PERM_B].n > 0) return true;
    }
    return false;
}

/* The graph through the -O3 pipeline and the CPU backend's JIT; outputs allocated here. A run
 * that fails says why in the session's log. */
static bool run_cpu(session *s, const ir_tensor *params, const ir_tensor *inputs, ir_tensor *outputs) {
    pass_pipeline p;
    pass_pipeline_for_level(3, NULL, &p);
    pass_run_options o = {.verify_each = true};
    if (!pass_run_pipeline(s->m, &p, &o, &s->diag)) return false;
    const ir_graph *g = graph0(s);
    cg_program *prog = cg_lower_graph(g, &s->diag);
    if (!prog) return false;
    cg_cpu_options co = {3, NULL, NULL};
    cg_cpu_jit *jit = cg_cpu_jit_create(prog, &co, &s->diag);
    char err[256] = "";
    rt_exec *e = jit ? rt_exec_create(cg_cpu_jit_program(jit), 1, err, sizeof err) : NULL;
    char **slots = calloc((size_t)prog->n_slots, sizeof *slots);
    bool ok = e != NULL;
    for (int i = 0; ok && i < g->n_outputs; i++) ok = ir_tensor_alloc(&outputs[i], &g->nodes[g->output_nodes[i]]->type);
    if (ok) {
        for (int i = 0; i < g->n_inputs; i++) slots[cg_slot_input(g, i)] = inputs[i].data;
        for (int i = 0; i < g->n_outputs; i++) slots[cg_slot_output(g, i)] = outputs[i].data;
        for (int i = 0; i < s->m->n_params; i++) slots[cg_slot_param(g, i)] = params[i].data;
        ok = rt_exec_run(e, slots) == 0;
        if (!ok) fprintf(s->log, "cpu: %s\n", rt_exec_error(e));
    } else if (err[0]) {
        fprintf(s->log, "cpu: %s\n", err);
    }
    free(slots);
    rt_exec_destroy(e);
    cg_cpu_jit_destroy(jit);
    cg_program_destroy(prog);
    return ok;
}

/* max |t| over the elements */
static double max_abs(const ir_tensor *t) {
    double m = 0;
    for (int64_t i = 0; i < ir_type_elems(&t->type); i++) m = fmax(m, fabs(ir_tensor_get(t, i)));
    return m;
}

/* ---- the cases: y = EXPR over the arguments; every float argument is differentiated ------------- */

enum {
    CANONICALIZE_FIRST = 1, /* canonicalize before autodiff (transposes into matmul's perm_a/perm_b) */
    NO_HALF = 2,            /* the op has no f16/bf16 form (matmul) */
};

typedef struct grad_case {
    const char *expr;
    arg_spec args[6];
    unsigned flags;
} grad_case;

/* clang-format off */
#define A(d, g) {.decl = (d), .gen = (g)}
#define DISTINCT(d, s) {.decl = (d), .gen = GEN_DISTINCT, .shift = (s)}
#define VALUES(d, v) {.decl = (d), .gen = GEN_VALUES, .values = (v)}
#define INDEX(d, k) {.decl = (d), .gen = GEN_INDEX, .limit = (k)}
/* clang-format on */

static const double CLIP_X[6] = {-1.0, -0.3, 0.45, 1.2, 0.7, -0.75};
static const double CLIP_LO[3] = {-0.5, -0.5, 0.8}; /* the third column has lo > hi */
static const double CLIP_HI[3] = {0.6, 0.2, 0.55};
static const double GATHER_IDX[5] = {2, 0, 2, 3, 2};
static const double GATHER_IDX2[6] = {1, 1, 0, 2, 0, 1};

static const grad_case CASES[] = {
    /* elementwise arithmetic, with broadcasting */
    {"a + b", {A("a : f32[2,3]", GEN_NORMAL), A("b : f32[3]", GEN_NORMAL)}, 0},
    {"a - b", {A("a : f32[2,3]", GEN_NORMAL), A("b : f32[2,1]", GEN_NORMAL)}, 0},
    {"a * b", {A("a : f32[2,1,3]", GEN_NORMAL), A("b : f32[4,1]", GEN_NORMAL)}, 0},
    {"a * b", {A("a : f32[2,3]", GEN_NORMAL), A("b : f32[]", GEN_NORMAL)}, 0},
    {"a / b", {A("a : f32[2,3]", GEN_NORMAL), A("b : f32[3]", GEN_POSITIVE)}, 0},
    {"a ** b", {A("a : f32[2,3]", GEN_POSITIVE), A("b : f32[3]", GEN_NORMAL)}, 0},
    {"maximum(a, b)", {A("a : f32[3,4]", GEN_DISTINCT), DISTINCT("b : f32[4]", 0.05)}, 0},
    {"minimum(a, b)", {A("a : f32[3,4]", GEN_DISTINCT), DISTINCT("b : f32[3,1]", 0.05)}, 0},
    {"select(c, a, b)", {A("c : bool[2,3]", GEN_BOOLS), A("a : f32[2,3]", GEN_NORMAL), A("b : f32[3]", GEN_NORMAL)}, 0},
    {"clip(x, lo, hi)",
     {VALUES("x : f32[2,3]", CLIP_X), VALUES("lo : f32[3]", CLIP_LO), VALUES("hi : f32[3]", CLIP_HI)},
     0},
    {"-x", {A("x : f32[2,3]", GEN_NORMAL)}, 0},
    /* unary */
    {"abs(x)", {A("x : f32[2,3]", GEN_AWAY)}, 0},
    {"exp(x)", {A("x : f32[2,3]", GEN_NORMAL)}, 0},
    {"log(x)", {A("x : f32[2,3]", GEN_POSITIVE)}, 0},
    {"sqrt(x)", {A("x : f32[2,3]", GEN_POSITIVE)}, 0},
    {"rsqrt(x)", {A("x : f32[2,3]", GEN_POSITIVE)}, 0},
    {"tanh(x)", {A("x : f32[2,3]", GEN_NORMAL)}, 0},
    {"sigmoid(x)", {A("x : f32[2,3]", GEN_NORMAL)}, 0},
    {"relu(x)", {A("x : f32[2,3]", GEN_AWAY)}, 0},
    {"gelu(x)", {A("x : f32[2,4]", GEN_NORMAL)}, 0},
    {"gelu_tanh(x)", {A("x : f32[2,4]", GEN_NORMAL)}, 0},
    {"silu(x)", {A("x : f32[2,4]", GEN_NORMAL)}, 0},
    {"sin(x)", {A("x : f32[2,3]", GEN_NORMAL)}, 0},
    {"cos(x)", {A("x : f32[2,3]", GEN_NORMAL)}, 0},
    {"erf(x)", {A("x : f32[2,3]", GEN_NORMAL)}, 0},
    {"leaky_relu(x, alpha=0.2)", {A("x : f32[2,3]", GEN_AWAY)}, 0},
    {"cast(x, f32)", {A("x : f16[2,3]", GEN_NORMAL)}, NO_HALF},
    {"x * tanh(x) + exp(x) / x", {A("x : f32[2,3]", GEN_POSITIVE)}, 0},
    /* reductions */
    {"sum(x, axis=1)", {A("x : f32[2,3,2]", GEN_NORMAL)}, 0},
    {"sum(x, axis=[0, 2], keepdims=true)", {A("x : f32[2,3,2]", GEN_NORMAL)}, 0},
    {"mean(x, axis=-1)", {A("x : f32[2,3,2]", GEN_NORMAL)}, 0},
    {"mean(x)", {A("x : f32[2,3]", GEN_NORMAL)}, 0},
    {"max(x, axis=1)", {A("x : f32[2,4,3]", GEN_DISTINCT)}, 0},
    {"min(x, axis=[0, 2], keepdims=true)", {A("x : f32[2,4,3]", GEN_DISTINCT)}, 0},
    {"max(x)", {A("x : f32[3,4]", GEN_DISTINCT)}, 0},
    /* normalization */
    {"softmax(x, axis=0)", {A("x : f32[3,4]", GEN_NORMAL)}, 0},
    {"softmax(x)", {A("x : f32[2,5]", GEN_NORMAL)}, 0},
    {"log_softmax(x)", {A("x : f32[3,4]", GEN_NORMAL)}, 0},
    {"log_softmax(x, axis=1)", {A("x : f32[2,3,2]", GEN_NORMAL)}, 0},
    {"layer_norm(x, g, b)",
     {A("x : f32[3,5]", GEN_NORMAL), A("g : f32[5]", GEN_NORMAL), A("b : f32[5]", GEN_NORMAL)},
     0},
    {"batch_norm(x, m, v, g, b, eps=0.01)",
     {A("x : f32[2,3,2,2]", GEN_NORMAL), A("m : f32[3]", GEN_NORMAL), A("v : f32[3]", GEN_POSITIVE),
      A("g : f32[3]", GEN_NORMAL), A("b : f32[3]", GEN_NORMAL)},
     0},
    {"batch_norm(x, m, v, g, b)",
     {A("x : f32[4,3]", GEN_NORMAL), A("m : f32[3]", GEN_NORMAL), A("v : f32[3]", GEN_POSITIVE),
      A("g : f32[3]", GEN_NORMAL), A("b : f32[3]", GEN_NORMAL)},
     0},
    /* matmul: plain, batched with broadcasting, vectors, transposed operands */
    {"a @ b", {A("a : f32[2,3]", GEN_NORMAL), A("b : f32[3,4]", GEN_NORMAL)}, NO_HALF},
    {"a @ b", {A("a : f32[2,1,2,3]", GEN_NORMAL), A("b : f32[3,3,2]", GEN_NORMAL)}, NO_HALF},
    {"a @ b", {A("a : f32[3]", GEN_NORMAL), A("b : f32[3,2]", GEN_NORMAL)}, NO_HALF},
    {"a @ b", {A("a : f32[2,3]", GEN_NORMAL), A("b : f32[3]", GEN_NORMAL)}, NO_HALF},
    {"a @ b", {A("a : f32[4]", GEN_NORMAL), A("b : f32[4]", GEN_NORMAL)}, NO_HALF},
    {"a @ b", {A("a : f32[3]", GEN_NORMAL), A("b : f32[2,3,2]", GEN_NORMAL)}, NO_HALF},
    {"transpose(a) @ transpose(b, perm=[0, 2, 1])",
     {A("a : f32[3,2]", GEN_NORMAL), A("b : f32[2,4,3]", GEN_NORMAL)},
     NO_HALF | CANONICALIZE_FIRST},
    /* movement */
    {"transpose(x, perm=[1, 2, 0])", {A("x : f32[2,3,2]", GEN_NORMAL)}, 0},
    {"reshape(x, [3, -1])", {A("x : f32[2,3,2]", GEN_NORMAL)}, 0},
    {"broadcast_to(x, [2, 3, 4])", {A("x : f32[3,1]", GEN_NORMAL)}, 0},
    {"concat([a, b, a], axis=1)", {A("a : f32[2,2]", GEN_NORMAL), A("b : f32[2,3]", GEN_NORMAL)}, 0},
    {"slice(x, start=[0, 1], stop=[5, 6], step=[2, 1])", {A("x : f32[5,7]", GEN_NORMAL)}, 0},
    {"slice(x, start=[3, 6], stop=[-6, 0], step=[-1, -3])", {A("x : f32[5,7]", GEN_NORMAL)}, 0},
    {"slice(x, start=[1, 0, 1], stop=[2, 3, 6], step=[1, 2, 3])", {A("x : f32[2,3,7]", GEN_NORMAL)}, 0},
    {"pad(x, [[1, 0], [2, 1]], value=3)", {A("x : f32[2,3]", GEN_NORMAL)}, 0},
    {"gather(x, idx)", {A("x : f32[4,3]", GEN_NORMAL), VALUES("idx : i32[5]", GATHER_IDX)}, 0},
    {"gather(x, idx, axis=1)", {A("x : f32[2,3]", GEN_NORMAL), VALUES("idx : i32[2,3]", GATHER_IDX2)}, 0},
    /* conv2d: stride, padding (also "same" with lo != hi, and wider than the kernel reaches),
     * dilation, groups 1, 2 and C, non-square */
    {"conv2d(x, w)", {A("x : f32[2,4,5,6]", GEN_NORMAL), A("w : f32[3,4,3,2]", GEN_NORMAL)}, 0},
    {"conv2d(x, w, stride=2, padding=1)", {A("x : f32[2,4,5,6]", GEN_NORMAL), A("w : f32[2,4,3,3]", GEN_NORMAL)}, 0},
    {"conv2d(x, w, padding=\"same\", dilation=2)",
     {A("x : f32[1,4,5,6]", GEN_NORMAL), A("w : f32[2,4,3,3]", GEN_NORMAL)},
     0},
    {"conv2d(x, w, padding=\"same\")", {A("x : f32[1,2,5,6]", GEN_NORMAL), A("w : f32[2,2,2,4]", GEN_NORMAL)}, 0},
    {"conv2d(x, w, stride=[2, 1], padding=[1, 2], dilation=[1, 2], groups=2)",
     {A("x : f32[2,4,5,6]", GEN_NORMAL), A("w : f32[4,2,2,3]", GEN_NORMAL)},
     0},
    {"conv2d(x, w, stride=2, padding=1, groups=4)",
     {A("x : f32[1,4,5,6]", GEN_NORMAL), A("w : f32[8,1,3,3]", GEN_NORMAL)},
     0},
    {"conv2d(x, w, stride=3, padding=3)", {A("x : f32[1,2,5,6]", GEN_NORMAL), A("w : f32[2,2,2,2]", GEN_NORMAL)}, 0},
    /* pooling */
    {"max_pool2d(x, 2, stride=1)", {A("x : f32[1,2,4,5]", GEN_DISTINCT)}, 0},
    {"max_pool2d(x, 3, stride=2, padding=1)", {A("x : f32[2,1,5,5]", GEN_DISTINCT)}, 0},
    {"avg_pool2d(x, 2)", {A("x : f32[1,2,4,5]", GEN_NORMAL)}, 0},
    {"avg_pool2d(x, [3, 2], stride=[2, 1], padding=1)", {A("x : f32[2,1,5,5]", GEN_NORMAL)}, 0},
    {"global_avg_pool(x)", {A("x : f32[2,3,2,3]", GEN_NORMAL)}, 0},
    /* losses */
    {"cross_entropy(x, y)", {A("x : f32[4,5]", GEN_NORMAL), INDEX("y : i32[4]", 5)}, 0},
    {"cross_entropy(x, y)", {A("x : f32[2,2,3]", GEN_NORMAL), INDEX("y : i64[2,2]", 3)}, 0},
    {"mse(a, b)", {A("a : f32[2,3]", GEN_NORMAL), A("b : f32[3]", GEN_NORMAL)}, 0},
};

/* ---- one case -------------------------------------------------------------------------------- */

typedef struct built_case {
    int n_args;
    char names[6][16];
    ir_type types[7]; /* the arguments', then r's */
    bool diff[6];     /* differentiated: the float arguments */
    int n_diff;
} built_case;

static int arg_count(const grad_case *c) {
    int n = 0;
    while (n < 6 && c->args[n].decl) n++;
    return n;
}

/* The arguments' declarations with f32 replaced by `dtype` (the f16/bf16 variants). */
static void decls(const grad_case *c, const char *dtype, char *out, size_t size) {
    out[0] = 0;
    for (int i = 0; i < arg_count(c); i++) {
        const char *d = c->args[i].decl, *f = strstr(d, "f32");
        size_t len = strlen(out);
        if (f && dtype)
            snprintf(out + len, size - len, "%s%.*s%s%s", i ? ", " : "", (int)(f - d), d, dtype, f + 3);
        else
            snprintf(out + len, size - len, "%s%s", i ? ", " : "", d);
    }
}

/* Compiles `graph p(args) -> (op_out) { op_out = EXPR }` for the types of the arguments and of
 * the op's value. */
static bool probe(const grad_case *c, const char *dtype, built_case *bc) {
    char args[512], src[1024];
    decls(c, dtype, args, sizeof args);
    snprintf(src, sizeof src, "graph p(%s) -> (op_out) {\n  op_out = %s\n}\n", args, c->expr);
    session s;
    bool ok = session_open(&s, src, NULL, 0);
    CHECK(ok, "%s: does not compile:\n%s", c->expr, session_log(&s));
    if (ok) {
        const ir_graph *g = graph0(&s);
        memset(bc, 0, sizeof *bc);
        bc->n_args = g->n_inputs;
        for (int i = 0; i < g->n_inputs; i++) {
            snprintf(bc->names[i], sizeof bc->names[i], "%s", g->input_names[i]);
            bc->types[i] = g->input_types[i];
            bc->diff[i] = ir_dtype_is_float(g->input_types[i].dtype);
            bc->n_diff += bc->diff[i];
        }
        bc->types[bc->n_args] = g->nodes[g->output_nodes[0]]->type;
    }
    session_close(&s);
    return ok;
}

static void type_decl(const ir_type *t, char *out, size_t size) {
    int len = snprintf(out, size, "%s[", ir_dtype_name(t->dtype));
    for (int i = 0; i < t->rank; i++)
        len += snprintf(out + len, size - (size_t)len, "%s%lld", i ? "," : "", (long long)t->dims[i]);
    snprintf(out + len, size - (size_t)len, "]");
}

/* graph f(args, r) -> (l[, g_x...]) { op_out = EXPR; l = sum(op_out * r); g_x = grad(l, x) ... } */
static void program(const grad_case *c, const char *dtype, const built_case *bc, bool grads, char *out, size_t size) {
    char args[512], rt[64];
    decls(c, dtype, args, sizeof args);
    type_decl(&bc->types[bc->n_args], rt, sizeof rt);
    int len = snprintf(out, size, "graph f(%s, r : %s) -> (l", args, rt);
    for (int i = 0; grads && i < bc->n_args; i++)
        if (bc->diff[i]) len += snprintf(out + len, size - (size_t)len, ", g_%s", bc->names[i]);
    len += snprintf(out + len, size - (size_t)len, ") {\n  op_out = %s\n  l = sum(op_out * r)\n", c->expr);
    for (int i = 0; grads && i < bc->n_args; i++)
        if (bc->diff[i])
            len += snprintf(out + len, size - (size_t)len, "  g_%s = grad(l, %s)\n", bc->names[i], bc->names[i]);
    snprintf(out + len, size - (size_t)len, "}\n");
}

/* The inputs (arguments, then r) for bc's types, filled by the case's generators. */
static ir_tensor *make_inputs(const grad_case *c, const built_case *bc) {
    ir_tensor *in = calloc((size_t)bc->n_args + 1, sizeof *in);
    for (int i = 0; i <= bc->n_args; i++) {
        if (!ir_tensor_alloc(&in[i], &bc->types[i])) abort();
        arg_spec r = {.decl = "r", .gen = GEN_NORMAL};
        fill(&in[i], i < bc->n_args ? &c->args[i] : &r);
    }
    return in;
}

static const pass_id AUTODIFF[] = {PASS_AUTODIFF}, CANON_AUTODIFF[] = {PASS_CANONICALIZE, PASS_AUTODIFF};

static bool open_grads(session *s, const grad_case *c, const char *src) {
    bool canon = c->flags & CANONICALIZE_FIRST;
    bool ok = session_open(s, src, canon ? CANON_AUTODIFF : AUTODIFF, canon ? 2 : 1);
    CHECK(ok, "%s: autodiff failed:\n%s", c->expr, session_log(s));
    CHECK(!ok || !has_op(graph0(s), IR_OP_GRAD), "%s: a grad node is left", c->expr);
    CHECK(!ok || !(c->flags & CANONICALIZE_FIRST) || has_permuted_matmul(graph0(s)),
          "%s: canonicalize did not make perm_a and perm_b", c->expr);
    return ok;
}

/* l at the current inputs, by the forward graph in the interpreter. */
static double loss(session *fwd, const ir_tensor *inputs) {
    ir_tensor out[1] = {{.data = NULL}};
    bool ok = interp(fwd, NULL, inputs, out);
    CHECK(ok, "forward: %s", session_log(fwd));
    double l = ok ? ir_tensor_get(&out[0], 0) : NAN;
    ir_tensor_free(&out[0]);
    return l;
}

/* Central differences of l for every element of every differentiated argument, against the
 * gradients `grads` (one per differentiated argument, in order). */
static void check_differences(const grad_case *c, const built_case *bc, ir_tensor *inputs, const ir_tensor *grads) {
    char src[2048];
    program(c, NULL, bc, false, src, sizeof src);
    session fwd;
    bool ok = session_open(&fwd, src, NULL, 0);
    CHECK(ok, "%s: forward graph: %s", c->expr, session_log(&fwd));
    for (int a = 0, k = 0; ok && a < bc->n_args; a++) {
        if (!bc->diff[a]) continue;
        ir_tensor *x = &inputs[a];
        const ir_tensor *g = &grads[k++];
        int bad = 0;
        for (int64_t i = 0; i < ir_type_elems(&x->type); i++) {
            double v = ir_tensor_get(x, i);
            ir_tensor_set(x, i, v + FD_STEP);
            double hi = ir_tensor_get(x, i), l_hi = loss(&fwd, inputs);
            ir_tensor_set(x, i, v - FD_STEP);
            double lo = ir_tensor_get(x, i), l_lo = loss(&fwd, inputs);
            ir_tensor_set(x, i, v);
            double fd = (l_hi - l_lo) / (hi - lo), got = ir_tensor_get(g, i);
            bool close = fabs(fd - got) <= FD_ATOL + FD_RTOL * fabs(got);
            if (!close && bad++ < 3)
                CHECK(close, "%s: d l / d %s[%lld]: grad %.7g, central difference %.7g", c->expr, bc->names[a],
                      (long long)i, got, fd);
        }
    }
    session_close(&fwd);
}

/* The same graph through the CPU backend: its l and gradients against the interpreter's. */
static void check_cpu(const grad_case *c, const built_case *bc, const ir_tensor *inputs, const ir_tensor *want) {
    char src[2048];
    program(c, NULL, bc, true, src, sizeof src);
    session s;
    if (!open_grads(&s, c, src)) {
        session_close(&s);
        return;
    }
    int n_out = graph0(&s)->n_outputs;
    ir_tensor *got = calloc((size_t)n_out, sizeof *got);
    bool ok = run_cpu(&s, NULL, inputs, got);
    CHECK(ok, "%s: the CPU backend failed:\n%s", c->expr, session_log(&s));
    for (int o = 0; ok && o < n_out; o++) {
        double scale = max_abs(&want[o]), worst = 0;
        for (int64_t i = 0; i < ir_type_elems(&want[o].type); i++)
            worst = fmax(worst, fabs(ir_tensor_get(&got[o], i) - ir_tensor_get(&want[o], i)));
        CHECK(worst <= CPU_RTOL * scale, "%s: output %s: CPU differs from the interpreter by %g (largest %g)", c->expr,
              graph0(&s)->output_names[o], worst, scale);
    }
    free_tensors(got, n_out);
    session_close(&s);
}

/* The f16 or bf16 version of the case: autodiff succeeds, each gradient has its argument's
 * type, and matches the f32 gradients from the same rounded inputs. */
static void check_half(const grad_case *c, ir_dtype dt) {
    built_case bh, bf;
    if (!probe(c, ir_dtype_name(dt), &bh) || !probe(c, NULL, &bf)) return;
    char src_h[2048], src_f[2048];
    program(c, ir_dtype_name(dt), &bh, true, src_h, sizeof src_h);
    program(c, NULL, &bf, true, src_f, sizeof src_f);
    ir_tensor *in_h = make_inputs(c, &bh), *in_f = calloc((size_t)bf.n_args + 1, sizeof *in_f);
    for (int i = 0; i <= bf.n_args; i++) { /* the f32 run reads the rounded values */
        if (!ir_tensor_alloc(&in_f[i], &bf.types[i])) abort();
        for (int64_t e = 0; e < ir_type_elems(&bf.types[i]); e++)
            ir_tensor_set(&in_f[i], e, ir_tensor_get(&in_h[i], e));
    }
    session sh, sf;
    bool ok_h = open_grads(&sh, c, src_h), ok_f = open_grads(&sf, c, src_f); /* both, to close both */
    bool ok = ok_h && ok_f;
    int n_out = ok ? graph0(&sh)->n_outputs : 0;
    ir_tensor *gh = calloc((size_t)n_out + 1, sizeof *gh), *gf = calloc((size_t)n_out + 1, sizeof *gf);
    if (ok) {
        ok = interp(&sh, NULL, in_h, gh) && interp(&sf, NULL, in_f, gf);
        CHECK(ok, "%s in %s: %s%s", c->expr, ir_dtype_name(dt), session_log(&sh), session_log(&sf));
    }
    double tol = dt == IR_F16 ? F16_TOL : BF16_TOL;
    for (int o = 1, a = 0; ok && o < n_out; o++, a++) {
        while (!bh.diff[a]) a++;
        CHECK(ir_type_equal(&gh[o].type, &bh.types[a]), "%s in %s: gradient of %s has type %s", c->expr,
              ir_dtype_name(dt), bh.names[a], ir_type_text(&gh[o].type).s);
        double scale = max_abs(&gf[o]), worst = 0;
        for (int64_t i = 0; i < ir_type_elems(&gf[o].type); i++)
            worst = fmax(worst, fabs(ir_tensor_get(&gh[o], i) - ir_tensor_get(&gf[o], i)));
        CHECK(worst <= tol * scale, "%s in %s: gradient of %s off by %g (largest %g)", c->expr, ir_dtype_name(dt),
              bh.names[a], worst, scale);
    }
    free_tensors(gh, n_out);
    free_tensors(gf, n_out);
    free_tensors(in_h, bh.n_args + 1);
    free_tensors(in_f, bf.n_args + 1);
    session_close(&sh);
    session_close(&sf);
}

static void check_case(const grad_case *c) {
    built_case bc;
    if (!probe(c, NULL, &bc)) return;
    char src[2048];
    program(c, NULL, &bc, true, src, sizeof src);
    session s;
    if (!open_grads(&s, c, src)) {
        session_close(&s);
        return;
    }
    ir_tensor *inputs = make_inputs(c, &bc);
    int n_out = graph0(&s)->n_outputs;
    ir_tensor *out = calloc((size_t)n_out, sizeof *out);
    bool ok = interp(&s, NULL, inputs, out);
    CHECK(ok, "%s: the interpreter failed:\n%s", c->expr, session_log(&s));
    if (ok) {
        check_differences(c, &bc, inputs, out + 1);
        check_cpu(c, &bc, inputs, out);
    }
    free_tensors(out, n_out);
    free_tensors(inputs, bc.n_args + 1);
    session_close(&s);
    if (!(c->flags & NO_HALF)) {
        check_half(c, IR_F16);
        check_half(c, IR_BF16);
    }
}

/* Every op with a gradient rule of its own appears in some case. */
static void check_coverage(void) {
    for (int op = 0; op < IR_OP_COUNT; op++) {
        ir_grad_fn rule = ir_op_table[op].grad;
        if (rule == grad_none || rule == grad_leaf) continue;
        const char *name = ir_op_table[op].name;
        bool seen = false;
        for (size_t i = 0; i < sizeof CASES / sizeof CASES[0] && !seen; i++) {
            const char *e = CASES[i].expr;
            for (const char *p = strstr(e, name); p && !seen; p = strstr(p + 1, name)) {
                size_t len = strlen(name);
                seen = (p == e || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z'))) && p[len] == '(';
            }
        }
        /* operators: + - * / ** @ and unary minus */
        static const struct {
            ir_op op;
            const char *sym;
        } syms[] = {{IR_OP_ADD, " + "},  {IR_OP_SUB, " - "},    {IR_OP_MUL, " * "}, {IR_OP_DIV, " / "},
                    {IR_OP_POW, " ** "}, {IR_OP_MATMUL, " @ "}, {IR_OP_NEG, "-x"}};
        for (size_t k = 0; k < sizeof syms / sizeof syms[0]; k++)
            for (size_t i = 0; syms[k].op == (ir_op)op && i < sizeof CASES / sizeof CASES[0]; i++)
                seen |= strstr(CASES[i].expr, syms[k].sym) != NULL;
        CHECK(seen, "no finite-difference case differentiates %s", name);
    }
}

/* ---- the documented choices at non-smooth points --------------------------------------------- */

/* Runs a grad program (after autodiff) on inputs given as values; returns output `which`. */
static void run_values(const char *src, const double *const *vals, double *out, int which) {
    session s;
    bool ok = session_open(&s, src, AUTODIFF, 1);
    CHECK(ok, "%s", session_log(&s));
    if (!ok) {
        session_close(&s);
        return;
    }
    const ir_graph *g = graph0(&s);
    ir_tensor *in = calloc((size_t)g->n_inputs, sizeof *in), *res = calloc((size_t)g->n_outputs, sizeof *res);
    ir_tensor *params = init_params(&s);
    for (int i = 0; i < g->n_inputs; i++) {
        if (!ir_tensor_alloc(&in[i], &g->input_types[i])) abort();
        for (int64_t e = 0; e < ir_type_elems(&g->input_types[i]); e++) ir_tensor_set(&in[i], e, vals[i][e]);
    }
    ok = interp(&s, params, in, res);
    CHECK(ok, "%s", session_log(&s));
    for (int64_t e = 0; ok && e < ir_type_elems(&res[which].type); e++) out[e] = ir_tensor_get(&res[which], e);
    free_tensors(res, g->n_outputs);
    free_tensors(in, g->n_inputs);
    free_tensors(params, s.m->n_params);
    session_close(&s);
}

/* Within f32 rounding of the expected values. */
static void expect_values(const char *what, const double *got, const double *want, int n) {
    for (int i = 0; i < n; i++)
        CHECK(fabs(got[i] - want[i]) <= 1e-6 * fmax(1, fabs(want[i])), "%s[%d]: %g, expected %g", what, i, got[i],
              want[i]);
}

static void test_ties(void) {
    double out[8];
    const double a[4] = {1, -2, 0.5, 3}, b[4] = {1, 0, 0.5, -1}, ones[4] = {1, 1, 1, 1};
    const double *ab[] = {a, b};
    /* maximum and minimum: a tie gives each operand half */
    const char *maximum = "graph f(a : f32[4], b : f32[4]) -> (da, db) {\n"
                          "  l = sum(maximum(a, b))\n  da = grad(l, a)\n  db = grad(l, b)\n}\n";
    run_values(maximum, ab, out, 0);
    expect_values("maximum tie da", out, (double[]){0.5, 0, 0.5, 1}, 4);
    run_values(maximum, ab, out, 1);
    expect_values("maximum tie db", out, (double[]){0.5, 1, 0.5, 0}, 4);
    const char *minimum = "graph f(a : f32[4], b : f32[4]) -> (da) {\n  da = grad(sum(minimum(a, b)), a)\n}\n";
    run_values(minimum, ab, out, 0);
    expect_values("minimum tie da", out, (double[]){0.5, 1, 0.5, 0}, 4);
    /* max and min reductions: ties split evenly */
    const double x[6] = {1, 3, 3, 2, 3, 0};
    const double *xs[] = {x};
    run_values("graph f(x : f32[6]) -> (dx) {\n  dx = grad(max(x), x)\n}\n", xs, out, 0);
    expect_values("max ties", out, (double[]){0, 1.0 / 3, 1.0 / 3, 0, 1.0 / 3, 0}, 6);
    const double y[6] = {1, 0, 0, 2, 5, 5};
    const double *ys[] = {y};
    run_values("graph f(x : f32[2,3]) -> (dx) {\n  dx = grad(sum(min(x, axis=1)), x)\n}\n", ys, out, 0);
    expect_values("min ties per row", out, (double[]){0, 0.5, 0.5, 1, 0, 0}, 6);
    /* relu and abs: 0 at 0; leaky_relu: alpha at 0 */
    const double k[4] = {-1, 0, 2, 0};
    const double *ks[] = {k};
    run_values("graph f(x : f32[4]) -> (dx) {\n  dx = grad(sum(relu(x)), x)\n}\n", ks, out, 0);
    expect_values("relu", out, (double[]){0, 0, 1, 0}, 4);
    run_values("graph f(x : f32[4]) -> (dx) {\n  dx = grad(sum(abs(x)), x)\n}\n", ks, out, 0);
    expect_values("abs", out, (double[]){-1, 0, 1, 0}, 4);
    run_values("graph f(x : f32[4]) -> (dx) {\n  dx = grad(sum(leaky_relu(x, alpha=0.25)), x)\n}\n", ks, out, 0);
    expect_values("leaky_relu", out, (double[]){0.25, 0.25, 1, 0.25}, 4);
    /* clip: x gets dy inside [lo, hi] edges included; lo below, hi above; hi where hi < lo */
    const double cx[5] = {-1, 0, 0.5, 1, 2}, clo[5] = {0, 0, 0, 0, 3}, chi[5] = {1, 1, 1, 1, 2.5};
    const double *cs[] = {cx, clo, chi};
    const char *clip = "graph f(x : f32[5], lo : f32[5], hi : f32[5]) -> (dx, dlo, dhi) {\n"
                       "  l = sum(clip(x, lo, hi))\n  dx = grad(l, x)\n  dlo = grad(l, lo)\n  dhi = grad(l, hi)\n}\n";
    run_values(clip, cs, out, 0);
    expect_values("clip dx", out, (double[]){0, 1, 1, 1, 0}, 5);
    run_values(clip, cs, out, 1);
    expect_values("clip dlo", out, (double[]){1, 0, 0, 0, 0}, 5);
    run_values(clip, cs, out, 2);
    expect_values("clip dhi", out, (double[]){0, 0, 0, 0, 1}, 5);
    /* pow at a = 0: d/da = 0 when b = 0 (not 0 * inf), d/db = 0 when b >= 0 (not 0 * log 0) */
    const double pa[3] = {0, 0, 2}, pb[3] = {0, 2, 3};
    const double *ps[] = {pa, pb};
    const char *pow = "graph f(a : f32[3], b : f32[3]) -> (da, db) {\n"
                      "  l = sum(a ** b)\n  da = grad(l, a)\n  db = grad(l, b)\n}\n";
    run_values(pow, ps, out, 0);
    expect_values("pow da", out, (double[]){0, 0, 12}, 3);
    run_values(pow, ps, out, 1);
    expect_values("pow db", out, (double[]){0, 0, 8 * log(2.0)}, 3);
    /* max_pool2d: the first maximum of a window (row-major) gets it */
    const double px[4] = {1, 2, 2, 0};
    const double *pxs[] = {px};
    run_values("graph f(x : f32[1,1,2,2]) -> (dx) {\n  dx = grad(sum(max_pool2d(x, 2)), x)\n}\n", pxs, out, 0);
    expect_values("max_pool2d tie", out, (double[]){0, 1, 0, 0}, 4);
    /* through an integer cast and floor: nothing flows back */
    const double *ones_s[] = {ones};
    run_values("graph f(x : f32[4]) -> (dx) {\n  dx = grad(sum(cast(cast(x, i32), f32) + floor(x)), x)\n}\n", ones_s,
               out, 0);
    expect_values("through integers", out, (double[]){0, 0, 0, 0}, 4);
}

/* ---- the paths autodiff takes ---------------------------------------------------------------- */

static void test_paths(void) {
    double out[8];
    const double x[3] = {0.5, -1, 2}, r[3] = {1, 2, 3};
    const double *xr[] = {x, r};
    /* with respect to an intermediate value: d/dh of sum(sin(h) * r) = cos(h) * r */
    run_values("graph f(x : f32[3], r : f32[3]) -> (dh) {\n  h = x * 2\n  dh = grad(sum(sin(h) * r), h)\n}\n", xr, out,
               0);
    for (int i = 0; i < 3; i++) CHECK(fabs(out[i] - cos(2 * x[i]) * r[i]) < 1e-6, "d/dh[%d] = %g", i, out[i]);
    /* independent of x: zeros; y itself: one */
    run_values("graph f(x : f32[3], r : f32[3]) -> (dr) {\n  dr = grad(sum(x * x), r)\n}\n", xr, out, 0);
    expect_values("independent", out, (double[]){0, 0, 0}, 3);
    run_values("graph f(x : f32[3], r : f32[3]) -> (dl) {\n  l = sum(x * r)\n  dl = grad(l, l)\n}\n", xr, out, 0);
    expect_values("d l / d l", out, (double[]){1}, 1);
    /* several users add up; two y's in one graph; x reached through another x */
    const char *two = "graph f(x : f32[3], r : f32[3]) -> (dx, dh, dr) {\n  h = x * x\n  l = sum(h * x + exp(h))\n"
                      "  dx = grad(l, x)\n  dh = grad(l, h)\n  dr = grad(sum(r * h), r)\n}\n";
    run_values(two, xr, out, 0);
    for (int i = 0; i < 3; i++) {
        double h = x[i] * x[i], want = 3 * h + exp(h) * 2 * x[i];
        CHECK(fabs(out[i] - want) < 1e-5 * fmax(1, fabs(want)), "d/dx[%d] = %g, expected %g", i, out[i], want);
    }
    run_values(two, xr, out, 1);
    for (int i = 0; i < 3; i++) {
        double want = x[i] + exp(x[i] * x[i]);
        CHECK(fabs(out[i] - want) < 1e-5 * fmax(1, fabs(want)), "d/dh[%d] = %g, expected %g", i, out[i], want);
    }
    run_values(two, xr, out, 2);
    for (int i = 0; i < 3; i++) CHECK(fabs(out[i] - x[i] * x[i]) < 1e-6, "d/dr[%d] = %g", i, out[i]);
    /* a parameter: d/dw sum(x * w) = x */
    run_values("param w : f32[3] = ones()\ngraph f(x : f32[3], r : f32[3]) -> (dw) {\n  dw = grad(sum(x * w), w)\n}\n",
               xr, out, 0);
    expect_values("parameter", out, x, 3);
}

/* The pass leaves only what the outputs need, keeps the differentiated ops' locations, and
 * drops forward values only a grad node read. */
static void test_graph_shape(void) {
    session s;
    const char *src = "graph f(x : f32[3]) -> (dx) {\n  dx = grad(sum(exp(x) + x), x)\n}\n";
    bool ok = session_open(&s, src, AUTODIFF, 1);
    CHECK(ok, "%s", session_log(&s));
    const ir_graph *g = ok ? graph0(&s) : NULL;
    for (int i = 0; g && i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        CHECK(n->op != IR_OP_SUM && n->op != IR_OP_GRAD, "%%%d = %s is left", i, ir_op_name(n->op));
        if (n->op == IR_OP_MUL)
            CHECK(n->loc.line == 2 && n->loc.col == 17, "exp's gradient at %d:%d", n->loc.line, n->loc.col);
    }
    session_close(&s);
}

/* After a failure (an ill-typed node: a bug in a rule, reported as an internal error) a rule
 * builds nothing more and returns false; it must not read the type of the -1 an earlier call
 * gave. Every op of the cases, with a builder that has already failed; the node array is moved
 * to the heap, so that a read before its start faults (or ASan reports it). */
static void test_failed_builder(void) {
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char args[512], src[1024];
        decls(&CASES[i], NULL, args, sizeof args);
        snprintf(src, sizeof src, "graph p(%s) -> (op_out) {\n  op_out = %s\n}\n", args, CASES[i].expr);
        session s;
        bool ok = session_open(&s, src, NULL, 0);
        CHECK(ok, "%s: %s", CASES[i].expr, session_log(&s));
        ir_graph *g = ok ? graph0(&s) : NULL;
        ir_node **arena_nodes = g ? g->nodes : NULL;
        if (g) {
            g->nodes = malloc(sizeof *g->nodes * (size_t)g->cap_nodes);
            memcpy(g->nodes, arena_nodes, sizeof *g->nodes * (size_t)g->n_nodes);
        }
        for (int k = 0; g && k < g->n_nodes; k++) {
            const ir_node *n = g->nodes[k];
            ir_grad_fn rule = ir_op_table[n->op].grad;
            if (rule == grad_none || rule == grad_leaf || !ir_dtype_is_float(n->type.dtype)) continue;
            int dx[8], before = g->n_nodes;
            ir_builder b = {g, &s.diag, n->loc, true};
            bool built = rule(&b, n, n->id, dx);
            CHECK(!built && g->n_nodes == before, "%s: the rule of %s went on after a failure", CASES[i].expr,
                  ir_op_name(n->op));
        }
        if (g) {
            free(g->nodes);
            g->nodes = arena_nodes;
        }
        session_close(&s);
    }
}

/* ---- errors ------------------------------------------------------------------------------------ */

static void expect_error(const char *src, const char *text) {
    session s;
    bool ok = session_open(&s, src, AUTODIFF, 1);
    const char *log = session_log(&s);
    CHECK(!ok && strstr(log, text), "expected '%s', got:\n%s", text, log);
    CHECK(s.diag.bugs == 0, "an internal error:\n%s", log);
    session_close(&s);
}

static void test_errors(void) {
    /* second order: through the inner grad's y, and through its x */
    expect_error("graph f(x : f32[3]) -> (d2) {\n  d = grad(sum(x * x * x), x)\n  d2 = grad(sum(d), x)\n}\n",
                 "case.tg:3:8: error: grad: the path from x to y goes through another grad");
    expect_error(
        "graph f(x : f32[3], w : f32[3]) -> (d2) {\n  d = grad(sum(w * w), x)\n  d2 = grad(sum(d * x), w)\n}\n",
        "case.tg:2:7: note: the inner grad is here");
    expect_error("graph f(x : f32[3]) -> (d2) {\n  d = grad(sum(x * x), x)\n  d2 = grad(sum(d), x)\n}\n",
                 "gradients of gradients are not supported");
    /* what shape_grad refuses, at the call */
    expect_error("graph f(x : f32[3]) -> (d) {\n  d = grad(x * 2, x)\n}\n",
                 "case.tg:2:7: error: grad: the differentiated value must be a float scalar, got f32[3]");
    expect_error("graph f(x : i32[3]) -> (d) {\n  d = grad(sum(cast(x, f32)), x)\n}\n",
                 "case.tg:2:7: error: grad: gradients are taken with respect to float values; this one is i32[3]");
    expect_error("graph f(x : f32[3]) -> (d) {\n  d = grad(sum(x), 2.5)\n}\n",
                 "case.tg:2:20: error: grad: 'x' must be a value of the graph");
    /* a gradient with respect to a gradient is first order: allowed */
    session s;
    bool ok = session_open(
        &s, "graph f(x : f32[3]) -> (dd) {\n  d = grad(sum(x * x), x)\n  dd = grad(sum(d * d), d)\n}\n", AUTODIFF, 1);
    CHECK(ok, "%s", session_log(&s));
    session_close(&s);
}

/* ---- cross_entropy's labels ---------------------------------------------------------------------
 * A label outside [0, K) is the forward's error in the gradient too, on both backends, where no
 * forward loss is computed: a gradient-only graph and a training step whose loss is no output
 * (one_hot would give the label a zero row: a wrong gradient, silently). */

/* Runs the graph of src (after `passes`) with x = 0.1 * i and labels y, in the interpreter or on
 * the CPU backend; true when it ran, the diagnostics in log. */
static bool run_labels(const char *src, const pass_id *passes, int n_passes, const double *y, bool cpu, char *log,
                       size_t size) {
    session s;
    bool ok = session_open(&s, src, passes, n_passes);
    const ir_graph *g = ok ? graph0(&s) : NULL;
    ir_tensor *in = g ? calloc((size_t)g->n_inputs, sizeof *in) : NULL;
    ir_tensor *out = g ? calloc((size_t)g->n_outputs, sizeof *out) : NULL;
    ir_tensor *params = ok ? init_params(&s) : NULL;
    for (int i = 0; g && i < g->n_inputs; i++) {
        if (!ir_tensor_alloc(&in[i], &g->input_types[i])) abort();
        for (int64_t e = 0; e < ir_type_elems(&g->input_types[i]); e++)
            ir_tensor_set(&in[i], e, ir_dtype_is_float(g->input_types[i].dtype) ? 0.1 * (double)e : y[e]);
    }
    if (ok) ok = cpu ? run_cpu(&s, params, in, out) : interp(&s, params, in, out);
    CHECK(s.diag.bugs == 0, "an internal error:\n%s", session_log(&s));
    snprintf(log, size, "%s", session_log(&s));
    if (g) {
        free_tensors(out, g->n_outputs);
        free_tensors(in, g->n_inputs);
        free_tensors(params, s.m->n_params);
    }
    session_close(&s);
    return ok;
}

static void test_labels(void) {
    static const pass_id TRAIN[] = {PASS_OPTIMIZER, PASS_AUTODIFF};
    static const struct {
        const char *what, *src;
        const pass_id *passes;
        int n_passes;
        const char *at; /* the cross_entropy call */
    } graphs[] = {
        {"grad only", "graph f(x : f32[2,3], y : i32[2]) -> (dx) {\n  dx = grad(mean(cross_entropy(x, y)), x)\n}\n",
         AUTODIFF, 1, "case.tg:2:18"},
        {"training step",
         "param w : f32[3,3] = ones()\ngraph f(x : f32[2,3], y : i32[2]) -> (h) {\n  h = x * 2\n"
         "  l = mean(cross_entropy(x @ w, y))\n  minimize l with sgd(lr=0.1)\n}\n",
         TRAIN, 2, "case.tg:4:12"},
    };
    static const struct {
        double y[2];
        const char *interp; /* the interpreter's words; the CPU backend's check names the range */
    } labels[] = {
        {{0, 3}, "cross_entropy: label 3 of example 1 is out of range for 3 classes"},
        {{-1, 2}, "cross_entropy: label -1 of example 0 is out of range for 3 classes"},
    };
    char log[4096];
    for (size_t gi = 0; gi < sizeof graphs / sizeof graphs[0]; gi++) {
        for (int cpu = 0; cpu < 2; cpu++) {
            const char *backend = cpu ? "cpu" : "interpreter";
            for (size_t li = 0; li < sizeof labels / sizeof labels[0]; li++) {
                const char *words = cpu ? "cross_entropy: label out of range [0, 3)" : labels[li].interp;
                bool ran = run_labels(graphs[gi].src, graphs[gi].passes, graphs[gi].n_passes, labels[li].y, cpu, log,
                                      sizeof log);
                CHECK(!ran && strstr(log, words) && strstr(log, graphs[gi].at),
                      "%s, %s, labels %g %g: expected '%s' at %s, got:\n%s", graphs[gi].what, backend, labels[li].y[0],
                      labels[li].y[1], words, graphs[gi].at, log);
            }
            bool ran = run_labels(graphs[gi].src, graphs[gi].passes, graphs[gi].n_passes, (double[]){2, 0}, cpu, log,
                                  sizeof log);
            CHECK(ran, "%s, %s, labels in range:\n%s", graphs[gi].what, backend, log);
        }
    }
    /* the gradient reads labels through one_hot_checked only: one_hot's zero row is not for them */
    session s;
    bool ok = session_open(&s, graphs[0].src, AUTODIFF, 1);
    CHECK(ok && has_op(graph0(&s), IR_OP_ONE_HOT_CHECKED) && !has_op(graph0(&s), IR_OP_ONE_HOT),
          "the gradient's target is not one_hot_checked:\n%s", session_log(&s));
    session_close(&s);
    /* no class at all: every label is out of range, known when the gradient is built; no label, no error */
    expect_error("graph f(x : f32[2,0], y : i32[2]) -> (dx) {\n  dx = grad(mean(cross_entropy(x, y)), x)\n}\n",
                 "case.tg:2:18: error: cross_entropy: every label is out of range for 0 classes");
    ok = run_labels("graph f(x : f32[0,0], y : i32[0]) -> (dx) {\n  dx = grad(mean(cross_entropy(x, y)), x)\n}\n",
                    AUTODIFF, 1, NULL, true, log, sizeof log);
    CHECK(ok, "no class and no label:\n%s", log);
}

int main(int argc, char **argv) {
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        /* a filter argument runs only the cases whose expression contains it */
        if (argc > 1 && !strstr(CASES[i].expr, argv[1])) continue;
        check_case(&CASES[i]);
    }
    if (argc == 1) {
        check_coverage();
        test_ties();
        test_paths();
        test_graph_shape();
        test_failed_builder();
        test_errors();
        test_labels();
    }
    printf("%d checks, %d failed\n", checks, failures);
    return failures != 0;
}
