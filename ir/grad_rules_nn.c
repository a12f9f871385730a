/* grad_rules_nn.c — reverse-mode rules of normalization, convolution, pooling and the losses
 * (ops.def, column grad). The composites compute their gradients in f32 between casts, as
 * their forward does; conv2d's gradients are convolutions themselves (with slices, pads and
 * reshapes around them), the pools' are the scatter ops max_pool2d_grad and avg_pool2d_grad. */
#include "ir/ir.h"

#include <string.h>

static const ir_type *type_of(const ir_builder *b, int id) { return ir_build_type(b, id); }

/* g (computed in f32) in the dtype of operand k. */
static int as_operand(ir_builder *b, const ir_node *n, int k, int g) {
    return ir_build_cast(b, g, type_of(b, n->in[k])->dtype);
}

/* ---- softmax, log_softmax ------------------------------------------------------------------ */

/* y = softmax(x): dx = y * (dy - sum(dy * y)) along the axis. */
bool grad_softmax(ir_builder *b, const ir_node *n, int dy, int *dx) {
    int axis = (int)n->attr[IR_ATTR_AXIS].v[0];
    int y = ir_build_f32(b, n->id), g = ir_build_f32(b, dy);
    int dot = ir_build_reduce(b, IR_OP_SUM, ir_build_mul(b, g, y), axis, true);
    dx[0] = as_operand(b, n, 0, ir_build_mul(b, y, ir_build_sub(b, g, dot)));
    return !b->failed;
}

/* y = log_softmax(x): dx = dy - exp(y) * sum(dy) along the axis. */
bool grad_log_softmax(ir_builder *b, const ir_node *n, int dy, int *dx) {
    int axis = (int)n->attr[IR_ATTR_AXIS].v[0];
    int p = ir_build_unary(b, IR_OP_EXP, ir_build_f32(b, n->id)), g = ir_build_f32(b, dy);
    int total = ir_build_reduce(b, IR_OP_SUM, g, axis, true);
    dx[0] = as_operand(b, n, 0, ir_build_sub(b, g, ir_build_mul(b, p, total)));
    return !b->failed;
}

/* ---- layer_norm, batch_norm --------------------------------------------------------------- */

/* y = xhat * gamma + beta over the last axis, xhat = (x - mean) * rstd (the statistics
 * recomputed as decompose computes them): dbeta = Σ dy, dgamma = Σ dy * xhat over the rows,
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma. */
bool grad_layer_norm(ir_builder *b, const ir_node *n, int dy, int *dx) {
    int x = ir_build_f32(b, n->in[0]), gamma = ir_build_f32(b, n->in[1]), g = ir_build_f32(b, dy);
    int last = type_of(b, n->in[0])->rank - 1;
    int centered = ir_build_sub(b, x, ir_build_reduce(b, IR_OP_MEAN, x, last, true));
    int var = ir_build_reduce(b, IR_OP_MEAN, ir_build_mul(b, centered, centered), last, true);
    int rstd = ir_build_unary(b, IR_OP_RSQRT, ir_build_add_k(b, var, n->attr[IR_ATTR_EPS].f));
    int xhat = ir_build_mul(b, centered, rstd);
    dx[2] = as_operand(b, n, 2, ir_build_sum_to(b, g, type_of(b, n->in[2])));
    dx[1] = as_operand(b, n, 1, ir_build_sum_to(b, ir_build_mul(b, g, xhat), type_of(b, n->in[1])));
    int gx = ir_build_mul(b, g, gamma);
    int mean_gx = ir_build_reduce(b, IR_OP_MEAN, gx, last, true);
    int proj = ir_build_reduce(b, IR_OP_MEAN, ir_build_mul(b, gx, xhat), last, true);
    int along = ir_build_mul(b, xhat, proj);
    int inner = ir_build_sub(b, ir_build_sub(b, gx, mean_gx), along);
    dx[0] = as_operand(b, n, 0, ir_build_mul(b, rstd, inner));
    return !b->failed;
}

/* A [C] vector of batch_norm laid along channel axis 1 of a rank-`rank` x: [C, 1, ...]. */
static int per_channel(ir_builder *b, int v, int rank) {
    if (b->failed) return -1;
    int64_t dims[IR_MAX_RANK];
    dims[0] = type_of(b, v)->dims[0];
    for (int i = 1; i < rank - 1; i++) dims[i] = 1;
    return ir_build_reshape(b, v, dims, rank - 1);
}

