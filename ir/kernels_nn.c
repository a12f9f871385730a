/* kernels_nn.c — interpreter kernels for the neural-network ops: matmul (np.matmul), conv2d
 * and pooling (PyTorch, NCHW/OIHW, by direct loops), layer_norm, batch_norm, and the losses.
 * Floats are read once into double arrays and every sum is accumulated in double. */
#include "ir/kernels.h"

#include <math.h>
#include <stdlib.h>

/* ---- matmul -------------------------------------------------------------------------------- */

/* np.matmul as a batch of [m, k] @ [k, n]: a 1-D a is [1, k], a 1-D b is [k, 1] (the unit axis
 * is absent from the result); the batch dims in front broadcast against each other. */
typedef struct matmul_dims {
    int64_t m, k, n;
    ir_type batch, a_batch, b_batch;
} matmul_dims;

static matmul_dims matmul_shape(const ir_type *a, const ir_type *b, const ir_type *out) {
    matmul_dims s = {0};
    bool a_vec = a->rank == 1, b_vec = b->rank == 1;
    IR_ASSERT(a->rank >= 1 && b->rank >= 1);
    s.m = a_vec ? 1 : a->dims[a->rank - 2];
    s.k = a->dims[a->rank - 1];
    s.n = b_vec ? 1 : b->dims[b->rank - 1];
    IR_ASSERT(s.k == (b_vec ? b->dims[0] : b->dims[b->rank - 2]));
    s.a_batch.rank = a_vec ? 0 : a->rank - 2;
    s.b_batch.rank = b_vec ? 0 : b->rank - 2;
    s.batch.rank = out->rank - !a_vec - !b_vec;
    IR_ASSERT(s.batch.rank >= s.a_batch.rank && s.batch.rank >= s.b_batch.rank);
    for (int i = 0; i < s.a_batch.rank; i++) s.a_batch.dims[i] = a->dims[i];
    for (int i = 0; i < s.b_batch.rank; i++) s.b_batch.dims[i] = b->dims[i];
    for (int i = 0; i < s.batch.rank; i++) s.batch.dims[i] = out->dims[i];
    return s;
}

/* One [m, k] @ [k, n] product in double; rows are accumulated in `acc` (n slots). */
static void matmul_block_f64(const matmul_dims *s, const double *a, const double *b, double *acc, ir_tensor *out,
                             int64_t out_base) {
    for (int64_t i = 0; i < s->m; i++) {
        for (int64_t j = 0; j < s->n; j++) acc[j] = 0;
        for (int64_t p = 0; p < s->k; p++) {
            double av = a[i * s->k + p];
            const double *brow = b + p * s->n;
            for (int64_t j = 0; j < s->n; j++) acc[j] += av * brow[j];
        }
        for (int64_t j = 0; j < s->n; j++) ir_tensor_set(out, out_base + i * s->n + j, acc[j]);
    }
}

/* The integer product wraps modulo 2^64 and then to the dtype, as NumPy's integer matmul. */
static void matmul_block_i64(const matmul_dims *s, const ir_tensor *a, int64_t a_base, const ir_tensor *b,
                             int64_t b_base, ir_tensor *out, int64_t out_base) {
    for (int64_t i = 0; i < s->m; i++) {
        for (int64_t j = 0; j < s->n; j++) {
            uint64_t acc = 0;
            for (int64_t p = 0; p < s->k; p++)
                acc += (uint64_t)ir_tensor_get_i64(a, a_base + i * s->k + p) *
                       (uint64_t)ir_tensor_get_i64(b, b_base + p * s->n + j);
            ir_tensor_set_i64(out, out_base + i * s->n + j, ir_kern_wrap64(acc));
        }
    }
}

/* PERM_A / PERM_B: the operand is read through transpose(operand, perm). The transposed copy
 * is made by the transpose kernel itself, so both ops share one definition of a permutation. */
