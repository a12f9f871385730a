/* object_api.c — the functions a generated library exports (docs/c-api.md), each a few LLVM
 * instructions that call the runtime's model object (runtime/model.h) with the library's
 * descriptor: PREFIX_create(opts) is rt_model_create(&descriptor, opts), PREFIX_GRAPH(m, a, b)
 * gathers its pointers into an array for rt_model_run(m, GRAPH's index, args). */
#include "codegen/aot/object.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct api_emitter {
    LLVMModuleRef m;
    LLVMContextRef c;
    LLVMBuilderRef b;
    LLVMTypeRef ptr, i32, void_t;
    const char *prefix;
    LLVMValueRef desc;
    LLVMValueRef *exported;
    int n_exported;
} api_emitter;

/* The runtime's function rt_NAME under its versioned symbol (object.h AOT_RUNTIME_SYMBOL_PREFIX),
 * hidden: the runtime's object is linked into the same library, never looked up dynamically. */
static LLVMValueRef runtime_function(api_emitter *e, const char *name, LLVMTypeRef type) {
    IR_ASSERT(strncmp(name, "rt_", 3) == 0);
    char symbol[96];
    snprintf(symbol, sizeof symbol, "%s%s", AOT_RUNTIME_SYMBOL_PREFIX, name + 3);
    LLVMValueRef fn = LLVMGetNamedFunction(e->m, symbol);
    if (fn) return fn;
    fn = LLVMAddFunction(e->m, symbol, type);
    LLVMSetVisibility(fn, LLVMHiddenVisibility);
    return fn;
}

static void add_attribute(api_emitter *e, LLVMValueRef fn, const char *name, uint64_t value) {
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(e->c, kind, value));
}

/* An exported function PREFIX_suffix with its entry block; the builder is placed there. */
static LLVMValueRef begin_function(api_emitter *e, const char *suffix, LLVMTypeRef type) {
    size_t len = strlen(e->prefix) + 1 + strlen(suffix) + 1;
    char *name = malloc(len);
    IR_ASSERT(name != NULL);
    snprintf(name, len, "%s_%s", e->prefix, suffix);
    LLVMValueRef fn = LLVMAddFunction(e->m, name, type);
    free(name);
    add_attribute(e, fn, "nounwind", 0);
    add_attribute(e, fn, "uwtable", 2); /* asynchronous unwind tables, as clang gives C code */
    LLVMPositionBuilderAtEnd(e->b, LLVMAppendBasicBlockInContext(e->c, fn, "entry"));
    e->exported[e->n_exported++] = fn;
    return fn;
}

static void end_call(api_emitter *e, LLVMValueRef call, LLVMTypeRef ret) {
    LLVMSetTailCall(call, 1);
    if (ret == e->void_t)
        LLVMBuildRetVoid(e->b);
    else
        LLVMBuildRet(e->b, call);
}

/* PREFIX_suffix(params...) { return runtime(leading..., params...); } where leading is the
 * descriptor for create, nothing otherwise. */
static void forward(api_emitter *e, const char *suffix, const char *runtime, LLVMTypeRef ret, LLVMTypeRef *params,
                    unsigned n_params, bool pass_descriptor) {
    LLVMValueRef fn = begin_function(e, suffix, LLVMFunctionType(ret, params, n_params, 0));
    LLVMTypeRef rt_params[4];
    LLVMValueRef args[4];
    unsigned n = 0;
    if (pass_descriptor) {
        rt_params[n] = e->ptr;
        args[n++] = e->desc;
    }
    for (unsigned i = 0; i < n_params; i++) {
        rt_params[n] = params[i];
        args[n++] = LLVMGetParam(fn, i);
    }
    LLVMTypeRef rt_type = LLVMFunctionType(ret, rt_params, n, 0);
    LLVMValueRef call = LLVMBuildCall2(e->b, rt_type, runtime_function(e, runtime, rt_type), args, n, "");
    end_call(e, call, ret);
}

static void emit_fixed_api(api_emitter *e) {
    LLVMTypeRef p1[] = {e->ptr}, p2[] = {e->ptr, e->ptr}, run[] = {e->ptr, e->i32, e->ptr};
    forward(e, "create", "rt_model_create", e->ptr, p1, 1, true);
    forward(e, "create_error", "rt_model_create_error", e->ptr, NULL, 0, false);
    forward(e, "destroy", "rt_model_destroy", e->void_t, p1, 1, false);
    forward(e, "error", "rt_model_error", e->ptr, p1, 1, false);
    forward(e, "save_weights", "rt_model_save_weights", e->i32, p2, 2, false);
    forward(e, "load_weights", "rt_model_load_weights", e->i32, p2, 2, false);
    forward(e, "run", "rt_model_run", e->i32, run, 3, false);
}

/* int PREFIX_GRAPH(model *m, args...): the arguments (inputs, then results: a training graph's
   updates stay inside the model) go into an array on the stack, in order. */
static void emit_graph_function(api_emitter *e, const ir_graph *g, int index) {
    unsigned n_args = (unsigned)(g->n_inputs + ir_graph_n_results(g));
    LLVMTypeRef *params = malloc(sizeof *params * (n_args + 1));
    IR_ASSERT(params != NULL);
    for (unsigned i = 0; i <= n_args; i++) params[i] = e->ptr;
    LLVMValueRef fn = begin_function(e, g->name, LLVMFunctionType(e->i32, params, n_args + 1, 0));
    free(params);
    LLVMValueRef array = LLVMConstPointerNull(e->ptr);
    if (n_args > 0) {
        LLVMTypeRef array_type = LLVMArrayType2(e->ptr, n_args);
        array = LLVMBuildAlloca(e->b, array_type, "args");
        for (unsigned i = 0; i < n_args; i++) {
            LLVMValueRef index_value = LLVMConstInt(e->i32, i, 0);
            LLVMValueRef slot = LLVMBuildInBoundsGEP2(e->b, e->ptr, array, &index_value, 1, "");
            LLVMBuildStore(e->b, LLVMGetParam(fn, i + 1), slot);
        }
    }
    LLVMTypeRef run_params[] = {e->ptr, e->i32, e->ptr};
    LLVMTypeRef run_type = LLVMFunctionType(e->i32, run_params, 3, 0);
    LLVMValueRef args[] = {LLVMGetParam(fn, 0), LLVMConstInt(e->i32, (unsigned long long)index, 0), array};
    /* Not a tail call: the array lives in this frame. */
    LLVMBuildRet(e->b, LLVMBuildCall2(e->b, run_type, runtime_function(e, "rt_model_run", run_type), args, 3, ""));
}

int aot_api_count(const ir_module *m) { return 7 + m->n_graphs; }

int aot_emit_api(LLVMModuleRef lib, const ir_module *m, const char *prefix, LLVMValueRef desc, LLVMValueRef *exported) {
    api_emitter e = {.m = lib, .c = LLVMGetModuleContext(lib), .prefix = prefix, .desc = desc, .exported = exported};
    e.b = LLVMCreateBuilderInContext(e.c);
    e.ptr = LLVMPointerTypeInContext(e.c, 0);
    e.i32 = LLVMInt32TypeInContext(e.c);
    e.void_t = LLVMVoidTypeInContext(e.c);
    emit_fixed_api(&e);
    for (int g = 0; g < m->n_graphs; g++) emit_graph_function(&e, m->graphs[g], g);
    LLVMDisposeBuilder(e.b);
    IR_ASSERT(e.n_exported == aot_api_count(m));
    return e.n_exported;
}
