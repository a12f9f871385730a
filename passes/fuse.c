/* fuse.c — the fusion pass: grows clusters of nodes (contraction epilogues, row-wise reductions,
 * elementwise loops, recomputed cheap producers; passes/fuse_rules.c), keeps the cluster graph
 * acyclic at every merge so each group is convex, turns clusters of two or more computing nodes
 * into named fusion groups, and explains under --explain-fusion each pair it did not fuse. */
#include "passes/fuse.h"

#include <stdlib.h>
#include <string.h>

/* ---- clusters ---------------------------------------------------------------------------- */

int fuse_find(fuse_state *st, int v) {
    int r = v;
    while (st->parent[r] != r) r = st->parent[r];
    while (st->parent[v] != r) {
        int up = st->parent[v];
        st->parent[v] = r;
        v = up;
    }
    return r;
}

int fuse_union(fuse_state *st, int a, int b, int kind) {
    int ra = fuse_find(st, a), rb = fuse_find(st, b);
    if (ra != rb) {
        st->next[st->last[ra]] = st->first[rb];
        st->last[ra] = st->last[rb];
        st->parent[rb] = ra;
        if (st->min_id[rb] < st->min_id[ra]) st->min_id[ra] = st->min_id[rb];
        if (st->max_id[rb] > st->max_id[ra]) st->max_id[ra] = st->max_id[rb];
    }
    st->kind[ra] = kind;
    return ra;
}

bool fuse_in_cluster(fuse_state *st, int v, int root) { return fuse_find(st, v) == root; }

/* Pushes the clusters (other than `from` and `to`) that use a value of cluster c and could still
 * lead to `to`: node ids only grow along edges, so a cluster starting after `to` ends cannot. */
static bool push_successors(fuse_state *st, int c, int from, int to, int *top) {
    for (int x = st->first[c]; x >= 0; x = st->next[x]) {
        if (x >= st->n) continue;
        for (int e = st->user_start[x]; e < st->user_start[x + 1]; e++) {
            int cu = fuse_find(st, st->users[e]);
            if (cu == to) {
                if (c != from) return true;
                continue;
            }
            if (cu == from || st->mark[cu] == st->stamp || st->min_id[cu] > st->max_id[to]) continue;
            st->mark[cu] = st->stamp;
            st->stack[(*top)++] = cu;
        }
    }
    return false;
}

/* A path from cluster `from` to cluster `to` through at least one other cluster. */
static bool path_through_other(fuse_state *st, int from, int to) {
    if (st->max_id[to] < st->min_id[from]) return false;
    st->stamp++;
    int top = 0;
    push_successors(st, from, from, to, &top);
    while (top > 0)
        if (push_successors(st, st->stack[--top], from, to, &top)) return true;
    return false;
}

bool fuse_would_cycle(fuse_state *st, int a, int b) {
    int ra = fuse_find(st, a), rb = fuse_find(st, b);
    if (ra == rb) return false;
    return path_through_other(st, ra, rb) || path_through_other(st, rb, ra);
}

void fuse_note(fuse_state *st, int v, int k, fuse_why why, int aux) {
    if (v >= st->n || k < 0 || k >= st->g->nodes[v]->n_in) return;
    int slot = st->edge_start[v] + k;
    if (st->why[slot] != FUSE_WHY_NONE) return;
    st->why[slot] = (unsigned char)why;
    st->why_aux[slot] = aux;
}

int fuse_operand_slot(const fuse_state *st, int v, int operand) {
    const ir_node *n = st->g->nodes[v];
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] == operand) return k;
    return -1;
}

/* ---- state ------------------------------------------------------------------------------- */

static void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count + 1, size);
    if (!p) ir_internal_error(__FILE__, __LINE__, "out of memory");
    return p;
}

