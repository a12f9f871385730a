/* target.c — the target machine of the CPU backend: LLVM's native target initialized once, the
 * host CPU and its features or a named x86-64 CPU checked against the names LLVM 19 knows (so a
 * typo is a clean error, not LLVM's stderr warning), and the vector width the emitter needs. */
#include "codegen/cpu/cpu.h"

#include <llvm-c/Target.h>

#include <pthread.h>
#include <string.h>

static pthread_once_t llvm_init_once = PTHREAD_ONCE_INIT;
static bool llvm_init_failed;   /* written once under llvm_init_once, read-only afterwards */

static void llvm_init(void) {
    llvm_init_failed = LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter() ||
                       LLVMInitializeNativeAsmParser();
}

/* The 64-bit x86 CPUs of LLVM 19 (`llc -mcpu=help`; 32-bit-only ones would abort in LLVM on an
 * x86-64 triple) with the widest f32 vector each has: 64 bytes with AVX-512F, 32 with AVX. */
typedef struct cpu_entry {
    const char *name;
    int vector_bytes;
} cpu_entry;

static const cpu_entry x86_cpus[] = {
    {"x86-64", 16}, {"x86-64-v2", 16}, {"x86-64-v3", 32}, {"x86-64-v4", 64}, {"generic", 16},
    /* Intel */
    {"nocona", 16}, {"core2", 16}, {"penryn", 16}, {"nehalem", 16}, {"corei7", 16},
    {"westmere", 16}, {"sandybridge", 32}, {"corei7-avx", 32}, {"ivybridge", 32},
    {"core-avx-i", 32}, {"haswell", 32}, {"core-avx2", 32}, {"broadwell", 32}, {"skylake", 32},
    {"skylake-avx512", 64}, {"skx", 64}, {"cascadelake", 64}, {"cooperlake", 64},
    {"cannonlake", 64}, {"icelake-client", 64}, {"icelake-server", 64}, {"rocketlake", 64},
    {"tigerlake", 64}, {"sapphirerapids", 64}, {"emeraldrapids", 64}, {"graniterapids", 64},
    {"graniterapids-d", 64}, {"alderlake", 32}, {"raptorlake", 32}, {"meteorlake", 32},
    {"arrowlake", 32}, {"arrowlake-s", 32}, {"lunarlake", 32}, {"pantherlake", 32},
    {"gracemont", 32}, {"sierraforest", 32}, {"grandridge", 32}, {"clearwaterforest", 32},
    {"bonnell", 16}, {"atom", 16}, {"silvermont", 16}, {"slm", 16}, {"goldmont", 16},
    {"goldmont-plus", 16}, {"tremont", 16}, {"knl", 64}, {"knm", 64},
    /* AMD */
    {"k8", 16}, {"opteron", 16}, {"athlon64", 16}, {"athlon-fx", 16}, {"k8-sse3", 16},
    {"opteron-sse3", 16}, {"athlon64-sse3", 16}, {"amdfam10", 16}, {"barcelona", 16},
    {"btver1", 16}, {"btver2", 32}, {"bdver1", 32}, {"bdver2", 32}, {"bdver3", 32},
    {"bdver4", 32}, {"znver1", 32}, {"znver2", 32}, {"znver3", 32}, {"znver4", 64},
    {"znver5", 64},
};
enum { N_X86_CPUS = (int)(sizeof x86_cpus / sizeof x86_cpus[0]) };

static const cpu_entry *find_cpu(const char *name) {
    for (int i = 0; i < N_X86_CPUS; i++)
        if (strcmp(x86_cpus[i].name, name) == 0) return &x86_cpus[i];
    return NULL;
}

static bool is_native(const char *cpu) { return !cpu || !*cpu || strcmp(cpu, "native") == 0; }

static bool triple_is_x86_64(const char *triple) { return strncmp(triple, "x86_64", 6) == 0; }

