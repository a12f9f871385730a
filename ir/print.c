/* print.c — the printer of the Graph IR text form (docs/ir.md): one line per parameter and per
 * node, each node with its source location, memory placement and cost, fusion groups as
 * `kernel` blocks, a training graph's minimize line and parameter updates. parse.c reads it back
 * to the same module, so print(parse(print(m))) is print(m) byte for byte: anything printed is
 * parsed back exactly or is a `#` comment. */
#include "ir/ir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Columns where the loc and the cost comment start are aligned within a graph, up to these
 * widths (the head counted with its indentation); a longer line just gets two spaces. */
enum { MAX_HEAD_WIDTH = 74, MAX_LOC_WIDTH = 48 };

/* A growable string, so that a line can be measured before it is padded. */
typedef struct strbuf {
    char *s;
    size_t len, cap;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s ? b->s + b->len : NULL, b->cap - b->len, fmt, ap);
    va_end(ap);
    IR_ASSERT(n >= 0);
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) ir_internal_error(__FILE__, __LINE__, "out of memory");
        b->s = s;
        b->cap = cap;
        va_start(ap, fmt);
        vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

static void sb_clear(strbuf *b) {
    b->len = 0;
    if (b->s) b->s[0] = 0;
}

/* ---- names, strings, numbers -------------------------------------------------------------- */

/* A name prints bare when the lexer reads it back as one name token: [A-Za-z_][A-Za-z0-9_.$]*. */
static bool is_plain_name(const char *s) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '.' || *s == '$'))
            return false;
    return true;
}

/* "..." with the escapes the lexer decodes: \" \\ \n \t, other control bytes as \xHH. */
static void sb_string(strbuf *b, const char *s) {
    sb_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            sb_printf(b, "\\%c", c);
        else if (c == '\n')
            sb_printf(b, "\\n");
        else if (c == '\t')
            sb_printf(b, "\\t");
        else if (c < 0x20 || c == 0x7f)
            sb_printf(b, "\\x%02x", c);
        else
            sb_printf(b, "%c", c);
    }
    sb_printf(b, "\"");
}

static void sb_name(strbuf *b, const char *sigil, const char *name) {
    sb_printf(b, "%s", sigil);
    if (is_plain_name(name))
        sb_printf(b, "%s", name);
    else
        sb_string(b, name);
}

/* The shortest %.Ng text that strtod turns back into the same bits (100, not 1e+02, since it is
 * shorter); inf and nan by name. */
ir_text ir_double_text(double x) {
    ir_text t;
    if (isnan(x)) {
        snprintf(t.s, sizeof t.s, "%snan", signbit(x) ? "-" : "");
        return t;
    }
    if (isinf(x)) {
        snprintf(t.s, sizeof t.s, "%sinf", x < 0 ? "-" : "");
        return t;
    }
    char best[40] = "", buf[40];
    for (int prec = 17; prec >= 1; prec--) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        double back = strtod(buf, NULL);
        if (memcmp(&back, &x, sizeof x) == 0 && (!best[0] || strlen(buf) <= strlen(best)))
            memcpy(best, buf, sizeof buf);
    }
    memcpy(t.s, best, sizeof best);
    return t;
}

static void sb_double(strbuf *b, double x) { sb_printf(b, "%s", ir_double_text(x).s); }

static void sb_type(strbuf *b, const ir_type *t) {
    char buf[256];
    sb_printf(b, "%s", ir_type_str(t, buf, sizeof buf));
}

static void sb_loc(strbuf *b, ir_loc loc, const ir_diag *d) {
    if (loc.file < 0) return;
    sb_printf(b, "loc(");
    sb_string(b, d && loc.file < d->n_sources ? d->sources[loc.file].name : "?");
    sb_printf(b, ":%d:%d)", loc.line, loc.col);
}

/* ---- nodes -------------------------------------------------------------------------------- */

/* INTS markers (attrs.def) print by name so that unresolved IR still reads back. */
static void sb_attr(strbuf *b, const ir_graph *g, ir_attr_id id, const ir_attr *a) {
    const ir_module *m = g->module;
    switch (ir_attr_table[id].kind) {
    case IR_AK_INT: sb_printf(b, "%lld", (long long)a->v[0]); break;
    case IR_AK_INTS:
        if (a->n == -1 || a->n == -2) {
            sb_printf(b, "%s", a->n == -1 ? "all" : "same");
            break;
        }
        sb_printf(b, "[");
        for (int i = 0; i < a->n && i < IR_MAX_RANK; i++) sb_printf(b, "%s%lld", i ? "," : "", (long long)a->v[i]);
        sb_printf(b, "]");
        break;
    case IR_AK_BOOL: sb_printf(b, "%s", a->v[0] ? "true" : "false"); break;
    case IR_AK_FLOAT: sb_double(b, a->f); break;
    case IR_AK_DTYPE: sb_printf(b, "%s", ir_dtype_name((ir_dtype)a->v[0])); break;
    case IR_AK_PARAM:
        if (a->v[0] >= 0 && a->v[0] < m->n_params)
            sb_name(b, "@", m->params[a->v[0]].name);
        else
            sb_printf(b, "@\"?%lld\"", (long long)a->v[0]);
        break;
    }
}

