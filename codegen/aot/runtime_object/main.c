/* runtime_object/main.c — a build tool: turns the runtime's LLVM bitcode (runtime.bc) into the
 * object that every library `tfc compile` writes carries as its second archive member, so that
 * compiling a model never generates the runtime's machine code again.
 *
 *   tfc_runtime_object RUNTIME.bc OUT.o OUT.h
 *
 * H, the 64-bit FNV-1a hash of the bitcode's bytes in 16 hex digits, versions the runtime: the
 * entry points generated code calls (rt_model_create, ... rt_model_error) become
 * tfcrt_H_model_create, ..., weak_odr and hidden, and everything else is made internal and
 * dropped when unused. Two libraries from one tfc share the member (weak_odr: the same code,
 * whichever copy the linker keeps); libraries from different tfc builds name different symbols,
 * so their runtimes never mix. The object is compiled for generic x86-64, position independent,
 * so that it suits every --cpu. OUT.h defines AOT_RUNTIME_SYMBOL_PREFIX ("tfcrt_H_") and
 * AOT_RUNTIME_MEMBER ("tfcrt_H.o") for tfc. */
#include <llvm-c/BitReader.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The runtime functions the generated API calls (codegen/aot/object_api.c); each "rt_NAME"
 * becomes "tfcrt_H_NAME". */
static const char *const ENTRY_POINTS[] = {
    "rt_model_create",       "rt_model_create_error", "rt_model_destroy", "rt_model_run",
    "rt_model_save_weights", "rt_model_load_weights", "rt_model_error",
};
enum { N_ENTRY_POINTS = sizeof ENTRY_POINTS / sizeof ENTRY_POINTS[0] };

static void fail(const char *what, const char *detail) {
    fprintf(stderr, "tfc_runtime_object: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static uint64_t fnv1a64(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

static bool is_entry_point(const char *name) {
    for (int i = 0; i < N_ENTRY_POINTS; i++)
        if (strcmp(name, ENTRY_POINTS[i]) == 0) return true;
    return false;
}

/* Entry points: renamed, weak_odr, hidden. Other definitions: internal (llvm.* globals such as
 * llvm.used keep their special linkage; local symbols must have default visibility). */
static void version_value(LLVMValueRef v, const char *symbol_prefix, int *n_renamed) {
    size_t len;
    const char *name = LLVMGetValueName2(v, &len);
    if (LLVMIsDeclaration(v) || strncmp(name, "llvm.", 5) == 0) return;
    if (is_entry_point(name)) {
        char renamed[128];
        snprintf(renamed, sizeof renamed, "%s%s", symbol_prefix, name + 3); /* without "rt_" */
        LLVMSetValueName2(v, renamed, strlen(renamed));
        LLVMSetLinkage(v, LLVMWeakODRLinkage);
        LLVMSetVisibility(v, LLVMHiddenVisibility);
        ++*n_renamed;
        return;
    }
    LLVMLinkage l = LLVMGetLinkage(v);
    if (l == LLVMInternalLinkage || l == LLVMPrivateLinkage) return;
    LLVMSetLinkage(v, LLVMInternalLinkage);
    LLVMSetVisibility(v, LLVMDefaultVisibility);
}

static void version_module(LLVMModuleRef m, const char *symbol_prefix) {
    int n_renamed = 0;
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f))
        version_value(f, symbol_prefix, &n_renamed);
    for (LLVMValueRef g = LLVMGetFirstGlobal(m); g; g = LLVMGetNextGlobal(g))
        version_value(g, symbol_prefix, &n_renamed);
    for (LLVMValueRef a = LLVMGetFirstGlobalAlias(m); a; a = LLVMGetNextGlobalAlias(a))
        version_value(a, symbol_prefix, &n_renamed);
    if (n_renamed != N_ENTRY_POINTS) fail("the runtime's bitcode lacks one of the rt_model_* entry points", NULL);
}

