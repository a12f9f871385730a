/* verify.c — the verifier: checks the structural invariants of a module after the frontend,
 * the text parser and every pass (--verify-each). SSA order, arity, attribute masks, types and
 * attributes equal to what inference gives (so attributes are normalized), inputs and outputs
 * bound. Each problem is reported with "verifier: " at the node's location. */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

typedef struct verifier {
    ir_diag *d;
    FILE *scratch;   /* receives the shape rule's own message, which is then re-reported */
    bool ok;
} verifier;

static void report(verifier *v, ir_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(verifier *v, ir_loc loc, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ir_error(v->d, loc, "verifier: %s", msg);
    v->ok = false;
}

static bool attr_is_zero(const ir_attr *a) {
    if (a->n != 0 || a->f != 0) return false;
    for (int i = 0; i < IR_MAX_RANK; i++)
        if (a->v[i] != 0) return false;
    return true;
}

/* Bitwise on f, so that a NaN constant equals itself. */
static bool attr_equal(const ir_attr *a, const ir_attr *b) {
    if (a->n != b->n || memcmp(&a->f, &b->f, sizeof a->f) != 0) return false;
    for (int i = 0; i < IR_MAX_RANK; i++)
        if (a->v[i] != b->v[i]) return false;
    return true;
}

/* Operand ids, arity and attribute mask: what must hold before the shape rule can run. */
static bool check_structure(verifier *v, const ir_graph *g, const ir_node *n) {
    const ir_op_info *info = &ir_op_table[n->op];
    bool ok = true;
    if (n->n_in < info->min_in || (info->max_in >= 0 && n->n_in > info->max_in) || (n->n_in > 0 && !n->in)) {
        char takes[48];
        if (info->max_in < 0)
            snprintf(takes, sizeof takes, "at least %d", info->min_in);
        else if (info->min_in == info->max_in)
            snprintf(takes, sizeof takes, "%d", info->min_in);
        else
            snprintf(takes, sizeof takes, "%d to %d", info->min_in, info->max_in);
        report(v, n->loc, "%s (node %d of graph '%s') has %d operands; it takes %s", info->name, n->id, g->name,
               n->n_in, takes);
        return false;
    }
    for (int i = 0; i < n->n_in; i++) {
        if (n->in[i] < 0 || n->in[i] >= n->id) {
            report(v, n->loc, "%s (node %d of graph '%s'): operand %d is node %d, which is not defined before it",
                   info->name, n->id, g->name, i, n->in[i]);
            ok = false;
        }
    }
    for (int a = 0; a < IR_ATTR_COUNT; a++) {
        if (!(info->attrs & (1u << a)) && !attr_is_zero(&n->attr[a])) {
            report(v, n->loc, "%s (node %d of graph '%s') carries the attribute '%s', which %s does not take",
                   info->name, n->id, g->name, ir_attr_table[a].name, info->name);
            ok = false;
        }
    }
    return ok;
}

/* The shape rule's message without the "tfc: error: " that a diag without sources adds. */
static void read_scratch(FILE *f, char *buf, size_t size) {
    fflush(f);
    rewind(f);
    if (!fgets(buf, (int)size, f)) buf[0] = 0;
    buf[strcspn(buf, "\n")] = 0;
    const char *tag = strstr(buf, "error: ");
    if (tag) memmove(buf, tag + 7, strlen(tag + 7) + 1);
}

/* Runs the shape rule on a copy: it must succeed and change neither the type nor an attribute. */
static void check_inference(verifier *v, ir_graph *g, const ir_node *n) {
    const char *op = ir_op_name(n->op);
    ir_node copy = *n;
    ir_diag quiet;
    ir_diag_init(&quiet, v->scratch ? v->scratch : v->d->out);
    if (v->scratch) rewind(v->scratch);
    if (!ir_infer(g, &copy, v->scratch ? &quiet : v->d)) {
        char msg[512] = "see the error above";
        if (v->scratch) read_scratch(v->scratch, msg, sizeof msg);
        report(v, n->loc, "%s (node %d of graph '%s') fails shape inference: %s", op, n->id, g->name, msg);
        return;
    }
    if (!ir_type_equal(&copy.type, &n->type))
        report(v, n->loc, "%s (node %d of graph '%s') has type %s, but inference gives %s", op, n->id, g->name,
               ir_type_text(&n->type).s, ir_type_text(&copy.type).s);
    for (int a = 0; a < IR_ATTR_COUNT; a++) {
        if (attr_equal(&copy.attr[a], &n->attr[a])) continue;
        int cn = copy.attr[a].n, nn = n->attr[a].n;
        report(v, n->loc, "%s (node %d of graph '%s'): attribute '%s' is not normalized (n = %d, %s; inference "
               "writes n = %d, %s)", op, n->id, g->name, ir_attr_table[a].name, nn,
               ir_ints_text(n->attr[a].v, nn < 0 || nn > IR_MAX_RANK ? IR_MAX_RANK : nn).s, cn,
               ir_ints_text(copy.attr[a].v, cn < 0 || cn > IR_MAX_RANK ? IR_MAX_RANK : cn).s);
    }
}

/* Each graph input is bound by at most one input node; bound[i] is the node id or -1. */
static void check_input_binding(verifier *v, const ir_graph *g, const ir_node *n, int *bound) {
    int64_t i = n->attr[IR_ATTR_INDEX].v[0];
    if (i < 0 || i >= g->n_inputs) return; /* the shape rule reports it */
    if (bound[i] >= 0)
        report(v, n->loc, "input '%s' of graph '%s' is bound twice, by nodes %d and %d", g->input_names[i],
               g->name, bound[i], n->id);
    else
        bound[i] = n->id;
}

static void check_outputs(verifier *v, const ir_graph *g) {
    for (int i = 0; i < g->n_outputs; i++) {
        int id = g->output_nodes[i];
        if (id < 0 || id >= g->n_nodes)
            report(v, g->loc, "output '%s' of graph '%s' refers to node %d, but the graph has %d nodes",
                   g->output_names[i], g->name, id, g->n_nodes);
        for (int j = 0; j < i; j++) {
            if (strcmp(g->output_names[i], g->output_names[j]) == 0) {
                report(v, g->loc, "graph '%s' has two outputs named '%s'", g->name, g->output_names[i]);
                break;
            }
        }
    }
}

static void check_graph(verifier *v, ir_graph *g) {
    int *bound = malloc(sizeof *bound * (size_t)(g->n_inputs > 0 ? g->n_inputs : 1));
    if (!bound) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < g->n_inputs; i++) bound[i] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if (!n || n->id != i || (unsigned)n->op >= IR_OP_COUNT) {
            report(v, n ? n->loc : g->loc, "node %d of graph '%s' is malformed (%s)", i, g->name,
                   !n ? "missing" : n->id != i ? "its id differs from its position" : "unknown op");
            continue;
        }
        if (!check_structure(v, g, n)) continue;
        check_inference(v, g, n);
        if (n->op == IR_OP_INPUT) check_input_binding(v, g, n, bound);
    }
    free(bound);
    check_outputs(v, g);
}

