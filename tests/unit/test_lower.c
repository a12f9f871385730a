/* test_lower.c — the Graph IR → Kernel IR lowering (codegen/lower*.c) against the reference
 * interpreter: small .tg programs covering every op of ir/ops.def (the gradient ops, which have
 * no surface syntax, in Graph IR text, *.tgir cases) and the example models are compiled at -O0,
 * -O1 (then decompose and plan, as the CPU backend does) and -O3, lowered, validated, run by the
 * Kernel IR evaluator (kir_eval.c) on random inputs and compared output by output with
 * ir_interp_graph. Plus the structural facts the backend relies on (one flat vector loop for the
 * elementwise chain, GEMMs with epilogues for the perceptron, the scatters of the gradient ops),
 * the refusal of a grad node, and the dump.
 * Usage: test_lower [EXAMPLES_DIR], or test_lower --file F.tg... for any programs. */
#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"
#include "tests/unit/kir_eval.h"

/* ---- random inputs -------------------------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static double uniform(rng *r, double lo, double hi) { return lo + (hi - lo) * (double)(next(r) >> 11) / 9007199254740992.0; }

typedef struct lcase {
    const char *name;
    const char *src;
    const char *graph;          /* NULL: the module's first graph */
    double atol, rtol;          /* f32 outputs; 0, 0: bitwise */
    int64_t int_lo, int_hi;     /* integer inputs */
    double f_lo, f_hi;          /* float inputs (0, 0: [-2, 2]) */
    const char *error;          /* the run must fail with a message containing this */
    const fe_define *defines;
    int n_defines;
    bool lenient;               /* a run the interpreter refuses must fail a check too */
} lcase;

static void fill_input(const lcase *c, ir_tensor *t, rng *r) {
    int64_t n = ir_type_elems(&t->type);
    double lo = c->f_lo == c->f_hi ? -2 : c->f_lo, hi = c->f_lo == c->f_hi ? 2 : c->f_hi;
    for (int64_t i = 0; i < n; i++) {
        switch (t->type.dtype) {
        case IR_I32:
        case IR_I64: {
            int64_t span = c->int_hi - c->int_lo + 1;
            ir_tensor_set(t, i, (double)(c->int_lo + (int64_t)(next(r) % (uint64_t)(span > 0 ? span : 1))));
            break;
        }
        case IR_BOOL: ir_tensor_set(t, i, (double)(next(r) & 1)); break;
        default: ir_tensor_set(t, i, uniform(r, lo, hi)); break;
        }
    }
}

/* ---- comparison ---------------------------------------------------------------------------------- */

static bool close_enough(double got, double want, double atol, double rtol) {
    if (isnan(want) || isnan(got)) return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got)) return got == want;
    return fabs(got - want) <= atol + rtol * fabs(want);
}

/* Returns the first differing element or -1. Floats within tolerance (bitwise when both are 0),
 * integers and bools exactly. */
static int64_t compare(const ir_tensor *got, const ir_tensor *want, double atol, double rtol) {
    int64_t n = ir_type_elems(&want->type);
    ir_dtype dt = want->type.dtype;
    if (dt == IR_F16 && rtol < 2e-3) rtol = 2e-3, atol = atol > 1e-4 ? atol : 1e-4;
    if (dt == IR_BF16 && rtol < 1.6e-2) rtol = 1.6e-2, atol = atol > 1e-3 ? atol : 1e-3;
    for (int64_t i = 0; i < n; i++) {
        double g = ir_tensor_get(got, i), w = ir_tensor_get(want, i);
        if (!ir_dtype_is_float(dt)) {
            if (dt == IR_I64 ? ((int64_t *)got->data)[i] != ((int64_t *)want->data)[i] : g != w) return i;
        } else if (atol == 0 && rtol == 0) {
            if (!(g == w || (isnan(g) && isnan(w)))) return i;
        } else if (!close_enough(g, w, atol, rtol)) {
            return i;
        }
    }
    return -1;
}

/* ---- compiling -------------------------------------------------------------------------------- */

static bool op_seen[IR_OP_COUNT];

/* A case named *.tgir is Graph IR text: the ops without surface syntax (the gradient ops). */
static bool is_ir_text(const lcase *c) {
    size_t n = strlen(c->name);
    return n > 5 && strcmp(c->name + n - 5, ".tgir") == 0;
}

static ir_module *compile(ir_diag *d, const lcase *c, int level) {
    int file = ir_diag_add_source(d, c->name, c->src, strlen(c->src));
    fe_options opt = {c->defines, c->n_defines};
    ir_module *m = is_ir_text(c) ? ir_parse_module(d, file)
                   : c->graph    ? fe_compile_partial(d, file, &opt, c->graph)
                                 : fe_compile(d, file, &opt);
    if (!m) return NULL;
    for (int gi = 0; gi < m->n_graphs; gi++)
        for (int i = 0; i < m->graphs[gi]->n_nodes; i++) op_seen[m->graphs[gi]->nodes[i]->op] = true;
    pass_pipeline p;
    pass_pipeline_for_level(level, NULL, &p);
    if (level < 2) p.ids[p.n++] = PASS_DECOMPOSE;
    if (level < 3) p.ids[p.n++] = PASS_PLAN;
    pass_run_options ro = {.verify_each = true};
    if (!pass_run_pipeline(m, &p, &ro, d)) {
        ir_module_destroy(m);
        return NULL;
    }
    return m;
}

static ir_graph *pick(ir_module *m, const lcase *c) {
    return c->graph ? ir_module_find_graph(m, c->graph) : m->graphs[0];
}

/* ---- one case at one level ------------------------------------------------------------------------ */

typedef struct run_state {
    ir_tensor *params, *inputs, *want, *got;
    int n_params, n_inputs, n_outputs;
} run_state;

static void free_state(run_state *s) {
    for (int i = 0; i < s->n_params; i++) ir_tensor_free(&s->params[i]);
    for (int i = 0; i < s->n_inputs; i++) ir_tensor_free(&s->inputs[i]);
    for (int i = 0; i < s->n_outputs; i++) {
        ir_tensor_free(&s->want[i]);
        ir_tensor_free(&s->got[i]);
    }
    free(s->params);
    free(s->inputs);
    free(s->want);
    free(s->got);
}