/* %ID = OP(%a, %b) [attr=value, ...] : TYPE */
static void sb_node_head(strbuf *b, const ir_graph *g, const ir_node *n) {
    const ir_op_info *info = &ir_op_table[n->op];
    sb_printf(b, "%%%d = %s(", n->id, info->name);
    for (int i = 0; i < n->n_in; i++) sb_printf(b, "%s%%%d", i ? ", " : "", n->in[i]);
    sb_printf(b, ")");
    /* An empty list is what the parser makes of a missing attribute, so it is left out:
     * matmul's perm_a and perm_b show only when a transpose was absorbed. */
    const char *sep = " [";
    for (int a = 0; a < IR_ATTR_COUNT; a++) {
        if (!(info->attrs & (1u << a))) continue;
        if (ir_attr_table[a].kind == IR_AK_INTS && n->attr[a].n == 0) continue;
        sb_printf(b, "%s%s=", sep, ir_attr_table[a].name);
        sb_attr(b, g, (ir_attr_id)a, &n->attr[a]);
        sep = ", ";
    }
    sb_printf(b, "%s : ", sep[0] == ',' ? "]" : "");
    sb_type(b, &n->type);
}

/* " @arena+4096", " @external", " @alias": where the memory plan put the value (nothing before
 * planning, and nothing for values that need no buffer). */
static bool has_placement(const ir_graph *g, const ir_node *n) {
    return g->planned && (n->offset >= 0 || n->offset == IR_EXTERNAL || n->offset == IR_ALIAS);
}

static void sb_placement(strbuf *b, const ir_graph *g, const ir_node *n) {
    if (!has_placement(g, n)) return;
    if (n->offset >= 0)
        sb_printf(b, " @arena+%lld", (long long)n->offset);
    else
        sb_printf(b, " @%s", n->offset == IR_EXTERNAL ? "external" : "alias");
}

/* The whole head of a node line: indentation (deeper inside a kernel block), node, placement. */
static void sb_node_line_head(strbuf *b, const ir_graph *g, const ir_node *n) {
    sb_printf(b, "%s", n->group >= 0 ? "    " : "  ");
    sb_node_head(b, g, n);
    sb_placement(b, g, n);
}

/* 67.1 MFLOP, 1.81 MB: three significant digits and a decimal prefix. */
static void format_quantity(char *buf, size_t size, double x, const char *unit) {
    static const char *const prefix[] = {"", "k", "M", "G", "T", "P", "E"};
    int i = 0;
    while (i < 6 && fabs(x) >= 999.5) {
        x /= 1000;
        i++;
    }
    snprintf(buf, size, "%.3g %s%s", x, prefix[i], unit);
}

ir_text ir_quantity_text(double x, const char *unit) {
    ir_text t;
    format_quantity(t.s, sizeof t.s, x, unit);
    return t;
}

/* FLOPS  read BYTES  write BYTES  AI flops/byte (arithmetic intensity over all bytes moved) */
ir_text ir_cost_text(ir_cost c) {
    char flops[40], read[40], write[40];
    format_quantity(flops, sizeof flops, c.flops, "FLOP");
    format_quantity(read, sizeof read, c.bytes_read, "B");
    format_quantity(write, sizeof write, c.bytes_written, "B");
    double bytes = c.bytes_read + c.bytes_written;
    ir_text t;
    snprintf(t.s, sizeof t.s, "%s  read %s  write %s  AI %.3g", flops, read, write, bytes > 0 ? c.flops / bytes : 0.0);
    return t;
}

static void pad_to(FILE *out, size_t len, size_t width) {
    for (; len < width; len++) fputc(' ', out);
}

/* ---- graphs and modules ------------------------------------------------------------------- */

/* graph @NAME(%in : TYPE, ...) -> (out, ...) [loc] {   (the results: updates show in the return) */
static void print_graph_header(FILE *out, strbuf *b, const ir_graph *g, const ir_diag *d) {
    sb_clear(b);
    sb_name(b, "graph @", g->name);
    sb_printf(b, "(");
    for (int i = 0; i < g->n_inputs; i++) {
        sb_name(b, i ? ", %" : "%", g->input_names[i]);
        sb_printf(b, " : ");
        sb_type(b, &g->input_types[i]);
    }
    sb_printf(b, ") -> (");
    for (int i = 0; i < ir_graph_n_results(g); i++) sb_name(b, i ? ", " : "", g->output_names[i]);
    sb_printf(b, ")");
    if (g->loc.file >= 0) {
        sb_printf(b, " ");
        sb_loc(b, g->loc, d);
    }
    fprintf(out, "%s {\n", b->s);
}

