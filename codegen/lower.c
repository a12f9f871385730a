/* lower.c — Graph IR → Kernel IR: the program (slots, buffers where the memory plan put each
 * value), one kernel per entry of the graph's schedule in its order and under its name, then a
 * copy kernel for each graph output that no kernel writes in place (an input, a parameter, a
 * constant, another output, or a view of one). */
#include "codegen/lower.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- buffers ---------------------------------------------------------------------------------- */

static int add_buffer(cg_lower *w, const char *name, int slot, int64_t offset, const ir_type *t) {
    cg_program *p = w->p;
    int b = p->n_buffers++;
    p->buffers[b] = (cg_buffer){ir_strdup(w->a, name), slot, offset, t->dtype, ir_type_elems(t)};
    return b;
}

static int output_index(const ir_graph *g, int id) {
    for (int i = 0; i < g->n_outputs; i++)
        if (g->output_nodes[i] == id) return i;
    return -1;
}

/* Slot buffers first (inputs, outputs, the parameters this graph reads), then arena values in
 * node order. A view (reshape outside any group) reads its root's buffer. */
static void make_buffers(cg_lower *w) {
    const ir_graph *g = w->g;
    const ir_module *m = g->module;
    int *input_buf = ir_alloc(w->a, sizeof(int) * (size_t)(g->n_inputs + 1));
    int *output_buf = ir_alloc(w->a, sizeof(int) * (size_t)(g->n_outputs + 1));
    int *param_buf = ir_alloc(w->a, sizeof(int) * (size_t)(m->n_params + 1));
    for (int i = 0; i < g->n_inputs; i++) input_buf[i] = add_buffer(w, g->input_names[i], cg_slot_input(g, i), 0, &g->input_types[i]);
    for (int i = 0; i < g->n_outputs; i++)
        output_buf[i] = add_buffer(w, g->output_names[i], cg_slot_output(g, i), 0, &g->nodes[g->output_nodes[i]]->type);
    for (int i = 0; i < m->n_params; i++) param_buf[i] = -1;
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *n = g->nodes[id];
        int64_t k = n->attr[n->op == IR_OP_INPUT ? IR_ATTR_INDEX : IR_ATTR_PARAM].v[0];
        w->buf_of[id] = -1;
        if (n->op == IR_OP_INPUT) {
            w->buf_of[id] = input_buf[k];
        } else if (n->op == IR_OP_PARAM) {
            if (param_buf[k] < 0) param_buf[k] = add_buffer(w, m->params[k].name, cg_slot_param(g, (int)k), 0, &m->params[k].type);
            w->buf_of[id] = param_buf[k];
        } else if (n->op == IR_OP_RESHAPE && n->group < 0) {
            w->buf_of[id] = w->buf_of[w->live.root[id]];
        } else if (w->live.place[id] == IR_PLACE_ARENA) {
            char name[32];
            snprintf(name, sizeof name, "%%%d", id);
            w->buf_of[id] = add_buffer(w, name, 0, n->offset, &n->type);
        } else if (w->live.place[id] == IR_PLACE_EXTERNAL && w->live.kernel[id] >= 0) { /* a kernel writes it */
            w->buf_of[id] = output_buf[output_index(g, id)];
        }
    }
}

/* The plan's invariants this lowering relies on, and no grad node left; a failure is a bug
 * upstream. */
static bool check_plan(cg_lower *w) {
    const ir_graph *g = w->g;
    if (!g->planned) {
        ir_bug(w->d, g->loc, "lowering: graph '%s' has no memory plan; run the plan pass first", g->name);
        return false;
    }
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *n = g->nodes[id];
        if (n->op == IR_OP_GRAD) { /* the autodiff pass replaces every grad node (docs/training.md) */
            ir_bug(w->d, n->loc, "lowering: grad must be lowered by the autodiff pass (node %d of graph '%s')", id,
                   g->name);
            return false;
        }
        bool arena = w->live.place[id] == IR_PLACE_ARENA;
        if (arena != (n->offset >= 0) || (arena && n->offset + ir_node_bytes(n) > w->p->arena_bytes)) {
            ir_bug(w->d, n->loc, "lowering: %s (node %d of graph '%s') is planned at offset %lld, which does not "
                   "match where its value must live", ir_op_name(n->op), id, g->name, (long long)n->offset);
            return false;
        }
    }
    return true;
}

