/* model_desc.c — the layout of a generated library's descriptor (runtime/model.h): static
 * assertions that every rt_aot_* table is a flat row of 8-byte fields (what the code generator
 * emits as an LLVM constant struct), and the one definition of how a library call's arguments
 * are flattened into int64 values, shared by the compiler (encode) and the runtime (decode). */
#include "runtime/model.h"

#include <stddef.h>
#include <stdint.h>

/* ---- the descriptor tables: 8 bytes per field, no padding -------------------------------- */

_Static_assert(sizeof(void *) == 8 && sizeof(rt_kernel_fn) == 8 && sizeof(double) == 8,
               "the descriptor tables assume 8-byte pointers and doubles");
_Static_assert(sizeof(rt_aot_step) == 8 * 10, "rt_aot_step: 10 fields of 8 bytes");
_Static_assert(sizeof(rt_aot_arg) == 8 * 5, "rt_aot_arg: 5 fields of 8 bytes");
_Static_assert(sizeof(rt_aot_graph) == 8 * 9, "rt_aot_graph: 9 fields of 8 bytes");
_Static_assert(sizeof(rt_aot_param) == 8 * 7, "rt_aot_param: 7 fields of 8 bytes");
_Static_assert(sizeof(rt_aot_model) == 8 * 6, "rt_aot_model: 6 fields of 8 bytes");
/* The sizes alone would not catch two fields swapped in the header but not in the generator;
   the last field of each table pins the order's end. */
_Static_assert(offsetof(rt_aot_step, checks) == 8 * 9, "rt_aot_step field order");
_Static_assert(offsetof(rt_aot_arg, is_output) == 8 * 4, "rt_aot_arg field order");
_Static_assert(offsetof(rt_aot_graph, updates) == 8 * 8, "rt_aot_graph field order");
_Static_assert(offsetof(rt_aot_param, state) == 8 * 6, "rt_aot_param field order");
_Static_assert(offsetof(rt_aot_model, params) == 8 * 5, "rt_aot_model field order");

/* ---- GEMM: RT_AOT_GEMM_FIELDS int64 values ------------------------------------------------
 *   [0..5]   a.slot, a.offset, b.slot, b.offset, c.slot, c.offset
 *   [6..13]  m, n, k, trans_a, trans_b (0 or 1), lda, ldb, batch_rank
 *   [14..21] batch[0..8)            (entries past batch_rank are 0)
 *   [22..29] batch_stride_a[0..8)
 *   [30..37] batch_stride_b[0..8)
 * Decoding does not validate: the model checks slots and batch_rank, the executor the rest. */

#define GEMM_BATCH 14
_Static_assert(RT_AOT_GEMM_FIELDS == GEMM_BATCH + 3 * RT_MAX_RANK, "GEMM encoding length");

void rt_gemm_encode(const rt_gemm *g, int64_t out[RT_AOT_GEMM_FIELDS]) {
    const int64_t head[GEMM_BATCH] = {g->a.slot,   g->a.offset, g->b.slot, g->b.offset,  g->c.slot,
                                      g->c.offset, g->m,        g->n,      g->k,         g->trans_a,
                                      g->trans_b,  g->lda,      g->ldb,    g->batch_rank};
    for (int i = 0; i < GEMM_BATCH; i++) out[i] = head[i];
    for (int d = 0; d < RT_MAX_RANK; d++) {
        bool used = d < g->batch_rank;
        out[GEMM_BATCH + d] = used ? g->batch[d] : 0;
        out[GEMM_BATCH + RT_MAX_RANK + d] = used ? g->batch_stride_a[d] : 0;
        out[GEMM_BATCH + 2 * RT_MAX_RANK + d] = used ? g->batch_stride_b[d] : 0;
    }
}

void rt_gemm_decode(const int64_t in[RT_AOT_GEMM_FIELDS], rt_gemm *g) {
    *g = (rt_gemm){.a = {(int)in[0], in[1]},
                   .b = {(int)in[2], in[3]},
                   .c = {(int)in[4], in[5]},
                   .m = in[6],
                   .n = in[7],
                   .k = in[8],
                   .trans_a = in[9] != 0,
                   .trans_b = in[10] != 0,
                   .lda = in[11],
                   .ldb = in[12],
                   .batch_rank = (int)in[13]};
    for (int d = 0; d < RT_MAX_RANK; d++) {
        g->batch[d] = in[GEMM_BATCH + d];
        g->batch_stride_a[d] = in[GEMM_BATCH + RT_MAX_RANK + d];
        g->batch_stride_b[d] = in[GEMM_BATCH + 2 * RT_MAX_RANK + d];
    }
}

/* ---- CONV: RT_AOT_CONV_FIELDS int64 values ------------------------------------------------
 *   [0..5]   x.slot, x.offset, w.slot, w.offset, out.slot, out.offset
 *   [6..10]  n, c, h, w_in, o
 *   [11..14] kh, kw, oh, ow
 *   [15..21] stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups */

void rt_conv_encode(const rt_conv *c, int64_t out[RT_AOT_CONV_FIELDS]) {
    const int64_t v[RT_AOT_CONV_FIELDS] = {
        c->x.slot,   c->x.offset, c->w.slot, c->w.offset,   c->out.slot,   c->out.offset, c->n,  c->c,
        c->h,        c->w_in,     c->o,      c->kh,         c->kw,         c->oh,         c->ow, c->stride_h,
        c->stride_w, c->pad_h,    c->pad_w,  c->dilation_h, c->dilation_w, c->groups};
    for (int i = 0; i < RT_AOT_CONV_FIELDS; i++) out[i] = v[i];
}

void rt_conv_decode(const int64_t in[RT_AOT_CONV_FIELDS], rt_conv *c) {
    *c = (rt_conv){.x = {(int)in[0], in[1]},
                   .w = {(int)in[2], in[3]},
                   .out = {(int)in[4], in[5]},
                   .n = in[6],
                   .c = in[7],
                   .h = in[8],
                   .w_in = in[9],
                   .o = in[10],
                   .kh = in[11],
                   .kw = in[12],
                   .oh = in[13],
                   .ow = in[14],
                   .stride_h = in[15],
                   .stride_w = in[16],
                   .pad_h = in[17],
                   .pad_w = in[18],
                   .dilation_h = in[19],
                   .dilation_w = in[20],
                   .groups = in[21]};
}