static void build_users(fuse_state *st) {
    const ir_graph *g = st->g;
    st->user_start = xcalloc((size_t)st->n + 1, sizeof(int));
    st->edge_start = xcalloc((size_t)st->n + 1, sizeof(int));
    for (int i = 0; i < st->n; i++) {
        st->edge_start[i + 1] = st->edge_start[i] + g->nodes[i]->n_in;
        for (int k = 0; k < g->nodes[i]->n_in; k++) st->user_start[g->nodes[i]->in[k] + 1]++;
    }
    for (int i = 0; i < st->n; i++) st->user_start[i + 1] += st->user_start[i];
    int edges = st->edge_start[st->n];
    st->users = xcalloc((size_t)edges, sizeof(int));
    int *fill = xcalloc((size_t)st->n, sizeof(int));
    for (int i = 0; i < st->n; i++)
        for (int k = 0; k < g->nodes[i]->n_in; k++) {
            int p = g->nodes[i]->in[k];
            st->users[st->user_start[p] + fill[p]++] = i;
        }
    free(fill);
    st->why = xcalloc((size_t)edges, sizeof *st->why);
    st->why_aux = xcalloc((size_t)edges, sizeof *st->why_aux);
    st->is_output = xcalloc((size_t)st->n, sizeof(bool));
    for (int i = 0; i < g->n_outputs; i++) st->is_output[g->output_nodes[i]] = true;
}

static void state_init(fuse_state *st, ir_graph *g, pass_context *ctx) {
    memset(st, 0, sizeof *st);
    st->g = g;
    st->ctx = ctx;
    st->n = g->n_nodes;
    build_users(st);
    /* Recomputation clones at most one node per use. */
    st->cap = st->n + st->edge_start[st->n];
    size_t cap = (size_t)st->cap;
    st->parent = xcalloc(cap, sizeof(int));
    st->first = xcalloc(cap, sizeof(int));
    st->next = xcalloc(cap, sizeof(int));
    st->last = xcalloc(cap, sizeof(int));
    st->min_id = xcalloc(cap, sizeof(int));
    st->max_id = xcalloc(cap, sizeof(int));
    st->pos = xcalloc(cap, sizeof(int));
    st->kind = xcalloc(cap, sizeof(int));
    st->mark = xcalloc(cap, sizeof(int));
    st->stack = xcalloc(cap, sizeof(int));
    st->recompute = xcalloc(cap, sizeof(bool));
    for (int v = 0; v < st->cap; v++) {
        st->parent[v] = st->first[v] = st->last[v] = v;
        st->next[v] = -1;
        st->min_id[v] = st->max_id[v] = st->pos[v] = v;
        st->kind[v] = FUSE_NO_KIND;
    }
}

static void state_free(fuse_state *st) {
    free(st->user_start);
    free(st->users);
    free(st->edge_start);
    free(st->why);
    free(st->why_aux);
    free(st->is_output);
    free(st->parent);
    free(st->first);
    free(st->next);
    free(st->last);
    free(st->min_id);
    free(st->max_id);
    free(st->pos);
    free(st->kind);
    free(st->mark);
    free(st->stack);
    free(st->recompute);
}

/* ---- clusters into groups ------------------------------------------------------------------ */

/* Insertion sort by (position, id): clusters are small; a clone sorts with its original. */
static void sort_members(int *m, int count, const int *pos) {
    for (int i = 1; i < count; i++) {
        int v = m[i], j = i;
        while (j > 0 && (pos[m[j - 1]] > pos[v] || (pos[m[j - 1]] == pos[v] && m[j - 1] > v))) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = v;
    }
}

/* A view that no member reads is the group's output seen through a reshape: it stays outside,
 * a view of the value the kernel writes. Leaving it out cannot break convexity (nothing inside
 * reads it). Members are in order, so one backward sweep also drops chains of such views. */
