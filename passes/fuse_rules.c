/* fuse_rules.c — which nodes the fusion pass puts together: a contraction with its elementwise
 * epilogue (output fusion), reductions over the same rows with the elementwise ops on the rows'
 * and the reduced shape (input fusion of reductions), and the node classes they share. Loops and
 * recomputed producers are in passes/fuse_loop.c. Every merge first asks fuse_would_cycle. */
#include "passes/fuse.h"

#include <stdlib.h>
#include <string.h>

/* ---- node classes ------------------------------------------------------------------------- */

bool fuse_same_dims(const ir_type *a, const ir_type *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

bool fuse_is_source(const ir_graph *g, const ir_node *n) {
    while (n->op == IR_OP_RESHAPE) n = ir_operand(g, n, 0);
    return n->op == IR_OP_INPUT || n->op == IR_OP_PARAM || n->op == IR_OP_CONSTANT;
}

/* Index maps and creation ops that a loop evaluates at any index without reading memory twice. */
static bool is_loop_movement(ir_op op) {
    return op == IR_OP_BROADCAST_TO || op == IR_OP_TRANSPOSE || op == IR_OP_SLICE || op == IR_OP_PAD ||
           op == IR_OP_CONCAT || op == IR_OP_RESHAPE || op == IR_OP_FULL || op == IR_OP_ARANGE ||
           op == IR_OP_ONE_HOT || op == IR_OP_ONE_HOT_CHECKED;
}

bool fuse_is_window_sum(const ir_node *n) { return n->op == IR_OP_AVG_POOL2D_GRAD; }

bool fuse_is_loop_op(const ir_node *n) {
    return (ir_op_table[n->op].flags & IR_ELEMENTWISE) || is_loop_movement(n->op) || fuse_is_window_sum(n);
}

/* Cheap: at most two flops per element (add, mul, relu, select, ...) or pure data movement.
 * Transcendentals (exp, tanh, erf, rsqrt, pow: 4 or more in ops.def) are not. */
bool fuse_is_cheap(const ir_node *n) {
    if (is_loop_movement(n->op) || n->op == IR_OP_CONSTANT) return true;
    return (ir_op_table[n->op].flags & IR_ELEMENTWISE) && ir_op_table[n->op].flops_per_elem <= 2;
}

/* A node no phase has put in a cluster yet. */
static bool is_alone(fuse_state *st, int v) {
    return fuse_find(st, v) == v && st->first[v] == v && st->last[v] == v && st->kind[v] == FUSE_NO_KIND;
}

static int use_count(const fuse_state *st, int v) {
    return st->user_start[v + 1] - st->user_start[v] + (st->is_output[v] ? 1 : 0);
}

/* ---- contraction epilogues -------------------------------------------------------------- */

/* The epilogue of contraction c: S = {c} plus consumers taken in node order. A consumer joins
 * when it is elementwise on exactly c's output shape and none of its other operands depends on
 * S (convexity). S is kept at its last state with exactly one value used outside, and that
 * value the newest member: a contraction kernel writes one result, its epilogue's last value. */
typedef struct epilogue {
    bool *in_s, *dep, *blocked;
    int *remaining;           /* uses of a member not (yet) inside S */
    int *added, n_added, best;
} epilogue;

static bool epilogue_op(fuse_state *st, int v, const ir_type *out) {
    const ir_node *n = st->g->nodes[v];
    return (ir_op_table[n->op].flags & IR_ELEMENTWISE) && fuse_same_dims(&n->type, out) && is_alone(st, v) &&
           !st->recompute[v];
}

/* Adds v to S; returns whether S now has exactly one escaping value, v. */
static bool epilogue_add(fuse_state *st, epilogue *e, int v, int *open) {
    const ir_node *n = st->g->nodes[v];
    e->in_s[v] = true;
    e->added[e->n_added++] = v;
    for (int k = 0; k < n->n_in; k++)
        if (e->in_s[n->in[k]] && --e->remaining[n->in[k]] == 0) (*open)--;
    e->remaining[v] = use_count(st, v);
    if (e->remaining[v] > 0) (*open)++;
    return *open == 1 && e->remaining[v] > 0;
}

static void epilogue_grow(fuse_state *st, epilogue *e, int c) {
    const ir_graph *g = st->g;
    const ir_type *out = &g->nodes[c]->type;
    e->in_s[c] = true;
    e->remaining[c] = use_count(st, c);
    int open = e->remaining[c] > 0;
    /* A value used by a node that cannot join (or by a graph output) stays open for good, so
     * once one exists no later state can have a single escaping value: stop there. */
    bool stuck = st->is_output[c];
    for (int v = c + 1; v < st->n && !stuck; v++) {
        const ir_node *n = g->nodes[v];
        bool uses_s = false, blocked = false;
        for (int k = 0; k < n->n_in; k++) {
            if (e->in_s[n->in[k]]) uses_s = true;
            else if (e->dep[n->in[k]]) blocked = true;
        }
        if (!uses_s) {
            e->dep[v] = blocked;
            continue;
        }
        if (!blocked && epilogue_op(st, v, out)) {
            if (epilogue_add(st, e, v, &open)) e->best = e->n_added;
            if (st->is_output[v]) stuck = true;
        } else {
            e->dep[v] = true;
            e->blocked[v] = blocked;
            stuck = true;
        }
    }
}

/* Why each consumer of the final S that stayed out did not join. */
static void epilogue_explain(fuse_state *st, const epilogue *e, int c, int root) {
    const ir_type *out = &st->g->nodes[c]->type;
    for (int x = st->first[root]; x >= 0; x = st->next[x]) {
        for (int u = st->user_start[x]; u < st->user_start[x + 1]; u++) {
            int v = st->users[u];
            const ir_node *n = st->g->nodes[v];
            /* A view is no kernel: the pair is the one through it (the final grouping says why). */
            if (fuse_in_cluster(st, v, root) || ir_node_is_free(n)) continue;
            int k = fuse_operand_slot(st, v, x);
            fuse_why why = FUSE_WHY_OTHER_CONSUMER;
            if (ir_op_table[n->op].flags & IR_CONTRACTION) why = FUSE_WHY_CONTRACTION_OPERAND;
            else if (!is_alone(st, v)) why = FUSE_WHY_EPILOGUE_INPUT;   /* an earlier contraction's */
            else if (!(ir_op_table[n->op].flags & IR_ELEMENTWISE)) why = FUSE_WHY_EPILOGUE_OP;
            else if (!fuse_same_dims(&n->type, out)) why = FUSE_WHY_EPILOGUE_SHAPE;
            else if (e->blocked[v]) why = FUSE_WHY_NOT_CONVEX;
            fuse_note(st, v, k, why, why == FUSE_WHY_EPILOGUE_SHAPE ? c : x);
        }
    }
}

static void fuse_epilogue(fuse_state *st, int c, epilogue *e) {
    size_t n = (size_t)st->n;
    memset(e->in_s, 0, n * sizeof(bool));
    memset(e->dep, 0, n * sizeof(bool));
    memset(e->blocked, 0, n * sizeof(bool));
    e->n_added = e->best = 0;
    epilogue_grow(st, e, c);
    int root = fuse_find(st, c);
    for (int i = 0; i < e->best; i++) {
        /* The node-level convexity above already covers paths through earlier epilogues; the
         * cluster check is the invariant every merge keeps. */
        if (fuse_would_cycle(st, root, e->added[i])) break;
        root = fuse_union(st, root, e->added[i], IR_FUSION_CONTRACTION);
    }
    epilogue_explain(st, e, c, root);
}

void fuse_contractions(fuse_state *st) {
    epilogue e;
    size_t n = (size_t)st->n + 1;
    e.in_s = calloc(n, sizeof(bool));
    e.dep = calloc(n, sizeof(bool));
    e.blocked = calloc(n, sizeof(bool));
    e.remaining = calloc(n, sizeof(int));
    e.added = calloc(n, sizeof(int));
    if (!e.in_s || !e.dep || !e.blocked || !e.remaining || !e.added) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int c = 0; c < st->n; c++)
        if ((ir_op_table[st->g->nodes[c]->op].flags & IR_CONTRACTION) && is_alone(st, c)) fuse_epilogue(st, c, &e);
    free(e.in_s);
    free(e.dep);
    free(e.blocked);
    free(e.remaining);
    free(e.added);
}

