/* test_grad_kernels.c — unit tests of the interpreter's gradient kernels (ir/kernels_grad.c):
 * each is the transpose of its forward op, <forward(x), r> == <x, grad_op(r)> on random data
 * (max pool: the linear map that takes each window's first maximum, found from the forward
 * kernel's own result), plus small cases worked out by hand (overlapping windows, padding, ties,
 * NaN, repeated and negative gather indices, f16 and bf16) and the errors. */
#include "ir/ir.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/interp_fixture.h"

/* ---- op builders ----------------------------------------------------------------------------- */

/* Pool attributes per spatial axis [h, w]. */
typedef struct pool_cfg {
    int n, c, h, w;
    int kernel[2], stride[2], lo[2], hi[2];
} pool_cfg;

static void set_pool(ir_node *n, const pool_cfg *p) {
    n->attr[IR_ATTR_KERNEL] = (ir_attr){.n = 2, .v = {p->kernel[0], p->kernel[1]}};
    n->attr[IR_ATTR_STRIDE] = (ir_attr){.n = 2, .v = {p->stride[0], p->stride[1]}};
    n->attr[IR_ATTR_LO] = (ir_attr){.n = 2, .v = {p->lo[0], p->lo[1]}};
    n->attr[IR_ATTR_HI] = (ir_attr){.n = 2, .v = {p->hi[0], p->hi[1]}};
}

static ir_type pool_x_type(const pool_cfg *p, ir_dtype dt) { return ty(dt, 4, p->n, p->c, p->h, p->w); }

static ir_type pool_y_type(const pool_cfg *p, ir_dtype dt) {
    int oh = (p->h + p->lo[0] + p->hi[0] - p->kernel[0]) / p->stride[0] + 1;
    int ow = (p->w + p->lo[1] + p->hi[1] - p->kernel[1]) / p->stride[1] + 1;
    return ty(dt, 4, p->n, p->c, oh, ow);
}

static int pool_fwd(fixture *f, ir_op op, int x, const pool_cfg *p) {
    ir_node *n = fx_node(f, op, x, -1, -1);
    set_pool(n, p);
    return fx_infer(f, n);
}

static int max_pool_grad(fixture *f, int x, int dy, const pool_cfg *p) {
    ir_node *n = fx_node(f, IR_OP_MAX_POOL2D_GRAD, x, dy, -1);
    set_pool(n, p);
    return fx_infer(f, n);
}

static int avg_pool_grad(fixture *f, int dy, const pool_cfg *p) {
    ir_node *n = fx_node(f, IR_OP_AVG_POOL2D_GRAD, dy, -1, -1);
    set_pool(n, p);
    n->attr[IR_ATTR_SHAPE] = (ir_attr){.n = 4, .v = {p->n, p->c, p->h, p->w}};
    return fx_infer(f, n);
}

static int gather_grad(fixture *f, int dy, int idx, int axis, const ir_type *x) {
    ir_node *n = fx_node(f, IR_OP_GATHER_GRAD, dy, idx, -1);
    n->attr[IR_ATTR_AXIS].v[0] = axis;
    n->attr[IR_ATTR_SHAPE].n = x->rank;
    for (int i = 0; i < x->rank; i++) n->attr[IR_ATTR_SHAPE].v[i] = x->dims[i];
    return fx_infer(f, n);
}

/* ---- random data and inner products ------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

/* A uniform double in [-1, 1) (xorshift64*; deterministic). */
static double rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545f4914f6cdd1du) >> 11) / 4503599627370496.0 - 1.0;
}

static double *random_values(int64_t count) {
    double *v = malloc(sizeof *v * (size_t)(count ? count : 1));
    if (!v) abort();
    for (int64_t i = 0; i < count; i++) v[i] = (double)(float)rnd();
    return v;
}

