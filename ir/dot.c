/* dot.c — one graph as a Graphviz digraph (`tfc dump --format dot | dot -Tsvg`): a box per node
 * labelled with its id, op, type, attributes and FLOPs, edges from its operands, and graph
 * inputs, parameters and outputs drawn apart. Every label is escaped, so any name gives valid DOT. */
#include "ir/ir.h"

#include <string.h>

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

/* "%3 matmul\nf32[64,512]\naxes=[1] keepdims=false\n51.4 MFLOP" */
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
        fprintf(out, "%s%s=", sep, ir_attr_table[a].name);
        attr_text(g, (ir_attr_id)a, &n->attr[a], buf, sizeof buf);
        dot_escape(out, buf);
        sep = " ";
    }
    /* FLOPs as the text form's cost comment scales them: 3 digits and a decimal prefix. */
    static const char *const prefix[] = {"", "k", "M", "G", "T", "P", "E"};
    double flops = ir_node_cost(g, n).flops;
    int p = 0;
    for (; p < 6 && flops >= 999.5; p++) flops /= 1000;
    if (flops > 0) fprintf(out, "\\n%.3g %sFLOP", flops, prefix[p]);
}

static void print_node(FILE *out, const ir_graph *g, const ir_node *n, const ir_diag *d) {
    fprintf(out, "  n%d [label=\"", n->id);
    print_label(out, g, n);
    fprintf(out, "\", %s", node_style(n));
    if (n->loc.file >= 0 && d && n->loc.file < d->n_sources) {
        fputs(", tooltip=\"", out);
        dot_escape(out, d->sources[n->loc.file].name);
        fprintf(out, ":%d:%d\"", n->loc.line, n->loc.col);
    }
    fputs("];\n", out);
    /* Operand order matters unless the op commutes: number the edges then. */
    bool numbered = n->n_in > 1 && !(ir_op_table[n->op].flags & IR_COMMUTATIVE);
    for (int i = 0; i < n->n_in; i++) {
        fprintf(out, "  n%d -> n%d", n->in[i], n->id);
        if (numbered) fprintf(out, " [label=\"%d\"]", i);
        fputs(";\n", out);
    }
}

void ir_print_dot(FILE *out, const ir_graph *g, const ir_diag *d) {
    fputs("digraph \"", out);
    dot_escape(out, g->name);
    fputs("\" {\n", out);
    fputs("  rankdir=TB;\n"
          "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [fontsize=8, color=\"#555555\"];\n",
          out);
    for (int i = 0; i < g->n_nodes; i++) print_node(out, g, g->nodes[i], d);
    for (int i = 0; i < g->n_outputs; i++) {
        fprintf(out, "  out%d [label=\"", i);
        dot_escape(out, g->output_names[i]);
        fputs("\", shape=house, style=filled, fillcolor=\"#d4edda\"];\n", out);
        fprintf(out, "  n%d -> out%d;\n", g->output_nodes[i], i);
    }
    fputs("}\n", out);
}
