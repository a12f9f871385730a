/* test_program.c — unit test of the executor (runtime/program.h): loop steps over many ranges and
 * thread counts, GEMMs and convolutions against naive double-precision loops, with and without an
 * epilogue, bit-identical at 1, 2 and 3 threads; failed checks, the arena, creation errors, the
 * trace file, several programs on one executor (rt_exec_create_multi), and GEMMs whose B lies in
 * a parameter slot (kept packed across runs: new contents with rt_exec_params_changed, a new
 * buffer). Hand-written C kernels stand in for generated code; their shapes come from a slot. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/exec_internal.h"
#include "runtime/json.h"
#include "runtime/program.h"
#include "runtime/sgemm_avx512.h"
#include "tests/unit/check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The out-of-memory test asks for an impossible arena; under the sanitizers that must fail like
   malloc does instead of aborting the test. */
const char *__asan_default_options(void);
const char *__tsan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
const char *__tsan_default_options(void) { return "allocator_may_return_null=1"; }

static const int thread_counts[] = {1, 2, 3};
#define N_THREAD_COUNTS 3

/* ---- data --------------------------------------------------------------------------------- */

static float *random_floats(int64_t n, uint64_t *state) {
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (float)((double)(*state >> 40) / (double)(1 << 24) * 2.0 - 1.0);
    }
    return v;
}

/* Runs p once per thread count into out (n floats, slot out_slot); the first run's result goes
   to `first`, and every later one must equal it bit for bit. Returns false if a run failed. */
static bool run_all_thread_counts(const rt_program *p, char **slots, int out_slot, int64_t n, float *first,
                                  const char *what) {
    for (int t = 0; t < N_THREAD_COUNTS; t++) {
        char err[256];
        rt_exec *e = rt_exec_create(p, thread_counts[t], err, sizeof err);
        CHECK(e != NULL, "%s: %s", what, err);
        if (!e) return false;
        CHECK(rt_exec_threads(e) == thread_counts[t]);
        memset(slots[out_slot], 0xff, (size_t)n * sizeof(float)); /* NaNs: every element must be written */
        int rc = rt_exec_run(e, slots);
        CHECK(rc == 0, "%s: %s", what, rt_exec_error(e));
        rt_exec_destroy(e);
        if (rc) return false;
        if (t == 0)
            memcpy(first, slots[out_slot], (size_t)n * sizeof(float));
        else
            CHECK(memcmp(first, slots[out_slot], (size_t)n * sizeof(float)) == 0, "%s: %d threads differ from 1", what,
                  thread_counts[t]);
    }
    return true;
}

/* |got - want| within a rounding bound that scales with the sum of |terms| of the dot product. */
static bool close_enough(double got, double want, double magnitude) {
    return fabs(got - want) <= 1e-5 * magnitude + 1e-6;
}

/* ---- loop steps --------------------------------------------------------------------------- */

/* slot 1: in, slot 2: out, slot 3: visit counts. */
static int affine_kernel(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    const float *in = (const float *)slots[1];
    float *out = (float *)slots[2];
    int *visits = (int *)slots[3];
    for (int64_t i = begin; i < end; i++) {
        out[i] = 2 * in[i] + 1;
        visits[i]++;
    }
    return scratch != NULL; /* loop kernels get no scratch */
}

static void test_loops(void) {
    const int64_t extents[] = {0, 1, 7, 1000, 100003};
    const int64_t grains[] = {1, 16, 4096};
    const int threads[] = {1, 2, 3, 5};
    uint64_t seed = 1;
    float *in = random_floats(100003, &seed), *out = malloc(100003 * sizeof(float));
    int *visits = malloc(100003 * sizeof(int));
    for (int x = 0; x < 5; x++)
        for (int g = 0; g < 3; g++)
            for (int t = 0; t < 4; t++) {
                rt_step step = {.name = "affine",
                                .kind = RT_STEP_LOOP,
                                .fn = affine_kernel,
                                .extent = extents[x],
                                .grain = grains[g]};
                rt_program p = {.name = "loops", .n_slots = 4, .n_steps = 1, .steps = &step};
                char err[256], *slots[4] = {NULL, (char *)in, (char *)out, (char *)visits};
                rt_exec *e = rt_exec_create(&p, threads[t], err, sizeof err);
                CHECK(e != NULL, "%s", err);
                if (!e) continue;
                memset(visits, 0, 100003 * sizeof(int));
                CHECK(rt_exec_run(e, slots) == 0, "%s", rt_exec_error(e));
                int bad = 0;
                for (int64_t i = 0; i < 100003; i++)
                    bad += visits[i] != (i < extents[x]) || (i < extents[x] && out[i] != 2 * in[i] + 1);
                CHECK(bad == 0, "extent %lld grain %lld threads %d: %d bad", (long long)extents[x],
                      (long long)grains[g], threads[t], bad);
                rt_exec_destroy(e);
            }
    free(in);
    free(out);
    free(visits);
}

/* ---- failed checks ------------------------------------------------------------------------ */

static int check_values(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    (void)scratch;
    const float *in = (const float *)slots[1];
    float *out = (float *)slots[2];
    for (int64_t i = begin; i < end; i++) {
        if (in[i] < 0) return 1;
        if (in[i] > 100) return 2;
        out[i] = in[i];
    }
    return 0;
}

static int odd_code(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    (void)slots, (void)begin, (void)end, (void)scratch;
    return 7;
}

static int mark_done(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    (void)begin, (void)end, (void)scratch;
    ((float *)slots[2])[0] = 42;
    return 0;
}