static bool prepare(const lcase *c, const ir_graph *g, run_state *s, ir_diag *d) {
    const ir_module *m = g->module;
    rng r = {0x9E3779B97F4A7C15ull ^ (uint64_t)strlen(c->src)};
    s->n_params = m->n_params, s->n_inputs = g->n_inputs, s->n_outputs = g->n_outputs;
    s->params = calloc((size_t)m->n_params + 1, sizeof *s->params);
    s->inputs = calloc((size_t)g->n_inputs + 1, sizeof *s->inputs);
    s->want = calloc((size_t)g->n_outputs + 1, sizeof *s->want);
    s->got = calloc((size_t)g->n_outputs + 1, sizeof *s->got);
    for (int i = 0; i < m->n_params; i++)
        if (!ir_tensor_alloc(&s->params[i], &m->params[i].type) || !ir_param_init(&m->params[i], 7, &s->params[i], d))
            return false;
    for (int i = 0; i < g->n_inputs; i++) {
        if (!ir_tensor_alloc(&s->inputs[i], &g->input_types[i])) return false;
        fill_input(c, &s->inputs[i], &r);
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (!ir_tensor_alloc(&s->got[i], &g->nodes[g->output_nodes[i]]->type)) return false;
    return true;
}

/* The lowered program run on the case's inputs; -1 or the failing kernel (message in *why). */
static int run_program(const cg_program *p, run_state *s, const char **why) {
    const ir_graph *g = p->graph;
    char **slots = calloc((size_t)p->n_slots + 1, sizeof *slots);
    for (int i = 0; i < g->n_inputs; i++) slots[cg_slot_input(g, i)] = s->inputs[i].data;
    for (int i = 0; i < g->n_outputs; i++) {
        size_t bytes = (size_t)ir_type_elems(&s->got[i].type) * ir_dtype_size(s->got[i].type.dtype);
        memset(s->got[i].data, 0x5A, bytes); /* every element must be written */
        slots[cg_slot_output(g, i)] = s->got[i].data;
    }
    for (int i = 0; i < s->n_params; i++) slots[cg_slot_param(g, i)] = s->params[i].data;
    int k = kir_eval_program(p, slots, why);
    free(slots);
    return k;
}

static void check_outputs(const lcase *c, int level, const ir_graph *g, run_state *s) {
    for (int i = 0; i < g->n_outputs; i++) {
        int64_t bad = compare(&s->got[i], &s->want[i], c->atol, c->rtol);
        CHECK(bad < 0, "%s -O%d: output %s[%lld] = %.9g, the interpreter says %.9g", c->name, level, g->output_names[i],
              (long long)bad, bad < 0 ? 0.0 : ir_tensor_get(&s->got[i], bad), bad < 0 ? 0.0 : ir_tensor_get(&s->want[i], bad));
    }
}

static void print_to_null(const cg_program *p) {
    FILE *f = tmpfile();
    if (!f) return;
    cg_print_program(f, p);
    CHECK(ftell(f) > 0);
    fclose(f);
}

static void run_level(const lcase *c, int level) {
    FILE *log = tmpfile();
    ir_diag d;
    ir_diag_init(&d, log ? log : stderr);
    ir_module *m = compile(&d, c, level);
    CHECK(m != NULL, "%s -O%d: does not compile (%d errors)", c->name, level, d.errors);
    ir_graph *g = m ? pick(m, c) : NULL;
    cg_program *p = g ? cg_lower_graph(g, &d) : NULL;
    CHECK(!g || p, "%s -O%d: lowering failed", c->name, level);
    run_state s = {0};
    if (p) {
        char why[300];
        const char *bad = kir_validate(p, why, sizeof why);
        CHECK(!bad, "%s -O%d: invalid Kernel IR: %s", c->name, level, bad);
        print_to_null(p);
        if (!bad && prepare(c, g, &s, &d)) {
            bool interp_ok = ir_interp_graph(g, s.params, s.inputs, s.want, &d);
            const char *msg = NULL;
            int failed = run_program(p, &s, &msg);
            if (c->lenient && !interp_ok) {
                CHECK(failed >= 0, "%s -O%d: the interpreter fails, the program does not", c->name, level);
            } else if (c->error) {
                CHECK(!interp_ok && failed >= 0 && msg && strstr(msg, c->error), "%s -O%d: expected a failed check "
                      "'%s', got kernel %d: %s", c->name, level, c->error, failed, msg ? msg : "none");
            } else {
                CHECK(interp_ok, "%s -O%d: the interpreter failed", c->name, level);
                CHECK(failed < 0, "%s -O%d: kernel %s failed: %s", c->name, level,
                      failed >= 0 ? p->kernels[failed].name : "", msg ? msg : "");
                if (interp_ok && failed < 0) check_outputs(c, level, g, &s);
            }
        }
    }
    free_state(&s);
    cg_program_destroy(p);
    ir_module_destroy(m);
    if (log && d.errors && !c->error) { /* show what went wrong */
        rewind(log);
        char buf[2048];
        size_t n = fread(buf, 1, sizeof buf - 1, log);
        buf[n] = 0;
        fprintf(stderr, "%s", buf);
    }
    ir_diag_free(&d);
    if (log) fclose(log);
}

static void run_case(const lcase *c) {
    static const int levels[] = {0, 1, 3};
    for (int i = 0; i < 3; i++) run_level(c, levels[i]);
}

/* ---- the op families -------------------------------------------------------------------------- */

static const lcase cases[] = {
    {"arith",
     "graph g(a : f32[3, 5], b : f32[5], c : f32[3, 1]) -> (o1, o2, o3, o4) {\n"
     "  o1 = a + b * c - a / (abs(b) + 1)\n"
     "  o2 = maximum(a, b) + minimum(c, a) + (abs(a) + 0.5) ** b\n"
     "  o3 = -a * 2.5 - c\n"
     "  o4 = clip(a, -0.5, c) + leaky_relu(a, alpha=0.2) + leaky_relu(a)\n"
     "}\n", NULL, 1e-5, 1e-5, 0, 0, 0, 0, NULL, NULL, 0, false},
    {"unary",
     "graph g(x : f32[4, 7]) -> (a, b, c) {\n"
     "  a = exp(x) + log(abs(x) + 0.1) + sqrt(abs(x)) + rsqrt(abs(x) + 0.5) + tanh(x) + sigmoid(x)\n"
     "  b = relu(x) + gelu(x) + gelu_tanh(x) + silu(x) + sin(x) + cos(x) + erf(x)\n"
     "  c = floor(x * 3) + ceil(x * 3) - abs(x) + -x\n"
     "}\n", NULL, 1e-5, 1e-5, 0, 0, 0, 0, NULL, NULL, 0, false},
    {"compare_select",
     "graph g(a : f32[2, 3, 4], b : f32[4], i : i32[3, 4], j : i32[4]) -> (l, le, gt, ge, eq, ne, s, si, bb, sb) {\n"
     "  l = a < b\n  le = i <= j\n  gt = a > 0.5\n  ge = i >= j\n  eq = i == j\n  ne = a != b\n"
     "  s = select(a > b, a, b)\n"
     "  si = select(i >= j, i, j * 2)\n"
     "  bb = (a < b) == (i > j)\n"
     "  sb = select(i < 0, a < 0, (a > b) != (i == j))\n"
     "}\n", NULL, 0, 0, -3, 3, 0, 0, NULL, NULL, 0, false},
    {"integer",
     "graph g(i : i32[3, 5], j : i32[5], e : i32[3, 5], k : i64[5]) -> (a, b, c, d, p, q, r, s) {\n"
     "  a = i * j + i - j * 7 + -i\n"
     "  b = abs(i) + relu(j) + maximum(i, j) - minimum(i, j) + clip(i, -2, j)\n"
     "  c = i ** 3 + j ** 0 + i ** minimum(abs(e), 9)\n"
     "  d = k * 123456789012 + cast(i, i64) - k ** 2\n"
     "  p = sum(i, axis=1) + max(i, axis=1) - min(i, axis=-1)\n"
     "  q = sum(k) + max(k) * min(k)\n"
     "  r = cast(i * 1000000, i32) * 5000\n"
     "  s = argmax(i, axis=0) + argmax(j)\n"
     "}\n", NULL, 0, 0, -20, 20, 0, 0, NULL, NULL, 0, false},
    {"casts",
     "graph g(x : f32[4, 6], h : f16[4, 6], bf : bf16[6], i : i32[4, 6], l : i64[6], b : bool[4, 6]) -> "
     "(a, c, d, e, f, o, p, q, r, s, t, u, v, w, y, z) {\n"
     "  a = cast(x, f16)\n  c = cast(x, bf16)\n  d = cast(x * 1e10, i32)\n  e = cast(x * 1e19, i64)\n"
     "  f = cast(x, bool)\n  o = cast(i, f32) + cast(l, f32)\n  p = cast(i, f16)\n  q = cast(l * 3000000000, i32)\n"
     "  r = cast(b, f32) + cast(cast(b, i32), f32) + cast(cast(b, i64), f32)\n  s = cast(i, bool) == b\n"
     "  t = cast(cast(x * 1000, f16), f32) - x * 1000\n"
     "  u = cast(h * h + cast(bf, f16), f32)\n"
     "  v = cast(cast(x, bf16) * bf, f32)\n"
     "  w = cast(log(x) / 0, i32)\n"
     "  y = cast(cast(l, bf16) * cast(l, bf16), i64)\n"
     "  z = cast(h, i32) + cast(bf, i32) + cast(cast(h, bf16), i32) + cast(cast(bf, f16), i32) + cast(cast(bf, bool), i32)\n"
     "      + cast(cast(b, f16), i32) + cast(cast(b, bf16), i32) + cast(cast(h, i64), i32) + cast(cast(h, bool), i32)\n"
     "}\n", NULL, 1e-5, 1e-5, -100, 100, 0, 0, NULL, NULL, 0, false},
    {"reduce",
     "graph g(x : f32[3, 4, 5], n : i32[3, 4, 5], h : f16[3, 8]) -> (a, b, c, d, e, f, m, o, p, q, r) {\n"
     "  a = sum(x, axis=1)\n"
     "  b = mean(x, axis=[0, 2], keepdims=true)\n"
     "  c = max(x, axis=-1, keepdims=true) + min(x, axis=[0, 1], keepdims=true)\n"
     "  d = min(x) + max(x) * sum(x)\n"
     "  e = argmax(x, axis=1)\n"
     "  f = argmax(cast(n, f32), axis=0, keepdims=true)\n"
     "  m = argmax(log(cast(n, f32) + 1.5), axis=-1)\n"
     "  o = sum(n, axis=[0, 2], keepdims=true) + max(n, axis=1, keepdims=true)\n"
     "  p = sum(h, axis=1, keepdims=true) + mean(h, axis=0, keepdims=true)\n"
     "  q = max(log(x), axis=2)\n"
     "  r = x - mean(x, axis=-1, keepdims=true) + sum(x, axis=[0, 2], keepdims=true)\n"
     "}\n", NULL, 1e-4, 1e-4, -2, 2, 0, 0, NULL, NULL, 0, false},
    {"normalization",
     "param g : f32[6] = normal(std=1)\nparam bb : f32[6] = normal(std=1)\n"
     "graph f(x : f32[2, 6, 3, 3], v : f32[5, 6], h : f16[4, 6]) -> (a, b, c, d, e, s) {\n"
     "  a = softmax(v, axis=-1) + log_softmax(v, axis=0)\n"
     "  b = layer_norm(v, g, bb) + softmax(v * 1000, axis=1)\n"
     "  c = batch_norm(x, g, abs(g) + 0.5, g, bb, eps=1e-3)\n"
     "  d = mse(v, g) + mse(x, x * 0.5)\n"
     "  e = softmax(h) + layer_norm(h, cast(g, f16), cast(bb, f16))\n"
     "  s = log_softmax(x, axis=1)\n"
     "}\n", NULL, 1e-4, 1e-4, 0, 0, 0, 0, NULL, NULL, 0, false},
    {"matmul",
     "param w : f32[7, 5] = normal(std=1)\nparam bias : f32[5] = normal(std=1)\n"
     "graph g(a : f32[3, 7], b : f32[2, 1, 4, 7], c : f32[3, 7, 6], v : f32[7], m : i32[3, 4], n : i32[4, 2], "
     "t : f32[5, 7]) -> (o1, o2, o3, o4, o5, o6, o7, o8, o9, o10) {\n"
     "  o1 = relu(a @ w + bias)\n"
     "  o2 = b @ c\n"
     "  o3 = v @ w + 1\n"
     "  o4 = w @ bias\n"
     "  o5 = v @ v\n"
     "  o6 = a @ transpose(t)\n"
     "  o7 = transpose(a) @ a\n"
     "  o8 = m @ n + 1\n"
     "  o9 = tanh(transpose(c, perm=[0, 2, 1]) @ transpose(a)) * 2\n"
     "  h = a @ w\n"
     "  o10 = h * sigmoid(h) + sum(h, axis=1, keepdims=true)\n"
     "}\n", NULL, 1e-4, 1e-4, -5, 5, 0, 0, NULL, NULL, 0, false},
    {"conv",
     "param w1 : f32[4, 3, 3, 3] = he()\nparam w2 : f32[6, 2, 2, 3] = he()\nparam b1 : f32[4, 1, 1] = normal(std=1)\n"
     "graph g(x : f32[2, 3, 7, 9], y : f32[1, 4, 6, 5]) -> (a, b, c, d, e, f) {\n"
     "  a = relu(conv2d(x, w1, padding=1) + b1)\n"
     "  b = conv2d(x, w1, stride=2, padding=[2, 1], dilation=[1, 2])\n"
     "  c = conv2d(y, w2, groups=2, stride=[1, 2], padding=[0, 1])\n"
     "  d = conv2d(x, w1, padding=\"same\", dilation=2) * 0.5\n"
     "  e = cast(conv2d(cast(x, f16), cast(w1, f16), padding=1), f32)\n"
     "  f = conv2d(y, reshape(transpose(w1, perm=[1, 0, 2, 3]), [3, 4, 3, 3]), stride=3)\n"
     "}\n", NULL, 1e-4, 1e-4, 0, 0, 0, 0, NULL, NULL, 0, false},
    {"pool",
     "graph g(x : f32[2, 3, 7, 8], h : bf16[1, 2, 5, 5]) -> (a, b, c, d, e, f) {\n"
     "  a = max_pool2d(x, 3, stride=2, padding=1)\n"
     "  b = avg_pool2d(x, [3, 2], stride=[2, 3], padding=[1, 1])\n"
     "  c = global_avg_pool(x) + global_avg_pool(x * x)\n"
     "  d = max_pool2d(log(x), 2)\n"
     "  e = avg_pool2d(h, 2, padding=1)\n"
     "  f = max_pool2d(x, [2, 4], stride=[1, 2])\n"
     "}\n", NULL, 1e-5, 1e-5, 0, 0, 0, 0, NULL, NULL, 0, false},
    {"movement",
     "graph g(x : f32[2, 3, 4], i : i32[3, 4], b : bool[4], y : f32[5]) -> (t, r, bc, cc, sl, pd, ti, ci, pb, sn, cat3) {\n"
     "  t = transpose(x, perm=[2, 0, 1])\n"
     "  r = reshape(x, [4, -1])\n"
     "  bc = broadcast_to(y, [2, 3, 5])\n"
     "  cc = concat([x, x * 2, transpose(x, perm=[0, 1, 2])], axis=-1)\n"
     "  sl = slice(x, start=[1, 0, 3], stop=[2, 3, 0], step=[1, 2, -2])\n"
     "  pd = pad(x, [[1, 0], [0, 2], [3, 1]], value=-7.5)\n"
     "  ti = transpose(i)\n"
     "  ci = concat([i, i, i], axis=0)\n"
     "  pb = pad(b, [[2, 1]], value=1)\n"
     "  sn = slice(y, start=[-1], stop=[-6], step=[-1])\n"
     "  cat3 = concat([slice(x, start=[0, 0, 0], stop=[2, 1, 4]), x, pad(x, [[0, 0], [1, 1], [0, 0]])], axis=1)\n"
     "}\n", NULL, 0, 0, -9, 9, 0, 0, NULL, NULL, 0, false},
    {"gather_onehot",
     "graph g(x : f32[3, 4, 2], i : i32[2, 3], l : i64[5], o : i32[6]) -> (a, b, c, d, e) {\n"
     "  a = gather(x, i, axis=0)\n"
     "  b = gather(x, l, axis=2)\n"
     "  c = gather(x, o, axis=-2)\n"
     "  d = one_hot(o, 4)\n"
     "  e = one_hot(i, 3) * 2\n"
     "}\n", NULL, 0, 0, -2, 1, 0, 0, NULL, NULL, 0, false},
    {"creation",
     "graph g(x : f32[3, 4]) -> (a, b, c, d, e, f) {\n"
     "  a = zeros([3, 4]) + ones([3, 4]) + full([3, 4], 2.5) + x\n"
     "  b = arange(7) * 2\n"
     "  c = full([2, 2], 7, i32) + arange(2)\n"
     "  d = cast(full([5], 0.1, f16), f32)\n"
     "  e = full([3], 3, i64)\n"
     "  f = x * full([4], 1.5)\n"
     "}\n", NULL, 1e-6, 1e-6, 0, 0, 0, 0, NULL, NULL, 0, false},
    {"cross_entropy",
     "graph g(x : f32[5, 7], y : i32[5], z : f32[2, 3, 4], w : i64[2, 3]) -> (a, b, c) {\n"
     "  a = cross_entropy(x, y)\n"
     "  b = mean(cross_entropy(x * 3, y))\n"
     "  c = cross_entropy(z, w) + 1\n"
     "}\n", NULL, 1e-5, 1e-5, 0, 3, 0, 0, NULL, NULL, 0, false},
    {"fusion",
     "param p : f32[6] = normal(std=1)\n"
     "graph g(x : f32[4, 6], y : f32[6, 4]) -> (a, b, c, d, e, f) {\n"
     "  h = exp(x) * 0.5 + p\n"
     "  a = h + 1\n"
     "  b = tanh(h) * transpose(y)\n"
     "  c = relu(x + transpose(y)) - pad(slice(x, start=[0, 1], stop=[4, 5]), [[0, 0], [1, 1]])\n"
     "  s = a * a\n"
     "  d = s + s * s + sum(s, axis=1, keepdims=true)\n"
     "  e = reshape(transpose(reshape(x * 2, [2, 2, 6]), perm=[1, 0, 2]), [4, 6]) + 1\n"
     "  f = concat([x, x + 1, x * x], axis=0) * 2\n"
     "}\n", NULL, 1e-5, 1e-5, 0, 0, 0, 0, NULL, NULL, 0, false},
    {"in_place", /* a and b are one kernel; a takes h's buffer while b still reads h */
     "param w : f32[4, 4] = normal(std=1)\n"
     "graph g(x : f32[4, 4]) -> (c, d) {\n"
     "  h = x @ w\n  a = h + 1\n  b = h * a\n  c = a @ w\n  d = b @ w\n"
     "}\n", NULL, 1e-5, 1e-5, 0, 0, 0, 0, NULL, NULL, 0, false},
    {"outputs",
     "param p : f32[2, 3] = normal(std=1)\n"
     "graph g(x : f32[2, 3], y : f32[6]) -> (a, b, c, d, e, f, k, m, t, s, u) {\n"
     "  a = x\n  b = reshape(x, [3, 2])\n  c = x * 2\n  d = c\n  e = reshape(c, [6])\n  f = p\n  k = 2.5\n"
     "  m = reshape(p + 1, [3, 2])\n"
     "  t = reshape(x + 1, [6])\n  s = t * y\n  u = reshape(transpose(x * 2), [6]) + y\n"
     "}\n", NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, 0, false},
    {"empty",
     "graph g(x : f32[0, 3], y : f32[3, 0]) -> (a, b, c, d, e) {\n"
     "  a = exp(x) + 1\n  b = sum(y, axis=1)\n  c = x @ y\n  d = softmax(x)\n  e = mean(y, axis=1)\n"
     "}\n", NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, 0, false},
    {"scalars",
     "graph g(x : f32[], v : f32[4]) -> (a, b, c) {\n"
     "  a = x * 2 + exp(x)\n  b = sum(v) + x\n  c = v * x\n"
     "}\n", NULL, 1e-5, 1e-5, 0, 0, 0, 0, NULL, NULL, 0, false},
    {"gradients", /* autodiff's pool and gather gradients, fused with the backward elementwise work */
     "graph g(x : f32[2, 3, 8, 8], e : f32[10, 4], i : i32[6], h : f16[1, 2, 6, 6]) -> (dx, de, da, dh) {\n"
     "  dx = grad(sum(max_pool2d(relu(x), 3, stride=2, padding=1) * slice(x, start=[0, 0, 0, 0], stop=[2, 3, 4, 4])),\n"
     "            x)\n"
     "  de = grad(sum(tanh(gather(e, i, axis=0)) * gather(e, i)), e)\n"
     "  da = grad(mean(avg_pool2d(x * x, [3, 2], stride=[1, 3], padding=[1, 0]) ** 2), x)\n"
     "  dh = grad(sum(cast(max_pool2d(h * h, 2) * avg_pool2d(h, 3, stride=2, padding=1), f32)), h)\n"
     "}\n", NULL, 1e-4, 1e-4, -10, 9, 0, 0, NULL, NULL, 0, false},
    {"gather_error", "graph g(x : f32[3, 2], i : i32[4]) -> (a) {\n  a = gather(x, i)\n}\n", NULL, 0, 0, 3, 7, 0, 0,
     "gather: index out of range", NULL, 0, false},
    {"label_error", "graph g(x : f32[3, 4], y : i32[3]) -> (a) {\n  a = cross_entropy(x, y)\n}\n", NULL, 0, 0, 4, 9, 0,
     0, "cross_entropy: label out of range [0, 4)", NULL, 0, false},
    /* one_hot_checked, cross_entropy's gradient's target: one_hot fused into its users, and the forward's check */
    {"one_hot_checked.tgir",
     "graph @g(%p : f32[5,4], %y : i32[5], %z : i64[2,3]) -> (a, b) {\n"
     "  %0 = input() [index=0] : f32[5,4]\n  %1 = input() [index=1] : i32[5]\n  %2 = input() [index=2] : i64[2,3]\n"
     "  %3 = one_hot_checked(%1) [depth=4] : f32[5,4]\n  %4 = sub(%0, %3) : f32[5,4]\n"
     "  %5 = one_hot_checked(%2) [depth=4] : f32[2,3,4]\n  return a = %4, b = %5\n}\n",
     NULL, 0, 0, 0, 3, 0, 0, NULL, NULL, 0, false},
    {"one_hot_checked_error.tgir",
     "graph @g(%p : f32[6,4], %y : i32[6]) -> (a) {\n"
     "  %0 = input() [index=0] : f32[6,4]\n  %1 = input() [index=1] : i32[6]\n"
     "  %2 = one_hot_checked(%1) [depth=4] : f32[6,4]\n  %3 = mul(%0, %2) : f32[6,4]\n  return a = %3\n}\n",
     NULL, 0, 0, 2, 7, 0, 0, "cross_entropy: label out of range [0, 4)", NULL, 0, false},
    {"pow_error", "graph g(x : i32[3], e : i32[3]) -> (a) {\n  a = x ** e\n}\n", NULL, 0, 0, -5, -1, 0, 0,
     "pow: integers to negative integer powers", NULL, 0, false},
};

/* ---- the gradient ops ------------------------------------------------------------------------------ */

/* The pools' gradients in Graph IR text over one pool geometry (NCHW, kernel, stride, lo, hi)
 * and dtype: max_pool2d_grad of x and of floor(x * 3) (ties) and of log(x) (NaN windows), its dy
 * made by a cheap op (fused into the gradient's loop) and its dx read by one (fused too), and
 * avg_pool2d_grad of dy. */
typedef struct pool_geometry {
    int64_t n, c, h, w, kh, kw, sh, sw, lo0, lo1, hi0, hi1;
} pool_geometry;

static void pool_grad_source(char *buf, size_t size, const pool_geometry *p, const char *dt) {
    int64_t oh = (p->h + p->lo0 + p->hi0 - p->kh) / p->sh + 1, ow = (p->w + p->lo1 + p->hi1 - p->kw) / p->sw + 1;
    char x[96], dy[96], attrs[192];
    long long n = p->n, c = p->c;
    snprintf(x, sizeof x, "%s[%lld,%lld,%lld,%lld]", dt, n, c, (long long)p->h, (long long)p->w);
    snprintf(dy, sizeof dy, "%s[%lld,%lld,%lld,%lld]", dt, n, c, (long long)oh, (long long)ow);
    snprintf(attrs, sizeof attrs, "kernel=[%lld,%lld], stride=[%lld,%lld], lo=[%lld,%lld], hi=[%lld,%lld]",
             (long long)p->kh, (long long)p->kw, (long long)p->sh, (long long)p->sw, (long long)p->lo0,
             (long long)p->lo1, (long long)p->hi0, (long long)p->hi1);
    snprintf(buf, size,
             "graph @g(%%x : %s, %%dy : %s) -> (m, a, t, f, nan) {\n"
             "  %%0 = input() [index=0] : %s\n  %%1 = input() [index=1] : %s\n"
             "  %%2 = max_pool2d_grad(%%0, %%1) [%s] : %s\n"
             "  %%3 = avg_pool2d_grad(%%1) [%s, shape=[%lld,%lld,%lld,%lld]] : %s\n"
             "  %%4 = constant() [value=3, dtype=%s] : %s[]\n"
             "  %%5 = mul(%%0, %%4) : %s\n  %%6 = floor(%%5) : %s\n  %%7 = mul(%%1, %%4) : %s\n"
             "  %%8 = max_pool2d_grad(%%6, %%7) [%s] : %s\n"
             "  %%9 = mul(%%8, %%0) : %s\n"
             "  %%10 = log(%%0) : %s\n  %%11 = max_pool2d_grad(%%10, %%1) [%s] : %s\n"
             "  return m = %%2, a = %%3, t = %%8, f = %%9, nan = %%11\n}\n",
             x, dy, x, dy, attrs, x, attrs, (long long)p->n, (long long)p->c, (long long)p->h, (long long)p->w, x,
             dt, dt, x, x, dy, attrs, x, x, x, attrs, x);
}

static void test_pool_grads(void) {
    static const pool_geometry geometries[] = {
        {2, 3, 7, 8, 3, 3, 2, 2, 1, 1, 1, 1},   /* overlapping windows, padding */
        {1, 2, 6, 6, 2, 2, 2, 2, 0, 0, 0, 0},   /* one window per element */
        {1, 2, 9, 7, 2, 3, 3, 4, 0, 0, 0, 0},   /* stride > kernel: elements in no window */
        {2, 1, 5, 6, 3, 2, 1, 1, 1, 0, 0, 1},   /* stride 1, lo != hi, non-square */
        {1, 1, 4, 5, 4, 4, 1, 3, 2, 2, 2, 1},   /* kernel 4, pads of half the kernel */
        {1, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},   /* 1x1 */
        {1, 1, 3, 8, 3, 8, 2, 1, 1, 0, 1, 0},   /* the window as wide as the input */
    };
    static const char *dtypes[] = {"f32", "f16", "bf16"};
    for (size_t i = 0; i < sizeof geometries / sizeof geometries[0]; i++) {
        for (size_t t = 0; t < 3; t++) {
            if (t > 0 && i % 3 == 2) continue; /* f16 and bf16 on most geometries */
            char src[4096], name[64];
            pool_grad_source(src, sizeof src, &geometries[i], dtypes[t]);
            snprintf(name, sizeof name, "pool_grad_%zu_%s.tgir", i, dtypes[t]);
            lcase c = {name, src, NULL, 1e-5, 1e-5, 0, 0, 0, 0, NULL, NULL, 0, false};
            run_case(&c);
        }
    }
}

static const lcase gather_grad_cases[] = {
    {"gather_grad_embedding.tgir", /* repeated and negative indices */
     "graph @g(%dy : f32[9,16], %i : i32[9]) -> (y) {\n"
     "  %0 = input() [index=0] : f32[9,16]\n  %1 = input() [index=1] : i32[9]\n"
     "  %2 = gather_grad(%0, %1) [axis=0, shape=[7,16]] : f32[7,16]\n  return y = %2\n}\n",
     NULL, 1e-5, 1e-5, -7, 6, 0, 0, NULL, NULL, 0, false},
    {"gather_grad_wide.tgir", /* column blocks share out the one row of leading axes */
     "graph @g(%dy : f32[40,256], %i : i64[40]) -> (y) {\n"
     "  %0 = input() [index=0] : f32[40,256]\n  %1 = input() [index=1] : i64[40]\n"
     "  %2 = gather_grad(%0, %1) [axis=0, shape=[30,256]] : f32[30,256]\n  return y = %2\n}\n",
     NULL, 1e-5, 1e-5, -30, 29, 0, 0, NULL, NULL, 0, false},
    {"gather_grad_axes.tgir", /* a middle axis with 2-D indices; the last axis; a scalar index */
     "graph @g(%a : f32[3,2,3,2], %b : f32[2,6], %c : f32[3], %i : i64[2,3], %j : i32[6], %k : i32[]) -> (y, z, w) {\n"
     "  %0 = input() [index=0] : f32[3,2,3,2]\n  %1 = input() [index=1] : f32[2,6]\n"
     "  %2 = input() [index=2] : f32[3]\n  %3 = input() [index=3] : i64[2,3]\n"
     "  %4 = input() [index=4] : i32[6]\n  %5 = input() [index=5] : i32[]\n"
     "  %6 = gather_grad(%0, %3) [axis=1, shape=[3,4,2]] : f32[3,4,2]\n"
     "  %7 = gather_grad(%1, %4) [axis=-1, shape=[2,4]] : f32[2,4]\n"
     "  %8 = gather_grad(%2, %5) [axis=0, shape=[4,3]] : f32[4,3]\n"
     "  return y = %6, z = %7, w = %8\n}\n",
     NULL, 1e-5, 1e-5, -4, 3, 0, 0, NULL, NULL, 0, false},
    {"gather_grad_dtypes.tgir", /* f16 and bf16 sums, integers and bools */
     "graph @g(%h : f16[6,3], %b : bf16[6,3], %n : i32[6,3], %t : bool[6,3], %i : i32[6]) -> (p, q, r, s) {\n"
     "  %0 = input() [index=0] : f16[6,3]\n  %1 = input() [index=1] : bf16[6,3]\n"
     "  %2 = input() [index=2] : i32[6,3]\n  %3 = input() [index=3] : bool[6,3]\n"
     "  %4 = input() [index=4] : i32[6]\n"
     "  %5 = gather_grad(%0, %4) [axis=0, shape=[2,3]] : f16[2,3]\n"
     "  %6 = gather_grad(%1, %4) [axis=0, shape=[2,3]] : bf16[2,3]\n"
     "  %7 = gather_grad(%2, %4) [axis=0, shape=[2,3]] : i32[2,3]\n"
     "  %8 = gather_grad(%3, %4) [axis=0, shape=[2,3]] : bool[2,3]\n"
     "  return p = %5, q = %6, r = %7, s = %8\n}\n",
     NULL, 1e-5, 1e-5, -2, 1, 0, 0, NULL, NULL, 0, false},
    {"gather_grad_fused.tgir", /* a cheap producer of dy and consumer of dx stay their own kernels */
     "graph @g(%dy : f32[4,3], %i : i32[4]) -> (y) {\n"
     "  %0 = input() [index=0] : f32[4,3]\n  %1 = input() [index=1] : i32[4]\n"
     "  %2 = constant() [value=2, dtype=f32] : f32[]\n  %3 = mul(%0, %2) : f32[4,3]\n"
     "  %4 = gather_grad(%3, %1) [axis=0, shape=[5,3]] : f32[5,3]\n  %5 = add(%4, %2) : f32[5,3]\n"
     "  return y = %5\n}\n",
     NULL, 1e-5, 1e-5, 0, 4, 0, 0, NULL, NULL, 0, false},
    {"gather_grad_error.tgir",
     "graph @g(%dy : f32[4,2], %i : i32[4]) -> (y) {\n"
     "  %0 = input() [index=0] : f32[4,2]\n  %1 = input() [index=1] : i32[4]\n"
     "  %2 = gather_grad(%0, %1) [axis=0, shape=[3,2]] : f32[3,2]\n  return y = %2\n}\n",
     NULL, 0, 0, 3, 7, 0, 0, "gather_grad: index", NULL, 0, false},
};

/* ---- the examples ------------------------------------------------------------------------------- */

static char *read_file(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    s[fread(s, 1, (size_t)n, f)] = 0;
    fclose(f);
    return s;
}

static void test_examples(const char *dir) {
    static const fe_define elementwise[] = {{"N", "1000"}}, lenet[] = {{"N", "2"}}, mlp[] = {{"B", "3"}};
    static const fe_define resnet[] = {{"N", "1"}, {"C", "4"}, {"HW", "6"}};
    static const fe_define transformer[] = {{"B", "2"}, {"S", "8"}, {"D", "16"}, {"H", "2"}, {"HD", "8"}, {"F", "24"}};
    static const struct {
        const char *file, *graph;
        const fe_define *defs;
        int n_defs;
    } ex[] = {{"elementwise.tg", NULL, elementwise, 1}, {"lenet.tg", NULL, lenet, 1}, {"mlp.tg", "infer", mlp, 1},
              {"resnet_block.tg", NULL, resnet, 3}, {"transformer.tg", NULL, transformer, 6}};
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        char *src = read_file(dir, ex[i].file);
        CHECK(src != NULL, "cannot read %s/%s", dir, ex[i].file);
        if (!src) continue;
        lcase c = {ex[i].file, src, ex[i].graph, 1e-4, 1e-4, 0, 9, 0, 0, NULL, ex[i].defs, ex[i].n_defs, false};
        run_case(&c);
        free(src);
    }
}

