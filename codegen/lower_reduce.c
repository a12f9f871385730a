/* lower_reduce.c — values that need loops of their own: reductions (sum, mean, max, min, argmax,
 * global_avg_pool), pooling windows and the pools' gradients (each element of dx summed over the
 * windows that hold it), gather_grad output-indexed, contractions computed elementally (matmul
 * and conv2d in dtypes the library does not take), cross_entropy, and integer powers. Each is a
 * scalar accumulator with its loop nest, emitted before the statement that uses it, at the
 * outermost open scope its coordinates allow, so a row statistic is computed once per row. */
#include "codegen/lower.h"

#include <math.h>

static int hoist_level(const cg_lower *w, const cg_coords *c) {
    int level = cg_coords_level(c);
    return level > w->min_level ? level : w->min_level;
}

static const ir_type *type_of(const cg_lower *w, int id) { return &w->g->nodes[id]->type; }

/* A scalar variable initialized at `level`. */
static int new_acc(cg_lower *w, ir_dtype type, int level, cg_expr *init) {
    int v = cg_new_var(w, "acc", type, false, level, -1);
    cg_emit_assign(w, level, v, init);
    return v;
}

static cg_expr *lowest(cg_lower *w, ir_dtype t) {
    return t == IR_F32 ? cg_const_f(w, -INFINITY) : cg_const_i(w, t, t == IR_I32 ? INT32_MIN : INT64_MIN);
}

static cg_expr *highest(cg_lower *w, ir_dtype t) {
    return t == IR_F32 ? cg_const_f(w, INFINITY) : cg_const_i(w, t, t == IR_I32 ? INT32_MAX : INT64_MAX);
}

/* ---- reductions ------------------------------------------------------------------------------- */

void cg_open_reduced(cg_lower *w, cg_reduced_loops *r, const ir_type *x, const bool *axes, int level,
                     unsigned inner_flags, cg_coords *xc) {
    r->n = 0;
    r->inner_var = -1; /* no reduced axis: one element, no loop */
    int last_run = -1;
    for (int i = 0; i < x->rank; i++)
        if (axes[i] && (i == 0 || !axes[i - 1])) last_run = i;
    for (int i = 0; i < x->rank;) {
        if (!axes[i]) {
            i++;
            continue;
        }
        ir_type run = {.dtype = x->dtype, .rank = 0};
        int start = i;
        for (; i < x->rank && axes[i]; i++) run.dims[run.rank++] = x->dims[i];
        int64_t extent = ir_type_elems(&run);
        unsigned flags = start == last_run ? inner_flags : 0;
        int var = cg_open_loop(w, &r->marks[r->n++], level, extent, flags);
        level = w->level;
        cg_coords rc;
        cg_delinearize(w, cg_var_ref(w, var), &run, &rc);
        for (int k = 0; k < run.rank; k++) xc->c[start + k] = rc.c[k];
        r->inner_var = var;
    }
}

void cg_close_reduced(cg_lower *w, cg_reduced_loops *r) {
    for (int i = r->n - 1; i >= 0; i--) cg_close_loop(w, &r->marks[i]);
}

static int64_t reduced_count(const ir_type *x, const bool *axes) {
    int64_t count = 1;
    for (int i = 0; i < x->rank; i++)
        if (axes[i]) count *= x->dims[i];
    return count;
}

/* X's coordinates for the row of output coordinates c: kept axes from c (skipping the size-1
 * axes of keepdims), reduced axes filled in by the loops. With one trailing run of reduced
 * axes, X's linear index is row * count + k. */
static void row_coords(cg_lower *w, const ir_node *n, const cg_coords *c, const bool *axes, cg_coords *xc) {
    const ir_type *x = type_of(w, n->in[0]);
    bool keep = n->op != IR_OP_GLOBAL_AVG_POOL && n->attr[IR_ATTR_KEEPDIMS].v[0] != 0;
    xc->rank = x->rank;
    xc->flat = NULL;
    for (int i = 0, o = 0; i < x->rank; i++) {
        if (!axes[i]) xc->c[i] = c->c[o++];
        else if (keep) o++;
    }
}