static void test_failed_checks(void) {
    static const char *const messages[] = {"value is negative", "value is too large"};
    float in[1000] = {0}, out[1000];
    in[700] = 200; /* the lowest failure: check 2 */
    in[900] = -1;
    rt_step steps[2] = {
        {.name = "check_values",
         .kind = RT_STEP_LOOP,
         .fn = check_values,
         .extent = 1000,
         .grain = 10,
         .n_checks = 2,
         .checks = messages},
        {.name = "after", .kind = RT_STEP_LOOP, .fn = mark_done, .extent = 1, .grain = 1},
    };
    rt_program p = {.name = "checks", .n_slots = 3, .n_steps = 2, .steps = steps};
    for (int threads = 1; threads <= 4; threads++) {
        char err[256], *slots[3] = {NULL, (char *)in, (char *)out};
        rt_exec *e = rt_exec_create(&p, threads, err, sizeof err);
        CHECK(e != NULL, "%s", err);
        out[0] = 0;
        CHECK(rt_exec_run(e, slots) != 0);
        CHECK(strcmp(rt_exec_error(e), "value is too large (in kernel check_values)") == 0, "%d threads: '%s'", threads,
              rt_exec_error(e));
        CHECK(out[0] != 42, "the run went on after a failed check");
        rt_exec_destroy(e);
    }
    rt_step odd = {.name = "odd", .kind = RT_STEP_LOOP, .fn = odd_code, .extent = 1, .grain = 1};
    rt_program q = {.name = "odd", .n_slots = 1, .n_steps = 1, .steps = &odd};
    rt_exec *e = rt_exec_create(&q, 2, NULL, 0);
    char *slots[1];
    CHECK(rt_exec_run(e, slots) != 0 && strcmp(rt_exec_error(e), "kernel odd: check 7 failed") == 0, "'%s'",
          rt_exec_error(e));
    rt_exec_destroy(e);
}

/* ---- the arena and creation errors -------------------------------------------------------- */

static int fill_arena(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    (void)scratch;
    for (int64_t i = begin; i < end; i++) ((float *)slots[0])[i] = (float)i;
    return 0;
}

static int copy_arena(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    (void)scratch;
    for (int64_t i = begin; i < end; i++) ((float *)slots[1])[i] = ((float *)slots[0])[i] + 1;
    return 0;
}

static void test_arena(void) {
    float out[1000];
    rt_step steps[2] = {{.name = "fill", .kind = RT_STEP_LOOP, .fn = fill_arena, .extent = 1000, .grain = 64},
                        {.name = "copy", .kind = RT_STEP_LOOP, .fn = copy_arena, .extent = 1000, .grain = 64}};
    for (int64_t bytes = 0; bytes <= 4000; bytes += 4000) {
        rt_program p = {.name = "arena", .n_slots = 2, .n_steps = bytes ? 2 : 0, .steps = steps, .arena_bytes = bytes};
        char err[256], *slots[2] = {NULL, (char *)out};
        rt_exec *e = rt_exec_create(&p, 3, err, sizeof err);
        CHECK(e != NULL, "%s", err);
        CHECK(rt_exec_run(e, slots) == 0 && rt_exec_error(e)[0] == '\0');
        CHECK(slots[0] != NULL && (uintptr_t)slots[0] % 64 == 0, "arena %p", (void *)slots[0]);
        for (int i = 0; bytes && i < 1000; i++) CHECK(out[i] == (float)i + 1, "out[%d] = %g", i, out[i]);
        rt_exec_destroy(e);
    }
    rt_exec_destroy(NULL);
}

static void expect_create_error(const rt_program *p, int threads, const char *needle) {
    char err[256];
    rt_exec *e = rt_exec_create(p, threads, err, sizeof err);
    CHECK(e == NULL && strstr(err, needle) != NULL, "expected '%s', got '%s'", needle, err);
    rt_exec_destroy(e);
}

static void test_create_errors(void) {
    rt_step loop = {.name = "k", .kind = RT_STEP_LOOP, .fn = fill_arena, .extent = 1};
    rt_program p = {.name = "g", .n_slots = 2, .n_steps = 1, .steps = &loop, .arena_bytes = 64};
    expect_create_error(&p, RT_THREAD_POOL_MAX + 1, "threads");
    loop.fn = NULL;
    expect_create_error(&p, 1, "step 0 (kernel k): loop step without a kernel");
    rt_step gemm = {.name = "mm",
                    .kind = RT_STEP_GEMM,
                    .gemm = {.a = {1, 0}, .b = {1, 0}, .c = {1, 0}, .m = 4, .n = 4, .k = 4, .lda = 3, .ldb = 4}};
    p.steps = &gemm;
    expect_create_error(&p, 1, "leading dimension of A");
    gemm.gemm.lda = 4;
    gemm.gemm.c.slot = 2;
    expect_create_error(&p, 1, "outside the slot table");
    rt_step conv = {.name = "cv",
                    .kind = RT_STEP_CONV,
                    .conv = {.x = {1, 0},
                             .w = {1, 0},
                             .out = {1, 0},
                             .n = 1,
                             .c = 3,
                             .h = 4,
                             .w_in = 4,
                             .o = 4,
                             .kh = 1,
                             .kw = 1,
                             .oh = 4,
                             .ow = 4,
                             .stride_h = 1,
                             .stride_w = 1,
                             .dilation_h = 1,
                             .dilation_w = 1,
                             .groups = 2}};
    p.steps = &conv;
    expect_create_error(&p, 1, "groups");
    p.arena_bytes = INT64_MAX;
    conv.conv.groups = 1;
    expect_create_error(&p, 1, "out of memory");
}

/* ---- GEMM --------------------------------------------------------------------------------- */

/* Epilogue: out = relu(result + bias[column]); slot 3 out, slot 4 bias, slot 5 {row length}. */
static int bias_relu(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    int64_t n = ((const int64_t *)slots[5])[0];
    const float *bias = (const float *)slots[4], *r = (const float *)scratch;
    float *out = (float *)slots[3];
    for (int64_t i = begin; i < end; i++)
        for (int64_t j = 0; j < n; j++) {
            float v = r[(i - begin) * n + j] + bias[j];
            out[i * n + j] = v > 0 ? v : 0;
        }
    return 0;
}

typedef struct gemm_case {
    int64_t m, n, k;
    bool ta, tb;
    int64_t pad; /* extra elements per stored row (lda, ldb) */
    int batch_rank;
    int64_t batch[2];
    bool bcast_a[2], bcast_b[2];
} gemm_case;