/* ---- structure ------------------------------------------------------------------------------------ */

static cg_program *lower_source(const char *name, const char *src, const char *graph, const fe_define *defs, int n_defs,
                                int level, ir_module **m, ir_diag *d) {
    lcase c = {name, src, graph, 0, 0, 0, 0, 0, 0, NULL, defs, n_defs, false};
    *m = compile(d, &c, level);
    return *m ? cg_lower_graph(pick(*m, &c), d) : NULL;
}

/* Every load in e reads at exactly `index`. */
static bool loads_at(const cg_expr *e, const cg_expr *index) {
    if (e->kind == CG_LOAD) return e->a[0] == index;
    int n = e->kind == CG_SELECT ? 3 : e->kind == CG_CALL ? cg_fn_arity(e->fn) : e->kind == CG_CAST;
    for (int i = 0; i < n; i++)
        if (!loads_at(e->a[i], index)) return false;
    return true;
}

static void test_elementwise_structure(const char *dir) {
    char *src = read_file(dir, "elementwise.tg");
    if (!src) return;
    ir_diag d;
    ir_diag_init(&d, stderr);
    ir_module *m;
    cg_program *p = lower_source("elementwise.tg", src, NULL, NULL, 0, 3, &m, &d);
    CHECK(p && p->n_kernels == 1, "elementwise.tg -O3: %d kernels", p ? p->n_kernels : -1);
    if (p && p->n_kernels == 1) {
        const cg_kernel *k = &p->kernels[0];
        const cg_stmt *loop = k->n_body == 1 ? k->body[0] : NULL;
        CHECK(k->kind == CG_KERNEL_LOOP && loop && loop->kind == CG_LOOP);
        if (loop && loop->kind == CG_LOOP) {
            CHECK(loop->flags == (CG_LOOP_PARALLEL | CG_LOOP_VECTOR) && loop->extent == 16777216);
            CHECK(k->parallel_extent == 16777216 && k->grain >= 1024, "grain %lld", (long long)k->grain);
            CHECK(loop->n_body == 1 && loop->body[0]->kind == CG_STORE);
            const cg_stmt *st = loop->body[0];
            bool flat = st->kind == CG_STORE && st->index->kind == CG_VAR && st->index->var == loop->var;
            CHECK(flat && st->nontemporal && loads_at(st->value, st->index), "not one flat loop of contiguous accesses");
        }
    }
    cg_program_destroy(p);
    ir_module_destroy(m);
    ir_diag_free(&d);
    free(src);
}

