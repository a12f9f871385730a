/* test_frontend.c — unit tests of the .tg frontend's lowering, by looking at the IR it builds:
 * operator precedence and associativity, literal folding and weak typing, aliases and attribute
 * markers, fn inlining, parameters and initializers, -D overrides, minimize, fe_compile_partial, and
 * hostile inputs that must give clean errors. The diagnostics themselves are tests/diag/. */
#include "frontend/frontend.h"

#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

/* One compilation and what it printed. */
typedef struct compiled {
    ir_module *m;
    int errors;
    char text[4096];
} compiled;

static compiled *compile_as(const char *name, const char *src, size_t len, const fe_define *defs, int n_defs,
                            const char *only_graph) {
    static compiled r;
    ir_module_destroy(r.m);
    memset(&r, 0, sizeof r);
    FILE *log = tmpfile();
    ir_diag d;
    ir_diag_init(&d, log);
    int file = ir_diag_add_source(&d, name, src, len);
    fe_options opt = {defs, n_defs};
    r.m = only_graph ? fe_compile_partial(&d, file, &opt, only_graph) : fe_compile(&d, file, &opt);
    r.errors = d.errors;
    CHECK((r.m != NULL) == (d.errors == 0), "%s: the result and the error count disagree", name);
    rewind(log);
    r.text[fread(r.text, 1, sizeof r.text - 1, log)] = 0;
    fclose(log);
    ir_diag_free(&d);
    return &r;
}

static compiled *compile(const char *src) { return compile_as("test.tg", src, strlen(src), NULL, 0, NULL); }

/* The node an output of the module's first graph refers to. */
static const ir_node *output(const compiled *r, int i) {
    const ir_graph *g = r->m->graphs[0];
    return g->nodes[g->output_nodes[i]];
}

static const ir_node *operand(const compiled *r, const ir_node *n, int i) {
    return ir_operand(r->m->graphs[0], n, i);
}

static void test_precedence(void) {
    compiled *r = compile("graph g(x : f32[3], w : f32[3, 3]) -> (a, b, c, d, e) {\n"
                          "  a = -x ** 2\n"            /* -(x ** 2) */
                          "  b = x - x - x\n"          /* (x - x) - x */
                          "  c = x @ w + x * x\n"      /* (x @ w) + (x * x) */
                          "  d = x ** x ** x\n"        /* x ** (x ** x) */
                          "  e = x + x < x * x\n"      /* (x + x) < (x * x) */
                          "}\n");
    CHECK(r->m, "%s", r->text);
    if (!r->m) return;
    const ir_node *a = output(r, 0), *b = output(r, 1), *c = output(r, 2), *d = output(r, 3), *e = output(r, 4);
    CHECK(a->op == IR_OP_NEG && operand(r, a, 0)->op == IR_OP_POW, "-x**2");
    CHECK(b->op == IR_OP_SUB && operand(r, b, 0)->op == IR_OP_SUB && operand(r, b, 1)->op == IR_OP_INPUT, "x-x-x");
    CHECK(c->op == IR_OP_ADD && operand(r, c, 0)->op == IR_OP_MATMUL && operand(r, c, 1)->op == IR_OP_MUL, "@ +");
    CHECK(d->op == IR_OP_POW && operand(r, d, 0)->op == IR_OP_INPUT && operand(r, d, 1)->op == IR_OP_POW, "**");
    CHECK(e->op == IR_OP_LT && operand(r, e, 0)->op == IR_OP_ADD && e->type.dtype == IR_BOOL, "<");
}

static void test_literals(void) {
    compiled *r = compile("const K = 4\n"
                          "graph g(x : f32[2], i : i32[2], l : i64[2]) -> (a, b, c, d, e) {\n"
                          "  a = x * (2 * 3)\n"          /* folded to 6, an f32 constant */
                          "  b = i + K / 2\n"            /* exact division stays an integer */
                          "  c = 7 / 2 + x\n"            /* inexact division gives 3.5 */
                          "  d = 2.5\n"                  /* a standalone float literal is f32 */
                          "  e = l - 1\n"
                          "}\n");
    CHECK(r->m, "%s", r->text);
    if (!r->m) return;
    const ir_node *a = operand(r, output(r, 0), 1), *b = operand(r, output(r, 1), 1);
    const ir_node *c = operand(r, output(r, 2), 0), *d = output(r, 3), *e = operand(r, output(r, 4), 1);
    CHECK(a->op == IR_OP_CONSTANT && a->attr[IR_ATTR_VALUE].f == 6 && a->type.dtype == IR_F32, "x * (2 * 3)");
    CHECK(b->op == IR_OP_CONSTANT && b->attr[IR_ATTR_VALUE].f == 2 && b->type.dtype == IR_I32, "i + K / 2");
    CHECK(c->op == IR_OP_CONSTANT && c->attr[IR_ATTR_VALUE].f == 3.5 && c->type.dtype == IR_F32, "7 / 2");
    CHECK(d->op == IR_OP_CONSTANT && d->type.dtype == IR_F32 && d->type.rank == 0, "2.5");
    CHECK(e->op == IR_OP_CONSTANT && e->type.dtype == IR_I64, "l - 1");

    r = compile("graph g(i : i32[2]) -> (y) { y = i * 0.5 }\n");
    CHECK(!r->m && strstr(r->text, "use cast(x, f32)"), "%s", r->text);
}

