/* test_shape.c — unit tests for shape and dtype inference (ir/shape*.c): every rule's result
 * type, every error path with its exact message, broadcasting and matmul corner cases, slice
 * normalization against Python's slice.indices, and idempotence of every successful rule. */
#include "shape_fixture.h"

/* ---- leaves and arity -------------------------------------------------------------------------- */

static void test_leaves(void) {
    fx_reset();
    int x = add_input("f32[2,3]");
    CHECK(ir_type_equal(&fx.g->nodes[x]->type, &(ir_type){IR_F32, 2, {2, 3}}));
    ir_node *n = mk(IR_OP_INPUT, 0);
    n->attr[IR_ATTR_INDEX].v[0] = 1;
    EXPECT_ERROR(n, "input: index 1 is out of range; graph 'g' has 1 input");

    ir_module_add_param(fx.m, "w", ty("f16[4]"), (ir_init){.kind = IR_INIT_ZEROS}, IR_NO_LOC);
    n = mk(IR_OP_PARAM, 0);
    EXPECT_TYPE(n, "f16[4]");
    n = mk(IR_OP_PARAM, 0);
    n->attr[IR_ATTR_PARAM].v[0] = -1;
    EXPECT_ERROR(n, "param: index -1 is out of range; the module has 1 parameter");

    n = mk(IR_OP_CONSTANT, 0);
    n->attr[IR_ATTR_DTYPE].v[0] = IR_I64;
    EXPECT_TYPE(n, "i64[]");
    n = mk(IR_OP_CONSTANT, 0);
    n->attr[IR_ATTR_DTYPE].v[0] = 99;
    EXPECT_ERROR(n, "constant: invalid dtype 99");

    n = mk(IR_OP_FULL, 0);
    set_ints(n, IR_ATTR_SHAPE, 2, 3LL, 0LL);
    EXPECT_TYPE(n, "f32[3,0]");
    n = mk(IR_OP_FULL, 0);
    set_ints(n, IR_ATTR_SHAPE, 2, 3LL, -2LL);
    EXPECT_ERROR(n, "full: negative dimension -2 in shape [3,-2]");
    n = mk(IR_OP_FULL, 0);
    n->attr[IR_ATTR_DTYPE].v[0] = IR_BOOL;
    set_ints(n, IR_ATTR_SHAPE, 3, 1LL << 20, 1LL << 20, 2LL);
    EXPECT_ERROR(n, "full: result bool[1048576,1048576,2] has too many elements");
    n = mk(IR_OP_FULL, 0);
    set_ints(n, IR_ATTR_SHAPE, 2, 1LL << 20, 1LL << 20);
    EXPECT_TYPE(n, "f32[1048576,1048576]"); /* exactly 2^40 elements is allowed */

    n = mk(IR_OP_ARANGE, 0);
    n->attr[IR_ATTR_N].v[0] = 5;
    EXPECT_TYPE(n, "i32[5]");
    n = mk(IR_OP_ARANGE, 0);
    n->attr[IR_ATTR_N].v[0] = -1;
    EXPECT_ERROR(n, "arange: length -1 must be between 0 and 2147483647 (the result is i32)");
}

static void test_arity(void) {
    fx_reset();
    int x = add_input("f32[2]");
    EXPECT_ERROR(mk(IR_OP_ADD, 3, x, x, x), "add: expected 2 operands, got 3");
    EXPECT_ERROR(mk(IR_OP_RELU, 0), "relu: expected 1 operand, got 0");
    EXPECT_ERROR(mk(IR_OP_CONCAT, 0), "concat: expected at least 1 operand, got 0");
    EXPECT_ERROR(mk(IR_OP_INPUT, 1, x), "input: expected 0 operands, got 1");
}

/* ---- elementwise ---------------------------------------------------------------------------- */

static void test_broadcasting(void) {
    fx_reset();
    int a23 = add_input("f32[2,3]"), a3 = add_input("f32[3]"), a4 = add_input("f32[4]");
    int a21 = add_input("f32[2,1]"), a13 = add_input("f32[1,3]"), s = add_input("f32[]");
    int z3 = add_input("f32[0,3]"), z13 = add_input("f32[1,3]"), z0 = add_input("f32[0]"), z2 = add_input("f32[2]");
    int b = add_input("f32[4,1,5,1]"), c = add_input("f32[3,1,6]");
    EXPECT_TYPE(mk(IR_OP_ADD, 2, a23, a3), "f32[2,3]");
    EXPECT_TYPE(mk(IR_OP_SUB, 2, a3, a23), "f32[2,3]");
    EXPECT_TYPE(mk(IR_OP_MUL, 2, a21, a13), "f32[2,3]");
    EXPECT_TYPE(mk(IR_OP_MAXIMUM, 2, s, a23), "f32[2,3]");
    EXPECT_TYPE(mk(IR_OP_MINIMUM, 2, s, s), "f32[]");
    EXPECT_TYPE(mk(IR_OP_ADD, 2, z3, z13), "f32[0,3]");
    EXPECT_TYPE(mk(IR_OP_ADD, 2, b, c), "f32[4,3,5,6]");
    EXPECT_ERROR(mk(IR_OP_ADD, 2, a23, a4), "add: shapes f32[2,3] and f32[4] do not broadcast");
    EXPECT_ERROR(mk(IR_OP_ADD, 2, z0, z2), "add: shapes f32[0] and f32[2] do not broadcast");

    ir_type out, t0 = ty("i32[5,1]"), t1 = ty("f32[3]");
    CHECK(ir_broadcast_shapes(&t0, &t1, &out) && out.dtype == IR_I32 && out.rank == 2 && out.dims[1] == 3);
    int big0 = add_input("f32[2097152,1]"), big1 = add_input("f32[1,2097152]");
    EXPECT_ERROR(mk(IR_OP_MUL, 2, big0, big1), "mul: result f32[2097152,2097152] has too many elements");
}

