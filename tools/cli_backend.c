/* cli_backend.c — what the command does with the CPU backend: the passes code generation needs
 * whatever the -O level or --passes list (optimizer, autodiff, decompose, plan), lowering to
 * Kernel IR, the kernel/llvm/asm dumps, and compiling a graph with the JIT into an executor. */
#include "codegen/cpu/cpu.h"
#include "passes/passes.h"
#include "tools/cli.h"

#include <string.h>

/* Composite ops have no Kernel IR lowering of their own; cross_entropy is lowered directly
 * (decompose keeps it whole, docs/passes.md). */
static bool needs_decompose(const ir_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if ((ir_op_table[n->op].flags & IR_COMPOSITE) && n->op != IR_OP_CROSS_ENTROPY) return true;
    }
    return false;
}

int cli_prepare_codegen(const cli_options *o, cli_model *m) {
    bool training = false, decompose = false, plan = false;
    for (int i = 0; i < m->module->n_graphs; i++) {
        const ir_graph *g = m->module->graphs[i];
        /* A `minimize` or a grad node left by a --passes list without optimizer or autodiff: code
         * generation has no kernel for either, and a graph run without its updates would silently
         * not train. Those passes run then, as at every -O level. */
        training |= pass_graph_has_training(g);
        decompose |= needs_decompose(g);
        plan |= !g->planned;
    }
    pass_pipeline p = {0};
    if (training) {
        p.ids[p.n++] = PASS_OPTIMIZER;
        p.ids[p.n++] = PASS_AUTODIFF;
        /* The backward graph may hold composites (softmax from cross_entropy's rule). */
        decompose = true;
    }
    if (decompose) p.ids[p.n++] = PASS_DECOMPOSE;
    if (decompose || plan) p.ids[p.n++] = PASS_PLAN;
    if (p.n == 0) return CLI_OK;
    pass_run_options ro = {o->verify_each, o->time_passes, o->dump_after, o->dump_dir, NULL};
    return pass_run_pipeline(m->module, &p, &ro, &m->diag) ? CLI_OK : cli_failure_status(&m->diag);
}

cg_cpu_options cli_cpu_options(const cli_options *o) {
    cg_cpu_options c = {o->opt_level >= 0 ? o->opt_level : 3, o->cpu, o->dump_dir};
    return c;
}

/* `tfc dump --stage kernel|llvm|asm`: the graph's code after the full pipeline. */
int cli_dump_code(const cli_options *o, cli_model *m, const char *stage) {
    const ir_graph *g = cli_pick_graph(o, m);
    if (!g) return CLI_USER_ERROR;
    cg_program *p = cg_lower_graph(g, &m->diag);
    if (!p) return cli_failure_status(&m->diag);
    cg_cpu_options co = cli_cpu_options(o);
    bool ok = true;
    if (strcmp(stage, "kernel") == 0) cg_print_program(stdout, p);
    else if (strcmp(stage, "llvm") == 0) ok = cg_cpu_print_llvm(stdout, p, &co, &m->diag);
    else ok = cg_cpu_print_asm(stdout, p, &co, &m->diag);
    cg_program_destroy(p);
    return ok ? CLI_OK : cli_failure_status(&m->diag);
}

int cli_compile_cpu(const cli_options *o, cli_model *m, const ir_graph *g, cli_compiled *out) {
    memset(out, 0, sizeof *out);
    double t0 = rt_now_seconds();
    out->program = cg_lower_graph(g, &m->diag);
    if (!out->program) return cli_failure_status(&m->diag);
    cg_cpu_options co = cli_cpu_options(o);
    out->jit = cg_cpu_jit_create(out->program, &co, &m->diag);
    if (!out->jit) return cli_failure_status(&m->diag);
    out->compile_seconds = rt_now_seconds() - t0;
    char err[256];
    out->exec = rt_exec_create(cg_cpu_jit_program(out->jit), o->threads, err, sizeof err);
    if (!out->exec) {
        fprintf(stderr, "tfc: error: cannot prepare graph '%s' to run: %s\n", g->name, err);
        return CLI_USER_ERROR;
    }
    return CLI_OK;
}

void cli_compiled_free(cli_compiled *c) {
    rt_exec_destroy(c->exec);
    cg_cpu_jit_destroy(c->jit);
    if (c->program) cg_program_destroy(c->program);
    memset(c, 0, sizeof *c);
}
