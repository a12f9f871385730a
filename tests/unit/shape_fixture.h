/* shape_fixture.h — the fixture shared by test_shape.c and test_verify.c: a module with one
 * graph, diagnostics captured in a temporary file, builders for inputs and nodes, and checks
 * that inference gives a type (idempotently) or exactly one error message. Test-only state. */
#ifndef TFC_TEST_SHAPE_FIXTURE_H
#define TFC_TEST_SHAPE_FIXTURE_H

#include "ir/ir.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

/* The module under construction and the captured diagnostics (test-only state). */
static struct {
    ir_module *m;
    ir_graph *g;
    ir_diag d;
    FILE *out;
} fx;

static inline void fx_reset(void) {
    if (fx.m) ir_module_destroy(fx.m);
    fx.m = ir_module_create();
    fx.g = ir_module_add_graph(fx.m, "g", IR_NO_LOC);
}

/* "f32[2,3]" -> ir_type; "f32[]" is a scalar. */
static inline ir_type ty(const char *s) {
    ir_type t;
    memset(&t, 0, sizeof t);
    char name[8];
    size_t len = strcspn(s, "[");
    if (len >= sizeof name) abort();
    memcpy(name, s, len);
    name[len] = 0;
    if (!ir_dtype_lookup(name, &t.dtype)) abort();
    const char *p = s + len + 1;
    while (*p && *p != ']') {
        char *end;
        t.dims[t.rank++] = strtoll(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
    }
    return t;
}

/* Everything written to the diag since `from`, without the "tfc: error: " prefix of the
 * first line, or "" if nothing. */
static inline const char *captured(long from) {
    static char buf[1024];
    fflush(fx.out);
    long end = ftell(fx.out);
    fseek(fx.out, from, SEEK_SET);
    size_t n = fread(buf, 1, sizeof buf - 1, fx.out);
    buf[n] = 0;
    fseek(fx.out, end, SEEK_SET);
    buf[strcspn(buf, "\n")] = 0;
    const char *prefix = "tfc: error: ";
    return strncmp(buf, prefix, strlen(prefix)) == 0 ? buf + strlen(prefix) : buf;
}

static inline int add_input(const char *type) {
    ir_graph *g = fx.g;
    char name[16];
    snprintf(name, sizeof name, "x%d", g->n_inputs);
    ir_graph_add_input(g, name, ty(type));
    ir_node *n = ir_graph_add_node(g, IR_OP_INPUT, NULL, 0, IR_NO_LOC);
    n->attr[IR_ATTR_INDEX].v[0] = g->n_inputs - 1;
    if (!ir_infer(g, n, &fx.d)) abort();
    return n->id;
}

/* A node of op over operands (node ids), attributes left zero. */
static inline ir_node *mk(ir_op op, int n_in, ...) {
    int in[16];
    va_list ap;
    va_start(ap, n_in);
    for (int i = 0; i < n_in; i++) in[i] = va_arg(ap, int);
    va_end(ap);
    return ir_graph_add_node(fx.g, op, in, n_in, IR_NO_LOC);
}

static inline void set_ints(ir_node *n, ir_attr_id id, int count, ...) {
    va_list ap;
    va_start(ap, count);
    n->attr[id].n = count;
    for (int i = 0; i < count && i < IR_MAX_RANK; i++) n->attr[id].v[i] = va_arg(ap, long long);
    va_end(ap);
}

static inline bool same_attrs(const ir_node *a, const ir_node *b) {
    for (int i = 0; i < IR_ATTR_COUNT; i++)
        if (memcmp(&a->attr[i].v, &b->attr[i].v, sizeof a->attr[i].v) != 0 || a->attr[i].n != b->attr[i].n)
            return false;
    return true;
}

/* Infers n, expects success with type `want`, then checks idempotence: re-running on the
 * normalized node changes nothing. */
static inline void expect_type_at(const char *file, int line, ir_node *n, const char *want) {
    long from = ftell(fx.out);
    bool ok = ir_infer(fx.g, n, &fx.d);
    char got[200];
    ir_type_str(&n->type, got, sizeof got);
    if (!ok || strcmp(got, want) != 0) {
        fprintf(stderr, "%s:%d: %s: expected %s, got %s%s (%s)\n", file, line, ir_op_name(n->op), want,
                ok ? "" : "an error; ", ok ? got : "", captured(from));
        failures++;
        return;
    }
    ir_node again = *n;
    if (!ir_infer(fx.g, &again, &fx.d) || !ir_type_equal(&again.type, &n->type) || !same_attrs(&again, n)) {
        fprintf(stderr, "%s:%d: %s: inference is not idempotent\n", file, line, ir_op_name(n->op));
        failures++;
    }
}
#define EXPECT_TYPE(n, want) expect_type_at(__FILE__, __LINE__, (n), (want))

static inline void expect_error_at(const char *file, int line, ir_node *n, const char *want) {
    long from = ftell(fx.out);
    int errors = fx.d.errors;
    bool ok = ir_infer(fx.g, n, &fx.d);
    const char *got = captured(from);
    if (ok || fx.d.errors != errors + 1 || strcmp(got, want) != 0) {
        fprintf(stderr, "%s:%d: %s: expected the error\n    %s\ngot%s\n    %s\n", file, line,
                ir_op_name(n->op), want, ok ? " success" : "", got);
        failures++;
    }
}
#define EXPECT_ERROR(n, want) expect_error_at(__FILE__, __LINE__, (n), (want))

static inline ir_node *conv(int x, int w, int64_t pad, int64_t stride, int64_t dil, int64_t groups) {
    ir_node *n = mk(IR_OP_CONV2D, 2, x, w);
    if (pad == -2)
        n->attr[IR_ATTR_LO].n = -2;
    else {
        set_ints(n, IR_ATTR_LO, 2, (long long)pad, (long long)pad);
        set_ints(n, IR_ATTR_HI, 2, (long long)pad, (long long)pad);
    }
    set_ints(n, IR_ATTR_STRIDE, 2, (long long)stride, (long long)stride);
    set_ints(n, IR_ATTR_DILATION, 2, (long long)dil, (long long)dil);
    n->attr[IR_ATTR_GROUPS].v[0] = groups;
    return n;
}

static inline ir_node *pool(ir_op op, int x, int64_t k, int64_t stride, int64_t pad) {
    ir_node *n = mk(op, 1, x);
    set_ints(n, IR_ATTR_KERNEL, 2, (long long)k, (long long)k);
    if (stride) set_ints(n, IR_ATTR_STRIDE, 2, (long long)stride, (long long)stride);
    set_ints(n, IR_ATTR_LO, 2, (long long)pad, (long long)pad);
    set_ints(n, IR_ATTR_HI, 2, (long long)pad, (long long)pad);
    return n;
}

static inline int fixture_open(void) {
    fx.out = tmpfile();
    if (!fx.out) return 1;
    ir_diag_init(&fx.d, fx.out);
    return 0;
}

/* Frees the fixture and returns the exit status. */
static inline int fixture_close(const char *name) {
    ir_module_destroy(fx.m);
    ir_diag_free(&fx.d);
    fclose(fx.out);
    if (failures) fprintf(stderr, "%s: %d failure%s\n", name, failures, failures == 1 ? "" : "s");
    return failures != 0;
}

/* Runs the verifier; expects it to pass (want == NULL) or to report exactly one error, want. */
__attribute__((unused)) static void expect_verify_at(int line, const char *want) {
    long from = ftell(fx.out);
    int errors = fx.d.errors;
    bool ok = ir_verify_module(fx.m, &fx.d);
    const char *got = captured(from);
    bool good = want ? !ok && fx.d.errors == errors + 1 && strcmp(got, want) == 0 : ok && fx.d.errors == errors;
    if (!good) {
        fprintf(stderr, "%s:%d: verifier: expected %s%s\ngot (%d errors):\n    %s\n", __FILE__, line,
                want ? "the error\n    " : "success", want ? want : "", fx.d.errors - errors, got);
        failures++;
    }
}
#define EXPECT_VERIFY(want) expect_verify_at(__LINE__, (want))

#endif
