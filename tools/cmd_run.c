/* cmd_run.c — `tfc run`: binds the user's .npy inputs and weights to a graph, runs it compiled
 * (cpu) or with the reference interpreter — once, N steps on the same inputs (--steps), over the
 * minibatches of a data set (--epochs, cli_steps.c), timed (--bench) or profiled — makes a
 * training graph's updates the parameters' values after each step, and writes or summarizes its
 * outputs. Every user mistake is one message naming the file or name and what was expected. */
#include "codegen/cpu/cpu.h"
#include "runtime/program.h"
#include "tools/cli.h"

#include <errno.h>
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

/* --random-inputs: floats uniform in [-1, 1), integers and bools in {0, 1} (valid class ids for
 * any loss), from the seed and the input's position. */
static void fill_random(ir_tensor *t, uint64_t seed, int index) {
    uint64_t state = seed * 0x100000001b3ull + (uint64_t)index + 1;
    int64_t n = ir_type_elems(&t->type);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = ir_splitmix64(&state);
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

/* The results (a training graph's updates are not outputs a user sees). */
static bool emit_outputs(const cli_options *o, const ir_graph *g, const ir_tensor *outputs, ir_diag *d) {
    for (int i = 0; i < ir_graph_n_results(g); i++) {
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

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* `bench: GRAPH N runs median X ms min Y ms max Z ms` over N timed runs after one warm-up (each
 * run of a training graph is a step: it trains). */
static bool bench(const cli_options *o, const ir_graph *g, cli_step_fn step, void *ctx) {
    double *t = calloc((size_t)o->bench_runs, sizeof *t);
    if (!t) return false;
    bool ok = step(ctx, false);
    for (int i = 0; ok && i < o->bench_runs; i++) {
        double t0 = rt_now_seconds();
        ok = step(ctx, false);
        t[i] = (rt_now_seconds() - t0) * 1e3;
    }
    if (ok) {
        qsort(t, (size_t)o->bench_runs, sizeof *t, compare_doubles);
        int n = o->bench_runs;
        double median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
        printf("bench: %s %d runs median %.3f ms min %.3f ms max %.3f ms\n", g->name, n, median, t[0], t[n - 1]);
    }
    free(t);
    return ok;
}

/* ---- one step, on either backend ------------------------------------------------------------- */

typedef struct runner {
    const ir_graph *g;
    ir_tensor *params, *inputs, *outputs; /* outputs: the results, then the updates */
    ir_diag *diag;
    cli_compiled *compiled; /* NULL: the reference interpreter */
    char **slots;           /* cpu: the compiled program's slot table */
    bool profile_last;      /* cpu --profile: time the run's last step itself */
} runner;

static bool interp_once(runner *r) {
    for (int i = 0; i < r->g->n_outputs; i++) ir_tensor_free(&r->outputs[i]);
    return ir_interp_graph(r->g, r->params, r->inputs, r->outputs, r->diag);
}

static bool cpu_once(runner *r) {
    if (rt_exec_run(r->compiled->exec, r->slots) == 0) return true;
    fprintf(stderr, "tfc: error: %s\n", rt_exec_error(r->compiled->exec));
    return false;
}

/* A training graph's updates become the parameters' values once its whole step has succeeded:
 * each update's buffer and its parameter's change places (in the compiled program's slots too),
 * so nothing is copied and the next step writes its update over the old value. A failed step
 * changes nothing. */
static void apply_updates(runner *r) {
    const ir_graph *g = r->g;
    int n_results = ir_graph_n_results(g);
    for (int k = 0; k < g->n_updates; k++) {
        int p = g->update_params[k], out = n_results + k;
        void *old = r->params[p].data;
        r->params[p].data = r->outputs[out].data;
        r->outputs[out].data = old;
        if (r->slots) {
            r->slots[cg_slot_param(g, p)] = r->params[p].data;
            r->slots[cg_slot_output(g, out)] = r->outputs[out].data;
        }
    }
    if (r->compiled && g->n_updates > 0) rt_exec_params_changed(r->compiled->exec);
}

/* cli_step_fn: one step of the graph. */
static bool run_step(void *ctx, bool last) {
    runner *r = ctx;
    if (last && r->profile_last) rt_exec_set_profiling(r->compiled->exec, true);
    bool ok = r->compiled ? cpu_once(r) : interp_once(r);
    if (ok) apply_updates(r);
    return ok;
}

/* Each update has its parameter's type (the verifier's rule; the swap relies on it). */
static bool check_updates(const ir_graph *g, const ir_module *mod, ir_diag *d) {
    for (int k = 0; k < g->n_updates; k++) {
        int p = g->update_params[k];
        const ir_node *n = g->nodes[g->output_nodes[ir_graph_n_results(g) + k]];
        if (p < 0 || p >= mod->n_params || !ir_type_equal(&n->type, &mod->params[p].type)) {
            ir_bug(d, g->loc, "graph '%s': update %d does not match its parameter", g->name, k);
            return false;
        }
    }
    return true;
}

/* ---- the CPU backend --------------------------------------------------------------------- */

/* Per-kernel times of one profiled run, beside the cost model's work (stderr). */
static void print_profile(const cli_compiled *c) {
    const rt_program *p = cg_cpu_jit_program(c->jit);
    double total = 0;
    for (int i = 0; i < p->n_steps; i++) total += rt_exec_step_seconds(c->exec, i);
    fprintf(stderr, "profile: %s, %d kernels, %.3f ms\n", p->name, p->n_steps, total * 1e3);
    fprintf(stderr, "  %-48s %10s %6s %9s %8s\n", "kernel", "time", "share", "GFLOP/s", "GB/s");
    for (int i = 0; i < p->n_steps; i++) {
        double s = rt_exec_step_seconds(c->exec, i);
        const rt_step *st = &p->steps[i];
        fprintf(stderr, "  %-48s %7.3f ms %5.1f%% %9.2f %8.2f\n", st->name, s * 1e3, total > 0 ? 100 * s / total : 0,
                s > 0 ? st->flops / s * 1e-9 : 0, s > 0 ? st->bytes / s * 1e-9 : 0);
    }
}

/* Compiles g and gives every slot its buffer: the inputs, the outputs (updates included), the
 * parameters. */
static bool prepare_cpu(const cli_options *o, cli_model *m, runner *r, cli_compiled *c) {
    const ir_graph *g = r->g;
    const ir_module *mod = m->module;
    for (int i = 0; i < g->n_outputs; i++) {
        if (!ir_tensor_alloc(&r->outputs[i], &g->nodes[g->output_nodes[i]]->type)) {
            fprintf(stderr, "tfc: error: out of memory for output '%s'\n", g->output_names[i]);
            return false;
        }
    }
    if (cli_compile_cpu(o, m, g, c) != CLI_OK) return false;
    r->compiled = c;
    r->slots = calloc((size_t)c->program->n_slots, sizeof *r->slots);
    if (!r->slots) return false;
    for (int i = 0; i < g->n_inputs; i++) r->slots[cg_slot_input(g, i)] = r->inputs[i].data;
    for (int i = 0; i < g->n_outputs; i++) r->slots[cg_slot_output(g, i)] = r->outputs[i].data;
    for (int i = 0; i < mod->n_params; i++) r->slots[cg_slot_param(g, i)] = r->params[i].data;
    return true;
}

/* --profile: the trace of the run's last step, or of one more run after a graph that ran once
 * without training (its first run warmed the caches). */
static bool profile(const cli_options *o, runner *r) {
    rt_exec *exec = r->compiled->exec;
    if (!r->profile_last) {
        rt_exec_set_profiling(exec, true);
        if (!run_step(r, false)) return false;
    }
    if (!rt_exec_write_trace(exec, o->profile)) {
        fprintf(stderr, "tfc: error: cannot write profile '%s': %s\n", o->profile, strerror(errno));
        return false;
    }
    print_profile(r->compiled);
    return true;
}

/* ---- the run ----------------------------------------------------------------------------- */

/* The inputs: each from its file (or --random-inputs) for one batch; for --epochs, the files'
 * rows into a data set, and tensors of the graph's batch that each step fills from it. */
static bool prepare_inputs(const cli_options *o, const ir_graph *g, ir_tensor *inputs, cli_dataset *ds, ir_diag *d) {
    if (!o->epochs) return bind_inputs(o, g, inputs, d);
    if (!cli_dataset_load(o, g, ds, d)) return false;
    for (int i = 0; i < g->n_inputs; i++) {
        if (!ir_tensor_alloc(&inputs[i], &g->input_types[i])) {
            fprintf(stderr, "tfc: error: out of memory for input '%s'\n", g->input_names[i]);
            return false;
        }
    }
    return true;
}

static bool run_all(const cli_options *o, const ir_graph *g, runner *r, cli_dataset *ds) {
    if (o->bench_runs) {
        if (r->compiled)
            fprintf(stderr, "compile: %s, %d kernels in %.1f ms\n", g->name, r->compiled->program->n_kernels,
                    r->compiled->compile_seconds * 1e3);
        return bench(o, g, run_step, r);
    }
    if (o->epochs) return cli_run_epochs(o, g, ds, r->inputs, r->outputs, run_step, r);
    return cli_run_steps(o, g, r->outputs, run_step, r);
}

static int run_graph(const cli_options *o, cli_model *m, const ir_graph *g, bool cpu) {
    const ir_module *mod = m->module;
    ir_tensor *params = calloc((size_t)mod->n_params + 1, sizeof *params);
    ir_tensor *inputs = calloc((size_t)g->n_inputs + 1, sizeof *inputs);
    ir_tensor *outputs = calloc((size_t)g->n_outputs + 1, sizeof *outputs);
    cli_dataset ds = {0};
    cli_compiled c = {0};
    runner r = {.g = g, .params = params, .inputs = inputs, .outputs = outputs, .diag = &m->diag};
    /* A graph run once is profiled on one more run; a run of several steps, or a training step
       (repeating it would train once more), on its last step. */
    r.profile_last = cpu && o->profile && !o->bench_runs && (o->steps > 1 || o->epochs > 0 || g->n_updates > 0);
    bool ok = params && inputs && outputs;
    if (!ok) fprintf(stderr, "tfc: error: out of memory\n");
    ok = ok && prepare_inputs(o, g, inputs, &ds, &m->diag) && cli_init_params(o, mod, params, &m->diag) &&
         check_updates(g, mod, &m->diag);
    ok = ok && (!cpu || prepare_cpu(o, m, &r, &c));
    ok = ok && run_all(o, g, &r, &ds);
    if (ok && cpu && o->profile) ok = profile(o, &r);
    int rc = ok || !m->diag.bugs ? CLI_USER_ERROR : CLI_INTERNAL_ERROR;
    if (ok && emit_outputs(o, g, outputs, &m->diag) &&
        (!o->save_weights || cli_save_params(o->save_weights, mod, params, &m->diag)))
        rc = CLI_OK;
    free(r.slots);
    cli_compiled_free(&c);
    cli_dataset_free(&ds);
    free_tensors(outputs, g->n_outputs);
    free_tensors(inputs, g->n_inputs);
    free_tensors(params, mod->n_params);
    return rc;
}

/* --steps, --epochs, --shuffle and --bench: which go together. */
static bool check_repeat_options(const cli_options *o) {
    const char *msg = NULL;
    if (o->steps && o->epochs)
        msg = "--steps and --epochs exclude each other (--steps N repeats one batch; --epochs E walks a data set)";
    else if (o->bench_runs && (o->steps || o->epochs))
        msg = o->steps ? "--bench does not combine with --steps (--bench N already runs the step N times, timed)"
                       : "--bench does not combine with --epochs (--bench N times one step, N times)";
    else if (o->shuffle && !o->epochs)
        msg = "--shuffle needs --epochs (it sets the order of the rows in each epoch)";
    if (msg) fprintf(stderr, "tfc: error: %s\n", msg);
    return msg == NULL;
}

/* Options that only the compiled backend understands. */
static bool check_backend_options(const cli_options *o, const char *backend) {
    const char *opt = o->threads ? "--threads" : o->profile ? "--profile" : o->cpu ? "--cpu" : NULL;
    if (strcmp(backend, "interp") == 0 && opt) {
        fprintf(stderr, "tfc: error: %s needs --backend cpu (the interpreter runs on one thread, uncompiled)\n", opt);
        return false;
    }
    return true;
}

int cli_run(const cli_options *o) {
    const char *backend = o->backend ? o->backend : "cpu";
    bool cpu = strcmp(backend, "cpu") == 0;
    if (!cpu && strcmp(backend, "interp") != 0) {
        bool known = strcmp(backend, "cuda") == 0;
        fprintf(stderr, "tfc: error: backend '%s' is %s (available: cpu, interp)\n", backend,
                known ? "not available yet" : "unknown");
        return CLI_USER_ERROR;
    }
    if (!check_backend_options(o, backend) || !check_repeat_options(o)) return CLI_USER_ERROR;
    cli_model m;
    int rc = cli_load_model(o, &m);
    if (rc == CLI_OK) rc = cli_optimize(o, &m, NULL, 3);
    if (rc == CLI_OK && cpu) rc = cli_prepare_codegen(o, &m);
    const ir_graph *g = rc == CLI_OK ? cli_pick_graph(o, &m) : NULL;
    if (rc == CLI_OK && !g) rc = CLI_USER_ERROR;
    if (rc == CLI_OK &&
        (!check_bindings("--in", "input", o->ins, o->n_ins, g->input_names, g->n_inputs, g) ||
         !check_bindings("--out", "output", o->outs, o->n_outs, g->output_names, ir_graph_n_results(g), g)))
        rc = CLI_USER_ERROR;
    if (rc == CLI_OK) rc = run_graph(o, &m, g, cpu);
    cli_model_free(&m);
    return rc;
}
