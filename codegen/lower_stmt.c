/* lower_stmt.c — the statements of the kernel being lowered: variables, the chain of open scopes
 * (the kernel's top level, then each enclosing loop's body), loops opened under any open scope
 * so that a value can be computed as far out as its coordinates allow, and the conversions
 * between coordinates and linear indices. */
#include "codegen/lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cg_new_var(cg_lower *w, const char *prefix, ir_dtype type, bool is_index, int level, int64_t extent) {
    cg_program *p = w->p;
    if (p->n_vars == w->cap_vars) {
        int cap = w->cap_vars ? 2 * w->cap_vars : 64;
        p->vars = ir_grow(w->a, p->vars, sizeof *p->vars, (size_t)w->cap_vars, (size_t)cap);
        w->var_level = realloc(w->var_level, sizeof *w->var_level * (size_t)cap);
        w->var_extent = realloc(w->var_extent, sizeof *w->var_extent * (size_t)cap);
        IR_ASSERT(w->var_level && w->var_extent);
        w->cap_vars = cap;
    }
    char name[32];
    snprintf(name, sizeof name, "%s%d", prefix, is_index ? w->n_loops++ : w->n_temps++);
    int v = p->n_vars++;
    p->vars[v] = (cg_var){ir_strdup(w->a, name), type, is_index};
    w->var_level[v] = level;
    w->var_extent[v] = is_index ? extent : -1;
    return v;
}

/* ---- statements ------------------------------------------------------------------------------ */

static cg_scope *new_scope(cg_lower *w) { return ir_alloc(w->a, sizeof(cg_scope)); }

static void scope_append(cg_lower *w, cg_scope *s, cg_stmt *st) {
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        s->stmts = ir_grow(w->a, s->stmts, sizeof *s->stmts, (size_t)s->cap, (size_t)cap);
        s->cap = cap;
    }
    s->stmts[s->n++] = st;
}

void cg_emit_at(cg_lower *w, int level, cg_stmt *s) {
    IR_ASSERT(level >= 0 && level <= w->level);
    scope_append(w, w->chain[level], s);
}

static cg_stmt *new_stmt(cg_lower *w, cg_stmt_kind kind) {
    cg_stmt *s = ir_alloc(w->a, sizeof *s);
    s->kind = kind;
    return s;
}

void cg_emit_assign(cg_lower *w, int level, int var, cg_expr *value) {
    IR_ASSERT(value->type == w->p->vars[var].type && !w->p->vars[var].is_index);
    cg_stmt *s = new_stmt(w, CG_ASSIGN);
    s->var = var;
    s->value = value;
    cg_emit_at(w, level, s);
}

void cg_emit_store(cg_lower *w, int level, int buf, cg_expr *index, cg_expr *value, bool nontemporal) {
    IR_ASSERT(index->type == IR_I64 && value->type == cg_value_type(w->p->buffers[buf].dtype));
    cg_stmt *s = new_stmt(w, CG_STORE);
    s->buf = buf;
    s->index = index;
    s->value = value;
    s->nontemporal = nontemporal;
    cg_emit_at(w, level, s);
}

/* Checks are numbered per kernel; one message is shared by all checks that say the same. The
 * message starts with the op's source location, as the interpreter's error does. */
void cg_emit_check(cg_lower *w, int level, cg_expr *ok, ir_loc loc, const char *what) {
    IR_ASSERT(ok->type == IR_BOOL);
    if (cg_is_const(ok, 1)) return;
    char message[512];
    if (loc.file >= 0 && loc.file < w->d->n_sources)
        snprintf(message, sizeof message, "%s:%d:%d: %s", w->d->sources[loc.file].name, loc.line, loc.col, what);
    else
        snprintf(message, sizeof message, "%s", what);
    cg_kernel *k = w->k;
    int id = -1;
    for (int i = 0; i < k->n_checks && id < 0; i++)
        if (strcmp(k->checks[i], message) == 0) id = i;
    if (id < 0) {
        if (k->n_checks == w->cap_checks) {
            int cap = w->cap_checks ? 2 * w->cap_checks : 4;
            k->checks = ir_grow(w->a, k->checks, sizeof *k->checks, (size_t)w->cap_checks, (size_t)cap);
            w->cap_checks = cap;
        }
        id = k->n_checks++;
        k->checks[id] = ir_strdup(w->a, message);
    }
    cg_stmt *s = new_stmt(w, CG_CHECK);
    s->check = id;
    s->value = ok;
    cg_emit_at(w, level, s);
}

