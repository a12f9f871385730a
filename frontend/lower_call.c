/* lower_call.c — calls: ops bound generically from their ops.def signatures (positional then
 * keyword arguments, defaults and markers, attribute kinds), the zeros/ones aliases of full,
 * grad(y, x), inlining of user fns (with recursion and depth checks), and the names that are
 * misplaced in a call. */
#include "frontend/lower.h"

#include <stdlib.h>
#include <string.h>

/* ---- signatures ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    fe_kind kind;
} kind_names[] = {
    {"int", FE_K_INT},       {"ints", FE_K_INTS},     {"axes", FE_K_AXES},   {"bool", FE_K_BOOL},
    {"float", FE_K_FLOAT},   {"dtype", FE_K_DTYPE},   {"shape", FE_K_SHAPE}, {"int2", FE_K_INT2},
    {"pads", FE_K_PADS},     {"spatialpad", FE_K_SPATIALPAD},                {"convpad", FE_K_CONVPAD},
    {"string", FE_K_STRING},
};

static bool copy_field(char *dst, size_t size, const char *s, size_t n) {
    if (n == 0 || n >= size) return false;
    memcpy(dst, s, n);
    dst[n] = 0;
    return true;
}

/* One parameter: [*]name[:kind[>attr]][=default]. Pads kinds fill LO and HI. */
static bool parse_param(fe_sig_param *p, const char *s, size_t n) {
    p->attr = -1;
    bool star = n > 0 && s[0] == '*';
    const char *end = s + n, *name = s + star;
    const char *colon = memchr(name, ':', (size_t)(end - name)), *eq = memchr(name, '=', (size_t)(end - name));
    const char *name_end = colon ? colon : eq ? eq : end;
    if (!copy_field(p->name, sizeof p->name, name, (size_t)(name_end - name))) return false;
    p->kind = star ? FE_K_TENSORS : FE_K_TENSOR;
    if (eq) {
        p->has_default = true;
        if ((size_t)(end - eq - 1) >= sizeof p->def) return false;
        memcpy(p->def, eq + 1, (size_t)(end - eq - 1));
    }
    if (!colon) return !star || !eq;
    const char *kind_end = eq ? eq : end, *gt = memchr(colon, '>', (size_t)(kind_end - colon));
    char kind[16], attr[24];
    if (!copy_field(kind, sizeof kind, colon + 1, (size_t)((gt ? gt : kind_end) - colon - 1))) return false;
    if (!copy_field(attr, sizeof attr, gt ? gt + 1 : p->name, gt ? (size_t)(kind_end - gt - 1) : strlen(p->name)))
        return false;
    int k = -1;
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (strcmp(kind_names[i].name, kind) == 0) k = (int)i;
    if (k < 0) return false;
    p->kind = kind_names[k].kind;
    if (p->kind == FE_K_PADS || p->kind == FE_K_SPATIALPAD || p->kind == FE_K_CONVPAD) {
        p->attr = IR_ATTR_LO;
    } else if (p->kind != FE_K_STRING) {
        ir_attr_id id;
        if (ir_attr_lookup(attr, &id)) p->attr = (int)id;   /* initializers have no attribute */
    }
    return true;
}

bool fe_sig_parse(fe_sig *s, const char *callee, const char *text) {
    memset(s, 0, sizeof *s);
    s->callee = callee;
    for (const char *p = text; *p;) {
        while (*p == ' ') p++;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && p[n - 1] == ' ') n--;
        if (s->n == FE_MAX_SIG || !parse_param(&s->p[s->n++], p, n)) return false;
        p = end ? end + 1 : p + strlen(p);
    }
    return true;
}

void fe_sigs_init(fe_ctx *c) {
    for (int op = 0; op < IR_OP_COUNT; op++) {
        const char *sig = ir_op_table[op].signature;
        if (!sig) continue;
        fe_sig *s = &c->sigs[op];
        IR_ASSERT(fe_sig_parse(s, ir_op_table[op].name, sig));
        for (int i = 0; i < s->n; i++)
            IR_ASSERT(s->p[i].attr >= 0 || s->p[i].kind == FE_K_TENSOR || s->p[i].kind == FE_K_TENSORS);
    }
    IR_ASSERT(fe_sig_parse(&c->zeros_sig, "zeros", "shape:shape, dtype:dtype=f32"));
    IR_ASSERT(fe_sig_parse(&c->ones_sig, "ones", "shape:shape, dtype:dtype=f32"));
}

