/* plan_info.c — what a memory plan means: where each value must live (arena, the caller's
 * memory, a view, nowhere), the kernels that write and last read it, and when an output may
 * reuse a dying input's buffer. The plan pass assigns offsets from this; the verifier checks
 * a planned graph against it, so both agree on liveness by construction. */
#include "ir/ir.h"

#include <stdlib.h>

int64_t ir_node_bytes(const ir_node *n) { return ir_type_elems(&n->type) * (int64_t)ir_dtype_size(n->type.dtype); }

static void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count + 1, size);
    if (!p) ir_internal_error(__FILE__, __LINE__, "out of memory");
    return p;
}

/* Kernel numbers as ir_graph_kernels counts them: a run of one group is one kernel, a lone
 * node that is not free is one kernel, a lone free node is none (-1). */
static int number_kernels(const ir_graph *g, int *kernel) {
    int k = 0;
    for (int i = 0; i < g->n_nodes;) {
        const ir_node *n = g->nodes[i];
        if (n->group < 0 && ir_node_is_free(n)) {
            kernel[i++] = -1;
            continue;
        }
        int j = i + 1;
        while (n->group >= 0 && j < g->n_nodes && g->nodes[j]->group == n->group) j++;
        for (; i < j; i++) kernel[i] = k;
        k++;
    }
    return k;
}

/* ir_node_escapes for every node at once: an output, or read by a node of another group
 * (any reader at all, for a node outside groups). */
static bool *escaping_nodes(const ir_graph *g) {
    bool *esc = xcalloc((size_t)g->n_nodes, sizeof *esc);
    for (int i = 0; i < g->n_outputs; i++) esc[g->output_nodes[i]] = true;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *u = g->nodes[i];
        for (int k = 0; k < u->n_in; k++) {
            const ir_node *v = g->nodes[u->in[k]];
            if (v->group < 0 || v->group != u->group) esc[v->id] = true;
        }
    }
    return esc;
}

static ir_placement placement_of(const ir_node *n, bool is_output, bool escapes) {
    if (is_output || n->op == IR_OP_INPUT || n->op == IR_OP_PARAM) return IR_PLACE_EXTERNAL;
    if (n->op == IR_OP_CONSTANT) return IR_PLACE_NONE;
    if (n->group < 0) return n->op == IR_OP_RESHAPE ? IR_PLACE_ALIAS : IR_PLACE_ARENA;
    /* Inside a group, even a reshape is written by the kernel when it escapes. */
    return escapes ? IR_PLACE_ARENA : IR_PLACE_NONE;
}

/* A value read through views keeps the viewed buffer alive: each read extends its root's range. */
static void compute_last_reads(const ir_graph *g, ir_liveness *l) {
    for (int i = 0; i < g->n_nodes; i++) l->last[i] = l->kernel[i];
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *u = g->nodes[i];
        if (l->kernel[i] < 0) continue;
        for (int k = 0; k < u->n_in; k++) {
            int r = l->root[u->in[k]];
            if (l->kernel[r] != l->kernel[i] && l->last[r] < l->kernel[i]) l->last[r] = l->kernel[i];
        }
    }
    /* The caller reads the outputs after the last kernel. */
    for (int i = 0; i < g->n_outputs; i++) l->last[l->root[g->output_nodes[i]]] = l->n_kernels;
}

void ir_liveness_compute(const ir_graph *g, ir_liveness *l) {
    int n = g->n_nodes;
    l->n_nodes = n;
    l->place = xcalloc((size_t)n, sizeof *l->place);
    l->kernel = xcalloc((size_t)n, sizeof *l->kernel);
    l->root = xcalloc((size_t)n, sizeof *l->root);
    l->last = xcalloc((size_t)n, sizeof *l->last);
    l->n_kernels = number_kernels(g, l->kernel);
    bool *esc = escaping_nodes(g);
    bool *is_output = xcalloc((size_t)n, sizeof *is_output);
    for (int i = 0; i < g->n_outputs; i++) is_output[g->output_nodes[i]] = true;
    for (int i = 0; i < n; i++) {
        const ir_node *v = g->nodes[i];
        l->place[i] = placement_of(v, is_output[i], esc[i]);
        /* Operands come first, so an alias's operand already has its root. */
        l->root[i] = v->op == IR_OP_RESHAPE && v->group < 0 ? l->root[v->in[0]] : i;
    }
    compute_last_reads(g, l);
    free(esc);
    free(is_output);
}

void ir_liveness_free(ir_liveness *l) {
    free(l->place);
    free(l->kernel);
    free(l->root);
    free(l->last);
}

/* Index-to-index kernels only: a loop group, or a lone elementwise node. */
static bool kernel_is_elementwise(const ir_graph *g, const ir_node *n) {
    if (n->group >= 0) return g->groups[n->group].kind == IR_FUSION_LOOP;
    return (ir_op_table[n->op].flags & IR_ELEMENTWISE) != 0;
}

/* Every node of the kernel that depends on `in` must read it at the index it writes, so it is
 * elementwise (or a reshape: same linear index) over exactly in's elements; and no node of the
 * kernel is larger, so the kernel's loop is over that index space and never revisits an index
 * after writing it. */
static bool reads_only_own_index(const ir_graph *g, const ir_liveness *l, int first, int end, int in) {
    int64_t elems = ir_type_elems(&g->nodes[in]->type);
    bool *dep = xcalloc((size_t)(end - first), sizeof *dep);
    bool ok = true;
    for (int i = first; ok && i < end; i++) {
        const ir_node *u = g->nodes[i];
        for (int k = 0; k < u->n_in; k++) {
            int src = u->in[k];
            if (l->root[src] == in || (src >= first && dep[src - first])) dep[i - first] = true;
        }
        bool index_map = (ir_op_table[u->op].flags & IR_ELEMENTWISE) || u->op == IR_OP_RESHAPE;
        if (dep[i - first] && (!index_map || ir_type_elems(&u->type) != elems)) ok = false;
        if (!ir_node_is_free(u) && ir_type_elems(&u->type) > elems) ok = false;
    }
    free(dep);
    return ok;
}

bool ir_liveness_in_place_ok(const ir_graph *g, const ir_liveness *l, int out, int in) {
    if (out == in || l->place[out] != IR_PLACE_ARENA || l->place[in] != IR_PLACE_ARENA) return false;
    int k = l->kernel[out];
    if (k < 0 || l->kernel[in] == k || l->last[in] != k) return false;
    const ir_node *o = g->nodes[out], *x = g->nodes[in];
    if (ir_node_bytes(o) != ir_node_bytes(x) || ir_type_elems(&o->type) != ir_type_elems(&x->type)) return false;
    if (!kernel_is_elementwise(g, o)) return false;
    int first = out, end = out + 1;
    while (first > 0 && l->kernel[first - 1] == k) first--;
    while (end < g->n_nodes && l->kernel[end] == k) end++;
    return reads_only_own_index(g, l, first, end, in);
}

int64_t ir_graph_arena_bytes(const ir_graph *g) {
    int64_t top = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if (n->offset >= 0 && n->offset + ir_node_bytes(n) > top) top = n->offset + ir_node_bytes(n);
    }
    return (top + 63) / 64 * 64;
}

int64_t ir_graph_naive_bytes(const ir_graph *g) {
    int64_t sum = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->offset >= 0) sum += ir_node_bytes(g->nodes[i]);
    return sum;
}
