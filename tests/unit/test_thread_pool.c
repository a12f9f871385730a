/* test_thread_pool.c — unit test of runtime/thread_pool.h: every index visited exactly once, chunk
 * boundaries equal to the documented pure function and identical across runs and pools, the
 * serial fallback, nested calls, size-1 and NULL pools, outside callers taking turns and many
 * create/destroy cycles. No timing assertions; meant to run under TSan as well as ASan+UBSan. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/thread_pool.h"
#include "tests/unit/check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- recording chunks ---------------------------------------------------------------------------- */

#define MAX_CHUNKS 256

/* One entry per chunk run, appended by whichever thread ran it; sorted by begin afterwards. */
typedef struct chunk_run {
    int64_t begin, end;
    int thread_index;
    pthread_t thread;
} chunk_run;

typedef struct record {
    chunk_run chunks[MAX_CHUNKS];
    _Atomic int count;     /* chunks run (may exceed MAX_CHUNKS in a faulty pool) */
    unsigned char *visits; /* per index, when n is small enough to keep them; else NULL */
    _Atomic int bad_index; /* a thread_index out of [0, 64): set at most by a faulty pool */
} record;

static void record_body(void *ctx, int64_t begin, int64_t end, int thread_index)
{
    record *r = ctx;
    if (thread_index < 0 || thread_index >= 64)
        atomic_store(&r->bad_index, 1);
    int slot = atomic_fetch_add(&r->count, 1);
    if (slot < MAX_CHUNKS)
        r->chunks[slot] = (chunk_run){begin, end, thread_index, pthread_self()};
    if (r->visits)
        for (int64_t i = begin; i < end; i++)
            r->visits[i]++;
}

