/* codegen.h — Kernel IR: each kernel of a planned graph as a loop nest over an index space with
 * scalar expressions, loads and stores (the elemental style of XLA's emitters), or as a library
 * call (GEMM, convolution) with an elementwise epilogue. Both backends consume it: the CPU
 * backend emits LLVM IR, the CUDA backend CUDA C. The private header of the codegen/ layer;
 * sections name the file that defines each group. */
#ifndef TFC_CODEGEN_H
#define TFC_CODEGEN_H

#include "ir/ir.h"
#include "runtime/program.h"

/* ---- Kernel IR: values ---------------------------------------------------------------------
 * Scalar types are ir_dtype values: expressions compute in IR_F32, IR_I32, IR_I64 or IR_BOOL.
 * IR_F16 and IR_BF16 exist only in memory: a load of one gives an IR_F32 value and a store
 * rounds an IR_F32 value to nearest even. Index arithmetic is IR_I64. */

/* The scalar functions of expressions. Float semantics follow NumPy on f32: MAX/MIN propagate
 * NaN; DIV and REM on integers truncate toward zero (only index arithmetic uses them, with
 * positive operands); FLOOR_DIV/FLOOR_MOD are Python's // and % on integers. */
typedef enum {
    /* unary (operand and result of one type unless noted) */
    CG_NEG, CG_ABS, CG_EXP, CG_LOG, CG_SQRT, CG_RSQRT, CG_TANH, CG_SIGMOID, CG_RELU, CG_GELU,
    CG_GELU_TANH, CG_SILU, CG_SIN, CG_COS, CG_ERF, CG_FLOOR, CG_CEIL,
    CG_NOT,        /* bool → bool */
    CG_ISNAN,      /* f32 → bool */
    /* binary */
    CG_ADD, CG_SUB, CG_MUL, CG_DIV, CG_REM, CG_FLOOR_DIV, CG_FLOOR_MOD, CG_POW, CG_MAX, CG_MIN,
    CG_AND, CG_OR, /* bool */
    /* comparisons → bool (floats: ordered, so NaN compares false, except NE) */
    CG_LT, CG_LE, CG_GT, CG_GE, CG_EQ, CG_NE,
    CG_FN_COUNT
} cg_fn;

const char *cg_fn_name(cg_fn f);   /* "exp" */
int cg_fn_arity(cg_fn f);          /* 1 or 2 */

typedef enum {
    CG_CONST,      /* value.f (IR_F32) or value.i (integers, bool) */
    CG_VAR,        /* a loop index or a scalar variable: var */
    CG_BEGIN,      /* the first index of this call's range of the kernel's parallel loop (i64) */
    CG_LOAD,       /* buf[index]: a[0] is the element index (i64), not bytes */
    CG_CALL,       /* fn(a[0]) or fn(a[0], a[1]) */
    CG_SELECT,     /* a[0] (bool) ? a[1] : a[2] */
    CG_CAST,       /* a[0] converted to type: float→int truncates toward zero (saturating, NaN → 0),
                      int→bool is != 0, bool→number is 0 or 1 */
    CG_EXPR_KIND_COUNT
} cg_expr_kind;

/* Expressions are immutable DAG nodes allocated in the program's arena; a subexpression may be
 * shared. A backend may emit a shared node once per statement (every use in one statement sees
 * the same operand values) but must not reuse it across statements. */
typedef struct cg_expr {
    cg_expr_kind kind;
    ir_dtype type;
    cg_fn fn;                 /* CALL */
    int var;                  /* VAR */
    int buf;                  /* LOAD: index into the program's buffer table */
    union {
        double f;
        int64_t i;
    } value;                  /* CONST */
    struct cg_expr *a[3];
} cg_expr;

/* ---- Kernel IR: statements ------------------------------------------------------------------ */

typedef enum {
    CG_LOOP,       /* for (var = 0; var < extent; var++) body */
    CG_ASSIGN,     /* var = value (scalar variables are mutable; a loop variable is not assigned) */
    CG_STORE,      /* buf[index] = value */
    CG_CHECK,      /* if (!value) the kernel reports check `check` after it finishes; it goes on
                      (the lowering keeps memory accesses in bounds by clamping), so the check
                      does not block vectorization */
    CG_STMT_KIND_COUNT
} cg_stmt_kind;

enum {
    CG_LOOP_PARALLEL = 1 << 0,   /* iterations are independent: the runtime splits this loop
                                    across threads (at most one per kernel: its outermost loop) */
    CG_LOOP_VECTOR = 1 << 1,     /* innermost, vectorizable: no loop-carried dependence except
                                    reductions into scalar variables (reassociation allowed) */
};