/* ---- loops ---------------------------------------------------------------------------------- */

static void push_scope(cg_lower *w, cg_scope *s) {
    if (w->level + 2 > w->cap_chain) {
        int cap = w->cap_chain ? 2 * w->cap_chain : 16;
        w->chain = realloc(w->chain, sizeof *w->chain * (size_t)cap);
        IR_ASSERT(w->chain != NULL);
        w->cap_chain = cap;
    }
    w->chain[++w->level] = s;
}

int cg_open_loop(cg_lower *w, cg_loop_mark *m, int level, int64_t extent, unsigned flags) {
    IR_ASSERT(level >= 0 && level <= w->level);
    m->parent = level;
    m->n_saved = w->level - level;
    m->saved = m->n_saved ? ir_alloc(w->a, sizeof *m->saved * (size_t)m->n_saved) : NULL;
    for (int i = 0; i < m->n_saved; i++) m->saved[i] = w->chain[level + 1 + i];
    w->level = level;
    m->extent = extent;
    m->flags = flags;
    m->var = cg_new_var(w, "i", IR_I64, true, level + 1, extent);
    push_scope(w, new_scope(w));
    return m->var;
}

void cg_close_loop(cg_lower *w, cg_loop_mark *m) {
    IR_ASSERT(w->level == m->parent + 1);
    cg_scope *body = w->chain[w->level];
    cg_stmt *s = new_stmt(w, CG_LOOP);
    s->var = m->var;
    s->extent = m->extent;
    s->flags = m->flags;
    s->n_body = body->n;
    s->body = body->stmts;
    for (int i = 0; i < body->n; i++)
        if (body->stmts[i]->kind == CG_LOOP) s->flags &= ~(unsigned)CG_LOOP_VECTOR;
    w->level = m->parent;
    cg_emit_at(w, m->parent, s);
    for (int i = 0; i < m->n_saved; i++) w->chain[++w->level] = m->saved[i];
}

/* ---- coordinates ------------------------------------------------------------------------------ */

/* Successive division from the last axis; axis 0 takes the quotient as it is (flat < elems). */
void cg_delinearize(cg_lower *w, cg_expr *flat, const ir_type *t, cg_coords *out) {
    out->rank = t->rank;
    out->flat = flat;
    cg_expr *q = flat;
    for (int i = t->rank - 1; i >= 1; i--) {
        int64_t d = t->dims[i];
        out->c[i] = d == 1 ? cg_index(w, 0) : cg_call2(w, CG_REM, q, cg_index(w, d));
        if (d != 1) q = cg_call2(w, CG_DIV, q, cg_index(w, d));
    }
    if (t->rank >= 1) out->c[0] = t->dims[0] == 1 ? cg_index(w, 0) : q;
}

/* Horner's form ((c0*d1 + c1)*d2 + c2 ...), which re-linearizing delinearized coordinates folds
 * back to the flat index ((q/d)*d + q%d = q). */
cg_expr *cg_linearize(cg_lower *w, const cg_coords *c, const ir_type *t) {
    IR_ASSERT(c->rank == t->rank);
    if (c->flat) return c->flat;
    if (t->rank == 0) return cg_index(w, 0);
    cg_expr *acc = c->c[0];
    for (int i = 1; i < t->rank; i++) acc = cg_add(w, cg_mul(w, acc, cg_index(w, t->dims[i])), c->c[i]);
    return acc;
}

int cg_coords_level(const cg_coords *c) {
    int level = c->flat ? cg_expr_level(c->flat) : 0;
    for (int i = 0; i < c->rank; i++)
        if (cg_expr_level(c->c[i]) > level) level = cg_expr_level(c->c[i]);
    return level;
}
