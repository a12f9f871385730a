/* test_interp.c — unit tests of the reference interpreter (ir/interp.c, ir/kernels_*.c): tiny
 * graphs built by hand, their attributes normalized by ir_infer, each op's result checked
 * against values worked out by hand; also the graph runner's bookkeeping and the dtypes'
 * element access. Initializers are tested in test_init.c. */
#include "ir/ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/interp_fixture.h"

static const double NAN_ = NAN;

/* ---- elementwise -------------------------------------------------------------------------- */

static void test_binary(void) {
    fixture f;
    fx_init(&f);
    int a = fx_input(&f, ty(IR_F32, 2, 2, 3), V(1, 2, 3, 4, 5, 6)), b = fx_input(&f, ty(IR_F32, 1, 3), V(10, 20, 30));
    expect(&f, fx_op(&f, IR_OP_ADD, a, b, -1), "add broadcast", ty(IR_F32, 2, 2, 3), V(11, 22, 33, 14, 25, 36), 0);

    fx_init(&f);
    a = fx_input(&f, ty(IR_F32, 2, 2, 1), V(1, 2)), b = fx_input(&f, ty(IR_F32, 1, 3), V(1, 2, 4));
    expect(&f, fx_op(&f, IR_OP_DIV, a, b, -1), "div outer", ty(IR_F32, 2, 2, 3), V(1, 0.5, 0.25, 2, 1, 0.5), 0);

    fx_init(&f);
    a = fx_input(&f, ty(IR_F32, 1, 3), V(1, NAN_, 3)), b = fx_input(&f, ty(IR_F32, 1, 3), V(NAN_, 2, 1));
    expect(&f, fx_op(&f, IR_OP_MAXIMUM, a, b, -1), "maximum NaN", ty(IR_F32, 1, 3), V(NAN_, NAN_, 3), 0);
    fx_init(&f);
    a = fx_input(&f, ty(IR_F32, 1, 3), V(1, NAN_, 3)), b = fx_input(&f, ty(IR_F32, 1, 3), V(NAN_, 2, 1));
    expect(&f, fx_op(&f, IR_OP_MINIMUM, a, b, -1), "minimum NaN", ty(IR_F32, 1, 3), V(NAN_, NAN_, 1), 0);

    fx_init(&f);
    a = fx_input(&f, ty(IR_F32, 1, 3), V(1, 2, NAN_)), b = fx_input(&f, ty(IR_F32, 1, 3), V(2, 2, 1));
    expect(&f, fx_op(&f, IR_OP_LE, a, b, -1), "le", ty(IR_BOOL, 1, 3), V(1, 1, 0), 0);
    fx_init(&f);
    a = fx_input(&f, ty(IR_F32, 1, 3), V(1, 2, NAN_)), b = fx_input(&f, ty(IR_F32, 1, 3), V(2, 2, NAN_));
    expect(&f, fx_op(&f, IR_OP_NE, a, b, -1), "ne", ty(IR_BOOL, 1, 3), V(1, 0, 1), 0);

    fx_init(&f);
    a = fx_input(&f, ty(IR_F32, 1, 3), V(2, -8, 4)), b = fx_input(&f, ty(IR_F32, 0), V(0.5));
    expect(&f, fx_op(&f, IR_OP_POW, a, b, -1), "pow float", ty(IR_F32, 1, 3), V(1.4142135623730951, NAN_, 2), 1e-7);
}

static void test_integer_wrap(void) {
    fixture f;
    fx_init(&f);
    int a = fx_input(&f, ty(IR_I32, 1, 3), V(2147483647, -2147483648.0, 65536));
    int b = fx_input(&f, ty(IR_I32, 1, 3), V(1, -1, 65536));
    expect(&f, fx_op(&f, IR_OP_ADD, a, b, -1), "i32 add wraps", ty(IR_I32, 1, 3), V(-2147483648.0, 2147483647, 131072),
           0);
    fx_init(&f);
    a = fx_input(&f, ty(IR_I32, 1, 3), V(2147483647, -2147483648.0, 65536));
    b = fx_input(&f, ty(IR_I32, 1, 3), V(1, -1, 65536));
    expect(&f, fx_op(&f, IR_OP_MUL, a, b, -1), "i32 mul wraps", ty(IR_I32, 1, 3), V(2147483647, -2147483648.0, 0), 0);
    fx_init(&f);
    a = fx_input(&f, ty(IR_I32, 1, 4), V(2, 3, -2, 2)), b = fx_input(&f, ty(IR_I32, 1, 4), V(10, 3, 3, 31));
    expect(&f, fx_op(&f, IR_OP_POW, a, b, -1), "i32 pow", ty(IR_I32, 1, 4), V(1024, 27, -8, -2147483648.0), 0);
    fx_init(&f);
    a = fx_input(&f, ty(IR_I32, 1, 2), V(2, 3)), b = fx_input(&f, ty(IR_I32, 1, 2), V(1, -1));
    expect_error(&f, fx_op(&f, IR_OP_POW, a, b, -1), "i32 pow negative", "negative integer powers");

    /* i64 at the edges: values beyond 2^53 are written directly, not through doubles */
    fx_init(&f);
    a = fx_input(&f, ty(IR_I64, 1, 2), V(0, 0)), b = fx_input(&f, ty(IR_I64, 1, 2), V(1, 3));
    int64_t *av = f.inputs[0].data;
    av[0] = INT64_MAX, av[1] = ((int64_t)1 << 60) + 1;
    ir_tensor out;
    int id = fx_op(&f, IR_OP_ADD, a, b, -1);
    CHECK(fx_run(&f, id, &out), "i64 add: %s", f.text);
    const int64_t *ov = out.data;
    CHECK(ov[0] == INT64_MIN && ov[1] == ((int64_t)1 << 60) + 4, "i64 add: %lld %lld", (long long)ov[0],
          (long long)ov[1]);
    ir_tensor_free(&out);
    fx_free(&f);

    fx_init(&f);
    a = fx_input(&f, ty(IR_I32, 1, 4), V(-3, 4, -2147483648.0, 0));
    expect(&f, fx_op(&f, IR_OP_RELU, a, -1, -1), "i32 relu", ty(IR_I32, 1, 4), V(0, 4, 0, 0), 0);
    fx_init(&f);
    a = fx_input(&f, ty(IR_I32, 1, 3), V(-3, 4, -2147483648.0));
    expect(&f, fx_op(&f, IR_OP_ABS, a, -1, -1), "i32 abs", ty(IR_I32, 1, 3), V(3, 4, -2147483648.0), 0);
    fx_init(&f);
    a = fx_input(&f, ty(IR_I32, 1, 3), V(-3, 4, -2147483648.0));
    expect(&f, fx_op(&f, IR_OP_NEG, a, -1, -1), "i32 neg", ty(IR_I32, 1, 3), V(3, -4, -2147483648.0), 0);
}

