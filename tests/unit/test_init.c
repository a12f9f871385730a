/* test_init.c — unit tests of the parameter initializers (ir/init.c): determinism from (seed,
 * name), the distributions' bounds and moments, constants for every dtype, loads from .npy and
 * safetensors, and the messages for a missing value, a mismatched file and an integer draw. */
#define _POSIX_C_SOURCE 200809L

#include "ir/ir.h"
#include "runtime/tensor_file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/check.h"

/* One parameter, its value, and what the diagnostics said. */
typedef struct init_run {
    ir_param p;
    ir_tensor t;
    bool ok;
    char text[1024];
} init_run;

static void run_init(init_run *r, const char *name, ir_type type, ir_init init, uint64_t seed) {
    memset(r, 0, sizeof *r);
    r->p = (ir_param){.name = name, .type = type, .init = init, .split_axis = -1, .loc = IR_NO_LOC};
    if (!ir_tensor_alloc(&r->t, &type)) abort();
    FILE *log = tmpfile();
    ir_diag d;
    ir_diag_init(&d, log);
    r->ok = ir_param_init(&r->p, seed, &r->t, &d);
    CHECK(r->ok == (d.errors == 0), "%s: the result and the error count disagree", name);
    rewind(log);
    r->text[fread(r->text, 1, sizeof r->text - 1, log)] = 0;
    fclose(log);
    ir_diag_free(&d);
}

static ir_type vec(ir_dtype dt, int64_t n) { return (ir_type){dt, 1, {n}}; }

static bool same_values(const ir_tensor *a, const ir_tensor *b) {
    size_t bytes = (size_t)ir_type_elems(&a->type) * ir_dtype_size(a->type.dtype);
    return ir_type_equal(&a->type, &b->type) && memcmp(a->data, b->data, bytes) == 0;
}

static void moments(const ir_tensor *t, double *mean, double *std, double *absmax) {
    int64_t n = ir_type_elems(&t->type);
    double s = 0, sq = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = ir_tensor_get(t, i);
        s += v;
        sq += v * v;
        m = fmax(m, fabs(v));
    }
    *mean = s / (double)n;
    *std = sqrt(sq / (double)n - *mean * *mean);
    *absmax = m;
}

static void test_determinism(void) {
    ir_init normal = {IR_INIT_NORMAL, 2.0, 0, NULL, NULL};
    init_run a, b, c, e;
    run_init(&a, "w", vec(IR_F32, 4000), normal, 7);
    run_init(&b, "w", vec(IR_F32, 4000), normal, 7);
    run_init(&c, "v", vec(IR_F32, 4000), normal, 7);
    run_init(&e, "w", vec(IR_F32, 4000), normal, 8);
    CHECK(a.ok && b.ok && c.ok && e.ok, "normal failed");
    CHECK(same_values(&a.t, &b.t), "same seed and name must give the same values");
    CHECK(!same_values(&a.t, &c.t), "another name must give other values");
    CHECK(!same_values(&a.t, &e.t), "another seed must give other values");
    double mean, std, absmax;
    moments(&a.t, &mean, &std, &absmax);
    CHECK(fabs(mean) < 0.15 && fabs(std - 2.0) < 0.1, "normal(2): mean %g std %g", mean, std);
    ir_tensor *ts[4] = {&a.t, &b.t, &c.t, &e.t};
    for (int i = 0; i < 4; i++) ir_tensor_free(ts[i]);
}

static void test_distributions(void) {
    init_run r;
    double mean, std, absmax, bound = sqrt(6.0 / (100 + 50));
    run_init(&r, "glorot_w", (ir_type){IR_F32, 2, {100, 50}}, (ir_init){IR_INIT_GLOROT, 0, 0, NULL, NULL}, 0);
    moments(&r.t, &mean, &std, &absmax);
    CHECK(r.ok && absmax <= bound && absmax > 0.99 * bound && fabs(std - bound / sqrt(3.0)) < 0.01,
          "glorot: max %g std %g, bound %g", absmax, std, bound);
    ir_tensor_free(&r.t);

    double he_std = sqrt(2.0 / (3 * 3 * 3)); /* OIHW [64, 3, 3, 3]: fan_in = 3 * 9 */
    run_init(&r, "conv", (ir_type){IR_F32, 4, {64, 3, 3, 3}}, (ir_init){IR_INIT_HE, 0, 0, NULL, NULL}, 0);
    moments(&r.t, &mean, &std, &absmax);
    CHECK(r.ok && fabs(std - he_std) < 0.05 * he_std && fabs(mean) < 0.05, "he: std %g, expected %g", std, he_std);
    ir_tensor_free(&r.t);

    run_init(&r, "u", vec(IR_F16, 1000), (ir_init){IR_INIT_UNIFORM, -1, 3, NULL, NULL}, 0);
    moments(&r.t, &mean, &std, &absmax);
    bool inside = true;
    for (int i = 0; i < 1000; i++) inside &= ir_tensor_get(&r.t, i) >= -1 && ir_tensor_get(&r.t, i) <= 3;
    CHECK(r.ok && inside && fabs(mean - 1) < 0.15, "uniform(-1, 3): mean %g", mean);
    ir_tensor_free(&r.t);
}

