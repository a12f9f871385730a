/* emit_memory.c — memory in the emitted kernels: buffer base addresses (slots[slot] + offset,
 * loaded once in the entry block), scalar variables as entry-block allocas, loads and stores with
 * the conversions of f16 (LLVM half) and bf16 (bits of an i16), contiguous vector accesses and
 * gathers for the hand-vectorized loop; and the small memo table the emitter uses. */
#include "codegen/cpu/emit.h"

#include <stdlib.h>

/* ---- the memo table --------------------------------------------------------------------------- */

static uint64_t memo_hash(const void *key, unsigned tag) {
    uint64_t h = (uint64_t)(uintptr_t)key * 0x9E3779B97F4A7C15ull;
    return (h ^ (h >> 29)) + tag * 0x85EBCA6Bull;
}

/* A slot is empty when its generation is not the table's: clearing is one increment. */
void *cg_cpu_memo_get(const cg_cpu_memo *m, const void *key, unsigned tag) {
    if (!m->cap) return NULL;
    for (uint64_t i = memo_hash(key, tag) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const cg_cpu_memo_entry *s = &m->slots[i];
        if (s->gen != m->gen) return NULL;
        if (s->key == key && s->tag == tag) return s->value;
    }
}

static void memo_insert(cg_cpu_memo *m, const void *key, unsigned tag, void *value) {
    uint64_t i = memo_hash(key, tag) & (m->cap - 1);
    while (m->slots[i].gen == m->gen && !(m->slots[i].key == key && m->slots[i].tag == tag))
        i = (i + 1) & (m->cap - 1);
    if (m->slots[i].gen != m->gen) m->used++;
    m->slots[i] = (cg_cpu_memo_entry){key, tag, m->gen, value};
}

void cg_cpu_memo_put(cg_cpu_memo *m, const void *key, unsigned tag, void *value) {
    if (2 * (m->used + 1) > m->cap) { /* keep the load at most 1/2 */
        cg_cpu_memo old = *m;
        m->cap = old.cap ? 2 * old.cap : 64;
        m->slots = calloc(m->cap, sizeof *m->slots);
        IR_ASSERT(m->slots != NULL); /* out of memory, like ir_alloc */
        m->used = 0;
        m->gen = 1;
        for (unsigned i = 0; i < old.cap; i++)
            if (old.slots[i].gen == old.gen) memo_insert(m, old.slots[i].key, old.slots[i].tag, old.slots[i].value);
        free(old.slots);
    }
    memo_insert(m, key, tag, value);
}

void cg_cpu_memo_clear(cg_cpu_memo *m) {
    m->used = 0;
    if (++m->gen == 0) { /* wrapped: old entries could look current */
        for (unsigned i = 0; i < m->cap; i++) m->slots[i].gen = 0;
        m->gen = 1;
    }
}

void cg_cpu_memo_free(cg_cpu_memo *m) {
    free(m->slots);
    *m = (cg_cpu_memo){0};
}

/* ---- types ------------------------------------------------------------------------------------ */

LLVMTypeRef cg_emit_value_type(cg_emit *e, ir_dtype t) {
    switch (t) {
    case IR_F32: case IR_F16: case IR_BF16: return e->t_f32;
    case IR_I32: return e->t_i32;
    case IR_I64: return e->t_i64;
    case IR_BOOL: return e->t_i1;
    default: return NULL;
    }
}

LLVMTypeRef cg_emit_memory_type(cg_emit *e, ir_dtype t) {
    switch (t) {
    case IR_F32: return e->t_f32;
    case IR_F16: return e->t_f16;
    case IR_BF16: return e->t_i16;
    case IR_I32: return e->t_i32;
    case IR_I64: return e->t_i64;
    case IR_BOOL: return e->t_i8;
    default: return NULL;
    }
}

/* The caller's buffers are only promised 4-byte alignment (runtime/program.h). */
static unsigned element_align(ir_dtype t) {
    size_t size = ir_dtype_size(t);
    return size < 4 ? (unsigned)size : 4;
}

static LLVMTypeRef shaped(LLVMTypeRef scalar, unsigned lanes) {
    return lanes ? LLVMVectorType(scalar, lanes) : scalar;
}

/* ---- addresses -------------------------------------------------------------------------------- */

/* slots[slot] (or %scratch), loaded in the entry block: stores through buffer pointers could
 * alias the slot table as far as LLVM knows, so loads inside loops would not be hoisted. */
static LLVMValueRef slot_pointer(cg_emit *e, int slot) {
    if (slot == CG_SCRATCH_SLOT) return e->scratch;
    if (!e->slot_ptr[slot + 1]) {
        LLVMValueRef index = LLVMConstInt(e->t_i64, (unsigned long long)slot, 0);
        LLVMValueRef at = LLVMBuildInBoundsGEP2(e->eb, e->t_ptr, e->slots, &index, 1, "");
        char name[32];
        snprintf(name, sizeof name, "slot%d", slot);
        LLVMValueRef p = LLVMBuildLoad2(e->eb, e->t_ptr, at, name);
        LLVMSetAlignment(p, 8);
        e->slot_ptr[slot + 1] = p;
    }
    return e->slot_ptr[slot + 1];
}