/* ---- binding arguments ------------------------------------------------------------------- */

static int sig_find(const fe_sig *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->p[i].name, name) == 0) return i;
    return -1;
}

static void unknown_keyword(fe_ctx *c, const fe_sig *s, const fe_arg *a) {
    const char *names[FE_MAX_SIG];
    for (int i = 0; i < s->n; i++) names[i] = s->p[i].name;
    const char *near = ir_closest(a->name, names, s->n);
    if (near)
        fe_error(c, a->name_loc, "%s: unknown argument '%s'; did you mean '%s'?", s->callee, a->name, near);
    else
        fe_error(c, a->name_loc, "%s: unknown argument '%s'", s->callee, a->name);
}

/* Which parameter argument k fills: by keyword, else the next positional slot; -1 after an
 * error. Every argument is lowered, so errors inside a misplaced one are still reported. */
static int arg_slot(fe_ctx *c, const fe_sig *s, const fe_arg *a, int *next, bool *keywords) {
    if (a->name) {
        *keywords = true;
        int i = sig_find(s, a->name);
        if (i < 0) unknown_keyword(c, s, a);
        return i;
    }
    if (*keywords) {
        fe_error(c, a->value->loc, "%s: positional argument after a keyword argument", s->callee);
        return -1;
    }
    return (*next)++;
}

bool fe_bind_args(fe_ctx *c, const fe_sig *s, const fe_expr *call, fe_value *vals, bool *set) {
    bool ok = true, keywords = false;
    int next = 0;
    for (int k = 0; k < call->n_args; k++) {
        const fe_arg *a = call->args[k];
        fe_value v = fe_lower_expr(c, a->value);
        int i = arg_slot(c, s, a, &next, &keywords);
        if (i >= s->n) {
            if (i == s->n)
                fe_error(c, a->value->loc, "%s: too many arguments (it takes at most %d)", s->callee, s->n);
            ok = false;
        } else if (i >= 0 && set[i]) {
            fe_error(c, a->name ? a->name_loc : a->value->loc, "%s: argument '%s' given twice", s->callee, s->p[i].name);
            ok = false;
        } else if (i >= 0) {
            set[i] = true;
            vals[i] = v;
            ok &= v.kind != FE_V_ERROR;
        } else {
            ok = false;
        }
    }
    for (int i = 0; i < s->n && ok; i++) {
        if (!set[i] && !s->p[i].has_default) {
            fe_error(c, call->loc, "%s: missing argument '%s'", s->callee, s->p[i].name);
            ok = false;
        }
    }
    return ok;
}

/* ---- attribute kinds --------------------------------------------------------------------- */

static bool kind_error(fe_ctx *c, const fe_sig *s, int i, const fe_value *v, const char *need) {
    fe_error(c, v->loc, "%s: '%s' must be %s, not %s", s->callee, s->p[i].name, need, fe_value_desc(v));
    return false;
}

/* A list of integers into a (n, v[]); `need` names the expected form for messages. */
static bool int_list(fe_ctx *c, const fe_sig *s, int i, const fe_value *v, ir_attr *a, const char *need) {
    if (v->kind != FE_V_LIST) return kind_error(c, s, i, v, need);
    if (v->n_items > IR_MAX_RANK) {
        fe_error(c, v->loc, "%s: '%s' has %d values, at most %d are allowed", s->callee, s->p[i].name, v->n_items,
                 IR_MAX_RANK);
        return false;
    }
    for (int k = 0; k < v->n_items; k++) {
        if (v->items[k].kind != FE_V_INT) return kind_error(c, s, i, &v->items[k], "an integer");
        a->v[k] = v->items[k].i;
    }
    a->n = v->n_items;
    return true;
}

static bool shape_list(fe_ctx *c, const fe_sig *s, int i, const fe_value *v, ir_attr *a) {
    if (!int_list(c, s, i, v, a, "a list of integers")) return false;
    int64_t dims[IR_MAX_RANK], elems;
    int n = 0;
    for (int k = 0; k < a->n; k++) {
        if (a->v[k] < -1) {
            fe_error(c, v->items[k].loc, "%s: dimension %lld is negative", s->callee, (long long)a->v[k]);
            return false;
        }
        if (a->v[k] >= 0) dims[n++] = a->v[k];
    }
    if (!ir_dims_product(dims, n, &elems)) {
        fe_error(c, v->loc, "%s: shape has too many elements (more than 2^40)", s->callee);
        return false;
    }
    return true;
}

