/* rewrite.c — the few primitives every pass rewrites graphs with: clone a node, redirect uses,
 * mark what no output needs, and one cleanup that restores SSA order (topological, fusion
 * groups contiguous), renumbers and drops the dead. Passes append freely, then clean up once.
 * The roots are the graph's outputs (updates included) and the loss of its minimize line. */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

ir_node *ir_graph_clone_node(ir_graph *g, const ir_node *n) {
    ir_node *c = ir_graph_add_node(g, n->op, n->in, n->n_in, n->loc);
    memcpy(c->attr, n->attr, sizeof c->attr);
    c->type = n->type;
    return c;
}

void ir_graph_replace_uses(ir_graph *g, int from, int to) {
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        if (i == to) continue; /* the replacement may itself use `from` */
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == from) n->in[k] = to;
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->output_nodes[i] == from) g->output_nodes[i] = to;
    if (g->minimize && g->minimize->loss == from) g->minimize->loss = to;
}

int *ir_graph_use_counts(const ir_graph *g) {
    int *uses = calloc((size_t)g->n_nodes + 1, sizeof *uses);
    if (!uses) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i]->dead)
            for (int k = 0; k < g->nodes[i]->n_in; k++) uses[g->nodes[i]->in[k]]++;
    for (int i = 0; i < g->n_outputs; i++) uses[g->output_nodes[i]]++;
    if (g->minimize) uses[g->minimize->loss]++;
    return uses;
}

int ir_graph_mark_unused(ir_graph *g) {
    bool *live = calloc((size_t)g->n_nodes + 1, sizeof *live);
    if (!live) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < g->n_outputs; i++) live[g->output_nodes[i]] = true;
    if (g->minimize) live[g->minimize->loss] = true;
    /* Operands may sit after their users until cleanup, so iterate to a fixed point. */
    for (bool changed = true; changed;) {
        changed = false;
        for (int i = g->n_nodes - 1; i >= 0; i--) {
            if (!live[i] && g->nodes[i]->op != IR_OP_INPUT) continue;
            live[i] = true;
            for (int k = 0; k < g->nodes[i]->n_in; k++) {
                if (!live[g->nodes[i]->in[k]]) changed = true;
                live[g->nodes[i]->in[k]] = true;
            }
        }
    }
    int marked = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!live[i] && !g->nodes[i]->dead) {
            g->nodes[i]->dead = true;
            marked++;
        }
    }
    free(live);
    return marked;
}

/* A binary min-heap of node indices keyed by key[i]: Kahn's algorithm picks the ready node
 * that comes first, so an already-ordered graph keeps its order. */
typedef struct heap {
    int *items, n;
    const int64_t *key;
} heap;

static void heap_push(heap *h, int v) {
    int i = h->n++;
    h->items[i] = v;
    while (i > 0 && h->key[h->items[(i - 1) / 2]] > h->key[h->items[i]]) {
        int p = (i - 1) / 2, t = h->items[p];
        h->items[p] = h->items[i];
        h->items[i] = t;
        i = p;
    }
}

static int heap_pop(heap *h) {
    int top = h->items[0];
    h->items[0] = h->items[--h->n];
    for (int i = 0;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->key[h->items[l]] < h->key[h->items[m]]) m = l;
        if (r < h->n && h->key[h->items[r]] < h->key[h->items[m]]) m = r;
        if (m == i) break;
        int t = h->items[m];
        h->items[m] = h->items[i];
        h->items[i] = t;
        i = m;
    }
    return top;
}

/* Kahn's algorithm over `n` vertices whose edges are given by pred(v) lists in csr form.
 * Writes the order; returns false on a cycle. */
