/* thread_pool.c — a persistent pthreads pool: size - 1 workers that spin for a while, then sleep
 * on a condition variable until the caller publishes a parallel-for. The range's chunks are fixed
 * (a pure function of n, size and min_chunk) but claimed dynamically: every thread, the caller
 * included, takes the next unclaimed chunk until none is left. So a worker that is slow to wake
 * (a descheduled virtual CPU, a core busy with another process) costs parallelism, never a wait:
 * the caller runs the chunks the worker did not get to, and only waits for chunks already
 * running. One mutex guards the sleeping and the pool's ownership; the hot hand-off (generation,
 * claim word, finished count) is atomic so back-to-back kernels reach spinning workers without a
 * system call. */
#define _GNU_SOURCE /* sched_getcpu, CPU_SET, pthread_setaffinity_np */

#include "runtime/thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long an idle thread polls before it sleeps, in nanoseconds: long enough to bridge the
   gaps between the kernels of a model run and between back-to-back runs (waking a sleeping
   thread costs tens of microseconds, more on a virtual machine whose idle CPU the host took
   back), short enough not to burn a core for long when the model is idle. OpenMP runtimes spin
   for similar times by default. The caller's wait for running chunks polls the same way. */
#define RT_SPIN_NS 1000000
/* The clock is read once per this many pause instructions while polling. */
#define RT_SPIN_BATCH 64
/* A range is cut into at most this many chunks per thread, so a thread that falls behind leaves
   its share to the others in pieces. */
#define RT_CHUNKS_PER_THREAD 4

typedef struct rt_worker {
    /* go is written by the dispatching thread and polled by this worker alone; a cache line each
       keeps the polling of one worker from slowing down the others. */
    _Alignas(64) _Atomic uint64_t go; /* generation of the last job handed to this worker */
    rt_thread_pool *pool;
    int index; /* thread index, 1 .. size-1 */
    pthread_t thread;
} rt_worker;

