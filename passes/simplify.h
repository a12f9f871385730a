/* simplify.h — helpers shared by the simplification passes (canonicalize, fold, cse, dce,
 * decompose): rewriting a node in place with its type re-inferred, reading splat constants,
 * and dropping the nodes a rewrite left without users. Private to passes/. */
#ifndef TFC_PASSES_SIMPLIFY_H
#define TFC_PASSES_SIMPLIFY_H

#include "passes/passes.h"

/* A constant leaf: constant, full or arange (never input or param, whose values are unknown). */
bool pass_is_constant(const ir_node *n);
/* The value every element of a constant or full holds, as its dtype stores it (an i32 constant
 * of 2.7 reads 3, as the interpreter makes it). False for any other node. */
bool pass_splat_value(const ir_node *n, double *v);

/* Turns n into op(in...) with all attributes cleared, in place (id, loc and users kept). The
 * caller sets the new attributes, then calls pass_reinfer. */
void pass_become(ir_graph *g, ir_node *n, ir_op op, const int *in, int n_in);
/* Re-runs shape inference on a node rewritten in place (normalizing its attributes). A rewrite
 * must not change the type its users see: if it does, reports an internal error, false. */
bool pass_reinfer(ir_graph *g, ir_node *n, ir_diag *d);

/* live[i]: node i is an input or a graph output or the minimize loss depends on it (malloc'd,
 * caller frees). */
bool *pass_live_nodes(const ir_graph *g);
/* Marks dead the nodes that were live before a rewrite (was_live, over the first n_before
 * nodes) or were appended by it, and are not live any more: a pass removes what it orphaned
 * and leaves older dead code to dce. Returns how many. */
int pass_drop_orphans(ir_graph *g, const bool *was_live, int n_before);

#endif
