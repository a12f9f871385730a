/* math.c — exp, log, tanh, sigmoid, gelu, gelu_tanh, silu, sin, cos, erf and pow on f32 as LLVM
 * IR: range reduction and minimax polynomials built from arithmetic, fmuladd, bit operations and
 * selects only (no libm calls, no branches), so that after inlining the loop vectorizer widens
 * them. The measured accuracy and how it was measured are in docs/math-accuracy.md. */
#include "codegen/cpu/cpu.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Polynomial coefficients, lowest degree first: weighted minimax (Remez) fits of the relative
 * error on the stated interval, the f32 ones rounded to f32 one at a time with the rest
 * refitted. The f64 ones (sin, cos, pow) only need ~2^-35 relative: f64 is used there for the
 * range reduction, and a polynomial that accurate costs no more. */

/* e^r = 1 + r + r²·P(r), |r| ≤ ln2/2: relative error 2^-28.2 */
static const double exp_p[] = {0x1.fffffcp-2, 0x1.55548cp-3, 0x1.555858p-5, 0x1.123de0p-7, 0x1.6ac74ep-10};
/* log1p(f) = f - f²/2 + f³·P(f), f in [√½ - 1, √2 - 1]: relative error 2^-27.3 */
static const double log_p[] = {0x1.555554p-2, -0x1.000228p-2, 0x1.99a036p-3, -0x1.547226p-3,
                               0x1.22d5e2p-3, -0x1.0d81e4p-3, 0x1.057818p-3, -0x1.3910b2p-4};
/* erf(x) = x + x·Q(x²), |x| < 1: relative error 2^-29.4. Q(0) = 2/√π - 1, so the leading
 * coefficient 2/√π is carried exactly by the "x +" term. */
static const double erf_q[] = {0x1.06eba8p-3, -0x1.81273ep-2,  0x1.ce2ce6p-4, -0x1.b7f71ap-6,
                               0x1.53f224p-8, -0x1.a3515ep-11, 0x1.4771fep-14};
/* G(x) = erfc(x/√2)·e^{x²/2} for x in [0.7, 14.6] in two pieces, so that the polynomial's
 * variable is exact or its rounding moves the result little: G = A(x - 1.625) below 2.5
 * (relative error 2^-26.2, A's constant term in two parts), x·G = B(1/x) above (2^-29). */
static const double erfc_a[] = {0x1.8f6846p-2,  -0x1.4ffe68p-3, 0x1.f9a60ep-5,   -0x1.5c31e4p-6, 0x1.bd8dbcp-8,
                                -0x1.0ba1bcp-9, 0x1.2e1f08p-11, -0x1.45c9acp-13, 0x1.80f86ap-15, -0x1.8ba4ecp-17};
#define ERFC_A0_LO 0x1.d74caap-27
static const double erfc_b[] = {0x1.9884ccp-1,  -0x1.b235f6p-13, -0x1.95f908p-1, -0x1.05f17ap-4, 0x1.6d44a0p+1,
                                -0x1.89da6ap+0, -0x1.bac93cp+3,  0x1.30120cp+5,  -0x1.56d696p+5, 0x1.3124ccp+4};
/* sin(r) = r + r³·S(r²), cos(r) = 1 - r²/2 + r⁴·C(r²), |r| ≤ 0.8: 2^-37 and 2^-42.6 (f64) */
static const double sin_p[] = {-0x1.5555554b064f2p-3, 0x1.11110766922abp-7, -0x1.a00eb119a4f22p-13,
                               0x1.6ca184b1ea19ep-19};
static const double cos_p[] = {0x1.5555554dccc2cp-5, -0x1.6c16b710a689fp-10, 0x1.a01029b38fef6p-16,
                               -0x1.23fa06778be7ap-22};
/* 2/π = Σ two_over_pi_28[k]·2^(-28(k+1)): its first 196 bits in 28-bit integers */
static const double two_over_pi_28[] = {0xa2f9836, 0xe4e4415, 0x29fc275, 0x7d1f534, 0xddc0db6, 0x295993c, 0x439041f};
/* 2^f, |f| ≤ 1/2: relative error 2^-43.5 (f64) */
static const double exp2_p[] = {
    0x1.0000000000000p+0,  0x1.62e42fefa08fbp-1,  0x1.ebfbdff823d66p-3,  0x1.c6b08d7a8f328p-5,  0x1.3b2ab71809202p-7,
    0x1.5d87ebee7e3f6p-10, 0x1.4308acab8934cp-13, 0x1.fffd59767f6d9p-17, 0x1.63d10ad6201aep-20, 0x1.89dd5bb9f625ep-24};
/* log(m) = s·(2 + s²·A(s²)) with s = (m-1)/(m+1), m in [√½, √2): relative error 2^-44.7 (f64) */
static const double log_atanh_p[] = {0x1.55555556133f1p-1, 0x1.999996c935da7p-2, 0x1.2494042c4f8eap-2,
                                     0x1.c62f96693cdc8p-3, 0x1.90d5e9e145fc6p-3};

#define N_COEF(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define LOG2E 0x1.715476p+0       /* f32(log2 e) */
#define LN2_HI 0x1.63p-1          /* 0.693359375: 9 bits, so n·LN2_HI is exact */
#define LN2_LO (-0x1.bd0106p-13)  /* f32(ln 2 - LN2_HI) */
#define MAGIC_F32 0x1.8p23        /* t + MAGIC - MAGIC rounds |t| < 2^22 to an integer, */
#define MAGIC_F32_BITS 0x4b400000 /* which is then the low bits of t + MAGIC */
#define MAGIC_F64 0x1.8p52        /* the same for f64, |t| < 2^51 */
#define MAGIC_F64_BITS 0x4338000000000000LL
#define SQRT1_2 0x1.6a09e667f3bcdp-1
#define PIO2 0x1.921fb54442d18p+0

