/* grad_rules_elementwise.c — reverse-mode rules of the elementwise ops (ops.def, column grad).
 * Given dy, the gradient with respect to the op's value (of the broadcast shape), each rule
 * appends the gradient with respect to each operand, summed over the axes that broadcasting
 * stretched. An f16 or bf16 op gets its gradient in its own dtype, each step rounded as the
 * forward's ops are. The choices at the non-smooth points are docs/training.md's table. */
#include "ir/ir.h"

/* Ops without operands. */
bool grad_leaf(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)b;
    (void)n;
    (void)dy;
    (void)dx;
    return true;
}

/* Piecewise-constant ops and ops without a float result: no gradient flows back. */
bool grad_none(ir_builder *b, const ir_node *n, int dy, int *dx) {
    (void)b;
    (void)dy;
    for (int k = 0; k < n->n_in; k++) dx[k] = -1;
    return true;
}

/* ---- helpers (and ir/build.c's arithmetic: one node per call) ----------------------------- */

static int one_minus(ir_builder *b, int x) {
    int one = ir_build_scalar_like(b, x, 1);
    return ir_build_sub(b, one, x);
}

/* g (of the op's broadcast shape) summed down to operand k's shape. */
static int to_operand(ir_builder *b, const ir_node *n, int k, int g) {
    return ir_build_sum_to(b, g, ir_build_type(b, n->in[k]));
}

/* ---- binary arithmetic ------------------------------------------------------------------- */

/* a + b: dy to both. */
bool grad_add(ir_builder *b, const ir_node *n, int dy, int *dx) {
    dx[0] = to_operand(b, n, 0, dy);
    dx[1] = to_operand(b, n, 1, dy);
    return !b->failed;
}

/* a - b: dy and -dy. */
bool grad_sub(ir_builder *b, const ir_node *n, int dy, int *dx) {
    dx[0] = to_operand(b, n, 0, dy);
    dx[1] = ir_build_unary(b, IR_OP_NEG, to_operand(b, n, 1, dy));
    return !b->failed;
}

/* a * b: dy * b and dy * a. */
bool grad_mul(ir_builder *b, const ir_node *n, int dy, int *dx) {
    dx[0] = to_operand(b, n, 0, ir_build_mul(b, dy, n->in[1]));
    dx[1] = to_operand(b, n, 1, ir_build_mul(b, dy, n->in[0]));
    return !b->failed;
}

/* y = a / b: dy / b and -dy * (y / b) (PyTorch's form, which reuses y). */
bool grad_div(ir_builder *b, const ir_node *n, int dy, int *dx) {
    dx[0] = to_operand(b, n, 0, ir_build_div(b, dy, n->in[1]));
    int q = ir_build_div(b, n->id, n->in[1]);
    dx[1] = ir_build_unary(b, IR_OP_NEG, to_operand(b, n, 1, ir_build_mul(b, dy, q)));
    return !b->failed;
}

/* y = a ** e: d/da = e * a^(e-1), taken as 0 where e = 0 (so that 0^-1 gives no inf * 0);
 * d/de = y * log(a), taken as 0 where a = 0 and e >= 0 (PyTorch's pow_backward rules). */
bool grad_pow(ir_builder *b, const ir_node *n, int dy, int *dx) {
    int a = n->in[0], e = n->in[1], zero = ir_build_scalar_like(b, dy, 0);
    int e1 = ir_build_sub(b, e, ir_build_scalar_like(b, e, 1));
    int slope = ir_build_mul(b, e, ir_build_binary(b, IR_OP_POW, a, e1));
    int e_zero = ir_build_binary(b, IR_OP_EQ, e, zero);
    dx[0] = to_operand(b, n, 0, ir_build_select(b, e_zero, zero, ir_build_mul(b, dy, slope)));
    int de = ir_build_mul(b, dy, ir_build_mul(b, n->id, ir_build_unary(b, IR_OP_LOG, a)));
    int e_nonneg = ir_build_binary(b, IR_OP_GE, e, zero);
    int keep = ir_build_select(b, e_nonneg, zero, de);
    int a_zero = ir_build_binary(b, IR_OP_EQ, a, zero);
    dx[1] = to_operand(b, n, 1, ir_build_select(b, a_zero, keep, de));
    return !b->failed;
}

/* maximum, minimum: the operand that is the result gets dy; a tie gives each half, and a NaN
 * (neither greater) gives both dy (PyTorch's max/min backward). `wins_a` is gt for maximum. */
static bool extremum(ir_builder *b, const ir_node *n, int dy, int *dx, ir_op wins_a, ir_op wins_b) {
    int a = n->in[0], c = n->in[1], zero = ir_build_scalar_like(b, dy, 0);
    int tie = ir_build_binary(b, IR_OP_EQ, a, c);
    int shared = ir_build_select(b, tie, ir_build_mul_k(b, dy, 0.5), dy);
    int b_wins = ir_build_binary(b, wins_b, a, c);
    dx[0] = to_operand(b, n, 0, ir_build_select(b, b_wins, zero, shared));
    int a_wins = ir_build_binary(b, wins_a, a, c);
    dx[1] = to_operand(b, n, 1, ir_build_select(b, a_wins, zero, shared));
    return !b->failed;
}

