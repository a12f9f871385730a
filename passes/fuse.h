/* fuse.h — what the files of the fusion pass share (passes/fuse*.c only): the clusters the pass
 * grows before they become fusion groups, the convexity check every merge goes through, the
 * recorded reasons for --explain-fusion, and the phases (contraction epilogues, row-wise
 * reductions, loops, recomputed producers) and kernel naming. */
#ifndef TFC_PASSES_FUSE_H
#define TFC_PASSES_FUSE_H

#include "passes/passes.h"

/* Why a producer -> consumer pair ended in different kernels (docs/passes.md, fuse). */
typedef enum {
    FUSE_WHY_NONE,
    FUSE_WHY_CONTRACTION_OPERAND,   /* the consumer is a matmul or conv2d */
    FUSE_WHY_CONTRACTION_PRODUCER,  /* the producer's contraction group is closed */
    FUSE_WHY_OTHER_CONSUMER,        /* aux has another consumer outside the epilogue */
    FUSE_WHY_EPILOGUE_OP,           /* the consumer is not elementwise */
    FUSE_WHY_EPILOGUE_SHAPE,        /* the consumer's shape is not the contraction's output */
    FUSE_WHY_REDUCE_AXES,           /* reductions over different axes */
    FUSE_WHY_REDUCE_INPUT,          /* reductions of differently shaped inputs */
    FUSE_WHY_ROW_SHAPE,             /* neither the rows' shape nor the reduced shape */
    FUSE_WHY_ROW_BROADCAST,         /* a reduced value that does not broadcast back along the rows */
    FUSE_WHY_NOT_CONVEX,            /* a path between them leaves the group */
    FUSE_WHY_RECOMPUTE,             /* fusing would recompute expensive work per broadcast element */
    FUSE_WHY_WINDOW_RECOMPUTE,      /* ... per window of avg_pool2d_grad that reads it */
    FUSE_WHY_INDEX_SPACE,           /* the producer is also written out, over another index space */
    FUSE_WHY_KIND,                  /* the producer belongs to a reduce group of another shape */
    FUSE_WHY_UNFUSABLE,             /* aux has no fusion rule (pools, gather, composites) */
    FUSE_WHY_SHARED,                /* an expensive producer used by several kernels */
    FUSE_WHY_EPILOGUE_INPUT,        /* the consumer is in a contraction's epilogue: it takes no producers */
    FUSE_WHY_NO_RULE,               /* none of the rules joins these two */
    FUSE_WHY_COUNT
} fuse_why;

enum { FUSE_NO_KIND = -1 };   /* a cluster that is not (yet) a fusion group */

typedef struct fuse_state {
    ir_graph *g;
    pass_context *ctx;
    int n;                    /* nodes when the pass began; clones are appended after */
    int cap;                  /* room in the per-node arrays (n + one clone per use) */
    int *user_start, *users;  /* consumers of each original node, one entry per use (csr) */
    bool *is_output;
    bool *recompute;          /* cheap producer of sources only: placed by fuse_recompute */
    /* clusters: union-find over nodes, with member lists and per-root data */
    int *parent, *first, *next, *last;
    int *min_id, *max_id;     /* by position (clones take their original's position) */
    int *pos;
    int *kind;                /* ir_fusion_kind or FUSE_NO_KIND, at the root */
    /* DFS scratch for the convexity check */
    int *mark, stamp, *stack;
    /* --explain-fusion: one slot per (consumer, operand) of the original nodes */
    int *edge_start;
    unsigned char *why;
    int *why_aux;             /* a node the reason names (original id), or -1 */
} fuse_state;

/* passes/fuse.c: clusters and reasons */
int fuse_find(fuse_state *st, int v);
/* Merges the clusters of a and b (roots or not); the result keeps `kind`. Returns the root. */
int fuse_union(fuse_state *st, int a, int b, int kind);
/* True when merging the clusters of a and b would leave a path out of the merged cluster and
 * back in, i.e. the cluster graph would get a cycle. Every merge asks this first. */
bool fuse_would_cycle(fuse_state *st, int a, int b);
/* Records why operand k of node v was not fused (the first reason recorded wins). */
void fuse_note(fuse_state *st, int v, int k, fuse_why why, int aux);
bool fuse_in_cluster(fuse_state *st, int v, int root);
int fuse_operand_slot(const fuse_state *st, int v, int operand);   /* k with in[k] == operand, or -1 */

/* passes/fuse_rules.c: node classes shared by the phases */
bool fuse_same_dims(const ir_type *a, const ir_type *b);
bool fuse_is_source(const ir_graph *g, const ir_node *n);        /* input, param, constant, views of them */
bool fuse_is_cheap(const ir_node *n);                            /* worth recomputing */
bool fuse_is_loop_op(const ir_node *n);                          /* may join a loop group */
/* avg_pool2d_grad: each element is a sum over the windows that hold it, so a loop computes it at
 * any index, reading its operand at several positions per element. (max_pool2d_grad is a scatter
 * per plane, codegen/lower_kernel.c: it runs alone.) */
bool fuse_is_window_sum(const ir_node *n);

/* The phases, in the order pass_fuse runs them (passes/fuse_rules.c, passes/fuse_loop.c). */
void fuse_mark_recompute(fuse_state *st);   /* which producers fuse_recompute places */
void fuse_contractions(fuse_state *st);
void fuse_reductions(fuse_state *st);
void fuse_loops(fuse_state *st);
void fuse_recompute(fuse_state *st);

/* passes/fuse_name.c: `fused_matmul_bias_gelu_128x3072x768`, unique within the graph. */
const char *fuse_kernel_name(const ir_graph *g, const int *members, int count, int kind);

#endif