/* The builder state of one math function's body. Its types are scalars, or vectors of as many
 * lanes as the argument has. */
typedef struct mb {
    LLVMModuleRef m;
    LLVMContextRef ctx;
    LLVMBuilderRef b;
    LLVMTypeRef f32, f64, i32, i64, i1;
} mb;

/* ---- primitives: typed like their first operand ---------------------------------------------- */

static LLVMValueRef kf(const mb *c, double v) { return LLVMConstReal(c->f32, v); }
static LLVMValueRef kd(const mb *c, double v) { return LLVMConstReal(c->f64, v); }
static LLVMValueRef k_as(LLVMValueRef like, double v) { return LLVMConstReal(LLVMTypeOf(like), v); }
/* An integer constant of type t, splatted when t is a vector type. */
static LLVMValueRef ki(LLVMTypeRef t, long long v) {
    if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return LLVMConstInt(t, (unsigned long long)v, 1);
    unsigned n = LLVMGetVectorSize(t);
    LLVMValueRef lanes[64], k = LLVMConstInt(LLVMGetElementType(t), (unsigned long long)v, 1);
    for (unsigned i = 0; i < n; i++) lanes[i] = k;
    return LLVMConstVector(lanes, n);
}

static LLVMValueRef add(const mb *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(c->b, a, b, ""); }
static LLVMValueRef sub(const mb *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(c->b, a, b, ""); }
static LLVMValueRef mul(const mb *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(c->b, a, b, ""); }
static LLVMValueRef fdiv(const mb *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFDiv(c->b, a, b, ""); }
static LLVMValueRef fneg(const mb *c, LLVMValueRef a) { return LLVMBuildFNeg(c->b, a, ""); }
static LLVMValueRef sel(const mb *c, LLVMValueRef k, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(c->b, k, a, b, "");
}
static LLVMValueRef fcmp(const mb *c, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildFCmp(c->b, p, a, b, "");
}
static LLVMValueRef lt(const mb *c, LLVMValueRef a, double v) { return fcmp(c, LLVMRealOLT, a, k_as(a, v)); }
static LLVMValueRef eq(const mb *c, LLVMValueRef a, double v) { return fcmp(c, LLVMRealOEQ, a, k_as(a, v)); }
static LLVMValueRef is_nan(const mb *c, LLVMValueRef a) { return fcmp(c, LLVMRealUNO, a, a); }
static LLVMValueRef band(const mb *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAnd(c->b, a, b, ""); }
static LLVMValueRef bor(const mb *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildOr(c->b, a, b, ""); }
static LLVMValueRef bits(const mb *c, LLVMValueRef a, LLVMTypeRef t) { return LLVMBuildBitCast(c->b, a, t, ""); }

static LLVMValueRef intrinsic(const mb *c, const char *name, LLVMValueRef *args, unsigned n) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef t = LLVMTypeOf(args[0]);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->m, id, &t, 1);
    return LLVMBuildCall2(c->b, LLVMIntrinsicGetType(c->ctx, id, &t, 1), fn, args, n, "");
}

/* a·b + d, fused where the target has FMA. Every use below is accurate enough either way, so
 * a target without FMA gets a multiply and an add, not a library call. */
static LLVMValueRef fma_(const mb *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d) {
    return intrinsic(c, "llvm.fmuladd", (LLVMValueRef[]){a, b, d}, 3);
}
static LLVMValueRef fabs_(const mb *c, LLVMValueRef a) { return intrinsic(c, "llvm.fabs", &a, 1); }
static LLVMValueRef copysign_(const mb *c, LLVMValueRef mag, LLVMValueRef sgn) {
    return intrinsic(c, "llvm.copysign", (LLVMValueRef[]){mag, sgn}, 2);
}

/* min(a, hi) and max(a, lo) that keep a NaN (an ordered compare is false for it). */
static LLVMValueRef min_k(const mb *c, LLVMValueRef a, double hi) {
    return sel(c, fcmp(c, LLVMRealOGT, a, k_as(a, hi)), k_as(a, hi), a);
}
static LLVMValueRef max_k(const mb *c, LLVMValueRef a, double lo) { return sel(c, lt(c, a, lo), k_as(a, lo), a); }

static LLVMValueRef horner(const mb *c, LLVMValueRef x, const double *p, int n) {
    LLVMValueRef acc = k_as(x, p[n - 1]);
    for (int i = n - 2; i >= 0; i--) acc = fma_(c, acc, x, k_as(x, p[i]));
    return acc;
}

/* Rounds |t| < 2^22 to the nearest integer, as a float (*nf) and as an i32 (the result). For a
 * NaN the integer is garbage, but defined (a bitcast, not fptosi), and every use of it is
 * multiplied into a NaN. */
static LLVMValueRef round_f32(const mb *c, LLVMValueRef t, LLVMValueRef *nf) {
    LLVMValueRef j = add(c, t, kf(c, MAGIC_F32));
    *nf = sub(c, j, kf(c, MAGIC_F32));
    return LLVMBuildSub(c->b, bits(c, j, c->i32), ki(c->i32, MAGIC_F32_BITS), "");
}

/* 2^n as a float for n in [-126, 127] */
static LLVMValueRef pow2i(const mb *c, LLVMValueRef n) {
    LLVMValueRef e = LLVMBuildShl(c->b, LLVMBuildAdd(c->b, n, ki(c->i32, 127), ""), ki(c->i32, 23), "");
    return bits(c, e, c->f32);
}

/* p·2^n as two exact multiplications by 2^(n>>1) and 2^(n - (n>>1)), both normal for n in
 * [-252, 254]; a result in the denormal range is so rounded once, by the second. */