/* v (of x's shape) summed over every axis but the channels: [C]. */
static int channel_sum(ir_builder *b, int v, int64_t channels) {
    if (b->failed) return -1;
    const ir_type *t = type_of(b, v);
    ir_type to = {.dtype = t->dtype, .rank = t->rank - 1, .dims = {channels}};
    for (int i = 1; i < to.rank; i++) to.dims[i] = 1;
    return ir_build_reshape(b, ir_build_sum_to(b, v, &to), &channels, 1);
}

/* y = (x - mean) * s * gamma + beta per channel, s = rsqrt(var + eps) (the inference form):
 * dx = dy * s * gamma, dbeta = Σ dy, dgamma = Σ dy (x - mean) * s, dmean = -dbeta * s * gamma,
 * dvar = Σ dy (x - mean) * gamma * (-s³ / 2). */
bool grad_batch_norm(ir_builder *b, const ir_node *n, int dy, int *dx) {
    const ir_type *xt = type_of(b, n->in[0]);
    int64_t c = xt->dims[1];
    int x = ir_build_f32(b, n->in[0]), mean = ir_build_f32(b, n->in[1]);
    int var = ir_build_f32(b, n->in[2]), gamma = ir_build_f32(b, n->in[3]);
    int g = ir_build_f32(b, dy);
    int s = ir_build_unary(b, IR_OP_RSQRT, ir_build_add_k(b, var, n->attr[IR_ATTR_EPS].f));
    int scale = ir_build_mul(b, s, gamma);
    dx[0] = as_operand(b, n, 0, ir_build_mul(b, g, per_channel(b, scale, xt->rank)));
    int dbeta = channel_sum(b, g, c);
    dx[4] = as_operand(b, n, 4, dbeta);
    int centered = ir_build_sub(b, x, per_channel(b, mean, xt->rank));
    int moment = channel_sum(b, ir_build_mul(b, g, centered), c);
    dx[3] = as_operand(b, n, 3, ir_build_mul(b, moment, s));
    dx[1] = as_operand(b, n, 1, ir_build_unary(b, IR_OP_NEG, ir_build_mul(b, dbeta, scale)));
    int s3 = ir_build_mul(b, ir_build_mul(b, s, s), s);
    dx[2] = as_operand(b, n, 2, ir_build_mul_k(b, ir_build_mul(b, ir_build_mul(b, moment, gamma), s3), -0.5));
    return !b->failed;
}

/* ---- conv2d ----------------------------------------------------------------------------------- */

/* conv2d(x, w) with per-axis [h, w] stride, dilation and padding. */
static int conv(ir_builder *b, int x, int w, const int64_t *stride, const int64_t *dilation, const int64_t *lo,
                const int64_t *hi, int64_t groups) {
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    const ir_attr_id ids[4] = {IR_ATTR_STRIDE, IR_ATTR_DILATION, IR_ATTR_LO, IR_ATTR_HI};
    const int64_t *vals[4] = {stride, dilation, lo, hi};
    for (int k = 0; k < 4; k++) {
        attrs[ids[k]].n = 2;
        attrs[ids[k]].v[0] = vals[k][0];
        attrs[ids[k]].v[1] = vals[k][1];
    }
    attrs[IR_ATTR_GROUPS].v[0] = groups;
    int in[2] = {x, w};
    return ir_build(b, IR_OP_CONV2D, in, 2, attrs);
}

/* Padding (lo, hi) of the spatial axes of a 4-D v of spatial extent len[], where a negative
 * width crops: the part kept is sliced out here and *lo, *hi become the non-negative widths
 * left for the convolution's own padding. False when nothing is kept: then nothing v holds
 * reaches the convolution's result. */
static bool crop(ir_builder *b, int *v, const int64_t *len, int64_t *lo, int64_t *hi) {
    const ir_type *t = type_of(b, *v);
    int64_t start[4] = {0}, stop[4];
    memcpy(stop, t->dims, sizeof stop);
    for (int i = 0; i < 2; i++) {
        start[2 + i] = lo[i] < 0 ? -lo[i] : 0;
        stop[2 + i] = hi[i] < 0 ? len[i] + hi[i] : len[i];
        if (stop[2 + i] <= start[2 + i]) return false;
        if (lo[i] < 0) lo[i] = 0;
        if (hi[i] < 0) hi[i] = 0;
    }
    *v = ir_build_slice(b, *v, start, stop, NULL);
    return true;
}

