/* dce.c — dead code elimination: every node that no graph output depends on is removed (input
 * nodes stay, they bind the graph's arguments). The other passes only drop what they orphan
 * themselves, so dead code that came in with the IR is this pass's alone. */
#include "passes/passes.h"

bool pass_dce(ir_graph *g, pass_context *ctx) {
    if (ir_graph_mark_unused(g) == 0) return true;
    return ir_graph_cleanup(g, ctx->diag);
}
