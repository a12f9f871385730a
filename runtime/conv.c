/* conv.c — convolution steps as im2col + GEMM: per image and group, the input patches are
 * gathered into a [C/g·KH·KW, OH·OW] column matrix (zeros for padding) and multiplied by the
 * group's weights [O/g, C/g·KH·KW]. Tiles of that product, fixed by the shapes, run on the pool,
 * so even a batch-1 convolution uses every thread and results never depend on the thread count. */
#include "runtime/exec_internal.h"
#include "runtime/sgemm_avx512.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Columns of one (image, group) up to this size are gathered by each thread that needs them
   (small images: no extra pass, at most one repeated gather per thread); larger ones once per
   image into a shared buffer by all threads. */
#define RT_PRIVATE_COLS_MAX ((int64_t)512 << 10)

typedef struct conv_dims {
    int64_t cg, og, kg, p; /* channels per group in and out, patch length, output pixels */
} conv_dims;

static conv_dims dims_of(const rt_conv *cv) {
    conv_dims d = {.cg = cv->c / cv->groups, .og = cv->o / cv->groups, .p = cv->oh * cv->ow};
    d.kg = d.cg * cv->kh * cv->kw;
    return d;
}

static size_t round_align(int64_t bytes) { return (size_t)((bytes + RT_ALIGN - 1) / RT_ALIGN * RT_ALIGN); }

/* The shared columns: one image's, all groups (the plan reserves them, a run finds them). */
static size_t shared_cols_bytes(const rt_conv *cv) {
    return round_align(cv->c * cv->kh * cv->kw * cv->oh * cv->ow * 4);
}

/* Rows shorter than this are copied with plain loops: a library call costs more than the copy
   (measured on LeNet's 28- and 10-wide rows: memcpy from 8 floats on was faster). */
#define RT_SHORT_ROW 8

static void zero_floats(float *dst, int64_t n) {
    if (n >= RT_SHORT_ROW)
        memset(dst, 0, (size_t)n * sizeof(float));
    else
        for (int64_t i = 0; i < n; i++) dst[i] = 0;
}

/* ---- im2col -------------------------------------------------------------------------------- */

/* Column-matrix row r of an image x (channels from x's first): channel r / (kh·kw), kernel tap
   (ki, kj); element (oy, ox) is x[c][oy·sh - ph + ki·dh][ox·sw - pw + kj·dw], zero outside. */
static void im2col_row(const rt_conv *cv, const float *x, int64_t r, float *dst) {
    int64_t ki = r / cv->kw % cv->kh, kj = r % cv->kw;
    const float *plane = x + r / (cv->kh * cv->kw) * cv->h * cv->w_in;
    int64_t x0 = kj * cv->dilation_w - cv->pad_w, sw = cv->stride_w;
    /* The columns ox with 0 <= x0 + ox·sw < w_in: [lo, hi). */
    int64_t lo = x0 >= 0 ? 0 : (-x0 + sw - 1) / sw;
    int64_t hi = x0 >= cv->w_in ? 0 : (cv->w_in - 1 - x0) / sw + 1;
    lo = rt_min64(lo, cv->ow);
    hi = hi < lo ? lo : rt_min64(hi, cv->ow);
    for (int64_t oy = 0; oy < cv->oh; oy++, dst += cv->ow) {
        int64_t iy = oy * cv->stride_h - cv->pad_h + ki * cv->dilation_h;
        if (iy < 0 || iy >= cv->h) {
            zero_floats(dst, cv->ow);
            continue;
        }
        const float *src = plane + iy * cv->w_in + x0;
        zero_floats(dst, lo);
        if (sw == 1 && hi - lo >= RT_SHORT_ROW)
            memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
        else
            for (int64_t ox = lo; ox < hi; ox++) dst[ox] = src[ox * sw];
        zero_floats(dst + hi, cv->ow - hi);
    }
}

