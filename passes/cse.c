/* cse.c — common subexpression elimination by hash-consing: walking the nodes in order, a node
 * with the op, operands (as sets for commutative ops), attributes and type of an earlier one is
 * replaced by it. Leaves merge too: one input node per index, one param node per parameter,
 * one constant per value bits and dtype. */
#include "passes/simplify.h"

#include <stdlib.h>
#include <string.h>

typedef struct cse_table {
    int *slot;                /* node ids, -1: empty; open addressing, linear probing */
    size_t mask;
} cse_table;

/* Operand k of n in canonical order: the two operands of a commutative op sorted by id. */
static int canonical_operand(const ir_node *n, int k) {
    if (n->n_in == 2 && (ir_op_table[n->op].flags & IR_COMMUTATIVE) && n->in[0] > n->in[1]) return n->in[1 - k];
    return n->in[k];
}

/* The meaningful part of an attribute: INTS compare n and v[0..n) (all of v for a marker),
 * FLOAT its bits (so a NaN constant equals itself and -0.0 differs from 0.0), others v[0]. */
static size_t attr_words(const ir_attr *a, ir_attr_kind kind, int64_t *words) {
    if (kind == IR_AK_FLOAT) {
        memcpy(&words[0], &a->f, sizeof a->f);
        return 1;
    }
    if (kind != IR_AK_INTS) {
        words[0] = a->v[0];
        return 1;
    }
    size_t used = a->n >= 0 && a->n <= IR_MAX_RANK ? (size_t)a->n : IR_MAX_RANK;
    words[0] = a->n;
    memcpy(words + 1, a->v, sizeof(int64_t) * used);
    return used + 1;
}

static uint64_t mix(uint64_t h, int64_t v) { return (h ^ (uint64_t)v) * 0x100000001b3ull; }

static uint64_t node_hash(const ir_node *n) {
    uint64_t h = mix(0xcbf29ce484222325ull, n->op);
    for (int k = 0; k < n->n_in; k++) h = mix(h, canonical_operand(n, k));
    for (int a = 0; a < IR_ATTR_COUNT; a++) {
        if (!(ir_op_table[n->op].attrs & (1u << a))) continue;
        int64_t words[IR_MAX_RANK + 1];
        size_t count = attr_words(&n->attr[a], ir_attr_table[a].kind, words);
        for (size_t w = 0; w < count; w++) h = mix(h, words[w]);
    }
    h = mix(h, n->type.dtype);
    for (int i = 0; i < n->type.rank; i++) h = mix(h, n->type.dims[i]);
    return h;
}

static bool same_attrs(const ir_node *a, const ir_node *b) {
    for (int i = 0; i < IR_ATTR_COUNT; i++) {
        if (!(ir_op_table[a->op].attrs & (1u << i))) continue;
        int64_t wa[IR_MAX_RANK + 1], wb[IR_MAX_RANK + 1];
        size_t na = attr_words(&a->attr[i], ir_attr_table[i].kind, wa);
        size_t nb = attr_words(&b->attr[i], ir_attr_table[i].kind, wb);
        if (na != nb || memcmp(wa, wb, sizeof *wa * na) != 0) return false;
    }
    return true;
}

/* Same value: same op, operands, attributes and type, and the same fusion group (merging across
 * groups could make a group reach out and back in). */
static bool same_node(const ir_node *a, const ir_node *b) {
    if (a->op != b->op || a->n_in != b->n_in || a->group != b->group || !ir_type_equal(&a->type, &b->type))
        return false;
    for (int k = 0; k < a->n_in; k++)
        if (canonical_operand(a, k) != canonical_operand(b, k)) return false;
    return same_attrs(a, b);
}

/* The earlier node equal to n, or n itself after inserting it. */
static int intern(cse_table *t, const ir_graph *g, const ir_node *n) {
    for (size_t i = node_hash(n) & t->mask;; i = (i + 1) & t->mask) {
        if (t->slot[i] < 0) {
            t->slot[i] = n->id;
            return n->id;
        }
        if (same_node(g->nodes[t->slot[i]], n)) return t->slot[i];
    }
}

bool pass_cse(ir_graph *g, pass_context *ctx) {
    size_t size = 16;
    while (size < 2 * (size_t)g->n_nodes) size *= 2;
    cse_table t = {malloc(sizeof(int) * size), size - 1};
    int *repl = malloc(sizeof(int) * ((size_t)g->n_nodes + 1));
    if (!t.slot || !repl) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (size_t i = 0; i < size; i++) t.slot[i] = -1;
    int merged = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = g->nodes[i];
        repl[i] = i;
        if (n->dead) continue;
        for (int k = 0; k < n->n_in; k++) n->in[k] = repl[n->in[k]];
        repl[i] = intern(&t, g, n);
        if (repl[i] != i) {
            n->dead = true;
            merged++;
        }
    }
    ir_graph_remap_roots(g, repl);
    free(t.slot);
    free(repl);
    return merged == 0 || ir_graph_cleanup(g, ctx->diag);
}
