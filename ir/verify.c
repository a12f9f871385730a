/* verify.c — the verifier: checks the structural invariants of a module after the frontend,
 * the text parser and every pass (--verify-each). SSA order, arity, attribute masks, types and
 * attributes equal to what inference gives (so attributes are normalized), inputs and outputs
 * bound; parameter updates and the minimize line of a training graph; fusion groups contiguous
 * and well named; a planned graph's placements and its arena free of overlaps between live
 * values. Each problem is reported with "verifier: " at its node. */
#include "ir/ir.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define OPTIM_BIT(K) (1u << IR_OPTIM_##K)

/* PyTorch's ranges (docs/training.md); the order is the text form's. */
const ir_hyper_info ir_hyper_table[IR_N_HYPERS] = {
    {"lr", offsetof(ir_minimize, lr), OPTIM_BIT(SGD) | OPTIM_BIT(ADAM), true, 0, 0, INFINITY},
    {"momentum", offsetof(ir_minimize, momentum), OPTIM_BIT(SGD), false, 0, 0, INFINITY},
    {"beta1", offsetof(ir_minimize, beta1), OPTIM_BIT(ADAM), false, 0.9, 0, 1},
    {"beta2", offsetof(ir_minimize, beta2), OPTIM_BIT(ADAM), false, 0.999, 0, 1},
    {"eps", offsetof(ir_minimize, eps), OPTIM_BIT(ADAM), false, 1e-8, 0, INFINITY},
    {"weight_decay", offsetof(ir_minimize, weight_decay), OPTIM_BIT(SGD) | OPTIM_BIT(ADAM), false, 0, 0, INFINITY},
};

bool ir_hyper_check(const ir_hyper_info *h, double v, bool say_finite, ir_text *must) {
    if (ir_hyper_in_range(h, v)) return true;
    int len; /* a number's text is at most 24 characters */
    if (h->max < INFINITY)
        len = snprintf(must->s, sizeof must->s, "in [%s, %s)", ir_double_text(h->min).s, ir_double_text(h->max).s);
    else
        len = snprintf(must->s, sizeof must->s, "%s>= %s", say_finite ? "finite and " : "", ir_double_text(h->min).s);
    IR_ASSERT(len > 0 && len < (int)sizeof must->s);
    return false;
}

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

static bool check_outputs(verifier *v, const ir_graph *g) {
    bool ok = true;
    for (int i = 0; i < g->n_outputs; i++) {
        int id = g->output_nodes[i];
        if (id < 0 || id >= g->n_nodes) {
            report(v, g->loc, "output '%s' of graph '%s' refers to node %d, but the graph has %d nodes",
                   g->output_names[i], g->name, id, g->n_nodes);
            ok = false;
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(g->output_names[i], g->output_names[j]) == 0) {
                report(v, g->loc, "graph '%s' has two outputs named '%s'", g->name, g->output_names[i]);
                break;
            }
        }
    }
    return ok;
}

/* ---- fusion groups and the memory plan --------------------------------------------------- */

static bool is_kernel_name(const char *s) {
    if (!s || !*s) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static void check_group_table(verifier *v, const ir_graph *g) {
    for (int k = 0; k < g->n_groups; k++) {
        const ir_group *grp = &g->groups[k];
        if (!is_kernel_name(grp->name))
            report(v, g->loc, "fusion group %d of graph '%s' is named '%s'; kernel names are [A-Za-z0-9_]+", k,
                   g->name, grp->name ? grp->name : "(null)");
        if ((unsigned)grp->kind >= IR_FUSION_KIND_COUNT)
            report(v, g->loc, "fusion group '%s' of graph '%s' has an unknown kind %d", grp->name, g->name,
                   (int)grp->kind);
        for (int j = 0; j < k && grp->name && is_kernel_name(grp->name); j++)
            if (g->groups[j].name && strcmp(g->groups[j].name, grp->name) == 0)
                report(v, g->loc, "graph '%s' has two fusion groups named '%s'", g->name, grp->name);
    }
}

/* Each group's nodes are contiguous: with operands before users, that also makes the group
 * convex (a path leaving it and coming back would pass through a node between its first and
 * last). Returns false when the kernels cannot be counted. */
static bool check_groups(verifier *v, const ir_graph *g) {
    bool ok = true;
    check_group_table(v, g);
    int *first = malloc(sizeof(int) * ((size_t)g->n_groups + 1)), *last = malloc(sizeof(int) * ((size_t)g->n_groups + 1));
    if (!first || !last) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int k = 0; k < g->n_groups; k++) first[k] = last[k] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        int k = g->nodes[i]->group;
        if (k < -1 || k >= g->n_groups) {
            report(v, g->nodes[i]->loc, "%s (node %d of graph '%s') is in fusion group %d; the graph has %d",
                   ir_op_name(g->nodes[i]->op), i, g->name, k, g->n_groups);
            ok = false;
        } else if (k >= 0) {
            /* Reported once per group: `first` turns to -2 after the report. */
            if (last[k] >= 0 && last[k] != i - 1 && first[k] != -2) {
                report(v, g->nodes[i]->loc, "fusion group '%s' of graph '%s' is not contiguous: node %d lies "
                       "between its nodes %d and %d", g->groups[k].name, g->name, last[k] + 1, last[k], i);
                first[k] = -2;
                ok = false;
            }
            if (first[k] == -1) first[k] = i;
            last[k] = i;
        }
    }
    for (int k = 0; k < g->n_groups; k++)
        if (first[k] == -1) report(v, g->loc, "fusion group '%s' of graph '%s' has no nodes", g->groups[k].name, g->name);
    free(first);
    free(last);
    return ok;
}