/* int2 and spatial padding: an int for both spatial axes, or [h, w]. */
static bool int_pair(fe_ctx *c, const fe_sig *s, int i, const fe_value *v, ir_attr *a) {
    const char *need = "an integer or a list of two integers";
    if (v->kind == FE_V_INT) {
        a->n = 2;
        a->v[0] = a->v[1] = v->i;
        return true;
    }
    if (v->kind != FE_V_LIST) return kind_error(c, s, i, v, need);
    if (v->n_items != 2) {
        fe_error(c, v->loc, "%s: '%s' must be %s, not a list of %d", s->callee, s->p[i].name, need, v->n_items);
        return false;
    }
    return int_list(c, s, i, v, a, need);
}

/* [[lo, hi], ...] for each axis. */
static bool pad_pairs(fe_ctx *c, const fe_sig *s, int i, const fe_value *v, ir_attr *lo, ir_attr *hi) {
    const char *need = "a list of [lo, hi] pairs";
    if (v->kind != FE_V_LIST) return kind_error(c, s, i, v, need);
    if (v->n_items > IR_MAX_RANK) return kind_error(c, s, i, v, "at most 8 [lo, hi] pairs");
    for (int k = 0; k < v->n_items; k++) {
        const fe_value *pair = &v->items[k];
        if (pair->kind != FE_V_LIST || pair->n_items != 2 || pair->items[0].kind != FE_V_INT ||
            pair->items[1].kind != FE_V_INT)
            return kind_error(c, s, i, pair, "a list of [lo, hi] pairs of integers");
        lo->v[k] = pair->items[0].i;
        hi->v[k] = pair->items[1].i;
    }
    lo->n = hi->n = v->n_items;
    return true;
}

static bool conv_padding(fe_ctx *c, const fe_sig *s, int i, const fe_value *v, ir_attr *lo, ir_attr *hi) {
    if (v->kind == FE_V_STRING && strcmp(v->s, "same") == 0) {
        lo->n = -2;
        return true;
    }
    if (v->kind == FE_V_STRING && strcmp(v->s, "valid") == 0) {
        lo->n = hi->n = 2;
        return true;
    }
    if (v->kind == FE_V_STRING)
        return kind_error(c, s, i, v, "an integer, [h, w], \"same\" or \"valid\"");
    if (!int_pair(c, s, i, v, lo)) return false;
    *hi = *lo;
    return true;
}

static bool set_attr(fe_ctx *c, const fe_sig *s, int i, const fe_value *v, ir_attr *attrs) {
    ir_attr *a = &attrs[s->p[i].attr];
    switch (s->p[i].kind) {
    case FE_K_INT:
        if (v->kind != FE_V_INT) return kind_error(c, s, i, v, "an integer");
        a->v[0] = v->i;
        return true;
    case FE_K_INTS: return int_list(c, s, i, v, a, "a list of integers");
    case FE_K_AXES:
        if (v->kind != FE_V_INT) return int_list(c, s, i, v, a, "an integer or a list of integers");
        a->n = 1;
        a->v[0] = v->i;
        return true;
    case FE_K_BOOL:
        if (v->kind != FE_V_BOOL) return kind_error(c, s, i, v, "true or false");
        a->v[0] = v->i;
        return true;
    case FE_K_FLOAT:
        if (v->kind != FE_V_INT && v->kind != FE_V_FLOAT) return kind_error(c, s, i, v, "a number");
        a->f = v->kind == FE_V_INT ? (double)v->i : v->f;
        return true;
    case FE_K_DTYPE:
        if (v->kind != FE_V_DTYPE) return kind_error(c, s, i, v, "a dtype (f32, f16, bf16, i32, i64 or bool)");
        a->v[0] = v->i;
        return true;
    case FE_K_SHAPE: return shape_list(c, s, i, v, a);
    case FE_K_INT2: return int_pair(c, s, i, v, a);
    case FE_K_PADS: return pad_pairs(c, s, i, v, &attrs[IR_ATTR_LO], &attrs[IR_ATTR_HI]);
    case FE_K_SPATIALPAD:
        if (!int_pair(c, s, i, v, &attrs[IR_ATTR_LO])) return false;
        attrs[IR_ATTR_HI] = attrs[IR_ATTR_LO];
        return true;
    case FE_K_CONVPAD: return conv_padding(c, s, i, v, &attrs[IR_ATTR_LO], &attrs[IR_ATTR_HI]);
    default: break;
    }
    IR_ASSERT(!"not an attribute kind");
    return false;
}