/* count distinct f32 values, in random order: k / 64 - count / 128 for a shuffled k. */
static double *distinct_values(int64_t count) {
    double *v = malloc(sizeof *v * (size_t)(count ? count : 1));
    if (!v) abort();
    for (int64_t i = 0; i < count; i++) v[i] = (double)i / 64 - (double)count / 128;
    for (int64_t i = count - 1; i > 0; i--) {
        int64_t j = (int64_t)((rnd() + 1) / 2 * (double)(i + 1));
        if (j > i) j = i;
        double t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
    return v;
}

/* sum a[i] * b[i], and its scale sum |a[i] * b[i]|, for the relative comparison. */
static double dot(const double *a, const ir_tensor *b, int64_t count, double *scale) {
    double s = 0;
    *scale = 0;
    for (int64_t i = 0; i < count; i++) {
        double p = a[i] * ir_tensor_get(b, i);
        s += p;
        *scale += fabs(p);
    }
    return s;
}

/* <forward, r> against <x, grad>, within 1e-5 of the scale of the sums. */
static void check_adjoint(const char *what, double lhs, double lhs_scale, double rhs, double rhs_scale) {
    double scale = fmax(fmax(lhs_scale, rhs_scale), 1e-30);
    CHECK(fabs(lhs - rhs) <= 1e-5 * scale, "%s: <forward(x), r> = %.12g but <x, grad(r)> = %.12g", what, lhs, rhs);
    CHECK(lhs_scale > 0, "%s: the sums are empty", what);
}

/* Runs a one-op graph over given inputs and returns the result (abort-free: a failed run is
 * counted and leaves out zero-typed). */
typedef int (*build_fn)(fixture *f, const int *in, const void *arg);

static bool run_op(build_fn build, const void *arg, int n_in, const ir_type *types, double *const *vals,
                   ir_tensor *out) {
    fixture f;
    fx_init(&f);
    int in[4];
    for (int k = 0; k < n_in; k++) in[k] = fx_input(&f, types[k], vals[k]);
    int id = build(&f, in, arg);
    bool ok = fx_run(&f, id, out);
    CHECK(ok, "run of %s failed: %s", ir_op_name(f.g->nodes[id]->op), f.text);
    if (!ok) memset(out, 0, sizeof *out);
    fx_free(&f);
    return ok;
}

/* ---- pooling: adjointness ------------------------------------------------------------------ */

static const pool_cfg pool_cases[] = {
    {2, 3, 5, 6, {2, 2}, {1, 1}, {1, 1}, {1, 1}}, /* overlapping windows, padding all round */
    {1, 2, 7, 7, {3, 3}, {2, 2}, {1, 1}, {1, 1}}, /* overlap by one, stride 2 */
    {2, 1, 4, 4, {2, 2}, {2, 2}, {0, 0}, {0, 0}}, /* tiling windows */
    {1, 2, 6, 5, {3, 2}, {2, 1}, {1, 0}, {0, 1}}, /* asymmetric kernel, stride and padding */
    {1, 1, 5, 4, {3, 3}, {3, 3}, {1, 1}, {0, 1}}, /* stride = kernel with padding; a row dropped */
};
enum { N_POOL_CASES = sizeof pool_cases / sizeof pool_cases[0] };

static int build_avg(fixture *f, const int *in, const void *arg) { return pool_fwd(f, IR_OP_AVG_POOL2D, in[0], arg); }
static int build_max(fixture *f, const int *in, const void *arg) { return pool_fwd(f, IR_OP_MAX_POOL2D, in[0], arg); }
static int build_avg_grad(fixture *f, const int *in, const void *arg) { return avg_pool_grad(f, in[0], arg); }
static int build_max_grad(fixture *f, const int *in, const void *arg) { return max_pool_grad(f, in[0], in[1], arg); }

static void test_avg_pool_adjoint(void) {
    for (int c = 0; c < N_POOL_CASES; c++) {
        const pool_cfg *p = &pool_cases[c];
        ir_type xt = pool_x_type(p, IR_F32), yt = pool_y_type(p, IR_F32);
        int64_t nx = ir_type_elems(&xt), ny = ir_type_elems(&yt);
        double *x = random_values(nx), *r = random_values(ny);
        ir_tensor y = {0}, dx = {0}; /* freed below even when a run was skipped */
        if (run_op(build_avg, p, 1, &xt, &x, &y) && run_op(build_avg_grad, p, 1, &yt, &r, &dx)) {
            CHECK(ir_type_equal(&y.type, &yt) && ir_type_equal(&dx.type, &xt), "avg_pool2d case %d: types", c);
            double ls, rs, lhs = dot(r, &y, ny, &ls), rhs = dot(x, &dx, nx, &rs);
            char what[64];
            snprintf(what, sizeof what, "avg_pool2d case %d", c);
            check_adjoint(what, lhs, ls, rhs, rs);
        }
        ir_tensor_free(&y);
        ir_tensor_free(&dx);
        free(x);
        free(r);
    }
}

/* The max pool of x is M_x x for the linear map M_x that takes each window's first maximum;
 * the gradient kernel must be M_x's transpose: <M_x z, r> == <z, max_pool2d_grad(x, r)> for
 * any z. x holds distinct values, so the tap each window took is where its result sits in x. */
static void test_max_pool_adjoint(void) {
    for (int c = 0; c < N_POOL_CASES; c++) {
        const pool_cfg *p = &pool_cases[c];
        ir_type xt = pool_x_type(p, IR_F32), yt = pool_y_type(p, IR_F32);
        int64_t nx = ir_type_elems(&xt), ny = ir_type_elems(&yt), plane = (int64_t)p->h * p->w;
        int64_t oplane = yt.dims[2] * yt.dims[3];
        double *x = distinct_values(nx), *z = random_values(nx), *r = random_values(ny);
        double *mz = calloc((size_t)ny, sizeof *mz);
        ir_tensor y = {0}, dx = {0};
        double *grad_in[2] = {x, r};
        ir_type grad_types[2] = {xt, yt};
        if (mz && run_op(build_max, p, 1, &xt, &x, &y) && run_op(build_max_grad, p, 2, grad_types, grad_in, &dx)) {
            bool found_all = true;
            for (int64_t o = 0; o < ny; o++) {
                const double *xp = x + o / oplane * plane, *zp = z + o / oplane * plane;
                int64_t at = -1;
                for (int64_t i = 0; i < plane; i++)
                    if (xp[i] == ir_tensor_get(&y, o)) at = i;
                found_all = found_all && at >= 0;
                mz[o] = at >= 0 ? zp[at] : NAN;
            }
            CHECK(found_all, "max_pool2d case %d: a window's result is not one of its inputs", c);
            char what[64];
            double ls, rs;
            snprintf(what, sizeof what, "max_pool2d case %d (z random)", c);
            double lhs = 0;
            ls = 0;
            for (int64_t o = 0; o < ny; o++) {
                lhs += mz[o] * r[o];
                ls += fabs(mz[o] * r[o]);
            }
            double rhs = dot(z, &dx, nx, &rs);
            check_adjoint(what, lhs, ls, rhs, rs);
            snprintf(what, sizeof what, "max_pool2d case %d (z = x)", c);
            lhs = dot(r, &y, ny, &ls);
            rhs = dot(x, &dx, nx, &rs);
            check_adjoint(what, lhs, ls, rhs, rs);
        }
        ir_tensor_free(&y);
        ir_tensor_free(&dx);
        free(x);
        free(z);
        free(r);
        free(mz);
    }
}

/* ---- gather: adjointness ------------------------------------------------------------------- */

typedef struct gather_cfg {
    ir_type x, idx;
    int axis;
} gather_cfg;

static int build_gather(fixture *f, const int *in, const void *arg) {
    ir_node *n = fx_node(f, IR_OP_GATHER, in[0], in[1], -1);
    n->attr[IR_ATTR_AXIS].v[0] = ((const gather_cfg *)arg)->axis;
    return fx_infer(f, n);
}

static int build_gather_grad(fixture *f, const int *in, const void *arg) {
    const gather_cfg *g = arg;
    return gather_grad(f, in[0], in[1], g->axis, &g->x);
}

/* The type np.take gives. */
static ir_type gathered(const gather_cfg *g) {
    ir_type t = {IR_F32, 0, {0}};
    for (int i = 0; i < g->axis; i++) t.dims[t.rank++] = g->x.dims[i];
    for (int i = 0; i < g->idx.rank; i++) t.dims[t.rank++] = g->idx.dims[i];
    for (int i = g->axis + 1; i < g->x.rank; i++) t.dims[t.rank++] = g->x.dims[i];
    return t;
}

static void test_gather_adjoint(void) {
    gather_cfg cases[] = {
        {ty(IR_F32, 2, 10, 4), ty(IR_I32, 1, 16), 0},     /* embedding rows, many repeats */
        {ty(IR_F32, 3, 3, 5, 2), ty(IR_I64, 2, 2, 7), 1}, /* a middle axis, 2-D indices */
        {ty(IR_F32, 3, 2, 3, 4), ty(IR_I32, 1, 9), 2},    /* the last axis */
        {ty(IR_F32, 1, 6), ty(IR_I32, 0), 0},             /* a scalar index */
    };
    for (int c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
        const gather_cfg *g = &cases[c];
        ir_type yt = gathered(g);
        int64_t nx = ir_type_elems(&g->x), ny = ir_type_elems(&yt), ni = ir_type_elems(&g->idx);
        int64_t dim = g->x.dims[g->axis];
        double *x = random_values(nx), *r = random_values(ny), *idx = malloc(sizeof *idx * (size_t)ni);
        if (!idx) abort();
        /* Indices in [-dim, dim): negative ones count from the end; repeats are likely. */
        for (int64_t k = 0; k < ni; k++) {
            idx[k] = floor((rnd() + 1) * (double)dim) - (double)dim;
            if (idx[k] >= (double)dim) idx[k] = (double)dim - 1;
        }
        ir_tensor y = {0}, dx = {0};
        ir_type fwd_types[2] = {g->x, g->idx}, grad_types[2] = {yt, g->idx};
        double *fwd_in[2] = {x, idx}, *grad_in[2] = {r, idx};
        if (run_op(build_gather, g, 2, fwd_types, fwd_in, &y) &&
            run_op(build_gather_grad, g, 2, grad_types, grad_in, &dx)) {
            CHECK(ir_type_equal(&y.type, &yt) && ir_type_equal(&dx.type, &g->x), "gather case %d: types", c);
            double ls, rs, lhs = dot(r, &y, ny, &ls), rhs = dot(x, &dx, nx, &rs);
            char what[64];
            snprintf(what, sizeof what, "gather case %d", c);
            check_adjoint(what, lhs, ls, rhs, rs);
        }
        ir_tensor_free(&y);
        ir_tensor_free(&dx);
        free(x);
        free(r);
        free(idx);
    }
}

/* ---- hand-computed cases -------------------------------------------------------------------- */

/* Every value here is exact in its dtype: the results must be equal to the letter (tolerance 0). */

static pool_cfg square(int h, int w, int k, int stride, int pad) {
    return (pool_cfg){1, 1, h, w, {k, k}, {stride, stride}, {pad, pad}, {pad, pad}};
}

static void test_max_pool_cases(void) {
    fixture f;
    /* 2x2 windows at stride 1 over a 3x3 plane: each of the four holds the centre 9. */
    pool_cfg p = square(3, 3, 2, 1, 0);
    fx_init(&f);
    int x = fx_input(&f, ty(IR_F32, 4, 1, 1, 3, 3), V(1, 2, 3, 4, 9, 5, 6, 7, 8));
    int dy = fx_input(&f, ty(IR_F32, 4, 1, 1, 2, 2), V(1, 2, 3, 4));
    expect(&f, max_pool_grad(&f, x, dy, &p), "max overlapping", ty(IR_F32, 4, 1, 1, 3, 3),
           V(0, 0, 0, 0, 10, 0, 0, 0, 0), 0);
    /* Ties: the first maximum in row-major order takes it. */
    p = square(2, 4, 2, 2, 0);
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 4, 1, 1, 2, 4), V(1, 3, 3, 0, 3, 2, 1, 3));
    dy = fx_input(&f, ty(IR_F32, 4, 1, 1, 1, 2), V(2, 7));
    expect(&f, max_pool_grad(&f, x, dy, &p), "max ties", ty(IR_F32, 4, 1, 1, 2, 4), V(0, 2, 7, 0, 0, 0, 0, 0), 0);
    /* A NaN is the maximum (the first of them); a window of equal -infs gives its first tap. */
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 4, 1, 1, 2, 4), V(1, NAN, -INFINITY, -INFINITY, NAN, 2, -INFINITY, -INFINITY));
    dy = fx_input(&f, ty(IR_F32, 4, 1, 1, 1, 2), V(5, 6));
    expect(&f, max_pool_grad(&f, x, dy, &p), "max NaN and -inf", ty(IR_F32, 4, 1, 1, 2, 4), V(0, 5, 6, 0, 0, 0, 0, 0),
           0);
    /* Padding is never taken, even when every element is negative. */
    p = square(2, 2, 3, 1, 1);
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 4, 1, 1, 2, 2), V(-1, -2, -3, -4));
    dy = fx_input(&f, ty(IR_F32, 4, 1, 1, 2, 2), V(1, 2, 3, 4));
    expect(&f, max_pool_grad(&f, x, dy, &p), "max padding", ty(IR_F32, 4, 1, 1, 2, 2), V(10, 0, 0, 0), 0);
    /* f16 and bf16: the same overlapping case, summed in f32 and rounded once. */
    p = square(3, 3, 2, 1, 0);
    for (ir_dtype dt = IR_F16; dt <= IR_BF16; dt++) {
        fx_init(&f);
        x = fx_input(&f, ty(dt, 4, 1, 1, 3, 3), V(1, 2, 3, 4, 9, 5, 6, 7, 8));
        dy = fx_input(&f, ty(dt, 4, 1, 1, 2, 2), V(0.5, 0.25, 0.125, 2));
        expect(&f, max_pool_grad(&f, x, dy, &p), dt == IR_F16 ? "max f16" : "max bf16", ty(dt, 4, 1, 1, 3, 3),
               V(0, 0, 0, 0, 2.875, 0, 0, 0, 0), 0);
    }
}

