/* lower.c — lowering a parsed module to Graph IR: consts and their -D overrides, the module's
 * name tables, name binding (single assignment), graph bodies, `minimize` and outputs, and the
 * entry points fe_compile and fe_compile_partial. */
#include "frontend/lower.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors and names ------------------------------------------------------------------------ */

bool fe_stopped(fe_ctx *c) {
    if (!c->stopped && c->d->errors - c->errors_at_start >= FE_MAX_ERRORS) {
        ir_error(c->d, IR_NO_LOC, "too many errors emitted, stopping now");
        c->stopped = true;
    }
    return c->stopped;
}

bool fe_error(fe_ctx *c, ir_loc loc, const char *fmt, ...) {
    if (fe_stopped(c)) return false;
    if (loc.file >= 0) {
        char key[48];
        snprintf(key, sizeof key, "%d:%d:%d", loc.file, loc.line, loc.col);
        if (fe_map_get(&c->reported, key)) return false;
        fe_map_put(c->arena, &c->reported, ir_strdup(c->arena, key), (void *)1);
    }
    va_list ap;
    va_start(ap, fmt);
    ir_verror(c->d, loc, fmt, ap);
    va_end(ap);
    fe_inline_notes(c);
    return true;
}

/* Like clang's -ftemplate-backtrace-limit: the innermost and outermost few calls, not 100. */
void fe_inline_notes(fe_ctx *c) {
    enum { SHOWN_EACH_END = 5 };
    int depth = c->body && c->body->fn ? c->body->inline_depth : 0, i = 0;
    for (const fe_body *b = c->body; b && b->fn; b = b->caller, i++) {
        if (i < SHOWN_EACH_END || i >= depth - SHOWN_EACH_END)
            ir_note(c->d, b->call_loc, "in fn '%s' called here", b->fn->name.name);
        else if (i == SHOWN_EACH_END)
            ir_note(c->d, IR_NO_LOC, "(%d more nested fn calls not shown)", depth - 2 * SHOWN_EACH_END);
    }
}

fe_binding *fe_lookup(fe_ctx *c, const char *name) {
    fe_binding *b = c->body ? fe_map_get(&c->body->locals, name) : NULL;
    return b ? b : fe_map_get(&c->globals, name);
}

static void already_bound(fe_ctx *c, const fe_name *name, const fe_binding *prev) {
    if (!fe_error(c, name->loc, "'%s' is already bound", name->name)) return;
    if (strcmp(prev->what, "const") == 0 || strcmp(prev->what, "parameter") == 0)
        ir_note(c->d, prev->loc, "'%s' is the %s declared here", name->name, prev->what);
    else
        ir_note(c->d, prev->loc, "'%s' was bound here", name->name);
}

void fe_bind(fe_ctx *c, const fe_name *name, const char *what, fe_value value) {
    const fe_binding *prev = fe_lookup(c, name->name);
    if (prev) {
        already_bound(c, name, prev);
        return;
    }
    fe_binding *b = ir_alloc(c->arena, sizeof *b);
    *b = (fe_binding){.name = name->name, .loc = name->loc, .what = what, .param = -1, .value = value};
    fe_map_put(c->arena, &c->body->locals, name->name, b);
}

bool fe_declare(fe_ctx *c, fe_binding *b) {
    const fe_binding *prev = fe_map_get(&c->globals, b->name);
    if (prev) {
        if (fe_error(c, b->loc, "redefinition of '%s'", b->name))
            ir_note(c->d, prev->loc, "'%s' is first defined here", b->name);
        return false;
    }
    fe_map_put(c->arena, &c->globals, b->name, b);
    return true;
}

static int add_keys(const fe_map *m, const char **names, int n) {
    for (int i = 0; m && i < m->cap; i++)
        if (m->keys[i]) names[n++] = m->keys[i];
    return n;
}

const char *fe_closest_in(fe_ctx *c, const char *name, const fe_map *a, const fe_map *b) {
    int cap = (a ? a->cap : 0) + (b ? b->cap : 0);
    if (cap == 0) return NULL;
    const char **names = ir_alloc(c->arena, sizeof *names * (size_t)cap);
    int n = add_keys(b, names, add_keys(a, names, 0));
    return ir_closest(name, names, n);
}

