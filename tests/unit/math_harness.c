/* math_harness.c — builds one loop per math function with cg_cpu_emit_math, runs default<O3>
 * for the target machine, records how each loop was vectorized from the optimized IR, and
 * JIT-compiles the module with LLJIT (LLVM C API only, nothing else of the CPU backend). */
#include "math_harness.h"

#include "codegen/cpu/cpu.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cg_fn math_harness_fns[] = {CG_EXP,       CG_LOG, CG_TANH, CG_SIGMOID, CG_SILU, CG_GELU,
                                  CG_GELU_TANH, CG_ERF, CG_SIN,  CG_COS,     CG_POW};
const int math_harness_n_fns = (int)(sizeof(math_harness_fns) / sizeof(math_harness_fns[0]));

enum { MAX_FNS = 16 };

struct math_harness {
    char *cpu, *features;
    int lanes;
    LLVMOrcLLJITRef jit;
    LLVMOrcExecutorAddress loops[MAX_FNS];
    int width[MAX_FNS];
    bool calls[MAX_FNS];
};

static int fn_index(cg_fn f) {
    for (int i = 0; i < math_harness_n_fns; i++)
        if (math_harness_fns[i] == f) return i;
    return -1;
}

/* Copies an LLVM error's message into err and consumes the error; true if there was one. */
static bool take_error(LLVMErrorRef e, const char *what, char *err, size_t err_size) {
    if (!e) return false;
    char *msg = LLVMGetErrorMessage(e);
    snprintf(err, err_size, "%s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return true;
}

static LLVMTargetMachineRef make_tm(const math_harness *h, char *err, size_t err_size) {
    char *triple = LLVMGetDefaultTargetTriple(), *msg = NULL;
    LLVMTargetRef target;
    LLVMTargetMachineRef tm = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
        snprintf(err, err_size, "target %s: %s", triple, msg);
        LLVMDisposeMessage(msg);
    } else {
        tm = LLVMCreateTargetMachine(target, triple, h->cpu, h->features, LLVMCodeGenLevelAggressive, LLVMRelocDefault,
                                     LLVMCodeModelJITDefault);
        if (!tm) snprintf(err, err_size, "no target machine for %s", h->cpu);
    }
    LLVMDisposeMessage(triple);
    return tm;
}

static const char *loop_name(cg_fn f) {
    static const char *const names[] = {"exp",       "log", "tanh", "sigmoid", "silu", "gelu",
                                        "gelu_tanh", "erf", "sin",  "cos",     "pow"};
    return names[fn_index(f)];
}

/* void loop(x, [y,] out, n): for (i = 0; i < n; i += lanes) out[i..] = f(x[i..] [, y[i..]]),
 * on f32 or <lanes x float> values. */
static void build_loop(LLVMModuleRef m, cg_fn f, int lanes) {
    LLVMContextRef ctx = LLVMGetModuleContext(m);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef f32 = LLVMFloatTypeInContext(ctx), vt = lanes > 1 ? LLVMVectorType(f32, (unsigned)lanes) : f32;
    int n_in = f == CG_POW ? 2 : 1;
    LLVMTypeRef params[] = {ptr, ptr, ptr, i64};
    params[n_in + 1] = i64;
    LLVMValueRef fn =
        LLVMAddFunction(m, loop_name(f), LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, (unsigned)n_in + 2, 0));
    unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
    for (int i = 0; i <= n_in; i++)
        LLVMAddAttributeAtIndex(fn, (unsigned)i + 1, LLVMCreateEnumAttribute(ctx, noalias, 0));
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, fn, "entry");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(ctx, fn, "loop");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(ctx, fn, "exit");
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMValueRef n = LLVMGetParam(fn, (unsigned)n_in + 1), zero = LLVMConstInt(i64, 0, 0);
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGT, n, zero, ""), body, exit);
    LLVMPositionBuilderAtEnd(b, body);
    LLVMValueRef i = LLVMBuildPhi(b, i64, "i");
    LLVMValueRef in[2] = {NULL, NULL};
    for (int k = 0; k < n_in; k++) {
        in[k] = LLVMBuildLoad2(b, vt, LLVMBuildGEP2(b, f32, LLVMGetParam(fn, (unsigned)k), &i, 1, ""), "");
        LLVMSetAlignment(in[k], 4); /* the arrays are only float-aligned */
    }
    LLVMValueRef r = cg_cpu_emit_math(m, b, f, in[0], in[1]);
    LLVMSetAlignment(LLVMBuildStore(b, r, LLVMBuildGEP2(b, f32, LLVMGetParam(fn, (unsigned)n_in), &i, 1, "")), 4);
    LLVMValueRef next = LLVMBuildNUWAdd(b, i, LLVMConstInt(i64, (unsigned long long)lanes, 0), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGE, next, n, ""), exit, body);
    LLVMAddIncoming(i, (LLVMValueRef[]){zero, next}, (LLVMBasicBlockRef[]){entry, body}, 2);
    LLVMPositionBuilderAtEnd(b, exit);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
}

