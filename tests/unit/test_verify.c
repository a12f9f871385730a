/* test_verify.c — unit tests for the cost model (ir/cost.c) and the verifier (ir/verify.c):
 * FLOPs and bytes of each cost rule on small graphs, and one broken invariant per verifier
 * check with its exact message. */
#include "shape_fixture.h"

/* ---- cost model ------------------------------------------------------------------------------ */

static void test_cost(void) {
    fx_reset();
    int x = add_input("f32[64,784]"), w = add_input("f32[784,512]"), b = add_input("f32[512]");
    ir_node *mm = mk(IR_OP_MATMUL, 2, x, w);
    EXPECT_TYPE(mm, "f32[64,512]");
    ir_cost c = ir_node_cost(fx.g, mm);
    CHECK(c.flops == 2.0 * 64 * 512 * 784);
    CHECK(c.bytes_read == 4.0 * (64 * 784 + 784 * 512) && c.bytes_written == 4.0 * 64 * 512);
    int xt = add_input("f32[3,784,64]");
    ir_node *mt = mk(IR_OP_MATMUL, 2, xt, w);
    set_ints(mt, IR_ATTR_PERM_A, 3, 0LL, 2LL, 1LL); /* K = 784 is axis 1 of a as stored */
    EXPECT_TYPE(mt, "f32[3,64,512]");
    CHECK(ir_node_cost(fx.g, mt).flops == 2.0 * 3 * 64 * 512 * 784);
    ir_node *add = mk(IR_OP_ADD, 2, mm->id, b);
    EXPECT_TYPE(add, "f32[64,512]");
    c = ir_node_cost(fx.g, add);
    CHECK(c.flops == 64.0 * 512 && c.bytes_read == 4.0 * (64 * 512 + 512) && c.bytes_written == 4.0 * 64 * 512);
    ir_node *e = mk(IR_OP_EXP, 1, add->id);
    EXPECT_TYPE(e, "f32[64,512]");
    CHECK(ir_node_cost(fx.g, e).flops == 10.0 * 64 * 512);
    ir_node *s = mk(IR_OP_SUM, 1, add->id);
    s->attr[IR_ATTR_AXES].n = -1;
    EXPECT_TYPE(s, "f32[]");
    c = ir_node_cost(fx.g, s);
    CHECK(c.flops == 64.0 * 512 && c.bytes_written == 4);
    int logits = add_input("f32[8,10]"), labels = add_input("i32[8]"), col = add_input("f32[8,1]");
    ir_node *ce = mk(IR_OP_CROSS_ENTROPY, 2, logits, labels);
    EXPECT_TYPE(ce, "f32[8]");
    c = ir_node_cost(fx.g, ce);
    CHECK(c.flops == 6.0 * 80 && c.bytes_read == 4.0 * 88 && c.bytes_written == 4.0 * 8);
    ir_node *mse = mk(IR_OP_MSE, 2, col, b);
    EXPECT_TYPE(mse, "f32[]");
    CHECK(ir_node_cost(fx.g, mse).flops == 3.0 * 8 * 512);
    c = ir_node_cost(fx.g, fx.g->nodes[x]);
    CHECK(c.flops == 0 && c.bytes_read == 0 && c.bytes_written == 0);
    ir_node *f = mk(IR_OP_FULL, 0);
    f->attr[IR_ATTR_DTYPE].v[0] = IR_I64;
    set_ints(f, IR_ATTR_SHAPE, 1, 10LL);
    EXPECT_TYPE(f, "i64[10]");
    CHECK(ir_node_cost(fx.g, f).bytes_written == 80);

    int img = add_input("f32[2,4,8,8]"), k = add_input("f32[6,2,3,3]"), idx = add_input("i32[5]");
    ir_node *cv = conv(img, k, 1, 1, 1, 2);
    EXPECT_TYPE(cv, "f32[2,6,8,8]");
    CHECK(ir_node_cost(fx.g, cv).flops == 2.0 * 2 * 6 * 8 * 8 * 2 * 3 * 3);
    ir_node *p = pool(IR_OP_MAX_POOL2D, img, 2, 0, 0);
    EXPECT_TYPE(p, "f32[2,4,4,4]");
    CHECK(ir_node_cost(fx.g, p).flops == 2.0 * 4 * 4 * 4 * 4);
    ir_node *sl = mk(IR_OP_SLICE, 1, img);
    set_ints(sl, IR_ATTR_START, 1, 1LL);
    EXPECT_TYPE(sl, "f32[1,4,8,8]");
    c = ir_node_cost(fx.g, sl);
    CHECK(c.flops == 0 && c.bytes_read == 4.0 * 256 && c.bytes_written == 4.0 * 256);
    ir_node *ga = mk(IR_OP_GATHER, 2, w, idx);
    EXPECT_TYPE(ga, "f32[5,512]");
    c = ir_node_cost(fx.g, ga);
    CHECK(c.bytes_read == 4.0 * 5 * 512 + 4 * 5 && c.bytes_written == 4.0 * 5 * 512);
    ir_node *tr = mk(IR_OP_TRANSPOSE, 1, w);
    EXPECT_TYPE(tr, "f32[512,784]");
    c = ir_node_cost(fx.g, tr);
    CHECK(c.flops == 0 && c.bytes_read == 4.0 * 784 * 512 && c.bytes_written == c.bytes_read);
}

