/* cli_load.c — turns the MODEL argument into a verified module: a .tg source goes through the
 * frontend, a .tgir file through the IR text parser. Also picks the graph a verb works on. */
#include "tools/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SOURCE_BYTES = 64 << 20 };

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Reads a whole file; reports errors naming it. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "tfc: error: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || n >= MAX_SOURCE_BYTES) break;
        char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    bool failed = !buf || ferror(f);
    fclose(f);
    if (failed || n >= MAX_SOURCE_BYTES) {
        fprintf(stderr, "tfc: error: cannot read '%s': %s\n", path,
                failed ? "read error or out of memory" : "file larger than 64 MiB");
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int cli_failure_status(const ir_diag *d) { return d->bugs ? CLI_INTERNAL_ERROR : CLI_USER_ERROR; }

int cli_load_model(const cli_options *o, cli_model *out) {
    memset(out, 0, sizeof *out);
    ir_diag_init(&out->diag, stderr);
    if (!o->model) {
        fprintf(stderr, "tfc: error: no model file given (tfc %s --help)\n", o->verb);
        return CLI_USER_ERROR;
    }
    size_t len;
    char *text = read_file(o->model, &len);
    if (!text) return CLI_USER_ERROR;
    int file = ir_diag_add_source(&out->diag, o->model, text, len);
    free(text);
    if (ends_with(o->model, ".tgir")) {
        if (o->n_defines) fprintf(stderr, "tfc: warning: -D has no effect on a .tgir file\n");
        out->module = ir_parse_module(&out->diag, file);
    } else {
        fe_options fo = {o->defines, o->n_defines};
        out->module = o->graph ? fe_compile_partial(&out->diag, file, &fo, o->graph) : fe_compile(&out->diag, file, &fo);
    }
    if (!out->module || out->diag.errors) return CLI_USER_ERROR;
    if (!ir_verify_module(out->module, &out->diag)) {
        /* A .tgir file is the user's input (perhaps edited by hand); IR lowered from source that
         * fails the verifier is a bug in the frontend. */
        if (ends_with(o->model, ".tgir")) {
            fprintf(stderr, "tfc: error: %s: the IR is not valid (see the verifier's messages above)\n", o->model);
            return CLI_USER_ERROR;
        }
        fprintf(stderr, "tfc: internal error: the IR of '%s' failed verification (this is a bug in tfc)\n", o->model);
        return CLI_INTERNAL_ERROR;
    }
    return CLI_OK;
}

void cli_model_free(cli_model *m) {
    ir_module_destroy(m->module);
    m->module = NULL;
    ir_diag_free(&m->diag);
}

ir_graph *cli_pick_graph(const cli_options *o, cli_model *m) {
    const ir_module *mod = m->module;
    if (o->graph) {
        ir_graph *g = ir_module_find_graph(mod, o->graph);
        if (g) return g;
        const char *names[256];
        int n = mod->n_graphs < 256 ? mod->n_graphs : 256;
        for (int i = 0; i < n; i++) names[i] = mod->graphs[i]->name;
        const char *close = ir_closest(o->graph, names, n);
        fprintf(stderr, "tfc: error: %s: no graph named '%s'", o->model, o->graph);
        if (close) fprintf(stderr, "; did you mean '%s'?", close);
        fputc('\n', stderr);
        return NULL;
    }
    if (mod->n_graphs == 1) return mod->graphs[0];
    if (mod->n_graphs == 0) {
        fprintf(stderr, "tfc: error: %s: the module has no graph\n", o->model);
        return NULL;
    }
    fprintf(stderr, "tfc: error: %s: the module has %d graphs (", o->model, mod->n_graphs);
    for (int i = 0; i < mod->n_graphs; i++) fprintf(stderr, "%s%s", i ? ", " : "", mod->graphs[i]->name);
    fputs("); choose one with --graph\n", stderr);
    return NULL;
}
