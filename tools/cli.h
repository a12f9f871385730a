/* cli.h — shared pieces of the `tfc` command: option parsing, loading a model (.tg or .tgir),
 * picking a graph, and moving tensors between .npy/safetensors files and the interpreter. */
#ifndef TFC_CLI_H
#define TFC_CLI_H

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "runtime/tensor_file.h"

/* Exit statuses (docs/cli.md). */
enum { CLI_OK = 0, CLI_USER_ERROR = 1, CLI_INTERNAL_ERROR = 2 };

typedef struct cli_binding {
    const char *name;
    const char *path;
} cli_binding;

/* Options shared by the verbs; each verb reads the ones it documents. */
typedef struct cli_options {
    const char *verb;
    const char *model;            /* the positional FILE */
    const char *graph;            /* --graph */
    fe_define defines[64];        /* -D NAME=VALUE */
    int n_defines;
    uint64_t seed;                /* --seed */
    const char *stage;            /* dump --stage */
    const char *format;           /* dump --format */
    const char *passes;           /* opt --passes */
    const char *backend;          /* run --backend */
    cli_binding ins[64], outs[64];/* run --in / --out */
    int n_ins, n_outs;
    const char *weights;          /* --weights */
    const char *save_weights;     /* --save-weights */
    bool random_inputs;           /* run --random-inputs */
    bool help;
    int opt_level;                /* -O0..-O3; -1: the verb's default */
    bool verify_each;             /* --verify-each */
    bool time_passes;             /* --time-passes */
    const char *dump_after;       /* --dump-after PASS|all */
    const char *dump_dir;         /* --dump-dir DIR */
    bool explain_fusion;          /* --explain-fusion */
    int threads;                  /* run --threads; 0: all cores */
    int bench_runs;               /* run --bench N; 0: no benchmark */
    int steps;                    /* run --steps N; 0: one step */
    int epochs;                   /* run --epochs E; 0: none (the inputs are one batch) */
    bool shuffle;                 /* run --shuffle: permute the rows each epoch (from --seed) */
    const char *profile;          /* run --profile FILE */
    const char *cpu;              /* --cpu NAME; NULL: the host */
    const char *out_dir;          /* compile -o DIR */
    const char *name;             /* compile --name PREFIX */
    const char *target;           /* compile --target cpu|cuda */
    bool shared;                  /* compile --shared */
} cli_options;

/* cli_args.c: parses argv after the verb; reports a bad option and returns false. */
bool cli_parse_args(int argc, char **argv, cli_options *o);
void cli_print_verb_help(FILE *out, const char *verb);
void cli_print_usage(FILE *out);

/* cli_load.c: reads a source file, compiles it (.tg) or parses it (.tgir), verifies. */
typedef struct cli_model {
    ir_diag diag;
    ir_module *module;
} cli_model;
int cli_load_model(const cli_options *o, cli_model *out);
void cli_model_free(cli_model *m);
/* The graph named by --graph, or the module's only graph; reports and returns NULL otherwise. */
ir_graph *cli_pick_graph(const cli_options *o, cli_model *m);
/* The exit status after a failure reported to d: CLI_INTERNAL_ERROR when it was a bug in tfc,
 * CLI_USER_ERROR otherwise. */
int cli_failure_status(const ir_diag *d);

/* cli_passes.c: runs the passes that --passes, -O and the dump stage ask for. Returns an exit
 * status: CLI_INTERNAL_ERROR when a pass broke an invariant (a bug), CLI_USER_ERROR otherwise. */
int cli_optimize(const cli_options *o, cli_model *m, const char *stage, int default_level);

/* cli_tensors.c: files <-> interpreter tensors, with the checks a user's files need. */
bool cli_load_input(const char *path, const char *what, const ir_type *want, ir_tensor *out, ir_diag *d);
/* A file of rows for --epochs: want's dtype and dims but the first, which may be any size (want
 * has rank >= 1); out gets the file's row count as dims[0]. */
