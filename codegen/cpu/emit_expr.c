/* emit_expr.c — Kernel IR expressions to LLVM values: constants, variables, the scalar functions
 * with the NumPy semantics codegen.h fixes (NaN-propagating max/min, ordered comparisons, Python
 * floor division, saturating casts), each on a scalar or on W lanes in the hand-vectorized loop.
 * No fast-math flags here: + - * / round exactly like the reference interpreter's f32. */
#include "codegen/cpu/emit.h"

#include <string.h>

/* ---- helpers ---------------------------------------------------------------------------------- */

unsigned cg_emit_lanes_of(LLVMValueRef v) {
    LLVMTypeRef t = LLVMTypeOf(v);
    return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetVectorSize(t) : 0;
}

LLVMValueRef cg_emit_splat(cg_emit *e, LLVMValueRef v, unsigned lanes) {
    if (!lanes || cg_emit_lanes_of(v)) return v;
    if (LLVMIsConstant(v)) {
        LLVMValueRef copies[64];
        IR_ASSERT(lanes <= 64);
        for (unsigned i = 0; i < lanes; i++) copies[i] = v;
        return LLVMConstVector(copies, lanes);
    }
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(v), lanes);
    LLVMValueRef one = LLVMBuildInsertElement(e->b, LLVMGetPoison(vt), v, LLVMConstInt(e->t_i32, 0, 0), "");
    LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(e->t_i32, lanes));
    return LLVMBuildShuffleVector(e->b, one, LLVMGetPoison(vt), zeros, "");
}

LLVMValueRef cg_emit_call_intrinsic(cg_emit *e, const char *name, LLVMTypeRef *overloads, int n_overloads,
                                    LLVMValueRef *args, int n_args) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    IR_ASSERT(id != 0);
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->m, id, overloads, (size_t)n_overloads);
    LLVMTypeRef ft = LLVMIntrinsicGetType(e->c, id, overloads, (size_t)n_overloads);
    return LLVMBuildCall2(e->b, ft, f, args, (unsigned)n_args, "");
}

/* A unary overloaded intrinsic on v's type: llvm.sqrt, llvm.fabs, llvm.floor, ... */
static LLVMValueRef unary_intrinsic(cg_emit *e, const char *name, LLVMValueRef v) {
    LLVMTypeRef t = LLVMTypeOf(v);
    return cg_emit_call_intrinsic(e, name, &t, 1, &v, 1);
}

/* A constant of v's shape (scalar or vector) and element type. */
static LLVMValueRef like_f(cg_emit *e, LLVMValueRef v, double f) {
    return cg_emit_splat(e, LLVMConstReal(e->t_f32, f), cg_emit_lanes_of(v));
}

static LLVMValueRef like_i(cg_emit *e, LLVMValueRef v, int64_t i) {
    LLVMTypeRef t = LLVMTypeOf(v);
    if (cg_emit_lanes_of(v)) t = LLVMGetElementType(t);
    return cg_emit_splat(e, LLVMConstInt(t, (unsigned long long)i, 1), cg_emit_lanes_of(v));
}

static void same_shape(cg_emit *e, LLVMValueRef *a, LLVMValueRef *b) {
    unsigned n = cg_emit_lanes_of(*a) > cg_emit_lanes_of(*b) ? cg_emit_lanes_of(*a) : cg_emit_lanes_of(*b);
    *a = cg_emit_splat(e, *a, n);
    *b = cg_emit_splat(e, *b, n);
}

static bool is_float(ir_dtype t) { return t == IR_F32 || t == IR_F16 || t == IR_BF16; }

static LLVMValueRef report(cg_emit *e, const char *what, cg_fn f, ir_dtype t) {
    ir_bug(e->d, IR_NO_LOC, "kernel %s: %s %s on %s", e->k->name, what, cg_fn_name(f), ir_dtype_name(t));
    e->failed = true;
    return NULL;
}

/* ---- integer arithmetic ------------------------------------------------------------------------ */

/* Python's // and % (floor) or C's / and % (trunc). x // 0 and x % 0 are 0 and INT_MIN // -1
 * wraps, as the interpreter has them; the divisor is made safe first because LLVM's sdiv by 0
 * or INT_MIN / -1 is undefined. With a constant divisor the selects fold away. */
