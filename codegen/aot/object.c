/* object.c — the generated library's own object file: every graph lowered, emitted and optimized
 * as `tfc run` does (each in its own module of one context), linked into the library module with
 * its step table, then the descriptor and the API functions. The runtime is not in it: the API
 * calls the runtime's versioned hidden symbols (tfcrt_H_model_*), defined by the runtime's object
 * that tfc was built with (runtime_object.c), which goes beside this one into the archive and
 * the shared library. Everything but the API is made internal, so two libraries never clash,
 * and the module is compiled to a position-independent relocatable object. */
#include "codegen/aot/object.h"
#include "runtime/program.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Comdat.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <stdlib.h>
#include <string.h>

/* What one compile holds: released together by emitter_free. */
typedef struct emitter {
    const ir_module *m;
    const aot_options *o;
    ir_diag *d;
    LLVMTargetMachineRef tm;
    LLVMContextRef ctx;
    cg_cpu_llvm_diag diag; /* the context's diagnostic sink (lives as long as the context) */
    LLVMModuleRef lib;
    aot_graph_info *graphs;
    LLVMValueRef *exported;
    int n_exported;
    double seconds_lower;
} emitter;

static void emitter_free(emitter *e) {
    if (e->lib) LLVMDisposeModule(e->lib);
    if (e->ctx) LLVMContextDispose(e->ctx);
    if (e->tm) LLVMDisposeTargetMachine(e->tm);
    free(e->graphs);
    free(e->exported);
}

/* ---- the graphs ---------------------------------------------------------------------------- */

/* Graph i: Kernel IR, its optimized module with its step table, linked into the library. */
static bool add_graph(emitter *e, int i) {
    const ir_graph *g = e->m->graphs[i];
    double t0 = rt_now_seconds();
    cg_program *p = cg_lower_graph(g, e->d);
    e->seconds_lower += rt_now_seconds() - t0;
    if (!p) return false;
    LLVMModuleRef gm = cg_cpu_compile_module(p, &e->o->cpu, e->ctx, e->tm, e->d);
    bool ok = gm && cg_cpu_report_llvm_diag(&e->diag, g->name, e->d);
    ok = ok && aot_emit_steps(gm, p, i, e->d);
    e->graphs[i] = (aot_graph_info){p->n_kernels, p->arena_bytes};
    cg_program_destroy(p);
    if (!ok) {
        if (gm) LLVMDisposeModule(gm);
        return false;
    }
    if (LLVMLinkModules2(e->lib, gm)) { /* gm is gone either way */
        if (cg_cpu_report_llvm_diag(&e->diag, "linking", e->d))
            ir_bug(e->d, IR_NO_LOC, "tfc compile: cannot link graph '%s' into the library", g->name);
        return false;
    }
    return true;
}

static bool starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static bool is_local(LLVMValueRef v) {
    LLVMLinkage l = LLVMGetLinkage(v);
    return l == LLVMInternalLinkage || l == LLVMPrivateLinkage;
}

/* ---- internalize, drop what is unused, verify --------------------------------------------- */

static bool is_exported(const emitter *e, LLVMValueRef v) {
    for (int i = 0; i < e->n_exported; i++)
        if (e->exported[i] == v) return true;
    return false;
}

/* llvm.* globals (llvm.used, llvm.global_ctors) keep their special linkage. */
static void internalize_value(const emitter *e, LLVMValueRef v) {
    if (LLVMIsDeclaration(v) || is_local(v) || starts_with(LLVMGetValueName2(v, &(size_t){0}), "llvm.")) return;
    if (is_exported(e, v)) {
        LLVMSetLinkage(v, LLVMExternalLinkage);
        LLVMSetVisibility(v, LLVMDefaultVisibility);
        return;
    }
    LLVMSetLinkage(v, LLVMInternalLinkage);
    LLVMSetVisibility(v, LLVMDefaultVisibility); /* local symbols must have default visibility */
    LLVMSetComdat(v, NULL);
}

static void internalize(const emitter *e) {
    for (LLVMValueRef f = LLVMGetFirstFunction(e->lib); f; f = LLVMGetNextFunction(f)) internalize_value(e, f);
    for (LLVMValueRef g = LLVMGetFirstGlobal(e->lib); g; g = LLVMGetNextGlobal(g)) internalize_value(e, g);
    for (LLVMValueRef a = LLVMGetFirstGlobalAlias(e->lib); a; a = LLVMGetNextGlobalAlias(a)) internalize_value(e, a);
}