/* Strides of a batched operand (broadcast axes 0) and its element count. */
static int64_t batch_strides(const gemm_case *gc, const bool *bcast, int64_t matrix, int64_t *strides) {
    int64_t count = matrix;
    for (int d = gc->batch_rank - 1; d >= 0; d--) {
        strides[d] = bcast[d] ? 0 : count;
        count *= bcast[d] ? 1 : gc->batch[d];
    }
    return count;
}

static void gemm_reference(const gemm_case *gc, const rt_gemm *g, const float *a, const float *b, double *ref,
                           double *mag) {
    int64_t items = 1;
    for (int d = 0; d < gc->batch_rank; d++) items *= gc->batch[d];
    for (int64_t it = 0; it < items; it++) {
        int64_t oa = 0, ob = 0, rest = it;
        for (int d = gc->batch_rank - 1; d >= 0; d--) {
            oa += rest % gc->batch[d] * g->batch_stride_a[d];
            ob += rest % gc->batch[d] * g->batch_stride_b[d];
            rest /= gc->batch[d];
        }
        for (int64_t i = 0; i < gc->m; i++)
            for (int64_t j = 0; j < gc->n; j++) {
                double s = 0, s_abs = 0;
                for (int64_t p = 0; p < gc->k; p++) {
                    double x = a[oa + (gc->ta ? p * g->lda + i : i * g->lda + p)];
                    double y = b[ob + (gc->tb ? j * g->ldb + p : p * g->ldb + j)];
                    s += x * y;
                    s_abs += fabs(x * y);
                }
                ref[(it * gc->m + i) * gc->n + j] = s;
                mag[(it * gc->m + i) * gc->n + j] = s_abs;
            }
    }
}

static void test_gemm_case(const gemm_case *gc) {
    char what[160];
    snprintf(what, sizeof what, "gemm m=%lld n=%lld k=%lld ta=%d tb=%d batch=%d", (long long)gc->m, (long long)gc->n,
             (long long)gc->k, gc->ta, gc->tb, gc->batch_rank);
    rt_gemm g = {.a = {1, 0},
                 .b = {2, 0},
                 .c = {3, 0},
                 .m = gc->m,
                 .n = gc->n,
                 .k = gc->k,
                 .trans_a = gc->ta,
                 .trans_b = gc->tb,
                 .batch_rank = gc->batch_rank};
    g.lda = (gc->ta ? gc->m : gc->k) + gc->pad;
    g.ldb = (gc->tb ? gc->k : gc->n) + gc->pad;
    int64_t items = 1;
    for (int d = 0; d < gc->batch_rank; d++) {
        g.batch[d] = gc->batch[d];
        items *= gc->batch[d];
    }
    int64_t na = batch_strides(gc, gc->bcast_a, (gc->ta ? gc->k : gc->m) * g.lda, g.batch_stride_a);
    int64_t nb = batch_strides(gc, gc->bcast_b, (gc->tb ? gc->n : gc->k) * g.ldb, g.batch_stride_b);
    int64_t nc = items * gc->m * gc->n;
    uint64_t seed = (uint64_t)(gc->m * 1000003 + gc->n * 1009 + gc->k);
    float *a = random_floats(na, &seed), *b = random_floats(nb, &seed), *bias = random_floats(gc->n, &seed);
    float *c = malloc((size_t)nc * sizeof(float)), *first = malloc((size_t)nc * sizeof(float));
    double *ref = malloc((size_t)nc * sizeof(double)), *mag = malloc((size_t)nc * sizeof(double));
    gemm_reference(gc, &g, a, b, ref, mag);
    int64_t params[1] = {gc->n};
    char *slots[6] = {NULL, (char *)a, (char *)b, (char *)c, (char *)bias, (char *)params};
    for (int epilogue = 0; epilogue < 2; epilogue++) {
        rt_step step = {.name = "mm", .kind = RT_STEP_GEMM, .fn = epilogue ? bias_relu : NULL, .gemm = g};
        rt_program p = {.name = "gemm", .n_slots = 6, .n_steps = 1, .steps = &step};
        if (!run_all_thread_counts(&p, slots, 3, nc, first, what)) continue;
        int64_t bad = 0;
        for (int64_t i = 0; i < nc; i++) {
            double want = ref[i];
            if (epilogue) want = want + bias[i % gc->n] > 0 ? want + bias[i % gc->n] : 0;
            bad += !close_enough(first[i], want, mag[i] + fabs(bias[i % gc->n]));
        }
        CHECK(bad == 0, "%s epilogue=%d: %lld wrong", what, epilogue, (long long)bad);
    }
    free(a), free(b), free(bias), free(c), free(first), free(ref), free(mag);
}

static void test_gemm(void) {
    const int64_t ms[] = {1, 3, 64, 200}, ns[] = {1, 10, 512}, ks[] = {1, 784};
    for (int mi = 0; mi < 4; mi++)
        for (int ni = 0; ni < 3; ni++)
            for (int ki = 0; ki < 2; ki++)
                for (int t = 0; t < 4; t++) {
                    gemm_case gc = {.m = ms[mi],
                                    .n = ns[ni],
                                    .k = ks[ki],
                                    .ta = t & 1,
                                    .tb = t >> 1,
                                    .pad = (mi + ni + t) % 2 ? 3 : 0};
                    /* The transposed variants of the largest products add time, not coverage. */
                    if (gc.m * gc.n * gc.k > 10000000 && (t == 1 || t == 2)) continue;
                    test_gemm_case(&gc);
                }
    /* Batches, each operand broadcast along one axis. */
    gemm_case b1 = {
        .m = 5, .n = 7, .k = 9, .batch_rank = 2, .batch = {2, 3}, .bcast_a = {true, false}, .bcast_b = {false, true}};
    test_gemm_case(&b1);
    b1.ta = b1.tb = true;
    test_gemm_case(&b1);
    gemm_case b2 = {.m = 64, .n = 256, .k = 128, .batch_rank = 1, .batch = {4}, .bcast_b = {true}};
    test_gemm_case(&b2);
    gemm_case b3 = {.m = 128, .n = 128, .k = 64, .tb = true, .batch_rank = 2, .batch = {2, 6}};
    test_gemm_case(&b3);
    /* Row tiles (with trans_a, the tile starts a column of A). */
    for (int t = 0; t < 4; t++) {
        gemm_case tall = {.m = 512, .n = 64, .k = 300, .ta = t & 1, .tb = t >> 1, .pad = t == 3 ? 5 : 0};
        test_gemm_case(&tall);
    }
    gemm_case grid = {.m = 600, .n = 600, .k = 200, .ta = true, .tb = true};
    test_gemm_case(&grid);
    gemm_case empty = {.m = 3, .n = 4, .k = 0};
    test_gemm_case(&empty);
    gemm_case none = {.m = 3, .n = 4, .k = 5, .batch_rank = 1, .batch = {0}};
    test_gemm_case(&none);
}

