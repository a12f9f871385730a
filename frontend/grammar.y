/* grammar.y — the .tg grammar (bison, LANGUAGE.md §3): a pure LALR(1) parser building the AST
 * of ast.h. Each rule carries its EBNF as a comment. Syntax errors read like clang's; `error`
 * rules at the module-item and statement levels let one run report several of them. */

%define api.pure full
%define api.prefix {fe_yy}
%define parse.error custom
%define parse.lac full
%locations
%parse-param {yyscan_t scanner} {fe_parser *p}
%lex-param {yyscan_t scanner}

%code requires {
#include "frontend/ast.h"
#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif
}

%code {
#include <string.h>

int fe_yylex(FE_YYSTYPE *lval, FE_YYLTYPE *lloc, yyscan_t scanner);
static void fe_yyerror(FE_YYLTYPE *loc, yyscan_t scanner, fe_parser *p, const char *msg);

static ir_loc L(const fe_parser *p, FE_YYLTYPE l) { return (ir_loc){p->file, l.first_line, l.first_column}; }

static fe_item *item_new(fe_parser *p, fe_item_kind kind, FE_YYLTYPE kw, const char *name, FE_YYLTYPE name_loc) {
    fe_item *it = ir_alloc(p->arena, sizeof *it);
    it->kind = kind;
    it->loc = L(p, kw);
    it->name = (fe_name){name, L(p, name_loc)};
    return it;
}

static fe_list list_of(fe_parser *p, void *first) {
    fe_list l = {0};
    fe_list_push(p->arena, &l, first);
    return l;
}

static fe_decl *decl_new(fe_parser *p, const char *name, FE_YYLTYPE loc, fe_type *type) {
    fe_decl *d = ir_alloc(p->arena, sizeof *d);
    d->name = (fe_name){name, L(p, loc)};
    d->type = type;
    return d;
}

static fe_expr *number(fe_parser *p, fe_expr_kind kind, FE_YYLTYPE loc, int64_t i, double f) {
    fe_expr *e = fe_expr_new(p, kind, L(p, loc));
    e->ival = i;
    e->fval = f;
    return e;
}
}

%union {
    int64_t ival;
    double fval;
    char *str;
    ir_dtype dtype;
    int binop;
    fe_expr *expr;
    fe_arg *arg;
    fe_list list;
    fe_stmt *stmt;
    fe_item *item;
    fe_type *type;
    fe_dim *dim;
    fe_decl *decl;
}

%token <ival> INT "an integer"
%token <fval> FLOAT "a number"
%token <str> IDENT "an identifier"
%token <str> STRING "a string"
%token <dtype> DTYPE "a dtype"
%token CONST "'const'" PARAM "'param'" FN "'fn'" GRAPH "'graph'" RETURN "'return'"
%token MINIMIZE "'minimize'" WITH "'with'" PARALLEL "'parallel'" SPLIT "'split'"
%token TRUE "'true'" FALSE "'false'"
%token ARROW "'->'" POW "'**'" EQ "'=='" NE "'!='" LE "'<='" GE "'>='"

%type <item> item const_item param_item fn_item graph_item parallel_item
%type <expr> number param_init param_split signed_int
%type <expr> expr cmp_chain add mul unary power primary call list
%type <type> type
%type <dim> dim
%type <list> dims dims_opt fn_params fn_param_list fn_stmts fn_return graph_args graph_arg_list outs stmts
%type <list> targets args args_opt exprs
%type <decl> graph_arg out
%type <stmt> stmt assign
%type <arg> arg
%type <binop> cmp_op

%start module

%%

/* module = { const | param | fn | graph | parallel } ; */
module
    : %empty
    | module item               { if ($2) fe_list_push(p->arena, &p->module.items, $2); }
    ;

item
    : const_item
    | param_item
    | fn_item
    | graph_item
    | parallel_item
    | error                     { $$ = NULL; }
    ;

/* const = "const" IDENT "=" [ "-" ] number ; */
const_item
    : CONST IDENT '=' number    {
        $$ = item_new(p, FE_I_CONST, @1, $2, @2);
        $$->is_float = $4->kind == FE_E_FLOAT;
        $$->ival = $4->ival;
        $$->fval = $4->fval;
        $$->value_loc = $4->loc;
    }
    | CONST IDENT '=' '-' number {
        $$ = item_new(p, FE_I_CONST, @1, $2, @2);
        $$->is_float = $5->kind == FE_E_FLOAT;
        $$->ival = -$5->ival;   /* INT lexes as 0..INT64_MAX, so this cannot overflow */
        $$->fval = -$5->fval;
        $$->value_loc = L(p, @4);
    }
    ;