static bool toposort(int n, const int *pred_start, const int *pred, const int64_t *key, int *order) {
    int *pending = calloc((size_t)n + 1, sizeof *pending);
    int *succ_count = calloc((size_t)n + 1, sizeof *succ_count);
    int *succ_start = calloc((size_t)n + 2, sizeof *succ_start);
    int *succ = malloc(sizeof *succ * ((size_t)pred_start[n] + 1));
    heap h = {malloc(sizeof(int) * ((size_t)n + 1)), 0, key};
    if (!pending || !succ_count || !succ_start || !succ || !h.items) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int v = 0; v < n; v++) {
        pending[v] = pred_start[v + 1] - pred_start[v];
        for (int k = pred_start[v]; k < pred_start[v + 1]; k++) succ_count[pred[k]]++;
    }
    for (int v = 0; v < n; v++) succ_start[v + 1] = succ_start[v] + succ_count[v];
    memset(succ_count, 0, sizeof *succ_count * (size_t)n);
    for (int v = 0; v < n; v++)
        for (int k = pred_start[v]; k < pred_start[v + 1]; k++) succ[succ_start[pred[k]] + succ_count[pred[k]]++] = v;
    for (int v = 0; v < n; v++)
        if (pending[v] == 0) heap_push(&h, v);
    int done = 0;
    while (h.n > 0) {
        int v = heap_pop(&h);
        order[done++] = v;
        for (int k = succ_start[v]; k < succ_start[v + 1]; k++)
            if (--pending[succ[k]] == 0) heap_push(&h, succ[k]);
    }
    free(pending);
    free(succ_count);
    free(succ_start);
    free(succ);
    free(h.items);
    return done == n;
}

/* Edges between units: a unit is a fusion group or a single ungrouped node. */
typedef struct units {
    int n;
    int *of_node;       /* unit of each live node (indexed by old id) */
    int *pred_start, *pred;
    int64_t *key;       /* smallest old id in the unit */
} units;

static void units_free(units *u) {
    free(u->of_node);
    free(u->pred_start);
    free(u->pred);
    free(u->key);
}

static void build_units(const ir_graph *g, units *u, bool by_group) {
    int n = g->n_nodes;
    u->of_node = malloc(sizeof(int) * ((size_t)n + 1));
    u->key = malloc(sizeof(int64_t) * ((size_t)n + (size_t)g->n_groups + 1));
    u->pred_start = calloc((size_t)n + (size_t)g->n_groups + 2, sizeof(int));
    int edges = 0;
    for (int i = 0; i < n; i++) edges += g->nodes[i]->n_in;
    u->pred = malloc(sizeof(int) * ((size_t)edges + 1));
    if (!u->of_node || !u->key || !u->pred_start || !u->pred) ir_internal_error(__FILE__, __LINE__, "out of memory");
    int *group_unit = malloc(sizeof(int) * ((size_t)g->n_groups + 1));
    for (int k = 0; k < g->n_groups; k++) group_unit[k] = -1;
    u->n = 0;
    for (int i = 0; i < n; i++) {
        const ir_node *node = g->nodes[i];
        if (node->dead) continue;
        int grp = by_group ? node->group : -1;
        if (grp >= 0 && group_unit[grp] >= 0) {
            u->of_node[i] = group_unit[grp];
            continue;
        }
        u->key[u->n] = i;
        u->of_node[i] = u->n;
        if (grp >= 0) group_unit[grp] = u->n;
        u->n++;
    }
    /* Predecessor lists per unit, in csr form: count, prefix-sum, fill. */
    int *count = calloc((size_t)u->n + 1, sizeof(int));
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            const ir_node *node = g->nodes[i];
            if (node->dead) continue;
            int to = u->of_node[i];
            for (int k = 0; k < node->n_in; k++) {
                int from = u->of_node[node->in[k]];
                if (from == to) continue;
                if (pass == 0) u->pred_start[to + 1]++;
                else u->pred[u->pred_start[to] + count[to]++] = from;
            }
        }
        if (pass == 0)
            for (int v = 0; v < u->n; v++) u->pred_start[v + 1] += u->pred_start[v];
    }
    free(count);
    free(group_unit);
}