/* ---- minimize ------------------------------------------------------------------------------ */

/* The optimizer's signature from the IR's table of hyperparameters (its order is the positional
 * order: sgd(lr, momentum, weight_decay), adam(lr, beta1, beta2, eps, weight_decay)); hyper[i]
 * is parameter i's row. */
static void optimizer_sig(ir_optim_kind kind, fe_sig *s, const ir_hyper_info **hyper) {
    memset(s, 0, sizeof *s);
    s->callee = ir_optim_name(kind);
    for (int i = 0; i < IR_N_HYPERS; i++) {
        const ir_hyper_info *h = &ir_hyper_table[i];
        if (!(h->optims & (1u << kind))) continue;
        IR_ASSERT(s->n < FE_MAX_SIG && strlen(h->name) < sizeof s->p[s->n].name);
        fe_sig_param *p = &s->p[s->n];
        strcpy(p->name, h->name);
        p->kind = FE_K_FLOAT;
        p->attr = -1;
        p->has_default = !h->required;   /* the default is read from the table, not from p->def */
        hyper[s->n++] = h;
    }
}

/* PyTorch's range checks (torch.optim.SGD and Adam raise ValueError outside them). */
static bool hyper_in_range(fe_ctx *c, const char *callee, const ir_hyper_info *h, const fe_value *v, double x) {
    ir_text must;
    if (ir_hyper_check(h, x, false, &must)) return true;
    fe_error(c, v->loc, "%s: '%s' must be %s, not %s", callee, h->name, must.s, ir_double_text(x).s);
    return false;
}

static void unknown_optimizer(fe_ctx *c, const fe_expr *call) {
    const char *names[IR_OPTIM_COUNT];
    for (int k = 0; k < IR_OPTIM_COUNT; k++) names[k] = ir_optim_name((ir_optim_kind)k);
    const char *near = ir_closest(call->str, names, IR_OPTIM_COUNT);
    if (near) fe_error(c, call->loc, "unknown optimizer '%s'; did you mean '%s'?", call->str, near);
    else fe_error(c, call->loc, "'%s' is not an optimizer (the optimizers are sgd and adam)", call->str);
}

/* `OPT(args)` after `with`: its kind and hyperparameters, numbers or consts, bound like an op's
 * arguments (positional, then keywords; defaults for the rest). False after an error. */
static bool lower_optimizer(fe_ctx *c, const fe_expr *call, ir_minimize *out) {
    ir_optim_kind kind;
    if (!ir_optim_lookup(call->str, &kind)) {
        unknown_optimizer(c, call);
        return false;
    }
    fe_sig s;
    const ir_hyper_info *hyper[FE_MAX_SIG];
    optimizer_sig(kind, &s, hyper);
    fe_value vals[FE_MAX_SIG];
    bool set[FE_MAX_SIG] = {0};
    if (!fe_bind_args(c, &s, call, vals, set)) return false;
    *out = (ir_minimize){.kind = kind};
    bool ok = true;
    for (int i = 0; i < s.n; i++) {
        double *x = ir_hyper_field(out, hyper[i]);
        *x = hyper[i]->default_value;
        if (!set[i]) continue;
        ok = fe_float_arg(c, &s, i, vals, set, x) && hyper_in_range(c, s.callee, hyper[i], &vals[i], *x) && ok;
    }
    return ok;
}

/* The loss: a bound name whose value is a scalar f32 tensor; its node id, or -1 after an error. */
static int lower_loss(fe_ctx *c, const fe_name *name) {
    fe_expr use = {.kind = FE_E_NAME, .loc = name->loc, .depth = 1, .str = name->name};
    fe_value v = fe_lower_expr(c, &use);
    if (v.kind == FE_V_ERROR) return -1;
    if (v.kind != FE_V_TENSOR) {
        fe_error(c, name->loc, "minimize: the loss '%s' must be a scalar f32 tensor, not %s", name->name,
                 fe_value_desc(&v));
        return -1;
    }
    const ir_type *t = &c->g->nodes[v.node]->type;
    if (t->dtype == IR_F32 && t->rank == 0) return v.node;
    const char *hint = !ir_dtype_is_float(t->dtype) ? ""
                       : t->rank > 0                ? " (reduce it to one value: mean or sum)"
                                                    : " (cast it: cast(x, f32))";
    fe_error(c, name->loc, "minimize: the loss '%s' must be a scalar f32 (f32[]), but it is %s%s", name->name,
             ir_type_text(t).s, hint);
    return -1;
}

