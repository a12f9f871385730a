/* aot.h — ahead-of-time libraries (`tfc compile`): a planned module becomes PREFIX.h,
 * libPREFIX.a, optionally libPREFIX.so, and PREFIX.pc. The archive has two members: PREFIX.o
 * (the generated kernels, each graph's step table, the parameters' initial values and the API
 * functions; everything but PREFIX_* internal) and tfcrt_H.o, the runtime, compiled once when
 * tfc is built (H, a hash of the runtime, versions its symbols tfcrt_H_*, which are hidden and
 * weak_odr: libraries from one tfc share one copy, libraries from different tfc builds never
 * mix). libPREFIX.so links both and exports only PREFIX_*.
 * The generated API is documented in docs/c-api.md. Sections name the defining file. */
#ifndef TFC_CODEGEN_AOT_H
#define TFC_CODEGEN_AOT_H

#include "codegen/cpu/cpu.h"
#include "ir/ir.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct aot_options {
    const char *prefix;      /* a C identifier: every exported symbol and macro starts with it */
    const char *out_dir;     /* where the files go (created when missing) */
    const char *source;      /* the model file's name, for the header's comment */
    bool shared;             /* also libPREFIX.so */
    cg_cpu_options cpu;      /* -O level, --cpu, --dump-dir (GRAPH.ll, GRAPH.opt.ll, PREFIX.ll) */
} aot_options;

/* What a compile produced, for `tfc compile`'s summary and the benchmarks. */
typedef struct aot_stats {
    double seconds_lower, seconds_llvm, seconds_write;   /* Kernel IR, LLVM (all graphs), files */
    size_t object_bytes, archive_bytes, shared_bytes, weights_bytes;
} aot_stats;

/* ---- codegen/aot/names.c ------------------------------------------------------------------ */

/* The prefix must be a C identifier that is not a C keyword; each graph name must not clash with
 * the fixed API (PREFIX_create, _destroy, _error, _create_error, _save_weights, _load_weights,
 * _run, _graph, _model, _options, _dtype, _arg_info, _graph_info) and no two macros may share a
 * name (MLP_INFER_X_Y_SHAPE from graph infer / arg x_y and from graph infer_x / arg y).
 * Reports each problem; false if any. */
bool aot_check_names(const ir_module *m, const char *prefix, ir_diag *d);
/* A default prefix from the model's file name: its base name without extension, every character
 * that cannot appear in a C identifier replaced by '_' (and '_' prepended before a digit).
 * Writes into buf (size bytes). */
const char *aot_default_prefix(const char *model_path, char *buf, size_t size);

/* ---- codegen/aot/header.c ----------------------------------------------------------------- */

/* Writes OUT_DIR/PREFIX.h: the C99 API of docs/c-api.md for every graph of m. */
bool aot_write_header(const ir_module *m, const aot_options *o, ir_diag *d);

/* ---- codegen/aot/pkgconfig.c -------------------------------------------------------------- */

/* Writes OUT_DIR/PREFIX.pc (paths relative to ${pcfiledir}, so the folder can move). */
bool aot_write_pkgconfig(const ir_module *m, const aot_options *o, ir_diag *d);

/* ---- codegen/aot/object.c: the library's own object file ---------------------------------- */

/* Lowers every graph of m (planned; composites decomposed) to Kernel IR, emits and optimizes
 * each graph's kernels, adds the step tables, the descriptor (runtime/model.h rt_aot_model),
 * the parameters' initial values (params[i] for m->params[i], dense, of the parameter's type)
 * and the API functions (which call the runtime object's hidden tfcrt_H_model_* functions),
 * internalizes every symbol but the API functions, drops what is unused and emits
 * a relocatable object (position independent, for o->cpu) into a malloc'd buffer. False after
 * reporting. */
bool aot_emit_object(const ir_module *m, const ir_tensor *params, const aot_options *o, void **object,
                     size_t *object_len, aot_stats *stats, ir_diag *d);

/* ---- codegen/aot/archive.c ---------------------------------------------------------------- */

/* One member of an archive: its name, its bytes and the global symbols it defines. */
typedef struct aot_archive_member {
    const char *name;
    const void *data;
    size_t len;
    const char *const *symbols;
    int n_symbols;
} aot_archive_member;

/* Writes a System V / GNU `ar` archive at path holding the members in order, with one symbol
 * index listing every member's symbols (in member order), as `ar rcsD` would. */
bool aot_write_archive(const char *path, const aot_archive_member *members, int n_members, ir_diag *d);
/* The global and weak symbols an ELF relocatable object defines (for the archive's index): LLVM's
 * object reader checks that it is an ELF64 little-endian object, its symbol table is read here.
 * *symbols and each name are malloc'd; aot_free_symbols frees them. */
bool aot_object_symbols(const void *object, size_t object_len, char ***symbols, int *n_symbols, ir_diag *d);
void aot_free_symbols(char **symbols, int n_symbols);

/* ---- codegen/aot/shared.c ----------------------------------------------------------------- */

/* Links OUT_DIR/libPREFIX.so from the object and the runtime's object with the system C compiler
 * ($CC, else cc): -shared, soname libPREFIX.so, -lopenblas -lm -lpthread. False after reporting
 * (the compiler's output is passed on). */
bool aot_link_shared(const void *object, size_t object_len, const aot_options *o, ir_diag *d);

/* ---- codegen/aot/library.c ---------------------------------------------------------------- */

/* Writes path whole or not at all (rt_write_file_atomic) with the text that print writes to f
 * (false: out of memory); `what` names the file in messages ("the header"). False after
 * reporting. */
bool aot_write_text_file(const char *path, const char *what, bool (*print)(FILE *f, void *ctx), void *ctx, ir_diag *d);

/* The whole of `tfc compile` after the passes: checks names, writes the header, the object and
 * the runtime's object into libPREFIX.a, libPREFIX.so when asked, and PREFIX.pc. */
bool aot_compile_library(const ir_module *m, const ir_tensor *params, const aot_options *o, aot_stats *stats,
                         ir_diag *d);

#endif
