/* fold.c — constant folding through the interpreter's own kernels: a node whose operands are all
 * known (constant, full, arange, or folded earlier) is evaluated once at compile time. The IR
 * has no constant-tensor node, so only scalars (-> constant) and splats (-> full) replace nodes;
 * other known values stay as nodes but still feed folding downstream (sum(arange(n)) folds). */
#include "passes/simplify.h"

#include <stdlib.h>
#include <string.h>

enum { FOLD_DEFAULT_BYTES = 64 * 1024, FOLD_OPERAND_FACTOR = 16 };

typedef struct folder {
    ir_graph *g;
    ir_diag *d;
    ir_diag quiet;            /* kernel errors while folding: discarded, the run reports them */
    int64_t max_bytes;        /* largest folded result */
    int64_t max_operand_bytes;/* largest constant leaf evaluated to feed a fold */
    ir_tensor *val;           /* val[i].data != NULL: node i's value is known */
    int *last_use;            /* the last node reading node i, so values are freed early */
} folder;

static int64_t type_bytes(const ir_type *t) { return ir_type_elems(t) * (int64_t)ir_dtype_size(t->dtype); }

/* The value of node id, evaluating a constant leaf on first use; NULL when unknown. */
static const ir_tensor *value_of(folder *f, int id) {
    const ir_node *n = f->g->nodes[id];
    if (f->val[id].data) return &f->val[id];
    if (!pass_is_constant(n) || type_bytes(&n->type) > f->max_operand_bytes) return NULL;
    if (!ir_tensor_alloc(&f->val[id], &n->type)) return NULL;
    if (ir_op_table[n->op].kernel(n, NULL, &f->val[id], &f->quiet)) return &f->val[id];
    ir_tensor_free(&f->val[id]);
    return NULL;
}

/* Evaluates n when every operand is known and the result is small enough; false otherwise, and
 * when the kernel fails (gather out of range: left for the run to report). */
static bool evaluate(folder *f, const ir_node *n) {
    if (n->n_in == 0 || type_bytes(&n->type) > f->max_bytes) return false;
    ir_tensor *in = malloc(sizeof *in * (size_t)n->n_in); /* concat is variadic */
    if (!in) return false;
    bool known = true;
    for (int k = 0; k < n->n_in && known; k++) {
        const ir_tensor *v = value_of(f, n->in[k]);
        if (v) in[k] = *v;
        known = v != NULL;
    }
    ir_tensor *out = &f->val[n->id];
    known = known && ir_tensor_alloc(out, &n->type);
    if (known && !ir_op_table[n->op].kernel(n, in, out, &f->quiet)) {
        ir_tensor_free(out);
        known = false;
    }
    free(in);
    return known;
}

/* True when every element has the bytes of element 0 (so a NaN payload or -0.0 must match too),
 * and a constant of value *v stores exactly those bytes: then full(*v) reproduces the tensor. */
static bool splat_of(const ir_tensor *t, double *v) {
    int64_t count = ir_type_elems(&t->type);
    size_t size = ir_dtype_size(t->type.dtype);
    const unsigned char *bytes = t->data;
    if (count == 0) {
        *v = 0;
        return true;
    }
    for (int64_t i = 1; i < count; i++)
        if (memcmp(bytes + (size_t)i * size, bytes, size) != 0) return false;
    *v = ir_tensor_get(t, 0);
    ir_type one = {.dtype = t->type.dtype, .rank = 0};
    ir_tensor back;
    if (!ir_tensor_alloc(&back, &one)) return false;
    ir_tensor_set(&back, 0, *v);
    bool exact = memcmp(back.data, bytes, size) == 0; /* an i64 beyond 2^53 is not a double */
    ir_tensor_free(&back);
    return exact;
}

/* n (known value t) becomes constant(v) when a scalar, full(v, shape) when a splat. */
static bool materialize(folder *f, ir_node *n, const ir_tensor *t, bool *changed) {
    double v;
    if (!splat_of(t, &v)) return true;
    bool scalar = n->type.rank == 0;
    pass_become(f->g, n, scalar ? IR_OP_CONSTANT : IR_OP_FULL, NULL, 0);
    n->group = -1;
    n->attr[IR_ATTR_VALUE].f = v;
    n->attr[IR_ATTR_DTYPE].v[0] = n->type.dtype;
    if (!scalar) {
        n->attr[IR_ATTR_SHAPE].n = n->type.rank;
        memcpy(n->attr[IR_ATTR_SHAPE].v, n->type.dims, sizeof(int64_t) * (size_t)n->type.rank);
    }
    *changed = true;
    return pass_reinfer(f->g, n, f->d);
}

static int *last_uses(const ir_graph *g) {
    int *last = malloc(sizeof *last * ((size_t)g->n_nodes + 1));
    if (!last) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < g->n_nodes; i++) last[i] = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i]->n_in; k++) last[g->nodes[i]->in[k]] = i;
    return last;
}

/* Frees the operand values node i was the last to read (graph outputs are never needed). */
static void release_operands(folder *f, const ir_node *n) {
    for (int k = 0; k < n->n_in; k++)
        if (f->last_use[n->in[k]] == n->id) ir_tensor_free(&f->val[n->in[k]]);
}

bool pass_fold(ir_graph *g, pass_context *ctx) {
    FILE *sink = tmpfile();
    if (!sink) return true; /* nowhere to discard kernel errors: fold nothing, correctly */
    folder f = {.g = g, .d = ctx->diag};
    ir_diag_init(&f.quiet, sink);
    f.max_bytes = ctx->fold_max_bytes > 0 ? ctx->fold_max_bytes : FOLD_DEFAULT_BYTES;
    f.max_operand_bytes = f.max_bytes * FOLD_OPERAND_FACTOR;
    f.val = calloc((size_t)g->n_nodes + 1, sizeof *f.val);
    f.last_use = last_uses(g);
    if (!f.val) ir_internal_error(__FILE__, __LINE__, "out of memory");
    bool *was_live = pass_live_nodes(g);
    int n_before = g->n_nodes;
    bool ok = true, changed = false;
    for (int i = 0; i < n_before && ok; i++) {
        ir_node *n = g->nodes[i];
        if (n->dead || pass_is_constant(n) || !ir_op_table[n->op].kernel) continue;
        bool known = evaluate(&f, n);
        release_operands(&f, n);
        if (known) ok = materialize(&f, n, &f.val[i], &changed);
    }
    if (ok && changed) {
        pass_drop_orphans(g, was_live, n_before);
        ok = ir_graph_cleanup(g, ctx->diag);
    }
    for (int i = 0; i < n_before; i++) ir_tensor_free(&f.val[i]);
    free(f.val);
    free(f.last_use);
    free(was_live);
    ir_diag_free(&f.quiet);
    fclose(sink);
    return ok;
}
