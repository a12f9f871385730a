/* gemm.c — GEMM steps: a batched f32 matrix product cut into tiles that OpenBLAS (its own
 * threading off) computes on the pool's threads, each tile's result handed to the step's
 * epilogue while it is still in cache. The tile grid is a function of the shapes alone, so every
 * thread count makes the same sgemm calls and gets bit-identical results. */
#include "runtime/exec_internal.h"
#include "runtime/sgemm_avx512.h"

#include <cblas.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Cost-model rates (one core), used only to decide how many tiles a product is worth: a tile
   should take about RT_TILE_SECONDS, and RT_MAX_TILES tiles are enough to feed the cores. */
#define RT_FLOP_RATE 1e11
#define RT_BYTE_RATE 2e10
#define RT_TILE_SECONDS 25e-6
#define RT_MAX_TILES 16
/* Below these a block makes OpenBLAS repack the other operand too often: a row block of rb rows
   repacks all of B (k × n) for 2·rb·n·k flops, a column block all of A. */
#define RT_MIN_TILE_ROWS 128
#define RT_MIN_TILE_COLS 192

/* The number of tiles a product is worth: its estimated single-core time over RT_TILE_SECONDS,
   rounded down to a power of two so that 2, 4, 8 or 16 threads share the tiles evenly. */
static int64_t tile_target(int64_t m, int64_t n, int64_t k, int64_t items) {
    double flops = 2.0 * (double)m * (double)n * (double)k;
    double bytes = 4.0 * ((double)m * (double)k + (double)k * (double)n + (double)m * (double)n);
    double tiles = (double)items * (flops / RT_FLOP_RATE + bytes / RT_BYTE_RATE) / RT_TILE_SECONDS;
    int64_t target = 1;
    while (target < RT_MAX_TILES && 2.0 * (double)target <= tiles) target *= 2;
    return target;
}

rt_tiles rt_choose_tiles(int64_t m, int64_t n, int64_t k, int64_t items) {
    rt_tiles t = {.rb = m, .cb = n, .row_tiles = 1, .col_tiles = 1, .grain = 1};
    if (m <= 0 || n <= 0 || items <= 0) return t;
    int64_t target = tile_target(m, n, k, items), want = rt_ceil_div(target, items);
    int64_t rows = 1, cols = 1;
    /* Double the grid where the new tiles cost the least repacking: doubling the column blocks
       repacks A (m·k) once more per existing column block, i.e. m / rows per new tile; doubling
       the row blocks costs n / cols per new tile. */
    while (rows * cols < want) {
        bool more_cols = n / (2 * cols) >= RT_MIN_TILE_COLS, more_rows = m / (2 * rows) >= RT_MIN_TILE_ROWS;
        if (more_cols && (!more_rows || m * cols <= n * rows))
            cols *= 2;
        else if (more_rows)
            rows *= 2;
        else
            break;
    }
    /* Blocks of 8 rows and of whole panels of the runtime's own kernel (64 columns, four cache
       lines of floats) suit the sgemm kernels; a packed B splits only at panels. */
    t.rb = rt_min64(rt_round_up(rt_ceil_div(m, rows), 8), m);
    t.cb = rt_min64(rt_round_up(rt_ceil_div(n, cols), RT_SGEMM_AVX512_PANEL), n);
    t.row_tiles = rt_ceil_div(m, t.rb);
    t.col_tiles = rt_ceil_div(n, t.cb);
    t.grain = items * t.row_tiles * t.col_tiles / target;
    t.grain = t.grain < 1 ? 1 : t.grain;
    return t;
}

void rt_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
              int64_t ldb, float *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* an empty sum; BLAS would reject the leading dimensions of empty operands */
        for (int64_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    if (rt_sgemm_avx512(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc)) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)k, 1.0f, a, (int)lda, b, (int)ldb, 0.0f, c, (int)ldc);
}

/* ---- the epilogue pass over a shared result ----------------------------------------------- */

typedef struct epilogue_job {
    rt_exec *e;
    const rt_step *s;
    char *const *slots;
    float *results;
    int64_t row0, row_len;
} epilogue_job;

static void epilogue_body(void *ctx, int64_t begin, int64_t end, int thread_index) {
    const epilogue_job *j = ctx;
    int code = j->s->fn(j->slots, j->row0 + begin, j->row0 + end, (char *)(j->results + begin * j->row_len));
    if (code) rt_note_failure(&j->e->threads[thread_index], j->row0 + begin, code);
}