typedef struct im2col_job {
    const rt_conv *cv;
    const float *x;
    float *cols;
} im2col_job;

static void im2col_body(void *ctx, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const im2col_job *j = ctx;
    int64_t p = j->cv->oh * j->cv->ow;
    for (int64_t r = begin; r < end; r++) im2col_row(j->cv, j->x, r, j->cols + r * p);
}

/* ---- planning ------------------------------------------------------------------------------ */

static const char *conv_problem(const rt_conv *cv) {
    if (cv->n < 0 || cv->c < 0 || cv->h < 0 || cv->w_in < 0 || cv->o < 0 || cv->kh < 0 || cv->kw < 0 || cv->oh < 0 ||
        cv->ow < 0)
        return "negative size";
    if (cv->groups < 1 || cv->c % cv->groups || cv->o % cv->groups) return "groups do not divide the channels";
    if (cv->stride_h < 1 || cv->stride_w < 1 || cv->dilation_h < 1 || cv->dilation_w < 1)
        return "stride and dilation must be positive";
    if (cv->pad_h < 0 || cv->pad_w < 0) return "negative padding";
    /* In doubles, so that the checks themselves cannot overflow: BLAS takes ints, and every
       buffer is at most n·o·p or c·kh·kw·p floats. */
    double kg = (double)(cv->c / cv->groups) * (double)cv->kh * (double)cv->kw, p = (double)cv->oh * (double)cv->ow;
    if (kg > INT_MAX || p > INT_MAX || cv->o > INT_MAX) return "sizes out of BLAS range";
    if ((double)cv->c * (double)cv->kh * (double)cv->kw * p > 0x1p58 || (double)cv->n * (double)cv->o * p > 0x1p58 ||
        (double)cv->n * (double)cv->c * (double)cv->h * (double)cv->w_in > 0x1p58)
        return "result too large";
    if ((double)cv->oh * (double)cv->stride_h + (double)cv->kh * (double)cv->dilation_h > 0x1p58 ||
        (double)cv->ow * (double)cv->stride_w + (double)cv->kw * (double)cv->dilation_w > 0x1p58)
        return "stride or dilation too large";
    return NULL;
}

/* ---- implicit convolution (no im2col) -------------------------------------------------------- */

/* A padded image per thread up to this size (the input of one image and group, with its zero
   border); larger ones take the im2col path. */
#define RT_PADDED_MAX ((int64_t)8 << 20)
/* The wide result of a tile (channels × band rows × padded width) stays about this small, so it
   and the window of the padded image it reads share L2. */
#define RT_WIDE_TILE_BYTES ((int64_t)256 << 10)
/* Channels per tile: eight slivers of the kernel's 6 rows. */
#define RT_IMPLICIT_CHANNELS 48
/* Tiles per convolution to aim for, so that several threads have work even at batch 1. */
#define RT_IMPLICIT_TILES 8

/* The columns the kernel computes for bands of `band` output rows: each band's wide result,
   (rows - 1)·wp + ow columns, rounded up to whole panels. */
static int64_t computed_columns(int64_t oh, int64_t ow, int64_t wp, int64_t band) {
    int64_t total = 0;
    for (int64_t y = 0; y < oh; y += band) {
        int64_t rows = oh - y < band ? oh - y : band;
        total += rt_round_up((rows - 1) * wp + ow, RT_SGEMM_AVX512_PANEL);
    }
    return total;
}

/* The band height: at most band_max rows, at least `want` bands where the image has the rows,
   and among those the one that wastes the least of the kernel's panels (the wide result's last
   panel of each band is partly empty), the taller on a tie. */