/* ---- GEMM with B in a parameter slot ------------------------------------------------------ */

/* C = op(A) · op(B) with op(B) in b (no batch), in double, and the sums of |terms|. */
static void plain_reference(const rt_gemm *g, const float *a, const float *b, double *ref, double *mag) {
    for (int64_t i = 0; i < g->m; i++)
        for (int64_t j = 0; j < g->n; j++) {
            double s = 0, s_abs = 0;
            for (int64_t p = 0; p < g->k; p++) {
                double t = (double)a[g->trans_a ? p * g->lda + i : i * g->lda + p] *
                           b[g->trans_b ? j * g->ldb + p : p * g->ldb + j];
                s += t;
                s_abs += fabs(t);
            }
            ref[i * g->n + j] = s;
            mag[i * g->n + j] = s_abs;
        }
}

/* Whether every tile of the step's grid goes to the runtime's own kernel when B is not kept
   packed (then the packed and unpacked paths must agree bit for bit): asks the kernel itself. */
static bool tiles_use_own_kernel(const rt_gemm *g, const float *a, const float *b) {
    if (!rt_sgemm_avx512_available()) return false;
    rt_tiles t = rt_choose_tiles(g->m, g->n, g->k, 1);
    float *c = malloc((size_t)(g->m * g->n) * sizeof(float));
    bool all = true;
    for (int64_t r0 = 0; all && r0 < g->m; r0 += t.rb)
        for (int64_t c0 = 0; all && c0 < g->n; c0 += t.cb) {
            int64_t rows = g->m - r0 < t.rb ? g->m - r0 : t.rb, cols = g->n - c0 < t.cb ? g->n - c0 : t.cb;
            all = rt_sgemm_avx512(g->trans_a, g->trans_b, rows, cols, g->k, a + (g->trans_a ? r0 : r0 * g->lda), g->lda,
                                  b + (g->trans_b ? c0 * g->ldb : c0), g->ldb, c, g->n);
        }
    free(c);
    return all;
}

typedef struct param_case {
    int64_t m, n, k;
    bool ta, tb;
    int64_t pad;
} param_case;

/* Slots: 1 A, 3 C, 4 bias, 5 {n}, 6 B (at byte offset 64); the parameters start at slot 4, or
   are unknown (first_param_slot 0). Runs, with 1 and 2 threads, with and without an epilogue:
   B's first contents; new contents written in place (rt_exec_params_changed); slot 6 pointed at
   another buffer (no call: the executor sees the pointer change); back at the first buffer; the
   same again. Each run must follow B; with the parameters known and the own kernel, B is kept
   packed (and was packed from the run's B); every thread count and, where the unpacked path also
   runs the own kernel, both paths give the same bits. */
