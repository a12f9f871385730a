/* fuse_name.c — kernel names that say what a fusion group is: fused_<ops>_<shape>, with the
 * epilogue of a contraction spelled bias / scale / residual (fused_matmul_bias_gelu_128x3072x768:
 * M x N x K), known row-wise patterns by their name (fused_softmax_12x128x128), otherwise the op
 * names in order, repeats collapsed, at most five and then `etc`; unique within the graph. */
#include "passes/fuse.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_TOKENS = 6 };

typedef struct tokens {
    const char *t[MAX_TOKENS];
    int n;
    bool more;
} tokens;

/* Consecutive repeats collapse (add, add -> add); past five names the rest is `etc`. */
static void push(tokens *t, const char *s) {
    if (t->n > 0 && strcmp(t->t[t->n - 1], s) == 0) return;
    if (t->n == MAX_TOKENS - 1) t->more = true;
    else t->t[t->n++] = s;
}

/* Composite ops as decomposition writes them, matched as multisets of op names. */
static const struct pattern {
    const char *name;
    const char *ops;
} patterns[] = {
    {"softmax", "div exp max sub sum"},
    {"log_softmax", "exp log max sub sub sum"},
    {"layer_norm", "add add mean mean mul mul mul rsqrt sub"},
    {"layer_norm", "add mean mean mul mul rsqrt sub"},
    {"layer_norm", "add add div mean mean mul mul sqrt sub"},
    {"mse", "mean mul sub"},
};

static int compare_names(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The sorted op names of the members that compute, views and broadcasts aside, as one string. */
static void op_multiset(const ir_graph *g, const int *members, int count, char *out, size_t size) {
    const char **names = malloc(sizeof *names * ((size_t)count + 1));
    if (!names) ir_internal_error(__FILE__, __LINE__, "out of memory");
    int n = 0;
    for (int i = 0; i < count; i++) {
        const ir_node *x = g->nodes[members[i]];
        if (!ir_node_is_free(x) && x->op != IR_OP_BROADCAST_TO) names[n++] = ir_op_name(x->op);
    }
    qsort(names, (size_t)n, sizeof *names, compare_names);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n && used < size; i++) used += (size_t)snprintf(out + used, size - used, "%s%s", i ? " " : "", names[i]);
    free(names);
}

/* The numerically careful forms decomposition may write (log_softmax through a log1p of the
 * sum) are recognised by their key ops and the op that ends the group. */
static const char *pattern_by_key_ops(const ir_graph *g, const int *members, int count) {
    int n[IR_OP_COUNT] = {0};
    ir_op last = IR_OP_COUNT;
    for (int i = 0; i < count; i++) {
        const ir_node *x = g->nodes[members[i]];
        if (ir_node_is_free(x)) continue;
        n[x->op]++;
        last = x->op;
    }
    if (n[IR_OP_MAX] == 1 && n[IR_OP_EXP] == 1 && n[IR_OP_SUM] >= 1 && n[IR_OP_MEAN] == 0) {
        if (last == IR_OP_DIV && n[IR_OP_LOG] == 0) return "softmax";
        if (last == IR_OP_SUB && n[IR_OP_LOG] >= 1) return "log_softmax";
    }
    if (n[IR_OP_MEAN] == 2 && n[IR_OP_RSQRT] + n[IR_OP_SQRT] == 1 && n[IR_OP_MAX] + n[IR_OP_EXP] == 0 &&
        (last == IR_OP_ADD || last == IR_OP_MUL || last == IR_OP_DIV))
        return "layer_norm";
    return NULL;
}

static const char *pattern_of(const ir_graph *g, const int *members, int count) {
    char ops[512];
    op_multiset(g, members, count, ops, sizeof ops);
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
        if (strcmp(ops, patterns[i].ops) == 0) return patterns[i].name;
    return pattern_by_key_ops(g, members, count);
}

/* ---- contraction epilogues ------------------------------------------------------------------ */

/* bias: add of a broadcast value; residual: add of a value of the same shape; scale: mul or div
 * by a single element. `side` is the operand that does not come from the contraction. */
static const char *epilogue_token(const ir_graph *g, const ir_node *x, const ir_node *side) {
    /* A bias broadcast inside the group (a recomputed broadcast_to) is still a bias. */
    while (side && (side->op == IR_OP_BROADCAST_TO || side->op == IR_OP_RESHAPE)) side = ir_operand(g, side, 0);
    bool single = side && ir_type_elems(&side->type) == 1;
    switch (x->op) {
    case IR_OP_ADD: return !side ? "add" : fuse_same_dims(&side->type, &x->type) ? "residual" : "bias";
    case IR_OP_MUL: return single ? "scale" : "mul";
    case IR_OP_DIV: return single ? "scale" : "div";
    default: return ir_op_name(x->op);
    }
}

