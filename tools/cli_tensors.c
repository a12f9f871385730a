/* cli_tensors.c — moves tensors between the user's files (.npy inputs and outputs, safetensors
 * weights) and the interpreter, checking each file against what the graph expects. Optimizer
 * state is a parameter but not a weight: it starts at zero and no weights file holds it. */
#include "tools/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool array_shape_is(const rt_array *a, const ir_type *want) {
    if (a->rank != want->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != want->dims[i]) return false;
    return true;
}

static void array_type_str(const rt_array *a, char *buf, size_t size) {
    ir_type t = {(ir_dtype)a->dtype, a->rank, {0}};
    memcpy(t.dims, a->dims, sizeof(int64_t) * (size_t)a->rank);
    ir_type_str(&t, buf, size);
}

/* NumPy writes integer labels as int64 by default; accept them for an i32 argument when every
 * value fits, instead of making every user call .astype(np.int32). */
static bool narrow_i64_to_i32(const char *path, const rt_array *a, ir_tensor *t, ir_diag *d) {
    const int64_t *src = a->data;
    int32_t *dst = t->data;
    int64_t n = ir_type_elems(&t->type);
    for (int64_t i = 0; i < n; i++) {
        if (src[i] < INT32_MIN || src[i] > INT32_MAX) {
            ir_error(d, IR_NO_LOC, "%s: value %lld at index %lld does not fit in i32", path, (long long)src[i],
                     (long long)i);
            return false;
        }
        dst[i] = (int32_t)src[i];
    }
    return true;
}

static bool dtype_accepted(const rt_array *a, const ir_type *want) {
    return (ir_dtype)a->dtype == want->dtype || (a->dtype == RT_I64 && want->dtype == IR_I32);
}

/* a holds rows of want's type, however many: want's dtype (or i64 for i32) and dims but the
 * first, want having rank >= 1. */
static bool array_rows_of(const rt_array *a, const ir_type *want) {
    if (want->rank == 0 || a->rank != want->rank || !dtype_accepted(a, want)) return false;
    for (int i = 1; i < a->rank; i++)
        if (a->dims[i] != want->dims[i]) return false;
    return true;
}

/* Copies a loaded array into a tensor of type `want` (its dtype, or i64 for i32), whose shape
 * the caller has checked. */
static bool copy_array(const char *path, const rt_array *a, const ir_type *want, ir_tensor *out, ir_diag *d) {
    char want_s[128];
    if (!ir_tensor_alloc(out, want)) {
        ir_error(d, IR_NO_LOC, "%s: out of memory for %s", path, ir_type_str(want, want_s, sizeof want_s));
        return false;
    }
    if ((ir_dtype)a->dtype == want->dtype) {
        memcpy(out->data, a->data, a->nbytes);
        return true;
    }
    if (narrow_i64_to_i32(path, a, out, d)) return true;
    ir_tensor_free(out);
    return false;
}

/* Copies a loaded array into a tensor of type `want`, after checking dtype and shape. */
static bool array_to_tensor(const char *path, const char *what, const rt_array *a, const ir_type *want,
                            ir_tensor *out, ir_diag *d) {
    char want_s[128], got_s[128];
    ir_type_str(want, want_s, sizeof want_s);
    array_type_str(a, got_s, sizeof got_s);
    if (!dtype_accepted(a, want) || !array_shape_is(a, want)) {
        ir_error(d, IR_NO_LOC, "%s: expected %s for %s, found %s", path, want_s, what, got_s);
        return false;
    }
    return copy_array(path, a, want, out, d);
}

/* Reads an .npy file; false after reporting why. */
static bool read_npy(const char *path, rt_array *a, ir_diag *d) {
    char err[512];
    if (rt_npy_read(path, a, err, sizeof err) == 0) return true;
    ir_error(d, IR_NO_LOC, "%s", err);
    return false;
}

bool cli_load_input(const char *path, const char *what, const ir_type *want, ir_tensor *out, ir_diag *d) {
    rt_array a;
    if (!read_npy(path, &a, d)) return false;
    bool ok = array_to_tensor(path, what, &a, want, out, d);
    /* An input file of the right type but more rows than the graph's batch is a data set. */
    if (!ok && array_rows_of(&a, want) && a.dims[0] > want->dims[0])
        ir_note(d, IR_NO_LOC, "%s has more rows than the graph's batch of %lld: --epochs E walks them in minibatches",
                path, (long long)want->dims[0]);
    rt_array_free(&a);
    return ok;
}

/* "f32[*,784]": rows of want's type, however many. */
static const char *rows_type_str(const ir_type *want, char *buf, size_t size) {
    int n = snprintf(buf, size, "%s[*", ir_dtype_name(want->dtype));
    for (int i = 1; i < want->rank && n > 0 && (size_t)n < size; i++)
        n += snprintf(buf + n, size - (size_t)n, ",%lld", (long long)want->dims[i]);
    if (n > 0 && (size_t)n < size) snprintf(buf + n, size - (size_t)n, "]");
    return buf;
}

