/* test_aot_header.c — the generated header (codegen/aot/header.c) and pkg-config file
 * (pkgconfig.c) of every example (mlp.tg with its training graph), of a module with awkward names
 * (C and C++ keywords, `m`, every dtype, a scalar) and of a training graph with Adam's state.
 * Each header must compile warning-free as C99 and C++11 under gcc and clang, included unused
 * and used; a program that reads its argument table must print exactly what the module declares;
 * pkg-config must accept the .pc file.
 * Usage: test_aot_header [EXAMPLES_DIR]; it writes into ./aot_header/. */
#define _POSIX_C_SOURCE 200809L
#include "codegen/aot/aot.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/unit/check.h"

#ifndef TFC_EXAMPLES_DIR
#define TFC_EXAMPLES_DIR "examples"
#endif

static const char *const out_dir = "aot_header";

/* Argument names that a prototype cannot take as they are, and every dtype. */
static const char odd_source[] = "param w : f32[4] = zeros()\n"
                                 "graph step(m : f32[4], int : i32[4], m_ : i64[2, 3], class : bool[4])\n"
                                 "    -> (y : f32[4], s : f32[], n : i64[2, 3], k : i32[4], c : bool[4]) {\n"
                                 "  y = m * w\n  s = sum(m)\n  n = m_ + 1\n  k = int * 2\n  c = class\n}\n"
                                 "graph Other(x : f16[2], errno : bf16[2]) -> (new : f16[2], this : bf16[2]) {\n"
                                 "  new = x\n  this = errno\n}\n";

/* A training graph: after the optimizer pass its outputs end with updates of w and of Adam's
   state (named "fit.w.exp_avg", "fit.step": not C identifiers), which the header leaves out. */
static const char train_source[] = "param w : f32[4] = ones()\n"
                                   "graph fit(x : f32[4], y : f32[4]) -> (loss) {\n"
                                   "  loss = mean((x * w - y) * (x * w - y))\n"
                                   "  minimize loss with adam(lr=0.1)\n}\n";

static const char *const c_types[IR_DTYPE_COUNT] = {"float", "uint16_t", "uint16_t", "int32_t", "int64_t", "uint8_t"};

/* ---- small helpers -------------------------------------------------------------------------- */

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf && (n += fread(buf + n, 1, cap - n, f)) == cap) {
        char *grown = realloc(buf, 2 * cap + 1);
        if (!grown) free(buf);
        buf = grown;
        cap *= 2;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

static bool write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return false;
    fputs(text, f);
    return fclose(f) == 0;
}

/* A growing string. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

__attribute__((format(printf, 2, 3))) static void add(text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = 2 * (t->len + (size_t)n + 1);
        t->s = realloc(t->s, t->cap);
        if (!t->s) abort();
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void add_upper(text *t, const char *s) {
    for (; *s; s++) add(t, "%c", toupper((unsigned char)*s));
}

static bool have(const char *tool) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* Runs a shell command; on failure prints it with its output. */
static bool run(const char *what, const char *cmd) {
    char full[8192], log[256];
    snprintf(log, sizeof log, "%s/last.log", out_dir);
    snprintf(full, sizeof full, "(%s) >%s 2>&1", cmd, log);
    if (system(full) == 0) return true;
    char *output = read_text(log);
    fprintf(stderr, "%s failed: %s\n%s\n", what, cmd, output ? output : "");
    free(output);
    return false;
}

/* Argument i of a graph's function: its inputs, then its results (a training graph's parameter
   updates are not arguments). */
static const ir_type *arg_type(const ir_graph *g, int i) {
    return i < g->n_inputs ? &g->input_types[i] : &g->nodes[g->output_nodes[i - g->n_inputs]]->type;
}

static const char *arg_name(const ir_graph *g, int i) {
    return i < g->n_inputs ? g->input_names[i] : g->output_names[i - g->n_inputs];
}

/* ---- the programs that include the header --------------------------------------------------- */

