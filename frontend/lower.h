/* lower.h — internal to the lower*.c files: the lowering context, compile-time values, name
 * bindings and op-signature tables shared by lowering of modules, expressions, calls and
 * parameters. Sections name the file that defines each group. */
#ifndef TFC_FRONTEND_LOWER_H
#define TFC_FRONTEND_LOWER_H

#include "frontend/ast.h"
#include "frontend/frontend.h"

enum {
    FE_MAX_LOWER_DEPTH = 2000,  /* nested expressions across inlined fn calls */
    FE_MAX_INLINE = 100,        /* fn calls inside fn calls */
    FE_MAX_NODES = 100000,      /* operations in one graph after inlining */
    FE_MAX_CALLS = 50000,       /* fn calls inlined into one graph (bounds the work even where
                                   failing calls add no nodes) */
    FE_MAX_SIG = 12,            /* parameters in one op signature */
};

/* What an expression evaluates to. Numbers stay compile-time literals (weakly typed) until
 * they meet a tensor; lists stay lists until a signature says what they mean. */
typedef enum {
    FE_V_ERROR,     /* already reported: every use is silent */
    FE_V_TENSOR,
    FE_V_INT,
    FE_V_FLOAT,
    FE_V_BOOL,
    FE_V_STRING,
    FE_V_DTYPE,
    FE_V_LIST,
} fe_value_kind;

typedef struct fe_value {
    fe_value_kind kind;
    ir_loc loc;
    int node;                   /* TENSOR: node id in the current graph */
    int64_t i;                  /* INT, BOOL, DTYPE */
    double f;                   /* FLOAT */
    const char *s;              /* STRING */
    struct fe_value *items;     /* LIST */
    int n_items;
} fe_value;

/* A name in a body or in the module. */
typedef struct fe_binding {
    const char *name;
    ir_loc loc;
    const char *what;           /* "const", "parameter", "input", "local", "fn argument" */
    int param;                  /* >= 0: a module parameter, lowered lazily per graph */
    fe_value value;             /* everything else */
} fe_binding;

/* A graph body, or one inlined fn call. */
typedef struct fe_body {
    fe_map locals;              /* name -> fe_binding */
    fe_map assigned;            /* every name the body assigns, bound yet or not -> fe_name */
    const fe_item *fn;          /* NULL: a graph body */
    ir_loc call_loc;
    struct fe_body *caller;
    int inline_depth;
} fe_body;

typedef enum {
    FE_K_TENSOR, FE_K_TENSORS, FE_K_INT, FE_K_INTS, FE_K_AXES, FE_K_BOOL, FE_K_FLOAT, FE_K_DTYPE,
    FE_K_SHAPE, FE_K_INT2, FE_K_PADS, FE_K_SPATIALPAD, FE_K_CONVPAD, FE_K_STRING,
} fe_kind;

/* One parameter of a surface signature (ops.def's syntax). */
typedef struct fe_sig_param {
    char name[24];
    fe_kind kind;
    int attr;                   /* ir_attr_id it fills; -1 for tensors and strings */
    bool has_default;
    char def[24];               /* the default's text; "" with has_default: none */
} fe_sig_param;

typedef struct fe_sig {
    const char *callee;         /* the name the user wrote, for messages */
    int n;
    fe_sig_param p[FE_MAX_SIG];
} fe_sig;

typedef struct fe_ctx {
    ir_diag *d;
    ir_arena *arena;            /* AST and scratch */
    const fe_module *ast;
    const fe_options *opt;
    ir_module *m;
    const char *src_dir;        /* initializer paths are relative to it ("" for the cwd) */
    fe_map globals;             /* consts and params: name -> fe_binding */
    fe_map fns;                 /* name -> fe_item */
    fe_map reported;            /* "file:line:col" of errors already reported */
    fe_map inlined;             /* fns inlined at least once (the others get a names-only check) */
    fe_sig sigs[IR_OP_COUNT];
    fe_sig zeros_sig, ones_sig; /* the aliases zeros([..], dtype) and ones([..], dtype) of full */
    /* the graph being lowered */
    ir_graph *g;
    int *param_nodes;           /* per module parameter: its node in g, or -1 */
    fe_body *body;
    int depth;
    int calls;                  /* fn calls inlined into g so far */
    bool graph_too_big;
    bool too_deep;
    ir_loc minimize_loc;        /* the graph's first `minimize` (line 0: none yet) */
    int errors_at_start;
    bool stopped;               /* FE_MAX_ERRORS reached: lower nothing more */
} fe_ctx;