typedef struct unary_case {
    ir_op op;
    double x, want;
} unary_case;

static void test_unary(void) {
    static const unary_case cases[] = {
        {IR_OP_SIGMOID, -1000, 0},        {IR_OP_SIGMOID, 1000, 1},         {IR_OP_SIGMOID, 0, 0.5},
        {IR_OP_SIGMOID, -80, 1.8048513878454153e-35},                       {IR_OP_EXP, -1e30, 0},
        {IR_OP_EXP, 1, 2.718281828459045},              {IR_OP_EXP, 100, INFINITY},       {IR_OP_LOG, 0, -INFINITY},
        {IR_OP_LOG, -1, NAN},             {IR_OP_SQRT, 2, 1.4142135623730951},         {IR_OP_RSQRT, 4, 0.5},
        {IR_OP_TANH, -80, -1},            {IR_OP_TANH, 1e-30, 1e-30},       {IR_OP_RELU, -2, 0},
        {IR_OP_RELU, NAN, NAN},           {IR_OP_GELU, 1, 0.8413447460685429},
        {IR_OP_GELU, -10, -7.619853e-23}, {IR_OP_GELU_TANH, 1, 0.8411919906082768},
        {IR_OP_SILU, 1, 0.7310585786300049},                                {IR_OP_SILU, -1000, 0},
        {IR_OP_SIN, 0.5, 0.479425538604203}, {IR_OP_COS, 0.5, 0.8775825618903728},
        {IR_OP_ERF, 0.5, 0.5204998778130465}, {IR_OP_FLOOR, -1.5, -2},      {IR_OP_CEIL, -1.5, -1},
        {IR_OP_ABS, -0.25, 0.25},         {IR_OP_NEG, 3, -3},               {IR_OP_LEAKY_RELU, -2, -0.2},
        {IR_OP_LEAKY_RELU, 3, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fixture f;
        fx_init(&f);
        int x = fx_input(&f, ty(IR_F32, 1, 1), &cases[i].x);
        ir_node *n = fx_node(&f, cases[i].op, x, -1, -1);
        n->attr[IR_ATTR_ALPHA].f = 0.1;
        char what[64];
        snprintf(what, sizeof what, "%s(%g)", ir_op_table[cases[i].op].name, cases[i].x);
        expect(&f, fx_infer(&f, n), what, ty(IR_F32, 1, 1), &cases[i].want, 1e-6);
    }
}

static void test_cast_select_clip(void) {
    fixture f;
    fx_init(&f);
    int x = fx_input(&f, ty(IR_F32, 1, 6), V(1.9, -1.9, NAN_, 3e9, -3e9, 0));
    ir_node *n = fx_node(&f, IR_OP_CAST, x, -1, -1);
    n->attr[IR_ATTR_DTYPE].v[0] = IR_I32;
    expect(&f, fx_infer(&f, n), "cast f32->i32", ty(IR_I32, 1, 6),
           V(1, -1, 0, 2147483647, -2147483648.0, 0), 0);
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 1, 4), V(0.5, NAN_, -0.0, 0));
    n = fx_node(&f, IR_OP_CAST, x, -1, -1);
    n->attr[IR_ATTR_DTYPE].v[0] = IR_BOOL;
    expect(&f, fx_infer(&f, n), "cast f32->bool", ty(IR_BOOL, 1, 4), V(1, 1, 0, 0), 0);
    fx_init(&f);
    x = fx_input(&f, ty(IR_I64, 1, 2), V(4294967301.0, -1)); /* 2^32 + 5 */
    n = fx_node(&f, IR_OP_CAST, x, -1, -1);
    n->attr[IR_ATTR_DTYPE].v[0] = IR_I32;
    expect(&f, fx_infer(&f, n), "cast i64->i32 wraps", ty(IR_I32, 1, 2), V(5, -1), 0);

    fx_init(&f);
    int c = fx_input(&f, ty(IR_BOOL, 2, 2, 1), V(1, 0));
    int a = fx_input(&f, ty(IR_F32, 2, 2, 2), V(1, 2, 3, 4)), b = fx_input(&f, ty(IR_F32, 1, 1), V(-1));
    expect(&f, fx_op(&f, IR_OP_SELECT, c, a, b), "select", ty(IR_F32, 2, 2, 2), V(1, 2, -1, -1), 0);

    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 1, 4), V(-5, 0.5, 5, NAN_));
    int lo = fx_input(&f, ty(IR_F32, 0), V(0)), hi = fx_input(&f, ty(IR_F32, 0), V(1));
    expect(&f, fx_op(&f, IR_OP_CLIP, x, lo, hi), "clip", ty(IR_F32, 1, 4), V(0, 0.5, 1, NAN_), 0);
}

