/* test_optimizer.c — the optimizer pass (passes/optimizer.c) and the pipelines that run it: which
 * parameters are trained, the state parameters and updates it makes, its errors, and the update
 * formulas run by the interpreter for several steps against PyTorch's rules written out here in
 * f32 (each grad node replaced by an input holding a chosen gradient, so that the autodiff pass
 * is not needed). Graphs come from .tg sources through the frontend. */
#include "frontend/frontend.h"
#include "passes/passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

/* ---- compiling and running ------------------------------------------------------------------ */

typedef struct fixture {
    ir_diag d;
    FILE *log;
    ir_module *m;
    ir_graph *g;              /* the module's first graph */
    char text[4096];          /* what was reported */
} fixture;

static void read_log(fixture *f) {
    fflush(f->log);
    rewind(f->log);
    f->text[fread(f->text, 1, sizeof f->text - 1, f->log)] = 0;
}

static bool compile(fixture *f, const char *src) {
    memset(f, 0, sizeof *f);
    f->log = tmpfile();
    ir_diag_init(&f->d, f->log);
    int file = ir_diag_add_source(&f->d, "test.tg", src, strlen(src));
    f->m = fe_compile(&f->d, file, &(fe_options){NULL, 0});
    read_log(f);
    CHECK(f->m, "%s", f->text);
    if (f->m) f->g = f->m->graphs[0];
    return f->m != NULL;
}

static void release(fixture *f) {
    ir_module_destroy(f->m);
    ir_diag_free(&f->d);
    fclose(f->log);
}

/* Runs the optimizer pass on the first graph; false (with the messages in f->text) on error. */
static bool run_optimizer(fixture *f) {
    pass_context ctx = {&f->d, NULL, 64 << 10};
    bool ok = pass_optimizer(f->g, &ctx) && f->d.errors == 0;
    read_log(f);
    return ok;
}

/* Each grad(loss, p) node becomes a new graph input, named after p: the test gives the gradient. */
static void grads_as_inputs(fixture *f) {
    ir_graph *g = f->g;
    int n = g->n_nodes;
    for (int i = 0; i < n; i++) {
        ir_node *grad = g->nodes[i];
        if (grad->op != IR_OP_GRAD) continue;
        const ir_node *p = ir_operand(g, grad, 1);
        char name[300];
        snprintf(name, sizeof name, "grad_%s", f->m->params[p->attr[IR_ATTR_PARAM].v[0]].name);
        ir_graph_add_input(g, name, grad->type);
        ir_node *in = ir_graph_add_node(g, IR_OP_INPUT, NULL, 0, grad->loc);
        in->attr[IR_ATTR_INDEX].v[0] = g->n_inputs - 1;
        CHECK(ir_infer(g, in, &f->d));
        ir_graph_replace_uses(g, grad->id, in->id);
        grad->dead = true;
    }
    CHECK(ir_graph_cleanup(g, &f->d));
}

static int update_of(const ir_graph *g, const char *param) {
    for (int k = 0; k < g->n_updates; k++)
        if (strcmp(g->module->params[g->update_params[k]].name, param) == 0) return g->n_outputs - g->n_updates + k;
    return -1;
}

static ir_tensor tensor(const ir_type *t) {
    ir_tensor x;
    if (!ir_tensor_alloc(&x, t)) abort();
    return x;
}

/* ---- PyTorch's rules in f32, the reference ---------------------------------------------------- */

/* The interpreter computes each f32 op in double and rounds once, which for + - * / and sqrt is
 * the f32 operation itself; pow is rounded from double's. */
static float powf_ref(float a, float b) { return (float)pow((double)a, (double)b); }

/* torch.optim.SGD: d = g + wd * p; buf = momentum * buf + d; d = buf; p = p - lr * d */
static void sgd_ref(float *p, float *buf, float g, float lr, float momentum, float wd) {
    float d = wd != 0 ? g + wd * *p : g;
    if (momentum != 0) {
        *buf = momentum * *buf + d;
        d = *buf;
    }
    *p = *p - lr * d;
}

/* torch.optim.Adam, t already incremented, the docs/training.md form with f32 constants. */
static void adam_ref(float *p, float *m, float *v, float g, float t, float lr, double beta1, double beta2, float eps,
                     float wd) {
    float bias1 = 1.0f - powf_ref((float)beta1, t), bias2 = 1.0f - powf_ref((float)beta2, t);
    float step_size = lr / bias1, bias2_sqrt = sqrtf(bias2);
    if (wd != 0) g = g + wd * *p;
    *m = *m + (float)(1 - beta1) * (g - *m);
    *v = (float)beta2 * *v + (float)(1 - beta2) * g * g;
    *p = *p - step_size * *m / (sqrtf(*v) / bias2_sqrt + eps);
}

