/* fuse_loop.c — loop fusion (elementwise ops, broadcasts, cheap index maps and avg_pool2d_grad
 * joined producer into consumer, several outputs allowed when they share the loop's index
 * space) and the recomputation of cheap producers of sources (full, broadcast_to of a
 * parameter, relu of an input), which are cloned into each kernel that reads them instead of
 * being written out. */
#include "passes/fuse.h"

#include <stdlib.h>

static int64_t elems(const ir_node *n) { return ir_type_elems(&n->type); }

void fuse_mark_recompute(fuse_state *st) {
    const ir_graph *g = st->g;
    for (int v = 0; v < st->n; v++) {
        const ir_node *n = g->nodes[v];
        if (ir_node_is_free(n) || !fuse_is_loop_op(n) || !fuse_is_cheap(n)) continue;
        bool sources = true;
        for (int k = 0; k < n->n_in && sources; k++) sources = fuse_is_source(g, ir_operand(g, n, k));
        st->recompute[v] = sources;
    }
}

/* ---- loops ----------------------------------------------------------------------------------- */

/* A loop cluster runs over one index space: that of its values used outside it (its outputs),
 * which all have the same element count. A producer whose value is used over the same count
 * joins as it is (it may stay an output too). One over another count (read through a broadcast,
 * slice, pad or concat) joins only when nothing of its cluster is used outside the merged one:
 * then it is evaluated inline, and if that means recomputing it per broadcast element (not for
 * pad and concat, which read each element once), all its work must be cheap. avg_pool2d_grad
 * reads its operand once per window holding the element, whatever the counts: a producer joins
 * it only in that second way (in backward graphs, the cheap op that makes dy). */
static fuse_why loop_merge_why(fuse_state *st, int p, int v, int root_p, int root_v) {
    const ir_graph *g = st->g;
    const ir_node *pn = g->nodes[p], *vn = g->nodes[v];
    bool window = fuse_is_window_sum(vn);
    if (elems(pn) == elems(vn) && !window) return FUSE_WHY_NONE;
    bool recomputes = window || (elems(pn) < elems(vn) && vn->op != IR_OP_PAD && vn->op != IR_OP_CONCAT);
    for (int x = st->first[root_p]; x >= 0; x = st->next[x]) {
        if (st->is_output[x]) return FUSE_WHY_INDEX_SPACE;
        for (int e = st->user_start[x]; e < st->user_start[x + 1]; e++) {
            int r = fuse_find(st, st->users[e]);
            if (r != root_p && r != root_v) return FUSE_WHY_INDEX_SPACE;
        }
    }
    for (int x = st->first[root_p]; recomputes && x >= 0; x = st->next[x])
        if (!ir_node_is_free(g->nodes[x]) && !fuse_is_cheap(g->nodes[x]))
            return window ? FUSE_WHY_WINDOW_RECOMPUTE : FUSE_WHY_RECOMPUTE;
    return FUSE_WHY_NONE;
}

static void loop_try(fuse_state *st, int v, int k) {
    const ir_graph *g = st->g;
    int p = g->nodes[v]->in[k];
    const ir_node *pn = g->nodes[p];
    if (fuse_is_source(g, pn) || st->recompute[p]) return;
    int rp = fuse_find(st, p), rv = fuse_find(st, v);
    if (rp == rv) return;
    /* A contraction's group is closed; the final grouping says why (see classify in fuse.c). */
    if (st->kind[rp] == IR_FUSION_CONTRACTION) return;
    if (st->kind[rp] == IR_FUSION_REDUCE) {
        fuse_note(st, v, k, FUSE_WHY_KIND, -1);
        return;
    }
    if (!fuse_is_loop_op(pn)) return;
    fuse_why why = loop_merge_why(st, p, v, rp, rv);
    if (why == FUSE_WHY_NONE && fuse_would_cycle(st, rp, rv)) why = FUSE_WHY_NOT_CONVEX;
    if (why != FUSE_WHY_NONE) {
        fuse_note(st, v, k, why, p);
        return;
    }
    fuse_union(st, rv, rp, IR_FUSION_LOOP);
}

/* In node order, each loop op takes its producers' clusters: when v is reached its cluster is
 * v alone, and the clusters of its operands hold only earlier nodes. */
void fuse_loops(fuse_state *st) {
    for (int v = 0; v < st->n; v++) {
        const ir_node *n = st->g->nodes[v];
        if (!fuse_is_loop_op(n) || st->recompute[v]) continue;
        int rv = fuse_find(st, v);
        if (st->kind[rv] != FUSE_NO_KIND) continue;
        for (int k = 0; k < n->n_in; k++) loop_try(st, v, k);
    }
}

/* ---- recomputed producers --------------------------------------------------------------- */

/* The cluster that takes a copy of producer p for its consumer u, or -1: a group's member (not
 * the contraction itself, whose operands are read per tile), or a lone loop op or reduction
 * that becomes a group with it. */
static int host_of(fuse_state *st, int u) {
    const ir_node *n = st->g->nodes[u];
    int r = fuse_find(st, u);
    if (st->kind[r] == IR_FUSION_LOOP || st->kind[r] == IR_FUSION_REDUCE) return r;
    if (st->kind[r] == IR_FUSION_CONTRACTION) return (ir_op_table[n->op].flags & IR_CONTRACTION) ? -1 : r;
    if (ir_node_is_free(n)) return -1;
    bool axes[IR_MAX_RANK];
    if (fuse_is_loop_op(n)) st->kind[r] = IR_FUSION_LOOP;
    else if (ir_reduced_axes(n, axes)) st->kind[r] = IR_FUSION_REDUCE;
    else return -1;
    return r;
}

/* Gives cluster `host` its own copy of p (p itself when `take`): its uses of p are rewired. */
static void give_copy(fuse_state *st, int p, int host, bool take) {
    ir_graph *g = st->g;
    int copy = p;
    if (!take) {
        copy = ir_graph_clone_node(g, g->nodes[p])->id;
        IR_ASSERT(copy < st->cap);
        st->pos[copy] = st->pos[p];
    }
    fuse_union(st, host, copy, st->kind[host]);
    for (int e = st->user_start[p]; e < st->user_start[p + 1] && !take; e++) {
        ir_node *u = g->nodes[st->users[e]];
        if (fuse_find(st, st->users[e]) != fuse_find(st, host)) continue;
        for (int k = 0; k < u->n_in; k++)
            if (u->in[k] == p) u->in[k] = copy;
    }
}

static void recompute_one(fuse_state *st, int p, int *hosts) {
    int n_hosts = 0;
    bool keep = st->is_output[p];
    for (int e = st->user_start[p]; e < st->user_start[p + 1]; e++) {
        int h = host_of(st, st->users[e]);
        if (h < 0) {
            keep = true;
            continue;
        }
        bool seen = false;
        for (int i = 0; i < n_hosts && !seen; i++) seen = fuse_find(st, hosts[i]) == fuse_find(st, h);
        if (!seen) hosts[n_hosts++] = h;
    }
    /* Clusters may merge as copies join them: resolve each host at its turn. */
    for (int i = 0; i < n_hosts; i++) give_copy(st, p, fuse_find(st, hosts[i]), !keep && i == 0);
}

void fuse_recompute(fuse_state *st) {
    int *hosts = calloc((size_t)st->n + 1, sizeof(int));
    if (!hosts) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int p = 0; p < st->n; p++)
        if (st->recompute[p]) recompute_one(st, p, hosts);
    free(hosts);
}
