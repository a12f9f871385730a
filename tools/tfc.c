/* tfc.c — the `tfc` command: verb dispatch, --help and --version, and the small verbs (check,
 * dump, opt). `run` lives in cmd_run.c, `compile` in cmd_compile.c. Exit status: 0 ok, 1 user
 * error, 2 internal error. */
#include "tools/cli.h"

#include <string.h>

int cli_check(const cli_options *o) {
    cli_model m;
    int rc = cli_load_model(o, &m);
    cli_model_free(&m);
    return rc;
}

/* A module that shares g with m but holds only that graph, for printing one graph of several. */
static ir_module only_graph(const ir_module *m, ir_graph **g) {
    ir_module view = *m;
    view.n_graphs = view.cap_graphs = 1;
    view.graphs = g;
    return view;
}

/* Stages past the Graph IR: they print generated code, always in text. */
static bool is_code_stage(const char *stage) {
    return strcmp(stage, "kernel") == 0 || strcmp(stage, "llvm") == 0 || strcmp(stage, "asm") == 0;
}

/* The stages `dump` knows, in pipeline order; "graph" runs no pass. */
static bool known_stage(const char *stage) {
    return strcmp(stage, "graph") == 0 || strcmp(stage, "opt") == 0 || strcmp(stage, "fused") == 0 ||
           strcmp(stage, "plan") == 0 || is_code_stage(stage);
}

/* Prints the module as text (only --graph's graph when given, with every parameter, so that the
 * output parses back), or one graph as Graphviz, JSON or SVG. */
static int print_ir(const cli_options *o, cli_model *m, const char *format) {
    bool text = strcmp(format, "text") == 0;
    ir_graph *g = (o->graph || !text) ? cli_pick_graph(o, m) : NULL;
    if ((o->graph || !text) && !g) return CLI_USER_ERROR;
    if (strcmp(format, "dot") == 0) {
        ir_print_dot(stdout, g, &m->diag);
    } else if (strcmp(format, "json") == 0) {
        ir_print_json(stdout, g, &m->diag);
    } else if (strcmp(format, "svg") == 0) {
        if (!ir_render_svg(stdout, g, &m->diag)) return CLI_USER_ERROR;
    } else if (g) {
        ir_module view = only_graph(m->module, &g);
        ir_print_module(stdout, &view, &m->diag);
    } else {
        ir_print_module(stdout, m->module, &m->diag);
    }
    return CLI_OK;
}

int cli_dump(const cli_options *o) {
    const char *stage = o->stage ? o->stage : "plan";
    const char *format = o->format ? o->format : "text";
    if (!known_stage(stage)) {
        fprintf(stderr, "tfc: error: unknown stage '%s' (available: graph, opt, fused, plan, kernel, llvm, asm)\n",
                stage);
        return CLI_USER_ERROR;
    }
    if (strcmp(format, "text") != 0 && strcmp(format, "dot") != 0 && strcmp(format, "json") != 0 &&
        strcmp(format, "svg") != 0) {
        fprintf(stderr, "tfc: error: unknown format '%s' (expected text, dot, json or svg)\n", format);
        return CLI_USER_ERROR;
    }
    if (is_code_stage(stage) && strcmp(format, "text") != 0) {
        fprintf(stderr, "tfc: error: --stage %s prints text only (--format %s is for Graph IR stages)\n", stage, format);
        return CLI_USER_ERROR;
    }
    cli_model m;
    int rc = cli_load_model(o, &m);
    bool run_passes = strcmp(stage, "graph") != 0 || o->passes;
    bool code = is_code_stage(stage);
    if (rc == CLI_OK && run_passes) rc = cli_optimize(o, &m, code ? NULL : stage, 3);
    if (rc == CLI_OK && code) rc = cli_prepare_codegen(o, &m);
    if (rc == CLI_OK) rc = code ? cli_dump_code(o, &m, stage) : print_ir(o, &m, format);
    cli_model_free(&m);
    return rc;
}

int cli_opt(const cli_options *o) {
    cli_model m;
    int rc = cli_load_model(o, &m);
    if (rc == CLI_OK) rc = cli_optimize(o, &m, NULL, 0);
    if (rc == CLI_OK) rc = print_ir(o, &m, "text");
    cli_model_free(&m);
    return rc;
}

static const struct {
    const char *name;
    int (*run)(const cli_options *o);
} verbs[] = {{"check", cli_check}, {"dump", cli_dump}, {"opt", cli_opt}, {"run", cli_run}, {"compile", cli_compile}};
enum { N_VERBS = sizeof verbs / sizeof verbs[0] };

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        cli_print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USER_ERROR : CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tfc %s\n", TFC_VERSION);
        return CLI_OK;
    }
    for (int i = 0; i < N_VERBS; i++) {
        if (strcmp(argv[1], verbs[i].name) != 0) continue;
        cli_options o;
        memset(&o, 0, sizeof o);
        o.verb = verbs[i].name;
        o.opt_level = -1;
        if (!cli_parse_args(argc - 2, argv + 2, &o)) return CLI_USER_ERROR;
        if (o.help) {
            cli_print_verb_help(stdout, o.verb);
            return CLI_OK;
        }
        return verbs[i].run(&o);
    }
    const char *names[N_VERBS];
    for (int i = 0; i < N_VERBS; i++) names[i] = verbs[i].name;
    const char *close = ir_closest(argv[1], names, N_VERBS);
    fprintf(stderr, "tfc: error: unknown verb '%s'%s%s%s (tfc --help lists them)\n", argv[1],
            close ? "; did you mean '" : "", close ? close : "", close ? "'?" : "");
    return CLI_USER_ERROR;
}
