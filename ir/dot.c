/* dot.c — one graph as a Graphviz digraph (`tfc dump --format dot`): a box per node labelled
 * with its id, op, type, attributes, cost and placement, fusion groups as boxes (clusters) around
 * their ops, edges from operands, outputs and parameter updates. Every label is escaped, so any
 * name gives valid DOT.
 * ir_render_svg runs Graphviz's `dot -Tsvg` on it (`--format svg`). */
#define _POSIX_C_SOURCE 200809L
#include "ir/ir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Writes s inside a DOT double-quoted string: \" and \\ escaped, control bytes shown as '?'
 * (a raw newline would end the label; DOT's own \n is written by the callers). */
static void dot_escape(FILE *out, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else
            fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
    }
}

/* One attribute as the text form writes it, with %g floats: labels are for reading. */
static void attr_text(const ir_graph *g, ir_attr_id id, const ir_attr *a, char *buf, size_t size) {
    size_t used = 0;
    switch (ir_attr_table[id].kind) {
    case IR_AK_INT: snprintf(buf, size, "%lld", (long long)a->v[0]); break;
    case IR_AK_INTS:
        if (a->n < 0) {
            snprintf(buf, size, "%s", a->n == -1 ? "all" : "same");
            break;
        }
        used = (size_t)snprintf(buf, size, "[");
        for (int i = 0; i < a->n && i < IR_MAX_RANK && used < size; i++)
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "," : "", (long long)a->v[i]);
        if (used < size) snprintf(buf + used, size - used, "]");
        break;
    case IR_AK_BOOL: snprintf(buf, size, "%s", a->v[0] ? "true" : "false"); break;
    case IR_AK_FLOAT: snprintf(buf, size, "%g", a->f); break;
    case IR_AK_DTYPE: snprintf(buf, size, "%s", ir_dtype_name((ir_dtype)a->v[0])); break;
    case IR_AK_PARAM:
        snprintf(buf, size, "@%s",
                 a->v[0] >= 0 && a->v[0] < g->module->n_params ? g->module->params[a->v[0]].name : "?");
        break;
    }
}

/* Fill colours by role: where data enters, where weights live, where the FLOPs are. */
static const char *node_style(const ir_node *n) {
    unsigned flags = ir_op_table[n->op].flags;
    if (n->op == IR_OP_INPUT) return "shape=invhouse, fillcolor=\"#cfe2ff\"";
    if (n->op == IR_OP_PARAM) return "shape=box, style=filled, fillcolor=\"#fff3cd\"";
    if (flags & IR_LEAF) return "fillcolor=\"#eeeeee\"";
    if (flags & IR_CONTRACTION) return "fillcolor=\"#f8d7da\"";
    if (flags & (IR_REDUCTION | IR_WINDOW)) return "fillcolor=\"#e2d9f3\"";
    if (flags & IR_MOVEMENT) return "fillcolor=\"#d1ecf1\"";
    return "fillcolor=\"#ffffff\"";
}

/* "%3 matmul\nf32[64,512]\nperm_b=[1,0]\n51.4 MFLOP, AI 26.5\nread 1.81 MB, write 131 kB"; empty
 * lists are left out, as in the text form. */
static void print_label(FILE *out, const ir_graph *g, const ir_node *n) {
    char buf[256];
    fprintf(out, "%%%d %s", n->id, ir_op_name(n->op));
    if (n->op == IR_OP_INPUT) {
        int64_t i = n->attr[IR_ATTR_INDEX].v[0];
        fputs(" %", out);
        dot_escape(out, i >= 0 && i < g->n_inputs ? g->input_names[i] : "?");
    } else if (n->op == IR_OP_PARAM) {
        fputc(' ', out);
        attr_text(g, IR_ATTR_PARAM, &n->attr[IR_ATTR_PARAM], buf, sizeof buf);
        dot_escape(out, buf);
    }
    fprintf(out, "\\n%s", ir_type_str(&n->type, buf, sizeof buf));
    const char *sep = "\\n";
    for (int a = 0; a < IR_ATTR_COUNT; a++) {
        if (!(ir_op_table[n->op].attrs & (1u << a)) || a == IR_ATTR_INDEX || a == IR_ATTR_PARAM) continue;
        if (ir_attr_table[a].kind == IR_AK_INTS && n->attr[a].n == 0) continue;
        fprintf(out, "%s%s=", sep, ir_attr_table[a].name);
        attr_text(g, (ir_attr_id)a, &n->attr[a], buf, sizeof buf);
        dot_escape(out, buf);
        sep = " ";
    }
    if (n->op == IR_OP_INPUT || n->op == IR_OP_PARAM) return;
    /* The cost as the text form writes it, on two lines to keep the box narrow. */
    ir_cost c = ir_node_cost(g, n);
    double bytes = c.bytes_read + c.bytes_written;
    fprintf(out, "\\n%s, AI %.3g", ir_quantity_text(c.flops, "FLOP").s, bytes > 0 ? c.flops / bytes : 0.0);
    fprintf(out, "\\nread %s, write %s", ir_quantity_text(c.bytes_read, "B").s,
            ir_quantity_text(c.bytes_written, "B").s);
}