static void test_mlp_structure(const char *dir) {
    char *src = read_file(dir, "mlp.tg");
    if (!src) return;
    ir_diag d;
    ir_diag_init(&d, stderr);
    ir_module *m;
    cg_program *p = lower_source("mlp.tg", src, "infer", NULL, 0, 3, &m, &d);
    CHECK(p && p->n_kernels == 4, "mlp infer -O3: %d kernels", p ? p->n_kernels : -1);
    if (p && p->n_kernels == 4) {
        for (int i = 0; i < 3; i++) {
            const cg_kernel *k = &p->kernels[i];
            CHECK(k->kind == CG_KERNEL_GEMM && k->n_body == 1 && k->body[0]->kind == CG_LOOP &&
                  (k->body[0]->flags & CG_LOOP_PARALLEL), "kernel %s is not a GEMM with an epilogue", k->name);
        }
        const rt_gemm *g = &p->kernels[0].gemm;
        CHECK(g->m == 64 && g->n == 512 && g->k == 784 && !g->trans_a && !g->trans_b && g->lda == 784 && g->ldb == 512);
        CHECK(g->a.slot == cg_slot_input(p->graph, 0) && g->b.slot == cg_slot_param(p->graph, 0));
        CHECK(p->kernels[3].kind == CG_KERNEL_LOOP && p->kernels[3].parallel_extent == 64);
        FILE *f = tmpfile();
        if (f) {
            cg_print_program(f, p);
            rewind(f);
            char text[8192];
            text[fread(text, 1, sizeof text - 1, f)] = 0;
            fclose(f);
            CHECK(strstr(text, "kernel fused_matmul_bias_relu_64x512x784 (gemm)") &&
                  strstr(text, "gemm m=64 n=512 k=784 a=x b=w1") && strstr(text, "epilogue:") &&
                  strstr(text, "scratch[(i0 - begin)*512 + i1]"), "%s", text);
        }
    }
    cg_program_destroy(p);
    ir_module_destroy(m);
    /* -O0: every node its own kernel; the matmuls are GEMMs writing their result directly. */
    p = lower_source("mlp.tg", src, "infer", NULL, 0, 0, &m, &d);
    int gemms = 0;
    for (int i = 0; p && i < p->n_kernels; i++)
        gemms += p->kernels[i].kind == CG_KERNEL_GEMM && p->kernels[i].n_body == 0;
    CHECK(gemms == 3, "mlp infer -O0: %d GEMMs without epilogue", gemms);
    cg_program_destroy(p);
    ir_module_destroy(m);
    ir_diag_free(&d);
    free(src);
}