/* ---- row-wise reductions ------------------------------------------------------------------- */

/* The rows of a reduce group: the reductions' input shape X and their axes. Members are
 * reductions of X over the same axes, elementwise ops on X, and elementwise ops on the reduced
 * shape (with or without keepdims), so one kernel can walk the rows once per reduction. */
typedef struct rows {
    ir_type x, keep, drop;
    bool axes[IR_MAX_RANK];
} rows;

typedef enum { ROLE_NONE, ROLE_ROW, ROLE_REDUCED, ROLE_REDUCTION } row_role;

static void rows_init(rows *r, const ir_type *x, const bool axes[IR_MAX_RANK]) {
    r->x = r->keep = r->drop = *x;
    memcpy(r->axes, axes, sizeof r->axes);
    r->drop.rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (axes[i]) r->keep.dims[i] = 1;
        else r->drop.dims[r->drop.rank++] = x->dims[i];
    }
}

static row_role role_of(const rows *r, const ir_graph *g, const ir_node *n, fuse_why *why) {
    bool axes[IR_MAX_RANK];
    *why = FUSE_WHY_NONE;
    if (ir_reduced_axes(n, axes)) {
        if (!fuse_same_dims(&ir_operand(g, n, 0)->type, &r->x)) *why = FUSE_WHY_REDUCE_INPUT;
        else if (memcmp(axes, r->axes, sizeof axes) != 0) *why = FUSE_WHY_REDUCE_AXES;
        return *why == FUSE_WHY_NONE ? ROLE_REDUCTION : ROLE_NONE;
    }
    if (!(ir_op_table[n->op].flags & IR_ELEMENTWISE) && n->op != IR_OP_BROADCAST_TO) return ROLE_NONE;
    if (fuse_same_dims(&n->type, &r->x)) return ROLE_ROW;
    if (fuse_same_dims(&n->type, &r->keep) || fuse_same_dims(&n->type, &r->drop)) return ROLE_REDUCED;
    *why = FUSE_WHY_ROW_SHAPE;
    return ROLE_NONE;
}