static void test_aliases_and_markers(void) {
    compiled *r = compile("graph g(x : f32[2, 3]) -> (z, o, s, t, p) {\n"
                          "  z = zeros([2, 3])\n"
                          "  o = ones([4], i32)\n"
                          "  s = sum(x)\n"
                          "  t = transpose(x)\n"
                          "  p = max_pool2d(reshape(x, [1, 1, 2, 3]), 2, padding=0)\n"
                          "}\n");
    CHECK(r->m, "%s", r->text);
    if (!r->m) return;
    const ir_node *z = output(r, 0), *o = output(r, 1), *s = output(r, 2), *t = output(r, 3), *p = output(r, 4);
    CHECK(z->op == IR_OP_FULL && z->attr[IR_ATTR_VALUE].f == 0 && z->type.dtype == IR_F32, "zeros");
    CHECK(o->op == IR_OP_FULL && o->attr[IR_ATTR_VALUE].f == 1 && o->type.dtype == IR_I32, "ones");
    CHECK(s->type.rank == 0, "sum over all axes gives a scalar");
    CHECK(t->type.dims[0] == 3 && t->type.dims[1] == 2, "transpose reverses by default");
    CHECK(p->type.rank == 4 && p->type.dims[2] == 1 && p->type.dims[3] == 1, "stride defaults to the kernel");
}

static void test_inlining(void) {
    compiled *r = compile("param w : f32[2, 2] = zeros()\n"
                          "fn lin(t) { return t @ w }\n"
                          "fn both(t) {\n  u = lin(t)\n  return u, lin(u)\n}\n"
                          "graph g(x : f32[2]) -> (a, b, w) {\n  a, b = both(x)\n}\n");
    CHECK(r->m, "%s", r->text);
    if (!r->m) return;
    const ir_graph *g = r->m->graphs[0];
    int params = 0, matmuls = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        params += g->nodes[i]->op == IR_OP_PARAM;
        matmuls += g->nodes[i]->op == IR_OP_MATMUL;
    }
    CHECK(params == 1 && matmuls == 2, "one param node per graph, one matmul per call: %d %d", params, matmuls);
    CHECK(output(r, 1)->op == IR_OP_MATMUL && operand(r, output(r, 1), 0) == output(r, 0), "b = lin(a)");
    CHECK(output(r, 2)->op == IR_OP_PARAM, "an output may name a parameter");
}

static void test_params(void) {
    const char *src = "const N = 4\n"
                      "param a : f32[N, 2] = glorot() split(axis=-1)\n"
                      "param b : f32[N] = uniform(-1, 2)\n"
                      "param c : f32[N] = load(\"w.npy\")\n"
                      "param d : f32[N] = load(\"/abs/w.safetensors\")\n"
                      "param e : f32[N] = load(\"w.safetensors\", \"k\")\n"
                      "param f : i32[N]\n";
    compiled *r = compile_as("models/m.tg", src, strlen(src), NULL, 0, NULL);
    CHECK(r->m && r->m->n_params == 6, "%s", r->text);
    if (!r->m) return;
    const ir_param *p = r->m->params;
    CHECK(p[0].init.kind == IR_INIT_GLOROT && p[0].split_axis == 1 && p[0].type.dims[0] == 4, "a");
    CHECK(p[1].init.kind == IR_INIT_UNIFORM && p[1].init.a == -1 && p[1].init.b == 2 && p[1].split_axis == -1, "b");
    CHECK(p[2].init.kind == IR_INIT_LOAD && strcmp(p[2].init.path, "models/w.npy") == 0 && !p[2].init.key, "c: %s",
          p[2].init.path);
    CHECK(strcmp(p[3].init.path, "/abs/w.safetensors") == 0 && strcmp(p[3].init.key, "d") == 0, "d");
    CHECK(strcmp(p[4].init.path, "models/w.safetensors") == 0 && strcmp(p[4].init.key, "k") == 0, "e");
    CHECK(p[5].init.kind == IR_INIT_NONE && p[5].type.dtype == IR_I32, "f");
}

static void test_defines(void) {
    const char *src = "const B = 64\nconst S = 0.5\ngraph g(x : f32[B]) -> (y) { y = x * S }\n";
    fe_define defs[] = {{"B", "3"}, {"S", "2"}};
    compiled *r = compile_as("test.tg", src, strlen(src), defs, 2, NULL);
    CHECK(r->m && r->m->graphs[0]->input_types[0].dims[0] == 3, "%s", r->text);
    if (r->m) CHECK(operand(r, output(r, 0), 1)->attr[IR_ATTR_VALUE].f == 2, "S = 2 as a float");
    fe_define bad[] = {{"B", "1e3"}};
    r = compile_as("test.tg", src, strlen(src), bad, 1, NULL);
    CHECK(!r->m && strstr(r->text, "'B' is an integer const"), "%s", r->text);
}

