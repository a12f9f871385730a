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

/* The loop in one register width R ("ymm" or "zmm"), zeroed with ZERO (vxorps on ymm; zmm needs
 * vpxord, as vxorps on zmm is AVX-512DQ): 14 registers zeroed, then N iterations of 12
 * independent FMAs into R0..R11 from R12 and R13. */
#define ZERO(op, r, i) op " %%" r #i ", %%" r #i ", %%" r #i "\n\t"
#define FMA(r, i) "vfmadd231ps %%" r "12, %%" r "13, %%" r #i "\n\t"
#define FMA_LOOP(op, r)                                                                                             \
    ZERO(op, r, 0) ZERO(op, r, 1) ZERO(op, r, 2) ZERO(op, r, 3) ZERO(op, r, 4) ZERO(op, r, 5) ZERO(op, r, 6)         \
    ZERO(op, r, 7) ZERO(op, r, 8) ZERO(op, r, 9) ZERO(op, r, 10) ZERO(op, r, 11) ZERO(op, r, 12) ZERO(op, r, 13)     \
    "1:\n\t" FMA(r, 0) FMA(r, 1) FMA(r, 2) FMA(r, 3) FMA(r, 4) FMA(r, 5) FMA(r, 6) FMA(r, 7) FMA(r, 8) FMA(r, 9)    \
    FMA(r, 10) FMA(r, 11) "dec %0\n\t"                                                                             \
    "jnz 1b\n\t"                                                                                                   \
    "vzeroupper\n\t"
#define CLOBBERS \
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "cc"

__attribute__((target("avx2,fma"))) static void loop_ymm(long n) {
    __asm__ volatile(FMA_LOOP("vxorps", "ymm") : "+r"(n) : : CLOBBERS);
}

__attribute__((target("avx512f"))) static void loop_zmm(long n) {
    __asm__ volatile(FMA_LOOP("vpxord", "zmm") : "+r"(n) : : CLOBBERS);
}

/* One thread's timed work. */
static void fma_loop(int zmm) {
    if (zmm)
        loop_zmm(ITERS);
    else
        loop_ymm(ITERS);
}

static void *worker(void *arg) {
    job *j = arg;
    pthread_barrier_wait(j->start);
    fma_loop(j->zmm);
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
        fma_loop(zmm);
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