static void test_param_case(const param_case *pc) {
    char what[160];
    snprintf(what, sizeof what, "param gemm m=%lld n=%lld k=%lld ta=%d tb=%d", (long long)pc->m, (long long)pc->n,
             (long long)pc->k, pc->ta, pc->tb);
    rt_gemm g = {.a = {1, 0},
                 .b = {6, 64},
                 .c = {3, 0},
                 .m = pc->m,
                 .n = pc->n,
                 .k = pc->k,
                 .trans_a = pc->ta,
                 .trans_b = pc->tb,
                 .lda = (pc->ta ? pc->m : pc->k) + pc->pad,
                 .ldb = (pc->tb ? pc->k : pc->n) + pc->pad};
    int64_t na = (pc->ta ? pc->k : pc->m) * g.lda, nb = (pc->tb ? pc->n : pc->k) * g.ldb, nc = pc->m * pc->n;
    uint64_t seed = (uint64_t)(pc->m * 7919 + pc->n * 31 + pc->k);
    float *a = random_floats(na, &seed), *bias = random_floats(pc->n, &seed), *versions[3], *bufs[2];
    double *ref[3], *mag[3];
    for (int v = 0; v < 3; v++) {
        versions[v] = random_floats(nb, &seed);
        ref[v] = malloc((size_t)nc * sizeof(double));
        mag[v] = malloc((size_t)nc * sizeof(double));
        plain_reference(&g, a, versions[v], ref[v], mag[v]);
    }
    for (int i = 0; i < 2; i++) {
        bufs[i] = malloc((size_t)(16 + nb) * sizeof(float));
        for (int j = 0; j < 16; j++) bufs[i][j] = NAN; /* before the operand's offset */
    }
    bool own = tiles_use_own_kernel(&g, a, versions[0]),
         kept = pc->tb && rt_sgemm_avx512_available() && rt_sgemm_avx512_suits(pc->m, pc->n, pc->k);
    float *c = malloc((size_t)nc * sizeof(float)), *saved[2][5];
    for (int f = 0; f < 2; f++)
        for (int st = 0; st < 5; st++) saved[f][st] = malloc((size_t)nc * sizeof(float));
    int64_t params[1] = {pc->n};
    /* Per stage: which buffer slot 6 points at, and which version B then holds. */
    static const int stage_buf[5] = {0, 0, 1, 0, 0}, stage_version[5] = {0, 1, 2, 1, 1};
    for (int epilogue = 0; epilogue < 2; epilogue++) {
        for (int f = 0; f < 2; f++) {
            int first_param_slot = f ? 4 : 0;
            rt_step step = {.name = "mm", .kind = RT_STEP_GEMM, .fn = epilogue ? bias_relu : NULL, .gemm = g};
            rt_program p = {
                .name = "params", .n_slots = 7, .n_steps = 1, .steps = &step, .first_param_slot = first_param_slot};
            for (int threads = 1; threads <= 2; threads++) {
                char err[256], *slots[7] = {NULL, (char *)a, NULL, (char *)c, (char *)bias, (char *)params, NULL};
                memcpy(bufs[0] + 16, versions[0], (size_t)nb * sizeof(float));
                memcpy(bufs[1] + 16, versions[2], (size_t)nb * sizeof(float));
                rt_exec *e = rt_exec_create(&p, threads, err, sizeof err);
                CHECK(e != NULL, "%s: %s", what, err);
                if (!e) continue;
                const rt_step_plan *plan = &e->plans[0][0];
                CHECK(plan->keep_packed_b == (f && kept), "%s first_param_slot=%d: keep_packed_b %d", what,
                      first_param_slot, plan->keep_packed_b);
                for (int st = 0; st < 5; st++) {
                    if (st == 1) { /* new contents in place: the owner says so (needed only if kept) */
                        memcpy(bufs[0] + 16, versions[1], (size_t)nb * sizeof(float));
                        if (f) rt_exec_params_changed(e);
                    }
                    slots[6] = (char *)bufs[stage_buf[st]];
                    memset(c, 0xff, (size_t)nc * sizeof(float));
                    int rc = rt_exec_run(e, slots);
                    CHECK(rc == 0, "%s: %s", what, rt_exec_error(e));
                    const double *rf = ref[stage_version[st]], *mg = mag[stage_version[st]];
                    int64_t bad = 0;
                    for (int64_t i = 0; i < nc; i++) {
                        double want = rf[i], b = bias[i % pc->n];
                        if (epilogue) want = want + b > 0 ? want + b : 0;
                        bad += !close_enough(c[i], want, mg[i] + fabs(b));
                    }
                    CHECK(bad == 0, "%s first_param_slot=%d epilogue=%d threads=%d stage %d: %lld wrong", what,
                          first_param_slot, epilogue, threads, st, (long long)bad);
                    if (plan->keep_packed_b)
                        CHECK(plan->packed_from == (const float *)(slots[6] + 64) &&
                                  plan->packed_version == e->params_version,
                              "%s stage %d: packed from another B or version", what, st);
                    if (threads == 1)
                        memcpy(saved[f][st], c, (size_t)nc * sizeof(float));
                    else
                        CHECK(memcmp(saved[f][st], c, (size_t)nc * sizeof(float)) == 0,
                              "%s first_param_slot=%d epilogue=%d stage %d: 2 threads differ from 1", what,
                              first_param_slot, epilogue, st);
                }
                rt_exec_destroy(e);
            }
        }
        for (int st = 0; own && kept && st < 5; st++)
            CHECK(memcmp(saved[0][st], saved[1][st], (size_t)nc * sizeof(float)) == 0,
                  "%s epilogue=%d stage %d: packed B differs from the unpacked path", what, epilogue, st);
    }
    free(a), free(bias), free(c), free(bufs[0]), free(bufs[1]);
    for (int v = 0; v < 3; v++) free(versions[v]), free(ref[v]), free(mag[v]);
    for (int f = 0; f < 2; f++)
        for (int st = 0; st < 5; st++) free(saved[f][st]);
}

static void test_gemm_params(void) {
    if (!rt_sgemm_avx512_available())
        printf("note: no AVX-512 sgemm here: the packed-B checks are skipped, B is never kept packed\n");
    const param_case cases[] = {
        {.m = 40, .n = 64, .k = 300},                        /* one tile, two k blocks */
        {.m = 8, .n = 100, .k = 70, .ta = true, .tb = true}, /* fewer rows than the unpacked call takes */
        {.m = 64, .n = 400, .k = 300, .tb = true, .pad = 3}, /* two column tiles: the second at column 256 */
        {.m = 40, .n = 10, .k = 300, .ta = true},            /* narrower than a panel: never kept */
    };
    rt_tiles two = rt_choose_tiles(64, 400, 300, 1);
    CHECK(two.col_tiles == 2 && two.row_tiles == 1, "the n=400 case no longer has two column tiles");
    for (int i = 0; i < 4; i++) test_param_case(&cases[i]);
}

/* The tile grid covers the product with blocks of whole 8-row and 16-column units. */
static void test_tiles(void) {
    const int64_t sizes[] = {1, 3, 8, 64, 100, 200, 512, 3136, 100000};
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 9; j++)
            for (int64_t k = 1; k <= 4096; k *= 64) {
                int64_t m = sizes[i], n = sizes[j];
                rt_tiles t = rt_choose_tiles(m, n, k, 1);
                CHECK(t.rb >= 1 && t.rb <= m && (t.rb == m || t.rb % 8 == 0));
                CHECK(t.cb >= 1 && t.cb <= n && (t.cb == n || t.cb % 16 == 0));
                CHECK(t.row_tiles == (m + t.rb - 1) / t.rb && t.col_tiles == (n + t.cb - 1) / t.cb);
                CHECK((t.row_tiles - 1) * t.rb < m && (t.col_tiles - 1) * t.cb < n);
                CHECK(t.row_tiles * t.col_tiles <= 32, "m=%lld n=%lld: %lld tiles", (long long)m, (long long)n,
                      (long long)(t.row_tiles * t.col_tiles));
            }
    /* The GEMM and convolution cases below rely on these grids to cover every tile shape. */
    rt_tiles rows = rt_choose_tiles(512, 64, 300, 1), cols = rt_choose_tiles(64, 512, 784, 1);
    rt_tiles grid = rt_choose_tiles(600, 600, 200, 1), channels = rt_choose_tiles(256, 64, 2304, 2);
    CHECK(rows.row_tiles > 1 && rows.col_tiles == 1 && rows.rb * 64 * 4 <= RT_SCRATCH_MAX);
    CHECK(cols.row_tiles == 1 && cols.col_tiles > 1);
    CHECK(grid.row_tiles > 1 && grid.col_tiles > 1);
    CHECK(channels.row_tiles > 1 && channels.col_tiles == 1);
}

