/* test_sgemm.c — unit test of the runtime's own AVX-512 sgemm (runtime/sgemm_avx512.h): a grid of
 * shapes (rows 1..13, 16, 17, 64, 100; columns across the 64-column panel and the 512-column
 * block; k across the 256-row block), all four transpositions (a third of them for the largest
 * products) and padded leading dimensions, computed each way the header offers (the unpacked
 * call, B packed in advance, B read in place) against a double-precision reference and bit for
 * bit against each other; the shapes the unpacked call refuses (false, C untouched); packed B at
 * any panel offset and width; and results that do not depend on how C is split into row and
 * column blocks, nor on the thread. C's elements outside the product (padding columns, the row
 * after it) hold a NaN sentinel that must survive every call. Exits 77 (skipped) where the
 * kernel is not available. */
#include "runtime/sgemm_avx512.h"
#include "tests/unit/check.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXM 100
#define MAXN 600
#define MAXK 700

static const int64_t ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 64, 100};
#define PANEL RT_SGEMM_AVX512_PANEL
static const int64_t ns[] = {1, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 100, 511, 512, 513, 600};
static const int64_t ks[] = {1, 7, 255, 256, 257, 512, 513, 700};
#define N_MS (int)(sizeof ms / sizeof ms[0])
#define N_NS (int)(sizeof ns / sizeof ns[0])
#define N_KS (int)(sizeof ks / sizeof ks[0])

/* The logical operands: op(A) is MAXM × MAXK, op(B) MAXK × MAXN; every product takes its top-left
   corner. ref[ki] and mag[ki] hold, for k = ks[ki], the exact-ish product (double) and the sum of
   |a·b| over its k terms, element (i, j) at i * MAXN + j. */
static float a_log[MAXM][MAXK], b_log[MAXK][MAXN];
static double *ref[N_KS], *mag[N_KS];

static const uint32_t sentinel_bits = 0x7fbadbadu; /* a NaN: a product that read it would show */

static float random_float(uint64_t *state) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(*state >> 40) / (double)(1 << 24) * 2.0 - 1.0);
}

static int k_index(int64_t k) {
    for (int i = 0; i < N_KS; i++)
        if (ks[i] == k) return i;
    abort(); /* every product in this test has k from ks */
}

/* Fills the operands and the references for every k of ks at once (prefix sums over k). The
   products of two floats are exact in double, and the double sums' own error (~k · 2^-53 of mag)
   is negligible next to the tolerance below. */
static void init_data(void) {
    uint64_t seed = 12345;
    for (int i = 0; i < MAXM; i++)
        for (int p = 0; p < MAXK; p++) a_log[i][p] = random_float(&seed);
    for (int p = 0; p < MAXK; p++)
        for (int j = 0; j < MAXN; j++) b_log[p][j] = random_float(&seed);
    for (int ki = 0; ki < N_KS; ki++) {
        ref[ki] = malloc(MAXM * MAXN * sizeof(double));
        mag[ki] = malloc(MAXM * MAXN * sizeof(double));
    }
    float *col = malloc(MAXK * sizeof(float));
    for (int j = 0; j < MAXN; j++) {
        for (int p = 0; p < MAXK; p++) col[p] = b_log[p][j];
        for (int i = 0; i < MAXM; i++) {
            double s = 0, s_abs = 0;
            int ki = 0;
            for (int p = 0; p < MAXK; p++) {
                double t = (double)a_log[i][p] * col[p];
                s += t;
                s_abs += fabs(t);
                if (p + 1 == ks[ki]) {
                    ref[ki][i * MAXN + j] = s;
                    mag[ki][i * MAXN + j] = s_abs;
                    ki++;
                }
            }
        }
    }
    free(col);
}

/* Stored operands, allocated to the last element they need (so that AddressSanitizer sees a read
   past it) with NaN in the padding between rows (so that a product that reads it shows). */
static float *nan_filled(int64_t count) {
    float *v = malloc((size_t)count * sizeof(float));
    for (int64_t i = 0; i < count; i++) v[i] = NAN;
    return v;
}

