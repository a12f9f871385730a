/* ir.h — the Graph IR: types, the op table, modules and graphs, diagnostics, and the functions
 * that every later stage uses (shape inference, verifier, cost model, text form, interpreter).
 * The private header of the ir/ layer; sections name the file that defines each group. */
#ifndef TFC_IR_H
#define TFC_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IR_MAX_RANK 8

/* ---- ir/type.c: dtypes and tensor types ------------------------------------------------ */

/* Same order as rt_dtype in runtime/tensor_file.h; ir_dtype_to_rt relies on it. */
typedef enum { IR_F32, IR_F16, IR_BF16, IR_I32, IR_I64, IR_BOOL, IR_DTYPE_COUNT } ir_dtype;

typedef struct ir_type {
    ir_dtype dtype;
    int rank;                     /* 0: a scalar */
    int64_t dims[IR_MAX_RANK];
} ir_type;

const char *ir_dtype_name(ir_dtype dt);          /* "f32" */
bool ir_dtype_lookup(const char *name, ir_dtype *out);
size_t ir_dtype_size(ir_dtype dt);
bool ir_dtype_is_float(ir_dtype dt);
int64_t ir_type_elems(const ir_type *t);         /* product of dims; callers keep it below 2^62 */
bool ir_type_equal(const ir_type *a, const ir_type *b);
/* "f32[64,784]" into buf; returns buf. */
char *ir_type_str(const ir_type *t, char *buf, size_t size);
/* Checked product: false when it would exceed IR_MAX_ELEMS. */
#define IR_MAX_ELEMS ((int64_t)1 << 40)
bool ir_dims_product(const int64_t *dims, int rank, int64_t *out);

/* ---- ir/arena.c: one arena per compilation ---------------------------------------------- */

typedef struct ir_arena ir_arena;
ir_arena *ir_arena_create(void);
void ir_arena_destroy(ir_arena *a);
void *ir_alloc(ir_arena *a, size_t size);        /* zeroed, 16-byte aligned; aborts on OOM */
char *ir_strdup(ir_arena *a, const char *s);
char *ir_strndup(ir_arena *a, const char *s, size_t n);
/* Grows an array allocated from the arena: returns a copy with room for new_count items. */
void *ir_grow(ir_arena *a, void *old, size_t item_size, size_t old_count, size_t new_count);

/* ---- ir/diag.c: diagnostics --------------------------------------------------------------- */

typedef struct ir_loc {
    int file;   /* index into the diag's source table; -1: no location */
    int line;   /* 1-based */
    int col;    /* 1-based, in bytes */
} ir_loc;
#define IR_NO_LOC ((ir_loc){-1, 0, 0})

typedef struct ir_source {
    char *name;
    char *text;
    size_t len;
} ir_source;

typedef struct ir_diag {
    int errors;
    int bugs;             /* how many of the errors were internal (ir_bug): the command exits 2 */
    int n_sources;
    ir_source *sources;   /* owned (malloc) */
    FILE *out;            /* where messages go; stderr by default */
} ir_diag;