static LLVMValueRef int_divide(cg_emit *e, LLVMValueRef a, LLVMValueRef b, bool remainder, bool floor) {
    LLVMBuilderRef bl = e->b;
    LLVMValueRef zero = like_i(e, a, 0), one = like_i(e, a, 1), minus_one = like_i(e, a, -1);
    LLVMValueRef by_zero = LLVMBuildICmp(bl, LLVMIntEQ, b, zero, "");
    LLVMValueRef by_minus_one = LLVMBuildICmp(bl, LLVMIntEQ, b, minus_one, "");
    LLVMValueRef special = LLVMBuildOr(bl, by_zero, by_minus_one, "");
    LLVMValueRef safe = LLVMBuildSelect(bl, special, one, b, "");
    LLVMValueRef q = LLVMBuildSDiv(bl, a, safe, ""), r = LLVMBuildSRem(bl, a, safe, "");
    if (floor) { /* a nonzero remainder whose sign differs from the divisor's: one step down */
        LLVMValueRef inexact = LLVMBuildICmp(bl, LLVMIntNE, r, zero, "");
        LLVMValueRef signs = LLVMBuildICmp(bl, LLVMIntSLT, LLVMBuildXor(bl, r, b, ""), zero, "");
        LLVMValueRef adjust = LLVMBuildAnd(bl, inexact, signs, "");
        q = LLVMBuildSelect(bl, adjust, LLVMBuildSub(bl, q, one, ""), q, "");
        r = LLVMBuildSelect(bl, adjust, LLVMBuildAdd(bl, r, b, ""), r, "");
    }
    if (remainder) return LLVMBuildSelect(bl, special, zero, r, "");
    q = LLVMBuildSelect(bl, by_minus_one, LLVMBuildNeg(bl, a, ""), q, "");
    return LLVMBuildSelect(bl, by_zero, zero, q, "");
}

/* a ** b modulo 2^bits by square-and-multiply over every exponent bit, branch-free so it stays
 * inside one basic block; a negative exponent gives 1, as in the interpreter. */
static LLVMValueRef int_power(cg_emit *e, LLVMValueRef a, LLVMValueRef b) {
    LLVMBuilderRef bl = e->b;
    LLVMTypeRef t = LLVMTypeOf(a);
    unsigned bits = LLVMGetIntTypeWidth(cg_emit_lanes_of(a) ? LLVMGetElementType(t) : t);
    LLVMValueRef result = like_i(e, a, 1), base = a;
    for (unsigned k = 0; k + 1 < bits; k++) {
        LLVMValueRef bit = LLVMBuildAnd(bl, LLVMBuildLShr(bl, b, like_i(e, b, k), ""), like_i(e, b, 1), "");
        LLVMValueRef set = LLVMBuildICmp(bl, LLVMIntNE, bit, like_i(e, b, 0), "");
        result = LLVMBuildSelect(bl, set, LLVMBuildMul(bl, result, base, ""), result, "");
        base = LLVMBuildMul(bl, base, base, "");
    }
    LLVMValueRef negative = LLVMBuildICmp(bl, LLVMIntSLT, b, like_i(e, b, 0), "");
    return LLVMBuildSelect(bl, negative, like_i(e, a, 1), result, "");
}

/* ---- float arithmetic -------------------------------------------------------------------------- */

/* np.maximum: isnan(a) || a >= b ? a : b, so a NaN on either side wins and max(-0, +0) is -0
 * exactly as in the interpreter. */
static LLVMValueRef float_max_min(cg_emit *e, LLVMValueRef a, LLVMValueRef b, bool max) {
    LLVMValueRef nan = LLVMBuildFCmp(e->b, LLVMRealUNO, a, a, "");
    LLVMValueRef keep = LLVMBuildFCmp(e->b, max ? LLVMRealOGE : LLVMRealOLE, a, b, "");
    return LLVMBuildSelect(e->b, LLVMBuildOr(e->b, nan, keep, ""), a, b, "");
}