/* op(A) = a_log[0:m, 0:k]: m rows of lda (k × m stored, rows of lda, when trans_a). */
static float *store_a(bool ta, int64_t m, int64_t k, int64_t lda) {
    float *a = nan_filled(ta ? (k - 1) * lda + m : (m - 1) * lda + k);
    for (int64_t i = 0; i < m; i++)
        for (int64_t p = 0; p < k; p++) a[ta ? p * lda + i : i * lda + p] = a_log[i][p];
    return a;
}

/* op(B) = b_log[0:k, 0:n]: k rows of ldb (n × k stored when trans_b). */
static float *store_b(bool tb, int64_t n, int64_t k, int64_t ldb) {
    float *b = nan_filled(tb ? (n - 1) * ldb + k : (k - 1) * ldb + n);
    for (int64_t p = 0; p < k; p++)
        for (int64_t j = 0; j < n; j++) b[tb ? j * ldb + p : p * ldb + j] = b_log[p][j];
    return b;
}

/* A C buffer of `rows` rows of ldc, every element the sentinel. */
static float *sentinel_c(int64_t rows, int64_t ldc) {
    float *c = malloc((size_t)(rows * ldc) * sizeof(float));
    for (int64_t i = 0; i < rows * ldc; i++) memcpy(&c[i], &sentinel_bits, sizeof(float));
    return c;
}

static bool is_sentinel(float v) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == sentinel_bits;
}

/* Checks C (rows × ldc floats): its top-left m × n block is rows r0.. and columns c0.. of the
   product with k terms; everything else still holds the sentinel. The tolerance: each element
   is a sum of k float products computed with FMAs (one rounding per term within a 256-row k
   block, one per block added to C), so its error is at most about k · u · Σ|a·b| with
   u = FLT_EPSILON / 2 (the classical bound for recursive summation, γ_k ≈ k·u); 4 · k · FLT_EPSILON
   leaves a factor of 8 over that, and is still far below any wrong term (|a·b| ~ 1/4). */
static void check_c(const float *c, int64_t rows, int64_t ldc, int64_t m, int64_t n, int64_t r0, int64_t c0, int64_t k,
                    const char *what) {
    const double *rf = m > 0 ? ref[k_index(k)] : NULL, *mg = m > 0 ? mag[k_index(k)] : NULL;
    int64_t wrong = 0, clobbered = 0, first_i = -1, first_j = -1;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < ldc; j++) {
            float v = c[i * ldc + j];
            bool bad;
            if (i < m && j < n) {
                int64_t e = (r0 + i) * MAXN + c0 + j;
                bad = !(fabs((double)v - rf[e]) <= 4.0 * (double)k * FLT_EPSILON * mg[e]);
                wrong += bad;
            } else {
                bad = !is_sentinel(v);
                clobbered += bad;
            }
            if (bad && first_i < 0) first_i = i, first_j = j;
        }
    CHECK(wrong == 0 && clobbered == 0, "%s: %lld wrong, %lld outside the product written (first at %lld, %lld)", what,
          (long long)wrong, (long long)clobbered, (long long)first_i, (long long)first_j);
}

/* ---- the three ways to one product ----------------------------------------------------------- */

/* Whether rt_sgemm_avx512 takes an m × n × k product (runtime/sgemm_avx512.h): 48 columns (3/4 of
   a 64-column panel) and 2^17 multiply-adds; with B transposed (packed per call) 16 rows and
   2^19 multiply-adds. The one place this test states the rule. */
static bool taken(int64_t m, int64_t n, int64_t k, bool tb) {
    double macs = (double)m * (double)n * (double)k;
    if (n < 48 || k <= 0) return false;
    return tb ? m >= 16 && macs >= 524288.0 : macs >= 131072.0;
}

/* Stored operands of a whole product (op(A) m × k, op(B) k × n) and B packed. */
typedef struct operands {
    bool ta, tb;
    int64_t m, n, k, lda, ldb;
    float *a, *b, *packed;
} operands;

