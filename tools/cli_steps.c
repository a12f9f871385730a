/* cli_steps.c — `tfc run` repeating a graph's step: --steps N on the same inputs, and --epochs E
 * over a data set (inputs of more rows than the graph's batch, walked in minibatches along axis
 * 0, the remainder dropped, in a new seeded order each epoch with --shuffle). Each step's or
 * epoch's scalar results are printed, so a training graph shows its loss falling. */
#define _POSIX_C_SOURCE 200809L /* fileno, isatty */

#include "runtime/program.h"
#include "tools/cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the data set -------------------------------------------------------------------------- */

void cli_dataset_free(cli_dataset *ds) {
    for (int i = 0; ds->rows && i < ds->n_inputs; i++) ir_tensor_free(&ds->rows[i]);
    free(ds->rows);
    free(ds->order);
    memset(ds, 0, sizeof *ds);
}

static int find_binding(const cli_options *o, const char *name) {
    for (int j = 0; j < o->n_ins; j++)
        if (strcmp(o->ins[j].name, name) == 0) return j;
    return -1;
}

/* Input i's file: it must exist and hold at least one batch of rows. */
static bool load_input_rows(const cli_options *o, const ir_graph *g, int i, cli_dataset *ds, ir_diag *d) {
    const char *name = g->input_names[i];
    const ir_type *t = &g->input_types[i];
    char type_s[128], what[256];
    ir_type_str(t, type_s, sizeof type_s);
    int b = find_binding(o, name);
    if (b < 0) {
        fprintf(stderr,
                "tfc: error: --epochs: input '%s' (%s) of graph '%s' has no --in file; --epochs walks the "
                "rows of every input's file (--steps N repeats one batch)\n",
                name, type_s, g->name);
        return false;
    }
    snprintf(what, sizeof what, "input '%s' of graph '%s'", name, g->name);
    if (!cli_load_rows(o->ins[b].path, what, t, &ds->rows[i], d)) return false;
    int64_t rows = ds->rows[i].type.dims[0];
    if (rows < t->dims[0]) {
        ir_error(d, IR_NO_LOC,
                 "%s: %lld row%s for input '%s', fewer than the graph's batch of %lld (--epochs needs "
                 "at least one minibatch)",
                 o->ins[b].path, (long long)rows, rows == 1 ? "" : "s", name, (long long)t->dims[0]);
        return false;
    }
    return true;
}

/* Every input must have as many rows as the first: row r of each is one example. */
static bool check_row_counts(const cli_options *o, const ir_graph *g, const cli_dataset *ds, ir_diag *d) {
    for (int i = 1; i < g->n_inputs; i++) {
        int64_t rows = ds->rows[i].type.dims[0];
        if (rows == ds->n_rows) continue;
        ir_error(d, IR_NO_LOC,
                 "%s: %lld rows for input '%s', but %s has %lld for input '%s'; every input needs one "
                 "row per example",
                 o->ins[find_binding(o, g->input_names[i])].path, (long long)rows, g->input_names[i],
                 o->ins[find_binding(o, g->input_names[0])].path, (long long)ds->n_rows, g->input_names[0]);
        return false;
    }
    return true;
}

/* What the graph alone decides, checked before any file is read: every input has a batch axis
   (axis 0) of one size, at least one row. */
static bool check_batch_axes(const ir_graph *g) {
    if (g->n_inputs == 0) {
        fprintf(stderr, "tfc: error: --epochs: graph '%s' has no inputs to walk (--steps N repeats it)\n", g->name);
        return false;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const ir_type *t = &g->input_types[i];
        char type_s[128];
        if (t->rank > 0) continue;
        fprintf(stderr,
                "tfc: error: --epochs: input '%s' of graph '%s' is a scalar (%s); every input needs a batch "
                "axis (axis 0) to walk\n",
                g->input_names[i], g->name, ir_type_str(t, type_s, sizeof type_s));
        return false;
    }
    int64_t batch = g->input_types[0].dims[0];
    /* Inputs with different batch sizes would walk different examples together. */
    for (int i = 1; i < g->n_inputs; i++) {
        if (g->input_types[i].dims[0] == batch) continue;
        fprintf(stderr,
                "tfc: error: --epochs: graph '%s' takes %lld rows of '%s' but %lld of '%s' per step; "
                "--epochs needs one batch size along axis 0\n",
                g->name, (long long)batch, g->input_names[0], (long long)g->input_types[i].dims[0], g->input_names[i]);
        return false;
    }
    if (batch == 0) {
        fprintf(stderr,
                "tfc: error: --epochs: graph '%s' takes 0 rows of '%s' per step; --epochs needs a batch of "
                "at least one row\n",
                g->name, g->input_names[0]);
        return false;
    }
    return true;
}