static ir_text placement_text(int64_t offset) {
    ir_text t;
    if (offset >= 0) snprintf(t.s, sizeof t.s, "at @arena+%lld", (long long)offset);
    else snprintf(t.s, sizeof t.s, "%s", offset == IR_EXTERNAL ? "@external" : offset == IR_ALIAS ? "@alias" :
                  offset == IR_NOT_PLANNED ? "not placed" : "at an invalid offset");
    return t;
}

static const char *const placement_rule[] = {
    [IR_PLACE_NONE] = "must not be placed (a scalar constant, or a value that stays inside its group)",
    [IR_PLACE_EXTERNAL] = "must be @external (a graph input, parameter or output)",
    [IR_PLACE_ALIAS] = "must be @alias (a reshape outside groups is a view of its operand)",
    [IR_PLACE_ARENA] = "must be at an arena offset that is a multiple of 64 (a materialized intermediate)",
};

static void check_placement(verifier *v, const ir_graph *g, const ir_node *n, ir_placement want) {
    int64_t off = n->offset;
    bool ok = want == IR_PLACE_ARENA ? off >= 0 && off % 64 == 0
            : off == (want == IR_PLACE_EXTERNAL ? IR_EXTERNAL : want == IR_PLACE_ALIAS ? IR_ALIAS : IR_NOT_PLANNED);
    if (!ok)
        report(v, n->loc, "%s (node %d of graph '%s') is %s; in a planned graph it %s", ir_op_name(n->op), n->id,
               g->name, placement_text(off).s, placement_rule[want]);
}

/* Two arena values may share bytes while both live only when b is written in place over a:
 * same slot, a dies in the kernel writing b, and that kernel reads a only at the index it writes. */
static void check_overlap(verifier *v, const ir_graph *g, const ir_liveness *l, int a, int b) {
    const ir_node *x = g->nodes[a], *y = g->nodes[b];
    int64_t xa = x->offset, xb = xa + ir_node_bytes(x), ya = y->offset, yb = ya + ir_node_bytes(y);
    if (!(xa < yb && ya < xb) || !(l->kernel[a] <= l->last[b] && l->kernel[b] <= l->last[a])) return;
    if (xa == ya && l->kernel[b] == l->last[a] && ir_liveness_in_place_ok(g, l, b, a)) return;
    report(v, y->loc, "%s (node %d) and %s (node %d) of graph '%s' share the arena bytes [%lld, %lld) while both are "
           "live (kernels %d..%d and %d..%d)", ir_op_name(x->op), a, ir_op_name(y->op), b, g->name,
           (long long)(xa > ya ? xa : ya), (long long)(xb < yb ? xb : yb), l->kernel[a], l->last[a], l->kernel[b],
           l->last[b]);
}

static void check_plan(verifier *v, const ir_graph *g) {
    ir_liveness l;
    ir_liveness_compute(g, &l);
    int *arena = malloc(sizeof *arena * ((size_t)g->n_nodes + 1));
    if (!arena) ir_internal_error(__FILE__, __LINE__, "out of memory");
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        check_placement(v, g, g->nodes[i], l.place[i]);
        if (l.place[i] == IR_PLACE_ARENA && g->nodes[i]->offset >= 0) arena[n++] = i;
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) check_overlap(v, g, &l, arena[i], arena[j]);
    free(arena);
    ir_liveness_free(&l);
}

/* Returns whether the node structure is sound enough (ids, operands) for the group and plan checks. */
static bool check_nodes(verifier *v, ir_graph *g) {
    bool sound = true;
    int *bound = malloc(sizeof *bound * (size_t)(g->n_inputs > 0 ? g->n_inputs : 1));
    if (!bound) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < g->n_inputs; i++) bound[i] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if (!n || n->id != i || (unsigned)n->op >= IR_OP_COUNT) {
            report(v, n ? n->loc : g->loc, "node %d of graph '%s' is malformed (%s)", i, g->name,
                   !n ? "missing" : n->id != i ? "its id differs from its position" : "unknown op");
            sound = false;
            continue;
        }
        if (!check_structure(v, g, n)) {
            sound = false;
            continue;
        }
        check_inference(v, g, n);
        if (n->op == IR_OP_INPUT) check_input_binding(v, g, n, bound);
    }
    free(bound);
    return check_outputs(v, g) && sound;
}