static LLVMTargetMachineRef generic_x86_64(void) {
    /* The asm parser: the runtime detects CPU features with cpuid and xgetbv (inline assembly). */
    if (LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter() || LLVMInitializeNativeAsmParser())
        fail("cannot initialize LLVM", NULL);
    char *triple = LLVMGetDefaultTargetTriple();
    if (strncmp(triple, "x86_64", 6) != 0) fail("the runtime object is built for x86-64 hosts only, not", triple);
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg)) fail("no LLVM target", msg);
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, "x86-64", "", LLVMCodeGenLevelDefault,
                                                      LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMDisposeMessage(triple);
    if (!tm) fail("cannot create a target machine for x86-64", NULL);
    return tm;
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) fail("cannot create", path);
    bool ok = fwrite(data, 1, len, f) == len;
    if (fclose(f) != 0 || !ok) {
        remove(path);
        fail("cannot write", path);
    }
}

static LLVMModuleRef read_bitcode(LLVMContextRef ctx, const char *path, uint64_t *hash) {
    LLVMMemoryBufferRef buf = NULL;
    char *msg = NULL;
    if (LLVMCreateMemoryBufferWithContentsOfFile(path, &buf, &msg)) fail(path, msg);
    *hash = fnv1a64((const unsigned char *)LLVMGetBufferStart(buf), LLVMGetBufferSize(buf));
    LLVMModuleRef m = NULL;
    bool bad = LLVMParseBitcodeInContext2(ctx, buf, &m);
    LLVMDisposeMemoryBuffer(buf);
    if (bad || !m) fail("cannot read LLVM bitcode from", path);
    return m;
}

static void drop_unused(LLVMModuleRef m, LLVMTargetMachineRef tm) {
    LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
    LLVMErrorRef err = LLVMRunPasses(m, "globaldce", tm, options);
    LLVMDisposePassBuilderOptions(options);
    if (err) fail("LLVM globaldce failed", LLVMGetErrorMessage(err));
}

static void write_object(LLVMModuleRef m, LLVMTargetMachineRef tm, const char *path) {
    char *msg = NULL;
    LLVMMemoryBufferRef buf = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &msg, &buf))
        fail("LLVM cannot emit the object", msg);
    write_file(path, LLVMGetBufferStart(buf), LLVMGetBufferSize(buf));
    LLVMDisposeMemoryBuffer(buf);
}

static void write_header(const char *path, const char *hex) {
    char text[512];
    int n = snprintf(text, sizeof text,
                     "/* Generated by tfc_runtime_object from runtime.bc: do not edit. */\n"
                     "#define AOT_RUNTIME_SYMBOL_PREFIX \"tfcrt_%s_\"\n"
                     "#define AOT_RUNTIME_MEMBER \"tfcrt_%s.o\"\n",
                     hex, hex);
    write_file(path, text, (size_t)n);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: tfc_runtime_object RUNTIME.bc OUT.o OUT.h\n");
        return 2;
    }
    LLVMContextRef ctx = LLVMContextCreate();
    uint64_t hash;
    LLVMModuleRef m = read_bitcode(ctx, argv[1], &hash);
    char hex[17], symbol_prefix[32];
    snprintf(hex, sizeof hex, "%016" PRIx64, hash);
    snprintf(symbol_prefix, sizeof symbol_prefix, "tfcrt_%s_", hex);
    LLVMTargetMachineRef tm = generic_x86_64();
    LLVMTargetDataRef data = LLVMCreateTargetDataLayout(tm);
    char *layout = LLVMCopyStringRepOfTargetData(data);
    LLVMSetDataLayout(m, layout);
    LLVMDisposeMessage(layout);
    LLVMDisposeTargetData(data);
    version_module(m, symbol_prefix);
    drop_unused(m, tm);
    write_object(m, tm, argv[2]);
    write_header(argv[3], hex);
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetMachine(tm);
    return 0;
}