/* The widths that align the loc and cost columns of a graph's node lines. */
static void node_columns(strbuf *b, const ir_graph *g, const ir_diag *d, size_t *head_w, size_t *loc_w) {
    *head_w = *loc_w = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        sb_clear(b);
        sb_node_line_head(b, g, g->nodes[i]);
        if (b->len <= MAX_HEAD_WIDTH && b->len > *head_w) *head_w = b->len;
        sb_clear(b);
        sb_loc(b, g->nodes[i]->loc, d);
        if (b->len <= MAX_LOC_WIDTH && b->len > *loc_w) *loc_w = b->len;
    }
}

static void print_node(FILE *out, strbuf *b, const ir_graph *g, const ir_node *n, const ir_diag *d,
                       size_t head_w, size_t loc_w) {
    sb_clear(b);
    sb_node_line_head(b, g, n);
    fputs(b->s, out);
    pad_to(out, b->len, head_w);
    sb_clear(b);
    sb_loc(b, n->loc, d);
    if (loc_w > 0 || b->len > 0) {
        fprintf(out, "  %s", b->len ? b->s : "");
        pad_to(out, b->len, loc_w);
    }
    fprintf(out, "  # %s\n", ir_cost_text(ir_node_cost(g, n)).s);
}

/* kernel @NAME (KIND) {  # its cost as one kernel (bytes that cross its boundary), in the
 * column of the node costs when the header fits before it. */
static void print_kernel_open(FILE *out, strbuf *b, const ir_graph *g, const ir_kernel *k, size_t cost_col) {
    bool known = k->group >= 0 && k->group < g->n_groups;
    sb_clear(b);
    sb_name(b, "  kernel @", known ? g->groups[k->group].name : "?");
    sb_printf(b, " (%s) {", known ? ir_fusion_kind_name(g->groups[k->group].kind) : "?");
    fputs(b->s, out);
    pad_to(out, b->len, cost_col);
    fprintf(out, "  # %s\n", ir_cost_text(k->cost).s);
}

/* The plan summary: bytes of the arena against what one buffer per value would take. */
static void print_plan_summary(FILE *out, const ir_graph *g) {
    bool any = false;
    for (int i = 0; i < g->n_nodes && !any; i++) any = has_placement(g, g->nodes[i]);
    if (!any) return;
    int64_t arena = ir_graph_arena_bytes(g), naive = ir_graph_naive_bytes(g);
    fprintf(out, "  # plan: arena %s, naive %s", ir_quantity_text((double)arena, "B").s,
            ir_quantity_text((double)naive, "B").s);
    if (naive > 0) fprintf(out, " (%.1f %%)", 100.0 * (double)arena / (double)naive);
    fputc('\n', out);
}

/* minimize %LOSS with sgd(lr=.., momentum=.., weight_decay=..) [loc]
 *                 | adam(lr=.., beta1=.., beta2=.., eps=.., weight_decay=..) [loc]
 * Every hyperparameter of the optimizer (ir_hyper_table), each as the shortest text that reads
 * back to the same double. */
static void print_minimize(FILE *out, strbuf *b, const ir_minimize *mz, const ir_diag *d) {
    bool known = (unsigned)mz->kind < IR_OPTIM_COUNT;
    sb_clear(b);
    sb_printf(b, "  minimize %%%d with %s(", mz->loss, known ? ir_optim_name(mz->kind) : "?");
    const char *sep = "";
    for (int i = 0; i < IR_N_HYPERS && known; i++) {
        const ir_hyper_info *h = &ir_hyper_table[i];
        if (!(h->optims & (1u << mz->kind))) continue;
        sb_printf(b, "%s%s=", sep, h->name);
        sb_double(b, ir_hyper_get(mz, h));
        sep = ", ";
    }
    sb_printf(b, ")");
    if (mz->loc.file >= 0) {
        sb_printf(b, " ");
        sb_loc(b, mz->loc, d);
    }
    fprintf(out, "%s\n", b->s);
}

/* return res = %N, ..., @PARAM = %M, ...: the results, then the updates (the new value of each
 * parameter, written with its sigil). */
static void print_return(FILE *out, strbuf *b, const ir_graph *g) {
    sb_clear(b);
    sb_printf(b, "  return");
    for (int i = 0; i < g->n_outputs; i++) {
        sb_printf(b, "%s", i ? ", " : " ");
        sb_name(b, i < ir_graph_n_results(g) ? "" : "@", g->output_names[i]);
        sb_printf(b, " = %%%d", g->output_nodes[i]);
    }
    fprintf(out, "%s\n}\n", b->s);
}

