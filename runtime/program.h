/* program.h — a compiled graph as the runtime runs it: a list of steps (generated loop kernels,
 * GEMMs and convolutions through the runtime's own kernel or OpenBLAS, with their generated
 * epilogues) over a table of
 * memory slots, and the executor that runs it on a thread pool with one arena. The JIT and the
 * generated libraries both describe their code with these tables, so one executor serves both. */
#ifndef TFC_RUNTIME_PROGRAM_H
#define TFC_RUNTIME_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_MAX_RANK 8

/* Memory slots. Slot 0 is the arena (owned by the executor, 64-byte aligned, arena_bytes long);
 * slots 1.. are the caller's: the graph's inputs, then its outputs, then the module's
 * parameters (the compiler's numbering; codegen/codegen.h cg_slot_*). */
typedef struct rt_ref {
    int slot;
    int64_t offset;           /* bytes */
} rt_ref;

/* A generated loop kernel: runs iterations [begin, end) of its parallel loop (or its whole body
 * for [0, 1)). `scratch` is the calling thread's tile for an epilogue (see rt_gemm), NULL
 * otherwise. Returns 0, or 1 + the index of the first of its checks that failed. */
typedef int (*rt_kernel_fn)(char *const *slots, int64_t begin, int64_t end, char *scratch);

/* C[b] = op(A[b]) · op(B[b]) in f32, row-major: op(A) is M×K, op(B) is K×N, C is M×N with rows
 * of N elements. A is stored K×M when trans_a (lda its row stride in elements), likewise B.
 * The batch index b runs over batch[0..batch_rank) row-major; batch_stride_a/_b give each
 * operand's element stride per batch axis (0 broadcasts it); C's batches are contiguous.
 * With an epilogue, C's rows go to the thread's scratch tile instead of `c`, and the epilogue
 * (called with a range of C's rows, flattened over the batch) reads them there and writes the
 * step's real outputs while they are still in cache. (When a tile is not whole rows, the tiles
 * write one shared result instead and the epilogue runs over its row ranges afterwards; either
 * way its scratch argument points at the range's first row.) */
typedef struct rt_gemm {
    rt_ref a, b, c;
    int64_t m, n, k;
    bool trans_a, trans_b;
    int64_t lda, ldb;
    int batch_rank;
    int64_t batch[RT_MAX_RANK];
    int64_t batch_stride_a[RT_MAX_RANK];
    int64_t batch_stride_b[RT_MAX_RANK];
} rt_gemm;

/* 2-D convolution in f32, NCHW input, OIHW weights (O = out channels, I = c / groups), NCHW
 * output of n × o × oh × ow. Padding on the low side is pad_h/pad_w (the high side is implied by
 * oh/ow). With an epilogue, the result goes to the scratch tile in blocks of whole rows (the
 * output's dims but the last, flattened: n × o × oh rows of ow; a block is some output channels
 * of one image) and the epilogue is called with each block's row range as soon as it is written
 * (or, when the pixels are split across threads, over row ranges of a shared result afterwards).
 * In general an epilogue called for rows [begin, end) finds exactly those rows, contiguous, at
 * the start of the scratch tile. */
typedef struct rt_conv {
    rt_ref x, w, out;
    int64_t n, c, h, w_in;
    int64_t o, kh, kw, oh, ow;
    int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
} rt_conv;

typedef enum { RT_STEP_LOOP, RT_STEP_GEMM, RT_STEP_CONV } rt_step_kind;

typedef struct rt_step {
    const char *name;         /* the kernel's name (profiles, errors) */
    rt_step_kind kind;
    double flops, bytes;      /* the cost model's estimate (profiles) */
    rt_kernel_fn fn;          /* LOOP: the kernel; GEMM/CONV: the epilogue, or NULL */
    int64_t extent;           /* LOOP: the parallel range [0, extent) (1: run once) */
    int64_t grain;            /* LOOP: iterations below which a chunk is not worth a thread */
    rt_gemm gemm;
    rt_conv conv;
    int n_checks;
    const char *const *checks;   /* messages of the kernel's failed checks */
} rt_step;

typedef struct rt_program {
    const char *name;         /* the graph's name */
    int n_slots;
    int n_steps;
    const rt_step *steps;
    int64_t arena_bytes;
    /* Slots from this one on are the module's parameters: no step writes them, and they change
       only between runs, when the owner says so (rt_exec_params_changed). The executor keeps
       GEMM operands from them packed across runs. 0: unknown (nothing is kept). */
    int first_param_slot;
} rt_program;

/* ---- the executor (runtime/program.c) ------------------------------------------------------- */

typedef struct rt_exec rt_exec;

/* Prepares to run p with n_threads (<= 0: all online cores): allocates the arena, the thread
 * pool and the per-thread scratch tiles, and turns OpenBLAS's own threading off (the pool
 * splits GEMMs into tiles fixed by their shapes, so results do not depend on the thread count).
 * NULL on failure, with the reason in err. p must outlive the executor. */
rt_exec *rt_exec_create(const rt_program *p, int n_threads, char *err, size_t err_size);
/* As rt_exec_create for several programs that run one at a time (a module's graphs): one arena
 * (the largest any program needs), one pool, one set of scratch tiles. programs[i] must outlive
 * the executor; rt_exec_run_program picks the one to run. */
rt_exec *rt_exec_create_multi(const rt_program *const *programs, int n_programs, int n_threads, char *err,
                              size_t err_size);
void rt_exec_destroy(rt_exec *e);   /* NULL is ignored */
int rt_exec_threads(const rt_exec *e);

/* Runs every step in order. slots has p->n_slots entries; slots[0] is set to the arena by the
 * call; the others are the caller's buffers (dense, row-major, at least 4-byte aligned).
 * Returns 0, or non-zero when a kernel's check failed; rt_exec_error then says why and where:
 * "MESSAGE (in kernel NAME)". */
int rt_exec_run(rt_exec *e, char **slots);
/* Runs program i (0 <= i < n_programs) of an executor made by rt_exec_create_multi; the profile
 * functions below then describe that program's steps. rt_exec_run runs program 0. */
int rt_exec_run_program(rt_exec *e, int program, char **slots);
const char *rt_exec_error(const rt_exec *e);
/* Tells the executor that some parameter's contents or buffer changed since the last run (new
 * weights loaded, a training step's updates swapped in): GEMM operands it keeps packed from the
 * parameter slots are packed again at the next run. Whoever writes a parameter between runs
 * must call it; runs that only read them need not. */
void rt_exec_params_changed(rt_exec *e);

/* While on, each run records every step's start and end time (the last run's are kept). */
void rt_exec_set_profiling(rt_exec *e, bool on);
/* Writes the last profiled run as Chrome trace-event JSON (one complete event per step with its
 * name, FLOPs and bytes); false with errno set when the file cannot be written. */
bool rt_exec_write_trace(const rt_exec *e, const char *path);
/* The last profiled run's time of step i in seconds (0 before one). */
double rt_exec_step_seconds(const rt_exec *e, int i);

/* Monotonic time in seconds (benchmarks, profiles). */
double rt_now_seconds(void);

/* 64-byte aligned memory for free(), never 0 bytes (so an empty buffer is still a valid
   pointer); NULL when out of memory. The arena, the scratch tiles and a model's parameters. */
void *rt_alloc_aligned(size_t bytes);

#endif
