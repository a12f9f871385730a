/* canonicalize.c — local rewrites to a canonical form: algebraic identities (x*1, x+0, --x,
 * select on a constant), chains of transposes, reshapes and broadcasts collapsed, transposes
 * absorbed into matmul as PERM_A/PERM_B, splat operands turned into scalar constants, and
 * constants second in commutative ops. Every rewrite keeps the type its users see. */
#include "passes/simplify.h"

#include <stdlib.h>
#include <string.h>

typedef struct canon {
    ir_graph *g;
    ir_diag *d;
    int n_before;             /* nodes before the pass; later ones were appended by it */
    int *repl;                /* repl[i]: the node that now computes node i's value */
    int n_consts, cap_consts;
    int *consts;              /* scalar constants made by this pass, reused by value and dtype */
    bool failed;
} canon;

enum { KEEP = -1 };           /* a rule's result: KEEP, or the id of the node that replaces n */

static ir_node *operand(const canon *c, const ir_node *n, int i) { return c->g->nodes[n->in[i]]; }

static bool splat_is(const ir_node *n, double want) {
    double v;
    return pass_splat_value(n, &v) && v == want;
}

static bool reinfer(canon *c, ir_node *n) {
    if (!pass_reinfer(c->g, n, c->d)) c->failed = true;
    return !c->failed;
}

/* The operand an identity keeps must have n's type. One that the constant broadcast to a larger
 * shape becomes broadcast_to(x, shape of n): x + zeros([4, 3]) with x : [3]. */
static int keep_operand(canon *c, ir_node *n, int x) {
    const ir_type *t = &c->g->nodes[x]->type;
    if (ir_type_equal(t, &n->type)) return x;
    if (t->dtype != n->type.dtype) return KEEP;
    pass_become(c->g, n, IR_OP_BROADCAST_TO, &x, 1);
    n->attr[IR_ATTR_SHAPE].n = n->type.rank;
    memcpy(n->attr[IR_ATTR_SHAPE].v, n->type.dims, sizeof(int64_t) * (size_t)n->type.rank);
    return reinfer(c, n) ? n->id : KEEP;
}

/* x+0 0+x x-0 x*1 1*x x/1 x**1 -> x (exact in IEEE, except that -0.0 + 0 gives +0.0). */
static int rule_identity(canon *c, ir_node *n) {
    ir_node *a = operand(c, n, 0), *b = operand(c, n, 1);
    switch (n->op) {
    case IR_OP_ADD:
        if (splat_is(b, 0)) return keep_operand(c, n, a->id);
        if (splat_is(a, 0)) return keep_operand(c, n, b->id);
        return KEEP;
    case IR_OP_MUL:
        if (splat_is(b, 1)) return keep_operand(c, n, a->id);
        if (splat_is(a, 1)) return keep_operand(c, n, b->id);
        return KEEP;
    case IR_OP_SUB: return splat_is(b, 0) ? keep_operand(c, n, a->id) : KEEP;
    case IR_OP_DIV:
    case IR_OP_POW: return splat_is(b, 1) ? keep_operand(c, n, a->id) : KEEP;
    default: return KEEP;
    }
}

/* select(c, a, b) with a splat condition -> a or b: nothing is computed, so this is exact. */
static int rule_select(canon *c, ir_node *n) {
    double v;
    if (!pass_splat_value(operand(c, n, 0), &v)) return KEEP;
    return keep_operand(c, n, v != 0 ? n->in[1] : n->in[2]);
}

/* commutative op(constant, x) -> op(x, constant): one form for cse and for the rules above. */
static int rule_constant_second(canon *c, ir_node *n) {
    if (n->n_in != 2 || !pass_is_constant(operand(c, n, 0)) || pass_is_constant(operand(c, n, 1))) return KEEP;
    int swapped[2] = {n->in[1], n->in[0]};
    memcpy(n->in, swapped, sizeof swapped);
    return n->id;
}

