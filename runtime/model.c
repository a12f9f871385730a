/* model.c — the model object behind a generated library's API (runtime/model.h): it checks the
 * library's descriptor, owns a copy of every parameter (and a second buffer for each one that a
 * training graph updates), turns each graph's step table into an rt_program run by one shared
 * executor, and keeps the last error. Every message starts with the API function that failed
 * (PREFIX_GRAPH, PREFIX_load_weights, ...), since the host only sees it. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/model.h"
#include "runtime/tensor_file.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One graph as the executor runs it. A run fills the slot table: the arguments, the updates'
   buffers and the parameters, whose buffers a training step swaps (slot 0, the arena, is set by
   the executor). */
typedef struct model_graph {
    const rt_aot_graph *desc;
    rt_step *steps;
    rt_program program;
    char **slots; /* program.n_slots */
} model_graph;

struct rt_model {
    const rt_aot_model *d;
    const char *prefix; /* d->name */
    int n_graphs, n_params;
    model_graph *graphs; /* n_graphs */
    void **params;       /* n_params buffers, 64-byte aligned, d->params[i].nbytes each */
    void **spare;        /* n_params: the buffer an update of parameter i is written to; NULL when
                            no graph updates it */
    rt_exec *exec;
    char error[512];
};

/* The reason the last rt_model_create on this thread failed: the only state outside a model,
   because a failed create has no model to hold it. */
static _Thread_local char create_error[512];

static void format_into(char *buf, size_t size, const char *prefix, const char *fmt, va_list ap) {
    int n = snprintf(buf, size, "%s", prefix);
    if (n >= 0 && (size_t)n < size) vsnprintf(buf + n, size - (size_t)n, fmt, ap);
}

/* ---- checking the descriptor ----------------------------------------------------------------- */

