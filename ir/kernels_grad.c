/* kernels_grad.c — the reference interpreter's kernels of the gradient ops (ops.def, docs/training.md):
 * the scatters that undo max_pool2d, avg_pool2d and gather, each the exact transpose of its forward
 * kernel (same windows, padding, divisor, NaN rule and index checks), and the error of a grad node
 * the autodiff pass did not replace. Every sum is accumulated in double and rounded once. */
#include "ir/kernels.h"

#include <math.h>
#include <stdlib.h>

/* A grad node reaches the interpreter only through a --passes list that leaves autodiff out. */
bool interp_grad(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)in;
    (void)out;
    ir_error(d, n->loc, "grad: not lowered; the autodiff pass must run before the graph (it is in every -O pipeline)");
    return false;
}

/* ---- pooling ------------------------------------------------------------------------------- */

/* The window of output (y, xo) of a pool over an [h, w] plane, as interp_pool2d walks it: rows
 * [y0, y0 + kh) and columns [x0, x0 + kw) of the input, taps outside it being padding. */
typedef struct pool_geom {
    int64_t in[2], out[2], kernel[2], stride[2], lo[2], hi[2];
} pool_geom;

static pool_geom pool_geom_of(const ir_node *n, const ir_type *x, const ir_type *y) {
    pool_geom p;
    IR_ASSERT(x->rank == 4 && y->rank == 4 && n->attr[IR_ATTR_KERNEL].n == 2 && n->attr[IR_ATTR_STRIDE].n == 2 &&
              n->attr[IR_ATTR_LO].n == 2 && n->attr[IR_ATTR_HI].n == 2);
    for (int i = 0; i < 2; i++) {
        p.in[i] = x->dims[2 + i];
        p.out[i] = y->dims[2 + i];
        p.kernel[i] = n->attr[IR_ATTR_KERNEL].v[i];
        p.stride[i] = n->attr[IR_ATTR_STRIDE].v[i];
        p.lo[i] = n->attr[IR_ATTR_LO].v[i];
        p.hi[i] = n->attr[IR_ATTR_HI].v[i];
    }
    return p;
}

/* The offset in its plane of the tap of window (y, xo) that max_pool2d takes: the first NaN, else
 * the first maximum in row-major order (a later tap wins only when strictly greater), padding
 * excluded; -1 when the window holds no input element. */
static int64_t max_tap(const pool_geom *p, const double *x, int64_t y, int64_t xo) {
    int64_t best = -1, y0 = y * p->stride[0] - p->lo[0], x0 = xo * p->stride[1] - p->lo[1];
    for (int64_t iy = y0; iy < y0 + p->kernel[0]; iy++) {
        if (iy < 0 || iy >= p->in[0]) continue;
        for (int64_t ix = x0; ix < x0 + p->kernel[1]; ix++) {
            if (ix < 0 || ix >= p->in[1]) continue;
            int64_t at = iy * p->in[1] + ix;
            if (best < 0 || (!isnan(x[best]) && (isnan(x[at]) || x[at] > x[best]))) best = at;
        }
    }
    return best;
}

/* Writes the accumulated gradient into out (rounding once to its dtype) and frees it. */
static bool store(ir_tensor *out, double *acc) {
    int64_t count = ir_type_elems(&out->type);
    for (int64_t i = 0; i < count; i++) ir_tensor_set(out, i, acc[i]);
    free(acc);
    return true;
}

/* dx[tap] += dy[window] for the tap each window of max_pool2d(x) took; overlapping windows add. */
bool interp_max_pool2d_grad(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    pool_geom p = pool_geom_of(n, &in[0].type, &in[1].type);
    int64_t planes = in[0].type.dims[0] * in[0].type.dims[1], plane = p.in[0] * p.in[1];
    double *x = ir_kern_to_f64(n, &in[0], d), *dy = x ? ir_kern_to_f64(n, &in[1], d) : NULL;
    double *dx = dy ? ir_kern_alloc(n, (size_t)ir_type_elems(&out->type), sizeof *dx, d) : NULL;
    if (!dx) {
        free(x);
        free(dy);
        return false;
    }
    for (int64_t pl = 0, o_i = 0; pl < planes; pl++)
        for (int64_t y = 0; y < p.out[0]; y++)
            for (int64_t xo = 0; xo < p.out[1]; xo++, o_i++) {
                int64_t tap = max_tap(&p, x + pl * plane, y, xo);
                if (tap >= 0) dx[pl * plane + tap] += dy[o_i];
            }
    free(x);
    free(dy);
    return store(out, dx);
}