/* Declared types of parameters and graph inputs must be valid tensor types. */
static void check_declared_type(verifier *v, ir_loc loc, const char *what, const char *name, const ir_type *t) {
    int64_t elems;
    if ((unsigned)t->dtype < IR_DTYPE_COUNT && t->rank >= 0 && t->rank <= IR_MAX_RANK &&
        ir_dims_product(t->dims, t->rank, &elems))
        return;
    report(v, loc, "%s '%s' has an invalid type (dtype %d, rank %d)", what, name, (int)t->dtype, t->rank);
}

bool ir_verify_module(ir_module *m, ir_diag *d) {
    verifier v = {.d = d, .scratch = tmpfile(), .ok = true};
    for (int i = 0; i < m->n_params; i++)
        check_declared_type(&v, m->params[i].loc, "parameter", m->params[i].name, &m->params[i].type);
    for (int i = 0; i < m->n_graphs; i++) {
        ir_graph *g = m->graphs[i];
        for (int j = 0; j < g->n_inputs; j++) {
            check_declared_type(&v, g->loc, "input", g->input_names[j], &g->input_types[j]);
            for (int k = 0; k < j; k++)
                if (strcmp(g->input_names[j], g->input_names[k]) == 0)
                    report(&v, g->loc, "graph '%s' has two inputs named '%s'", g->name, g->input_names[j]);
        }
        check_graph(&v, g);
    }
    if (v.scratch) fclose(v.scratch);
    return v.ok;
}