/* A default's text as a value: a number, true/false or a dtype name; markers are elsewhere. */
static bool default_value(const fe_sig_param *p, fe_value *out) {
    const char *t = p->def;
    ir_dtype dt;
    *out = (fe_value){.kind = FE_V_BOOL, .loc = IR_NO_LOC};
    if (strcmp(t, "true") == 0 || strcmp(t, "false") == 0) {
        out->i = t[0] == 't';
        return true;
    }
    if (ir_dtype_lookup(t, &dt)) {
        out->kind = FE_V_DTYPE;
        out->i = dt;
        return true;
    }
    char *end;
    if (strpbrk(t, ".e")) {
        out->kind = FE_V_FLOAT;
        out->f = strtod(t, &end);
    } else {
        out->kind = FE_V_INT;
        out->i = strtoll(t, &end, 10);
    }
    return *t && *end == 0;
}

/* Markers (attrs.def) say "decided by shape inference"; zeroed attributes already read n = 0. */
static void set_default(const fe_sig *s, int i, ir_attr *attrs, fe_ctx *c) {
    const fe_sig_param *p = &s->p[i];
    if (strcmp(p->def, "all") == 0) attrs[p->attr].n = -1;
    else if (strcmp(p->def, "same") == 0) attrs[IR_ATTR_LO].n = -2;
    else if (strcmp(p->def, "reverse") == 0 || strcmp(p->def, "ones") == 0 || strcmp(p->def, "kernel") == 0)
        attrs[p->attr].n = 0;
    else {
        fe_value v;
        IR_ASSERT(default_value(p, &v));
        IR_ASSERT(set_attr(c, s, i, &v, attrs));
    }
}

bool fe_float_arg(fe_ctx *c, const fe_sig *s, int i, const fe_value *vals, const bool *set, double *out) {
    fe_value v;
    if (set[i]) v = vals[i];
    else IR_ASSERT(default_value(&s->p[i], &v));
    if (v.kind == FE_V_INT) *out = (double)v.i;
    else if (v.kind == FE_V_FLOAT) *out = v.f;
    else return kind_error(c, s, i, &v, "a number");
    return true;
}

/* ---- op calls ------------------------------------------------------------------------------ */

static bool is_operand(const fe_value *v) {
    return v->kind == FE_V_TENSOR || v->kind == FE_V_INT || v->kind == FE_V_FLOAT || v->kind == FE_V_BOOL;
}

/* Appends parameter i's operands: one tensor, or each tensor of a `*xs` list. */
static bool add_operands(fe_ctx *c, const fe_sig *s, int i, const fe_value *v, fe_list *ops) {
    if (s->p[i].kind == FE_K_TENSOR) {
        if (!is_operand(v)) return kind_error(c, s, i, v, "a tensor");
        fe_list_push(c->arena, ops, (void *)v);
        return true;
    }
    if (v->kind != FE_V_LIST) return kind_error(c, s, i, v, "a list of tensors");
    for (int k = 0; k < v->n_items; k++) {
        if (!is_operand(&v->items[k])) return kind_error(c, s, i, &v->items[k], "a tensor");
        fe_list_push(c->arena, ops, &v->items[k]);
    }
    return true;
}

static fe_value lower_op_call(fe_ctx *c, ir_op op, const fe_sig *s, const fe_expr *call, double fill) {
    fe_value *vals = ir_alloc(c->arena, sizeof *vals * FE_MAX_SIG);
    bool set[FE_MAX_SIG] = {0};
    if (!fe_bind_args(c, s, call, vals, set)) return fe_error_value();
    ir_attr *attrs = ir_alloc(c->arena, sizeof *attrs * IR_ATTR_COUNT);
    fe_list ops = {0};
    bool ok = true;
    for (int i = 0; i < s->n; i++) {
        if (s->p[i].kind == FE_K_TENSOR || s->p[i].kind == FE_K_TENSORS) ok &= add_operands(c, s, i, &vals[i], &ops);
        else if (set[i]) ok &= set_attr(c, s, i, &vals[i], attrs);
        else set_default(s, i, attrs, c);
    }
    if (!ok) return fe_error_value();
    if (ops.n < ir_op_table[op].min_in) {
        fe_error(c, call->loc, "%s: needs at least %d tensor%s", s->callee, ir_op_table[op].min_in,
                 ir_op_table[op].min_in == 1 ? "" : "s");
        return fe_error_value();
    }
    if (op == IR_OP_FULL && s != &c->sigs[IR_OP_FULL]) attrs[IR_ATTR_VALUE].f = fill;
    fe_value *operands = ir_alloc(c->arena, sizeof *operands * (size_t)(ops.n ? ops.n : 1));
    for (int i = 0; i < ops.n; i++) operands[i] = *(const fe_value *)ops.items[i];
    return fe_emit(c, op, operands, ops.n, attrs, call->loc);
}

