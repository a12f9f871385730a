/* parse_lex.c — the lexer of the Graph IR text form: names, numbers, strings, punctuation and
 * `#` comments, each token with its line and column. Bytes it cannot place are reported (once per
 * line) and skipped, so any input, binary garbage included, becomes a finite token stream. */
#include "ir/parse.h"

#include <string.h>

void ir_lex_init(ir_lexer *lx, ir_diag *d, int file, ir_arena *scratch) {
    memset(lx, 0, sizeof *lx);
    const ir_source *s = &d->sources[file];
    lx->d = d;
    lx->file = file;
    lx->p = s->text;
    lx->end = s->text + s->len;
    lx->line_begin = lx->p;
    lx->line = 1;
    lx->at_line_start = true;
    lx->scratch = scratch;
}

/* ASCII only, so that the locale and signed chars cannot change what a name is. */
static bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_name_char(char c) { return is_name_start(c) || is_digit(c) || c == '.' || c == '$'; }

static int col_of(const ir_lexer *lx, const char *at) { return (int)(at - lx->line_begin) + 1; }

static void lex_error(ir_lexer *lx, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void lex_error(ir_lexer *lx, const char *at, const char *fmt, ...) {
    if (lx->quiet_line == lx->line) return;
    lx->quiet_line = lx->line;
    va_list ap;
    va_start(ap, fmt);
    ir_verror(lx->d, (ir_loc){lx->file, lx->line, col_of(lx, at)}, fmt, ap);
    va_end(ap);
}

static void skip_space(ir_lexer *lx) {
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == '\n') {
            lx->p++;
            lx->line++;
            lx->line_begin = lx->p;
            lx->at_line_start = true;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            lx->p++;
        } else if (c == '#') {
            while (lx->p < lx->end && *lx->p != '\n') lx->p++;
        } else {
            break;
        }
    }
}

static const char *copy_text(ir_lexer *lx, const char *s, size_t n) { return ir_strndup(lx->scratch, s, n); }

static int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes the body of a string (between its quotes, escapes already known to be paired) into out;
 * false after reporting the first bad escape or NUL byte. */
static bool decode_string(ir_lexer *lx, const char *s, const char *q, char *out, size_t *n_out) {
    size_t n = 0;
    for (; s < q; s++) {
        if (*s == '\0') {
            lex_error(lx, s, "NUL byte in a string");
            return false;
        }
        if (*s != '\\') {
            out[n++] = *s;
            continue;
        }
        char e = *++s;
        if (e == '"' || e == '\\') {
            out[n++] = e;
        } else if (e == 'n' || e == 't') {
            out[n++] = e == 'n' ? '\n' : '\t';
        } else if (e == 'x' && q - s > 2 && hex_value(s[1]) >= 0 && hex_value(s[2]) >= 0 &&
                   (s[1] != '0' || s[2] != '0')) {
            out[n++] = (char)(hex_value(s[1]) * 16 + hex_value(s[2]));
            s += 2;
        } else {
            lex_error(lx, s - 1, "unknown escape in a string (use \\\" \\\\ \\n \\t or \\xHH, not \\x00)");
            return false;
        }
    }
    out[n] = 0;
    *n_out = n;
    return true;
}

/* string = '"' { char | '\' escape } '"' on one line. lx->p is at the opening quote. */
static bool lex_string(ir_lexer *lx, ir_token *t) {
    const char *start = lx->p, *q = start + 1;
    while (q < lx->end && *q != '"' && *q != '\n') q += (*q == '\\' && q + 1 < lx->end && q[1] != '\n') ? 2 : 1;
    if (q >= lx->end || *q != '"') {
        lex_error(lx, start, "unterminated string (strings end on the line they start)");
        lx->p = q;
        return false;
    }
    lx->p = q + 1;
    size_t raw = (size_t)(q - start - 1);
    if (raw > IR_LEX_MAX_TOKEN) {
        lex_error(lx, start, "string longer than %d bytes", IR_LEX_MAX_TOKEN);
        return false;
    }
    char *out = ir_alloc(lx->scratch, raw + 1);
    if (!decode_string(lx, start + 1, q, out, &t->len)) return false;
    t->text = out;
    return true;
}

/* number = digits [ "." digits ] [ ("e"|"E") ["+"|"-"] digits ], checked by the parser; the lexer
 * takes the whole run of name characters so that "12ab" is one bad number, not two tokens. */
