/* test_plan.c — unit tests of the memory plan (passes/plan.c, ir/plan_info.c) and of the
 * verifier's group and plan checks (ir/verify.c): one broken group invariant per check, and
 * random graphs with random fusion groups, planned, then run on a simulated arena where every
 * byte remembers which value wrote it last. Usage: test_plan [GRAPHS [SEED]] (default 300, 1). */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "passes/passes.h"
#include "shape_fixture.h"

/* ---- the verifier on fusion groups ------------------------------------------------------------- */


/* y = abs(neg(exp(x))): nodes 1, 2, 3 compute; returns the id of the first. */
static int chain_graph(void) {
    fx_reset();
    int x = add_input("f32[4]");
    ir_node *a = mk(IR_OP_EXP, 1, x), *b = mk(IR_OP_NEG, 1, a->id), *c = mk(IR_OP_ABS, 1, b->id);
    EXPECT_TYPE(a, "f32[4]");
    EXPECT_TYPE(b, "f32[4]");
    EXPECT_TYPE(c, "f32[4]");
    ir_graph_add_output(fx.g, "y", c->id);
    return a->id;
}

static void test_group_checks(void) {
    int a = chain_graph();
    int k = ir_graph_add_group(fx.g, "fused_exp_neg_4", IR_FUSION_LOOP);
    fx.g->nodes[a]->group = fx.g->nodes[a + 1]->group = k;
    EXPECT_VERIFY(NULL);
    fx.g->nodes[a + 1]->group = -1;
    fx.g->nodes[a + 2]->group = k;
    EXPECT_VERIFY("verifier: fusion group 'fused_exp_neg_4' of graph 'g' is not contiguous: node 2 lies between "
                  "its nodes 1 and 3");
    a = chain_graph();
    ir_graph_add_group(fx.g, "fused-exp", IR_FUSION_LOOP);
    fx.g->nodes[a]->group = 0;
    EXPECT_VERIFY("verifier: fusion group 0 of graph 'g' is named 'fused-exp'; kernel names are [A-Za-z0-9_]+");
    a = chain_graph();
    ir_graph_add_group(fx.g, "k", IR_FUSION_LOOP);
    ir_graph_add_group(fx.g, "k", IR_FUSION_REDUCE);
    fx.g->nodes[a]->group = 0;
    fx.g->nodes[a + 1]->group = 1;
    EXPECT_VERIFY("verifier: graph 'g' has two fusion groups named 'k'");
    a = chain_graph();
    ir_graph_add_group(fx.g, "unused", IR_FUSION_LOOP);
    EXPECT_VERIFY("verifier: fusion group 'unused' of graph 'g' has no nodes");
    a = chain_graph();
    fx.g->nodes[a]->group = 3;
    EXPECT_VERIFY("verifier: exp (node 1 of graph 'g') is in fusion group 3; the graph has 0");
    a = chain_graph();
    ir_graph_add_group(fx.g, "k", (ir_fusion_kind)7);
    fx.g->nodes[a]->group = 0;
    EXPECT_VERIFY("verifier: fusion group 'k' of graph 'g' has an unknown kind 7");
}

/* The plan of the chain: exp's slot is reused in place by neg, abs is the output. Breaking the
 * plan by hand is caught. */
static void test_plan_checks(void) {
    pass_context ctx = {&fx.d, NULL, 64 << 10};
    int a = chain_graph();
    CHECK(pass_plan(fx.g, &ctx) && fx.g->planned);
    CHECK(fx.g->nodes[0]->offset == IR_EXTERNAL && fx.g->nodes[a]->offset == 0 && fx.g->nodes[a + 1]->offset == 0);
    CHECK(fx.g->nodes[a + 2]->offset == IR_EXTERNAL);
    CHECK(ir_graph_arena_bytes(fx.g) == 64 && ir_graph_naive_bytes(fx.g) == 32);
    EXPECT_VERIFY(NULL);
    fx.g->nodes[a + 1]->offset = 16;
    EXPECT_VERIFY("verifier: neg (node 2 of graph 'g') is at @arena+16; in a planned graph it must be at an arena "
                  "offset that is a multiple of 64 (a materialized intermediate)");
    fx.g->nodes[a + 1]->offset = IR_ALIAS;
    EXPECT_VERIFY("verifier: neg (node 2 of graph 'g') is @alias; in a planned graph it must be at an arena "
                  "offset that is a multiple of 64 (a materialized intermediate)");
    /* Planning twice gives the same plan. */
    CHECK(pass_plan(fx.g, &ctx) && fx.g->nodes[a + 1]->offset == 0);
    EXPECT_VERIFY(NULL);
}

/* ---- random graphs on a simulated arena --------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t rnd(rng *r, uint32_t n) {
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(r->s >> 33) % n;
}

/* Value classes: a square matrix, a vector of its side, the matrix flattened. */
enum { CLS_MAT, CLS_VEC, CLS_FLAT, CLS_COUNT };