/* float max/min propagate NaN (CG_MAX); argmax takes the first maximum, a NaN being the maximum. */
static void reduce_update(cg_lower *w, const ir_node *n, int acc, int idx, cg_expr *v, cg_expr *k) {
    cg_expr *a = cg_var_ref(w, acc);
    switch (n->op) {
    case IR_OP_MAX: cg_emit_assign(w, w->level, acc, cg_max_num(w, a, v)); break;
    case IR_OP_MIN: cg_emit_assign(w, w->level, acc, cg_min_num(w, a, v)); break;
    case IR_OP_ARGMAX: {
        cg_expr *take = cg_call2(w, CG_GT, v, a);
        if (v->type == IR_F32)
            take = cg_call2(w, CG_AND, cg_call2(w, CG_OR, take, cg_call1(w, CG_ISNAN, v)), cg_call1(w, CG_NOT, cg_call1(w, CG_ISNAN, a)));
        /* idx first: the second assignment's condition must still see the old maximum */
        cg_emit_assign(w, w->level, idx, cg_select(w, take, k, cg_var_ref(w, idx)));
        cg_emit_assign(w, w->level, acc, cg_select(w, take, v, a));
        break;
    }
    default: cg_emit_assign(w, w->level, acc, cg_call2(w, CG_ADD, a, v)); break;
    }
}

cg_expr *cg_reduce_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    const ir_type *x = type_of(w, n->in[0]);
    bool axes[IR_MAX_RANK];
    ir_reduced_axes(n, axes);
    ir_dtype t = cg_value_type(x->dtype);
    int level = hoist_level(w, c);
    int64_t count = reduced_count(x, axes);
    cg_expr *init = n->op == IR_OP_MAX || n->op == IR_OP_ARGMAX ? lowest(w, t)
                    : n->op == IR_OP_MIN                        ? highest(w, t)
                                                                : cg_const_of(w, t, 0);
    int acc = new_acc(w, t, level, init);
    int idx = n->op == IR_OP_ARGMAX ? new_acc(w, IR_I64, level, cg_index(w, 0)) : -1;
    if (count > 0) {
        cg_coords xc;
        row_coords(w, n, c, axes, &xc);
        cg_reduced_loops loops;
        cg_open_reduced(w, &loops, x, axes, level, n->op == IR_OP_ARGMAX ? 0 : CG_LOOP_VECTOR, &xc);
        if (loops.n == 1 && axes[x->rank - 1]) /* one trailing run */
            xc.flat = cg_add(w, cg_mul(w, cg_linearize(w, c, &n->type), cg_index(w, count)), cg_var_ref(w, loops.inner_var));
        cg_expr *k = loops.inner_var >= 0 ? cg_var_ref(w, loops.inner_var) : cg_index(w, 0);
        if (loops.n == 0) xc.flat = cg_linearize(w, c, &n->type);
        reduce_update(w, n, acc, idx, cg_elem(w, n->in[0], &xc), k);
        cg_close_reduced(w, &loops);
    }
    if (n->op == IR_OP_ARGMAX) return cg_cast(w, IR_I32, cg_var_ref(w, idx));
    if (n->op == IR_OP_MEAN || n->op == IR_OP_GLOBAL_AVG_POOL) /* an empty mean is 0/0 = NaN, as np.mean */
        return cg_call2(w, CG_DIV, cg_var_ref(w, acc), cg_const_f(w, (double)count));
    return cg_var_ref(w, acc);
}

/* ---- windows ---------------------------------------------------------------------------------- */

/* max: padding never wins (-inf) and NaN propagates; avg: divided by the window clipped to the
 * padded input, padding counted (PyTorch count_include_pad=True). */