/* ---- the pipelines ------------------------------------------------------------------------------ */

/* optimizer, then autodiff, first at every level and for every stage but `graph`. */
static void test_pipelines(void) {
    const char *stages[] = {NULL, "opt", "fused", "plan"};
    for (int level = 0; level <= 3; level++) {
        for (int s = 0; s < 4; s++) {
            pass_pipeline p;
            pass_pipeline_for_level(level, stages[s], &p);
            CHECK(p.n >= 2 && p.ids[0] == PASS_OPTIMIZER && p.ids[1] == PASS_AUTODIFF, "-O%d %s", level,
                  stages[s] ? stages[s] : "(all)");
            for (int i = 2; i < p.n; i++)
                CHECK(p.ids[i] != PASS_OPTIMIZER && p.ids[i] != PASS_AUTODIFF, "-O%d: pass %d", level, i);
        }
        pass_pipeline p;
        pass_pipeline_for_level(level, "graph", &p);
        CHECK(p.n == 0, "-O%d --stage graph runs no pass", level);
    }
    pass_pipeline p;
    pass_pipeline_for_level(0, NULL, &p);
    CHECK(p.n == 2, "-O0: training lowered, nothing optimized");
    pass_pipeline_for_level(3, NULL, &p);
    CHECK(p.ids[p.n - 1] == PASS_PLAN, "-O3 ends with the plan");
}

/* ---- what the pass builds ----------------------------------------------------------------------- */

static const char *const trained_src =
    "param w : f32[2, 3] = ones()\n"
    "param b : f32[3] = zeros()\n"
    "param k : i32[3] = zeros()\n"
    "param u : f32[3] = ones()\n"
    "param unused : f32[4] = ones()\n"
    "graph train(x : f32[2, 3]) -> (loss, y) {\n"
    "  y = x * w + b + cast(k, f32) + cast(argmax(u, axis=0), f32)\n"
    "  loss = mean(y * y)\n"
    "  minimize loss with %s\n"
    "}\n";

static bool compile_with(fixture *f, const char *optimizer) {
    char src[1024];
    snprintf(src, sizeof src, trained_src, optimizer);
    return compile(f, src);
}

static void expect_state(const fixture *f, const char *name, const char *type) {
    int i = ir_module_find_param(f->m, name);
    CHECK(i >= 0, "no state parameter '%s'", name);
    if (i < 0) return;
    const ir_param *p = &f->m->params[i];
    CHECK(p->state && p->init.kind == IR_INIT_ZEROS && strcmp(ir_type_text(&p->type).s, type) == 0, "%s: %s", name,
          ir_type_text(&p->type).s);
}

/* w and b are trained; k (an integer), u (reached only through argmax) and unused are not. */
static void test_sgd_structure(void) {
    fixture f;
    if (!compile_with(&f, "sgd(0.1, momentum=0.9, weight_decay=0.01)")) return;
    int n_params = f.m->n_params, n_before = f.g->n_nodes, loss = f.g->minimize->loss;
    CHECK(run_optimizer(&f), "%s", f.text);
    CHECK(!f.g->minimize, "the minimize line is cleared");
    CHECK(f.m->n_params == n_params + 2, "two momentum buffers, got %d parameters", f.m->n_params);
    expect_state(&f, "train.w.momentum_buffer", "f32[2,3]");
    expect_state(&f, "train.b.momentum_buffer", "f32[3]");
    const char *order[] = {"w", "train.w.momentum_buffer", "b", "train.b.momentum_buffer"};
    CHECK(f.g->n_updates == 4 && ir_graph_n_results(f.g) == 2, "%d updates", f.g->n_updates);
    for (int k = 0; k < f.g->n_updates && k < 4; k++)
        CHECK(strcmp(f.g->output_names[2 + k], order[k]) == 0, "update %d is %s", k, f.g->output_names[2 + k]);
    int grads = 0;
    for (int i = 0; i < f.g->n_nodes; i++) {
        const ir_node *n = f.g->nodes[i];
        CHECK(n->op != IR_OP_GRAD || n->in[0] == loss, "grad of the loss");
        grads += n->op == IR_OP_GRAD;
        if (i >= n_before) CHECK(n->loc.line == 9 && n->loc.col == 3, "node %d is not at the minimize", i);
    }
    CHECK(grads == 2, "one grad node per trained parameter, got %d", grads);
    /* p - lr * d, with d the new buffer */
    const ir_node *new_w = f.g->nodes[f.g->output_nodes[update_of(f.g, "w")]];
    CHECK(new_w->op == IR_OP_SUB && ir_operand(f.g, new_w, 1)->op == IR_OP_MUL &&
              ir_operand(f.g, new_w, 1)->in[1] == f.g->output_nodes[update_of(f.g, "train.w.momentum_buffer")],
          "w = w - lr * buf");
    CHECK(ir_verify_module(f.m, &f.d), "verifier");
    release(&f);
}