static bool matmul_operand(const ir_node *n, ir_attr_id id, const ir_tensor *x, ir_tensor *copy, ir_diag *d) {
    const ir_attr *perm = &n->attr[id];
    if (perm->n == 0) return true;
    IR_ASSERT(perm->n == x->type.rank);
    ir_node t = {.op = IR_OP_TRANSPOSE, .loc = n->loc};
    t.attr[IR_ATTR_PERM] = *perm;
    ir_type type = x->type;
    for (int i = 0; i < perm->n; i++) type.dims[i] = x->type.dims[perm->v[i]];
    if (!ir_tensor_alloc(copy, &type)) {
        ir_error(d, n->loc, "matmul: out of memory transposing an operand to %s", ir_type_text(&type).s);
        return false;
    }
    return interp_transpose(&t, x, copy, d);
}

static bool matmul_dense(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    matmul_dims s = matmul_shape(&in[0].type, &in[1].type, &out->type);
    bool as_float = ir_dtype_is_float(out->type.dtype);
    double *a = NULL, *b = NULL, *acc = NULL;
    if (as_float && (!(a = ir_kern_to_f64(n, &in[0], d)) || !(b = ir_kern_to_f64(n, &in[1], d)) ||
                     !(acc = ir_kern_alloc(n, (size_t)s.n, sizeof *acc, d)))) {
        free(a);
        free(b);
        return false;
    }
    ir_iter it;
    ir_iter_init(&it, &s.batch);
    ir_iter_add_bcast(&it, &s.a_batch);
    ir_iter_add_bcast(&it, &s.b_batch);
    int64_t batches = ir_type_elems(&s.batch);
    for (int64_t bi = 0; bi < batches; bi++, ir_iter_next(&it)) {
        int64_t a_base = it.off[0] * s.m * s.k, b_base = it.off[1] * s.k * s.n, out_base = bi * s.m * s.n;
        if (as_float) matmul_block_f64(&s, a + a_base, b + b_base, acc, out, out_base);
        else matmul_block_i64(&s, &in[0], a_base, &in[1], b_base, out, out_base);
    }
    free(a);
    free(b);
    free(acc);
    return true;
}

bool interp_matmul(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    ir_tensor seen[2] = {in[0], in[1]}, copies[2] = {{.data = NULL}, {.data = NULL}};
    bool ok = matmul_operand(n, IR_ATTR_PERM_A, &in[0], &copies[0], d) &&
              matmul_operand(n, IR_ATTR_PERM_B, &in[1], &copies[1], d);
    for (int i = 0; ok && i < 2; i++)
        if (copies[i].data) seen[i] = copies[i];
    ok = ok && matmul_dense(n, seen, out, d);
    ir_tensor_free(&copies[0]);
    ir_tensor_free(&copies[1]);
    return ok;
}

/* ---- conv2d and pooling -------------------------------------------------------------------- */

/* The window of conv2d or a pool over x [N, C, H, W] giving out, kernel extent kernel[2] (the pools
 * have no dilation: 1). */
static ir_window window_of(const ir_node *n, const ir_type *x, const ir_type *out, const int64_t *kernel) {
    ir_window w;
    bool dilated = ir_op_table[n->op].attrs & IR_ATTR_BIT(DILATION);
    for (int i = 0; i < 2; i++) {
        w.in[i] = x->dims[2 + i];
        w.out[i] = out->dims[2 + i];
        w.kernel[i] = kernel[i];
        w.stride[i] = n->attr[IR_ATTR_STRIDE].v[i];
        w.dilation[i] = dilated ? n->attr[IR_ATTR_DILATION].v[i] : 1;
        w.lo[i] = n->attr[IR_ATTR_LO].v[i];
        w.hi[i] = n->attr[IR_ATTR_HI].v[i];
    }
    IR_ASSERT(n->attr[IR_ATTR_STRIDE].n == 2 && n->attr[IR_ATTR_LO].n == 2 && n->attr[IR_ATTR_HI].n == 2);
    return w;
}

