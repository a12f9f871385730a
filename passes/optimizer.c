/* optimizer.c — the optimizer pass: a graph's `minimize LOSS with OPT(...)` becomes one grad(LOSS, p)
 * node per trained parameter p and PyTorch's update of p and of its optimizer state, appended as
 * the graph's update outputs (docs/training.md has the formulas, written here in the same order).
 * The autodiff pass, next in every pipeline, replaces the grad nodes. */
#include "passes/passes.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct optim {
    ir_builder b;
    const ir_minimize *mz;
    int *param_node;          /* per parameter known when the pass started: its node, or -1 */
    int n_known;
    int n_consts;             /* the f32 constants built so far, one node per value */
    double const_value[16];
    int const_node[16];
    /* adam: the scalars every parameter's update shares (f32) */
    int step_size;            /* lr / (1 - beta1^t) */
    int bias2_sqrt;           /* sqrt(1 - beta2^t) */
} optim;

/* ---- the graph's parameters ------------------------------------------------------------------- */

static void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count + 1, size);
    if (!p) ir_internal_error(__FILE__, __LINE__, "out of memory");
    return p;
}

/* Fills first[p] with the first node reading parameter p (-1: none). A later node reading the
 * same parameter (possible in IR text) is replaced by the first, so that the gradient with
 * respect to that one node is the parameter's whole gradient. */
static bool merge_param_nodes(ir_graph *g, int *first, ir_diag *d) {
    for (int p = 0; p < g->module->n_params; p++) first[p] = -1;
    bool merged = false;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        if (n->op != IR_OP_PARAM) continue;
        int p = (int)n->attr[IR_ATTR_PARAM].v[0];
        if (first[p] < 0) {
            first[p] = i;
            continue;
        }
        ir_graph_replace_uses(g, i, first[p]);
        n->dead = true;
        merged = true;
    }
    if (!merged) return true;
    /* Dropping nodes renumbers the rest: read the first nodes again afterwards. */
    if (!ir_graph_cleanup(g, d)) return false;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->op == IR_OP_PARAM) first[g->nodes[i]->attr[IR_ATTR_PARAM].v[0]] = i;
    return true;
}

/* reach[i]: a gradient flows from the loss back to node i. As in PyTorch's autograd, it flows
 * through float values only: a path through an integer or bool value (argmax, a comparison, a
 * cast to i32) carries none. Operands come before their users, so one backward scan suffices. */
static bool *loss_reaches(const ir_graph *g, int loss) {
    bool *reach = xcalloc((size_t)g->n_nodes, sizeof *reach);
    reach[loss] = true;
    for (int i = loss; i >= 0; i--) {
        if (!reach[i]) continue;
        const ir_node *n = g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (ir_dtype_is_float(ir_operand(g, n, k)->type.dtype)) reach[n->in[k]] = true;
    }
    return reach;
}

/* The trained parameters, in the module's order: float parameters (not optimizer state) whose
 * node the loss reaches. Returns how many. */
static int trained_params(const ir_graph *g, const int *first, int loss, int *out) {
    bool *reach = loss_reaches(g, loss);
    const ir_module *m = g->module;
    int n = 0;
    for (int p = 0; p < m->n_params; p++)
        if (first[p] >= 0 && reach[first[p]] && ir_dtype_is_float(m->params[p].type.dtype) && !m->params[p].state)
            out[n++] = p;
    free(reach);
    return n;
}

static bool already_updated(const ir_graph *g, int param) {
    for (int k = 0; k < g->n_updates; k++)
        if (g->update_params[k] == param) return true;
    return false;
}

/* The state parameter GRAPH[.PARAM].WHAT of type t: the module's own when it already has it (IR
 * text of a module that was trained), else a new one. -1 after an error. */
static int state_param(optim *o, const char *param, const char *what, ir_type t) {
    ir_graph *g = o->b.g;
    ir_module *m = g->module;
    char name[512];
    if (param) snprintf(name, sizeof name, "%s.%s.%s", g->name, param, what);
    else snprintf(name, sizeof name, "%s.%s", g->name, what);
    int i = ir_module_find_param(m, name);
    if (i < 0) return ir_module_add_state(m, name, t, o->mz->loc);
    if (m->params[i].state && ir_type_equal(&m->params[i].type, &t)) return i;
    ir_error(o->b.d, o->mz->loc, "the optimizer's state '%s' must be a state parameter of type %s", name,
             ir_type_text(&t).s);
    ir_note(o->b.d, m->params[i].loc, "'%s' is declared here as %s%s", name, m->params[i].state ? "state " : "",
            ir_type_text(&m->params[i].type).s);
    return -1;
}

