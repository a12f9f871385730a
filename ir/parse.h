/* parse.h — the IR text parser's private pieces, shared by its lexer (parse_lex.c), its token and
 * value helpers (parse_value.c) and its grammar (parse.c). The form is line-oriented (docs/ir.md):
 * each token knows whether it starts a line, which is where the parser recovers after an error. */
#ifndef TFC_IR_PARSE_H
#define TFC_IR_PARSE_H

#include "ir/ir.h"

/* Longest name, string or number the lexer accepts, in bytes. */
#define IR_LEX_MAX_TOKEN 4096

typedef enum {
    TK_EOF,
    TK_ERROR,     /* already reported by the lexer */
    TK_IDENT,     /* [A-Za-z_][A-Za-z0-9_.$]*: keywords, op, attribute and dtype names */
    TK_NUMBER,    /* unsigned: 12, 0.5, 1e-05 (checked when converted) */
    TK_STRING,    /* "..." with \" \\ \n \t \xHH; text is the decoded value */
    TK_LOCAL,     /* %3 or %x or %"any name": text is the name without the % */
    TK_GLOBAL,    /* @w1 or @"any name" */
    TK_LPAREN, TK_RPAREN, TK_LBRACKET, TK_RBRACKET, TK_LBRACE, TK_RBRACE,
    TK_COMMA, TK_COLON, TK_EQUALS, TK_ARROW, TK_MINUS, TK_PLUS,
} ir_tok_kind;

typedef struct ir_token {
    ir_tok_kind kind;
    int line, col;
    int end_line, end_col;   /* just past the token, for "expected X at end of line" */
    bool line_start;         /* first token on its line */
    bool quoted;             /* TK_LOCAL, TK_GLOBAL written with a string */
    const char *text;        /* NUL-terminated: copied, or decoded for strings */
    size_t len;
} ir_token;

typedef struct ir_lexer {
    ir_diag *d;
    int file;
    const char *p, *end;     /* the source text (d's copy of it, which stays put) */
    const char *line_begin;
    int line;
    bool at_line_start;
    int quiet_line;          /* a line that already holds an error: more errors there are noise */
    ir_arena *scratch;       /* token texts */
} ir_lexer;

/* ---- parse_lex.c ---- */
void ir_lex_init(ir_lexer *lx, ir_diag *d, int file, ir_arena *scratch);
/* The next token; reports a malformed one (TK_ERROR) and goes on after it. */
ir_token ir_lex_next(ir_lexer *lx);

/* ---- parse_value.c: tokens, errors, and the values that appear inside lines ---- */
typedef struct parser {
    ir_lexer lx;
    ir_token tok;            /* the current token */
    ir_token prev;           /* the one before it, whose end is where a line ran short */
    ir_diag *d;
    int file;
    int first_error;         /* d->errors when parsing began */
    ir_module *m;
    ir_arena *scratch;       /* freed when parsing ends */
} parser;

void ir_parse_advance(parser *p);
bool ir_parse_accept(parser *p, ir_tok_kind kind);
bool ir_parse_is_word(const parser *p, const char *word);
/* Each reports "expected WHAT" (at the end of the line when it ran short) and returns false. */
bool ir_parse_expected(parser *p, const char *what);
bool ir_parse_expect(parser *p, ir_tok_kind kind, const char *what);
bool ir_parse_expect_word(parser *p, const char *word);
/* Requires the current token to start a new line (or be the end). */
bool ir_parse_line_end(parser *p);
void ir_parse_skip_line(parser *p, int line);
bool ir_parse_too_many_errors(const parser *p);
/* An error at token t, unless its line already holds one. */
void ir_parse_error(parser *p, const ir_token *t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
ir_loc ir_parse_loc_of(const parser *p, const ir_token *t);
/* "'matmul'", "end of file": a token for messages (scratch memory). */
const char *ir_parse_describe(parser *p, const ir_token *t);
/* True when a TK_LOCAL is a node id (%3, not %x or %"3"); *id saturates far above INT_MAX. */
bool ir_parse_node_id(const ir_token *t, int64_t *id);
bool ir_parse_int(parser *p, int64_t *out);
bool ir_parse_float(parser *p, double *out);
bool ir_parse_type(parser *p, ir_type *t);
bool ir_parse_loc(parser *p, ir_loc *loc);
bool ir_parse_init(parser *p, ir_init *init);
/* The module parameter token t names (@w1); reports an unknown one with the closest name. */
bool ir_parse_param(parser *p, const ir_token *t, int64_t *index);
bool ir_parse_attr_value(parser *p, ir_attr_id id, ir_attr *a);

#endif
