/* test_cpu_math.c — accuracy of codegen/cpu/math.c against glibc's double libm rounded to f32, on
 * ~2^20 inputs per function, for the host (scalar and <8 x float> calls) and baseline x86-64 (no
 * FMA). `--exhaustive [--cpu NAME] [fn...]`: all 2^32 inputs per unary function (pow: 2^28 pairs),
 * printed as the Markdown tables of docs/math-accuracy.md. */
#include "check.h"
#include "math_harness.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SQRT1_2_D 0.70710678118654752440
#define SQRT_8_OVER_PI_D 1.59576912160573071176

/* ---- references: double libm, in forms that do not cancel or overflow in double ------------ */

static double sigmoid_d(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static double ref_unary(cg_fn f, double x) {
    switch (f) {
    case CG_EXP: return exp(x);
    case CG_LOG: return log(x);
    case CG_TANH: return tanh(x);
    case CG_SIGMOID: return sigmoid_d(x);
    case CG_SILU: return x * sigmoid_d(x);
    case CG_GELU: return 0.5 * x * erfc(-x * SQRT1_2_D);
    case CG_GELU_TANH: return x * sigmoid_d(x * (SQRT_8_OVER_PI_D + 0.044715 * SQRT_8_OVER_PI_D * x * x));
    case CG_ERF: return erf(x);
    case CG_SIN: return sin(x);
    case CG_COS: return cos(x);
    default: return NAN;
    }
}

/* ---- float helpers ---------------------------------------------------------------------------- */

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Distance in representable floats (+0 and -0 are one point); NaN against a number is far. */
static int64_t ulp_dist(float a, float b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) ? 0 : INT64_MAX;
    uint32_t ua = f2u(a), ub = f2u(b);
    int64_t ka = ua >> 31 ? -(int64_t)(ua & 0x7fffffff) : (int64_t)ua;
    int64_t kb = ub >> 31 ? -(int64_t)(ub & 0x7fffffff) : (int64_t)ub;
    return ka > kb ? ka - kb : kb - ka;
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (double)(splitmix(s) >> 11) * 0x1p-53; }

static const char *fn_name(cg_fn f) {
    switch (f) {
    case CG_EXP: return "exp";
    case CG_LOG: return "log";
    case CG_TANH: return "tanh";
    case CG_SIGMOID: return "sigmoid";
    case CG_SILU: return "silu";
    case CG_GELU: return "gelu";
    case CG_GELU_TANH: return "gelu_tanh";
    case CG_ERF: return "erf";
    case CG_SIN: return "sin";
    case CG_COS: return "cos";
    case CG_POW: return "pow";
    default: return "?";
    }
}

/* ---- accuracy statistics --------------------------------------------------------------------- */

/* The documented bounds (docs/math-accuracy.md): max ulp error over all inputs. */

static int64_t ulp_bound(cg_fn f) {
    switch (f) {
    case CG_EXP:
    case CG_LOG:
    case CG_SIN:
    case CG_COS:
    case CG_POW: return 1;
    case CG_SIGMOID:
    case CG_ERF: return 2;
    default: return 3; /* tanh silu gelu gelu_tanh */
    }
}

typedef struct stats {
    int64_t n, max_ulp, bad_special, bad_bound;
    float worst_x, worst_y;
    double max_abs; /* where |f(x)| ≤ 1 */
    float abs_x;
    double sum_ulp;
} stats;

static void stats_merge(stats *a, const stats *b) {
    if (b->max_ulp > a->max_ulp) {
        a->max_ulp = b->max_ulp;
        a->worst_x = b->worst_x;
        a->worst_y = b->worst_y;
    }
    if (b->max_abs > a->max_abs) {
        a->max_abs = b->max_abs;
        a->abs_x = b->abs_x;
    }
    a->n += b->n;
    a->bad_special += b->bad_special;
    a->bad_bound += b->bad_bound;
    a->sum_ulp += b->sum_ulp;
}