static void test_creation(void) {
    fixture f;
    fx_init(&f);
    ir_node *n = fx_node(&f, IR_OP_FULL, -1, -1, -1);
    n->attr[IR_ATTR_SHAPE] = (ir_attr){.n = 2, .v = {2, 2}};
    n->attr[IR_ATTR_VALUE].f = -3.7;
    n->attr[IR_ATTR_DTYPE].v[0] = IR_I32;
    expect(&f, fx_infer(&f, n), "full i32", ty(IR_I32, 2, 2, 2), V(-3, -3, -3, -3), 0);
    fx_init(&f);
    n = fx_node(&f, IR_OP_ARANGE, -1, -1, -1);
    n->attr[IR_ATTR_N].v[0] = 5;
    expect(&f, fx_infer(&f, n), "arange", ty(IR_I32, 1, 5), V(0, 1, 2, 3, 4), 0);
    fx_init(&f);
    n = fx_node(&f, IR_OP_CONSTANT, -1, -1, -1);
    n->attr[IR_ATTR_VALUE].f = 0.1;
    n->attr[IR_ATTR_DTYPE].v[0] = IR_F32;
    expect(&f, fx_infer(&f, n), "constant", ty(IR_F32, 0), V((float)0.1), 0);
}

/* ---- reductions and normalization --------------------------------------------------------- */

static int iota_input(fixture *f, ir_type t) {
    double v[64];
    for (int i = 0; i < 64; i++) v[i] = i;
    return fx_input(f, t, v);
}

static int reduce(fixture *f, ir_op op, int x, int n_axes, const int64_t *axes, bool keep) {
    ir_node *n = fx_node(f, op, x, -1, -1);
    n->attr[IR_ATTR_AXES].n = n_axes;
    for (int i = 0; i < n_axes; i++) n->attr[IR_ATTR_AXES].v[i] = axes[i];
    n->attr[IR_ATTR_KEEPDIMS].v[0] = keep;
    return fx_infer(f, n);
}

static void test_reduce(void) {
    fixture f;
    ir_type t = ty(IR_F32, 3, 2, 3, 4);
    fx_init(&f);
    /* sum over i, k of 12i + 4j + k = 60 + 32j */
    expect(&f, reduce(&f, IR_OP_SUM, iota_input(&f, t), 2, (int64_t[]){-1, 0}, false), "sum axes [0,2]",
           ty(IR_F32, 1, 3), V(60, 92, 124), 0);
    fx_init(&f);
    expect(&f, reduce(&f, IR_OP_SUM, iota_input(&f, t), 2, (int64_t[]){0, 2}, true), "sum keepdims",
           ty(IR_F32, 3, 1, 3, 1), V(60, 92, 124), 0);
    fx_init(&f);
    expect(&f, reduce(&f, IR_OP_MEAN, iota_input(&f, t), -1, NULL, false), "mean all", ty(IR_F32, 0), V(11.5), 0);
    fx_init(&f);
    expect(&f, reduce(&f, IR_OP_MAX, iota_input(&f, t), 1, (int64_t[]){1}, false), "max axis 1",
           ty(IR_F32, 2, 2, 4), V(8, 9, 10, 11, 20, 21, 22, 23), 0);
    fx_init(&f);
    expect(&f, reduce(&f, IR_OP_MIN, iota_input(&f, t), 1, (int64_t[]){2}, true), "min keepdims",
           ty(IR_F32, 3, 2, 3, 1), V(0, 4, 8, 12, 16, 20), 0);
    fx_init(&f);
    int x = fx_input(&f, ty(IR_F32, 2, 2, 2), V(1, NAN_, -INFINITY, -1));
    expect(&f, reduce(&f, IR_OP_MAX, x, 1, (int64_t[]){1}, false), "max NaN", ty(IR_F32, 1, 2), V(NAN_, -1), 0);
    fx_init(&f);
    x = fx_input(&f, ty(IR_I32, 1, 2), V(2147483647, 1));
    expect(&f, reduce(&f, IR_OP_SUM, x, -1, NULL, false), "i32 sum wraps", ty(IR_I32, 0), V(-2147483648.0), 0);
}

