/* object.h — the pieces of the generated library's object file (codegen/aot/object*.c) and the
 * runtime's embedded object: LLVM constants that mirror runtime/model.h's descriptor tables, the
 * API functions of docs/c-api.md, and the names that tie them together. Private to codegen/aot/;
 * sections name the defining file. */
#ifndef TFC_CODEGEN_AOT_OBJECT_H
#define TFC_CODEGEN_AOT_OBJECT_H

#include "codegen/aot/aot.h"

#include <stddef.h>

/* The runtime's object, generated at build time (codegen/aot/runtime_object/main.c), defines
 * its entry points as AOT_RUNTIME_SYMBOL_PREFIX + name without "rt_" ("tfcrt_H_model_create",
 * H a hash of the runtime's bitcode), weak_odr and hidden; it is the archive member
 * AOT_RUNTIME_MEMBER ("tfcrt_H.o"). */
#include "codegen/aot/runtime_object.h"

/* The step table of graph i is the global "tfc.aot.steps.<i>" until the graphs are linked into
 * the library module, where the descriptor finds it by that name. */
#define AOT_STEPS_NAME_SIZE 48
void aot_steps_name(int graph, char buf[AOT_STEPS_NAME_SIZE]);

/* ---- codegen/aot/runtime_object.c ---------------------------------------------------------- */

/* The runtime's relocatable object (ELF, x86-64, position independent). */
const void *aot_runtime_object(size_t *len);

/* ---- codegen/aot/object_tables.c: runtime/model.h's tables as LLVM constants --------------- */

/* A private constant NUL-terminated string; its address. */
LLVMValueRef aot_const_string(LLVMModuleRef m, const char *s);

/* In module gm (the graph's own, before it is linked), the graph's rt_aot_step table: one
 * entry per kernel of p, pointing at the kernel functions, which become internal. False after
 * reporting a missing kernel function (a bug). */
bool aot_emit_steps(LLVMModuleRef gm, const cg_program *p, int graph, ir_diag *d);

/* What the descriptor needs to know of each compiled graph. */
typedef struct aot_graph_info {
    int64_t n_steps;
    int64_t arena_bytes;
} aot_graph_info;

/* In the library module (the graphs' step tables already linked in): the rt_aot_model
 * descriptor of m with its argument and update tables, parameter descriptors and the parameters'
 * initial values (none for optimizer state, which starts at zero). Returns the descriptor's
 * global, or NULL after reporting; *weights_bytes is the total size of the initial values. */
LLVMValueRef aot_emit_descriptor(LLVMModuleRef lib, const ir_module *m, const ir_tensor *params,
                                 const aot_graph_info *graphs, const char *prefix, size_t *weights_bytes, ir_diag *d);

/* ---- codegen/aot/object_api.c: the exported functions -------------------------------------- */

/* Defines the API of docs/c-api.md in lib as calls of the runtime's rt_model_* functions
 * (declared external and hidden under their AOT_RUNTIME_SYMBOL_PREFIX names) on descriptor desc. Returns the number of
 * functions defined; exported (at least aot_api_count(m) entries) receives them. */
int aot_api_count(const ir_module *m);
int aot_emit_api(LLVMModuleRef lib, const ir_module *m, const char *prefix, LLVMValueRef desc, LLVMValueRef *exported);

#endif