static LLVMValueRef scale(const mb *c, LLVMValueRef p, LLVMValueRef n) {
    LLVMValueRef n1 = LLVMBuildAShr(c->b, n, ki(c->i32, 1), "");
    LLVMValueRef n2 = LLVMBuildSub(c->b, n, n1, "");
    return mul(c, mul(c, p, pow2i(c, n1)), pow2i(c, n2));
}

/* ---- exp and the functions built on it ------------------------------------------------------- */

typedef struct parts {
    LLVMValueRef p, n; /* value = p·2^n; n an i32 in [-217, 130] (use scale()) */
} parts;

/* e^(hi + lo), |lo| ≤ ulp(hi) (lo NULL for none), as p·2^n with p in [0.7, 1.42]. Cody–Waite:
 * n = round(hi·log2 e), r = hi - n·LN2_HI - n·LN2_LO + lo, where the first product and
 * difference are exact for |n| < 2^15 with or without FMA. hi is clamped to [-150, 90]: beyond
 * either end the result is 0 or inf after scaling anyway. */
static parts exp_core(const mb *c, LLVMValueRef hi, LLVMValueRef lo) {
    hi = max_k(c, min_k(c, hi, 90.0), -150.0);
    LLVMValueRef nf, n = round_f32(c, mul(c, hi, kf(c, LOG2E)), &nf);
    LLVMValueRef r = fma_(c, nf, kf(c, -LN2_HI), hi);
    r = fma_(c, nf, kf(c, -LN2_LO), r);
    if (lo) r = add(c, r, lo);
    LLVMValueRef q = fma_(c, mul(c, r, r), horner(c, r, exp_p, N_COEF(exp_p)), r);
    return (parts){add(c, q, kf(c, 1.0)), n};
}

/* e^x as m·s with m = e^x·2^-b exact and normal and s = 2^b: b = 1 for x ≥ -64, so that
 * m = p·2^(n-1) stays finite for n = 128 and m·s overflows to inf with one rounding; b = -64
 * below, where e^x may be denormal and m·s rounds it once. x is clamped to [-120, 89] (hi_clamp
 * false: x ≤ 0 already): beyond either end e^x is 0 or inf, and every x·e^x is 0 below -120. */
typedef struct scaled {
    LLVMValueRef m, s;
} scaled;

static scaled exp_scaled(const mb *c, LLVMValueRef x, bool hi_clamp) {
    if (hi_clamp) x = min_k(c, x, 89.0);
    x = max_k(c, x, -120.0);
    /* the magic number plus 254 rounds the same, and bits(j) << 23 is then (n + 254) << 23 */
    LLVMValueRef j = add(c, mul(c, x, kf(c, LOG2E)), kf(c, MAGIC_F32 + 254)), nf = sub(c, j, kf(c, MAGIC_F32 + 254));
    LLVMValueRef r = fma_(c, nf, kf(c, -LN2_HI), x);
    r = fma_(c, nf, kf(c, -LN2_LO), r);
    LLVMValueRef q = fma_(c, mul(c, r, r), horner(c, r, exp_p, N_COEF(exp_p)), r);
    LLVMValueRef s = sel(c, lt(c, x, -64.0), kf(c, 0x1p-64), kf(c, 2.0));
    /* 2^(n-b) has the bits (n - b + 127) << 23 = ((n + 254) << 23) - bits(2^b) */
    LLVMValueRef eb =
        LLVMBuildSub(c->b, LLVMBuildShl(c->b, bits(c, j, c->i32), ki(c->i32, 23), ""), bits(c, s, c->i32), "");
    LLVMValueRef e = bits(c, eb, c->f32);
    return (scaled){fma_(c, q, e, e), s};
}

static LLVMValueRef emit_exp(const mb *c, LLVMValueRef x, LLVMValueRef y) {
    (void)y;
    scaled e = exp_scaled(c, x, true);
    return mul(c, e.m, e.s);
}

/* mult·sigmoid(v) (mult NULL for 1), from e^-|v| = p·2^n given as hi + lo: mult/(1 + e) for
 * v ≥ 0, and (mult·p/(1 + e))·2^n for v < 0, so e never overflows and a result deep in the
 * negative tail is rounded once, into the denormals, rather than formed from a denormal. */
static LLVMValueRef times_sigmoid(const mb *c, LLVMValueRef mult, LLVMValueRef negative, LLVMValueRef hi,
                                  LLVMValueRef lo) {
    parts e = exp_core(c, hi, lo);
    LLVMValueRef d = add(c, scale(c, e.p, e.n), kf(c, 1.0));
    LLVMValueRef pos = fdiv(c, mult ? mult : kf(c, 1.0), d);
    LLVMValueRef q = fdiv(c, e.p, d);
    LLVMValueRef neg = scale(c, mult ? mul(c, mult, q) : q, e.n);
    /* past exp_core's clamp the result is 0 (or NaN for mult = -inf) */
    neg = sel(c, lt(c, hi, -150.0), mul(c, mult ? mult : kf(c, 1.0), kf(c, 0.0)), neg);
    return sel(c, negative, neg, pos);
}

/* sigmoid with one division: e = e^-|x| never overflows; 1/(1 + e) for x ≥ 0, e/(1 + e) for
 * x < 0. In the denormal tail 1 + e is 1, so the result is e, rounded once. */
static LLVMValueRef emit_sigmoid(const mb *c, LLVMValueRef x, LLVMValueRef y) {
    (void)y;
    scaled es = exp_scaled(c, fneg(c, fabs_(c, x)), false);
    LLVMValueRef e = mul(c, es.m, es.s);
    return fdiv(c, sel(c, lt(c, x, 0.0), e, kf(c, 1.0)), add(c, e, kf(c, 1.0)));
}