static void lex_number(ir_lexer *lx, ir_token *t) {
    const char *s = lx->p;
    while (lx->p < lx->end) {
        char c = *lx->p;
        bool sign = (c == '+' || c == '-') && (lx->p[-1] == 'e' || lx->p[-1] == 'E');
        if (!is_name_char(c) && !sign) break;
        lx->p++;
    }
    t->len = (size_t)(lx->p - s);
    t->text = copy_text(lx, s, t->len);
}

/* %name, @name: a run of name characters (digits first allowed: %3) or a quoted string. */
static bool lex_sigil_name(ir_lexer *lx, ir_token *t) {
    const char *sigil = lx->p++;
    if (lx->p < lx->end && *lx->p == '"') {
        t->quoted = true;
        return lex_string(lx, t);
    }
    const char *s = lx->p;
    while (lx->p < lx->end && is_name_char(*lx->p)) lx->p++;
    t->len = (size_t)(lx->p - s);
    if (t->len == 0) {
        lex_error(lx, sigil, "expected a name or a number after '%s'", *sigil == '%' ? "%" : "@");
        return false;
    }
    t->text = copy_text(lx, s, t->len);
    return true;
}

static ir_tok_kind punct_kind(char c) {
    switch (c) {
    case '(': return TK_LPAREN;
    case ')': return TK_RPAREN;
    case '[': return TK_LBRACKET;
    case ']': return TK_RBRACKET;
    case '{': return TK_LBRACE;
    case '}': return TK_RBRACE;
    case ',': return TK_COMMA;
    case ':': return TK_COLON;
    case '=': return TK_EQUALS;
    case '-': return TK_MINUS;
    case '+': return TK_PLUS;
    default: return TK_ERROR;
    }
}

/* Everything that is not a name, number, string or sigil: punctuation, or a run of stray bytes
 * reported as one error. */
static void lex_other(ir_lexer *lx, ir_token *t) {
    char c = *lx->p;
    if (c == '-' && lx->p + 1 < lx->end && lx->p[1] == '>') {
        lx->p += 2;
        t->kind = TK_ARROW;
        return;
    }
    t->kind = punct_kind(c);
    if (t->kind != TK_ERROR) {
        lx->p++;
        return;
    }
    char shown[8];
    unsigned char u = (unsigned char)c;
    snprintf(shown, sizeof shown, u > 0x20 && u < 0x7f ? "'%c'" : "0x%02x", u);
    lex_error(lx, lx->p, "unexpected character %s", shown);
    lx->p++;
    while (lx->p < lx->end && *lx->p != '\n' && punct_kind(*lx->p) == TK_ERROR && !is_name_char(*lx->p) &&
           *lx->p != '"' && *lx->p != '%' && *lx->p != '@' && *lx->p != ' ')
        lx->p++;
}

static ir_tok_kind lex_token(ir_lexer *lx, ir_token *t) {
    char c = *lx->p;
    if (is_name_start(c)) {
        const char *s = lx->p;
        while (lx->p < lx->end && is_name_char(*lx->p)) lx->p++;
        t->len = (size_t)(lx->p - s);
        t->text = copy_text(lx, s, t->len);
        return TK_IDENT;
    }
    if (is_digit(c) || (c == '.' && lx->p + 1 < lx->end && is_digit(lx->p[1]))) {
        lex_number(lx, t);
        return TK_NUMBER;
    }
    if (c == '"') return lex_string(lx, t) ? TK_STRING : TK_ERROR;
    if (c == '%' || c == '@') {
        ir_tok_kind kind = c == '%' ? TK_LOCAL : TK_GLOBAL;
        return lex_sigil_name(lx, t) ? kind : TK_ERROR;
    }
    lex_other(lx, t);
    return t->kind;
}

ir_token ir_lex_next(ir_lexer *lx) {
    skip_space(lx);
    ir_token t;
    memset(&t, 0, sizeof t);
    t.text = "";
    t.line = lx->line;
    t.col = col_of(lx, lx->p);
    t.line_start = lx->at_line_start;
    lx->at_line_start = false;
    if (lx->p >= lx->end) {
        t.kind = TK_EOF;
    } else {
        t.kind = lex_token(lx, &t);
        if (t.kind != TK_ERROR && t.len > IR_LEX_MAX_TOKEN) {
            lex_error(lx, lx->p - t.len, "token longer than %d bytes", IR_LEX_MAX_TOKEN);
            t.kind = TK_ERROR;
        }
    }
    t.end_line = lx->line;
    t.end_col = col_of(lx, lx->p);
    return t;
}
