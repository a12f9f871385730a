/* test_train_ir.c — unit tests of the IR of a training step (ir.h: ir_minimize, updates, state
 * parameters): the rewrite helpers keep the minimize loss a root (use counts, replace_uses,
 * mark_unused, cleanup's renumbering), the verifier's checks of updates and minimize lines with
 * their exact messages, and the text form's round trip of a module built here, hyperparameters
 * bit for bit. */
#include "shape_fixture.h"

#include <math.h>

static ir_minimize *set_minimize(int loss, ir_optim_kind kind) {
    ir_minimize *mz = ir_alloc(fx.m->arena, sizeof *mz);
    *mz = (ir_minimize){
        .loss = loss, .kind = kind, .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .loc = IR_NO_LOC};
    fx.g->minimize = mz;
    return mz;
}

static ir_node *mean_all(int x) {
    ir_node *n = mk(IR_OP_MEAN, 1, x);
    n->attr[IR_ATTR_AXES].n = -1;
    return n;
}

/* x, w, an unused exp, x @ w (the output y), then the loss mean(x @ w) that only minimize reads. */
static ir_node *training_graph(void) {
    fx_reset();
    ir_module_add_param(fx.m, "w", ty("f32[3,4]"), (ir_init){.kind = IR_INIT_GLOROT}, IR_NO_LOC);
    int x = add_input("f32[2,3]");
    ir_node *w = mk(IR_OP_PARAM, 0);
    EXPECT_TYPE(w, "f32[3,4]");
    ir_node *unused = mk(IR_OP_EXP, 1, x);
    EXPECT_TYPE(unused, "f32[2,3]");
    ir_node *mm = mk(IR_OP_MATMUL, 2, x, w->id);
    EXPECT_TYPE(mm, "f32[2,4]");
    ir_node *loss = mean_all(mm->id);
    EXPECT_TYPE(loss, "f32[]");
    ir_graph_add_output(fx.g, "y", mm->id);
    set_minimize(loss->id, IR_OPTIM_SGD);
    return loss;
}

/* ---- rewrite helpers ------------------------------------------------------------------------ */