/* Where the memory plan put the value, as the text form writes it. */
static void print_placement(FILE *out, const ir_graph *g, const ir_node *n) {
    if (!g->planned) return;
    if (n->offset >= 0)
        fprintf(out, "\\n@arena+%lld", (long long)n->offset);
    else if (n->offset == IR_EXTERNAL || n->offset == IR_ALIAS)
        fprintf(out, "\\n@%s", n->offset == IR_EXTERNAL ? "external" : "alias");
}

static void print_node(FILE *out, const ir_graph *g, const ir_node *n, const ir_diag *d, const char *indent) {
    fprintf(out, "%sn%d [label=\"", indent, n->id);
    print_label(out, g, n);
    print_placement(out, g, n);
    fprintf(out, "\", %s", node_style(n));
    if (n->loc.file >= 0 && d && n->loc.file < d->n_sources) {
        fputs(", tooltip=\"", out);
        dot_escape(out, d->sources[n->loc.file].name);
        fprintf(out, ":%d:%d\"", n->loc.line, n->loc.col);
    }
    fputs("];\n", out);
}

/* Edges go after every node statement: an edge written inside a cluster would pull its
 * endpoints into that cluster. */
static void print_edges(FILE *out, const ir_node *n) {
    /* Operand order matters unless the op commutes: number the edges then. */
    bool numbered = n->n_in > 1 && !(ir_op_table[n->op].flags & IR_COMMUTATIVE);
    for (int i = 0; i < n->n_in; i++) {
        fprintf(out, "  n%d -> n%d", n->in[i], n->id);
        if (numbered) fprintf(out, " [label=\"%d\"]", i);
        fputs(";\n", out);
    }
}

/* A fusion group as a cluster: its kernel name, kind and cost (ir_graph_kernels) as the label. */
static void print_cluster_open(FILE *out, const ir_graph *g, const ir_kernel *k, int index) {
    bool known = k->group < g->n_groups;
    fprintf(out, "  subgraph cluster_%d {\n    label=\"", index);
    dot_escape(out, known ? g->groups[k->group].name : "?");
    const char *kind = known ? ir_fusion_kind_name(g->groups[k->group].kind) : "?";
    double bytes = k->cost.bytes_read + k->cost.bytes_written;
    fprintf(out, "\\n%s: %s, read %s, write %s, AI %.3g\";\n", kind, ir_quantity_text(k->cost.flops, "FLOP").s,
            ir_quantity_text(k->cost.bytes_read, "B").s, ir_quantity_text(k->cost.bytes_written, "B").s,
            bytes > 0 ? k->cost.flops / bytes : 0.0);
    fputs("    style=\"rounded,filled\"; fillcolor=\"#f4f4f4\"; color=\"#888888\"; fontname=\"Helvetica\"; "
          "fontsize=10;\n",
          out);
}

/* A planned graph is titled with its plan, as the text form's plan line. */
static void print_plan_label(FILE *out, const ir_graph *g) {
    int64_t naive = ir_graph_naive_bytes(g), arena = ir_graph_arena_bytes(g);
    if (!g->planned || naive == 0) return;
    fputs("  labelloc=t; fontname=\"Helvetica\"; label=\"", out);
    dot_escape(out, g->name);
    fprintf(out, "\\nplan: arena %s, naive %s (%.1f %%)\";\n", ir_quantity_text((double)arena, "B").s,
            ir_quantity_text((double)naive, "B").s, 100.0 * (double)arena / (double)naive);
}

