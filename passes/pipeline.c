/* pipeline.c — the -O0..-O3 pipelines, each a straight list, and where a dump stage cuts them.
 * Training comes first at every level: the optimizer pass writes the gradients and updates, the
 * autodiff pass the backward graph, which every later pass then treats like the forward one.
 * Clean-up passes run again after decomposition because decomposed ops expose new identities. */
#include "passes/passes.h"

#include <string.h>

static void add(pass_pipeline *p, pass_id id) { p->ids[p->n++] = id; }

void pass_pipeline_for_level(int level, const char *stage, pass_pipeline *out) {
    out->n = 0;
    if (stage && strcmp(stage, "graph") == 0) return;   /* the IR as lowered */
    add(out, PASS_OPTIMIZER);
    add(out, PASS_AUTODIFF);
    if (level >= 1) {
        add(out, PASS_CANONICALIZE);
        add(out, PASS_FOLD);
        add(out, PASS_CSE);
        add(out, PASS_DCE);
    }
    if (level >= 2) {
        add(out, PASS_DECOMPOSE);
        add(out, PASS_CANONICALIZE);
        add(out, PASS_FOLD);
        add(out, PASS_CSE);
        add(out, PASS_DCE);
    }
    bool stop_before_fuse = stage && strcmp(stage, "opt") == 0;
    bool stop_after_fuse = stage && strcmp(stage, "fused") == 0;
    if (level >= 2 && !stop_before_fuse) add(out, PASS_FUSE);
    bool plan_stage = stage && strcmp(stage, "plan") == 0;
    if ((level >= 3 && !stop_before_fuse && !stop_after_fuse) || plan_stage) add(out, PASS_PLAN);
}