/* Calls every function of the API with buffers sized by the macros (compiled, not linked). */
static void program_calling_api(text *t, const ir_module *m, const char *p) {
    add(t, "#include \"%s.h\"\n#include \"%s.h\"\n\nint use_api(void);\nint use_api(void) {\n", p, p);
    add(t, "    %s_options options;\n    options.num_threads = 2;\n    %s_model *m = %s_create(&options);\n", p, p, p);
    add(t, "    if (!m) return %s_create_error()[0];\n    int rc = 0;\n", p);
    for (int g = 0; g < m->n_graphs; g++) {
        const ir_graph *gr = m->graphs[g];
        for (int i = 0; i < gr->n_inputs + ir_graph_n_results(gr); i++) {
            add(t, "    static %s g%d_a%d[", c_types[arg_type(gr, i)->dtype], g, i);
            add_upper(t, p);
            add(t, "_");
            add_upper(t, gr->name);
            add(t, "_");
            add_upper(t, arg_name(gr, i));
            add(t, "_COUNT];\n");
        }
        add(t, "    rc |= %s_%s(m", p, gr->name);
        for (int i = 0; i < gr->n_inputs + ir_graph_n_results(gr); i++) add(t, ", g%d_a%d", g, i);
        add(t, ");\n    void *g%d_args[] = {", g);
        for (int i = 0; i < gr->n_inputs + ir_graph_n_results(gr); i++) add(t, "%sg%d_a%d", i ? ", " : "", g, i);
        add(t, "};\n    rc |= %s_run(m, ", p);
        add_upper(t, p);
        add(t, "_GRAPH_");
        add_upper(t, gr->name);
        add(t, ", g%d_args);\n", g);
    }
    add(t, "    rc |= %s_save_weights(m, \"w.safetensors\") | %s_load_weights(m, \"w.safetensors\");\n", p, p);
    add(t, "    rc |= %s_error(m)[0];\n    %s_destroy(m);\n    return rc;\n}\n", p, p);
}

/* Prints the argument table through PREFIX_graph and the macros: links without the library. */
static void program_printing_table(text *t, const ir_module *m, const char *p) {
    add(t, "#include \"%s.h\"\n#include <stdio.h>\n\nint main(void) {\n", p);
    add(t, "    for (int g = 0; g < ");
    add_upper(t, p);
    add(t, "_NUM_GRAPHS; g++) {\n        const %s_graph_info *gi = %s_graph(g);\n", p, p);
    add(t,
        "        printf(\"%%s %%d %%d\\n\", gi->name, gi->n_inputs, gi->n_outputs);\n"
        "        for (int a = 0; a < gi->n_inputs + gi->n_outputs; a++) {\n"
        "            const %s_arg_info *ai = &gi->args[a];\n"
        "            printf(\"  %%s %%d %%d [\", ai->name, (int)ai->dtype, ai->rank);\n"
        "            for (int i = 0; i < ai->rank; i++) printf(\" %%lld\", (long long)ai->dims[i]);\n"
        "            printf(\" ] %%lld %%llu %%d\\n\", (long long)ai->count, (unsigned long long)ai->bytes,"
        " ai->is_output);\n        }\n    }\n",
        p);
    for (int g = 0; g < m->n_graphs; g++) {
        const ir_graph *gr = m->graphs[g];
        for (int i = 0; i < gr->n_inputs + ir_graph_n_results(gr); i++) {
            text macro = {0};
            add_upper(&macro, p);
            add(&macro, "_");
            add_upper(&macro, gr->name);
            add(&macro, "_");
            add_upper(&macro, arg_name(gr, i));
            add(t,
                "    {\n        int64_t s[] = %s_SHAPE;\n        printf(\"%%d %%lld %%lld\\n\", %s_RANK, (long "
                "long)%s_COUNT,"
                " (long long)s[0]);\n    }\n",
                macro.s, macro.s, macro.s);
            free(macro.s);
        }
    }
    add(t, "    printf(\"%%s\\n\", !%s_graph(-1) && !%s_graph(", p, p);
    add_upper(t, p);
    add(t, "_NUM_GRAPHS) ? \"end\" : \"no end\");\n    return 0;\n}\n");
}

/* What program_printing_table must print, from the module itself. */
static void expected_table(text *t, const ir_module *m) {
    for (int g = 0; g < m->n_graphs; g++) {
        const ir_graph *gr = m->graphs[g];
        add(t, "%s %d %d\n", gr->name, gr->n_inputs, ir_graph_n_results(gr));
        for (int i = 0; i < gr->n_inputs + ir_graph_n_results(gr); i++) {
            const ir_type *ty = arg_type(gr, i);
            add(t, "  %s %d %d [", arg_name(gr, i), (int)ty->dtype, ty->rank);
            for (int k = 0; k < ty->rank; k++) add(t, " %lld", (long long)ty->dims[k]);
            int64_t n = ir_type_elems(ty);
            add(t, " ] %lld %llu %d\n", (long long)n, (unsigned long long)n * ir_dtype_size(ty->dtype),
                i >= gr->n_inputs);
        }
    }
    for (int g = 0; g < m->n_graphs; g++) {
        const ir_graph *gr = m->graphs[g];
        for (int i = 0; i < gr->n_inputs + ir_graph_n_results(gr); i++) {
            const ir_type *ty = arg_type(gr, i);
            add(t, "%d %lld %lld\n", ty->rank, (long long)ir_type_elems(ty), (long long)(ty->rank ? ty->dims[0] : 0));
        }
    }
    add(t, "end\n");
}

