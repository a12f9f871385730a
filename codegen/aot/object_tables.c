/* object_tables.c — runtime/model.h's descriptor tables as LLVM constants: each graph's step
 * table (built in the graph's own module, where its kernel functions are), the argument tables,
 * the parameters with their initial values, and the rt_aot_model that ties them together. Every
 * field of those C structs is 8 bytes, so each is a literal LLVM struct of i64/double/ptr in
 * field order and needs no padding rules of its own. */
#include "codegen/aot/object.h"
#include "runtime/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void aot_steps_name(int graph, char buf[AOT_STEPS_NAME_SIZE]) {
    snprintf(buf, AOT_STEPS_NAME_SIZE, "tfc.aot.steps.%d", graph);
}

/* ---- types and small constants ----------------------------------------------------------- */

typedef struct table_types {
    LLVMContextRef c;
    LLVMTypeRef ptr, i64, f64;
} table_types;

static table_types types_of(LLVMModuleRef m) {
    LLVMContextRef c = LLVMGetModuleContext(m);
    return (table_types){c, LLVMPointerTypeInContext(c, 0), LLVMInt64TypeInContext(c), LLVMDoubleTypeInContext(c)};
}

static LLVMValueRef i64_const(const table_types *t, int64_t v) {
    return LLVMConstInt(t->i64, (unsigned long long)v, 1);
}

static LLVMValueRef null_ptr(const table_types *t) { return LLVMConstPointerNull(t->ptr); }