static void test_arith_dtypes(void) {
    fx_reset();
    int f = add_input("f32[3]"), i = add_input("i32[3]"), l = add_input("i64[3]"), b = add_input("bool[3]");
    EXPECT_ERROR(mk(IR_OP_ADD, 2, f, i),
                 "add: dtypes differ: f32[3] and i32[3]; use cast(x, f32) to convert one of them");
    EXPECT_ERROR(mk(IR_OP_MUL, 2, b, b),
                 "mul: expected a numeric tensor, got bool[3]; use cast(x, i32) or cast(x, f32) first");
    EXPECT_ERROR(mk(IR_OP_DIV, 2, i, i),
                 "div: integer division is not supported; cast to f32 first (operands i32[3] and i32[3])");
    EXPECT_TYPE(mk(IR_OP_DIV, 2, f, f), "f32[3]");
    EXPECT_TYPE(mk(IR_OP_POW, 2, i, i), "i32[3]");
    EXPECT_TYPE(mk(IR_OP_SUB, 2, l, l), "i64[3]");
}

static void test_compare_select_clip(void) {
    fx_reset();
    int f = add_input("f32[2,3]"), f3 = add_input("f32[3]"), i = add_input("i32[3]"), b = add_input("bool[2,1]");
    int b3 = add_input("bool[3]"), f4 = add_input("f32[4]");
    EXPECT_TYPE(mk(IR_OP_LT, 2, f, f3), "bool[2,3]");
    EXPECT_TYPE(mk(IR_OP_EQ, 2, b, b3), "bool[2,3]");
    EXPECT_TYPE(mk(IR_OP_NE, 2, i, i), "bool[3]");
    EXPECT_ERROR(mk(IR_OP_GE, 2, b, b3),
                 "ge: bool operands bool[2,1] and bool[3] cannot be ordered; only eq and ne compare bools");
    EXPECT_ERROR(mk(IR_OP_GT, 2, f3, i),
                 "gt: dtypes differ: f32[3] and i32[3]; use cast(x, f32) to convert one of them");
    EXPECT_ERROR(mk(IR_OP_LE, 2, f3, f4), "le: shapes f32[3] and f32[4] do not broadcast");

    EXPECT_TYPE(mk(IR_OP_SELECT, 3, b, f3, f3), "f32[2,3]");
    EXPECT_TYPE(mk(IR_OP_SELECT, 3, b3, f, f3), "f32[2,3]");
    EXPECT_ERROR(mk(IR_OP_SELECT, 3, f3, f3, f3), "select: the condition must be bool, got f32[3]");
    EXPECT_ERROR(mk(IR_OP_SELECT, 3, b3, f3, i),
                 "select: dtypes differ: f32[3] and i32[3]; use cast(x, f32) to convert one of them");
    EXPECT_ERROR(mk(IR_OP_SELECT, 3, b3, f4, f4), "select: shapes bool[3] and f32[4] do not broadcast");

    EXPECT_TYPE(mk(IR_OP_CLIP, 3, f3, f, f3), "f32[2,3]");
    EXPECT_TYPE(mk(IR_OP_CLIP, 3, i, i, i), "i32[3]");
    EXPECT_ERROR(mk(IR_OP_CLIP, 3, b3, b3, b3),
                 "clip: expected a numeric tensor, got bool[3]; use cast(x, i32) or cast(x, f32) first");
    EXPECT_ERROR(mk(IR_OP_CLIP, 3, f3, f3, i),
                 "clip: dtypes differ: f32[3] and i32[3]; use cast(x, f32) to convert one of them");
    EXPECT_ERROR(mk(IR_OP_CLIP, 3, f3, f3, f4), "clip: shapes f32[3] and f32[4] do not broadcast");
}

static void test_unary(void) {
    fx_reset();
    int f = add_input("f32[2,3]"), h = add_input("bf16[2]"), i = add_input("i32[4]"), b = add_input("bool[]");
    EXPECT_TYPE(mk(IR_OP_RELU, 1, i), "i32[4]");
    EXPECT_TYPE(mk(IR_OP_NEG, 1, f), "f32[2,3]");
    EXPECT_ERROR(mk(IR_OP_ABS, 1, b),
                 "abs: expected a numeric tensor, got bool[]; use cast(x, i32) or cast(x, f32) first");
    EXPECT_TYPE(mk(IR_OP_EXP, 1, h), "bf16[2]");
    EXPECT_TYPE(mk(IR_OP_GELU_TANH, 1, f), "f32[2,3]");
    EXPECT_ERROR(mk(IR_OP_SQRT, 1, i), "sqrt: expected a float tensor, got i32[4]; use cast(x, f32) first");
    ir_node *n = mk(IR_OP_LEAKY_RELU, 1, f);
    n->attr[IR_ATTR_ALPHA].f = 0.1;
    EXPECT_TYPE(n, "f32[2,3]");
    n = mk(IR_OP_CAST, 1, b);
    n->attr[IR_ATTR_DTYPE].v[0] = IR_I64;
    EXPECT_TYPE(n, "i64[]");
    n = mk(IR_OP_CAST, 1, f);
    n->attr[IR_ATTR_DTYPE].v[0] = -3;
    EXPECT_ERROR(n, "cast: invalid dtype -3");
}

/* ---- reductions, normalizations, losses ----------------------------------------------------- */

static ir_node *reduce(ir_op op, int x, bool keep, int count, ...) {
    ir_node *n = mk(op, 1, x);
    va_list ap;
    va_start(ap, count);
    n->attr[IR_ATTR_AXES].n = count;
    for (int i = 0; i < count; i++) n->attr[IR_ATTR_AXES].v[i] = va_arg(ap, int);
    va_end(ap);
    n->attr[IR_ATTR_KEEPDIMS].v[0] = keep;
    return n;
}