static int64_t choose_band(int64_t oh, int64_t ow, int64_t wp, int64_t band_max, int64_t want) {
    int64_t top = band_max < oh ? band_max : oh;
    if (want > 1) {
        int64_t most = rt_ceil_div(oh, want < oh ? want : oh);
        top = most < top ? most : top;
    }
    int64_t best = top, best_cols = computed_columns(oh, ow, wp, top);
    for (int64_t band = top - 1; band >= 1 && band >= top / 4; band--) {
        int64_t cols = computed_columns(oh, ow, wp, band);
        if (cols < best_cols) best = band, best_cols = cols;
    }
    return best;
}

/* The padded image of an implicit convolution: every row and column a tap of the output reads. */
static void padded_dims(const rt_conv *cv, int64_t *hp, int64_t *wp) {
    *hp = cv->oh + (cv->kh - 1) * cv->dilation_h;
    *wp = cv->ow + (cv->kw - 1) * cv->dilation_w;
}

/* Stride 1 only: with it every tap (channel, ki, kj) reads the padded image shifted by one fixed
   offset, so B's rows are windows of it and no column matrix is needed. The output is computed
   at the padded width (Wp columns a row, the last Wp - ow of each row discarded). */
static bool plan_implicit(const rt_conv *cv, conv_dims d, rt_step_plan *plan, char *err, size_t err_size) {
    if (!rt_sgemm_avx512_available() || cv->stride_h != 1 || cv->stride_w != 1 || d.og < 1 || d.p < 1 || d.kg < 1)
        return true;
    int64_t hp, wp;
    padded_dims(cv, &hp, &wp);
    if ((double)d.cg * (double)hp * (double)wp * 4 > (double)RT_PADDED_MAX) return true;
    int64_t rb = d.og < RT_IMPLICIT_CHANNELS ? d.og : RT_IMPLICIT_CHANNELS, row_tiles = rt_ceil_div(d.og, rb);
    int64_t band_max = RT_WIDE_TILE_BYTES / 4 / (rb * wp), items = cv->n * cv->groups * row_tiles;
    if (band_max < 1) band_max = 1;
    int64_t band = choose_band(cv->oh, cv->ow, wp, band_max, rt_ceil_div(RT_IMPLICIT_TILES, items));
    if (!(plan->koff = malloc((size_t)d.kg * sizeof *plan->koff))) {
        snprintf(err, err_size, "out of memory");
        return false;
    }
    for (int64_t k = 0; k < d.kg; k++) {
        int64_t ch = k / (cv->kh * cv->kw), ki = k / cv->kw % cv->kh, kj = k % cv->kw;
        plan->koff[k] = (ch * hp + ki * cv->dilation_h) * wp + kj * cv->dilation_w;
    }
    plan->implicit = true;
    plan->tiles =
        (rt_tiles){.rb = rb, .cb = band, .row_tiles = row_tiles, .col_tiles = rt_ceil_div(cv->oh, band), .grain = 1};
    plan->immediate = true;
    /* The wide result's rows are whole panels long (see implicit_tile), the padded image has one
       panel of zeros after it for the reads of the last panel's extra columns. */
    plan->cols_offset = round_align(rb * rt_round_up(band * wp, RT_SGEMM_AVX512_PANEL) * 4);
    plan->thread_bytes = plan->cols_offset + round_align((d.cg * hp * wp + RT_SGEMM_AVX512_PANEL) * 4);
    return true;
}

/* The zero-padded copy of image x's channels [0, cg): row y, column xx of the copy is
   x[c][y - pad_h][xx - pad_w], zero outside. */
static void pad_image(const rt_conv *cv, int64_t cg, const float *x, float *dst) {
    int64_t hp, wp;
    padded_dims(cv, &hp, &wp);
    int64_t lo = cv->pad_w < wp ? cv->pad_w : wp, hi = cv->pad_w + cv->w_in < wp ? cv->pad_w + cv->w_in : wp;
    for (int64_t c = 0; c < cg; c++)
        for (int64_t y = 0; y < hp; y++, dst += wp) {
            int64_t iy = y - cv->pad_h;
            if (iy < 0 || iy >= cv->h || hi <= lo) {
                memset(dst, 0, (size_t)wp * sizeof(float));
                continue;
            }
            /* Here lo = pad_w: the row's first hi - lo pixels land at column lo. */
            memset(dst, 0, (size_t)lo * sizeof(float));
            memcpy(dst + lo, x + (c * cv->h + iy) * cv->w_in, (size_t)(hi - lo) * sizeof(float));
            memset(dst + hi, 0, (size_t)(wp - hi) * sizeof(float));
        }
    memset(dst, 0, RT_SGEMM_AVX512_PANEL * sizeof(float)); /* the slack after the image */
}

