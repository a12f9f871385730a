/* model.h — a compiled module as a generated library carries it, and the model object that the
 * library's API (PREFIX_create, PREFIX_GRAPH, PREFIX_save_weights, ...) wraps: the parameters'
 * state, one executor for all of the module's graphs (one arena, one thread pool), and the last
 * error. The generated code only declares a descriptor (rt_aot_model) and calls these functions.
 *
 * The descriptor tables use 8-byte fields only (int64_t, double, pointers), in the order given,
 * so a code generator emits them as LLVM constant structs without reproducing C's layout rules;
 * runtime/model_desc.c checks that with static assertions. Library calls (rt_gemm, rt_conv) are
 * flattened into int64 arrays by rt_gemm_encode / rt_conv_encode, the one definition of that
 * layout, which the compiler and the runtime both call. */
#ifndef TFC_RUNTIME_MODEL_H
#define TFC_RUNTIME_MODEL_H

#include "runtime/program.h"

#include <stddef.h>
#include <stdint.h>

/* Bumped whenever a descriptor table or an encoding changes: a descriptor of another version is
 * refused at create time (a library and its runtime always come from one tfc, so this guards
 * against bugs, not users). */
#define RT_AOT_ABI_VERSION 2

#define RT_AOT_GEMM_FIELDS (14 + 3 * RT_MAX_RANK)
#define RT_AOT_CONV_FIELDS 22

/* One step (rt_step) of a graph's program. */
typedef struct rt_aot_step {
    const char *name;
    int64_t kind;              /* rt_step_kind */
    double flops, bytes;
    rt_kernel_fn fn;           /* NULL for a library call without epilogue */
    int64_t extent, grain;
    const int64_t *call;       /* GEMM: RT_AOT_GEMM_FIELDS values; CONV: RT_AOT_CONV_FIELDS; LOOP: NULL */
    int64_t n_checks;
    const char *const *checks; /* n_checks messages */
} rt_aot_step;

/* One argument of a graph (inputs in declaration order, then the outputs a caller sees: a training
 * graph's parameter updates are not arguments). */
typedef struct rt_aot_arg {
    const char *name;
    int64_t dtype;             /* rt_dtype (runtime/tensor_file.h) */
    int64_t rank;
    const int64_t *dims;       /* rank values (may be NULL when rank is 0) */
    int64_t is_output;         /* 0 or 1 */
} rt_aot_arg;

/* One graph: its arguments and its program. Its slots are numbered as codegen/codegen.h says:
 * 0 the arena, then the inputs, the outputs (the n_outputs results, then the n_updates parameter
 * updates of a training graph), and all of the module's parameters. The model gives each update
 * a buffer of its own and, once the whole program has run without a failed check, swaps it with
 * the parameter's: the step's reads of a parameter all see its value before the step. */
typedef struct rt_aot_graph {
    const char *name;
    int64_t n_inputs, n_outputs;
    const rt_aot_arg *args;    /* n_inputs + n_outputs */
    int64_t n_steps;
    const rt_aot_step *steps;
    int64_t arena_bytes;
    int64_t n_updates;
    const int64_t *updates;    /* n_updates parameter indices, distinct: update k's new value */
} rt_aot_graph;

/* One parameter with its value at create time (the module's initializers, or --weights). */
typedef struct rt_aot_param {
    const char *name;
    int64_t dtype;             /* rt_dtype */
    int64_t rank;
    const int64_t *dims;
    const void *init;          /* nbytes of dense row-major data, 64-byte aligned; NULL for state */
    int64_t nbytes;
    int64_t state;             /* 1: optimizer state: zeros at create, not in weights files */
} rt_aot_param;

typedef struct rt_aot_model {
    int64_t abi_version;       /* RT_AOT_ABI_VERSION */
    const char *name;          /* the library's prefix (error messages) */
    int64_t n_graphs;
    const rt_aot_graph *graphs;
    int64_t n_params;
    const rt_aot_param *params;
} rt_aot_model;

/* ---- encodings (runtime/model_desc.c) -------------------------------------------------------- */

void rt_gemm_encode(const rt_gemm *g, int64_t out[RT_AOT_GEMM_FIELDS]);
void rt_gemm_decode(const int64_t in[RT_AOT_GEMM_FIELDS], rt_gemm *g);
void rt_conv_encode(const rt_conv *c, int64_t out[RT_AOT_CONV_FIELDS]);
void rt_conv_decode(const int64_t in[RT_AOT_CONV_FIELDS], rt_conv *c);

/* ---- the model object (runtime/model.c) ------------------------------------------------------ */

typedef struct rt_model rt_model;

/* The generated header's PREFIX_options, field for field (it may only grow at the end). */
typedef struct rt_model_options {
    int num_threads;           /* <= 0: all online cores */
} rt_model_options;

/* Builds the model: checks the descriptor, copies every parameter's initial value into its own
 * 64-byte aligned buffer (optimizer state starts at zero), gives every parameter that a graph
 * updates a second buffer of its size, decodes the programs and creates one executor for all
 * graphs. options may be NULL (defaults). NULL on failure; then
 * rt_model_create_error() says why (per thread, until the next create on that thread). */
rt_model *rt_model_create(const rt_aot_model *d, const rt_model_options *options);
const char *rt_model_create_error(void);
void rt_model_destroy(rt_model *m);   /* NULL is ignored */

/* Runs graph `graph` with args[i] the i-th argument (inputs in order, then outputs): dense
 * row-major buffers of the declared dtype and shape, aligned to the dtype's size. A training
 * graph's updates become the parameters' values after a successful run (its outputs are the
 * values before the update). Returns 0; or non-zero with rt_model_error(m) set, for a NULL or
 * misaligned argument, a graph index out of range, or a failed run-time check (a gather index
 * out of range, ...), and then no parameter changed. A NULL m returns non-zero and sets nothing. */
int rt_model_run(rt_model *m, int graph, void *const *args);

/* Writes every parameter but optimizer state to a safetensors file (atomically: the old file or
 * the whole new one). */
int rt_model_save_weights(rt_model *m, const char *path);
/* Reads a safetensors file into the parameters, PyTorch's strict loading: every parameter but
 * optimizer state must be present with its dtype and shape, and every tensor must name one. On
 * any error nothing changes. Optimizer state keeps its values (loading weights resets nothing). */
int rt_model_load_weights(rt_model *m, const char *path);

/* The message of the last failed call on m ("" after a success; never NULL, also for a NULL m). */
const char *rt_model_error(const rt_model *m);

#endif