static void test_reductions(void) {
    fx_reset();
    int x = add_input("f32[2,3,4]"), i = add_input("i32[2,3]"), b = add_input("bool[2]"), e = add_input("f32[0,3]");
    ir_node *n = reduce(IR_OP_SUM, x, false, -1);
    EXPECT_TYPE(n, "f32[]");
    CHECK(n->attr[IR_ATTR_AXES].n == 3 && n->attr[IR_ATTR_AXES].v[0] == 0 && n->attr[IR_ATTR_AXES].v[2] == 2);
    EXPECT_TYPE(reduce(IR_OP_SUM, x, true, -1), "f32[1,1,1]");
    n = reduce(IR_OP_MEAN, x, false, 2, -1, 0);
    EXPECT_TYPE(n, "f32[3]");
    CHECK(n->attr[IR_ATTR_AXES].n == 2 && n->attr[IR_ATTR_AXES].v[0] == 0 && n->attr[IR_ATTR_AXES].v[1] == 2);
    EXPECT_TYPE(reduce(IR_OP_MAX, x, true, 1, 1), "f32[2,1,4]");
    EXPECT_TYPE(reduce(IR_OP_SUM, x, false, 0), "f32[2,3,4]");
    EXPECT_TYPE(reduce(IR_OP_MIN, i, false, 1, -2), "i32[3]");
    EXPECT_TYPE(reduce(IR_OP_SUM, e, false, 1, 0), "f32[3]");
    EXPECT_TYPE(reduce(IR_OP_MAX, e, false, 1, 1), "f32[0]");
    EXPECT_ERROR(reduce(IR_OP_SUM, x, false, 2, 1, -2), "sum: axis 1 is listed twice");
    EXPECT_ERROR(reduce(IR_OP_SUM, x, false, 1, 3), "sum: axis 3 is out of range for f32[2,3,4]");
    EXPECT_ERROR(reduce(IR_OP_MIN, x, false, 1, -4), "min: axis -4 is out of range for f32[2,3,4]");
    EXPECT_ERROR(reduce(IR_OP_MEAN, i, false, -1),
                 "mean: x must be a float tensor, got i32[2,3]; use cast(x, f32) first");
    EXPECT_ERROR(reduce(IR_OP_SUM, b, false, -1), "sum: cannot reduce a bool tensor bool[2]; use cast(x, i32) first");
    EXPECT_ERROR(reduce(IR_OP_MAX, e, false, -1), "max: cannot reduce the empty axis 0 of f32[0,3] (no identity)");

    n = mk(IR_OP_ARGMAX, 1, x);
    n->attr[IR_ATTR_AXIS].v[0] = -1;
    EXPECT_TYPE(n, "i32[2,3]");
    CHECK(n->attr[IR_ATTR_AXIS].v[0] == 2);
    n = mk(IR_OP_ARGMAX, 1, x);
    n->attr[IR_ATTR_AXIS].v[0] = 1;
    n->attr[IR_ATTR_KEEPDIMS].v[0] = 1;
    EXPECT_TYPE(n, "i32[2,1,4]");
    n = mk(IR_OP_ARGMAX, 1, x);
    n->attr[IR_ATTR_AXIS].v[0] = 3;
    EXPECT_ERROR(n, "argmax: axis 3 is out of range for f32[2,3,4]");
    n = mk(IR_OP_ARGMAX, 1, e);
    EXPECT_ERROR(n, "argmax: cannot reduce the empty axis 0 of f32[0,3] (no identity)");

    int img = add_input("f32[8,16,7,7]");
    EXPECT_TYPE(mk(IR_OP_GLOBAL_AVG_POOL, 1, img), "f32[8,16]");
    EXPECT_ERROR(mk(IR_OP_GLOBAL_AVG_POOL, 1, x), "global_avg_pool: expected a rank-4 NCHW tensor, got f32[2,3,4]");
}

static void test_normalization(void) {
    fx_reset();
    int x = add_input("f32[2,3,4]"), i = add_input("i32[3]"), s = add_input("f32[]");
    int g4 = add_input("f32[4]"), g3 = add_input("f32[3]"), h4 = add_input("f16[4]");
    ir_node *n = mk(IR_OP_SOFTMAX, 1, x);
    n->attr[IR_ATTR_AXIS].v[0] = -1;
    EXPECT_TYPE(n, "f32[2,3,4]");
    CHECK(n->attr[IR_ATTR_AXIS].v[0] == 2);
    n = mk(IR_OP_LOG_SOFTMAX, 1, s);
    n->attr[IR_ATTR_AXIS].v[0] = -1;
    EXPECT_ERROR(n, "log_softmax: axis -1 is out of range for f32[]");
    EXPECT_ERROR(mk(IR_OP_SOFTMAX, 1, i), "softmax: x must be a float tensor, got i32[3]; use cast(x, f32) first");

    EXPECT_TYPE(mk(IR_OP_LAYER_NORM, 3, x, g4, g4), "f32[2,3,4]");
    EXPECT_ERROR(mk(IR_OP_LAYER_NORM, 3, x, g4, g3),
                 "layer_norm: beta must be f32[4] (the last axis of x: f32[2,3,4]), got f32[3]");
    EXPECT_ERROR(mk(IR_OP_LAYER_NORM, 3, x, h4, g4),
                 "layer_norm: gamma must be f32[4] (the last axis of x: f32[2,3,4]), got f16[4]");
    EXPECT_ERROR(mk(IR_OP_LAYER_NORM, 3, s, s, s), "layer_norm: x must have at least one axis, got f32[]");

    EXPECT_TYPE(mk(IR_OP_BATCH_NORM, 5, x, g3, g3, g3, g3), "f32[2,3,4]");
    EXPECT_ERROR(mk(IR_OP_BATCH_NORM, 5, x, g3, g4, g3, g3),
                 "batch_norm: var must be f32[3] (the channels of x: f32[2,3,4]), got f32[4]");
    EXPECT_ERROR(mk(IR_OP_BATCH_NORM, 5, g3, g3, g3, g3, g3),
                 "batch_norm: x must have at least two axes (channels on axis 1), got f32[3]");
}

static void test_losses(void) {
    fx_reset();
    int logits = add_input("f32[8,10]"), y = add_input("i32[8]"), y64 = add_input("i64[8]");
    int yf = add_input("f32[8]"), y2 = add_input("i32[4]"), il = add_input("i32[8,10]");
    int a = add_input("f32[8,1]"), b = add_input("f32[3]"), c = add_input("f32[4]");
    EXPECT_TYPE(mk(IR_OP_CROSS_ENTROPY, 2, logits, y), "f32[8]");
    EXPECT_TYPE(mk(IR_OP_CROSS_ENTROPY, 2, logits, y64), "f32[8]");
    EXPECT_ERROR(mk(IR_OP_CROSS_ENTROPY, 2, logits, yf), "cross_entropy: labels must be i32 or i64, got f32[8]");
    EXPECT_ERROR(mk(IR_OP_CROSS_ENTROPY, 2, logits, y2),
                 "cross_entropy: labels i32[4] must have the shape of logits f32[8,10] without its last axis");
    EXPECT_ERROR(mk(IR_OP_CROSS_ENTROPY, 2, il, y),
                 "cross_entropy: logits must be a float tensor, got i32[8,10]; use cast(x, f32) first");
    EXPECT_TYPE(mk(IR_OP_MSE, 2, a, b), "f32[]");
    EXPECT_ERROR(mk(IR_OP_MSE, 2, b, c), "mse: shapes f32[3] and f32[4] do not broadcast");
    EXPECT_ERROR(mk(IR_OP_MSE, 2, y, y), "mse: a must be a float tensor, got i32[8]; use cast(x, f32) first");
    int big0 = add_input("f32[2097152,1]"), big1 = add_input("f32[2097152]");
    EXPECT_ERROR(mk(IR_OP_MSE, 2, big0, big1), "mse: f32[2097152,1] and f32[2097152] broadcast to "
                                              "f32[2097152,2097152], which has too many elements");
}

