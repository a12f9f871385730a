/* program.c — the executor of a module's programs, run one at a time: one arena, thread pool and
 * per-thread scratch, sized at creation for the largest; a run walks one program's steps in order
 * (loop kernels split by the pool, library calls in gemm.c and conv.c) and stops at the first failed
 * check, reporting the lowest failing chunk so the message does not depend on scheduling. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/exec_internal.h"

#include <cblas.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_error(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t err_size, const char *fmt, ...) {
    if (!err || err_size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

/* The size is rounded up to the alignment, as aligned_alloc requires. */
void *rt_alloc_aligned(size_t bytes) {
    if (bytes > SIZE_MAX - RT_ALIGN) return NULL;
    bytes = bytes == 0 ? RT_ALIGN : (bytes + RT_ALIGN - 1) / RT_ALIGN * RT_ALIGN;
    return aligned_alloc(RT_ALIGN, bytes);
}

/* ---- checking the program and planning its library calls ---------------------------------- */

static bool ref_ok(const rt_program *p, rt_ref r) { return r.slot >= 0 && r.slot < p->n_slots && r.offset >= 0; }

static const char *step_problem(const rt_program *p, const rt_step *s) {
    switch (s->kind) {
    case RT_STEP_LOOP: return !s->fn ? "loop step without a kernel" : s->extent < 0 ? "negative extent" : NULL;
    case RT_STEP_GEMM:
        if (!ref_ok(p, s->gemm.a) || !ref_ok(p, s->gemm.b) || (!s->fn && !ref_ok(p, s->gemm.c)))
            return "operand outside the slot table";
        return NULL;
    case RT_STEP_CONV:
        if (!ref_ok(p, s->conv.x) || !ref_ok(p, s->conv.w) || (!s->fn && !ref_ok(p, s->conv.out)))
            return "operand outside the slot table";
        return NULL;
    }
    return "unknown step kind";
}

/* Checks every step of p and plans its tiles into plans; the largest scratch any step needs is
   kept in *thread_bytes (per thread) and *shared_bytes, which the caller sets for all programs. */
static bool plan_steps(const rt_program *p, rt_step_plan *plans, size_t *thread_bytes, size_t *shared_bytes,
                       char *err, size_t err_size) {
    for (int i = 0; i < p->n_steps; i++) {
        const rt_step *s = &p->steps[i];
        rt_step_plan *plan = &plans[i];
        char why[160] = "";
        const char *problem = step_problem(p, s);
        if (problem)
            snprintf(why, sizeof why, "%s", problem);
        else if (s->kind == RT_STEP_GEMM)
            rt_gemm_plan(s, p->first_param_slot, plan, why, sizeof why);
        else if (s->kind == RT_STEP_CONV)
            rt_conv_plan(s, plan, why, sizeof why);
        if (why[0]) {
            set_error(err, err_size, "program %s: step %d (kernel %s): %s", p->name ? p->name : "?", i,
                      s->name ? s->name : "?", why);
            return false;
        }
        if (plan->thread_bytes > *thread_bytes) *thread_bytes = plan->thread_bytes;
        if (plan->shared_bytes > *shared_bytes) *shared_bytes = plan->shared_bytes;
    }
    return true;
}

/* ---- create and destroy ------------------------------------------------------------------- */

/* The per-thread state and scratch; thread i's scratch tile first, its private columns after. */
static bool alloc_threads(rt_exec *e, size_t thread_bytes) {
    size_t n = (size_t)e->n_threads;
    e->threads = rt_alloc_aligned(n * sizeof(rt_thread_state));
    e->thread_stride = (thread_bytes + RT_ALIGN - 1) / RT_ALIGN * RT_ALIGN;
    if (!e->threads || (e->thread_stride > 0 && n > SIZE_MAX / e->thread_stride)) return false;
    e->thread_mem = rt_alloc_aligned(n * e->thread_stride);
    if (!e->thread_mem) return false;
    for (int i = 0; i < e->n_threads; i++) {
        rt_thread_state *t = &e->threads[i];
        memset(t, 0, sizeof *t);
        t->scratch = e->thread_mem + (size_t)i * e->thread_stride;
        t->cols_key = -1;
    }
    return true;
}

/* The arena (the largest any program needs), the pool and the scratch; false with the reason in
   err. */