static int by_begin(const void *a, const void *b)
{
    const chunk_run *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The documented chunking, written out independently of the pool. */
static int expected_chunks(int64_t n, int size, int64_t min_chunk, int64_t *begins)
{
    if (n <= 0)
        return 0;
    if (min_chunk < 1)
        min_chunk = 1;
    int k = 1;
    if (size > 1 && n / 2 >= min_chunk)
        k = n / min_chunk < 4 * size ? (int)(n / min_chunk) : 4 * size;
    for (int i = 0; i <= k; i++)
        begins[i] = i == k ? n : i * (n / k) + (i < n % k ? i : n % k);
    return k;
}

/* Runs one parallel-for and checks it: the chunks are exactly the documented ones, each run
   once; thread indexes are in range and name one thread each (0 the caller); for small n each
   index was visited once. Leaves the chunks sorted by begin in r so callers can compare runs. */
static void run_and_check(rt_thread_pool *p, int64_t n, int64_t min_chunk, record *r)
{
    memset(r, 0, sizeof *r);
    if (n >= 0 && n <= (1 << 20))
        r->visits = calloc((size_t)n + 1, 1);
    rt_parallel_for(p, n, min_chunk, record_body, r);

    int64_t begins[MAX_CHUNKS + 1];
    int size = rt_thread_pool_size(p), k = expected_chunks(n, size, min_chunk, begins);
    int count = atomic_load(&r->count);
    CHECK(!atomic_load(&r->bad_index), "n=%lld", (long long)n);
    CHECK(count == k, "n=%lld min=%lld size=%d: %d chunks ran, want %d", (long long)n, (long long)min_chunk, size,
          count, k);
    if (count > MAX_CHUNKS)
        count = MAX_CHUNKS;
    qsort(r->chunks, (size_t)count, sizeof *r->chunks, by_begin);
    pthread_t who[64];
    bool seen[64] = {false};
    for (int t = 0; t < count && t < k; t++) {
        const chunk_run *c = &r->chunks[t];
        CHECK(c->begin == begins[t] && c->end == begins[t + 1],
              "n=%lld min=%lld size=%d chunk %d: [%lld, %lld) want [%lld, %lld)", (long long)n, (long long)min_chunk,
              size, t, (long long)c->begin, (long long)c->end, (long long)begins[t], (long long)begins[t + 1]);
        int i = c->thread_index;
        CHECK(i >= 0 && i < size, "thread index %d of a pool of %d", i, size);
        if (i < 0 || i >= 64)
            continue;
        CHECK((i == 0) == (bool)pthread_equal(c->thread, pthread_self()), "index 0 is the caller and only it");
        if (seen[i])
            CHECK(pthread_equal(who[i], c->thread), "thread index %d ran on two threads", i);
        seen[i] = true;
        who[i] = c->thread;
    }
    if (r->visits) {
        int64_t wrong = 0;
        for (int64_t i = 0; i < n; i++)
            wrong += r->visits[i] != 1;
        CHECK(wrong == 0, "n=%lld: %lld indexes not visited exactly once", (long long)n, (long long)wrong);
        free(r->visits);
        r->visits = NULL;
    }
}

/* ---- the tests ----------------------------------------------------------------------------------- */

static void test_coverage_and_determinism(void)
{
    static const int sizes[] = {1, 2, 3, 4, 7, 8, 16};
    static const int64_t ns[] = {0, 1, 2, 3, 5, 7, 8, 15, 16, 17, 63, 64, 100, 1000, 4097, 100003, -5};
    static const int64_t mins[] = {-3, 0, 1, 2, 3, 7, 16, 1000, INT64_MAX};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        rt_thread_pool *p = rt_thread_pool_create(sizes[si]);
        rt_thread_pool *q = rt_thread_pool_create(sizes[si]);
        CHECK(p && q && rt_thread_pool_size(p) == sizes[si]);
        if (!p || !q)
            return;
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
            for (size_t mi = 0; mi < sizeof mins / sizeof *mins; mi++) {
                record a, b, c;
                run_and_check(p, ns[ni], mins[mi], &a);
                run_and_check(p, ns[ni], mins[mi], &b);
                run_and_check(q, ns[ni], mins[mi], &c);
                for (int t = 0; t < atomic_load(&a.count) && t < MAX_CHUNKS; t++)
                    CHECK(a.chunks[t].begin == b.chunks[t].begin && a.chunks[t].end == b.chunks[t].end &&
                              a.chunks[t].begin == c.chunks[t].begin && a.chunks[t].end == c.chunks[t].end,
                          "chunks differ between runs");
            }
        rt_thread_pool_destroy(q);
        rt_thread_pool_destroy(p);
    }
}

static void test_huge_ranges(void)
{
    rt_thread_pool *p = rt_thread_pool_create(5);
    CHECK(p != NULL);
    record r;
    run_and_check(p, INT64_MAX, 1, &r);
    run_and_check(p, INT64_MAX, INT64_MAX / 3, &r);
    run_and_check(p, INT64_MAX, INT64_MAX / 2, &r);
    run_and_check(p, INT64_MAX, INT64_MAX, &r);
    CHECK(r.count == 1 && r.chunks[0].end == INT64_MAX, "below threshold: one serial chunk");
    run_and_check(p, INT64_MAX - 1, INT64_MAX / 2, &r);
    run_and_check(p, (int64_t)1 << 40, 1 << 20, &r);
    rt_thread_pool_destroy(p);
}

static void test_serial_fallback(void)
{
    rt_thread_pool *p = rt_thread_pool_create(4);
    CHECK(p != NULL);
    record r;
    for (int64_t n = 1; n < 2 * 50; n++) { /* min_chunk 50: everything below 100 stays serial */
        run_and_check(p, n, 50, &r);
        CHECK(r.count == 1 && r.chunks[0].end == n && r.chunks[0].thread_index == 0, "n=%lld", (long long)n);
    }
    run_and_check(p, 100, 50, &r);
    CHECK(r.count == 2 && r.chunks[0].end == 50, "n=100 splits in two");
    rt_thread_pool_destroy(p);
}