/* `minimize LOSS with OPT(...)`: sets the graph's minimize line, which the optimizer pass turns
 * into gradients and parameter updates. One per graph. */
static void lower_minimize(fe_ctx *c, const fe_stmt *st) {
    if (c->minimize_loc.line > 0) {
        if (fe_error(c, st->loc, "graph '%s' has a second 'minimize'; a graph minimizes one loss", c->g->name))
            ir_note(c->d, c->minimize_loc, "the first 'minimize' is here");
        return;
    }
    c->minimize_loc = st->loc;
    int loss = lower_loss(c, st->targets[0]);
    ir_minimize mz;
    bool ok = lower_optimizer(c, st->value, &mz);
    if (loss < 0 || !ok) return;
    mz.loss = loss;
    mz.loc = st->loc;
    c->g->minimize = ir_alloc(c->m->arena, sizeof mz);
    *c->g->minimize = mz;
}

/* ---- statements ----------------------------------------------------------------------------- */

/* `a, b = f(x)`: only a fn call can give several values, and exactly as many as are bound. */
static void lower_multi_assign(fe_ctx *c, const fe_stmt *st, fe_value *vals) {
    const fe_expr *e = st->value;
    int n = st->n_targets;
    if (e->kind != FE_E_CALL) {
        fe_value v = fe_lower_expr(c, e);
        if (v.kind != FE_V_ERROR) fe_error(c, st->loc, "%d names are bound but the right side gives one value", n);
        return;
    }
    int k = fe_lower_call(c, e, vals, n);
    if (k != 0 && k != n) {
        fe_error(c, st->loc, "'%s' gives %d value%s but %d names are bound", e->str, k, k == 1 ? "" : "s", n);
        for (int i = 0; i < n; i++) vals[i] = fe_error_value();
    }
}

static void lower_stmt(fe_ctx *c, const fe_stmt *st) {
    if (st->kind == FE_S_MINIMIZE) {
        lower_minimize(c, st);
        return;
    }
    fe_value *vals = ir_alloc(c->arena, sizeof *vals * (size_t)st->n_targets);
    if (st->n_targets == 1) vals[0] = fe_lower_expr(c, st->value);
    else lower_multi_assign(c, st, vals);
    for (int i = 0; i < st->n_targets; i++) fe_bind(c, st->targets[i], "local", vals[i]);
}

void fe_lower_stmts(fe_ctx *c, fe_stmt *const *stmts, int n) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < stmts[i]->n_targets; k++)
            if (stmts[i]->kind == FE_S_ASSIGN && !fe_map_get(&c->body->assigned, stmts[i]->targets[k]->name))
                fe_map_put(c->arena, &c->body->assigned, stmts[i]->targets[k]->name, stmts[i]->targets[k]);
    for (int i = 0; i < n && !c->graph_too_big && !c->too_deep && !fe_stopped(c); i++) lower_stmt(c, stmts[i]);
}

/* ---- graphs ------------------------------------------------------------------------------- */

static void lower_inputs(fe_ctx *c, const fe_item *it) {
    for (int i = 0; i < it->n_params; i++) {
        const fe_decl *arg = it->params[i];
        ir_type t;
        fe_value v = fe_error_value();
        if (fe_resolve_type(c, arg->type, &t)) {
            ir_graph_add_input(c->g, arg->name.name, t);
            ir_node *n = fe_add_node(c, IR_OP_INPUT, NULL, 0, arg->name.loc);
            if (n) n->attr[IR_ATTR_INDEX].v[0] = c->g->n_inputs - 1;
            if (n && fe_infer(c, n)) v = (fe_value){.kind = FE_V_TENSOR, .loc = arg->name.loc, .node = n->id};
        }
        fe_bind(c, &arg->name, "input", v);
    }
}