void ir_print_dot(FILE *out, const ir_graph *g, const ir_diag *d) {
    fputs("digraph \"", out);
    dot_escape(out, g->name);
    fputs("\" {\n", out);
    fputs("  rankdir=TB;\n"
          "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [fontsize=8, color=\"#555555\"];\n",
          out);
    print_plan_label(out, g);
    ir_kernel *kernels = NULL;
    int n_kernels = g->n_groups > 0 ? ir_graph_kernels(g, &kernels) : 0;
    for (int k = 0, i = 0; i < g->n_nodes; i++) {
        while (k < n_kernels && kernels[k].first + kernels[k].count <= i) k++;
        bool grouped = k < n_kernels && kernels[k].group >= 0 && kernels[k].first <= i;
        if (grouped && kernels[k].first == i) print_cluster_open(out, g, &kernels[k], k);
        print_node(out, g, g->nodes[i], d, grouped ? "    " : "  ");
        if (grouped && i == kernels[k].first + kernels[k].count - 1) fputs("  }\n", out);
    }
    free(kernels);
    for (int i = 0; i < g->n_nodes; i++) print_edges(out, g->nodes[i]);
    /* Results as green houses; updates (the new value of a parameter) as yellow ones, "@w1". */
    for (int i = 0; i < g->n_outputs; i++) {
        bool update = i >= ir_graph_n_results(g);
        fprintf(out, "  out%d [label=\"%s", i, update ? "@" : "");
        dot_escape(out, g->output_names[i]);
        fprintf(out, "\", shape=house, style=filled, fillcolor=\"%s\"];\n", update ? "#fff3cd" : "#d4edda");
        fprintf(out, "  n%d -> out%d;\n", g->output_nodes[i], i);
    }
    const ir_minimize *mz = g->minimize;
    if (mz) {
        bool known = (unsigned)mz->kind < IR_OPTIM_COUNT;
        fprintf(out, "  minimize [label=\"minimize with %s\", shape=house, style=filled, fillcolor=\"#fff3cd\"];\n",
                known ? ir_optim_name(mz->kind) : "?");
        fprintf(out, "  n%d -> minimize;\n", mz->loss);
    }
    fputs("}\n", out);
}

/* ---- SVG through Graphviz ------------------------------------------------------------------ */

/* True when an executable `name` is in a directory of $PATH. */
static bool on_path(const char *name) {
    const char *path = getenv("PATH");
    if (!path) return false;
    char buf[4096];
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        /* An empty entry means the current directory. */
        int n = len ? snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, name) : snprintf(buf, sizeof buf, "./%s", name);
        if (n > 0 && (size_t)n < sizeof buf && access(buf, X_OK) == 0) return true;
        if (!colon) return false;
        p = colon + 1;
    }
}

/* Runs `dot -Tsvg` with stdin from the file `in` and copies its stdout to out. Returns dot's
 * wait status, or -1 when it could not be started. No shell: nothing in a name is interpreted. */
static int run_dot(FILE *in, FILE *out) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* The child only becomes dot; _exit keeps it from running the parent's atexit work. */
        if (dup2(fileno(in), STDIN_FILENO) < 0 || dup2(fds[1], STDOUT_FILENO) < 0) _exit(127);
        close(fds[0]);
        close(fds[1]);
        char *const argv[] = {"dot", "-Tsvg", NULL};
        execvp("dot", argv);
        _exit(127);
    }
    close(fds[1]);
    char buf[8192];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        fwrite(buf, 1, (size_t)n, out);
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return status;
}

bool ir_render_svg(FILE *out, const ir_graph *g, ir_diag *d) {
    if (!on_path("dot")) {
        ir_error(d, IR_NO_LOC, "--format svg needs Graphviz's 'dot' on PATH (install the graphviz package)");
        return false;
    }
    FILE *dot_text = tmpfile();
    if (!dot_text) {
        ir_error(d, IR_NO_LOC, "--format svg: cannot create a temporary file: %s", strerror(errno));
        return false;
    }
    ir_print_dot(dot_text, g, d);
    fflush(out);
    bool ok = fflush(dot_text) == 0 && fseek(dot_text, 0, SEEK_SET) == 0;
    int status = ok ? run_dot(dot_text, out) : -1;
    fclose(dot_text);
    if (status != -1 && WIFSIGNALED(status)) {
        ir_error(d, IR_NO_LOC, "--format svg: Graphviz's 'dot' was killed by signal %d", WTERMSIG(status));
        return false;
    }
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) == 127) {
        ir_error(d, IR_NO_LOC, "--format svg: could not run Graphviz's 'dot'");
        return false;
    }
    if (WEXITSTATUS(status) != 0) {
        ir_error(d, IR_NO_LOC, "--format svg: Graphviz's 'dot' failed (exit status %d)", WEXITSTATUS(status));
        return false;
    }
    return true;
}