/* Without momentum no state at all; a parameter read by two param nodes (IR text may have that)
 * gets one gradient, of the merged node. */
static void test_plain_sgd(void) {
    fixture f;
    if (!compile(&f, "param w : f32[] = ones()\n"
                     "graph train(x : f32[3]) -> (loss) {\n  loss = sum(x * w)\n  minimize loss with sgd(0.5)\n}\n"))
        return;
    ir_node *second = ir_graph_add_node(f.g, IR_OP_PARAM, NULL, 0, IR_NO_LOC);
    second->attr[IR_ATTR_PARAM].v[0] = 0;
    CHECK(ir_infer(f.g, second, &f.d));
    int in[2] = {f.g->minimize->loss, second->id};
    ir_node *sum = ir_graph_add_node(f.g, IR_OP_ADD, in, 2, IR_NO_LOC);
    CHECK(ir_infer(f.g, sum, &f.d));
    f.g->minimize->loss = sum->id;
    int n_params = f.m->n_params;
    CHECK(run_optimizer(&f), "%s", f.text);
    CHECK(f.m->n_params == n_params && f.g->n_updates == 1 && strcmp(f.g->output_names[1], "w") == 0, "one update");
    int params = 0;
    for (int i = 0; i < f.g->n_nodes; i++) params += f.g->nodes[i]->op == IR_OP_PARAM;
    CHECK(params == 1, "param nodes merged: %d left", params);
    release(&f);
}

static void test_adam_structure(void) {
    fixture f;
    if (!compile_with(&f, "adam(1e-3)")) return;
    CHECK(run_optimizer(&f), "%s", f.text);
    expect_state(&f, "train.step", "f32[]");
    expect_state(&f, "train.w.exp_avg", "f32[2,3]");
    expect_state(&f, "train.w.exp_avg_sq", "f32[2,3]");
    expect_state(&f, "train.b.exp_avg", "f32[3]");
    expect_state(&f, "train.b.exp_avg_sq", "f32[3]");
    const char *order[] = {"w", "train.w.exp_avg", "train.w.exp_avg_sq", "b", "train.b.exp_avg", "train.b.exp_avg_sq",
                           "train.step"};
    CHECK(f.g->n_updates == 7, "%d updates", f.g->n_updates);
    for (int k = 0; k < f.g->n_updates && k < 7; k++)
        CHECK(strcmp(f.g->output_names[2 + k], order[k]) == 0, "update %d is %s", k, f.g->output_names[2 + k]);
    const ir_node *t = f.g->nodes[f.g->output_nodes[update_of(f.g, "train.step")]];
    CHECK(t->op == IR_OP_ADD && ir_operand(f.g, t, 0)->op == IR_OP_PARAM, "t = t + 1");
    release(&f);
}

/* f16 parameters: the update computes in f32 and stores f16 (a cast at the end of each). */
static void test_half(void) {
    fixture f;
    if (!compile(&f, "param h : f16[3] = ones()\n"
                     "graph train(x : f32[3]) -> (loss) {\n  loss = sum(x * cast(h, f32))\n"
                     "  minimize loss with adam(0.1, weight_decay=0.5)\n}\n"))
        return;
    CHECK(run_optimizer(&f), "%s", f.text);
    expect_state(&f, "train.h.exp_avg", "f16[3]");
    for (int k = 0; k < f.g->n_updates; k++) {
        const ir_node *n = f.g->nodes[f.g->output_nodes[ir_graph_n_results(f.g) + k]];
        bool step = k == f.g->n_updates - 1;
        CHECK(step ? n->type.dtype == IR_F32 : n->op == IR_OP_CAST && n->type.dtype == IR_F16, "update %d", k);
    }
    CHECK(ir_verify_module(f.m, &f.d), "verifier");
    release(&f);
}

