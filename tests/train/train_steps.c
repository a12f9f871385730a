/* train_steps.c — a generic driver that trains any library `tfc compile` writes, for the tests:
 * built with -DPREFIX=name -include name.h, it finds the graph by name in the library's argument
 * table, reads each input NAME from DIR/NAME.bin (raw, exactly its bytes), runs the graph STEPS
 * times on them through PREFIX_run, prints `step S: NAME VALUE` (nine digits: every f32 apart)
 * for each f32 scalar output after each step, then saves the weights to OUT.safetensors.
 * Usage: train_steps GRAPH DIR STEPS OUT.safetensors [THREADS]. Every failure is a message and
 * exit status 1 (2: a bad command line). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bin_file.h"
#include "library_api.h"

/* The buffers of graph g's arguments: inputs read from DIR, outputs zeroed. */
static int make_args(const graph_info_t *g, const char *dir, void **args) {
    for (int j = 0; j < g->n_inputs + g->n_outputs; j++) {
        const arg_info_t *a = &g->args[j];
        char name[512];
        snprintf(name, sizeof name, "%s.bin", a->name);
        args[j] = calloc(1, a->bytes ? a->bytes : 1);
        if (!args[j]) return 1;
        if (!a->is_output && bin_file("train_steps", dir, name, args[j], a->bytes, 0)) return 1;
    }
    return 0;
}

static void print_scalars(const graph_info_t *g, void *const *args, int step) {
    printf("step %d:", step);
    for (int j = g->n_inputs; j < g->n_inputs + g->n_outputs; j++)
        if (g->args[j].rank == 0 && g->args[j].dtype == 0 /* f32 */)
            printf(" %s %.9g", g->args[j].name, *(const float *)args[j]);
    putchar('\n');
}

static int train(model_t *m, int gi, const char *dir, int steps) {
    const graph_info_t *g = API(_graph)(gi);
    int n = g->n_inputs + g->n_outputs;
    void **args = calloc((size_t)n, sizeof *args);
    int rc = !args || make_args(g, dir, args);
    for (int s = 1; rc == 0 && s <= steps; s++) {
        if (API(_run)(m, gi, args) != 0) {
            fprintf(stderr, "train_steps: step %d of graph %s: %s\n", s, g->name, API(_error)(m));
            rc = 1;
        } else {
            print_scalars(g, args, s);
        }
    }
    for (int j = 0; args && j < n; j++) free(args[j]);
    free(args);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: train_steps GRAPH DIR STEPS OUT.safetensors [THREADS]\n");
        return 2;
    }
    int steps = atoi(argv[3]);
    if (steps < 1) {
        fprintf(stderr, "train_steps: STEPS must be a positive integer, not '%s'\n", argv[3]);
        return 2;
    }
    int gi = find_graph(argv[1]);
    if (gi < 0) {
        fprintf(stderr, "train_steps: the library has no graph %s\n", argv[1]);
        return 1;
    }
    options_t options;
    memset(&options, 0, sizeof options);
    options.num_threads = argc == 6 ? atoi(argv[5]) : 0;
    model_t *m = API(_create)(&options);
    if (!m) {
        fprintf(stderr, "train_steps: create: %s\n", API(_create_error)());
        return 1;
    }
    int rc = train(m, gi, argv[2], steps);
    if (rc == 0 && API(_save_weights)(m, argv[4]) != 0) {
        fprintf(stderr, "train_steps: save_weights: %s\n", API(_error)(m));
        rc = 1;
    }
    API(_destroy)(m);
    return rc;
}