static bool alloc_resources(rt_exec *e, int n_threads, size_t thread_bytes, size_t shared_bytes, char *err,
                            size_t err_size) {
    int64_t arena_bytes = 0;
    for (int i = 0; i < e->n_programs; i++)
        if (e->programs[i]->arena_bytes > arena_bytes) arena_bytes = e->programs[i]->arena_bytes;
    if ((uint64_t)arena_bytes > SIZE_MAX || !(e->arena = rt_alloc_aligned((size_t)arena_bytes))) {
        set_error(err, err_size, "out of memory: cannot allocate an arena of %lld bytes", (long long)arena_bytes);
        return false;
    }
    if (!(e->pool = rt_thread_pool_create(n_threads))) {
        set_error(err, err_size, "cannot start a pool of %d threads", n_threads);
        return false;
    }
    e->n_threads = rt_thread_pool_size(e->pool);
    if (!alloc_threads(e, thread_bytes) || !(e->shared = rt_alloc_aligned(shared_bytes))) {
        set_error(err, err_size, "out of memory: cannot allocate %zu bytes of scratch per thread and %zu shared",
                  thread_bytes, shared_bytes);
        return false;
    }
    return true;
}

static bool program_ok(const rt_program *p) {
    return p && p->n_slots >= 1 && p->n_steps >= 0 && (p->n_steps == 0 || p->steps) && p->arena_bytes >= 0;
}

/* The copy of the program list, one plan array per program and the step times (sized for the
   longest program); false when out of memory. */
static bool alloc_tables(rt_exec *e, const rt_program *const *programs, int n_programs) {
    e->n_programs = n_programs;
    e->programs = calloc((size_t)n_programs, sizeof *e->programs);
    e->plans = calloc((size_t)n_programs, sizeof *e->plans);
    if (!e->programs || !e->plans) return false;
    int longest = 1;
    for (int i = 0; i < n_programs; i++) {
        e->programs[i] = programs[i];
        int steps = programs[i]->n_steps > 0 ? programs[i]->n_steps : 1;
        if (steps > longest) longest = steps;
        if (!(e->plans[i] = calloc((size_t)steps, sizeof **e->plans))) return false;
    }
    e->t_begin = calloc((size_t)longest, sizeof(double));
    e->t_end = calloc((size_t)longest, sizeof(double));
    return e->t_begin && e->t_end;
}

rt_exec *rt_exec_create_multi(const rt_program *const *programs, int n_programs, int n_threads, char *err,
                              size_t err_size) {
    set_error(err, err_size, "%s", "");
    if (!programs || n_programs < 1) {
        set_error(err, err_size, "malformed program list");
        return NULL;
    }
    for (int i = 0; i < n_programs; i++)
        if (!program_ok(programs[i])) {
            set_error(err, err_size, "malformed program");
            return NULL;
        }
    if (n_threads > RT_THREAD_POOL_MAX) {
        set_error(err, err_size, "cannot run %d threads (at most %d)", n_threads, RT_THREAD_POOL_MAX);
        return NULL;
    }
    rt_exec *e = calloc(1, sizeof *e);
    if (e) e->params_version = 1;
    if (!e || !alloc_tables(e, programs, n_programs)) {
        set_error(err, err_size, "out of memory");
        rt_exec_destroy(e);
        return NULL;
    }
    size_t thread_bytes = 0, shared_bytes = 0;
    bool ok = true;
    for (int i = 0; ok && i < n_programs; i++)
        ok = plan_steps(programs[i], e->plans[i], &thread_bytes, &shared_bytes, err, err_size);
    if (ok && alloc_resources(e, n_threads, thread_bytes, shared_bytes, err, err_size)) {
        /* The pool splits GEMMs into tiles; OpenBLAS threads of its own would oversubscribe the
           cores (and make results depend on its thread count). */
        openblas_set_num_threads(1);
        return e;
    }
    rt_exec_destroy(e);
    return NULL;
}

rt_exec *rt_exec_create(const rt_program *p, int n_threads, char *err, size_t err_size) {
    return rt_exec_create_multi(&p, 1, n_threads, err, err_size);
}