/* A state parameter the module already has (a module parsed back from IR text) is reused. */
static void test_state_reused(void) {
    fixture f;
    if (!compile_with(&f, "sgd(0.1, momentum=0.5)")) return;
    ir_type t = {.dtype = IR_F32, .rank = 1, .dims = {3}};
    int buf = ir_module_add_state(f.m, "train.b.momentum_buffer", t, IR_NO_LOC);
    int n_params = f.m->n_params;
    CHECK(run_optimizer(&f), "%s", f.text);
    CHECK(f.m->n_params == n_params + 1, "only w's buffer is new");
    CHECK(f.g->update_params[update_of(f.g, "train.b.momentum_buffer") - ir_graph_n_results(f.g)] == buf, "reused");
    release(&f);
}

/* ---- errors ----------------------------------------------------------------------------------- */

static void expect_error(fixture *f, const char *message) {
    CHECK(!run_optimizer(f) && strstr(f->text, message), "want '%s', got: %s", message, f->text);
    release(f);
}

static void test_errors(void) {
    fixture f;
    if (compile(&f, "param w : f32[3] = ones()\nparam k : i32[3] = zeros()\n"
                    "graph train(x : f32[3]) -> (loss, y) {\n  y = x * w\n"
                    "  loss = sum(x * cast(k, f32)) + cast(argmax(w, axis=0), f32)\n"
                    "  minimize loss with sgd(0.1)\n}\n"))
        expect_error(&f, "test.tg:6:3: error: the loss does not depend on any float parameter");
    if (compile_with(&f, "sgd(0.1, momentum=0.5)")) {
        ir_module_add_param(f.m, "train.w.momentum_buffer", (ir_type){.dtype = IR_F32, .rank = 1, .dims = {3}},
                            (ir_init){.kind = IR_INIT_ZEROS}, IR_NO_LOC);
        expect_error(&f, "the optimizer's state 'train.w.momentum_buffer' must be a state parameter of type f32[2,3]");
    }
    if (compile_with(&f, "adam(0.1)")) {
        ir_module_add_state(f.m, "train.step", (ir_type){.dtype = IR_I32}, IR_NO_LOC);
        expect_error(&f, "the optimizer's state 'train.step' must be a state parameter of type f32[]");
    }
    if (compile_with(&f, "sgd(0.1)")) {
        ir_graph_add_update(f.g, 0, f.g->output_nodes[1]);
        expect_error(&f, "parameter 'w' is trained here but graph 'train' already updates it");
    }
}

/* ---- the formulas, run ------------------------------------------------------------------------ */

enum { STEPS = 4 };

/* Runs the lowered graph STEPS times with gradient grads[s][param][i] at step s, feeding each
 * update back as its parameter's value, and returns the parameters at the end in out. */
static bool train(fixture *f, float grads[STEPS][2][6], ir_tensor *params) {
    ir_graph *g = f->g;
    grads_as_inputs(f);
    ir_tensor *inputs = calloc((size_t)g->n_inputs, sizeof *inputs);
    ir_tensor *outputs = calloc((size_t)g->n_outputs, sizeof *outputs);
    for (int i = 0; i < f->m->n_params; i++) {
        params[i] = tensor(&f->m->params[i].type);
        CHECK(ir_param_init(&f->m->params[i], 0, &params[i], &f->d));
    }
    for (int i = 0; i < g->n_inputs; i++) inputs[i] = tensor(&g->input_types[i]);
    bool ok = true;
    for (int s = 0; s < STEPS && ok; s++) {
        for (int i = 1; i < g->n_inputs; i++) {   /* grad_w, grad_b in the order of their nodes */
            int which = strcmp(g->input_names[i], "grad_w") == 0 ? 0 : 1;
            for (int64_t e = 0; e < ir_type_elems(&g->input_types[i]); e++)
                ir_tensor_set(&inputs[i], e, grads[s][which][e]);
        }
        ok = ir_interp_graph(g, params, inputs, outputs, &f->d);
        for (int k = 0; k < g->n_updates && ok; k++) {
            int p = g->update_params[k], out = ir_graph_n_results(g) + k;
            ir_tensor_free(&params[p]);
            params[p] = outputs[out];
            outputs[out].data = NULL;
        }
        for (int i = 0; i < g->n_outputs; i++) ir_tensor_free(&outputs[i]);
    }
    read_log(f);
    CHECK(ok, "%s", f->text);
    for (int i = 0; i < g->n_inputs; i++) ir_tensor_free(&inputs[i]);
    free(inputs);
    free(outputs);
    return ok;
}