/* np.remainder on floats: fmod, then moved into the divisor's sign; a zero takes b's sign. */
static LLVMValueRef float_floor_mod(cg_emit *e, LLVMValueRef a, LLVMValueRef b) {
    LLVMBuilderRef bl = e->b;
    LLVMValueRef zero = like_f(e, a, 0.0);
    LLVMValueRef m = LLVMBuildFRem(bl, a, b, "");
    LLVMValueRef nonzero = LLVMBuildFCmp(bl, LLVMRealONE, m, zero, "");
    LLVMValueRef signs = LLVMBuildXor(bl, LLVMBuildFCmp(bl, LLVMRealOLT, m, zero, ""),
                                      LLVMBuildFCmp(bl, LLVMRealOLT, b, zero, ""), "");
    m = LLVMBuildSelect(bl, LLVMBuildAnd(bl, nonzero, signs, ""), LLVMBuildFAdd(bl, m, b, ""), m, "");
    LLVMValueRef args[2] = {zero, b};
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef signed_zero = cg_emit_call_intrinsic(e, "llvm.copysign", &t, 1, args, 2);
    return LLVMBuildSelect(bl, LLVMBuildFCmp(bl, LLVMRealOEQ, m, zero, ""), signed_zero, m, "");
}

/* The polynomial functions of math.c: on W lanes (the hand-vectorized flat loop) one call of
 * the function's <W x float> version, whose body is the same arithmetic on vectors. */
static LLVMValueRef math_call(cg_emit *e, cg_fn f, LLVMValueRef a, LLVMValueRef b) {
    unsigned n = cg_emit_lanes_of(a);
    if (b && cg_emit_lanes_of(b) > n) n = cg_emit_lanes_of(b);
    if (n) {
        a = cg_emit_splat(e, a, n);
        if (b) b = cg_emit_splat(e, b, n);
    }
    LLVMValueRef v = cg_cpu_emit_math(e->m, e->b, f, a, b);
    return v ? v : report(e, "no math function for", f, IR_F32);
}

static bool is_math(cg_fn f) {
    switch (f) {
    case CG_EXP: case CG_LOG: case CG_TANH: case CG_SIGMOID: case CG_GELU: case CG_GELU_TANH: case CG_SILU:
    case CG_SIN: case CG_COS: case CG_ERF: case CG_POW: return true;
    default: return false;
    }
}

static LLVMValueRef float_unary(cg_emit *e, cg_fn f, LLVMValueRef a) {
    LLVMBuilderRef bl = e->b;
    switch (f) {
    case CG_NEG: return LLVMBuildFNeg(bl, a, "");
    case CG_ABS: return unary_intrinsic(e, "llvm.fabs", a);
    case CG_SQRT: return unary_intrinsic(e, "llvm.sqrt", a);
    case CG_RSQRT: return LLVMBuildFDiv(bl, like_f(e, a, 1.0), unary_intrinsic(e, "llvm.sqrt", a), "");
    /* x < 0 ? 0 : x: relu(NaN) is NaN and relu(-0) is -0, as in the interpreter */
    case CG_RELU: return LLVMBuildSelect(bl, LLVMBuildFCmp(bl, LLVMRealOLT, a, like_f(e, a, 0.0), ""),
                                         like_f(e, a, 0.0), a, "");
    case CG_FLOOR: return unary_intrinsic(e, "llvm.floor", a);
    case CG_CEIL: return unary_intrinsic(e, "llvm.ceil", a);
    case CG_ISNAN: return LLVMBuildFCmp(bl, LLVMRealUNO, a, a, "");
    default: return is_math(f) ? math_call(e, f, a, NULL) : report(e, "unsupported", f, IR_F32);
    }
}

static LLVMValueRef int_unary(cg_emit *e, cg_fn f, ir_dtype t, LLVMValueRef a) {
    LLVMBuilderRef bl = e->b;
    switch (f) {
    case CG_NEG: return LLVMBuildNeg(bl, a, "");
    case CG_ABS: { /* abs(INT_MIN) wraps to INT_MIN: the flag says "not poison" */
        LLVMTypeRef ty = LLVMTypeOf(a);
        LLVMValueRef args[2] = {a, LLVMConstInt(e->t_i1, 0, 0)};
        return cg_emit_call_intrinsic(e, "llvm.abs", &ty, 1, args, 2);
    }
    case CG_RELU: return LLVMBuildSelect(bl, LLVMBuildICmp(bl, LLVMIntSLT, a, like_i(e, a, 0), ""), like_i(e, a, 0), a, "");
    case CG_FLOOR: case CG_CEIL: return a;
    case CG_NOT: return t == IR_BOOL ? LLVMBuildNot(bl, a, "") : report(e, "unsupported", f, t);
    default: return report(e, "unsupported", f, t);
    }
}