/* ---- grad ---------------------------------------------------------------------------------- */

/* grad(y, x) -> a grad node, which the autodiff pass replaces (docs/training.md). shape_grad
 * checks y (a float scalar) and x (a float value); x must be a value of the graph, since the
 * gradient with respect to a number written in place would always be zero. */
static fe_value lower_grad_call(fe_ctx *c, const fe_expr *call) {
    fe_sig s;
    IR_ASSERT(fe_sig_parse(&s, "grad", "y, x"));
    fe_value vals[2];
    bool set[2] = {false, false};
    if (!fe_bind_args(c, &s, call, vals, set)) return fe_error_value();
    for (int i = 0; i < 2; i++) {
        bool number = vals[i].kind == FE_V_INT || vals[i].kind == FE_V_FLOAT || vals[i].kind == FE_V_BOOL;
        if (vals[i].kind == FE_V_TENSOR || (i == 0 && number)) continue;
        if (number) {
            fe_error(c, vals[i].loc, "grad: 'x' must be a value of the graph (an input, a parameter or a computed "
                                     "value), not %s literal", fe_value_desc(&vals[i]));
            return fe_error_value();
        }
        kind_error(c, &s, i, &vals[i], "a tensor");
        return fe_error_value();
    }
    return fe_emit(c, IR_OP_GRAD, vals, 2, NULL, call->loc);
}

/* ---- fn calls ------------------------------------------------------------------------------- */

static bool fn_call_ok(fe_ctx *c, const fe_item *fn, const fe_expr *call) {
    if (++c->calls > FE_MAX_CALLS) {
        fe_error(c, call->loc, "graph '%s' is too large: more than %d fn calls after inlining", c->g->name,
                 FE_MAX_CALLS);
        c->graph_too_big = true;
        return false;
    }
    for (const fe_body *b = c->body; b; b = b->caller) {
        if (b->fn == fn) {
            fe_error(c, call->loc, "recursive call to '%s'", fn->name.name);
            return false;
        }
    }
    if (c->body && c->body->inline_depth >= FE_MAX_INLINE) {
        fe_error(c, call->loc, "fn calls nested too deeply (more than %d levels)", FE_MAX_INLINE);
        return false;
    }
    return true;
}

static void arity_error(fe_ctx *c, const fe_item *fn, const fe_expr *call) {
    int n = fn->n_params;
    if (fe_error(c, call->loc, "'%s' takes %d argument%s but %d %s given", fn->name.name, n, n == 1 ? "" : "s",
                 call->n_args, call->n_args == 1 ? "was" : "were"))
        ir_note(c->d, fn->name.loc, "'%s' is defined here", fn->name.name);
}

/* A fn has no defaults: every parameter gets exactly one argument, by position, then by name. */
static bool bind_fn_args(fe_ctx *c, const fe_item *fn, const fe_expr *call, fe_value *vals) {
    if (call->n_args != fn->n_params) {
        arity_error(c, fn, call);
        return false;
    }
    bool *set = ir_alloc(c->arena, sizeof *set * (size_t)(fn->n_params + 1));
    bool ok = true, keywords = false;
    for (int k = 0; k < call->n_args; k++) {
        const fe_arg *a = call->args[k];
        fe_value v = fe_lower_expr(c, a->value);
        int i = a->name ? -1 : k;
        for (int j = 0; a->name && j < fn->n_params; j++)
            if (strcmp(fn->params[j]->name.name, a->name) == 0) i = j;
        bool misplaced = !a->name && keywords, bad = misplaced || i < 0 || set[i];
        if (misplaced)
            fe_error(c, a->value->loc, "%s: positional argument after a keyword argument", fn->name.name);
        else if (i < 0)
            fe_error(c, a->name_loc, "'%s' has no parameter named '%s'", fn->name.name, a->name);
        else if (set[i])
            fe_error(c, a->name_loc, "%s: argument '%s' given twice", fn->name.name, a->name);
        ok &= !bad && v.kind != FE_V_ERROR;
        if (!bad) {
            set[i] = true;
            vals[i] = v;
        }
        keywords |= a->name != NULL;
    }
    return ok;
}

