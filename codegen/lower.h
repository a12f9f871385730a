/* lower.h — the state shared by the files of the Graph IR → Kernel IR lowering (lower.c: the
 * program, buffers and kernels; lower_expr.c: hash-consed expressions; lower_stmt.c: scopes,
 * loops and coordinates; lower_elem.c: a node's value at coordinates; lower_reduce.c: values
 * that need loops of their own). Private to codegen/; the interface is codegen.h. */
#ifndef TFC_CODEGEN_LOWER_H
#define TFC_CODEGEN_LOWER_H

#include "codegen/codegen.h"

/* A point of a node's index space: one i64 expression per axis and, when known, the row-major
 * linear index of the same point, so that a contiguous access stays `row*N + col` instead of
 * being rebuilt from divisions. Every coordinate vector is in the shape of the node it indexes. */
typedef struct cg_coords {
    int rank;
    cg_expr *c[IR_MAX_RANK];
    cg_expr *flat;            /* NULL: linearize c */
} cg_coords;

/* A statement list being built: the kernel's top level or a loop's body. */
typedef struct cg_scope {
    cg_stmt **stmts;
    int n, cap;
} cg_scope;

typedef struct cg_expr_table cg_expr_table;
typedef struct cg_memo_table cg_memo_table;

typedef struct cg_lower {
    cg_program *p;
    const ir_graph *g;
    ir_diag *d;
    ir_arena *a;
    bool failed;              /* reported: stop */
    ir_liveness live;
    int *buf_of;              /* per node: the buffer holding its value, -1: none */
    cg_expr_table *exprs;     /* hash-consing: one node per distinct expression */
    int cap_vars;
    int *var_level;           /* per variable: the scope level it is defined at */
    int64_t *var_extent;      /* loop variables: the loop's extent (ranges); others -1 */
    /* the kernel being lowered */
    cg_kernel *k;
    int first, end;           /* its nodes: ids [first, end) */
    int n_loops, n_temps;     /* for variable names within the kernel */
    int min_level;            /* hoisted statements go no higher: inside the parallel loop */
    cg_scope **chain;         /* open scopes, outermost first; chain[level] */
    int level, cap_chain;     /* chain[0..level] */
    cg_memo_table *memo;      /* (node, coordinates) → value while building this kernel */
    int cap_checks;           /* of k->checks */
    int library_node;         /* the contraction a GEMM/CONV call computes, -1: none */
    int scratch_buf;
    cg_expr *epi_row, *epi_col; /* the epilogue's loop indices */
    int64_t epi_row_len;
} cg_lower;

/* ---- lower_expr.c: expressions -------------------------------------------------------------- */

/* Hash-consed constructors: equal expressions are one node, integer index arithmetic is folded
 * and simplified (ranges of loop indices decide divisions, remainders and comparisons). */
ir_dtype cg_value_type(ir_dtype memory);          /* f16, bf16 → f32 */
cg_expr *cg_const_f(cg_lower *w, double v);        /* f32, rounded to float */
cg_expr *cg_const_i(cg_lower *w, ir_dtype t, int64_t v);
cg_expr *cg_index(cg_lower *w, int64_t v);         /* an i64 constant */
cg_expr *cg_const_of(cg_lower *w, ir_dtype dtype, double v); /* v stored as dtype, as a value */
cg_expr *cg_var_ref(cg_lower *w, int var);
cg_expr *cg_begin(cg_lower *w);
cg_expr *cg_load(cg_lower *w, int buf, cg_expr *index);
cg_expr *cg_call1(cg_lower *w, cg_fn f, cg_expr *a);
cg_expr *cg_call2(cg_lower *w, cg_fn f, cg_expr *a, cg_expr *b);
cg_expr *cg_select(cg_lower *w, cg_expr *c, cg_expr *a, cg_expr *b);
cg_expr *cg_cast(cg_lower *w, ir_dtype t, cg_expr *a);
/* i64 helpers */
cg_expr *cg_add(cg_lower *w, cg_expr *a, cg_expr *b);
cg_expr *cg_sub(cg_lower *w, cg_expr *a, cg_expr *b);
cg_expr *cg_mul(cg_lower *w, cg_expr *a, cg_expr *b);
cg_expr *cg_clamp(cg_lower *w, cg_expr *x, int64_t lo, int64_t hi);
/* pos clamped into [0, dim), and *inside &&= (0 <= pos < dim): a coordinate of a window tap or a
 * pad that reads in bounds even on the lanes whose value a select on *inside discards. */
cg_expr *cg_clamp_inside(cg_lower *w, cg_expr *pos, int64_t dim, cg_expr **inside);
/* Any numeric type: the integer max/min without CG_MAX (its NaN rule is for floats). */
cg_expr *cg_max_num(cg_lower *w, cg_expr *a, cg_expr *b);
cg_expr *cg_min_num(cg_lower *w, cg_expr *a, cg_expr *b);
/* x (f32) rounded to the nearest f16 or bf16 value (ties to even), in f32 arithmetic. */
cg_expr *cg_round_to(cg_lower *w, ir_dtype dtype, cg_expr *x);
bool cg_is_const(const cg_expr *e, int64_t v);
/* The scope level of the innermost variable e reads (0: none). */
int cg_expr_level(const cg_expr *e);
void cg_expr_table_free(cg_lower *w);

/* ---- lower_stmt.c: variables, scopes, loops, coordinates ----------------------------------- */

