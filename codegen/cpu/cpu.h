/* cpu.h — the CPU backend: Kernel IR to LLVM IR through LLVM's C API, optimized by the new pass
 * manager for a target machine (the host, or --cpu NAME), then compiled by ORC LLJIT (tfc run)
 * or to an object file (tfc compile). Private to codegen/; sections name the defining file. */
#ifndef TFC_CODEGEN_CPU_H
#define TFC_CODEGEN_CPU_H

#include "codegen/codegen.h"

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

typedef struct cg_cpu_options {
    int opt_level;            /* 0..3: LLVM's pipeline default<On> (tfc's -O level) */
    const char *cpu;          /* NULL or "native": the host CPU and its features; else an LLVM
                                 CPU name (x86-64-v3, znver4, ...) */
    const char *dump_dir;     /* when set, each compile writes GRAPH.ll (before optimization) and
                                 GRAPH.opt.ll there, so a user can read what LLVM saw */
} cg_cpu_options;

/* ---- codegen/cpu/target.c ----------------------------------------------------------------- */

/* Initializes LLVM's native target once and makes a target machine for o->cpu (reporting an
 * unknown CPU name with the known ones). NULL after reporting. */
LLVMTargetMachineRef cg_cpu_target_machine(const cg_cpu_options *o, ir_diag *d);
/* Gives module m the triple and data layout of tm (before emission and before optimizing). */
void cg_cpu_set_target(LLVMModuleRef m, LLVMTargetMachineRef tm);
/* Whether the machine's triple is x86-64 (non-temporal vector stores, sfence). */
bool cg_cpu_target_is_x86_64(LLVMTargetMachineRef tm);
/* The widest f32 vector of the machine's CPU in bytes: 64 (AVX-512F), 32 (AVX) or 16. */
int cg_cpu_vector_bytes(LLVMTargetMachineRef tm);

/* ---- codegen/cpu/emit.c: Kernel IR → LLVM IR ------------------------------------------------ */

/* Emits one function per kernel into a new module (in a new context owned by the caller):
 *   i32 @<kernel name>(ptr %slots, i64 %begin, i64 %end, ptr %scratch)   (rt_kernel_fn)
 * GEMM and CONV kernels without an epilogue get no function. The module is verified; NULL
 * after reporting (an LLVM verifier failure is an internal error naming the kernel). */
LLVMModuleRef cg_cpu_emit_module(const cg_program *p, LLVMContextRef ctx, LLVMTargetMachineRef tm, ir_diag *d);
/* The symbol of kernel k's function, or NULL when it has none. */
const char *cg_cpu_kernel_symbol(const cg_program *p, int k);

/* ---- codegen/cpu/math.c: transcendental functions as inline IR ------------------------------ */

/* Emits f(x) (or f(x, y) for CG_POW) on f32 values for the functions that are not a single LLVM
 * instruction or intrinsic: EXP LOG TANH SIGMOID GELU GELU_TANH SILU SIN COS ERF POW. Each is a
 * polynomial approximation defined once per module as an internal always-inline function of
 * plain arithmetic and bit operations, so the loop vectorizer widens it. Its accuracy is
 * measured in docs/math-accuracy.md. x (and y, of the same type) may also be <N x float> with
 * N ≤ 64: the same arithmetic on vectors, the result of x's type. Returns NULL for any other
 * function or type. */
LLVMValueRef cg_cpu_emit_math(LLVMModuleRef m, LLVMBuilderRef b, cg_fn f, LLVMValueRef x, LLVMValueRef y);

/* ---- codegen/cpu/optimize.c ------------------------------------------------------------------ */

/* Writes m as text to DIR/NAME SUFFIX (making DIR, one level, like the pass dumps); false after
 * reporting. For --dump-dir. */
bool cg_cpu_dump_module(LLVMModuleRef m, const char *dir, const char *name, const char *suffix, ir_diag *d);

/* Emits p into ctx, writes GRAPH.ll when o->dump_dir is set, optimizes, writes GRAPH.opt.ll:
 * what the JIT, the dumps and object emission all start from. NULL after reporting. */
LLVMModuleRef cg_cpu_compile_module(const cg_program *p, const cg_cpu_options *o, LLVMContextRef ctx,
                                    LLVMTargetMachineRef tm, ir_diag *d);

/* LLVM reports through its context's diagnostic handler; the default one prints to stderr and
 * exits on an error. Capturing drops remarks and warnings (a forced vectorization LLVM
 * declined) and keeps the first error, which cg_cpu_report_llvm_diag passes on as a tfc error
 * (false then). The sink must outlive the context or the next capture. */
typedef struct cg_cpu_llvm_diag {
    int errors;
    char first[512];
} cg_cpu_llvm_diag;
void cg_cpu_capture_diagnostics(LLVMContextRef c, cg_cpu_llvm_diag *sink);
bool cg_cpu_report_llvm_diag(const cg_cpu_llvm_diag *sink, const char *what, ir_diag *d);

/* ---- codegen/cpu/jit.c: ORC LLJIT ------------------------------------------------------------ */

typedef struct cg_cpu_jit cg_cpu_jit;

/* Lowers nothing itself: emits p's module, optimizes it, compiles it with LLJIT for the host
 * and builds the rt_program whose steps point at the compiled kernels. NULL after reporting. */
cg_cpu_jit *cg_cpu_jit_create(const cg_program *p, const cg_cpu_options *o, ir_diag *d);
const rt_program *cg_cpu_jit_program(const cg_cpu_jit *j);
void cg_cpu_jit_destroy(cg_cpu_jit *j);   /* NULL is ignored */

/* ---- codegen/cpu/dump.c: `tfc dump --stage llvm|asm` ---------------------------------------- */

/* The optimized LLVM IR of p's kernels, or the target's assembly. */
bool cg_cpu_print_llvm(FILE *out, const cg_program *p, const cg_cpu_options *o, ir_diag *d);
bool cg_cpu_print_asm(FILE *out, const cg_program *p, const cg_cpu_options *o, ir_diag *d);

/* ---- codegen/cpu/steps.c -------------------------------------------------------------------- */

/* Fills steps[k] for each kernel of p (name, kind, cost, extent, grain, library call, checks),
 * taking kernel k's function from fns[k] (NULL when it has none). */
void cg_cpu_fill_steps(const cg_program *p, rt_kernel_fn const *fns, rt_step *steps);

#endif