static int drop_trailing_views(fuse_state *st, int *members, int count, bool *kept) {
    const ir_graph *g = st->g;
    for (int i = 0; i < count; i++) kept[members[i]] = true;
    for (int i = count - 1; i >= 0; i--) {
        int x = members[i];
        if (g->nodes[x]->op != IR_OP_RESHAPE || x >= st->n) continue;
        bool read_inside = false;
        for (int e = st->user_start[x]; e < st->user_start[x + 1] && !read_inside; e++) read_inside = kept[st->users[e]];
        kept[x] = read_inside;
    }
    int n = 0;
    for (int i = 0; i < count; i++) {
        if (kept[members[i]]) members[n++] = members[i];
        kept[members[i]] = false;
    }
    return n;
}

/* A cluster becomes a group when it holds two nodes that compute something: a lone op (with
 * views around it) is already one kernel. */
static void make_groups(fuse_state *st) {
    ir_graph *g = st->g;
    int *members = xcalloc((size_t)g->n_nodes, sizeof(int));
    bool *kept = xcalloc((size_t)g->n_nodes, sizeof(bool));
    for (int r = 0; r < g->n_nodes; r++) {
        if (st->parent[r] != r || st->kind[r] == FUSE_NO_KIND) continue;
        int count = 0, computing = 0;
        for (int x = st->first[r]; x >= 0; x = st->next[x]) {
            members[count++] = x;
            if (!ir_node_is_free(g->nodes[x])) computing++;
        }
        if (computing < 2) continue;
        sort_members(members, count, st->pos);
        count = drop_trailing_views(st, members, count, kept);
        int kind = st->kind[r];
        int group = ir_graph_add_group(g, fuse_kernel_name(g, members, count, kind), (ir_fusion_kind)kind);
        for (int i = 0; i < count; i++) g->nodes[members[i]]->group = group;
    }
    free(members);
    free(kept);
}

/* ---- --explain-fusion ----------------------------------------------------------------------- */

static const char *op_of(const ir_node *n) { return ir_op_name(n->op); }

static bool is_output(const ir_graph *g, const ir_node *n) {
    for (int i = 0; i < g->n_outputs; i++)
        if (g->output_nodes[i] == n->id) return true;
    return false;
}

static void print_reason(FILE *out, const ir_graph *g, fuse_why why, const ir_node *p, const ir_node *v, const ir_node *aux) {
    switch (why) {
    case FUSE_WHY_CONTRACTION_OPERAND:
        fprintf(out, "a contraction's operand is not fused into it (it would be recomputed per output tile)");
        break;
    case FUSE_WHY_CONTRACTION_PRODUCER:
        fprintf(out, "a contraction joins no group as a producer; only its elementwise epilogue joins it");
        break;
    case FUSE_WHY_OTHER_CONSUMER:
        fprintf(out, "%%%d has another consumer outside the epilogue%s", aux ? aux->id : p->id,
                is_output(g, aux ? aux : p) ? " (it is a graph output)" : "");
        break;
    case FUSE_WHY_EPILOGUE_OP:
        fprintf(out, "%s is not elementwise, so it is no contraction epilogue", op_of(v));
        break;
    case FUSE_WHY_EPILOGUE_SHAPE:
        fprintf(out, "%%%d has shape %s, not the contraction's output shape %s", v->id, ir_type_text(&v->type).s,
                ir_type_text(aux ? &aux->type : &p->type).s);
        break;
    case FUSE_WHY_REDUCE_AXES: fprintf(out, "reductions over different axes"); break;
    case FUSE_WHY_REDUCE_INPUT: fprintf(out, "reductions of differently shaped inputs"); break;
    case FUSE_WHY_ROW_SHAPE:
        aux = aux ? aux : v;
        fprintf(out, "%%%d has shape %s, neither the reduction's input shape nor its reduced shape", aux->id,
                ir_type_text(&aux->type).s);
        break;
    case FUSE_WHY_ROW_BROADCAST:
        fprintf(out, "the reduced value %%%d does not broadcast back along the reduced axes", p->id);
        break;
    case FUSE_WHY_NOT_CONVEX:
        fprintf(out, "fusing would leave a path out of the group and back in (not convex)");
        break;
    case FUSE_WHY_RECOMPUTE:
        fprintf(out, "%%%d %s is expensive and would be recomputed for every broadcast element", p->id, op_of(p));
        break;
    case FUSE_WHY_WINDOW_RECOMPUTE:
        fprintf(out, "%%%d %s is expensive and would be recomputed for every window of %s that reads it", p->id,
                op_of(p), op_of(v));
        break;
    case FUSE_WHY_INDEX_SPACE:
        fprintf(out, "%%%d is also used elsewhere, over a different index space than the loop's", p->id);
        break;
    case FUSE_WHY_KIND:
        fprintf(out, "%%%d ends a reduce group; %s is not on its rows' or reduced shape", p->id, op_of(v));
        break;
    case FUSE_WHY_UNFUSABLE:
        fprintf(out, "%s runs as its own kernel (no fusion rule takes it)", op_of(aux ? aux : v));
        break;
    case FUSE_WHY_SHARED:
        fprintf(out, "%%%d %s feeds several kernels and is too expensive to duplicate: it is written out once",
                p->id, op_of(p));
        break;
    case FUSE_WHY_EPILOGUE_INPUT:
        fprintf(out, "%%%d is in a contraction's epilogue, which reads its other operands and fuses no producer",
                v->id);
        break;
    default: fprintf(out, "no fusion rule joins %s and %s", op_of(p), op_of(v)); break;
    }
}

