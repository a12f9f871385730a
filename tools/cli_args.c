/* cli_args.c — the option table of the `tfc` command: one row per option says which verbs take
 * it and how it is documented, so parsing and `--help` cannot drift apart. */
#include "passes/passes.h"
#include "tools/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { V_CHECK = 1, V_DUMP = 2, V_OPT = 4, V_RUN = 8, V_COMPILE = 16, V_ALL = 31 };
/* The verbs that run a pass pipeline and take the PASS OPTIONS. */
enum { V_PASSES = V_DUMP | V_OPT | V_RUN | V_COMPILE };

typedef enum {
    OPT_GRAPH, OPT_DEFINE, OPT_SEED, OPT_STAGE, OPT_FORMAT, OPT_PASSES, OPT_BACKEND, OPT_IN, OPT_OUT,
    OPT_WEIGHTS, OPT_SAVE_WEIGHTS, OPT_RANDOM_INPUTS, OPT_HELP, OPT_LEVEL, OPT_VERIFY_EACH, OPT_TIME_PASSES,
    OPT_DUMP_AFTER, OPT_DUMP_DIR, OPT_EXPLAIN_FUSION, OPT_THREADS, OPT_BENCH, OPT_PROFILE, OPT_CPU,
    OPT_OUT_DIR, OPT_NAME, OPT_TARGET, OPT_SHARED, OPT_STEPS, OPT_EPOCHS, OPT_SHUFFLE,
} option_id;

static const struct option_row {
    option_id id;
    const char *name;
    const char *metavar;  /* NULL: a flag without value */
    unsigned verbs;
    const char *help;
} option_table[] = {
    {OPT_GRAPH, "--graph", "G", V_DUMP | V_OPT | V_RUN | V_COMPILE,
     "the graph of the module to use (default: its only graph; compile: every graph)"},
    {OPT_DEFINE, "-D", "NAME=VALUE", V_ALL, "override a module const"},
    {OPT_SEED, "--seed", "N", V_RUN | V_COMPILE,
     "seed of the parameter initializers, --random-inputs and --shuffle (default 0)"},
    {OPT_STAGE, "--stage", "STAGE", V_DUMP,
     "stage to print: graph, opt, fused, plan (default), kernel (Kernel IR), llvm or asm (CPU code)"},
    {OPT_FORMAT, "--format", "FMT", V_DUMP, "text (default), dot, json or svg (svg needs Graphviz's dot)"},
    {OPT_LEVEL, "-O", "LEVEL", V_PASSES, "optimization level 0-3 (-O0 only lowers training; default: -O3, opt -O0)"},
    {OPT_PASSES, "--passes", "P1,P2", V_PASSES, "run exactly these passes, in order, instead of an -O pipeline"},
    {OPT_VERIFY_EACH, "--verify-each", NULL, V_PASSES, "run the IR verifier after every pass"},
    {OPT_TIME_PASSES, "--time-passes", NULL, V_PASSES, "print the time each pass takes"},
    {OPT_DUMP_AFTER, "--dump-after", "PASS", V_PASSES, "write the IR after PASS ('all': after every pass; 'input')"},
    {OPT_DUMP_DIR, "--dump-dir", "DIR", V_PASSES,
     "where --dump-after writes NN.GRAPH.PASS.tgir (default: stderr), and the CPU code as .ll"},
    {OPT_EXPLAIN_FUSION, "--explain-fusion", NULL, V_PASSES, "list each fusion candidate not fused, and why (stderr)"},
    {OPT_BACKEND, "--backend", "B", V_RUN, "cpu (native code through LLVM; default) or interp (the reference interpreter)"},
    {OPT_THREADS, "--threads", "N", V_RUN, "threads of the cpu backend (default: all cores)"},
    {OPT_CPU, "--cpu", "NAME", V_DUMP | V_RUN | V_COMPILE,
     "target CPU of the generated code: native (default), x86-64-v3, znver4, ..."},
    {OPT_BENCH, "--bench", "N", V_RUN, "time N runs after a warm-up and print the median, min and max"},
    {OPT_PROFILE, "--profile", "FILE", V_RUN, "write a Chrome trace (one slice per kernel) and print per-kernel times"},
    {OPT_STEPS, "--steps", "N", V_RUN, "run the step N times on the same inputs (a training graph trains)"},
    {OPT_EPOCHS, "--epochs", "E", V_RUN, "walk inputs larger than the graph's batch in minibatches, E times over"},
    {OPT_SHUFFLE, "--shuffle", NULL, V_RUN, "with --epochs: visit the rows in a new order each epoch (from --seed)"},
    {OPT_IN, "--in", "NAME=FILE.npy", V_RUN, "bind graph input NAME to a .npy file (repeat for each input)"},
    {OPT_OUT, "--out", "NAME=FILE.npy", V_RUN, "write graph output NAME to a .npy file (repeatable)"},
    {OPT_WEIGHTS, "--weights", "FILE", V_RUN | V_COMPILE,
     "parameter values from a .safetensors file (key = parameter name)"},
    {OPT_SAVE_WEIGHTS, "--save-weights", "FILE", V_RUN,
     "write the parameters (as trained; no optimizer state) to a .safetensors file after the run"},
    {OPT_RANDOM_INPUTS, "--random-inputs", NULL, V_RUN, "fill inputs without --in deterministically from --seed"},
    {OPT_OUT_DIR, "-o", "DIR", V_COMPILE, "folder for the files (default: the current one; created when missing)"},
    {OPT_NAME, "--name", "PREFIX", V_COMPILE,
     "prefix of the files and of every exported symbol (default: the model's file name)"},
    {OPT_TARGET, "--target", "T", V_COMPILE, "cpu (the default; cuda is not available yet)"},
    {OPT_SHARED, "--shared", NULL, V_COMPILE, "also write the shared library libPREFIX.so"},
    {OPT_HELP, "--help", NULL, V_ALL, "show this help"},
};
enum { N_OPTIONS = sizeof option_table / sizeof option_table[0] };

