/* tfc_worker.c — the benchmark suite's worker for tfc (bench/README.md, "The worker protocol"):
 * times one graph of one generated library through PREFIX_run and its argument table, so one
 * source serves every model. Built per library with -DPREFIX=name -include name.h and the
 * library's pkg-config flags. Usage:
 *   tfc_worker --list               the graph table, one line per argument: NAME in|out DTYPE DIMS
 *   tfc_worker GRAPH THREADS        serve the protocol on stdin/stdout for graph GRAPH
 * Inputs come from the data file's tensors "input.NAME" (safetensors); the parameters are the
 * ones compiled into the library, and each `load` creates a fresh model object, so a training
 * graph starts from the same weights every time. */
#ifndef _POSIX_C_SOURCE   /* also given on the command line: -include reads the header first */
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/aot/library_api.h"

static const char *const dtype_names[] = {"F32", "F16", "BF16", "I32", "I64", "BOOL"};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The string value of "key" in one protocol line (no escapes: the runner writes plain paths). */
static int json_str(const char *line, const char *key, char *out, size_t cap) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(line, pat);
    if (!p) return 0;
    p = strchr(p + strlen(pat), ':');
    if (!p) return 0;
    p = strchr(p, '"');
    if (!p) return 0;
    const char *e = strchr(++p, '"');
    if (!e || (size_t)(e - p) >= cap) return 0;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = 0;
    return 1;
}

static long json_int(const char *line, const char *key, long fallback) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(line, pat);
    if (!p || !(p = strchr(p + strlen(pat), ':'))) return fallback;
    return strtol(p + 1, NULL, 10);
}

/* A failure answer; the message may come from the library, so quotes and controls are escaped. */
static void fail(const char *why) {
    printf("{\"ok\": false, \"why\": \"");
    for (const char *c = why; *c; c++)
        if (*c == '"' || *c == '\\')
            printf("\\%c", *c);
        else
            putchar((unsigned char)*c < 32 ? ' ' : *c);
    printf("\"}\n");
    fflush(stdout);
}

typedef struct state {
    model_t *m;
    int graph, threads;
    void **args;
} state;

static void unload(state *s) {
    const graph_info_t *g = API(_graph)(s->graph);
    if (s->args)
        for (int j = 0; j < g->n_inputs + g->n_outputs; j++) free(s->args[j]);
    free(s->args);
    s->args = NULL;
    API(_destroy)(s->m);
    s->m = NULL;
}

/* Reads each input's bytes from the safetensors file `path` (key "input.NAME"); checks dtype and
 * size against the argument table. Returns NULL or why not. */
static const char *read_inputs(state *s, const char *path) {
    static char why[512];
    const graph_info_t *g = API(_graph)(s->graph);
    FILE *f = fopen(path, "rb");
    if (!f) return "cannot open the data file";
    uint64_t hlen = 0;
    unsigned char b8[8];
    if (fread(b8, 1, 8, f) != 8) {
        fclose(f);
        return "data file too short";
    }
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | b8[i];
    char *header = malloc(hlen + 1);
    if (!header || fread(header, 1, hlen, f) != hlen) {
        free(header);
        fclose(f);
        return "data file header unreadable";
    }
    header[hlen] = 0;
    const char *err = NULL;
    for (int j = 0; j < g->n_inputs && !err; j++) {
        const arg_info_t *a = &g->args[j];
        char key[300];
        snprintf(key, sizeof key, "\"input.%s\"", a->name);
        const char *p = strstr(header, key), *d = p ? strstr(p, "\"dtype\"") : NULL,
                   *o = p ? strstr(p, "\"data_offsets\"") : NULL, *close = p ? strchr(p, '}') : NULL;
        char dtype[16] = "";
        unsigned long long lo = 0, hi = 0;
        if (!p || !d || !o || d > close || o > close || !json_str(d, "dtype", dtype, sizeof dtype) ||
            sscanf(strchr(o, '[') + 1, "%llu , %llu", &lo, &hi) != 2) {
            snprintf(why, sizeof why, "data file has no tensor input.%s", a->name);
            err = why;
        } else if (strcmp(dtype, dtype_names[a->dtype]) != 0 || hi - lo != a->bytes) {
            snprintf(why, sizeof why, "input.%s: %s of %llu bytes, the library wants %s of %zu", a->name, dtype, hi - lo,
                     dtype_names[a->dtype], a->bytes);
            err = why;
        } else if (fseek(f, (long)(8 + hlen + lo), SEEK_SET) != 0 || fread(s->args[j], 1, a->bytes, f) != a->bytes) {
            err = "data file truncated";
        }
    }
    free(header);
    fclose(f);
    return err;
}

/* Replaces s->m by a fresh model object (the compiled-in weights) on s->threads threads. */
static const char *fresh_model(state *s) {
    options_t options;
    memset(&options, 0, sizeof options);
    options.num_threads = s->threads;
    API(_destroy)(s->m);
    return (s->m = API(_create)(&options)) ? NULL : API(_create_error)();
}