/* ---- kernels ------------------------------------------------------------------------------------ */

static void begin_kernel(cg_lower *w, cg_kernel *k, int first, int end) {
    w->k = k;
    w->first = first;
    w->end = end;
    w->n_loops = w->n_temps = 0;
    w->min_level = 0;
    w->cap_checks = 0;
    w->library_node = -1;
    w->scratch_buf = -1;
    w->epi_row = w->epi_col = NULL;
    w->epi_row_len = 0;
    w->level = -1;
    if (!w->chain) {
        w->cap_chain = 16;
        w->chain = malloc(sizeof *w->chain * (size_t)w->cap_chain);
        IR_ASSERT(w->chain != NULL);
    }
    w->chain[++w->level] = ir_alloc(w->a, sizeof(cg_scope));
    cg_memo_reset(w);
    k->kind = CG_KERNEL_LOOP;
    k->parallel_extent = 1;
    k->grain = 1;
    k->lib_buf[0] = k->lib_buf[1] = k->lib_buf[2] = -1;
}

/* The grain: a chunk worth a thread touches at least ~32k elements (the larger of what the
 * kernel reads and writes, by the cost model's bytes, per parallel iteration). */
static void end_kernel(cg_lower *w) {
    cg_kernel *k = w->k;
    IR_ASSERT(w->level == 0);
    k->n_body = w->chain[0]->n;
    k->body = w->chain[0]->stmts;
    for (int i = 0; i < k->n_body; i++) {
        const cg_stmt *s = k->body[i];
        IR_ASSERT(!(s->kind == CG_LOOP && (s->flags & CG_LOOP_PARALLEL)) || (i == 0 && k->n_body == 1));
    }
    if (k->n_body == 1 && k->body[0]->kind == CG_LOOP && (k->body[0]->flags & CG_LOOP_PARALLEL)) {
        k->parallel_extent = k->body[0]->extent;
        double bytes = k->cost.bytes_read > k->cost.bytes_written ? k->cost.bytes_read : k->cost.bytes_written;
        double per = k->parallel_extent > 0 ? bytes / 4 / (double)k->parallel_extent : 1;
        k->grain = cg_grain(per < 1 ? 1 : (int64_t)per);
        if (k->grain > k->parallel_extent && k->parallel_extent > 0) k->grain = k->parallel_extent;
    }
}

static bool kernel_is_empty(const cg_lower *w) {
    for (int id = w->first; id < w->end; id++)
        if (w->buf_of[id] >= 0 && ir_type_elems(&w->g->nodes[id]->type) > 0) return false;
    return true;
}

static void lower_kernel(cg_lower *w, const ir_kernel *kk, cg_kernel *k) {
    const ir_graph *g = w->g;
    k->name = ir_strdup(w->a, kk->name);
    k->cost = kk->cost;
    begin_kernel(w, k, kk->first, kk->first + kk->count);
    const ir_node *n = g->nodes[kk->first];
    if (!kernel_is_empty(w)) {
        ir_fusion_kind kind = kk->group >= 0 ? g->groups[kk->group].kind : IR_FUSION_LOOP;
        bool axes[IR_MAX_RANK];
        if (kk->group < 0 && (ir_op_table[n->op].flags & IR_CONTRACTION)) kind = IR_FUSION_CONTRACTION;
        if (kk->group < 0 && ir_reduced_axes(n, axes)) kind = IR_FUSION_REDUCE;
        bool scatter = n->op == IR_OP_GATHER_GRAD || n->op == IR_OP_MAX_POOL2D_GRAD;
        if (kk->group < 0 && scatter) cg_lower_scatter_kernel(w);
        else if (kind == IR_FUSION_CONTRACTION) cg_lower_contraction_kernel(w);
        else if (kind == IR_FUSION_REDUCE) cg_lower_reduce_kernel(w);
        else cg_lower_loop_kernel(w);
    }
    if (!w->failed) end_kernel(w);
}

