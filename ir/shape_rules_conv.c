/* shape_rules_conv.c — shape rules of conv2d and the 2-D pools (NCHW input, OIHW weights),
 * with PyTorch's output-size formula. Per-spatial-axis attributes ([h, w] pairs) are checked
 * and written back with both entries, the "same" and stride=kernel markers resolved. */
#include "ir/ir.h"

static const ir_type *operand_type(const ir_graph *g, const ir_node *n, int i) {
    return &ir_operand(g, n, i)->type;
}

/* A [h, w] attribute. n = 0 takes dflt: the frontend always writes both entries, but IR built
 * by hand may leave a default out. Entries must lie in [min, IR_MAX_ELEMS]: bounding them here
 * keeps every later size computation far from overflow. */
static bool pair_attr(ir_node *n, ir_diag *d, ir_attr_id id, const char *what, int64_t dflt, int64_t min) {
    ir_attr *a = &n->attr[id];
    if (a->n == 0) {
        a->n = 2;
        a->v[0] = a->v[1] = dflt;
    }
    if (a->n != 2) {
        ir_error(d, n->loc, "%s: %s must have 2 entries [h, w], got %d", ir_op_name(n->op), what, a->n);
        return false;
    }
    for (int i = 0; i < 2; i++) {
        if (a->v[i] < min || a->v[i] > IR_MAX_ELEMS) {
            ir_error(d, n->loc, "%s: %s %s %s", ir_op_name(n->op), what, ir_ints_text(a->v, 2).s,
                     a->v[i] > IR_MAX_ELEMS ? "is too large"
                     : min > 0              ? "must be positive"
                                            : "must be non-negative");
            return false;
        }
    }
    return true;
}

static bool check_nchw(ir_node *n, ir_diag *d, const char *what, const ir_type *t, const char *layout) {
    if (t->rank == 4 && ir_dtype_is_float(t->dtype)) return true;
    ir_error(d, n->loc, "%s: %s must be a rank-4 float tensor (%s), got %s", ir_op_name(n->op), what, layout,
             ir_type_text(t).s);
    return false;
}

/* out = floor((size + lo + hi - span) / stride) + 1, with span the (dilated) window; 0 when
 * the window does not fit. All inputs are below 2^40 except span, bounded by the caller. */
static int64_t window_out(int64_t size, int64_t lo, int64_t hi, int64_t span, int64_t stride) {
    int64_t padded = size + lo + hi;
    return padded < span ? 0 : (padded - span) / stride + 1;
}

static const char *pair_text(const int64_t *v, char *buf, size_t size) {
    if (v[0] == v[1])
        snprintf(buf, size, "%lld", (long long)v[0]);
    else
        snprintf(buf, size, "%lldx%lld", (long long)v[0], (long long)v[1]);
    return buf;
}

/* The channel and group constraints between x [N, C, H, W] and w [O, C/groups, kh, kw]. */
static bool check_conv_channels(ir_node *n, ir_diag *d, const ir_type *x, const ir_type *w) {
    int64_t groups = n->attr[IR_ATTR_GROUPS].v[0], c = x->dims[1], o = w->dims[0];
    if (groups < 1) {
        ir_error(d, n->loc, "conv2d: groups must be at least 1, got %lld", (long long)groups);
        return false;
    }
    if (c % groups != 0 || o % groups != 0) {
        ir_error(d, n->loc, "conv2d: groups %lld must divide both the %lld input channels of %s and the %lld "
                 "output channels of %s", (long long)groups, (long long)c, ir_type_text(x).s, (long long)o,
                 ir_type_text(w).s);
        return false;
    }
    if (w->dims[1] != c / groups) {
        ir_error(d, n->loc, "conv2d: weight %s expects %lld input channels per group, but %s with groups %lld "
                 "has %lld", ir_type_text(w).s, (long long)w->dims[1], ir_type_text(x).s, (long long)groups,
                 (long long)(c / groups));
        return false;
    }
    return true;
}

/* span = dilation*(k-1) + 1, the extent of the dilated window, per spatial axis. Bounded by
 * 2^42 (no padded input is larger), which also keeps the product from overflowing. */