/* `minimize` sets the graph's minimize line: the loss node, the optimizer and every
 * hyperparameter (defaults included), the location of the keyword. */
static void test_minimize(void) {
    const char *src = "const M = 0.5\nparam w : f32[2] = ones()\n"
                      "graph a(x : f32[2]) -> (l) {\n  l = sum(x * w)\n"
                      "  minimize l with sgd(0.1, weight_decay=-(-M))\n}\n"
                      "graph b(x : f32[2]) -> (l) {\n  l = mean(x * w)\n  minimize l with adam(lr=1, beta2=0.9)\n}\n"
                      "graph c(x : f32[2]) -> (y) { y = x * w }\n";
    compiled *r = compile(src);
    CHECK(r->m && r->m->n_graphs == 3, "%s", r->text);
    if (!r->m) return;
    const ir_graph *a = r->m->graphs[0], *b = r->m->graphs[1];
    const ir_minimize *ma = a->minimize, *mb = b->minimize;
    CHECK(ma && ma->kind == IR_OPTIM_SGD && ma->lr == 0.1 && ma->momentum == 0 && ma->weight_decay == 0.5, "sgd");
    CHECK(ma && ma->loss == a->output_nodes[0] && ma->loc.line == 5 && ma->loc.col == 3, "sgd loss and loc");
    CHECK(mb && mb->kind == IR_OPTIM_ADAM && mb->lr == 1 && mb->beta1 == 0.9 && mb->beta2 == 0.9 &&
              mb->eps == 1e-8 && mb->weight_decay == 0,
          "adam");
    CHECK(mb && b->nodes[mb->loss]->op == IR_OP_MEAN, "adam loss");
    CHECK(!r->m->graphs[2]->minimize && a->n_updates == 0, "no minimize, no updates before the optimizer pass");
}

/* Only the named graph is lowered: the other bodies are not even checked. */
static void test_partial(void) {
    const char *src = "graph infer(x : f32[2]) -> (y) { y = relu(x) }\n"
                      "graph train(x : f32[2]) -> (l) {\n  l = sum(x)\n  minimize l with sgd(lr=-1)\n}\n";
    compiled *r = compile_as("test.tg", src, strlen(src), NULL, 0, NULL);
    CHECK(!r->m && strstr(r->text, "sgd: 'lr' must be >= 0, not -1"), "%s", r->text);
    r = compile_as("test.tg", src, strlen(src), NULL, 0, "infer");
    CHECK(r->m && r->m->n_graphs == 1 && strcmp(r->m->graphs[0]->name, "infer") == 0, "%s", r->text);
    r = compile_as("test.tg", src, strlen(src), NULL, 0, "infr");
    CHECK(!r->m && strstr(r->text, "did you mean 'infer'?"), "%s", r->text);
}

/* A graph whose body is `y = ` then `depth` copies of c, then `x`: deep nesting. */
static compiled *nested(char c, int depth) {
    char *src = malloc((size_t)depth + 64);
    int len = sprintf(src, "graph g(x : f32[1]) -> (y) { y = ");
    memset(src + len, c, (size_t)depth);
    len += depth;
    len += sprintf(src + len, "x }\n");
    compiled *r = compile_as("deep.tg", src, (size_t)len, NULL, 0, NULL);
    free(src);
    return r;
}

/* Inputs that must be rejected cleanly, with one error and no crash. */
static void test_hostile(void) {
    compiled *r = nested('(', 20000);
    CHECK(!r->m && r->errors == 1 && strstr(r->text, "nested too deeply"), "%s", r->text);
    r = nested('-', 20000);
    CHECK(!r->m && r->errors == 1 && strstr(r->text, "nested too deeply"), "%s", r->text);
    r = nested('-', 5000);
    CHECK(!r->m && r->errors == 1 && strstr(r->text, "nested too deeply"), "%s", r->text);

    static const char nul[] = "graph g(x : f32[1]) -> (y) {\n  y = x\0\n}\n";
    r = compile_as("nul.tg", nul, sizeof nul - 1, NULL, 0, NULL);
    CHECK(!r->m && r->errors == 1 && strstr(r->text, "0x00"), "%s", r->text);
    r = compile_as("empty.tg", "", 0, NULL, 0, NULL);
    CHECK(r->m && r->m->n_graphs == 0 && r->m->n_params == 0, "an empty module is valid: %s", r->text);
    r = compile("fn f(x) { return f(x) }\ngraph g(x : f32[1]) -> (y) { y = f(x) }\n");
    CHECK(!r->m && strstr(r->text, "recursive call to 'f'"), "%s", r->text);
}

int main(void) {
    test_precedence();
    test_literals();
    test_aliases_and_markers();
    test_inlining();
    test_params();
    test_defines();
    test_minimize();
    test_partial();
    test_hostile();
    compile("");   /* frees the last module */
    printf("test_frontend: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
