/* dump.c — `tfc dump --stage llvm|asm`: the optimized LLVM IR of a program's kernels, or the
 * assembly the target machine makes of it, written to a stream. */
#include "codegen/cpu/cpu.h"

typedef bool (*module_printer)(FILE *out, LLVMModuleRef m, LLVMTargetMachineRef tm, ir_diag *d);

/* A private context for one dump: its diagnostics are captured, never printed by LLVM. */
static bool with_module(FILE *out, const cg_program *p, const cg_cpu_options *o, ir_diag *d, module_printer print) {
    LLVMTargetMachineRef tm = cg_cpu_target_machine(o, d);
    if (!tm) return false;
    LLVMContextRef ctx = LLVMContextCreate();
    cg_cpu_llvm_diag sink;
    cg_cpu_capture_diagnostics(ctx, &sink);
    LLVMModuleRef m = cg_cpu_compile_module(p, o, ctx, tm, d);
    bool ok = m && cg_cpu_report_llvm_diag(&sink, "optimizing", d) && print(out, m, tm, d) &&
              cg_cpu_report_llvm_diag(&sink, "code generation", d);
    if (m) LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetMachine(tm);
    return ok;
}

static bool print_ir(FILE *out, LLVMModuleRef m, LLVMTargetMachineRef tm, ir_diag *d) {
    (void)tm, (void)d;
    char *text = LLVMPrintModuleToString(m);
    fputs(text, out);
    LLVMDisposeMessage(text);
    return true;
}

static bool print_asm(FILE *out, LLVMModuleRef m, LLVMTargetMachineRef tm, ir_diag *d) {
    char *msg = NULL;
    LLVMMemoryBufferRef buf = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &msg, &buf)) {
        ir_error(d, IR_NO_LOC, "LLVM: cannot emit assembly: %s", msg ? msg : "");
        LLVMDisposeMessage(msg);
        return false;
    }
    fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), out);
    LLVMDisposeMemoryBuffer(buf);
    return true;
}

bool cg_cpu_print_llvm(FILE *out, const cg_program *p, const cg_cpu_options *o, ir_diag *d) {
    return with_module(out, p, o, d, print_ir);
}

bool cg_cpu_print_asm(FILE *out, const cg_program *p, const cg_cpu_options *o, ir_diag *d) {
    return with_module(out, p, o, d, print_asm);
}