/* Op's B (and its packed copy) and A, separately so that one B serves many A. */
static void set_b(operands *op, bool tb, int64_t n, int64_t k, int64_t pad_b) {
    op->tb = tb, op->n = n, op->k = k;
    op->ldb = (tb ? k : n) + pad_b;
    op->b = store_b(tb, n, k, op->ldb);
    size_t bytes = (rt_sgemm_avx512_packed_floats(n, k) * sizeof(float) + 63) / 64 * 64;
    op->packed = aligned_alloc(64, bytes ? bytes : 64);
    rt_sgemm_avx512_pack_b(tb, n, k, op->b, op->ldb, op->packed);
}

static void set_a(operands *op, bool ta, int64_t m, int64_t pad_a) {
    op->ta = ta, op->m = m;
    op->lda = (ta ? m : op->k) + pad_a;
    op->a = store_a(ta, m, op->k, op->lda);
}

static void make_operands(operands *op, bool ta, bool tb, int64_t m, int64_t n, int64_t k, int64_t pad_a,
                          int64_t pad_b) {
    set_b(op, tb, n, k, pad_b);
    set_a(op, ta, m, pad_a);
}

static void free_operands(operands *op) { free(op->a), free(op->b), free(op->packed); }

typedef enum { WAY_UNPACKED, WAY_PACKED, WAY_DIRECT } way;
static const char *const way_names[] = {"unpacked", "packed", "direct"};

/* C[0:rows, 0:cols] = rows r0.. and columns c0.. of op's product, the given way (packed: c0 a
   multiple of PANEL; direct: B not transposed). Unpacked returns whether the call took it. */
static bool product(const operands *op, way w, int64_t r0, int64_t rows, int64_t c0, int64_t cols, float *c,
                    int64_t ldc) {
    const float *a = op->a + (op->ta ? r0 : r0 * op->lda), *b = op->b + (op->tb ? c0 * op->ldb : c0);
    switch (w) {
    case WAY_UNPACKED: return rt_sgemm_avx512(op->ta, op->tb, rows, cols, op->k, a, op->lda, b, op->ldb, c, ldc);
    case WAY_PACKED:
        rt_sgemm_avx512_packed(op->ta, rows, cols, op->k, a, op->lda, op->packed, op->n, c0, c, ldc);
        return true;
    case WAY_DIRECT: rt_sgemm_avx512_direct(op->ta, rows, cols, op->k, a, op->lda, b, op->ldb, c, ldc); return true;
    }
    return false;
}

/* One block of op's product (rows r0.., columns c0.., c0 a multiple of PANEL) every way that applies:
   each against the reference with C's padding (ldc > cols, and one row more) left alone, the
   unpacked call returning true exactly for the shapes it takes (C untouched otherwise), and all
   results bit-identical to the packed one and, if given, to that block of `whole` (ldw). */
static void check_block(const operands *op, int64_t r0, int64_t rows, int64_t c0, int64_t cols, int64_t ldc,
                        const float *whole, int64_t ldw, const char *what) {
    char blk[260], sub[300];
    snprintf(blk, sizeof blk, "%s, rows %lld+%lld, columns %lld+%lld, ldc=%lld", what, (long long)r0, (long long)rows,
             (long long)c0, (long long)cols, (long long)ldc);
    size_t bytes = (size_t)((rows + 1) * ldc) * sizeof(float);
    float *results[3] = {NULL, NULL, NULL};
    for (int w = 0; w < 3; w++) {
        if (w == WAY_DIRECT && op->tb) continue;
        snprintf(sub, sizeof sub, "%s, %s", blk, way_names[w]);
        float *c = sentinel_c(rows + 1, ldc);
        bool ok = product(op, (way)w, r0, rows, c0, cols, c, ldc);
        if (w == WAY_UNPACKED) CHECK(ok == taken(rows, cols, op->k, op->tb), "%s: returned %d", sub, ok);
        check_c(c, rows + 1, ldc, ok ? rows : 0, cols, r0, c0, op->k, sub);
        results[w] = ok ? c : NULL;
        if (!ok) free(c);
    }
    for (int w = 0; w < 3; w++)
        if (w != WAY_PACKED && results[w])
            CHECK(memcmp(results[w], results[WAY_PACKED], bytes) == 0, "%s: %s and packed differ", blk, way_names[w]);
    if (whole) {
        int64_t differ = 0;
        for (int64_t i = 0; i < rows; i++)
            differ +=
                memcmp(results[WAY_PACKED] + i * ldc, whole + (r0 + i) * ldw + c0, (size_t)cols * sizeof(float)) != 0;
        CHECK(differ == 0, "%s: %lld rows differ from the whole product", blk, (long long)differ);
    }
    for (int w = 0; w < 3; w++) free(results[w]);
}