/* ---- matmul and movement ------------------------------------------------------------------ */

static void test_matmul(void) {
    fx_reset();
    int x = add_input("f32[64,784]"), w = add_input("f32[784,512]"), bad = add_input("f32[785,512]");
    int v = add_input("f32[784]"), v5 = add_input("f32[512]"), s = add_input("f32[]");
    int a = add_input("f32[2,1,3,4]"), b = add_input("f32[5,4,6]"), c = add_input("f32[3,4,6]");
    int k = add_input("f32[4]"), i = add_input("i32[3,4]"), iw = add_input("i32[4,2]"), bb = add_input("bool[2,2]");
    EXPECT_TYPE(mk(IR_OP_MATMUL, 2, x, w), "f32[64,512]");
    EXPECT_ERROR(mk(IR_OP_MATMUL, 2, x, bad), "matmul: inner dimensions differ: f32[64,784] @ f32[785,512]");
    EXPECT_TYPE(mk(IR_OP_MATMUL, 2, v, v), "f32[]");
    EXPECT_TYPE(mk(IR_OP_MATMUL, 2, v, w), "f32[512]");
    EXPECT_TYPE(mk(IR_OP_MATMUL, 2, w, v5), "f32[784]");
    EXPECT_TYPE(mk(IR_OP_MATMUL, 2, a, b), "f32[2,5,3,6]");
    EXPECT_TYPE(mk(IR_OP_MATMUL, 2, a, k), "f32[2,1,3]");
    EXPECT_TYPE(mk(IR_OP_MATMUL, 2, k, b), "f32[5,6]");
    EXPECT_TYPE(mk(IR_OP_MATMUL, 2, i, iw), "i32[3,2]");
    EXPECT_ERROR(mk(IR_OP_MATMUL, 2, b, c),
                 "matmul: inner dimensions differ: f32[5,4,6] @ f32[3,4,6]");
    int b2 = add_input("f32[3,6,2]");
    EXPECT_ERROR(mk(IR_OP_MATMUL, 2, b, b2), "matmul: batch dimensions do not broadcast: f32[5,4,6] @ f32[3,6,2]");
    EXPECT_ERROR(mk(IR_OP_MATMUL, 2, s, w),
                 "matmul: operands must have at least one axis, got the scalar f32[]; use mul");
    EXPECT_ERROR(mk(IR_OP_MATMUL, 2, i, w),
                 "matmul: dtypes differ: i32[3,4] and f32[784,512]; use cast(x, i32) to convert one of them");
    EXPECT_ERROR(mk(IR_OP_MATMUL, 2, bb, bb), "matmul: expected f32, i32 or i64 operands, got bool[2,2]");
}

/* PERM_A / PERM_B: the operand as transpose(operand, perm), which canonicalize writes when it
 * absorbs a transpose; negative entries normalize, and errors show the operands as transposed. */
static void test_matmul_perm(void) {
    fx_reset();
    int a = add_input("f32[4,3]"), w = add_input("f32[4,5]"), wt = add_input("f32[5,4]");
    int x = add_input("f32[2,4,3]"), v = add_input("f32[4]");
    ir_node *n = mk(IR_OP_MATMUL, 2, a, w);
    set_ints(n, IR_ATTR_PERM_A, 2, 1LL, 0LL);
    EXPECT_TYPE(n, "f32[3,5]");
    n = mk(IR_OP_MATMUL, 2, a, wt);
    set_ints(n, IR_ATTR_PERM_A, 2, -1LL, -2LL);
    set_ints(n, IR_ATTR_PERM_B, 2, 1LL, 0LL);
    EXPECT_TYPE(n, "f32[3,5]");
    CHECK(n->attr[IR_ATTR_PERM_A].v[0] == 1 && n->attr[IR_ATTR_PERM_A].v[1] == 0);
    n = mk(IR_OP_MATMUL, 2, x, w);
    set_ints(n, IR_ATTR_PERM_A, 3, 0LL, 2LL, 1LL);
    EXPECT_TYPE(n, "f32[2,3,5]");
    n = mk(IR_OP_MATMUL, 2, a, wt);
    set_ints(n, IR_ATTR_PERM_A, 2, 1LL, 0LL);
    EXPECT_ERROR(n, "matmul: inner dimensions differ: f32[3,4] @ f32[5,4]");
    n = mk(IR_OP_MATMUL, 2, a, v);
    set_ints(n, IR_ATTR_PERM_A, 2, 1LL, 0LL);
    set_ints(n, IR_ATTR_PERM_B, 1, 0LL);
    EXPECT_TYPE(n, "f32[3]");
    n = mk(IR_OP_MATMUL, 2, a, w);
    set_ints(n, IR_ATTR_PERM_A, 3, 1LL, 0LL, 2LL);
    EXPECT_ERROR(n, "matmul: perm_a [1,0,2] has 3 entries, but f32[4,3] has 2 axes");
    n = mk(IR_OP_MATMUL, 2, a, wt);
    set_ints(n, IR_ATTR_PERM_B, 2, 0LL, 0LL);
    EXPECT_ERROR(n, "matmul: perm_b [0,0] is not a permutation of the 2 axes of f32[5,4]");
    n = mk(IR_OP_MATMUL, 2, a, w);
    set_ints(n, IR_ATTR_PERM_A, 2, 2LL, 0LL);
    EXPECT_ERROR(n, "matmul: perm_a [2,0] is not a permutation of the 2 axes of f32[4,3]");
    n = mk(IR_OP_MATMUL, 2, a, w);
    n->attr[IR_ATTR_PERM_A].n = -1;
    EXPECT_ERROR(n, "matmul: perm_a [] has -1 entries, but f32[4,3] has 2 axes");
}