static void lower_output(fe_ctx *c, const fe_item *it, const fe_decl *out) {
    const fe_name *name = &out->name;
    if (!fe_lookup(c, name->name)) {
        const char *near = fe_closest_in(c, name->name, &c->body->locals, NULL);
        if (near)
            fe_error(c, name->loc, "output '%s' is never bound in graph '%s'; did you mean '%s'?", name->name,
                     it->name.name, near);
        else
            fe_error(c, name->loc, "output '%s' is never bound in graph '%s'", name->name, it->name.name);
        return;
    }
    ir_type want;
    bool typed = out->type != NULL;
    if (typed && !fe_resolve_type(c, out->type, &want)) return;
    fe_expr use = {.kind = FE_E_NAME, .loc = name->loc, .depth = 1, .str = name->name};
    fe_value v = fe_lower_expr(c, &use);
    ir_dtype dt = typed ? want.dtype : v.kind == FE_V_FLOAT ? IR_F32 : v.kind == FE_V_BOOL ? IR_BOOL : IR_I32;
    char what[FE_MAX_IDENT + 16];
    snprintf(what, sizeof what, "output '%s'", name->name);
    int node = fe_tensor(c, v, dt, what);
    if (node < 0) return;
    const ir_type *got = &c->g->nodes[node]->type;
    if (typed && !ir_type_equal(got, &want)) {
        char a[128], b[128];
        fe_error(c, name->loc, "output '%s' is %s but is declared as %s", name->name, ir_type_str(got, a, sizeof a),
                 ir_type_str(&want, b, sizeof b));
        return;
    }
    ir_graph_add_output(c->g, name->name, node);
}

static void lower_graph(fe_ctx *c, const fe_item *it) {
    c->g = ir_module_add_graph(c->m, it->name.name, it->name.loc);
    c->param_nodes = ir_alloc(c->arena, sizeof *c->param_nodes * (size_t)(c->m->n_params + 1));
    for (int i = 0; i < c->m->n_params; i++) c->param_nodes[i] = -1;
    fe_body body = {0};
    c->body = &body;
    c->depth = c->calls = 0;
    c->graph_too_big = c->too_deep = false;
    c->minimize_loc = IR_NO_LOC;
    lower_inputs(c, it);
    fe_lower_stmts(c, it->body, it->n_body);
    fe_map listed = {0};
    for (int j = 0; j < it->n_outs && !c->graph_too_big && !fe_stopped(c); j++) {
        const fe_name *name = &it->outs[j]->name;
        if (fe_map_get(&listed, name->name)) {
            fe_error(c, name->loc, "output '%s' is listed twice", name->name);
            continue;
        }
        fe_map_put(c->arena, &listed, name->name, (void *)name);
        lower_output(c, it, it->outs[j]);
    }
    c->g = NULL;
    c->body = NULL;
}

/* ---- fns no graph calls ------------------------------------------------------------------ */

/* Types need a call, but names and callees can be checked without one. Depth is bounded by
 * FE_MAX_EXPR_DEPTH. */
static void check_names(fe_ctx *c, const fe_expr *e) {
    if (e->kind == FE_E_NAME && !fe_lookup(c, e->str)) fe_unknown_name(c, e->str, e->loc);
    if (e->kind == FE_E_CALL) fe_check_callee(c, e);
    if (e->lhs) check_names(c, e->lhs);
    if (e->rhs) check_names(c, e->rhs);
    for (int i = 0; i < e->n_args; i++) check_names(c, e->args[i]->value);
    for (int i = 0; i < e->n_items; i++) check_names(c, e->items[i]);
}

static void check_uncalled_fn(fe_ctx *c, const fe_item *fn) {
    fe_body body = {.fn = NULL};
    c->body = &body;
    for (int i = 0; i < fn->n_params; i++) fe_bind(c, &fn->params[i]->name, "fn argument", fe_error_value());
    for (int i = 0; i < fn->n_body && !fe_stopped(c); i++) {
        check_names(c, fn->body[i]->value);
        for (int k = 0; k < fn->body[i]->n_targets; k++)
            fe_bind(c, fn->body[i]->targets[k], "local", fe_error_value());
    }
    for (int i = 0; i < fn->n_rets && !fe_stopped(c); i++) check_names(c, fn->rets[i]);
    c->body = NULL;
}

