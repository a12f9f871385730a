/* ast.h — the syntax tree of a .tg module as the parser builds it, the parser's state shared
 * with the scanner, and the small containers (pointer lists, string maps) the frontend uses.
 * Everything is allocated in one arena that lives for one compilation. */
#ifndef TFC_FRONTEND_AST_H
#define TFC_FRONTEND_AST_H

#include "ir/ir.h"

/* Limits that keep hostile input from exhausting the stack, the heap or the terminal. */
enum {
    FE_MAX_NEST = 256,          /* open brackets at once (clang's -fbracket-depth default) */
    FE_MAX_EXPR_DEPTH = 512,    /* depth of one expression tree */
    FE_MAX_IDENT = 256,         /* bytes in an identifier */
    FE_MAX_ERRORS = 50,         /* errors in one run before the frontend gives up */
};

/* ---- ast.c: containers ----------------------------------------------------------------- */

/* A growable array of pointers in the arena. */
typedef struct fe_list {
    void **items;
    int n, cap;
} fe_list;

void fe_list_push(ir_arena *a, fe_list *l, void *item);

/* An open-addressing map from strings to pointers, in the arena; keys are not copied. */
typedef struct fe_map {
    const char **keys;
    void **values;
    int n, cap;
} fe_map;

void *fe_map_get(const fe_map *m, const char *key);
void fe_map_put(ir_arena *a, fe_map *m, const char *key, void *value);

/* ---- ast.c: the tree ------------------------------------------------------------------- */

typedef enum {
    FE_E_ERROR,     /* a subtree already reported (too deep); lowering never sees one */
    FE_E_INT,
    FE_E_FLOAT,
    FE_E_STRING,
    FE_E_BOOL,
    FE_E_DTYPE,     /* a dtype name used as a value: cast(x, f32) */
    FE_E_NAME,
    FE_E_CALL,
    FE_E_LIST,
    FE_E_BINARY,
    FE_E_NEG,
} fe_expr_kind;

typedef enum { FE_ADD, FE_SUB, FE_MUL, FE_DIV, FE_MATMUL, FE_POW, FE_EQ, FE_NE, FE_LT, FE_LE, FE_GT, FE_GE } fe_binop;

typedef struct fe_expr fe_expr;

typedef struct fe_arg {
    const char *name;       /* keyword, or NULL for a positional argument */
    ir_loc name_loc;
    fe_expr *value;
} fe_arg;

struct fe_expr {
    fe_expr_kind kind;
    ir_loc loc;             /* the operator for BINARY and NEG, the callee for CALL */
    int depth;              /* height of this subtree, bounded by FE_MAX_EXPR_DEPTH */
    int64_t ival;           /* INT, BOOL */
    double fval;            /* FLOAT */
    ir_dtype dtype;         /* DTYPE */
    const char *str;        /* STRING contents, NAME, CALL callee */
    fe_binop op;            /* BINARY */
    fe_expr *lhs, *rhs;     /* BINARY; NEG uses lhs */
    fe_arg **args;          /* CALL */
    int n_args;
    fe_expr **items;        /* LIST */
    int n_items;
};

typedef struct fe_name {
    const char *name;
    ir_loc loc;
} fe_name;

/* One dimension of a written type: a literal, or the name of a const. */
typedef struct fe_dim {
    const char *name;       /* NULL: value holds the literal */
    int64_t value;
    ir_loc loc;
} fe_dim;

typedef struct fe_type {
    ir_dtype dtype;
    ir_loc loc;
    fe_dim **dims;
    int n_dims;
} fe_type;

/* A graph argument or output: `name : type` (type NULL where an output leaves it out). */
typedef struct fe_decl {
    fe_name name;
    fe_type *type;
} fe_decl;

typedef enum { FE_S_ASSIGN, FE_S_MINIMIZE } fe_stmt_kind;

typedef struct fe_stmt {
    fe_stmt_kind kind;
    ir_loc loc;             /* the '=' of an assignment, the `minimize` keyword */
    fe_name **targets;      /* ASSIGN: a, b = ...; MINIMIZE: the loss */
    int n_targets;
    fe_expr *value;         /* ASSIGN: the right side; MINIMIZE: the optimizer call */
} fe_stmt;

typedef enum { FE_I_CONST, FE_I_PARAM, FE_I_FN, FE_I_GRAPH, FE_I_PARALLEL } fe_item_kind;

typedef struct fe_item {
    fe_item_kind kind;
    ir_loc loc;             /* the keyword */
    fe_name name;
    /* const: the value with its sign folded in */
    bool is_float;
    int64_t ival;
    double fval;
    ir_loc value_loc;
    /* param */
    fe_type *type;
    fe_expr *init;          /* NULL: no initializer */
    bool has_split;
    int64_t split_axis;
    ir_loc split_loc;
    /* fn: params; graph: args and outs */
    fe_decl **params;
    int n_params;
    fe_decl **outs;
    int n_outs;
    fe_stmt **body;
    int n_body;
    fe_expr **rets;         /* fn: the returned expressions (n_rets 0: no `return`) */
    int n_rets;
    ir_loc end_loc;         /* the closing brace */
} fe_item;

typedef struct fe_module {
    fe_list items;          /* fe_item * */
} fe_module;

/* ---- ast.c and the scanner and parser: shared parsing state ------------------------------ */

typedef struct fe_parser {
    ir_diag *d;
    int file;
    ir_arena *arena;
    int errors_at_start;
    int line, col;          /* where the scanner stands */
    int nest;               /* open brackets */
    bool stop;              /* a fatal error was reported: scan no further, report nothing */
    bool too_deep;          /* "nested too deeply" was reported once */
    char tok_text[40];      /* the last token's text, for syntax error messages */
    int end_line, end_col;  /* just after the last token: where the end of file is reported */
    int lex_error_line;     /* line of the last scanner error */
    fe_module module;
} fe_parser;

/* Counts against FE_MAX_ERRORS: true (and stops the parse) once too many were reported. */
bool fe_parser_gave_up(fe_parser *p);

fe_expr *fe_expr_new(fe_parser *p, fe_expr_kind kind, ir_loc loc);
fe_expr *fe_expr_binary(fe_parser *p, fe_binop op, ir_loc loc, fe_expr *lhs, fe_expr *rhs);
fe_expr *fe_expr_neg(fe_parser *p, ir_loc loc, fe_expr *operand);
fe_expr *fe_expr_call(fe_parser *p, const char *callee, ir_loc loc, fe_list *args);
fe_expr *fe_expr_list(fe_parser *p, ir_loc loc, fe_list *items);
fe_name *fe_name_new(fe_parser *p, const char *name, ir_loc loc);
const char *fe_binop_symbol(fe_binop op);

/* Parses the source registered as `file` into p->module; errors are reported in p->d. */
void fe_parse(fe_parser *p, ir_diag *d, int file, ir_arena *arena);

#endif