/* The scalar constant of value v and dtype dt, made once per pass. */
static int scalar_constant(canon *c, double v, ir_dtype dt, ir_loc loc) {
    for (int i = 0; i < c->n_consts; i++) {
        const ir_node *k = c->g->nodes[c->consts[i]];
        if (k->type.dtype == dt && memcmp(&k->attr[IR_ATTR_VALUE].f, &v, sizeof v) == 0) return k->id;
    }
    ir_builder b = {c->g, c->d, loc, false};
    int k = ir_build_scalar(&b, v, dt);
    if (k < 0) {
        c->failed = true;
        return KEEP;
    }
    if (c->n_consts == c->cap_consts) {
        c->cap_consts = c->cap_consts ? 2 * c->cap_consts : 8;
        c->consts = realloc(c->consts, sizeof *c->consts * (size_t)c->cap_consts);
        if (!c->consts) ir_internal_error(__FILE__, __LINE__, "out of memory");
    }
    c->consts[c->n_consts++] = k;
    return k;
}

/* True when the operands other than `skip` broadcast to n's shape on their own. */
static bool others_cover(const canon *c, const ir_node *n, int skip) {
    ir_type acc = {.dtype = n->type.dtype, .rank = 0};
    for (int k = 0; k < n->n_in; k++)
        if (k != skip && !ir_broadcast_shapes(&acc, &operand(c, n, k)->type, &acc)) return false;
    if (acc.rank != n->type.rank) return false;
    return memcmp(acc.dims, n->type.dims, sizeof(int64_t) * (size_t)acc.rank) == 0;
}

/* elementwise op(x, full(v, shape)) -> op(x, v) when x alone gives the result's shape: the
 * splat tensor is never materialized, and the scalar constant is free (ir_node_is_free). */
static int rule_scalar_operand(canon *c, ir_node *n) {
    if (!(ir_op_table[n->op].flags & IR_ELEMENTWISE) || n->n_in < 2) return KEEP;
    for (int k = 0; k < n->n_in; k++) {
        const ir_node *f = operand(c, n, k);
        if (f->op != IR_OP_FULL || !others_cover(c, n, k)) continue;
        int s = scalar_constant(c, f->attr[IR_ATTR_VALUE].f, f->type.dtype, f->loc);
        if (s == KEEP) return KEEP;
        n->in[k] = s;
        return n->id;
    }
    return KEEP;
}

/* R = P∘Q: transpose(transpose(x, P), Q) == transpose(x, R) with R[i] = P[Q[i]]. */
static void compose_perm(const ir_attr *p, const ir_attr *q, ir_attr *r) {
    ir_attr out = {.n = q->n};
    for (int i = 0; i < q->n; i++) out.v[i] = p->v[q->v[i]];
    *r = out;
}

static bool perm_is_identity(const ir_attr *p) {
    for (int i = 0; i < p->n; i++)
        if (p->v[i] != i) return false;
    return true;
}

/* transpose(transpose(x, P), Q) -> transpose(x, P∘Q); transpose(x, identity) -> x. */
static int rule_transpose(canon *c, ir_node *n) {
    const ir_node *x = operand(c, n, 0);
    if (x->op == IR_OP_TRANSPOSE) {
        compose_perm(&x->attr[IR_ATTR_PERM], &n->attr[IR_ATTR_PERM], &n->attr[IR_ATTR_PERM]);
        n->in[0] = x->in[0];
        return reinfer(c, n) ? n->id : KEEP;
    }
    return perm_is_identity(&n->attr[IR_ATTR_PERM]) ? x->id : KEEP;
}

/* reshape(reshape(x)) -> reshape(x); broadcast_to(broadcast_to(x)) -> broadcast_to(x) (NumPy
 * broadcasting composes); either to the operand's own shape -> x. */
static int rule_chain(canon *c, ir_node *n) {
    const ir_node *x = operand(c, n, 0);
    if (x->op == n->op) {
        n->in[0] = x->in[0];
        return reinfer(c, n) ? n->id : KEEP;
    }
    return ir_type_equal(&x->type, &n->type) ? x->id : KEEP;
}

/* A transpose a GEMM can take as an operand flag: batch axes in place, the last two swapped.
 * Other permutations are legal in PERM_A but would make the contraction gather whole batches
 * out of order, so they stay explicit transposes (and fusible movement). */
static bool absorbable(const ir_node *t) {
    const ir_attr *p = &t->attr[IR_ATTR_PERM];
    if (t->op != IR_OP_TRANSPOSE || p->n < 2) return false;
    for (int i = 0; i < p->n - 2; i++)
        if (p->v[i] != i) return false;
    return p->v[p->n - 2] == p->n - 1 && p->v[p->n - 1] == p->n - 2;
}