void ir_diag_init(ir_diag *d, FILE *out);
void ir_diag_free(ir_diag *d);
/* Registers a source text (copied) so that errors can show its lines; returns its file index. */
int ir_diag_add_source(ir_diag *d, const char *name, const char *text, size_t len);
/* `file:line:col: error: message`, the source line and a caret; counts the error. */
void ir_error(ir_diag *d, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ir_verror(ir_diag *d, ir_loc loc, const char *fmt, va_list ap);
/* An internal error found at run time (a pass broke an invariant): reported like an error with
 * "internal error: ... (this is a bug in tfc)", counted in both errors and bugs. */
void ir_bug(ir_diag *d, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A note attached to the previous error (`file:line:col: note: ...`), not counted. */
void ir_note(ir_diag *d, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The closest of `n` candidates to `name` by edit distance, or NULL when none is close. */
const char *ir_closest(const char *name, const char *const *candidates, int n);

/* Internal bugs: never how a user error is reported. */
#define IR_ASSERT(cond)                                                                    \
    do {                                                                                   \
        if (!(cond)) ir_internal_error(__FILE__, __LINE__, #cond);                         \
    } while (0)
_Noreturn void ir_internal_error(const char *file, int line, const char *what);

/* ---- ir/ops.c: the op table ----------------------------------------------------------- */

typedef enum {
#define ATTR(ID, name, kind) IR_ATTR_##ID,
#include "ir/attrs.def"
#undef ATTR
    IR_ATTR_COUNT
} ir_attr_id;

typedef enum { IR_AK_INT, IR_AK_INTS, IR_AK_BOOL, IR_AK_FLOAT, IR_AK_DTYPE, IR_AK_PARAM } ir_attr_kind;

typedef struct ir_attr_info {
    const char *name;
    ir_attr_kind kind;
} ir_attr_info;
extern const ir_attr_info ir_attr_table[IR_ATTR_COUNT];

/* One attribute slot; which fields mean something depends on the kind (attrs.def). */
typedef struct ir_attr {
    int n;                        /* INTS: count (or a marker, attrs.def) */
    int64_t v[IR_MAX_RANK];       /* INT, BOOL, DTYPE, PARAM: v[0]; INTS: v[0..n) */
    double f;                     /* FLOAT */
} ir_attr;

typedef enum {
#define OP(ID, ...) IR_OP_##ID,
#include "ir/ops.def"
#undef OP
    IR_OP_COUNT
} ir_op;

enum {
    IR_LEAF = 1 << 0,         /* no operands: input, param, constant, creation */
    IR_ELEMENTWISE = 1 << 1,  /* out[i] depends on in[i] after broadcasting */
    IR_REDUCTION = 1 << 2,
    IR_MOVEMENT = 1 << 3,     /* moves data, no arithmetic */
    IR_COMMUTATIVE = 1 << 4,
    IR_CONTRACTION = 1 << 5,  /* matmul, conv2d: library calls later */
    IR_COMPOSITE = 1 << 6,    /* decomposable into primitives */
    IR_NONDIFF = 1 << 7,      /* no useful gradient */
    IR_WINDOW = 1 << 8,       /* sliding-window ops (pooling) */
};

#define IR_ATTR_BIT(ID) (1u << IR_ATTR_##ID)

struct ir_graph;
struct ir_node;
struct ir_tensor;
typedef struct ir_cost {
    double flops;
    double bytes_read;
    double bytes_written;
} ir_cost;

typedef bool (*ir_shape_fn)(struct ir_graph *g, struct ir_node *n, ir_diag *d);
typedef bool (*ir_kernel_fn)(const struct ir_node *n, const struct ir_tensor *in, struct ir_tensor *out,
                             ir_diag *d);
typedef ir_cost (*ir_cost_fn)(const struct ir_graph *g, const struct ir_node *n);
struct ir_builder;
/* The reverse-mode rule of an op (ops.def, column grad). */
typedef bool (*ir_grad_fn)(struct ir_builder *b, const struct ir_node *n, int dy, int *dx);

typedef struct ir_op_info {
    const char *name;
    int min_in, max_in;       /* max_in -1: variadic */
    unsigned flags;
    unsigned attrs;           /* IR_ATTR_BIT mask */
    const char *signature;    /* surface-language call signature (ops.def) */
    ir_shape_fn shape;
    ir_kernel_fn kernel;
    ir_cost_fn cost;
    double flops_per_elem;
    ir_grad_fn grad;
} ir_op_info;
extern const ir_op_info ir_op_table[IR_OP_COUNT];

/* IR_OP_COUNT when no op has that name. */
ir_op ir_op_lookup(const char *name);
bool ir_attr_lookup(const char *name, ir_attr_id *out);

/* ---- ir/module.c: modules, parameters, graphs, nodes ----------------------------------- */

typedef enum {
    IR_INIT_NONE,      /* must come from a weights file */
    IR_INIT_ZEROS,
    IR_INIT_ONES,
    IR_INIT_FULL,      /* a = value */
    IR_INIT_NORMAL,    /* a = std */
    IR_INIT_UNIFORM,   /* a = lo, b = hi */
    IR_INIT_GLOROT,    /* uniform ±sqrt(6 / (fan_in + fan_out)) */
    IR_INIT_HE,        /* normal, std sqrt(2 / fan_in) */
    IR_INIT_LOAD,      /* path, key (NULL for .npy) */
} ir_init_kind;

typedef struct ir_init {
    ir_init_kind kind;
    double a, b;
    const char *path;
    const char *key;
} ir_init;

typedef struct ir_param {
    const char *name;
    ir_type type;
    ir_init init;
    int split_axis;          /* -1: not split */
    ir_loc loc;
    /* Optimizer state (momentum buffers, Adam moments, the step count), made by the optimizer
     * pass and named "GRAPH.PARAM.momentum_buffer", "GRAPH.PARAM.exp_avg", "GRAPH.PARAM.exp_avg_sq",
     * "GRAPH.step" (a '.' no source name has). Zeros at start; never read from or written to a
     * weights file (weights files hold the other parameters only). */
    bool state;
} ir_param;

typedef struct ir_node {
    ir_op op;
    int id;                   /* index in the graph's node array; operands have smaller ids */
    int n_in;
    int *in;                  /* operand node ids */
    ir_type type;
    ir_loc loc;
    ir_attr attr[IR_ATTR_COUNT];
    int group;                /* fusion group (index in graph->groups), -1: none */
    int64_t offset;           /* memory plan: byte offset in the arena; IR_NOT_PLANNED otherwise */
    bool dead;                /* marked for removal by ir_graph_cleanup */
} ir_node;

/* Where a value lives after memory planning (ir_node.offset). */
#define IR_NOT_PLANNED ((int64_t)-1)   /* not planned yet, or needs no buffer (leaf, value inside a group) */
#define IR_EXTERNAL ((int64_t)-2)      /* the caller's memory: graph input, parameter or graph output */
#define IR_ALIAS ((int64_t)-3)         /* a view of its operand's buffer (reshape) */

/* A fusion group: the nodes that become one kernel. Its nodes are contiguous in the node
 * array (ir_graph_cleanup keeps them so) and the group is convex: no path leaves it and comes
 * back. Values used outside the group (or graph outputs) are its outputs; there may be several. */
typedef enum {
    IR_FUSION_LOOP,           /* elementwise and movement ops over one index space */
    IR_FUSION_REDUCE,         /* reductions with their elementwise producers and consumers (row-wise) */
    IR_FUSION_CONTRACTION,    /* matmul or conv2d with its elementwise epilogue */
    IR_FUSION_KIND_COUNT
} ir_fusion_kind;

typedef struct ir_group {
    const char *name;         /* kernel name that says what it is: fused_matmul_bias_gelu_128x3072x768 */
    ir_fusion_kind kind;
} ir_group;

const char *ir_fusion_kind_name(ir_fusion_kind k);   /* "loop" "reduce" "contraction" */
bool ir_fusion_kind_lookup(const char *name, ir_fusion_kind *out);

typedef struct ir_module ir_module;

/* `minimize LOSS with OPTIMIZER(...)` as the frontend lowers it; the optimizer pass turns it into
 * gradients and parameter updates and clears ir_graph.minimize. Hyperparameters are PyTorch's
 * (torch.optim.SGD with dampening 0 and no Nesterov; torch.optim.Adam without amsgrad). */
typedef enum { IR_OPTIM_SGD, IR_OPTIM_ADAM, IR_OPTIM_COUNT } ir_optim_kind;
const char *ir_optim_name(ir_optim_kind k);                 /* "sgd" "adam" */
bool ir_optim_lookup(const char *name, ir_optim_kind *out);

typedef struct ir_minimize {
    int loss;                 /* node id of the scalar f32 loss (a root, like an output) */
    ir_optim_kind kind;
    double lr;
    double momentum;          /* sgd (0: none) */
    double weight_decay;      /* sgd and adam (0: none) */
    double beta1, beta2, eps; /* adam */
    ir_loc loc;               /* the `minimize` keyword */
} ir_minimize;

typedef struct ir_graph {
    ir_module *module;
    const char *name;
    ir_loc loc;
    int n_nodes, cap_nodes;
    ir_node **nodes;
    int n_inputs;
    const char **input_names;
    ir_type *input_types;
    int n_outputs;
    const char **output_names;
    int *output_nodes;        /* node id of each output */
    /* Parameter updates: the last n_updates outputs are not results but the new values of
     * parameters (update_params[k] is the parameter index of output n_outputs - n_updates + k,
     * whose name is the parameter's). Every stage treats them as outputs; whoever runs the graph
     * makes them the parameters' values once the whole graph has run (so every read of a
     * parameter in the graph sees its value before the step). ir_graph_n_results: the rest. */
    int n_updates;
    int *update_params;
    ir_minimize *minimize;    /* NULL: none, or lowered by the optimizer pass */
    int n_groups, cap_groups;
    ir_group *groups;         /* fusion groups (empty before fusion) */
    bool planned;             /* the memory plan has run: every materialized value has an offset */
} ir_graph;

struct ir_module {
    ir_arena *arena;
    int n_params, cap_params;
    ir_param *params;
    int n_graphs, cap_graphs;
    ir_graph **graphs;
};

ir_module *ir_module_create(void);
void ir_module_destroy(ir_module *m);
/* Returns the new parameter's index. */
int ir_module_add_param(ir_module *m, const char *name, ir_type type, ir_init init, ir_loc loc);
int ir_module_find_param(const ir_module *m, const char *name);      /* -1 if none */
ir_graph *ir_module_add_graph(ir_module *m, const char *name, ir_loc loc);
ir_graph *ir_module_find_graph(const ir_module *m, const char *name); /* NULL if none */
void ir_graph_add_input(ir_graph *g, const char *name, ir_type type);
void ir_graph_add_output(ir_graph *g, const char *name, int node_id);
/* Appends an update of parameter `param` to node_id's value (an output after every other). */
void ir_graph_add_update(ir_graph *g, int param, int node_id);
/* The outputs a caller sees: every output but the updates. */
static inline int ir_graph_n_results(const ir_graph *g) { return g->n_outputs - g->n_updates; }
/* Adds an optimizer-state parameter (zeros, state = true); returns its index. */
int ir_module_add_state(ir_module *m, const char *name, ir_type type, ir_loc loc);
/* Appends a node with the given operands and all attributes zero; type is left for ir_infer. */
ir_node *ir_graph_add_node(ir_graph *g, ir_op op, const int *in, int n_in, ir_loc loc);
static inline ir_node *ir_operand(const ir_graph *g, const ir_node *n, int i) { return g->nodes[n->in[i]]; }
/* Appends a fusion group; returns its index. */
int ir_graph_add_group(ir_graph *g, const char *name, ir_fusion_kind kind);

/* ---- ir/build.c: appending typed nodes (decomposition, gradient rules, optimizer lowering) --- */

/* Appends nodes at one location, inferring each type. After a failure (an ill-typed node: a bug
 * in the rule, reported as an internal error) every call returns -1 and builds nothing, so a
 * rule can chain calls and check b->failed once. */
typedef struct ir_builder {
    ir_graph *g;
    ir_diag *d;
    ir_loc loc;
    bool failed;
} ir_builder;

/* op(in...) with the attributes in `attrs` (NULL: none); the node id, or -1. */
int ir_build(ir_builder *b, ir_op op, const int *in, int n_in, const ir_attr *attrs);
int ir_build_unary(ir_builder *b, ir_op op, int x);
int ir_build_binary(ir_builder *b, ir_op op, int x, int y);
int ir_build_select(ir_builder *b, int cond, int x, int y);
/* x + y, x - y, x * y, x / y: one node per call, so that nesting them never leaves the node order
 * to C's unspecified order of evaluating a call's arguments. */
int ir_build_add(ir_builder *b, int x, int y);
int ir_build_sub(ir_builder *b, int x, int y);
int ir_build_mul(ir_builder *b, int x, int y);
int ir_build_div(ir_builder *b, int x, int y);
/* A scalar constant of dtype dt. */
int ir_build_scalar(ir_builder *b, double v, ir_dtype dt);
/* A scalar constant in the dtype of node `like` (-1 after a failure, when `like` may be -1 too). */
int ir_build_scalar_like(ir_builder *b, int like, double v);
/* x * v and x + v, v a scalar constant in x's dtype (built first). */
int ir_build_mul_k(ir_builder *b, int x, double v);
int ir_build_add_k(ir_builder *b, int x, double v);
/* full(shape of t, v) in t's dtype: a zero gradient, say. */
int ir_build_full_like(ir_builder *b, const ir_type *t, double v);
int ir_build_cast(ir_builder *b, int x, ir_dtype dt);            /* x itself when already dt */
int ir_build_f32(ir_builder *b, int x);                          /* ir_build_cast(b, x, IR_F32) */
int ir_build_reshape(ir_builder *b, int x, const int64_t *dims, int rank);   /* x itself when equal */
int ir_build_broadcast_to(ir_builder *b, int x, const int64_t *dims, int rank); /* x when equal */
int ir_build_transpose(ir_builder *b, int x, const int *perm);  /* perm over x's rank */
/* A reduction over one axis (axis < 0: every axis, the AXES marker) or over axes[0..n). */
int ir_build_reduce(ir_builder *b, ir_op op, int x, int axis, bool keepdims);
int ir_build_reduce_axes(ir_builder *b, ir_op op, int x, const int *axes, int n_axes, bool keepdims);
/* The gradient of a broadcast: sums x (of a broadcast result's shape) over the axes that
 * broadcasting added or stretched, down to type `to` (x itself when the shapes agree). */
int ir_build_sum_to(ir_builder *b, int x, const ir_type *to);
/* slice(x) with start/stop/step per axis of x (step NULL: all ones), normalized by the shape rule
 * as Python's slice.indices; x itself when it keeps every element in order. */
int ir_build_slice(ir_builder *b, int x, const int64_t *start, const int64_t *stop, const int64_t *step);
/* pad(x) with zeros: lo[i] before and hi[i] after axis i; x itself when every width is 0. */
int ir_build_pad(ir_builder *b, int x, const int64_t *lo, const int64_t *hi);
static inline const ir_type *ir_build_type(const ir_builder *b, int id) { return &b->g->nodes[id]->type; }

/* ---- ir/rewrite.c: graph rewriting for passes ------------------------------------------ */

/* Appends a copy of n (operands, attributes, type, location; no group, not planned). */
ir_node *ir_graph_clone_node(ir_graph *g, const ir_node *n);
/* Makes every use of node `from` (operands, graph outputs, the minimize loss) use node `to`
 * instead. New nodes may be appended after their users: ir_graph_cleanup restores the order. */
void ir_graph_replace_uses(ir_graph *g, int from, int to);
/* Points every root at repl[its node id]: outputs and the minimize loss. */
static inline void ir_graph_remap_roots(ir_graph *g, const int *repl) {
    for (int i = 0; i < g->n_outputs; i++) g->output_nodes[i] = repl[g->output_nodes[i]];
    if (g->minimize) g->minimize->loss = repl[g->minimize->loss];
}
/* Number of uses of each node (operand slots, graph outputs, the minimize loss), in a
 * caller-freed array. */
int *ir_graph_use_counts(const ir_graph *g);
/* Restores the invariants after a rewrite: drops nodes marked dead, orders nodes
 * topologically (keeping the existing order where it can, and each fusion group contiguous),
 * renumbers ids and operands, drops groups left empty. Returns false (after reporting an
 * internal error) if the graph has a cycle or a dead node is still used. */
bool ir_graph_cleanup(ir_graph *g, ir_diag *d);
/* Marks every node that no output and no minimize loss depends on as dead (input nodes are
 * kept: they are the graph's signature). Returns how many. */
int ir_graph_mark_unused(ir_graph *g);

/* ---- ir/schedule.c: the kernels of a graph ------------------------------------------------ */

/* One kernel: a fusion group, or one node outside any group that computes something. */
typedef struct ir_kernel {
    const char *name;         /* the group's name, or "<op>_<dims>" for a lone node (arena-owned) */
    int group;                /* -1: a lone node */
    int first, count;         /* its nodes: ids [first, first + count) (groups are contiguous) */
    ir_cost cost;             /* flops of its nodes; bytes read from values made outside it;
                                 bytes written of its values used outside it or graph outputs */
} ir_kernel;

/* Not a kernel: inputs, params, scalar constants, and views (reshape aliases its operand). */
bool ir_node_is_free(const ir_node *n);
/* Which axes of its input a reduction reduces (sum, mean, max, min, argmax, global_avg_pool);
 * false for any other op. */
bool ir_reduced_axes(const ir_node *n, bool axes[IR_MAX_RANK]);
/* The kernels of g in execution order; returns the count, *out is malloc'd (caller frees). */
int ir_graph_kernels(const ir_graph *g, ir_kernel **out);
/* True when node n's value is read outside its own group (or by any node if ungrouped), or is
 * a graph output: it must be materialized in memory. */
bool ir_node_escapes(const ir_graph *g, const ir_node *n);

/* ---- ir/plan_info.c: what a memory plan means (liveness), shared by the plan and the verifier */

/* Where a node's value must live once the graph is planned (ir_node.offset). */
typedef enum {
    IR_PLACE_NONE,            /* IR_NOT_PLANNED: a scalar constant, or a value that stays inside its group */
    IR_PLACE_EXTERNAL,        /* IR_EXTERNAL: graph input, parameter or graph output */
    IR_PLACE_ALIAS,           /* IR_ALIAS: a reshape outside any group, a view of its operand */
    IR_PLACE_ARENA,           /* an offset >= 0: a materialized intermediate */
} ir_placement;

/* Liveness over kernels, numbered in ir_graph_kernels order. Arrays are indexed by node id. */
typedef struct ir_liveness {
    int n_nodes, n_kernels;
    ir_placement *place;
    int *kernel;              /* the kernel that computes the node (its group's), -1: free and lone */
    int *root;                /* whose buffer holds the value: the node itself, or an alias's source */
    int *last;                /* IR_PLACE_ARENA values: the last kernel reading it (n_kernels: the
                                 caller, through an output view); the first is kernel[id] */
} ir_liveness;

/* Computes placements and live ranges (needs contiguous groups); free with ir_liveness_free. */
void ir_liveness_compute(const ir_graph *g, ir_liveness *l);
void ir_liveness_free(ir_liveness *l);
/* True when `out` may take the buffer of `in`, which dies in the kernel that computes `out`:
 * an elementwise loop kernel that reads every element of `in` only at the index it writes. */
bool ir_liveness_in_place_ok(const ir_graph *g, const ir_liveness *l, int out, int in);
int64_t ir_node_bytes(const ir_node *n);              /* elements × dtype size */
/* Arena size: max(offset + bytes) over planned values, rounded up to 64; 0 before planning. */
int64_t ir_graph_arena_bytes(const ir_graph *g);
/* Sum of the sizes of every value with an arena offset, as if nothing were reused. */
int64_t ir_graph_naive_bytes(const ir_graph *g);

/* ---- ir/shape.c: shape and dtype inference ---------------------------------------------- */

/* Runs the op's shape rule: checks operand types and attributes, normalizes attributes
 * (negative axes, defaults) and sets n->type. On failure reports at n->loc and returns false. */
bool ir_infer(ir_graph *g, ir_node *n, ir_diag *d);
/* NumPy broadcasting of two shapes into out; false if incompatible. */
bool ir_broadcast_shapes(const ir_type *a, const ir_type *b, ir_type *out);

/* Helpers shared by the shape rules (ir/shape_rules_*.c); usable by anyone who reports types.
 * ir_text is returned by value so that several fit in one message:
 *   ir_error(d, loc, "%s and %s", ir_type_text(&a).s, ir_type_text(&b).s)  */
typedef struct ir_text {
    char s[200];
} ir_text;
ir_text ir_type_text(const ir_type *t);              /* "f32[64,784]" */
ir_text ir_ints_text(const int64_t *v, int n);       /* "[4,-1]" */
static inline const char *ir_op_name(ir_op op) { return ir_op_table[op].name; }
/* Sets n->type after checking its element count ("OP: result T has too many elements"). */
bool ir_shape_set(ir_node *n, ir_diag *d, const ir_type *t);
/* Normalizes *axis for a tensor of type t (negative counts from the end); reports if out of range. */
bool ir_shape_axis(ir_node *n, ir_diag *d, int64_t *axis, const ir_type *t);
/* ir_broadcast_shapes that reports "OP: shapes A and B do not broadcast". */
bool ir_shape_broadcast(ir_node *n, ir_diag *d, const ir_type *a, const ir_type *b, ir_type *out);
/* Reports "OP: dtypes differ: A and B ..." unless a and b have the same dtype. */
bool ir_shape_same_dtype(ir_node *n, ir_diag *d, const ir_type *a, const ir_type *b);

/* ---- ir/verify.c: the verifier ------------------------------------------------------------- */

/* Checks the structural invariants (operand ids in range and earlier, arity, attributes
 * normalized, types equal to what inference gives, outputs bound, parameter updates and the
 * minimize line well formed). Reports each problem. */
bool ir_verify_module(ir_module *m, ir_diag *d);

/* The optimizers' hyperparameters (docs/training.md), in the order the text form writes them:
 * the ir_minimize field, the optimizers that take it, the language's default and PyTorch's range
 * min <= v < max (finite). The verifier and the text parser check them against it. */
typedef struct ir_hyper_info {
    const char *name;
    size_t offset;            /* offsetof(ir_minimize, field) */
    unsigned optims;          /* bit 1u << IR_OPTIM_* for each optimizer that takes it */
    bool required;            /* no default: lr */
    double default_value;
    double min, max;          /* max INFINITY: no upper bound (the value must still be finite) */
} ir_hyper_info;
enum { IR_N_HYPERS = 6 };
extern const ir_hyper_info ir_hyper_table[IR_N_HYPERS];
static inline double *ir_hyper_field(ir_minimize *mz, const ir_hyper_info *h) {
    return (double *)((char *)mz + h->offset);
}
static inline double ir_hyper_get(const ir_minimize *mz, const ir_hyper_info *h) {
    return *(const double *)((const char *)mz + h->offset);
}
static inline bool ir_hyper_in_range(const ir_hyper_info *h, double v) { return v >= h->min && v < h->max; }
/* ir_hyper_in_range, and when v is outside the range, what v must be in *must, for the message:
 * "in [0, 1)", or ">= 0" without an upper bound, said "finite and >= 0" where say_finite (the IR
 * text and the verifier meet inf and nan; the frontend's numbers are always finite). */
bool ir_hyper_check(const ir_hyper_info *h, double v, bool say_finite, ir_text *must);

/* ---- ir/cost.c: the cost model ------------------------------------------------------------- */

ir_cost ir_node_cost(const ir_graph *g, const ir_node *n);

/* ---- ir/print.c, ir/parse.c, ir/dot.c: the text form and Graphviz ----------------------- */

/* The text form (docs/ir.md). Printer and parser are inverses: print(parse(print(m))) == print(m). */
void ir_print_module(FILE *out, const ir_module *m, const ir_diag *d);
void ir_print_graph(FILE *out, const ir_graph *g, const ir_diag *d);
/* Parses text registered in d as file `file`; NULL after reporting errors. */
ir_module *ir_parse_module(ir_diag *d, int file);
void ir_print_dot(FILE *out, const ir_graph *g, const ir_diag *d);
/* "51.4 M" + unit: three significant digits and a decimal prefix, as every dump writes numbers. */
ir_text ir_quantity_text(double x, const char *unit);
/* "0.1": the shortest text that reads back as x exactly (inf, nan by name), as the text form writes
 * float attributes. */
ir_text ir_double_text(double x);
/* "51.4 MFLOP  read 1.81 MB  write 131 kB  AI 26.5": the cost annotation of the dumps. */
ir_text ir_cost_text(ir_cost c);
/* The graph's kernels and memory plan as one JSON object (ir/print_json.c). */
void ir_print_json(FILE *out, const ir_graph *g, const ir_diag *d);
/* The DOT drawing rendered to SVG by Graphviz's `dot`; reports and returns false without it. */
bool ir_render_svg(FILE *out, const ir_graph *g, ir_diag *d);

/* ---- ir/interp.c and ir/kernels_*.c: the reference interpreter -------------------------- */

typedef struct ir_tensor {
    ir_type type;
    void *data;               /* malloc'd, dense row-major */
} ir_tensor;

bool ir_tensor_alloc(ir_tensor *t, const ir_type *type);   /* zeroed; false on OOM */
/* The storage formats: IEEE binary16 and bfloat16, rounding to nearest even (a NaN stays a NaN).
 * Every backend rounds as these do; tests use them as the reference. */
uint16_t ir_f32_to_f16(float f);
float ir_f16_to_f32(uint16_t h);
uint16_t ir_f32_to_bf16(float f);
float ir_bf16_to_f32(uint16_t h);
void ir_tensor_free(ir_tensor *t);
/* Element i of a tensor of any numeric dtype, as a double (f32, i32, i64, bool). */
double ir_tensor_get(const ir_tensor *t, int64_t i);
void ir_tensor_set(ir_tensor *t, int64_t i, double v);

/* Runs graph g. params[i] holds parameter i's value, inputs[i] input i (types must match);
 * outputs[i] are allocated by the call. Runtime errors (an index out of range) are reported
 * at the node's location. */
bool ir_interp_graph(const ir_graph *g, const ir_tensor *params, const ir_tensor *inputs, ir_tensor *outputs,
                     ir_diag *d);

/* ---- ir/init.c: parameter initializers --------------------------------------------------- */

/* Fills t (already allocated with the parameter's type) from its initializer, deterministically
 * from seed and the parameter's name. Reports load errors naming the file. */
bool ir_param_init(const ir_param *p, uint64_t seed, ir_tensor *t, ir_diag *d);
/* SplitMix64: the next 64-bit draw of the stream at *state (the initializers' random numbers, and
 * the driver's --random-inputs and --shuffle, all fixed by their seeds). */
uint64_t ir_splitmix64(uint64_t *state);

/* ---- prototypes of every shape rule, kernel and cost rule named in the op table -------- */

#define OP(ID, name, min_in, max_in, flags, attrs, sig, shape_fn, kernel_fn, cost_fn, flops, grad_fn)   \
    bool shape_fn(ir_graph *g, ir_node *n, ir_diag *d);                                                   \
    ir_cost cost_fn(const ir_graph *g, const ir_node *n);                                                 \
    bool grad_fn(ir_builder *b, const ir_node *n, int dy, int *dx);
#include "ir/ops.def"
#undef OP
#define OP(ID, name, min_in, max_in, flags, attrs, sig, shape_fn, kernel_fn, cost_fn, flops, grad_fn)   \
    bool kernel_fn(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d);
#include "ir/ops.def"
#undef OP

#endif