/* The node reading parameter p: the graph's own when it has one, else a new param node. */
static int param_node(optim *o, int p) {
    if (p < o->n_known && o->param_node[p] >= 0) return o->param_node[p];
    ir_attr attrs[IR_ATTR_COUNT] = {{0}};
    attrs[IR_ATTR_PARAM].v[0] = p;
    return ir_build(&o->b, IR_OP_PARAM, NULL, 0, attrs);
}

/* ---- the update rules ------------------------------------------------------------------------- */

/* Every update computes in f32 (f16 and bf16 are storage types, LANGUAGE.md §5) and rounds each
 * value it stores to the parameter's dtype; what it reads back of a stored value is the rounded
 * one, as PyTorch reads the buffer it just updated in place. In f32 the casts are no-ops. */
static int k(optim *o, double v) {
    for (int i = 0; i < o->n_consts; i++)
        if (o->const_value[i] == v) return o->const_node[i];
    int id = ir_build_scalar(&o->b, v, IR_F32);
    if (id >= 0 && o->n_consts < (int)(sizeof o->const_node / sizeof o->const_node[0])) {
        o->const_value[o->n_consts] = v;
        o->const_node[o->n_consts++] = id;
    }
    return id;
}

/* Parameter p's value in f32 (*value) and its f32 gradient with weight decay in PyTorch's L2
 * form, g + weight_decay * p, as SGD and Adam both begin. */
static int decayed_grad(optim *o, int p, int grad, int *value) {
    ir_builder *b = &o->b;
    *value = ir_build_f32(b, param_node(o, p));
    int g = ir_build_f32(b, grad);
    if (o->mz->weight_decay == 0) return g;
    int wd = k(o, o->mz->weight_decay);
    return ir_build_add(b, g, ir_build_mul(b, wd, *value));
}

/* torch.optim.SGD, dampening 0, no Nesterov:
 *   d = g + weight_decay * p;  buf = momentum * buf + d; d = buf;  p = p - lr * d
 * buf starts at zero, so the first step gives buf = d, as PyTorch's clone does. One node per
 * statement: C leaves the order of a call's arguments open, and the node order must not
 * depend on the compiler. */
static bool sgd_step(optim *o, int p, int grad) {
    const ir_minimize *mz = o->mz;
    ir_builder *b = &o->b;
    /* Copies: adding a state parameter may move the module's parameter array. */
    const char *name = b->g->module->params[p].name;
    ir_type t = b->g->module->params[p].type;
    int pv, d = decayed_grad(o, p, grad, &pv);
    int buf_param = -1, stored_buf = -1;
    if (mz->momentum != 0) {
        buf_param = state_param(o, name, "momentum_buffer", t);
        if (buf_param < 0) return false;
        int buf = ir_build_f32(b, param_node(o, buf_param));
        int momentum = k(o, mz->momentum);
        stored_buf = ir_build_cast(b, ir_build_add(b, ir_build_mul(b, momentum, buf), d), t.dtype);
        d = ir_build_f32(b, stored_buf);
    }
    int lr = k(o, mz->lr);
    int stored_p = ir_build_cast(b, ir_build_sub(b, pv, ir_build_mul(b, lr, d)), t.dtype);
    if (b->failed) return false;
    ir_graph_add_update(b->g, p, stored_p);
    if (buf_param >= 0) ir_graph_add_update(b->g, buf_param, stored_buf);
    return true;
}

/* 1 - beta^t */
static int bias_correction(optim *o, double beta, int t) {
    int one = k(o, 1), base = k(o, beta);
    return ir_build_sub(&o->b, one, ir_build_binary(&o->b, IR_OP_POW, base, t));
}

/* The step count and the two bias corrections every Adam update shares:
 *   t = t + 1;  step_size = lr / (1 - beta1^t);  bias2_sqrt = sqrt(1 - beta2^t)
 * The step is updated after every parameter (the graph's last update). Returns the new t. */
static int adam_shared(optim *o, int *step_param) {
    const ir_minimize *mz = o->mz;
    *step_param = state_param(o, NULL, "step", (ir_type){.dtype = IR_F32, .rank = 0});
    if (*step_param < 0) return -1;
    int step = param_node(o, *step_param);
    int t = ir_build_add(&o->b, step, k(o, 1));
    int bias1 = bias_correction(o, mz->beta1, t);
    int bias2 = bias_correction(o, mz->beta2, t);
    o->step_size = ir_build_div(&o->b, k(o, mz->lr), bias1);
    o->bias2_sqrt = ir_build_unary(&o->b, IR_OP_SQRT, bias2);
    return t;
}