static void test_transpose(void) {
    fx_reset();
    int x = add_input("f32[2,3,4]"), s = add_input("i32[]");
    ir_node *n = mk(IR_OP_TRANSPOSE, 1, x);
    EXPECT_TYPE(n, "f32[4,3,2]");
    CHECK(n->attr[IR_ATTR_PERM].n == 3 && n->attr[IR_ATTR_PERM].v[0] == 2 && n->attr[IR_ATTR_PERM].v[2] == 0);
    n = mk(IR_OP_TRANSPOSE, 1, x);
    set_ints(n, IR_ATTR_PERM, 3, 0LL, -1LL, 1LL);
    EXPECT_TYPE(n, "f32[2,4,3]");
    CHECK(n->attr[IR_ATTR_PERM].v[1] == 2);
    EXPECT_TYPE(mk(IR_OP_TRANSPOSE, 1, s), "i32[]");
    n = mk(IR_OP_TRANSPOSE, 1, x);
    set_ints(n, IR_ATTR_PERM, 3, 0LL, 2LL, -1LL);
    EXPECT_ERROR(n, "transpose: perm [0,2,-1] is not a permutation of the 3 axes of f32[2,3,4]");
    n = mk(IR_OP_TRANSPOSE, 1, x);
    set_ints(n, IR_ATTR_PERM, 2, 1LL, 0LL);
    EXPECT_ERROR(n, "transpose: perm [1,0] has 2 entries, but f32[2,3,4] has 3 axes");
}

static void test_reshape_broadcast_to(void) {
    fx_reset();
    int x = add_input("f32[2,3]"), z = add_input("f32[0,3]"), s = add_input("f32[]"), one = add_input("f32[1]");
    ir_node *n = mk(IR_OP_RESHAPE, 1, x);
    set_ints(n, IR_ATTR_SHAPE, 3, 3LL, -1LL, 1LL);
    EXPECT_TYPE(n, "f32[3,2,1]");
    CHECK(n->attr[IR_ATTR_SHAPE].v[1] == 2);
    n = mk(IR_OP_RESHAPE, 1, x);
    set_ints(n, IR_ATTR_SHAPE, 1, -1LL);
    EXPECT_TYPE(n, "f32[6]");
    n = mk(IR_OP_RESHAPE, 1, x);
    set_ints(n, IR_ATTR_SHAPE, 2, 4LL, -1LL);
    EXPECT_ERROR(n, "reshape: cannot reshape f32[2,3] (6 elements) into [4,-1]");
    n = mk(IR_OP_RESHAPE, 1, x);
    set_ints(n, IR_ATTR_SHAPE, 2, 7LL, 1LL);
    EXPECT_ERROR(n, "reshape: cannot reshape f32[2,3] (6 elements) into [7,1]");
    n = mk(IR_OP_RESHAPE, 1, x);
    set_ints(n, IR_ATTR_SHAPE, 2, -1LL, -1LL);
    EXPECT_ERROR(n, "reshape: shape [-1,-1] has more than one -1");
    n = mk(IR_OP_RESHAPE, 1, x);
    set_ints(n, IR_ATTR_SHAPE, 2, -2LL, -3LL);
    EXPECT_ERROR(n, "reshape: negative dimension -2 in shape [-2,-3]");
    n = mk(IR_OP_RESHAPE, 1, z);
    set_ints(n, IR_ATTR_SHAPE, 2, 0LL, -1LL);
    EXPECT_ERROR(n, "reshape: cannot reshape f32[0,3] (0 elements) into [0,-1]");
    n = mk(IR_OP_RESHAPE, 1, z);
    set_ints(n, IR_ATTR_SHAPE, 3, 3LL, 0LL, 5LL);
    EXPECT_TYPE(n, "f32[3,0,5]");
    n = mk(IR_OP_RESHAPE, 1, s);
    set_ints(n, IR_ATTR_SHAPE, 2, 1LL, -1LL);
    EXPECT_TYPE(n, "f32[1,1]");
    EXPECT_TYPE(mk(IR_OP_RESHAPE, 1, one), "f32[]");
    n = mk(IR_OP_RESHAPE, 1, x);
    set_ints(n, IR_ATTR_SHAPE, 3, 1LL << 40, 1LL << 40, -1LL);
    EXPECT_ERROR(n, "reshape: cannot reshape f32[2,3] (6 elements) into [1099511627776,1099511627776,-1]");

    n = mk(IR_OP_BROADCAST_TO, 1, x);
    set_ints(n, IR_ATTR_SHAPE, 3, 4LL, 2LL, 3LL);
    EXPECT_TYPE(n, "f32[4,2,3]");
    int col = add_input("f32[2,1]");
    n = mk(IR_OP_BROADCAST_TO, 1, col);
    set_ints(n, IR_ATTR_SHAPE, 2, 2LL, 0LL);
    EXPECT_TYPE(n, "f32[2,0]");
    n = mk(IR_OP_BROADCAST_TO, 1, x);
    set_ints(n, IR_ATTR_SHAPE, 2, 4LL, 3LL);
    EXPECT_ERROR(n, "broadcast_to: cannot broadcast f32[2,3] to [4,3]");
    n = mk(IR_OP_BROADCAST_TO, 1, x);
    set_ints(n, IR_ATTR_SHAPE, 1, 3LL);
    EXPECT_ERROR(n, "broadcast_to: cannot broadcast f32[2,3] to [3]");
    n = mk(IR_OP_BROADCAST_TO, 1, x);
    set_ints(n, IR_ATTR_SHAPE, 2, -1LL, 3LL);
    EXPECT_ERROR(n, "broadcast_to: negative dimension -1 in shape [-1,3]");
}