number
    : INT                       { $$ = number(p, FE_E_INT, @1, $1, (double)$1); }
    | FLOAT                     { $$ = number(p, FE_E_FLOAT, @1, 0, $1); }
    ;

/* param = "param" IDENT ":" type [ "=" call ] [ "split" "(" "axis" "=" INT ")" ] ; */
param_item
    : PARAM IDENT ':' type param_init param_split {
        $$ = item_new(p, FE_I_PARAM, @1, $2, @2);
        $$->type = $4;
        $$->init = $5;
        if ($6) {
            $$->has_split = true;
            $$->split_axis = $6->ival;
            $$->split_loc = $6->loc;
        }
    }
    ;

param_init
    : %empty                    { $$ = NULL; }
    | '=' call                  { $$ = $2; }
    ;

param_split
    : %empty                    { $$ = NULL; }
    | SPLIT '(' IDENT '=' signed_int ')' {
        if (strcmp($3, "axis") != 0) ir_error(p->d, L(p, @3), "expected 'axis' in split(...), not '%s'", $3);
        $$ = $5;
    }
    ;

signed_int
    : INT                       { $$ = number(p, FE_E_INT, @1, $1, 0); }
    | '-' INT                   { $$ = number(p, FE_E_INT, @1, -$2, 0); }
    ;

/* fn = "fn" IDENT "(" [ IDENT { "," IDENT } ] ")" "{" { assign } "return" expr { "," expr } "}" ; */
fn_item
    : FN IDENT '(' fn_params ')' '{' fn_stmts fn_return '}' {
        $$ = item_new(p, FE_I_FN, @1, $2, @2);
        $$->params = (fe_decl **)$4.items;
        $$->n_params = $4.n;
        $$->body = (fe_stmt **)$7.items;
        $$->n_body = $7.n;
        $$->rets = (fe_expr **)$8.items;
        $$->n_rets = $8.n;
        $$->end_loc = L(p, @9);
    }
    ;

fn_params
    : %empty                    { $$ = (fe_list){0}; }
    | fn_param_list
    ;

fn_param_list
    : IDENT                     { $$ = list_of(p, decl_new(p, $1, @1, NULL)); }
    | fn_param_list ',' IDENT   { $$ = $1; fe_list_push(p->arena, &$$, decl_new(p, $3, @3, NULL)); }
    ;

fn_stmts
    : %empty                    { $$ = (fe_list){0}; }
    | fn_stmts assign           { $$ = $1; fe_list_push(p->arena, &$$, $2); }
    | fn_stmts error            { $$ = $1; }
    ;

fn_return
    : %empty                    { $$ = (fe_list){0}; }
    | RETURN exprs              { $$ = $2; }
    | RETURN error              { $$ = (fe_list){0}; fe_list_push(p->arena, &$$, fe_expr_new(p, FE_E_ERROR, L(p, @1))); }
    ;

/* graph = "graph" IDENT "(" [ arg { "," arg } ] ")" "->" "(" out { "," out } ")" "{" { stmt } "}" ; */
graph_item
    : GRAPH IDENT '(' graph_args ')' ARROW '(' outs ')' '{' stmts '}' {
        $$ = item_new(p, FE_I_GRAPH, @1, $2, @2);
        $$->params = (fe_decl **)$4.items;
        $$->n_params = $4.n;
        $$->outs = (fe_decl **)$8.items;
        $$->n_outs = $8.n;
        $$->body = (fe_stmt **)$11.items;
        $$->n_body = $11.n;
        $$->end_loc = L(p, @12);
    }
    ;

graph_args
    : %empty                    { $$ = (fe_list){0}; }
    | graph_arg_list
    ;

graph_arg_list
    : graph_arg                 { $$ = list_of(p, $1); }
    | graph_arg_list ',' graph_arg { $$ = $1; fe_list_push(p->arena, &$$, $3); }
    ;

/* arg = IDENT ":" type ; */
graph_arg
    : IDENT ':' type            { $$ = decl_new(p, $1, @1, $3); }
    ;

