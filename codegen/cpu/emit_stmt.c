/* emit_stmt.c — Kernel IR statements to LLVM IR: counted loops in canonical form with llvm.loop
 * hints, assignments (reductions in vector loops get the fast-math flags that let LLVM reorder
 * them), stores, checks, and the hand-vectorized loop for non-temporal stores, which LLVM's loop
 * vectorizer refuses when it cannot prove the vector alignment. */
#include "codegen/cpu/emit.h"

#include <llvm-c/DebugInfo.h>

#include <string.h>

static void emit_stmt(cg_emit *e, const cg_stmt *s, bool ranged);

static bool fail(cg_emit *e, const char *what, const cg_stmt *s) {
    ir_bug(e->d, IR_NO_LOC, "kernel %s: %s (statement kind %d)", e->k->name, what, (int)s->kind);
    e->failed = true;
    return false;
}

/* ---- loop metadata ----------------------------------------------------------------------------- */

typedef struct loop_hint {
    const char *name;
    int value;                /* i1 for the ".enable" keys, i32 otherwise */
    bool flag;                /* a bare key (llvm.loop.unroll.disable) */
} loop_hint;

/* !llvm.loop = distinct !{self, hints...}: a self-reference through a temporary node, which
 * LLVM turns into a distinct node when the temporary is replaced. */
static LLVMMetadataRef loop_metadata(cg_emit *e, const loop_hint *hints, int n) {
    LLVMMetadataRef ops[8];
    IR_ASSERT(n < 8);
    LLVMMetadataRef self = LLVMTemporaryMDNode(e->c, NULL, 0);
    ops[0] = self;
    for (int i = 0; i < n; i++) {
        LLVMMetadataRef kv[2] = {LLVMMDStringInContext2(e->c, hints[i].name, strlen(hints[i].name)), NULL};
        bool boolean = strstr(hints[i].name, ".enable") != NULL;
        if (!hints[i].flag)
            kv[1] = LLVMValueAsMetadata(LLVMConstInt(boolean ? e->t_i1 : e->t_i32, (unsigned)hints[i].value, 0));
        ops[i + 1] = LLVMMDNodeInContext2(e->c, kv, hints[i].flag ? 1 : 2);
    }
    LLVMMetadataRef loop = LLVMMDNodeInContext2(e->c, ops, (size_t)n + 1);
    LLVMMetadataReplaceAllUsesWith(self, loop);
    return loop;
}

static LLVMMetadataRef vectorize_hint(cg_emit *e) {
    loop_hint h = {"llvm.loop.vectorize.enable", 1, false};
    return loop_metadata(e, &h, 1);
}

/* Loops of the hand-vectorized form: the vectorizer must leave them alone; the scalar ones run
 * fewer than W iterations, so unrolling them is wasted code. */
static LLVMMetadataRef done_hint(cg_emit *e, bool scalar) {
    loop_hint h[2] = {{"llvm.loop.isvectorized", 1, false}, {"llvm.loop.unroll.disable", 0, true}};
    return loop_metadata(e, h, scalar ? 2 : 1);
}

/* ---- counted loops ----------------------------------------------------------------------------- */

typedef void (*body_fn)(cg_emit *e, const cg_stmt *loop);

static LLVMBasicBlockRef block(cg_emit *e, const char *var_name, const char *what) {
    char name[96];
    snprintf(name, sizeof name, "%s.%s", var_name ? var_name : "i", what);
    return LLVMAppendBasicBlockInContext(e->c, e->fn, name);
}

/*   pre:    br header
 *   header: i = phi [lo, pre], [i + step, latch]; br i < hi, body, exit
 *   body:   ...; br latch
 *   latch:  br header, !llvm.loop md
 * LLVM rotates it into a guarded do-while; the metadata sits on the only back edge. */
static void counted_loop(cg_emit *e, const cg_stmt *s, LLVMValueRef lo, LLVMValueRef hi, int64_t step,
                         LLVMMetadataRef md, body_fn body) {
    const char *name = e->p->vars[s->var].name;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->b);
    LLVMBasicBlockRef header = block(e, name, "header"), inner = block(e, name, "body");
    LLVMBasicBlockRef latch = block(e, name, "latch"), exit = block(e, name, "exit");
    LLVMBuildBr(e->b, header);
    LLVMPositionBuilderAtEnd(e->b, header);
    LLVMValueRef i = LLVMBuildPhi(e->b, e->t_i64, name ? name : "i");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, i, hi, ""), inner, exit);
    LLVMPositionBuilderAtEnd(e->b, inner);
    LLVMValueRef saved = e->var_val[s->var];
    e->var_val[s->var] = i;
    body(e, s);
    e->var_val[s->var] = saved;
    LLVMBuildBr(e->b, latch);
    LLVMPositionBuilderAtEnd(e->b, latch);
    LLVMValueRef next = LLVMBuildNSWAdd(e->b, i, LLVMConstInt(e->t_i64, (unsigned long long)step, 1), "");
    LLVMValueRef back = LLVMBuildBr(e->b, header);
    if (md) LLVMSetMetadata(back, LLVMGetMDKindIDInContext(e->c, "llvm.loop", 9), LLVMMetadataAsValue(e->c, md));
    LLVMValueRef values[2] = {lo, next};
    LLVMBasicBlockRef from[2] = {pre, latch};
    LLVMAddIncoming(i, values, from, 2);
    LLVMPositionBuilderAtEnd(e->b, exit);
}