cg_expr *cg_pool_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    const ir_type *x = type_of(w, n->in[0]);
    bool is_max = n->op == IR_OP_MAX_POOL2D;
    const int64_t *kernel = n->attr[IR_ATTR_KERNEL].v, *stride = n->attr[IR_ATTR_STRIDE].v;
    const int64_t *lo = n->attr[IR_ATTR_LO].v, *hi = n->attr[IR_ATTR_HI].v;
    int level = hoist_level(w, c);
    int acc = new_acc(w, IR_F32, level, is_max ? cg_const_f(w, -INFINITY) : cg_const_f(w, 0));
    cg_expr *origin[2];
    for (int a = 0; a < 2; a++) origin[a] = cg_sub(w, cg_mul(w, c->c[2 + a], cg_index(w, stride[a])), cg_index(w, lo[a]));
    cg_loop_mark mi, mj;
    int vi = cg_open_loop(w, &mi, level, kernel[0], 0);
    int vj = cg_open_loop(w, &mj, w->level, kernel[1], CG_LOOP_VECTOR);
    cg_expr *inside = cg_const_i(w, IR_BOOL, 1);
    cg_coords xc = {.rank = 4, .c = {c->c[0], c->c[1]}};
    xc.c[2] = cg_clamp_inside(w, cg_add(w, origin[0], cg_var_ref(w, vi)), x->dims[2], &inside);
    xc.c[3] = cg_clamp_inside(w, cg_add(w, origin[1], cg_var_ref(w, vj)), x->dims[3], &inside);
    cg_expr *v = cg_select(w, inside, cg_elem(w, n->in[0], &xc), is_max ? cg_const_f(w, -INFINITY) : cg_const_f(w, 0));
    cg_expr *a = cg_var_ref(w, acc);
    cg_emit_assign(w, w->level, acc, is_max ? cg_call2(w, CG_MAX, a, v) : cg_call2(w, CG_ADD, a, v));
    cg_close_loop(w, &mj);
    cg_close_loop(w, &mi);
    if (is_max) return a;
    cg_expr *count = cg_index(w, 1);
    for (int k = 0; k < 2; k++) {
        cg_expr *end = cg_min_num(w, cg_add(w, origin[k], cg_index(w, kernel[k])), cg_index(w, x->dims[2 + k] + hi[k]));
        count = cg_mul(w, count, cg_sub(w, end, origin[k]));
    }
    return cg_call2(w, CG_DIV, a, cg_cast(w, IR_F32, count));
}

/* ---- window gradients ------------------------------------------------------------------------- */

/* The windows of a pool along one spatial axis that contain position p: window o starts at
 * o*s - lo and holds p when o*s <= p + lo < o*s + k, so o runs over at most n = ceil(k/s)
 * values ending at floor((p + lo)/s) (p + lo >= 0: the division is a floor). Candidate t of
 * [0, n) is that last one minus n-1-t, so the windows come in increasing order. */
typedef struct window_axis {
    int64_t size, windows, kernel, stride, lo;   /* the input's extent, the pooled one, attrs */
    int64_t n;                                   /* candidates per position */
} window_axis;

/* A pool gradient's two spatial axes: dx (n's type) against the pooled dy. */
static void window_axes(const cg_lower *w, const ir_node *n, window_axis ax[2]) {
    const ir_type *dyt = type_of(w, n->in[n->op == IR_OP_MAX_POOL2D_GRAD ? 1 : 0]);
    for (int a = 0; a < 2; a++) {
        int64_t k = n->attr[IR_ATTR_KERNEL].v[a], s = n->attr[IR_ATTR_STRIDE].v[a];
        ax[a] = (window_axis){n->type.dims[2 + a], dyt->dims[2 + a], k, s, n->attr[IR_ATTR_LO].v[a], (k + s - 1) / s};
    }
}

