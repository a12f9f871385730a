/* manager.c — the pass manager: the pass table from passes.def, parsing `--passes=a,b`, and
 * running a pipeline over every graph with --verify-each, --time-passes and --dump-after. */
#define _POSIX_C_SOURCE 200809L
#include "passes/passes.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const pass_info pass_table[PASS_COUNT] = {
#define PASS(ID, name, fn, help) [PASS_##ID] = {name, fn, help},
#include "passes/passes.def"
#undef PASS
};

pass_id pass_lookup(const char *name) {
    for (int i = 0; i < PASS_COUNT; i++)
        if (strcmp(pass_table[i].name, name) == 0) return (pass_id)i;
    return PASS_COUNT;
}

bool pass_pipeline_parse(const char *list, pass_pipeline *out, ir_diag *d) {
    out->n = 0;
    const char *names[PASS_COUNT];
    for (int i = 0; i < PASS_COUNT; i++) names[i] = pass_table[i].name;
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[64];
        if (len == 0 || len >= sizeof name) {
            ir_error(d, IR_NO_LOC, "--passes: empty or overlong pass name in '%s'", list);
            return false;
        }
        memcpy(name, p, len);
        name[len] = 0;
        pass_id id = pass_lookup(name);
        if (id == PASS_COUNT) {
            const char *close = ir_closest(name, names, PASS_COUNT);
            ir_error(d, IR_NO_LOC, "--passes: unknown pass '%s'%s%s%s (tfc opt --help lists them)", name,
                     close ? "; did you mean '" : "", close ? close : "", close ? "'?" : "");
            return false;
        }
        if (out->n == (int)(sizeof out->ids / sizeof out->ids[0])) {
            ir_error(d, IR_NO_LOC, "--passes: more than 64 passes");
            return false;
        }
        out->ids[out->n++] = id;
        p = end ? end + 1 : p + len;
    }
    return true;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Writes the module after pass number `step` as DIR/NN.graph.pass.tgir (XLA's dump folder), or
 * to stderr with a banner when no directory is given. */
static bool dump_after(const ir_module *m, const ir_graph *g, int step, const char *pass, const char *dir,
                       ir_diag *d) {
    ir_graph *only = (ir_graph *)g;
    ir_module view = *m;
    view.n_graphs = view.cap_graphs = 1;
    view.graphs = &only;
    if (!dir) {
        fprintf(stderr, "// ----- graph @%s after %s -----\n", g->name, pass);
        ir_print_module(stderr, &view, d);
        return true;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        ir_error(d, IR_NO_LOC, "--dump-dir: cannot create '%s': %s", dir, strerror(errno));
        return false;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%02d.%s.%s.tgir", dir, step, g->name, pass);
    FILE *f = fopen(path, "w");
    if (!f) {
        ir_error(d, IR_NO_LOC, "--dump-dir: cannot write '%s': %s", path, strerror(errno));
        return false;
    }
    ir_print_module(f, &view, d);
    fclose(f);
    return true;
}

static bool wants_dump(const pass_run_options *o, const char *pass) {
    return o->dump_after && (strcmp(o->dump_after, "all") == 0 || strcmp(o->dump_after, pass) == 0);
}

/* Any pass may move, merge or regroup nodes, which makes arena offsets stale: a plan is only
 * valid until the next pass that is not the plan itself. */
static void forget_plan(ir_graph *g) {
    if (!g->planned) return;
    for (int i = 0; i < g->n_nodes; i++) g->nodes[i]->offset = IR_NOT_PLANNED;
    g->planned = false;
}

bool pass_graph_has_grad(const ir_graph *g) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i]->op == IR_OP_GRAD) return true;
    return false;
}

/* The training lowerings have nothing to do on a graph without `minimize` or `grad`; skipping
 * them there keeps a planned graph's plan (`tfc opt` on planned IR runs them at every -O). */
static bool nothing_to_lower(pass_id id, const ir_graph *g) {
    if (id == PASS_OPTIMIZER) return g->minimize == NULL;
    return id == PASS_AUTODIFF && !pass_graph_has_grad(g);
}

static bool run_on_graph(ir_module *m, ir_graph *g, const pass_pipeline *p, const pass_run_options *o,
                         ir_diag *d) {
    pass_context ctx = {d, o->explain_fusion, 0};
    if (wants_dump(o, "input") && !dump_after(m, g, 0, "input", o->dump_dir, d)) return false;
    for (int i = 0; i < p->n; i++) {
        const pass_info *info = &pass_table[p->ids[i]];
        if (nothing_to_lower(p->ids[i], g)) continue;
        if (p->ids[i] != PASS_PLAN) forget_plan(g);
        int errors = d->errors;
        double start = now_ms();
        bool ok = info->run(g, &ctx) && d->errors == errors;
        if (o->time_passes)
            fprintf(stderr, "time-passes: %-12s %-16s %8.3f ms\n", info->name, g->name, now_ms() - start);
        if (!ok) return false;
        if (o->verify_each && !ir_verify_module(m, d)) {
            ir_bug(d, IR_NO_LOC, "the IR is invalid after pass '%s' on graph '%s'",
                     info->name, g->name);
            return false;
        }
        if (wants_dump(o, info->name) && !dump_after(m, g, i + 1, info->name, o->dump_dir, d)) return false;
    }
    return true;
}

bool pass_run_pipeline(ir_module *m, const pass_pipeline *p, const pass_run_options *o, ir_diag *d) {
    if (o->dump_after && strcmp(o->dump_after, "all") != 0 && strcmp(o->dump_after, "input") != 0 &&
        pass_lookup(o->dump_after) == PASS_COUNT) {
        ir_error(d, IR_NO_LOC, "--dump-after: unknown pass '%s' (a pass name, 'input' or 'all')", o->dump_after);
        return false;
    }
    for (int i = 0; i < m->n_graphs; i++)
        if (!run_on_graph(m, m->graphs[i], p, o, d)) return false;
    return true;
}
