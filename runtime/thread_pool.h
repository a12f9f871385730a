/* thread_pool.h — the runtime's persistent thread pool (pthreads) and its parallel-for. The split
 * of a range into chunks depends only on (n, pool size, min_chunk), so a kernel that writes
 * disjoint outputs per index gives bit-identical results on every run and for every thread count;
 * the threads claim the chunks dynamically, so a slow thread delays no one.
 * A pool holds no global state; one model object owns one pool. */
#ifndef TFC_RUNTIME_THREAD_POOL_H
#define TFC_RUNTIME_THREAD_POOL_H

#include <stdint.h>

typedef struct rt_thread_pool rt_thread_pool;

/* The most threads one pool runs; larger requests fail rather than exhaust the process. */
#define RT_THREAD_POOL_MAX 4096

/* One chunk of work: indexes [begin, end) of the range, run by thread `thread_index` (0 is the
   thread that called rt_parallel_for, 1 .. size-1 the workers; always < the pool's size), so a
   kernel may keep per-thread scratch in an array of size() slots. */
typedef void (*rt_parallel_body)(void *ctx, int64_t begin, int64_t end, int thread_index);

/* Starts n_threads - 1 workers (the caller is the n-th); n_threads <= 0 means all online cores.
   Workers sleep while idle (after spinning for about a millisecond). On Linux each worker is bound
   to a CPU of its own other than the creating thread's, when the process may use enough CPUs;
   TFC_BIND_THREADS=0 in the environment leaves them unbound. NULL when n_threads > RT_THREAD_POOL_MAX or
   when memory or threads run out; nothing is left running then. */
rt_thread_pool *rt_thread_pool_create(int n_threads);

/* Stops and joins every worker and frees the pool. No rt_parallel_for may be running on it.
   NULL is accepted and ignored. */
void rt_thread_pool_destroy(rt_thread_pool *p);

/* The number of threads that share a parallel-for, the caller included: >= 1; 1 for NULL. */
int rt_thread_pool_size(const rt_thread_pool *p);

/* Runs body(ctx, begin, end, thread_index) over [0, n) split into contiguous, non-empty chunks;
   returns when all are done, with every write the chunks made visible to the caller. n <= 0
   calls nothing. The chunks are fixed; which thread runs which is not: every thread, the caller
   included, claims the next chunk until none is left, so a thread may run several chunks (one
   at a time) and a late worker none. thread_index is always < size() and names the thread that
   runs the chunk, so a kernel may keep per-thread scratch in an array of size() slots.
   Chunking: min_chunk < 1 counts as 1; a range with n < 2 * min_chunk is one chunk run on the
   calling thread (small kernels stay on one thread); otherwise k = min(4 * size, n / min_chunk)
   chunks, chunk i starting at i * (n / k) + min(i, n % k).
   A NULL pool runs the whole range on the calling thread with thread_index 0. A call made from
   inside a body (on any thread of the same pool) runs serially on that thread, with that
   thread's index. Calls from two outside threads at once take turns. */
void rt_parallel_for(rt_thread_pool *p, int64_t n, int64_t min_chunk, rt_parallel_body body, void *ctx);

#endif