typedef struct gen {
    rng r;
    int64_t m;
    int n_of[CLS_COUNT], of[CLS_COUNT][256];
    int constant;
} gen;

static void remember(gen *g, int cls, int id) {
    if (g->n_of[cls] < 256) g->of[cls][g->n_of[cls]++] = id;
}

/* Mostly a recent value, so that live ranges are short and varied. */
static int pick(gen *g, int cls) {
    int n = g->n_of[cls];
    int back = (int)rnd(&g->r, (uint32_t)(n < 4 ? n : 4));
    return rnd(&g->r, 4) == 0 ? g->of[cls][rnd(&g->r, (uint32_t)n)] : g->of[cls][n - 1 - back];
}

static ir_node *infer(ir_node *n) {
    if (!ir_infer(fx.g, n, &fx.d)) abort();
    return n;
}

static void add_random_node(gen *g) {
    static const ir_op unary[] = {IR_OP_EXP, IR_OP_NEG, IR_OP_TANH, IR_OP_RELU};
    int cls = (int)rnd(&g->r, CLS_COUNT);
    if (g->n_of[cls] == 0) cls = CLS_MAT;
    int x = pick(g, cls);
    ir_node *n;
    switch (rnd(&g->r, 8)) {
    case 0: case 1: n = infer(mk(unary[rnd(&g->r, 4)], 1, x)); remember(g, cls, n->id); break;
    case 2: n = infer(mk(IR_OP_ADD, 2, x, pick(g, cls))); remember(g, cls, n->id); break;
    case 3: n = infer(mk(IR_OP_MUL, 2, x, g->constant)); remember(g, cls, n->id); break;
    case 4:
        n = infer(mk(IR_OP_ADD, 2, pick(g, CLS_MAT), pick(g, CLS_VEC)));
        remember(g, CLS_MAT, n->id);
        break;
    case 5:
        n = rnd(&g->r, 2) ? mk(IR_OP_MATMUL, 2, pick(g, CLS_MAT), pick(g, CLS_MAT)) : mk(IR_OP_TRANSPOSE, 1, pick(g, CLS_MAT));
        remember(g, CLS_MAT, infer(n)->id);
        break;
    case 6:
        n = mk(IR_OP_SUM, 1, pick(g, CLS_MAT));
        set_ints(n, IR_ATTR_AXES, 1, (long long)rnd(&g->r, 2));
        remember(g, CLS_VEC, infer(n)->id);
        break;
    default: {
        bool flatten = rnd(&g->r, 2) || g->n_of[CLS_FLAT] == 0;
        n = mk(IR_OP_RESHAPE, 1, flatten ? pick(g, CLS_MAT) : pick(g, CLS_FLAT));
        if (flatten) set_ints(n, IR_ATTR_SHAPE, 1, (long long)(g->m * g->m));
        else set_ints(n, IR_ATTR_SHAPE, 2, (long long)g->m, (long long)g->m);
        remember(g, flatten ? CLS_FLAT : CLS_MAT, infer(n)->id);
    }
    }
}

/* Random runs of consecutive computing nodes become groups (contiguous, hence convex); the kind
 * follows what the run holds, as the fusion pass would name it. */
static void add_random_groups(gen *g) {
    ir_graph *graph = fx.g;
    for (int i = 0; i < graph->n_nodes;) {
        int len = 1 + (int)rnd(&g->r, 4), end = i;
        while (end < graph->n_nodes && end < i + len && graph->nodes[end]->op != IR_OP_INPUT &&
               graph->nodes[end]->op != IR_OP_CONSTANT)
            end++;
        if (end - i < 2 || rnd(&g->r, 3) == 0) {
            i = end > i ? end : i + 1;
            continue;
        }
        ir_fusion_kind kind = IR_FUSION_LOOP;
        for (int j = i; j < end; j++) {
            unsigned f = ir_op_table[graph->nodes[j]->op].flags;
            if (f & IR_CONTRACTION) kind = IR_FUSION_CONTRACTION;
            else if ((f & IR_REDUCTION) && kind == IR_FUSION_LOOP) kind = IR_FUSION_REDUCE;
        }
        char name[32];
        snprintf(name, sizeof name, "fused_%d", i);
        int k = ir_graph_add_group(graph, name, kind);
        for (int j = i; j < end; j++) graph->nodes[j]->group = k;
        i = end;
    }
}