typedef struct cg_stmt {
    cg_stmt_kind kind;
    int var;                  /* LOOP: its index variable; ASSIGN: the target */
    int64_t extent;           /* LOOP */
    unsigned flags;           /* LOOP: CG_LOOP_* */
    int buf;                  /* STORE */
    int check;                /* CHECK: index into the kernel's check messages */
    bool nontemporal;         /* STORE: a large write-once output; the backend may bypass caches */
    cg_expr *index;           /* STORE: element index (i64) */
    cg_expr *value;           /* ASSIGN, STORE, CHECK */
    int n_body;               /* LOOP */
    struct cg_stmt **body;
} cg_stmt;

typedef struct cg_var {
    const char *name;         /* for dumps: "i0", "acc3" */
    ir_dtype type;
    bool is_index;            /* a loop variable (i64) */
} cg_var;

/* ---- Kernel IR: buffers, kernels and the program ---------------------------------------------
 * Every buffer is a byte offset into one of the program's slots (runtime/program.h): slot 0 is
 * the arena; then the graph's inputs, outputs and the module's parameters, in that order.
 * CG_SCRATCH_SLOT names the per-thread scratch tile of a library call: an epilogue reads the
 * GEMM or convolution result there, its element 0 being the first element of row CG_BEGIN. */
#define CG_SCRATCH_SLOT (-1)

typedef struct cg_buffer {
    const char *name;         /* for dumps: the value's name ("%12", "x", "param w1") */
    int slot;
    int64_t offset;           /* bytes, a multiple of the dtype size (64-aligned in the arena) */
    ir_dtype dtype;
    int64_t elems;
} cg_buffer;

typedef enum {
    CG_KERNEL_LOOP,           /* a loop nest (elementwise, movement, reductions, pooling, ...) */
    CG_KERNEL_GEMM,           /* rt_gemm, then the epilogue over the result's rows (if any) */
    CG_KERNEL_CONV,           /* rt_conv, then the epilogue */
} cg_kernel_kind;

typedef struct cg_kernel {
    const char *name;         /* the schedule's kernel name (ir_kernel.name), a C identifier */
    cg_kernel_kind kind;
    ir_cost cost;
    /* LOOP: the loop nest. Its first statement may be the one CG_LOOP_PARALLEL loop, whose
       extent is the kernel's parallel range; otherwise the whole body runs once (range [0,1)).
       GEMM/CONV: the epilogue, NULL when the library call writes the result directly; it is a
       CG_LOOP_PARALLEL loop over the result's rows (all dims but the last, flattened), called
       for the rows the library call just wrote, which it reads from CG_SCRATCH_SLOT (row r's
       element c at index (r - CG_BEGIN) * row_length + c). */
    int n_body;
    cg_stmt **body;
    int64_t parallel_extent;  /* the parallel loop's extent; 1 without one */
    int64_t grain;            /* the least iterations worth a thread of their own (size threshold) */
    rt_gemm gemm;             /* GEMM: operands, shapes; its a/b/c refs are program slots */
    rt_conv conv;             /* CONV */
    int lib_buf[3];           /* GEMM: the buffers gemm.a, b, c point into; CONV: conv.x, w, out
                                 (arena buffers may share an offset: dumps and checks use these) */
    int n_checks;
    const char **checks;      /* CHECK messages: "gather: index out of range [0, 10)" */
} cg_kernel;

typedef struct cg_program {
    ir_arena *arena;          /* owns everything below */
    const ir_graph *graph;
    int n_slots;              /* 1 + inputs + outputs + params */
    int n_kernels;
    cg_kernel *kernels;
    int n_buffers;
    cg_buffer *buffers;
    int n_vars;
    cg_var *vars;             /* variables are numbered across the program */
    int64_t arena_bytes;
} cg_program;

/* Slot numbers (runtime/program.h explains the table). */
static inline int cg_slot_input(const ir_graph *g, int i) { (void)g; return 1 + i; }
static inline int cg_slot_output(const ir_graph *g, int i) { return 1 + g->n_inputs + i; }
static inline int cg_slot_param(const ir_graph *g, int p) { return 1 + g->n_inputs + g->n_outputs + p; }

/* ---- codegen/lower*.c: Graph IR → Kernel IR ------------------------------------------------- */

/* Lowers a planned graph (ir_graph.planned) to a program: one cg_kernel per ir_graph_kernels
 * entry (same order, same names), plus a copy kernel for each graph output whose value lives
 * elsewhere (an input, a parameter, another output). NULL after reporting (ir_bug for broken
 * invariants, ir_error for what the backend does not support). */
cg_program *cg_lower_graph(const ir_graph *g, ir_diag *d);
void cg_program_destroy(cg_program *p);

/* ---- codegen/print.c: the `--stage kernel` dump -------------------------------------------- */

void cg_print_program(FILE *out, const cg_program *p);

#endif