static const struct verb_row {
    const char *name;
    unsigned bit;
    const char *usage;
    const char *summary;
} verb_table[] = {
    {"check", V_CHECK, "tfc check MODEL.tg [-D NAME=VALUE]", "parse and type-check; print diagnostics only"},
    {"dump", V_DUMP,
     "tfc dump MODEL [--graph G] --stage graph|opt|fused|plan|kernel|llvm|asm [--format text|dot|json|svg]",
     "print the IR of one stage"},
    {"opt", V_OPT, "tfc opt FILE.tgir [--passes P1,P2 | -O3] [--verify-each]", "run passes on textual IR and print the result"},
    {"run", V_RUN,
     "tfc run MODEL [--graph G] [--in NAME=FILE.npy]... [--out NAME=FILE.npy]... [--weights W.safetensors]\n"
     "               [--save-weights OUT.safetensors] [--steps N | --epochs E [--shuffle]] [--seed S]\n"
     "               [--backend cpu|interp] [--threads N] [--bench N] [--profile trace.json]",
     "run a graph: compiled to native code (cpu) or with the reference interpreter"},
    {"compile", V_COMPILE,
     "tfc compile MODEL [--graph G] [-o DIR] [--name PREFIX] [--target cpu] [--shared]\n"
     "                   [--weights W.safetensors] [--seed N] [-O0..-O3] [--cpu NAME]",
     "compile the module into a C library: PREFIX.h, libPREFIX.a (and .so), PREFIX.pc"},
};
enum { N_VERBS = sizeof verb_table / sizeof verb_table[0] };

static const struct verb_row *find_verb(const char *name) {
    for (int i = 0; i < N_VERBS; i++)
        if (strcmp(verb_table[i].name, name) == 0) return &verb_table[i];
    return NULL;
}

void cli_print_usage(FILE *out) {
    fputs("usage: tfc VERB MODEL [options]    (tfc VERB --help for the options of a verb)\n\nverbs:\n", out);
    for (int i = 0; i < N_VERBS; i++) fprintf(out, "  %-8s %s\n", verb_table[i].name, verb_table[i].summary);
    fputs("\nMODEL is a .tg source file or a .tgir Graph IR text file.\n"
          "exit status: 0 success, 1 user error (a diagnostic was printed), 2 internal error (a bug in tfc)\n"
          "other: tfc --version, tfc --help\n",
          out);
}