/* Candidate window o (clamped into [0, windows)) for position p and t, with the tap of p in it
 * (p + lo - o*s); *valid &&= o is a real window that holds p. */
static cg_expr *candidate_window(cg_lower *w, const window_axis *a, cg_expr *p, cg_expr *t, cg_expr **tap,
                                 cg_expr **valid) {
    cg_expr *shifted = cg_add(w, p, cg_index(w, a->lo));
    cg_expr *last = cg_call2(w, CG_DIV, shifted, cg_index(w, a->stride));
    cg_expr *o = cg_clamp_inside(w, cg_add(w, cg_sub(w, last, cg_index(w, a->n - 1)), t), a->windows, valid);
    *tap = cg_sub(w, shifted, cg_mul(w, o, cg_index(w, a->stride)));
    *valid = cg_call2(w, CG_AND, *valid, cg_call2(w, CG_LT, *tap, cg_index(w, a->kernel)));
    return o;
}

cg_expr *cg_max_pool_tap(cg_lower *w, const ir_node *n, const cg_coords *c, cg_expr *const *o, int level) {
    window_axis ax[2];
    window_axes(w, n, ax);
    int best = new_acc(w, IR_F32, level, cg_const_f(w, -INFINITY)), arg = new_acc(w, IR_I64, level, cg_index(w, -1));
    cg_loop_mark mi, mj;
    cg_expr *i = cg_var_ref(w, cg_open_loop(w, &mi, level, ax[0].kernel, 0));
    cg_expr *j = cg_var_ref(w, cg_open_loop(w, &mj, w->level, ax[1].kernel, 0));
    cg_expr *inside = cg_const_i(w, IR_BOOL, 1), *k[2] = {i, j};
    cg_coords xc = {.rank = 4, .c = {c->c[0], c->c[1]}};
    for (int a = 0; a < 2; a++) {
        cg_expr *origin = cg_sub(w, cg_mul(w, o[a], cg_index(w, ax[a].stride)), cg_index(w, ax[a].lo));
        xc.c[2 + a] = cg_clamp_inside(w, cg_add(w, origin, k[a]), ax[a].size, &inside);
    }
    cg_expr *v = cg_elem(w, n->in[0], &xc), *b = cg_var_ref(w, best);
    cg_expr *better = cg_call2(w, CG_OR, cg_call2(w, CG_GT, v, b), cg_call1(w, CG_ISNAN, v));
    better = cg_call2(w, CG_AND, better, cg_call1(w, CG_NOT, cg_call1(w, CG_ISNAN, b)));
    cg_expr *first = cg_call2(w, CG_LT, cg_var_ref(w, arg), cg_index(w, 0));
    /* The decision is a variable: both updates after it must see the old maximum and index. */
    int take = cg_new_var(w, "take", IR_BOOL, false, w->level, -1);
    cg_emit_assign(w, w->level, take, cg_call2(w, CG_AND, inside, cg_call2(w, CG_OR, first, better)));
    cg_expr *tk = cg_var_ref(w, take), *at = cg_add(w, cg_mul(w, i, cg_index(w, ax[1].kernel)), j);
    cg_emit_assign(w, w->level, arg, cg_select(w, tk, at, cg_var_ref(w, arg)));
    cg_emit_assign(w, w->level, best, cg_select(w, tk, v, b));
    cg_close_loop(w, &mj);
    cg_close_loop(w, &mi);
    return cg_var_ref(w, arg);
}

/* What candidate (t, u) gives dx at c: dy / (kh*kw) for avg (every window lies in the padded
 * input, so it always counts kh*kw taps), dy for max when the window's maximum is at c; zero
 * when the candidate is no window holding c. Statements (max's tap loops) go to `level`. */