void rt_epilogue_pass(rt_exec *e, const rt_step *s, char *const *slots, float *results, int64_t row0, int64_t rows,
                      int64_t row_len) {
    epilogue_job j = {.e = e, .s = s, .slots = slots, .results = results, .row0 = row0, .row_len = row_len};
    /* About 16 K elements per chunk: an elementwise epilogue is memory bound. */
    int64_t grain = row_len > 0 && row_len < 16384 ? 16384 / row_len : 1;
    rt_parallel_for(e->pool, rows, grain, epilogue_body, &j);
}

/* ---- planning ------------------------------------------------------------------------------ */

static bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

/* Whether B is one parameter matrix for every batch item, worth keeping packed: transposed (a
   B with contiguous rows is read in place as fast as packed, so only a transposed one would be
   packed at every call), the own kernel runs (rt_sgemm_avx512_available) and takes this shape
   (rt_sgemm_avx512_suits). */
static bool b_is_constant(const rt_gemm *g, int first_param_slot) {
    if (!g->trans_b || first_param_slot <= 0 || g->b.slot < first_param_slot) return false;
    for (int d = 0; d < g->batch_rank; d++)
        if (g->batch[d] > 1 && g->batch_stride_b[d] != 0) return false;
    return rt_sgemm_avx512_available() && rt_sgemm_avx512_suits(g->m, g->n, g->k);
}

bool rt_gemm_plan(const rt_step *s, int first_param_slot, rt_step_plan *plan, char *err, size_t err_size) {
    const rt_gemm *g = &s->gemm;
    const char *why = NULL;
    int64_t items = 1;
    if (g->batch_rank < 0 || g->batch_rank > RT_MAX_RANK) why = "batch rank out of range";
    for (int d = 0; !why && d < g->batch_rank; d++) {
        if (g->batch[d] < 0 || (g->batch[d] > 0 && items > INT64_MAX / 4 / g->batch[d]))
            why = "bad batch size";
        else
            items *= g->batch[d];
    }
    if (!why && (!fits_int(g->m) || !fits_int(g->n) || !fits_int(g->k)))
        why = "sizes out of BLAS range";
    else if (!why && g->k > 0 && g->m > 0 && (!fits_int(g->lda) || g->lda < (g->trans_a ? g->m : g->k)))
        why = "bad leading dimension of A";
    else if (!why && g->k > 0 && g->n > 0 && (!fits_int(g->ldb) || g->ldb < (g->trans_b ? g->k : g->n)))
        why = "bad leading dimension of B";
    else if (!why && g->m > 0 && g->n > 0 && items > INT64_MAX / 4 / g->m / g->n)
        why = "result too large";
    if (why) {
        snprintf(err, err_size, "%s", why);
        return false;
    }
    memset(plan, 0, sizeof *plan);
    plan->tiles = rt_choose_tiles(g->m, g->n, g->k, items);
    if (s->fn && g->m > 0 && g->n > 0) {
        plan->immediate = plan->tiles.col_tiles == 1 && plan->tiles.rb * g->n * 4 <= RT_SCRATCH_MAX;
        if (plan->immediate)
            plan->thread_bytes = (size_t)(plan->tiles.rb * g->n * 4);
        else
            plan->shared_bytes = (size_t)(items * g->m * g->n * 4);
    }
    if (items > 0 && b_is_constant(g, first_param_slot)) {
        size_t floats = rt_sgemm_avx512_packed_floats(g->n, g->k);
        if (!(plan->packed_b = rt_alloc_aligned(floats * sizeof(float)))) {
            snprintf(err, err_size, "out of memory: cannot allocate %zu bytes for a packed weight matrix",
                     floats * sizeof(float));
            return false;
        }
        plan->keep_packed_b = true;
    }
    return true;
}

/* ---- running ------------------------------------------------------------------------------- */

typedef struct gemm_job {
    rt_exec *e;
    const rt_step *s;
    const rt_tiles *tiles;
    bool immediate;
    const float *packed_b; /* B kept packed (the plan's), or NULL */
    char *const *slots;
    const float *a, *b;
    float *c; /* the step's output, or the shared result with an epilogue */
} gemm_job;