struct rt_thread_pool {
    int size;
    rt_worker *workers; /* size - 1 of them; workers[i] has thread index i + 1 */
    pthread_mutex_t mutex;
    pthread_cond_t work_cv; /* workers sleep here until their go changes or stop is set */
    pthread_cond_t done_cv; /* the dispatching thread sleeps here until every chunk has finished */
    pthread_cond_t idle_cv; /* an outside caller sleeps here while another one owns the pool */
    _Atomic bool stop;
    /* The claim word: the job's generation in the high 32 bits, the next unclaimed chunk in the
       low 32. A thread claims chunk i by a compare-and-swap from (gen, i) to (gen, i + 1), so a
       worker that wakes after its job has ended (or while a later one runs) cannot take a chunk
       of a job it did not see published. */
    _Alignas(64) _Atomic uint64_t claim;
    _Alignas(64) _Atomic int finished; /* chunks of the current job that have finished */
    _Atomic bool owner_sleeping;       /* the dispatching thread waits on done_cv */
    /* Under mutex: whether a parallel-for is running and which thread called it. */
    bool busy;
    pthread_t owner;
    /* The current job: written by the owner before it publishes a generation (release), read by
       workers after they claim a chunk of it; never rewritten before every chunk has finished. */
    uint64_t generation;
    rt_parallel_body body;
    void *ctx;
    int64_t n;
    _Atomic int n_chunks;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- chunking: a pure function of (n, size, min_chunk) ------------------------------------------ */

static int chunk_count(int64_t n, int size, int64_t min_chunk)
{
    if (min_chunk < 1)
        min_chunk = 1;
    if (size <= 1 || n / 2 < min_chunk) /* n < 2 * min_chunk, without overflow */
        return 1;
    int64_t k = n / min_chunk, most = (int64_t)size * RT_CHUNKS_PER_THREAD;
    return k < most ? (int)k : (int)most;
}

/* Chunk i of k over [0, n): the first n % k chunks get one extra index. i * (n / k) <= n, so
   nothing overflows even for n = INT64_MAX. */
static int64_t chunk_begin(int64_t n, int k, int i)
{
    int64_t r = n % k;
    return i * (n / k) + (i < r ? i : r);
}

/* ---- claiming and running chunks ------------------------------------------------------------------ */

/* Claims the next chunk of job `gen`: its index, or -1 when the job has none left (or is over). */
static int claim_chunk(rt_thread_pool *p, uint32_t gen)
{
    uint64_t word = atomic_load_explicit(&p->claim, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(word >> 32) != gen)
            return -1;
        /* n_chunks may already be a later job's here (then the word has moved on too, and the
           compare-and-swap below fails): it is atomic for that reason alone. */
        int next = (int)(uint32_t)word;
        if (next >= atomic_load_explicit(&p->n_chunks, memory_order_relaxed))
            return -1;
        if (atomic_compare_exchange_weak_explicit(&p->claim, &word, word + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return next;
    }
}

/* Runs chunks of job `gen` on thread `index` until none is left. Returns true if this thread
   finished the job's last chunk. */
static bool run_chunks(rt_thread_pool *p, uint32_t gen, int index)
{
    bool last = false;
    int n_chunks = 0;
    for (int i; (i = claim_chunk(p, gen)) >= 0;) {
        n_chunks = atomic_load_explicit(&p->n_chunks, memory_order_relaxed);
        int64_t begin = chunk_begin(p->n, n_chunks, i);
        int64_t end = i + 1 == n_chunks ? p->n : chunk_begin(p->n, n_chunks, i + 1);
        p->body(p->ctx, begin, end, index);
        /* Sequentially consistent, as are owner_sleeping's store and load: with the owner's
           store-then-check in dispatch, either the owner sees this count or this thread sees the
           owner asleep. It also releases the chunk's writes to whoever sees the count. */
        last = atomic_fetch_add(&p->finished, 1) + 1 == n_chunks;
    }
    return last;
}

/* ---- workers ----------------------------------------------------------------------------------- */

/* Polls `done(arg)` for RT_SPIN_NS; true as soon as it holds. */
static bool spin_until(bool (*done)(void *), void *arg)
{
    int64_t deadline = 0;
    for (;;) {
        for (int i = 0; i < RT_SPIN_BATCH; i++) {
            if (done(arg))
                return true;
            cpu_relax();
        }
        int64_t t = now_ns();
        if (!deadline)
            deadline = t + RT_SPIN_NS;
        else if (t >= deadline)
            return false;
    }
}

typedef struct go_watch {
    rt_thread_pool *p;
    rt_worker *w;
    uint64_t seen;
} go_watch;

static bool go_changed(void *arg)
{
    const go_watch *g = arg;
    return atomic_load_explicit(&g->w->go, memory_order_acquire) != g->seen ||
           atomic_load_explicit(&g->p->stop, memory_order_relaxed);
}

/* Waits until this worker is handed a new job (true, *seen updated) or the pool stops (false).
   The waker stores go before it locks the mutex to broadcast, and the sleeper checks go under
   the mutex, so a wake-up cannot fall between the check and the wait. */
static bool wait_for_job(rt_thread_pool *p, rt_worker *w, uint64_t *seen)
{
    go_watch g = {p, w, *seen};
    uint64_t go;
    if (!spin_until(go_changed, &g)) {
        pthread_mutex_lock(&p->mutex);
        while (atomic_load_explicit(&w->go, memory_order_acquire) == *seen && !atomic_load(&p->stop))
            pthread_cond_wait(&p->work_cv, &p->mutex);
        pthread_mutex_unlock(&p->mutex);
    }
    go = atomic_load_explicit(&w->go, memory_order_acquire);
    if (go == *seen)
        return false; /* stop; a pool is only destroyed while no job is running */
    *seen = go;
    return true;
}

static void *worker_main(void *arg)
{
    rt_worker *w = arg;
    rt_thread_pool *p = w->pool;
    uint64_t seen = 0;
    while (wait_for_job(p, w, &seen)) {
        /* The thread that finishes the last chunk wakes the dispatcher if it sleeps. The mutex
           outlives this signal: destroy joins every worker before it destroys the mutex. */
        if (run_chunks(p, (uint32_t)seen, w->index) && atomic_load(&p->owner_sleeping)) {
            pthread_mutex_lock(&p->mutex);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mutex);
        }
    }
    return NULL;
}

/* ---- create and destroy ------------------------------------------------------------------------ */

static void stop_workers(rt_thread_pool *p, int started)
{
    pthread_mutex_lock(&p->mutex);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mutex);
    for (int i = 0; i < started; i++)
        pthread_join(p->workers[i].thread, NULL);
}