/* out = IDENT [ ":" type ] ; */
outs
    : out                       { $$ = list_of(p, $1); }
    | outs ',' out              { $$ = $1; fe_list_push(p->arena, &$$, $3); }
    ;

out
    : IDENT                     { $$ = decl_new(p, $1, @1, NULL); }
    | IDENT ':' type            { $$ = decl_new(p, $1, @1, $3); }
    ;

/* parallel = "parallel" IDENT "=" INT { "," IDENT "=" INT } ; */
parallel_item
    : PARALLEL parallel_list    { $$ = item_new(p, FE_I_PARALLEL, @1, "parallel", @1); }
    ;

parallel_list
    : IDENT '=' INT
    | parallel_list ',' IDENT '=' INT
    ;

/* type = dtype "[" [ dim { "," dim } ] "]" ; */
type
    : DTYPE '[' dims_opt ']'    {
        $$ = ir_alloc(p->arena, sizeof *$$);
        $$->dtype = $1;
        $$->loc = L(p, @1);
        $$->dims = (fe_dim **)$3.items;
        $$->n_dims = $3.n;
    }
    ;

dims_opt
    : %empty                    { $$ = (fe_list){0}; }
    | dims
    ;

dims
    : dim                       { $$ = list_of(p, $1); }
    | dims ',' dim              { $$ = $1; fe_list_push(p->arena, &$$, $3); }
    ;

/* dim = INT | IDENT ; */
dim
    : INT                       { $$ = ir_alloc(p->arena, sizeof *$$); $$->value = $1; $$->loc = L(p, @1); }
    | IDENT                     { $$ = ir_alloc(p->arena, sizeof *$$); $$->name = $1; $$->loc = L(p, @1); }
    ;

/* { stmt } */
stmts
    : %empty                    { $$ = (fe_list){0}; }
    | stmts stmt                { $$ = $1; if ($2) fe_list_push(p->arena, &$$, $2); }
    ;

/* stmt = assign | "minimize" IDENT "with" call ; */
stmt
    : assign
    | MINIMIZE IDENT WITH call  {
        $$ = ir_alloc(p->arena, sizeof *$$);
        $$->kind = FE_S_MINIMIZE;
        $$->loc = L(p, @1);
        fe_list t = list_of(p, fe_name_new(p, $2, L(p, @2)));
        $$->targets = (fe_name **)t.items;
        $$->n_targets = 1;
        $$->value = $4;
    }
    | RETURN exprs              {
        ir_error(p->d, L(p, @1), "'return' is only allowed in a fn; a graph binds its outputs by name");
        $$ = NULL;
    }
    | error                     { $$ = NULL; }
    ;

/* assign = IDENT { "," IDENT } "=" expr ; */
assign
    : targets '=' expr          {
        $$ = ir_alloc(p->arena, sizeof *$$);
        $$->kind = FE_S_ASSIGN;
        $$->loc = L(p, @2);
        $$->targets = (fe_name **)$1.items;
        $$->n_targets = $1.n;
        $$->value = $3;
    }
    ;

targets
    : IDENT                     { $$ = list_of(p, fe_name_new(p, $1, L(p, @1))); }
    | targets ',' IDENT         { $$ = $1; fe_list_push(p->arena, &$$, fe_name_new(p, $3, L(p, @3))); }
    ;

/* expr = cmp ;  cmp = add [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) add ] ; */
expr
    : add
    | cmp_chain
    ;

cmp_chain
    : add cmp_op add            { $$ = fe_expr_binary(p, (fe_binop)$2, L(p, @2), $1, $3); }
    | cmp_chain cmp_op add      {
        ir_error(p->d, L(p, @2), "comparison operators cannot be chained; use parentheses");
        $$ = $1;
    }
    ;

cmp_op
    : EQ                        { $$ = FE_EQ; }
    | NE                        { $$ = FE_NE; }
    | '<'                       { $$ = FE_LT; }
    | LE                        { $$ = FE_LE; }
    | '>'                       { $$ = FE_GT; }
    | GE                        { $$ = FE_GE; }
    ;

/* add = mul { ( "+" | "-" ) mul } ; */
add
    : mul
    | add '+' mul               { $$ = fe_expr_binary(p, FE_ADD, L(p, @2), $1, $3); }
    | add '-' mul               { $$ = fe_expr_binary(p, FE_SUB, L(p, @2), $1, $3); }
    ;