bool cli_dataset_load(const cli_options *o, const ir_graph *g, cli_dataset *ds, ir_diag *d) {
    memset(ds, 0, sizeof *ds);
    if (!check_batch_axes(g)) return false;
    ds->n_inputs = g->n_inputs;
    ds->rows = calloc((size_t)g->n_inputs, sizeof *ds->rows);
    if (!ds->rows) {
        fprintf(stderr, "tfc: error: out of memory\n");
        return false;
    }
    for (int i = 0; i < g->n_inputs; i++)
        if (!load_input_rows(o, g, i, ds, d)) return false;
    ds->n_rows = ds->rows[0].type.dims[0];
    ds->batch = g->input_types[0].dims[0];
    if (!check_row_counts(o, g, ds, d)) return false;
    ds->order = malloc(sizeof *ds->order * (size_t)ds->n_rows);
    if (!ds->order) {
        fprintf(stderr, "tfc: error: out of memory for the order of %lld rows\n", (long long)ds->n_rows);
        return false;
    }
    return true;
}

/* Epoch e's order: the rows in file order, or (shuffle) a Fisher-Yates permutation that depends
   only on the seed and e, so a run is reproducible and every epoch differs. */
static void order_rows(cli_dataset *ds, bool shuffle, uint64_t seed, int epoch) {
    for (int64_t r = 0; r < ds->n_rows; r++) ds->order[r] = r;
    if (!shuffle) return;
    uint64_t state = seed * 0x2545f4914f6cdd1dull + (uint64_t)epoch + 1;
    for (int64_t r = ds->n_rows - 1; r > 0; r--) {
        /* A 64-bit draw reduced modulo r + 1: its bias, (r + 1) / 2^64, is negligible. */
        int64_t j = (int64_t)(ir_splitmix64(&state) % (uint64_t)(r + 1));
        int64_t tmp = ds->order[r];
        ds->order[r] = ds->order[j];
        ds->order[j] = tmp;
    }
}

/* The rows of minibatch `step` (in this epoch's order) into the graph's input tensors. */
static void gather_batch(const cli_dataset *ds, int64_t step, ir_tensor *inputs) {
    for (int i = 0; i < ds->n_inputs; i++) {
        size_t row_bytes = (size_t)(ir_type_elems(&inputs[i].type) / ds->batch) * ir_dtype_size(inputs[i].type.dtype);
        char *dst = inputs[i].data;
        const char *src = ds->rows[i].data;
        for (int64_t r = 0; r < ds->batch; r++)
            memcpy(dst + (size_t)r * row_bytes, src + (size_t)ds->order[step * ds->batch + r] * row_bytes, row_bytes);
    }
}

/* ---- what is printed ----------------------------------------------------------------------- */

static bool is_scalar_result(const ir_graph *g, int i) { return g->nodes[g->output_nodes[i]]->type.rank == 0; }

/* ", NAME VALUE" for each scalar result (values[i] for result i); the first without the comma. */
static void print_scalars(FILE *f, const ir_graph *g, const double *values) {
    bool first = true;
    for (int i = 0; i < ir_graph_n_results(g); i++) {
        if (!is_scalar_result(g, i)) continue;
        fprintf(f, "%s%s %.6g", first ? " " : ", ", g->output_names[i], values[i]);
        first = false;
    }
}