static void random_grads(float grads[STEPS][2][6], unsigned seed) {
    for (int s = 0; s < STEPS; s++)
        for (int p = 0; p < 2; p++)
            for (int i = 0; i < 6; i++) {
                seed = seed * 1103515245u + 12345u;
                grads[s][p][i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
            }
}

/* Bit for bit: the graph computes the same f32 operations in the same order. */
static void expect_param(const fixture *f, const ir_tensor *params, const char *name, const float *want, int n) {
    int i = ir_module_find_param(f->m, name);
    CHECK(i >= 0, "%s", name);
    for (int e = 0; i >= 0 && e < n; e++) {
        float got = (float)ir_tensor_get(&params[i], e);
        CHECK(got == want[e], "%s[%d]: %.9g, want %.9g", name, e, (double)got, (double)want[e]);
    }
}

static void test_sgd_run(void) {
    fixture f;
    if (!compile_with(&f, "sgd(0.1, momentum=0.9, weight_decay=0.01)")) return;
    CHECK(run_optimizer(&f), "%s", f.text);
    float grads[STEPS][2][6], w[6], b[3], bw[6] = {0}, bb[3] = {0};
    random_grads(grads, 7);
    for (int i = 0; i < 6; i++) w[i] = 1;
    for (int i = 0; i < 3; i++) b[i] = 0;
    for (int s = 0; s < STEPS; s++) {
        for (int i = 0; i < 6; i++) sgd_ref(&w[i], &bw[i], grads[s][0][i], 0.1f, 0.9f, 0.01f);
        for (int i = 0; i < 3; i++) sgd_ref(&b[i], &bb[i], grads[s][1][i], 0.1f, 0.9f, 0.01f);
    }
    ir_tensor params[16];
    int n = f.m->n_params;
    if (train(&f, grads, params)) {
        expect_param(&f, params, "w", w, 6);
        expect_param(&f, params, "b", b, 3);
        expect_param(&f, params, "train.w.momentum_buffer", bw, 6);
        expect_param(&f, params, "train.b.momentum_buffer", bb, 3);
    }
    for (int i = 0; i < n; i++) ir_tensor_free(&params[i]);
    release(&f);
}

static void test_adam_run(void) {
    fixture f;
    if (!compile_with(&f, "adam(0.01, beta1=0.8, beta2=0.99, eps=0.05, weight_decay=0.1)")) return;
    CHECK(run_optimizer(&f), "%s", f.text);
    float grads[STEPS][2][6], w[6], b[3], mw[6] = {0}, vw[6] = {0}, mb[3] = {0}, vb[3] = {0}, t = 0;
    random_grads(grads, 11);
    for (int i = 0; i < 6; i++) w[i] = 1;
    for (int i = 0; i < 3; i++) b[i] = 0;
    for (int s = 0; s < STEPS; s++) {
        t = t + 1;
        for (int i = 0; i < 6; i++) adam_ref(&w[i], &mw[i], &vw[i], grads[s][0][i], t, 0.01f, 0.8, 0.99, 0.05f, 0.1f);
        for (int i = 0; i < 3; i++) adam_ref(&b[i], &mb[i], &vb[i], grads[s][1][i], t, 0.01f, 0.8, 0.99, 0.05f, 0.1f);
    }
    ir_tensor params[16];
    int n = f.m->n_params;
    if (train(&f, grads, params)) {
        expect_param(&f, params, "w", w, 6);
        expect_param(&f, params, "b", b, 3);
        expect_param(&f, params, "train.w.exp_avg", mw, 6);
        expect_param(&f, params, "train.b.exp_avg", mb, 3);
        expect_param(&f, params, "train.w.exp_avg_sq", vw, 6);
        expect_param(&f, params, "train.b.exp_avg_sq", vb, 3);
        expect_param(&f, params, "train.step", &t, 1);
    }
    for (int i = 0; i < n; i++) ir_tensor_free(&params[i]);
    release(&f);
}

int main(void) {
    test_pipelines();
    test_sgd_structure();
    test_plain_sgd();
    test_adam_structure();
    test_half();
    test_state_reused();
    test_errors();
    test_sgd_run();
    test_adam_run();
    printf("test_optimizer: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