/* A descriptor problem, written into why; returns false so that checks read `return bad(...)`. */
static bool bad(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool bad(char *why, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    format_into(why, size, "", fmt, ap);
    va_end(ap);
    return false;
}

static const char *name_or(const char *name) { return name ? name : "(unnamed)"; }

/* dtype, rank and dims of an argument or parameter; its byte size goes to *nbytes. */
static bool check_type(int64_t dtype, int64_t rank, const int64_t *dims, size_t *nbytes, char *why, size_t size) {
    if (dtype < 0 || dtype >= RT_DTYPE_COUNT) return bad(why, size, "invalid dtype %lld", (long long)dtype);
    if (rank < 0 || rank > RT_MAX_RANK)
        return bad(why, size, "rank %lld is outside 0..%d", (long long)rank, RT_MAX_RANK);
    if (rank > 0 && !dims) return bad(why, size, "rank %lld but no dims", (long long)rank);
    if (!rt_shape_nbytes((rt_dtype)dtype, (int)rank, dims, nbytes))
        return bad(why, size, "a dim is negative or the byte size overflows");
    return true;
}

static bool check_param(const rt_aot_param *p, char *why, size_t size) {
    char what[400];
    size_t nbytes;
    if (!p->name) return bad(why, size, "a parameter has no name");
    if (!check_type(p->dtype, p->rank, p->dims, &nbytes, what, sizeof what))
        return bad(why, size, "parameter '%s': %s", p->name, what);
    if (p->nbytes < 0 || (uint64_t)p->nbytes != nbytes)
        return bad(why, size, "parameter '%s' has %lld bytes of data but its type needs %zu", p->name,
                   (long long)p->nbytes, nbytes);
    if (p->state != 0 && p->state != 1)
        return bad(why, size, "parameter '%s' has state flag %lld (0 or 1)", p->name, (long long)p->state);
    /* Optimizer state starts at zero and carries no data. */
    if (nbytes > 0 && !p->init && !p->state) return bad(why, size, "parameter '%s' has no data", p->name);
    return true;
}

/* Parameter names must be unique: they are the keys of the weights files. */
static bool check_params(const rt_aot_model *d, char *why, size_t size) {
    if (d->n_params < 0 || d->n_params > INT_MAX / 4 || (d->n_params > 0 && !d->params))
        return bad(why, size, "malformed parameter table (%lld parameters)", (long long)d->n_params);
    for (int64_t i = 0; i < d->n_params; i++) {
        if (!check_param(&d->params[i], why, size)) return false;
        for (int64_t j = 0; j < i; j++)
            if (strcmp(d->params[i].name, d->params[j].name) == 0)
                return bad(why, size, "two parameters are named '%s'", d->params[i].name);
    }
    return true;
}

static bool check_arg(const rt_aot_arg *a, int64_t i, int64_t n_inputs, char *why, size_t size) {
    char what[400];
    size_t nbytes;
    if (!a->name) return bad(why, size, "argument %lld has no name", (long long)i);
    if (!check_type(a->dtype, a->rank, a->dims, &nbytes, what, sizeof what))
        return bad(why, size, "argument '%s': %s", a->name, what);
    if (a->is_output != (i >= n_inputs))
        return bad(why, size, "argument '%s' is_output is %lld; the inputs come first, then the outputs", a->name,
                   (long long)a->is_output);
    return true;
}

static bool slot_ok(int64_t slot, int n_slots) { return slot >= 0 && slot < n_slots; }

/* What the executor cannot see once the call is decoded: int64 values that would not survive
   the conversion to rt_gemm's and rt_conv's int fields. The executor checks everything else. */
static bool check_call(const rt_aot_step *s, int n_slots, char *why, size_t size) {
    if (s->kind == RT_STEP_LOOP) return true;
    if (!s->call) return bad(why, size, "library call without its arguments");
    bool gemm = s->kind == RT_STEP_GEMM;
    /* Operands a, b, c (x, w, out) in that order; with an epilogue the result is not stored, so
       its slot is not used, as the executor agrees. */
    for (int r = 0; r < (s->fn ? 2 : 3); r++)
        if (!slot_ok(s->call[2 * r], n_slots))
            return bad(why, size, "operand %d is in slot %lld, outside the slot table (%d slots)", r,
                       (long long)s->call[2 * r], n_slots);
    if (gemm && (s->call[13] < 0 || s->call[13] > RT_MAX_RANK))
        return bad(why, size, "batch rank %lld is outside 0..%d", (long long)s->call[13], RT_MAX_RANK);
    return true;
}

static bool check_step(const rt_aot_step *s, int64_t i, int n_slots, char *why, size_t size) {
    char what[400];
    const char *name = name_or(s->name);
    if (s->kind < RT_STEP_LOOP || s->kind > RT_STEP_CONV)
        return bad(why, size, "step %lld (kernel %s): unknown kind %lld", (long long)i, name, (long long)s->kind);
    if (s->n_checks < 0 || s->n_checks > INT_MAX || (s->n_checks > 0 && !s->checks))
        return bad(why, size, "step %lld (kernel %s): malformed check table", (long long)i, name);
    if (!check_call(s, n_slots, what, sizeof what))
        return bad(why, size, "step %lld (kernel %s): %s", (long long)i, name, what);
    return true;
}

/* Each update names a parameter, and no parameter twice (the step would have two new values). */
static bool check_updates(const rt_aot_model *d, const rt_aot_graph *g, char *why, size_t size) {
    if (g->n_updates < 0 || g->n_updates > d->n_params || (g->n_updates > 0 && !g->updates))
        return bad(why, size, "graph '%s': malformed update table (%lld updates)", g->name, (long long)g->n_updates);
    for (int64_t k = 0; k < g->n_updates; k++) {
        int64_t p = g->updates[k];
        if (p < 0 || p >= d->n_params)
            return bad(why, size, "graph '%s': update %lld names parameter %lld (the model has %lld)", g->name,
                       (long long)k, (long long)p, (long long)d->n_params);
        for (int64_t j = 0; j < k; j++)
            if (g->updates[j] == p)
                return bad(why, size, "graph '%s': parameter '%s' is updated twice", g->name, d->params[p].name);
    }
    return true;
}

/* The number of slots of graph g's program (runtime/model.h rt_aot_graph). */
static int graph_slots(const rt_aot_model *d, const rt_aot_graph *g) {
    return (int)(1 + g->n_inputs + g->n_outputs + g->n_updates + d->n_params);
}

static bool check_graph(const rt_aot_model *d, const rt_aot_graph *g, char *why, size_t size) {
    char what[450];
    if (!g->name) return bad(why, size, "a graph has no name");
    if (g->n_inputs < 0 || g->n_outputs < 0 || g->n_inputs > INT_MAX / 4 || g->n_outputs > INT_MAX / 4 ||
        (g->n_inputs + g->n_outputs > 0 && !g->args))
        return bad(why, size, "graph '%s': malformed argument table", g->name);
    if (g->n_steps < 0 || g->n_steps > INT_MAX || (g->n_steps > 0 && !g->steps) || g->arena_bytes < 0)
        return bad(why, size, "graph '%s': malformed step table", g->name);
    if (!check_updates(d, g, why, size)) return false;
    int n_slots = graph_slots(d, g);
    for (int64_t i = 0; i < g->n_inputs + g->n_outputs; i++)
        if (!check_arg(&g->args[i], i, g->n_inputs, what, sizeof what))
            return bad(why, size, "graph '%s': %s", g->name, what);
    for (int64_t i = 0; i < g->n_steps; i++)
        if (!check_step(&g->steps[i], i, n_slots, what, sizeof what))
            return bad(why, size, "graph '%s': %s", g->name, what);
    return true;
}

static bool check_descriptor(const rt_aot_model *d, char *why, size_t size) {
    if (d->abi_version != RT_AOT_ABI_VERSION)
        return bad(why, size, "the descriptor has ABI version %lld but this runtime reads version %d",
                   (long long)d->abi_version, RT_AOT_ABI_VERSION);
    if (!d->name) return bad(why, size, "the descriptor has no name");
    if (d->n_graphs < 0 || d->n_graphs > INT_MAX || (d->n_graphs > 0 && !d->graphs))
        return bad(why, size, "malformed graph table (%lld graphs)", (long long)d->n_graphs);
    if (!check_params(d, why, size)) return false;
    for (int64_t i = 0; i < d->n_graphs; i++)
        if (!check_graph(d, &d->graphs[i], why, size)) return false;
    return true;
}

/* ---- building the model ---------------------------------------------------------------------- */

static rt_step decode_step(const rt_aot_step *a) {
    rt_step s = {.name = a->name,
                 .kind = (rt_step_kind)a->kind,
                 .flops = a->flops,
                 .bytes = a->bytes,
                 .fn = a->fn,
                 .extent = a->extent,
                 .grain = a->grain,
                 .n_checks = (int)a->n_checks,
                 .checks = a->checks};
    if (a->kind == RT_STEP_GEMM) rt_gemm_decode(a->call, &s.gemm);
    if (a->kind == RT_STEP_CONV) rt_conv_decode(a->call, &s.conv);
    return s;
}

/* Copies every parameter's initial value into its own buffer (nbytes 0 still gets one, so no
   parameter slot is NULL); optimizer state starts at zero. */
static bool copy_params(rt_model *m, char *why, size_t size) {
    m->n_params = (int)m->d->n_params;
    m->params = calloc((size_t)(m->n_params > 0 ? m->n_params : 1), sizeof *m->params);
    m->spare = calloc((size_t)(m->n_params > 0 ? m->n_params : 1), sizeof *m->spare);
    if (!m->params || !m->spare) return bad(why, size, "out of memory");
    for (int i = 0; i < m->n_params; i++) {
        const rt_aot_param *p = &m->d->params[i];
        if (!(m->params[i] = rt_alloc_aligned((size_t)p->nbytes)))
            return bad(why, size, "out of memory allocating parameter '%s' (%lld bytes)", p->name,
                       (long long)p->nbytes);
        if (p->state)
            memset(m->params[i], 0, (size_t)p->nbytes);
        else if (p->nbytes > 0)
            memcpy(m->params[i], p->init, (size_t)p->nbytes);
    }
    return true;
}

/* A second buffer for every parameter that some graph updates: a step writes the new value there
   while it still reads the old one, and a successful step swaps the two. Graphs run one at a
   time, so one spare per parameter serves them all. */
static bool alloc_spares(rt_model *m, char *why, size_t size) {
    for (int g = 0; g < m->n_graphs; g++) {
        const rt_aot_graph *gd = &m->d->graphs[g];
        for (int64_t k = 0; k < gd->n_updates; k++) {
            int64_t i = gd->updates[k];
            if (m->spare[i]) continue;
            const rt_aot_param *p = &m->d->params[i];
            if (!(m->spare[i] = rt_alloc_aligned((size_t)p->nbytes)))
                return bad(why, size, "out of memory allocating the update of parameter '%s' (%lld bytes)", p->name,
                           (long long)p->nbytes);
        }
    }
    return true;
}

/* Decodes graph i's steps into its program. */
static bool build_graph(rt_model *m, int i, char *why, size_t size) {
    const rt_aot_graph *gd = &m->d->graphs[i];
    model_graph *g = &m->graphs[i];
    int n_slots = graph_slots(m->d, gd);
    g->desc = gd;
    g->steps = calloc((size_t)(gd->n_steps > 0 ? gd->n_steps : 1), sizeof *g->steps);
    g->slots = calloc((size_t)n_slots, sizeof *g->slots);
    if (!g->steps || !g->slots) return bad(why, size, "out of memory");
    for (int64_t s = 0; s < gd->n_steps; s++) g->steps[s] = decode_step(&gd->steps[s]);
    g->program = (rt_program){.name = gd->name,
                              .n_slots = n_slots,
                              .n_steps = (int)gd->n_steps,
                              .steps = g->steps,
                              .arena_bytes = gd->arena_bytes,
                              .first_param_slot = (int)(1 + gd->n_inputs + gd->n_outputs + gd->n_updates)};
    return true;
}

static bool build(rt_model *m, const rt_model_options *options, char *why, size_t size) {
    if (!copy_params(m, why, size)) return false;
    m->n_graphs = (int)m->d->n_graphs;
    /* A module of parameters only has nothing to run, and no executor; its weights still load. */
    if (m->n_graphs == 0) return true;
    m->graphs = calloc((size_t)m->n_graphs, sizeof *m->graphs);
    const rt_program **programs = calloc((size_t)m->n_graphs, sizeof *programs);
    bool ok = m->graphs && programs;
    if (!ok) bad(why, size, "out of memory");
    ok = ok && alloc_spares(m, why, size);
    for (int i = 0; ok && i < m->n_graphs; i++) {
        ok = build_graph(m, i, why, size);
        programs[i] = &m->graphs[i].program;
    }
    if (ok) {
        char err[400];
        int threads = options && options->num_threads > 0 ? options->num_threads : 0;
        m->exec = rt_exec_create_multi(programs, m->n_graphs, threads, err, sizeof err);
        if (!m->exec) ok = bad(why, size, "%s", err);
    }
    free(programs);
    return ok;
}

rt_model *rt_model_create(const rt_aot_model *d, const rt_model_options *options) {
    char why[450];
    create_error[0] = '\0';
    if (!d) {
        snprintf(create_error, sizeof create_error, "cannot create the model: no descriptor (NULL)");
        return NULL;
    }
    if (!check_descriptor(d, why, sizeof why)) {
        snprintf(create_error, sizeof create_error, "%s_create: cannot create the model: %s", name_or(d->name), why);
        return NULL;
    }
    rt_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(create_error, sizeof create_error, "%s_create: cannot create the model: out of memory", d->name);
        return NULL;
    }
    m->d = d;
    m->prefix = d->name;
    if (!build(m, options, why, sizeof why)) {
        snprintf(create_error, sizeof create_error, "%s_create: cannot create the model: %s", d->name, why);
        rt_model_destroy(m);
        return NULL;
    }
    return m;
}