/* Nodes in order; a run of nodes of one fusion group (groups are contiguous) as a block. */
static void print_graph_body(FILE *out, strbuf *b, const ir_graph *g, const ir_diag *d) {
    size_t head_w, loc_w;
    node_columns(b, g, d, &head_w, &loc_w);
    ir_kernel *kernels = NULL;
    int n_kernels = g->n_groups > 0 ? ir_graph_kernels(g, &kernels) : 0;
    print_plan_summary(out, g);
    size_t cost_col = head_w + (loc_w > 0 ? 2 + loc_w : 0);
    int open = -1;
    for (int i = 0, k = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        if (n->group != open && open >= 0) fputs("  }\n", out);
        if (n->group != open && n->group >= 0) {
            /* ir_graph_kernels lists each run of a group as one kernel, in node order. */
            while (k < n_kernels && kernels[k].first < i) k++;
            IR_ASSERT(k < n_kernels && kernels[k].first == i);
            print_kernel_open(out, b, g, &kernels[k], cost_col);
        }
        open = n->group;
        print_node(out, b, g, n, d, head_w, loc_w);
    }
    if (open >= 0) fputs("  }\n", out);
    free(kernels);
    if (g->minimize) print_minimize(out, b, g->minimize, d);
    print_return(out, b, g);
}

static void print_graph(FILE *out, strbuf *b, const ir_graph *g, const ir_diag *d) {
    print_graph_header(out, b, g, d);
    print_graph_body(out, b, g, d);
}

void ir_print_graph(FILE *out, const ir_graph *g, const ir_diag *d) {
    strbuf b = {0};
    print_graph(out, &b, g, d);
    free(b.s);
}

/* = zeros() | ones() | full(v) | normal(std=v) | uniform(lo, hi) | glorot() | he() | load(..) */
static void sb_init(strbuf *b, const ir_init *init) {
    static const char *const names[] = {
        [IR_INIT_ZEROS] = "zeros", [IR_INIT_ONES] = "ones",     [IR_INIT_FULL] = "full", [IR_INIT_NORMAL] = "normal",
        [IR_INIT_UNIFORM] = "uniform", [IR_INIT_GLOROT] = "glorot", [IR_INIT_HE] = "he",  [IR_INIT_LOAD] = "load",
    };
    if (init->kind == IR_INIT_NONE || (unsigned)init->kind >= sizeof names / sizeof names[0]) return;
    sb_printf(b, " = %s(", names[init->kind]);
    if (init->kind == IR_INIT_FULL || init->kind == IR_INIT_UNIFORM) sb_double(b, init->a);
    if (init->kind == IR_INIT_NORMAL) {
        sb_printf(b, "std=");
        sb_double(b, init->a);
    }
    if (init->kind == IR_INIT_UNIFORM) {
        sb_printf(b, ", ");
        sb_double(b, init->b);
    }
    if (init->kind == IR_INIT_LOAD) {
        sb_string(b, init->path ? init->path : "");
        if (init->key) {
            sb_printf(b, ", ");
            sb_string(b, init->key);
        }
    }
    sb_printf(b, ")");
}

/* param @NAME : TYPE [= init] [split(axis=k)] [state] */
static void sb_param_head(strbuf *b, const ir_param *p) {
    sb_name(b, "param @", p->name);
    sb_printf(b, " : ");
    sb_type(b, &p->type);
    sb_init(b, &p->init);
    if (p->split_axis >= 0) sb_printf(b, " split(axis=%d)", p->split_axis);
    if (p->state) sb_printf(b, " state");
}

static void print_params(FILE *out, strbuf *b, const ir_module *m, const ir_diag *d) {
    size_t head_w = 0;
    for (int i = 0; i < m->n_params; i++) {
        sb_clear(b);
        sb_param_head(b, &m->params[i]);
        if (b->len <= MAX_HEAD_WIDTH && b->len > head_w) head_w = b->len;
    }
    for (int i = 0; i < m->n_params; i++) {
        const ir_param *p = &m->params[i];
        sb_clear(b);
        sb_param_head(b, p);
        fputs(b->s, out);
        if (p->loc.file >= 0) {
            pad_to(out, b->len, head_w);
            sb_clear(b);
            sb_loc(b, p->loc, d);
            fprintf(out, "  %s", b->s);
        }
        fputc('\n', out);
    }
}

void ir_print_module(FILE *out, const ir_module *m, const ir_diag *d) {
    strbuf b = {0};
    fputs("# tfc graph IR\n", out);
    if (m->n_params > 0) {
        fputc('\n', out);
        print_params(out, &b, m, d);
    }
    for (int i = 0; i < m->n_graphs; i++) {
        fputc('\n', out);
        print_graph(out, &b, m->graphs[i], d);
    }
    free(b.s);
}