static void test_avg_pool_cases(void) {
    fixture f;
    /* 2x2 windows at stride 1 with padding 1 over a 2x2 plane: nine windows, each dividing by 4
     * (padding counted); each element lies in four of them. */
    pool_cfg p = square(2, 2, 2, 1, 1);
    for (ir_dtype dt = IR_F32; dt <= IR_BF16; dt++) {
        fx_init(&f);
        int dy = fx_input(&f, ty(dt, 4, 1, 1, 3, 3), V(1, 2, 3, 4, 5, 6, 7, 8, 9));
        expect(&f, avg_pool_grad(&f, dy, &p), "avg padding", ty(dt, 4, 1, 1, 2, 2), V(3, 4, 6, 7), 0);
    }
    /* Tiling 2x2 windows over 4x4 with stride 2: each tap gets a quarter of its window's dy. */
    p = square(4, 4, 2, 2, 0);
    fx_init(&f);
    int dy = fx_input(&f, ty(IR_F32, 4, 1, 1, 2, 2), V(4, 8, 12, 16));
    expect(&f, avg_pool_grad(&f, dy, &p), "avg tiling", ty(IR_F32, 4, 1, 1, 4, 4),
           V(1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4), 0);
    /* Stride 2 over 5 columns: the last column is in no window and gets nothing. */
    p = square(2, 5, 2, 2, 0);
    fx_init(&f);
    dy = fx_input(&f, ty(IR_F32, 4, 1, 1, 1, 2), V(4, 8));
    expect(&f, avg_pool_grad(&f, dy, &p), "avg dropped column", ty(IR_F32, 4, 1, 1, 2, 5),
           V(1, 1, 2, 2, 0, 1, 1, 2, 2, 0), 0);
}