/* Pools (max_pool2d_grad too, a scatter like gather_grad), composites, gather. */
static bool is_unfusable(const ir_node *n) {
    unsigned f = ir_op_table[n->op].flags;
    return ((f & (IR_WINDOW | IR_COMPOSITE)) && !fuse_is_window_sum(n)) || n->op == IR_OP_GATHER ||
           n->op == IR_OP_GATHER_GRAD;
}

/* How many kernels read p's value (a lone consumer is a kernel of its own). */
static int consumer_kernels(const ir_graph *g, const ir_node *p) {
    int count = 0, last_group = -1;
    for (int i = p->id + 1; i < g->n_nodes; i++) {
        const ir_node *u = g->nodes[i];
        bool uses = false;
        for (int k = 0; k < u->n_in; k++) uses |= u->in[k] == p->id;
        if (!uses || (u->group >= 0 && (u->group == p->group || u->group == last_group))) continue;
        count++;
        if (u->group >= 0) last_group = u->group;
    }
    return count;
}

/* A reason from the final grouping, for pairs no phase recorded one for. */
static fuse_why classify(const ir_graph *g, const ir_node *p, const ir_node *v, const ir_node **aux) {
    *aux = NULL;
    unsigned pf = ir_op_table[p->op].flags, vf = ir_op_table[v->op].flags;
    if (vf & IR_CONTRACTION) return FUSE_WHY_CONTRACTION_OPERAND;
    if (is_unfusable(v) || is_unfusable(p)) {
        *aux = is_unfusable(v) ? v : p;
        return FUSE_WHY_UNFUSABLE;
    }
    bool p_contraction = (pf & IR_CONTRACTION) || (p->group >= 0 && g->groups[p->group].kind == IR_FUSION_CONTRACTION);
    if (p_contraction) {
        if (!(vf & IR_ELEMENTWISE)) return FUSE_WHY_EPILOGUE_OP;
        if (!fuse_same_dims(&p->type, &v->type)) return FUSE_WHY_EPILOGUE_SHAPE;
        return FUSE_WHY_CONTRACTION_PRODUCER;
    }
    if (v->group >= 0 && g->groups[v->group].kind == IR_FUSION_CONTRACTION) return FUSE_WHY_EPILOGUE_INPUT;
    if (p->group >= 0 && g->groups[p->group].kind == IR_FUSION_REDUCE) return FUSE_WHY_KIND;
    if (!fuse_is_cheap(p) && consumer_kernels(g, p) > 1) return FUSE_WHY_SHARED;
    return FUSE_WHY_NO_RULE;
}