/* Element offsets of batch item `item` in A and B (strides 0 broadcast). */
static void batch_offsets(const rt_gemm *g, int64_t item, int64_t *off_a, int64_t *off_b) {
    *off_a = *off_b = 0;
    for (int d = g->batch_rank - 1; d >= 0; d--) {
        int64_t i = item % g->batch[d];
        item /= g->batch[d];
        *off_a += i * g->batch_stride_a[d];
        *off_b += i * g->batch_stride_b[d];
    }
}

/* Tile t: batch item, then row block, then column block, so a thread's run of tiles shares A. */
static int gemm_tile(const gemm_job *j, int64_t t, rt_thread_state *ts) {
    const rt_gemm *g = &j->s->gemm;
    const rt_tiles *tl = j->tiles;
    int64_t per_item = tl->row_tiles * tl->col_tiles;
    int64_t item = t / per_item, r0 = (t % per_item) / tl->col_tiles * tl->rb;
    int64_t c0 = t % tl->col_tiles * tl->cb;
    int64_t rows = rt_min64(tl->rb, g->m - r0), cols = rt_min64(tl->cb, g->n - c0);
    int64_t off_a, off_b;
    batch_offsets(g, item, &off_a, &off_b);
    const float *a = j->a + off_a + (g->trans_a ? r0 : r0 * g->lda);
    const float *b = j->b + off_b + (g->trans_b ? c0 * g->ldb : c0);
    int64_t row = item * g->m + r0; /* the tile's first row of the flattened result */
    float *c = j->immediate ? (float *)ts->scratch : j->c + row * g->n + c0;
    if (j->packed_b)
        rt_sgemm_avx512_packed(g->trans_a, rows, cols, g->k, a, g->lda, j->packed_b, g->n, c0, c, g->n);
    else
        rt_sgemm(g->trans_a, g->trans_b, rows, cols, g->k, a, g->lda, b, g->ldb, c, g->n);
    if (!j->immediate) return 0;
    int code = j->s->fn(j->slots, row, row + rows, ts->scratch);
    if (code) rt_note_failure(ts, row, code);
    return code;
}

static void gemm_body(void *ctx, int64_t begin, int64_t end, int thread_index) {
    const gemm_job *j = ctx;
    rt_thread_state *ts = &j->e->threads[thread_index];
    for (int64_t t = begin; t < end; t++)
        if (gemm_tile(j, t, ts)) break; /* the run stops after this step; later tiles would not be the first failure */
}

/* Packs B again if it is not the B the plan's copy was made from (another buffer, or the
   parameters changed since). On the calling thread, before the tiles start. */
static void refresh_packed_b(const rt_exec *e, const rt_gemm *g, rt_step_plan *plan, const float *b) {
    if (plan->packed_from == b && plan->packed_version == e->params_version) return;
    if (g->k > 0) rt_sgemm_avx512_pack_b(g->trans_b, g->n, g->k, b, g->ldb, plan->packed_b);
    plan->packed_from = b;
    plan->packed_version = e->params_version;
}

void rt_gemm_run(rt_exec *e, const rt_step *s, rt_step_plan *plan, char *const *slots) {
    const rt_gemm *g = &s->gemm;
    int64_t items = 1;
    for (int d = 0; d < g->batch_rank; d++) items *= g->batch[d];
    if (items == 0 || g->m == 0 || g->n == 0) return;
    gemm_job j = {.e = e,
                  .s = s,
                  .tiles = &plan->tiles,
                  .immediate = plan->immediate,
                  .slots = slots,
                  .a = (const float *)rt_ref_ptr(slots, g->a),
                  .b = (const float *)rt_ref_ptr(slots, g->b)};
    if (plan->keep_packed_b && g->k > 0) {
        refresh_packed_b(e, g, plan, j.b);
        j.packed_b = plan->packed_b;
    }
    j.c = !s->fn ? (float *)rt_ref_ptr(slots, g->c) : plan->immediate ? NULL : (float *)e->shared;
    rt_parallel_for(e->pool, items * plan->tiles.row_tiles * plan->tiles.col_tiles, plan->tiles.grain, gemm_body, &j);
    if (s->fn && !plan->immediate) rt_epilogue_pass(e, s, slots, j.c, 0, items * g->m, g->n);
}