bool rt_conv_plan(const rt_step *s, rt_step_plan *plan, char *err, size_t err_size) {
    const rt_conv *cv = &s->conv;
    const char *why = conv_problem(cv);
    if (why) {
        snprintf(err, err_size, "%s", why);
        return false;
    }
    conv_dims d = dims_of(cv);
    memset(plan, 0, sizeof *plan);
    plan->im2col = !(cv->kh == 1 && cv->kw == 1 && cv->stride_h == 1 && cv->stride_w == 1 && cv->pad_h == 0 &&
                     cv->pad_w == 0 && cv->oh == cv->h && cv->ow == cv->w_in);
    /* plan_implicit fills the plan only when it takes the convolution. */
    if (plan->im2col && !plan_implicit(cv, d, plan, err, err_size)) return false;
    if (plan->implicit) return true;
    plan->private_cols = plan->im2col && d.kg * d.p * 4 <= RT_PRIVATE_COLS_MAX;
    plan->tiles = rt_choose_tiles(d.og, d.p, d.kg, cv->n * cv->groups);
    /* Per thread: the epilogue's tile, then the private columns. Shared: the columns of one
       image, then the result of a pass (one image with shared columns, else all of them). */
    if (plan->im2col && !plan->private_cols) plan->shared_bytes = shared_cols_bytes(cv);
    if (s->fn && d.og > 0 && d.p > 0) {
        plan->immediate = plan->tiles.col_tiles == 1 && plan->tiles.rb * d.p * 4 <= RT_SCRATCH_MAX;
        int64_t images = plan->im2col && !plan->private_cols ? 1 : cv->n;
        if (plan->immediate)
            plan->cols_offset = round_align(plan->tiles.rb * d.p * 4);
        else
            plan->shared_bytes += round_align(images * cv->o * d.p * 4);
    }
    plan->thread_bytes = plan->cols_offset + (plan->private_cols ? round_align(d.kg * d.p * 4) : 0);
    return true;
}

/* ---- running ------------------------------------------------------------------------------- */

/* A pass: the tiles of images [n0, n1), whose columns are shared (one image), private or the
   input itself (1×1). */
typedef struct conv_job {
    rt_exec *e;
    const rt_step *s;
    const rt_step_plan *plan;
    char *const *slots;
    const float *x, *w;
    float *out;               /* the output, or the shared result of images n0.. (epilogue) */
    const float *shared_cols; /* one image's columns, all groups */
    int64_t n0;
} conv_job;

/* The columns of (image, group) for thread ts, gathering them into its buffer (after its
   scratch tile) if needed. */
static const float *columns(const conv_job *j, int64_t image, int64_t group, rt_thread_state *ts) {
    const rt_conv *cv = &j->s->conv;
    conv_dims d = dims_of(cv);
    const float *x = j->x + (image * cv->c + group * d.cg) * cv->h * cv->w_in;
    if (!j->plan->im2col) return x;
    if (!j->plan->private_cols) return j->shared_cols + group * d.kg * d.p;
    int64_t key = image * cv->groups + group;
    float *cols = (float *)(ts->scratch + j->plan->cols_offset);
    if (ts->cols_key != key) {
        for (int64_t r = 0; r < d.kg; r++) im2col_row(cv, x, r, cols + r * d.p);
        ts->cols_key = key;
    }
    return cols;
}

