/* fma_peak.c — the machine's fp32 FMA peak, one of the limits the suite measures (BENCHMARKS.md):
 * a loop of independent vfmadd231ps on 12 accumulators (FMA latency 4 cycles x 2 pipes = 8 in
 * flight at least; 12 leaves slack), in inline assembly so no compiler can fold or reorder it.
 * Uses zmm (16 lanes) where the CPU has AVX-512F, else ymm (8 lanes).
 * Usage: fma_peak THREADS RUNS. Prints
 *   fma peak zmm|ymm threads T: median X GFLOP/s (min Y, max Z)
 * x86-64 only. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ITERS 20000000L   /* per timed run and thread: 12 FMAs each */

typedef struct job {
    int zmm;
    pthread_barrier_t *start;
} job;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

__attribute__((target("avx2,fma"))) static void loop_ymm(long n) {
    __asm__ volatile(
        "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"
        "vxorps %%ymm1, %%ymm1, %%ymm1\n\t"
        "vxorps %%ymm2, %%ymm2, %%ymm2\n\t"
        "vxorps %%ymm3, %%ymm3, %%ymm3\n\t"
        "vxorps %%ymm4, %%ymm4, %%ymm4\n\t"
        "vxorps %%ymm5, %%ymm5, %%ymm5\n\t"
        "vxorps %%ymm6, %%ymm6, %%ymm6\n\t"
        "vxorps %%ymm7, %%ymm7, %%ymm7\n\t"
        "vxorps %%ymm8, %%ymm8, %%ymm8\n\t"
        "vxorps %%ymm9, %%ymm9, %%ymm9\n\t"
        "vxorps %%ymm10, %%ymm10, %%ymm10\n\t"
        "vxorps %%ymm11, %%ymm11, %%ymm11\n\t"
        "vxorps %%ymm12, %%ymm12, %%ymm12\n\t"
        "vxorps %%ymm13, %%ymm13, %%ymm13\n\t"
        "1:\n\t"
        "vfmadd231ps %%ymm12, %%ymm13, %%ymm0\n\t"
        "vfmadd231ps %%ymm12, %%ymm13, %%ymm1\n\t"
        "vfmadd231ps %%ymm12, %%ymm13, %%ymm2\n\t"
        "vfmadd231ps %%ymm12, %%ymm13, %%ymm3\n\t"
        "vfmadd231ps %%ymm12, %%ymm13, %%ymm4\n\t"
        "vfmadd231ps %%ymm12, %%ymm13, %%ymm5\n\t"
        "vfmadd231ps %%ymm12, %%ymm13, %%ymm6\n\t"
        "vfmadd231ps %%ymm12, %%ymm13, %%ymm7\n\t"
        "vfmadd231ps %%ymm12, %%ymm13, %%ymm8\n\t"
        "vfmadd231ps %%ymm12, %%ymm13, %%ymm9\n\t"
        "vfmadd231ps %%ymm12, %%ymm13, %%ymm10\n\t"
        "vfmadd231ps %%ymm12, %%ymm13, %%ymm11\n\t"
        "dec %0\n\t"
        "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(n)
        :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
          "xmm13", "cc");
}

__attribute__((target("avx512f"))) static void loop_zmm(long n) {
    __asm__ volatile(
        "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
        "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
        "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
        "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
        "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
        "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
        "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
        "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
        "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
        "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
        "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
        "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
        "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
        "1:\n\t"
        "vfmadd231ps %%zmm12, %%zmm13, %%zmm0\n\t"
        "vfmadd231ps %%zmm12, %%zmm13, %%zmm1\n\t"
        "vfmadd231ps %%zmm12, %%zmm13, %%zmm2\n\t"
        "vfmadd231ps %%zmm12, %%zmm13, %%zmm3\n\t"
        "vfmadd231ps %%zmm12, %%zmm13, %%zmm4\n\t"
        "vfmadd231ps %%zmm12, %%zmm13, %%zmm5\n\t"
        "vfmadd231ps %%zmm12, %%zmm13, %%zmm6\n\t"
        "vfmadd231ps %%zmm12, %%zmm13, %%zmm7\n\t"
        "vfmadd231ps %%zmm12, %%zmm13, %%zmm8\n\t"
        "vfmadd231ps %%zmm12, %%zmm13, %%zmm9\n\t"
        "vfmadd231ps %%zmm12, %%zmm13, %%zmm10\n\t"
        "vfmadd231ps %%zmm12, %%zmm13, %%zmm11\n\t"
        "dec %0\n\t"
        "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(n)
        :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
          "xmm13", "cc");
}

static void *worker(void *arg) {
    job *j = arg;
    pthread_barrier_wait(j->start);
    if (j->zmm)
        loop_zmm(ITERS);
    else
        loop_ymm(ITERS);
    return NULL;
}

static int compare(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: fma_peak THREADS RUNS\n");
        return 1;
    }
    int threads = atoi(argv[1]), runs = atoi(argv[2]);
    if (threads < 1 || threads > 64 || runs < 1) return 1;
    __builtin_cpu_init();
    int zmm = __builtin_cpu_supports("avx512f");
    if (!zmm && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
        fprintf(stderr, "fma_peak: the CPU has neither AVX-512F nor AVX2+FMA\n");
        return 1;
    }
    double *g = calloc((size_t)runs, sizeof *g);
    for (int r = -1; r < runs; r++) {   /* one warm-up: clocks up, AVX-512 units awake */
        pthread_t tid[64];
        job jobs[64];
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, (unsigned)threads);
        for (int t = 0; t < threads; t++) jobs[t] = (job){zmm, &start};
        for (int t = 1; t < threads; t++) pthread_create(&tid[t], NULL, worker, &jobs[t]);
        pthread_barrier_wait(&start);
        double t0 = now();
        if (zmm)
            loop_zmm(ITERS);
        else
            loop_ymm(ITERS);
        for (int t = 1; t < threads; t++) pthread_join(tid[t], NULL);
        double sec = now() - t0;
        pthread_barrier_destroy(&start);
        if (r >= 0) g[r] = 12.0 * 2 * (zmm ? 16 : 8) * ITERS * threads / sec * 1e-9;
    }
    qsort(g, (size_t)runs, sizeof *g, compare);
    printf("fma peak %s threads %d: median %.1f GFLOP/s (min %.1f, max %.1f)\n", zmm ? "zmm" : "ymm", threads,
           g[runs / 2], g[0], g[runs - 1]);
    free(g);
    return 0;
}