bool grad_maximum(ir_builder *b, const ir_node *n, int dy, int *dx) {
    return extremum(b, n, dy, dx, IR_OP_GT, IR_OP_LT);
}

bool grad_minimum(ir_builder *b, const ir_node *n, int dy, int *dx) {
    return extremum(b, n, dy, dx, IR_OP_LT, IR_OP_GT);
}

/* ---- ternary ---------------------------------------------------------------------------- */

/* select(c, a, b): dy where c to a, elsewhere to b; none to the condition. */
bool grad_select(ir_builder *b, const ir_node *n, int dy, int *dx) {
    int c = n->in[0], zero = ir_build_scalar_like(b, dy, 0);
    dx[0] = -1;
    dx[1] = to_operand(b, n, 1, ir_build_select(b, c, dy, zero));
    dx[2] = to_operand(b, n, 2, ir_build_select(b, c, zero, dy));
    return !b->failed;
}

/* clip(x, lo, hi) = minimum(maximum(x, lo), hi), PyTorch's clamp backward: x gets dy where
 * lo <= x <= hi; lo where x < lo and lo < hi; hi where x > hi, or everywhere hi < lo (the
 * result is hi there). */
bool grad_clip(ir_builder *b, const ir_node *n, int dy, int *dx) {
    int x = n->in[0], lo = n->in[1], hi = n->in[2], zero = ir_build_scalar_like(b, dy, 0);
    int below_hi = ir_build_binary(b, IR_OP_LE, x, hi);
    int inside = ir_build_select(b, below_hi, dy, zero);
    int above_lo = ir_build_binary(b, IR_OP_GE, x, lo);
    dx[0] = to_operand(b, n, 0, ir_build_select(b, above_lo, inside, zero));
    int ordered = ir_build_binary(b, IR_OP_LT, lo, hi);
    int lo_active = ir_build_select(b, ordered, dy, zero);
    int under = ir_build_binary(b, IR_OP_LT, x, lo);
    dx[1] = to_operand(b, n, 1, ir_build_select(b, under, lo_active, zero));
    int crossed = ir_build_binary(b, IR_OP_LT, hi, lo);
    int hi_active = ir_build_select(b, crossed, dy, zero);
    int over = ir_build_binary(b, IR_OP_GT, x, hi);
    dx[2] = to_operand(b, n, 2, ir_build_select(b, over, dy, hi_active));
    return !b->failed;
}

/* ---- unary ---------------------------------------------------------------------------------- */

/* <math.h> hides M_2_SQRTPI and friends under strict C11. */
static const double TWO_OVER_SQRT_PI = 1.12837916709551257390;   /* 2 / sqrt(pi) */
static const double SQRT1_2 = 0.70710678118654752440;            /* 1 / sqrt(2) */
static const double INV_SQRT_2PI = 0.39894228040143267794;       /* 1 / sqrt(2 pi) */
static const double SQRT_2_OVER_PI = 0.79788456080286535588;     /* sqrt(2 / pi) */
static const double GELU_TANH_KAPPA = 0.044715;

/* gelu(x) = x Φ(x): the derivative Φ(x) + x φ(x), Φ(x) = (1 + erf(x / √2)) / 2 and
 * φ(x) = exp(-x² / 2) / √(2π). */
static int gelu_slope(ir_builder *b, int x) {
    int erf = ir_build_unary(b, IR_OP_ERF, ir_build_mul_k(b, x, SQRT1_2));
    int cdf = ir_build_mul_k(b, ir_build_add_k(b, erf, 1), 0.5);
    int sq = ir_build_mul(b, x, x);
    int pdf = ir_build_mul_k(b, ir_build_unary(b, IR_OP_EXP, ir_build_mul_k(b, sq, -0.5)), INV_SQRT_2PI);
    return ir_build_add(b, cdf, ir_build_mul(b, x, pdf));
}

/* gelu_tanh(x) = x/2 (1 + t), t = tanh(u), u = √(2/π) (x + κ x³): PyTorch's derivative
 * (1 + t)/2 + x/2 (1 - t²) √(2/π) (1 + 3κ x²). */
static int gelu_tanh_slope(ir_builder *b, int x) {
    int sq = ir_build_mul(b, x, x);
    int cube = ir_build_mul(b, sq, x);
    int u = ir_build_mul_k(b, ir_build_add(b, x, ir_build_mul_k(b, cube, GELU_TANH_KAPPA)), SQRT_2_OVER_PI);
    int t = ir_build_unary(b, IR_OP_TANH, u);
    int left = ir_build_mul_k(b, ir_build_add_k(b, t, 1), 0.5);
    int sech2 = one_minus(b, ir_build_mul(b, t, t));
    int du = ir_build_mul_k(b, ir_build_add_k(b, ir_build_mul_k(b, sq, 3 * GELU_TANH_KAPPA), 1), SQRT_2_OVER_PI);
    int half_x = ir_build_mul_k(b, x, 0.5);
    int right = ir_build_mul(b, half_x, ir_build_mul(b, sech2, du));
    return ir_build_add(b, left, right);
}