/* Outer chunks each run an inner parallel-for over the same pool, which must stay on the thread
   and thread index of the outer chunk. */
typedef struct nest {
    rt_thread_pool *pool;
    int64_t inner_n;
    unsigned char *visits; /* outer_n * inner_n */
    int bad[64];           /* per outer thread index: inner chunks that moved or split */
} nest;

typedef struct nest_inner {
    nest *outer;
    int64_t row;
    int thread_index;
    pthread_t thread;
    int calls;
} nest_inner;

static void inner_body(void *ctx, int64_t begin, int64_t end, int thread_index)
{
    nest_inner *in = ctx;
    in->calls++;
    if (thread_index != in->thread_index || !pthread_equal(pthread_self(), in->thread) || begin != 0 ||
        end != in->outer->inner_n)
        in->outer->bad[in->thread_index]++;
    for (int64_t j = begin; j < end; j++)
        in->outer->visits[in->row * in->outer->inner_n + j]++;
}

static void outer_body(void *ctx, int64_t begin, int64_t end, int thread_index)
{
    nest *o = ctx;
    for (int64_t row = begin; row < end; row++) {
        nest_inner in = {o, row, thread_index, pthread_self(), 0};
        rt_parallel_for(o->pool, o->inner_n, 1, inner_body, &in);
        if (in.calls != 1)
            o->bad[thread_index]++;
    }
}

static void test_nested(void)
{
    for (int size = 1; size <= 6; size++) {
        nest o = {rt_thread_pool_create(size), 37, NULL, {0}};
        CHECK(o.pool != NULL);
        int64_t outer_n = 23;
        o.visits = calloc((size_t)(outer_n * o.inner_n), 1);
        rt_parallel_for(o.pool, outer_n, 1, outer_body, &o);
        int64_t wrong = 0, bad = 0;
        for (int64_t i = 0; i < outer_n * o.inner_n; i++)
            wrong += o.visits[i] != 1;
        for (int t = 0; t < 64; t++)
            bad += o.bad[t];
        CHECK(wrong == 0 && bad == 0, "size %d: %lld wrong visits, %lld misplaced inner chunks", size,
              (long long)wrong, (long long)bad);
        free(o.visits);
        rt_thread_pool_destroy(o.pool);
    }
}

static void test_size_one_and_null(void)
{
    record r;
    rt_thread_pool *p = rt_thread_pool_create(1);
    CHECK(p && rt_thread_pool_size(p) == 1);
    run_and_check(p, 1000, 1, &r);
    CHECK(r.count == 1 && r.chunks[0].end == 1000);
    rt_thread_pool_destroy(p);

    CHECK(rt_thread_pool_size(NULL) == 1);
    run_and_check(NULL, 1000, 1, &r);
    CHECK(r.count == 1 && r.chunks[0].end == 1000);
    run_and_check(NULL, 0, 1, &r);
    CHECK(r.count == 0);
    rt_thread_pool_destroy(NULL);

    CHECK(rt_thread_pool_create(RT_THREAD_POOL_MAX + 1) == NULL);
    rt_thread_pool *all = rt_thread_pool_create(0);
    CHECK(all && rt_thread_pool_size(all) >= 1);
    run_and_check(all, 12345, 1, &r);
    rt_thread_pool_destroy(all);
}

static void test_create_destroy_cycles(void)
{
    for (int i = 0; i < 200; i++) {
        rt_thread_pool *p = rt_thread_pool_create(1 + i % 6);
        CHECK(p != NULL);
        if (i % 3 == 0) { /* some pools never run a job, some run several */
            record r;
            for (int j = 0; j < i % 4; j++)
                run_and_check(p, 257, 3, &r);
        }
        rt_thread_pool_destroy(p);
    }
}

