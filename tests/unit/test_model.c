/* test_model.c — unit test of the model object (runtime/model.h): a descriptor built by hand, as
 * a generated library would declare it, with C kernels for generated code (a loop step, a GEMM
 * through rt_gemm_encode, a failing check) over three graphs and four parameters. Runs, thread
 * counts, two models at once, weights round trips and every refusal (bad descriptors, arguments,
 * weights files) with its message; a second descriptor trains (parameter updates swapped in
 * after a successful step, optimizer state outside weights files). (Several programs on one
 * executor: test_program.c.) */
#define _POSIX_C_SOURCE 200809L

#include "runtime/model.h"
#include "runtime/tensor_file.h"
#include "runtime/thread_pool.h"
#include "tests/unit/check.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The out-of-memory test asks for an impossible parameter; under the sanitizers that must fail
   like malloc does instead of aborting the test. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

/* ---- the model: graphs infer, matmul and check over parameters w, m, step and empty --------- */

#define N 1000 /* infer and check: vectors of N */
#define M 6    /* matmul: c[M, NC] = a[M, K] · m[K, NC] + w[column] + step */
#define K 5
#define NC 7
#define ARENA_RESULT 64 /* where matmul's product lies in the arena (bytes) */

/* Every graph has two arguments, so the parameters' slots are the same in all of them. */
enum { SLOT_ARENA, SLOT_IN, SLOT_OUT, SLOT_W, SLOT_M, SLOT_STEP, SLOT_EMPTY, N_SLOTS };

static int affine(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    const float *x = (const float *)slots[SLOT_IN], *w = (const float *)slots[SLOT_W];
    float *y = (float *)slots[SLOT_OUT];
    for (int64_t i = begin; i < end; i++) y[i] = x[i] * w[i] + 1;
    return scratch != NULL;
}

static int add_bias(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    (void)scratch;
    const float *product = (const float *)(slots[SLOT_ARENA] + ARENA_RESULT), *w = (const float *)slots[SLOT_W];
    float step = (float)*(const int64_t *)slots[SLOT_STEP];
    float *c = (float *)slots[SLOT_OUT];
    for (int64_t i = begin; i < end; i++) c[i] = product[i] + w[i % NC] + step;
    return 0;
}

static int check_nonneg(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    (void)scratch;
    const float *x = (const float *)slots[SLOT_IN];
    float *y = (float *)slots[SLOT_OUT];
    for (int64_t i = begin; i < end; i++) {
        if (x[i] < 0) return 1;
        y[i] = sqrtf(x[i]);
    }
    return 0;
}

static const int64_t dims_vec[] = {N}, dims_a[] = {M, K}, dims_c[] = {M, NC}, dims_m[] = {K, NC}, dims_empty[] = {0};
static _Alignas(64) float init_w[N], init_m[K * NC];
static _Alignas(64) int64_t init_step = 7;
static const char *const check_messages[] = {"x must be non-negative"};

/* A descriptor with its tables; the pointers point into the struct itself, so it must stay
   where fixture_init put it. Tests break one field at a time. */
typedef struct fixture {
    rt_aot_param params[4];
    rt_aot_arg args[3][2];
    rt_aot_step steps[3][2];
    int64_t gemm_call[RT_AOT_GEMM_FIELDS];
    rt_aot_graph graphs[3];
    rt_aot_model model;
} fixture;

static void fixture_init(fixture *f) {
    for (int i = 0; i < N; i++) init_w[i] = (float)(i % 17) * 0.25f - 1.5f;
    for (int i = 0; i < K * NC; i++) init_m[i] = (float)((i * 7) % 11) * 0.5f - 2.0f;
    memset(f, 0, sizeof *f);
    f->params[0] = (rt_aot_param){"w", RT_F32, 1, dims_vec, init_w, sizeof init_w, 0};
    f->params[1] = (rt_aot_param){"m", RT_F32, 2, dims_m, init_m, sizeof init_m, 0};
    f->params[2] = (rt_aot_param){"step", RT_I64, 0, NULL, &init_step, 8, 0};
    f->params[3] = (rt_aot_param){"empty", RT_F32, 1, dims_empty, NULL, 0, 0};

    f->args[0][0] = (rt_aot_arg){"x", RT_F32, 1, dims_vec, 0};
    f->args[0][1] = (rt_aot_arg){"y", RT_F32, 1, dims_vec, 1};
    f->steps[0][0] = (rt_aot_step){.name = "affine", .kind = RT_STEP_LOOP, .fn = affine, .extent = N, .grain = 64};
    f->graphs[0] = (rt_aot_graph){"infer", 1, 1, f->args[0], 1, f->steps[0], 0, 0, NULL};

    rt_gemm g = {.a = {SLOT_IN, 0},
                 .b = {SLOT_M, 0},
                 .c = {SLOT_ARENA, ARENA_RESULT},
                 .m = M,
                 .n = NC,
                 .k = K,
                 .lda = K,
                 .ldb = NC};
    rt_gemm_encode(&g, f->gemm_call);
    f->args[1][0] = (rt_aot_arg){"a", RT_F32, 2, dims_a, 0};
    f->args[1][1] = (rt_aot_arg){"c", RT_F32, 2, dims_c, 1};
    f->steps[1][0] = (rt_aot_step){.name = "mm", .kind = RT_STEP_GEMM, .call = f->gemm_call};
    f->steps[1][1] =
        (rt_aot_step){.name = "add_bias", .kind = RT_STEP_LOOP, .fn = add_bias, .extent = M * NC, .grain = 8};
    f->graphs[1] = (rt_aot_graph){"matmul", 1, 1, f->args[1], 2, f->steps[1], ARENA_RESULT + M * NC * 4, 0, NULL};

    f->args[2][0] = (rt_aot_arg){"x", RT_F32, 1, dims_vec, 0};
    f->args[2][1] = (rt_aot_arg){"y", RT_F32, 1, dims_vec, 1};
    f->steps[2][0] = (rt_aot_step){.name = "check_nonneg",
                                   .kind = RT_STEP_LOOP,
                                   .fn = check_nonneg,
                                   .extent = N,
                                   .grain = 50,
                                   .n_checks = 1,
                                   .checks = check_messages};
    f->graphs[2] = (rt_aot_graph){"check", 1, 1, f->args[2], 1, f->steps[2], 0, 0, NULL};

    f->model = (rt_aot_model){RT_AOT_ABI_VERSION, "toy", 3, f->graphs, 4, f->params};
}