/* out[b, o, y, x] = sum_{c, i, j} x[b, g*cg + c, y*sh - lo_h + i*dh, x*sw - lo_w + j*dw] * w[o, c, i, j]
 * with g = o / (O / groups) and cg = C / groups; taps in the padding read zero. */
static double conv_point(const ir_window *w, const double *x, const double *k, int64_t cg, int64_t y, int64_t xo) {
    double acc = 0;
    for (int64_t c = 0; c < cg; c++) {
        for (int64_t i = 0; i < w->kernel[0]; i++) {
            int64_t iy = y * w->stride[0] - w->lo[0] + i * w->dilation[0];
            if (iy < 0 || iy >= w->in[0]) continue;
            for (int64_t j = 0; j < w->kernel[1]; j++) {
                int64_t ix = xo * w->stride[1] - w->lo[1] + j * w->dilation[1];
                if (ix < 0 || ix >= w->in[1]) continue;
                acc += x[(c * w->in[0] + iy) * w->in[1] + ix] * k[(c * w->kernel[0] + i) * w->kernel[1] + j];
            }
        }
    }
    return acc;
}

bool interp_conv2d(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    const ir_type *xt = &in[0].type, *kt = &in[1].type;
    IR_ASSERT(xt->rank == 4 && kt->rank == 4);
    ir_window w = window_of(n, xt, &out->type, &kt->dims[2]);
    int64_t batch = xt->dims[0], chans = xt->dims[1], outs = kt->dims[0], cg = kt->dims[1];
    int64_t groups = n->attr[IR_ATTR_GROUPS].v[0], per_group = outs / groups;
    IR_ASSERT(groups >= 1 && cg * groups == chans && per_group * groups == outs);
    double *x = ir_kern_to_f64(n, &in[0], d), *k = x ? ir_kern_to_f64(n, &in[1], d) : NULL;
    if (!k) {
        free(x);
        return false;
    }
    int64_t plane = w.in[0] * w.in[1], kplane = cg * w.kernel[0] * w.kernel[1], o_i = 0;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t o = 0; o < outs; o++) {
            const double *xg = x + (b * chans + o / per_group * cg) * plane, *ko = k + o * kplane;
            for (int64_t y = 0; y < w.out[0]; y++)
                for (int64_t xo = 0; xo < w.out[1]; xo++) ir_tensor_set(out, o_i++, conv_point(&w, xg, ko, cg, y, xo));
        }
    free(x);
    free(k);
    return true;
}

/* The pools' windows, shared with their gradient kernels (kernels_grad.c). */
ir_window ir_kern_pool_window(const ir_node *n, const ir_type *x, const ir_type *y) {
    IR_ASSERT(x->rank == 4 && y->rank == 4 && n->attr[IR_ATTR_KERNEL].n == 2);
    return window_of(n, x, y, n->attr[IR_ATTR_KERNEL].v);
}

void ir_kern_pool_taps(const ir_window *w, int64_t y, int64_t xo, int64_t *rows, int64_t *cols) {
    int64_t y0 = y * w->stride[0] - w->lo[0], x0 = xo * w->stride[1] - w->lo[1];
    rows[0] = y0 < 0 ? 0 : y0;
    rows[1] = y0 + w->kernel[0] < w->in[0] ? y0 + w->kernel[0] : w->in[0];
    cols[0] = x0 < 0 ? 0 : x0;
    cols[1] = x0 + w->kernel[1] < w->in[1] ? x0 + w->kernel[1] : w->in[1];
}

/* The window clipped to the padded input, padding counted (PyTorch's count_include_pad=True). */
double ir_kern_pool_divisor(const ir_window *w, int64_t y, int64_t xo) {
    int64_t y0 = y * w->stride[0] - w->lo[0], x0 = xo * w->stride[1] - w->lo[1];
    int64_t y1 = y0 + w->kernel[0], x1 = x0 + w->kernel[1];
    if (y1 > w->in[0] + w->hi[0]) y1 = w->in[0] + w->hi[0];
    if (x1 > w->in[1] + w->hi[1]) x1 = w->in[1] + w->hi[1];
    return (double)((y1 - y0) * (x1 - x0));
}