/* A row statistic is computed once per row: in the softmax kernel the accumulator loops sit in
 * the row loop, next to (not inside) the loop that stores the row. */
static void test_reduce_structure(void) {
    ir_diag d;
    ir_diag_init(&d, stderr);
    ir_module *m;
    cg_program *p = lower_source("softmax", "graph g(x : f32[6, 10]) -> (y) { y = softmax(x) }\n", NULL, NULL, 0, 3, &m, &d);
    CHECK(p && p->n_kernels == 1);
    if (p && p->n_kernels == 1) {
        const cg_stmt *rows = p->kernels[0].body[0];
        int loops = 0;
        for (int i = 0; i < rows->n_body; i++) loops += rows->body[i]->kind == CG_LOOP;
        CHECK(rows->extent == 6 && loops == 3, "%d loops in the row", loops);
    }
    cg_program_destroy(p);
    ir_module_destroy(m);
    ir_diag_free(&d);
}

/* Each value used twice by the next, 40 deep: a tree of 2^40 nodes unless every stage (memo,
 * evaluator, printer) keeps the DAG shared. */
static void test_deep_dag(void) {
    char src[4096];
    size_t n = (size_t)snprintf(src, sizeof src, "graph g(x0 : f32[5]) -> (y) {\n");
    for (int i = 1; i <= 40; i++)
        n += (size_t)snprintf(src + n, sizeof src - n, "  x%d = tanh(x%d * x%d + x%d)\n", i, i - 1, i - 1, i - 1);
    snprintf(src + n, sizeof src - n, "  y = x40 + x39\n}\n");
    lcase c = {"deep_dag", src, NULL, 1e-5, 1e-5, 0, 0, 0, 0, NULL, NULL, 0, false};
    run_case(&c);
}