/* The widest "<N x float>" in a function's text, and whether it calls a non-intrinsic. */
static void inspect(LLVMValueRef fn, int *width, bool *calls) {
    char *text = LLVMPrintValueToString(fn);
    *width = 0;
    *calls = false;
    for (const char *p = text; (p = strchr(p, '<')) != NULL; p++) {
        int w;
        char rest[8];
        if (sscanf(p, "<%d x %7[a-z]>", &w, rest) == 2 && strcmp(rest, "float") == 0 && w > *width) *width = w;
    }
    for (const char *p = text; (p = strstr(p, " call ")) != NULL; p++) {
        const char *at = strchr(p, '@'), *eol = strchr(p, '\n');
        if (!at || (eol && at > eol) || strncmp(at, "@llvm.", 6) != 0) *calls = true;
    }
    LLVMDisposeMessage(text);
}

static bool optimize(math_harness *h, LLVMModuleRef m, char *err, size_t err_size) {
    LLVMTargetMachineRef tm = make_tm(h, err, err_size);
    if (!tm) return false;
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
    LLVMSetTarget(m, triple);
    LLVMSetModuleDataLayout(m, layout);
    LLVMDisposeTargetData(layout);
    LLVMDisposeMessage(triple);
    char *msg = NULL;
    bool ok = !LLVMVerifyModule(m, LLVMReturnStatusAction, &msg);
    if (!ok) snprintf(err, err_size, "invalid module: %s", msg);
    LLVMDisposeMessage(msg);
    if (ok) {
        LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
        ok = !take_error(LLVMRunPasses(m, "default<O3>", tm, opts), "default<O3>", err, err_size);
        LLVMDisposePassBuilderOptions(opts);
    }
    LLVMDisposeTargetMachine(tm);
    for (int i = 0; ok && i < math_harness_n_fns; i++)
        inspect(LLVMGetNamedFunction(m, loop_name(math_harness_fns[i])), &h->width[i], &h->calls[i]);
    return ok;
}

static bool jit(math_harness *h, LLVMOrcThreadSafeContextRef tsc, LLVMModuleRef m, char *err, size_t err_size) {
    LLVMTargetMachineRef tm = make_tm(h, err, err_size);
    if (!tm) return false;
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
    if (take_error(LLVMOrcCreateLLJIT(&h->jit, builder), "LLJIT", err, err_size)) {
        h->jit = NULL;
        return false;
    }
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
    if (take_error(LLVMOrcLLJITAddLLVMIRModule(h->jit, LLVMOrcLLJITGetMainJITDylib(h->jit), tsm), "add module", err,
                   err_size)) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        return false;
    }
    for (int i = 0; i < math_harness_n_fns; i++) {
        LLVMOrcExecutorAddress addr = 0;
        if (take_error(LLVMOrcLLJITLookup(h->jit, &addr, loop_name(math_harness_fns[i])), "lookup", err, err_size))
            return false;
        h->loops[i] = addr;
    }
    return true;
}

static char *dup(const char *s) {
    char *d = malloc(strlen(s) + 1);
    return d ? strcpy(d, s) : NULL;
}

math_harness *math_harness_create(const char *cpu, int lanes, char *err, size_t err_size) {
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    math_harness *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    char *host_cpu = LLVMGetHostCPUName(), *host_features = LLVMGetHostCPUFeatures();
    h->cpu = dup(cpu ? cpu : host_cpu);
    h->features = dup(cpu ? "" : host_features);
    h->lanes = lanes;
    LLVMDisposeMessage(host_cpu);
    LLVMDisposeMessage(host_features);

    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("math_harness", LLVMOrcThreadSafeContextGetContext(tsc));
    for (int i = 0; i < math_harness_n_fns; i++) build_loop(m, math_harness_fns[i], lanes);
    bool ok = optimize(h, m, err, err_size);
    if (ok) {
        ok = jit(h, tsc, m, err, err_size); /* the thread-safe module owns m from here */
    } else {
        LLVMDisposeModule(m);
    }
    LLVMOrcDisposeThreadSafeContext(tsc);
    if (!ok) {
        math_harness_destroy(h);
        return NULL;
    }
    return h;
}

void math_harness_destroy(math_harness *h) {
    if (!h) return;
    if (h->jit) LLVMConsumeError(LLVMOrcDisposeLLJIT(h->jit));
    free(h->cpu);
    free(h->features);
    free(h);
}

const char *math_harness_cpu(const math_harness *h) { return h->cpu; }
int math_harness_lanes(const math_harness *h) { return h->lanes; }

/* With an explicit CPU name the features are the CPU's own, which the name implies; only
 * the host's are listed. */
bool math_harness_has_feature(const math_harness *h, const char *feature) {
    size_t n = strlen(feature);
    for (const char *p = h->features; (p = strstr(p, feature)) != NULL; p += n)
        if ((p == h->features || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return true;
    return false;
}

math_unary_loop math_harness_unary(const math_harness *h, cg_fn f) {
    int i = fn_index(f);
    return i < 0 || f == CG_POW ? NULL : (math_unary_loop)(uintptr_t)h->loops[i];
}

math_binary_loop math_harness_binary(const math_harness *h, cg_fn f) {
    int i = fn_index(f);
    return i < 0 || f != CG_POW ? NULL : (math_binary_loop)(uintptr_t)h->loops[i];
}

int math_harness_vector_width(const math_harness *h, cg_fn f) { return h->width[fn_index(f)]; }
bool math_harness_has_calls(const math_harness *h, cg_fn f) { return h->calls[fn_index(f)]; }