/* Scores one result; prints the first few failures. */
static void score(stats *s, cg_fn f, float x, float y, float got, double ref) {
    float want = (float)ref;
    s->n++;
    int64_t d = ulp_dist(got, want);
    bool zero_sign = want == 0 && got == 0 && signbit(got) != signbit(want);
    if (isnan(want) || isinf(want) || want == 0 || isnan(got)) {
        if (d > (isinf(want) ? 1 : 0) || zero_sign) {
            if (s->bad_special++ < 5)
                fprintf(stderr, "  %s(%a%s%a) = %a, want %a\n", fn_name(f), (double)x, f == CG_POW ? ", " : "",
                        f == CG_POW ? (double)y : 0.0, (double)got, (double)want);
        }
    }
    if (d == INT64_MAX) return;
    if (d > s->max_ulp) {
        s->max_ulp = d;
        s->worst_x = x;
        s->worst_y = y;
    }
    s->sum_ulp += (double)d;
    if (d > ulp_bound(f) && s->bad_bound++ < 5)
        fprintf(stderr, "  %s(%a%s%a) = %a, want %a: %lld ulp\n", fn_name(f), (double)x, f == CG_POW ? ", " : "",
                f == CG_POW ? (double)y : 0.0, (double)got, (double)want, (long long)d);
    if (isfinite(ref) && fabs(ref) <= 1.0 && fabs((double)got - ref) > s->max_abs) {
        s->max_abs = fabs((double)got - ref);
        s->abs_x = x;
    }
}

static void run_unary(const math_harness *h, cg_fn f, const float *x, float *out, int64_t n, stats *s) {
    math_harness_unary(h, f)(x, out, n);
    for (int64_t i = 0; i < n; i++) score(s, f, x[i], 0, out[i], ref_unary(f, (double)x[i]));
}

static void run_pow(const math_harness *h, const float *x, const float *y, float *out, int64_t n, stats *s) {
    math_harness_binary(h, CG_POW)(x, y, out, n);
    for (int64_t i = 0; i < n; i++) score(s, CG_POW, x[i], y[i], out[i], pow((double)x[i], (double)y[i]));
}

/* ---- samples ---------------------------------------------------------------------------------- */

static const float specials[] = {0.0f,         -0.0f,         INFINITY,       -INFINITY,
                                 NAN,          -NAN,          1.0f,           -1.0f,
                                 0.5f,         -0.5f,         2.0f,           -2.0f,
                                 FLT_MIN,      -FLT_MIN,      FLT_MAX,        -FLT_MAX,
                                 FLT_TRUE_MIN, -FLT_TRUE_MIN, FLT_EPSILON,    0x1p-126f * 0.5f,
                                 3.0f,         -3.0f,         1.5f,           -1.5f,
                                 0x1p24f,      0x1p23f + 1,   -(0x1p23f + 1), 88.72283935546875f,
                                 88.7228317f,  -87.33654f,    -103.97208f,    -103.97209f,
                                 -104.0f,      3.9192059f,    9.010913f,      1e10f,
                                 -1e10f,       1e30f,         1e5f,           3.14159274f,
                                 1.57079637f};
#define N_SPECIALS ((int)(sizeof(specials) / sizeof(specials[0])))

typedef struct sweep {
    float lo, hi;
    bool log; /* log-uniform magnitudes in [lo, hi], both signs */
} sweep;

static void sweeps_of(cg_fn f, sweep out[2]) {
    static const struct {
        cg_fn f;
        sweep s[2];
    } table[] = {
        {CG_EXP, {{-104, 89, false}, {1e-8f, 104, true}}},     {CG_LOG, {{0.5f, 2, false}, {1e-45f, 3e38f, true}}},
        {CG_TANH, {{-10, 10, false}, {1e-8f, 10, true}}},      {CG_SIGMOID, {{-105, 20, false}, {1e-8f, 105, true}}},
        {CG_SILU, {{-110, 20, false}, {1e-8f, 110, true}}},    {CG_GELU, {{-15, 15, false}, {1e-8f, 15, true}}},
        {CG_GELU_TANH, {{-12, 12, false}, {1e-8f, 12, true}}}, {CG_ERF, {{-4.5f, 4.5f, false}, {1e-8f, 4.5f, true}}},
        {CG_SIN, {{-100, 100, false}, {1e-8f, 3e38f, true}}},  {CG_COS, {{-100, 100, false}, {1e-8f, 3e38f, true}}},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].f == f) memcpy(out, table[i].s, sizeof table[i].s);
}

/* Fills x[0..n) with the quick sample of f: specials, denormals of every exponent, the two
 * sweeps, random bit patterns. */