/* ---- the shape grid ------------------------------------------------------------------------ */

static void test_shapes(void) {
    static const int64_t pads_a[] = {0, 1, 19}, pads_b[] = {0, 7, 32}, pads_c[] = {0, 3, 40};
    char what[200];
    int cases = 0, unpacked = 0;
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t >> 1;
        for (int ni = 0; ni < N_NS; ni++)
            for (int ki = 0; ki < N_KS; ki++) {
                int64_t n = ns[ni], k = ks[ki];
                operands op;
                set_b(&op, tb, n, k, pads_b[(ni + ki + t) % 3]);
                for (int mi = 0; mi < N_MS; mi++) {
                    int64_t m = ms[mi], ldc = n + pads_c[(mi + ni + t) % 3];
                    /* Above a million multiply-adds, one transposition in three (run time): as t
                       takes 4 consecutive values, every shape still runs with at least one. */
                    if (m * n * k > 1000000 && (mi + ni + ki + t) % 3 != 0) continue;
                    set_a(&op, ta, m, pads_a[(mi + ki) % 3]);
                    snprintf(what, sizeof what, "m=%lld n=%lld k=%lld ta=%d tb=%d lda=%lld ldb=%lld", (long long)m,
                             (long long)n, (long long)k, ta, tb, (long long)op.lda, (long long)op.ldb);
                    CHECK(rt_sgemm_avx512_suits(m, n, k) == (n >= 48), "%s", what);
                    check_block(&op, 0, m, 0, n, ldc, NULL, 0, what);
                    free(op.a);
                    cases++;
                    unpacked += taken(m, n, k, tb);
                }
                free(op.b), free(op.packed);
            }
    }
    /* Empty products are refused (the caller writes the zeros). */
    operands op;
    make_operands(&op, false, false, 100, 600, 7, 0, 0);
    float *c = sentinel_c(101, 600);
    CHECK(!rt_sgemm_avx512(false, false, 100, 600, 0, op.a, 7, op.b, 600, c, 600));
    CHECK(!rt_sgemm_avx512(false, false, 0, 600, 7, op.a, 7, op.b, 600, c, 600));
    CHECK(!rt_sgemm_avx512_suits(100, 600, 0) && !rt_sgemm_avx512_suits(0, 600, 7));
    check_c(c, 101, 600, 0, 0, 0, 0, 7, "empty products");
    free(c);
    free_operands(&op);
    printf("shapes: %d products, %d of them taken by the unpacked call\n", cases, unpacked);
}

/* ---- B packed in advance: column offsets and widths ----------------------------------------- */

