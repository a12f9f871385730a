/* kernels_elementwise.c — interpreter kernels for creation ops and elementwise ops with NumPy
 * broadcasting. Floats are computed in double and rounded once on store; integers in 64-bit
 * two's complement (uint64_t, so overflow is defined) and wrapped to the dtype, as NumPy does. */
#include "ir/kernels.h"

#include <math.h>

/* <math.h> hides M_SQRT1_2 and friends under strict C11. */
static const double SQRT1_2 = 0.70710678118654752440;      /* 1 / sqrt(2) */
static const double SQRT_2_OVER_PI = 0.79788456080286535588; /* sqrt(2 / pi) */

/* ---- creation ------------------------------------------------------------------------------ */

static void fill(ir_tensor *out, double v) {
    int64_t count = ir_type_elems(&out->type);
    for (int64_t i = 0; i < count; i++) ir_tensor_set(out, i, v);
}

bool interp_constant(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)in, (void)d;
    fill(out, n->attr[IR_ATTR_VALUE].f);
    return true;
}

bool interp_full(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)in, (void)d;
    fill(out, n->attr[IR_ATTR_VALUE].f);
    return true;
}

bool interp_arange(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)n, (void)in, (void)d;
    int64_t count = ir_type_elems(&out->type);
    for (int64_t i = 0; i < count; i++) ir_tensor_set_i64(out, i, i);
    return true;
}

/* ---- binary ops ---------------------------------------------------------------------------- */

static bool is_compare(ir_op op) {
    switch (op) {
    case IR_OP_LT: case IR_OP_LE: case IR_OP_GT: case IR_OP_GE: case IR_OP_EQ: case IR_OP_NE: return true;
    default: return false;
    }
}

/* np.maximum / np.minimum: a NaN in either operand is the result. */
static double binary_f(ir_op op, double a, double b) {
    switch (op) {
    case IR_OP_ADD: return a + b;
    case IR_OP_SUB: return a - b;
    case IR_OP_MUL: return a * b;
    case IR_OP_DIV: return a / b;
    case IR_OP_POW: return pow(a, b);
    case IR_OP_MAXIMUM: return isnan(a) || a >= b ? a : b;
    case IR_OP_MINIMUM: return isnan(a) || a <= b ? a : b;
    default: ir_internal_error(__FILE__, __LINE__, "not a float binary op");
    }
}

/* Exponentiation by squaring modulo 2^64: the low bits are those of the exact power. */
static uint64_t ipow(uint64_t base, int64_t e) {
    uint64_t r = 1;
    for (; e > 0; e >>= 1, base *= base)
        if (e & 1) r *= base;
    return r;
}

/* np.floor_divide: rounds toward -inf; x // 0 is 0 and INT64_MIN // -1 wraps, as in NumPy.
 * (Shape inference rejects integer div today; the kernel stays total for IR built otherwise.) */
static int64_t floor_div(int64_t a, int64_t b) {
    if (b == 0) return 0;
    if (b == -1) return ir_kern_wrap64(0 - (uint64_t)a);
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t binary_i(ir_op op, int64_t a, int64_t b) {
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case IR_OP_ADD: return ir_kern_wrap64(ua + ub);
    case IR_OP_SUB: return ir_kern_wrap64(ua - ub);
    case IR_OP_MUL: return ir_kern_wrap64(ua * ub);
    case IR_OP_DIV: return floor_div(a, b);
    case IR_OP_POW: return ir_kern_wrap64(ipow(ua, b));
    case IR_OP_MAXIMUM: return a > b ? a : b;
    case IR_OP_MINIMUM: return a < b ? a : b;
    default: ir_internal_error(__FILE__, __LINE__, "not an integer binary op");
    }
}

/* IEEE comparisons: every one with a NaN is false except !=. */
static bool compare_f(ir_op op, double a, double b) {
    switch (op) {
    case IR_OP_LT: return a < b;
    case IR_OP_LE: return a <= b;
    case IR_OP_GT: return a > b;
    case IR_OP_GE: return a >= b;
    case IR_OP_EQ: return a == b;
    default: return a != b;
    }
}

static bool compare_i(ir_op op, int64_t a, int64_t b) {
    switch (op) {
    case IR_OP_LT: return a < b;
    case IR_OP_LE: return a <= b;
    case IR_OP_GT: return a > b;
    case IR_OP_GE: return a >= b;
    case IR_OP_EQ: return a == b;
    default: return a != b;
    }
}

/* NumPy refuses integer ** negative integer instead of truncating 1/x**n. */
static bool check_int_pow(const ir_node *n, const ir_tensor *e, ir_diag *d) {
    int64_t count = ir_type_elems(&e->type);
    for (int64_t i = 0; i < count; i++) {
        int64_t v = ir_tensor_get_i64(e, i);
        if (v < 0) {
            ir_error(d, n->loc, "pow: integers to negative integer powers are not allowed (exponent %lld)",
                     (long long)v);
            return false;
        }
    }
    return true;
}