static void test_gather_cases(void) {
    fixture f;
    /* Rows 2, 0, 2, -1 (= 2) of a [3, 2] table: row 2 collects three rows of dy, row 1 none. */
    ir_type xt = ty(IR_F32, 2, 3, 2);
    for (ir_dtype dt = IR_F32; dt <= IR_BF16; dt++) {
        xt.dtype = dt;
        fx_init(&f);
        int dy = fx_input(&f, ty(dt, 2, 4, 2), V(1, 2, 3, 4, 5, 6, 7, 8));
        int idx = fx_input(&f, ty(IR_I32, 1, 4), V(2, 0, 2, -1));
        expect(&f, gather_grad(&f, dy, idx, 0, &xt), "gather repeats", xt, V(3, 4, 0, 0, 13, 16), 0);
    }
    /* Axis 1 with 2-D indices: dy[i, j, k] goes to dx[i, idx[j, k]]. */
    xt = ty(IR_F32, 2, 2, 3);
    fx_init(&f);
    int dy = fx_input(&f, ty(IR_F32, 3, 2, 2, 2), V(1, 2, 3, 4, 10, 20, 30, 40));
    int idx = fx_input(&f, ty(IR_I64, 2, 2, 2), V(1, 1, 0, 2));
    expect(&f, gather_grad(&f, dy, idx, 1, &xt), "gather axis 1", xt, V(3, 3, 4, 30, 30, 40), 0);
    /* A negative axis is normalized by inference. */
    fx_init(&f);
    dy = fx_input(&f, ty(IR_F32, 2, 2, 1), V(5, 6));
    idx = fx_input(&f, ty(IR_I32, 1, 1), V(-3));
    expect(&f, gather_grad(&f, dy, idx, -1, &xt), "gather axis -1", xt, V(5, 0, 0, 6, 0, 0), 0);
    /* Out of range, either way: the message gather gives. */
    xt = ty(IR_F32, 2, 3, 2);
    fx_init(&f);
    dy = fx_input(&f, ty(IR_F32, 2, 2, 2), V(1, 2, 3, 4));
    idx = fx_input(&f, ty(IR_I32, 1, 2), V(0, 3));
    expect_error(&f, gather_grad(&f, dy, idx, 0, &xt), "gather range high",
                 "gather_grad: index 3 is out of range for axis 0 of size 3");
    fx_init(&f);
    dy = fx_input(&f, ty(IR_F32, 2, 2, 2), V(1, 2, 3, 4));
    idx = fx_input(&f, ty(IR_I64, 1, 2), V(-4, 0));
    expect_error(&f, gather_grad(&f, dy, idx, 0, &xt), "gather range low",
                 "gather_grad: index -4 is out of range for axis 0 of size 3");
}

/* A grad node left for the interpreter: a clear error at the node, not a crash. */
static void test_grad_not_lowered(void) {
    fixture f;
    fx_init(&f);
    int x = fx_input(&f, ty(IR_F32, 1, 3), V(1, 2, 3));
    ir_node *s = fx_node(&f, IR_OP_SUM, x, -1, -1);
    s->attr[IR_ATTR_AXES].n = -1;
    int y = fx_infer(&f, s);
    int id = fx_infer(&f, fx_node(&f, IR_OP_GRAD, y, x, -1));
    expect_error(&f, id, "grad",
                 "grad: not lowered; the autodiff pass must run before the graph (it is in every -O "
                 "pipeline)");
}

int main(void) {
    test_avg_pool_adjoint();
    test_max_pool_adjoint();
    test_gather_adjoint();
    test_max_pool_cases();
    test_avg_pool_cases();
    test_gather_cases();
    test_grad_not_lowered();
    printf("test_grad_kernels: %d checks, %d failed\n", checks, failures);
    return failures != 0;
}
