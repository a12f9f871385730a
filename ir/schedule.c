/* schedule.c — the graph seen as kernels: one per fusion group, one per lone node that computes
 * something. The dumps, the JSON plan, the DOT boxes and the memory plan all count kernels and
 * their memory traffic the same way, through here. */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

bool ir_node_is_free(const ir_node *n) {
    return n->op == IR_OP_INPUT || n->op == IR_OP_PARAM || n->op == IR_OP_CONSTANT || n->op == IR_OP_RESHAPE;
}

static bool is_output(const ir_graph *g, int id) {
    for (int i = 0; i < g->n_outputs; i++)
        if (g->output_nodes[i] == id) return true;
    return false;
}

bool ir_node_escapes(const ir_graph *g, const ir_node *n) {
    if (is_output(g, n->id)) return true;
    for (int i = n->id + 1; i < g->n_nodes; i++) {
        const ir_node *user = g->nodes[i];
        if (n->group >= 0 && user->group == n->group) continue;
        for (int k = 0; k < user->n_in; k++)
            if (user->in[k] == n->id) return true;
    }
    return false;
}

static double type_bytes(const ir_type *t) { return (double)ir_type_elems(t) * (double)ir_dtype_size(t->dtype); }

/* A view reads through to its operand: a kernel reading reshape(p) reads p's buffer. */
static int storage_of(const ir_graph *g, int id) {
    while (g->nodes[id]->op == IR_OP_RESHAPE) id = g->nodes[id]->in[0];
    return id;
}

static ir_cost kernel_cost(const ir_graph *g, int first, int count) {
    ir_cost c = {0, 0, 0};
    int end = first + count;
    /* Each outside value is read once, however many nodes of the kernel use it. */
    bool *seen = calloc((size_t)g->n_nodes + 1, sizeof *seen);
    if (!seen) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int i = first; i < end; i++) {
        const ir_node *n = g->nodes[i];
        c.flops += ir_node_cost(g, n).flops;
        for (int k = 0; k < n->n_in; k++) {
            int src = storage_of(g, n->in[k]);
            if ((src >= first && src < end) || seen[src]) continue;
            seen[src] = true;
            c.bytes_read += type_bytes(&g->nodes[src]->type);
        }
        if (ir_node_escapes(g, n)) c.bytes_written += type_bytes(&n->type);
    }
    free(seen);
    return c;
}

static bool name_taken(const ir_graph *g, const ir_kernel *k, int n, const char *name) {
    for (int i = 0; i < g->n_groups; i++)
        if (strcmp(g->groups[i].name, name) == 0) return true;
    for (int i = 0; i < n; i++)
        if (strcmp(k[i].name, name) == 0) return true;
    return false;
}

/* "<op>_<dims>", made unique within the graph like the fusion pass's names ("_1", "_2", ...),
 * so that profiles and traces can tell two transposes apart. */
static const char *lone_node_name(const ir_graph *g, const ir_node *n, const ir_kernel *k, int n_kernels) {
    char buf[256], unique[280];
    size_t used = (size_t)snprintf(buf, sizeof buf, "%s", ir_op_table[n->op].name);
    for (int d = 0; d < n->type.rank && used < sizeof buf; d++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%c%lld", d ? 'x' : '_', (long long)n->type.dims[d]);
    snprintf(unique, sizeof unique, "%s", buf);
    for (int suffix = 1; name_taken(g, k, n_kernels, unique); suffix++)
        snprintf(unique, sizeof unique, "%s_%d", buf, suffix);
    return ir_strdup(g->module->arena, unique);
}

int ir_graph_kernels(const ir_graph *g, ir_kernel **out) {
    ir_kernel *k = malloc(sizeof *k * ((size_t)g->n_nodes + 1));
    if (!k) ir_internal_error(__FILE__, __LINE__, "out of memory");
    int n = 0;
    for (int i = 0; i < g->n_nodes;) {
        const ir_node *node = g->nodes[i];
        int count = 1;
        if (node->group >= 0) {
            while (i + count < g->n_nodes && g->nodes[i + count]->group == node->group) count++;
        } else if (ir_node_is_free(node)) {
            i++;
            continue;
        }
        k[n].group = node->group;
        k[n].name = node->group >= 0 ? g->groups[node->group].name : lone_node_name(g, node, k, n);
        k[n].first = i;
        k[n].count = count;
        k[n].cost = kernel_cost(g, i, count);
        n++;
        i += count;
    }
    *out = k;
    return n;
}

bool ir_reduced_axes(const ir_node *n, bool axes[IR_MAX_RANK]) {
    memset(axes, 0, sizeof(bool) * IR_MAX_RANK);
    switch (n->op) {
    case IR_OP_SUM:
    case IR_OP_MEAN:
    case IR_OP_MAX:
    case IR_OP_MIN:
        for (int i = 0; i < n->attr[IR_ATTR_AXES].n; i++) axes[n->attr[IR_ATTR_AXES].v[i]] = true;
        return true;
    case IR_OP_ARGMAX: axes[n->attr[IR_ATTR_AXIS].v[0]] = true; return true;
    case IR_OP_GLOBAL_AVG_POOL: axes[2] = axes[3] = true; return true;
    default: return false;
    }
}