static void free_pool(rt_thread_pool *p)
{
    pthread_cond_destroy(&p->idle_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->work_cv);
    pthread_mutex_destroy(&p->mutex);
    free(p->workers);
    free(p);
}

static int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > RT_THREAD_POOL_MAX ? RT_THREAD_POOL_MAX : (int)n;
}

static rt_thread_pool *alloc_pool(int size)
{
    rt_thread_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->size = size;
    /* aligned_alloc wants a multiple of the alignment; sizeof(rt_worker) is one, and one worker is
       allocated even for size 1 so the size is never 0. */
    size_t count = size > 1 ? (size_t)size - 1 : 1;
    p->workers = aligned_alloc(_Alignof(rt_worker), count * sizeof(rt_worker));
    if (!p->workers || pthread_mutex_init(&p->mutex, NULL) != 0) {
        free(p->workers);
        free(p);
        return NULL;
    }
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    pthread_cond_init(&p->idle_cv, NULL);
    atomic_init(&p->stop, false);
    atomic_init(&p->claim, 0);
    atomic_init(&p->finished, 0);
    atomic_init(&p->owner_sleeping, false);
    return p;
}

/* Binds each worker to a CPU of its own, none of them the one the creating thread runs on
   (which the caller, unbound, usually keeps). Unbound, a worker that slept through an idle
   stretch is often woken onto the caller's CPU and the two share it until the scheduler moves
   one, which can take milliseconds; bound, it wakes where it can run. Skipped when the pool has
   more threads than the process may use CPUs, and when TFC_BIND_THREADS=0 (as TVM's runtime,
   which binds by default too). Best effort: a failed bind leaves the worker unbound. */
static void bind_workers(rt_thread_pool *p)
{
#ifdef __linux__
    const char *env = getenv("TFC_BIND_THREADS");
    if (p->size < 2 || (env && strcmp(env, "0") == 0))
        return;
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < p->size)
        return;
    int here = sched_getcpu(), cpu = here >= 0 ? here : 0;
    for (int i = 0; i < p->size - 1; i++) {
        do /* the next allowed CPU after the previous one, wrapping around */
            cpu = (cpu + 1) % CPU_SETSIZE;
        while (!CPU_ISSET(cpu, &allowed) || cpu == here);
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        pthread_setaffinity_np(p->workers[i].thread, sizeof one, &one);
    }
#else
    (void)p;
#endif
}

rt_thread_pool *rt_thread_pool_create(int n_threads)
{
    if (n_threads > RT_THREAD_POOL_MAX)
        return NULL;
    rt_thread_pool *p = alloc_pool(n_threads <= 0 ? online_cores() : n_threads);
    if (!p)
        return NULL;
    for (int i = 0; i < p->size - 1; i++) {
        rt_worker *w = &p->workers[i];
        atomic_init(&w->go, 0);
        w->pool = p;
        w->index = i + 1;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            stop_workers(p, i);
            free_pool(p);
            return NULL;
        }
    }
    bind_workers(p);
    return p;
}

