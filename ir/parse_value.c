/* parse_value.c — the IR text parser's token handling, its error reporting and recovery, and
 * the values that appear inside a line: integers, floats (inf and nan included), types, source
 * locations, parameter initializers and attribute values by kind (attrs.def). */
#include "ir/parse.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ERRORS = 50 }; /* then stop: past this, garbage input only floods the terminal */

/* ---- tokens and errors -------------------------------------------------------------------- */

void ir_parse_advance(parser *p) {
    p->prev = p->tok;
    p->tok = ir_lex_next(&p->lx);
}

bool ir_parse_accept(parser *p, ir_tok_kind kind) {
    if (p->tok.kind != kind) return false;
    ir_parse_advance(p);
    return true;
}

bool ir_parse_is_word(const parser *p, const char *word) {
    return p->tok.kind == TK_IDENT && strcmp(p->tok.text, word) == 0;
}

ir_loc ir_parse_loc_of(const parser *p, const ir_token *t) { return (ir_loc){p->file, t->line, t->col}; }

static void report(parser *p, ir_loc loc, const char *fmt, va_list ap) {
    if (p->lx.quiet_line == loc.line) return;
    p->lx.quiet_line = loc.line;
    ir_verror(p->d, loc, fmt, ap);
}

void ir_parse_error(parser *p, const ir_token *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(p, ir_parse_loc_of(p, t), fmt, ap);
    va_end(ap);
}