void cli_print_verb_help(FILE *out, const char *verb) {
    const struct verb_row *v = find_verb(verb);
    if (!v) return;
    fprintf(out, "usage: %s\n%s\n\noptions:\n", v->usage, v->summary);
    for (int i = 0; i < N_OPTIONS; i++) {
        const struct option_row *r = &option_table[i];
        if (!(r->verbs & v->bit)) continue;
        char left[48];
        snprintf(left, sizeof left, "%s%s%s", r->name, r->metavar ? " " : "", r->metavar ? r->metavar : "");
        fprintf(out, "  %-26s %s\n", left, r->help);
    }
    if (!(v->bit & V_PASSES)) return;
    fputs("\npasses (for --passes and --dump-after):\n", out);
    for (int i = 0; i < PASS_COUNT; i++) fprintf(out, "  %-14s %s\n", pass_table[i].name, pass_table[i].help);
    fputs("\npipelines: -O0 optimizer,autodiff; -O1 adds canonicalize,fold,cse,dce; -O2 adds decompose, the\n"
          "           clean-ups again, fuse; -O3 adds plan. dump --stage graph runs none, opt stops before fuse,\n"
          "           fused after it, plan runs everything.\n",
          out);
}

/* NAME=PATH for --in/--out. */
static bool parse_binding(const char *opt, char *value, cli_binding *b) {
    char *eq = strchr(value, '=');
    if (!eq || eq == value || !eq[1]) {
        fprintf(stderr, "tfc: error: %s expects NAME=FILE, got '%s'\n", opt, value);
        return false;
    }
    *eq = 0;
    b->name = value;
    b->path = eq + 1;
    return true;
}

static bool parse_define(char *value, cli_options *o) {
    char *eq = strchr(value, '=');
    if (!eq || eq == value || !eq[1]) {
        fprintf(stderr, "tfc: error: -D expects NAME=VALUE, got '%s'\n", value);
        return false;
    }
    if (o->n_defines == (int)(sizeof o->defines / sizeof o->defines[0])) {
        fprintf(stderr, "tfc: error: too many -D options\n");
        return false;
    }
    *eq = 0;
    o->defines[o->n_defines++] = (fe_define){value, eq + 1};
    return true;
}

static bool parse_seed(const char *value, uint64_t *seed) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno || end == value || *end || value[0] == '-') {
        fprintf(stderr, "tfc: error: --seed expects a non-negative integer, got '%s'\n", value);
        return false;
    }
    *seed = v;
    return true;
}

/* A positive count for --threads, --bench, --steps and --epochs. */
static bool parse_count(const char *opt, const char *value, int *out) {
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < 1 || v > 1000000) {
        fprintf(stderr, "tfc: error: %s expects a positive integer, got '%s'\n", opt, value);
        return false;
    }
    *out = (int)v;
    return true;
}

static bool add_binding(const char *opt, char *value, cli_binding *list, int *count) {
    if (*count == 64) {
        fprintf(stderr, "tfc: error: too many %s options\n", opt);
        return false;
    }
    return parse_binding(opt, value, &list[(*count)++]);
}