static void test_concat_pad(void) {
    fx_reset();
    int a = add_input("f32[2,3]"), b = add_input("f32[2,5]"), c = add_input("f32[4,3]");
    int i = add_input("i32[2,3]"), s = add_input("f32[]"), r3 = add_input("f32[2,3,1]");
    ir_node *n = mk(IR_OP_CONCAT, 3, a, b, a);
    n->attr[IR_ATTR_AXIS].v[0] = -1;
    EXPECT_TYPE(n, "f32[2,11]");
    CHECK(n->attr[IR_ATTR_AXIS].v[0] == 1);
    EXPECT_TYPE(mk(IR_OP_CONCAT, 2, a, c), "f32[6,3]");
    EXPECT_TYPE(mk(IR_OP_CONCAT, 1, a), "f32[2,3]");
    EXPECT_ERROR(mk(IR_OP_CONCAT, 2, a, b), "concat: operand 1 has type f32[2,5], which does not match f32[2,3] "
                                           "outside axis 0");
    EXPECT_ERROR(mk(IR_OP_CONCAT, 2, a, r3), "concat: operand 1 has type f32[2,3,1], which does not match f32[2,3] "
                                            "outside axis 0");
    EXPECT_ERROR(mk(IR_OP_CONCAT, 2, a, i),
                 "concat: dtypes differ: f32[2,3] and i32[2,3]; use cast(x, f32) to convert one of them");
    EXPECT_ERROR(mk(IR_OP_CONCAT, 2, s, s), "concat: cannot concatenate scalars (f32[]); reshape them to [1] first");
    n = mk(IR_OP_CONCAT, 1, a);
    n->attr[IR_ATTR_AXIS].v[0] = 2;
    EXPECT_ERROR(n, "concat: axis 2 is out of range for f32[2,3]");

    n = mk(IR_OP_PAD, 1, a);
    set_ints(n, IR_ATTR_LO, 2, 1LL, 0LL);
    set_ints(n, IR_ATTR_HI, 2, 2LL, 3LL);
    EXPECT_TYPE(n, "f32[5,6]");
    EXPECT_TYPE(mk(IR_OP_PAD, 1, s), "f32[]");
    n = mk(IR_OP_PAD, 1, a);
    set_ints(n, IR_ATTR_LO, 1, 1LL);
    set_ints(n, IR_ATTR_HI, 1, 1LL);
    EXPECT_ERROR(n, "pad: expected 2 [lo, hi] pairs for f32[2,3], got 1");
    n = mk(IR_OP_PAD, 1, a);
    set_ints(n, IR_ATTR_LO, 2, 1LL, 0LL);
    set_ints(n, IR_ATTR_HI, 2, 0LL, -1LL);
    EXPECT_ERROR(n, "pad: negative width [0, -1] on axis 1");
    n = mk(IR_OP_PAD, 1, a);
    set_ints(n, IR_ATTR_LO, 2, (long long)INT64_MAX, 0LL);
    set_ints(n, IR_ATTR_HI, 2, (long long)INT64_MAX, 0LL);
    EXPECT_ERROR(n, "pad: result f32[2199023255554,3] has too many elements");
}

static void test_gather_one_hot(void) {
    fx_reset();
    int x = add_input("f32[5,6,7]"), idx = add_input("i32[2,3]"), idx64 = add_input("i64[]");
    int fidx = add_input("f32[2]"), big = add_input("f32[1,1,1,1,1,1,1,1]"), i8 = add_input("i32[1,1,1,1,1,1,1,1]");
    ir_node *n = mk(IR_OP_GATHER, 2, x, idx);
    n->attr[IR_ATTR_AXIS].v[0] = -2;
    EXPECT_TYPE(n, "f32[5,2,3,7]");
    CHECK(n->attr[IR_ATTR_AXIS].v[0] == 1);
    EXPECT_TYPE(mk(IR_OP_GATHER, 2, x, idx64), "f32[6,7]");
    EXPECT_ERROR(mk(IR_OP_GATHER, 2, x, fidx), "gather: indices must be i32 or i64, got f32[2]");
    EXPECT_ERROR(mk(IR_OP_GATHER, 2, big, idx),
                 "gather: the result would have 9 axes; at most 8 are supported");
    n = mk(IR_OP_GATHER, 2, x, idx);
    n->attr[IR_ATTR_AXIS].v[0] = 3;
    EXPECT_ERROR(n, "gather: axis 3 is out of range for f32[5,6,7]");

    n = mk(IR_OP_ONE_HOT, 1, idx);
    n->attr[IR_ATTR_DEPTH].v[0] = 10;
    EXPECT_TYPE(n, "f32[2,3,10]");
    n = mk(IR_OP_ONE_HOT, 1, idx);
    EXPECT_ERROR(n, "one_hot: depth must be at least 1, got 0");
    n = mk(IR_OP_ONE_HOT, 1, fidx);
    n->attr[IR_ATTR_DEPTH].v[0] = 3;
    EXPECT_ERROR(n, "one_hot: indices must be i32 or i64, got f32[2]");
    n = mk(IR_OP_ONE_HOT, 1, i8);
    n->attr[IR_ATTR_DEPTH].v[0] = 3;
    EXPECT_ERROR(n, "one_hot: the result would have 9 axes; at most 8 are supported");
}

/* ---- slice --------------------------------------------------------------------------------- */

/* Python's len(range(10)[slice(start, stop, step)]) etc.: cases computed with CPython, where
 * "N" (INT64_MIN here) stands for None, i.e. a list shorter than the rank. */
#define NONE INT64_MIN
static const struct slice_case {
    int64_t dim, start, stop, step, len, first;
} slice_cases[] = {
    {10, 2, 8, 1, 6, 2},      {10, -3, NONE, 1, 3, 7},  {10, NONE, NONE, -1, 10, 9}, {10, 8, 2, -2, 3, 8},
    {10, -1, -11, -1, 10, 9}, {10, 5, -1, -1, 0, 0},    {10, 100, -100, -3, 4, 9},   {10, 0, 0, 1, 0, 0},
    {10, -100, 100, 4, 3, 0}, {5, NONE, 0, -1, 4, 4},   {5, 3, NONE, -2, 2, 3},      {0, NONE, NONE, -1, 0, 0},
    {0, 3, -3, 1, 0, 0},      {1, 0, 1, INT64_MAX, 1, 0}, {7, 6, NONE, INT64_MIN, 1, 6}, {10, 9, 0, -4, 3, 9},
};