/* NumPy broadcasting of t to X gives element x the value at x's row: the reduced axes have
 * size 1 (or are missing on the left), the others are X's own. */
static bool broadcasts_along_rows(const rows *r, const ir_type *t) {
    if (t->rank > r->x.rank) return false;
    int shift = r->x.rank - t->rank;
    for (int a = 0; a < r->x.rank; a++) {
        int64_t d = a >= shift ? t->dims[a - shift] : 1;
        if (r->axes[a] ? d != 1 : d != r->x.dims[a] && r->x.dims[a] != 1) return false;
    }
    return true;
}

/* A value of the group read by a row op must be a row value or a reduced value that
 * broadcasts back along the rows. */
static bool row_edge_ok(const rows *r, const ir_type *value, row_role consumer) {
    return consumer != ROLE_ROW || fuse_same_dims(value, &r->x) || broadcasts_along_rows(r, value);
}

/* Every edge between u and the cluster is a row-wise edge. */
static bool row_edges_ok(fuse_state *st, const rows *r, int root, int u, row_role role, int *bad_k, int *bad_v) {
    const ir_graph *g = st->g;
    const ir_node *n = g->nodes[u];
    fuse_why why;
    for (int k = 0; k < n->n_in; k++) {
        if (fuse_in_cluster(st, n->in[k], root) && !row_edge_ok(r, &ir_operand(g, n, k)->type, role)) {
            *bad_v = u, *bad_k = k;
            return false;
        }
    }
    for (int e = st->user_start[u]; e < st->user_start[u + 1]; e++) {
        int w = st->users[e];
        if (!fuse_in_cluster(st, w, root)) continue;
        if (!row_edge_ok(r, &n->type, role_of(r, g, g->nodes[w], &why))) {
            *bad_v = w, *bad_k = fuse_operand_slot(st, w, u);
            return false;
        }
    }
    return true;
}

/* Tries to add neighbour u of member m (slot k of consumer `v` is the edge between them). */
static bool reduce_try(fuse_state *st, const rows *r, int root, int u, int v, int k) {
    const ir_graph *g = st->g;
    if (u >= st->n || fuse_in_cluster(st, u, root) || ir_node_is_free(g->nodes[u]) || st->recompute[u]) return false;
    if (!is_alone(st, u)) return false;   /* in a contraction's group: classify in fuse.c says why */
    fuse_why why;
    row_role role = role_of(r, g, g->nodes[u], &why);
    if (role == ROLE_NONE) {
        if (why != FUSE_WHY_NONE) fuse_note(st, v, k, why, u);
        return false;
    }
    int bad_v, bad_k;
    if (!row_edges_ok(st, r, root, u, role, &bad_k, &bad_v)) {
        fuse_note(st, bad_v, bad_k, FUSE_WHY_ROW_BROADCAST, -1);
        return false;
    }
    if (fuse_would_cycle(st, root, u)) {
        fuse_note(st, v, k, FUSE_WHY_NOT_CONVEX, -1);
        return false;
    }
    fuse_union(st, root, u, IR_FUSION_REDUCE);
    return true;
}

/* Breadth-first from reduction r0 over producers and consumers. */
static void fuse_rows(fuse_state *st, int r0, int *queue) {
    const ir_graph *g = st->g;
    bool axes[IR_MAX_RANK];
    ir_reduced_axes(g->nodes[r0], axes);
    rows r;
    rows_init(&r, &ir_operand(g, g->nodes[r0], 0)->type, axes);
    st->kind[r0] = IR_FUSION_REDUCE;
    int head = 0, tail = 0;
    queue[tail++] = r0;
    while (head < tail) {
        int m = queue[head++];
        const ir_node *n = g->nodes[m];
        for (int k = 0; k < n->n_in; k++)
            if (reduce_try(st, &r, fuse_find(st, r0), n->in[k], m, k)) queue[tail++] = n->in[k];
        for (int e = st->user_start[m]; e < st->user_start[m + 1]; e++) {
            int u = st->users[e];
            if (reduce_try(st, &r, fuse_find(st, r0), u, u, fuse_operand_slot(st, u, m))) queue[tail++] = u;
        }
    }
    if (tail == 1) st->kind[r0] = FUSE_NO_KIND;
}

void fuse_reductions(fuse_state *st) {
    int *queue = calloc((size_t)st->n + 1, sizeof(int));
    if (!queue) ir_internal_error(__FILE__, __LINE__, "out of memory");
    bool axes[IR_MAX_RANK];
    for (int v = 0; v < st->n; v++)
        if (ir_reduced_axes(st->g->nodes[v], axes) && is_alone(st, v) && !st->recompute[v]) fuse_rows(st, v, queue);
    free(queue);
}
