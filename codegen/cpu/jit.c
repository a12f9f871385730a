/* jit.c — `tfc run` on the CPU: the optimized module compiled in memory by ORC LLJIT (through
 * LLVM's C API) for the same CPU as the target machine, process symbols (libm) visible to the
 * code, and the rt_program whose steps point at the compiled kernels. The JIT owns copies of
 * every string the program refers to, so the cg_program may be destroyed after creation. */
#include "codegen/cpu/cpu.h"

#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include <stdlib.h>

struct cg_cpu_jit {
    LLVMOrcLLJITRef jit;
    cg_cpu_llvm_diag diag;    /* the JIT context's diagnostic sink: lives as long as the JIT */
    ir_arena *arena;          /* steps, names and check messages */
    rt_program program;
};

static bool llvm_ok(LLVMErrorRef err, const char *what, const char *name, ir_diag *d) {
    if (!err) return true;
    char *msg = LLVMGetErrorMessage(err);
    ir_error(d, IR_NO_LOC, "LLVM JIT: %s%s%s: %s", what, name ? " " : "", name ? name : "", msg);
    LLVMDisposeErrorMessage(msg);
    return false;
}

/* LLJIT with a target machine builder made from a second target machine of the same CPU and
 * features (the builder takes it over), and the process's symbols as a fallback. */
static bool create_lljit(cg_cpu_jit *j, const cg_cpu_options *o, ir_diag *d) {
    LLVMTargetMachineRef tm = cg_cpu_target_machine(o, d);
    if (!tm) return false;
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
    if (!llvm_ok(LLVMOrcCreateLLJIT(&j->jit, builder), "cannot create the JIT", NULL, d)) {
        j->jit = NULL;
        return false;
    }
    LLVMOrcDefinitionGeneratorRef process;
    LLVMErrorRef err =
        LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&process, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL);
    if (!llvm_ok(err, "cannot search the process's symbols", NULL, d)) return false;
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->jit), process);
    return true;
}

/* Compilation happens at the first lookup; a codegen error surfaces there, named by kernel. */
static bool lookup_kernels(cg_cpu_jit *j, const cg_program *p, rt_kernel_fn *fns, ir_diag *d) {
    for (int k = 0; k < p->n_kernels; k++) {
        const char *symbol = cg_cpu_kernel_symbol(p, k);
        if (!symbol) continue;
        LLVMOrcExecutorAddress addr = 0;
        if (!llvm_ok(LLVMOrcLLJITLookup(j->jit, &addr, symbol), "cannot compile kernel", symbol, d)) return false;
        if (!cg_cpu_report_llvm_diag(&j->diag, symbol, d)) return false;
        fns[k] = (rt_kernel_fn)(uintptr_t)addr;
    }
    return true;
}

static const char *copy(ir_arena *a, const char *s) { return s ? ir_strdup(a, s) : NULL; }

static void build_program(cg_cpu_jit *j, const cg_program *p, const rt_kernel_fn *fns) {
    rt_step *steps = ir_alloc(j->arena, sizeof *steps * (size_t)(p->n_kernels ? p->n_kernels : 1));
    cg_cpu_fill_steps(p, fns, steps);
    for (int k = 0; k < p->n_kernels; k++) {
        steps[k].name = copy(j->arena, steps[k].name);
        const char **checks = ir_alloc(j->arena, sizeof *checks * (size_t)(steps[k].n_checks + 1));
        for (int c = 0; c < steps[k].n_checks; c++) checks[c] = copy(j->arena, steps[k].checks[c]);
        steps[k].checks = checks;
    }
    j->program = (rt_program){
        .name = copy(j->arena, p->graph && p->graph->name ? p->graph->name : "tfc"),
        .n_slots = p->n_slots,
        .n_steps = p->n_kernels,
        .steps = steps,
        .arena_bytes = p->arena_bytes,
        .first_param_slot = p->graph ? cg_slot_param(p->graph, 0) : 0,
    };
}

/* The module goes to the JIT inside a ThreadSafeModule; the context's last reference then
 * belongs to the JIT, which frees it in cg_cpu_jit_destroy. */
static bool add_module(cg_cpu_jit *j, const cg_program *p, const cg_cpu_options *o, ir_diag *d) {
    LLVMTargetMachineRef tm = cg_cpu_target_machine(o, d);
    if (!tm) return false;
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMContextRef ctx = LLVMOrcThreadSafeContextGetContext(tsc);
    cg_cpu_capture_diagnostics(ctx, &j->diag);
    LLVMModuleRef m = cg_cpu_compile_module(p, o, ctx, tm, d);
    LLVMDisposeTargetMachine(tm);
    bool ok = m && cg_cpu_report_llvm_diag(&j->diag, "optimizing", d) && create_lljit(j, o, d);
    if (!ok) {
        if (m) LLVMDisposeModule(m);
        LLVMOrcDisposeThreadSafeContext(tsc);
        return false;
    }
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
    LLVMOrcDisposeThreadSafeContext(tsc);
    LLVMErrorRef err = LLVMOrcLLJITAddLLVMIRModule(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), tsm);
    return llvm_ok(err, "cannot add the module", NULL, d);
}

cg_cpu_jit *cg_cpu_jit_create(const cg_program *p, const cg_cpu_options *o, ir_diag *d) {
    cg_cpu_jit *j = calloc(1, sizeof *j);
    IR_ASSERT(j != NULL); /* out of memory, like ir_alloc */
    j->arena = ir_arena_create();
    rt_kernel_fn *fns = calloc((size_t)(p->n_kernels ? p->n_kernels : 1), sizeof *fns);
    IR_ASSERT(fns != NULL);
    bool ok = add_module(j, p, o, d) && lookup_kernels(j, p, fns, d);
    if (ok) build_program(j, p, fns);
    free(fns);
    if (!ok) {
        cg_cpu_jit_destroy(j);
        return NULL;
    }
    return j;
}

const rt_program *cg_cpu_jit_program(const cg_cpu_jit *j) { return &j->program; }

/* Disposing the LLJIT frees the code, the module and the context (its last reference). What
 * LLVM keeps for the process (target registry, command-line options) stays reachable from its
 * statics, so leak checkers report nothing at exit; LLVMShutdown is not called, since it would
 * end LLVM for every later JIT in the process. */
void cg_cpu_jit_destroy(cg_cpu_jit *j) {
    if (!j) return;
    if (j->jit) LLVMConsumeError(LLVMOrcDisposeLLJIT(j->jit));
    ir_arena_destroy(j->arena);
    free(j);
}