static void body_statements(cg_emit *e, const cg_stmt *loop) {
    for (int i = 0; i < loop->n_body && !e->failed; i++) emit_stmt(e, loop->body[i], false);
}

/* ---- the hand-vectorized loop for non-temporal stores ------------------------------------------ */

/* The flat shape: only stores at unit stride in the loop index (and checks); one of them
 * non-temporal. Everything else goes to LLVM's vectorizer. */
static const cg_stmt *nontemporal_shape(cg_emit *e, const cg_stmt *loop) {
    if (!e->x86 || e->lanes) return NULL;
    const cg_stmt *first = NULL;
    for (int i = 0; i < loop->n_body; i++) {
        const cg_stmt *s = loop->body[i];
        if (s->kind == CG_CHECK) continue;
        if (s->kind != CG_STORE || !s->index || !cg_emit_is_unit_stride(e, s->index, loop->var)) return NULL;
        if (s->buf < 0 || s->buf >= e->p->n_buffers) return NULL;
        if (s->nontemporal && !first) first = s;
    }
    return first;
}

static bool same_index(const cg_expr *a, const cg_expr *b) {
    return a == b || (a->kind == CG_VAR && b->kind == CG_VAR && a->var == b->var);
}

/* Another non-temporal store is aligned with the peeled one when it sits at the same distance
 * from a 64-byte boundary: same slot, same element size, offsets 64 apart, same index. */
static bool aligned_with(const cg_emit *e, const cg_stmt *s, const cg_stmt *first) {
    const cg_buffer *a = &e->p->buffers[s->buf], *b = &e->p->buffers[first->buf];
    return a->slot == b->slot && ir_dtype_size(a->dtype) == ir_dtype_size(b->dtype) &&
           (a->offset - b->offset) % 64 == 0 && same_index(s->index, first->index);
}

static void emit_check(cg_emit *e, const cg_stmt *s);

static void vector_store(cg_emit *e, const cg_stmt *s) {
    LLVMValueRef index = cg_emit_lane0_index(e, s->index);
    LLVMValueRef v = cg_emit_expr(e, s->value);
    if (!index || !v) return;
    v = cg_emit_convert(e, v, s->value->type, e->p->buffers[s->buf].dtype);
    bool aligned = s->nontemporal && aligned_with(e, s, e->nt_first);
    LLVMValueRef st = cg_emit_store_vector(e, s->buf, index, v, aligned ? e->nt_align : 0);
    if (st && aligned) cg_emit_set_nontemporal(e, st);
}

/* Checks reduce their W lanes into the flag (record_failure). */
static void vector_body(cg_emit *e, const cg_stmt *loop) {
    for (int i = 0; i < loop->n_body && !e->failed; i++) {
        const cg_stmt *s = loop->body[i];
        cg_cpu_memo_clear(&e->memo);
        if (s->kind == CG_STORE) vector_store(e, s);
        else emit_check(e, s);
    }
}

/* ---- assignments, stores, checks ---------------------------------------------------------------- */

static bool is_reduction_fn(cg_fn f) { return f == CG_ADD || f == CG_MUL || f == CG_MAX || f == CG_MIN; }

/* acc = acc OP x (or x OP acc) with x free of acc: returns x. */
static const cg_expr *reduction_operand(cg_emit *e, const cg_stmt *s) {
    const cg_expr *v = s->value;
    if (v->kind != CG_CALL || !is_reduction_fn(v->fn) || !v->a[0] || !v->a[1]) return NULL;
    for (int k = 0; k < 2; k++) {
        const cg_expr *acc = v->a[k], *x = v->a[1 - k];
        if (acc->kind == CG_VAR && acc->var == s->var && !cg_emit_depends(e, x, s->var)) return x;
    }
    return NULL;
}

/* The only reassociated arithmetic: a float reduction in a vector loop. max/min become
 * llvm.maximum/minimum, which propagate NaN like np.maximum and which LLVM vectorizes as
 * reductions; reassoc (and nsz: the sum's -0 start, max's ±0 order) lets it reorder them. */