static const cg_buffer *buffer(cg_emit *e, int buf) {
    if (buf < 0 || buf >= e->p->n_buffers) {
        ir_bug(e->d, IR_NO_LOC, "kernel %s: buffer %d out of range [0, %d)", e->k->name, buf, e->p->n_buffers);
        e->failed = true;
        return NULL;
    }
    const cg_buffer *b = &e->p->buffers[buf];
    if (b->slot != CG_SCRATCH_SLOT && (b->slot < 0 || b->slot >= e->p->n_slots)) {
        ir_bug(e->d, IR_NO_LOC, "kernel %s: buffer %s in slot %d of %d", e->k->name, b->name ? b->name : "?",
               b->slot, e->p->n_slots);
        e->failed = true;
        return NULL;
    }
    if (!cg_emit_memory_type(e, b->dtype)) {
        ir_bug(e->d, IR_NO_LOC, "kernel %s: buffer %d has no dtype", e->k->name, buf);
        e->failed = true;
        return NULL;
    }
    return b;
}

/* Same slot and offset give the same pointer value, so LLVM sees an in-place update as one
 * address (dependence distance 0) and vectorizes it without a runtime alias check. */
static LLVMValueRef buffer_base(cg_emit *e, int buf) {
    if (!e->buf_ptr[buf]) {
        const cg_buffer *b = &e->p->buffers[buf];
        LLVMValueRef base = slot_pointer(e, b->slot);
        if (b->offset) {
            LLVMValueRef off = LLVMConstInt(e->t_i64, (unsigned long long)b->offset, 1);
            base = LLVMBuildInBoundsGEP2(e->eb, e->t_i8, base, &off, 1, "");
        }
        e->buf_ptr[buf] = base;
    }
    return e->buf_ptr[buf];
}

static LLVMValueRef as_i64(cg_emit *e, LLVMValueRef index) {
    LLVMTypeRef t = LLVMTypeOf(index);
    LLVMTypeRef want = shaped(e->t_i64, cg_emit_lanes_of(index));
    return t == want ? index : LLVMBuildIntCast2(e->b, index, want, 1, "");
}

LLVMValueRef cg_emit_element_ptr(cg_emit *e, int buf, LLVMValueRef index) {
    if (!buffer(e, buf)) return NULL;
    LLVMValueRef i = as_i64(e, index);
    return LLVMBuildInBoundsGEP2(e->b, cg_emit_memory_type(e, e->p->buffers[buf].dtype), buffer_base(e, buf), &i, 1,
                                 "");
}

LLVMValueRef cg_emit_var_slot(cg_emit *e, int var) {
    if (!e->var_val[var]) {
        const cg_var *v = &e->p->vars[var];
        LLVMTypeRef t = cg_emit_value_type(e, v->type);
        IR_ASSERT(t != NULL);
        LLVMValueRef a = LLVMBuildAlloca(e->eb, t, v->name ? v->name : "");
        LLVMBuildStore(e->eb, LLVMConstNull(t), a); /* a read before any write sees 0, not undef */
        e->var_val[var] = a;
    }
    return e->var_val[var];
}

/* ---- conversions between memory and values ------------------------------------------------- */

