/* print.c — the `--stage kernel` dump: the program's buffers, then each kernel with its cost,
 * its library call and its loop nest, expressions infix. A subexpression that a statement uses
 * more than once and that is not tiny is printed once, as `let tN = ...` before the statement,
 * so the text stays as small as the DAG. */
#include "codegen/codegen.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Per statement: how often each node is used, and the names given to shared ones. */
typedef struct seen {
    const cg_expr *e;
    int uses, size, name;     /* name: 0 unnamed, else tN */
    bool bound;               /* its let (if any) is printed */
} seen;

typedef struct printer {
    FILE *out;
    const cg_program *p;
    seen *tab;
    size_t cap, used;
    int n_names;
} printer;

static size_t slot_of(const cg_expr *e, size_t cap) {
    return (size_t)(((uintptr_t)e >> 4) * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
}

static void grow(printer *pr) {
    size_t cap = pr->cap ? 2 * pr->cap : 256;
    seen *t = calloc(cap, sizeof *t);
    IR_ASSERT(t != NULL);
    for (size_t i = 0; i < pr->cap; i++) {
        if (!pr->tab[i].e) continue;
        size_t j = slot_of(pr->tab[i].e, cap);
        while (t[j].e) j = (j + 1) & (cap - 1);
        t[j] = pr->tab[i];
    }
    free(pr->tab);
    pr->tab = t;
    pr->cap = cap;
}

/* e's entry; with add, made when missing (pointers into the table die when it grows). */
static seen *lookup(printer *pr, const cg_expr *e, bool add) {
    if (pr->cap == 0 && !add) return NULL;
    if (pr->cap == 0 || (add && 2 * (pr->used + 1) > pr->cap)) grow(pr);
    size_t j = slot_of(e, pr->cap);
    while (pr->tab[j].e && pr->tab[j].e != e) j = (j + 1) & (pr->cap - 1);
    if (!pr->tab[j].e) {
        if (!add) return NULL;
        pr->tab[j].e = e;
        pr->used++;
    }
    return &pr->tab[j];
}

static void reset(printer *pr) {
    if (pr->tab) memset(pr->tab, 0, sizeof *pr->tab * pr->cap);
    pr->used = 0;
}

static int n_operands(const cg_expr *e) {
    switch (e->kind) {
    case CG_LOAD:
    case CG_CAST: return 1;
    case CG_CALL: return cg_fn_arity(e->fn);
    case CG_SELECT: return 3;
    default: return 0;
    }
}

/* Counts uses (a node reached again is not walked again) and tree sizes, saturated. */
static int count_uses(printer *pr, const cg_expr *e) {
    seen *s = lookup(pr, e, true);
    if (s->uses++ > 0) return s->size;
    int size = 1;
    for (int i = 0; i < n_operands(e); i++) {
        size += count_uses(pr, e->a[i]);
        if (size > 1000) size = 1000;
    }
    s = lookup(pr, e, false); /* the table may have grown */
    s->size = size;
    return size;
}

static bool named(const seen *s) { return s && s->uses > 1 && s->size > 6; }

static const char *infix(cg_fn f) {
    switch (f) {
    case CG_ADD: return "+";
    case CG_SUB: return "-";
    case CG_MUL: return "*";
    case CG_DIV: return "/";
    case CG_REM: return "%";
    case CG_LT: return "<";
    case CG_LE: return "<=";
    case CG_GT: return ">";
    case CG_GE: return ">=";
    case CG_EQ: return "==";
    case CG_NE: return "!=";
    case CG_AND: return "&&";
    case CG_OR: return "||";
    default: return NULL;
    }
}

/* C's precedence levels, so that parentheses appear only where they must. */
static bool prefix(const cg_expr *e) { return e->kind == CG_CALL && (e->fn == CG_NEG || e->fn == CG_NOT); }

static int precedence(const cg_expr *e) {
    if (e->kind == CG_SELECT) return 1;
    if (prefix(e)) return 8;
    if (e->kind != CG_CALL || !infix(e->fn)) return 10;
    switch (e->fn) {
    case CG_OR: return 2;
    case CG_AND: return 3;
    case CG_EQ: case CG_NE: return 4;
    case CG_LT: case CG_LE: case CG_GT: case CG_GE: return 5;
    case CG_ADD: case CG_SUB: return 6;
    default: return 7;
    }
}

static void print_const(FILE *out, const cg_expr *e) {
    if (e->type == IR_BOOL) {
        fputs(e->value.i ? "true" : "false", out);
    } else if (e->type != IR_F32) {
        fprintf(out, "%lld", (long long)e->value.i);
    } else if (isnan(e->value.f) || isinf(e->value.f)) {
        fputs(isnan(e->value.f) ? "nan" : e->value.f > 0 ? "inf" : "-inf", out);
    } else {
        char buf[40];
        for (int digits = 6; digits <= 9; digits++) { /* the shortest text that reads back as the f32 */
            snprintf(buf, sizeof buf, "%.*g", digits, e->value.f);
            if ((float)strtod(buf, NULL) == (float)e->value.f) break;
        }
        fputs(buf, out);
        if (!strpbrk(buf, ".en")) fputs(".0", out);
    }
}

static void print_expr(printer *pr, const cg_expr *e, int context, bool top);

static void print_operand(printer *pr, const cg_expr *e, int context) { print_expr(pr, e, context, false); }

static void print_call(printer *pr, const cg_expr *e, int prec) {
    FILE *out = pr->out;
    const char *op = infix(e->fn);
    if (op) { /* left-associative: the right operand needs parentheses at equal precedence */
        bool tight = e->type == IR_I64 && prec == 7; /* index arithmetic: i0*512 + i1 */
        const cg_expr *b = e->a[1];
        print_operand(pr, e->a[0], prec);
        if (e->fn == CG_ADD && b->kind == CG_CONST && b->type != IR_F32 && b->value.i < 0 && b->value.i > INT64_MIN) {
            fprintf(out, " - %lld", (long long)-b->value.i); /* i + -4 reads i - 4 */
            return;
        }
        fprintf(out, tight ? "%s" : " %s ", op);
        print_operand(pr, b, prec + 1);
        return;
    }
    if (prefix(e)) { /* -x, !c */
        fputc(e->fn == CG_NEG ? '-' : '!', out);
        print_operand(pr, e->a[0], 9);
        return;
    }
    fprintf(out, "%s(", cg_fn_name(e->fn));
    print_operand(pr, e->a[0], 0);
    if (cg_fn_arity(e->fn) == 2) {
        fputs(", ", out);
        print_operand(pr, e->a[1], 0);
    }
    fputc(')', out);
}

static void print_expr(printer *pr, const cg_expr *e, int context, bool top) {
    FILE *out = pr->out;
    seen *s = lookup(pr, e, false);
    if (!top && named(s) && s->name) {
        fprintf(out, "t%d", s->name);
        return;
    }
    int prec = precedence(e);
    bool paren = prec < context;
    if (paren) fputc('(', out);
    switch (e->kind) {
    case CG_CONST: print_const(out, e); break;
    case CG_VAR: fputs(pr->p->vars[e->var].name, out); break;
    case CG_BEGIN: fputs("begin", out); break;
    case CG_LOAD:
        fprintf(out, "%s[", pr->p->buffers[e->buf].name);
        print_operand(pr, e->a[0], 0);
        fputc(']', out);
        break;
    case CG_CALL: print_call(pr, e, prec); break;
    case CG_SELECT:
        print_operand(pr, e->a[0], 2);
        fputs(" ? ", out);
        print_operand(pr, e->a[1], 2);
        fputs(" : ", out);
        print_operand(pr, e->a[2], 1);
        break;
    case CG_CAST:
        fprintf(out, "%s(", ir_dtype_name(e->type));
        print_operand(pr, e->a[0], 0);
        fputc(')', out);
        break;
    default: fputs("?", out); break;
    }
    if (paren) fputc(')', out);
}

static void indent(FILE *out, int depth) { fprintf(out, "%*s", 2 * depth, ""); }

/* Names the shared nodes of one statement, operands first, and prints their bindings. A node
 * reached again is only re-walked when it is small (an unnamed shared node has size <= 6). */
static void print_lets(printer *pr, const cg_expr *e, int depth) {
    seen *s = lookup(pr, e, false);
    if (s->bound) return;
    for (int i = 0; i < n_operands(e); i++) print_lets(pr, e->a[i], depth);
    s = lookup(pr, e, false);
    s->bound = true;
    if (!named(s)) return;
    indent(pr->out, depth);
    fprintf(pr->out, "let t%d = ", ++pr->n_names);
    print_expr(pr, e, 0, true);
    fputc('\n', pr->out);
    s->name = pr->n_names;
}

static void prepare(printer *pr, const cg_stmt *s, int depth) {
    reset(pr);
    pr->n_names = 0;
    if (s->index) count_uses(pr, s->index);
    if (s->value) count_uses(pr, s->value);
    if (s->index) print_lets(pr, s->index, depth);
    if (s->value) print_lets(pr, s->value, depth);
}

static void print_stmt(printer *pr, const cg_kernel *k, const cg_stmt *s, int depth) {
    FILE *out = pr->out;
    if (s->kind == CG_LOOP) {
        indent(out, depth);
        if (s->flags & CG_LOOP_PARALLEL) fputs("parallel ", out);
        if (s->flags & CG_LOOP_VECTOR) fputs("vector ", out);
        fprintf(out, "for %s in [0, %lld)", pr->p->vars[s->var].name, (long long)s->extent);
        if (s->flags & CG_LOOP_PARALLEL) fprintf(out, " grain %lld", (long long)k->grain);
        fputc('\n', out);
        for (int i = 0; i < s->n_body; i++) print_stmt(pr, k, s->body[i], depth + 1);
        return;
    }
    prepare(pr, s, depth);
    indent(out, depth);
    switch (s->kind) {
    case CG_ASSIGN: fprintf(out, "%s = ", pr->p->vars[s->var].name); break;
    case CG_STORE:
        fprintf(out, "%s[", pr->p->buffers[s->buf].name);
        print_expr(pr, s->index, 0, false);
        fputs("] = ", out);
        break;
    default: fputs("check ", out); break;
    }
    print_expr(pr, s->value, 0, false);
    if (s->kind == CG_CHECK) fprintf(out, " else \"%s\"", k->checks[s->check]);
    if (s->kind == CG_STORE && s->nontemporal) fputs("  # nontemporal", out);
    fputc('\n', out);
}

/* ---- kernels and buffers ------------------------------------------------------------------------ */

static const char *buf_name(const cg_program *p, int buf) { return buf >= 0 ? p->buffers[buf].name : "?"; }

static void print_ints(FILE *out, const char *name, const int64_t *v, int n) {
    fprintf(out, " %s=[", name);
    for (int i = 0; i < n; i++) fprintf(out, "%s%lld", i ? "," : "", (long long)v[i]);
    fputc(']', out);
}

static void print_library(FILE *out, const cg_program *p, const cg_kernel *k) {
    if (k->kind == CG_KERNEL_GEMM) {
        const rt_gemm *g = &k->gemm;
        fprintf(out, "  gemm m=%lld n=%lld k=%lld a=%s b=%s", (long long)g->m, (long long)g->n, (long long)g->k,
                buf_name(p, k->lib_buf[0]), buf_name(p, k->lib_buf[1]));
        if (!k->n_body) fprintf(out, " c=%s", buf_name(p, k->lib_buf[2]));
        fprintf(out, "%s%s lda=%lld ldb=%lld", g->trans_a ? " trans_a" : "", g->trans_b ? " trans_b" : "",
                (long long)g->lda, (long long)g->ldb);
        if (g->batch_rank) {
            print_ints(out, "batch", g->batch, g->batch_rank);
            print_ints(out, "stride_a", g->batch_stride_a, g->batch_rank);
            print_ints(out, "stride_b", g->batch_stride_b, g->batch_rank);
        }
    } else {
        const rt_conv *c = &k->conv;
        fprintf(out, "  conv x=%s w=%s", buf_name(p, k->lib_buf[0]), buf_name(p, k->lib_buf[1]));
        if (!k->n_body) fprintf(out, " out=%s", buf_name(p, k->lib_buf[2]));
        fprintf(out, " n=%lld c=%lld in=%lldx%lld o=%lld k=%lldx%lld out=%lldx%lld stride=%lldx%lld pad=%lldx%lld "
                "dilation=%lldx%lld groups=%lld", (long long)c->n, (long long)c->c, (long long)c->h, (long long)c->w_in,
                (long long)c->o, (long long)c->kh, (long long)c->kw, (long long)c->oh, (long long)c->ow,
                (long long)c->stride_h, (long long)c->stride_w, (long long)c->pad_h, (long long)c->pad_w,
                (long long)c->dilation_h, (long long)c->dilation_w, (long long)c->groups);
    }
    fputc('\n', out);
    if (k->n_body) fputs("  epilogue:\n", out);
}

static void print_kernel(printer *pr, const cg_kernel *k) {
    static const char *const kinds[] = {"loop", "gemm", "conv"};
    FILE *out = pr->out;
    fprintf(out, "\nkernel %s (%s)    # %s\n", k->name, kinds[k->kind], ir_cost_text(k->cost).s);
    if (k->kind != CG_KERNEL_LOOP) print_library(out, pr->p, k);
    for (int i = 0; i < k->n_body; i++) print_stmt(pr, k, k->body[i], 1);
}

static void print_buffer(FILE *out, const cg_program *p, const cg_buffer *b) {
    const ir_graph *g = p->graph;
    fprintf(out, "  %-12s ", b->name);
    if (b->slot == 0) fprintf(out, "@arena+%lld", (long long)b->offset);
    else if (b->slot == CG_SCRATCH_SLOT) fputs("scratch", out);
    else if (b->slot < cg_slot_output(g, 0)) fprintf(out, "input %d", b->slot - cg_slot_input(g, 0));
    else if (b->slot < cg_slot_param(g, 0)) fprintf(out, "output %d", b->slot - cg_slot_output(g, 0));
    else fprintf(out, "param %d", b->slot - cg_slot_param(g, 0));
    fprintf(out, "  %s x %lld\n", ir_dtype_name(b->dtype), (long long)b->elems);
}

void cg_print_program(FILE *out, const cg_program *p) {
    printer pr = {.out = out, .p = p};
    fprintf(out, "# tfc kernel IR: graph %s, %d kernels, arena %s\n", p->graph->name, p->n_kernels,
            ir_quantity_text((double)p->arena_bytes, "B").s);
    fputs("buffers:\n", out);
    for (int b = 0; b < p->n_buffers; b++)
        if (p->buffers[b].slot != CG_SCRATCH_SLOT) print_buffer(out, p, &p->buffers[b]);
    for (int k = 0; k < p->n_kernels; k++) print_kernel(&pr, &p->kernels[k]);
    free(pr.tab);
}