static void test_constants(void) {
    static const struct {
        ir_dtype dt;
        ir_init_kind kind;
        double a, want;
    } cases[] = {
        {IR_F32, IR_INIT_ZEROS, 0, 0}, {IR_F32, IR_INIT_ONES, 0, 1}, {IR_F32, IR_INIT_FULL, 0.25, 0.25},
        {IR_I32, IR_INIT_ONES, 0, 1},  {IR_I64, IR_INIT_FULL, -3, -3}, {IR_BOOL, IR_INIT_FULL, 2, 1},
        {IR_BF16, IR_INIT_FULL, 0.5, 0.5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        init_run r;
        run_init(&r, "c", vec(cases[i].dt, 3), (ir_init){cases[i].kind, cases[i].a, 0, NULL, NULL}, 0);
        CHECK(r.ok, "constant %zu failed", i);
        for (int k = 0; k < 3; k++)
            CHECK(ir_tensor_get(&r.t, k) == cases[i].want, "constant %zu: got %g", i, ir_tensor_get(&r.t, k));
        ir_tensor_free(&r.t);
    }
}

static void test_errors(void) {
    init_run r;
    run_init(&r, "w", vec(IR_F32, 2), (ir_init){IR_INIT_NONE, 0, 0, NULL, NULL}, 0);
    CHECK(!r.ok && strstr(r.text, "parameter 'w' has no initializer and no value in the weights file"), "%s",
          r.text);
    ir_tensor_free(&r.t);
    run_init(&r, "counts", vec(IR_I32, 2), (ir_init){IR_INIT_GLOROT, 0, 0, NULL, NULL}, 0);
    CHECK(!r.ok && strstr(r.text, "'counts'") && strstr(r.text, "glorot"), "%s", r.text);
    ir_tensor_free(&r.t);
}

/* Writes a .npy and a safetensors file, then loads them into matching and mismatched params. */
static void test_load(void) {
    char dir[] = "/tmp/tfc_test_init_XXXXXX", npy[64], st[64];
    if (!mkdtemp(dir)) abort();
    snprintf(npy, sizeof npy, "%s/w.npy", dir);
    snprintf(st, sizeof st, "%s/w.safetensors", dir);
    float vals[6] = {1, 2, 3, 4, 5, 6};
    rt_array a = {RT_F32, 2, {2, 3}, vals, sizeof vals};
    rt_array_set set = {0};
    char err[256];
    CHECK(rt_npy_write(npy, &a, err, sizeof err) == 0, "%s", err);
    CHECK(rt_array_set_add(&set, "layer.w", &a) == 0 && rt_safetensors_write(st, &set, err, sizeof err) == 0, "%s",
          err);
    rt_array_set_free(&set);

    ir_type t23 = {IR_F32, 2, {2, 3}}, t32 = {IR_F32, 2, {3, 2}};
    init_run r;
    run_init(&r, "w", t23, (ir_init){IR_INIT_LOAD, 0, 0, npy, NULL}, 0);
    CHECK(r.ok && memcmp(r.t.data, vals, sizeof vals) == 0, "npy load: %s", r.text);
    ir_tensor_free(&r.t);
    run_init(&r, "w", t23, (ir_init){IR_INIT_LOAD, 0, 0, st, "layer.w"}, 0);
    CHECK(r.ok && memcmp(r.t.data, vals, sizeof vals) == 0, "safetensors load: %s", r.text);
    ir_tensor_free(&r.t);
    run_init(&r, "w", t32, (ir_init){IR_INIT_LOAD, 0, 0, npy, NULL}, 0);
    CHECK(!r.ok && strstr(r.text, npy) && strstr(r.text, "f32[3,2]") && strstr(r.text, "f32[2,3]"), "%s", r.text);
    ir_tensor_free(&r.t);
    run_init(&r, "w", t32, (ir_init){IR_INIT_LOAD, 0, 0, st, "layer.w"}, 0);
    CHECK(!r.ok && strstr(r.text, st) && strstr(r.text, "'layer.w'") && strstr(r.text, "f32[3,2]"), "%s", r.text);
    ir_tensor_free(&r.t);
    run_init(&r, "w", t23, (ir_init){IR_INIT_LOAD, 0, 0, st, "other"}, 0);
    CHECK(!r.ok && strstr(r.text, st) && strstr(r.text, "'other'"), "%s", r.text);
    ir_tensor_free(&r.t);
    run_init(&r, "w", t23, (ir_init){IR_INIT_LOAD, 0, 0, "/nonexistent/x.npy", NULL}, 0);
    CHECK(!r.ok && strstr(r.text, "/nonexistent/x.npy"), "%s", r.text);
    ir_tensor_free(&r.t);
    unlink(npy);
    unlink(st);
    rmdir(dir);
}

int main(void) {
    test_determinism();
    test_distributions();
    test_constants();
    test_errors();
    test_load();
    printf("test_init: %d checks, %d failed\n", checks, failures);
    return failures != 0;
}
