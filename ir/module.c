/* module.c — building modules: parameters, graphs, their inputs, outputs and nodes.
 * Everything lives in the module's arena and is freed with it. */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

ir_module *ir_module_create(void) {
    ir_arena *a = ir_arena_create();
    ir_module *m = ir_alloc(a, sizeof *m);
    m->arena = a;
    return m;
}

void ir_module_destroy(ir_module *m) {
    if (m) ir_arena_destroy(m->arena);
}

int ir_module_add_param(ir_module *m, const char *name, ir_type type, ir_init init, ir_loc loc) {
    if (m->n_params == m->cap_params) {
        int cap = m->cap_params ? 2 * m->cap_params : 8;
        m->params = ir_grow(m->arena, m->params, sizeof *m->params, (size_t)m->n_params, (size_t)cap);
        m->cap_params = cap;
    }
    ir_param *p = &m->params[m->n_params];
    p->name = ir_strdup(m->arena, name);
    p->type = type;
    p->init = init;
    if (init.path) p->init.path = ir_strdup(m->arena, init.path);
    if (init.key) p->init.key = ir_strdup(m->arena, init.key);
    p->split_axis = -1;
    p->loc = loc;
    return m->n_params++;
}

int ir_module_find_param(const ir_module *m, const char *name) {
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0) return i;
    return -1;
}

ir_graph *ir_module_add_graph(ir_module *m, const char *name, ir_loc loc) {
    if (m->n_graphs == m->cap_graphs) {
        int cap = m->cap_graphs ? 2 * m->cap_graphs : 4;
        m->graphs = ir_grow(m->arena, m->graphs, sizeof *m->graphs, (size_t)m->n_graphs, (size_t)cap);
        m->cap_graphs = cap;
    }
    ir_graph *g = ir_alloc(m->arena, sizeof *g);
    g->module = m;
    g->name = ir_strdup(m->arena, name);
    g->loc = loc;
    m->graphs[m->n_graphs++] = g;
    return g;
}

ir_graph *ir_module_find_graph(const ir_module *m, const char *name) {
    for (int i = 0; i < m->n_graphs; i++)
        if (strcmp(m->graphs[i]->name, name) == 0) return m->graphs[i];
    return NULL;
}

void ir_graph_add_input(ir_graph *g, const char *name, ir_type type) {
    ir_arena *a = g->module->arena;
    size_t n = (size_t)g->n_inputs;
    g->input_names = ir_grow(a, (void *)g->input_names, sizeof *g->input_names, n, n + 1);
    g->input_types = ir_grow(a, g->input_types, sizeof *g->input_types, n, n + 1);
    g->input_names[n] = ir_strdup(a, name);
    g->input_types[n] = type;
    g->n_inputs++;
}

static void append_output(ir_graph *g, const char *name, int node_id) {
    ir_arena *a = g->module->arena;
    size_t n = (size_t)g->n_outputs;
    g->output_names = ir_grow(a, (void *)g->output_names, sizeof *g->output_names, n, n + 1);
    g->output_nodes = ir_grow(a, g->output_nodes, sizeof *g->output_nodes, n, n + 1);
    g->output_names[n] = ir_strdup(a, name);
    g->output_nodes[n] = node_id;
    g->n_outputs++;
}

void ir_graph_add_output(ir_graph *g, const char *name, int node_id) {
    IR_ASSERT(g->n_updates == 0);   /* updates come after every result */
    append_output(g, name, node_id);
}

void ir_graph_add_update(ir_graph *g, int param, int node_id) {
    IR_ASSERT(param >= 0 && param < g->module->n_params);
    append_output(g, g->module->params[param].name, node_id);
    size_t n = (size_t)g->n_updates;
    g->update_params = ir_grow(g->module->arena, g->update_params, sizeof *g->update_params, n, n + 1);
    g->update_params[n] = param;
    g->n_updates++;
}

int ir_module_add_state(ir_module *m, const char *name, ir_type type, ir_loc loc) {
    int i = ir_module_add_param(m, name, type, (ir_init){.kind = IR_INIT_ZEROS}, loc);
    m->params[i].state = true;
    return i;
}

ir_node *ir_graph_add_node(ir_graph *g, ir_op op, const int *in, int n_in, ir_loc loc) {
    ir_arena *a = g->module->arena;
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 16;
        g->nodes = ir_grow(a, g->nodes, sizeof *g->nodes, (size_t)g->n_nodes, (size_t)cap);
        g->cap_nodes = cap;
    }
    ir_node *n = ir_alloc(a, sizeof *n);
    n->op = op;
    n->id = g->n_nodes;
    n->loc = loc;
    n->group = -1;
    n->offset = IR_NOT_PLANNED;
    n->n_in = n_in;
    if (n_in > 0) {
        n->in = ir_alloc(a, sizeof *n->in * (size_t)n_in);
        memcpy(n->in, in, sizeof *n->in * (size_t)n_in);
    }
    g->nodes[g->n_nodes++] = n;
    return n;
}

int ir_graph_add_group(ir_graph *g, const char *name, ir_fusion_kind kind) {
    ir_arena *a = g->module->arena;
    if (g->n_groups == g->cap_groups) {
        int cap = g->cap_groups ? 2 * g->cap_groups : 8;
        g->groups = ir_grow(a, g->groups, sizeof *g->groups, (size_t)g->n_groups, (size_t)cap);
        g->cap_groups = cap;
    }
    g->groups[g->n_groups] = (ir_group){ir_strdup(a, name), kind};
    return g->n_groups++;
}

static const char *const fusion_kind_names[IR_FUSION_KIND_COUNT] = {
    [IR_FUSION_LOOP] = "loop", [IR_FUSION_REDUCE] = "reduce", [IR_FUSION_CONTRACTION] = "contraction"};

const char *ir_fusion_kind_name(ir_fusion_kind k) {
    return (unsigned)k < IR_FUSION_KIND_COUNT ? fusion_kind_names[k] : "?";
}

bool ir_fusion_kind_lookup(const char *name, ir_fusion_kind *out) {
    for (int i = 0; i < IR_FUSION_KIND_COUNT; i++) {
        if (strcmp(fusion_kind_names[i], name) == 0) {
            *out = (ir_fusion_kind)i;
            return true;
        }
    }
    return false;
}