static LLVMRealPredicate float_predicate(cg_fn f) {
    switch (f) {
    case CG_LT: return LLVMRealOLT;
    case CG_LE: return LLVMRealOLE;
    case CG_GT: return LLVMRealOGT;
    case CG_GE: return LLVMRealOGE;
    case CG_EQ: return LLVMRealOEQ;
    default: return LLVMRealUNE; /* NE: true when either is NaN */
    }
}

/* Bools are i1, where signed order would make true (-1) less than false. */
static LLVMIntPredicate int_predicate(cg_fn f, bool is_bool) {
    switch (f) {
    case CG_LT: return is_bool ? LLVMIntULT : LLVMIntSLT;
    case CG_LE: return is_bool ? LLVMIntULE : LLVMIntSLE;
    case CG_GT: return is_bool ? LLVMIntUGT : LLVMIntSGT;
    case CG_GE: return is_bool ? LLVMIntUGE : LLVMIntSGE;
    case CG_EQ: return LLVMIntEQ;
    default: return LLVMIntNE;
    }
}

static bool is_compare(cg_fn f) { return f >= CG_LT && f <= CG_NE; }

static LLVMValueRef float_binary(cg_emit *e, cg_fn f, LLVMValueRef a, LLVMValueRef b) {
    LLVMBuilderRef bl = e->b;
    if (is_compare(f)) return LLVMBuildFCmp(bl, float_predicate(f), a, b, "");
    switch (f) {
    case CG_ADD: return LLVMBuildFAdd(bl, a, b, "");
    case CG_SUB: return LLVMBuildFSub(bl, a, b, "");
    case CG_MUL: return LLVMBuildFMul(bl, a, b, "");
    case CG_DIV: return LLVMBuildFDiv(bl, a, b, "");
    case CG_REM: return LLVMBuildFRem(bl, a, b, "");
    case CG_FLOOR_DIV: return unary_intrinsic(e, "llvm.floor", LLVMBuildFDiv(bl, a, b, ""));
    case CG_FLOOR_MOD: return float_floor_mod(e, a, b);
    case CG_MAX: return float_max_min(e, a, b, true);
    case CG_MIN: return float_max_min(e, a, b, false);
    case CG_POW: return math_call(e, f, a, b);
    default: return report(e, "unsupported", f, IR_F32);
    }
}

static LLVMValueRef int_binary(cg_emit *e, cg_fn f, ir_dtype t, LLVMValueRef a, LLVMValueRef b) {
    LLVMBuilderRef bl = e->b;
    if (is_compare(f)) return LLVMBuildICmp(bl, int_predicate(f, t == IR_BOOL), a, b, "");
    switch (f) {
    case CG_ADD: return LLVMBuildAdd(bl, a, b, "");
    case CG_SUB: return LLVMBuildSub(bl, a, b, "");
    case CG_MUL: return LLVMBuildMul(bl, a, b, "");
    case CG_DIV: return int_divide(e, a, b, false, false);
    case CG_REM: return int_divide(e, a, b, true, false);
    case CG_FLOOR_DIV: return int_divide(e, a, b, false, true);
    case CG_FLOOR_MOD: return int_divide(e, a, b, true, true);
    case CG_POW: return int_power(e, a, b);
    case CG_MAX:
        return LLVMBuildSelect(bl, LLVMBuildICmp(bl, t == IR_BOOL ? LLVMIntUGT : LLVMIntSGT, a, b, ""), a, b, "");
    case CG_MIN:
        return LLVMBuildSelect(bl, LLVMBuildICmp(bl, t == IR_BOOL ? LLVMIntULT : LLVMIntSLT, a, b, ""), a, b, "");
    case CG_AND: return LLVMBuildAnd(bl, a, b, "");
    case CG_OR: return LLVMBuildOr(bl, a, b, "");
    default: return report(e, "unsupported", f, t);
    }
}

LLVMValueRef cg_emit_fn(cg_emit *e, cg_fn f, ir_dtype t, LLVMValueRef a, LLVMValueRef b) {
    if (!b) return is_float(t) ? float_unary(e, f, a) : int_unary(e, f, t, a);
    same_shape(e, &a, &b);
    return is_float(t) ? float_binary(e, f, a, b) : int_binary(e, f, t, a, b);
}

