/* emit.c — Kernel IR to an LLVM module: one function per kernel with a body,
 *   i32 @NAME(ptr %slots, i64 %begin, i64 %end, ptr %scratch)   (rt_kernel_fn)
 * with its entry block (allocas, buffer bases), its statements (emit_stmt.c), and the return of
 * 1 + the first failed check. Each function is verified; a failure is a bug naming the kernel. */
#include "codegen/cpu/emit.h"

#include <llvm-c/Analysis.h>

#include <stdlib.h>
#include <string.h>

const char *cg_cpu_kernel_symbol(const cg_program *p, int k) {
    const cg_kernel *kn = &p->kernels[k];
    if (kn->kind != CG_KERNEL_LOOP && kn->n_body == 0) return NULL; /* the library call writes the result */
    return kn->name;
}

static void init_types(cg_emit *e) {
    e->t_f32 = LLVMFloatTypeInContext(e->c);
    e->t_f16 = LLVMHalfTypeInContext(e->c);
    e->t_i1 = LLVMInt1TypeInContext(e->c);
    e->t_i8 = LLVMInt8TypeInContext(e->c);
    e->t_i16 = LLVMInt16TypeInContext(e->c);
    e->t_i32 = LLVMInt32TypeInContext(e->c);
    e->t_i64 = LLVMInt64TypeInContext(e->c);
    e->t_ptr = LLVMPointerTypeInContext(e->c, 0);
}

static LLVMValueRef declare_kernel(cg_emit *e, const char *name) {
    LLVMTypeRef params[4] = {e->t_ptr, e->t_i64, e->t_i64, e->t_ptr};
    LLVMValueRef fn = LLVMAddFunction(e->m, name, LLVMFunctionType(e->t_i32, params, 4, 0));
    static const char *const names[4] = {"slots", "begin", "end", "scratch"};
    for (unsigned i = 0; i < 4; i++) LLVMSetValueName2(LLVMGetParam(fn, i), names[i], strlen(names[i]));
    unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(e->c, nounwind, 0));
    return fn;
}

/* 0, or 1 + the lowest check whose flag is set; then the sfence that orders non-temporal stores
 * before the thread pool's join publishes the results to other threads. */
static void emit_return(cg_emit *e) {
    LLVMValueRef r = LLVMConstInt(e->t_i32, 0, 0);
    for (int c = e->k->n_checks - 1; c >= 0; c--) {
        if (!e->check_flag[c]) continue;
        LLVMValueRef failed = LLVMBuildLoad2(e->b, e->t_i1, e->check_flag[c], "");
        r = LLVMBuildSelect(e->b, failed, LLVMConstInt(e->t_i32, (unsigned)c + 1, 0), r, "");
    }
    if (e->made_nontemporal && e->x86) cg_emit_call_intrinsic(e, "llvm.x86.sse.sfence", NULL, 0, NULL, 0);
    LLVMBuildRet(e->b, r);
}

static bool verify_kernel(cg_emit *e) {
    if (!LLVMVerifyFunction(e->fn, LLVMReturnStatusAction)) return true;
    char *msg = NULL;
    LLVMVerifyModule(e->m, LLVMReturnStatusAction, &msg);
    ir_bug(e->d, IR_NO_LOC, "kernel %s: LLVM IR does not verify: %s", e->k->name, msg ? msg : "");
    LLVMDisposeMessage(msg);
    return false;
}

static void free_kernel_state(cg_emit *e) {
    free(e->slot_ptr);
    free(e->buf_ptr);
    free(e->var_val);
    free(e->check_flag);
    cg_cpu_memo_free(&e->memo);
    cg_cpu_memo_free(&e->depends);
    if (e->b) LLVMDisposeBuilder(e->b);
    if (e->eb) LLVMDisposeBuilder(e->eb);
}

static void *zeroed(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    IR_ASSERT(p != NULL); /* out of memory, like ir_alloc */
    return p;
}

/* `module` holds what every kernel of the module shares: program, module, types, target. */
static bool emit_kernel(const cg_emit *module, int k) {
    const cg_program *p = module->p;
    cg_emit e = *module;
    e.k = &p->kernels[k];
    e.fn = declare_kernel(&e, e.k->name);
    e.slots = LLVMGetParam(e.fn, 0), e.begin = LLVMGetParam(e.fn, 1);
    e.end = LLVMGetParam(e.fn, 2), e.scratch = LLVMGetParam(e.fn, 3);
    e.slot_ptr = zeroed((size_t)p->n_slots + 1, sizeof *e.slot_ptr);
    e.buf_ptr = zeroed((size_t)p->n_buffers, sizeof *e.buf_ptr);
    e.var_val = zeroed((size_t)p->n_vars, sizeof *e.var_val);
    e.check_flag = zeroed((size_t)e.k->n_checks, sizeof *e.check_flag);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e.c, e.fn, "entry");
    LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(e.c, e.fn, "start");
    e.eb = LLVMCreateBuilderInContext(e.c);
    e.b = LLVMCreateBuilderInContext(e.c);
    LLVMPositionBuilderAtEnd(e.eb, entry);
    LLVMPositionBuilderAtEnd(e.b, start);
    bool ok = cg_emit_body(&e);
    if (ok) {
        emit_return(&e);
        LLVMPositionBuilderAtEnd(e.eb, entry);
        LLVMBuildBr(e.eb, start);
        ok = verify_kernel(&e);
    }
    free_kernel_state(&e);
    return ok;
}

static bool check_names(const cg_program *p, LLVMModuleRef m, int k, ir_diag *d) {
    const char *name = p->kernels[k].name;
    if (!name || !*name) {
        ir_bug(d, IR_NO_LOC, "kernel %d has no name", k);
        return false;
    }
    if (LLVMGetNamedFunction(m, name)) { /* LLVM would rename it, and the lookup would miss */
        ir_bug(d, IR_NO_LOC, "two kernels are named %s", name);
        return false;
    }
    return true;
}

LLVMModuleRef cg_cpu_emit_module(const cg_program *p, LLVMContextRef ctx, LLVMTargetMachineRef tm, ir_diag *d) {
    const char *name = p->graph && p->graph->name ? p->graph->name : "tfc";
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext(name, ctx);
    cg_cpu_set_target(m, tm);
    cg_emit module = {.p = p, .d = d, .c = ctx, .m = m};
    init_types(&module);
    module.vector_bytes = cg_cpu_vector_bytes(tm);
    module.x86 = cg_cpu_target_is_x86_64(tm);
    for (int k = 0; k < p->n_kernels; k++) {
        if (!cg_cpu_kernel_symbol(p, k)) continue;
        if (!check_names(p, m, k, d) || !emit_kernel(&module, k)) {
            LLVMDisposeModule(m);
            return NULL;
        }
    }
    char *msg = NULL; /* the math library's functions, defined once per module */
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        ir_bug(d, IR_NO_LOC, "LLVM module %s does not verify: %s", name, msg ? msg : "");
        LLVMDisposeMessage(msg);
        LLVMDisposeModule(m);
        return NULL;
    }
    LLVMDisposeMessage(msg);
    return m;
}
