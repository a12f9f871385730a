/* exec_internal.h — the executor's private state, shared by program.c (steps, errors), gemm.c,
 * conv.c (library calls split into tiles) and trace.c (profiles). Tile plans are fixed per step
 * when the executor is created, from the shapes alone, so results never depend on the thread
 * count and scratch sizes are known up front. */
#ifndef TFC_RUNTIME_EXEC_INTERNAL_H
#define TFC_RUNTIME_EXEC_INTERNAL_H

#include "runtime/program.h"
#include "runtime/thread_pool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_ALIGN 64
/* An epilogue runs per tile only if the tile's rows fit this (L2-sized) per-thread scratch. */
#define RT_SCRATCH_MAX ((int64_t)512 << 10)

/* How one matrix product (per batch item, or per image and group) is cut into tiles: row blocks
   of rb rows and column blocks of cb columns, row_tiles × col_tiles in all; a thread takes at
   least `grain` tiles (of all items) at a time, so tiny items do not each cost a hand-off. */
typedef struct rt_tiles {
    int64_t rb, cb;
    int64_t row_tiles, col_tiles;
    int64_t grain;
} rt_tiles;

/* Per GEMM/CONV step. With an epilogue, either each tile's rows go to the thread's scratch and
   the epilogue follows at once (immediate: the tile spans whole rows and fits the scratch), or
   every tile writes into one shared result buffer and a second parallel pass runs the epilogue. */
typedef struct rt_step_plan {
    rt_tiles tiles;
    bool immediate;    /* epilogue per tile from the thread's scratch */
    bool im2col;       /* CONV: the columns must be gathered (not a plain 1×1) */
    bool private_cols; /* CONV: each thread gathers the columns of one (image, group) */
    /* CONV without im2col (conv.c, "implicit"): each thread copies the (image, group) it works on
       into a zero-padded image after its scratch tile (cols_offset), and the own sgemm reads the
       taps as shifted windows of it, koff[k] apart. Tiles are channel blocks (rb, row_tiles) ×
       bands of output rows (cb rows, col_tiles), each followed at once by its epilogue. */
    bool implicit;
    int64_t *koff;       /* per patch index k = (channel, ki, kj): its offset in the padded image */
    size_t thread_bytes; /* scratch tile + private columns, per thread */
    size_t cols_offset;  /* where the private columns start in the thread's memory */
    size_t shared_bytes; /* shared columns + shared result */
    /* GEMM whose transposed B is a parameter, on CPUs with the runtime's own kernel: B kept
       packed across runs (runtime/sgemm_avx512.h), packed again when its pointer or the
       executor's params_version changed. */
    bool keep_packed_b;
    float *packed_b;
    const float *packed_from; /* the B it was packed from */
    uint64_t packed_version;  /* params_version when it was packed; 0: never */
} rt_step_plan;

/* One per pool thread, a cache line apart so the failure notes do not bounce between cores. */
typedef struct rt_thread_state {
    _Alignas(RT_ALIGN) char *scratch; /* the epilogue's tile; CONV: private columns after it */
    int64_t cols_key;                 /* which (image · groups + group) the columns hold; -1: none */
    int64_t fail_at;                  /* lowest unit (chunk start or tile) whose check failed this step */
    int fail_code;                    /* its kernel's return value (1 + check index) */
} rt_thread_state;

/* One executor runs any of its programs, one at a time: the arena, the pool and the scratch are
   sized for the largest of them, and each program has its own tile plans. */
struct rt_exec {
    const rt_program **programs; /* n_programs of them (the array is the executor's copy) */
    int n_programs;
    rt_thread_pool *pool;
    int n_threads;
    char *arena;
    rt_step_plan **plans;     /* per program, one per step */
    rt_thread_state *threads; /* n_threads of them */
    char *thread_mem;         /* the threads' scratch, thread_stride bytes each */
    size_t thread_stride;
    char *shared; /* shared columns / results of the current step */
    bool profiling;
    const rt_program *timed; /* the program of the last profiled run (NULL before one) */
    int n_timed;             /* its steps timed in that run */
    double *t_begin, *t_end; /* per step of the longest program, rt_now_seconds() */
    uint64_t params_version; /* starts at 1; rt_exec_params_changed adds 1 */
    char error[512];
};

/* Integer helpers of the tile plans (gemm.c, conv.c); b > 0, a >= 0. */
static inline int64_t rt_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t rt_round_up(int64_t a, int64_t b) { return rt_ceil_div(a, b) * b; }
static inline int64_t rt_min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Where operand r lies among the run's slots. */
static inline char *rt_ref_ptr(char *const *slots, rt_ref r) { return slots[r.slot] + r.offset; }

/* gemm.c */
/* The tile grid of an m × n × k product repeated `items` times: enough tiles to feed many
   threads on large problems, each large enough that repacking operands stays cheap. */
rt_tiles rt_choose_tiles(int64_t m, int64_t n, int64_t k, int64_t items);
/* Fills the plan of a GEMM step of a program whose parameters start at slot first_param_slot (0:
   unknown); false with a message when the step cannot be run or memory runs out. */
bool rt_gemm_plan(const rt_step *s, int first_param_slot, rt_step_plan *plan, char *err, size_t err_size);
void rt_gemm_run(rt_exec *e, const rt_step *s, rt_step_plan *plan, char *const *slots);
/* C = A · B (row-major, f32) over an m × n block: the runtime's own kernel where it takes the shape
   (runtime/sgemm_avx512.h), else OpenBLAS's sgemm; zeros when k is 0. */
void rt_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
              int64_t ldb, float *c, int64_t ldc);
/* Runs the epilogue, in parallel, over the result rows [row0, row0 + rows), which lie in
   `results` (rows of row_len floats, row row0 first). */
void rt_epilogue_pass(rt_exec *e, const rt_step *s, char *const *slots, float *results, int64_t row0, int64_t rows,
                      int64_t row_len);

/* conv.c */
bool rt_conv_plan(const rt_step *s, rt_step_plan *plan, char *err, size_t err_size);
void rt_conv_run(rt_exec *e, const rt_step *s, const rt_step_plan *plan, char *const *slots);

/* program.c: failure notes. Units are numbered so that a lower unit is earlier in the output; a
   thread runs its units in increasing order, so the first failure it sees is its lowest. */
void rt_note_failure(rt_thread_state *t, int64_t unit, int code);
bool rt_step_failed(const rt_exec *e);

/* trace.c */
void rt_trace_step_begin(rt_exec *e, int i);
void rt_trace_step_end(rt_exec *e, int i);

#endif