const char *rt_model_create_error(void) { return create_error; }

void rt_model_destroy(rt_model *m) {
    if (!m) return;
    rt_exec_destroy(m->exec);
    for (int i = 0; m->graphs && i < m->n_graphs; i++) {
        free(m->graphs[i].steps);
        free(m->graphs[i].slots);
    }
    free(m->graphs);
    for (int i = 0; m->params && i < m->n_params; i++) free(m->params[i]);
    for (int i = 0; m->spare && i < m->n_params; i++) free(m->spare[i]);
    free(m->params);
    free(m->spare);
    free(m);
}

/* ---- errors ---------------------------------------------------------------------------------- */

/* Sets m's error to "PREFIX_FUNCTION: MESSAGE" and returns 1 (the API's failure code). */
static int fail(rt_model *m, const char *function, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(rt_model *m, const char *function, const char *fmt, ...) {
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s_%s: ", m->prefix, function);
    va_list ap;
    va_start(ap, fmt);
    format_into(m->error, sizeof m->error, prefix, fmt, ap);
    va_end(ap);
    return 1;
}

const char *rt_model_error(const rt_model *m) { return m ? m->error : "no model (NULL)"; }

/* ---- running --------------------------------------------------------------------------------- */

/* Every argument present and aligned as model.h promises the kernels: to its element size. */
static int check_args(rt_model *m, const model_graph *g, void *const *args) {
    const rt_aot_graph *gd = g->desc;
    int64_t n_args = gd->n_inputs + gd->n_outputs;
    if (n_args > 0 && !args) return fail(m, gd->name, "no arguments (the argument array is NULL)");
    for (int64_t i = 0; i < n_args; i++) {
        const rt_aot_arg *a = &gd->args[i];
        const char *role = a->is_output ? "output" : "input";
        long long index = (long long)(a->is_output ? i - gd->n_inputs : i);
        size_t size = rt_dtype_size((rt_dtype)a->dtype), align = size;
        if (!args[i]) return fail(m, gd->name, "argument '%s' (%s %lld) is NULL", a->name, role, index);
        if ((uintptr_t)args[i] % align != 0)
            return fail(m, gd->name, "argument '%s' (%s %lld) is not aligned to %zu bytes", a->name, role, index,
                        align);
    }
    return 0;
}

/* The slots of a run: the caller's arguments, each update's buffer, then the parameters (as they
   are now: a step swaps buffers). */
static void bind_slots(rt_model *m, model_graph *g, void *const *args) {
    const rt_aot_graph *gd = g->desc;
    int n_args = (int)(gd->n_inputs + gd->n_outputs), n_updates = (int)gd->n_updates;
    for (int i = 0; i < n_args; i++) g->slots[1 + i] = args[i];
    for (int k = 0; k < n_updates; k++) g->slots[1 + n_args + k] = m->spare[gd->updates[k]];
    for (int p = 0; p < m->n_params; p++) g->slots[1 + n_args + n_updates + p] = m->params[p];
}

/* After a successful step the updates are the parameters' values: the buffers change places. */
static void apply_updates(rt_model *m, const rt_aot_graph *gd) {
    for (int64_t k = 0; k < gd->n_updates; k++) {
        int64_t p = gd->updates[k];
        void *old = m->params[p];
        m->params[p] = m->spare[p];
        m->spare[p] = old;
    }
    if (gd->n_updates > 0) rt_exec_params_changed(m->exec);
}

int rt_model_run(rt_model *m, int graph, void *const *args) {
    if (!m) return 1;
    m->error[0] = '\0';
    if (graph < 0 || graph >= m->n_graphs)
        return fail(m, "run", "graph %d out of range (the model has %d graph%s)", graph, m->n_graphs,
                    m->n_graphs == 1 ? "" : "s");
    model_graph *g = &m->graphs[graph];
    if (check_args(m, g, args)) return 1;
    bind_slots(m, g, args);
    if (rt_exec_run_program(m->exec, graph, g->slots) != 0) return fail(m, g->desc->name, "%s", rt_exec_error(m->exec));
    apply_updates(m, g->desc);
    return 0;
}

/* ---- weights --------------------------------------------------------------------------------- */

int rt_model_save_weights(rt_model *m, const char *path) {
    if (!m) return 1;
    m->error[0] = '\0';
    if (!path) return fail(m, "save_weights", "no path (NULL)");
    /* The set only borrows the parameters' names and buffers. Optimizer state is not a weight. */
    rt_named_array *items = calloc((size_t)(m->n_params > 0 ? m->n_params : 1), sizeof *items);
    if (!items) return fail(m, "save_weights", "%s: out of memory", path);
    int n = 0;
    for (int i = 0; i < m->n_params; i++) {
        const rt_aot_param *p = &m->d->params[i];
        if (p->state) continue;
        rt_array a = {
            .dtype = (rt_dtype)p->dtype, .rank = (int)p->rank, .data = m->params[i], .nbytes = (size_t)p->nbytes};
        if (p->rank > 0) memcpy(a.dims, p->dims, (size_t)p->rank * sizeof *p->dims);
        items[n++] = (rt_named_array){.name = (char *)p->name, .array = a};
    }
    rt_array_set set = {.count = n, .items = items};
    char err[450];
    int rc = rt_safetensors_write(path, &set, err, sizeof err);
    free(items);
    return rc != 0 ? fail(m, "save_weights", "%s", err) : 0;
}

/* Edit distance of a and b, or INT_MAX when it is surely above `limit` (long names are not
   compared: a suggestion is only for typos). */
static int edit_distance(const char *a, const char *b, int limit) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 128 || lb > 128 || (la > lb ? la - lb : lb - la) > (size_t)limit) return INT_MAX;
    int row[129];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The weight (a parameter that is not optimizer state) whose name is closest to `name` (a third of
   its length in edits at most), or NULL. */
