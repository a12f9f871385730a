/* misuse.c — aot.misuse: every way a host can misuse a generated library returns non-zero with a
 * message that says what was wrong, never aborts, and a failed PREFIX_load_weights leaves the
 * parameters as they were. Built against mlp (examples/mlp.tg --graph infer) and gth
 * (tests/aot/gather.tg). Usage: misuse DIR, where test_misuse.py left x.bin and the weights files;
 * writes DIR/saved.safetensors, DIR/probs.out.bin and DIR/probs_other.out.bin for it to check.
 * Prints one line per check; the exit status is the number of failed checks. */
#include "gth.h"
#include "mlp.h"

#include "bin_file.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static const char *dir;
static float x[MLP_INFER_X_COUNT], base[MLP_INFER_PROBS_COUNT], probs[MLP_INFER_PROBS_COUNT];

static void check(int ok, const char *what, const char *detail) {
    printf("  %s %s%s%s\n", ok ? "ok  " : "FAIL", what, detail && detail[0] ? ": " : "", detail ? detail : "");
    if (!ok) failures++;
}

/* Case-insensitive substring. */
static int contains(const char *text, const char *phrase) {
    for (size_t i = 0; text[i]; i++) {
        size_t j = 0;
        while (phrase[j] && text[i + j] && tolower((unsigned char)text[i + j]) == tolower((unsigned char)phrase[j]))
            j++;
        if (!phrase[j]) return 1;
    }
    return !phrase[0];
}

/* A call that must fail with a message naming every phrase (NULL-terminated list). */
static void expect_failure(const char *what, int rc, const char *message, const char *const *phrases) {
    char detail[1200];
    if (rc == 0) {
        check(0, what, "returned 0");
        return;
    }
    if (!message || !message[0]) {
        check(0, what, "failed without a message");
        return;
    }
    for (int i = 0; phrases[i]; i++) {
        if (!contains(message, phrases[i])) {
            snprintf(detail, sizeof detail, "message \"%s\" does not mention \"%s\"", message, phrases[i]);
            check(0, what, detail);
            return;
        }
    }
    check(1, what, message);
}

#define PHRASES(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *path_in_dir(const char *name) {
    static char paths[8][4096];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

/* Runs infer; its output must be the bytes it gave before (the parameters did not change). */
static void expect_unchanged(mlp_model *m, const char *after) {
    char what[200];
    snprintf(what, sizeof what, "outputs unchanged after %s", after);
    int rc = mlp_infer(m, x, probs);
    check(rc == 0 && memcmp(probs, base, sizeof base) == 0, what, rc ? mlp_error(m) : NULL);
    check(rc != 0 || mlp_error(m)[0] == '\0', "the message is cleared by a successful call", mlp_error(m));
}

static void null_model(void) {
    void *args[] = {x, probs};
    check(mlp_infer(NULL, x, probs) != 0, "mlp_infer(NULL model) fails", NULL);
    check(mlp_run(NULL, 0, args) != 0, "mlp_run(NULL model) fails", NULL);
    check(mlp_save_weights(NULL, path_in_dir("null.safetensors")) != 0, "mlp_save_weights(NULL model) fails", NULL);
    check(mlp_load_weights(NULL, path_in_dir("seed_other.safetensors")) != 0, "mlp_load_weights(NULL model) fails",
          NULL);
    check(mlp_error(NULL) != NULL && mlp_error(NULL)[0] != '\0', "mlp_error(NULL) is a message", mlp_error(NULL));
    mlp_destroy(NULL);
    check(1, "mlp_destroy(NULL) is ignored", NULL);
    check(mlp_graph(-1) == NULL && mlp_graph(MLP_NUM_GRAPHS) == NULL, "mlp_graph out of range is NULL", NULL);
    check(mlp_graph(MLP_GRAPH_INFER) && strcmp(mlp_graph(MLP_GRAPH_INFER)->name, "infer") == 0,
          "mlp_graph(MLP_GRAPH_INFER) is infer", NULL);
}

static void bad_create(void) {
    mlp_options o;
    memset(&o, 0, sizeof o);
    o.num_threads = 1000000;
    mlp_model *m = mlp_create(&o);
    check(m == NULL, "mlp_create with 1000000 threads fails", NULL);
    mlp_destroy(m);
    expect_failure("mlp_create_error says why", 1, mlp_create_error(), PHRASES("threads"));
}

static void bad_arguments(mlp_model *m) {
    float *misaligned = (float *)((char *)x + 1);
    void *args[] = {x, probs}, *null_arg[] = {x, NULL};
    expect_failure("mlp_infer(NULL input)", mlp_infer(m, NULL, probs), mlp_error(m), PHRASES("'x'", "NULL"));
    expect_failure("mlp_infer(NULL output)", mlp_infer(m, x, NULL), mlp_error(m), PHRASES("'probs'", "NULL"));
    expect_failure("mlp_infer(misaligned input)", mlp_infer(m, misaligned, probs), mlp_error(m),
                   PHRASES("'x'", "aligned"));
    expect_failure("mlp_run(graph 1)", mlp_run(m, MLP_NUM_GRAPHS, args), mlp_error(m), PHRASES("graph 1", "range"));
    expect_failure("mlp_run(graph -1)", mlp_run(m, -1, args), mlp_error(m), PHRASES("graph -1", "range"));
    expect_failure("mlp_run(NULL argument array)", mlp_run(m, MLP_GRAPH_INFER, NULL), mlp_error(m), PHRASES("NULL"));
    expect_failure("mlp_run(a NULL argument)", mlp_run(m, MLP_GRAPH_INFER, null_arg), mlp_error(m),
                   PHRASES("'probs'", "NULL"));
    expect_unchanged(m, "bad arguments");
}