static void test_argmax_softmax(void) {
    fixture f;
    fx_init(&f);
    int x = fx_input(&f, ty(IR_F32, 2, 2, 3), V(1, 3, 3, NAN_, 5, NAN_));
    ir_node *n = fx_node(&f, IR_OP_ARGMAX, x, -1, -1);
    n->attr[IR_ATTR_AXIS].v[0] = -1;
    expect(&f, fx_infer(&f, n), "argmax rows", ty(IR_I32, 1, 2), V(1, 0), 0);
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 2, 2, 3), V(1, 3, 3, NAN_, 5, 2));
    n = fx_node(&f, IR_OP_ARGMAX, x, -1, -1);
    n->attr[IR_ATTR_KEEPDIMS].v[0] = 1;
    expect(&f, fx_infer(&f, n), "argmax cols keepdims", ty(IR_I32, 2, 1, 3), V(1, 1, 0), 0);

    double e1 = exp(-1.0), e2 = exp(-2.0), s = 1 + e1 + e2;
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 2, 2, 3), V(1, 2, 3, 1000, 0, -1000));
    n = fx_node(&f, IR_OP_SOFTMAX, x, -1, -1);
    n->attr[IR_ATTR_AXIS].v[0] = -1;
    expect(&f, fx_infer(&f, n), "softmax", ty(IR_F32, 2, 2, 3), V(e2 / s, e1 / s, 1 / s, 1, 0, 0), 1e-6);
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 2, 2, 2), V(1000, 0, 1000, 0));
    n = fx_node(&f, IR_OP_LOG_SOFTMAX, x, -1, -1); /* axis 0: the columns */
    expect(&f, fx_infer(&f, n), "log_softmax axis 0", ty(IR_F32, 2, 2, 2), V(-0.6931471805599453, -0.6931471805599453, -0.6931471805599453, -0.6931471805599453), 1e-6);
}

static void test_norms_and_losses(void) {
    fixture f;
    fx_init(&f);
    int x = fx_input(&f, ty(IR_F32, 2, 2, 4), V(1, 2, 3, 4, 2, 2, 2, 2));
    int g = fx_input(&f, ty(IR_F32, 1, 4), V(1, 1, 1, 2)), b = fx_input(&f, ty(IR_F32, 1, 4), V(0, 0, 0, 1));
    ir_node *n = fx_node(&f, IR_OP_LAYER_NORM, x, g, b);
    n->attr[IR_ATTR_EPS].f = 1e-5;
    double r = 1 / sqrt(1.25 + 1e-5);
    expect(&f, fx_infer(&f, n), "layer_norm", ty(IR_F32, 2, 2, 4),
           V(-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r * 2 + 1, 0, 0, 0, 1), 1e-6);

    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 4, 1, 2, 1, 2), V(1, 2, 3, 4));
    int ins[5] = {x, fx_input(&f, ty(IR_F32, 1, 2), V(1, 3)), fx_input(&f, ty(IR_F32, 1, 2), V(4, 1)),
                  fx_input(&f, ty(IR_F32, 1, 2), V(1, 2)), fx_input(&f, ty(IR_F32, 1, 2), V(0, 1))};
    n = ir_graph_add_node(f.g, IR_OP_BATCH_NORM, ins, 5, IR_NO_LOC);
    expect(&f, fx_infer(&f, n), "batch_norm eps 0", ty(IR_F32, 4, 1, 2, 1, 2), V(0, 0.5, 1, 3), 1e-7);

    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 2, 2, 3), V(1, 2, 3, 0, 0, 0));
    int y = fx_input(&f, ty(IR_I32, 1, 2), V(2, 0));
    double lse = 3 + log(1 + exp(-1.0) + exp(-2.0));
    expect(&f, fx_op(&f, IR_OP_CROSS_ENTROPY, x, y, -1), "cross_entropy", ty(IR_F32, 1, 2), V(lse - 3, log(3.0)),
           1e-6);
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 2, 2, 3), V(1, 2, 3, 0, 0, 0));
    y = fx_input(&f, ty(IR_I32, 1, 2), V(0, 3));
    expect_error(&f, fx_op(&f, IR_OP_CROSS_ENTROPY, x, y, -1), "cross_entropy label",
                 "label 3 of example 1 is out of range for 3 classes");

    fx_init(&f);
    int a = fx_input(&f, ty(IR_F32, 2, 2, 2), V(1, 2, 3, 4));
    b = fx_input(&f, ty(IR_F32, 1, 2), V(1, 0));
    expect(&f, fx_op(&f, IR_OP_MSE, a, b, -1), "mse broadcast", ty(IR_F32, 0), V((0 + 4 + 4 + 16) / 4.0), 1e-7);
}

/* ---- matmul ------------------------------------------------------------------------------- */

/* The naive definition with explicit broadcasting of [B1?, B2?, M, K] @ [B2?, K, N] as used
 * below: a is [2, 1, 2, 3] and b is [3, 3, 2], so out is [2, 3, 2, 2]. */
