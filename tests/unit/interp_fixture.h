/* interp_fixture.h — the fixture shared by test_interp.c and test_grad_kernels.c: a module with
 * one graph built node by node, its input values, the diagnostics captured in a temporary file,
 * and the checks that running a node gives the expected values (within a tolerance) or an error
 * with the expected message. Test-only state. */
#ifndef TFC_TEST_INTERP_FIXTURE_H
#define TFC_TEST_INTERP_FIXTURE_H

#include "ir/ir.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

#define V(...) ((const double[]){__VA_ARGS__})

static inline ir_type ty(ir_dtype dt, int rank, ...) {
    ir_type t = {dt, rank, {0}};
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++) t.dims[i] = va_arg(ap, int);
    va_end(ap);
    return t;
}

/* ---- a graph under construction, its input values and its diagnostics ------------------- */

typedef struct fixture {
    ir_module *m;
    ir_graph *g;
    ir_tensor inputs[8];
    ir_diag diag;
    FILE *log;
    char text[2048];   /* what the diagnostics said, after fx_run */
    bool infer_failed; /* a node's inference failed (counted): fx_run refuses to run the graph */
} fixture;

static inline void fx_init(fixture *f) {
    memset(f, 0, sizeof *f);
    f->m = ir_module_create();
    f->g = ir_module_add_graph(f->m, "g", IR_NO_LOC);
    f->log = tmpfile();
    if (!f->log) abort();
    ir_diag_init(&f->diag, f->log);
}

static inline void fx_free(fixture *f) {
    for (int i = 0; i < f->g->n_inputs; i++) ir_tensor_free(&f->inputs[i]);
    ir_module_destroy(f->m);
    ir_diag_free(&f->diag);
    fclose(f->log);
}

/* An input of type t holding vals (as doubles: exact for every value used here). */
static inline int fx_input(fixture *f, ir_type t, const double *vals) {
    int k = f->g->n_inputs;
    if (k >= (int)(sizeof f->inputs / sizeof f->inputs[0])) abort();
    ir_graph_add_input(f->g, "x", t);
    ir_node *n = ir_graph_add_node(f->g, IR_OP_INPUT, NULL, 0, IR_NO_LOC);
    n->attr[IR_ATTR_INDEX].v[0] = k;
    n->type = t;
    if (!ir_tensor_alloc(&f->inputs[k], &t)) abort();
    for (int64_t i = 0; i < ir_type_elems(&t); i++) ir_tensor_set(&f->inputs[k], i, vals[i]);
    return n->id;
}

/* A node of op over up to three operands; the first negative one ends the list. */
static inline ir_node *fx_node(fixture *f, ir_op op, int a, int b, int c) {
    int in[3] = {a, b, c}, n_in = a < 0 ? 0 : b < 0 ? 1 : c < 0 ? 2 : 3;
    return ir_graph_add_node(f->g, op, in, n_in, IR_NO_LOC);
}

/* Normalizes the node's attributes and sets its type; returns its id. */
static inline int fx_infer(fixture *f, ir_node *n) {
    bool ok = ir_infer(f->g, n, &f->diag);
    CHECK(ok, "ir_infer failed for %s", ir_op_name(n->op));
    f->infer_failed |= !ok;
    return n->id;
}

static inline int fx_op(fixture *f, ir_op op, int a, int b, int c) { return fx_infer(f, fx_node(f, op, a, b, c)); }

static inline void fx_read_log(fixture *f) {
    fflush(f->log);
    rewind(f->log);
    size_t len = fread(f->text, 1, sizeof f->text - 1, f->log);
    f->text[len] = 0;
}

/* Runs the graph with node `id` as its only output; f->text holds what the diagnostics said.
 * A graph with a node whose inference failed is not run: false, out zeroed. */
static inline bool fx_run(fixture *f, int id, ir_tensor *out) {
    memset(out, 0, sizeof *out);
    bool ok = false;
    if (!f->infer_failed) {
        ir_graph_add_output(f->g, "y", id);
        ok = ir_interp_graph(f->g, NULL, f->inputs, out, &f->diag);
    }
    fx_read_log(f);
    return ok;
}

/* ---- checks --------------------------------------------------------------------------------- */

/* NaN matches NaN; otherwise |got - want| <= tol * max(1, |want|) (tol 0: exactly equal). */
static inline bool close_to(double got, double want, double tol) {
    if (isnan(want) || isnan(got)) return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got)) return got == want;
    return fabs(got - want) <= tol * fmax(1.0, fabs(want));
}

static inline void check_values(const char *what, const ir_tensor *t, const ir_type *want_type, const double *want,
                                double tol) {
    char a[64], b[64];
    CHECK(ir_type_equal(&t->type, want_type), "%s: type %s, expected %s", what, ir_type_str(&t->type, a, 64),
          ir_type_str(want_type, b, 64));
    if (!ir_type_equal(&t->type, want_type)) return;
    for (int64_t i = 0; i < ir_type_elems(want_type); i++)
        CHECK(close_to(ir_tensor_get(t, i), want[i], tol), "%s[%lld] = %.9g, expected %.9g", what, (long long)i,
              ir_tensor_get(t, i), want[i]);
}

/* Runs node id, checks the result and frees the fixture. */
static inline void expect(fixture *f, int id, const char *what, ir_type type, const double *want, double tol) {
    ir_tensor out;
    bool ok = fx_run(f, id, &out);
    CHECK(ok, "%s: run failed: %s", what, f->text);
    if (ok) {
        check_values(what, &out, &type, want, tol);
        ir_tensor_free(&out);
    }
    fx_free(f);
}

/* Runs node id, expects a runtime error whose message contains `message`, frees the fixture. */
static inline void expect_error(fixture *f, int id, const char *what, const char *message) {
    ir_tensor out;
    bool ok = fx_run(f, id, &out);
    CHECK(!ok, "%s: expected an error", what);
    if (ok) ir_tensor_free(&out);
    CHECK(strstr(f->text, message) != NULL, "%s: message '%s' lacks '%s'", what, f->text, message);
    fx_free(f);
}

#endif