/* A composite that reaches the lowering (decompose did not run) is an internal error. */
static void test_composite_is_a_bug(void) {
    FILE *log = tmpfile();
    ir_diag d;
    ir_diag_init(&d, log ? log : stderr);
    const char *src = "graph g(x : f32[2, 3]) -> (y) { y = softmax(x) }\n";
    int file = ir_diag_add_source(&d, "composite", src, strlen(src));
    ir_module *m = fe_compile(&d, file, &(fe_options){NULL, 0});
    pass_pipeline p = {1, {PASS_PLAN}};
    pass_run_options ro = {.verify_each = true};
    CHECK(m && pass_run_pipeline(m, &p, &ro, &d));
    cg_program *prog = m ? cg_lower_graph(m->graphs[0], &d) : NULL;
    CHECK(!prog && d.bugs == 1, "softmax lowered without decompose (%d bugs)", d.bugs);
    cg_program_destroy(prog);
    ir_module_destroy(m);
    ir_diag_free(&d);
    if (log) fclose(log);
}

/* The scatter of a lone f32 gather_grad: one parallel loop over blocks of columns when the
 * leading axes give one row (the embedding's case), zeros then the serial loop over indices with
 * a vector loop over the block's columns; f16 is the output-indexed loop kernel. */
static void test_gather_grad_structure(void) {
    static const struct {
        const char *dtype;
        int64_t v, d, parallel;
        bool scatter;
    } want[] = {{"f32", 30, 256, 4, true}, {"f32", 7, 16, 1, true}, {"f16", 30, 256, 30, false}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char src[1024];
        snprintf(src, sizeof src,
                 "graph @g(%%dy : %s[40,%lld], %%i : i32[40]) -> (y) {\n"
                 "  %%0 = input() [index=0] : %s[40,%lld]\n  %%1 = input() [index=1] : i32[40]\n"
                 "  %%2 = gather_grad(%%0, %%1) [axis=0, shape=[%lld,%lld]] : %s[%lld,%lld]\n  return y = %%2\n}\n",
                 want[i].dtype, (long long)want[i].d, want[i].dtype, (long long)want[i].d, (long long)want[i].v,
                 (long long)want[i].d, want[i].dtype, (long long)want[i].v, (long long)want[i].d);
        ir_diag d;
        ir_diag_init(&d, stderr);
        ir_module *m;
        cg_program *p = lower_source("gather_grad.tgir", src, NULL, NULL, 0, 3, &m, &d);
        CHECK(p && p->n_kernels == 1, "gather_grad %s: %d kernels", want[i].dtype, p ? p->n_kernels : -1);
        if (p && p->n_kernels == 1) {
            const cg_kernel *k = &p->kernels[0];
            CHECK(k->kind == CG_KERNEL_LOOP && k->parallel_extent == want[i].parallel,
                  "gather_grad %s %lldx%lld: parallel extent %lld", want[i].dtype, (long long)want[i].v,
                  (long long)want[i].d, (long long)k->parallel_extent);
            cg_stmt **body = k->body;
            int n = k->n_body;
            if (n == 1 && body[0]->kind == CG_LOOP && (body[0]->flags & CG_LOOP_PARALLEL) && want[i].scatter) {
                n = body[0]->n_body;
                body = body[0]->body;
            }
            /* scatter: the zero fill, then the loop over the 40 indices around the columns' vector loop */
            const cg_stmt *last = n ? body[n - 1] : NULL;
            bool scatter = n == 2 && body[0]->kind == CG_LOOP && last->kind == CG_LOOP && last->extent == 40 &&
                           last->body[last->n_body - 1]->kind == CG_LOOP &&
                           (last->body[last->n_body - 1]->flags & CG_LOOP_VECTOR);
            CHECK(scatter == want[i].scatter, "gather_grad %s %lldx%lld: %s", want[i].dtype, (long long)want[i].v,
                  (long long)want[i].d, scatter ? "a scatter" : "no scatter");
        }
        cg_program_destroy(p);
        ir_module_destroy(m);
        ir_diag_free(&d);
    }
}

