/* cmd_compile.c — `tfc compile`: a model becomes a C library (docs/c-api.md). The passes run as
 * for `tfc run`, the parameters get their values (initializers with --seed, or --weights), then
 * codegen/aot writes PREFIX.h, libPREFIX.a (and .so) and PREFIX.pc, and one line sums it up. */
#include "codegen/aot/aot.h"
#include "runtime/program.h"
#include "tools/cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SUGGESTED_GRAPHS = 64 };

static bool check_target(const cli_options *o) {
    if (!o->target || strcmp(o->target, "cpu") == 0) return true;
    bool known = strcmp(o->target, "cuda") == 0;
    fprintf(stderr, "tfc: error: --target %s is %s (available: cpu)\n", o->target,
            known ? "not available yet" : "unknown");
    return false;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The name after `graph` when a line starts with that keyword (its length; 0 if none). */
static size_t graph_name_on_line(const char *p, const char **name) {
    while (*p == ' ' || *p == '\t') p++;
    if (strncmp(p, "graph", 5) != 0 || (p[5] != ' ' && p[5] != '\t')) return 0;
    p += 5;
    while (*p == ' ' || *p == '\t') p++;
    size_t len = 0;
    while (len < 63 && (isalnum((unsigned char)p[len]) || p[len] == '_')) len++;
    *name = p;
    return len;
}

/* The graph names of a .tg source: candidates only, each is checked by compiling it (a line in
 * a comment that looks like a graph just fails). */
static int scan_graph_names(const char *text, char names[][64], int max) {
    int n = 0;
    for (const char *line = text; line && n < max;) {
        const char *name;
        size_t len = graph_name_on_line(line, &name);
        if (len > 0) {
            memcpy(names[n], name, len);
            names[n++][len] = '\0';
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
    return n;
}

/* Whether graph `name` of the source compiles alone (its errors go nowhere). */
static bool compiles_alone(const cli_options *o, const ir_source *src, const char *name, FILE *quiet) {
    ir_diag d;
    ir_diag_init(&d, quiet);
    int file = ir_diag_add_source(&d, src->name, src->text, src->len);
    fe_options fo = {o->defines, o->n_defines};
    ir_module *m = fe_compile_partial(&d, file, &fo, name);
    bool ok = m && d.errors == 0;
    ir_module_destroy(m);
    ir_diag_free(&d);
    return ok;
}

/* A library holds every graph of the module, so one graph that cannot be compiled yet (a
 * `minimize`, say) fails the whole module. When other graphs compile alone, say so with the
 * command that builds a library of one of them. A module-wide error (syntax, a parameter)
 * fails every graph alone too, and then nothing is suggested. */
static void suggest_graphs(const cli_options *o, const cli_model *m) {
    if (o->graph || !o->model || m->diag.n_sources == 0 || m->diag.bugs || ends_with(o->model, ".tgir")) return;
    char(*names)[64] = malloc(sizeof *names * MAX_SUGGESTED_GRAPHS);
    bool alone[MAX_SUGGESTED_GRAPHS];
    FILE *quiet = fopen("/dev/null", "w");
    int n = names && quiet ? scan_graph_names(m->diag.sources[0].text, names, MAX_SUGGESTED_GRAPHS) : 0;
    int n_alone = 0, first = -1;
    for (int i = 0; i < n; i++) {
        alone[i] = compiles_alone(o, &m->diag.sources[0], names[i], quiet);
        if (alone[i] && n_alone++ == 0) first = i;
    }
    if (n_alone > 0 && n_alone < n) {
        fprintf(stderr, "tfc: note: a library holds every graph of the module; graph%s", n_alone == 1 ? "" : "s");
        for (int i = 0, k = 0; i < n; i++)
            if (alone[i]) fprintf(stderr, "%s '%s'", k++ ? "," : "", names[i]);
        fprintf(stderr, " compile%s alone (tfc compile %s --graph %s)\n", n_alone == 1 ? "s" : "", o->model,
                names[first]);
    }
    if (quiet) fclose(quiet);
    free(names);
}

/* With --graph, only that graph goes into the library. The frontend lowers only that graph of a
 * .tg source, but a .tgir file keeps all of its graphs: the others are dropped here (they live
 * in the module's arena, which frees them with the rest). */
static bool keep_picked_graph(const cli_options *o, cli_model *m) {
    if (!o->graph) {
        if (m->module->n_graphs > 0) return true;
        fprintf(stderr, "tfc: error: %s: the module has no graph; there is nothing to compile\n", o->model);
        return false;
    }
    ir_graph *g = cli_pick_graph(o, m);
    if (!g) return false;
    m->module->graphs[0] = g;
    m->module->n_graphs = 1;
    return true;
}

static void free_params(ir_tensor *params, int n) {
    for (int i = 0; params && i < n; i++) ir_tensor_free(&params[i]);
    free(params);
}

static unsigned long long kib(size_t bytes) { return ((unsigned long long)bytes + 1023) / 1024; }

/* `tfc: wrote DIR/P.h, DIR/libP.a (N KiB)[, DIR/libP.so (N KiB)], DIR/P.pc: G graphs, P
 * parameters (W KiB), compiled in T ms` on stdout. */
static void print_summary(const aot_options *ao, const aot_stats *st, const ir_module *m, double seconds) {
    size_t dir_len = strlen(ao->out_dir);
    while (dir_len > 1 && ao->out_dir[dir_len - 1] == '/') dir_len--;
    int dl = (int)dir_len;
    const char *dir = ao->out_dir, *p = ao->prefix;
    printf("tfc: wrote %.*s/%s.h, %.*s/lib%s.a (%llu KiB)", dl, dir, p, dl, dir, p, kib(st->archive_bytes));
    if (ao->shared) printf(", %.*s/lib%s.so (%llu KiB)", dl, dir, p, kib(st->shared_bytes));
    int n_weights = 0; /* optimizer state is not compiled in: it starts at zero */
    for (int i = 0; i < m->n_params; i++) n_weights += !m->params[i].state;
    printf(", %.*s/%s.pc: %d graph%s, %d parameter%s (%llu KiB), compiled in %.0f ms\n", dl, dir, p, m->n_graphs,
           m->n_graphs == 1 ? "" : "s", n_weights, n_weights == 1 ? "" : "s", kib(st->weights_bytes), seconds * 1e3);
}

/* The parameters' values, then the library's files. */
static int write_library(const cli_options *o, cli_model *m, const char *prefix, double t0) {
    const ir_module *mod = m->module;
    ir_tensor *params = calloc((size_t)mod->n_params + 1, sizeof *params);
    if (!params) {
        fprintf(stderr, "tfc: error: out of memory\n");
        return CLI_USER_ERROR;
    }
    int rc = CLI_OK;
    if (!cli_init_params(o, mod, params, &m->diag)) rc = cli_failure_status(&m->diag);
    aot_options ao = {.prefix = prefix,
                      .out_dir = o->out_dir ? o->out_dir : ".",
                      .source = o->model,
                      .shared = o->shared,
                      .cpu = cli_cpu_options(o)};
    aot_stats stats;
    if (rc == CLI_OK && !aot_compile_library(mod, params, &ao, &stats, &m->diag)) rc = cli_failure_status(&m->diag);
    if (rc == CLI_OK) print_summary(&ao, &stats, mod, rt_now_seconds() - t0);
    free_params(params, mod->n_params);
    return rc;
}

int cli_compile(const cli_options *o) {
    double t0 = rt_now_seconds();
    if (!check_target(o)) return CLI_USER_ERROR;
    cli_model m;
    int rc = cli_load_model(o, &m);
    if (rc != CLI_OK) suggest_graphs(o, &m);
    if (rc == CLI_OK && !keep_picked_graph(o, &m)) rc = CLI_USER_ERROR;
    char default_prefix[256];
    const char *prefix = o->name;
    if (rc == CLI_OK && !prefix) prefix = aot_default_prefix(o->model, default_prefix, sizeof default_prefix);
    /* Names first: a clash is found in milliseconds, before the passes and LLVM run. */
    if (rc == CLI_OK && !aot_check_names(m.module, prefix, &m.diag)) rc = cli_failure_status(&m.diag);
    if (rc == CLI_OK) rc = cli_optimize(o, &m, NULL, 3);
    if (rc == CLI_OK) rc = cli_prepare_codegen(o, &m);
    if (rc == CLI_OK) rc = write_library(o, &m, prefix, t0);
    cli_model_free(&m);
    return rc;
}
