/* two_models.c — aot.two_models: two libraries of the same model (prefixes a and b, compiled with
 * other seeds) linked into one program: nothing clashes, each object keeps its own parameters,
 * and the two run at once on two threads with the outputs they give one after the other.
 * Usage: two_models DIR — reads DIR/x.bin, writes DIR/a.out.bin and DIR/b.out.bin. */
#define _POSIX_C_SOURCE 200809L /* dlopen, pthreads under -std=c99 */

#include "a.h"
#include "b.h"

#include "bin_file.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static float x[A_INFER_X_COUNT];
static float pa[A_INFER_PROBS_COUNT], pb[B_INFER_PROBS_COUNT];
static float ta[A_INFER_PROBS_COUNT], tb[B_INFER_PROBS_COUNT];
static a_model *ma;
static b_model *mb;
static int rc_a, rc_b;

static void *run_b(void *unused) {
    (void)unused;
    for (int i = 0; i < 5 && rc_b == 0; i++) rc_b = b_infer(mb, x, tb);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: two_models DIR\n");
        return 1;
    }
    if (bin_file("two_models", argv[1], "x.bin", x, sizeof x, 0)) return 1;
    a_options oa = {0};
    b_options ob = {0};
    oa.num_threads = 2;
    ob.num_threads = 1;
    ma = a_create(&oa);
    mb = b_create(&ob);
    if (!ma || !mb) {
        fprintf(stderr, "two_models: create: %s%s\n", ma ? "" : "a: ", ma ? b_create_error() : a_create_error());
        return 1;
    }
    if (a_infer(ma, x, pa) != 0 || b_infer(mb, x, pb) != 0) {
        fprintf(stderr, "two_models: infer: a: %s b: %s\n", a_error(ma), b_error(mb));
        return 1;
    }
    if (memcmp(pa, pb, sizeof pa) == 0) {
        fprintf(stderr, "two_models: a and b gave the same outputs, though compiled with other seeds\n");
        return 1;
    }
    /* Both at once: b on a thread of its own, a here. */
    pthread_t t;
    if (pthread_create(&t, NULL, run_b, NULL) != 0) {
        fprintf(stderr, "two_models: pthread_create failed\n");
        return 1;
    }
    for (int i = 0; i < 5 && rc_a == 0; i++) rc_a = a_infer(ma, x, ta);
    pthread_join(t, NULL);
    if (rc_a || rc_b) {
        fprintf(stderr, "two_models: concurrent infer: a: %s b: %s\n", a_error(ma), b_error(mb));
        return 1;
    }
    if (memcmp(pa, ta, sizeof pa) != 0 || memcmp(pb, tb, sizeof pb) != 0) {
        fprintf(stderr, "two_models: running at once changed the outputs\n");
        return 1;
    }
    a_destroy(ma);
    b_destroy(mb);
    if (bin_file("two_models", argv[1], "a.out.bin", pa, sizeof pa, 1) ||
        bin_file("two_models", argv[1], "b.out.bin", pb, sizeof pb, 1))
        return 1;
    printf("two models in one program: both ran, alone and at once\n");
    return 0;
}