static void test_matmul(void) {
    fixture f;
    fx_init(&f);
    int a = fx_input(&f, ty(IR_F32, 2, 2, 3), V(1, 2, 3, 4, 5, 6));
    int b = fx_input(&f, ty(IR_F32, 2, 3, 2), V(7, 8, 9, 10, 11, 12));
    expect(&f, fx_op(&f, IR_OP_MATMUL, a, b, -1), "matmul 2x3@3x2", ty(IR_F32, 2, 2, 2), V(58, 64, 139, 154), 0);
    fx_init(&f);
    a = fx_input(&f, ty(IR_F32, 1, 3), V(1, 2, 3));
    b = fx_input(&f, ty(IR_F32, 2, 3, 2), V(7, 8, 9, 10, 11, 12));
    expect(&f, fx_op(&f, IR_OP_MATMUL, a, b, -1), "matmul vec@mat", ty(IR_F32, 1, 2), V(58, 64), 0);
    fx_init(&f);
    a = fx_input(&f, ty(IR_F32, 2, 2, 3), V(1, 2, 3, 4, 5, 6));
    b = fx_input(&f, ty(IR_F32, 1, 3), V(1, 0, -1));
    expect(&f, fx_op(&f, IR_OP_MATMUL, a, b, -1), "matmul mat@vec", ty(IR_F32, 1, 2), V(-2, -2), 0);
    fx_init(&f);
    a = fx_input(&f, ty(IR_F32, 1, 3), V(1, 2, 3));
    b = fx_input(&f, ty(IR_F32, 1, 3), V(4, 5, 6));
    expect(&f, fx_op(&f, IR_OP_MATMUL, a, b, -1), "matmul dot", ty(IR_F32, 0), V(32), 0);
    fx_init(&f);
    a = fx_input(&f, ty(IR_I32, 2, 1, 2), V(65536, 65536));
    b = fx_input(&f, ty(IR_I32, 2, 2, 1), V(65536, 3));
    expect(&f, fx_op(&f, IR_OP_MATMUL, a, b, -1), "matmul i32 wraps", ty(IR_I32, 2, 1, 1), V(196608), 0);

    double av[12], bv[18], want[24];
    for (int i = 0; i < 12; i++) av[i] = i + 1;
    for (int i = 0; i < 18; i++) bv[i] = (i % 5) - 2;
    for (int p = 0; p < 2; p++)
        for (int q = 0; q < 3; q++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) {
                    double s = 0;
                    for (int k = 0; k < 3; k++) s += av[(p * 2 + i) * 3 + k] * bv[(q * 3 + k) * 2 + j];
                    want[((p * 3 + q) * 2 + i) * 2 + j] = s;
                }
    fx_init(&f);
    a = fx_input(&f, ty(IR_F32, 4, 2, 1, 2, 3), av);
    b = fx_input(&f, ty(IR_F32, 3, 3, 3, 2), bv);
    expect(&f, fx_op(&f, IR_OP_MATMUL, a, b, -1), "matmul batch broadcast", ty(IR_F32, 4, 2, 3, 2, 2), want, 0);
}

/* matmul with PERM_A / PERM_B reads its operands through the permutation: the same products as
 * above with the operands stored transposed. */
static ir_node *matmul_perm(fixture *f, int a, int b, int pa, int pb) {
    ir_node *n = fx_node(f, IR_OP_MATMUL, a, b, -1);
    ir_attr *perm[2] = {&n->attr[IR_ATTR_PERM_A], &n->attr[IR_ATTR_PERM_B]};
    int rank[2] = {pa, pb};
    for (int s = 0; s < 2; s++) { /* rank r > 0: swap the last two of r axes */
        perm[s]->n = rank[s];
        for (int i = 0; i < rank[s]; i++) perm[s]->v[i] = i < rank[s] - 2 ? i : 2 * rank[s] - 3 - i;
    }
    return n;
}

static void test_matmul_perm(void) {
    fixture f;
    fx_init(&f);
    int a = fx_input(&f, ty(IR_F32, 2, 3, 2), V(1, 4, 2, 5, 3, 6)); /* [[1,2,3],[4,5,6]] stored transposed */
    int b = fx_input(&f, ty(IR_F32, 2, 3, 2), V(7, 8, 9, 10, 11, 12));
    expect(&f, fx_infer(&f, matmul_perm(&f, a, b, 2, 0)), "matmul perm_a", ty(IR_F32, 2, 2, 2), V(58, 64, 139, 154),
           0);
    fx_init(&f);
    a = fx_input(&f, ty(IR_F32, 2, 2, 3), V(1, 2, 3, 4, 5, 6));
    b = fx_input(&f, ty(IR_F32, 2, 2, 3), V(7, 9, 11, 8, 10, 12));
    expect(&f, fx_infer(&f, matmul_perm(&f, a, b, 0, 2)), "matmul perm_b", ty(IR_F32, 2, 2, 2), V(58, 64, 139, 154),
           0);
    fx_init(&f); /* batch of two: [2,3,2]^T @ [2,2,3]^T; the second batch is the first negated */
    a = fx_input(&f, ty(IR_I32, 3, 2, 3, 2), V(1, 4, 2, 5, 3, 6, -1, -4, -2, -5, -3, -6));
    b = fx_input(&f, ty(IR_I32, 3, 2, 2, 3), V(7, 9, 11, 8, 10, 12, 7, 9, 11, 8, 10, 12));
    expect(&f, fx_infer(&f, matmul_perm(&f, a, b, 3, 3)), "matmul perm_a perm_b batched", ty(IR_I32, 3, 2, 2, 2),
           V(58, 64, 139, 154, -58, -64, -139, -154), 0);
}

/* ---- movement and indexing ---------------------------------------------------------------- */

