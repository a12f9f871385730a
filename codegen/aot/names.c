/* names.c — the C names a generated library gives the model: the prefix, one function per graph
 * and the upper-case macros per argument. A clash would only show as a compile error in the
 * user's program, far from its cause, so tfc refuses it up front and says which names collide. */
#include "codegen/aot/aot.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const c_keywords[] = {
    "auto",     "break",    "case",     "char",     "const",    "continue", "default",       "do",
    "double",   "else",     "enum",     "extern",   "float",    "for",      "goto",          "if",
    "inline",   "int",      "long",     "register", "restrict", "return",   "short",         "signed",
    "sizeof",   "static",   "struct",   "switch",   "typedef",  "union",    "unsigned",      "void",
    "volatile", "while",    "_Bool",    "_Complex", "_Imaginary", "_Alignas", "_Alignof",    "_Atomic",
    "_Generic", "_Noreturn", "_Static_assert", "_Thread_local", "bool",   "true",          "false",
};

/* PREFIX_NAME symbols and types the API itself defines: a graph of that name would clash. */
static const char *const api_names[] = {
    "create", "destroy", "error", "create_error", "save_weights", "load_weights", "run",
    "graph",  "model",   "options", "dtype",      "arg_info",     "graph_info",
};

static bool is_identifier(const char *s) {
    if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (const char *c = s; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_')) return false;
    return true;
}

static bool in_list(const char *s, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0) return true;
    return false;
}

static char *upper(const char *s) {
    size_t n = strlen(s);
    char *u = malloc(n + 1);
    if (!u) return NULL;
    for (size_t i = 0; i <= n; i++) u[i] = (char)toupper((unsigned char)s[i]);
    return u;
}

typedef struct macro_name {
    char *name;                     /* GRAPH_ARG, upper case */
    const char *graph, *arg;
} macro_name;

static int compare_macros(const void *a, const void *b) {
    return strcmp(((const macro_name *)a)->name, ((const macro_name *)b)->name);
}

/* Two arguments whose GRAPH_ARG spellings coincide would define the same macros. A training
   graph's parameter updates are not arguments and have no macros. */
static bool check_macros(const ir_module *m, const char *prefix, ir_diag *d) {
    size_t n = 0;
    for (int g = 0; g < m->n_graphs; g++) n += (size_t)(m->graphs[g]->n_inputs + ir_graph_n_results(m->graphs[g]));
    macro_name *names = calloc(n ? n : 1, sizeof *names);
    if (!names) return false;
    size_t k = 0;
    bool ok = true;
    for (int g = 0; g < m->n_graphs && ok; g++) {
        const ir_graph *gr = m->graphs[g];
        for (int i = 0; i < gr->n_inputs + ir_graph_n_results(gr) && ok; i++) {
            const char *arg = i < gr->n_inputs ? gr->input_names[i] : gr->output_names[i - gr->n_inputs];
            size_t len = strlen(gr->name) + strlen(arg) + 2;
            char *joined = malloc(len);
            ok = joined != NULL;
            if (!ok) break;
            snprintf(joined, len, "%s_%s", gr->name, arg);
            names[k] = (macro_name){upper(joined), gr->name, arg};
            free(joined);
            ok = names[k++].name != NULL;
        }
    }
    if (ok) qsort(names, k, sizeof *names, compare_macros);
    char *up = ok ? upper(prefix) : NULL;
    for (size_t i = 1; ok && i < k; i++) {
        if (strcmp(names[i - 1].name, names[i].name) != 0) continue;
        ir_error(d, IR_NO_LOC,
                 "argument '%s' of graph '%s' and argument '%s' of graph '%s' would both define %s_%s_SHAPE; "
                 "rename one of them",
                 names[i - 1].arg, names[i - 1].graph, names[i].arg, names[i].graph, up ? up : prefix, names[i].name);
        ok = false;
    }
    free(up);
    for (size_t i = 0; i < k; i++) free(names[i].name);
    free(names);
    return ok;
}

bool aot_check_names(const ir_module *m, const char *prefix, ir_diag *d) {
    if (!is_identifier(prefix) || in_list(prefix, c_keywords, sizeof c_keywords / sizeof *c_keywords)) {
        ir_error(d, IR_NO_LOC, "--name '%s' is not a C identifier (letters, digits and '_', not starting with a digit)",
                 prefix ? prefix : "");
        return false;
    }
    bool ok = true;
    for (int g = 0; g < m->n_graphs; g++) {
        const ir_graph *gr = m->graphs[g];
        if (in_list(gr->name, api_names, sizeof api_names / sizeof *api_names)) {
            ir_error(d, gr->loc, "graph '%s' would be %s_%s, which the library's API already defines; rename the graph",
                     gr->name, prefix, gr->name);
            ok = false;
        }
    }
    return ok && check_macros(m, prefix, d);
}

const char *aot_default_prefix(const char *model_path, char *buf, size_t size) {
    if (size == 0) return buf;
    const char *base = strrchr(model_path, '/');
    base = base ? base + 1 : model_path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    size_t k = 0;
    if (n > 0 && isdigit((unsigned char)base[0]) && k + 1 < size) buf[k++] = '_';
    for (size_t i = 0; i < n && k + 1 < size; i++) {
        unsigned char c = (unsigned char)base[i];
        buf[k++] = (char)(isalnum(c) || c == '_' ? c : '_');
    }
    if (k == 0 && size > 6) k = (size_t)snprintf(buf, size, "model");
    buf[k] = '\0';
    return buf;
}