/* mul = unary { ( "*" | "/" | "@" ) unary } ; */
mul
    : unary
    | mul '*' unary             { $$ = fe_expr_binary(p, FE_MUL, L(p, @2), $1, $3); }
    | mul '/' unary             { $$ = fe_expr_binary(p, FE_DIV, L(p, @2), $1, $3); }
    | mul '@' unary             { $$ = fe_expr_binary(p, FE_MATMUL, L(p, @2), $1, $3); }
    ;

/* unary = "-" unary | power ; */
unary
    : '-' unary                 { $$ = fe_expr_neg(p, L(p, @1), $2); }
    | power
    ;

/* power = postfix [ "**" unary ] ;  postfix = primary ; */
power
    : primary
    | primary POW unary         { $$ = fe_expr_binary(p, FE_POW, L(p, @2), $1, $3); }
    ;

/* primary = number | string | "true" | "false" | IDENT | call | list | "(" expr ")" ;
 * (and a dtype name, as in cast(x, f32)) */
primary
    : INT                       { $$ = number(p, FE_E_INT, @1, $1, (double)$1); }
    | FLOAT                     { $$ = number(p, FE_E_FLOAT, @1, 0, $1); }
    | STRING                    { $$ = fe_expr_new(p, FE_E_STRING, L(p, @1)); $$->str = $1; }
    | TRUE                      { $$ = fe_expr_new(p, FE_E_BOOL, L(p, @1)); $$->ival = 1; }
    | FALSE                     { $$ = fe_expr_new(p, FE_E_BOOL, L(p, @1)); }
    | DTYPE                     { $$ = fe_expr_new(p, FE_E_DTYPE, L(p, @1)); $$->dtype = $1; }
    | IDENT                     { $$ = fe_expr_new(p, FE_E_NAME, L(p, @1)); $$->str = $1; }
    | call
    | list
    | '(' expr ')'              { $$ = $2; }
    ;

/* call = IDENT "(" [ argument { "," argument } ] ")" ;  (a trailing comma is allowed) */
call
    : IDENT '(' args_opt ')'    { $$ = fe_expr_call(p, $1, L(p, @1), &$3); }
    ;

args_opt
    : %empty                    { $$ = (fe_list){0}; }
    | args
    | args ','
    ;

args
    : arg                       { $$ = list_of(p, $1); }
    | args ',' arg              { $$ = $1; fe_list_push(p->arena, &$$, $3); }
    ;

/* argument = expr | IDENT "=" expr ; */
arg
    : expr                      { $$ = ir_alloc(p->arena, sizeof *$$); $$->value = $1; }
    | IDENT '=' expr            {
        $$ = ir_alloc(p->arena, sizeof *$$);
        $$->name = $1;
        $$->name_loc = L(p, @1);
        $$->value = $3;
    }
    ;

/* list = "[" [ expr { "," expr } ] "]" ;  (a trailing comma is allowed) */
list
    : '[' ']'                   { fe_list none = {0}; $$ = fe_expr_list(p, L(p, @1), &none); }
    | '[' exprs ']'             { $$ = fe_expr_list(p, L(p, @1), &$2); }
    | '[' exprs ',' ']'         { $$ = fe_expr_list(p, L(p, @1), &$2); }
    ;

exprs
    : expr                      { $$ = list_of(p, $1); }
    | exprs ',' expr            { $$ = $1; fe_list_push(p->arena, &$$, $3); }
    ;

%%

/* Bison only calls this for its own failures; stack exhaustion means deep nesting. */
static void fe_yyerror(FE_YYLTYPE *loc, yyscan_t scanner, fe_parser *p, const char *msg) {
    (void)scanner;
    if (p->stop) return;
    if (strcmp(msg, "memory exhausted") == 0)
        ir_error(p->d, L(p, *loc), "expression nested too deeply");
    else
        ir_error(p->d, L(p, *loc), "%s", msg);
    p->stop = true;
}

/* Expected tokens are grouped the way a reader thinks of them: one "expression" for every
 * token that can start one, one "statement", one "declaration"; operators that could merely
 * continue the expression before the error are left out, and so are ',' and a keyword
 * argument's '=' when a closing bracket is also possible (clang says "expected ')'" there). */
static yysymbol_kind_t char_symbol(int c) { return YYTRANSLATE(c); }