void rt_exec_destroy(rt_exec *e) {
    if (!e) return;
    rt_thread_pool_destroy(e->pool);
    free(e->shared);
    free(e->thread_mem);
    free(e->threads);
    free(e->arena);
    free(e->t_end);
    free(e->t_begin);
    for (int i = 0; e->plans && i < e->n_programs; i++) {
        for (int s = 0; e->plans[i] && s < e->programs[i]->n_steps; s++) {
            free(e->plans[i][s].packed_b);
            free(e->plans[i][s].koff);
        }
        free(e->plans[i]);
    }
    free(e->plans);
    free(e->programs);
    free(e);
}

int rt_exec_threads(const rt_exec *e) { return e->n_threads; }

void rt_exec_params_changed(rt_exec *e) {
    if (e) e->params_version++;
}

const char *rt_exec_error(const rt_exec *e) { return e->error; }

/* ---- failures ----------------------------------------------------------------------------- */

void rt_note_failure(rt_thread_state *t, int64_t unit, int code) {
    if (code && unit < t->fail_at) {
        t->fail_at = unit;
        t->fail_code = code;
    }
}

bool rt_step_failed(const rt_exec *e) {
    for (int i = 0; i < e->n_threads; i++)
        if (e->threads[i].fail_code) return true;
    return false;
}

static void reset_failures(rt_exec *e) {
    for (int i = 0; i < e->n_threads; i++) {
        e->threads[i].fail_at = INT64_MAX;
        e->threads[i].fail_code = 0;
    }
}

/* The failure of the lowest unit over all threads, as "kernel NAME: MESSAGE"; 0 if none. */
static int report_failure(rt_exec *e, const rt_step *s) {
    const rt_thread_state *first = NULL;
    for (int i = 0; i < e->n_threads; i++) {
        const rt_thread_state *t = &e->threads[i];
        if (t->fail_code && (!first || t->fail_at < first->fail_at)) first = t;
    }
    if (!first) return 0;
    int check = first->fail_code - 1;
    const char *name = s->name ? s->name : "?";
    if (check >= 0 && check < s->n_checks && s->checks && s->checks[check])
        snprintf(e->error, sizeof e->error, "%s (in kernel %s)", s->checks[check], name);
    else
        snprintf(e->error, sizeof e->error, "kernel %s: check %d failed", name, first->fail_code);
    return first->fail_code;
}

/* ---- running ------------------------------------------------------------------------------ */

typedef struct loop_job {
    rt_exec *e;
    const rt_step *s;
    char *const *slots;
} loop_job;

static void loop_body(void *ctx, int64_t begin, int64_t end, int thread_index) {
    const loop_job *j = ctx;
    int code = j->s->fn(j->slots, begin, end, NULL);
    if (code) rt_note_failure(&j->e->threads[thread_index], begin, code);
}

static void run_step(rt_exec *e, const rt_step *s, rt_step_plan *plan, char *const *slots) {
    switch (s->kind) {
    case RT_STEP_LOOP: {
        loop_job j = {.e = e, .s = s, .slots = slots};
        rt_parallel_for(e->pool, s->extent, s->grain, loop_body, &j);
        break;
    }
    case RT_STEP_GEMM: rt_gemm_run(e, s, plan, slots); break;
    case RT_STEP_CONV: rt_conv_run(e, s, plan, slots); break;
    }
}

int rt_exec_run_program(rt_exec *e, int program, char **slots) {
    if (program < 0 || program >= e->n_programs) {
        snprintf(e->error, sizeof e->error, "program %d out of range (the executor has %d)", program,
                 e->n_programs);
        return 1;
    }
    const rt_program *p = e->programs[program];
    e->error[0] = '\0';
    slots[0] = e->arena;
    /* Again per run: code sharing the process may have turned OpenBLAS's threading back on. */
    openblas_set_num_threads(1);
    if (e->profiling) {
        e->timed = p;
        e->n_timed = 0;
    }
    for (int i = 0; i < p->n_steps; i++) {
        reset_failures(e);
        rt_trace_step_begin(e, i);
        run_step(e, &p->steps[i], &e->plans[program][i], slots);
        rt_trace_step_end(e, i);
        if (report_failure(e, &p->steps[i])) return 1;
    }
    return 0;
}

int rt_exec_run(rt_exec *e, char **slots) { return rt_exec_run_program(e, 0, slots); }