/* Back-to-back jobs catch workers spinning; jobs after a pause catch them asleep. */
static void test_many_jobs(void)
{
    rt_thread_pool *p = rt_thread_pool_create(4);
    record r;
    for (int i = 0; i < 3000; i++)
        run_and_check(p, 64 + i % 7, 1 + i % 5, &r);
    for (int i = 0; i < 5; i++) {
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        run_and_check(p, 1000, 1, &r);
    }
    rt_thread_pool_destroy(p);
}

/* Two outside threads share one pool: their jobs take turns and each sees its own range. */
typedef struct sharer {
    rt_thread_pool *pool;
    int failures_seen;
} sharer;

static void count_body(void *ctx, int64_t begin, int64_t end, int thread_index)
{
    (void)thread_index;
    atomic_int *sum = ctx;
    atomic_fetch_add(sum, (int)(end - begin));
}

static void *sharer_main(void *arg)
{
    sharer *s = arg;
    for (int i = 0; i < 300; i++) {
        atomic_int sum;
        atomic_init(&sum, 0);
        rt_parallel_for(s->pool, 1000 + i, 1, count_body, &sum);
        s->failures_seen += atomic_load(&sum) != 1000 + i;
    }
    return NULL;
}

static void test_outside_callers(void)
{
    rt_thread_pool *p = rt_thread_pool_create(3);
    sharer a = {p, 0}, b = {p, 0};
    pthread_t ta, tb;
    int made_a = pthread_create(&ta, NULL, sharer_main, &a) == 0;
    int made_b = pthread_create(&tb, NULL, sharer_main, &b) == 0;
    CHECK(made_a && made_b);
    if (made_a)
        pthread_join(ta, NULL);
    if (made_b)
        pthread_join(tb, NULL);
    CHECK(a.failures_seen == 0 && b.failures_seen == 0);
    rt_thread_pool_destroy(p);
}

/* A worker that holds on to its chunk must not hold up the others: the chunks are claimed, not
   assigned, so the caller runs every chunk the worker has not taken. The worker's chunk waits
   until the caller has run all the rest (a static assignment would deadlock here; the wait gives
   up after 10 s and the test fails instead). No timing is asserted. */
typedef struct late_job {
    _Atomic int caller_done; /* chunks the caller has finished */
    _Atomic int worker_chunks;
    _Atomic int gave_up;
    int n;
} late_job;

static void late_body(void *ctx, int64_t begin, int64_t end, int thread_index)
{
    late_job *j = ctx;
    (void)end;
    (void)begin;
    if (thread_index == 0) {
        atomic_fetch_add(&j->caller_done, 1);
        return;
    }
    atomic_fetch_add(&j->worker_chunks, 1);
    struct timespec pause = {0, 100000};
    for (int waited = 0; atomic_load(&j->caller_done) + atomic_load(&j->worker_chunks) < j->n; waited++) {
        if (waited > 100000) { /* ~10 s */
            atomic_store(&j->gave_up, 1);
            return;
        }
        nanosleep(&pause, NULL);
    }
}

static void test_late_worker(void)
{
    rt_thread_pool *p = rt_thread_pool_create(2);
    CHECK(p != NULL);
    for (int rep = 0; p && rep < 50; rep++) {
        late_job j = {.n = 8};
        rt_parallel_for(p, 8, 1, late_body, &j);
        CHECK(!atomic_load(&j.gave_up), "the caller waited for a chunk it could have run");
        CHECK(atomic_load(&j.caller_done) + atomic_load(&j.worker_chunks) == 8);
        CHECK(atomic_load(&j.worker_chunks) <= 1, "a held-up worker claimed %d chunks", atomic_load(&j.worker_chunks));
    }
    rt_thread_pool_destroy(p);
}

int main(void)
{
    test_coverage_and_determinism();
    test_huge_ranges();
    test_serial_fallback();
    test_nested();
    test_size_one_and_null();
    test_create_destroy_cycles();
    test_many_jobs();
    test_outside_callers();
    test_late_worker();
    printf("test_thread_pool: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