/* An epilogue whose check 2 fails at row 150 and check 1 at row 170: 150 comes first in the
   output, so every tiling and thread count must report check 2. */
static int fail_rows(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    (void)slots, (void)scratch;
    for (int64_t i = begin; i < end; i++)
        if (i == 150 || i == 170) return i == 150 ? 2 : 1;
    return 0;
}

static void test_gemm_failures(void) {
    static const char *const messages[] = {"late", "early"};
    const int64_t ns[] = {10, 512};
    int64_t elems = 200 * 512;
    uint64_t seed = 5;
    float *a = random_floats(elems, &seed), *b = random_floats(elems, &seed);
    for (int i = 0; i < 2; i++)
        for (int threads = 1; threads <= 4; threads++) {
            rt_step step = {.name = "mm_check",
                            .kind = RT_STEP_GEMM,
                            .fn = fail_rows,
                            .n_checks = 2,
                            .checks = messages,
                            .gemm = {.a = {1, 0}, .b = {2, 0}, .m = 200, .n = ns[i], .k = 64, .lda = 64, .ldb = ns[i]}};
            rt_program p = {.name = "g", .n_slots = 3, .n_steps = 1, .steps = &step};
            char err[256], *slots[3] = {NULL, (char *)a, (char *)b};
            rt_exec *e = rt_exec_create(&p, threads, err, sizeof err);
            CHECK(e != NULL, "%s", err);
            CHECK(rt_exec_run(e, slots) != 0);
            CHECK(strcmp(rt_exec_error(e), "early (in kernel mm_check)") == 0, "n=%lld %d threads: '%s'", (long long)ns[i],
                  threads, rt_exec_error(e));
            rt_exec_destroy(e);
        }
    free(a), free(b);
}

/* ---- convolution -------------------------------------------------------------------------- */

/* Epilogue over rows of ow: out = relu(result + bias[channel]); slot 5 {ow, oh, o}. */
static int conv_bias_relu(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    const int64_t *dims = (const int64_t *)slots[5];
    int64_t ow = dims[0], oh = dims[1], o = dims[2];
    const float *bias = (const float *)slots[4], *r = (const float *)scratch;
    float *out = (float *)slots[3];
    for (int64_t i = begin; i < end; i++)
        for (int64_t j = 0; j < ow; j++) {
            float v = r[(i - begin) * ow + j] + bias[i / oh % o];
            out[i * ow + j] = v > 0 ? v : 0;
        }
    return 0;
}

static void conv_reference(const rt_conv *cv, const float *x, const float *w, double *ref, double *mag) {
    int64_t cg = cv->c / cv->groups, og = cv->o / cv->groups;
    for (int64_t n = 0; n < cv->n; n++)
        for (int64_t o = 0; o < cv->o; o++)
            for (int64_t oy = 0; oy < cv->oh; oy++)
                for (int64_t ox = 0; ox < cv->ow; ox++) {
                    double s = 0, s_abs = 0;
                    for (int64_t ci = 0; ci < cg; ci++)
                        for (int64_t ky = 0; ky < cv->kh; ky++)
                            for (int64_t kx = 0; kx < cv->kw; kx++) {
                                int64_t iy = oy * cv->stride_h - cv->pad_h + ky * cv->dilation_h;
                                int64_t ix = ox * cv->stride_w - cv->pad_w + kx * cv->dilation_w;
                                if (iy < 0 || iy >= cv->h || ix < 0 || ix >= cv->w_in) continue;
                                int64_t c = o / og * cg + ci;
                                double p = (double)x[((n * cv->c + c) * cv->h + iy) * cv->w_in + ix] *
                                           w[((o * cg + ci) * cv->kh + ky) * cv->kw + kx];
                                s += p;
                                s_abs += fabs(p);
                            }
                    int64_t i = ((n * cv->o + o) * cv->oh + oy) * cv->ow + ox;
                    ref[i] = s;
                    mag[i] = s_abs;
                }
}