static bool conv_span(ir_node *n, ir_diag *d, const ir_type *w, const int64_t *dil, int64_t *span) {
    for (int i = 0; i < 2; i++) {
        int64_t k1 = w->dims[2 + i] - 1;
        if (k1 < 0) {
            ir_error(d, n->loc, "conv2d: weight %s has an empty kernel", ir_type_text(w).s);
            return false;
        }
        if (k1 > 0 && dil[i] > ((int64_t)4 << 40) / k1) {
            char dt[48];
            ir_error(d, n->loc, "conv2d: kernel %lldx%lld with dilation %s is too large", (long long)w->dims[2],
                     (long long)w->dims[3], pair_text(dil, dt, sizeof dt));
            return false;
        }
        span[i] = dil[i] * k1 + 1;
    }
    return true;
}

/* LO n = -2 is padding "same" (stride 1 only): total = dilation*(k-1) split as PyTorch does,
 * lo = total/2 and hi the rest. Needs span[] = dilation*(k-1) + 1 per axis. */
static bool conv_padding(ir_node *n, ir_diag *d, const int64_t *span) {
    ir_attr *lo = &n->attr[IR_ATTR_LO], *hi = &n->attr[IR_ATTR_HI];
    if (lo->n != -2)
        return pair_attr(n, d, IR_ATTR_LO, "padding", 0, 0) && pair_attr(n, d, IR_ATTR_HI, "padding", 0, 0);
    const int64_t *stride = n->attr[IR_ATTR_STRIDE].v;
    if (stride[0] != 1 || stride[1] != 1) {
        ir_error(d, n->loc, "conv2d: padding \"same\" requires stride 1, got stride %s", ir_ints_text(stride, 2).s);
        return false;
    }
    lo->n = hi->n = 2;
    for (int i = 0; i < 2; i++) {
        int64_t total = span[i] - 1;
        lo->v[i] = total / 2;
        hi->v[i] = total - lo->v[i];
    }
    return true;
}

/* conv2d: out [N, O, Ho, Wo], Ho = floor((H + lo + hi - dilation*(kh-1) - 1) / stride) + 1. */
bool shape_conv2d(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *x = operand_type(g, n, 0), *w = operand_type(g, n, 1);
    if (!check_nchw(n, d, "input", x, "NCHW") || !check_nchw(n, d, "weight", w, "OIHW") ||
        !ir_shape_same_dtype(n, d, x, w) || !check_conv_channels(n, d, x, w) ||
        !pair_attr(n, d, IR_ATTR_STRIDE, "stride", 1, 1) || !pair_attr(n, d, IR_ATTR_DILATION, "dilation", 1, 1))
        return false;
    const int64_t *dil = n->attr[IR_ATTR_DILATION].v, *stride = n->attr[IR_ATTR_STRIDE].v;
    int64_t span[2];
    if (!conv_span(n, d, w, dil, span) || !conv_padding(n, d, span)) return false;
    const int64_t *lo = n->attr[IR_ATTR_LO].v, *hi = n->attr[IR_ATTR_HI].v;
    ir_type out = {.dtype = x->dtype, .rank = 4, .dims = {x->dims[0], w->dims[0]}};
    for (int i = 0; i < 2; i++) {
        out.dims[2 + i] = window_out(x->dims[2 + i], lo[i], hi[i], span[i], stride[i]);
        if (out.dims[2 + i] < 1) {
            char dt[48];
            ir_error(d, n->loc, "conv2d: kernel %lldx%lld (dilation %s) does not fit in the padded %lldx%lld input",
                     (long long)w->dims[2], (long long)w->dims[3], pair_text(dil, dt, sizeof dt),
                     (long long)(x->dims[2] + lo[0] + hi[0]), (long long)(x->dims[3] + lo[1] + hi[1]));
            return false;
        }
    }
    return ir_shape_set(n, d, &out);
}

/* The pooled type of x [N, C, H, W] under n's pool attributes (max_pool2d, avg_pool2d and their
 * gradients). STRIDE n = 0 means stride = kernel; each pad at most half the kernel (PyTorch's
 * rule, so that no window lies entirely in the padding); ceil_mode false. */