/* A later tap wins only when strictly greater (the first maximum) or NaN where the best is not
 * (the first NaN): the padding is never chosen, as if it held -inf. */
int64_t ir_kern_max_tap(const ir_window *w, const double *x, int64_t y, int64_t xo) {
    int64_t rows[2], cols[2], best = -1;
    ir_kern_pool_taps(w, y, xo, rows, cols);
    for (int64_t iy = rows[0]; iy < rows[1]; iy++)
        for (int64_t ix = cols[0]; ix < cols[1]; ix++) {
            int64_t at = iy * w->in[1] + ix;
            if (best < 0 || (!isnan(x[best]) && (isnan(x[at]) || x[at] > x[best]))) best = at;
        }
    return best;
}

/* max: the tap ir_kern_max_tap takes (-inf for a window of padding only), so NaN propagates;
 * avg: the sum of the taps in the input over ir_kern_pool_divisor. */
static double pool_point(bool is_max, const ir_window *w, const double *x, int64_t y, int64_t xo) {
    if (is_max) {
        int64_t tap = ir_kern_max_tap(w, x, y, xo);
        return tap < 0 ? -INFINITY : x[tap];
    }
    int64_t rows[2], cols[2];
    double acc = 0.0;
    ir_kern_pool_taps(w, y, xo, rows, cols);
    for (int64_t iy = rows[0]; iy < rows[1]; iy++)
        for (int64_t ix = cols[0]; ix < cols[1]; ix++) acc += x[iy * w->in[1] + ix];
    return acc / ir_kern_pool_divisor(w, y, xo);
}

bool interp_pool2d(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    const ir_type *xt = &in[0].type;
    ir_window w = ir_kern_pool_window(n, xt, &out->type);
    double *x = ir_kern_to_f64(n, &in[0], d);
    if (!x) return false;
    int64_t planes = xt->dims[0] * xt->dims[1], o_i = 0;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < w.out[0]; y++)
            for (int64_t xo = 0; xo < w.out[1]; xo++)
                ir_tensor_set(out, o_i++, pool_point(n->op == IR_OP_MAX_POOL2D, &w, x + p * w.in[0] * w.in[1], y, xo));
    free(x);
    return true;
}

/* [N, C, ...] -> [N, C]: the mean over every axis after the channel. */
bool interp_global_avg_pool(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)n, (void)d;
    int64_t rows = ir_type_elems(&out->type), len = ir_type_elems(&in[0].type) / (rows ? rows : 1);
    for (int64_t r = 0; r < rows; r++) {
        double sum = 0;
        for (int64_t k = 0; k < len; k++) sum += ir_tensor_get(&in[0], r * len + k);
        ir_tensor_set(out, r, sum / (double)len);
    }
    return true;
}

/* ---- normalization -------------------------------------------------------------------------- */

/* Over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta, var biased (divided by D);
 * gamma and beta broadcast against x. */
bool interp_layer_norm(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    const ir_type *xt = &in[0].type;
    IR_ASSERT(xt->rank >= 1);
    int64_t len = xt->dims[xt->rank - 1], count = ir_type_elems(xt), rows = len ? count / len : 0;
    double eps = n->attr[IR_ATTR_EPS].f;
    double *mean = ir_kern_alloc(n, (size_t)rows, sizeof *mean, d);
    double *rstd = mean ? ir_kern_alloc(n, (size_t)rows, sizeof *rstd, d) : NULL;
    if (!rstd) {
        free(mean);
        return false;
    }
    for (int64_t r = 0; r < rows; r++) {
        double sum = 0, sq = 0;
        for (int64_t k = 0; k < len; k++) sum += ir_tensor_get(&in[0], r * len + k);
        mean[r] = sum / (double)len;
        for (int64_t k = 0; k < len; k++) {
            double c = ir_tensor_get(&in[0], r * len + k) - mean[r];
            sq += c * c;
        }
        rstd[r] = 1.0 / sqrt(sq / (double)len + eps);
    }
    ir_iter it;
    ir_iter_init(&it, xt);
    ir_iter_add_bcast(&it, &in[1].type);
    ir_iter_add_bcast(&it, &in[2].type);
    for (int64_t i = 0; i < count; i++, ir_iter_next(&it)) {
        double norm = (ir_tensor_get(&in[0], i) - mean[i / len]) * rstd[i / len];
        ir_tensor_set(out, i, norm * ir_tensor_get(&in[1], it.off[0]) + ir_tensor_get(&in[2], it.off[1]));
    }
    free(mean);
    free(rstd);
    return true;
}