static cg_expr *window_share(cg_lower *w, const ir_node *n, const window_axis *ax, const cg_coords *c, cg_expr *t,
                             cg_expr *u, int level) {
    bool is_max = n->op == IR_OP_MAX_POOL2D_GRAD;
    cg_expr *valid = cg_const_i(w, IR_BOOL, 1), *tap[2], *o[2];
    o[0] = candidate_window(w, &ax[0], c->c[2], t, &tap[0], &valid);
    o[1] = candidate_window(w, &ax[1], c->c[3], u, &tap[1], &valid);
    cg_coords dc = {.rank = 4, .c = {c->c[0], c->c[1], o[0], o[1]}};
    cg_expr *g = cg_elem(w, n->in[is_max ? 1 : 0], &dc);
    if (is_max) {
        cg_expr *mine = cg_add(w, cg_mul(w, tap[0], cg_index(w, ax[1].kernel)), tap[1]);
        valid = cg_call2(w, CG_AND, valid, cg_call2(w, CG_EQ, cg_max_pool_tap(w, n, c, o, level), mine));
    } else {
        g = cg_call2(w, CG_DIV, g, cg_const_f(w, (double)(ax[0].kernel * ax[1].kernel)));
    }
    return cg_select(w, valid, g, cg_const_f(w, 0));
}

enum { MAX_UNROLLED_WINDOWS = 16 };

/* dx[b, c, y, x] of avg_pool2d_grad(dy) (and of a max_pool2d_grad that cannot be a scatter),
 * output-indexed: the sum, in the windows' row-major order, of what each window holding (y, x)
 * gives it. At most ceil(kh/sh) * ceil(kw/sw) candidates; one that is no window (outside the
 * pooled extent, or short of (y, x) when the stride exceeds the kernel) adds zero, and its
 * clamped reads stay in bounds. An avg's few candidates are one expression, so the loop over
 * the row stays innermost and vectorizes; otherwise loops over the candidates. */
cg_expr *cg_pool_grad_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    window_axis ax[2];
    window_axes(w, n, ax);
    int level = hoist_level(w, c), at = level;
    if (n->op == IR_OP_AVG_POOL2D_GRAD && ax[0].n * ax[1].n <= MAX_UNROLLED_WINDOWS) {
        cg_expr *sum = cg_const_f(w, 0);
        for (int64_t t = 0; t < ax[0].n; t++)
            for (int64_t u = 0; u < ax[1].n; u++)
                sum = cg_call2(w, CG_ADD, sum, window_share(w, n, ax, c, cg_index(w, t), cg_index(w, u), level));
        return sum;
    }
    int acc = new_acc(w, IR_F32, level, cg_const_f(w, 0));
    /* one candidate per axis (stride >= kernel) needs no loop: its index is 0 */
    cg_loop_mark mt, mu;
    cg_expr *t = cg_index(w, 0), *u = cg_index(w, 0);
    if (ax[0].n > 1) {
        t = cg_var_ref(w, cg_open_loop(w, &mt, at, ax[0].n, 0));
        at = w->level;
    }
    if (ax[1].n > 1) {
        u = cg_var_ref(w, cg_open_loop(w, &mu, at, ax[1].n, 0));
        at = w->level;
    }
    cg_expr *a = cg_var_ref(w, acc);
    cg_emit_assign(w, at, acc, cg_call2(w, CG_ADD, a, window_share(w, n, ax, c, t, u, at)));
    if (ax[1].n > 1) cg_close_loop(w, &mu);
    if (ax[0].n > 1) cg_close_loop(w, &mt);
    return a;
}

/* ---- gather_grad, output-indexed ---------------------------------------------------------------- */

/* dx[pre, v, post] of gather_grad(dy, idx): the sum, over k in order, of dy[pre, k, post] where
 * idx[k] is v. One pass over the indices per element, so dx's size times the indices' count: the
 * form for f16 and bf16 (rounded once, as the interpreter) and for a gather_grad that shares
 * a kernel; a lone one of another dtype is a scatter (cg_lower_scatter_kernel). */