static void test_movement(void) {
    fixture f;
    double want[24];
    for (int i = 0; i < 2; i++) /* out[k, i, j] = x[i, j, k] for x = iota [2, 3, 4] */
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) want[(k * 2 + i) * 3 + j] = (i * 3 + j) * 4 + k;
    fx_init(&f);
    ir_node *n = fx_node(&f, IR_OP_TRANSPOSE, iota_input(&f, ty(IR_I64, 3, 2, 3, 4)), -1, -1);
    n->attr[IR_ATTR_PERM] = (ir_attr){.n = 3, .v = {2, 0, 1}};
    expect(&f, fx_infer(&f, n), "transpose", ty(IR_I64, 3, 4, 2, 3), want, 0);

    fx_init(&f); /* x[8::-3] */
    n = fx_node(&f, IR_OP_SLICE, iota_input(&f, ty(IR_F32, 1, 10)), -1, -1);
    n->attr[IR_ATTR_START] = (ir_attr){.n = 1, .v = {8}};
    n->attr[IR_ATTR_STEP] = (ir_attr){.n = 1, .v = {-3}};
    expect(&f, fx_infer(&f, n), "slice 8::-3", ty(IR_F32, 1, 3), V(8, 5, 2), 0);
    fx_init(&f); /* x[1:3, 4:0:-2] of iota [4, 5] */
    n = fx_node(&f, IR_OP_SLICE, iota_input(&f, ty(IR_F32, 2, 4, 5)), -1, -1);
    n->attr[IR_ATTR_START] = (ir_attr){.n = 2, .v = {1, 4}};
    n->attr[IR_ATTR_STOP] = (ir_attr){.n = 2, .v = {3, 0}};
    n->attr[IR_ATTR_STEP] = (ir_attr){.n = 2, .v = {1, -2}};
    expect(&f, fx_infer(&f, n), "slice 2-D", ty(IR_F32, 2, 2, 2), V(9, 7, 14, 12), 0);

    fx_init(&f);
    n = fx_node(&f, IR_OP_PAD, fx_input(&f, ty(IR_F32, 2, 2, 2), V(1, 2, 3, 4)), -1, -1);
    n->attr[IR_ATTR_LO] = (ir_attr){.n = 2, .v = {1, 0}};
    n->attr[IR_ATTR_HI] = (ir_attr){.n = 2, .v = {0, 2}};
    n->attr[IR_ATTR_VALUE].f = 9;
    expect(&f, fx_infer(&f, n), "pad", ty(IR_F32, 2, 3, 4), V(9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9), 0);

    fx_init(&f);
    int ins[3] = {fx_input(&f, ty(IR_F32, 2, 2, 1), V(1, 2)), fx_input(&f, ty(IR_F32, 2, 2, 2), V(3, 4, 5, 6)),
                  fx_input(&f, ty(IR_F32, 2, 2, 1), V(7, 8))};
    n = ir_graph_add_node(f.g, IR_OP_CONCAT, ins, 3, IR_NO_LOC);
    n->attr[IR_ATTR_AXIS].v[0] = -1;
    expect(&f, fx_infer(&f, n), "concat", ty(IR_F32, 2, 2, 4), V(1, 3, 4, 7, 2, 5, 6, 8), 0);

    fx_init(&f);
    n = fx_node(&f, IR_OP_BROADCAST_TO, fx_input(&f, ty(IR_F32, 2, 2, 1), V(1, 2)), -1, -1);
    n->attr[IR_ATTR_SHAPE] = (ir_attr){.n = 3, .v = {2, 2, 2}};
    expect(&f, fx_infer(&f, n), "broadcast_to", ty(IR_F32, 3, 2, 2, 2), V(1, 1, 2, 2, 1, 1, 2, 2), 0);
    fx_init(&f);
    n = fx_node(&f, IR_OP_RESHAPE, iota_input(&f, ty(IR_F32, 2, 2, 3)), -1, -1);
    n->attr[IR_ATTR_SHAPE] = (ir_attr){.n = 2, .v = {3, -1}};
    expect(&f, fx_infer(&f, n), "reshape", ty(IR_F32, 2, 3, 2), V(0, 1, 2, 3, 4, 5), 0);
}

static void test_indexing(void) {
    fixture f;
    fx_init(&f);
    int x = fx_input(&f, ty(IR_F32, 2, 3, 2), V(0, 1, 2, 3, 4, 5));
    int idx = fx_input(&f, ty(IR_I32, 2, 2, 1), V(-1, 0));
    expect(&f, fx_op(&f, IR_OP_GATHER, x, idx, -1), "gather axis 0", ty(IR_F32, 3, 2, 1, 2), V(4, 5, 0, 1), 0);
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 2, 3, 2), V(0, 1, 2, 3, 4, 5));
    idx = fx_input(&f, ty(IR_I64, 1, 2), V(1, -2));
    ir_node *n = fx_node(&f, IR_OP_GATHER, x, idx, -1);
    n->attr[IR_ATTR_AXIS].v[0] = 1;
    expect(&f, fx_infer(&f, n), "gather axis 1", ty(IR_F32, 2, 3, 2), V(1, 0, 3, 2, 5, 4), 0);
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 2, 3, 2), V(0, 1, 2, 3, 4, 5));
    idx = fx_input(&f, ty(IR_I32, 1, 2), V(0, -4));
    expect_error(&f, fx_op(&f, IR_OP_GATHER, x, idx, -1), "gather range",
                 "gather: index -4 is out of range for axis 0 of size 3");

    fx_init(&f);
    n = fx_node(&f, IR_OP_ONE_HOT, fx_input(&f, ty(IR_I32, 1, 4), V(2, -1, 5, 0)), -1, -1);
    n->attr[IR_ATTR_DEPTH].v[0] = 3;
    expect(&f, fx_infer(&f, n), "one_hot", ty(IR_F32, 2, 4, 3), V(0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0), 0);
}