bool interp_binary(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    bool cmp = is_compare(n->op);
    /* Arithmetic computes in the result's dtype, a comparison in its operands'. */
    bool as_float = ir_dtype_is_float(cmp ? in[0].type.dtype : out->type.dtype);
    if (n->op == IR_OP_POW && !as_float && !check_int_pow(n, &in[1], d)) return false;
    ir_iter it;
    ir_iter_init(&it, &out->type);
    ir_iter_add_bcast(&it, &in[0].type);
    ir_iter_add_bcast(&it, &in[1].type);
    int64_t count = ir_type_elems(&out->type);
    for (int64_t i = 0; i < count; i++, ir_iter_next(&it)) {
        if (as_float) {
            double a = ir_tensor_get(&in[0], it.off[0]), b = ir_tensor_get(&in[1], it.off[1]);
            ir_tensor_set(out, i, cmp ? compare_f(n->op, a, b) : binary_f(n->op, a, b));
        } else {
            int64_t a = ir_tensor_get_i64(&in[0], it.off[0]), b = ir_tensor_get_i64(&in[1], it.off[1]);
            ir_tensor_set_i64(out, i, cmp ? compare_i(n->op, a, b) : binary_i(n->op, a, b));
        }
    }
    return true;
}

/* ---- ternary ops --------------------------------------------------------------------------- */

/* np.where(cond, a, b): elements are copied, never converted through another dtype. */
bool interp_select(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)n, (void)d;
    ir_iter it;
    ir_iter_init(&it, &out->type);
    for (int k = 0; k < 3; k++) ir_iter_add_bcast(&it, &in[k].type);
    int64_t count = ir_type_elems(&out->type);
    for (int64_t i = 0; i < count; i++, ir_iter_next(&it)) {
        int k = ir_tensor_get(&in[0], it.off[0]) != 0 ? 1 : 2;
        ir_kern_copy_elem(out, i, &in[k], it.off[k]);
    }
    return true;
}

/* np.clip(x, lo, hi) = minimum(maximum(x, lo), hi): NaN anywhere propagates; lo > hi gives hi. */
bool interp_clip(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)n, (void)d;
    bool as_float = ir_dtype_is_float(out->type.dtype);
    ir_iter it;
    ir_iter_init(&it, &out->type);
    for (int k = 0; k < 3; k++) ir_iter_add_bcast(&it, &in[k].type);
    int64_t count = ir_type_elems(&out->type);
    for (int64_t i = 0; i < count; i++, ir_iter_next(&it)) {
        if (as_float) {
            double x = ir_tensor_get(&in[0], it.off[0]);
            x = binary_f(IR_OP_MAXIMUM, x, ir_tensor_get(&in[1], it.off[1]));
            ir_tensor_set(out, i, binary_f(IR_OP_MINIMUM, x, ir_tensor_get(&in[2], it.off[2])));
        } else {
            int64_t x = ir_tensor_get_i64(&in[0], it.off[0]);
            x = binary_i(IR_OP_MAXIMUM, x, ir_tensor_get_i64(&in[1], it.off[1]));
            ir_tensor_set_i64(out, i, binary_i(IR_OP_MINIMUM, x, ir_tensor_get_i64(&in[2], it.off[2])));
        }
    }
    return true;
}

/* ---- unary ops ----------------------------------------------------------------------------- */

/* 1 / (1 + e^-x) evaluated so that neither branch overflows: e^x for x < 0. */
static double sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static double unary_f(const ir_node *n, double x) {
    switch (n->op) {
    case IR_OP_NEG: return -x;
    case IR_OP_ABS: return fabs(x);
    case IR_OP_EXP: return exp(x);
    case IR_OP_LOG: return log(x);
    case IR_OP_SQRT: return sqrt(x);
    case IR_OP_RSQRT: return 1.0 / sqrt(x);
    case IR_OP_TANH: return tanh(x);
    case IR_OP_SIGMOID: return sigmoid(x);
    case IR_OP_RELU: return x < 0 ? 0.0 : x; /* NaN stays NaN, as torch.relu */
    case IR_OP_GELU: return 0.5 * x * (1.0 + erf(x * SQRT1_2));
    /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    case IR_OP_GELU_TANH: return 0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
    case IR_OP_SILU: return x * sigmoid(x);
    case IR_OP_SIN: return sin(x);
    case IR_OP_COS: return cos(x);
    case IR_OP_ERF: return erf(x);
    case IR_OP_FLOOR: return floor(x);
    case IR_OP_CEIL: return ceil(x);
    case IR_OP_LEAKY_RELU: return x >= 0 ? x : n->attr[IR_ATTR_ALPHA].f * x;
    default: ir_internal_error(__FILE__, __LINE__, "not a unary op");
    }
}

/* Integer neg and abs wrap (abs(INT_MIN) == INT_MIN, as NumPy); the dtype's store truncates. */
static int64_t unary_i(const ir_node *n, int64_t x) {
    switch (n->op) {
    case IR_OP_NEG: return ir_kern_wrap64(0 - (uint64_t)x);
    case IR_OP_ABS: return x < 0 ? ir_kern_wrap64(0 - (uint64_t)x) : x;
    case IR_OP_RELU: return x < 0 ? 0 : x;
    default: ir_internal_error(__FILE__, __LINE__, "not an integer unary op");
    }
}

bool interp_unary(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)d;
    int64_t count = ir_type_elems(&out->type);
    if (ir_dtype_is_float(out->type.dtype)) {
        for (int64_t i = 0; i < count; i++) ir_tensor_set(out, i, unary_f(n, ir_tensor_get(&in[0], i)));
    } else {
        for (int64_t i = 0; i < count; i++) ir_tensor_set_i64(out, i, unary_i(n, ir_tensor_get_i64(&in[0], i)));
    }
    return true;
}

/* Float to integer truncates toward zero, NaN gives 0 and out of range saturates (NumPy
 * leaves these undefined); integer to integer wraps; anything to bool is x != 0. */
bool interp_cast(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)n, (void)d;
    int64_t count = ir_type_elems(&out->type);
    for (int64_t i = 0; i < count; i++) ir_kern_copy_elem(out, i, &in[0], i);
    return true;
}