static LLVMValueRef reduction(cg_emit *e, cg_fn f, LLVMValueRef acc, LLVMValueRef x) {
    LLVMValueRef r;
    if (f == CG_ADD) r = LLVMBuildFAdd(e->b, acc, x, "");
    else if (f == CG_MUL) r = LLVMBuildFMul(e->b, acc, x, "");
    else {
        LLVMValueRef args[2] = {acc, x};
        r = cg_emit_call_intrinsic(e, f == CG_MAX ? "llvm.maximum" : "llvm.minimum", &e->t_f32, 1, args, 2);
    }
    LLVMSetFastMathFlags(r, LLVMFastMathAllowReassoc | LLVMFastMathNoSignedZeros);
    return r;
}

static void emit_assign(cg_emit *e, const cg_stmt *s) {
    if (s->var < 0 || s->var >= e->p->n_vars || e->p->vars[s->var].is_index || !s->value) {
        fail(e, "assignment to an index or unknown variable", s);
        return;
    }
    ir_dtype t = e->p->vars[s->var].type;
    LLVMValueRef slot = cg_emit_var_slot(e, s->var), v;
    const cg_expr *x = e->vector_depth > 0 && t == IR_F32 ? reduction_operand(e, s) : NULL;
    if (x) {
        LLVMValueRef acc = LLVMBuildLoad2(e->b, e->t_f32, slot, "");
        LLVMValueRef xv = cg_emit_expr(e, x);
        if (!xv) return;
        v = reduction(e, s->value->fn, acc, cg_emit_convert(e, xv, x->type, IR_F32));
    } else {
        v = cg_emit_expr(e, s->value);
        if (!v) return;
        v = cg_emit_convert(e, v, s->value->type, t);
    }
    LLVMBuildStore(e->b, v, slot);
}

/* Inside a loop LLVM vectorizes, a !nontemporal store would make it give up (it cannot prove
 * the alignment a vector non-temporal store needs), so the hint only stays outside them. */
static void emit_store(cg_emit *e, const cg_stmt *s) {
    if (!s->index || !s->value) {
        fail(e, "store without index or value", s);
        return;
    }
    LLVMValueRef index = cg_emit_expr(e, s->index), v = cg_emit_expr(e, s->value);
    if (!index || !v || s->buf < 0 || s->buf >= e->p->n_buffers) {
        if (!e->failed) fail(e, "store to an unknown buffer", s);
        return;
    }
    v = cg_emit_convert(e, v, s->value->type, e->p->buffers[s->buf].dtype);
    LLVMValueRef st = cg_emit_store_scalar(e, s->buf, index, v);
    if (st && s->nontemporal && e->vector_depth == 0) cg_emit_set_nontemporal(e, st);
}

/* failed[check] |= !value: an or-reduction, which keeps a vector loop vectorizable. */
static LLVMValueRef check_flag(cg_emit *e, const cg_stmt *s) {
    if (s->check < 0 || s->check >= e->k->n_checks || !s->value) {
        fail(e, "check index out of range", s);
        return NULL;
    }
    if (!e->check_flag[s->check]) {
        LLVMValueRef a = LLVMBuildAlloca(e->eb, e->t_i1, "check_failed");
        LLVMBuildStore(e->eb, LLVMConstInt(e->t_i1, 0, 0), a);
        e->check_flag[s->check] = a;
    }
    return e->check_flag[s->check];
}

static void record_failure(cg_emit *e, LLVMValueRef flag, LLVMValueRef ok) {
    LLVMValueRef bad = LLVMBuildNot(e->b, ok, "");
    if (cg_emit_lanes_of(bad)) {
        LLVMTypeRef t = LLVMTypeOf(bad);
        bad = cg_emit_call_intrinsic(e, "llvm.vector.reduce.or", &t, 1, &bad, 1);
    }
    LLVMValueRef old = LLVMBuildLoad2(e->b, e->t_i1, flag, "");
    LLVMBuildStore(e->b, LLVMBuildOr(e->b, old, bad, ""), flag);
}

static void emit_check(cg_emit *e, const cg_stmt *s) {
    LLVMValueRef flag = check_flag(e, s);
    LLVMValueRef ok = flag ? cg_emit_expr(e, s->value) : NULL;
    if (ok) record_failure(e, flag, cg_emit_convert(e, ok, s->value->type, IR_BOOL));
}

/* ---- loops ---------------------------------------------------------------------------------------- */

static LLVMValueRef i64c(cg_emit *e, int64_t v) { return LLVMConstInt(e->t_i64, (unsigned long long)v, 1); }

