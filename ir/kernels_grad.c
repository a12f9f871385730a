/* kernels_grad.c — the reference interpreter's kernels of the gradient ops (ops.def, docs/training.md):
 * the scatters that undo max_pool2d, avg_pool2d and gather, each the exact transpose of its forward
 * kernel (same windows, padding, divisor, NaN rule and index checks), and the error of a grad node
 * the autodiff pass did not replace. Every sum is accumulated in double and rounded once. */
#include "ir/kernels.h"

#include <stdlib.h>

/* A grad node reaches the interpreter only through a --passes list that leaves autodiff out. */
bool interp_grad(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)in;
    (void)out;
    ir_error(d, n->loc, "grad: not lowered; the autodiff pass must run before the graph (it is in every -O pipeline)");
    return false;
}

/* ---- pooling ------------------------------------------------------------------------------- */

/* Writes the accumulated gradient into out (rounding once to its dtype) and frees it. */
static bool store(ir_tensor *out, double *acc) {
    int64_t count = ir_type_elems(&out->type);
    for (int64_t i = 0; i < count; i++) ir_tensor_set(out, i, acc[i]);
    free(acc);
    return true;
}

/* dx[tap] += dy[window] for the tap each window of max_pool2d(x) took; overlapping windows add. */
bool interp_max_pool2d_grad(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    ir_window w = ir_kern_pool_window(n, &in[0].type, &in[1].type);
    int64_t planes = in[0].type.dims[0] * in[0].type.dims[1], plane = w.in[0] * w.in[1];
    double *x = ir_kern_to_f64(n, &in[0], d), *dy = x ? ir_kern_to_f64(n, &in[1], d) : NULL;
    double *dx = dy ? ir_kern_alloc(n, (size_t)ir_type_elems(&out->type), sizeof *dx, d) : NULL;
    if (!dx) {
        free(x);
        free(dy);
        return false;
    }
    for (int64_t pl = 0, o_i = 0; pl < planes; pl++)
        for (int64_t y = 0; y < w.out[0]; y++)
            for (int64_t xo = 0; xo < w.out[1]; xo++, o_i++) {
                int64_t tap = ir_kern_max_tap(&w, x + pl * plane, y, xo);
                if (tap >= 0) dx[pl * plane + tap] += dy[o_i];
            }
    free(x);
    free(dy);
    return store(out, dx);
}

/* avg_pool2d(x)[y, xo] = the sum of its window's taps in the input / the window's divisor: each of
 * those taps gets dy / divisor. */
bool interp_avg_pool2d_grad(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    ir_window w = ir_kern_pool_window(n, &out->type, &in[0].type);
    int64_t planes = out->type.dims[0] * out->type.dims[1], plane = w.in[0] * w.in[1];
    double *dy = ir_kern_to_f64(n, &in[0], d);
    double *dx = dy ? ir_kern_alloc(n, (size_t)ir_type_elems(&out->type), sizeof *dx, d) : NULL;
    if (!dx) {
        free(dy);
        return false;
    }
    for (int64_t pl = 0, o_i = 0; pl < planes; pl++)
        for (int64_t y = 0; y < w.out[0]; y++)
            for (int64_t xo = 0; xo < w.out[1]; xo++, o_i++) {
                int64_t rows[2], cols[2];
                ir_kern_pool_taps(&w, y, xo, rows, cols);
                double share = dy[o_i] / ir_kern_pool_divisor(&w, y, xo);
                for (int64_t iy = rows[0]; iy < rows[1]; iy++)
                    for (int64_t ix = cols[0]; ix < cols[1]; ix++) dx[pl * plane + iy * w.in[1] + ix] += share;
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
    if (!ir_kern_check_indices(n, idx, axis, dim, d)) return false;
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
