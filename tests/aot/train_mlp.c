/* train_mlp.c — aot.train: examples/mlp.tg compiled whole (graphs infer and train, prefix mlp)
 * trains through its C API on one batch: STEPS steps, through mlp_train and mlp_run in turn, each
 * step's loss written out; a step with a NULL output fails and changes nothing; the weights are
 * saved before and after training (no optimizer state in the files); a second model loads the
 * trained weights and infers exactly what the first does.
 * Usage: train_mlp DIR STEPS — reads DIR/x.bin and DIR/y.bin; writes DIR/losses.out.bin (STEPS
 * floats), DIR/initial.safetensors, DIR/trained.safetensors and DIR/probs.out.bin. */
#include "mlp.h"

#include "bin_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float x[MLP_TRAIN_X_COUNT], probs[MLP_INFER_PROBS_COUNT], probs2[MLP_INFER_PROBS_COUNT];
static int32_t y[MLP_TRAIN_Y_COUNT];

static int fail(const char *what, const char *why) {
    fprintf(stderr, "train_mlp: %s: %s\n", what, why);
    return 1;
}

/* The generated signature, and the argument table: inputs and the loss, no parameter update. */
static int check_table(void) {
    const mlp_graph_info *g = mlp_graph(MLP_GRAPH_TRAIN);
    if (!g || strcmp(g->name, "train") != 0 || g->n_inputs != 2 || g->n_outputs != 1 ||
        strcmp(g->args[2].name, "loss") != 0 || g->args[2].rank != 0 || MLP_TRAIN_LOSS_COUNT != 1)
        return fail("argument table", "graph train should take x and y and give loss only");
    return 0;
}

/* Step s: mlp_train on even steps, the generic mlp_run on odd ones (the same function). */
static int step(mlp_model *m, int s, float *loss) {
    if (s % 2 == 0) return mlp_train(m, x, y, loss);
    void *args[3] = {x, y, loss};
    return mlp_run(m, MLP_GRAPH_TRAIN, args);
}

static int train(mlp_model *m, const char *dir, int steps, float *losses) {
    for (int s = 0; s < steps; s++) {
        if (step(m, s, &losses[s]) != 0) return fail("train", mlp_error(m));
        /* A call that fails its argument check is not a step: nothing moves. */
        if (s == 2) {
            if (mlp_train(m, x, y, NULL) == 0) return fail("train", "a NULL loss was accepted");
            if (!strstr(mlp_error(m), "argument 'loss' (output 0) is NULL")) return fail("NULL loss", mlp_error(m));
        }
    }
    return bin_file("train_mlp", dir, "losses.out.bin", losses, sizeof(float) * (size_t)steps, 1);
}

int main(int argc, char **argv) {
    if (argc != 3 || atoi(argv[2]) < 1) {
        fprintf(stderr, "usage: train_mlp DIR STEPS\n");
        return 2;
    }
    const char *dir = argv[1];
    int steps = atoi(argv[2]);
    char initial[4096], trained[4096];
    snprintf(initial, sizeof initial, "%s/initial.safetensors", dir);
    snprintf(trained, sizeof trained, "%s/trained.safetensors", dir);
    float *losses = calloc((size_t)steps, sizeof *losses);
    if (!losses || check_table() || bin_file("train_mlp", dir, "x.bin", x, sizeof x, 0) ||
        bin_file("train_mlp", dir, "y.bin", y, sizeof y, 0))
        return 1;
    mlp_model *m = mlp_create(NULL), *m2 = mlp_create(NULL);
    if (!m || !m2) return fail("create", mlp_create_error());
    int rc = 0;
    if (mlp_save_weights(m, initial) != 0) rc = fail("save_weights", mlp_error(m));
    if (!rc) rc = train(m, dir, steps, losses);
    if (!rc && mlp_save_weights(m, trained) != 0) rc = fail("save_weights", mlp_error(m));
    /* The trained weights load into a fresh model, which then infers what the trained one does. */
    if (!rc && mlp_load_weights(m2, trained) != 0) rc = fail("load_weights", mlp_error(m2));
    if (!rc && (mlp_infer(m, x, probs) != 0 || mlp_infer(m2, x, probs2) != 0)) rc = fail("infer", mlp_error(m));
    if (!rc && memcmp(probs, probs2, sizeof probs) != 0) rc = fail("load_weights", "the loaded model infers otherwise");
    if (!rc) rc = bin_file("train_mlp", dir, "probs.out.bin", probs, sizeof probs, 1);
    if (!rc) printf("train_mlp: %d steps, loss %g -> %g\n", steps, losses[0], losses[steps - 1]);
    mlp_destroy(m);
    mlp_destroy(m2);
    free(losses);
    return rc;
}
