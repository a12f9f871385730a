/* main.c — the consumer project's program: runs mlpa and mlpb on DIR/x.bin and writes
 * DIR/a.out.bin and DIR/b.out.bin for the test to compare with tfc run. Usage: consumer DIR */
#include "mlpa.h"
#include "mlpb.h"

#include "../bin_file.h"

#include <stdio.h>

static float x[MLPA_INFER_X_COUNT], pa[MLPA_INFER_PROBS_COUNT], pb[MLPB_INFER_PROBS_COUNT];

int main(int argc, char **argv) {
    if (argc != 2 || bin_file("consumer", argv[1], "x.bin", x, sizeof x, 0)) return 1;
    mlpa_model *a = mlpa_create(NULL);
    mlpb_model *b = mlpb_create(NULL);
    if (!a || !b) {
        fprintf(stderr, "consumer: create: %s%s\n", mlpa_create_error(), mlpb_create_error());
        return 1;
    }
    int rc = 0;
    if (mlpa_infer(a, x, pa) != 0) {
        fprintf(stderr, "consumer: %s\n", mlpa_error(a));
        rc = 1;
    }
    if (mlpb_infer(b, x, pb) != 0) {
        fprintf(stderr, "consumer: %s\n", mlpb_error(b));
        rc = 1;
    }
    mlpa_destroy(a);
    mlpb_destroy(b);
    if (rc == 0)
        rc = bin_file("consumer", argv[1], "a.out.bin", pa, sizeof pa, 1) ||
             bin_file("consumer", argv[1], "b.out.bin", pb, sizeof pb, 1);
    return rc != 0;
}