static bool apply_option(option_id id, const char *name, char *value, cli_options *o) {
    switch (id) {
    case OPT_GRAPH: o->graph = value; return true;
    case OPT_DEFINE: return parse_define(value, o);
    case OPT_SEED: return parse_seed(value, &o->seed);
    case OPT_STAGE: o->stage = value; return true;
    case OPT_FORMAT: o->format = value; return true;
    case OPT_PASSES: o->passes = value; return true;
    case OPT_BACKEND: o->backend = value; return true;
    case OPT_IN: return add_binding(name, value, o->ins, &o->n_ins);
    case OPT_OUT: return add_binding(name, value, o->outs, &o->n_outs);
    case OPT_WEIGHTS: o->weights = value; return true;
    case OPT_SAVE_WEIGHTS: o->save_weights = value; return true;
    case OPT_RANDOM_INPUTS: o->random_inputs = true; return true;
    case OPT_HELP: o->help = true; return true;
    case OPT_LEVEL:
        if (strlen(value) != 1 || value[0] < '0' || value[0] > '3') {
            fprintf(stderr, "tfc: error: -O expects a level 0 to 3, got '-O%s'\n", value);
            return false;
        }
        o->opt_level = value[0] - '0';
        return true;
    case OPT_VERIFY_EACH: o->verify_each = true; return true;
    case OPT_TIME_PASSES: o->time_passes = true; return true;
    case OPT_DUMP_AFTER: o->dump_after = value; return true;
    case OPT_DUMP_DIR: o->dump_dir = value; return true;
    case OPT_EXPLAIN_FUSION: o->explain_fusion = true; return true;
    case OPT_THREADS: return parse_count(name, value, &o->threads);
    case OPT_BENCH: return parse_count(name, value, &o->bench_runs);
    case OPT_STEPS: return parse_count(name, value, &o->steps);
    case OPT_EPOCHS: return parse_count(name, value, &o->epochs);
    case OPT_SHUFFLE: o->shuffle = true; return true;
    case OPT_PROFILE: o->profile = value; return true;
    case OPT_CPU: o->cpu = value; return true;
    case OPT_OUT_DIR: o->out_dir = value; return true;
    case OPT_NAME: o->name = value; return true;
    case OPT_TARGET: o->target = value; return true;
    case OPT_SHARED: o->shared = true; return true;
    }
    return false;
}

static const struct option_row *row_of(option_id id) {
    for (int i = 0; i < N_OPTIONS; i++)
        if (option_table[i].id == id) return &option_table[i];
    return NULL;
}

/* Finds the row for argument `arg`; sets *inline_value for --opt=value, -DNAME=VALUE and -O3. */
static const struct option_row *match_option(char *arg, char **inline_value) {
    *inline_value = NULL;
    if ((strncmp(arg, "-D", 2) == 0 || strncmp(arg, "-O", 2) == 0) && arg[2]) {
        *inline_value = arg + 2;
        return row_of(arg[1] == 'D' ? OPT_DEFINE : OPT_LEVEL);
    }
    char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    for (int i = 0; i < N_OPTIONS; i++) {
        if (strlen(option_table[i].name) == len && strncmp(option_table[i].name, arg, len) == 0) {
            if (eq) *inline_value = eq + 1;
            return &option_table[i];
        }
    }
    return NULL;
}

static void suggest_option(const char *arg, unsigned verb_bit) {
    const char *names[N_OPTIONS];
    for (int i = 0; i < N_OPTIONS; i++) names[i] = (option_table[i].verbs & verb_bit) ? option_table[i].name : NULL;
    const char *close = ir_closest(arg, names, N_OPTIONS);
    if (close) fprintf(stderr, "tfc: note: did you mean '%s'?\n", close);
}

bool cli_parse_args(int argc, char **argv, cli_options *o) {
    const struct verb_row *v = find_verb(o->verb);
    for (int i = 0; i < argc; i++) {
        char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == 0) {
            if (o->model) {
                fprintf(stderr, "tfc: error: unexpected argument '%s' (the model is already '%s')\n", arg, o->model);
                return false;
            }
            o->model = arg;
            continue;
        }
        char *value;
        const struct option_row *r = match_option(arg, &value);
        if (!r || !(r->verbs & v->bit)) {
            fprintf(stderr, "tfc: error: %s: unknown option '%s' for 'tfc %s'\n", o->verb, arg, o->verb);
            suggest_option(arg, v->bit);
            return false;
        }
        if (r->metavar && !value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "tfc: error: option '%s' expects %s\n", r->name, r->metavar);
                return false;
            }
            value = argv[++i];
        } else if (!r->metavar && value) {
            fprintf(stderr, "tfc: error: option '%s' takes no value\n", r->name);
            return false;
        }
        if (!apply_option(r->id, r->name, value, o)) return false;
    }
    return true;
}