bool cli_load_rows(const char *path, const char *what, const ir_type *want, ir_tensor *out, ir_diag *d) {
    rt_array a;
    if (!read_npy(path, &a, d)) return false;
    bool ok = array_rows_of(&a, want);
    ir_type rows = *want;
    if (ok) rows.dims[0] = a.dims[0];
    if (!ok) {
        char want_s[128], got_s[128];
        array_type_str(&a, got_s, sizeof got_s);
        ir_error(d, IR_NO_LOC, "%s: expected %s (any number of rows) for %s, found %s", path,
                 rows_type_str(want, want_s, sizeof want_s), what, got_s);
    }
    ok = ok && copy_array(path, &a, &rows, out, d);
    rt_array_free(&a);
    return ok;
}

static rt_array tensor_view(const ir_tensor *t) {
    rt_array a = {(rt_dtype)t->type.dtype, t->type.rank, {0}, t->data,
                  (size_t)ir_type_elems(&t->type) * ir_dtype_size(t->type.dtype)};
    memcpy(a.dims, t->type.dims, sizeof(int64_t) * (size_t)t->type.rank);
    return a;
}

bool cli_save_tensor(const char *path, const ir_tensor *t, ir_diag *d) {
    rt_array a = tensor_view(t);
    char err[512];
    if (rt_npy_write(path, &a, err, sizeof err) != 0) {
        ir_error(d, IR_NO_LOC, "%s", err);
        return false;
    }
    return true;
}

/* Every tensor of a weights file must name a parameter that is not optimizer state: a misspelled
 * key would otherwise be silently ignored and the parameter initialized at random (PyTorch's
 * strict loading). */
static bool check_weight_keys(const char *path, const rt_array_set *w, const ir_module *m, ir_diag *d) {
    bool ok = true;
    const char **names = malloc(sizeof *names * (size_t)(m->n_params ? m->n_params : 1));
    if (!names) return false;
    for (int i = 0; i < m->n_params; i++) names[i] = m->params[i].state ? NULL : m->params[i].name;
    for (int i = 0; i < w->count; i++) {
        int p = ir_module_find_param(m, w->items[i].name);
        if (p >= 0 && m->params[p].state) {
            ir_error(d, IR_NO_LOC, "%s: tensor '%s' is optimizer state, which weights files do not hold", path,
                     w->items[i].name);
            ok = false;
        }
        if (p >= 0) continue;
        const char *close = ir_closest(w->items[i].name, names, m->n_params);
        ir_error(d, IR_NO_LOC, "%s: tensor '%s' is not a parameter of the module%s%s%s", path, w->items[i].name,
                 close ? "; did you mean '" : "", close ? close : "", close ? "'?" : "");
        ok = false;
    }
    free(names);
    return ok;
}

bool cli_init_params(const cli_options *o, const ir_module *m, ir_tensor *params, ir_diag *d) {
    rt_array_set w = {0, NULL};
    char err[512];
    if (o->weights && rt_safetensors_read(o->weights, &w, err, sizeof err) != 0) {
        ir_error(d, IR_NO_LOC, "%s", err);
        return false;
    }
    bool ok = !o->weights || check_weight_keys(o->weights, &w, m, d);
    for (int i = 0; ok && i < m->n_params; i++) {
        const ir_param *p = &m->params[i];
        const rt_array *a = o->weights && !p->state ? rt_array_set_find(&w, p->name) : NULL;
        if (a) {
            char what[160];
            snprintf(what, sizeof what, "parameter '%s'", p->name);
            ok = array_to_tensor(o->weights, what, a, &p->type, &params[i], d);
        } else if (!ir_tensor_alloc(&params[i], &p->type)) {
            ir_error(d, p->loc, "out of memory for parameter '%s'", p->name);
            ok = false;
        } else if (!p->state) {
            ok = ir_param_init(p, o->seed, &params[i], d);
        } /* state: zeros, as allocated */
    }
    rt_array_set_free(&w);
    return ok;
}

bool cli_save_params(const char *path, const ir_module *m, const ir_tensor *params, ir_diag *d) {
    rt_array_set s = {0, NULL};
    bool ok = true;
    for (int i = 0; ok && i < m->n_params; i++) {
        if (m->params[i].state) continue;
        rt_array a = tensor_view(&params[i]);
        ok = rt_array_set_add(&s, m->params[i].name, &a) == 0;
    }
    char err[512];
    if (!ok) {
        ir_error(d, IR_NO_LOC, "%s: out of memory while collecting the parameters", path);
    } else if (rt_safetensors_write(path, &s, err, sizeof err) != 0) {
        ir_error(d, IR_NO_LOC, "%s", err);
        ok = false;
    }
    rt_array_set_free(&s);
    return ok;
}

void cli_print_summary(FILE *out, const char *name, const ir_tensor *t) {
    char type_s[128];
    int64_t n = ir_type_elems(&t->type);
    fprintf(out, "%s: %s", name, ir_type_str(&t->type, type_s, sizeof type_s));
    if (n > 0) {
        double lo = INFINITY, hi = -INFINITY, sum = 0;
        int64_t nans = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = ir_tensor_get(t, i);
            if (isnan(v)) {
                nans++;
                continue;
            }
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            sum += v;
        }
        fprintf(out, "  min %.6g  max %.6g  mean %.6g", lo, hi, n > nans ? sum / (double)(n - nans) : NAN);
        if (nans) fprintf(out, "  (%lld NaN)", (long long)nans);
    }
    fputs("\n  [", out);
    for (int64_t i = 0; i < n && i < 8; i++) fprintf(out, "%s%.6g", i ? ", " : "", ir_tensor_get(t, i));
    fprintf(out, "%s]\n", n > 8 ? ", ..." : "");
}