/* matmul(transpose(a, P), b)[perm_a=Q] -> matmul(a, b)[perm_a=P∘Q], and the same for b; an
 * identity perm is dropped (n = 0). */
static int rule_matmul(canon *c, ir_node *n) {
    static const ir_attr_id ids[2] = {IR_ATTR_PERM_A, IR_ATTR_PERM_B};
    bool changed = false;
    for (int s = 0; s < 2; s++) {
        ir_attr *perm = &n->attr[ids[s]];
        const ir_node *t = operand(c, n, s);
        if (absorbable(t)) {
            ir_attr q = *perm;
            if (q.n == 0) {
                q.n = t->type.rank;
                for (int i = 0; i < q.n; i++) q.v[i] = i;
            }
            compose_perm(&t->attr[IR_ATTR_PERM], &q, perm);
            n->in[s] = t->in[0];
            changed = true;
        }
        if (perm->n > 0 && perm_is_identity(perm)) {
            memset(perm, 0, sizeof *perm);
            changed = true;
        }
    }
    return changed && reinfer(c, n) ? n->id : KEEP;
}

/* neg(neg(x)) -> x; cast(x, dtype of x) -> x. */
static int rule_unary(canon *c, ir_node *n) {
    const ir_node *x = operand(c, n, 0);
    if (n->op == IR_OP_NEG && x->op == IR_OP_NEG) return x->in[0];
    if (n->op == IR_OP_CAST && ir_type_equal(&x->type, &n->type)) return x->id;
    return KEEP;
}

/* One rule applied to n: KEEP, n->id when n was rewritten in place, or a replacement. */
static int rewrite_once(canon *c, ir_node *n) {
    switch (n->op) {
    case IR_OP_TRANSPOSE: return rule_transpose(c, n);
    case IR_OP_RESHAPE:
    case IR_OP_BROADCAST_TO: return rule_chain(c, n);
    case IR_OP_MATMUL: return rule_matmul(c, n);
    case IR_OP_NEG:
    case IR_OP_CAST: return rule_unary(c, n);
    default: break;
    }
    int r = n->op == IR_OP_SELECT ? rule_select(c, n) : KEEP;
    if (r == KEEP && (ir_op_table[n->op].flags & IR_COMMUTATIVE)) r = rule_constant_second(c, n);
    if (r == KEEP && n->n_in == 2 && (ir_op_table[n->op].flags & IR_ELEMENTWISE)) r = rule_identity(c, n);
    if (r == KEEP) r = rule_scalar_operand(c, n);
    return r;
}

/* Rules apply to n until none does or one replaces it; each in-place rewrite moves an operand
 * to an earlier node or removes a pattern, so this ends (the bound is a safety net). */
static bool canonicalize_node(canon *c, ir_node *n) {
    bool changed = false;
    for (int k = 0; k < n->n_in; k++) {
        int to = n->in[k] < c->n_before ? c->repl[n->in[k]] : n->in[k];
        changed |= to != n->in[k];
        n->in[k] = to;
    }
    if (changed && !reinfer(c, n)) return false;
    for (int step = 0; step < 64 && !c->failed; step++) {
        int r = rewrite_once(c, n);
        if (r == KEEP) break;
        changed = true;
        if (r != n->id) {
            c->repl[n->id] = r;
            break;
        }
    }
    return changed;
}

bool pass_canonicalize(ir_graph *g, pass_context *ctx) {
    canon c = {.g = g, .d = ctx->diag, .n_before = g->n_nodes};
    c.repl = malloc(sizeof *c.repl * ((size_t)g->n_nodes + 1));
    if (!c.repl) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < g->n_nodes; i++) c.repl[i] = i;
    bool *was_live = pass_live_nodes(g);
    bool changed = false;
    for (int i = 0; i < c.n_before && !c.failed; i++)
        if (!g->nodes[i]->dead) changed |= canonicalize_node(&c, g->nodes[i]);
    ir_graph_remap_roots(g, c.repl);
    bool ok = !c.failed;
    if (ok && changed) {
        pass_drop_orphans(g, was_live, c.n_before);
        ok = ir_graph_cleanup(g, ctx->diag);
    }
    free(was_live);
    free(c.repl);
    free(c.consts);
    return ok;
}