/* Only globaldce: the kernels are already optimized. */
static bool drop_unused(emitter *e) {
    LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
    LLVMErrorRef err = LLVMRunPasses(e->lib, "globaldce", e->tm, options);
    LLVMDisposePassBuilderOptions(options);
    if (!err) return true;
    char *msg = LLVMGetErrorMessage(err);
    ir_bug(e->d, IR_NO_LOC, "tfc compile: LLVM globaldce failed: %s", msg);
    LLVMDisposeErrorMessage(msg);
    return false;
}

static bool verify(emitter *e) {
    char *msg = NULL;
    bool broken = LLVMVerifyModule(e->lib, LLVMReturnStatusAction, &msg);
    if (broken) ir_bug(e->d, IR_NO_LOC, "tfc compile: the library module does not verify: %s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    return !broken;
}

/* DUMP_DIR/PREFIX.ll: the module as it goes to the code generator. */
static bool dump_library(emitter *e) {
    const char *dir = e->o->cpu.dump_dir;
    return !dir || cg_cpu_dump_module(e->lib, dir, e->o->prefix, ".ll", e->d);
}

static bool emit(emitter *e, void **object, size_t *object_len) {
    char *msg = NULL;
    LLVMMemoryBufferRef buf = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(e->tm, e->lib, LLVMObjectFile, &msg, &buf)) {
        ir_error(e->d, IR_NO_LOC, "LLVM: cannot emit %s.o: %s", e->o->prefix, msg ? msg : "");
        LLVMDisposeMessage(msg);
        return false;
    }
    if (!cg_cpu_report_llvm_diag(&e->diag, "emitting the object", e->d)) {
        LLVMDisposeMemoryBuffer(buf);
        return false;
    }
    *object_len = LLVMGetBufferSize(buf);
    *object = malloc(*object_len ? *object_len : 1);
    IR_ASSERT(*object != NULL);
    memcpy(*object, LLVMGetBufferStart(buf), *object_len);
    LLVMDisposeMemoryBuffer(buf);
    return true;
}

/* ---- the whole object ---------------------------------------------------------------------- */

static bool build_library(emitter *e, const ir_tensor *params, size_t *weights_bytes) {
    for (int i = 0; i < e->m->n_graphs; i++)
        if (!add_graph(e, i)) return false;
    LLVMValueRef desc = aot_emit_descriptor(e->lib, e->m, params, e->graphs, e->o->prefix, weights_bytes, e->d);
    if (!desc) return false;
    e->n_exported = aot_emit_api(e->lib, e->m, e->o->prefix, desc, e->exported);
    internalize(e);
    return drop_unused(e) && verify(e) && dump_library(e);
}

bool aot_emit_object(const ir_module *m, const ir_tensor *params, const aot_options *o, void **object,
                     size_t *object_len, aot_stats *stats, ir_diag *d) {
    *object = NULL;
    *object_len = 0;
    double t0 = rt_now_seconds();
    emitter e = {.m = m, .o = o, .d = d};
    e.tm = cg_cpu_target_machine(&o->cpu, d);
    if (!e.tm) return false;
    e.ctx = LLVMContextCreate();
    cg_cpu_capture_diagnostics(e.ctx, &e.diag);
    e.lib = LLVMModuleCreateWithNameInContext(o->prefix, e.ctx);
    cg_cpu_set_target(e.lib, e.tm);
    e.graphs = calloc((size_t)(m->n_graphs > 0 ? m->n_graphs : 1), sizeof *e.graphs);
    e.exported = calloc((size_t)aot_api_count(m), sizeof *e.exported);
    IR_ASSERT(e.graphs && e.exported);
    size_t weights_bytes = 0;
    bool ok = build_library(&e, params, &weights_bytes) && emit(&e, object, object_len);
    emitter_free(&e);
    if (stats) {
        stats->seconds_lower = e.seconds_lower;
        stats->seconds_llvm = rt_now_seconds() - t0 - e.seconds_lower;
        stats->object_bytes = *object_len;
        stats->weights_bytes = weights_bytes;
    }
    return ok;
}