/* x [N, G*Cg, H, W] -> [Cg, G*N, H, W]: within each group, the channels become the batch and
 * the images the channels (reshape [N, G, Cg], transpose to [Cg, G, N], reshape). */
static int images_as_channels(ir_builder *b, int x, int64_t groups) {
    static const int swap01[4] = {1, 0, 2, 3}, swap02[5] = {2, 1, 0, 3, 4};
    if (groups == 1) return ir_build_transpose(b, x, swap01);
    const ir_type *t = type_of(b, x);
    int64_t cg = t->dims[1] / groups;
    int64_t five[5] = {t->dims[0], groups, cg, t->dims[2], t->dims[3]};
    int64_t four[4] = {cg, groups * t->dims[0], t->dims[2], t->dims[3]};
    int r = ir_build_reshape(b, x, five, 5);
    r = ir_build_transpose(b, r, swap02);
    return ir_build_reshape(b, r, four, 4);
}

/* w [G*Og, Cg, KH, KW] -> [G*Cg, Og, KH, KW]: in and out channels swapped within each group
 * (reshape [G, Og, Cg], transpose to [G, Cg, Og], reshape). */
static int swap_group_channels(ir_builder *b, int w, int64_t groups) {
    static const int swap01[4] = {1, 0, 2, 3}, swap12[5] = {0, 2, 1, 3, 4};
    if (b->failed) return -1;
    if (groups == 1) return ir_build_transpose(b, w, swap01);
    const ir_type *t = type_of(b, w);
    int64_t og = t->dims[0] / groups;
    int64_t five[5] = {groups, og, t->dims[1], t->dims[2], t->dims[3]};
    int64_t four[4] = {groups * t->dims[1], og, t->dims[2], t->dims[3]};
    int r = ir_build_reshape(b, w, five, 5);
    r = ir_build_transpose(b, r, swap12);
    return ir_build_reshape(b, r, four, 4);
}

typedef struct conv_geom {
    int64_t groups, k[2], out[2], in[2], stride[2], dilation[2], lo[2], hi[2];
} conv_geom;

static conv_geom geom_of(const ir_builder *b, const ir_node *n) {
    const ir_type *x = type_of(b, n->in[0]), *w = type_of(b, n->in[1]);
    conv_geom c = {.groups = n->attr[IR_ATTR_GROUPS].v[0]};
    for (int i = 0; i < 2; i++) {
        c.k[i] = w->dims[2 + i];
        c.out[i] = n->type.dims[2 + i];
        c.in[i] = x->dims[2 + i];
        c.stride[i] = n->attr[IR_ATTR_STRIDE].v[i];
        c.dilation[i] = n->attr[IR_ATTR_DILATION].v[i];
        c.lo[i] = n->attr[IR_ATTR_LO].v[i];
        c.hi[i] = n->attr[IR_ATTR_HI].v[i];
    }
    return c;
}

/* dw[o, c, i, j] = Σ_{n, p, q} dy[n, o, p, q] x[n, g*Cg + c, p*s - lo + i*d, ...]: a convolution
 * of x (channels as the batch, images as the channels) with dy as the kernel, stride and dilation
 * swapped. Groups: x as [Cg, G*N, H, W] and dy as [G*Og = O, N, OH, OW] with groups G give
 * [Cg, O, KH, KW]. The padded extent is exactly s*(OH-1) + d*(KH-1) + 1, so the high padding is
 * what makes it so (a negative one crops rows no window reached). */
static int conv_weight_grad(ir_builder *b, const ir_node *n, int dy, const conv_geom *c) {
    int x = n->in[0];
    int64_t lo[2], hi[2], pad_lo[2], pad_hi[2];
    for (int i = 0; i < 2; i++) {
        lo[i] = c->lo[i];
        hi[i] = c->stride[i] * (c->out[i] - 1) + c->dilation[i] * (c->k[i] - 1) + 1 - c->in[i] - c->lo[i];
    }
    static const int swap01[4] = {1, 0, 2, 3};
    int images = images_as_channels(b, x, c->groups);
    if (b->failed) return -1;
    memcpy(pad_lo, lo, sizeof lo);
    memcpy(pad_hi, hi, sizeof hi);
    if (!crop(b, &images, c->in, pad_lo, pad_hi)) return ir_build_full_like(b, type_of(b, n->in[1]), 0);
    int kernel = ir_build_transpose(b, dy, swap01);
    int r = conv(b, images, kernel, c->dilation, c->stride, pad_lo, pad_hi, c->groups);
    return ir_build_transpose(b, r, swap01);
}

