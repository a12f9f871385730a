// cxx_api.cpp — aot.cxx: a generated header used from C++11 (compiled with -Wall -Wextra -Werror
// -pedantic): the typed function, the generic entry, the shape macros and the argument table.
// Usage: cxx_api DIR — reads DIR/x.bin, writes DIR/probs.out.bin (compared with tfc run).
#include "mlp.h"

#include "bin_file.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

static int failures = 0;

static void check(bool ok, const char *what, const char *detail) {
    std::printf("  %s %s%s%s\n", ok ? "ok  " : "FAIL", what, detail && detail[0] ? ": " : "", detail ? detail : "");
    if (!ok) failures++;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: cxx_api DIR\n");
        return 100;
    }
    std::vector<float> x(MLP_INFER_X_COUNT), probs(MLP_INFER_PROBS_COUNT), again(MLP_INFER_PROBS_COUNT);
    if (bin_file("cxx_api", argv[1], "x.bin", x.data(), x.size() * sizeof(float), 0)) return 100;

    const int64_t x_shape[] = MLP_INFER_X_SHAPE;
    check(MLP_INFER_X_RANK == 2 && x_shape[0] * x_shape[1] == MLP_INFER_X_COUNT, "shape macros agree", nullptr);
    const mlp_graph_info *g = mlp_graph(MLP_GRAPH_INFER);
    check(g && std::strcmp(g->name, "infer") == 0 && g->n_inputs == 1 && g->n_outputs == 1, "graph table", nullptr);
    check(g && g->args[0].dtype == MLP_DTYPE_F32 && g->args[0].bytes == sizeof(float) * MLP_INFER_X_COUNT &&
              g->args[1].is_output == 1 && std::strcmp(g->args[1].name, "probs") == 0,
          "argument table", nullptr);

    mlp_options options = mlp_options();
    options.num_threads = 2;
    mlp_model *m = mlp_create(&options);
    if (!m) {
        check(false, "mlp_create", mlp_create_error());
        return failures;
    }
    check(mlp_infer(m, x.data(), probs.data()) == 0, "mlp_infer", mlp_error(m));
    void *args[] = {x.data(), again.data()};
    check(mlp_run(m, MLP_GRAPH_INFER, args) == 0, "mlp_run", mlp_error(m));
    check(probs == again, "mlp_run gives mlp_infer's outputs", nullptr);
    double worst = 0;
    for (int r = 0; r < (int)x_shape[0]; r++) {
        double sum = 0;
        for (int c = 0; c < 10; c++) sum += probs[r * 10 + c];
        worst = std::fmax(worst, std::fabs(sum - 1));
    }
    check(worst < 1e-5, "every row of softmax sums to 1", nullptr);
    mlp_destroy(m);

    check(bin_file("cxx_api", argv[1], "probs.out.bin", probs.data(), probs.size() * sizeof(float), 1) == 0,
          "write probs.out.bin", nullptr);
    std::printf("%d failed\n", failures);
    return failures;
}