/* silu(x) = x s, s = sigmoid(x): s (1 + x (1 - s)). */
static int silu_slope(ir_builder *b, int x) {
    int s = ir_build_unary(b, IR_OP_SIGMOID, x);
    int rest = ir_build_mul(b, x, one_minus(b, s));
    return ir_build_mul(b, s, ir_build_add_k(b, rest, 1));
}

/* dy * f'(x) for the smooth unary ops; y is the op's own value, reused where f' is a function
 * of it (exp, tanh, sigmoid, sqrt, rsqrt), as PyTorch does. */
static int smooth_unary(ir_builder *b, const ir_node *n, int dy) {
    int x = n->in[0], y = n->id;
    switch (n->op) {
    case IR_OP_NEG: return ir_build_unary(b, IR_OP_NEG, dy);
    case IR_OP_EXP: return ir_build_mul(b, dy, y);
    case IR_OP_LOG: return ir_build_div(b, dy, x);
    case IR_OP_SQRT: return ir_build_div(b, dy, ir_build_mul_k(b, y, 2)); /* 1 / (2 sqrt(x)) */
    case IR_OP_RSQRT: { /* -x^(-3/2) / 2 */
        int cube = ir_build_mul(b, ir_build_mul(b, y, y), y);
        return ir_build_mul_k(b, ir_build_mul(b, dy, cube), -0.5);
    }
    case IR_OP_TANH: return ir_build_mul(b, dy, one_minus(b, ir_build_mul(b, y, y)));
    case IR_OP_SIGMOID: return ir_build_mul(b, dy, ir_build_mul(b, y, one_minus(b, y)));
    case IR_OP_GELU: return ir_build_mul(b, dy, gelu_slope(b, x));
    case IR_OP_GELU_TANH: return ir_build_mul(b, dy, gelu_tanh_slope(b, x));
    case IR_OP_SILU: return ir_build_mul(b, dy, silu_slope(b, x));
    case IR_OP_SIN: return ir_build_mul(b, dy, ir_build_unary(b, IR_OP_COS, x));
    case IR_OP_COS: return ir_build_unary(b, IR_OP_NEG, ir_build_mul(b, dy, ir_build_unary(b, IR_OP_SIN, x)));
    case IR_OP_ERF: { /* 2/√π exp(-x²) */
        int e = ir_build_unary(b, IR_OP_EXP, ir_build_unary(b, IR_OP_NEG, ir_build_mul(b, x, x)));
        return ir_build_mul(b, dy, ir_build_mul_k(b, e, TWO_OVER_SQRT_PI));
    }
    default: return -2;
    }
}

/* relu: dy where y > 0, so 0 at 0 and for NaN (PyTorch's threshold_backward on the result);
 * leaky_relu: dy where x > 0, alpha * dy at 0 and below; abs: sign(x) dy, 0 at 0. */
static int kinked_unary(ir_builder *b, const ir_node *n, int dy) {
    int x = n->in[0], zero = ir_build_scalar_like(b, dy, 0);
    switch (n->op) {
    case IR_OP_RELU: return ir_build_select(b, ir_build_binary(b, IR_OP_GT, n->id, zero), dy, zero);
    case IR_OP_LEAKY_RELU: {
        int scaled = ir_build_mul_k(b, dy, n->attr[IR_ATTR_ALPHA].f);
        return ir_build_select(b, ir_build_binary(b, IR_OP_GT, x, zero), dy, scaled);
    }
    case IR_OP_ABS: {
        int up = ir_build_select(b, ir_build_binary(b, IR_OP_GT, x, zero), dy, zero);
        int down = ir_build_unary(b, IR_OP_NEG, dy);
        return ir_build_select(b, ir_build_binary(b, IR_OP_LT, x, zero), down, up);
    }
    default: return -2;
    }
}

bool grad_unary(ir_builder *b, const ir_node *n, int dy, int *dx) {
    int g = smooth_unary(b, n, dy);
    if (g == -2) g = kinked_unary(b, n, dy);
    if (g == -2) {
        ir_bug(b->d, n->loc, "%s: no gradient rule for this unary op", ir_op_name(n->op));
        b->failed = true;
        return false;
    }
    dx[0] = g;
    return !b->failed;
}

/* Float to float: the gradient cast back to the operand's dtype. From an integer or bool: none. */
bool grad_cast(ir_builder *b, const ir_node *n, int dy, int *dx) {
    ir_dtype from = ir_build_type(b, n->in[0])->dtype;
    dx[0] = ir_dtype_is_float(from) ? ir_build_cast(b, dy, from) : -1;
    return !b->failed;
}