static void test_slice_cases(void) {
    fx_reset();
    for (size_t c = 0; c < sizeof slice_cases / sizeof slice_cases[0]; c++) {
        const struct slice_case *sc = &slice_cases[c];
        char type[32];
        snprintf(type, sizeof type, "f32[%lld]", (long long)sc->dim);
        int x = add_input(type);
        ir_node *n = mk(IR_OP_SLICE, 1, x);
        if (sc->start != NONE) set_ints(n, IR_ATTR_START, 1, (long long)sc->start);
        if (sc->stop != NONE) set_ints(n, IR_ATTR_STOP, 1, (long long)sc->stop);
        set_ints(n, IR_ATTR_STEP, 1, (long long)sc->step);
        char want[32];
        snprintf(want, sizeof want, "f32[%lld]", (long long)sc->len);
        EXPECT_TYPE(n, want);
        if (sc->len > 0 && n->attr[IR_ATTR_START].v[0] != sc->first) {
            fprintf(stderr, "slice case %zu: start normalized to %lld, expected %lld\n", c,
                    (long long)n->attr[IR_ATTR_START].v[0], (long long)sc->first);
            failures++;
        }
    }
}

/* Every (start, stop, step) over small dims: re-inference gives the same length and attributes,
 * and the normalized start and step pick exactly the elements the first run picked. */
static void test_slice_idempotent(void) {
    fx_reset();
    int before = failures;
    for (int dim = 0; dim <= 5; dim++) {
        char type[32];
        snprintf(type, sizeof type, "f32[%d,2]", dim);
        int x = add_input(type);
        for (int start = -8; start <= 8; start++)
            for (int stop = -8; stop <= 8; stop++)
                for (int step = -4; step <= 4; step++) {
                    if (step == 0) continue;
                    ir_node *n = mk(IR_OP_SLICE, 1, x);
                    set_ints(n, IR_ATTR_START, 1, (long long)start);
                    set_ints(n, IR_ATTR_STOP, 1, (long long)stop);
                    set_ints(n, IR_ATTR_STEP, 1, (long long)step);
                    long from = ftell(fx.out);
                    CHECK(ir_infer(fx.g, n, &fx.d));
                    ir_node again = *n;
                    CHECK(ir_infer(fx.g, &again, &fx.d) && same_attrs(&again, n) &&
                          ir_type_equal(&again.type, &n->type));
                    /* the elements: Python keeps i in [0, dim) with i = start' + k*step */
                    int64_t s0 = n->attr[IR_ATTR_START].v[0], len = n->type.dims[0];
                    CHECK(n->type.dims[1] == 2 && n->attr[IR_ATTR_STEP].v[1] == 1);
                    CHECK(len == 0 || (s0 >= 0 && s0 < dim && s0 + (len - 1) * step >= 0 &&
                                       s0 + (len - 1) * step < dim));
                    if (failures != before) {
                        fprintf(stderr, "slice dim %d [%d:%d:%d] (%s)\n", dim, start, stop, step, captured(from));
                        return;
                    }
                }
    }
}

static void test_slice_errors(void) {
    fx_reset();
    int x = add_input("f32[4,5]");
    ir_node *n = mk(IR_OP_SLICE, 1, x);
    set_ints(n, IR_ATTR_START, 1, 1LL);
    EXPECT_TYPE(n, "f32[3,5]");
    CHECK(n->attr[IR_ATTR_START].n == 2 && n->attr[IR_ATTR_STOP].n == 2 && n->attr[IR_ATTR_STEP].n == 2);
    CHECK(n->attr[IR_ATTR_STOP].v[0] == 4 && n->attr[IR_ATTR_STOP].v[1] == 5 && n->attr[IR_ATTR_STEP].v[1] == 1);
    n = mk(IR_OP_SLICE, 1, x);
    set_ints(n, IR_ATTR_STEP, 2, 1LL, 0LL);
    EXPECT_ERROR(n, "slice: step on axis 1 is zero");
    n = mk(IR_OP_SLICE, 1, x);
    set_ints(n, IR_ATTR_STOP, 3, 1LL, 1LL, 1LL);
    EXPECT_ERROR(n, "slice: stop has 3 entries, but f32[4,5] has 2 axes");
    /* reversed whole axis: stop is stored as -dim-1, "before index 0" */
    n = mk(IR_OP_SLICE, 1, x);
    set_ints(n, IR_ATTR_STEP, 2, -1LL, 2LL);
    EXPECT_TYPE(n, "f32[4,3]");
    CHECK(n->attr[IR_ATTR_START].v[0] == 3 && n->attr[IR_ATTR_STOP].v[0] == -5);
    CHECK(n->attr[IR_ATTR_START].v[1] == 0 && n->attr[IR_ATTR_STOP].v[1] == 5);
}

/* ---- conv2d and pools ----------------------------------------------------------------------- */