/* The producer a consumer really reads: views outside the consumer's group are seen through. */
static const ir_node *producer_of(const ir_graph *g, const ir_node *v, int k, int *chain, int *n_chain) {
    const ir_node *p = ir_operand(g, v, k);
    *n_chain = 0;
    while (p->op == IR_OP_RESHAPE && p->group < 0 && *n_chain < 64) {
        chain[(*n_chain)++] = p->id;
        p = ir_operand(g, p, 0);
    }
    return p;
}

static void explain_edge(fuse_state *st, ir_node *const *old, const int *old_of, int ov, int k, bool *said_graph) {
    const ir_graph *g = st->g;
    const ir_node *v = old[ov];
    int chain[64], n_chain;
    const ir_node *p = producer_of(g, v, k, chain, &n_chain);
    if ((ir_node_is_free(p) && p->group < 0) || (p->group >= 0 && p->group == v->group)) return;
    /* The reason recorded on this operand, or on a view between the two. */
    int slot = st->edge_start[ov] + k;
    fuse_why why = st->why[slot];
    int aux_id = st->why_aux[slot];
    for (int i = 0; why == FUSE_WHY_NONE && i < n_chain; i++) {
        int o = old_of[chain[i]];
        if (o < st->n) {
            why = st->why[st->edge_start[o]];
            aux_id = st->why_aux[st->edge_start[o]];
        }
    }
    const ir_node *aux = NULL;
    if (why == FUSE_WHY_NONE) why = classify(g, p, v, &aux);
    else if (aux_id >= 0 && !old[aux_id]->dead) aux = old[aux_id];
    /* In a module of several graphs the ids need their graph: a header before its first line. */
    if (!*said_graph && g->module->n_graphs > 1) fprintf(st->ctx->explain, "graph @%s:\n", g->name);
    *said_graph = true;
    fprintf(st->ctx->explain, "not fused: %%%d %s -> %%%d %s: ", p->id, op_of(p), v->id, op_of(v));
    print_reason(st->ctx->explain, g, why, p, v, aux);
    fputc('\n', st->ctx->explain);
}

/* One line per producer -> consumer pair (through views) that ended in different kernels,
 * with the ids of the cleaned-up graph the dump prints. */
static void explain(fuse_state *st, ir_node *const *old, int total) {
    int *old_of = xcalloc((size_t)st->g->n_nodes, sizeof(int));
    bool said_graph = false;
    for (int i = 0; i < total; i++)
        if (!old[i]->dead) old_of[old[i]->id] = i;
    for (int id = 0; id < st->g->n_nodes; id++) {
        int ov = old_of[id];
        const ir_node *v = old[ov];
        /* Copies of recomputed producers read only sources: no pair to explain. */
        if (ov >= st->n || (ir_node_is_free(v) && v->group < 0)) continue;
        for (int k = 0; k < v->n_in; k++) explain_edge(st, old, old_of, ov, k, &said_graph);
    }
    free(old_of);
}

/* ---- the pass ------------------------------------------------------------------------------- */

bool pass_fuse(ir_graph *g, pass_context *ctx) {
    /* Fusion starts from an unfused graph: running it twice regroups from scratch, and a memory
     * plan made for other kernels no longer holds. */
    for (int i = 0; i < g->n_nodes; i++) {
        g->nodes[i]->group = -1;
        g->nodes[i]->offset = IR_NOT_PLANNED;
    }
    g->n_groups = 0;
    g->planned = false;
    fuse_state st;
    state_init(&st, g, ctx);
    fuse_mark_recompute(&st);
    fuse_contractions(&st);
    fuse_reductions(&st);
    fuse_loops(&st);
    fuse_recompute(&st);
    make_groups(&st);
    int total = g->n_nodes;
    ir_node **old = NULL;
    if (ctx->explain) {
        old = xcalloc((size_t)total, sizeof *old);
        memcpy(old, g->nodes, sizeof *old * (size_t)total);
    }
    bool ok = ir_graph_cleanup(g, ctx->diag);
    if (ok && old) explain(&st, old, total);
    free(old);
    state_free(&st);
    return ok;
}
