/* harness.c — a generic driver of any library that `tfc compile` writes, for the tests: built with
 * -DPREFIX=name -include name.h, it walks the library's argument table (PREFIX_graph), so one
 * source serves every model. `harness --list` prints the table; `harness GRAPH DIR [--threads N]
 * [--repeat K]` reads each input NAME from DIR/NAME.bin (raw, exactly its bytes),
 * runs the graph through PREFIX_run K times (each run must give the same bytes) and writes each
 * output to DIR/NAME.out.bin. Every failure is a message and exit status 1 (2: a bad command line). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "library_api.h"

static const char *dtype_name(int dtype) {
    static const char *const names[] = {"f32", "f16", "bf16", "i32", "i64", "bool"};
    return dtype >= 0 && dtype < 6 ? names[dtype] : "?";
}

static int list_graphs(void) {
    for (int i = 0; API(_graph)(i); i++) {
        const graph_info_t *g = API(_graph)(i);
        printf("graph %s %d %d\n", g->name, g->n_inputs, g->n_outputs);
        for (int j = 0; j < g->n_inputs + g->n_outputs; j++) {
            const arg_info_t *a = &g->args[j];
            printf("arg %s %s %s ", a->name, a->is_output ? "out" : "in", dtype_name((int)a->dtype));
            if (a->rank == 0) printf("scalar");
            for (int k = 0; k < a->rank; k++) printf("%s%lld", k ? "x" : "", (long long)a->dims[k]);
            printf(" %zu\n", a->bytes);
        }
    }
    return 0;
}

static int read_input(const char *dir, const arg_info_t *a, void *buf) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", dir, a->name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "harness: cannot open %s\n", path);
        return 1;
    }
    size_t got = fread(buf, 1, a->bytes, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != a->bytes || extra) {
        fprintf(stderr, "harness: %s: expected exactly %zu bytes for input %s\n", path, a->bytes, a->name);
        return 1;
    }
    return 0;
}

static int write_output(const char *dir, const arg_info_t *a, const void *buf) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.out.bin", dir, a->name);
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(buf, 1, a->bytes, f) != a->bytes;
    if (f && fclose(f) != 0) bad = 1;
    if (bad) fprintf(stderr, "harness: cannot write %s\n", path);
    return bad;
}

/* Runs graph gi `repeat` times; outputs start as garbage, and every run must write the same bytes. */
static int run_graph(model_t *m, int gi, const char *dir, int repeat) {
    const graph_info_t *g = API(_graph)(gi);
    int n = g->n_inputs + g->n_outputs, rc = 0;
    void **args = calloc((size_t)n, sizeof *args);
    void **first = calloc((size_t)n, sizeof *first);
    for (int j = 0; rc == 0 && j < n; j++) {
        const arg_info_t *a = &g->args[j];
        args[j] = malloc(a->bytes ? a->bytes : 1);
        first[j] = malloc(a->bytes ? a->bytes : 1);
        if (!args[j] || !first[j])
            rc = 1;
        else if (a->is_output)
            memset(args[j], 0xA5, a->bytes);
        else
            rc = read_input(dir, a, args[j]);
    }
    for (int r = 0; rc == 0 && r < repeat; r++) {
        if (API(_run)(m, gi, args) != 0) {
            fprintf(stderr, "harness: running graph %s: %s\n", g->name, API(_error)(m));
            rc = 1;
        }
        for (int j = g->n_inputs; rc == 0 && j < n; j++) {
            if (r == 0)
                memcpy(first[j], args[j], g->args[j].bytes);
            else if (memcmp(first[j], args[j], g->args[j].bytes) != 0) {
                fprintf(stderr, "harness: run %d wrote other bytes to %s than run 1\n", r + 1, g->args[j].name);
                rc = 1;
            }
        }
    }
    for (int j = g->n_inputs; rc == 0 && j < n; j++) rc = write_output(dir, &g->args[j], args[j]);
    for (int j = 0; j < n; j++) {
        free(args[j]);
        free(first[j]);
    }
    free(args);
    free(first);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--list") == 0) return list_graphs();
    if (argc < 3) {
        fprintf(stderr, "usage: harness --list | harness GRAPH DIR [--threads N] [--repeat K]\n");
        return 2;
    }
    options_t options;
    memset(&options, 0, sizeof options);
    int repeat = 1;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0)
            options.num_threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--repeat") == 0)
            repeat = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "harness: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (argc % 2 == 0) {
        fprintf(stderr, "harness: option %s needs a value\n", argv[argc - 1]);
        return 2;
    }
    int gi = find_graph(argv[1]);
    if (gi < 0) {
        fprintf(stderr, "harness: the library has no graph %s\n", argv[1]);
        return 1;
    }
    model_t *m = API(_create)(&options);
    if (!m) {
        fprintf(stderr, "harness: create: %s\n", API(_create_error)());
        return 1;
    }
    int rc = run_graph(m, gi, argv[2], repeat < 1 ? 1 : repeat);
    API(_destroy)(m);
    return rc;
}
