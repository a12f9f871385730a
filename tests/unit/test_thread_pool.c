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

/* One slot per thread index: a correct pool runs at most one chunk per index, so the slots are
   written by disjoint threads (a second chunk on one index shows up as calls > 1, or as a race
   under TSan). */
typedef struct chunk_slot {
    int64_t begin, end;
    int calls;
    pthread_t thread;
} chunk_slot;

typedef struct record {
    chunk_slot slots[64];
    unsigned char *visits; /* per index, when n is small enough to keep them; else NULL */
    int bad_index;         /* a thread_index out of [0, 64): written at most by a faulty pool */
} record;

static void record_body(void *ctx, int64_t begin, int64_t end, int thread_index)
{
    record *r = ctx;
    if (thread_index < 0 || thread_index >= 64) {
        r->bad_index = 1;
        return;
    }
    chunk_slot *s = &r->slots[thread_index];
    s->begin = begin;
    s->end = end;
    s->calls++;
    s->thread = pthread_self();
    if (r->visits)
        for (int64_t i = begin; i < end; i++)
            r->visits[i]++;
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
        k = n / min_chunk < size ? (int)(n / min_chunk) : size;
    for (int i = 0; i <= k; i++)
        begins[i] = i == k ? n : i * (n / k) + (i < n % k ? i : n % k);
    return k;
}

/* Runs one parallel-for, checks it against expected_chunks and, for small n, that each index was
   visited once. Returns the record so callers can compare runs. */
static void run_and_check(rt_thread_pool *p, int64_t n, int64_t min_chunk, record *r)
{
    memset(r, 0, sizeof *r);
    if (n >= 0 && n <= (1 << 20))
        r->visits = calloc((size_t)n + 1, 1);
    rt_parallel_for(p, n, min_chunk, record_body, r);

    int64_t begins[65];
    int k = expected_chunks(n, rt_thread_pool_size(p), min_chunk, begins);
    CHECK(!r->bad_index, "n=%lld", (long long)n);
    for (int t = 0; t < 64; t++) {
        const chunk_slot *s = &r->slots[t];
        if (t < k) {
            CHECK(s->calls == 1 && s->begin == begins[t] && s->end == begins[t + 1],
                  "n=%lld min=%lld size=%d chunk %d: calls %d [%lld, %lld) want [%lld, %lld)", (long long)n,
                  (long long)min_chunk, rt_thread_pool_size(p), t, s->calls, (long long)s->begin,
                  (long long)s->end, (long long)begins[t], (long long)begins[t + 1]);
        } else {
            CHECK(s->calls == 0, "n=%lld size=%d: unexpected chunk on thread %d", (long long)n,
                  rt_thread_pool_size(p), t);
        }
    }
    if (k >= 1)
        CHECK(pthread_equal(r->slots[0].thread, pthread_self()), "chunk 0 must run on the caller");
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
                for (int t = 0; t < 64; t++)
                    CHECK(a.slots[t].begin == b.slots[t].begin && a.slots[t].end == b.slots[t].end &&
                              a.slots[t].begin == c.slots[t].begin && a.slots[t].end == c.slots[t].end,
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
    CHECK(r.slots[0].calls == 1 && r.slots[0].end == INT64_MAX, "below threshold: one serial chunk");
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
        CHECK(r.slots[0].calls == 1 && r.slots[0].end == n && r.slots[1].calls == 0, "n=%lld", (long long)n);
    }
    run_and_check(p, 100, 50, &r);
    CHECK(r.slots[0].end == 50 && r.slots[1].calls == 1 && r.slots[2].calls == 0, "n=100 splits in two");
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
    CHECK(r.slots[0].calls == 1 && r.slots[0].end == 1000);
    rt_thread_pool_destroy(p);

    CHECK(rt_thread_pool_size(NULL) == 1);
    run_and_check(NULL, 1000, 1, &r);
    CHECK(r.slots[0].calls == 1 && r.slots[0].end == 1000);
    run_and_check(NULL, 0, 1, &r);
    CHECK(r.slots[0].calls == 0);
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
    printf("test_thread_pool: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
