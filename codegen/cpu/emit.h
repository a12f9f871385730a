/* emit.h — the state shared by the Kernel IR → LLVM IR emitter's files (emit.c: functions and
 * the module, emit_stmt.c: loops and statements, emit_expr.c: expressions, emit_memory.c: loads,
 * stores, variables). Private to those files; the backend's interface is cpu.h. */
#ifndef TFC_CODEGEN_CPU_EMIT_H
#define TFC_CODEGEN_CPU_EMIT_H

#include "codegen/cpu/cpu.h"

/* A small open-addressing map from (node, tag) to a pointer, cleared in O(1) by bumping its
 * generation: the per-statement memo of emitted expressions and the "depends on the vector
 * loop's index" cache. */
typedef struct cg_cpu_memo_entry {
    const void *key;
    unsigned tag;
    unsigned gen;
    void *value;
} cg_cpu_memo_entry;

typedef struct cg_cpu_memo {
    cg_cpu_memo_entry *slots;
    unsigned cap, used, gen;
} cg_cpu_memo;

void *cg_cpu_memo_get(const cg_cpu_memo *m, const void *key, unsigned tag);
void cg_cpu_memo_put(cg_cpu_memo *m, const void *key, unsigned tag, void *value);
void cg_cpu_memo_clear(cg_cpu_memo *m);
void cg_cpu_memo_free(cg_cpu_memo *m);

/* One kernel's emission. */
typedef struct cg_emit {
    const cg_program *p;
    const cg_kernel *k;
    ir_diag *d;
    bool failed;              /* an error was reported: stop emitting */
    LLVMContextRef c;
    LLVMModuleRef m;
    LLVMBuilderRef b;         /* the body */
    LLVMBuilderRef eb;        /* the entry block: allocas and buffer bases, hoisted out of loops */
    LLVMValueRef fn, slots, begin, end, scratch;
    LLVMValueRef *slot_ptr;   /* [slot + 1]: slots[slot] loaded once (index 0: scratch) */
    LLVMValueRef *buf_ptr;    /* per buffer: its base address */
    LLVMValueRef *var_val;    /* index variables: the current i64; scalars: their alloca */
    LLVMValueRef *check_flag; /* per check: an i1 alloca, "this check failed somewhere" */
    int vector_bytes;         /* the target's widest vector, for the hand-vectorized loop */
    bool x86;
    bool made_nontemporal;    /* the kernel needs an sfence before it returns */
    int vector_depth;         /* enclosing CG_LOOP_VECTOR loops (reductions get fast-math flags) */
    unsigned lanes;           /* 0: scalar code; W: the hand-vectorized body, W lanes of vec_var */
    int vec_var;
    const cg_stmt *nt_first;  /* the hand-vectorized loop's store peeled to 64-byte alignment */
    unsigned nt_align;        /* and the alignment of its vector stores */
    cg_cpu_memo memo;             /* (expr, lanes) → LLVMValueRef, cleared per statement */
    cg_cpu_memo depends;          /* (expr, var) → 1 + (expr depends on var) */
    LLVMTypeRef t_f32, t_f16, t_i1, t_i8, t_i16, t_i32, t_i64, t_ptr;
} cg_emit;

/* ---- emit_memory.c ---- */

/* The type an expression computes in (f32, i32, i64 or i1) and a buffer's memory type. */
LLVMTypeRef cg_emit_value_type(cg_emit *e, ir_dtype t);
LLVMTypeRef cg_emit_memory_type(cg_emit *e, ir_dtype t);
/* Buffer element address for an index (scalar, or a vector of indices: a vector of addresses). */
LLVMValueRef cg_emit_element_ptr(cg_emit *e, int buf, LLVMValueRef index);
/* A scalar variable's alloca (created on first use, zero-initialized, in the entry block). */
LLVMValueRef cg_emit_var_slot(cg_emit *e, int var);
/* A CG_LOAD's value in the expression's type. */
LLVMValueRef cg_emit_load(cg_emit *e, const cg_expr *x);
/* A scalar store of v (the buffer's compute type) with the memory type's rounding. */
LLVMValueRef cg_emit_store_scalar(cg_emit *e, int buf, LLVMValueRef index, LLVMValueRef v);
/* A contiguous W-lane store at element `index` (lane 0); align 0: the element's. */
LLVMValueRef cg_emit_store_vector(cg_emit *e, int buf, LLVMValueRef index, LLVMValueRef v, unsigned align);
/* Marks a store !nontemporal (the kernel then ends with an sfence). */
void cg_emit_set_nontemporal(cg_emit *e, LLVMValueRef store);

/* ---- emit_expr.c ---- */

/* The expression's value: a scalar, or in vector mode a W-lane vector when it depends on the
 * vectorized index (a scalar when uniform). NULL after reporting. */
LLVMValueRef cg_emit_expr(cg_emit *e, const cg_expr *x);
/* v (of cg type `from`) converted to `to` with CG_CAST's semantics. */
LLVMValueRef cg_emit_convert(cg_emit *e, LLVMValueRef v, ir_dtype from, ir_dtype to);
/* f(a, b) on values of cg type t (b NULL for a unary f), without fast-math flags. */
LLVMValueRef cg_emit_fn(cg_emit *e, cg_fn f, ir_dtype t, LLVMValueRef a, LLVMValueRef b);
/* Whether x depends on variable var; whether x is var or var + (something independent of it). */
bool cg_emit_depends(cg_emit *e, const cg_expr *x, int var);
bool cg_emit_is_unit_stride(cg_emit *e, const cg_expr *x, int var);
/* For a unit-stride index: its value at lane 0 (scalar). */
LLVMValueRef cg_emit_lane0_index(cg_emit *e, const cg_expr *x);
/* Helpers: a constant or splat of v's shape; v widened to `lanes` lanes. */
LLVMValueRef cg_emit_splat(cg_emit *e, LLVMValueRef v, unsigned lanes);
LLVMValueRef cg_emit_call_intrinsic(cg_emit *e, const char *name, LLVMTypeRef *overloads, int n_overloads,
                                    LLVMValueRef *args, int n_args);
unsigned cg_emit_lanes_of(LLVMValueRef v);

/* ---- emit_stmt.c ---- */

/* Emits the kernel's statements into the body builder. false after reporting. */
bool cg_emit_body(cg_emit *e);

#endif
