/* gemm_time.c — OpenBLAS's own time for a list of GEMMs, the yardstick of the GEMM-bound
 * targets (BENCHMARKS.md): "end-to-end within 1.10 x the sum of their GEMMs' OpenBLAS times".
 * Usage: gemm_time THREADS RUNS M,N,K,TA,TB,BATCH ... Each GEMM runs BATCH cblas_sgemm calls
 * (row-major) per timed repetition; prints its median and the sum of the medians:
 *   gemm M N K ta tb batch: median X ms (min Y, max Z) G GFLOP/s
 *   gemm total: X ms */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: gemm_time THREADS RUNS M,N,K,TA,TB,BATCH ...\n");
        return 1;
    }
    openblas_set_num_threads(atoi(argv[1]));
    int runs = atoi(argv[2]);
    if (runs < 1) {
        fprintf(stderr, "gemm_time: RUNS must be a positive integer, not '%s'\n", argv[2]);
        return 1;
    }
    double *t = calloc((size_t)runs, sizeof *t), total = 0;
    for (int g = 3; g < argc; g++) {
        long m, n, k, batch;
        int ta, tb;
        if (sscanf(argv[g], "%ld,%ld,%ld,%d,%d,%ld", &m, &n, &k, &ta, &tb, &batch) != 6) return 1;
        float *a = calloc((size_t)(m * k * batch), 4), *b = calloc((size_t)(k * n * batch), 4),
              *c = calloc((size_t)(m * n * batch), 4);
        if (!a || !b || !c) return 1;
        for (long i = 0; i < m * k * batch; i++) a[i] = (float)(i % 13) * 0.01f;
        for (long i = 0; i < k * n * batch; i++) b[i] = (float)(i % 11) * 0.01f;
        for (int r = -2; r < runs; r++) {   /* two warm-ups */
            double t0 = now();
            for (long i = 0; i < batch; i++)
                cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                            (int)k, 1.0f, a + i * m * k, ta ? (int)m : (int)k, b + i * k * n, tb ? (int)k : (int)n, 0.0f,
                            c + i * m * n, (int)n);
            if (r >= 0) t[r] = (now() - t0) * 1e3;
        }
        qsort(t, (size_t)runs, sizeof *t, compare);
        double med = t[runs / 2];
        total += med;
        printf("gemm %ld %ld %ld %d %d %ld: median %.4f ms (min %.4f, max %.4f) %.1f GFLOP/s\n", m, n, k, ta, tb, batch,
               med, t[0], t[runs - 1], 2.0 * m * n * k * batch / (med * 1e-3) * 1e-9);
        free(a), free(b), free(c);
    }
    printf("gemm total: %.4f ms\n", total);
    free(t);
    return 0;
}