int cg_new_var(cg_lower *w, const char *prefix, ir_dtype type, bool is_index, int level, int64_t extent);
/* Appends a statement to the open scope at `level`. */
void cg_emit_at(cg_lower *w, int level, cg_stmt *s);
void cg_emit_assign(cg_lower *w, int level, int var, cg_expr *value);
void cg_emit_store(cg_lower *w, int level, int buf, cg_expr *index, cg_expr *value, bool nontemporal);
void cg_emit_check(cg_lower *w, int level, cg_expr *ok, ir_loc loc, const char *what);
/* Opens a loop as a child of the scope at `level` (the scopes above it are set aside until the
 * matching close); returns its variable. Closing appends it to its parent; a loop that contains
 * another loop is not innermost and loses CG_LOOP_VECTOR. */
typedef struct cg_loop_mark {
    int parent;
    int n_saved;
    cg_scope **saved;         /* the scopes above `parent` set aside while the loop is open */
    int var;
    int64_t extent;
    unsigned flags;
} cg_loop_mark;
int cg_open_loop(cg_lower *w, cg_loop_mark *m, int level, int64_t extent, unsigned flags);
void cg_close_loop(cg_lower *w, cg_loop_mark *m);
/* Coordinates of a linear index in a shape, and the linear index of coordinates. */
void cg_delinearize(cg_lower *w, cg_expr *flat, const ir_type *t, cg_coords *out);
cg_expr *cg_linearize(cg_lower *w, const cg_coords *c, const ir_type *t);
int cg_coords_level(const cg_coords *c);

/* ---- lower_elem.c: values --------------------------------------------------------------------- */

/* Node id's value at coordinates c (in its shape): composed inline when the node belongs to the
 * kernel (or is a constant, full, arange or view), loaded from its buffer otherwise. Statements
 * a value needs (a reduction's loop, a check) are emitted at the innermost open scope that the
 * coordinates allow. Memoized per kernel. */
cg_expr *cg_elem(cg_lower *w, int id, const cg_coords *c);
/* The position a gather or gather_grad node n reads or writes along its axis (of extent dim > 0)
 * for the index at coordinates ic of its operand 1: as np.take, an index in [-dim, 0) counts from
 * the end; outside [-dim, dim) a check fails, as the interpreter refuses the index, and the
 * position is clamped, so memory stays in bounds. */
cg_expr *cg_gather_index(cg_lower *w, const ir_node *n, const cg_coords *ic, int64_t dim);
/* The check of cross_entropy's label (an i64 value) for `classes` classes at loop level `level`,
 * shared by the loss and its gradient's one_hot_checked: outside [0, classes) it fails, as the
 * interpreter refuses the label. */
void cg_check_label(cg_lower *w, const ir_node *n, cg_expr *label, int64_t classes, int level);
/* The memo of (node, coordinates) → value, for values assigned to variables by the caller. */
void cg_memo_set(cg_lower *w, int id, const cg_coords *c, cg_expr *value);
void cg_memo_reset(cg_lower *w);
void cg_memo_free(cg_lower *w);
bool cg_in_kernel(const cg_lower *w, int id);

/* ---- lower_reduce.c: values computed by loops ------------------------------------------------ */

/* The loops over a reduction's axes of X: one per run of consecutive reduced axes (flattened,
 * its coordinates recovered by division into xc's reduced axes), opened under `level`, the last
 * run innermost with inner_flags. No reduced axis: no loop (n 0, inner_var -1). */
typedef struct cg_reduced_loops {
    int n;
    cg_loop_mark marks[IR_MAX_RANK];
    int inner_var;            /* the innermost loop's variable */
} cg_reduced_loops;
void cg_open_reduced(cg_lower *w, cg_reduced_loops *r, const ir_type *x, const bool *axes, int level,
                     unsigned inner_flags, cg_coords *xc);
void cg_close_reduced(cg_lower *w, cg_reduced_loops *r);

cg_expr *cg_reduce_value(cg_lower *w, const ir_node *n, const cg_coords *c);
cg_expr *cg_pool_value(cg_lower *w, const ir_node *n, const cg_coords *c);
cg_expr *cg_pool_grad_value(cg_lower *w, const ir_node *n, const cg_coords *c);
/* The offset (i*kw + j) of the tap that max_pool2d takes in window o (pooled coordinates) of
 * the plane c[0], c[1] of max_pool2d_grad n's x: the first NaN, else the first maximum in
 * row-major order (a later tap wins only when strictly greater), padding excluded, as the
 * interpreter's max_pool2d_grad. A variable that loops opened under scope `level` assign. */
cg_expr *cg_max_pool_tap(cg_lower *w, const ir_node *n, const cg_coords *c, cg_expr *const *o, int level);
cg_expr *cg_gather_grad_value(cg_lower *w, const ir_node *n, const cg_coords *c);
cg_expr *cg_matmul_value(cg_lower *w, const ir_node *n, const cg_coords *c);
cg_expr *cg_conv_value(cg_lower *w, const ir_node *n, const cg_coords *c);
cg_expr *cg_cross_entropy_value(cg_lower *w, const ir_node *n, const cg_coords *c);
cg_expr *cg_int_pow(cg_lower *w, cg_expr *base, cg_expr *exp, int level, ir_loc loc);

/* ---- lower_kernel.c: the kernels --------------------------------------------------------------- */

void cg_lower_loop_kernel(cg_lower *w);
void cg_lower_reduce_kernel(cg_lower *w);
void cg_lower_contraction_kernel(cg_lower *w);
/* gather_grad or max_pool2d_grad alone in its kernel: zeros, then dy added where the gather read
 * or the window's maximum is; f16 and bf16 sums that would round more than once take the loop
 * kernel of their output-indexed value instead. */
void cg_lower_scatter_kernel(cg_lower *w);
/* The least number of parallel iterations worth a thread, for `work` elements per iteration. */
int64_t cg_grain(int64_t work_per_iteration);
/* Kernel outputs: nodes of [first, end) that have a buffer, in node order (arena-allocated
 * array); returns the count. */
int cg_kernel_outputs(cg_lower *w, int **out);

#endif
