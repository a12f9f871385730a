/* cmd_run.c — `tfc run`: binds the user's .npy inputs and weights to a graph, runs it with the
 * reference interpreter and writes or summarizes its outputs. Every user mistake is one message
 * naming the file or name and what was expected. */
#include "tools/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int find_name(const char *name, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* Each --in/--out NAME must be a graph input/output, named once. */
static bool check_bindings(const char *opt, const char *kind, const cli_binding *b, int n,
                           const char *const *names, int n_names, const ir_graph *g) {
    for (int i = 0; i < n; i++) {
        if (find_name(b[i].name, names, n_names) < 0) {
            const char *close = ir_closest(b[i].name, names, n_names);
            fprintf(stderr, "tfc: error: %s %s=%s: graph '%s' has no %s named '%s'%s%s%s\n", opt, b[i].name,
                    b[i].path, g->name, kind, b[i].name, close ? "; did you mean '" : "", close ? close : "",
                    close ? "'?" : "");
            return false;
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(b[i].name, b[j].name) == 0) {
                fprintf(stderr, "tfc: error: %s %s is given twice\n", opt, b[i].name);
                return false;
            }
        }
    }
    return true;
}

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* --random-inputs: floats uniform in [-1, 1), integers and bools in {0, 1} (valid class ids for
 * any loss), from the seed and the input's position. */
static void fill_random(ir_tensor *t, uint64_t seed, int index) {
    uint64_t state = seed * 0x100000001b3ull + (uint64_t)index + 1;
    int64_t n = ir_type_elems(&t->type);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = splitmix64(&state);
        double v = ir_dtype_is_float(t->type.dtype) ? (double)(r >> 11) * 0x1p-52 - 1.0 : (double)(r >> 63);
        ir_tensor_set(t, i, v);
    }
}

static bool bind_inputs(const cli_options *o, const ir_graph *g, ir_tensor *inputs, ir_diag *d) {
    for (int i = 0; i < g->n_inputs; i++) {
        const char *name = g->input_names[i];
        int b = -1;
        for (int j = 0; j < o->n_ins; j++)
            if (strcmp(o->ins[j].name, name) == 0) b = j;
        char type_s[128], what[256];
        ir_type_str(&g->input_types[i], type_s, sizeof type_s);
        if (b < 0 && !o->random_inputs) {
            fprintf(stderr, "tfc: error: missing input '%s' (%s) of graph '%s': pass --in %s=FILE.npy\n", name,
                    type_s, g->name, name);
            return false;
        }
        if (b < 0) {
            if (!ir_tensor_alloc(&inputs[i], &g->input_types[i])) return false;
            fill_random(&inputs[i], o->seed, i);
            continue;
        }
        snprintf(what, sizeof what, "input '%s' of graph '%s'", name, g->name);
        if (!cli_load_input(o->ins[b].path, what, &g->input_types[i], &inputs[i], d)) return false;
    }
    return true;
}

static bool emit_outputs(const cli_options *o, const ir_graph *g, const ir_tensor *outputs, ir_diag *d) {
    for (int i = 0; i < g->n_outputs; i++) {
        int b = -1;
        for (int j = 0; j < o->n_outs; j++)
            if (strcmp(o->outs[j].name, g->output_names[i]) == 0) b = j;
        if (b >= 0) {
            if (!cli_save_tensor(o->outs[b].path, &outputs[i], d)) return false;
        } else if (o->n_outs == 0) {
            cli_print_summary(stdout, g->output_names[i], &outputs[i]);
        }
    }
    return true;
}

static void free_tensors(ir_tensor *t, int n) {
    for (int i = 0; t && i < n; i++) ir_tensor_free(&t[i]);
    free(t);
}

static int run_graph(const cli_options *o, cli_model *m, const ir_graph *g) {
    const ir_module *mod = m->module;
    ir_tensor *params = calloc((size_t)mod->n_params + 1, sizeof *params);
    ir_tensor *inputs = calloc((size_t)g->n_inputs + 1, sizeof *inputs);
    ir_tensor *outputs = calloc((size_t)g->n_outputs + 1, sizeof *outputs);
    int rc = CLI_USER_ERROR;
    if (!params || !inputs || !outputs) {
        fprintf(stderr, "tfc: error: out of memory\n");
    } else if (bind_inputs(o, g, inputs, &m->diag) && cli_init_params(o, mod, params, &m->diag) &&
               ir_interp_graph(g, params, inputs, outputs, &m->diag) && emit_outputs(o, g, outputs, &m->diag) &&
               (!o->save_weights || cli_save_params(o->save_weights, mod, params, &m->diag))) {
        rc = CLI_OK;
    }
    free_tensors(outputs, g->n_outputs);
    free_tensors(inputs, g->n_inputs);
    free_tensors(params, mod->n_params);
    return rc;
}

int cli_run(const cli_options *o) {
    const char *backend = o->backend ? o->backend : "interp";
    if (strcmp(backend, "interp") != 0) {
        bool known = strcmp(backend, "cpu") == 0 || strcmp(backend, "cuda") == 0;
        fprintf(stderr, "tfc: error: backend '%s' is %s (available: interp)\n", backend,
                known ? "not available yet" : "unknown");
        return CLI_USER_ERROR;
    }
    cli_model m;
    int rc = cli_load_model(o, &m);
    if (rc == CLI_OK) rc = cli_optimize(o, &m, NULL, 3);
    const ir_graph *g = rc == CLI_OK ? cli_pick_graph(o, &m) : NULL;
    if (rc == CLI_OK && !g) rc = CLI_USER_ERROR;
    if (rc == CLI_OK &&
        (!check_bindings("--in", "input", o->ins, o->n_ins, g->input_names, g->n_inputs, g) ||
         !check_bindings("--out", "output", o->outs, o->n_outs, g->output_names, g->n_outputs, g)))
        rc = CLI_USER_ERROR;
    if (rc == CLI_OK) rc = run_graph(o, &m, g);
    cli_model_free(&m);
    return rc;
}