/* dy with s-1 zeros after each element along the spatial axes: [N, O, OH*sh, OW*sw] (the
 * trailing zeros are cropped by the caller). */
static int dilate(ir_builder *b, int dy, const int64_t *s) {
    if (s[0] == 1 && s[1] == 1) return dy;
    const ir_type *t = type_of(b, dy);
    int64_t six[6] = {t->dims[0], t->dims[1], t->dims[2], 1, t->dims[3], 1};
    int64_t lo[6] = {0}, hi[6] = {0, 0, 0, s[0] - 1, 0, s[1] - 1};
    int64_t four[4] = {t->dims[0], t->dims[1], t->dims[2] * s[0], t->dims[3] * s[1]};
    int r = ir_build_reshape(b, dy, six, 6);
    r = ir_build_pad(b, r, lo, hi);
    return ir_build_reshape(b, r, four, 4);
}

/* dx[n, g*Cg + c, h, w] = Σ dyd[n, o, h + lo - i*d, ...] w[o, c, i, j] (dyd: dy dilated by the
 * stride): a stride-1 convolution, dilation d, of dyd with the spatially flipped kernel whose
 * in/out channels are swapped within each group ([O, Cg] -> [C, Og]), padded by d*(K-1) - lo
 * before and H + lo - s*(OH-1) - 1 after (negative widths crop). */
static int conv_input_grad(ir_builder *b, const ir_node *n, int dy, const conv_geom *c) {
    int64_t lo[2], hi[2], len[2], ones[2] = {1, 1};
    for (int i = 0; i < 2; i++) {
        len[i] = c->stride[i] * (c->out[i] - 1) + 1;
        lo[i] = c->dilation[i] * (c->k[i] - 1) - c->lo[i];
        hi[i] = c->in[i] + c->lo[i] - c->stride[i] * (c->out[i] - 1) - 1;
    }
    int g = dilate(b, dy, c->stride);
    if (b->failed) return -1;
    if (!crop(b, &g, len, lo, hi)) return ir_build_full_like(b, type_of(b, n->in[0]), 0);
    const ir_type *w = type_of(b, n->in[1]);
    int64_t start[4] = {0, 0, 0, 0}, stop[4] = {w->dims[0], w->dims[1], w->dims[2], w->dims[3]}, step[4] = {1, 1, 1, 1};
    for (int i = 2; i < 4; i++) {
        if (w->dims[i] == 1) continue;
        start[i] = w->dims[i] - 1, stop[i] = -w->dims[i] - 1, step[i] = -1;
    }
    int flipped = ir_build_slice(b, n->in[1], start, stop, step);
    int kernel = swap_group_channels(b, flipped, c->groups);
    return conv(b, g, kernel, ones, c->dilation, lo, hi, c->groups);
}

bool grad_conv2d(ir_builder *b, const ir_node *n, int dy, int *dx) {
    conv_geom c = geom_of(b, n);
    dx[0] = conv_input_grad(b, n, dy, &c);
    dx[1] = conv_weight_grad(b, n, dy, &c);
    return !b->failed;
}

/* ---- pooling ------------------------------------------------------------------------------ */

/* The pool's window attributes (kernel, stride, padding) for its gradient op. */
static void pool_attrs(const ir_node *n, ir_attr *attrs) {
    memset(attrs, 0, sizeof(ir_attr) * IR_ATTR_COUNT);
    attrs[IR_ATTR_KERNEL] = n->attr[IR_ATTR_KERNEL];
    attrs[IR_ATTR_STRIDE] = n->attr[IR_ATTR_STRIDE];
    attrs[IR_ATTR_LO] = n->attr[IR_ATTR_LO];
    attrs[IR_ATTR_HI] = n->attr[IR_ATTR_HI];
}

/* max_pool2d: each window's first maximum gets the window's dy (max_pool2d_grad). */
bool grad_max_pool2d(ir_builder *b, const ir_node *n, int dy, int *dx) {
    ir_attr attrs[IR_ATTR_COUNT];
    pool_attrs(n, attrs);
    int in[2] = {n->in[0], dy};
    dx[0] = ir_build(b, IR_OP_MAX_POOL2D_GRAD, in, 2, attrs);
    return !b->failed;
}