/* Inference form over channel axis 1: (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c].
 * Each statistic has C elements, or one that applies to every channel. */
bool interp_batch_norm(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)d;
    const ir_type *xt = &in[0].type;
    IR_ASSERT(xt->rank >= 2);
    int64_t chans = xt->dims[1], inner = ir_kern_span(xt, 2, xt->rank), count = ir_type_elems(xt);
    for (int k = 1; k < 5; k++) {
        int64_t e = ir_type_elems(&in[k].type);
        IR_ASSERT(e == chans || e == 1);
    }
    double eps = n->attr[IR_ATTR_EPS].f;
    for (int64_t i = 0; i < count; i++) {
        int64_t c = inner ? i / inner % chans : 0;
        double p[5];
        for (int k = 1; k < 5; k++) p[k] = ir_tensor_get(&in[k], ir_type_elems(&in[k].type) == 1 ? 0 : c);
        double x = ir_tensor_get(&in[0], i);
        ir_tensor_set(out, i, (x - p[1]) / sqrt(p[2] + eps) * p[3] + p[4]);
    }
    return true;
}

/* ---- losses -------------------------------------------------------------------------------- */

/* Per example r: logsumexp(x[r, :]) - x[r, label], i.e. -log_softmax(x)[label]; the
 * shift by the row max keeps exp from overflowing. */
bool interp_cross_entropy(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    const ir_tensor *x = &in[0], *labels = &in[1];
    IR_ASSERT(x->type.rank >= 1);
    int64_t classes = x->type.dims[x->type.rank - 1], rows = ir_type_elems(&out->type);
    IR_ASSERT(ir_type_elems(&labels->type) == rows && ir_type_elems(&x->type) == rows * classes);
    if (!ir_kern_check_labels(n, labels, classes, d)) return false;
    for (int64_t r = 0; r < rows; r++) {
        int64_t label = ir_tensor_get_i64(labels, r);
        double m = -INFINITY, sum = 0;
        for (int64_t k = 0; k < classes; k++) {
            double v = ir_tensor_get(x, r * classes + k);
            if (isnan(v) || v > m) m = v;
            if (isnan(m)) break;
        }
        for (int64_t k = 0; k < classes; k++) sum += exp(ir_tensor_get(x, r * classes + k) - m);
        ir_tensor_set(out, r, m + log(sum) - ir_tensor_get(x, r * classes + label));
    }
    return true;
}

/* mean((a - b)^2) over the broadcast shape of a and b; NaN when that shape is empty. */
bool interp_mse(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)n, (void)d;
    ir_type shape;
    bool compatible = ir_broadcast_shapes(&in[0].type, &in[1].type, &shape);
    IR_ASSERT(compatible);
    ir_iter it;
    ir_iter_init(&it, &shape);
    ir_iter_add_bcast(&it, &in[0].type);
    ir_iter_add_bcast(&it, &in[1].type);
    int64_t count = ir_type_elems(&shape);
    double sum = 0;
    for (int64_t i = 0; i < count; i++, ir_iter_next(&it)) {
        double diff = ir_tensor_get(&in[0], it.off[0]) - ir_tensor_get(&in[1], it.off[1]);
        sum += diff * diff;
    }
    ir_tensor_set(out, 0, sum / (double)count);
    return true;
}