/* ---- convolution and pooling -------------------------------------------------------------- */

static int conv(fixture *f, int x, int w, int stride, int pad, int dilation, int groups) {
    ir_node *n = fx_node(f, IR_OP_CONV2D, x, w, -1);
    n->attr[IR_ATTR_STRIDE] = (ir_attr){.n = 2, .v = {stride, stride}};
    n->attr[IR_ATTR_DILATION] = (ir_attr){.n = 2, .v = {dilation, dilation}};
    n->attr[IR_ATTR_LO] = (ir_attr){.n = pad < 0 ? -2 : 2, .v = {pad, pad}}; /* pad -1: "same" */
    n->attr[IR_ATTR_HI] = (ir_attr){.n = 2, .v = {pad, pad}};
    n->attr[IR_ATTR_GROUPS].v[0] = groups;
    return fx_infer(f, n);
}

static void test_conv2d(void) {
    static const double x9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    fixture f;
    fx_init(&f);
    int x = fx_input(&f, ty(IR_F32, 4, 1, 1, 3, 3), x9), w = fx_input(&f, ty(IR_F32, 4, 1, 1, 2, 2), ones);
    expect(&f, conv(&f, x, w, 1, 0, 1, 1), "conv2d plain", ty(IR_F32, 4, 1, 1, 2, 2), V(12, 16, 24, 28), 0);
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 4, 1, 1, 3, 3), x9), w = fx_input(&f, ty(IR_F32, 4, 1, 1, 2, 2), ones);
    expect(&f, conv(&f, x, w, 2, 1, 1, 1), "conv2d stride 2 pad 1", ty(IR_F32, 4, 1, 1, 2, 2), V(1, 5, 11, 28), 0);
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 4, 1, 1, 3, 3), x9), w = fx_input(&f, ty(IR_F32, 4, 1, 1, 2, 2), ones);
    expect(&f, conv(&f, x, w, 1, 0, 2, 1), "conv2d dilation 2", ty(IR_F32, 4, 1, 1, 1, 1), V(20), 0);
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 4, 1, 1, 3, 3), x9), w = fx_input(&f, ty(IR_F32, 4, 1, 1, 3, 3), ones);
    expect(&f, conv(&f, x, w, 1, -1, 1, 1), "conv2d same", ty(IR_F32, 4, 1, 1, 3, 3),
           V(12, 21, 16, 27, 45, 33, 24, 39, 28), 0);
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 4, 1, 2, 1, 2), V(1, 2, 3, 4)), w = fx_input(&f, ty(IR_F32, 4, 2, 1, 1, 1), V(2, 3));
    expect(&f, conv(&f, x, w, 1, 0, 1, 2), "conv2d groups", ty(IR_F32, 4, 1, 2, 1, 2), V(2, 4, 9, 12), 0);
}

static int pool(fixture *f, ir_op op, int x, int k, int stride, int pad) {
    ir_node *n = fx_node(f, op, x, -1, -1);
    n->attr[IR_ATTR_KERNEL] = (ir_attr){.n = 2, .v = {k, k}};
    n->attr[IR_ATTR_STRIDE] = (ir_attr){.n = 2, .v = {stride, stride}};
    n->attr[IR_ATTR_LO] = (ir_attr){.n = 2, .v = {pad, pad}};
    n->attr[IR_ATTR_HI] = (ir_attr){.n = 2, .v = {pad, pad}};
    return fx_infer(f, n);
}

static void test_pool(void) {
    fixture f;
    ir_type t = ty(IR_F32, 4, 1, 1, 4, 4);
    fx_init(&f);
    expect(&f, pool(&f, IR_OP_MAX_POOL2D, iota_input(&f, t), 2, 2, 0), "max_pool2d", ty(IR_F32, 4, 1, 1, 2, 2),
           V(5, 7, 13, 15), 0);
    fx_init(&f);
    expect(&f, pool(&f, IR_OP_MAX_POOL2D, iota_input(&f, t), 2, 2, 1), "max_pool2d pad",
           ty(IR_F32, 4, 1, 1, 3, 3), V(0, 2, 3, 8, 10, 11, 12, 14, 15), 0);
    fx_init(&f);
    expect(&f, pool(&f, IR_OP_AVG_POOL2D, iota_input(&f, t), 2, 2, 1), "avg_pool2d pad counts",
           ty(IR_F32, 4, 1, 1, 3, 3), V(0, 0.75, 0.75, 3, 7.5, 4.5, 3, 6.75, 3.75), 0);
    fx_init(&f);
    expect(&f, fx_op(&f, IR_OP_GLOBAL_AVG_POOL, iota_input(&f, ty(IR_F32, 4, 1, 2, 2, 2)), -1, -1),
           "global_avg_pool", ty(IR_F32, 2, 1, 2), V(1.5, 5.5), 0);
}

/* ---- the graph runner --------------------------------------------------------------------- */

/* y = relu(x * w) twice over, with a dead branch, an input as an output and one node listed
 * as two outputs: ASan checks that every intermediate is freed exactly once. */
