/* header.c — PREFIX.h, the C API of a generated library (docs/c-api.md): the fixed functions, one
 * function per graph, shape macros, and an argument table that a generic caller can iterate. The
 * header is C99 and C++ (extern "C"), and stays warning-free under -Wall -Wextra -pedantic in both,
 * whatever the model's names are: names that would break a prototype are renamed there only. */
#include "codegen/aot/aot.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Words that cannot name a parameter in a prototype the header declares: C and C++ keywords, the
 * types the prototypes use (a parameter of that name would hide the type from the next one), the
 * model parameter `m`, and macros that a user's program may have defined before including us. */
/* clang-format off */
static const char *const reserved_words[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
    "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
    "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Alignas",
    "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert",
    "_Thread_local", "alignas", "alignof", "bool", "constexpr", "false", "nullptr", "static_assert", "thread_local",
    "true", "typeof", "typeof_unqual", "and", "and_eq", "asm", "bitand", "bitor", "catch", "char8_t", "char16_t",
    "char32_t", "class", "compl", "concept", "consteval", "constinit", "const_cast", "co_await", "co_return",
    "co_yield", "decltype", "delete", "dynamic_cast", "explicit", "export", "friend", "mutable", "namespace", "new",
    "noexcept", "not", "not_eq", "operator", "or", "or_eq", "private", "protected", "public", "reinterpret_cast",
    "requires", "static_cast", "template", "this", "throw", "try", "typeid", "typename", "using", "virtual",
    "wchar_t", "xor", "xor_eq", "uint8_t", "uint16_t", "int32_t", "int64_t", "size_t", "m", "errno", "NULL", "assert",
    "offsetof", "stdin", "stdout", "stderr", "EOF",
};
/* clang-format on */

static const char *const c_types[IR_DTYPE_COUNT] = {
    [IR_F32] = "float",   [IR_F16] = "uint16_t", [IR_BF16] = "uint16_t",
    [IR_I32] = "int32_t", [IR_I64] = "int64_t",  [IR_BOOL] = "uint8_t",
};

typedef struct header_writer {
    FILE *f;
    const char *prefix; /* mlp */
    char *upper;        /* MLP */
    const char *source;
    const ir_module *m;
} header_writer;

/* One argument of a graph, as the header names it. */
typedef struct header_arg {
    const char *name; /* as in the model */
    char *c_name;     /* in the prototype: name, or name_ when reserved or taken */
    ir_type type;
    bool is_output;
} header_arg;