/* ---- lower.c: names, errors, graphs ------------------------------------------------------- */

/* Reports an error unless one was already reported at loc (inlined fn bodies are lowered once
 * per call), with notes naming the calls it was inlined from. True if it was reported. */
bool fe_error(fe_ctx *c, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* True once FE_MAX_ERRORS errors were reported (saying so once): lowering stops. */
bool fe_stopped(fe_ctx *c);
/* The notes for an error inside inlined fn calls: one per call site, innermost first. */
void fe_inline_notes(fe_ctx *c);
/* The binding of name in the current body or the module, or NULL. */
fe_binding *fe_lookup(fe_ctx *c, const char *name);
/* Binds name in the current body; a name already bound there or in the module is an error. */
void fe_bind(fe_ctx *c, const fe_name *name, const char *what, fe_value value);
/* Adds a module-level name (const or parameter); a second definition is an error. */
bool fe_declare(fe_ctx *c, fe_binding *b);
/* Lowers the statements of a graph or fn body into the current graph (the current body). */
void fe_lower_stmts(fe_ctx *c, fe_stmt *const *stmts, int n);
/* The closest of the names bound in the map (and, if given, a second map), or NULL. */
const char *fe_closest_in(fe_ctx *c, const char *name, const fe_map *a, const fe_map *b);

/* ---- lower_expr.c: expressions, literals, operators ---------------------------------------- */

fe_value fe_lower_expr(fe_ctx *c, const fe_expr *e);
fe_value fe_error_value(void);
/* Appends a node (NULL once the graph is over FE_MAX_NODES, reported once). */
ir_node *fe_add_node(fe_ctx *c, ir_op op, const int *in, int n, ir_loc loc);
/* ir_infer, with notes for the inlined calls that led to the node. */
bool fe_infer(fe_ctx *c, ir_node *n);
/* Appends op with the given operands and attributes (NULL: none) to the graph and infers its
 * type. Literal operands become constants of the dtype of the tensors they meet. */
fe_value fe_emit(fe_ctx *c, ir_op op, const fe_value *operands, int n, const ir_attr *attrs, ir_loc loc);
/* The value as a tensor node (literals as constants of dtype dt), or -1 after an error. */
int fe_tensor(fe_ctx *c, fe_value v, ir_dtype dt, const char *what);
const char *fe_value_desc(const fe_value *v);
/* Reports an unknown name, with a suggestion from the names in scope. */
void fe_unknown_name(fe_ctx *c, const char *name, ir_loc loc);

/* ---- lower_call.c: calls of ops, aliases and fns --------------------------------------------- */

void fe_sigs_init(fe_ctx *c);
bool fe_sig_parse(fe_sig *s, const char *callee, const char *text);
/* Reports the callee of call if no fn, op or alias has its name. */
void fe_check_callee(fe_ctx *c, const fe_expr *call);
/* Lowers a call; fills up to max results and returns how many the callee gives (0: error). */
int fe_lower_call(fe_ctx *c, const fe_expr *e, fe_value *out, int max);
/* Binds call arguments to a signature: vals[i] for parameter i (kind FE_V_ERROR when absent
 * and defaulted, set[i] false). False after reporting an error. */
bool fe_bind_args(fe_ctx *c, const fe_sig *s, const fe_expr *call, fe_value *vals, bool *set);
/* Parameter i's value as a number: the argument if set, else the default. */
bool fe_float_arg(fe_ctx *c, const fe_sig *s, int i, const fe_value *vals, const bool *set, double *out);

/* ---- lower_param.c: types, parameters, initializers ------------------------------------- */

/* The IR type of a written type; dims name non-negative integer consts. */
bool fe_resolve_type(fe_ctx *c, const fe_type *t, ir_type *out);
void fe_lower_params(fe_ctx *c);

#endif