/* max_pool2d_grad: a scatter per plane (a parallel loop over N*C: zeros, then the windows), or
 * in f16 with overlapping windows the output-indexed loop kernel; avg_pool2d_grad's few windows
 * are one expression, so its row loop stays an innermost vector loop. */
static void test_pool_grad_structure(void) {
    static const struct {
        const char *dtype;
        int64_t k, s;
        bool scatter;
    } want[] = {{"f32", 3, 2, true}, {"f16", 2, 2, true}, {"f16", 3, 2, false}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        pool_geometry geo = {2, 3, 8, 8, want[i].k, want[i].k, want[i].s, want[i].s, 1, 1, 1, 1};
        char src[4096], what[64];
        pool_grad_source(src, sizeof src, &geo, want[i].dtype);
        snprintf(what, sizeof what, "%s k%lld s%lld", want[i].dtype, (long long)want[i].k, (long long)want[i].s);
        ir_diag d;
        ir_diag_init(&d, stderr);
        ir_module *m;
        cg_program *p = lower_source("pool_grad.tgir", src, NULL, NULL, 0, 3, &m, &d);
        CHECK(p != NULL, "%s: not lowered", what);
        int64_t pooled = (8 + 2 - want[i].k) / want[i].s + 1;
        int seen = 0;
        for (int k = 0; p && k < p->n_kernels; k++) {
            const cg_kernel *kk = &p->kernels[k];
            const cg_stmt *loop = kk->n_body == 1 ? kk->body[0] : NULL;
            if (strcmp(kk->name, "max_pool2d_grad_2x3x8x8") == 0) {
                /* the zero fill, then the loops over the windows' rows and columns */
                bool scatter = kk->parallel_extent == 6 && loop && loop->n_body == 2 &&
                               (loop->body[0]->flags & CG_LOOP_VECTOR) && loop->body[1]->extent == pooled;
                CHECK(scatter == want[i].scatter, "%s: max_pool2d_grad is %sa scatter", what, scatter ? "" : "not ");
                seen++;
            } else if (strcmp(kk->name, "avg_pool2d_grad_2x3x8x8") == 0) {
                bool vector = kk->parallel_extent == 48 && loop && loop->n_body == 1 &&
                              loop->body[0]->flags == CG_LOOP_VECTOR;
                CHECK(vector, "%s: avg_pool2d_grad's row loop is no vector loop", what);
                seen++;
            }
        }
        CHECK(seen == 2, "%s: %d of the two pool gradients' kernels found", what, seen);
        cg_program_destroy(p);
        ir_module_destroy(m);
        ir_diag_free(&d);
    }
}