cg_expr *cg_gather_grad_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    const ir_type *it = type_of(w, n->in[1]);
    int axis = (int)n->attr[IR_ATTR_AXIS].v[0];
    int64_t dim = n->type.dims[axis], n_idx = ir_type_elems(it);
    ir_dtype t = cg_value_type(n->type.dtype);
    int level = hoist_level(w, c);
    cg_expr *zero = cg_const_of(w, t, 0);
    int acc = new_acc(w, t, level, zero);
    if (n_idx == 0) return cg_var_ref(w, acc);
    cg_loop_mark mk;
    cg_expr *k = cg_var_ref(w, cg_open_loop(w, &mk, level, n_idx, 0));
    cg_coords ic, dc = {.rank = type_of(w, n->in[0])->rank};
    cg_delinearize(w, k, it, &ic);
    cg_expr *v = cg_gather_index(w, n, &ic, dim);
    for (int i = 0; i < axis; i++) dc.c[i] = c->c[i];
    for (int i = 0; i < it->rank; i++) dc.c[axis + i] = ic.c[i];
    for (int i = axis + 1; i < n->type.rank; i++) dc.c[i - 1 + it->rank] = c->c[i];
    cg_expr *g = cg_select(w, cg_call2(w, CG_EQ, v, c->c[axis]), cg_elem(w, n->in[0], &dc), zero);
    cg_expr *a = cg_var_ref(w, acc);
    cg_emit_assign(w, w->level, acc, cg_call2(w, t == IR_BOOL ? CG_OR : CG_ADD, a, g));
    cg_close_loop(w, &mk);
    return a;
}

/* ---- contractions, elementally ---------------------------------------------------------------- */

/* Operand `which` of a matmul at (batch..., row, col) of the product op(a) @ op(b): its own
 * batch axes broadcast, then the perm (PERM_A / PERM_B) maps the seen axes to the stored ones. */
static cg_expr *matmul_operand(cg_lower *w, const ir_node *n, int which, const cg_coords *batch, cg_expr *i0,
                               cg_expr *i1) {
    const ir_type *st = type_of(w, n->in[which]);
    const ir_attr *perm = &n->attr[which == 0 ? IR_ATTR_PERM_A : IR_ATTR_PERM_B];
    ir_type seen = *st;
    for (int i = 0; i < perm->n; i++) seen.dims[i] = st->dims[perm->v[i]];
    cg_coords sc = {.rank = seen.rank};
    int nb = seen.rank >= 2 ? seen.rank - 2 : 0, shift = batch->rank - nb;
    for (int i = 0; i < nb; i++) sc.c[i] = seen.dims[i] == 1 ? cg_index(w, 0) : batch->c[i + shift];
    if (seen.rank >= 2) {
        sc.c[nb] = i0;
        sc.c[nb + 1] = i1;
    } else {
        sc.c[0] = which == 0 ? i1 : i0; /* a vector is [K] either way */
    }
    cg_coords xc = sc;
    for (int i = 0; i < perm->n; i++) xc.c[perm->v[i]] = sc.c[i];
    return cg_elem(w, n->in[which], &xc);
}

cg_expr *cg_matmul_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    const ir_type *ta = type_of(w, n->in[0]), *tb = type_of(w, n->in[1]);
    bool a_vec = ta->rank == 1, b_vec = tb->rank == 1;
    int64_t k = ta->dims[n->attr[IR_ATTR_PERM_A].n ? n->attr[IR_ATTR_PERM_A].v[ta->rank - 1] : ta->rank - 1];
    cg_coords batch = {.rank = c->rank - !a_vec - !b_vec};
    for (int i = 0; i < batch.rank; i++) batch.c[i] = c->c[i];
    cg_expr *row = a_vec ? cg_index(w, 0) : c->c[batch.rank];
    cg_expr *col = b_vec ? cg_index(w, 0) : c->c[c->rank - 1];
    ir_dtype t = cg_value_type(n->type.dtype);
    int level = hoist_level(w, c);
    int acc = new_acc(w, t, level, cg_const_of(w, t, 0));
    if (k > 0) {
        cg_loop_mark m;
        cg_expr *p = cg_var_ref(w, cg_open_loop(w, &m, level, k, CG_LOOP_VECTOR));
        cg_expr *prod = cg_call2(w, CG_MUL, matmul_operand(w, n, 0, &batch, row, p), matmul_operand(w, n, 1, &batch, p, col));
        cg_emit_assign(w, w->level, acc, cg_call2(w, CG_ADD, cg_var_ref(w, acc), prod));
        cg_close_loop(w, &m);
    }
    return cg_var_ref(w, acc);
}

