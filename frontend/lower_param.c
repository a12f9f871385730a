/* lower_param.c — written types (dims are integers or consts; element counts checked) and
 * module parameters: initializer calls become ir_init (load paths resolved against the
 * source file's folder), split(axis=k) becomes ir_param.split_axis. */
#include "frontend/lower.h"

#include <string.h>

static bool dim_value(fe_ctx *c, const fe_dim *dim, int64_t *out) {
    if (!dim->name) {
        *out = dim->value;
        return true;
    }
    const fe_binding *b = fe_map_get(&c->globals, dim->name);
    if (!b) {
        const char *near = fe_closest_in(c, dim->name, NULL, &c->globals);
        if (near) fe_error(c, dim->loc, "unknown const '%s' in a dimension; did you mean '%s'?", dim->name, near);
        else fe_error(c, dim->loc, "unknown const '%s' in a dimension", dim->name);
        return false;
    }
    if (b->param >= 0 || strcmp(b->what, "const") != 0) {
        fe_error(c, dim->loc, "'%s' is a %s; a dimension is an integer or the name of a const", dim->name, b->what);
        return false;
    }
    if (b->value.kind != FE_V_INT) {
        fe_error(c, dim->loc, "dimension '%s' must be an integer, but %s = %g", dim->name, dim->name, b->value.f);
        return false;
    }
    if (b->value.i < 0) {
        fe_error(c, dim->loc, "dimension '%s' is negative (%lld)", dim->name, (long long)b->value.i);
        return false;
    }
    *out = b->value.i;
    return true;
}

bool fe_resolve_type(fe_ctx *c, const fe_type *t, ir_type *out) {
    if (t->n_dims > IR_MAX_RANK) {
        fe_error(c, t->loc, "too many dimensions (%d; at most %d)", t->n_dims, IR_MAX_RANK);
        return false;
    }
    *out = (ir_type){.dtype = t->dtype, .rank = t->n_dims};
    bool ok = true;
    for (int i = 0; i < t->n_dims; i++) ok &= dim_value(c, t->dims[i], &out->dims[i]);
    int64_t elems;
    if (ok && !ir_dims_product(out->dims, out->rank, &elems)) {
        fe_error(c, t->loc, "type has too many elements (more than 2^40)");
        return false;
    }
    return ok;
}

/* ---- initializers -------------------------------------------------------------------------- */

static const struct {
    const char *name;
    ir_init_kind kind;
    const char *signature;
} initializers[] = {
    {"zeros", IR_INIT_ZEROS, ""},          {"ones", IR_INIT_ONES, ""},
    {"full", IR_INIT_FULL, "value:float"}, {"normal", IR_INIT_NORMAL, "std:float=0.02"},
    {"uniform", IR_INIT_UNIFORM, "lo:float, hi:float"},
    {"glorot", IR_INIT_GLOROT, ""},        {"he", IR_INIT_HE, ""},
    {"load", IR_INIT_LOAD, "path:string, key:string="},
};
enum { N_INITIALIZERS = sizeof initializers / sizeof initializers[0] };

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* load("file.npy") or load("file.safetensors", "key"); the key defaults to the parameter's name. */
static bool load_init(fe_ctx *c, const fe_item *it, const fe_sig *s, const fe_value *vals, const bool *set,
                      ir_init *init) {
    if (vals[0].kind != FE_V_STRING || !vals[0].s[0]) {
        fe_error(c, vals[0].loc, "load: 'path' must be a file name in a string");
        return false;
    }
    if (set[1] && vals[1].kind != FE_V_STRING) {
        fe_error(c, vals[1].loc, "load: 'key' must be a string, not %s", fe_value_desc(&vals[1]));
        return false;
    }
    const char *path = vals[0].s;
    if (ends_with(path, ".npy") && set[1]) {
        fe_error(c, vals[1].loc, "load: a .npy file holds one tensor and takes no key");
        return false;
    }
    if (!ends_with(path, ".npy") && !ends_with(path, ".safetensors")) {
        fe_error(c, vals[0].loc, "load: '%s' is neither a .npy nor a .safetensors file", path);
        return false;
    }
    if (path[0] != '/' && c->src_dir[0]) {
        size_t n = strlen(c->src_dir) + strlen(path) + 2;
        char *joined = ir_alloc(c->arena, n);
        snprintf(joined, n, "%s%s%s", c->src_dir, ends_with(c->src_dir, "/") ? "" : "/", path);
        path = joined;
    }
    init->path = path;
    init->key = ends_with(path, ".npy") ? NULL : set[1] ? vals[1].s : it->name.name;
    (void)s;
    return true;
}