/* Inlines fn: its body sees the module's names and its own arguments, not the caller's locals. */
static int lower_fn_call(fe_ctx *c, const fe_item *fn, const fe_expr *call, fe_value *out, int max) {
    if (!fn_call_ok(c, fn, call)) return 0;
    fe_value *vals = ir_alloc(c->arena, sizeof *vals * (size_t)(fn->n_params + 1));
    if (!bind_fn_args(c, fn, call, vals)) return 0;
    fe_map_put(c->arena, &c->inlined, fn->name.name, (void *)fn);
    fe_body body = {.fn = fn, .call_loc = call->loc, .caller = c->body};
    body.inline_depth = c->body ? c->body->inline_depth + 1 : 1;
    c->body = &body;
    for (int i = 0; i < fn->n_params; i++) fe_bind(c, &fn->params[i]->name, "fn argument", vals[i]);
    fe_lower_stmts(c, fn->body, fn->n_body);
    for (int i = 0; i < fn->n_rets && i < max; i++) out[i] = fe_lower_expr(c, fn->rets[i]);
    c->body = body.caller;
    return fn->n_rets;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static bool is_one_of(const char *name, const char *const *names) {
    for (; *names; names++)
        if (strcmp(name, *names) == 0) return true;
    return false;
}

static void unknown_function(fe_ctx *c, const fe_expr *call) {
    int n = 0;
    const char **names = ir_alloc(c->arena, sizeof *names * (size_t)(IR_OP_COUNT + 2 + c->fns.cap));
    for (int op = 0; op < IR_OP_COUNT; op++)
        if (ir_op_table[op].signature) names[n++] = ir_op_table[op].name;
    names[n++] = "zeros";
    names[n++] = "ones";
    for (int i = 0; i < c->fns.cap; i++)
        if (c->fns.keys[i]) names[n++] = c->fns.keys[i];
    const char *near = ir_closest(call->str, names, n);
    if (near) fe_error(c, call->loc, "unknown function '%s'; did you mean '%s'?", call->str, near);
    else fe_error(c, call->loc, "unknown function '%s'", call->str);
}

/* Calls that cannot be made where they are: optimizers and initializers in a body, anything in
 * an initializer's arguments. */
static bool misplaced_call(fe_ctx *c, const fe_expr *call) {
    static const char *const initializers[] = {"normal", "uniform", "glorot", "he", "load", NULL};
    ir_optim_kind optimizer;
    if (ir_optim_lookup(call->str, &optimizer))
        fe_error(c, call->loc, "'%s' is an optimizer: it can only follow 'minimize LOSS with'", call->str);
    else if (is_one_of(call->str, initializers))
        fe_error(c, call->loc, "'%s' is a parameter initializer: use it as 'param NAME : TYPE = %s(...)'", call->str,
                 call->str);
    else if (!c->g)
        fe_error(c, call->loc, "'%s' cannot be called in an initializer's arguments; they must be constants", call->str);
    else
        return false;
    return true;
}

void fe_check_callee(fe_ctx *c, const fe_expr *call) {
    ir_op op = ir_op_lookup(call->str);
    static const char *const known[] = {"zeros", "ones", "grad", NULL};
    ir_optim_kind optimizer;
    if (fe_map_get(&c->fns, call->str) || is_one_of(call->str, known) || ir_optim_lookup(call->str, &optimizer)) return;
    if (op == IR_OP_COUNT || !ir_op_table[op].signature) unknown_function(c, call);
}

int fe_lower_call(fe_ctx *c, const fe_expr *e, fe_value *out, int max) {
    const fe_item *fn = fe_map_get(&c->fns, e->str);
    if (fn && c->g) return lower_fn_call(c, fn, e, out, max);
    if (misplaced_call(c, e)) return 0;
    if (strcmp(e->str, "grad") == 0) {
        out[0] = lower_grad_call(c, e);
        return 1;
    }
    ir_op op = ir_op_lookup(e->str);
    if (strcmp(e->str, "zeros") == 0 || strcmp(e->str, "ones") == 0) {
        bool zeros = e->str[0] == 'z';
        out[0] = lower_op_call(c, IR_OP_FULL, zeros ? &c->zeros_sig : &c->ones_sig, e, zeros ? 0 : 1);
        return 1;
    }
    if (op != IR_OP_COUNT && ir_op_table[op].signature) {
        out[0] = lower_op_call(c, op, &c->sigs[op], e, 0);
        return 1;
    }
    unknown_function(c, e);
    return 0;
}