/* out[b, o, y, x] = sum over (c, i, j) of x[b, g*cg + c, y*sh - lo + i*dh, x*sw - lo + j*dw] *
 * w[o, c, i, j], g = o / (O / groups); taps in the padding read zero. */
cg_expr *cg_conv_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    const ir_type *xt = type_of(w, n->in[0]), *kt = type_of(w, n->in[1]);
    const int64_t *stride = n->attr[IR_ATTR_STRIDE].v, *dil = n->attr[IR_ATTR_DILATION].v, *lo = n->attr[IR_ATTR_LO].v;
    int64_t groups = n->attr[IR_ATTR_GROUPS].v[0], cg = kt->dims[1], per_group = kt->dims[0] / groups;
    int level = hoist_level(w, c);
    int acc = new_acc(w, IR_F32, level, cg_const_f(w, 0));
    if (cg == 0) return cg_var_ref(w, acc);
    cg_expr *first = cg_mul(w, cg_call2(w, CG_DIV, c->c[1], cg_index(w, per_group)), cg_index(w, cg));
    cg_loop_mark mc, mi, mj;
    cg_expr *ci = cg_var_ref(w, cg_open_loop(w, &mc, level, cg, 0));
    cg_expr *ki = cg_var_ref(w, cg_open_loop(w, &mi, w->level, kt->dims[2], 0));
    cg_expr *kj = cg_var_ref(w, cg_open_loop(w, &mj, w->level, kt->dims[3], CG_LOOP_VECTOR));
    cg_expr *inside = cg_const_i(w, IR_BOOL, 1), *k[2] = {ki, kj};
    cg_coords xc = {.rank = 4, .c = {c->c[0], cg_add(w, first, ci)}};
    for (int a = 0; a < 2; a++) {
        cg_expr *pos = cg_add(w, cg_sub(w, cg_mul(w, c->c[2 + a], cg_index(w, stride[a])), cg_index(w, lo[a])),
                              cg_mul(w, k[a], cg_index(w, dil[a])));
        xc.c[2 + a] = cg_clamp_inside(w, pos, xt->dims[2 + a], &inside);
    }
    cg_coords kc = {.rank = 4, .c = {c->c[1], ci, ki, kj}};
    cg_expr *xv = cg_select(w, inside, cg_elem(w, n->in[0], &xc), cg_const_f(w, 0));
    cg_expr *prod = cg_call2(w, CG_MUL, xv, cg_elem(w, n->in[1], &kc));
    cg_emit_assign(w, w->level, acc, cg_call2(w, CG_ADD, cg_var_ref(w, acc), prod));
    cg_close_loop(w, &mj);
    cg_close_loop(w, &mi);
    cg_close_loop(w, &mc);
    return cg_var_ref(w, acc);
}

/* ---- cross_entropy ------------------------------------------------------------------------------ */

/* loss = m + log(sum_k e^(x_k - m)) - x[label], m = max_k x_k: the interpreter's definition. A
 * label outside [0, C) fails the check; the load then reads the clamped class. */