static void bad_weights(mlp_model *m) {
    static const struct {
        const char *file;
        const char *phrases[3];
    } cases[] = {
        {"no_such_file.safetensors", {"no_such_file.safetensors", NULL}},
        {"garbage.safetensors", {"garbage.safetensors", NULL}},
        {"truncated.safetensors", {"truncated.safetensors", NULL}},
        {"wrong_shape.safetensors", {"'w3'", "shape"}},
        {"wrong_dtype.safetensors", {"'b1'", "dtype"}},
        {"missing.safetensors", {"'b3'", "missing"}},
        {"extra.safetensors", {"'w4'", "not a parameter"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[200];
        snprintf(what, sizeof what, "mlp_load_weights(%s)", cases[i].file);
        const char *phrases[] = {cases[i].phrases[0], cases[i].phrases[1], NULL};
        expect_failure(what, mlp_load_weights(m, path_in_dir(cases[i].file)), mlp_error(m), phrases);
        expect_unchanged(m, what);
    }
    expect_failure("mlp_load_weights(NULL path)", mlp_load_weights(m, NULL), mlp_error(m), PHRASES("NULL"));
    expect_failure("mlp_save_weights(NULL path)", mlp_save_weights(m, NULL), mlp_error(m), PHRASES("NULL"));
    expect_failure("mlp_save_weights(into a missing folder)",
                   mlp_save_weights(m, path_in_dir("no/such/folder/w.safetensors")), mlp_error(m),
                   PHRASES("no/such/folder"));
    expect_unchanged(m, "failed saves");
}

/* save -> load another file -> load the saved one: the first outputs come back. */
static void round_trip(mlp_model *m) {
    check(mlp_save_weights(m, path_in_dir("saved.safetensors")) == 0, "mlp_save_weights", mlp_error(m));
    check(mlp_load_weights(m, path_in_dir("seed_other.safetensors")) == 0, "mlp_load_weights(other weights)",
          mlp_error(m));
    check(mlp_infer(m, x, probs) == 0 && memcmp(probs, base, sizeof base) != 0, "other weights, other outputs",
          mlp_error(m));
    check(bin_file("misuse", dir, "probs_other.out.bin", probs, sizeof probs, 1) == 0, "write probs_other.out.bin",
          NULL);
    check(mlp_load_weights(m, path_in_dir("saved.safetensors")) == 0, "mlp_load_weights(saved)", mlp_error(m));
    expect_unchanged(m, "save and load");
}

/* A failed run-time check (a gather index out of range) is an error of that call only. */
static void runtime_check(void) {
    gth_model *g = gth_create(NULL);
    if (!g) {
        check(0, "gth_create", gth_create_error());
        return;
    }
    float table[GTH_PICK_TABLE_COUNT], rows[GTH_PICK_ROWS_COUNT];
    for (int i = 0; i < GTH_PICK_TABLE_COUNT; i++) table[i] = (float)i;
    int32_t bad[] = {1, 7}, good[] = {3, -4};
    expect_failure("gth_pick(index 7 of 4)", gth_pick(g, table, bad, rows), gth_error(g), PHRASES("gather"));
    int rc = gth_pick(g, table, good, rows);
    check(rc == 0 && rows[0] == 9 && rows[2] == 11 && rows[3] == 0 && rows[5] == 2 && gth_error(g)[0] == '\0',
          "gth_pick(valid indices, negative from the end) after the failure", gth_error(g));
    gth_destroy(g);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: misuse DIR\n");
        return 100;
    }
    dir = argv[1];
    if (bin_file("misuse", dir, "x.bin", x, sizeof x, 0)) return 100;
    null_model();
    bad_create();
    mlp_options o;
    memset(&o, 0, sizeof o);
    o.num_threads = 2;
    mlp_model *m = mlp_create(&o);
    if (!m) {
        check(0, "mlp_create", mlp_create_error());
        return failures;
    }
    check(mlp_error(m)[0] == '\0', "no message before any call", mlp_error(m));
    check(mlp_infer(m, x, base) == 0, "mlp_infer", mlp_error(m));
    check(bin_file("misuse", dir, "probs.out.bin", base, sizeof base, 1) == 0, "write probs.out.bin", NULL);
    bad_arguments(m);
    bad_weights(m);
    round_trip(m);
    mlp_destroy(m);
    runtime_check();
    printf("%d failed\n", failures);
    return failures;
}