/* silu(x) = x·sigmoid(x) with one division, from e = e^-|x| = m·s: x/(1 + e) for x ≥ 0 and
 * (x·m/(1 + e))·s for x < 0, so a denormal result is rounded once, not formed from a denormal
 * e. Below exp_scaled's clamp it is x·0: -0, and -inf·0 = NaN for -inf, as NumPy's x·sigmoid(x)
 * (and the interpreter) give. */
static LLVMValueRef emit_silu(const mb *c, LLVMValueRef x, LLVMValueRef y) {
    (void)y;
    scaled es = exp_scaled(c, fneg(c, fabs_(c, x)), false);
    LLVMValueRef negative = lt(c, x, 0.0), one = kf(c, 1.0);
    LLVMValueRef q = fdiv(c, mul(c, x, sel(c, negative, es.m, one)), fma_(c, es.m, es.s, one));
    LLVMValueRef r = mul(c, q, sel(c, negative, es.s, one));
    return sel(c, lt(c, x, -120.0), mul(c, x, kf(c, 0.0)), r);
}

/* gelu_tanh(x) = 0.5x(1 + tanh(u)) = x·sigmoid(2u), 2u = x·(√(8/π) + 0.044715·√(8/π)·x²). 2u
 * reaches -100 before the result underflows and its rounding error becomes a relative error
 * of the result, so it is formed in f64 and passed on as hi + lo. */
static LLVMValueRef emit_gelu_tanh(const mb *c, LLVMValueRef x, LLVMValueRef y) {
    (void)y;
    LLVMValueRef xd = LLVMBuildFPExt(c->b, x, c->f64, "");
    LLVMValueRef v =
        mul(c, xd, fma_(c, mul(c, xd, xd), kd(c, 0.044715 * 0x1.9884533d43651p+0), kd(c, 0x1.9884533d43651p+0)));
    v = max_k(c, min_k(c, v, 200.0), -200.0); /* finite, so hi + lo stays a number */
    LLVMValueRef vh = LLVMBuildFPTrunc(c->b, v, c->f32, "");
    LLVMValueRef vl = LLVMBuildFPTrunc(c->b, sub(c, v, LLVMBuildFPExt(c->b, vh, c->f64, "")), c->f32, "");
    LLVMValueRef negative = lt(c, vh, 0.0);
    /* -|v| = -|vh| - sign(vh)·vl */
    LLVMValueRef r = times_sigmoid(c, x, negative, fneg(c, fabs_(c, vh)), sel(c, negative, vl, fneg(c, vl)));
    return sel(c, eq(c, x, -INFINITY), kf(c, NAN), r);
}

/* tanh|x| = -m/(2 + m) with m = expm1(-2|x|) = 2^n·q + (2^n - 1), q = e^r - 1 from exp's
 * reduction: one division, no cancellation (for n = 0, m = q, which is r = -2|x| near 0), and
 * the sign by copysign, so ±0 and denormals give themselves. |x| is clamped at 10, where tanh
 * is 1 in f32. The reduction runs on w = |x| with the factor -2 folded into exact constants:
 * r = -2r', r' = w + n·ln2/2, and q = r + r²·P(r) = r'·(-2 + r'·P'(r')), P'(r') = 4·P(-2r'). */
static LLVMValueRef emit_tanh(const mb *c, LLVMValueRef x, LLVMValueRef y) {
    (void)y;
    LLVMValueRef w = min_k(c, fabs_(c, x), 10.0);
    /* the magic number plus 127 rounds the same, and bits(j) << 23 is then the bits of 2^n */
    LLVMValueRef j = add(c, mul(c, w, kf(c, -2 * LOG2E)), kf(c, MAGIC_F32 + 127));
    LLVMValueRef nf = sub(c, j, kf(c, MAGIC_F32 + 127));
    LLVMValueRef r = fma_(c, nf, kf(c, LN2_HI / 2), w);
    r = fma_(c, nf, kf(c, LN2_LO / 2), r);
    double pp[N_COEF(exp_p)];
    for (int i = 0; i < N_COEF(exp_p); i++) pp[i] = ldexp(exp_p[i], 2 + i) * (i % 2 ? -1 : 1);
    LLVMValueRef q = mul(c, r, fma_(c, r, horner(c, r, pp, N_COEF(pp)), kf(c, -2.0)));
    LLVMValueRef s = bits(c, LLVMBuildShl(c->b, bits(c, j, c->i32), ki(c->i32, 23), ""), c->f32);
    LLVMValueRef m = fma_(c, s, q, sub(c, s, kf(c, 1.0)));
    return copysign_(c, fdiv(c, m, sub(c, kf(c, -2.0), m)), x);
}

/* ---- log ------------------------------------------------------------------------------------ */

/* x = 2^k·m with m in [√½, √2) by integer arithmetic on the bits (denormals first scaled by
 * 2^23), then log x = k·ln2 + log1p(m - 1), summed from the smallest term up with ln 2 split
 * so that k·LN2_HI is exact. */