/* Tile t of an implicit pass: (image, group), then channel block, then band of output rows. The
   product goes to the thread's scratch at the padded width, is narrowed to the output's width in
   place, and then goes to the output or, channel by channel, to the epilogue. A failed check is
   noted and the tile goes on: units are rows, and a later tile may hold a lower one. */
static void implicit_tile(const conv_job *j, int64_t t, rt_thread_state *ts) {
    const rt_conv *cv = &j->s->conv;
    const rt_step_plan *plan = j->plan;
    const rt_tiles *tl = &plan->tiles;
    conv_dims d = dims_of(cv);
    int64_t per_group = tl->row_tiles * tl->col_tiles, ig = t / per_group;
    int64_t image = j->n0 + ig / cv->groups, group = ig % cv->groups;
    int64_t o0 = (t % per_group) / tl->col_tiles * tl->rb, oy0 = t % tl->col_tiles * tl->cb;
    int64_t rows = rt_min64(tl->rb, d.og - o0), band = rt_min64(tl->cb, cv->oh - oy0), hp, wp;
    padded_dims(cv, &hp, &wp);
    float *padded = (float *)(ts->scratch + plan->cols_offset), *wide = (float *)ts->scratch;
    int64_t key = image * cv->groups + group;
    if (ts->cols_key != key) {
        pad_image(cv, d.cg, j->x + (image * cv->c + group * d.cg) * cv->h * cv->w_in, padded);
        ts->cols_key = key;
    }
    /* Output pixel (oy, ox) is column (oy - oy0)·wp + ox of the wide result, which has
       (band - 1)·wp + ow columns that count. The kernel computes them rounded up to whole panels:
       a partial panel's masked loads cost more than the few extra columns, which read at most a
       panel past the image (into the zeroed slack) and land within the row's stride ld. */
    int64_t n = rt_round_up((band - 1) * wp + cv->ow, RT_SGEMM_AVX512_PANEL);
    int64_t ld = rt_round_up(band * wp, RT_SGEMM_AVX512_PANEL);
    rt_sgemm_avx512_offsets(rows, n, d.kg, j->w + (group * d.og + o0) * d.kg, d.kg, padded + oy0 * wp, plan->koff, wide,
                            ld);
    int64_t channel = image * cv->o + group * d.og + o0; /* of the whole output */
    if (!j->s->fn) {
        for (int64_t o = 0; o < rows; o++)
            for (int64_t r = 0; r < band; r++)
                memcpy(j->out + ((channel + o) * cv->oh + oy0 + r) * cv->ow, wide + o * ld + r * wp,
                       (size_t)cv->ow * sizeof(float));
        return;
    }
    /* Narrow in place: each row moves to a lower address (or stays), so front to back is safe. */
    for (int64_t o = 0; o < rows; o++)
        for (int64_t r = 0; r < band; r++)
            memmove(wide + (o * band + r) * cv->ow, wide + o * ld + r * wp, (size_t)cv->ow * sizeof(float));
    for (int64_t o = 0; o < rows; o++) {
        int64_t row = (channel + o) * cv->oh + oy0;
        int code = j->s->fn(j->slots, row, row + band, (char *)(wide + o * band * cv->ow));
        if (code) rt_note_failure(ts, row, code);
    }
}