static bool pool_out(ir_node *n, ir_diag *d, const ir_type *x, ir_type *out) {
    if (!check_nchw(n, d, "input", x, "NCHW")) return false;
    ir_attr *kernel = &n->attr[IR_ATTR_KERNEL], *stride = &n->attr[IR_ATTR_STRIDE];
    if (kernel->n == 0) {
        ir_error(d, n->loc, "%s: missing kernel size", ir_op_name(n->op));
        return false;
    }
    if (!pair_attr(n, d, IR_ATTR_KERNEL, "kernel", 1, 1)) return false;
    if (stride->n == 0) *stride = *kernel;
    if (!pair_attr(n, d, IR_ATTR_STRIDE, "stride", 1, 1) || !pair_attr(n, d, IR_ATTR_LO, "padding", 0, 0) ||
        !pair_attr(n, d, IR_ATTR_HI, "padding", 0, 0))
        return false;
    const int64_t *k = kernel->v, *lo = n->attr[IR_ATTR_LO].v, *hi = n->attr[IR_ATTR_HI].v;
    *out = (ir_type){.dtype = x->dtype, .rank = 4, .dims = {x->dims[0], x->dims[1]}};
    for (int i = 0; i < 2; i++) {
        if (lo[i] > k[i] / 2 || hi[i] > k[i] / 2) {
            ir_error(d, n->loc, "%s: padding [%lld, %lld] on spatial axis %d is more than half the kernel size %lld",
                     ir_op_name(n->op), (long long)lo[i], (long long)hi[i], i, (long long)k[i]);
            return false;
        }
        out->dims[2 + i] = window_out(x->dims[2 + i], lo[i], hi[i], k[i], stride->v[i]);
        if (out->dims[2 + i] < 1) {
            ir_error(d, n->loc, "%s: kernel %lldx%lld does not fit in the padded %lldx%lld input", ir_op_name(n->op),
                     (long long)k[0], (long long)k[1], (long long)(x->dims[2] + lo[0] + hi[0]),
                     (long long)(x->dims[3] + lo[1] + hi[1]));
            return false;
        }
    }
    return true;
}

bool shape_pool2d(ir_graph *g, ir_node *n, ir_diag *d) {
    ir_type out;
    return pool_out(n, d, operand_type(g, n, 0), &out) && ir_shape_set(n, d, &out);
}

/* A pool's gradient: dy must have the pooled type of x; the result has x's type. */
static bool check_pool_grad(ir_node *n, ir_diag *d, const ir_type *x, const ir_type *dy) {
    ir_type want;
    if (!pool_out(n, d, x, &want)) return false;
    if (ir_type_equal(&want, dy)) return ir_shape_set(n, d, x);
    ir_error(d, n->loc, "%s: the gradient is %s but the pool of %s is %s", ir_op_name(n->op), ir_type_text(dy).s,
             ir_type_text(x).s, ir_type_text(&want).s);
    return false;
}

/* max_pool2d_grad(x, dy) -> x's type. */
bool shape_max_pool2d_grad(ir_graph *g, ir_node *n, ir_diag *d) {
    return check_pool_grad(n, d, operand_type(g, n, 0), operand_type(g, n, 1));
}

/* avg_pool2d_grad(dy) [shape = x's dims] -> dy's dtype, x's dims. */
bool shape_avg_pool2d_grad(ir_graph *g, ir_node *n, ir_diag *d) {
    const ir_type *dy = operand_type(g, n, 0);
    const ir_attr *shape = &n->attr[IR_ATTR_SHAPE];
    if (shape->n != 4) {
        ir_error(d, n->loc, "avg_pool2d_grad: shape must have 4 entries (the pooled input's NCHW dims), got %d",
                 shape->n);
        return false;
    }
    ir_type x = {.dtype = dy->dtype, .rank = 4};
    int64_t elems;
    for (int i = 0; i < 4; i++) x.dims[i] = shape->v[i];
    if (!ir_dims_product(x.dims, 4, &elems) || x.dims[0] < 0 || x.dims[1] < 0 || x.dims[2] < 0 || x.dims[3] < 0) {
        ir_error(d, n->loc, "avg_pool2d_grad: shape %s is not a tensor shape", ir_ints_text(x.dims, 4).s);
        return false;
    }
    return check_pool_grad(n, d, &x, dy);
}