static bool check_no_dead_uses(const ir_graph *g, ir_diag *d) {
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        for (int k = 0; !n->dead && k < n->n_in; k++) {
            if (n->in[k] < 0 || n->in[k] >= g->n_nodes || g->nodes[n->in[k]]->dead) {
                ir_bug(d, n->loc, "%%%d uses a removed node", i);
                return false;
            }
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        if (g->nodes[g->output_nodes[i]]->dead) {
            ir_bug(d, g->loc, "output '%s' uses a removed node",
                     g->output_names[i]);
            return false;
        }
    }
    int loss = g->minimize ? g->minimize->loss : 0;
    if (g->minimize && (loss < 0 || loss >= g->n_nodes || g->nodes[loss]->dead)) {
        ir_bug(d, g->minimize->loc, "the loss that graph '%s' minimizes is a removed node", g->name);
        return false;
    }
    return true;
}

/* Orders the live nodes: units (groups) topologically first, then nodes by (unit rank, old id). */
static bool order_nodes(const ir_graph *g, int *order, int *n_live, ir_diag *d) {
    units u;
    build_units(g, &u, true);
    int *unit_order = malloc(sizeof(int) * ((size_t)u.n + 1));
    bool ok = toposort(u.n, u.pred_start, u.pred, u.key, unit_order);
    if (!ok) ir_bug(d, g->loc, "a fusion group of graph '%s' is not convex", g->name);
    units nodes;
    build_units(g, &nodes, false);
    if (ok) {
        int64_t *rank = malloc(sizeof(int64_t) * ((size_t)u.n + 1));
        for (int r = 0; r < u.n; r++) rank[unit_order[r]] = r;
        /* key = unit rank, then old id: the node-level sort keeps groups contiguous. */
        for (int v = 0; v < nodes.n; v++) {
            int old = (int)nodes.key[v];
            nodes.key[v] = rank[u.of_node[old]] * ((int64_t)g->n_nodes + 1) + old;
        }
        free(rank);
        int *node_order = malloc(sizeof(int) * ((size_t)nodes.n + 1));
        ok = toposort(nodes.n, nodes.pred_start, nodes.pred, nodes.key, node_order);
        if (!ok) ir_bug(d, g->loc, "graph '%s' has a cycle", g->name);
        for (int v = 0; ok && v < nodes.n; v++) order[v] = (int)(nodes.key[node_order[v]] % ((int64_t)g->n_nodes + 1));
        *n_live = nodes.n;
        free(node_order);
    }
    free(unit_order);
    units_free(&u);
    units_free(&nodes);
    return ok;
}

/* Drops groups no node belongs to and renumbers the rest. */
static void compact_groups(ir_graph *g) {
    int *new_index = malloc(sizeof(int) * ((size_t)g->n_groups + 1));
    bool *used = calloc((size_t)g->n_groups + 1, sizeof(bool));
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->group >= 0) used[g->nodes[i]->group] = true;
    int kept = 0;
    for (int k = 0; k < g->n_groups; k++) {
        new_index[k] = used[k] ? kept : -1;
        if (used[k]) g->groups[kept++] = g->groups[k];
    }
    g->n_groups = kept;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->group >= 0) g->nodes[i]->group = new_index[g->nodes[i]->group];
    free(new_index);
    free(used);
}

bool ir_graph_cleanup(ir_graph *g, ir_diag *d) {
    if (!check_no_dead_uses(g, d)) return false;
    int *order = malloc(sizeof(int) * ((size_t)g->n_nodes + 1));
    int *new_id = calloc((size_t)g->n_nodes + 1, sizeof(int));
    int n_live = 0;
    bool ok = order && new_id && order_nodes(g, order, &n_live, d);
    if (ok) {
        ir_node **nodes = ir_alloc(g->module->arena, sizeof *nodes * ((size_t)n_live + 1));
        for (int v = 0; v < n_live; v++) {
            new_id[order[v]] = v;
            nodes[v] = g->nodes[order[v]];
        }
        for (int v = 0; v < n_live; v++) {
            nodes[v]->id = v;
            for (int k = 0; k < nodes[v]->n_in; k++) nodes[v]->in[k] = new_id[nodes[v]->in[k]];
        }
        ir_graph_remap_roots(g, new_id);
        g->nodes = nodes;
        g->n_nodes = n_live;
        g->cap_nodes = n_live + 1;
        compact_groups(g);
    }
    free(order);
    free(new_id);
    return ok;
}
