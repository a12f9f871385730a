/* stream.c — the machine's memory bandwidth limit, measured the way STREAM's triad does
 * (a[i] = b[i] + s * c[i]), with regular and with non-temporal stores, on T threads.
 * Usage: stream N_FLOATS THREADS RUNS. Prints one line per store kind:
 *   triad regular|nontemporal threads T: median X GB/s (min Y, max Z)
 * Bytes counted as STREAM does: 3 arrays x N x 4 bytes per run (no write-allocate traffic). */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
    float *a;
    const float *b, *c;
    long begin, end;
    int nontemporal;
    pthread_barrier_t *start;
} job;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void triad(job *j) {
    const float s = 3.0f;
    long i = j->begin;
    if (j->nontemporal) {
        for (; i < j->end && ((unsigned long)(j->a + i) & 31); i++) j->a[i] = j->b[i] + s * j->c[i];
        __m256 vs = _mm256_set1_ps(s);
        for (; i + 8 <= j->end; i += 8)
            _mm256_stream_ps(j->a + i, _mm256_add_ps(_mm256_loadu_ps(j->b + i), _mm256_mul_ps(vs, _mm256_loadu_ps(j->c + i))));
        _mm_sfence();
    }
    for (; i < j->end; i++) j->a[i] = j->b[i] + s * j->c[i];
}

static void *worker(void *arg) {
    job *j = arg;
    pthread_barrier_wait(j->start);
    triad(j);
    return NULL;
}

static int compare(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* One timed run: threads 1..T-1 started fresh, thread 0 is the caller (as the runtime's pool). */
static double run(float *a, const float *b, const float *c, long n, int threads, int nontemporal) {
    pthread_t tid[64];
    job jobs[64];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads);
    for (int t = 0; t < threads; t++)
        jobs[t] = (job){a, b, c, n * t / threads, n * (t + 1) / threads, nontemporal, &start};
    for (int t = 1; t < threads; t++) pthread_create(&tid[t], NULL, worker, &jobs[t]);
    pthread_barrier_wait(&start);
    double t0 = now();
    triad(&jobs[0]);
    for (int t = 1; t < threads; t++) pthread_join(tid[t], NULL);
    double t1 = now();
    pthread_barrier_destroy(&start);
    return t1 - t0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: stream N_FLOATS THREADS RUNS\n");
        return 1;
    }
    long n = atol(argv[1]);
    int threads = atoi(argv[2]), runs = atoi(argv[3]);
    if (n < 1 || threads < 1 || threads > 64 || runs < 1) return 1;
    float *a = aligned_alloc(64, (size_t)n * 4 + 64), *b = aligned_alloc(64, (size_t)n * 4 + 64),
          *c = aligned_alloc(64, (size_t)n * 4 + 64);
    double *gbs = calloc((size_t)runs, sizeof *gbs);
    if (!a || !b || !c || !gbs) return 1;
    for (long i = 0; i < n; i++) a[i] = 0, b[i] = (float)(i % 7), c[i] = (float)(i % 5);
    for (int nt = 0; nt < 2; nt++) {
        run(a, b, c, n, threads, nt);   /* warm-up */
        for (int r = 0; r < runs; r++) gbs[r] = 3.0 * (double)n * 4 / run(a, b, c, n, threads, nt) * 1e-9;
        qsort(gbs, (size_t)runs, sizeof *gbs, compare);
        printf("triad %s threads %d: median %.2f GB/s (min %.2f, max %.2f)\n", nt ? "nontemporal" : "regular", threads,
               gbs[runs / 2], gbs[0], gbs[runs - 1]);
    }
    free(a), free(b), free(c), free(gbs);
    return 0;
}