/* ---- one module ------------------------------------------------------------------------------ */

typedef struct compiler {
    const char *tool, *flags, *ext;
} compiler;

/* The flags docs/c-api.md promises, and clang's -Weverything minus the warnings about the test
 * programs' own style (C casts, declarations after statements), C++98, and padding. The odd
 * model's argument `m_` makes macros ODD_STEP_M__RANK..., which C++ reserves (a double
 * underscore): the model's choice of name, not the header's. */
static const compiler compilers[] = {
    {"gcc", "-std=c99 -Wall -Wextra -pedantic -Werror", "c"},
    {"clang", "-std=c99 -Weverything -Wno-padded -Wno-declaration-after-statement -Werror", "c"},
    {"g++", "-std=c++11 -Wall -Wextra -pedantic -Werror", "cpp"},
    {"clang++",
     "-std=c++11 -Weverything -Wno-padded -Wno-c++98-compat -Wno-c++98-compat-pedantic -Wno-old-style-cast "
     "-Wno-reserved-macro-identifier -Werror",
     "cpp"},
};

static void check_compiles(const ir_module *m, const char *p) {
    char path[512], cmd[4096];
    text calling = {0}, printing = {0}, want = {0};
    program_calling_api(&calling, m, p);
    program_printing_table(&printing, m, p);
    expected_table(&want, m);
    for (size_t c = 0; c < sizeof compilers / sizeof *compilers; c++) {
        const compiler *cc = &compilers[c];
        if (!have(cc->tool)) {
            CHECK(c != 0 && c != 2, "%s is needed to test the header", cc->tool);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s_unused.%s", out_dir, p, cc->ext);
        snprintf(cmd, sizeof cmd, "#include \"%s.h\"\nint main(void) { return 0; }\n", p);
        CHECK(write_text(path, cmd));
        snprintf(cmd, sizeof cmd, "%s %s -I%s -c %s -o %s.o", cc->tool, cc->flags, out_dir, path, path);
        CHECK(run("header included unused", cmd), "%s", p);
        snprintf(path, sizeof path, "%s/%s_calls.%s", out_dir, p, cc->ext);
        CHECK(write_text(path, calling.s));
        snprintf(cmd, sizeof cmd, "%s %s -I%s -c %s -o %s.o", cc->tool, cc->flags, out_dir, path, path);
        CHECK(run("header used", cmd), "%s", p);
        snprintf(path, sizeof path, "%s/%s_table.%s", out_dir, p, cc->ext);
        CHECK(write_text(path, printing.s));
        snprintf(cmd, sizeof cmd, "%s %s -I%s %s -o %s.exe && %s.exe >%s.out", cc->tool, cc->flags, out_dir, path, path,
                 path, path);
        if (!run("table program", cmd)) {
            CHECK(false, "%s with %s", p, cc->tool);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s_table.%s.out", out_dir, p, cc->ext);
        char *got = read_text(path);
        CHECK(got && strcmp(got, want.s) == 0, "%s with %s: the table program printed\n%s\nexpected\n%s", p, cc->tool,
              got ? got : "(nothing)", want.s);
        free(got);
    }
    free(calling.s);
    free(printing.s);
    free(want.s);
}

static void check_pkgconfig(const char *p) {
    if (!have("pkg-config")) return;
    char cmd[1024], path[512];
    snprintf(cmd, sizeof cmd, "PKG_CONFIG_PATH=%s pkg-config --cflags --libs %s >%s/%s.flags", out_dir, p, out_dir, p);
    CHECK(run("pkg-config", cmd), "%s", p);
    snprintf(path, sizeof path, "%s/%s.flags", out_dir, p);
    char *flags = read_text(path);
    char want_l[128];
    snprintf(want_l, sizeof want_l, "-l%s ", p);
    CHECK(flags && strstr(flags, "-I") && strstr(flags, "-L") && strstr(flags, want_l) && strstr(flags, "-lopenblas"),
          "%s: pkg-config printed '%s'", p, flags ? flags : "");
    free(flags);
}

/* The optimizer pass, as tfc compile runs it first: training graphs get their updates. */
static bool lower_training(ir_module *m, ir_diag *d) {
    pass_pipeline p = {1, {PASS_OPTIMIZER}};
    pass_run_options ro = {true, false, NULL, NULL, NULL};
    return pass_run_pipeline(m, &p, &ro, d);
}

/* Compiles a source (only `graph` when given), writes its header and .pc, and checks them. */
static void check_module(const char *name, const char *source, size_t len, const char *graph, const char *prefix) {
    ir_diag d;
    ir_diag_init(&d, stderr);
    int file = ir_diag_add_source(&d, name, source, len);
    fe_options fo = {NULL, 0};
    ir_module *m = graph ? fe_compile_partial(&d, file, &fo, graph) : fe_compile(&d, file, &fo);
    CHECK(m != NULL && lower_training(m, &d), "%s does not compile", name);
    if (m && d.errors == 0) {
        aot_options o = {prefix, out_dir, name, false, {3, NULL, NULL}};
        bool ok = aot_check_names(m, prefix, &d) && aot_write_header(m, &o, &d) && aot_write_pkgconfig(m, &o, &d);
        CHECK(ok, "%s: writing the header and pkg-config file failed", name);
        if (ok) check_compiles(m, prefix);
        if (ok) check_pkgconfig(prefix);
    }
    ir_module_destroy(m);
    ir_diag_free(&d);
}

static void check_example(const char *dir, const char *file, const char *graph, const char *prefix) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *src = read_text(path);
    CHECK(src != NULL, "cannot read %s", path);
    if (src) check_module(path, src, strlen(src), graph, prefix);
    free(src);
}

/* ---- names the header cannot spell, and what it refuses -------------------------------------- */

static ir_module *one_graph_module(const char *graph, const char *arg) {
    ir_module *m = ir_module_create();
    ir_graph *g = ir_module_add_graph(m, graph, IR_NO_LOC);
    ir_type t = {IR_F32, 1, {4}};
    ir_graph_add_input(g, arg, t);
    ir_node *n = ir_graph_add_node(g, IR_OP_INPUT, NULL, 0, IR_NO_LOC);
    n->type = t;
    ir_graph_add_output(g, arg, n->id);
    return m;
}

static void check_refusals(void) {
    FILE *quiet = fopen("/dev/null", "w");
    struct {
        const char *graph, *arg, *message;
    } cases[] = {
        {"a.b", "x", "graph name 'a.b' is not a C identifier"},
        {"g", "x$y", "argument 'x$y' of graph 'g' is not a C identifier"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ir_module *m = one_graph_module(cases[i].graph, cases[i].arg);
        char *said = NULL;
        size_t said_len = 0;
        FILE *messages = open_memstream(&said, &said_len);
        ir_diag d;
        ir_diag_init(&d, messages);
        aot_options o = {"bad", out_dir, NULL, false, {3, NULL, NULL}};
        bool refused = !aot_write_header(m, &o, &d) && d.errors > 0;
        ir_diag_free(&d);
        fclose(messages);
        CHECK(refused && said && strstr(said, cases[i].message), "%s (got: %s)", cases[i].message, said ? said : "");
        free(said);
        ir_module_destroy(m);
    }
    /* Two graphs whose names differ only in case would both define PREFIX_GRAPH_INFER. */
    ir_module *m = one_graph_module("infer", "x");
    ir_graph *g = ir_module_add_graph(m, "Infer", IR_NO_LOC);
    ir_type t = {IR_F32, 1, {4}};
    ir_graph_add_input(g, "y", t);
    ir_node *n = ir_graph_add_node(g, IR_OP_INPUT, NULL, 0, IR_NO_LOC);
    n->type = t;
    ir_graph_add_output(g, "z", n->id);
    ir_diag d;
    ir_diag_init(&d, quiet);
    aot_options o = {"bad", out_dir, NULL, false, {3, NULL, NULL}};
    CHECK(!aot_write_header(m, &o, &d) && d.errors == 1, "graphs differing only in case");
    ir_diag_free(&d);
    ir_module_destroy(m);
    /* A folder that cannot be written: an error, not a crash. */
    ir_diag_init(&d, quiet);
    m = one_graph_module("g", "x");
    o.out_dir = "/nonexistent/folder";
    CHECK(!aot_write_header(m, &o, &d) && d.errors == 1, "an unwritable folder");
    CHECK(!aot_write_pkgconfig(m, &o, &d) && d.errors == 2, "an unwritable folder (pkg-config)");
    ir_diag_free(&d);
    ir_module_destroy(m);
    if (quiet) fclose(quiet);
}

int main(int argc, char **argv) {
    const char *examples = argc > 1 ? argv[1] : TFC_EXAMPLES_DIR;
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", out_dir, strerror(errno));
        return 1;
    }
    check_module("odd.tg", odd_source, sizeof odd_source - 1, NULL, "odd");
    check_example(examples, "elementwise.tg", NULL, "elementwise");
    check_example(examples, "lenet.tg", NULL, "lenet");
    check_example(examples, "mlp.tg", "infer", "mlp_infer");
    check_example(examples, "mlp.tg", NULL, "mlp");
    check_module("fit.tg", train_source, sizeof train_source - 1, NULL, "fit");
    check_example(examples, "resnet_block.tg", NULL, "resnet_block");
    check_example(examples, "transformer.tg", NULL, "transformer");
    check_refusals();
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