/* n c h w o kh kw stride(h, w) pad(h, w) dilation(h, w) groups; oh/ow from the usual formula. */
static void test_conv_case(int64_t n, int64_t c, int64_t h, int64_t w_in, int64_t o, int64_t kh, int64_t kw, int64_t sh,
                           int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t groups) {
    rt_conv cv = {.x = {1, 0},
                  .w = {2, 0},
                  .out = {3, 0},
                  .n = n,
                  .c = c,
                  .h = h,
                  .w_in = w_in,
                  .o = o,
                  .kh = kh,
                  .kw = kw,
                  .stride_h = sh,
                  .stride_w = sw,
                  .pad_h = ph,
                  .pad_w = pw,
                  .dilation_h = dh,
                  .dilation_w = dw,
                  .groups = groups};
    cv.oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
    cv.ow = (w_in + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
    char what[200];
    snprintf(what, sizeof what,
             "conv n=%lld c=%lld %lldx%lld o=%lld k=%lldx%lld s=%lld,%lld p=%lld,%lld d=%lld,%lld g=%lld", (long long)n,
             (long long)c, (long long)h, (long long)w_in, (long long)o, (long long)kh, (long long)kw, (long long)sh,
             (long long)sw, (long long)ph, (long long)pw, (long long)dh, (long long)dw, (long long)groups);
    int64_t nx = n * c * h * w_in, nw = o * (c / groups) * kh * kw, nout = n * o * cv.oh * cv.ow;
    uint64_t seed = (uint64_t)(nx * 31 + nw);
    float *x = random_floats(nx, &seed), *w = random_floats(nw, &seed), *bias = random_floats(o, &seed);
    float *out = malloc((size_t)nout * sizeof(float)), *first = malloc((size_t)nout * sizeof(float));
    double *ref = malloc((size_t)nout * sizeof(double)), *mag = malloc((size_t)nout * sizeof(double));
    conv_reference(&cv, x, w, ref, mag);
    int64_t params[3] = {cv.ow, cv.oh, o};
    char *slots[6] = {NULL, (char *)x, (char *)w, (char *)out, (char *)bias, (char *)params};
    for (int epilogue = 0; epilogue < 2; epilogue++) {
        rt_step step = {.name = "conv", .kind = RT_STEP_CONV, .fn = epilogue ? conv_bias_relu : NULL, .conv = cv};
        rt_program p = {.name = "conv", .n_slots = 6, .n_steps = 1, .steps = &step};
        if (!run_all_thread_counts(&p, slots, 3, nout, first, what)) continue;
        int64_t bad = 0, plane = cv.oh * cv.ow;
        for (int64_t i = 0; i < nout; i++) {
            float b = bias[i / plane % o];
            double want = epilogue ? (ref[i] + b > 0 ? ref[i] + b : 0) : ref[i];
            bad += !close_enough(first[i], want, mag[i] + fabs(b));
        }
        CHECK(bad == 0, "%s epilogue=%d: %lld wrong", what, epilogue, (long long)bad);
    }
    free(x), free(w), free(bias), free(out), free(first), free(ref), free(mag);
}

static void test_conv(void) {
    test_conv_case(1, 3, 9, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1);     /* stride 2, padding */
    test_conv_case(3, 4, 10, 10, 6, 3, 3, 1, 1, 2, 2, 2, 2, 1);   /* dilation 2, batch 3 */
    test_conv_case(3, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2);     /* groups 2 */
    test_conv_case(1, 8, 12, 12, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8);   /* depthwise */
    test_conv_case(2, 8, 12, 12, 16, 3, 3, 2, 2, 1, 1, 1, 1, 8);  /* depthwise, 2 outputs a group */
    test_conv_case(3, 16, 7, 7, 8, 1, 1, 1, 1, 0, 0, 1, 1, 1);    /* 1×1: the input is the matrix */
    test_conv_case(1, 16, 7, 7, 8, 1, 1, 2, 2, 0, 0, 1, 1, 2);    /* 1×1, stride 2, groups 2 */
    test_conv_case(1, 5, 11, 8, 3, 3, 2, 2, 1, 1, 0, 1, 2, 1);    /* asymmetric everything */
    test_conv_case(3, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1);  /* LeNet-like: private columns */
    test_conv_case(1, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1); /* shared columns, pixel tiles */
    test_conv_case(2, 32, 24, 24, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1); /* shared columns, batch 2 */
    test_conv_case(1, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 2); /* shared columns, groups, pixel tiles */
    test_conv_case(2, 256, 8, 8, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1); /* channel tiles */
    test_conv_case(2, 512, 8, 8, 256, 1, 1, 1, 1, 0, 0, 1, 1, 1); /* channel tiles, 1×1 */
    test_conv_case(1, 2, 5, 5, 2, 7, 7, 1, 1, 1, 1, 1, 1, 1);     /* kernel larger than the input */
}

/* ---- profiles ----------------------------------------------------------------------------- */

/* A member's string or number, "" or -1 when it is missing (so a broken file fails checks). */
static const char *json_string(const rt_json *o, const char *key) {
    const rt_json *v = rt_json_get(o, key);
    return v && v->kind == RT_JSON_STRING ? v->str : "";
}

static double json_number(const rt_json *o, const char *key) {
    double d;
    return rt_json_double(rt_json_get(o, key), &d) ? d : -1;
}

/* The text of a file, cut at size - 1 bytes; "" when it cannot be read. Returns its length. */
static size_t read_text(const char *path, char *text, size_t size) {
    FILE *f = fopen(path, "rb");
    size_t len = f ? fread(text, 1, size - 1, f) : 0;
    text[len] = '\0';
    if (f) fclose(f);
    return len;
}

static void test_trace(void) {
    float in[64] = {0}, out[64];
    int visits[64];
    rt_step steps[3] = {
        {.name = "first",
         .kind = RT_STEP_LOOP,
         .fn = affine_kernel,
         .extent = 64,
         .grain = 8,
         .flops = 128,
         .bytes = 512},
        {.name = "we\"ird\\name\n", .kind = RT_STEP_LOOP, .fn = affine_kernel, .extent = 1, .grain = 1},
        {.name = "mm",
         .kind = RT_STEP_GEMM,
         .flops = 2 * 8 * 8 * 1,
         .gemm = {.a = {1, 0}, .b = {1, 0}, .c = {2, 0}, .m = 8, .n = 8, .k = 1, .lda = 1, .ldb = 8}},
    };
    rt_program p = {.name = "trace", .n_slots = 4, .n_steps = 3, .steps = steps};
    char err[256], *slots[4] = {NULL, (char *)in, (char *)out, (char *)visits};
    rt_exec *e = rt_exec_create(&p, 2, err, sizeof err);
    CHECK(e != NULL, "%s", err);
    CHECK(rt_exec_step_seconds(e, 0) == 0);
    rt_exec_set_profiling(e, true);
    CHECK(rt_exec_run(e, slots) == 0);
    for (int i = 0; i < 3; i++) CHECK(rt_exec_step_seconds(e, i) >= 0);
    CHECK(rt_exec_step_seconds(e, 3) == 0 && rt_exec_step_seconds(e, -1) == 0);
    const char *path = "test_program_trace.json";
    CHECK(rt_exec_write_trace(e, path));
    CHECK(!rt_exec_write_trace(e, "no/such/folder/trace.json"));
    rt_exec_destroy(e);

    char text[8192];
    size_t len = read_text(path, text, sizeof text);
    remove(path);
    rt_json_doc doc;
    rt_json_error jerr;
    CHECK(rt_json_parse(text, len, &doc, &jerr) == 0, "trace does not parse (byte %zu: %s): %s", jerr.offset,
          jerr.message, text);
    const rt_json *root = doc.root, *events = rt_json_get(root, "traceEvents");
    CHECK(events && events->kind == RT_JSON_ARRAY && events->count == 3);
    const rt_json *ev = events ? events->child : NULL;
    for (int i = 0; ev && i < 3; i++, ev = ev->next) {
        const rt_json *args = rt_json_get(ev, "args");
        CHECK(strcmp(json_string(ev, "name"), steps[i].name) == 0, "event %d: '%s'", i, json_string(ev, "name"));
        CHECK(strcmp(json_string(ev, "ph"), "X") == 0 && strcmp(json_string(ev, "cat"), "kernel") == 0);
        CHECK(json_number(ev, "ts") >= 0 && json_number(ev, "dur") >= 0);
        CHECK(json_number(ev, "pid") == 1 && json_number(ev, "tid") == 1);
        CHECK(json_number(args, "flops") == steps[i].flops && json_number(args, "bytes") == steps[i].bytes);
        CHECK(strcmp(json_string(args, "kind"), i == 2 ? "gemm" : "loop") == 0);
    }
    CHECK(strcmp(json_string(root, "displayTimeUnit"), "ms") == 0);
    rt_json_free(&doc);
}

/* ---- several programs on one executor ----------------------------------------------------- */

static int count_calls(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    (void)scratch;
    (void)begin;
    (void)end;
    ((int *)slots[1])[0]++;
    return 0;
}

static bool file_contains(const char *path, const char *needle) {
    char text[8192];
    read_text(path, text, sizeof text);
    return strstr(text, needle) != NULL;
}

/* Program 0 needs a 4000-byte arena and program 1 declares 64: the arena is the larger, and each
   program runs with its own steps and plans, in any order. */
static void test_multi_exec(void) {
    static float out[1000];
    int calls = 0;
    rt_step p0_steps[2] = {{.name = "fill", .kind = RT_STEP_LOOP, .fn = fill_arena, .extent = 1000, .grain = 64},
                           {.name = "copy", .kind = RT_STEP_LOOP, .fn = copy_arena, .extent = 1000, .grain = 64}};
    rt_step p1_steps[3] = {{.name = "one", .kind = RT_STEP_LOOP, .fn = count_calls, .extent = 1, .grain = 1},
                           {.name = "two", .kind = RT_STEP_LOOP, .fn = count_calls, .extent = 1, .grain = 1},
                           {.name = "three", .kind = RT_STEP_LOOP, .fn = count_calls, .extent = 1, .grain = 1}};
    rt_program p0 = {.name = "big", .n_slots = 2, .n_steps = 2, .steps = p0_steps, .arena_bytes = 4000};
    rt_program p1 = {.name = "small", .n_slots = 2, .n_steps = 3, .steps = p1_steps, .arena_bytes = 64};
    const rt_program *programs[2] = {&p1, &p0};
    char err[256];
    rt_exec *e = rt_exec_create_multi(programs, 2, 3, err, sizeof err);
    CHECK(e != NULL, "%s", err);
    if (!e) return;
    char *slots0[2] = {NULL, (char *)out}, *slots1[2] = {NULL, (char *)&calls};
    CHECK(rt_exec_run_program(e, 0, slots1) == 0 && calls == 3);
    CHECK(rt_exec_run(e, slots1) == 0 && calls == 6, "rt_exec_run runs program 0");
    CHECK(rt_exec_run_program(e, 1, slots0) == 0, "%s", rt_exec_error(e));
    CHECK(slots0[0] == slots1[0] && (uintptr_t)slots0[0] % 64 == 0, "one arena");
    for (int i = 0; i < 1000; i++) CHECK(out[i] == (float)i + 1, "out[%d] = %g", i, out[i]);
    CHECK(rt_exec_run_program(e, 2, slots0) != 0 && strstr(rt_exec_error(e), "program 2 out of range") != NULL);
    CHECK(rt_exec_run_program(e, -1, slots0) != 0);

    /* Profiles describe the last profiled run's program. */
    const char *trace = "test_program_multi_trace.json";
    rt_exec_set_profiling(e, true);
    CHECK(rt_exec_run_program(e, 0, slots1) == 0);
    CHECK(rt_exec_step_seconds(e, 2) >= 0 && rt_exec_step_seconds(e, 3) == 0);
    CHECK(rt_exec_write_trace(e, trace) && file_contains(trace, "\"three\"") && !file_contains(trace, "\"fill\""));
    CHECK(rt_exec_run_program(e, 1, slots0) == 0);
    CHECK(rt_exec_step_seconds(e, 2) == 0, "program 1 has two steps");
    CHECK(rt_exec_write_trace(e, trace) && file_contains(trace, "\"copy\"") && !file_contains(trace, "\"three\""));
    rt_exec_set_profiling(e, false);
    CHECK(rt_exec_run_program(e, 0, slots1) == 0);
    CHECK(rt_exec_write_trace(e, trace) && file_contains(trace, "\"copy\""), "an unprofiled run keeps the profile");
    remove(trace);
    rt_exec_destroy(e);

    /* Refusals: no list, an empty one, a missing program, a bad step in any program. */
    CHECK(rt_exec_create_multi(NULL, 1, 1, err, sizeof err) == NULL && strstr(err, "malformed") != NULL);
    CHECK(rt_exec_create_multi(programs, 0, 1, err, sizeof err) == NULL && strstr(err, "malformed") != NULL);
    const rt_program *with_null[2] = {&p0, NULL};
    CHECK(rt_exec_create_multi(with_null, 2, 1, err, sizeof err) == NULL && strstr(err, "malformed") != NULL);
    p0_steps[1].fn = NULL;
    CHECK(rt_exec_create_multi(programs, 2, 1, err, sizeof err) == NULL &&
              strcmp(err, "program big: step 1 (kernel copy): loop step without a kernel") == 0,
          "'%s'", err);
}

int main(void) {
    test_loops();
    test_failed_checks();
    test_arena();
    test_create_errors();
    test_tiles();
    test_gemm();
    test_gemm_failures();
    test_gemm_params();
    test_conv();
    test_trace();
    test_multi_exec();
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