static void test_packed_case(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
    char what[200];
    snprintf(what, sizeof what, "m=%lld n_total=%lld k=%lld ta=%d tb=%d", (long long)m, (long long)n, (long long)k, ta,
             tb);
    operands op;
    make_operands(&op, ta, tb, m, n, k, 3, 5);
    /* The packed form fills exactly its floats: a copy packed into a sentinel-filled buffer with
       a guard after it has no sentinel left inside and the guard intact. */
    size_t floats = rt_sgemm_avx512_packed_floats(n, k), guard = 64;
    CHECK(floats == (size_t)((n + PANEL - 1) / PANEL * PANEL * k), "%s: %zu packed floats", what, floats);
    float *packed = aligned_alloc(64, (floats + guard) * sizeof(float));
    for (size_t i = 0; i < floats + guard; i++) memcpy(&packed[i], &sentinel_bits, sizeof(float));
    rt_sgemm_avx512_pack_b(tb, n, k, op.b, op.ldb, packed);
    size_t unwritten = 0, overrun = 0;
    for (size_t i = 0; i < floats + guard; i++) {
        if (i < floats)
            unwritten += is_sentinel(packed[i]);
        else
            overrun += !is_sentinel(packed[i]);
    }
    CHECK(unwritten == 0 && overrun == 0, "%s: %zu packed floats unwritten, %zu past the end written", what, unwritten,
          overrun);
    CHECK(memcmp(packed, op.packed, floats * sizeof(float)) == 0, "%s: packing twice differs", what);
    free(packed);

    /* The whole product, packed; every block below must match it bit for bit. */
    int64_t ldw = n + 2;
    float *whole = sentinel_c(m + 1, ldw);
    product(&op, WAY_PACKED, 0, m, 0, n, whole, ldw);
    check_c(whole, m + 1, ldw, m, n, 0, 0, k, what);
    const int64_t widths[] = {1, 17, 31, 32, 33, 63, 64, 65, 100, 512};
    const int64_t row_blocks[][2] = {{0, m}, {m - 13, 13}, {3, 1}, {1, m - 1}}; /* {first row, rows} */
    for (int64_t col0 = 0; col0 < n; col0 += PANEL)
        for (int wi = 0; wi <= 8; wi++) {
            int64_t w = wi < 8 ? widths[wi] : n - col0; /* the last: up to the end (a partial panel) */
            if (col0 + w > n || (wi < 8 && w == n - col0)) continue;
            for (int ri = 0; ri < 4; ri++) {
                if (ri > 0 && col0 % 96 != 0) continue; /* all rows at every offset, the others at a few */
                check_block(&op, row_blocks[ri][0], row_blocks[ri][1], col0, w, w + 3, whole, ldw, what);
            }
        }
    free(whole);
    free_operands(&op);
}

static void test_packed(void) {
    const int64_t cases[][3] = {
        {40, 100, 257}, /* three panels and a partial one, two k blocks (the second of one row) */
        {20, 600, 513}, /* across the 512-column block, three k blocks */
        {17, 33, 7},    /* one panel and one column */
        {16, 64, 1},    /* k = 1 */
        {64, 512, 700}, /* whole panels only */
    };
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++)
        for (int t = 0; t < 4; t++) test_packed_case(cases[i][0], cases[i][1], cases[i][2], t & 1, t >> 1);
}

/* ---- splitting C --------------------------------------------------------------------------- */

/* Blocks of a split of `total`: min, min + step, min + 2·step, ... (the last takes the rest, at
   least min). Block b is [*start, *start + *len); false after the last. */
static bool next_block(int64_t total, int64_t min, int64_t step, int b, int64_t *start, int64_t *len) {
    int64_t s = 0, size = min;
    for (int i = 0; i < b; i++) {
        if (s >= total) return false;
        s += total - s - size < min ? total - s : size;
        size += step;
    }
    if (s >= total) return false;
    *start = s;
    *len = total - s - size < min ? total - s : size;
    return true;
}

/* A way of splitting C: row blocks (min rows, growing by row_step; 0: whole rows) × column blocks
   (likewise), computed by `how`. */
typedef struct split {
    way how;
    int64_t min_rows, row_step, min_cols, col_step;
} split;