static void random_graph(gen *g) {
    fx_reset();
    g->m = 1 + (int64_t)rnd(&g->r, 12);
    memset(g->n_of, 0, sizeof g->n_of);
    char mat[32], vec[32];
    snprintf(mat, sizeof mat, "f32[%lld,%lld]", (long long)g->m, (long long)g->m);
    snprintf(vec, sizeof vec, "f32[%lld]", (long long)g->m);
    remember(g, CLS_MAT, add_input(mat));
    remember(g, CLS_VEC, add_input(vec));
    ir_node *c = mk(IR_OP_CONSTANT, 0);
    c->attr[IR_ATTR_VALUE].f = 0.5;
    g->constant = infer(c)->id;
    int n = 2 + (int)rnd(&g->r, 40);
    for (int i = 0; i < n; i++) add_random_node(g);
    int outs = 1 + (int)rnd(&g->r, 3);
    ir_graph_add_output(fx.g, "y0", fx.g->n_nodes - 1);
    for (int i = 1; i < outs; i++) {
        char name[16];
        snprintf(name, sizeof name, "y%d", i);
        ir_graph_add_output(fx.g, name, 2 + (int)rnd(&g->r, (uint32_t)(fx.g->n_nodes - 2)));
    }
    if (rnd(&g->r, 4)) add_random_groups(g);
}

/* Runs the kernels in order on an arena of byte tags: each kernel first checks that every value
 * it reads from the arena still holds that value's tag on all its bytes, then writes its own. */
static void simulate(const ir_graph *g, int *in_place) {
    ir_liveness l;
    ir_liveness_compute(g, &l);
    ir_kernel *kernels;
    int n_kernels = ir_graph_kernels(g, &kernels);
    CHECK(n_kernels == l.n_kernels, "%d kernels, liveness counts %d", n_kernels, l.n_kernels);
    int64_t size = ir_graph_arena_bytes(g);
    int *tag = malloc(sizeof *tag * (size_t)(size + 1));
    for (int64_t b = 0; b < size; b++) tag[b] = -1;
    for (int k = 0; k < n_kernels && k < l.n_kernels; k++) {
        const ir_kernel *kn = &kernels[k];
        for (int i = kn->first; i < kn->first + kn->count; i++) {
            CHECK(l.kernel[i] == k);
            const ir_node *u = g->nodes[i];
            for (int j = 0; j < u->n_in; j++) {
                int r = l.root[u->in[j]];
                const ir_node *v = g->nodes[r];
                if (l.kernel[r] == k || v->offset < 0) continue;
                for (int64_t b = v->offset; b < v->offset + ir_node_bytes(v); b++)
                    if (tag[b] != r) {
                        CHECK(false, "kernel %d reads node %d at byte %lld, which holds node %d", k, r, (long long)b, tag[b]);
                        break;
                    }
            }
        }
        for (int i = kn->first; i < kn->first + kn->count; i++) {
            const ir_node *w = g->nodes[i];
            if (w->offset < 0) continue;
            /* Written over a value this kernel read: in place. */
            int prev = tag[w->offset];
            if (prev >= 0 && l.kernel[prev] != k && l.last[prev] == k) (*in_place)++;
            for (int64_t b = w->offset; b < w->offset + ir_node_bytes(w); b++) tag[b] = w->id;
        }
    }
    free(kernels);
    free(tag);
    ir_liveness_free(&l);
}

/* The planned graph prints, parses back (verified on load) and prints the same. */
static void check_round_trip(void) {
    char *text = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    FILE *f = open_memstream(&text, &len);
    ir_print_module(f, fx.m, &fx.d);
    fclose(f);
    ir_diag d;
    ir_diag_init(&d, fx.out);
    ir_module *m = ir_parse_module(&d, ir_diag_add_source(&d, "plan.tgir", text, len));
    CHECK(m && d.errors == 0 && ir_verify_module(m, &d), "%s", text);
    if (m) {
        f = open_memstream(&again, &len2);
        ir_print_module(f, m, &d);
        fclose(f);
        CHECK(len == len2 && memcmp(text, again, len) == 0, "the planned graph does not print back the same");
        ir_module_destroy(m);
    }
    ir_diag_free(&d);
    free(text);
    free(again);
}

static void test_random_plans(int count, uint64_t seed) {
    gen g = {.r = {seed}};
    pass_context ctx = {&fx.d, NULL, 64 << 10};
    int in_place = 0;
    int64_t arena = 0, naive = 0;
    for (int i = 0; i < count; i++) {
        random_graph(&g);
        int errors = failures;
        CHECK(pass_plan(fx.g, &ctx));
        EXPECT_VERIFY(NULL);
        simulate(fx.g, &in_place);
        check_round_trip();
        arena += ir_graph_arena_bytes(fx.g);
        naive += ir_graph_naive_bytes(fx.g);
        if (failures > errors) {
            fprintf(stderr, "test_plan: graph %d of seed %llu:\n", i, (unsigned long long)seed);
            ir_print_graph(stderr, fx.g, &fx.d);
            break;
        }
    }
    CHECK(count < 50 || in_place > 0, "no value was written in place in %d graphs", count);
    printf("test_plan: %d random graphs, %d in-place writes, arena %lld B of naive %lld B\n", count, in_place,
           (long long)arena, (long long)naive);
}

int main(int argc, char **argv) {
    if (fixture_open()) return 1;
    test_group_checks();
    test_plan_checks();
    test_random_plans(argc > 1 ? atoi(argv[1]) : 300, argc > 2 ? strtoull(argv[2], NULL, 10) : 1);
    return fixture_close("test_plan");
}