/* Tile t of the pass: (image, group), then output-channel block, then pixel block. */
static int conv_tile(const conv_job *j, int64_t t, rt_thread_state *ts) {
    const rt_conv *cv = &j->s->conv;
    const rt_tiles *tl = &j->plan->tiles;
    conv_dims d = dims_of(cv);
    int64_t per_group = tl->row_tiles * tl->col_tiles, ig = t / per_group;
    int64_t image = j->n0 + ig / cv->groups, group = ig % cv->groups;
    int64_t o0 = (t % per_group) / tl->col_tiles * tl->rb, p0 = t % tl->col_tiles * tl->cb;
    int64_t rows = rt_min64(tl->rb, d.og - o0), cols = rt_min64(tl->cb, d.p - p0);
    const float *b = columns(j, image, group, ts) + p0;
    const float *a = j->w + (group * d.og + o0) * d.kg;
    int64_t channel = image * cv->o + group * d.og + o0; /* of the whole output */
    float *c = !j->s->fn            ? j->out + channel * d.p + p0
               : j->plan->immediate ? (float *)ts->scratch
                                    : j->out + (channel - j->n0 * cv->o) * d.p + p0;
    rt_sgemm(false, false, rows, cols, d.kg, a, d.kg, b, d.p, c, d.p);
    if (!j->s->fn || !j->plan->immediate) return 0;
    int code = j->s->fn(j->slots, channel * cv->oh, (channel + rows) * cv->oh, ts->scratch);
    if (code) rt_note_failure(ts, channel * cv->oh, code);
    return code;
}

static void conv_body(void *ctx, int64_t begin, int64_t end, int thread_index) {
    const conv_job *j = ctx;
    rt_thread_state *ts = &j->e->threads[thread_index];
    if (j->plan->implicit) {
        for (int64_t t = begin; t < end; t++) implicit_tile(j, t, ts);
        return;
    }
    for (int64_t t = begin; t < end; t++)
        if (conv_tile(j, t, ts)) break;
}

static void conv_pass(conv_job *j, int64_t n1) {
    const rt_conv *cv = &j->s->conv;
    rt_exec *e = j->e;
    conv_dims d = dims_of(cv);
    if (j->shared_cols) {
        /* Rows of about 32 K elements a chunk: the gather is a copy. */
        int64_t grain = d.p < 32768 ? 32768 / d.p : 1;
        im2col_job ij = {.cv = cv, .x = j->x + j->n0 * cv->c * cv->h * cv->w_in, .cols = (float *)j->shared_cols};
        rt_parallel_for(e->pool, cv->c * cv->kh * cv->kw, grain, im2col_body, &ij);
    }
    const rt_tiles *tl = &j->plan->tiles;
    /* The grain spreads tiny items over all images; a pass of one large image splits freely. */
    int64_t grain = j->shared_cols ? 1 : tl->grain;
    rt_parallel_for(e->pool, (n1 - j->n0) * cv->groups * tl->row_tiles * tl->col_tiles, grain, conv_body, j);
    if (j->s->fn && !j->plan->immediate)
        rt_epilogue_pass(e, j->s, j->slots, j->out, j->n0 * cv->o * cv->oh, (n1 - j->n0) * cv->o * cv->oh, cv->ow);
}

void rt_conv_run(rt_exec *e, const rt_step *s, const rt_step_plan *plan, char *const *slots) {
    const rt_conv *cv = &s->conv;
    if (cv->n == 0 || cv->o == 0 || cv->oh == 0 || cv->ow == 0) return;
    conv_job j = {.e = e,
                  .s = s,
                  .plan = plan,
                  .slots = slots,
                  .x = (const float *)rt_ref_ptr(slots, cv->x),
                  .w = (const float *)rt_ref_ptr(slots, cv->w)};
    char *shared = e->shared;
    if (plan->im2col && !plan->private_cols && !plan->implicit) {
        j.shared_cols = (const float *)shared;
        shared += shared_cols_bytes(cv);
    }
    j.out = s->fn ? (float *)shared : (float *)rt_ref_ptr(slots, cv->out);
    /* Private columns of an earlier step (or run) are stale. */
    for (int i = 0; i < e->n_threads; i++) e->threads[i].cols_key = -1;
    if (j.shared_cols) {
        for (int64_t n = 0; n < cv->n && !rt_step_failed(e); n++) {
            j.n0 = n;
            conv_pass(&j, n + 1);
        }
    } else {
        conv_pass(&j, cv->n);
    }
}