/* avg_pool2d: every tap of a window gets dy / (kh * kw) (avg_pool2d_grad). */
bool grad_avg_pool2d(ir_builder *b, const ir_node *n, int dy, int *dx) {
    const ir_type *x = type_of(b, n->in[0]);
    ir_attr attrs[IR_ATTR_COUNT];
    pool_attrs(n, attrs);
    attrs[IR_ATTR_SHAPE].n = 4;
    memcpy(attrs[IR_ATTR_SHAPE].v, x->dims, sizeof(int64_t) * 4);
    dx[0] = ir_build(b, IR_OP_AVG_POOL2D_GRAD, &dy, 1, attrs);
    return !b->failed;
}

/* global_avg_pool [N, C, H, W] -> [N, C]: dy / (H * W) at every position, divided in f32 (an
 * f16 count overflows above 65504) as the forward divides its sum. */
bool grad_global_avg_pool(ir_builder *b, const ir_node *n, int dy, int *dx) {
    const ir_type *x = type_of(b, n->in[0]);
    int64_t dims[4] = {x->dims[0], x->dims[1], 1, 1};
    int g = ir_build_f32(b, ir_build_reshape(b, dy, dims, 4));
    g = ir_build_binary(b, IR_OP_DIV, g, ir_build_scalar(b, (double)(x->dims[2] * x->dims[3]), IR_F32));
    dx[0] = ir_build_broadcast_to(b, as_operand(b, n, 0, g), x->dims, 4);
    return !b->failed;
}

/* ---- losses ---------------------------------------------------------------------------------- */

/* cross_entropy(logits, labels) per example: (softmax(logits) - one_hot(labels)) * dy, the
 * softmax a node of its own (decompose expands it); none to the labels. The one_hot is the
 * checked one: when only the gradient is used the forward node is dead, and a label out of range
 * must still be the forward's error, not a zero row and a wrong gradient (LANGUAGE.md §6). */
bool grad_cross_entropy(ir_builder *b, const ir_node *n, int dy, int *dx) {
    const ir_type *x = type_of(b, n->in[0]);
    int last = x->rank - 1;
    dx[1] = -1;
    if (x->dims[last] == 0) { /* no class: the gradient is empty, and any label is out of range */
        if (!b->failed && ir_type_elems(type_of(b, n->in[1])) > 0) {
            ir_error(b->d, b->loc, "cross_entropy: every label is out of range for 0 classes");
            b->failed = true;
        }
        dx[0] = ir_build_full_like(b, x, 0);
        return !b->failed;
    }
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_AXIS].v[0] = last;
    int logits = ir_build_f32(b, n->in[0]);
    int p = ir_build(b, IR_OP_SOFTMAX, &logits, 1, attrs);
    memset(attrs, 0, sizeof attrs);
    attrs[IR_ATTR_DEPTH].v[0] = x->dims[last];
    int target = ir_build(b, IR_OP_ONE_HOT_CHECKED, &n->in[1], 1, attrs);
    int64_t dims[IR_MAX_RANK];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    dims[last] = 1;
    int g = ir_build_reshape(b, dy, dims, x->rank);
    dx[0] = as_operand(b, n, 0, ir_build_mul(b, ir_build_sub(b, p, target), g));
    return !b->failed;
}

/* mse(a, b) = mean((a - b)^2) over the broadcast shape of count elements: 2 (a - b) dy / count
 * to a, its negation to b. */
bool grad_mse(ir_builder *b, const ir_node *n, int dy, int *dx) {
    int a = ir_build_f32(b, n->in[0]), c = ir_build_f32(b, n->in[1]);
    int diff = ir_build_sub(b, a, c);
    int64_t count = b->failed ? 1 : ir_type_elems(type_of(b, diff));
    int g = ir_build_mul(b, diff, ir_build_mul_k(b, ir_build_f32(b, dy), 2.0 / (double)count));
    dx[0] = as_operand(b, n, 0, ir_build_sum_to(b, g, type_of(b, n->in[0])));
    int to_b = ir_build_sum_to(b, g, type_of(b, n->in[1]));
    dx[1] = as_operand(b, n, 1, ir_build_unary(b, IR_OP_NEG, to_b));
    return !b->failed;
}