/* A private constant global holding init; its address. */
static LLVMValueRef private_constant(LLVMModuleRef m, LLVMValueRef init, const char *name, unsigned align) {
    LLVMValueRef g = LLVMAddGlobal(m, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    if (align) LLVMSetAlignment(g, align);
    return g;
}

LLVMValueRef aot_const_string(LLVMModuleRef m, const char *s) {
    LLVMContextRef c = LLVMGetModuleContext(m);
    LLVMValueRef g = private_constant(m, LLVMConstStringInContext2(c, s, strlen(s), 0), "tfc.aot.str", 1);
    LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
    return g;
}

static LLVMValueRef *alloc_values(int n) {
    LLVMValueRef *v = calloc((size_t)(n > 0 ? n : 1), sizeof *v);
    IR_ASSERT(v != NULL); /* out of memory, like ir_alloc */
    return v;
}

/* n values as a private i64 array; a null pointer when n is 0. */
static LLVMValueRef i64_array(LLVMModuleRef m, const table_types *t, const int64_t *v, int n, const char *name) {
    if (n <= 0) return null_ptr(t);
    LLVMValueRef *elems = alloc_values(n);
    for (int i = 0; i < n; i++) elems[i] = i64_const(t, v[i]);
    LLVMValueRef a = private_constant(m, LLVMConstArray2(t->i64, elems, (uint64_t)n), name, 8);
    free(elems);
    return a;
}

/* n elements of type `type` as a private constant array; a null pointer when n is 0. */
static LLVMValueRef struct_array(LLVMModuleRef m, const table_types *t, LLVMTypeRef type, LLVMValueRef *elems, int n,
                                 const char *name) {
    if (n <= 0) return null_ptr(t);
    return private_constant(m, LLVMConstArray2(type, elems, (uint64_t)n), name, 8);
}

/* ---- rt_aot_step ------------------------------------------------------------------------- */

/* {name, kind, flops, bytes, fn, extent, grain, call, n_checks, checks} */
static LLVMTypeRef step_type(const table_types *t) {
    LLVMTypeRef f[] = {t->ptr, t->i64, t->f64, t->f64, t->ptr, t->i64, t->i64, t->ptr, t->i64, t->ptr};
    return LLVMStructTypeInContext(t->c, f, 10, 0);
}

/* The library call's encoding (runtime/model.h: the one definition of the layout). */
static LLVMValueRef step_call(LLVMModuleRef gm, const table_types *t, const rt_step *s) {
    int64_t fields[RT_AOT_GEMM_FIELDS > RT_AOT_CONV_FIELDS ? RT_AOT_GEMM_FIELDS : RT_AOT_CONV_FIELDS];
    switch (s->kind) {
    case RT_STEP_GEMM:
        rt_gemm_encode(&s->gemm, fields);
        return i64_array(gm, t, fields, RT_AOT_GEMM_FIELDS, "tfc.aot.gemm");
    case RT_STEP_CONV:
        rt_conv_encode(&s->conv, fields);
        return i64_array(gm, t, fields, RT_AOT_CONV_FIELDS, "tfc.aot.conv");
    default: return null_ptr(t);
    }
}

static LLVMValueRef step_checks(LLVMModuleRef gm, const table_types *t, const rt_step *s) {
    if (s->n_checks <= 0) return null_ptr(t);
    LLVMValueRef *msgs = alloc_values(s->n_checks);
    for (int i = 0; i < s->n_checks; i++) msgs[i] = aot_const_string(gm, s->checks[i]);
    LLVMValueRef a = private_constant(gm, LLVMConstArray2(t->ptr, msgs, (uint64_t)s->n_checks), "tfc.aot.checks", 8);
    free(msgs);
    return a;
}

/* Kernel k's function, made internal: the graphs' kernels may share names, and only the step
 * table refers to them. NULL when the kernel has none (a library call without epilogue). */
static bool kernel_function(LLVMModuleRef gm, const cg_program *p, int k, LLVMValueRef *fn, ir_diag *d) {
    const char *symbol = cg_cpu_kernel_symbol(p, k);
    *fn = NULL;
    if (!symbol) return true;
    *fn = LLVMGetNamedFunction(gm, symbol);
    if (!*fn || LLVMIsDeclaration(*fn)) {
        ir_bug(d, IR_NO_LOC, "tfc compile: kernel '%s' has no function in its module", symbol);
        return false;
    }
    LLVMSetLinkage(*fn, LLVMInternalLinkage);
    LLVMSetVisibility(*fn, LLVMDefaultVisibility);
    return true;
}

bool aot_emit_steps(LLVMModuleRef gm, const cg_program *p, int graph, ir_diag *d) {
    table_types t = types_of(gm);
    LLVMTypeRef st = step_type(&t);
    /* cg_cpu_fill_steps is the one place that maps a kernel to its step; the functions are
       filled in here as LLVM values instead of addresses. */
    rt_step *steps = calloc((size_t)(p->n_kernels > 0 ? p->n_kernels : 1), sizeof *steps);
    rt_kernel_fn *no_fns = calloc((size_t)(p->n_kernels > 0 ? p->n_kernels : 1), sizeof *no_fns);
    LLVMValueRef *entries = alloc_values(p->n_kernels);
    IR_ASSERT(steps && no_fns);
    cg_cpu_fill_steps(p, no_fns, steps);
    bool ok = true;
    for (int k = 0; k < p->n_kernels && ok; k++) {
        const rt_step *s = &steps[k];
        LLVMValueRef fn;
        ok = kernel_function(gm, p, k, &fn, d);
        if (!ok) break;
        LLVMValueRef f[] = {aot_const_string(gm, s->name),  i64_const(&t, s->kind), LLVMConstReal(t.f64, s->flops),
                            LLVMConstReal(t.f64, s->bytes), fn ? fn : null_ptr(&t), i64_const(&t, s->extent),
                            i64_const(&t, s->grain),        step_call(gm, &t, s),   i64_const(&t, s->n_checks),
                            step_checks(gm, &t, s)};
        entries[k] = LLVMConstStructInContext(t.c, f, 10, 0);
    }
    if (ok) {
        char name[AOT_STEPS_NAME_SIZE];
        aot_steps_name(graph, name);
        LLVMValueRef table = LLVMAddGlobal(gm, LLVMArrayType2(st, (uint64_t)p->n_kernels), name);
        LLVMSetInitializer(table, LLVMConstArray2(st, entries, (uint64_t)p->n_kernels));
        LLVMSetGlobalConstant(table, 1);
        LLVMSetAlignment(table, 8);
    }
    free(entries);
    free(no_fns);
    free(steps);
    return ok;
}

/* ---- rt_aot_arg, rt_aot_graph ------------------------------------------------------------ */

/* {name, dtype, rank, dims, is_output} */
static LLVMValueRef arg_entry(LLVMModuleRef lib, const table_types *t, const char *name, const ir_type *type,
                              bool is_output) {
    LLVMValueRef f[] = {aot_const_string(lib, name), i64_const(t, type->dtype), i64_const(t, type->rank),
                        i64_array(lib, t, type->dims, type->rank, "tfc.aot.dims"), i64_const(t, is_output)};
    return LLVMConstStructInContext(t->c, f, 5, 0);
}

static LLVMTypeRef arg_type(const table_types *t) {
    LLVMTypeRef f[] = {t->ptr, t->i64, t->i64, t->ptr, t->i64};
    return LLVMStructTypeInContext(t->c, f, 5, 0);
}

/* The parameter index of each of g's updates, as an i64 array (a null pointer when none). */
static LLVMValueRef update_table(LLVMModuleRef lib, const table_types *t, const ir_graph *g) {
    int64_t *v = calloc((size_t)(g->n_updates > 0 ? g->n_updates : 1), sizeof *v);
    IR_ASSERT(v != NULL);
    for (int k = 0; k < g->n_updates; k++) v[k] = g->update_params[k];
    LLVMValueRef a = i64_array(lib, t, v, g->n_updates, "tfc.aot.updates");
    free(v);
    return a;
}

/* {name, n_inputs, n_outputs, args, n_steps, steps, arena_bytes, n_updates, updates}: the
   arguments are the inputs and the results; the updates only have slots (after the results). */
static bool graph_entry(LLVMModuleRef lib, const table_types *t, const ir_graph *g, int index,
                        const aot_graph_info *info, LLVMValueRef *out, ir_diag *d) {
    int n_results = ir_graph_n_results(g), n_args = g->n_inputs + n_results;
    LLVMValueRef *args = alloc_values(n_args);
    for (int i = 0; i < g->n_inputs; i++) args[i] = arg_entry(lib, t, g->input_names[i], &g->input_types[i], false);
    for (int i = 0; i < n_results; i++)
        args[g->n_inputs + i] = arg_entry(lib, t, g->output_names[i], &g->nodes[g->output_nodes[i]]->type, true);
    LLVMValueRef arg_table = struct_array(lib, t, arg_type(t), args, n_args, "tfc.aot.args");
    free(args);
    char name[AOT_STEPS_NAME_SIZE];
    aot_steps_name(index, name);
    LLVMValueRef steps = LLVMGetNamedGlobal(lib, name);
    if (!steps) {
        ir_bug(d, IR_NO_LOC, "tfc compile: graph '%s' has no step table", g->name);
        return false;
    }
    LLVMValueRef f[] = {aot_const_string(lib, g->name),  i64_const(t, g->n_inputs),
                        i64_const(t, n_results),         arg_table,
                        i64_const(t, info->n_steps),     steps,
                        i64_const(t, info->arena_bytes), i64_const(t, g->n_updates),
                        update_table(lib, t, g)};
    *out = LLVMConstStructInContext(t->c, f, 9, 0);
    return true;
}

static LLVMTypeRef graph_type(const table_types *t) {
    LLVMTypeRef f[] = {t->ptr, t->i64, t->i64, t->ptr, t->i64, t->ptr, t->i64, t->i64, t->ptr};
    return LLVMStructTypeInContext(t->c, f, 9, 0);
}

/* ---- rt_aot_param ------------------------------------------------------------------------ */

/* {name, dtype, rank, dims, init, nbytes, state}; the value is read-only data, 64-byte aligned.
   Optimizer state starts at zero in the model, so the library carries no data for it (*stored
   is 0 then). */
static LLVMValueRef param_entry(LLVMModuleRef lib, const table_types *t, const ir_param *p, const ir_tensor *value,
                                size_t *stored) {
    size_t nbytes = (size_t)ir_type_elems(&p->type) * ir_dtype_size(p->type.dtype);
    *stored = p->state ? 0 : nbytes;
    LLVMValueRef init = null_ptr(t);
    if (!p->state) {
        char name[256];
        snprintf(name, sizeof name, "tfc.aot.param.%s", p->name);
        init = private_constant(lib, LLVMConstStringInContext2(t->c, nbytes ? value->data : "", nbytes, 1), name, 64);
    }
    LLVMValueRef f[] = {aot_const_string(lib, p->name),
                        i64_const(t, p->type.dtype),
                        i64_const(t, p->type.rank),
                        i64_array(lib, t, p->type.dims, p->type.rank, "tfc.aot.dims"),
                        init,
                        i64_const(t, (int64_t)nbytes),
                        i64_const(t, p->state)};
    return LLVMConstStructInContext(t->c, f, 7, 0);
}

static LLVMTypeRef param_type(const table_types *t) {
    LLVMTypeRef f[] = {t->ptr, t->i64, t->i64, t->ptr, t->ptr, t->i64, t->i64};
    return LLVMStructTypeInContext(t->c, f, 7, 0);
}

static bool check_params(const ir_module *m, const ir_tensor *params, ir_diag *d) {
    for (int i = 0; i < m->n_params; i++) {
        const ir_param *p = &m->params[i];
        size_t nbytes = (size_t)ir_type_elems(&p->type) * ir_dtype_size(p->type.dtype);
        if (!params || params[i].type.dtype != p->type.dtype ||
            ir_type_elems(&params[i].type) != ir_type_elems(&p->type) || (nbytes && !params[i].data)) {
            ir_bug(d, IR_NO_LOC, "tfc compile: parameter '%s' has no value of its type", p->name);
            return false;
        }
    }
    return true;
}

/* ---- rt_aot_model ------------------------------------------------------------------------ */

LLVMValueRef aot_emit_descriptor(LLVMModuleRef lib, const ir_module *m, const ir_tensor *params,
                                 const aot_graph_info *graphs, const char *prefix, size_t *weights_bytes, ir_diag *d) {
    table_types t = types_of(lib);
    *weights_bytes = 0;
    if (!check_params(m, params, d)) return NULL;
    LLVMValueRef *g = alloc_values(m->n_graphs);
    bool ok = true;
    for (int i = 0; i < m->n_graphs && ok; i++) ok = graph_entry(lib, &t, m->graphs[i], i, &graphs[i], &g[i], d);
    LLVMValueRef graph_table = ok ? struct_array(lib, &t, graph_type(&t), g, m->n_graphs, "tfc.aot.graphs") : NULL;
    free(g);
    if (!ok) return NULL;
    LLVMValueRef *p = alloc_values(m->n_params);
    for (int i = 0; i < m->n_params; i++) {
        size_t stored;
        p[i] = param_entry(lib, &t, &m->params[i], &params[i], &stored);
        *weights_bytes += stored;
    }
    LLVMValueRef param_table = struct_array(lib, &t, param_type(&t), p, m->n_params, "tfc.aot.params");
    free(p);
    /* {abi_version, name, n_graphs, graphs, n_params, params} */
    LLVMValueRef f[] = {i64_const(&t, RT_AOT_ABI_VERSION), aot_const_string(lib, prefix),
                        i64_const(&t, m->n_graphs),        graph_table,
                        i64_const(&t, m->n_params),        param_table};
    return private_constant(lib, LLVMConstStructInContext(t.c, f, 6, 0), "tfc.aot.model", 8);
}