bool cli_load_rows(const char *path, const char *what, const ir_type *want, ir_tensor *out, ir_diag *d);
bool cli_save_tensor(const char *path, const ir_tensor *t, ir_diag *d);
/* Every parameter's value: from --weights, else its initializer with --seed; optimizer state
 * (ir_param.state) is zeros and never in a weights file. */
bool cli_init_params(const cli_options *o, const ir_module *m, ir_tensor *params, ir_diag *d);
/* Writes the parameters but optimizer state to a safetensors file. */
bool cli_save_params(const char *path, const ir_module *m, const ir_tensor *params, ir_diag *d);
void cli_print_summary(FILE *out, const char *name, const ir_tensor *t);

/* cli_steps.c: repeating a graph's step. --steps N runs it N times on the same inputs; --epochs
 * walks inputs of more rows than the graph's batch in minibatches. `step` runs one step (last:
 * the run's final one) and makes a training graph's updates the parameters' values; `outputs`
 * holds its results afterwards, whose scalars the step and epoch lines report. */
typedef bool (*cli_step_fn)(void *ctx, bool last);
typedef struct cli_dataset {
    int n_inputs;
    ir_tensor *rows;              /* each input's whole file: n_rows along axis 0 */
    int64_t n_rows, batch;        /* batch: the graph's axis 0 */
    int64_t *order;               /* the rows in this epoch's order */
} cli_dataset;
/* Reads every input of g from its --in file for --epochs; reports and returns false when one is
 * missing, a scalar, of the wrong type, of fewer rows than the batch, or of another row count
 * than the others. */
bool cli_dataset_load(const cli_options *o, const ir_graph *g, cli_dataset *ds, ir_diag *d);
void cli_dataset_free(cli_dataset *ds);
/* `--steps N` (N from o, 1 when not given): prints `step I/N: NAME V, ...` per step when N > 1. */
bool cli_run_steps(const cli_options *o, const ir_graph *g, const ir_tensor *outputs, cli_step_fn step, void *ctx);
/* `--epochs E [--shuffle]`: fills `inputs` (the graph's batch) from ds before each step; prints
 * `epoch I/E: NAME MEAN, ... (S steps, T s)` per epoch, and a progress bar on a terminal. */
bool cli_run_epochs(const cli_options *o, const ir_graph *g, cli_dataset *ds, ir_tensor *inputs,
                    const ir_tensor *outputs, cli_step_fn step, void *ctx);

/* cli_backend.c: the CPU backend. */
struct cg_program;
struct cg_cpu_jit;
struct cg_cpu_options;
struct rt_exec;
typedef struct cli_compiled {
    struct cg_program *program;   /* Kernel IR */
    struct cg_cpu_jit *jit;       /* the compiled code */
    struct rt_exec *exec;         /* arena, thread pool, scratch */
    double compile_seconds;       /* lowering, LLVM and the JIT */
} cli_compiled;
/* Runs the passes code generation needs after the -O pipeline or --passes list: optimizer and
 * autodiff while a minimize or grad node remains, decompose while composite ops remain, then
 * plan. Returns an exit status. */
int cli_prepare_codegen(const cli_options *o, cli_model *m);
/* `dump --stage kernel|llvm|asm` of the picked graph (the module is prepared). */
int cli_dump_code(const cli_options *o, cli_model *m, const char *stage);
/* The code generator's options from -O (default 3), --cpu and --dump-dir. */
struct cg_cpu_options cli_cpu_options(const cli_options *o);
/* Lowers, compiles (--cpu, -O, --dump-dir) and makes an executor with --threads threads. */
int cli_compile_cpu(const cli_options *o, cli_model *m, const ir_graph *g, cli_compiled *out);
void cli_compiled_free(cli_compiled *c);

/* One function per verb. */
int cli_check(const cli_options *o);
int cli_dump(const cli_options *o);
int cli_opt(const cli_options *o);
int cli_run(const cli_options *o);
int cli_compile(const cli_options *o);

#endif