/* ---- consts and -D ------------------------------------------------------------------------- */

/* A -D value: a number as §2 writes it, optionally negative. */
typedef enum { NUMBER_OK, NUMBER_MALFORMED, NUMBER_OUT_OF_RANGE } number_status;

static number_status parse_number(const char *s, fe_value *out) {
    bool neg = *s == '-';
    const char *t = s + neg;
    if (!((*t >= '0' && *t <= '9') || *t == '.') || t[strspn(t, "0123456789.eE+-")] != 0) return NUMBER_MALFORMED;
    char *end;
    errno = 0;
    if (t[strspn(t, "0123456789")] == 0) {
        long long v = strtoll(t, &end, 10);
        *out = (fe_value){.kind = FE_V_INT, .i = neg ? -v : v};
    } else {
        double f = strtod(t, &end);
        *out = (fe_value){.kind = FE_V_FLOAT, .f = neg ? -f : f};
    }
    if (*end != 0) return NUMBER_MALFORMED;
    return errno == ERANGE ? NUMBER_OUT_OF_RANGE : NUMBER_OK;
}

static void apply_define(fe_ctx *c, const fe_define *def) {
    const char *name = def->name ? def->name : "", *text = def->value ? def->value : "";
    fe_binding *b = fe_map_get(&c->globals, name);
    fe_value v;
    number_status status = parse_number(text, &v);
    if (!b || strcmp(b->what, "const") != 0) {
        const char *near = fe_closest_in(c, name, &c->globals, NULL);
        if (near)
            ir_error(c->d, IR_NO_LOC, "-D %s=%s: no const named '%s'; did you mean '%s'?", name, text, name, near);
        else
            ir_error(c->d, IR_NO_LOC, "-D %s=%s: no const named '%s' in this module", name, text, name);
    } else if (status != NUMBER_OK) {
        ir_error(c->d, IR_NO_LOC, "-D %s=%s: '%s' is %s", name, text, text,
                 status == NUMBER_MALFORMED ? "not a number" : "out of range");
    } else if (b->value.kind == FE_V_INT && v.kind == FE_V_FLOAT) {
        ir_error(c->d, IR_NO_LOC, "-D %s=%s: '%s' is an integer const", name, text, name);
    } else {
        if (b->value.kind == FE_V_FLOAT && v.kind == FE_V_INT) v = (fe_value){.kind = FE_V_FLOAT, .f = (double)v.i};
        v.loc = b->value.loc;
        b->value = v;
    }
}

static void lower_consts(fe_ctx *c) {
    for (int i = 0; i < c->ast->items.n; i++) {
        const fe_item *it = c->ast->items.items[i];
        if (it->kind != FE_I_CONST) continue;
        fe_binding *b = ir_alloc(c->arena, sizeof *b);
        *b = (fe_binding){.name = it->name.name, .loc = it->name.loc, .what = "const", .param = -1};
        b->value = it->is_float ? (fe_value){.kind = FE_V_FLOAT, .loc = it->value_loc, .f = it->fval}
                                : (fe_value){.kind = FE_V_INT, .loc = it->value_loc, .i = it->ival};
        fe_declare(c, b);
    }
    for (int i = 0; c->opt && i < c->opt->n_defines; i++) apply_define(c, &c->opt->defines[i]);
}

/* ---- the module ------------------------------------------------------------------------------- */

static void declare_fn(fe_ctx *c, const fe_item *it) {
    const fe_item *prev = fe_map_get(&c->fns, it->name.name);
    if (prev) {
        if (fe_error(c, it->name.loc, "redefinition of fn '%s'", it->name.name))
            ir_note(c->d, prev->name.loc, "'%s' is first defined here", it->name.name);
        return;
    }
    if (it->n_rets == 0) fe_error(c, it->end_loc, "missing 'return' at the end of fn '%s'", it->name.name);
    fe_map seen = {0};
    for (int i = 0; i < it->n_params; i++) {
        const fe_name *param = &it->params[i]->name;
        if (fe_map_get(&seen, param->name)) {
            fe_error(c, param->loc, "fn '%s' has two parameters named '%s'", it->name.name, param->name);
            return;
        }
        fe_map_put(c->arena, &seen, param->name, (void *)param);
    }
    fe_map_put(c->arena, &c->fns, it->name.name, (void *)it);
}