/* Random initializers draw floats; glorot and he need a fan-in, so at least one dimension. */
static bool init_fits_type(fe_ctx *c, const fe_expr *e, ir_init_kind kind, const ir_type *t) {
    bool random = kind == IR_INIT_NORMAL || kind == IR_INIT_UNIFORM || kind == IR_INIT_GLOROT || kind == IR_INIT_HE;
    if (random && !ir_dtype_is_float(t->dtype)) {
        fe_error(c, e->loc, "%s() needs a floating-point parameter, not %s", e->str, ir_dtype_name(t->dtype));
        return false;
    }
    if ((kind == IR_INIT_GLOROT || kind == IR_INIT_HE) && t->rank == 0) {
        fe_error(c, e->loc, "%s() needs a parameter with at least one dimension", e->str);
        return false;
    }
    return true;
}

static bool numeric_init(fe_ctx *c, const fe_sig *s, const fe_value *vals, const bool *set, ir_init *init) {
    if (init->kind == IR_INIT_FULL) return fe_float_arg(c, s, 0, vals, set, &init->a);
    if (init->kind == IR_INIT_NORMAL) {
        if (!fe_float_arg(c, s, 0, vals, set, &init->a)) return false;
        if (init->a >= 0) return true;
        fe_error(c, vals[0].loc, "normal: 'std' must not be negative");
        return false;
    }
    if (init->kind == IR_INIT_UNIFORM) {
        if (!fe_float_arg(c, s, 0, vals, set, &init->a) || !fe_float_arg(c, s, 1, vals, set, &init->b)) return false;
        if (init->a <= init->b) return true;
        fe_error(c, vals[0].loc, "uniform: 'lo' (%g) is greater than 'hi' (%g)", init->a, init->b);
        return false;
    }
    return true;
}

static bool lower_init(fe_ctx *c, const fe_item *it, const ir_type *type, ir_init *init) {
    const fe_expr *e = it->init;
    int k = -1;
    for (int i = 0; i < N_INITIALIZERS; i++)
        if (strcmp(initializers[i].name, e->str) == 0) k = i;
    if (k < 0) {
        const char *names[N_INITIALIZERS];
        for (int i = 0; i < N_INITIALIZERS; i++) names[i] = initializers[i].name;
        const char *near = ir_closest(e->str, names, N_INITIALIZERS);
        if (near) fe_error(c, e->loc, "unknown initializer '%s'; did you mean '%s'?", e->str, near);
        else fe_error(c, e->loc, "unknown initializer '%s'", e->str);
        return false;
    }
    fe_sig s;
    IR_ASSERT(fe_sig_parse(&s, initializers[k].name, initializers[k].signature));
    fe_value vals[FE_MAX_SIG];
    bool set[FE_MAX_SIG] = {0};
    if (!fe_bind_args(c, &s, e, vals, set)) return false;
    *init = (ir_init){.kind = initializers[k].kind};
    if (!init_fits_type(c, e, init->kind, type)) return false;
    if (init->kind == IR_INIT_LOAD) return load_init(c, it, &s, vals, set, init);
    return numeric_init(c, &s, vals, set, init);
}

/* ---- parameters ------------------------------------------------------------------------- */

static bool split_axis(fe_ctx *c, const fe_item *it, const ir_type *t, int *axis) {
    int64_t k = it->split_axis;
    if (k < 0) k += t->rank;
    if (k < 0 || k >= t->rank) {
        fe_error(c, it->split_loc, "split axis %lld is out of range for parameter '%s' of rank %d",
                 (long long)it->split_axis, it->name.name, t->rank);
        return false;
    }
    *axis = (int)k;
    return true;
}

static void lower_param(fe_ctx *c, const fe_item *it) {
    fe_binding *b = ir_alloc(c->arena, sizeof *b);
    *b = (fe_binding){.name = it->name.name, .loc = it->name.loc, .what = "parameter", .param = -1};
    if (!fe_declare(c, b)) return;
    ir_type type;
    ir_init init = {.kind = IR_INIT_NONE};
    int axis = -1;
    bool ok = fe_resolve_type(c, it->type, &type);
    ok = ok && (!it->init || lower_init(c, it, &type, &init));
    ok = ok && (!it->has_split || split_axis(c, it, &type, &axis));
    if (!ok) return;
    b->param = ir_module_add_param(c->m, it->name.name, type, init, it->name.loc);
    c->m->params[b->param].split_axis = axis;
}

void fe_lower_params(fe_ctx *c) {
    for (int i = 0; i < c->ast->items.n && !fe_stopped(c); i++) {
        const fe_item *it = c->ast->items.items[i];
        if (it->kind == FE_I_PARAM) lower_param(c, it);
    }
}