static void error_after_prev(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error_after_prev(parser *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(p, (ir_loc){p->file, p->prev.end_line, p->prev.end_col}, fmt, ap);
    va_end(ap);
}

static const char *const punct_text[] = {
    [TK_LPAREN] = "(", [TK_RPAREN] = ")", [TK_LBRACKET] = "[", [TK_RBRACKET] = "]", [TK_LBRACE] = "{",
    [TK_RBRACE] = "}", [TK_COMMA] = ",", [TK_COLON] = ":", [TK_EQUALS] = "=", [TK_ARROW] = "->", [TK_MINUS] = "-",
    [TK_PLUS] = "+",
};

const char *ir_parse_describe(parser *p, const ir_token *t) {
    if (t->kind == TK_EOF) return "end of file";
    if (t->kind == TK_STRING) return "a string";
    if (t->kind == TK_ERROR) return "a bad token";
    char *s = ir_alloc(p->scratch, 64);
    if (t->kind >= TK_LPAREN) {
        snprintf(s, 64, "'%s'", punct_text[t->kind]);
        return s;
    }
    /* Names may hold any byte when quoted: show them sanitized and cut. */
    size_t n = (size_t)snprintf(s, 64, "'%s", t->kind == TK_LOCAL ? "%" : t->kind == TK_GLOBAL ? "@" : "");
    size_t i = 0;
    for (; i < t->len && n < 50; i++) {
        unsigned char c = (unsigned char)t->text[i];
        s[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    snprintf(s + n, 64 - n, "%s'", i < t->len ? "..." : "");
    return s;
}

bool ir_parse_expected(parser *p, const char *what) {
    if (p->tok.kind == TK_ERROR) return false;
    if (p->tok.kind == TK_EOF)
        error_after_prev(p, "expected %s, got end of file", what);
    else if (p->tok.line_start)
        error_after_prev(p, "expected %s at end of line", what);
    else
        ir_parse_error(p, &p->tok, "expected %s, got %s", what, ir_parse_describe(p, &p->tok));
    return false;
}

bool ir_parse_expect(parser *p, ir_tok_kind kind, const char *what) {
    return ir_parse_accept(p, kind) || ir_parse_expected(p, what);
}

bool ir_parse_expect_word(parser *p, const char *word) {
    if (ir_parse_is_word(p, word)) {
        ir_parse_advance(p);
        return true;
    }
    char what[64];
    snprintf(what, sizeof what, "'%s'", word);
    return ir_parse_expected(p, what);
}

bool ir_parse_line_end(parser *p) {
    if (p->tok.line_start || p->tok.kind == TK_EOF) return true;
    if (p->tok.kind != TK_ERROR)
        ir_parse_error(p, &p->tok, "expected the end of the line, got %s", ir_parse_describe(p, &p->tok));
    return false;
}

/* Skips what is left of the item that began on `line`: up to the first token of a later line. */
void ir_parse_skip_line(parser *p, int line) {
    while (p->tok.kind != TK_EOF && !(p->tok.line_start && p->tok.line > line)) ir_parse_advance(p);
}

bool ir_parse_too_many_errors(const parser *p) { return p->d->errors - p->first_error >= MAX_ERRORS; }

/* ---- numbers ------------------------------------------------------------------------------ */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool ir_parse_node_id(const ir_token *t, int64_t *id) {
    if (t->kind != TK_LOCAL || t->quoted || t->len == 0) return false;
    int64_t v = 0;
    for (size_t i = 0; i < t->len; i++) {
        if (!is_digit(t->text[i])) return false;
        if (v < INT64_MAX / 100) v = v * 10 + (t->text[i] - '0');
    }
    *id = v;
    return true;
}

/* int = [ "-" ] digits, within int64 */
bool ir_parse_int(parser *p, int64_t *out) {
    bool neg = ir_parse_accept(p, TK_MINUS);
    ir_token t = p->tok;
    if (t.kind != TK_NUMBER) return ir_parse_expected(p, "an integer");
    uint64_t v = 0;
    for (size_t i = 0; i < t.len; i++) {
        if (!is_digit(t.text[i])) {
            ir_parse_error(p, &t, "expected an integer, got '%s'", t.text);
            return false;
        }
        if (v > ((uint64_t)INT64_MAX - (uint64_t)(t.text[i] - '0')) / 10) {
            ir_parse_error(p, &t, "integer %s%s is out of range", neg ? "-" : "", t.text);
            return false;
        }
        v = v * 10 + (uint64_t)(t.text[i] - '0');
    }
    ir_parse_advance(p);
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

/* digits [ "." digits ] [ ("e"|"E") ["+"|"-"] digits ], at least one digit before the exponent;
 * checked here so that strtod's other forms (hex, "infinity") are not accepted by accident. */
static bool is_decimal(const char *s) {
    size_t i = 0, digits = 0;
    for (; is_digit(s[i]); i++) digits++;
    if (s[i] == '.')
        for (i++; is_digit(s[i]); i++) digits++;
    if (digits == 0) return false;
    if (s[i] == 'e' || s[i] == 'E') {
        i++;
        if (s[i] == '+' || s[i] == '-') i++;
        if (!is_digit(s[i])) return false;
        while (is_digit(s[i])) i++;
    }
    return s[i] == 0;
}

/* float = [ "-" ] ( NUMBER | "inf" | "nan" ) */
bool ir_parse_float(parser *p, double *out) {
    bool neg = ir_parse_accept(p, TK_MINUS);
    ir_token t = p->tok;
    double v;
    if (ir_parse_is_word(p, "inf")) {
        v = INFINITY;
    } else if (ir_parse_is_word(p, "nan")) {
        v = NAN;
    } else if (t.kind == TK_NUMBER && is_decimal(t.text)) {
        v = strtod(t.text, NULL);
    } else if (t.kind == TK_NUMBER) {
        ir_parse_error(p, &t, "malformed number '%s'", t.text);
        return false;
    } else {
        return ir_parse_expected(p, "a number");
    }
    ir_parse_advance(p);
    *out = neg ? -v : v;
    return true;
}

/* ---- names with suggestions --------------------------------------------------------------- */

static bool lookup_dtype(parser *p, const ir_token *t, ir_dtype *dt) {
    if (t->kind != TK_IDENT) return ir_parse_expected(p, "a dtype (f32, f16, bf16, i32, i64, bool)");
    if (ir_dtype_lookup(t->text, dt)) return true;
    const char *names[IR_DTYPE_COUNT];
    for (int i = 0; i < IR_DTYPE_COUNT; i++) names[i] = ir_dtype_name((ir_dtype)i);
    const char *close = ir_closest(t->text, names, IR_DTYPE_COUNT);
    if (close)
        ir_parse_error(p, t, "unknown dtype '%s'; did you mean '%s'?", t->text, close);
    else
        ir_parse_error(p, t, "unknown dtype '%s' (expected f32, f16, bf16, i32, i64 or bool)", t->text);
    return false;
}

bool ir_parse_param(parser *p, const ir_token *t, int64_t *index) {
    if (t->kind != TK_GLOBAL) return ir_parse_expected(p, "a parameter like @w1");
    *index = ir_module_find_param(p->m, t->text);
    if (*index >= 0) return true;
    const char **names = ir_alloc(p->scratch, sizeof *names * (size_t)(p->m->n_params + 1));
    for (int i = 0; i < p->m->n_params; i++) names[i] = p->m->params[i].name;
    const char *close = ir_closest(t->text, names, p->m->n_params);
    if (close)
        ir_parse_error(p, t, "unknown parameter @%s; did you mean @%s?", t->text, close);
    else
        ir_parse_error(p, t, "unknown parameter @%s (parameters are declared before the graphs)", t->text);
    return false;
}

/* ---- types and locations ------------------------------------------------------------------ */

/* type = dtype "[" [ INT { "," INT } ] "]"   (f32[] is a scalar) */
bool ir_parse_type(parser *p, ir_type *t) {
    ir_token at = p->tok;
    memset(t, 0, sizeof *t);
    if (!lookup_dtype(p, &at, &t->dtype)) return false;
    ir_parse_advance(p);
    if (!ir_parse_expect(p, TK_LBRACKET, "'[' and the dimensions")) return false;
    if (ir_parse_accept(p, TK_RBRACKET)) return true;
    do {
        ir_token dt = p->tok;
        int64_t v;
        if (t->rank == IR_MAX_RANK) {
            ir_parse_error(p, &dt, "a type has at most %d dimensions", IR_MAX_RANK);
            return false;
        }
        if (!ir_parse_int(p, &v)) return false;
        if (v < 0) {
            ir_parse_error(p, &dt, "dimension %lld is negative", (long long)v);
            return false;
        }
        t->dims[t->rank++] = v;
    } while (ir_parse_accept(p, TK_COMMA));
    if (!ir_parse_expect(p, TK_RBRACKET, "',' or ']'")) return false;
    int64_t elems;
    if (!ir_dims_product(t->dims, t->rank, &elems)) {
        ir_parse_error(p, &at, "type %s has more than 2^40 elements", ir_type_text(t).s);
        return false;
    }
    return true;
}

/* The source index of a file named in a loc(): the diag's own if it has one of that name, else
 * a new entry without text, so that later errors still name the file and line. */
static int source_index(ir_diag *d, const char *name) {
    for (int i = 0; i < d->n_sources; i++)
        if (strcmp(d->sources[i].name, name) == 0) return i;
    return ir_diag_add_source(d, name, "", 0);
}

static bool parse_position(parser *p, int *out) {
    ir_token t = p->tok;
    int64_t v;
    if (!ir_parse_int(p, &v)) return false;
    if (v < 0 || v > INT_MAX) {
        ir_parse_error(p, &t, "line or column %lld is out of range", (long long)v);
        return false;
    }
    *out = (int)v;
    return true;
}

/* loc = "loc" "(" STRING ":" INT ":" INT ")" */
bool ir_parse_loc(parser *p, ir_loc *loc) {
    ir_parse_advance(p);
    if (!ir_parse_expect(p, TK_LPAREN, "'('")) return false;
    if (p->tok.kind != TK_STRING) return ir_parse_expected(p, "a file name in quotes");
    const char *name = p->tok.text;
    ir_parse_advance(p);
    ir_loc l;
    if (!ir_parse_expect(p, TK_COLON, "':'") || !parse_position(p, &l.line) || !ir_parse_expect(p, TK_COLON, "':'") ||
        !parse_position(p, &l.col) || !ir_parse_expect(p, TK_RPAREN, "')'"))
        return false;
    l.file = source_index(p->d, name);
    *loc = l;
    return true;
}

/* ---- initializers ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    ir_init_kind kind;
} init_table[] = {
    {"zeros", IR_INIT_ZEROS}, {"ones", IR_INIT_ONES},     {"full", IR_INIT_FULL}, {"normal", IR_INIT_NORMAL},
    {"uniform", IR_INIT_UNIFORM}, {"glorot", IR_INIT_GLOROT}, {"he", IR_INIT_HE}, {"load", IR_INIT_LOAD},
};
enum { N_INITS = sizeof init_table / sizeof init_table[0] };

static bool lookup_init(parser *p, const ir_token *t, ir_init_kind *kind) {
    if (t->kind != TK_IDENT) return ir_parse_expected(p, "an initializer like glorot()");
    const char *names[N_INITS];
    for (int i = 0; i < N_INITS; i++) {
        names[i] = init_table[i].name;
        if (strcmp(t->text, names[i]) == 0) {
            *kind = init_table[i].kind;
            return true;
        }
    }
    const char *close = ir_closest(t->text, names, N_INITS);
    if (close)
        ir_parse_error(p, t, "unknown initializer '%s'; did you mean '%s'?", t->text, close);
    else
        ir_parse_error(p, t, "unknown initializer '%s' (zeros ones full normal uniform glorot he load)", t->text);
    return false;
}

static bool parse_string(parser *p, const char **out) {
    if (p->tok.kind != TK_STRING) return ir_parse_expected(p, "a string");
    *out = p->tok.text;
    ir_parse_advance(p);
    return true;
}

/* init = "zeros()" | "ones()" | "full(" float ")" | "normal(std=" float ")" | "uniform(" float
 *        "," float ")" | "glorot()" | "he()" | "load(" STRING [ "," STRING ] ")" */
bool ir_parse_init(parser *p, ir_init *init) {
    ir_token t = p->tok;
    memset(init, 0, sizeof *init);
    if (!lookup_init(p, &t, &init->kind)) return false;
    ir_parse_advance(p);
    if (!ir_parse_expect(p, TK_LPAREN, "'('")) return false;
    bool ok = true;
    switch (init->kind) {
    case IR_INIT_FULL: ok = ir_parse_float(p, &init->a); break;
    case IR_INIT_NORMAL:
        ok = ir_parse_expect_word(p, "std") && ir_parse_expect(p, TK_EQUALS, "'='") && ir_parse_float(p, &init->a);
        break;
    case IR_INIT_UNIFORM:
        ok = ir_parse_float(p, &init->a) && ir_parse_expect(p, TK_COMMA, "','") && ir_parse_float(p, &init->b);
        break;
    case IR_INIT_LOAD:
        ok = parse_string(p, &init->path) && (!ir_parse_accept(p, TK_COMMA) || parse_string(p, &init->key));
        break;
    default: break;
    }
    return ok && ir_parse_expect(p, TK_RPAREN, "')'");
}

/* ---- attribute values --------------------------------------------------------------------- */

/* ints = "[" [ int { "," int } ] "]" | "all" (AXES n = -1) | "same" (LO, HI n = -2): attrs.def */
static bool parse_ints(parser *p, ir_attr_id id, ir_attr *a) {
    if (ir_parse_is_word(p, "all") && id == IR_ATTR_AXES) {
        a->n = -1;
    } else if (ir_parse_is_word(p, "same") && (id == IR_ATTR_LO || id == IR_ATTR_HI)) {
        a->n = -2;
    } else {
        if (!ir_parse_expect(p, TK_LBRACKET, "a list like [0,1]")) return false;
        if (ir_parse_accept(p, TK_RBRACKET)) return true;
        do {
            if (a->n == IR_MAX_RANK) {
                ir_parse_error(p, &p->tok, "'%s' has at most %d values", ir_attr_table[id].name, IR_MAX_RANK);
                return false;
            }
            if (!ir_parse_int(p, &a->v[a->n])) return false;
            a->n++;
        } while (ir_parse_accept(p, TK_COMMA));
        return ir_parse_expect(p, TK_RBRACKET, "',' or ']'");
    }
    ir_parse_advance(p);
    return true;
}

/* The value of attribute id, written as its kind says (docs/ir.md). */
bool ir_parse_attr_value(parser *p, ir_attr_id id, ir_attr *a) {
    ir_token t = p->tok;
    ir_dtype dt;
    switch (ir_attr_table[id].kind) {
    case IR_AK_INT: return ir_parse_int(p, &a->v[0]);
    case IR_AK_INTS: return parse_ints(p, id, a);
    case IR_AK_FLOAT: return ir_parse_float(p, &a->f);
    case IR_AK_BOOL:
        if (!ir_parse_is_word(p, "true") && !ir_parse_is_word(p, "false")) return ir_parse_expected(p, "true or false");
        a->v[0] = ir_parse_is_word(p, "true");
        break;
    case IR_AK_DTYPE:
        if (!lookup_dtype(p, &t, &dt)) return false;
        a->v[0] = dt;
        break;
    case IR_AK_PARAM:
        if (!ir_parse_param(p, &t, &a->v[0])) return false;
        break;
    }
    ir_parse_advance(p);
    return true;
}