static LLVMValueRef smax0(cg_emit *e, LLVMValueRef v) {
    return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, v, i64c(e, 0), ""), v, i64c(e, 0), "");
}

/* [lo, hi) = [lo, mid) scalar, [mid, main_end) W lanes a step, [main_end, hi) scalar, where mid
 * puts the first non-temporal store's address on a 64-byte boundary (no such mid when the
 * address is not a multiple of the element size: then all of it is scalar). */
static void nontemporal_loop(cg_emit *e, const cg_stmt *loop, const cg_stmt *first, LLVMValueRef lo, LLVMValueRef hi) {
    LLVMBuilderRef b = e->b;
    unsigned lanes = (unsigned)e->vector_bytes / 4;
    int64_t size = (int64_t)ir_dtype_size(e->p->buffers[first->buf].dtype);
    LLVMValueRef n = smax0(e, LLVMBuildSub(b, hi, lo, ""));
    LLVMValueRef saved = e->var_val[loop->var];
    e->var_val[loop->var] = lo;
    cg_cpu_memo_clear(&e->memo);
    LLVMValueRef index = cg_emit_expr(e, first->index);
    e->var_val[loop->var] = saved;
    if (!index) return;
    LLVMValueRef addr = LLVMBuildPtrToInt(b, cg_emit_element_ptr(e, first->buf, index), e->t_i64, "");
    LLVMValueRef mis = LLVMBuildAnd(b, addr, i64c(e, 63), "");
    LLVMValueRef odd = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, mis, i64c(e, size - 1), ""), i64c(e, 0), "");
    LLVMValueRef to_boundary = LLVMBuildAnd(b, LLVMBuildSub(b, i64c(e, 64), mis, ""), i64c(e, 63), "");
    LLVMValueRef peel = LLVMBuildSelect(b, odd, n, LLVMBuildUDiv(b, to_boundary, i64c(e, size), ""), "");
    peel = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntULT, peel, n, ""), peel, n, "");
    LLVMValueRef mid = LLVMBuildAdd(b, lo, peel, "");
    LLVMValueRef body_n = LLVMBuildAnd(b, LLVMBuildSub(b, n, peel, ""), i64c(e, -(int64_t)lanes), "");
    LLVMValueRef main_end = LLVMBuildAdd(b, mid, body_n, "");

    e->nt_first = first;
    e->nt_align = lanes * (unsigned)size < 64 ? lanes * (unsigned)size : 64;
    e->vector_depth++; /* the scalar parts drop the hint (a scalar non-temporal store is slow) */
    counted_loop(e, loop, lo, mid, 1, done_hint(e, true), body_statements);
    e->lanes = lanes, e->vec_var = loop->var;
    counted_loop(e, loop, mid, main_end, lanes, done_hint(e, false), vector_body);
    e->lanes = 0;
    counted_loop(e, loop, main_end, hi, 1, done_hint(e, true), body_statements);
    e->vector_depth--;
}

static void emit_loop(cg_emit *e, const cg_stmt *s, bool ranged) {
    if (s->var < 0 || s->var >= e->p->n_vars || !e->p->vars[s->var].is_index) {
        fail(e, "loop over a variable that is not an index", s);
        return;
    }
    LLVMValueRef lo = ranged ? e->begin : i64c(e, 0), hi = ranged ? e->end : i64c(e, s->extent);
    bool vector = s->flags & CG_LOOP_VECTOR;
    const cg_stmt *first = vector ? nontemporal_shape(e, s) : NULL;
    if (first) {
        nontemporal_loop(e, s, first, lo, hi);
        return;
    }
    e->vector_depth += vector;
    counted_loop(e, s, lo, hi, 1, vector ? vectorize_hint(e) : NULL, body_statements);
    e->vector_depth -= vector;
}

/* Each statement starts with an empty memo: a shared node is emitted once per statement. */
static void emit_stmt(cg_emit *e, const cg_stmt *s, bool ranged) {
    if (e->failed) return;
    cg_cpu_memo_clear(&e->memo);
    switch (s->kind) {
    case CG_LOOP: emit_loop(e, s, ranged); break;
    case CG_ASSIGN: emit_assign(e, s); break;
    case CG_STORE: emit_store(e, s); break;
    case CG_CHECK: emit_check(e, s); break;
    default: fail(e, "unknown statement", s); break;
    }
}

/* The first statement, when it is the parallel loop, runs over this call's [begin, end). */
bool cg_emit_body(cg_emit *e) {
    for (int i = 0; i < e->k->n_body && !e->failed; i++) {
        const cg_stmt *s = e->k->body[i];
        emit_stmt(e, s, i == 0 && s->kind == CG_LOOP && (s->flags & CG_LOOP_PARALLEL));
    }
    return !e->failed;
}
