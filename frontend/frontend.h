/* frontend.h — the .tg frontend: flex scanner, bison grammar, AST, name resolution, inlining
 * of `fn`, lowering to Graph IR. The private header of the frontend/ layer. */
#ifndef TFC_FRONTEND_H
#define TFC_FRONTEND_H

#include "ir/ir.h"

/* A `-D NAME=VALUE` override of a module const. */
typedef struct fe_define {
    const char *name;
    const char *value;     /* text of a number, optionally with a leading '-' */
} fe_define;

typedef struct fe_options {
    const fe_define *defines;
    int n_defines;
} fe_options;

/* Parses, checks and lowers the source registered in d as `file` into a module. Reports every
 * error it can find (several per run where the parser recovers) and returns NULL if any. */
ir_module *fe_compile(ir_diag *d, int file, const fe_options *opt);

/* As fe_compile, but lowers only the graph named only_graph (with all parameters): the module's
 * other graph bodies are neither lowered nor checked; syntax errors and module-level errors
 * always are reported. An unknown graph name is an error. What `--graph G` gives the commands
 * that work on one graph (a library of that graph alone, a run that compiles nothing else). */
ir_module *fe_compile_partial(ir_diag *d, int file, const fe_options *opt, const char *only_graph);

#endif