/* avg_pool2d(x)[y, xo] = sum of its window's taps / count, count the window clipped to the padded
 * input (padding counted, as the forward kernel divides): each tap in the input gets dy / count. */
bool interp_avg_pool2d_grad(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    pool_geom p = pool_geom_of(n, &out->type, &in[0].type);
    int64_t planes = out->type.dims[0] * out->type.dims[1], plane = p.in[0] * p.in[1];
    double *dy = ir_kern_to_f64(n, &in[0], d);
    double *dx = dy ? ir_kern_alloc(n, (size_t)ir_type_elems(&out->type), sizeof *dx, d) : NULL;
    if (!dx) {
        free(dy);
        return false;
    }
    for (int64_t pl = 0, o_i = 0; pl < planes; pl++)
        for (int64_t y = 0; y < p.out[0]; y++)
            for (int64_t xo = 0; xo < p.out[1]; xo++, o_i++) {
                int64_t y0 = y * p.stride[0] - p.lo[0], x0 = xo * p.stride[1] - p.lo[1];
                int64_t y1 = y0 + p.kernel[0], x1 = x0 + p.kernel[1];
                if (y1 > p.in[0] + p.hi[0]) y1 = p.in[0] + p.hi[0];
                if (x1 > p.in[1] + p.hi[1]) x1 = p.in[1] + p.hi[1];
                double share = dy[o_i] / (double)((y1 - y0) * (x1 - x0));
                for (int64_t iy = y0 < 0 ? 0 : y0; iy < y1 && iy < p.in[0]; iy++)
                    for (int64_t ix = x0 < 0 ? 0 : x0; ix < x1 && ix < p.in[1]; ix++)
                        dx[pl * plane + iy * p.in[1] + ix] += share;
            }
    free(dy);
    return store(out, dx);
}

/* ---- gather -------------------------------------------------------------------------------- */

/* The transpose of np.take(x, idx, axis): dx = zeros of x's shape (SHAPE), then
 * dx[:axis, idx[k], axis+1:] += dy[:axis, k, axis+1:]; repeated indices add. An index in
 * [-dim, 0) counts from the end; anything outside [-dim, dim) is an error, as in gather. */
bool interp_gather_grad(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    const ir_tensor *idx = &in[1];
    const ir_type *xt = &out->type;
    int axis = (int)n->attr[IR_ATTR_AXIS].v[0];
    IR_ASSERT(axis >= 0 && axis < xt->rank);
    int64_t dim = xt->dims[axis], n_idx = ir_type_elems(&idx->type);
    int64_t outer = ir_kern_span(xt, 0, axis), inner = ir_kern_span(xt, axis + 1, xt->rank);
    for (int64_t k = 0; k < n_idx; k++) {
        int64_t v = ir_tensor_get_i64(idx, k);
        if (v < -dim || v >= dim) {
            ir_error(d, n->loc, "%s: index %lld is out of range for axis %d of size %lld", ir_op_name(n->op),
                     (long long)v, axis, (long long)dim);
            return false;
        }
    }
    double *dy = ir_kern_to_f64(n, &in[0], d);
    double *dx = dy ? ir_kern_alloc(n, (size_t)ir_type_elems(xt), sizeof *dx, d) : NULL;
    if (!dx) {
        free(dy);
        return false;
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < n_idx; k++) {
            int64_t v = ir_tensor_get_i64(idx, k);
            if (v < 0) v += dim;
            const double *src = dy + (o * n_idx + k) * inner;
            double *dst = dx + (o * dim + v) * inner;
            for (int64_t j = 0; j < inner; j++) dst[j] += src[j];
        }
    free(dy);
    return store(out, dx);
}