static void test_rewrites(void) {
    ir_node *loss = training_graph();
    int *uses = ir_graph_use_counts(fx.g);
    CHECK(uses[loss->id] == 1, "the minimize loss counts as a use: %d", uses[loss->id]);
    free(uses);

    /* The unused exp goes; the loss, which no output reads, stays and is renumbered. */
    CHECK(ir_graph_mark_unused(fx.g) == 1);
    CHECK(!loss->dead);
    CHECK(ir_graph_cleanup(fx.g, &fx.d));
    CHECK(fx.g->n_nodes == 4 && loss->id == 3 && fx.g->minimize->loss == 3, "loss at %d (node %d of %d)",
          fx.g->minimize->loss, loss->id, fx.g->n_nodes);
    CHECK(fx.g->nodes[fx.g->minimize->loss] == loss);
    EXPECT_VERIFY(NULL);

    /* A rewrite replaces the loss by sum(...) * 0.5 appended after it: the minimize line follows
     * the replacement, cleanup drops the old node and renumbers. */
    ir_node *s = mk(IR_OP_SUM, 1, loss->in[0]);
    s->attr[IR_ATTR_AXES].n = -1;
    EXPECT_TYPE(s, "f32[]");
    ir_node *half = mk(IR_OP_CONSTANT, 0);
    half->attr[IR_ATTR_VALUE].f = 0.5;
    EXPECT_TYPE(half, "f32[]");
    ir_node *scaled = mk(IR_OP_MUL, 2, s->id, half->id);
    EXPECT_TYPE(scaled, "f32[]");
    ir_graph_replace_uses(fx.g, loss->id, scaled->id);
    CHECK(fx.g->minimize->loss == scaled->id);
    loss->dead = true;
    CHECK(ir_graph_cleanup(fx.g, &fx.d));
    CHECK(fx.g->nodes[fx.g->minimize->loss] == scaled && scaled->id == fx.g->n_nodes - 1, "loss at %d",
          fx.g->minimize->loss);
    EXPECT_VERIFY(NULL);

    /* A loss removed without a replacement is a bug cleanup reports. */
    scaled->dead = true;
    long from = ftell(fx.out);
    CHECK(!ir_graph_cleanup(fx.g, &fx.d));
    CHECK(strstr(captured(from), "the loss that graph 'g' minimizes is a removed node") != NULL, "%s", captured(from));

    /* ir_graph_remap_roots moves outputs and the loss together. */
    loss = training_graph();
    int repl[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    repl[loss->id] = 1;
    repl[fx.g->output_nodes[0]] = 2;
    ir_graph_remap_roots(fx.g, repl);
    CHECK(fx.g->minimize->loss == 1 && fx.g->output_nodes[0] == 2);
}

/* ---- the verifier --------------------------------------------------------------------------- */

/* Runs the verifier; expects it to fail with exactly n errors, among them the messages a and b. */
static void expect_reports(int n, const char *a, const char *b) {
    fflush(fx.out);
    long from = ftell(fx.out);
    int errors = fx.d.errors;
    CHECK(!ir_verify_module(fx.m, &fx.d));
    fflush(fx.out);
    long end = ftell(fx.out);
    char text[2048] = "";
    fseek(fx.out, from, SEEK_SET);
    size_t got = fread(text, 1, sizeof text - 1, fx.out);
    text[got] = 0;
    fseek(fx.out, end, SEEK_SET);
    CHECK(fx.d.errors - errors == n, "%d errors, expected %d:\n%s", fx.d.errors - errors, n, text);
    CHECK(strstr(text, a) && strstr(text, b), "expected '%s' and '%s' in:\n%s", a, b, text);
}

static void test_verify_minimize(void) {
    training_graph();
    EXPECT_VERIFY(NULL);
    training_graph();
    fx.g->minimize->loss = 99;
    EXPECT_VERIFY("verifier: graph 'g' minimizes node 99, but the graph has 5 nodes");
    training_graph();
    fx.g->minimize->loss = 3;
    EXPECT_VERIFY("verifier: graph 'g' minimizes node 3, which is f32[2,4]; a loss is a scalar f32");
    training_graph();
    fx.g->minimize->kind = (ir_optim_kind)7;
    EXPECT_VERIFY("verifier: graph 'g' minimizes with an unknown optimizer 7");
    training_graph();
    fx.g->minimize->lr = NAN;
    EXPECT_VERIFY("verifier: graph 'g' minimizes with sgd(lr=nan): lr must be finite and >= 0");
    training_graph();
    fx.g->minimize->momentum = INFINITY;
    EXPECT_VERIFY("verifier: graph 'g' minimizes with sgd(momentum=inf): momentum must be finite and >= 0");
    training_graph();
    fx.g->minimize->weight_decay = -1;
    EXPECT_VERIFY("verifier: graph 'g' minimizes with sgd(weight_decay=-1): weight_decay must be finite and >= 0");
    training_graph();
    fx.g->minimize->kind = IR_OPTIM_ADAM;
    fx.g->minimize->momentum = -1; /* not adam's: ignored */
    EXPECT_VERIFY(NULL);
    fx.g->minimize->beta1 = 1;
    EXPECT_VERIFY("verifier: graph 'g' minimizes with adam(beta1=1): beta1 must be in [0, 1)");
    fx.g->minimize->beta1 = 0;
    fx.g->minimize->eps = -1e-9;
    EXPECT_VERIFY("verifier: graph 'g' minimizes with adam(eps=-1e-09): eps must be finite and >= 0");
}

/* training_graph without its minimize line, plus a state parameter and the updates the optimizer
 * pass would write: w by w - 1, the state by the loss. */
static void updating_graph(void) {
    ir_node *loss = training_graph();
    fx.g->minimize = NULL;
    int state = ir_module_add_state(fx.m, "g.step", ty("f32[]"), IR_NO_LOC);
    ir_node *one = mk(IR_OP_CONSTANT, 0);
    one->attr[IR_ATTR_VALUE].f = 1;
    EXPECT_TYPE(one, "f32[]");
    ir_node *w_new = mk(IR_OP_SUB, 2, 1, one->id);
    EXPECT_TYPE(w_new, "f32[3,4]");
    ir_graph_add_update(fx.g, 0, w_new->id);
    ir_graph_add_update(fx.g, state, loss->id);
}

static void test_verify_updates(void) {
    updating_graph();
    EXPECT_VERIFY(NULL);
    CHECK(ir_graph_n_results(fx.g) == 1 && fx.g->n_updates == 2);
    updating_graph();
    fx.g->output_nodes[1] = 3;
    EXPECT_VERIFY("verifier: graph 'g' updates parameter 'w' (f32[3,4]) with node 3, which is f32[2,4]");
    updating_graph();
    fx.g->update_params[1] = 42;
    EXPECT_VERIFY("verifier: output 'g.step' of graph 'g' updates parameter 42; the module has 2");
    updating_graph();
    fx.g->output_names[2] = "step";
    EXPECT_VERIFY("verifier: output 'step' of graph 'g' updates parameter 'g.step' but is not named after it");
    updating_graph();
    ir_graph_add_update(fx.g, 0, 6);
    expect_reports(2, "verifier: graph 'g' has two outputs named 'w'",
                   "verifier: graph 'g' updates parameter 'w' twice");
    updating_graph();
    fx.g->n_updates = 4;
    EXPECT_VERIFY("verifier: graph 'g' has 4 updates among its 3 outputs");
    updating_graph();
    fx.m->params[1].init.kind = IR_INIT_ONES;
    EXPECT_VERIFY("verifier: state parameter 'g.step' must start at zeros()");
}

/* ---- the text form -------------------------------------------------------------------------- */

static char *print_to_string(const ir_module *m, size_t *len) {
    char *text = NULL;
    FILE *f = tmpfile();
    if (!f) abort();
    ir_print_module(f, m, &fx.d);
    long size = ftell(f);
    rewind(f);
    text = malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) abort();
    text[size] = 0;
    fclose(f);
    *len = (size_t)size;
    return text;
}