static LLVMValueRef emit_log(const mb *c, LLVMValueRef x, LLVMValueRef y) {
    (void)y;
    LLVMValueRef tiny = lt(c, x, 0x1p-126);
    LLVMValueRef xs = sel(c, tiny, mul(c, x, kf(c, 0x1p23)), x);
    LLVMValueRef ix = LLVMBuildSub(c->b, bits(c, xs, c->i32), ki(c->i32, 0x3f3504f3), "");
    LLVMValueRef k = LLVMBuildAShr(c->b, ix, ki(c->i32, 23), "");
    k = LLVMBuildAdd(c->b, k, sel(c, tiny, ki(c->i32, -23), ki(c->i32, 0)), "");
    LLVMValueRef mbits =
        LLVMBuildAdd(c->b, LLVMBuildAnd(c->b, ix, ki(c->i32, 0x7fffff), ""), ki(c->i32, 0x3f3504f3), "");
    LLVMValueRef f = sub(c, bits(c, mbits, c->f32), kf(c, 1.0));
    LLVMValueRef e = LLVMBuildSIToFP(c->b, k, c->f32, "");
    LLVMValueRef f2 = mul(c, f, f);
    LLVMValueRef r = mul(c, mul(c, f2, f), horner(c, f, log_p, N_COEF(log_p)));
    r = fma_(c, e, kf(c, LN2_LO), r);
    r = fma_(c, f2, kf(c, -0.5), r);
    r = fma_(c, e, kf(c, LN2_HI), add(c, r, f));
    r = sel(c, eq(c, x, INFINITY), x, r);
    r = sel(c, eq(c, x, 0.0), kf(c, -INFINITY), r);
    r = sel(c, lt(c, x, 0.0), kf(c, NAN), r);
    return sel(c, is_nan(c, x), x, r);
}

/* ---- erf and gelu --------------------------------------------------------------------------- */

/* erf(z) = z + z·Q(z²) for |z| < 1 */
static LLVMValueRef erf_small(const mb *c, LLVMValueRef z) {
    return fma_(c, z, horner(c, mul(c, z, z), erf_q, N_COEF(erf_q)), z);
}

/* G(x) and x·G(x) (see erfc_a) for x in [0.7, 14.6]: one Horner evaluation whose variable and
 * coefficients are chosen per lane. */
static void erfcx_half(const mb *c, LLVMValueRef x, LLVMValueRef *g, LLVMValueRef *xg) {
    LLVMValueRef far = fcmp(c, LLVMRealOGE, x, kf(c, 2.5)), t = fdiv(c, kf(c, 1.0), x);
    LLVMValueRef v = sel(c, far, t, sub(c, x, kf(c, 1.625)));
    int n = N_COEF(erfc_a);
    LLVMValueRef acc = sel(c, far, kf(c, erfc_b[n - 1]), kf(c, erfc_a[n - 1]));
    for (int i = n - 2; i >= 1; i--) acc = fma_(c, acc, v, sel(c, far, kf(c, erfc_b[i]), kf(c, erfc_a[i])));
    acc = fma_(c, acc, v, sel(c, far, kf(c, erfc_b[0]), kf(c, ERFC_A0_LO)));
    acc = add(c, acc, sel(c, far, kf(c, 0.0), kf(c, erfc_a[0])));
    *g = sel(c, far, mul(c, acc, t), acc);
    *xg = sel(c, far, acc, mul(c, x, acc));
}

/* x² = *h + *l exactly (Dekker): x = xh + xl with halves of 12 bits, so each partial product is
 * exact without FMA. Needs |x| < 2^100 (no overflow of 4097x) and x² far from the denormals. */
static void exact_square(const mb *c, LLVMValueRef x, LLVMValueRef *h, LLVMValueRef *l) {
    LLVMValueRef g = mul(c, x, kf(c, 4097.0));
    LLVMValueRef xh = sub(c, g, sub(c, g, x)), xl = sub(c, x, xh);
    *h = mul(c, x, x);
    LLVMValueRef t = add(c, sub(c, mul(c, xh, xh), *h), mul(c, mul(c, xh, xl), kf(c, 2.0)));
    *l = add(c, t, mul(c, xl, xl));
}

/* erf: the odd polynomial below 1, else 1 - erfc(|x|) = 1 - e^{-x²}·G(√2|x|) with |x| clamped at
 * 4 (erf is 1 in f32 from 3.92). erfc ≤ 0.16 there, so its rounding errors shrink in the
 * result. */
static LLVMValueRef emit_erf(const mb *c, LLVMValueRef x, LLVMValueRef y) {
    (void)y;
    LLVMValueRef ax = fabs_(c, x), z = min_k(c, ax, 4.0), g, xg;
    erfcx_half(c, mul(c, z, kf(c, 0x1.6a09e667f3bcdp+0)), &g, &xg);
    parts e = exp_core(c, fneg(c, mul(c, z, z)), NULL);
    LLVMValueRef big = sub(c, kf(c, 1.0), scale(c, mul(c, e.p, g), e.n));
    return sel(c, lt(c, ax, 1.0), erf_small(c, x), copysign_(c, big, x));
}

/* gelu(x) = x·Φ(x) = 0.5x(1 + erf(z)), z = x/√2. Near 0 from the polynomial erf. For x < 0 the
 * sum 1 + erf(z) cancels, so beyond |z| = 0.5 it is 0.5x·erfc(|z|) = -0.5·|x|G(|x|)·e^{-x²/2},
 * with e^{-x²/2} from the exact x² (x²/2 reaches 105, where its rounding error would be 50
 * ulp); for x > 0 beyond |z| = 1 it is x·(1 - erfc(z)/2). |x| is clamped at 14.5 for erfc:
 * past it gelu is -0 or x in f32. gelu(-inf) = -inf·0 = NaN, as in NumPy. */