static void unary_sample(cg_fn f, float *x, int64_t n, uint64_t seed) {
    int64_t k = 0;
    for (int i = 0; i < N_SPECIALS; i++) x[k++] = specials[i];
    for (int e = 0; e < 23; e++)
        for (int j = 0; j < 16; j++) {
            uint32_t m = (1u << e) | ((uint32_t)splitmix(&seed) & ((1u << e) - 1));
            x[k++] = u2f(m);
            x[k++] = -u2f(m);
        }
    sweep sw[2];
    sweeps_of(f, sw);
    int64_t per = (n - k) / 4;
    for (int s = 0; s < 2; s++)
        for (int64_t i = 0; i < per; i++) {
            double t = (double)i / (double)(per - 1);
            if (sw[s].log) {
                double v = exp(log(sw[s].lo) + t * (log(sw[s].hi) - log(sw[s].lo)));
                x[k++] = (float)(i & 1 ? -v : v);
            } else {
                x[k++] = (float)(sw[s].lo + t * ((double)sw[s].hi - sw[s].lo));
            }
        }
    while (k < n) x[k++] = u2f((uint32_t)splitmix(&seed));
}

/* Pairs for pow: every pair of special values, x log-uniform with y chosen so that x**y spans
 * the whole f32 range, x near 1 with large y, negative x with integer y, random bits. */
static int64_t pow_sample(float *x, float *y, int64_t n, uint64_t seed) {
    static const float sy[] = {0.0f,
                               -0.0f,
                               INFINITY,
                               -INFINITY,
                               NAN,
                               1,
                               -1,
                               2,
                               -2,
                               3,
                               -3,
                               0.5f,
                               -0.5f,
                               1.5f,
                               -1.5f,
                               0x1p24f,
                               0x1p24f + 2,
                               0x1p23f + 1,
                               -(0x1p23f + 1),
                               0x1p22f + 0.5f,
                               1e10f,
                               -1e10f,
                               FLT_TRUE_MIN,
                               -FLT_TRUE_MIN,
                               127,
                               -149,
                               1.0f / 3};
    int64_t k = 0;
    for (int i = 0; i < N_SPECIALS; i++)
        for (size_t j = 0; j < sizeof(sy) / sizeof(sy[0]); j++, k++) {
            x[k] = specials[i];
            y[k] = sy[j];
        }
    int64_t quarter = (n - k) / 4;
    for (int64_t i = 0; i < quarter; i++, k++) {
        double lx = -149 + uniform(&seed) * 277, t = -155 + uniform(&seed) * 285;
        x[k] = (float)exp2(lx);
        y[k] = lx == 0 ? 1.0f : (float)(t / log2((double)x[k]));
    }
    for (int64_t i = 0; i < quarter; i++, k++) {
        x[k] = (float)(1 + (uniform(&seed) - 0.5) * 0x1p-10);
        y[k] = (float)((uniform(&seed) - 0.5) * 2e6);
    }
    for (int64_t i = 0; i < quarter; i++, k++) {
        x[k] = (float)(-uniform(&seed) * 20);
        y[k] = (float)(int)(uniform(&seed) * 100 - 50);
    }
    for (; k < n; k++) {
        x[k] = u2f((uint32_t)splitmix(&seed));
        y[k] = u2f((uint32_t)splitmix(&seed));
    }
    return k;
}

/* ---- exact special values -------------------------------------------------------------------- */

typedef struct special_case {
    cg_fn f;
    float x, y, want;
} special_case;