/* f16 through LLVM half (IEEE round to nearest even); bf16 is the top half of an f32. */
static LLVMValueRef from_memory(cg_emit *e, LLVMValueRef v, ir_dtype t) {
    unsigned n = cg_emit_lanes_of(v);
    switch (t) {
    case IR_F16: return LLVMBuildFPExt(e->b, v, shaped(e->t_f32, n), "");
    case IR_BF16: {
        LLVMValueRef wide = LLVMBuildZExt(e->b, v, shaped(e->t_i32, n), "");
        wide = LLVMBuildShl(e->b, wide, cg_emit_splat(e, LLVMConstInt(e->t_i32, 16, 0), n), "");
        return LLVMBuildBitCast(e->b, wide, shaped(e->t_f32, n), "");
    }
    case IR_BOOL: return LLVMBuildICmp(e->b, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
    default: return v;
    }
}

static LLVMValueRef i32_const(cg_emit *e, unsigned value, unsigned lanes) {
    return cg_emit_splat(e, LLVMConstInt(e->t_i32, value, 0), lanes);
}

/* bf16 = round_to_nearest_even(bits >> 16), a NaN stays a (quiet) NaN: the interpreter's rule. */
static LLVMValueRef to_bf16(cg_emit *e, LLVMValueRef v) {
    unsigned n = cg_emit_lanes_of(v);
    LLVMBuilderRef b = e->b;
    LLVMValueRef u = LLVMBuildBitCast(b, v, shaped(e->t_i32, n), "");
    LLVMValueRef mag = LLVMBuildAnd(b, u, i32_const(e, 0x7fffffffu, n), "");
    LLVMValueRef nan = LLVMBuildICmp(b, LLVMIntUGT, mag, i32_const(e, 0x7f800000u, n), "");
    LLVMValueRef high = LLVMBuildLShr(b, u, i32_const(e, 16, n), "");
    LLVMValueRef quiet = LLVMBuildOr(b, high, i32_const(e, 0x40, n), "");
    LLVMValueRef odd = LLVMBuildAnd(b, high, i32_const(e, 1, n), "");
    LLVMValueRef up = LLVMBuildAdd(b, LLVMBuildAdd(b, u, i32_const(e, 0x7fff, n), ""), odd, "");
    LLVMValueRef rounded = LLVMBuildLShr(b, up, i32_const(e, 16, n), "");
    LLVMValueRef bits = LLVMBuildSelect(b, nan, quiet, rounded, "");
    return LLVMBuildTrunc(b, bits, shaped(e->t_i16, n), "");
}

static LLVMValueRef to_memory(cg_emit *e, LLVMValueRef v, ir_dtype t) {
    unsigned n = cg_emit_lanes_of(v);
    switch (t) {
    case IR_F16: return LLVMBuildFPTrunc(e->b, v, shaped(e->t_f16, n), "");
    case IR_BF16: return to_bf16(e, v);
    case IR_BOOL: return LLVMBuildZExt(e->b, v, shaped(e->t_i8, n), "");
    default: return v;
    }
}

/* ---- loads and stores ------------------------------------------------------------------------- */

static LLVMValueRef gather(cg_emit *e, const cg_buffer *bf, LLVMValueRef ptrs) {
    unsigned n = cg_emit_lanes_of(ptrs);
    LLVMTypeRef vt = LLVMVectorType(cg_emit_memory_type(e, bf->dtype), n);
    LLVMTypeRef overloads[2] = {vt, LLVMTypeOf(ptrs)};
    LLVMValueRef args[4] = {ptrs, LLVMConstInt(e->t_i32, element_align(bf->dtype), 0),
                            cg_emit_splat(e, LLVMConstInt(e->t_i1, 1, 0), n), LLVMGetPoison(vt)};
    return cg_emit_call_intrinsic(e, "llvm.masked.gather", overloads, 2, args, 4);
}

/* In vector mode the load depends on the vectorized index (uniform loads are emitted in scalar
 * mode): unit stride is one vector load, anything else a gather. */
LLVMValueRef cg_emit_load(cg_emit *e, const cg_expr *x) {
    const cg_buffer *bf = buffer(e, x->buf);
    if (!bf) return NULL;
    LLVMTypeRef mt = cg_emit_memory_type(e, bf->dtype);
    LLVMValueRef v;
    if (e->lanes && cg_emit_is_unit_stride(e, x->a[0], e->vec_var)) {
        LLVMValueRef at = cg_emit_element_ptr(e, x->buf, cg_emit_lane0_index(e, x->a[0]));
        if (!at) return NULL;
        v = LLVMBuildLoad2(e->b, LLVMVectorType(mt, e->lanes), at, "");
        LLVMSetAlignment(v, element_align(bf->dtype));
    } else {
        LLVMValueRef index = cg_emit_expr(e, x->a[0]);
        if (!index) return NULL;
        LLVMValueRef at = cg_emit_element_ptr(e, x->buf, index);
        if (cg_emit_lanes_of(index)) return from_memory(e, gather(e, bf, at), bf->dtype);
        v = LLVMBuildLoad2(e->b, mt, at, "");
        LLVMSetAlignment(v, element_align(bf->dtype));
    }
    return from_memory(e, v, bf->dtype);
}

LLVMValueRef cg_emit_store_scalar(cg_emit *e, int buf, LLVMValueRef index, LLVMValueRef v) {
    LLVMValueRef at = cg_emit_element_ptr(e, buf, index);
    if (!at) return NULL;
    ir_dtype t = e->p->buffers[buf].dtype;
    LLVMValueRef st = LLVMBuildStore(e->b, to_memory(e, v, t), at);
    LLVMSetAlignment(st, element_align(t));
    return st;
}

LLVMValueRef cg_emit_store_vector(cg_emit *e, int buf, LLVMValueRef index, LLVMValueRef v, unsigned align) {
    LLVMValueRef at = cg_emit_element_ptr(e, buf, index);
    if (!at) return NULL;
    ir_dtype t = e->p->buffers[buf].dtype;
    LLVMValueRef st = LLVMBuildStore(e->b, to_memory(e, cg_emit_splat(e, v, e->lanes), t), at);
    LLVMSetAlignment(st, align ? align : element_align(t));
    return st;
}

void cg_emit_set_nontemporal(cg_emit *e, LLVMValueRef store) {
    LLVMMetadataRef one = LLVMValueAsMetadata(LLVMConstInt(e->t_i32, 1, 0));
    unsigned kind = LLVMGetMDKindIDInContext(e->c, "nontemporal", 11);
    LLVMSetMetadata(store, kind, LLVMMetadataAsValue(e->c, LLVMMDNodeInContext2(e->c, &one, 1)));
    e->made_nontemporal = true;
}