static LLVMValueRef emit_gelu(const mb *c, LLVMValueRef x, LLVMValueRef y) {
    (void)y;
    LLVMValueRef z = mul(c, x, kf(c, SQRT1_2)), negative = lt(c, x, 0.0);
    LLVMValueRef near0 = mul(c, mul(c, x, kf(c, 0.5)), add(c, kf(c, 1.0), erf_small(c, z)));
    LLVMValueRef xc = min_k(c, fabs_(c, x), 14.5), h, l, g, xg;
    erfcx_half(c, xc, &g, &xg);
    exact_square(c, xc, &h, &l);
    parts e = exp_core(c, mul(c, h, kf(c, -0.5)), mul(c, l, kf(c, -0.5)));
    LLVMValueRef neg = scale(c, mul(c, e.p, mul(c, xg, kf(c, -0.5))), e.n);
    LLVMValueRef pos = mul(c, x, fma_(c, scale(c, mul(c, e.p, g), e.n), kf(c, -0.5), kf(c, 1.0)));
    LLVMValueRef use_near0 = fcmp(c, LLVMRealOLT, fabs_(c, z), sel(c, negative, kf(c, 0.5), kf(c, 1.0)));
    LLVMValueRef r = sel(c, use_near0, near0, sel(c, negative, neg, pos));
    return sel(c, eq(c, x, -INFINITY), kf(c, NAN), r);
}

/* ---- sin and cos ---------------------------------------------------------------------------- */

/* s + *e = a + b exactly (Knuth's two-sum, which needs no FMA) */
static LLVMValueRef two_sum(const mb *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef *e) {
    LLVMValueRef s = add(c, a, b), bb = sub(c, s, a);
    *e = add(c, sub(c, a, sub(c, s, bb)), sub(c, b, bb));
    return s;
}

/* v - 4·round(v/4), exactly, for |v| < 2^53 */
static LLVMValueRef mod4(const mb *c, LLVMValueRef v) {
    LLVMValueRef n = sub(c, add(c, mul(c, v, kd(c, 0.25)), kd(c, MAGIC_F64)), kd(c, MAGIC_F64));
    return fma_(c, n, kd(c, -4.0), v);
}

/* x·2/π as i32 quadrant q and f64 fraction f, |f| ≤ 1/2, exact to ~2^-87 for every f32 x (Payne–
 * Hanek without tables): x = ±m·2^e with a 24-bit integer m; chunk k of 2/π contributes
 * m·chunk·2^(e-28(k+1)), an exact f64, and a multiple of 4 (so nothing to x·2/π mod 4) for all
 * k < k0 = max(0, (e-2)/28). The four chunks from k0 on leave an error below 2^-87; the first
 * two are reduced mod 4 exactly and the sum is kept exact (two-sum) until it is below 1/2. */
static LLVMValueRef reduce_pio2(const mb *c, LLVMValueRef x, LLVMValueRef *f) {
    LLVMBuilderRef b = c->b;
    LLVMValueRef bx = bits(c, x, c->i32), ab = LLVMBuildAnd(b, bx, ki(c->i32, 0x7fffffff), "");
    LLVMValueRef ef = LLVMBuildLShr(b, ab, ki(c->i32, 23), "");
    LLVMValueRef normal = LLVMBuildICmp(b, LLVMIntNE, ef, ki(c->i32, 0), "");
    LLVMValueRef m = LLVMBuildAdd(b, LLVMBuildAnd(b, ab, ki(c->i32, 0x7fffff), ""),
                                  sel(c, normal, ki(c->i32, 0x800000), ki(c->i32, 0)), "");
    LLVMValueRef e = LLVMBuildSub(b, sel(c, normal, ef, ki(c->i32, 1)), ki(c->i32, 150), "");
    LLVMValueRef em2 = LLVMBuildSub(b, e, ki(c->i32, 2), "");
    em2 = sel(c, LLVMBuildICmp(b, LLVMIntSLT, em2, ki(c->i32, 0), ""), ki(c->i32, 0), em2);
    /* n/28 as (n·2341) >> 16, exact for n ≤ 103 (inf and NaN give 3) */
    LLVMValueRef k0 = LLVMBuildLShr(b, LLVMBuildMul(b, em2, ki(c->i32, 2341), ""), ki(c->i32, 16), "");
    LLVMValueRef s0 =
        LLVMBuildSub(b, e, LLVMBuildMul(b, LLVMBuildAdd(b, k0, ki(c->i32, 1), ""), ki(c->i32, 28), ""), "");
    LLVMValueRef s0_bits = LLVMBuildSExt(b, LLVMBuildAdd(b, s0, ki(c->i32, 1023), ""), c->i64, "");
    LLVMValueRef scale = bits(c, LLVMBuildShl(b, s0_bits, ki(c->i64, 52), ""), c->f64);
    LLVMValueRef md = LLVMBuildSIToFP(b, m, c->f64, "");
    md = sel(c, LLVMBuildICmp(b, LLVMIntSLT, bx, ki(c->i32, 0), ""), fneg(c, md), md);
    LLVMValueRef ms = mul(c, md, scale), t[4];
    for (int i = 0; i < 4; i++) {
        LLVMValueRef chunk = kd(c, ldexp(two_over_pi_28[i], -28 * i));
        for (int k = 1; k <= 3; k++) {
            LLVMValueRef is_k = LLVMBuildICmp(b, LLVMIntEQ, k0, ki(c->i32, k), "");
            chunk = sel(c, is_k, kd(c, ldexp(two_over_pi_28[k + i], -28 * i)), chunk);
        }
        t[i] = mul(c, ms, chunk);
    }
    LLVMValueRef e1, e2, s = two_sum(c, mod4(c, t[0]), mod4(c, t[1]), &e1);
    s = two_sum(c, s, t[2], &e2);
    LLVMValueRef j = add(c, s, kd(c, MAGIC_F64));
    s = sub(c, s, sub(c, j, kd(c, MAGIC_F64)));
    *f = add(c, s, add(c, add(c, e1, e2), t[3]));
    return LLVMBuildTrunc(b, bits(c, j, c->i64), c->i32, "");
}

/* sin or cos of r = f·π/2 by quadrant (cos as the quadrant after), in f64 and rounded once.
 * Every f32 is reduced exactly, so the bound holds over the whole range; inf and NaN give NaN. */