static const special_case special_cases[] = {
    {CG_EXP, 0.0f, 0, 1.0f},
    {CG_EXP, -0.0f, 0, 1.0f},
    {CG_EXP, INFINITY, 0, INFINITY},
    {CG_EXP, -INFINITY, 0, 0.0f},
    {CG_EXP, 88.72283935546875f, 0, INFINITY},
    {CG_EXP, -104.0f, 0, 0.0f},
    {CG_EXP, -103.0f, 0, FLT_TRUE_MIN},
    {CG_LOG, 1.0f, 0, 0.0f},
    {CG_LOG, 0.0f, 0, -INFINITY},
    {CG_LOG, -0.0f, 0, -INFINITY},
    {CG_LOG, INFINITY, 0, INFINITY},
    {CG_LOG, -1.0f, 0, NAN},
    {CG_LOG, -INFINITY, 0, NAN},
    {CG_LOG, FLT_TRUE_MIN, 0, -103.27893f},
    {CG_TANH, 0.0f, 0, 0.0f},
    {CG_TANH, -0.0f, 0, -0.0f},
    {CG_TANH, INFINITY, 0, 1.0f},
    {CG_TANH, -INFINITY, 0, -1.0f},
    {CG_TANH, FLT_TRUE_MIN, 0, FLT_TRUE_MIN},
    {CG_SIGMOID, 0.0f, 0, 0.5f},
    {CG_SIGMOID, -0.0f, 0, 0.5f},
    {CG_SIGMOID, INFINITY, 0, 1.0f},
    {CG_SIGMOID, -INFINITY, 0, 0.0f},
    {CG_SIGMOID, -200.0f, 0, 0.0f},
    {CG_SILU, 0.0f, 0, 0.0f},
    {CG_SILU, -0.0f, 0, -0.0f},
    {CG_SILU, INFINITY, 0, INFINITY},
    {CG_SILU, -INFINITY, 0, NAN},
    {CG_SILU, -200.0f, 0, -0.0f},
    {CG_GELU, 0.0f, 0, 0.0f},
    {CG_GELU, -0.0f, 0, -0.0f},
    {CG_GELU, INFINITY, 0, INFINITY},
    {CG_GELU, -INFINITY, 0, NAN},
    {CG_GELU, -20.0f, 0, -0.0f},
    {CG_GELU_TANH, 0.0f, 0, 0.0f},
    {CG_GELU_TANH, -0.0f, 0, -0.0f},
    {CG_GELU_TANH, INFINITY, 0, INFINITY},
    {CG_GELU_TANH, -INFINITY, 0, NAN},
    {CG_GELU_TANH, -20.0f, 0, -0.0f},
    {CG_ERF, 0.0f, 0, 0.0f},
    {CG_ERF, -0.0f, 0, -0.0f},
    {CG_ERF, INFINITY, 0, 1.0f},
    {CG_ERF, -INFINITY, 0, -1.0f},
    {CG_ERF, 4.0f, 0, 1.0f},
    {CG_SIN, 0.0f, 0, 0.0f},
    {CG_SIN, -0.0f, 0, -0.0f},
    {CG_SIN, INFINITY, 0, NAN},
    {CG_SIN, -INFINITY, 0, NAN},
    {CG_SIN, FLT_TRUE_MIN, 0, FLT_TRUE_MIN},
    {CG_COS, 0.0f, 0, 1.0f},
    {CG_COS, -0.0f, 0, 1.0f},
    {CG_COS, INFINITY, 0, NAN},
    {CG_COS, -INFINITY, 0, NAN},
    {CG_POW, 2.0f, 10.0f, 1024.0f},
    {CG_POW, -2.0f, 3.0f, -8.0f},
    {CG_POW, -2.0f, -1.0f, -0.5f},
    {CG_POW, -8.0f, 1.0f / 3, NAN},
    {CG_POW, NAN, 0.0f, 1.0f},
    {CG_POW, 1.0f, NAN, 1.0f},
    {CG_POW, -1.0f, NAN, NAN},
    {CG_POW, -1.0f, INFINITY, 1.0f},
    {CG_POW, -1.0f, -INFINITY, 1.0f},
    {CG_POW, 0.0f, 0.0f, 1.0f},
    {CG_POW, 0.0f, -1.0f, INFINITY},
    {CG_POW, -0.0f, -1.0f, -INFINITY},
    {CG_POW, -0.0f, -2.0f, INFINITY},
    {CG_POW, -0.0f, 3.0f, -0.0f},
    {CG_POW, -0.0f, 0.5f, 0.0f},
    {CG_POW, 0.0f, -INFINITY, INFINITY},
    {CG_POW, -INFINITY, 3.0f, -INFINITY},
    {CG_POW, -INFINITY, -3.0f, -0.0f},
    {CG_POW, -INFINITY, 0.5f, INFINITY},
    {CG_POW, -INFINITY, -2.0f, 0.0f},
    {CG_POW, INFINITY, -0.5f, 0.0f},
    {CG_POW, 0.5f, INFINITY, 0.0f},
    {CG_POW, 0.5f, -INFINITY, INFINITY},
    {CG_POW, 2.0f, -INFINITY, 0.0f},
    {CG_POW, -2.0f, INFINITY, INFINITY},
    {CG_POW, 2.0f, 128.0f, INFINITY},
    {CG_POW, 2.0f, -149.0f, FLT_TRUE_MIN},
    {CG_POW, 2.0f, -150.0f, 0.0f},
    {CG_POW, -3.0f, 0x1p24f, INFINITY},
    {CG_POW, -1.0f, 0x1p23f + 1, -1.0f},
    {CG_POW, FLT_TRUE_MIN, 0.5f, 0x1.6a09e6p-75f},
};