enum { GROUP_EXPR = 1, GROUP_STMT = 2, GROUP_DECL = 4 };

static bool in_set(const yysymbol_kind_t *set, int n, yysymbol_kind_t s) {
    for (int i = 0; i < n; i++)
        if (set[i] == s) return true;
    return false;
}

static int token_group(yysymbol_kind_t s, const yysymbol_kind_t *set, int n) {
    bool expr = in_set(set, n, YYSYMBOL_INT), stmt = in_set(set, n, YYSYMBOL_MINIMIZE);
    bool decl = in_set(set, n, YYSYMBOL_CONST);
    switch (s) {
    case YYSYMBOL_IDENT: return stmt ? GROUP_STMT : expr ? GROUP_EXPR : 0;
    case YYSYMBOL_INT: case YYSYMBOL_FLOAT: case YYSYMBOL_STRING: case YYSYMBOL_DTYPE:
    case YYSYMBOL_TRUE: case YYSYMBOL_FALSE: return expr ? GROUP_EXPR : -1;
    case YYSYMBOL_MINIMIZE: case YYSYMBOL_RETURN: return GROUP_STMT;
    case YYSYMBOL_CONST: case YYSYMBOL_PARAM: case YYSYMBOL_FN: case YYSYMBOL_GRAPH: case YYSYMBOL_PARALLEL:
        return GROUP_DECL;
    case YYSYMBOL_YYEOF: return decl ? -1 : 0;
    case YYSYMBOL_POW: case YYSYMBOL_EQ: case YYSYMBOL_NE: case YYSYMBOL_LE: case YYSYMBOL_GE: return -1;
    default: break;
    }
    static const char operators[] = "+*/@<>";
    for (const char *c = operators; *c; c++)
        if (s == char_symbol(*c)) return -1;
    if (s == char_symbol('-') || s == char_symbol('(') || s == char_symbol('[')) return expr ? GROUP_EXPR : -1;
    bool closer = in_set(set, n, char_symbol(')')) || in_set(set, n, char_symbol(']'));
    if (s == char_symbol('=') && closer) return -1;   /* only a keyword argument would continue */
    if (s == char_symbol(',') && (closer || in_set(set, n, char_symbol('=')))) return -1;
    return 0;
}

/* The expected items as names; returns how many (at most `max`, or max + 1 when more). */
static int expected_names(const yypcontext_t *ctx, const char **names, int max) {
    yysymbol_kind_t set[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, set, YYNTOKENS);
    if (n < 0) n = 0;
    int count = 0, groups = 0;
    for (int i = 0; i < n && count <= max; i++) {
        int g = token_group(set[i], set, n);
        if (g < 0 || (g > 0 && (groups & g))) continue;
        groups |= g > 0 ? g : 0;
        names[count++] = g == GROUP_EXPR ? "an expression" : g == GROUP_STMT ? "a statement"
                       : g == GROUP_DECL ? "a declaration" : yysymbol_name(set[i]);
    }
    return count;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, fe_parser *p) {
    (void)scanner;
    if (fe_parser_gave_up(p)) return 0;
    ir_loc loc = L(p, *yypcontext_location(ctx));
    /* A token the scanner skipped usually breaks the syntax of its line: that error is enough. */
    if (loc.line == p->lex_error_line) return 0;
    char got[64];
    if (yypcontext_token(ctx) == YYSYMBOL_YYEOF)
        snprintf(got, sizeof got, "end of file");
    else
        snprintf(got, sizeof got, "'%s'", p->tok_text);
    enum { MAX_NAMES = 4 };
    const char *names[MAX_NAMES + 1];
    int n = expected_names(ctx, names, MAX_NAMES);
    if (n == 1 && names[0][0] == '\'') {
        bool eof = yypcontext_token(ctx) == YYSYMBOL_YYEOF;
        ir_error(p->d, loc, "expected %s %s%s", names[0], eof ? "at " : "before ", got);
    } else if (n >= 1 && n <= MAX_NAMES) {
        char list[256] = "";
        for (int i = 0; i < n; i++) {
            const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";
            strncat(list, sep, sizeof list - strlen(list) - 1);
            strncat(list, names[i], sizeof list - strlen(list) - 1);
        }
        ir_error(p->d, loc, "unexpected %s, expected %s", got, list);
    } else {
        ir_error(p->d, loc, "unexpected %s", got);
    }
    return 0;
}