static rt_model *create(const fixture *f, int threads) {
    rt_model_options o = {.num_threads = threads};
    rt_model *m = rt_model_create(&f->model, &o);
    CHECK(m != NULL, "%s", rt_model_create_error());
    CHECK(m == NULL || rt_model_create_error()[0] == '\0');
    return m;
}

/* ---- inputs and expected outputs ----------------------------------------------------------- */

static void fill_inputs(float *x, float *a, uint32_t seed) {
    for (int i = 0; i < N; i++) x[i] = (float)((i * 13 + seed) % 23) * 0.125f;
    for (int i = 0; i < M * K; i++) a[i] = (float)((i * 5 + seed) % 9) * 0.5f - 2.0f;
}

static bool infer_matches(const float *x, const float *w, const float *y) {
    for (int i = 0; i < N; i++)
        if (y[i] != x[i] * w[i] + 1) return false;
    return true;
}

static bool matmul_matches(const float *a, const float *mat, const float *w, int64_t step, const float *c) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < NC; j++) {
            double want = (double)w[j] + (double)step;
            for (int k = 0; k < K; k++) want += (double)a[i * K + k] * mat[k * NC + j];
            if (fabs(c[i * NC + j] - want) > 1e-4) return false;
        }
    return true;
}

static int run2(rt_model *m, int graph, const void *in, void *out) {
    void *args[2] = {(void *)in, out};
    return rt_model_run(m, graph, args);
}

/* ---- running ------------------------------------------------------------------------------- */

static void test_run(void) {
    fixture f;
    fixture_init(&f);
    static float x[N], a[M * K], y[3][N], c[3][M * NC];
    fill_inputs(x, a, 3);
    const int threads[] = {1, 3, 0};
    for (int t = 0; t < 3; t++) {
        rt_model *m = create(&f, threads[t]);
        if (!m) return;
        memset(y[t], 0xff, sizeof y[t]);
        memset(c[t], 0xff, sizeof c[t]);
        CHECK(run2(m, 0, x, y[t]) == 0, "%s", rt_model_error(m));
        CHECK(strcmp(rt_model_error(m), "") == 0);
        CHECK(infer_matches(x, init_w, y[t]), "%d threads: infer", threads[t]);
        CHECK(run2(m, 1, a, c[t]) == 0, "%s", rt_model_error(m));
        CHECK(matmul_matches(a, init_m, init_w, init_step, c[t]), "%d threads: matmul", threads[t]);
        CHECK(memcmp(y[t], y[0], sizeof y[0]) == 0 && memcmp(c[t], c[0], sizeof c[0]) == 0, "%d threads differ from 1",
              threads[t]);
        /* The graphs share one arena and run in any order. */
        CHECK(run2(m, 0, x, y[t]) == 0 && run2(m, 1, a, c[t]) == 0 && run2(m, 1, a, c[t]) == 0);
        CHECK(memcmp(c[t], c[0], sizeof c[0]) == 0);
        rt_model_destroy(m);
    }
    /* NULL options: all cores. */
    rt_model *m = rt_model_create(&f.model, NULL);
    CHECK(m != NULL && run2(m, 0, x, y[1]) == 0 && memcmp(y[1], y[0], sizeof y[0]) == 0);
    rt_model_destroy(m);
    rt_model_destroy(NULL);
}

/* The descriptor's data is copied: changing it after create changes nothing. */
static void test_params_copied(void) {
    fixture f;
    fixture_init(&f);
    static float x[N], a[M * K], y[N], w_before[N];
    fill_inputs(x, a, 1);
    memcpy(w_before, init_w, sizeof w_before);
    rt_model *m = create(&f, 2);
    if (!m) return;
    init_w[5] += 100;
    CHECK(run2(m, 0, x, y) == 0 && infer_matches(x, w_before, y));
    init_w[5] -= 100;
    rt_model_destroy(m);
}

typedef struct runner {
    rt_model *m;
    const float *x;
    float y[N];
    int failures;
} runner;

static void *run_many(void *arg) {
    runner *r = arg;
    for (int i = 0; i < 50; i++) {
        void *args[2] = {(void *)r->x, r->y};
        r->failures += rt_model_run(r->m, 0, args) != 0;
    }
    return NULL;
}

