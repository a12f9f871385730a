/* passes.h — the pass manager and the passes over Graph IR. A pass is one function and one
 * line in passes.def; it rewrites one graph in place, keeps no global state, and leaves the
 * graph valid (ir_graph_cleanup after a rewrite), which --verify-each checks. */
#ifndef TFC_PASSES_H
#define TFC_PASSES_H

#include "ir/ir.h"

typedef struct pass_context {
    ir_diag *diag;
    FILE *explain;            /* fuse: where to list each candidate not fused and why; NULL: quiet */
    int64_t fold_max_bytes;   /* fold: largest constant result materialized (default 64 KiB) */
} pass_context;

/* Returns false after reporting an error (a bug in a pass is reported as an internal error). */
typedef bool (*pass_fn)(ir_graph *g, pass_context *ctx);

typedef enum {
#define PASS(ID, name, fn, help) PASS_##ID,
#include "passes/passes.def"
#undef PASS
    PASS_COUNT
} pass_id;

typedef struct pass_info {
    const char *name;
    pass_fn run;
    const char *help;
} pass_info;
extern const pass_info pass_table[PASS_COUNT];

#define PASS(ID, name, fn, help) bool fn(ir_graph *g, pass_context *ctx);
#include "passes/passes.def"
#undef PASS

/* ---- passes/manager.c: running pipelines -------------------------------------------------- */

pass_id pass_lookup(const char *name);          /* PASS_COUNT if none */

typedef struct pass_pipeline {
    int n;
    pass_id ids[64];
} pass_pipeline;

/* The -O0..-O3 pipelines (each a straight list in one function, passes/pipeline.c), cut after
 * the last pass a dump stage needs: "graph" runs nothing, "opt" stops before fusion, "fused"
 * after it, "plan" (and NULL) runs everything. Every level starts with optimizer and autodiff
 * (training lowered); -O0 runs no optimization after them, only the plan when the stage asks. */
void pass_pipeline_for_level(int level, const char *stage, pass_pipeline *out);
/* Parses "a,b,c"; reports an unknown name with a suggestion. */
bool pass_pipeline_parse(const char *list, pass_pipeline *out, ir_diag *d);

typedef struct pass_run_options {
    bool verify_each;         /* the verifier after every pass */
    bool time_passes;         /* print each pass's time to stderr */
    const char *dump_after;   /* pass name or "all": write the IR after it */
    const char *dump_dir;     /* where dumps go (default: stderr when dump_after is set) */
    FILE *explain_fusion;     /* see pass_context.explain */
} pass_run_options;

/* Runs the pipeline on every graph of m. */
bool pass_run_pipeline(ir_module *m, const pass_pipeline *p, const pass_run_options *o, ir_diag *d);

/* Whether g holds a grad node (the autodiff pass's to replace). */
bool pass_graph_has_grad(const ir_graph *g);
/* Whether g has training left to lower: a `minimize` line (the optimizer pass's) or a grad node. */
static inline bool pass_graph_has_training(const ir_graph *g) { return g->minimize || pass_graph_has_grad(g); }

#endif
