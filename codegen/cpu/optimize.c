/* optimize.c — LLVM's new pass manager over an emitted module (default<On>, loop and SLP
 * vectorization from -O2), the diagnostics LLVM reports through its context (kept away from
 * stderr and passed on as tfc errors), and the emit → dump → optimize → dump sequence that the
 * JIT, the dumps and object emission share. */
#include "codegen/cpu/cpu.h"

#include <llvm-c/Transforms/PassBuilder.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* Remarks and warnings are dropped: a forced vectorization LLVM declines (an argmax loop) is
 * not the user's problem. Errors are kept for the caller to report: LLVM's default handler
 * would print them and exit the process. */
static void on_llvm_diagnostic(LLVMDiagnosticInfoRef info, void *context) {
    cg_cpu_llvm_diag *sink = context;
    if (!sink || LLVMGetDiagInfoSeverity(info) != LLVMDSError) return;
    if (sink->errors++ == 0) {
        char *msg = LLVMGetDiagInfoDescription(info);
        snprintf(sink->first, sizeof sink->first, "%s", msg ? msg : "");
        LLVMDisposeMessage(msg);
    }
}

void cg_cpu_capture_diagnostics(LLVMContextRef c, cg_cpu_llvm_diag *sink) {
    if (sink) *sink = (cg_cpu_llvm_diag){0};
    LLVMContextSetDiagnosticHandler(c, on_llvm_diagnostic, sink);
}

bool cg_cpu_report_llvm_diag(const cg_cpu_llvm_diag *sink, const char *what, ir_diag *d) {
    if (!sink || !sink->errors) return true;
    ir_error(d, IR_NO_LOC, "LLVM: %s: %s", what, sink->first);
    return false;
}

/* Runs default<O{opt_level}> on the module, which cg_cpu_emit_module gave tm's triple and data
 * layout; false after reporting. */
static bool optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, int opt_level, ir_diag *d) {
    if (opt_level < 0) opt_level = 0;
    if (opt_level > 3) opt_level = 3;
    LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(options, opt_level >= 2);
    LLVMPassBuilderOptionsSetSLPVectorization(options, opt_level >= 2);
    LLVMPassBuilderOptionsSetLoopInterleaving(options, opt_level >= 2);
    LLVMPassBuilderOptionsSetLoopUnrolling(options, opt_level >= 2);
    char pipeline[32];
    snprintf(pipeline, sizeof pipeline, "default<O%d>", opt_level);
    LLVMErrorRef err = LLVMRunPasses(m, pipeline, tm, options);
    LLVMDisposePassBuilderOptions(options);
    if (err) {
        char *msg = LLVMGetErrorMessage(err);
        ir_error(d, IR_NO_LOC, "LLVM: %s failed: %s", pipeline, msg);
        LLVMDisposeErrorMessage(msg);
        return false;
    }
    return true;
}

bool cg_cpu_dump_module(LLVMModuleRef m, const char *dir, const char *name, const char *suffix, ir_diag *d) {
    /* The folder is made as the pass manager's dumps make it (one level, like XLA's dump folder). */
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        ir_error(d, IR_NO_LOC, "--dump-dir: cannot create '%s': %s", dir, strerror(errno));
        return false;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, suffix);
    char *msg = NULL;
    if (LLVMPrintModuleToFile(m, path, &msg)) {
        ir_error(d, IR_NO_LOC, "--dump-dir: cannot write '%s': %s", path, msg && *msg ? msg : strerror(errno));
        LLVMDisposeMessage(msg);
        return false;
    }
    return true;
}

LLVMModuleRef cg_cpu_compile_module(const cg_program *p, const cg_cpu_options *o, LLVMContextRef ctx,
                                    LLVMTargetMachineRef tm, ir_diag *d) {
    LLVMModuleRef m = cg_cpu_emit_module(p, ctx, tm, d);
    if (!m) return NULL;
    const char *graph = p->graph && p->graph->name ? p->graph->name : "tfc";
    bool ok = !o->dump_dir || cg_cpu_dump_module(m, o->dump_dir, graph, ".ll", d);
    ok = ok && optimize(m, tm, o->opt_level, d);
    ok = ok && (!o->dump_dir || cg_cpu_dump_module(m, o->dump_dir, graph, ".opt.ll", d));
    if (!ok) {
        LLVMDisposeModule(m);
        return NULL;
    }
    return m;
}