cg_expr *cg_cross_entropy_value(cg_lower *w, const ir_node *n, const cg_coords *c) {
    const ir_type *x = type_of(w, n->in[0]);
    int64_t classes = x->dims[x->rank - 1];
    int level = hoist_level(w, c);
    cg_expr *row = cg_linearize(w, c, &n->type);
    cg_coords xc = {.rank = x->rank};
    for (int i = 0; i < c->rank; i++) xc.c[i] = c->c[i];
    cg_expr *label = cg_cast(w, IR_I64, cg_elem(w, n->in[1], c));
    cg_check_label(w, n, label, classes, level);
    if (classes == 0) return cg_const_f(w, NAN);
    int m = new_acc(w, IR_F32, level, cg_const_f(w, -INFINITY)), s = -1;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) s = new_acc(w, IR_F32, level, cg_const_f(w, 0));
        cg_loop_mark mk;
        cg_expr *k = cg_var_ref(w, cg_open_loop(w, &mk, level, classes, CG_LOOP_VECTOR));
        xc.c[x->rank - 1] = k;
        xc.flat = cg_add(w, cg_mul(w, row, cg_index(w, classes)), k);
        cg_expr *v = cg_elem(w, n->in[0], &xc), *mv = cg_var_ref(w, m);
        if (pass == 0) cg_emit_assign(w, w->level, m, cg_call2(w, CG_MAX, mv, v));
        else cg_emit_assign(w, w->level, s, cg_call2(w, CG_ADD, cg_var_ref(w, s), cg_call1(w, CG_EXP, cg_call2(w, CG_SUB, v, mv))));
        cg_close_loop(w, &mk);
    }
    xc.c[x->rank - 1] = cg_clamp(w, label, 0, classes - 1);
    xc.flat = NULL;
    cg_expr *picked = cg_elem(w, n->in[0], &xc);
    cg_expr *lse = cg_call2(w, CG_ADD, cg_var_ref(w, m), cg_call1(w, CG_LOG, cg_var_ref(w, s)));
    return cg_call2(w, CG_SUB, lse, picked);
}

/* ---- integer powers ------------------------------------------------------------------------------ */

/* Exponentiation by squaring modulo the dtype's width (the low bits of the exact power); a
 * negative exponent fails the check, as the interpreter refuses it. */
cg_expr *cg_int_pow(cg_lower *w, cg_expr *base, cg_expr *e, int level, ir_loc loc) {
    ir_dtype t = base->type;
    cg_expr *one = cg_const_i(w, t, 1), *zero = cg_const_i(w, t, 0);
    cg_emit_check(w, level, cg_call2(w, CG_GE, e, zero), loc, "pow: integers to negative integer powers are not allowed");
    if (e->kind == CG_CONST) {
        cg_expr *r = one;
        for (int64_t k = e->value.i; k > 0; k >>= 1, base = cg_call2(w, CG_MUL, base, base))
            if (k & 1) r = r == one ? base : cg_call2(w, CG_MUL, r, base);
        return r;
    }
    int r = new_acc(w, t, level, one), b = new_acc(w, t, level, base), k = new_acc(w, t, level, e);
    cg_loop_mark m;
    cg_open_loop(w, &m, level, t == IR_I32 ? 31 : 63, 0);
    cg_expr *odd = cg_call2(w, CG_NE, cg_call2(w, CG_REM, cg_var_ref(w, k), cg_const_i(w, t, 2)), zero);
    cg_emit_assign(w, w->level, r, cg_select(w, odd, cg_call2(w, CG_MUL, cg_var_ref(w, r), cg_var_ref(w, b)), cg_var_ref(w, r)));
    cg_emit_assign(w, w->level, b, cg_call2(w, CG_MUL, cg_var_ref(w, b), cg_var_ref(w, b)));
    cg_emit_assign(w, w->level, k, cg_call2(w, CG_DIV, cg_var_ref(w, k), cg_const_i(w, t, 2)));
    cg_close_loop(w, &m);
    return cg_var_ref(w, r);
}