/* torch.optim.Adam, no amsgrad (weight_decay in PyTorch's L2 form):
 *   g = g + weight_decay * p;  m = m + (1 - beta1) * (g - m);  v = beta2 * v + (1 - beta2) * g * g
 *   p = p - step_size * m / (sqrt(v) / bias2_sqrt + eps) */
static bool adam_step(optim *o, int p, int grad) {
    const ir_minimize *mz = o->mz;
    ir_builder *b = &o->b;
    const char *name = b->g->module->params[p].name;
    ir_type t = b->g->module->params[p].type;
    int m_param = state_param(o, name, "exp_avg", t);
    int v_param = m_param < 0 ? -1 : state_param(o, name, "exp_avg_sq", t);
    if (v_param < 0) return false;
    int pv, gv = decayed_grad(o, p, grad, &pv);
    /* PyTorch's lerp with a weight below 0.5: start + weight * (end - start). */
    int m = ir_build_f32(b, param_node(o, m_param));
    int one_minus_beta1 = k(o, 1 - mz->beta1);
    int m_step = ir_build_mul(b, one_minus_beta1, ir_build_sub(b, gv, m));
    int stored_m = ir_build_cast(b, ir_build_add(b, m, m_step), t.dtype);
    int v = ir_build_f32(b, param_node(o, v_param));
    int beta2 = k(o, mz->beta2);
    int decayed_v = ir_build_mul(b, beta2, v);
    int one_minus_beta2 = k(o, 1 - mz->beta2);
    int g2 = ir_build_mul(b, ir_build_mul(b, one_minus_beta2, gv), gv);
    int stored_v = ir_build_cast(b, ir_build_add(b, decayed_v, g2), t.dtype);
    int root_v = ir_build_unary(b, IR_OP_SQRT, ir_build_f32(b, stored_v));
    int eps = k(o, mz->eps);
    int denom = ir_build_add(b, ir_build_div(b, root_v, o->bias2_sqrt), eps);
    int step = ir_build_div(b, ir_build_mul(b, o->step_size, ir_build_f32(b, stored_m)), denom);
    int stored_p = ir_build_cast(b, ir_build_sub(b, pv, step), t.dtype);
    if (b->failed) return false;
    ir_graph_add_update(b->g, p, stored_p);
    ir_graph_add_update(b->g, m_param, stored_m);
    ir_graph_add_update(b->g, v_param, stored_v);
    return true;
}

/* ---- the pass ------------------------------------------------------------------------------ */

/* For each trained parameter: its gradient node, then its update and its state's; Adam's step
 * count last. Every update is an output after the graph's results (ir_graph_add_update). */
static bool lower_minimize(optim *o, const int *trained, int n_trained) {
    ir_graph *g = o->b.g;
    int loss = o->mz->loss, step_param = -1, t = -1;
    if (o->mz->kind == IR_OPTIM_ADAM && (t = adam_shared(o, &step_param)) < 0) return false;
    for (int i = 0; i < n_trained; i++) {
        int p = trained[i];
        int grad = ir_build_binary(&o->b, IR_OP_GRAD, loss, param_node(o, p));
        bool ok = o->mz->kind == IR_OPTIM_SGD ? sgd_step(o, p, grad) : adam_step(o, p, grad);
        if (!ok) return false;
    }
    if (step_param >= 0) ir_graph_add_update(g, step_param, t);
    return !o->b.failed;
}

static bool check_trained(const ir_graph *g, const int *trained, int n_trained, ir_diag *d) {
    const ir_minimize *mz = g->minimize;
    if (n_trained == 0) {
        ir_error(d, mz->loc, "the loss does not depend on any float parameter: there is nothing to train");
        return false;
    }
    for (int i = 0; i < n_trained; i++) {
        if (!already_updated(g, trained[i])) continue;
        ir_error(d, mz->loc, "parameter '%s' is trained here but graph '%s' already updates it",
                 g->module->params[trained[i]].name, g->name);
        return false;
    }
    return true;
}

bool pass_optimizer(ir_graph *g, pass_context *ctx) {
    if (!g->minimize) return true;
    const ir_minimize *mz = g->minimize;
    int n_params = g->module->n_params;
    int *first = xcalloc((size_t)n_params, sizeof *first), *trained = xcalloc((size_t)n_params, sizeof *trained);
    bool ok = merge_param_nodes(g, first, ctx->diag);
    int n_trained = ok ? trained_params(g, first, mz->loss, trained) : 0;
    ok = ok && check_trained(g, trained, n_trained, ctx->diag);
    if (ok) {
        optim o = {.b = {g, ctx->diag, mz->loc, false}, .mz = mz, .param_node = first, .n_known = n_params};
        ok = lower_minimize(&o, trained, n_trained);
    }
    if (ok) g->minimize = NULL;
    free(first);
    free(trained);
    return ok;
}