static LLVMValueRef emit_sincos(const mb *c, LLVMValueRef x, bool cosine) {
    LLVMValueRef f, q = reduce_pio2(c, x, &f);
    if (cosine) q = LLVMBuildAdd(c->b, q, ki(c->i32, 1), "");
    LLVMValueRef r = mul(c, f, kd(c, PIO2)), s = mul(c, r, r);
    LLVMValueRef sn = fma_(c, mul(c, r, s), horner(c, s, sin_p, N_COEF(sin_p)), r);
    LLVMValueRef cs = fma_(c, mul(c, s, s), horner(c, s, cos_p, N_COEF(cos_p)), fma_(c, s, kd(c, -0.5), kd(c, 1.0)));
    LLVMValueRef odd = LLVMBuildICmp(c->b, LLVMIntNE, LLVMBuildAnd(c->b, q, ki(c->i32, 1), ""), ki(c->i32, 0), "");
    LLVMValueRef flip = LLVMBuildICmp(c->b, LLVMIntNE, LLVMBuildAnd(c->b, q, ki(c->i32, 2), ""), ki(c->i32, 0), "");
    LLVMValueRef v = sel(c, odd, cs, sn);
    LLVMValueRef res = LLVMBuildFPTrunc(c->b, sel(c, flip, fneg(c, v), v), c->f32, "");
    res = sel(c, lt(c, fabs_(c, x), INFINITY), res, sub(c, x, x));
    return cosine ? res : sel(c, eq(c, x, 0.0), x, res); /* r + r³·S is +0 for -0 */
}

static LLVMValueRef emit_sin(const mb *c, LLVMValueRef x, LLVMValueRef y) {
    (void)y;
    return emit_sincos(c, x, false);
}
static LLVMValueRef emit_cos(const mb *c, LLVMValueRef x, LLVMValueRef y) {
    (void)y;
    return emit_sincos(c, x, true);
}

/* ---- pow ------------------------------------------------------------------------------------ */

/* log2|x| in f64 for finite nonzero x (f32 denormals are normal here): |x| = 2^k·m with m in
 * [√½, √2) from the bits, log m = 2 atanh((m-1)/(m+1)). */
static LLVMValueRef log2_f64(const mb *c, LLVMValueRef ad) {
    const long long one = 0x3ff0000000000000LL, sqrth = 0x3fe6a09e667f3bcdLL;
    LLVMValueRef ix = LLVMBuildAdd(c->b, bits(c, ad, c->i64), ki(c->i64, one - sqrth), "");
    LLVMValueRef k = LLVMBuildTrunc(c->b, LLVMBuildLShr(c->b, ix, ki(c->i64, 52), ""), c->i32, "");
    k = LLVMBuildSub(c->b, k, ki(c->i32, 1023), "");
    LLVMValueRef mbits =
        LLVMBuildAdd(c->b, LLVMBuildAnd(c->b, ix, ki(c->i64, 0xfffffffffffffLL), ""), ki(c->i64, sqrth), "");
    LLVMValueRef f = sub(c, bits(c, mbits, c->f64), kd(c, 1.0));
    LLVMValueRef s = fdiv(c, f, add(c, f, kd(c, 2.0))), s2 = mul(c, s, s);
    LLVMValueRef lnm = mul(c, s, fma_(c, s2, horner(c, s2, log_atanh_p, N_COEF(log_atanh_p)), kd(c, 2.0)));
    return fma_(c, lnm, kd(c, 0x1.71547652b82fep+0), LLVMBuildSIToFP(c->b, k, c->f64, ""));
}

/* 2^t in f64 for t in [-160, 130]: t = n + f, |f| ≤ 1/2, n in the exponent field. */
static LLVMValueRef exp2_f64(const mb *c, LLVMValueRef t) {
    LLVMValueRef j = add(c, t, kd(c, MAGIC_F64));
    LLVMValueRef n = LLVMBuildSub(c->b, bits(c, j, c->i64), ki(c->i64, MAGIC_F64_BITS), "");
    LLVMValueRef f = sub(c, t, sub(c, j, kd(c, MAGIC_F64)));
    LLVMValueRef e = LLVMBuildShl(c->b, LLVMBuildAdd(c->b, n, ki(c->i64, 1023), ""), ki(c->i64, 52), "");
    return mul(c, horner(c, f, exp2_p, N_COEF(exp2_p)), bits(c, e, c->f64));
}

/* x**y with C's powf special cases (NumPy's float32 power): |x|^y = 2^(y·log2|x|) in f64, whose
 * error (~2^-40 relative) is far below f32's, rounded to f32 once, denormals included. Then the
 * sign for a negative base and an odd integer y; NaN for a negative finite base and a
 * non-integer y; 1 for y = ±0, for x = 1 and for x = -1 with y = ±inf, even with NaN. Every
 * f32 with |y| ≥ 2^24 is an even integer; below, f64 rounding tells integers and their parity. */