static void test_runner(void) {
    fixture f;
    fx_init(&f);
    ir_tensor w;
    ir_type wt = ty(IR_F32, 1, 2);
    ir_module_add_param(f.m, "w", wt, (ir_init){IR_INIT_ONES, 0, 0, NULL, NULL}, IR_NO_LOC);
    if (!ir_tensor_alloc(&w, &wt)) abort();
    ir_tensor_set(&w, 0, 2), ir_tensor_set(&w, 1, -3);
    int x = fx_input(&f, ty(IR_F32, 1, 2), V(1, 1));
    ir_node *p = ir_graph_add_node(f.g, IR_OP_PARAM, NULL, 0, IR_NO_LOC);
    p->type = wt;
    int m = fx_op(&f, IR_OP_MUL, x, p->id, -1);
    fx_op(&f, IR_OP_EXP, m, -1, -1); /* dead */
    int r = fx_op(&f, IR_OP_RELU, m, -1, -1);
    ir_graph_add_output(f.g, "r", r);
    ir_graph_add_output(f.g, "x", x);
    ir_graph_add_output(f.g, "m", m);
    ir_graph_add_output(f.g, "r2", r);
    ir_tensor out[4];
    bool ok = ir_interp_graph(f.g, &w, f.inputs, out, &f.diag);
    CHECK(ok, "runner failed");
    if (ok) {
        ir_type t2 = ty(IR_F32, 1, 2);
        check_values("runner r", &out[0], &t2, V(2, 0), 0);
        check_values("runner x", &out[1], &t2, V(1, 1), 0);
        check_values("runner m", &out[2], &t2, V(2, -3), 0);
        check_values("runner r2", &out[3], &t2, V(2, 0), 0);
        CHECK(out[0].data != out[3].data && out[1].data != f.inputs[0].data, "outputs must be copies");
        for (int i = 0; i < 4; i++) ir_tensor_free(&out[i]);
    }
    ir_tensor_free(&w);
    fx_free(&f);

    /* an error in the middle of a graph frees what was computed and leaves no outputs */
    fx_init(&f);
    x = fx_input(&f, ty(IR_F32, 1, 3), V(1, 2, 3));
    int idx = fx_input(&f, ty(IR_I32, 1, 1), V(7));
    int e = fx_op(&f, IR_OP_EXP, x, -1, -1);
    int g = fx_op(&f, IR_OP_GATHER, e, idx, -1);
    ir_graph_add_output(f.g, "e", e);
    ir_tensor outs[2];
    ir_graph_add_output(f.g, "y", fx_op(&f, IR_OP_NEG, g, -1, -1));
    ok = ir_interp_graph(f.g, NULL, f.inputs, outs, &f.diag);
    fx_read_log(&f);
    CHECK(!ok && outs[0].data == NULL && outs[1].data == NULL, "runner error path");
    CHECK(strstr(f.text, "index 7 is out of range") != NULL, "runner error message: %s", f.text);
    fx_free(&f);
}

/* ---- element access for every dtype -------------------------------------------------------- */

/* f16 and bf16 round to nearest even when stored (ties included) and read back exactly. */
static void test_dtypes(void) {
    static const struct {
        ir_dtype dt;
        double in, want;
    } cases[] = {
        {IR_F16, 1.0, 1.0},
        {IR_F16, 65504, 65504},
        {IR_F16, 65520, INFINITY},
        {IR_F16, 0.1, 0.0999755859375},
        {IR_F16, 1e-7, 1.1920928955078125e-07},
        {IR_F16, 3e-8, 5.960464477539063e-08},
        {IR_F16, 0x1p-25, 0.0},
        {IR_F16, 1.00048828125, 1.0},
        {IR_F16, 1.00146484375, 1.001953125},
        {IR_F16, -2.5, -2.5},
        {IR_F16, NAN, NAN},
        {IR_BF16, 3.14159, 3.140625},
        {IR_BF16, 1e30, 1.0002555517425873e+30},
        {IR_BF16, 1.00390625, 1.0},
        {IR_BF16, 1.01171875, 1.015625},
        {IR_BF16, -INFINITY, -INFINITY},
        {IR_BF16, NAN, NAN},
        {IR_I32, -7.9, -7},
        {IR_I64, 1e300, 9223372036854775807.0},
        {IR_BOOL, -0.5, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ir_tensor t;
        ir_type type = ty(cases[i].dt, 1, 1);
        if (!ir_tensor_alloc(&t, &type)) abort();
        ir_tensor_set(&t, 0, cases[i].in);
        double got = ir_tensor_get(&t, 0);
        CHECK(close_to(got, cases[i].want, 0) && signbit(got) == signbit(cases[i].want), "%s(%.17g) = %.17g, expected %.17g",
              ir_dtype_name(cases[i].dt), cases[i].in, got, cases[i].want);
        ir_tensor_free(&t);
    }
}

int main(void) {
    test_binary();
    test_integer_wrap();
    test_unary();
    test_cast_select_clip();
    test_creation();
    test_reduce();
    test_argmax_softmax();
    test_norms_and_losses();
    test_matmul();
    test_matmul_perm();
    test_movement();
    test_indexing();
    test_conv2d();
    test_pool();
    test_runner();
    test_dtypes();
    printf("test_interp: %d checks, %d failed\n", checks, failures);
    return failures != 0;
}