/* Two models with different parameters run at once, each on its own pool. */
static void test_two_models(const char *dir) {
    fixture f;
    fixture_init(&f);
    static float x[N], a[M * K], w2[N];
    fill_inputs(x, a, 5);
    for (int i = 0; i < N; i++) w2[i] = (float)i * 0.01f;
    char path[512];
    snprintf(path, sizeof path, "%s/two.safetensors", dir);
    rt_model *m1 = create(&f, 2), *m2 = create(&f, 3);
    if (!m1 || !m2) goto done;
    /* m2 gets other weights: m1's copy in its file, with w replaced. */
    CHECK(rt_model_save_weights(m1, path) == 0, "%s", rt_model_error(m1));
    rt_array_set s = {0, NULL};
    char err[512];
    CHECK(rt_safetensors_read(path, &s, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < s.count; i++)
        if (strcmp(s.items[i].name, "w") == 0) memcpy(s.items[i].array.data, w2, sizeof w2);
    CHECK(rt_safetensors_write(path, &s, err, sizeof err) == 0, "%s", err);
    rt_array_set_free(&s);
    CHECK(rt_model_load_weights(m2, path) == 0, "%s", rt_model_error(m2));
    remove(path);

    runner r1 = {.m = m1, .x = x}, r2 = {.m = m2, .x = x};
    pthread_t t1, t2;
    bool started1 = pthread_create(&t1, NULL, run_many, &r1) == 0;
    bool started2 = pthread_create(&t2, NULL, run_many, &r2) == 0;
    CHECK(started1 && started2);
    if (started1) pthread_join(t1, NULL);
    if (started2) pthread_join(t2, NULL);
    CHECK(r1.failures == 0 && r2.failures == 0);
    CHECK(infer_matches(x, init_w, r1.y), "model 1 saw model 2's weights");
    CHECK(infer_matches(x, w2, r2.y), "model 2 does not use its loaded weights");
done:
    rt_model_destroy(m1);
    rt_model_destroy(m2);
}

/* ---- refusals at run time ------------------------------------------------------------------ */

static void expect_error(rt_model *m, int rc, const char *want) {
    CHECK(rc != 0, "expected '%s'", want);
    CHECK(strcmp(rt_model_error(m), want) == 0, "expected '%s', got '%s'", want, rt_model_error(m));
}

static void test_run_errors(void) {
    fixture f;
    fixture_init(&f);
    static _Alignas(64) float x[N + 1], y[N];
    for (int i = 0; i <= N; i++) x[i] = (float)i;
    void *args[2] = {x, y};
    CHECK(rt_model_run(NULL, 0, args) != 0);
    CHECK(strcmp(rt_model_error(NULL), "no model (NULL)") == 0);
    rt_model *m = create(&f, 2);
    if (!m) return;
    expect_error(m, rt_model_run(m, 7, args), "toy_run: graph 7 out of range (the model has 3 graphs)");
    expect_error(m, rt_model_run(m, -1, args), "toy_run: graph -1 out of range (the model has 3 graphs)");
    expect_error(m, rt_model_run(m, 0, NULL), "toy_infer: no arguments (the argument array is NULL)");
    expect_error(m, run2(m, 0, NULL, y), "toy_infer: argument 'x' (input 0) is NULL");
    expect_error(m, run2(m, 1, x, NULL), "toy_matmul: argument 'c' (output 0) is NULL");
    expect_error(m, run2(m, 0, (char *)x + 2, y), "toy_infer: argument 'x' (input 0) is not aligned to 4 bytes");
    CHECK(run2(m, 0, x, y) == 0 && strcmp(rt_model_error(m), "") == 0, "the error must clear on success");

    /* A failed check names the graph, the check and the kernel; the lowest failing element wins
       whatever the schedule, and the model stays usable. */
    x[500] = -1;
    x[900] = -2;
    expect_error(m, run2(m, 2, x, y), "toy_check: x must be non-negative (in kernel check_nonneg)");
    x[500] = x[900] = 0;
    CHECK(run2(m, 2, x, y) == 0 && rt_model_error(m)[0] == '\0' && y[N - 1] == sqrtf((float)(N - 1)));

    CHECK(rt_model_save_weights(NULL, "w.safetensors") != 0 && rt_model_load_weights(NULL, "w.safetensors") != 0);
    expect_error(m, rt_model_save_weights(m, NULL), "toy_save_weights: no path (NULL)");
    expect_error(m, rt_model_load_weights(m, NULL), "toy_load_weights: no path (NULL)");
    CHECK(rt_model_save_weights(m, "no/such/folder/w.safetensors") != 0);
    CHECK(strncmp(rt_model_error(m), "toy_save_weights: no/such/folder/w.safetensors", 46) == 0, "'%s'",
          rt_model_error(m));
    rt_model_destroy(m);
}

/* ---- refusals at create time --------------------------------------------------------------- */

static void expect_create_error(const fixture *f, int threads, const char *needle) {
    rt_model_options o = {.num_threads = threads};
    rt_model *m = rt_model_create(&f->model, &o);
    const char *got = rt_model_create_error();
    CHECK(m == NULL && strncmp(got, "toy_create: cannot create the model: ", 37) == 0 && strstr(got, needle) != NULL,
          "expected '%s', got '%s'", needle, got);
    rt_model_destroy(m);
}

static void test_create_errors(void) {
    fixture f;
    CHECK(rt_model_create(NULL, NULL) == NULL && strstr(rt_model_create_error(), "no descriptor") != NULL);
    fixture_init(&f);
    f.model.abi_version = RT_AOT_ABI_VERSION + 1;
    expect_create_error(&f, 1, "ABI version 3 but this runtime reads version 2");
    fixture_init(&f);
    f.params[0].dtype = 9;
    expect_create_error(&f, 1, "parameter 'w': invalid dtype 9");
    fixture_init(&f);
    f.args[1][0].dtype = -1;
    expect_create_error(&f, 1, "graph 'matmul': argument 'a': invalid dtype -1");
    fixture_init(&f);
    f.args[0][1].rank = 9;
    expect_create_error(&f, 1, "argument 'y': rank 9 is outside 0..8");
    fixture_init(&f);
    f.args[0][1].is_output = 0;
    expect_create_error(&f, 1, "argument 'y' is_output is 0");
    fixture_init(&f);
    f.params[1].nbytes = 4;
    expect_create_error(&f, 1, "parameter 'm' has 4 bytes of data but its type needs 140");
    fixture_init(&f);
    f.params[0].init = NULL;
    expect_create_error(&f, 1, "parameter 'w' has no data");
    fixture_init(&f);
    f.params[3].name = "w";
    expect_create_error(&f, 1, "two parameters are named 'w'");
    fixture_init(&f);
    f.steps[1][0].call = NULL;
    expect_create_error(&f, 1, "graph 'matmul': step 0 (kernel mm): library call without its arguments");
    fixture_init(&f);
    f.gemm_call[2] = 99;
    expect_create_error(&f, 1, "operand 1 is in slot 99, outside the slot table (7 slots)");
    fixture_init(&f);
    f.gemm_call[13] = 9;
    expect_create_error(&f, 1, "batch rank 9 is outside 0..8");
    fixture_init(&f);
    f.steps[0][0].kind = 5;
    expect_create_error(&f, 1, "step 0 (kernel affine): unknown kind 5");
    /* What the executor refuses comes through with the program's name. */
    fixture_init(&f);
    f.gemm_call[11] = 2; /* lda < k */
    expect_create_error(&f, 1, "program matmul: step 0 (kernel mm): bad leading dimension of A");
    fixture_init(&f);
    f.steps[0][0].fn = NULL;
    expect_create_error(&f, 1, "program infer: step 0 (kernel affine): loop step without a kernel");
    fixture_init(&f);
    expect_create_error(&f, RT_THREAD_POOL_MAX + 1, "threads");
    /* 2^60 bytes: no allocator gives that, and the data is never read. */
    static const int64_t huge_dims[] = {(int64_t)1 << 58};
    fixture_init(&f);
    f.params[1] = (rt_aot_param){"huge", RT_F32, 1, huge_dims, init_m, (int64_t)1 << 60, 0};
    f.model.n_params = 2;
    expect_create_error(&f, 1, "out of memory allocating parameter 'huge' (1152921504606846976 bytes)");
}

/* A module of parameters only: nothing to run, but its weights still save and load. */
static void test_no_graphs(const char *dir) {
    fixture f;
    fixture_init(&f);
    f.model.n_graphs = 0;
    f.model.graphs = NULL;
    rt_model *m = create(&f, 1);
    if (!m) return;
    char path[512];
    snprintf(path, sizeof path, "%s/params_only.safetensors", dir);
    CHECK(rt_model_save_weights(m, path) == 0 && rt_model_load_weights(m, path) == 0, "%s", rt_model_error(m));
    void *args[2] = {NULL, NULL};
    expect_error(m, rt_model_run(m, 0, args), "toy_run: graph 0 out of range (the model has 0 graphs)");
    remove(path);
    rt_model_destroy(m);
}

/* ---- weights files ------------------------------------------------------------------------- */

static bool read_whole(const char *path, void **buf, size_t *len) {
    char err[512];
    return rt_read_file(path, buf, len, err, sizeof err) == 0;
}

/* The model's parameters, as its own save writes them, are byte for byte those in `reference`. */
static bool params_equal_file(rt_model *m, const char *dir, const char *reference) {
    char path[512];
    snprintf(path, sizeof path, "%s/now.safetensors", dir);
    void *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    bool same = rt_model_save_weights(m, path) == 0 && read_whole(path, &a, &la) && read_whole(reference, &b, &lb) &&
                la == lb && memcmp(a, b, la) == 0;
    free(a);
    free(b);
    remove(path);
    return same;
}

/* The parameters' tensors as a set to edit: w, m, step and empty at their initial values. */
static void initial_set(rt_array_set *s) {
    static const struct {
        const char *name;
        rt_dtype dtype;
        int rank;
        const int64_t *dims;
        const void *data;
        size_t nbytes;
    } t[] = {{"w", RT_F32, 1, dims_vec, init_w, sizeof init_w},
             {"m", RT_F32, 2, dims_m, init_m, sizeof init_m},
             {"step", RT_I64, 0, NULL, &init_step, 8},
             {"empty", RT_F32, 1, dims_empty, NULL, 0}};
    *s = (rt_array_set){0, NULL};
    for (int i = 0; i < 4; i++) {
        rt_array a = {.dtype = t[i].dtype, .rank = t[i].rank, .data = (void *)t[i].data, .nbytes = t[i].nbytes};
        if (t[i].rank) memcpy(a.dims, t[i].dims, (size_t)t[i].rank * sizeof(int64_t));
        CHECK(rt_array_set_add(s, t[i].name, &a) == 0);
    }
}

static rt_array *set_item(rt_array_set *s, const char *name) {
    for (int i = 0; i < s->count; i++)
        if (strcmp(s->items[i].name, name) == 0) return &s->items[i].array;
    return NULL;
}

static void write_set(const char *path, rt_array_set *s) {
    char err[512];
    CHECK(rt_safetensors_write(path, s, err, sizeof err) == 0, "%s", err);
    rt_array_set_free(s);
}

/* Saves, changes the weights by loading a file, and loads the save back into a second model. */
static void test_weights_round_trip(const char *dir) {
    fixture f;
    fixture_init(&f);
    static float x[N], a[M * K], y1[N], y2[N], c1[M * NC], c2[M * NC];
    fill_inputs(x, a, 9);
    char orig[512], changed[512], saved[512];
    snprintf(orig, sizeof orig, "%s/orig.safetensors", dir);
    snprintf(changed, sizeof changed, "%s/changed.safetensors", dir);
    snprintf(saved, sizeof saved, "%s/saved.safetensors", dir);
    rt_model *m1 = create(&f, 2), *m2 = create(&f, 1);
    if (!m1 || !m2) goto done;
    CHECK(rt_model_save_weights(m1, orig) == 0, "%s", rt_model_error(m1));

    /* The file holds every parameter with its name, dtype, shape and value. */
    rt_array_set s;
    char err[512];
    CHECK(rt_safetensors_read(orig, &s, err, sizeof err) == 0, "%s", err);
    CHECK(s.count == 4);
    const rt_array *w = rt_array_set_find(&s, "w"), *mat = rt_array_set_find(&s, "m");
    const rt_array *step = rt_array_set_find(&s, "step"), *empty = rt_array_set_find(&s, "empty");
    CHECK(w && w->dtype == RT_F32 && w->rank == 1 && w->dims[0] == N && memcmp(w->data, init_w, sizeof init_w) == 0);
    CHECK(mat && mat->rank == 2 && mat->dims[0] == K && mat->dims[1] == NC);
    CHECK(step && step->dtype == RT_I64 && step->rank == 0 && *(int64_t *)step->data == 7);
    CHECK(empty && empty->rank == 1 && empty->dims[0] == 0 && empty->nbytes == 0);
    rt_array_set_free(&s);

    initial_set(&s);
    float *nw = set_item(&s, "w")->data;
    for (int i = 0; i < N; i++) nw[i] = (float)(N - i) * 0.001f;
    *(int64_t *)set_item(&s, "step")->data = -3;
    static float new_w[N];
    memcpy(new_w, nw, sizeof new_w);
    write_set(changed, &s);
    CHECK(rt_model_load_weights(m1, changed) == 0 && rt_model_error(m1)[0] == '\0', "%s", rt_model_error(m1));
    CHECK(run2(m1, 0, x, y1) == 0 && infer_matches(x, new_w, y1), "loaded weights are not used");
    CHECK(run2(m1, 1, a, c1) == 0 && matmul_matches(a, init_m, new_w, -3, c1));
    CHECK(rt_model_save_weights(m1, saved) == 0, "%s", rt_model_error(m1));
    CHECK(rt_model_load_weights(m2, saved) == 0, "%s", rt_model_error(m2));
    CHECK(run2(m2, 0, x, y2) == 0 && run2(m2, 1, a, c2) == 0);
    CHECK(memcmp(y1, y2, sizeof y1) == 0 && memcmp(c1, c2, sizeof c1) == 0, "round trip changed the results");
    CHECK(params_equal_file(m2, dir, saved));
    /* Saving over an existing file replaces it. */
    CHECK(rt_model_save_weights(m2, orig) == 0 && params_equal_file(m1, dir, orig));
done:
    rt_model_destroy(m1);
    rt_model_destroy(m2);
    remove(orig);
    remove(changed);
    remove(saved);
}

/* Writes a weights file: the initial set changed by `edit`. */
typedef void (*set_edit)(rt_array_set *s);

static void drop_empty(rt_array_set *s) {
    rt_array_set t = {0, NULL};
    for (int i = 0; i < s->count; i++)
        if (strcmp(s->items[i].name, "empty") != 0)
            CHECK(rt_array_set_add(&t, s->items[i].name, &s->items[i].array) == 0);
    rt_array_set_free(s);
    *s = t;
}

static void add_extra(rt_array_set *s) {
    int64_t v = 1;
    rt_array a = {.dtype = RT_I64, .rank = 0, .data = &v, .nbytes = 8};
    CHECK(rt_array_set_add(s, "stepp", &a) == 0);
}

static void add_unrelated(rt_array_set *s) {
    rt_array a = {.dtype = RT_F32, .rank = 1, .dims = {0}, .data = NULL, .nbytes = 0};
    CHECK(rt_array_set_add(s, "optimizer.momentum", &a) == 0);
}

/* w changes (valid), then m has the wrong shape: nothing may be copied. */
static void shrink_m(rt_array_set *s) {
    float *w = set_item(s, "w")->data;
    for (int i = 0; i < N; i++) w[i] = 42;
    rt_array *m = set_item(s, "m");
    m->dims[1] = NC - 1;
    m->nbytes = (size_t)(K * (NC - 1)) * 4;
}

static void step_as_i32(rt_array_set *s) {
    rt_array *a = set_item(s, "step");
    a->dtype = RT_I32;
    a->nbytes = 4;
}

static void scalar_as_vector(rt_array_set *s) {
    rt_array *a = set_item(s, "step");
    a->rank = 1;
    a->dims[0] = 1;
}

static void test_weights_refused(const char *dir) {
    fixture f;
    fixture_init(&f);
    char orig[512], bad_path[512], want[1024];
    snprintf(orig, sizeof orig, "%s/orig.safetensors", dir);
    snprintf(bad_path, sizeof bad_path, "%s/bad.safetensors", dir);
    rt_model *m = create(&f, 2);
    if (!m) return;
    CHECK(rt_model_save_weights(m, orig) == 0, "%s", rt_model_error(m));
    static const struct {
        set_edit edit;
        const char *message; /* after "toy_load_weights: PATH: " */
    } cases[] = {
        {drop_empty, "parameter 'empty' is missing from the file"},
        {add_extra, "tensor 'stepp' is not a parameter of the model; did you mean 'step'?"},
        {add_unrelated, "tensor 'optimizer.momentum' is not a parameter of the model"},
        {shrink_m, "parameter 'm' has shape [5, 7] in the model but [5, 6] in the file"},
        {step_as_i32, "parameter 'step' has dtype i64 in the model but i32 in the file"},
        {scalar_as_vector, "parameter 'step' has shape [] in the model but [1] in the file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rt_array_set s;
        initial_set(&s);
        cases[i].edit(&s);
        write_set(bad_path, &s);
        snprintf(want, sizeof want, "toy_load_weights: %s: %s", bad_path, cases[i].message);
        expect_error(m, rt_model_load_weights(m, bad_path), want);
        CHECK(params_equal_file(m, dir, orig), "case %zu changed the parameters", i);
    }

    /* Not a safetensors file, and no file at all: the reader's message, naming the file. */
    FILE *fp = fopen(bad_path, "wb");
    CHECK(fp != NULL);
    if (fp) {
        fputs("this is not a safetensors file", fp);
        fclose(fp);
    }
    snprintf(want, sizeof want, "toy_load_weights: %s: ", bad_path);
    CHECK(rt_model_load_weights(m, bad_path) != 0 && strncmp(rt_model_error(m), want, strlen(want)) == 0, "'%s'",
          rt_model_error(m));
    CHECK(params_equal_file(m, dir, orig));
    remove(bad_path);
    CHECK(rt_model_load_weights(m, bad_path) != 0 && strncmp(rt_model_error(m), want, strlen(want)) == 0, "'%s'",
          rt_model_error(m));
    CHECK(params_equal_file(m, dir, orig));
    CHECK(rt_model_load_weights(m, orig) == 0 && rt_model_error(m)[0] == '\0');
    remove(orig);
    rt_model_destroy(m);
}

/* ---- training: a graph with parameter updates and optimizer state ------------------------- */

/* Model "sgd": parameter w (f32[T]) and its momentum buffer vel (state). Graph train(x) -> loss:
   loss = sum(w * x) (before the update), vel' = 0.9 vel + x, w' = w - 0.125 vel'; its check
   refuses x < -100. Graph infer(x) -> y = w * x reads w as the last step left it. */
#define T 300
enum { TS_ARENA, TS_X, TS_LOSS, TS_NEW_W, TS_NEW_VEL, TS_W, TS_VEL, TS_SLOTS };
enum { IS_ARENA, IS_X, IS_Y, IS_W, IS_VEL, IS_SLOTS };

static int train_updates(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    (void)scratch;
    const float *x = (const float *)slots[TS_X], *w = (const float *)slots[TS_W], *vel = (const float *)slots[TS_VEL];
    float *new_w = (float *)slots[TS_NEW_W], *new_vel = (float *)slots[TS_NEW_VEL];
    for (int64_t i = begin; i < end; i++) {
        if (x[i] < -100) return 1;
        new_vel[i] = 0.9f * vel[i] + x[i];
        new_w[i] = w[i] - 0.125f * new_vel[i];
    }
    return 0;
}

static int train_loss(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    (void)scratch, (void)begin, (void)end;
    const float *x = (const float *)slots[TS_X], *w = (const float *)slots[TS_W];
    float sum = 0;
    for (int i = 0; i < T; i++) sum += w[i] * x[i];
    *(float *)slots[TS_LOSS] = sum;
    return 0;
}

static int scale_by_w(char *const *slots, int64_t begin, int64_t end, char *scratch) {
    (void)scratch;
    const float *x = (const float *)slots[IS_X], *w = (const float *)slots[IS_W];
    float *y = (float *)slots[IS_Y];
    for (int64_t i = begin; i < end; i++) y[i] = w[i] * x[i];
    return 0;
}

static const int64_t dims_t[] = {T};
static _Alignas(64) float init_tw[T];
static const char *const train_messages[] = {"x is out of range"};

typedef struct train_fixture {
    rt_aot_param params[2];
    rt_aot_arg args[2][2];
    rt_aot_step steps[2][2];
    int64_t updates[2];
    rt_aot_graph graphs[2];
    rt_aot_model model;
} train_fixture;

static void train_fixture_init(train_fixture *f) {
    for (int i = 0; i < T; i++) init_tw[i] = (float)(i % 13) * 0.5f - 3.0f;
    memset(f, 0, sizeof *f);
    f->params[0] = (rt_aot_param){"w", RT_F32, 1, dims_t, init_tw, sizeof init_tw, 0};
    f->params[1] = (rt_aot_param){"vel", RT_F32, 1, dims_t, NULL, sizeof init_tw, 1};
    f->args[0][0] = (rt_aot_arg){"x", RT_F32, 1, dims_t, 0};
    f->args[0][1] = (rt_aot_arg){"loss", RT_F32, 0, NULL, 1};
    f->steps[0][0] = (rt_aot_step){.name = "updates",
                                   .kind = RT_STEP_LOOP,
                                   .fn = train_updates,
                                   .extent = T,
                                   .grain = 16,
                                   .n_checks = 1,
                                   .checks = train_messages};
    f->steps[0][1] = (rt_aot_step){.name = "loss", .kind = RT_STEP_LOOP, .fn = train_loss, .extent = 1, .grain = 1};
    f->updates[0] = 0;
    f->updates[1] = 1;
    f->graphs[0] = (rt_aot_graph){"train", 1, 1, f->args[0], 2, f->steps[0], 0, 2, f->updates};
    f->args[1][0] = (rt_aot_arg){"x", RT_F32, 1, dims_t, 0};
    f->args[1][1] = (rt_aot_arg){"y", RT_F32, 1, dims_t, 1};
    f->steps[1][0] = (rt_aot_step){.name = "scale", .kind = RT_STEP_LOOP, .fn = scale_by_w, .extent = T, .grain = 16};
    f->graphs[1] = (rt_aot_graph){"infer", 1, 1, f->args[1], 1, f->steps[1], 0, 0, NULL};
    f->model = (rt_aot_model){RT_AOT_ABI_VERSION, "sgd", 2, f->graphs, 2, f->params};
}

/* What `steps` training steps on x give, computed here: the values before and after each. */
typedef struct train_ref {
    float w[T], vel[T], loss;
} train_ref;

static void train_reference(const float *x, int steps, train_ref *r) {
    memcpy(r->w, init_tw, sizeof r->w);
    memset(r->vel, 0, sizeof r->vel);
    for (int s = 0; s < steps; s++) {
        float sum = 0;
        for (int i = 0; i < T; i++) sum += r->w[i] * x[i];
        r->loss = sum;
        for (int i = 0; i < T; i++) {
            r->vel[i] = 0.9f * r->vel[i] + x[i];
            r->w[i] = r->w[i] - 0.125f * r->vel[i];
        }
    }
}

static rt_model *create_model(const rt_aot_model *d, int threads) {
    rt_model_options o = {.num_threads = threads};
    rt_model *m = rt_model_create(d, &o);
    CHECK(m != NULL, "%s", rt_model_create_error());
    return m;
}

static int run_train(rt_model *m, const float *x, float *loss) {
    void *args[2] = {(void *)x, loss};
    return rt_model_run(m, 0, args);
}

/* w as the model holds it, through the infer graph (y = w * x at x = 1). */
static bool model_w_is(rt_model *m, const float *want) {
    static float ones[T], y[T];
    for (int i = 0; i < T; i++) ones[i] = 1;
    void *args[2] = {ones, y};
    return rt_model_run(m, 1, args) == 0 && memcmp(y, want, sizeof y) == 0;
}

static void test_training_steps(void) {
    train_fixture f;
    train_fixture_init(&f);
    static float x[T];
    for (int i = 0; i < T; i++) x[i] = (float)((i * 7) % 5) * 0.25f - 0.5f;
    const int threads[] = {1, 3};
    for (int t = 0; t < 2; t++) {
        rt_model_options o = {.num_threads = threads[t]};
        rt_model *m = rt_model_create(&f.model, &o);
        CHECK(m != NULL, "%s", rt_model_create_error());
        if (!m) return;
        CHECK(model_w_is(m, init_tw), "w before training");
        train_ref ref;
        for (int s = 1; s <= 5; s++) {
            float loss = -1;
            CHECK(run_train(m, x, &loss) == 0, "%s", rt_model_error(m));
            train_reference(x, s, &ref);
            CHECK(loss == ref.loss, "step %d: loss %g, want %g (the value before the update)", s, loss, ref.loss);
            CHECK(model_w_is(m, ref.w), "%d threads, step %d: w is not the updated value", threads[t], s);
        }
        /* The descriptor's initial values are read-only and stay as they were. */
        CHECK(init_tw[1] == -2.5f);
        rt_model_destroy(m);
    }
}

/* A step whose check fails changes no parameter and no state: the next good step gives what it
   would have given without it. */
static void test_training_failed_step(void) {
    train_fixture f;
    train_fixture_init(&f);
    static float x[T], bad[T];
    for (int i = 0; i < T; i++) x[i] = bad[i] = (float)(i % 3) - 1.0f;
    bad[T - 1] = -1000;
    rt_model *m = create_model(&f.model, 2);
    if (!m) return;
    float loss;
    CHECK(run_train(m, x, &loss) == 0, "%s", rt_model_error(m));
    CHECK(run_train(m, bad, &loss) != 0 &&
              strcmp(rt_model_error(m), "sgd_train: x is out of range (in kernel updates)") == 0,
          "'%s'", rt_model_error(m));
    CHECK(run_train(m, x, &loss) == 0, "%s", rt_model_error(m));
    train_ref ref;
    train_reference(x, 2, &ref);
    CHECK(loss == ref.loss && model_w_is(m, ref.w), "the failed step changed the parameters or the state");
    rt_model_destroy(m);
}

/* Weights files hold w only; loading one neither needs nor resets the momentum buffer. */
static void test_training_weights(const char *dir) {
    train_fixture f;
    train_fixture_init(&f);
    static float x[T];
    for (int i = 0; i < T; i++) x[i] = (float)(i % 4) * 0.5f;
    char path[512], bad_path[512], want[1024];
    snprintf(path, sizeof path, "%s/trained.safetensors", dir);
    snprintf(bad_path, sizeof bad_path, "%s/with_state.safetensors", dir);
    rt_model *m = create_model(&f.model, 2);
    if (!m) return;
    float loss;
    CHECK(run_train(m, x, &loss) == 0 && run_train(m, x, &loss) == 0, "%s", rt_model_error(m));
    CHECK(rt_model_save_weights(m, path) == 0, "%s", rt_model_error(m));
    rt_array_set s = {0, NULL};
    char err[512];
    CHECK(rt_safetensors_read(path, &s, err, sizeof err) == 0, "%s", err);
    train_ref ref;
    train_reference(x, 2, &ref);
    const rt_array *w = rt_array_set_find(&s, "w");
    CHECK(s.count == 1 && w && w->nbytes == sizeof ref.w && memcmp(w->data, ref.w, sizeof ref.w) == 0,
          "the file must hold the trained w and nothing else (%d tensors)", s.count);

    /* A second model loads the trained w; its state is its own (zero), the first keeps its own. */
    rt_model *m2 = create_model(&f.model, 1);
    CHECK(m2 && rt_model_load_weights(m2, path) == 0 && model_w_is(m2, ref.w), "%s", rt_model_error(m2));
    CHECK(rt_model_load_weights(m, path) == 0 && run_train(m, x, &loss) == 0, "%s", rt_model_error(m));
    train_reference(x, 3, &ref);
    CHECK(loss == ref.loss && model_w_is(m, ref.w), "loading weights reset the momentum buffer");

    /* A tensor that names the state is refused, and changes nothing. */
    rt_array v = {.dtype = RT_F32, .rank = 1, .dims = {T}, .data = ref.vel, .nbytes = sizeof ref.vel};
    CHECK(rt_array_set_add(&s, "vel", &v) == 0);
    write_set(bad_path, &s);
    snprintf(want, sizeof want,
             "sgd_load_weights: %s: tensor 'vel' is optimizer state, which weights files do not hold", bad_path);
    expect_error(m, rt_model_load_weights(m, bad_path), want);
    CHECK(model_w_is(m, ref.w));
    rt_model_destroy(m);
    rt_model_destroy(m2);
    remove(path);
    remove(bad_path);
}

static void expect_train_create_error(const train_fixture *f, const char *needle) {
    rt_model *m = rt_model_create(&f->model, NULL);
    const char *got = rt_model_create_error();
    CHECK(m == NULL && strstr(got, needle) != NULL, "expected '%s', got '%s'", needle, got);
    rt_model_destroy(m);
}

static void test_training_descriptor_errors(void) {
    train_fixture f;
    train_fixture_init(&f);
    f.updates[1] = 2;
    expect_train_create_error(&f, "graph 'train': update 1 names parameter 2 (the model has 2)");
    train_fixture_init(&f);
    f.updates[1] = 0;
    expect_train_create_error(&f, "graph 'train': parameter 'w' is updated twice");
    train_fixture_init(&f);
    f.graphs[0].updates = NULL;
    expect_train_create_error(&f, "graph 'train': malformed update table (2 updates)");
    train_fixture_init(&f);
    f.graphs[0].n_updates = -1;
    expect_train_create_error(&f, "graph 'train': malformed update table (-1 updates)");
    train_fixture_init(&f);
    f.params[1].state = 2;
    expect_train_create_error(&f, "parameter 'vel' has state flag 2 (0 or 1)");
    /* Only state may come without data. */
    train_fixture_init(&f);
    f.params[1].state = 0;
    expect_train_create_error(&f, "parameter 'vel' has no data");
}

/* ---- encodings ----------------------------------------------------------------------------- */

static void test_encodings(void) {
    rt_gemm g = {.a = {1, 10},
                 .b = {2, 20},
                 .c = {3, 30},
                 .m = 4,
                 .n = 5,
                 .k = 6,
                 .trans_a = true,
                 .trans_b = false,
                 .lda = 7,
                 .ldb = 8,
                 .batch_rank = 2,
                 .batch = {9, 11},
                 .batch_stride_a = {12, 13},
                 .batch_stride_b = {14, 15}};
    g.batch[5] = 99; /* past batch_rank: not encoded */
    int64_t v[RT_AOT_GEMM_FIELDS];
    rt_gemm_encode(&g, v);
    static const int64_t want[RT_AOT_GEMM_FIELDS] = {1, 10, 2, 20, 3,  30, 4, 5, 6, 1, 0, 7,  8,  2, 9, 11, 0, 0, 0,
                                                     0, 0,  0, 12, 13, 0,  0, 0, 0, 0, 0, 14, 15, 0, 0, 0,  0, 0, 0};
    CHECK(memcmp(v, want, sizeof want) == 0, "GEMM encoding order");
    rt_gemm d;
    rt_gemm_decode(v, &d);
    CHECK(d.a.slot == 1 && d.a.offset == 10 && d.b.slot == 2 && d.b.offset == 20 && d.c.slot == 3 && d.c.offset == 30);
    CHECK(d.m == 4 && d.n == 5 && d.k == 6 && d.trans_a && !d.trans_b && d.lda == 7 && d.ldb == 8);
    CHECK(d.batch_rank == 2 && d.batch[0] == 9 && d.batch[1] == 11 && d.batch[5] == 0);
    CHECK(d.batch_stride_a[1] == 13 && d.batch_stride_b[0] == 14 && d.batch_stride_b[1] == 15);

    rt_conv c = {.x = {1, 2},
                 .w = {3, 4},
                 .out = {5, 6},
                 .n = 7,
                 .c = 8,
                 .h = 9,
                 .w_in = 10,
                 .o = 11,
                 .kh = 12,
                 .kw = 13,
                 .oh = 14,
                 .ow = 15,
                 .stride_h = 16,
                 .stride_w = 17,
                 .pad_h = 18,
                 .pad_w = 19,
                 .dilation_h = 20,
                 .dilation_w = 21,
                 .groups = 22};
    int64_t cv[RT_AOT_CONV_FIELDS];
    rt_conv_encode(&c, cv);
    for (int i = 0; i < RT_AOT_CONV_FIELDS; i++) CHECK(cv[i] == i + 1, "CONV field %d is %lld", i, (long long)cv[i]);
    rt_conv e;
    rt_conv_decode(cv, &e);
    CHECK(e.x.slot == 1 && e.x.offset == 2 && e.w.slot == 3 && e.out.offset == 6 && e.n == 7 && e.w_in == 10);
    CHECK(e.o == 11 && e.ow == 15 && e.stride_w == 17 && e.pad_h == 18 && e.dilation_w == 21 && e.groups == 22);
}

int main(void) {
    char dir[] = "/tmp/tfc_test_model_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_encodings();
    test_run();
    test_params_copied();
    test_two_models(dir);
    test_run_errors();
    test_create_errors();
    test_no_graphs(dir);
    test_weights_round_trip(dir);
    test_weights_refused(dir);
    test_training_steps();
    test_training_failed_step();
    test_training_weights(dir);
    test_training_descriptor_errors();
    rmdir(dir);
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