/* ---- casts ------------------------------------------------------------------------------------- */

static ir_dtype compute_dtype(ir_dtype t) { return is_float(t) ? IR_F32 : t; }

/* float→int truncates and saturates with NaN → 0: exactly llvm.fptosi.sat. */
LLVMValueRef cg_emit_convert(cg_emit *e, LLVMValueRef v, ir_dtype from, ir_dtype to) {
    from = compute_dtype(from), to = compute_dtype(to);
    if (from == to) return v;
    unsigned n = cg_emit_lanes_of(v);
    LLVMTypeRef target = cg_emit_value_type(e, to);
    if (n) target = LLVMVectorType(target, n);
    LLVMBuilderRef bl = e->b;
    if (from == IR_F32) {
        if (to == IR_BOOL) return LLVMBuildFCmp(bl, LLVMRealUNE, v, like_f(e, v, 0.0), "");
        LLVMTypeRef overloads[2] = {target, LLVMTypeOf(v)};
        return cg_emit_call_intrinsic(e, "llvm.fptosi.sat", overloads, 2, &v, 1);
    }
    if (to == IR_F32) return from == IR_BOOL ? LLVMBuildUIToFP(bl, v, target, "") : LLVMBuildSIToFP(bl, v, target, "");
    if (to == IR_BOOL) return LLVMBuildICmp(bl, LLVMIntNE, v, like_i(e, v, 0), "");
    if (from == IR_BOOL) return LLVMBuildZExt(bl, v, target, "");
    return LLVMBuildIntCast2(bl, v, target, 1, ""); /* i32 ↔ i64: sign-extend or wrap */
}

/* ---- vector-mode analysis ---------------------------------------------------------------------- */

bool cg_emit_depends(cg_emit *e, const cg_expr *x, int var) {
    if (!x) return false;
    void *known = cg_cpu_memo_get(&e->depends, x, (unsigned)var);
    if (known) return known == (void *)(uintptr_t)2;
    bool dep = x->kind == CG_VAR ? x->var == var
                                 : cg_emit_depends(e, x->a[0], var) || cg_emit_depends(e, x->a[1], var) ||
                                       cg_emit_depends(e, x->a[2], var);
    cg_cpu_memo_put(&e->depends, x, (unsigned)var, (void *)(uintptr_t)(dep ? 2 : 1));
    return dep;
}

static bool is_var(const cg_expr *x, int var) { return x && x->kind == CG_VAR && x->var == var; }

bool cg_emit_is_unit_stride(cg_emit *e, const cg_expr *x, int var) {
    if (is_var(x, var)) return true;
    if (x->kind != CG_CALL || x->fn != CG_ADD) return false;
    return (is_var(x->a[0], var) && !cg_emit_depends(e, x->a[1], var)) ||
           (is_var(x->a[1], var) && !cg_emit_depends(e, x->a[0], var));
}

/* In scalar mode the vectorized variable's value is lane 0's index. */
LLVMValueRef cg_emit_lane0_index(cg_emit *e, const cg_expr *x) {
    unsigned saved = e->lanes;
    e->lanes = 0;
    LLVMValueRef v = cg_emit_expr(e, x);
    e->lanes = saved;
    return v;
}

/* ---- expressions ------------------------------------------------------------------------------- */

static LLVMValueRef emit_var(cg_emit *e, const cg_expr *x) {
    if (x->var < 0 || x->var >= e->p->n_vars) {
        ir_bug(e->d, IR_NO_LOC, "kernel %s: variable %d out of range", e->k->name, x->var);
        e->failed = true;
        return NULL;
    }
    const cg_var *v = &e->p->vars[x->var];
    if (!v->is_index) return LLVMBuildLoad2(e->b, cg_emit_value_type(e, v->type), cg_emit_var_slot(e, x->var), "");
    LLVMValueRef i = e->var_val[x->var];
    if (!i) {
        ir_bug(e->d, IR_NO_LOC, "kernel %s: index %s used outside its loop", e->k->name, v->name ? v->name : "?");
        e->failed = true;
        return NULL;
    }
    if (!e->lanes || x->var != e->vec_var) return i;
    LLVMValueRef steps[64];
    for (unsigned k = 0; k < e->lanes; k++) steps[k] = LLVMConstInt(e->t_i64, k, 0);
    return LLVMBuildAdd(e->b, cg_emit_splat(e, i, e->lanes), LLVMConstVector(steps, e->lanes), "");
}