/* ---- training: parameter updates and the minimize line ------------------------------------ */

/* The last n_updates outputs are updates: each of a valid parameter, named after it, of its type,
 * and no parameter updated twice. Output node ids are already checked. */
static void check_updates(verifier *v, const ir_graph *g) {
    const ir_module *m = g->module;
    if (g->n_updates < 0 || g->n_updates > g->n_outputs || (g->n_updates > 0 && !g->update_params)) {
        report(v, g->loc, "graph '%s' has %d updates among its %d outputs", g->name, g->n_updates, g->n_outputs);
        return;
    }
    for (int k = 0; k < g->n_updates; k++) {
        int out = ir_graph_n_results(g) + k, p = g->update_params[k];
        const char *name = g->output_names[out];
        if (p < 0 || p >= m->n_params) {
            report(v, g->loc, "output '%s' of graph '%s' updates parameter %d; the module has %d", name, g->name, p,
                   m->n_params);
            continue;
        }
        const ir_param *param = &m->params[p];
        if (strcmp(name, param->name) != 0)
            report(v, g->loc, "output '%s' of graph '%s' updates parameter '%s' but is not named after it", name,
                   g->name, param->name);
        const ir_type *t = &g->nodes[g->output_nodes[out]]->type;
        if (!ir_type_equal(t, &param->type))
            report(v, g->loc, "graph '%s' updates parameter '%s' (%s) with node %d, which is %s", g->name, param->name,
                   ir_type_text(&param->type).s, g->output_nodes[out], ir_type_text(t).s);
        for (int j = 0; j < k; j++) {
            if (g->update_params[j] == p) {
                report(v, g->loc, "graph '%s' updates parameter '%s' twice", g->name, param->name);
                break;
            }
        }
    }
}

/* minimize %LOSS with OPT(...): the loss a scalar f32 node, a known optimizer, its
 * hyperparameters finite and in PyTorch's ranges. */
static void check_minimize(verifier *v, const ir_graph *g) {
    const ir_minimize *mz = g->minimize;
    if (mz->loss < 0 || mz->loss >= g->n_nodes) {
        report(v, mz->loc, "graph '%s' minimizes node %d, but the graph has %d nodes", g->name, mz->loss, g->n_nodes);
    } else {
        const ir_type *t = &g->nodes[mz->loss]->type;
        if (t->dtype != IR_F32 || t->rank != 0)
            report(v, mz->loc, "graph '%s' minimizes node %d, which is %s; a loss is a scalar f32", g->name, mz->loss,
                   ir_type_text(t).s);
    }
    if ((unsigned)mz->kind >= IR_OPTIM_COUNT) {
        report(v, mz->loc, "graph '%s' minimizes with an unknown optimizer %d", g->name, (int)mz->kind);
        return;
    }
    for (int i = 0; i < IR_N_HYPERS; i++) {
        const ir_hyper_info *h = &ir_hyper_table[i];
        double x = ir_hyper_get(mz, h);
        ir_text must;
        if (!(h->optims & (1u << mz->kind)) || ir_hyper_check(h, x, true, &must)) continue;
        report(v, mz->loc, "graph '%s' minimizes with %s(%s=%g): %s must be %s", g->name, ir_optim_name(mz->kind),
               h->name, x, h->name, must.s);
    }
}

static void check_graph(verifier *v, ir_graph *g) {
    bool sound = check_nodes(v, g);
    if (sound) check_updates(v, g);
    if (sound && g->minimize) check_minimize(v, g);
    if (sound && check_groups(v, g) && g->planned) check_plan(v, g);
}

/* Declared types of parameters and graph inputs must be valid tensor types. */
static void check_declared_type(verifier *v, ir_loc loc, const char *what, const char *name, const ir_type *t) {
    int64_t elems;
    if ((unsigned)t->dtype < IR_DTYPE_COUNT && t->rank >= 0 && t->rank <= IR_MAX_RANK &&
        ir_dims_product(t->dims, t->rank, &elems))
        return;
    report(v, loc, "%s '%s' has an invalid type (dtype %d, rank %d)", what, name, (int)t->dtype, t->rank);
}

/* Optimizer state starts at zero (ir_param.state). */
static void check_param(verifier *v, const ir_param *p) {
    check_declared_type(v, p->loc, "parameter", p->name, &p->type);
    if (p->state && p->init.kind != IR_INIT_ZEROS)
        report(v, p->loc, "state parameter '%s' must start at zeros()", p->name);
}

bool ir_verify_module(ir_module *m, ir_diag *d) {
    verifier v = {.d = d, .scratch = tmpfile(), .ok = true};
    for (int i = 0; i < m->n_params; i++) check_param(&v, &m->params[i]);
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