static const char *load(state *s, const char *path) {
    unload(s);
    const char *err = fresh_model(s);
    if (err) return err;
    const graph_info_t *g = API(_graph)(s->graph);
    int n = g->n_inputs + g->n_outputs;
    s->args = calloc((size_t)n, sizeof *s->args);
    for (int j = 0; s->args && j < n; j++)
        if (!(s->args[j] = calloc(1, g->args[j].bytes ? g->args[j].bytes : 1))) return "out of memory";
    if (!s->args) return "out of memory";
    if ((err = read_inputs(s, path))) return err;
    if (API(_run)(s->m, s->graph, s->args) != 0) return API(_error)(s->m);   /* the warm-up */
    return NULL;
}

/* The outputs of one call from a fresh model, as a safetensors file under the outputs' names:
 * a training graph's warm-up and timed calls have moved its weights, and the peers report their
 * first step from the loaded weights too. */
static const char *write_outputs(state *s, const char *path) {
    const graph_info_t *g = API(_graph)(s->graph);
    const char *err = fresh_model(s);
    if (err) return err;
    if (API(_run)(s->m, s->graph, s->args) != 0) return API(_error)(s->m);
    char header[8192];
    size_t len = 0, offset = 0;
    len += (size_t)snprintf(header + len, sizeof header - len, "{");
    for (int j = g->n_inputs; j < g->n_inputs + g->n_outputs; j++) {
        const arg_info_t *a = &g->args[j];
        len += (size_t)snprintf(header + len, sizeof header - len, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                                j > g->n_inputs ? "," : "", a->name, dtype_names[a->dtype]);
        for (int k = 0; k < a->rank; k++)
            len += (size_t)snprintf(header + len, sizeof header - len, "%s%lld", k ? "," : "", (long long)a->dims[k]);
        len += (size_t)snprintf(header + len, sizeof header - len, "],\"data_offsets\":[%zu,%zu]}", offset,
                                offset + a->bytes);
        offset += a->bytes;
        if (len >= sizeof header - 1) return "too many outputs for the header";
    }
    len += (size_t)snprintf(header + len, sizeof header - len, "}");
    while (len % 8) header[len++] = ' ';   /* safetensors pads the header to 8 bytes with spaces */
    FILE *f = fopen(path, "wb");
    if (!f) return "cannot write the output file";
    unsigned char b8[8];
    for (int i = 0; i < 8; i++) b8[i] = (unsigned char)((uint64_t)len >> (8 * i));
    int bad = fwrite(b8, 1, 8, f) != 8 || fwrite(header, 1, len, f) != len;
    for (int j = g->n_inputs; !bad && j < g->n_inputs + g->n_outputs; j++)
        bad = fwrite(s->args[j], 1, g->args[j].bytes, f) != g->args[j].bytes;
    if (fclose(f) != 0) bad = 1;
    return bad ? "cannot write the output file" : NULL;
}

static int list_graphs(void) {
    for (int i = 0; API(_graph)(i); i++) {
        const graph_info_t *g = API(_graph)(i);
        for (int j = 0; j < g->n_inputs + g->n_outputs; j++) {
            const arg_info_t *a = &g->args[j];
            printf("%s %s %s %s ", g->name, a->name, a->is_output ? "out" : "in", dtype_names[a->dtype]);
            if (a->rank == 0) printf("scalar");
            for (int k = 0; k < a->rank; k++) printf("%s%lld", k ? "x" : "", (long long)a->dims[k]);
            printf("\n");
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--list") == 0) return list_graphs();
    if (argc != 3) {
        fprintf(stderr, "usage: tfc_worker --list | tfc_worker GRAPH THREADS\n");
        return 2;
    }
    state s = {NULL, find_graph(argv[1]), atoi(argv[2]), NULL};
    if (s.graph < 0) {
        fprintf(stderr, "tfc_worker: the library has no graph %s\n", argv[1]);
        return 1;
    }
    char line[8192], cmd[32], path[4096];
    while (fgets(line, sizeof line, stdin)) {
        if (!json_str(line, "cmd", cmd, sizeof cmd)) {
            fail("no cmd");
        } else if (strcmp(cmd, "quit") == 0) {
            break;
        } else if (strcmp(cmd, "load") == 0) {
            double t0 = now();
            const char *err = json_str(line, "data", path, sizeof path) ? load(&s, path) : "load needs data";
            if (err)
                fail(err);
            else
                printf("{\"ok\": true, \"seconds\": %.6f}\n", now() - t0);
        } else if (!s.m) {
            fail("nothing loaded");
        } else if (strcmp(cmd, "time") == 0) {
            long runs = json_int(line, "runs", 1);
            double *t = calloc((size_t)(runs > 0 ? runs : 1), sizeof *t);
            const char *err = NULL;
            for (long r = 0; r < runs && !err; r++) {
                double t0 = now();
                if (API(_run)(s.m, s.graph, s.args) != 0) err = API(_error)(s.m);
                t[r] = now() - t0;
            }
            if (err)
                fail(err);
            else {
                printf("{\"ok\": true, \"times\": [");
                for (long r = 0; r < runs; r++) printf("%s%.9f", r ? ", " : "", t[r]);
                printf("]}\n");
            }
            free(t);
        } else if (strcmp(cmd, "output") == 0) {
            const char *err = json_str(line, "path", path, sizeof path) ? write_outputs(&s, path) : "output needs path";
            if (err)
                fail(err);
            else
                printf("{\"ok\": true}\n");
        } else {
            fail("unknown cmd");
        }
        fflush(stdout);
    }
    unload(&s);
    return 0;
}