static ir_module *parse_text(const char *text, size_t len) {
    return ir_parse_module(&fx.d, ir_diag_add_source(&fx.d, "printed.tgir", text, len));
}

/* Every field of a minimize line and of the updates survives print and parse exactly; printing
 * the parsed module gives the same text. */
static void test_text_round_trip(void) {
    updating_graph();
    fx.m->params[0].name = "w eird.name";
    fx.g->output_names[1] = "w eird.name";
    ir_graph *g2 = ir_module_add_graph(fx.m, "opt", IR_NO_LOC);
    ir_graph *g1 = fx.g;
    fx.g = g2;
    ir_graph_add_input(g2, "x", ty("f32[]"));
    ir_node *in = mk(IR_OP_INPUT, 0);
    EXPECT_TYPE(in, "f32[]");
    ir_minimize *mz = set_minimize(in->id, IR_OPTIM_ADAM);
    mz->lr = 0.1 + 0.2;
    mz->beta1 = nextafter(0.9, 1);
    mz->beta2 = 0.999;
    mz->eps = 1e-300;
    mz->weight_decay = 5e-324;
    int loc_file = ir_diag_add_source(&fx.d, "model.tg", "", 0);
    mz->loc = (ir_loc){loc_file, 12, 3};
    ir_graph_add_output(g2, "x", in->id);
    fx.g = g1;
    EXPECT_VERIFY(NULL);

    size_t a_len, b_len;
    char *a = print_to_string(fx.m, &a_len);
    ir_module *m2 = parse_text(a, a_len);
    CHECK(m2 != NULL, "the printed module does not parse:\n%s", a);
    if (!m2) {
        free(a);
        return;
    }
    char *b = print_to_string(m2, &b_len);
    CHECK(a_len == b_len && memcmp(a, b, a_len) == 0, "print(parse(print(m))) differs:\n%s\n---\n%s", a, b);
    CHECK(strstr(a, "param @g.step : f32[] = zeros() state\n") != NULL, "%s", a);
    CHECK(strstr(a, "return y = %3, @\"w eird.name\" = %6, @g.step = %4\n") != NULL, "%s", a);
    CHECK(strstr(a, "minimize %0 with adam(lr=0.30000000000000004, beta1=0.9000000000000001, beta2=0.999, "
                    "eps=1e-300, weight_decay=5e-324) loc(\"model.tg\":12:3)\n") != NULL,
          "%s", a);
    const ir_graph *p1 = m2->graphs[0], *p2 = m2->graphs[1];
    CHECK(m2->params[1].state && !m2->params[0].state);
    CHECK(p1->n_updates == 2 && p1->update_params[0] == 0 && p1->update_params[1] == 1 && p1->n_outputs == 3);
    CHECK(p2->minimize && memcmp(p2->minimize, mz, offsetof(ir_minimize, loc)) == 0,
          "the hyperparameters changed in the round trip");
    CHECK(p2->minimize && p2->minimize->loc.line == 12 && p2->minimize->loc.col == 3);
    CHECK(ir_verify_module(m2, &fx.d));
    free(a);
    free(b);
    ir_module_destroy(m2);
}

int main(void) {
    if (fixture_open()) return 1;
    test_rewrites();
    test_verify_minimize();
    test_verify_updates();
    test_text_round_trip();
    printf("test_train_ir: %d checks, %d failed\n", checks, failures);
    return fixture_close("test_train_ir");
}