static bool is_identifier(const char *s) {
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (const char *c = s; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_')) return false;
    return true;
}

static bool is_reserved(const char *s) {
    for (size_t i = 0; i < sizeof reserved_words / sizeof *reserved_words; i++)
        if (strcmp(s, reserved_words[i]) == 0) return true;
    return false;
}

static void put_upper(FILE *f, const char *s) {
    for (; *s; s++) fputc(toupper((unsigned char)*s), f);
}

/* Text inside a comment: no control characters, and never a comment opener or closer. */
static void put_comment_text(FILE *f, const char *s) {
    for (char prev = 0; *s; prev = *s++) {
        unsigned char c = (unsigned char)*s;
        if ((c == '/' && prev == '*') || (c == '*' && prev == '/')) fputc(' ', f);
        fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
    }
}

/* "f32[64, 784]"; a scalar is "f32 (scalar)". */
static void put_type(FILE *f, const ir_type *t) {
    fputs(ir_dtype_name(t->dtype), f);
    if (t->rank == 0) {
        fputs(" (scalar)", f);
        return;
    }
    fputc('[', f);
    for (int i = 0; i < t->rank; i++) fprintf(f, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
    fputc(']', f);
}

/* ---- the arguments of a graph --------------------------------------------------------------- */

static void free_args(header_arg *args, int n) {
    for (int i = 0; args && i < n; i++) free(args[i].c_name);
    free(args);
}

static bool name_taken(const header_arg *args, int n, const char *s) {
    for (int j = 0; j < n; j++)
        if (strcmp(args[j].c_name, s) == 0) return true;
    return false;
}

/* The prototype's name for argument i: its own, with '_' appended while it is reserved or taken
 * by an earlier argument's prototype name (`m_` after `m`). No reserved word ends in '_', so at
 * most i + 1 are appended. */
static char *prototype_name(const header_arg *args, int i) {
    size_t len = strlen(args[i].name);
    char *s = malloc(len + (size_t)i + 2);
    if (!s) return NULL;
    memcpy(s, args[i].name, len + 1);
    while (is_reserved(s) || name_taken(args, i, s)) {
        s[len++] = '_';
        s[len] = '\0';
    }
    return s;
}

/* A graph's inputs, then its results (a training graph's parameter updates stay inside the
   model), with their types and prototype names. */
static header_arg *graph_args(const ir_graph *g, int *n) {
    *n = g->n_inputs + ir_graph_n_results(g);
    header_arg *args = calloc((size_t)*n + 1, sizeof *args);
    for (int i = 0; args && i < *n; i++) {
        bool out = i >= g->n_inputs;
        args[i].name = out ? g->output_names[i - g->n_inputs] : g->input_names[i];
        args[i].type = out ? g->nodes[g->output_nodes[i - g->n_inputs]]->type : g->input_types[i];
        args[i].is_output = out;
        args[i].c_name = prototype_name(args, i);
        if (!args[i].c_name) {
            free_args(args, i);
            return NULL;
        }
    }
    return args;
}

/* Names end up in identifiers and macros: a .tgir file may hold names that C cannot spell, and
 * two graphs whose names differ only in case would share PREFIX_GRAPH_NAME. */
static bool check_graph_names(const ir_module *m, ir_diag *d) {
    bool ok = true;
    for (int g = 0; g < m->n_graphs; g++) {
        const ir_graph *gr = m->graphs[g];
        if (!is_identifier(gr->name)) {
            ir_error(d, gr->loc, "graph name '%s' is not a C identifier; the generated header cannot name it",
                     gr->name);
            ok = false;
        }
        for (int i = 0; i < gr->n_inputs + ir_graph_n_results(gr); i++) {
            const char *a = i < gr->n_inputs ? gr->input_names[i] : gr->output_names[i - gr->n_inputs];
            if (is_identifier(a)) continue;
            ir_error(d, gr->loc,
                     "argument '%s' of graph '%s' is not a C identifier; the generated header cannot name it", a,
                     gr->name);
            ok = false;
        }
        for (int h = 0; h < g; h++) {
            const char *a = m->graphs[h]->name, *b = gr->name;
            while (*a && toupper((unsigned char)*a) == toupper((unsigned char)*b)) a++, b++;
            if (*a || *b) continue;
            ir_error(d, gr->loc, "graphs '%s' and '%s' differ only in case; their index macros would clash",
                     m->graphs[h]->name, gr->name);
            ok = false;
        }
    }
    return ok;
}

/* ---- the sections of the header ------------------------------------------------------------ */

/* What the file is, how to link it, a usage example with the first graph, and thread-safety. */
static void write_banner(header_writer *w, const header_arg *args, int n_args) {
    FILE *f = w->f;
    const char *p = w->prefix;
    fprintf(f, "/* %s.h: the C API of the model ", p);
    put_comment_text(f, w->source ? w->source : "(unnamed)");
    fputs(", generated by tfc", f);
#ifdef TFC_VERSION
    fputs(" " TFC_VERSION, f);
#endif
    fputs(".\n * Do not edit: compile the model again instead.\n *\n", f);
    fprintf(f, " * Link with: -L<dir> -l%s -lopenblas -lm -lpthread   (or: pkg-config --cflags --libs %s)\n", p, p);
    fputs(" * The library needs neither tfc nor LLVM.\n *\n", f);
    if (w->m->n_graphs > 0) {
        const ir_graph *g = w->m->graphs[0];
        fputs(" * Usage (inputs filled by the caller, outputs written by the call):\n", f);
        for (int i = 0; i < n_args; i++) {
            fprintf(f, " *     static %s %s[%s_", c_types[args[i].type.dtype], args[i].c_name, w->upper);
            put_upper(f, g->name);
            fputc('_', f);
            put_upper(f, args[i].name);
            fputs("_COUNT];\n", f);
        }
        fprintf(f, " *     %s_model *m = %s_create(NULL);          (NULL: the default options)\n", p, p);
        fprintf(f, " *     if (!m) { fprintf(stderr, \"%%s\\n\", %s_create_error()); return 1; }\n", p);
        fprintf(f, " *     if (%s_%s(m", p, g->name);
        for (int i = 0; i < n_args; i++) fprintf(f, ", %s", args[i].c_name);
        fprintf(f, ") != 0) fprintf(stderr, \"%%s\\n\", %s_error(m));\n", p);
        fprintf(f, " *     %s_destroy(m);\n *\n", p);
    }
    fputs(" * Threads: a model object is used by one thread at a time; several objects may run at once,\n"
          " * each with its own thread pool, arena and parameters. Results are bit-identical for any\n"
          " * number of threads.\n"
          " *\n"
          " * Arguments are dense row-major arrays of the declared dtype and shape, aligned at least to\n"
          " * the element size (f16 and bf16 as their raw uint16_t bits, bool as uint8_t 0 or 1). Every\n",
          f);
    fprintf(f,
            " * int function returns 0 on success and non-zero on failure, with %s_error(m) saying why;\n"
            " * misuse (a NULL pointer, a bad graph index, a bad weights file) never aborts the program. */\n",
            p);
}

static void write_prelude(header_writer *w) {
    fprintf(w->f, "#ifndef %s_H_\n#define %s_H_\n\n", w->upper, w->upper);
    fputs("#include <stddef.h>\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", w->f);
}

/* The functions every library has (docs/c-api.md). */
static void write_fixed_api(header_writer *w) {
    FILE *f = w->f;
    const char *p = w->prefix;
    fprintf(f,
            "/* The model: parameters, an arena for intermediate values and a thread pool. Opaque. */\n"
            "typedef struct %s_model %s_model;\n\n",
            p, p);
    fprintf(f,
            "/* Options of %s_create: zero-initialize, then set the fields you need. */\n"
            "typedef struct %s_options {\n"
            "    int num_threads; /* <= 0: all online cores */\n"
            "} %s_options;\n\n",
            p, p, p);
    fprintf(f,
            "/* Creates a model with the parameters the library was compiled with. options may be NULL\n"
            "   (the defaults). Returns NULL on failure; %s_create_error() then says why. */\n"
            "%s_model *%s_create(const %s_options *options);\n",
            p, p, p, p);
    fprintf(f,
            "/* Why the last %s_create on this thread failed (\"\" if it did not). */\n"
            "const char *%s_create_error(void);\n",
            p, p);
    fprintf(f, "/* Frees the model; NULL is ignored. */\nvoid %s_destroy(%s_model *m);\n", p, p);
    fprintf(f,
            "/* The message of the last failed call on m; \"\" if none. Never NULL. */\n"
            "const char *%s_error(const %s_model *m);\n",
            p, p);
    fprintf(f,
            "/* Writes every parameter (as training left it; optimizer state excluded) to a safetensors file,\n"
            "   atomically (the old file or the whole new one). */\n"
            "int %s_save_weights(%s_model *m, const char *path);\n",
            p, p);
    fprintf(f,
            "/* Reads every parameter from a safetensors file (tfc run --save-weights, PyTorch's safetensors,\n"
            "   %s_save_weights): strict, all parameters with their dtype and shape and nothing else. On\n"
            "   failure the parameters are left as they were. Optimizer state is neither read nor reset. */\n"
            "int %s_load_weights(%s_model *m, const char *path);\n\n",
            p, p, p);
}

/* A training graph's comment lines: which parameters a step changes (optimizer state aside), and
   when. Names wrap at about 100 columns. */
static void write_training_note(header_writer *w, const ir_graph *g) {
    FILE *f = w->f;
    fputs(" * A training step: once it has run without error, the model's parameters", f);
    int col = 100, n = 0;
    for (int k = 0; k < g->n_updates; k++) {
        const ir_param *p = &w->m->params[g->update_params[k]];
        if (p->state) continue;
        int len = (int)strlen(p->name) + 2;
        if (col + len > 98) {
            fputs(n ? ",\n *  " : "\n *  ", f);
            col = 4;
        } else {
            fputc(',', f);
            col++;
        }
        fputc(' ', f);
        put_comment_text(f, p->name);
        col += len;
        n++;
    }
    fputs("\n * hold their new values (and its optimizer state advances); the outputs are computed before\n"
          " * that. A failed step changes nothing.\n",
          f);
}

/* One graph's function, with a comment listing its arguments. */
static void write_graph_function(header_writer *w, const ir_graph *g, const header_arg *args, int n_args) {
    FILE *f = w->f;
    fprintf(f, "/* Graph '%s' (index %s_GRAPH_", g->name, w->upper);
    put_upper(f, g->name);
    fputs("): inputs in declaration order, then outputs.\n", f);
    for (int i = 0; i < n_args; i++) {
        fprintf(f, " *   %s: ", args[i].name);
        put_type(f, &args[i].type);
        fputs(args[i].is_output ? " output" : " input", f);
        if (strcmp(args[i].name, args[i].c_name) != 0) fprintf(f, " ('%s' in the prototype)", args[i].c_name);
        fputc('\n', f);
    }
    if (g->n_updates > 0) write_training_note(w, g);
    fprintf(f, " * Returns 0, or non-zero with %s_error(m) saying why. */\n", w->prefix);
    /* Arguments wrap at about 100 columns, continuation lines indented by 4. */
    int col = fprintf(f, "int %s_%s(%s_model *m", w->prefix, g->name, w->prefix);
    for (int i = 0; i < n_args; i++) {
        const char *q = args[i].is_output ? "" : "const ", *type = c_types[args[i].type.dtype];
        int len = snprintf(NULL, 0, " %s%s *%s", q, type, args[i].c_name);
        bool wrap = col + len + 2 > 100;
        fputs(wrap ? ",\n   " : ",", f);
        col = (wrap ? 3 : col + 1) + fprintf(f, " %s%s *%s", q, type, args[i].c_name);
    }
    fputs(");\n\n", f);
}

static void write_generic_run(header_writer *w) {
    fprintf(w->f,
            "/* Generic entry: runs graph `graph` (0 <= graph < %s_NUM_GRAPHS) with args[i] its i-th\n"
            "   argument (inputs, then outputs), as %s_graph(graph) describes them. */\n"
            "int %s_run(%s_model *m, int graph, void *const *args);\n\n",
            w->upper, w->prefix, w->prefix, w->prefix);
}

/* PREFIX_GRAPH_ARG_{RANK,SHAPE,COUNT} for one argument. */
static void write_arg_macros(header_writer *w, const ir_graph *g, const header_arg *a) {
    static const char *const kinds[] = {"RANK", "SHAPE", "COUNT"};
    for (int k = 0; k < 3; k++) {
        fprintf(w->f, "#define %s_", w->upper);
        put_upper(w->f, g->name);
        fputc('_', w->f);
        put_upper(w->f, a->name);
        fprintf(w->f, "_%s ", kinds[k]);
        if (k == 0) {
            fprintf(w->f, "%d\n", a->type.rank);
        } else if (k == 2) {
            fprintf(w->f, "%lld\n", (long long)ir_type_elems(&a->type));
        } else {
            fputc('{', w->f);
            for (int i = 0; i < a->type.rank; i++) fprintf(w->f, "%s%lld", i ? ", " : "", (long long)a->type.dims[i]);
            fputs(a->type.rank ? "}\n" : "0} /* a placeholder: rank 0 */\n", w->f);
        }
    }
}

static void write_graph_macros(header_writer *w) {
    FILE *f = w->f;
    fprintf(f, "/* The graphs, for %s_run and %s_graph. */\n#define %s_NUM_GRAPHS %d\n", w->prefix, w->prefix, w->upper,
            w->m->n_graphs);
    for (int g = 0; g < w->m->n_graphs; g++) {
        fprintf(f, "#define %s_GRAPH_", w->upper);
        put_upper(f, w->m->graphs[g]->name);
        fprintf(f, " %d\n", g);
    }
    fprintf(f,
            "\n/* Each argument's rank, shape (an initializer: int64_t s[] = %s_G_A_SHAPE;) and element\n"
            "   count. A rank-0 argument has _RANK 0, _COUNT 1 and _SHAPE {0}: read _RANK first. */\n",
            w->upper);
}

/* The dtype enum and the two table types. */
static void write_table_types(header_writer *w) {
    FILE *f = w->f;
    const char *p = w->prefix, *u = w->upper;
    fprintf(f,
            "/* An argument's element type (the same numbering as tfc's dtypes). */\n"
            "typedef enum %s_dtype {\n"
            "    %s_DTYPE_F32 = 0, %s_DTYPE_F16 = 1, %s_DTYPE_BF16 = 2,\n"
            "    %s_DTYPE_I32 = 3, %s_DTYPE_I64 = 4, %s_DTYPE_BOOL = 5\n"
            "} %s_dtype;\n\n",
            p, u, u, u, u, u, u, p);
    fprintf(f,
            "/* One argument of a graph. */\n"
            "typedef struct %s_arg_info {\n"
            "    const char *name;  /* as in the model */\n"
            "    %s_dtype dtype;\n"
            "    int rank;\n"
            "    int64_t dims[8];   /* rank of them are used */\n"
            "    int64_t count;     /* elements */\n"
            "    size_t bytes;      /* count times the element size */\n"
            "    int is_output;     /* 0: input, 1: output */\n"
            "} %s_arg_info;\n\n",
            p, p, p);
    fprintf(f,
            "/* One graph: its name and arguments. */\n"
            "typedef struct %s_graph_info {\n"
            "    const char *name;\n"
            "    int n_inputs, n_outputs;\n"
            "    const %s_arg_info *args; /* n_inputs + n_outputs: inputs, then outputs */\n"
            "} %s_graph_info;\n\n",
            p, p, p);
}

static void write_arg_row(header_writer *w, const header_arg *a) {
    FILE *f = w->f;
    int64_t count = ir_type_elems(&a->type);
    fprintf(f, "        {\"%s\", %s_DTYPE_", a->name, w->upper);
    put_upper(f, ir_dtype_name(a->type.dtype));
    fprintf(f, ", %d, {", a->type.rank);
    for (int i = 0; i < a->type.rank; i++) fprintf(f, "%s%lld", i ? ", " : "", (long long)a->type.dims[i]);
    fprintf(f, "%s}, %lld, %lluu, %d},\n", a->type.rank ? "" : "0", (long long)count,
            (unsigned long long)count * (unsigned long long)ir_dtype_size(a->type.dtype), a->is_output);
}

/* C++11 code bases often warn about NULL (-Wzero-as-null-pointer-constant): say nullptr there. */
static void write_null_return(FILE *f) {
    fputs("#if defined(__cplusplus) && __cplusplus >= 201103L\n    return nullptr;\n#else\n    return "
          "NULL;\n#endif\n}\n\n",
          f);
}

/* PREFIX_graph(i): static const tables inside a static inline function, one array per graph. */
static void write_table_function(header_writer *w, header_arg *const *args, const int *n_args) {
    FILE *f = w->f;
    const ir_module *m = w->m;
    fprintf(f,
            "/* Graph i (0 <= i < %s_NUM_GRAPHS), or NULL. Defined here, over static const data, so the\n"
            "   table costs nothing when unused. */\n"
            "static inline const %s_graph_info *%s_graph(int i) {\n",
            w->upper, w->prefix, w->prefix);
    if (m->n_graphs == 0) {
        fputs("    (void)i;\n", f);
        write_null_return(f);
        return;
    }
    for (int g = 0; g < m->n_graphs; g++) {
        fprintf(f, "    static const %s_arg_info %s_args[] = {\n", w->prefix, m->graphs[g]->name);
        for (int i = 0; i < n_args[g]; i++) write_arg_row(w, &args[g][i]);
        fputs("    };\n", f);
    }
    fprintf(f, "    static const %s_graph_info graphs[] = {\n", w->prefix);
    for (int g = 0; g < m->n_graphs; g++)
        fprintf(f, "        {\"%s\", %d, %d, %s_args},\n", m->graphs[g]->name, m->graphs[g]->n_inputs,
                ir_graph_n_results(m->graphs[g]), m->graphs[g]->name);
    fprintf(f, "    };\n    if (i >= 0 && i < %s_NUM_GRAPHS) return &graphs[i];\n", w->upper);
    write_null_return(f);
}

/* ---- the whole header ---------------------------------------------------------------------- */

/* Everything that depends on each graph's arguments: functions, macros and the table. */
static bool write_graphs(header_writer *w) {
    FILE *f = w->f;
    const ir_module *m = w->m;
    header_arg **args = calloc((size_t)m->n_graphs + 1, sizeof *args);
    int *n_args = calloc((size_t)m->n_graphs + 1, sizeof *n_args);
    bool ok = args && n_args;
    for (int g = 0; ok && g < m->n_graphs; g++) {
        args[g] = graph_args(m->graphs[g], &n_args[g]);
        ok = args[g] != NULL;
    }
    if (ok) {
        write_banner(w, m->n_graphs ? args[0] : NULL, m->n_graphs ? n_args[0] : 0);
        write_prelude(w);
        write_fixed_api(w);
        fputs("/* ---- one function per graph ---- */\n\n", f);
        for (int g = 0; g < m->n_graphs; g++) write_graph_function(w, m->graphs[g], args[g], n_args[g]);
        write_generic_run(w);
        write_graph_macros(w);
        for (int g = 0; g < m->n_graphs; g++)
            for (int i = 0; i < n_args[g]; i++) write_arg_macros(w, m->graphs[g], &args[g][i]);
        fputs("\n/* ---- the argument table, for a caller that iterates the graphs ---- */\n\n", f);
        write_table_types(w);
        write_table_function(w, args, n_args);
        fprintf(f, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s_H_ */\n", w->upper);
    }
    for (int g = 0; args && g < m->n_graphs; g++) free_args(args[g], n_args[g]);
    free(args);
    free(n_args);
    return ok;
}

static bool print_header(FILE *f, void *writer) {
    header_writer *w = writer;
    w->f = f;
    return write_graphs(w);
}

bool aot_write_header(const ir_module *m, const aot_options *o, ir_diag *d) {
    if (!check_graph_names(m, d)) return false;
    size_t len = strlen(o->out_dir) + strlen(o->prefix) + 8;
    char *path = malloc(len), *upper = malloc(strlen(o->prefix) + 1);
    bool ok = path && upper;
    if (!ok) ir_error(d, IR_NO_LOC, "out of memory while writing the header");
    if (ok) {
        for (size_t i = 0; i <= strlen(o->prefix); i++) upper[i] = (char)toupper((unsigned char)o->prefix[i]);
        snprintf(path, len, "%s/%s.h", o->out_dir, o->prefix);
        header_writer w = {NULL, o->prefix, upper, o->source, m};
        ok = aot_write_text_file(path, "the header", print_header, &w, d);
    }
    free(path);
    free(upper);
    return ok;
}