static LLVMValueRef emit_const(cg_emit *e, const cg_expr *x) {
    LLVMTypeRef t = cg_emit_value_type(e, x->type);
    if (!t) {
        ir_bug(e->d, IR_NO_LOC, "kernel %s: constant of dtype %d", e->k->name, (int)x->type);
        e->failed = true;
        return NULL;
    }
    if (is_float(x->type)) return LLVMConstReal(t, x->value.f);
    if (x->type == IR_BOOL) return LLVMConstInt(t, x->value.i != 0, 0);
    return LLVMConstInt(t, (unsigned long long)x->value.i, 1);
}

static LLVMValueRef emit_call(cg_emit *e, const cg_expr *x) {
    bool unary = x->fn < CG_ADD;
    if (!x->a[0] || (!unary && !x->a[1])) {
        ir_bug(e->d, IR_NO_LOC, "kernel %s: %s is missing an operand", e->k->name, cg_fn_name(x->fn));
        e->failed = true;
        return NULL;
    }
    ir_dtype t = x->a[0]->type;
    if (!unary && compute_dtype(x->a[1]->type) != compute_dtype(t)) {
        ir_bug(e->d, IR_NO_LOC, "kernel %s: %s of %s and %s", e->k->name, cg_fn_name(x->fn), ir_dtype_name(t),
               ir_dtype_name(x->a[1]->type));
        e->failed = true;
        return NULL;
    }
    LLVMValueRef a = cg_emit_expr(e, x->a[0]);
    LLVMValueRef b = unary ? NULL : cg_emit_expr(e, x->a[1]);
    if (!a || (!unary && !b)) return NULL;
    return cg_emit_fn(e, x->fn, t, a, b);
}

static LLVMValueRef emit_select(cg_emit *e, const cg_expr *x) {
    LLVMValueRef c = cg_emit_expr(e, x->a[0]), t = cg_emit_expr(e, x->a[1]), f = cg_emit_expr(e, x->a[2]);
    if (!c || !t || !f) return NULL;
    t = cg_emit_convert(e, t, x->a[1]->type, x->type);
    f = cg_emit_convert(e, f, x->a[2]->type, x->type);
    unsigned n = cg_emit_lanes_of(c);
    if (cg_emit_lanes_of(t) > n) n = cg_emit_lanes_of(t);
    if (cg_emit_lanes_of(f) > n) n = cg_emit_lanes_of(f);
    return LLVMBuildSelect(e->b, cg_emit_splat(e, c, n), cg_emit_splat(e, t, n), cg_emit_splat(e, f, n), "");
}

static LLVMValueRef emit_node(cg_emit *e, const cg_expr *x) {
    switch (x->kind) {
    case CG_CONST: return emit_const(e, x);
    case CG_VAR: return emit_var(e, x);
    case CG_BEGIN: return e->begin;
    case CG_LOAD: return cg_emit_load(e, x);
    case CG_CALL: return emit_call(e, x);
    case CG_SELECT: return emit_select(e, x);
    case CG_CAST: {
        LLVMValueRef v = cg_emit_expr(e, x->a[0]);
        return v ? cg_emit_convert(e, v, x->a[0]->type, x->type) : NULL;
    }
    default: break;
    }
    ir_bug(e->d, IR_NO_LOC, "kernel %s: expression kind %d", e->k->name, (int)x->kind);
    e->failed = true;
    return NULL;
}

/* In vector mode a subexpression that does not depend on the vectorized index is emitted once
 * as a scalar (LICM hoists it) and splatted only where it meets a vector. */
LLVMValueRef cg_emit_expr(cg_emit *e, const cg_expr *x) {
    if (e->failed) return NULL;
    if (!x) {
        ir_bug(e->d, IR_NO_LOC, "kernel %s: missing expression", e->k->name);
        e->failed = true;
        return NULL;
    }
    if (e->lanes && !cg_emit_depends(e, x, e->vec_var)) return cg_emit_lane0_index(e, x);
    LLVMValueRef v = cg_cpu_memo_get(&e->memo, x, e->lanes);
    if (v) return v;
    v = emit_node(e, x);
    if (v) cg_cpu_memo_put(&e->memo, x, e->lanes, v);
    else e->failed = true;
    return v;
}
