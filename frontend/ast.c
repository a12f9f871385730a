/* ast.c — building the syntax tree (with its depth bound, so no later recursive walk can
 * overflow the stack) and the frontend's two containers: pointer lists and string maps. */
#include "frontend/ast.h"

#include <string.h>

void fe_list_push(ir_arena *a, fe_list *l, void *item) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 4;
        l->items = ir_grow(a, l->items, sizeof *l->items, (size_t)l->n, (size_t)cap);
        l->cap = cap;
    }
    l->items[l->n++] = item;
}

/* FNV-1a: keys are short identifiers. */
static size_t hash_string(const char *s) {
    size_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The slot holding key, or the empty slot where it would go; cap is a power of two. */
static int map_slot(const fe_map *m, const char *key) {
    size_t mask = (size_t)m->cap - 1;
    size_t i = hash_string(key) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key) != 0) i = (i + 1) & mask;
    return (int)i;
}

void *fe_map_get(const fe_map *m, const char *key) {
    if (m->cap == 0) return NULL;
    int i = map_slot(m, key);
    return m->keys[i] ? m->values[i] : NULL;
}

/* Keeps the load factor at most 1/2 so probes stay short and an empty slot always exists. */
void fe_map_put(ir_arena *a, fe_map *m, const char *key, void *value) {
    if (2 * (m->n + 1) > m->cap) {
        fe_map old = *m;
        m->cap = old.cap ? 2 * old.cap : 16;
        m->keys = ir_alloc(a, sizeof *m->keys * (size_t)m->cap);
        m->values = ir_alloc(a, sizeof *m->values * (size_t)m->cap);
        m->n = 0;
        for (int i = 0; i < old.cap; i++)
            if (old.keys[i]) fe_map_put(a, m, old.keys[i], old.values[i]);
    }
    int i = map_slot(m, key);
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->n++;
    }
    m->values[i] = value;
}

bool fe_parser_gave_up(fe_parser *p) {
    if (p->stop) return true;
    if (p->d->errors - p->errors_at_start < FE_MAX_ERRORS) return false;
    ir_error(p->d, IR_NO_LOC, "too many errors emitted, stopping now");
    p->stop = true;
    return true;
}

fe_expr *fe_expr_new(fe_parser *p, fe_expr_kind kind, ir_loc loc) {
    fe_expr *e = ir_alloc(p->arena, sizeof *e);
    e->kind = kind;
    e->loc = loc;
    e->depth = 1;
    return e;
}

/* A node whose subtree would be deeper than FE_MAX_EXPR_DEPTH becomes an error leaf, reported
 * once; its ancestors see the error child and collapse silently, so the tree stays shallow. */
static fe_expr *bounded(fe_parser *p, fe_expr *e, int child_depth, bool child_error) {
    if (child_error) return fe_expr_new(p, FE_E_ERROR, e->loc);
    e->depth = child_depth + 1;
    if (e->depth <= FE_MAX_EXPR_DEPTH) return e;
    ir_error(p->d, e->loc, "expression nested too deeply (more than %d levels)", FE_MAX_EXPR_DEPTH);
    return fe_expr_new(p, FE_E_ERROR, e->loc);
}

fe_expr *fe_expr_binary(fe_parser *p, fe_binop op, ir_loc loc, fe_expr *lhs, fe_expr *rhs) {
    fe_expr *e = fe_expr_new(p, FE_E_BINARY, loc);
    e->op = op;
    e->lhs = lhs;
    e->rhs = rhs;
    int depth = lhs->depth > rhs->depth ? lhs->depth : rhs->depth;
    return bounded(p, e, depth, lhs->kind == FE_E_ERROR || rhs->kind == FE_E_ERROR);
}

fe_expr *fe_expr_neg(fe_parser *p, ir_loc loc, fe_expr *operand) {
    fe_expr *e = fe_expr_new(p, FE_E_NEG, loc);
    e->lhs = operand;
    return bounded(p, e, operand->depth, operand->kind == FE_E_ERROR);
}

fe_expr *fe_expr_call(fe_parser *p, const char *callee, ir_loc loc, fe_list *args) {
    fe_expr *e = fe_expr_new(p, FE_E_CALL, loc);
    e->str = callee;
    e->args = (fe_arg **)args->items;
    e->n_args = args->n;
    int depth = 0;
    bool error = false;
    for (int i = 0; i < args->n; i++) {
        const fe_expr *v = e->args[i]->value;
        if (v->depth > depth) depth = v->depth;
        error |= v->kind == FE_E_ERROR;
    }
    return bounded(p, e, depth, error);
}

fe_expr *fe_expr_list(fe_parser *p, ir_loc loc, fe_list *items) {
    fe_expr *e = fe_expr_new(p, FE_E_LIST, loc);
    e->items = (fe_expr **)items->items;
    e->n_items = items->n;
    int depth = 0;
    bool error = false;
    for (int i = 0; i < items->n; i++) {
        if (e->items[i]->depth > depth) depth = e->items[i]->depth;
        error |= e->items[i]->kind == FE_E_ERROR;
    }
    return bounded(p, e, depth, error);
}

fe_name *fe_name_new(fe_parser *p, const char *name, ir_loc loc) {
    fe_name *n = ir_alloc(p->arena, sizeof *n);
    n->name = name;
    n->loc = loc;
    return n;
}

const char *fe_binop_symbol(fe_binop op) {
    static const char *const symbols[] = {
        [FE_ADD] = "+", [FE_SUB] = "-", [FE_MUL] = "*",  [FE_DIV] = "/",  [FE_MATMUL] = "@", [FE_POW] = "**",
        [FE_EQ] = "==", [FE_NE] = "!=", [FE_LT] = "<",   [FE_LE] = "<=", [FE_GT] = ">",      [FE_GE] = ">=",
    };
    return symbols[op];
}