static void declare_graph(fe_ctx *c, fe_map *graphs, const fe_item *it) {
    const fe_item *prev = fe_map_get(graphs, it->name.name);
    if (prev) {
        if (fe_error(c, it->name.loc, "redefinition of graph '%s'", it->name.name))
            ir_note(c->d, prev->name.loc, "'%s' is first defined here", it->name.name);
        return;
    }
    fe_map_put(c->arena, graphs, it->name.name, (void *)it);
}

static void lower_module(fe_ctx *c, const char *only_graph) {
    fe_map graphs = {0};
    lower_consts(c);
    for (int i = 0; i < c->ast->items.n; i++) {
        const fe_item *it = c->ast->items.items[i];
        if (it->kind == FE_I_FN) declare_fn(c, it);
        else if (it->kind == FE_I_GRAPH) declare_graph(c, &graphs, it);
        else if (it->kind == FE_I_PARALLEL) fe_error(c, it->loc, "'parallel' is not supported yet");
    }
    fe_lower_params(c);
    if (only_graph && !fe_map_get(&graphs, only_graph)) {
        const char *near = fe_closest_in(c, only_graph, &graphs, NULL);
        if (near) ir_error(c->d, IR_NO_LOC, "no graph named '%s'; did you mean '%s'?", only_graph, near);
        else ir_error(c->d, IR_NO_LOC, "no graph named '%s' in this module", only_graph);
        return;
    }
    for (int i = 0; i < c->ast->items.n && !fe_stopped(c); i++) {
        const fe_item *it = c->ast->items.items[i];
        if (it->kind != FE_I_GRAPH || fe_map_get(&graphs, it->name.name) != it) continue;
        if (!only_graph || strcmp(only_graph, it->name.name) == 0) lower_graph(c, it);
    }
    for (int i = 0; i < c->ast->items.n && !only_graph && !fe_stopped(c); i++) {
        const fe_item *it = c->ast->items.items[i];
        if (it->kind == FE_I_FN && fe_map_get(&c->fns, it->name.name) == it && !fe_map_get(&c->inlined, it->name.name))
            check_uncalled_fn(c, it);
    }
}

/* The folder of the source file, against which initializer paths are resolved. */
static const char *source_dir(ir_arena *a, const char *name) {
    const char *slash = strrchr(name, '/');
    if (!slash) return "";
    if (slash == name) return "/";
    return ir_strndup(a, name, (size_t)(slash - name));
}

static ir_module *compile(ir_diag *d, int file, const fe_options *opt, const char *only_graph) {
    IR_ASSERT(file >= 0 && file < d->n_sources);
    int errors_at_start = d->errors;
    ir_arena *arena = ir_arena_create();
    fe_parser *p = ir_alloc(arena, sizeof *p);
    fe_parse(p, d, file, arena);
    ir_module *m = NULL;
    if (d->errors == errors_at_start) {
        fe_ctx *c = ir_alloc(arena, sizeof *c);
        *c = (fe_ctx){.d = d, .arena = arena, .ast = &p->module, .opt = opt, .errors_at_start = errors_at_start};
        c->src_dir = source_dir(arena, d->sources[file].name);
        c->m = m = ir_module_create();
        fe_sigs_init(c);
        lower_module(c, only_graph);
    }
    ir_arena_destroy(arena);
    if (d->errors != errors_at_start) {
        ir_module_destroy(m);
        return NULL;
    }
    return m;
}

ir_module *fe_compile(ir_diag *d, int file, const fe_options *opt) { return compile(d, file, opt, NULL); }

ir_module *fe_compile_partial(ir_diag *d, int file, const fe_options *opt, const char *only_graph) {
    return compile(d, file, opt, only_graph);
}