bool cli_run_steps(const cli_options *o, const ir_graph *g, const ir_tensor *outputs, cli_step_fn step, void *ctx) {
    int n = o->steps > 0 ? o->steps : 1, n_results = ir_graph_n_results(g);
    double *values = calloc((size_t)n_results + 1, sizeof *values);
    if (!values) return false;
    bool ok = true;
    for (int s = 1; ok && s <= n; s++) {
        ok = step(ctx, s == n);
        if (!ok || n == 1) continue;
        for (int i = 0; i < n_results; i++)
            if (is_scalar_result(g, i)) values[i] = ir_tensor_get(&outputs[i], 0);
        printf("step %d/%d:", s, n);
        print_scalars(stdout, g, values);
        putchar('\n');
        fflush(stdout);
    }
    free(values);
    return ok;
}

/* `epoch 2/5 [=========>          ] 412/938  loss 0.2345` on stderr, redrawn in place: the mean so
   far of the first scalar result. */
static void draw_progress(const ir_graph *g, int epoch, int epochs, int64_t done, int64_t total, const double *sums) {
    enum { WIDTH = 30 };
    int filled = (int)(done * WIDTH / total);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '=' : i == filled ? '>' : ' ';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\repoch %d/%d [%s] %lld/%lld", epoch, epochs, bar, (long long)done, (long long)total);
    for (int i = 0; i < ir_graph_n_results(g); i++) {
        if (!is_scalar_result(g, i)) continue;
        fprintf(stderr, "  %s %.4g", g->output_names[i], sums[i] / (double)done);
        break;
    }
    fflush(stderr);
}

/* One pass over the data set: its steps, the sums of each scalar result over them. */
static bool run_epoch(const cli_options *o, const ir_graph *g, cli_dataset *ds, ir_tensor *inputs,
                      const ir_tensor *outputs, cli_step_fn step, void *ctx, int epoch, double *sums) {
    int64_t steps = ds->n_rows / ds->batch;
    bool progress = isatty(fileno(stderr));
    double drawn = 0;
    order_rows(ds, o->shuffle, o->seed, epoch);
    for (int64_t s = 0; s < steps; s++) {
        gather_batch(ds, s, inputs);
        if (!step(ctx, epoch == o->epochs && s == steps - 1)) {
            if (progress) fputs("\n", stderr);
            return false;
        }
        for (int i = 0; i < ir_graph_n_results(g); i++)
            if (is_scalar_result(g, i)) sums[i] += ir_tensor_get(&outputs[i], 0);
        /* At most ten redraws a second: a terminal is slower than a small step. */
        if (progress && (rt_now_seconds() - drawn > 0.1 || s == steps - 1)) {
            draw_progress(g, epoch, o->epochs, s + 1, steps, sums);
            drawn = rt_now_seconds();
        }
    }
    if (progress) fputs("\r\033[K", stderr);
    return true;
}

bool cli_run_epochs(const cli_options *o, const ir_graph *g, cli_dataset *ds, ir_tensor *inputs,
                    const ir_tensor *outputs, cli_step_fn step, void *ctx) {
    int n_results = ir_graph_n_results(g);
    int64_t steps = ds->n_rows / ds->batch;
    double *sums = calloc((size_t)n_results + 1, sizeof *sums);
    if (!sums) return false;
    bool ok = true;
    for (int e = 1; ok && e <= o->epochs; e++) {
        for (int i = 0; i < n_results; i++) sums[i] = 0;
        double t0 = rt_now_seconds();
        ok = run_epoch(o, g, ds, inputs, outputs, step, ctx, e, sums);
        if (!ok) break;
        for (int i = 0; i < n_results; i++) sums[i] /= (double)steps;
        printf("epoch %d/%d:", e, o->epochs);
        print_scalars(stdout, g, sums);
        printf(" (%lld step%s, %.2f s)\n", (long long)steps, steps == 1 ? "" : "s", rt_now_seconds() - t0);
        fflush(stdout);
    }
    free(sums);
    return ok;
}