static const char *closest_param(const rt_model *m, const char *name) {
    int limit = (int)(strlen(name) / 3) + 1, best = INT_MAX;
    const char *found = NULL;
    for (int i = 0; i < m->n_params; i++) {
        if (m->d->params[i].state) continue;
        int dist = edit_distance(name, m->d->params[i].name, limit);
        if (dist <= limit && dist < best) {
            best = dist;
            found = m->d->params[i].name;
        }
    }
    return found;
}

static int find_param(const rt_model *m, const char *name) {
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->d->params[i].name, name) == 0) return i;
    return -1;
}

static bool same_shape(const rt_aot_param *p, const rt_array *a) {
    if (a->rank != p->rank) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != p->dims[d]) return false;
    return true;
}

/* Strict loading, checked in full before anything is copied: each weight present with its dtype
   and shape, and no tensor that is not a weight (a misspelled key would otherwise leave a
   parameter silently at its old value; optimizer state is never in a weights file). */
static int check_weights(rt_model *m, const char *path, const rt_array_set *w) {
    char want[256], got[256];
    for (int i = 0; i < m->n_params; i++) {
        const rt_aot_param *p = &m->d->params[i];
        if (p->state) continue;
        const rt_array *a = rt_array_set_find(w, p->name);
        if (!a) return fail(m, "load_weights", "%s: parameter '%s' is missing from the file", path, p->name);
        if (a->dtype != (rt_dtype)p->dtype)
            return fail(m, "load_weights", "%s: parameter '%s' has dtype %s in the model but %s in the file", path,
                        p->name, rt_dtype_name((rt_dtype)p->dtype), rt_dtype_name(a->dtype));
        if (!same_shape(p, a))
            return fail(m, "load_weights", "%s: parameter '%s' has shape %s in the model but %s in the file", path,
                        p->name, rt_shape_str((int)p->rank, p->dims, true, want, sizeof want),
                        rt_shape_str(a->rank, a->dims, true, got, sizeof got));
    }
    for (int i = 0; i < w->count; i++) {
        const char *name = w->items[i].name;
        int p = find_param(m, name);
        if (p >= 0 && m->d->params[p].state)
            return fail(m, "load_weights", "%s: tensor '%s' is optimizer state, which weights files do not hold", path,
                        name);
        if (p >= 0) continue;
        const char *close = closest_param(m, name);
        return fail(m, "load_weights", "%s: tensor '%s' is not a parameter of the model%s%s%s", path, name,
                    close ? "; did you mean '" : "", close ? close : "", close ? "'?" : "");
    }
    return 0;
}

int rt_model_load_weights(rt_model *m, const char *path) {
    if (!m) return 1;
    m->error[0] = '\0';
    if (!path) return fail(m, "load_weights", "no path (NULL)");
    rt_array_set w = {0, NULL};
    char err[450];
    if (rt_safetensors_read(path, &w, err, sizeof err) != 0) return fail(m, "load_weights", "%s", err);
    int rc = check_weights(m, path, &w);
    for (int i = 0; rc == 0 && i < m->n_params; i++) {
        if (m->d->params[i].state) continue;
        const rt_array *a = rt_array_set_find(&w, m->d->params[i].name);
        if (a->nbytes > 0) memcpy(m->params[i], a->data, a->nbytes);
    }
    rt_array_set_free(&w);
    if (rc == 0 && m->exec) rt_exec_params_changed(m->exec);
    return rc;
}