static void test_conv2d(void) {
    fx_reset();
    int img = add_input("f32[32,1,28,28]"), c1 = add_input("f32[6,1,5,5]"), x3 = add_input("f32[1,1,3,3]");
    int x8 = add_input("f32[1,4,8,8]"), w8 = add_input("f32[8,2,3,3]"), w4 = add_input("f32[6,4,4,4]");
    int xi = add_input("i32[1,1,3,3]"), v = add_input("f32[4]"), wh = add_input("f16[6,1,5,5]");
    EXPECT_TYPE(conv(img, c1, 2, 1, 1, 1), "f32[32,6,28,28]");
    EXPECT_TYPE(conv(img, c1, 0, 1, 1, 1), "f32[32,6,24,24]");
    EXPECT_TYPE(conv(img, c1, 0, 2, 1, 1), "f32[32,6,12,12]");
    EXPECT_TYPE(conv(img, c1, 0, 1, 2, 1), "f32[32,6,20,20]");
    EXPECT_TYPE(conv(x8, w8, 1, 1, 1, 2), "f32[1,8,8,8]");
    ir_node *n = conv(x8, w4, -2, 1, 1, 1); /* even kernel: total 3 -> lo 1, hi 2 */
    EXPECT_TYPE(n, "f32[1,6,8,8]");
    CHECK(n->attr[IR_ATTR_LO].n == 2 && n->attr[IR_ATTR_LO].v[0] == 1 && n->attr[IR_ATTR_HI].v[1] == 2);
    n = conv(x8, w4, -2, 1, 3, 1); /* total 9 -> lo 4, hi 5 */
    EXPECT_TYPE(n, "f32[1,6,8,8]");
    CHECK(n->attr[IR_ATTR_LO].v[1] == 4 && n->attr[IR_ATTR_HI].v[0] == 5);
    n = mk(IR_OP_CONV2D, 2, img, c1); /* defaults left out: stride 1, dilation 1, no padding */
    n->attr[IR_ATTR_GROUPS].v[0] = 1;
    EXPECT_TYPE(n, "f32[32,6,24,24]");
    CHECK(n->attr[IR_ATTR_STRIDE].n == 2 && n->attr[IR_ATTR_DILATION].v[1] == 1 && n->attr[IR_ATTR_HI].n == 2);

    EXPECT_ERROR(conv(x3, c1, 0, 1, 1, 1), "conv2d: kernel 5x5 (dilation 1) does not fit in the padded 3x3 input");
    EXPECT_ERROR(conv(img, c1, -2, 2, 1, 1), "conv2d: padding \"same\" requires stride 1, got stride [2,2]");
    EXPECT_ERROR(conv(x8, w8, 0, 1, 1, 3),
                 "conv2d: groups 3 must divide both the 4 input channels of f32[1,4,8,8] and the 8 output "
                 "channels of f32[8,2,3,3]");
    EXPECT_ERROR(conv(x8, w8, 0, 1, 1, 1),
                 "conv2d: weight f32[8,2,3,3] expects 2 input channels per group, but f32[1,4,8,8] with groups 1 "
                 "has 4");
    EXPECT_ERROR(conv(x8, w8, 0, 1, 1, 0), "conv2d: groups must be at least 1, got 0");
    EXPECT_ERROR(conv(xi, c1, 0, 1, 1, 1), "conv2d: input must be a rank-4 float tensor (NCHW), got i32[1,1,3,3]");
    EXPECT_ERROR(conv(img, v, 0, 1, 1, 1), "conv2d: weight must be a rank-4 float tensor (OIHW), got f32[4]");
    EXPECT_ERROR(conv(img, wh, 0, 1, 1, 1),
                 "conv2d: dtypes differ: f32[32,1,28,28] and f16[6,1,5,5]; use cast(x, f32) to convert one of them");
    EXPECT_ERROR(conv(img, c1, 0, 0, 1, 1), "conv2d: stride [0,0] must be positive");
    EXPECT_ERROR(conv(img, c1, -1, 1, 1, 1), "conv2d: padding [-1,-1] must be non-negative");
    EXPECT_ERROR(conv(img, c1, 0, 1, INT64_MAX / 2, 1),
                 "conv2d: dilation [4611686018427387903,4611686018427387903] is too large");
    EXPECT_ERROR(conv(img, c1, 0, 1, 1LL << 40, 1),
                 "conv2d: kernel 5x5 (dilation 1099511627776) does not fit in the padded 28x28 input");
    int w11 = add_input("f32[6,1,11,11]");
    EXPECT_ERROR(conv(img, w11, 0, 1, 1LL << 39, 1),
                 "conv2d: kernel 11x11 with dilation 549755813888 is too large");
    n = conv(img, c1, 0, 1, 1, 1);
    set_ints(n, IR_ATTR_STRIDE, 3, 1LL, 1LL, 1LL);
    EXPECT_ERROR(n, "conv2d: stride must have 2 entries [h, w], got 3");
}

static void test_pool2d(void) {
    fx_reset();
    int x = add_input("f32[32,6,28,28]"), odd = add_input("f32[1,1,5,7]"), i = add_input("i32[1,1,4,4]");
    int r3 = add_input("f32[1,4,4]");
    ir_node *n = pool(IR_OP_MAX_POOL2D, x, 2, 0, 0);
    EXPECT_TYPE(n, "f32[32,6,14,14]");
    CHECK(n->attr[IR_ATTR_STRIDE].n == 2 && n->attr[IR_ATTR_STRIDE].v[0] == 2);
    EXPECT_TYPE(pool(IR_OP_AVG_POOL2D, x, 3, 1, 1), "f32[32,6,28,28]");
    EXPECT_TYPE(pool(IR_OP_MAX_POOL2D, odd, 2, 0, 0), "f32[1,1,2,3]");
    EXPECT_TYPE(pool(IR_OP_MAX_POOL2D, odd, 3, 2, 1), "f32[1,1,3,4]");
    n = mk(IR_OP_AVG_POOL2D, 1, odd);
    set_ints(n, IR_ATTR_KERNEL, 2, 2LL, 3LL);
    EXPECT_TYPE(n, "f32[1,1,2,2]");
    EXPECT_ERROR(pool(IR_OP_MAX_POOL2D, x, 3, 1, 2),
                 "max_pool2d: padding [2, 2] on spatial axis 0 is more than half the kernel size 3");
    EXPECT_ERROR(pool(IR_OP_AVG_POOL2D, odd, 6, 1, 0), "avg_pool2d: kernel 6x6 does not fit in the padded 5x7 input");
    EXPECT_ERROR(pool(IR_OP_MAX_POOL2D, i, 2, 0, 0),
                 "max_pool2d: input must be a rank-4 float tensor (NCHW), got i32[1,1,4,4]");
    EXPECT_ERROR(pool(IR_OP_MAX_POOL2D, r3, 2, 0, 0),
                 "max_pool2d: input must be a rank-4 float tensor (NCHW), got f32[1,4,4]");
    EXPECT_ERROR(pool(IR_OP_MAX_POOL2D, x, 0, 0, 0), "max_pool2d: kernel [0,0] must be positive");
    EXPECT_ERROR(mk(IR_OP_MAX_POOL2D, 1, x), "max_pool2d: missing kernel size");
}

int main(void) {
    if (fixture_open()) return 1;
    test_leaves();
    test_arity();
    test_broadcasting();
    test_arith_dtypes();
    test_compare_select_clip();
    test_unary();
    test_reductions();
    test_normalization();
    test_losses();
    test_matmul();
    test_matmul_perm();
    test_transpose();
    test_reshape_broadcast_to();
    test_concat_pad();
    test_gather_one_hot();
    test_slice_cases();
    test_slice_idempotent();
    test_slice_errors();
    test_conv2d();
    test_pool2d();
    return fixture_close("test_shape");
}