/* ---- verifier -------------------------------------------------------------------------------- */


/* A small valid graph: y = relu(x @ w + b), with the output bound. */
static ir_node *verifier_graph(void) {
    fx_reset();
    ir_module_add_param(fx.m, "w", ty("f32[3,4]"), (ir_init){.kind = IR_INIT_GLOROT}, IR_NO_LOC);
    int x = add_input("f32[2,3]");
    ir_node *w = mk(IR_OP_PARAM, 0);
    EXPECT_TYPE(w, "f32[3,4]");
    ir_node *mm = mk(IR_OP_MATMUL, 2, x, w->id);
    EXPECT_TYPE(mm, "f32[2,4]");
    ir_node *t = mk(IR_OP_TRANSPOSE, 1, mm->id);
    EXPECT_TYPE(t, "f32[4,2]");
    ir_graph_add_output(fx.g, "y", t->id);
    return t;
}

static void test_verifier(void) {
    verifier_graph();
    EXPECT_VERIFY(NULL);

    ir_node *t = verifier_graph();
    t->attr[IR_ATTR_PERM].n = 0; /* the marker must have been resolved */
    EXPECT_VERIFY("verifier: transpose (node 3 of graph 'g'): attribute 'perm' is not normalized (n = 0, []; "
                  "inference writes n = 2, [1,0])");
    t = verifier_graph();
    t->type.dims[0] = 5;
    EXPECT_VERIFY("verifier: transpose (node 3 of graph 'g') has type f32[5,2], but inference gives f32[4,2]");
    t = verifier_graph();
    t->attr[IR_ATTR_AXES].n = 1;
    EXPECT_VERIFY("verifier: transpose (node 3 of graph 'g') carries the attribute 'axes', which transpose does not "
                  "take");
    t = verifier_graph();
    t->in[0] = 3;
    EXPECT_VERIFY("verifier: transpose (node 3 of graph 'g'): operand 0 is node 3, which is not defined before it");
    t = verifier_graph();
    t->n_in = 2;
    EXPECT_VERIFY("verifier: transpose (node 3 of graph 'g') has 2 operands; it takes 1");
    t = verifier_graph();
    t->id = 7;
    EXPECT_VERIFY("verifier: node 3 of graph 'g' is malformed (its id differs from its position)");
    t = verifier_graph();
    fx.g->nodes[2]->type.dims[0] = 9; /* reported at matmul, and at transpose, which reads it */
    {
        long from = ftell(fx.out);
        CHECK(!ir_verify_module(fx.m, &fx.d));
        CHECK(strstr(captured(from), "matmul (node 2 of graph 'g') has type f32[9,4]") != NULL);
    }
    verifier_graph();
    ir_node *in2 = mk(IR_OP_INPUT, 0);
    EXPECT_TYPE(in2, "f32[2,3]");
    EXPECT_VERIFY("verifier: input 'x0' of graph 'g' is bound twice, by nodes 0 and 4");
    verifier_graph();
    ir_graph_add_output(fx.g, "z", 17);
    EXPECT_VERIFY("verifier: output 'z' of graph 'g' refers to node 17, but the graph has 4 nodes");
    verifier_graph();
    ir_graph_add_output(fx.g, "y", 1);
    EXPECT_VERIFY("verifier: graph 'g' has two outputs named 'y'");
    t = verifier_graph();
    fx.g->nodes[0]->attr[IR_ATTR_INDEX].v[0] = 4;
    EXPECT_VERIFY("verifier: input (node 0 of graph 'g') fails shape inference: input: index 4 is out of range; "
                  "graph 'g' has 1 input");
}

int main(void) {
    if (fixture_open()) return 1;
    test_cost();
    test_verifier();
    return fixture_close("test_verify");
}