void rt_thread_pool_destroy(rt_thread_pool *p)
{
    if (!p)
        return;
    stop_workers(p, p->size - 1);
    free_pool(p);
}

int rt_thread_pool_size(const rt_thread_pool *p)
{
    return p ? p->size : 1;
}

/* ---- parallel-for ------------------------------------------------------------------------------ */

/* The thread index of `self` if it is running a body of this pool's current job, else -1.
   Called under the mutex with busy set; workers only run user code inside a job. */
static int running_index(const rt_thread_pool *p, pthread_t self)
{
    if (pthread_equal(self, p->owner))
        return 0;
    for (int i = 0; i < p->size - 1; i++)
        if (pthread_equal(self, p->workers[i].thread))
            return i + 1;
    return -1;
}

/* Makes the calling thread the pool's owner and returns -1, or, for a call from inside a body,
   returns that thread's index so the caller runs the range serially. */
static int acquire_pool(rt_thread_pool *p)
{
    pthread_t self = pthread_self();
    pthread_mutex_lock(&p->mutex);
    if (p->busy) {
        int index = running_index(p, self);
        if (index >= 0) {
            pthread_mutex_unlock(&p->mutex);
            return index;
        }
        while (p->busy)
            pthread_cond_wait(&p->idle_cv, &p->mutex);
    }
    p->busy = true;
    p->owner = self;
    pthread_mutex_unlock(&p->mutex);
    return -1;
}

static void release_pool(rt_thread_pool *p)
{
    pthread_mutex_lock(&p->mutex);
    p->busy = false;
    pthread_cond_signal(&p->idle_cv);
    pthread_mutex_unlock(&p->mutex);
}

static bool all_finished(void *arg)
{
    rt_thread_pool *p = arg;
    return atomic_load(&p->finished) == atomic_load_explicit(&p->n_chunks, memory_order_relaxed);
}

static void dispatch(rt_thread_pool *p, int64_t n, int n_chunks, rt_parallel_body body, void *ctx)
{
    p->body = body;
    p->ctx = ctx;
    p->n = n;
    atomic_store_explicit(&p->n_chunks, n_chunks, memory_order_relaxed);
    atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
    /* The claim word keeps 32 bits of the generation: a worker would have to sleep through 2^32
       jobs to mistake one for another. */
    uint64_t gen = ++p->generation & 0xffffffffu;
    atomic_store_explicit(&p->claim, gen << 32, memory_order_release);
    /* Only as many workers as there are chunks beyond the caller's first are woken. */
    int wake = n_chunks - 1 < p->size - 1 ? n_chunks - 1 : p->size - 1;
    for (int i = 0; i < wake; i++)
        atomic_store_explicit(&p->workers[i].go, p->generation, memory_order_release);
    pthread_mutex_lock(&p->mutex);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mutex);

    run_chunks(p, (uint32_t)gen, 0);

    /* finished reaching n_chunks (acquire) makes every chunk's writes visible here. */
    if (spin_until(all_finished, p))
        return;
    pthread_mutex_lock(&p->mutex);
    atomic_store(&p->owner_sleeping, true);
    while (!all_finished(p))
        pthread_cond_wait(&p->done_cv, &p->mutex);
    atomic_store(&p->owner_sleeping, false);
    pthread_mutex_unlock(&p->mutex);
}

void rt_parallel_for(rt_thread_pool *p, int64_t n, int64_t min_chunk, rt_parallel_body body, void *ctx)
{
    if (n <= 0)
        return;
    if (!p) {
        body(ctx, 0, n, 0);
        return;
    }
    int nested_index = acquire_pool(p);
    if (nested_index >= 0) {
        body(ctx, 0, n, nested_index);
        return;
    }
    int n_chunks = chunk_count(n, p->size, min_chunk);
    if (n_chunks <= 1)
        body(ctx, 0, n, 0);
    else
        dispatch(p, n, n_chunks, body, ctx);
    release_pool(p);
}