static void report_unknown_cpu(const char *cpu, ir_diag *d) {
    const char *names[N_X86_CPUS];
    for (int i = 0; i < N_X86_CPUS; i++) names[i] = x86_cpus[i].name;
    const char *near = ir_closest(cpu, names, N_X86_CPUS);
    ir_error(d, IR_NO_LOC,
             "unknown CPU '%s'%s%s%s; valid names include native, x86-64, x86-64-v2, x86-64-v3, "
             "x86-64-v4, haswell, skylake-avx512, icelake-server, sapphirerapids, znver3, znver4",
             cpu, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
}

static LLVMCodeGenOptLevel codegen_level(int opt_level) {
    switch (opt_level) {
    case 0: return LLVMCodeGenLevelNone;
    case 1: return LLVMCodeGenLevelLess;
    case 3: return LLVMCodeGenLevelAggressive;
    default: return LLVMCodeGenLevelDefault;
    }
}

LLVMTargetMachineRef cg_cpu_target_machine(const cg_cpu_options *o, ir_diag *d) {
    pthread_once(&llvm_init_once, llvm_init);
    if (llvm_init_failed) {
        ir_error(d, IR_NO_LOC, "LLVM has no native target for this machine");
        return NULL;
    }
    char *triple = LLVMGetDefaultTargetTriple();
    bool native = is_native(o->cpu);
    if (!native && (!triple_is_x86_64(triple) || !find_cpu(o->cpu))) {
        if (triple_is_x86_64(triple)) report_unknown_cpu(o->cpu, d);
        else ir_error(d, IR_NO_LOC, "CPU '%s': only 'native' is supported on %s", o->cpu, triple);
        LLVMDisposeMessage(triple);
        return NULL;
    }
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
        ir_error(d, IR_NO_LOC, "LLVM: no target for %s: %s", triple, msg ? msg : "");
        LLVMDisposeMessage(msg);
        LLVMDisposeMessage(triple);
        return NULL;
    }
    char *cpu = native ? LLVMGetHostCPUName() : NULL;
    char *features = native ? LLVMGetHostCPUFeatures() : NULL;
    /* PIC: the same code goes into static and shared libraries (tfc compile). */
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, native ? cpu : o->cpu, native ? features : "",
                                                      codegen_level(o->opt_level), LLVMRelocPIC,
                                                      LLVMCodeModelDefault);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    LLVMDisposeMessage(triple);
    if (!tm) ir_error(d, IR_NO_LOC, "LLVM could not create a target machine for CPU '%s'", o->cpu ? o->cpu : "native");
    return tm;
}

bool cg_cpu_target_is_x86_64(LLVMTargetMachineRef tm) {
    char *triple = LLVMGetTargetMachineTriple(tm);
    bool x86 = triple_is_x86_64(triple);
    LLVMDisposeMessage(triple);
    return x86;
}

/* An explicit +feature/-feature in the machine's feature string (the host's) wins; a named CPU
 * has none, so its table entry decides. */
static int feature_state(const char *features, const char *name) {
    size_t n = strlen(name);
    for (const char *s = features; s && *s;) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == n + 1 && strncmp(s + 1, name, n) == 0) return s[0] == '+' ? 1 : -1;
        s = end ? end + 1 : NULL;
    }
    return 0;
}

int cg_cpu_vector_bytes(LLVMTargetMachineRef tm) {
    if (!cg_cpu_target_is_x86_64(tm)) return 16;
    char *features = LLVMGetTargetMachineFeatureString(tm);
    int avx512 = feature_state(features, "avx512f"), avx = feature_state(features, "avx");
    LLVMDisposeMessage(features);
    char *cpu = LLVMGetTargetMachineCPU(tm);
    const cpu_entry *e = find_cpu(cpu);
    LLVMDisposeMessage(cpu);
    int bytes = e ? e->vector_bytes : 16;
    if (avx512 > 0) return 64;
    if (avx512 < 0 && bytes > 32) bytes = 32;
    if (avx > 0 && bytes < 32) bytes = 32;
    if (avx < 0) bytes = 16;
    return bytes;
}

void cg_cpu_set_target(LLVMModuleRef m, LLVMTargetMachineRef tm) {
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(m, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, layout);
    LLVMDisposeTargetData(layout);
}
