/* thread_pool.c — a persistent pthreads pool: size - 1 workers that spin briefly, then sleep on a
 * condition variable until the caller hands them a chunk of a parallel-for. One mutex guards the
 * sleeping and the pool's ownership; the hot hand-off (job generation, pending count) is atomic so
 * back-to-back kernels usually reach spinning workers without a system call. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/thread_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* Polling before a thread goes to sleep (its time is the CPU's pause or yield latency times
   this): long enough to catch the next kernel of a model run, short enough not to burn a core
   when the model is idle. */
#define RT_SPIN_ITERATIONS 4096

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
    pthread_cond_t done_cv; /* the dispatching thread sleeps here until pending is 0 */
    pthread_cond_t idle_cv; /* an outside caller sleeps here while another one owns the pool */
    _Atomic bool stop;
    _Atomic int pending; /* chunks handed to workers and not finished yet */
    /* Under mutex: whether a parallel-for is running and which thread called it. */
    bool busy;
    pthread_t owner;
    /* The current job: written by the owner before it publishes a generation (release), read by
       workers after they see it (acquire); never rewritten before pending drops to 0. */
    uint64_t generation;
    rt_parallel_body body;
    void *ctx;
    int64_t n;
    int n_chunks;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* ---- chunking: a pure function of (n, size, min_chunk) ------------------------------------------ */

static int chunk_count(int64_t n, int size, int64_t min_chunk)
{
    if (min_chunk < 1)
        min_chunk = 1;
    if (size <= 1 || n / 2 < min_chunk) /* n < 2 * min_chunk, without overflow */
        return 1;
    int64_t k = n / min_chunk;
    return k < size ? (int)k : size;
}

/* Chunk i of k over [0, n): the first n % k chunks get one extra index. i * (n / k) <= n, so
   nothing overflows even for n = INT64_MAX. */
static int64_t chunk_begin(int64_t n, int k, int i)
{
    int64_t r = n % k;
    return i * (n / k) + (i < r ? i : r);
}

static void run_chunk(const rt_thread_pool *p, int i)
{
    int64_t begin = chunk_begin(p->n, p->n_chunks, i);
    int64_t end = i + 1 == p->n_chunks ? p->n : chunk_begin(p->n, p->n_chunks, i + 1);
    p->body(p->ctx, begin, end, i);
}

/* ---- workers ----------------------------------------------------------------------------------- */

/* Waits until this worker is handed a new job (true, *seen updated) or the pool stops (false).
   The waker stores go before it locks the mutex to broadcast, and the sleeper checks go under
   the mutex, so a wake-up cannot fall between the check and the wait. */
static bool wait_for_job(rt_thread_pool *p, rt_worker *w, uint64_t *seen)
{
    uint64_t go = *seen;
    for (int spin = 0; spin < RT_SPIN_ITERATIONS; spin++) {
        go = atomic_load_explicit(&w->go, memory_order_acquire);
        if (go != *seen || atomic_load_explicit(&p->stop, memory_order_relaxed))
            break;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mutex);
    while ((go = atomic_load_explicit(&w->go, memory_order_acquire)) == *seen && !atomic_load(&p->stop))
        pthread_cond_wait(&p->work_cv, &p->mutex);
    pthread_mutex_unlock(&p->mutex);
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
        run_chunk(p, w->index);
        /* The last chunk to finish wakes the dispatcher. The mutex outlives this signal: destroy
           joins every worker before it destroys the mutex. */
        if (atomic_fetch_sub(&p->pending, 1) == 1) {
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
    atomic_init(&p->pending, 0);
    return p;
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

static void dispatch(rt_thread_pool *p, int64_t n, int n_chunks, rt_parallel_body body, void *ctx)
{
    p->body = body;
    p->ctx = ctx;
    p->n = n;
    p->n_chunks = n_chunks;
    atomic_store(&p->pending, n_chunks - 1);
    uint64_t gen = ++p->generation;
    /* Only the workers that get a chunk are woken for real; the rest see an unchanged go. */
    for (int i = 1; i < n_chunks; i++)
        atomic_store_explicit(&p->workers[i - 1].go, gen, memory_order_release);
    pthread_mutex_lock(&p->mutex);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mutex);

    run_chunk(p, 0);

    /* pending reaching 0 (acquire) makes every worker's writes visible here. */
    for (int spin = 0; spin < RT_SPIN_ITERATIONS && atomic_load(&p->pending) != 0; spin++)
        cpu_relax();
    pthread_mutex_lock(&p->mutex);
    while (atomic_load(&p->pending) != 0)
        pthread_cond_wait(&p->done_cv, &p->mutex);
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