static LLVMValueRef emit_pow(const mb *c, LLVMValueRef x, LLVMValueRef y) {
    LLVMValueRef xd = LLVMBuildFPExt(c->b, x, c->f64, ""), yd = LLVMBuildFPExt(c->b, y, c->f64, "");
    LLVMValueRef ad = fabs_(c, xd), l2 = log2_f64(c, ad);
    l2 = sel(c, eq(c, ad, 0.0), kd(c, -INFINITY), l2);
    l2 = sel(c, eq(c, ad, INFINITY), kd(c, INFINITY), l2);
    LLVMValueRef t = max_k(c, min_k(c, mul(c, yd, l2), 130.0), -160.0);
    LLVMValueRef r = LLVMBuildFPTrunc(c->b, exp2_f64(c, t), c->f32, "");

    LLVMValueRef ay = fabs_(c, y), big_y = fcmp(c, LLVMRealOGE, ay, kf(c, 0x1p24));
    LLVMValueRef jy = add(c, yd, kd(c, MAGIC_F64));
    LLVMValueRef is_int = bor(c, big_y, fcmp(c, LLVMRealOEQ, sub(c, jy, kd(c, MAGIC_F64)), yd));
    LLVMValueRef low = LLVMBuildTrunc(c->b, bits(c, jy, c->i64), c->i1, "");
    LLVMValueRef odd = band(c, band(c, is_int, low), LLVMBuildNot(c->b, big_y, ""));
    LLVMValueRef x_sign = LLVMBuildICmp(c->b, LLVMIntSLT, bits(c, x, c->i32), ki(c->i32, 0), "");
    r = sel(c, band(c, odd, x_sign), fneg(c, r), r);

    LLVMValueRef neg_finite = band(c, lt(c, x, 0.0), fcmp(c, LLVMRealOGT, x, kf(c, -INFINITY)));
    LLVMValueRef nan = bor(c, band(c, neg_finite, LLVMBuildNot(c->b, is_int, "")), fcmp(c, LLVMRealUNO, x, y));
    r = sel(c, nan, kf(c, NAN), r);
    LLVMValueRef one = bor(c, eq(c, y, 0.0), eq(c, x, 1.0));
    one = bor(c, one, band(c, eq(c, x, -1.0), eq(c, ay, INFINITY)));
    return sel(c, one, kf(c, 1.0), r);
}

/* ---- one internal always-inline function per module and math function ----------------------- */

typedef LLVMValueRef (*math_body)(const mb *c, LLVMValueRef x, LLVMValueRef y);

/* Named tfc.math.NAME.f32 after cg_fn_name (NAME.v8f32 and so on for vectors). */
static const struct math_def {
    cg_fn fn;
    math_body body;
} math_defs[] = {
    {CG_EXP, emit_exp},         {CG_LOG, emit_log},   {CG_TANH, emit_tanh},
    {CG_SIGMOID, emit_sigmoid}, {CG_GELU, emit_gelu}, {CG_GELU_TANH, emit_gelu_tanh},
    {CG_SILU, emit_silu},       {CG_SIN, emit_sin},   {CG_COS, emit_cos},
    {CG_ERF, emit_erf},         {CG_POW, emit_pow},
};

static void add_fn_attr(LLVMContextRef ctx, LLVMValueRef fn, const char *name, uint64_t value) {
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, kind, value));
}

/* t with float elements replaced by elem: a scalar or a vector of as many lanes */
static LLVMTypeRef like(LLVMTypeRef t, LLVMTypeRef elem) {
    return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMVectorType(elem, LLVMGetVectorSize(t)) : elem;
}

static LLVMValueRef define_math(LLVMModuleRef m, const char *name, const struct math_def *def, LLVMTypeRef fty,
                                int arity) {
    LLVMContextRef ctx = LLVMGetModuleContext(m);
    LLVMValueRef fn = LLVMAddFunction(m, name, fty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    add_fn_attr(ctx, fn, "alwaysinline", 0);
    add_fn_attr(ctx, fn, "nounwind", 0);
    add_fn_attr(ctx, fn, "willreturn", 0);
    add_fn_attr(ctx, fn, "memory", 0); /* memory(none) */
    LLVMTypeRef t = LLVMGetReturnType(fty);
    mb c = {m,
            ctx,
            LLVMCreateBuilderInContext(ctx),
            t,
            like(t, LLVMDoubleTypeInContext(ctx)),
            like(t, LLVMInt32TypeInContext(ctx)),
            like(t, LLVMInt64TypeInContext(ctx)),
            like(t, LLVMInt1TypeInContext(ctx))};
    LLVMPositionBuilderAtEnd(c.b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMValueRef r = def->body(&c, LLVMGetParam(fn, 0), arity == 2 ? LLVMGetParam(fn, 1) : NULL);
    LLVMBuildRet(c.b, r);
    LLVMDisposeBuilder(c.b);
    return fn;
}

/* x (and y) are f32 or <N x float> (N ≤ 64) of one type; the function for vectors is named
 * tfc.math.exp.v8f32 and so on. */
LLVMValueRef cg_cpu_emit_math(LLVMModuleRef m, LLVMBuilderRef b, cg_fn f, LLVMValueRef x, LLVMValueRef y) {
    LLVMTypeRef t = LLVMTypeOf(x);
    bool vector = LLVMGetTypeKind(t) == LLVMVectorTypeKind;
    LLVMTypeRef elem = vector ? LLVMGetElementType(t) : t;
    if (LLVMGetTypeKind(elem) != LLVMFloatTypeKind || (vector && LLVMGetVectorSize(t) > 64)) return NULL;
    for (size_t i = 0; i < sizeof(math_defs) / sizeof(math_defs[0]); i++) {
        const struct math_def *def = &math_defs[i];
        if (def->fn != f) continue;
        int arity = cg_fn_arity(f);
        char name[64];
        if (vector)
            snprintf(name, sizeof name, "tfc.math.%s.v%uf32", cg_fn_name(f), LLVMGetVectorSize(t));
        else
            snprintf(name, sizeof name, "tfc.math.%s.f32", cg_fn_name(f));
        LLVMTypeRef fty = LLVMFunctionType(t, (LLVMTypeRef[]){t, t}, (unsigned)arity, 0);
        LLVMValueRef fn = LLVMGetNamedFunction(m, name);
        if (!fn) fn = define_math(m, name, def, fty, arity);
        return LLVMBuildCall2(b, fty, fn, (LLVMValueRef[]){x, y}, (unsigned)arity, "");
    }
    return NULL;
}