static bool same(float a, float b) { return isnan(a) ? isnan(b) : f2u(a) == f2u(b); }

/* Each case fills a whole vector, so that it also runs through <N x float> loops. */
static void check_special_values(const math_harness *h, const char *label) {
    for (size_t i = 0; i < sizeof(special_cases) / sizeof(special_cases[0]); i++) {
        const special_case *c = &special_cases[i];
        float x[8], y[8], out[8];
        for (int k = 0; k < 8; k++) {
            x[k] = c->x;
            y[k] = c->y;
        }
        if (c->f == CG_POW)
            math_harness_binary(h, CG_POW)(x, y, out, 8);
        else
            math_harness_unary(h, c->f)(x, out, 8);
        CHECK(same(out[0], c->want) && same(out[7], c->want), "%s %s(%a, %a) = %a, want %a", label, fn_name(c->f),
              (double)c->x, (double)c->y, (double)out[0], (double)c->want);
    }
}

/* ---- quick mode ------------------------------------------------------------------------------ */

enum { QUICK_N = 1 << 20 };

static void quick(const math_harness *h, float *x, float *y, float *out) {
    char label[64];
    snprintf(label, sizeof label, "%s%s", math_harness_cpu(h), math_harness_lanes(h) > 1 ? "/v8" : "");
    /* the loop vectorizer's width, or the calls' own */
    int min_width = math_harness_lanes(h) > 1 ? math_harness_lanes(h) : math_harness_has_feature(h, "+avx2") ? 8 : 4;
    printf("%-10s %-10s %8s %8s %-16s %10s %6s\n", label, "function", "max ulp", "mean", "worst input", "abs err",
           "vector");
    for (int i = 0; i < math_harness_n_fns; i++) {
        cg_fn f = math_harness_fns[i];
        stats s = {0};
        if (f == CG_POW) {
            int64_t n = pow_sample(x, y, QUICK_N, 7);
            run_pow(h, x, y, out, n, &s);
        } else {
            unary_sample(f, x, QUICK_N, 1000 + (uint64_t)f);
            run_unary(h, f, x, out, QUICK_N, &s);
        }
        int width = math_harness_vector_width(h, f);
        printf("%-10s %-10s %8lld %8.4f %-16a %10.3g %6d\n", label, fn_name(f), (long long)s.max_ulp,
               s.sum_ulp / (double)s.n, (double)s.worst_x, s.max_abs, width);
        CHECK(s.max_ulp <= ulp_bound(f), "%s: %s: %lld ulp at %a (bound %lld)", label, fn_name(f), (long long)s.max_ulp,
              (double)s.worst_x, (long long)ulp_bound(f));
        CHECK(s.bad_special == 0, "%s: %s: %lld wrong special values", label, fn_name(f), (long long)s.bad_special);
        CHECK(width >= min_width, "%s: %s: loop not vectorized (<%d x float>)", label, fn_name(f), width);
        CHECK(!math_harness_has_calls(h, f), "%s: %s: the loop calls a function", label, fn_name(f));
    }
    check_special_values(h, label);
}

/* ---- exhaustive mode ------------------------------------------------------------------------- */

enum { CHUNK = 1 << 16, N_THREADS = 2, POW_PAIRS_LOG2 = 28 };

typedef struct job {
    const math_harness *h;
    cg_fn f;
    int thread;
    stats s;
} job;