/* The contraction, then each member its value flows through, in order. */
static const ir_node *contraction_tokens(const ir_graph *g, const int *members, int count, tokens *t) {
    bool *from_c = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    if (!from_c) ir_internal_error(__FILE__, __LINE__, "out of memory");
    const ir_node *c = NULL;
    for (int i = 0; i < count; i++) {
        const ir_node *x = g->nodes[members[i]];
        if (!c && (ir_op_table[x->op].flags & IR_CONTRACTION)) {
            c = x;
            from_c[x->id] = true;
            push(t, ir_op_name(x->op));
            continue;
        }
        const ir_node *side = NULL;
        for (int k = 0; k < x->n_in; k++) {
            if (from_c[x->in[k]]) from_c[x->id] = true;
            else side = ir_operand(g, x, k);
        }
        if (from_c[x->id] && !ir_node_is_free(x)) push(t, epilogue_token(g, x, side));
    }
    free(from_c);
    return c;
}

/* ---- shapes --------------------------------------------------------------------------------- */

/* Dims joined by x, leading 1s dropped (a batch of one says nothing). */
static size_t dims_text(char *out, size_t size, const int64_t *dims, int rank) {
    int first = 0;
    while (first < rank - 1 && dims[first] == 1) first++;
    if (rank == 0) return (size_t)snprintf(out, size, "scalar");
    size_t used = 0;
    for (int i = first; i < rank && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%lld", i > first ? "x" : "", (long long)dims[i]);
    return used;
}

/* matmul: the batch, M x N, then K (the reduced length, after perm_a); conv2d: its output. */
static void contraction_shape(const ir_graph *g, const ir_node *c, char *out, size_t size) {
    int64_t dims[IR_MAX_RANK + 1];
    int rank = c->type.rank;
    memcpy(dims, c->type.dims, sizeof(int64_t) * (size_t)rank);
    if (c->op == IR_OP_MATMUL) {
        const ir_type *a = &ir_operand(g, c, 0)->type;
        const ir_attr *perm = &c->attr[IR_ATTR_PERM_A];
        dims[rank++] = perm->n > 0 ? a->dims[perm->v[a->rank - 1]] : a->dims[a->rank - 1];
    }
    dims_text(out, size, dims, rank);
}

static const ir_type *reduce_input(const ir_graph *g, const int *members, int count) {
    bool axes[IR_MAX_RANK];
    for (int i = 0; i < count; i++)
        if (ir_reduced_axes(g->nodes[members[i]], axes)) return &ir_operand(g, g->nodes[members[i]], 0)->type;
    return &g->nodes[members[count - 1]]->type;
}

/* ---- the name ------------------------------------------------------------------------------- */

static bool name_taken(const ir_graph *g, const char *name) {
    for (int i = 0; i < g->n_groups; i++)
        if (strcmp(g->groups[i].name, name) == 0) return true;
    return false;
}

/* Broadcasts and creation ops say little about a kernel: named only when it has nothing else. */
static bool is_filler(const ir_node *n) {
    return n->op == IR_OP_BROADCAST_TO || n->op == IR_OP_FULL || n->op == IR_OP_ARANGE;
}

static void describe(const ir_graph *g, const int *members, int count, int kind, tokens *t, char *shape, size_t size) {
    const ir_node *last = NULL;
    for (int i = 0; i < count; i++)
        if (!ir_node_is_free(g->nodes[members[i]])) last = g->nodes[members[i]];
    const char *pattern = kind == IR_FUSION_REDUCE ? pattern_of(g, members, count) : NULL;
    if (kind == IR_FUSION_CONTRACTION) {
        const ir_node *c = contraction_tokens(g, members, count, t);
        if (c) {
            contraction_shape(g, c, shape, size);
            return;
        }
    } else if (pattern) {
        push(t, pattern);
    } else {
        for (int i = 0; i < count; i++)
            if (!ir_node_is_free(g->nodes[members[i]]) && !is_filler(g->nodes[members[i]])) push(t, ir_op_name(g->nodes[members[i]]->op));
        for (int i = 0; i < count && t->n == 0; i++)
            if (!ir_node_is_free(g->nodes[members[i]])) push(t, ir_op_name(g->nodes[members[i]]->op));
    }
    const ir_type *type = kind == IR_FUSION_REDUCE ? reduce_input(g, members, count) : &last->type;
    dims_text(shape, size, type->dims, type->rank);
}

const char *fuse_kernel_name(const ir_graph *g, const int *members, int count, int kind) {
    tokens t = {{NULL}, 0, false};
    char shape[160], base[512], name[540];
    describe(g, members, count, kind, &t, shape, sizeof shape);
    size_t used = (size_t)snprintf(base, sizeof base, "fused");
    for (int i = 0; i < t.n && used < sizeof base; i++) used += (size_t)snprintf(base + used, sizeof base - used, "_%s", t.t[i]);
    if (t.more && used < sizeof base) used += (size_t)snprintf(base + used, sizeof base - used, "_etc");
    if (used < sizeof base) snprintf(base + used, sizeof base - used, "_%s", shape);
    snprintf(name, sizeof name, "%s", base);
    for (int i = 1; name_taken(g, name); i++) snprintf(name, sizeof name, "%s_%d", base, i);
    return ir_strdup(g->module->arena, name);
}