/* out_i[j] = value[j]: a flat loop reading the output's value where it lives (or inlining it). */
static void lower_copy(cg_lower *w, int out, int buf, cg_kernel *k) {
    const ir_graph *g = w->g;
    const ir_node *n = g->nodes[g->output_nodes[out]];
    char name[300];
    snprintf(name, sizeof name, "copy_%s", g->output_names[out]);
    k->name = ir_strdup(w->a, name);
    double bytes = (double)ir_node_bytes(n);
    k->cost = (ir_cost){0, bytes, bytes};
    begin_kernel(w, k, 0, 0);
    int64_t count = ir_type_elems(&n->type);
    if (count > 0) {
        cg_loop_mark m;
        cg_coords c;
        bool loop = n->type.rank > 0;
        cg_expr *i = loop ? cg_var_ref(w, cg_open_loop(w, &m, 0, count, CG_LOOP_PARALLEL | CG_LOOP_VECTOR)) : cg_index(w, 0);
        w->min_level = loop ? 1 : 0;
        cg_delinearize(w, i, &n->type, &c);
        cg_emit_store(w, w->level, buf, i, cg_elem(w, n->id, &c), false);
        if (loop) cg_close_loop(w, &m);
    }
    end_kernel(w);
}

/* Output i needs a copy unless its node is computed by a kernel that writes it to slot i. */
static int count_copies(cg_lower *w, int *out_buf) {
    const ir_graph *g = w->g;
    int copies = 0;
    for (int i = 0; i < g->n_outputs; i++) {
        int id = g->output_nodes[i], buf = -1;
        for (int b = 0; b < w->p->n_buffers && buf < 0; b++)
            if (w->p->buffers[b].slot == cg_slot_output(g, i)) buf = b;
        out_buf[i] = buf;
        bool written = w->live.kernel[id] >= 0 && w->buf_of[id] == buf;
        if (!written) copies++;
        else out_buf[i] = -1;
    }
    return copies;
}

/* ---- the program ------------------------------------------------------------------------------- */

static void lower_free_state(cg_lower *w) {
    ir_liveness_free(&w->live);
    free(w->buf_of);
    free(w->var_level);
    free(w->var_extent);
    free(w->chain);
    cg_memo_free(w);
    cg_expr_table_free(w);
}

cg_program *cg_lower_graph(const ir_graph *g, ir_diag *d) {
    ir_arena *a = ir_arena_create();
    cg_program *p = ir_alloc(a, sizeof *p);
    p->arena = a;
    p->graph = g;
    p->n_slots = 1 + g->n_inputs + g->n_outputs + g->module->n_params;
    p->arena_bytes = ir_graph_arena_bytes(g);
    cg_lower w = {.p = p, .g = g, .d = d, .a = a};
    ir_liveness_compute(g, &w.live);
    w.buf_of = malloc(sizeof *w.buf_of * ((size_t)g->n_nodes + 1));
    IR_ASSERT(w.buf_of != NULL);
    ir_kernel *ks = NULL;
    int n_ks = ir_graph_kernels(g, &ks);
    p->buffers = ir_alloc(a, sizeof *p->buffers * (size_t)(g->n_inputs + g->n_outputs + g->module->n_params + g->n_nodes + n_ks + 1));
    make_buffers(&w);
    bool ok = check_plan(&w);
    int *out_buf = ir_alloc(a, sizeof(int) * (size_t)(g->n_outputs + 1));
    int copies = ok ? count_copies(&w, out_buf) : 0;
    p->kernels = ir_alloc(a, sizeof *p->kernels * (size_t)(n_ks + copies + 1));
    for (int i = 0; ok && i < n_ks && !w.failed; i++) lower_kernel(&w, &ks[i], &p->kernels[p->n_kernels++]);
    for (int i = 0; ok && i < g->n_outputs && !w.failed; i++)
        if (out_buf[i] >= 0) lower_copy(&w, i, out_buf[i], &p->kernels[p->n_kernels++]);
    free(ks);
    lower_free_state(&w);
    if (!ok || w.failed) {
        ir_arena_destroy(a);
        return NULL;
    }
    return p;
}

void cg_program_destroy(cg_program *p) {
    if (p) ir_arena_destroy(p->arena);
}