static void test_splits(void) {
    /* Unpacked: blocks it takes (16 rows × 64 columns × k >= 512 is 2^19 multiply-adds; where the
       rule refuses one anyway, the block is computed packed, which must agree bit for bit too).
       Packed: any rows, column offsets multiples of PANEL. Direct (B in place): any block at all,
       here 40-column blocks whose offsets are not panel multiples. */
    const split splits[] = {
        {WAY_UNPACKED, 16, 1, 0, 0}, {WAY_UNPACKED, 0, 0, 64, 64}, {WAY_UNPACKED, 16, 1, 64, 64},
        {WAY_PACKED, 5, 0, 64, 0},   {WAY_PACKED, 1, 2, 64, 64},   {WAY_DIRECT, 7, 0, 40, 0},
    };
    const int64_t shapes[][3] = {{100, 600, 513}, {64, 511, 700}, {48, 513, 512}, {33, 100, 700}};
    for (int si = 0; si < 4; si++)
        for (int t = 0; t < 4; t++) {
            bool ta = t & 1, tb = t >> 1;
            int64_t m = shapes[si][0], n = shapes[si][1], k = shapes[si][2], ldc = n + 1;
            char what[160];
            snprintf(what, sizeof what, "split m=%lld n=%lld k=%lld ta=%d tb=%d", (long long)m, (long long)n,
                     (long long)k, ta, tb);
            operands op;
            make_operands(&op, ta, tb, m, n, k, 1, 2);
            float *whole = sentinel_c(m + 1, ldc);
            CHECK(product(&op, WAY_UNPACKED, 0, m, 0, n, whole, ldc), "%s", what);
            check_c(whole, m + 1, ldc, m, n, 0, 0, k, what);
            for (int sp = 0; sp < (int)(sizeof splits / sizeof splits[0]); sp++) {
                const split *s = &splits[sp];
                if (s->how == WAY_DIRECT && tb) continue;
                float *c = sentinel_c(m + 1, ldc);
                int64_t r0 = 0, rows = m, c0 = 0, cols = n;
                for (int rb = 0; s->min_rows ? next_block(m, s->min_rows, s->row_step, rb, &r0, &rows) : rb == 0; rb++)
                    for (int cb = 0; s->min_cols ? next_block(n, s->min_cols, s->col_step, cb, &c0, &cols) : cb == 0;
                         cb++) {
                        float *cc = c + r0 * ldc + c0;
                        bool ok = product(&op, s->how, r0, rows, c0, cols, cc, ldc);
                        if (s->how == WAY_UNPACKED) {
                            CHECK(ok == taken(rows, cols, k, tb), "%s: %lld×%lld block", what, (long long)rows,
                                  (long long)cols);
                            if (!ok) product(&op, WAY_PACKED, r0, rows, c0, cols, cc, ldc);
                        }
                    }
                CHECK(memcmp(c, whole, (size_t)((m + 1) * ldc) * sizeof(float)) == 0,
                      "%s: split %d (%s) differs from one call", what, sp, way_names[s->how]);
                free(c);
            }
            free(whole);
            free_operands(&op);
        }
}

/* ---- threads ------------------------------------------------------------------------------- */

/* The unpacked call packs a transposed B into a buffer per thread: two threads computing at once
   (different widths, so the buffers differ in size) must get what one thread got. */
typedef struct thread_job {
    operands op;
    float *c;
    bool ok;
} thread_job;

static void *thread_body(void *p) {
    thread_job *j = p;
    j->ok = true;
    for (int rep = 0; rep < 3; rep++) j->ok &= product(&j->op, WAY_UNPACKED, 0, j->op.m, 0, j->op.n, j->c, j->op.n);
    return NULL;
}

static void test_threads(void) {
    thread_job jobs[2];
    float *expected[2];
    make_operands(&jobs[0].op, false, true, 100, 600, 700, 0, 0);
    make_operands(&jobs[1].op, true, true, 64, 100, 257, 0, 0);
    for (int i = 0; i < 2; i++) {
        jobs[i].c = sentinel_c(jobs[i].op.m, jobs[i].op.n);
        expected[i] = sentinel_c(jobs[i].op.m, jobs[i].op.n);
        CHECK(product(&jobs[i].op, WAY_UNPACKED, 0, jobs[i].op.m, 0, jobs[i].op.n, expected[i], jobs[i].op.n));
    }
    pthread_t threads[2];
    bool started[2];
    for (int i = 0; i < 2; i++) started[i] = pthread_create(&threads[i], NULL, thread_body, &jobs[i]) == 0;
    for (int i = 0; i < 2; i++) {
        CHECK(started[i]);
        if (!started[i]) continue;
        pthread_join(threads[i], NULL);
        CHECK(jobs[i].ok && memcmp(jobs[i].c, expected[i], (size_t)(jobs[i].op.m * jobs[i].op.n) * sizeof(float)) == 0,
              "thread %d differs", i);
    }
    for (int i = 0; i < 2; i++) free_operands(&jobs[i].op), free(jobs[i].c), free(expected[i]);
}

int main(void) {
    if (!rt_sgemm_avx512_available()) {
        printf("the AVX-512 sgemm is not available here (no AVX-512F/VL, or TFC_SGEMM=blas): skipped\n");
        return 77;
    }
    init_data();
    test_shapes();
    test_packed();
    test_splits();
    test_threads();
    for (int ki = 0; ki < N_KS; ki++) free(ref[ki]), free(mag[ki]);
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
