/* print_json.c — `tfc dump --format json`: the graph as the list of kernels it runs (name, kind,
 * ops, FLOPs, bytes, intensity, source line, outputs and their arena offsets) and the memory
 * plan's totals, for scripts and dashboards. Always valid JSON: strings escaped, invalid UTF-8
 * replaced, non-finite numbers as null. */
#include "ir/ir.h"

#include <math.h>
#include <stdlib.h>

/* A JSON string: quotes, backslashes and control bytes escaped; bytes that are not valid
 * UTF-8 become U+FFFD so that the output always parses. */
static void json_chars(FILE *out, const char *s) {
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned c = *p;
        int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 && c >= 0xC2 ? 2 : (c & 0xF0) == 0xE0 ? 3
                : (c & 0xF8) == 0xF0 && c <= 0xF4 ? 4 : 0;
        for (int i = 1; i < len; i++)
            if ((p[i] & 0xC0) != 0x80) len = 0;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else if (len == 0) fputs("\\ufffd", out);
        else fwrite(p, 1, (size_t)len, out);
        p += len > 0 ? len : 1;
    }
}

static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    json_chars(out, s);
    fputc('"', out);
}

/* Integers print without a fraction (up to 2^53, where doubles are exact); others with
 * enough digits; NaN and infinities, which JSON lacks, as null. */
static void json_number(FILE *out, double x) {
    if (!isfinite(x)) fputs("null", out);
    else if (x == floor(x) && fabs(x) < 9007199254740992.0) fprintf(out, "%.0f", x);
    else fprintf(out, "%.6g", x);
}

static const char *kernel_kind(const ir_graph *g, const ir_kernel *k) {
    return k->group >= 0 ? ir_fusion_kind_name(g->groups[k->group].kind) : "single";
}

static void json_loc(FILE *out, const ir_diag *d, ir_loc loc) {
    if (!d || loc.file < 0 || loc.file >= d->n_sources) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    json_chars(out, d->sources[loc.file].name);
    fprintf(out, ":%d:%d\"", loc.line, loc.col);
}

/* Where an output lives: its arena offset, "external", "alias", or null when not planned. */
static void json_offset(FILE *out, int64_t offset) {
    if (offset >= 0) fprintf(out, "%lld", (long long)offset);
    else if (offset == IR_EXTERNAL) fputs("\"external\"", out);
    else if (offset == IR_ALIAS) fputs("\"alias\"", out);
    else fputs("null", out);
}

/* The ops a kernel runs, leaving out the operands it only binds (inputs, params, constants). */
static void json_ops(FILE *out, const ir_graph *g, const ir_kernel *k) {
    fputc('[', out);
    bool comma = false;
    for (int i = k->first; i < k->first + k->count; i++) {
        ir_op op = g->nodes[i]->op;
        if (op == IR_OP_INPUT || op == IR_OP_PARAM || op == IR_OP_CONSTANT) continue;
        fputs(comma ? ", " : "", out);
        json_string(out, ir_op_name(op));
        comma = true;
    }
    fputc(']', out);
}

static void json_outputs(FILE *out, const ir_graph *g, const ir_kernel *k) {
    fputc('[', out);
    bool comma = false;
    for (int i = k->first; i < k->first + k->count; i++) {
        const ir_node *n = g->nodes[i];
        if (!ir_node_escapes(g, n) && k->group >= 0) continue;
        fprintf(out, "%s{\"id\": %d, \"type\": ", comma ? ", " : "", n->id);
        json_string(out, ir_type_text(&n->type).s);
        fprintf(out, ", \"bytes\": %lld, \"offset\": ", (long long)ir_node_bytes(n));
        json_offset(out, n->offset);
        fputc('}', out);
        comma = true;
    }
    fputc(']', out);
}

static void json_kernel(FILE *out, const ir_graph *g, const ir_diag *d, const ir_kernel *k) {
    double bytes = k->cost.bytes_read + k->cost.bytes_written;
    fputs("    {\"name\": ", out);
    json_string(out, k->name);
    fprintf(out, ", \"kind\": \"%s\", \"ops\": ", kernel_kind(g, k));
    json_ops(out, g, k);
    fputs(", \"flops\": ", out);
    json_number(out, k->cost.flops);
    fputs(", \"bytes\": ", out);
    json_number(out, bytes);
    fputs(", \"bytes_read\": ", out);
    json_number(out, k->cost.bytes_read);
    fputs(", \"bytes_written\": ", out);
    json_number(out, k->cost.bytes_written);
    fputs(", \"intensity\": ", out);
    json_number(out, bytes > 0 ? k->cost.flops / bytes : 0);
    fputs(", \"loc\": ", out);
    json_loc(out, d, g->nodes[k->first]->loc);
    fputs(", \"outputs\": ", out);
    json_outputs(out, g, k);
    fputc('}', out);
}

void ir_print_json(FILE *out, const ir_graph *g, const ir_diag *d) {
    ir_kernel *kernels;
    int n = ir_graph_kernels(g, &kernels);
    fputs("{\n  \"graph\": ", out);
    json_string(out, g->name);
    fprintf(out, ",\n  \"n_kernels\": %d,\n  \"kernels\": [\n", n);
    for (int i = 0; i < n; i++) {
        json_kernel(out, g, d, &kernels[i]);
        fputs(i + 1 < n ? ",\n" : "\n", out);
    }
    fprintf(out, "  ],\n  \"arena_bytes\": %lld,\n  \"naive_bytes\": %lld,\n  \"planned\": %s\n}\n",
            (long long)(g->planned ? ir_graph_arena_bytes(g) : 0),
            (long long)(g->planned ? ir_graph_naive_bytes(g) : 0), g->planned ? "true" : "false");
    free(kernels);
}
