/* main.c — a C program using the library that `tfc compile examples/mlp.tg --name mlp` writes (both
 * graphs: infer and train): creates the model, classifies a batch of pseudo-random images (the
 * numbers that `tfc run --random-inputs` feeds the graph), prints the first rows' classes, times
 * inferences, then trains the model on that batch for a few steps (mlp_train: SGD with momentum,
 * as the model says) and saves the trained weights when asked.
 * Usage: mlp_demo [num_threads (0: all cores)] [runs] [trained.safetensors]. Build: README.md here. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */

#include "mlp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static float x[MLP_INFER_X_COUNT];
static float probs[MLP_INFER_PROBS_COUNT];
static int32_t labels[MLP_TRAIN_Y_COUNT];

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1), as tfc run's --random-inputs makes input number `index` from `seed` (--seed,
 * 0 by default), so the classes printed here can be checked against `tfc run` on the same weights. */
static void fill_random(float *v, int64_t n, uint64_t seed, int index) {
    uint64_t state = seed * 0x100000001b3ull + (uint64_t)index + 1;
    for (int64_t i = 0; i < n; i++) v[i] = (float)((double)(splitmix64(&state) >> 11) * 0x1p-52 - 1.0);
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int compare_doubles(const void *a, const void *b) {
    double x_ = *(const double *)a, y_ = *(const double *)b;
    return (x_ > y_) - (x_ < y_);
}

static int argmax_row(const float *row, int n) {
    int best = 0;
    for (int j = 1; j < n; j++)
        if (row[j] > row[best]) best = j;
    return best;
}

/* Times `runs` inferences after one warm-up; prints median, min and max per inference. */
static int time_inferences(mlp_model *m, int runs, int rows) {
    double *ms = malloc((size_t)runs * sizeof *ms);
    if (!ms) {
        fprintf(stderr, "mlp_demo: out of memory\n");
        return 1;
    }
    int rc = mlp_infer(m, x, probs);
    for (int i = 0; rc == 0 && i < runs; i++) {
        double start = now_ms();
        rc = mlp_infer(m, x, probs);
        ms[i] = now_ms() - start;
    }
    if (rc != 0) {
        fprintf(stderr, "mlp_demo: mlp_infer: %s\n", mlp_error(m));
    } else {
        qsort(ms, (size_t)runs, sizeof *ms, compare_doubles);
        printf("%d inferences of a batch of %d: median %.3f ms, min %.3f ms, max %.3f ms per inference\n", runs, rows,
               ms[runs / 2], ms[0], ms[runs - 1]);
    }
    free(ms);
    return rc != 0;
}

/* Trains `steps` steps on the batch, labelled by the index of its largest of the first ten
 * features (a rule the network can learn); prints the loss before and after, and the time per
 * step. Each mlp_train call is one step: the parameters change once it has succeeded. */
static int train(mlp_model *m, int steps) {
    int64_t shape[] = MLP_TRAIN_X_SHAPE;
    for (int64_t i = 0; i < shape[0]; i++) labels[i] = argmax_row(x + i * shape[1], 10);
    float first = 0, loss = 0;
    double start = now_ms();
    for (int s = 0; s < steps; s++) {
        if (mlp_train(m, x, labels, &loss) != 0) {
            fprintf(stderr, "mlp_demo: mlp_train: %s\n", mlp_error(m));
            return 1;
        }
        if (s == 0) first = loss;
    }
    printf("%d training steps on the batch: loss %.4f -> %.4f, %.3f ms per step\n", steps, (double)first,
           (double)loss, (now_ms() - start) / steps);
    return 0;
}

int main(int argc, char **argv) {
    mlp_options options = {0};
    options.num_threads = argc > 1 ? atoi(argv[1]) : 0;
    int runs = argc > 2 ? atoi(argv[2]) : 100;
    if (runs < 1) runs = 1;

    mlp_model *m = mlp_create(&options);
    if (!m) {
        fprintf(stderr, "mlp_demo: mlp_create: %s\n", mlp_create_error());
        return 1;
    }
    fill_random(x, MLP_INFER_X_COUNT, 0, 0);
    if (mlp_infer(m, x, probs) != 0) {
        fprintf(stderr, "mlp_demo: mlp_infer: %s\n", mlp_error(m));
        mlp_destroy(m);
        return 1;
    }
    int64_t shape[] = MLP_INFER_PROBS_SHAPE;
    int rows = (int)shape[0], classes = (int)shape[1];
    printf("predicted classes of the first 16 rows:");
    for (int i = 0; i < rows && i < 16; i++) printf(" %d", argmax_row(probs + (size_t)i * classes, classes));
    printf("\n");

    int failed = time_inferences(m, runs, rows) || train(m, 20);
    if (!failed && argc > 3 && mlp_save_weights(m, argv[3]) != 0) {
        fprintf(stderr, "mlp_demo: mlp_save_weights: %s\n", mlp_error(m));
        failed = 1;
    }
    if (!failed && argc > 3) printf("trained weights written to %s\n", argv[3]);
    mlp_destroy(m);
    return failed;
}