/* A grad node reaching the lowering (no autodiff pass ran) is an internal error saying so. */
static void test_grad_is_a_bug(void) {
    FILE *log = tmpfile();
    ir_diag d;
    ir_diag_init(&d, log ? log : stderr);
    const char *src = "graph @g(%x : f32[3]) -> (y, dx) {\n  %0 = input() [index=0] : f32[3]\n"
                      "  %1 = mul(%0, %0) : f32[3]\n  %2 = sum(%1) [axes=[0], keepdims=false] : f32[]\n"
                      "  %3 = grad(%2, %0) : f32[3]\n  return y = %2, dx = %3\n}\n";
    int file = ir_diag_add_source(&d, "grad.tgir", src, strlen(src));
    ir_module *m = ir_parse_module(&d, file);
    pass_pipeline p = {1, {PASS_PLAN}};
    pass_run_options ro = {.verify_each = true};
    CHECK(m && pass_run_pipeline(m, &p, &ro, &d), "a graph with grad does not plan");
    cg_program *prog = m ? cg_lower_graph(m->graphs[0], &d) : NULL;
    char text[2048] = "";
    if (log) {
        rewind(log);
        text[fread(text, 1, sizeof text - 1, log)] = 0;
    }
    const char *want = "grad must be lowered by the autodiff pass (node 3 of graph 'g')";
    bool refused = !prog && d.bugs == 1 && strstr(text, want);
    CHECK(refused, "grad lowered without autodiff (%d bugs): %s", d.bugs, text);
    op_seen[IR_OP_GRAD] = refused;
    cg_program_destroy(prog);
    ir_module_destroy(m);
    ir_diag_free(&d);
    if (log) fclose(log);
}

static void test_coverage(void) {
    for (int op = 0; op < IR_OP_COUNT; op++) CHECK(op_seen[op], "op %s is not covered", ir_op_name((ir_op)op));
}

/* test_lower --file F.tg...: each file's first graph at every level (random programs, say),
 * with integer inputs in [0, 2] so that most indices are in range. */
static int run_files(int argc, char **argv) {
    for (int i = 2; i < argc; i++) {
        char *src = read_file(NULL, argv[i]);
        CHECK(src != NULL, "cannot read %s", argv[i]);
        if (!src) continue;
        lcase c = {argv[i], src, NULL, 1e-4, 1e-4, 0, 2, 0, 0, NULL, NULL, 0, true};
        run_case(&c);
        free(src);
    }
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--file") == 0) return run_files(argc, argv);
#ifdef TFC_EXAMPLES_DIR
    const char *dir = argc > 1 ? argv[1] : TFC_EXAMPLES_DIR;
#else
    const char *dir = argc > 1 ? argv[1] : "examples";
#endif
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
    test_pool_grads();
    for (size_t i = 0; i < sizeof gather_grad_cases / sizeof gather_grad_cases[0]; i++) run_case(&gather_grad_cases[i]);
    test_examples(dir);
    test_elementwise_structure(dir);
    test_mlp_structure(dir);
    test_reduce_structure();
    test_composite_is_a_bug();
    test_gather_grad_structure();
    test_pool_grad_structure();
    test_grad_is_a_bug();
    test_deep_dag();
    test_coverage();
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