static void *exhaustive_thread(void *arg) {
    job *j = arg;
    float *x = malloc(CHUNK * sizeof *x), *y = malloc(CHUNK * sizeof *y), *out = malloc(CHUNK * sizeof *out);
    if (j->f == CG_POW) {
        for (int64_t c = j->thread; c < (1 << POW_PAIRS_LOG2) / CHUNK; c += N_THREADS) {
            int64_t n = pow_sample(x, y, CHUNK, 99 + (uint64_t)c);
            run_pow(j->h, x, y, out, n, &j->s);
        }
    } else {
        for (uint64_t c = (uint64_t)j->thread; c < (1ULL << 32) / CHUNK; c += N_THREADS) {
            for (int i = 0; i < CHUNK; i++) x[i] = u2f((uint32_t)(c * CHUNK + (uint64_t)i));
            math_harness_unary(j->h, j->f)(x, out, CHUNK);
            for (int i = 0; i < CHUNK; i++) score(&j->s, j->f, x[i], 0, out[i], ref_unary(j->f, (double)x[i]));
        }
    }
    free(x);
    free(y);
    free(out);
    return NULL;
}

static int exhaustive(const math_harness *h, int argc, char **argv) {
    printf("| function | max ulp | worst input | mean ulp | max abs error (\\|f\\| ≤ 1) | at | bound | specials |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    fflush(stdout);
    for (int i = 0; i < math_harness_n_fns; i++) {
        cg_fn f = math_harness_fns[i];
        bool wanted = argc == 0;
        for (int a = 0; a < argc; a++) wanted |= strcmp(argv[a], fn_name(f)) == 0;
        if (!wanted) continue;
        job jobs[N_THREADS];
        pthread_t threads[N_THREADS];
        for (int t = 0; t < N_THREADS; t++) {
            memset(&jobs[t], 0, sizeof jobs[t]);
            jobs[t].h = h;
            jobs[t].f = f;
            jobs[t].thread = t;
            pthread_create(&threads[t], NULL, exhaustive_thread, &jobs[t]);
        }
        stats s = {0};
        for (int t = 0; t < N_THREADS; t++) {
            pthread_join(threads[t], NULL);
            stats_merge(&s, &jobs[t].s);
        }
        char worst[64];
        if (f == CG_POW)
            snprintf(worst, sizeof worst, "%a, %a", (double)s.worst_x, (double)s.worst_y);
        else
            snprintf(worst, sizeof worst, "%a", (double)s.worst_x);
        printf("| %s | %lld | %s | %.4f | %.3g | %a | %lld | %s |\n", fn_name(f), (long long)s.max_ulp, worst,
               s.sum_ulp / (double)s.n, s.max_abs, (double)s.abs_x, (long long)ulp_bound(f),
               s.bad_special ? "WRONG" : "exact");
        fflush(stdout);
        CHECK(s.max_ulp <= ulp_bound(f) && s.bad_special == 0, "%s", fn_name(f));
    }
    return failures != 0;
}

int main(int argc, char **argv) {
    char err[512];
    if (argc > 1 && strcmp(argv[1], "--exhaustive") == 0) {
        /* --exhaustive [--cpu NAME] [function...] */
        const char *cpu = argc > 3 && strcmp(argv[2], "--cpu") == 0 ? argv[3] : NULL;
        int skip = cpu ? 4 : 2;
        math_harness *h = math_harness_create(cpu, 1, err, sizeof err);
        if (!h) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("CPU %s\n\n", math_harness_cpu(h));
        int rc = exhaustive(h, argc - skip, argv + skip);
        math_harness_destroy(h);
        return rc;
    }
    float *x = malloc(QUICK_N * sizeof *x), *y = malloc(QUICK_N * sizeof *y), *out = malloc(QUICK_N * sizeof *out);
    /* The host; the host with <8 x float> calls; on x86-64 the baseline CPU (SSE2, no FMA, so
       fmuladd is a multiply and an add). */
    struct {
        const char *cpu;
        int lanes;
    } configs[] = {{NULL, 1}, {NULL, 8}, {"x86-64", 1}};
    int n_configs = 2;
#if defined(__x86_64__)
    n_configs = 3;
#endif
    for (int c = 0; c < n_configs; c++) {
        math_harness *h = math_harness_create(configs[c].cpu, configs[c].lanes, err, sizeof err);
        CHECK(h != NULL, "%s", err);
        if (h) quick(h, x, y, out);
        math_harness_destroy(h);
    }
    free(x);
    free(y);
    free(out);
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
