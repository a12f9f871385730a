/* parse.c — the parser of the Graph IR text form (docs/ir.md): recursive descent over the tokens
 * of parse_lex.c that rebuilds the module (fusion groups, memory placements, optimizer state,
 * minimize lines and parameter updates included) through the ir_module_ and ir_graph_ API and
 * re-runs shape inference on every node, so a hand-written file is checked like a lowered one.
 * Errors point at the text; recovery is at the next line. */
#include "ir/parse.h"

#include <stdlib.h>
#include <string.h>

enum {
    MAX_OPERANDS = 1 << 16,
    MAX_ID_GAP = 1024,      /* a skipped id is filled with placeholders up to this many */
};

/* Largest arena offset accepted: far above any real plan, low enough that offset + size fits. */
#define MAX_ARENA_OFFSET ((int64_t)1 << 52)

/* Per graph: which nodes failed (their users are skipped without more errors), the output
 * names of the header, which `return` must bind in order, and the kernel block being read. */
typedef struct graph_state {
    ir_graph *g;
    bool *bad;
    int cap_bad;
    const char **outs;
    int n_outs;
    bool returned;
    bool minimized;           /* a minimize line was read: only `return` may follow */
    int *input_node;          /* the input() node of each graph input so far, -1: none */
    bool in_kernel;           /* between `kernel @name (kind) {` and its `}` */
    int kernel;               /* its group index; -1 when its header was bad */
    int kernel_lines;         /* node lines in it so far */
    ir_token kernel_tok;      /* its `kernel` word, where an empty block is reported */
    const char *kernel_name;
} graph_state;

/* A node line as written, before it becomes a node. */
typedef struct node_text {
    ir_token id_tok, op_tok, type_tok;
    ir_op op;
    int *in;
    int n_in;
    ir_attr attr[IR_ATTR_COUNT];
    ir_type type;
    bool placed;              /* a placement was written: the graph is planned */
    int64_t offset;
    ir_loc loc;
} node_text;

/* ---- graphs ------------------------------------------------------------------------------- */

/* Records a new node; inside a kernel block it joins that block's group. */
static void push_node(parser *p, graph_state *gs, ir_node *n, bool bad) {
    if (gs->in_kernel && gs->kernel >= 0) n->group = gs->kernel;
    if (n->id >= gs->cap_bad) {
        int cap = gs->cap_bad ? 2 * gs->cap_bad : 64;
        gs->bad = ir_grow(p->scratch, gs->bad, sizeof *gs->bad, (size_t)gs->cap_bad, (size_t)cap);
        gs->cap_bad = cap;
    }
    gs->bad[n->id] = bad;
}

/* A stand-in for a node whose line failed, so that later ids stay consecutive. */
static void add_placeholder(parser *p, graph_state *gs) {
    push_node(p, gs, ir_graph_add_node(gs->g, IR_OP_CONSTANT, NULL, 0, IR_NO_LOC), true);
}

/* Node ids are consecutive from %0. A gap is reported once and filled with placeholders so that
 * the rest of the graph keeps the numbering its author meant. */
static bool check_node_id(parser *p, graph_state *gs, const ir_token *t, int64_t id) {
    int want = gs->g->n_nodes;
    if (id == want) return true;
    if (id < want) {
        ir_parse_error(p, t, "node %%%s is already defined (ids are consecutive from %%0; this one should be %%%d)",
                       t->text, want);
        return false;
    }
    ir_parse_error(p, t, "expected node %%%d here, got %%%s (ids are consecutive from %%0)", want, t->text);
    if (id - want > MAX_ID_GAP) return false;
    while (gs->g->n_nodes < id) add_placeholder(p, gs);
    return true;
}

/* operands = "(" [ LOCAL { "," LOCAL } ] ")" */
static bool parse_operands(parser *p, graph_state *gs, node_text *nt) {
    if (!ir_parse_expect(p, TK_LPAREN, "'('")) return false;
    if (ir_parse_accept(p, TK_RPAREN)) return true;
    int cap = 0;
    do {
        ir_token t = p->tok;
        int64_t id;
        if (t.kind != TK_LOCAL) return ir_parse_expected(p, "an operand like %2");
        if (!ir_parse_node_id(&t, &id)) {
            ir_parse_error(p, &t, "operands are node ids like %%2; read graph input %%%s with an input() node",
                           t.text);
            return false;
        }
        if (id >= gs->g->n_nodes) {
            ir_parse_error(p, &t, "operand %%%s is not defined before node %%%d", t.text, gs->g->n_nodes);
            return false;
        }
        if (nt->n_in == MAX_OPERANDS) {
            ir_parse_error(p, &t, "more than %d operands", MAX_OPERANDS);
            return false;
        }
        if (nt->n_in == cap) {
            int grown = cap ? 2 * cap : 8;
            nt->in = ir_grow(p->scratch, nt->in, sizeof *nt->in, (size_t)cap, (size_t)grown);
            cap = grown;
        }
        nt->in[nt->n_in++] = (int)id;
        ir_parse_advance(p);
    } while (ir_parse_accept(p, TK_COMMA));
    return ir_parse_expect(p, TK_RPAREN, "',' or ')'");
}

/* "axes, keepdims": the attributes of an op, for messages. */
static const char *attr_list(parser *p, unsigned mask) {
    char *s = ir_alloc(p->scratch, 16 * IR_ATTR_COUNT);
    size_t used = 0;
    for (int a = 0; a < IR_ATTR_COUNT; a++)
        if (mask & (1u << a)) used += (size_t)sprintf(s + used, "%s%s", used ? ", " : "", ir_attr_table[a].name);
    return s;
}

/* The attribute named by token t, which op must carry. */
static bool lookup_attr(parser *p, const ir_token *t, ir_op op, ir_attr_id *out) {
    unsigned mask = ir_op_table[op].attrs;
    if (ir_attr_lookup(t->text, out) && (mask & (1u << *out))) return true;
    const char *names[IR_ATTR_COUNT] = {0};
    for (int a = 0; a < IR_ATTR_COUNT; a++)
        if (mask & (1u << a)) names[a] = ir_attr_table[a].name;
    const char *close = ir_closest(t->text, names, IR_ATTR_COUNT);
    if (close)
        ir_parse_error(p, t, "%s has no attribute '%s'; did you mean '%s'?", ir_op_name(op), t->text, close);
    else if (mask)
        ir_parse_error(p, t, "%s has no attribute '%s' (its attributes: %s)", ir_op_name(op), t->text,
                       attr_list(p, mask));
    else
        ir_parse_error(p, t, "%s has no attributes", ir_op_name(op));
    return false;
}

/* attrs = "[" IDENT "=" value { "," IDENT "=" value } "]"; attributes of the op, each at most
 * once. A missing one is all zero (the printer leaves out empty lists: matmul's perm_a=[]). */
static bool parse_attrs(parser *p, node_text *nt) {
    unsigned seen = 0;
    if (ir_parse_accept(p, TK_LBRACKET)) {
        do {
            ir_token t = p->tok;
            ir_attr_id a;
            if (t.kind != TK_IDENT) return ir_parse_expected(p, "an attribute name");
            if (!lookup_attr(p, &t, nt->op, &a)) return false;
            if (seen & (1u << a)) {
                ir_parse_error(p, &t, "attribute '%s' is given twice", t.text);
                return false;
            }
            seen |= 1u << a;
            ir_parse_advance(p);
            if (!ir_parse_expect(p, TK_EQUALS, "'='")) return false;
            if (!ir_parse_attr_value(p, a, &nt->attr[a])) return false;
        } while (ir_parse_accept(p, TK_COMMA));
        if (!ir_parse_expect(p, TK_RBRACKET, "',' or ']'")) return false;
    }
    return true;
}

static bool lookup_op(parser *p, const ir_token *t, ir_op *op) {
    if (t->kind != TK_IDENT) return ir_parse_expected(p, "an op name");
    *op = ir_op_lookup(t->text);
    if (*op != IR_OP_COUNT) return true;
    const char *names[IR_OP_COUNT];
    for (int i = 0; i < IR_OP_COUNT; i++) names[i] = ir_op_table[i].name;
    const char *close = ir_closest(t->text, names, IR_OP_COUNT);
    if (close)
        ir_parse_error(p, t, "unknown op '%s'; did you mean '%s'?", t->text, close);
    else
        ir_parse_error(p, t, "unknown op '%s'", t->text);
    return false;
}

/* placement = "@arena" "+" INT | "@external" | "@alias"  (written by the memory plan) */
static bool parse_placement(parser *p, node_text *nt) {
    ir_token t = p->tok;
    ir_parse_advance(p);
    nt->placed = true;
    if (strcmp(t.text, "external") == 0 || strcmp(t.text, "alias") == 0) {
        nt->offset = t.text[0] == 'e' ? IR_EXTERNAL : IR_ALIAS;
        return true;
    }
    if (strcmp(t.text, "arena") != 0) {
        const char *names[] = {"arena", "external", "alias"};
        const char *close = ir_closest(t.text, names, 3);
        if (close)
            ir_parse_error(p, &t, "unknown placement '@%s'; did you mean '@%s'?", t.text, close);
        else
            ir_parse_error(p, &t, "unknown placement '@%s' (expected @arena+OFFSET, @external or @alias)", t.text);
        return false;
    }
    if (!ir_parse_expect(p, TK_PLUS, "'+' and a byte offset, like @arena+4096")) return false;
    ir_token at = p->tok;
    if (at.kind != TK_NUMBER) return ir_parse_expected(p, "a byte offset, like @arena+4096");
    if (!ir_parse_int(p, &nt->offset)) return false;
    if (nt->offset > MAX_ARENA_OFFSET) {
        ir_parse_error(p, &at, "arena offset %s is too large (at most 2^52)", at.text);
        return false;
    }
    return true;
}

/* node = LOCAL "=" IDENT operands [ attrs ] ":" type [ placement ] [ loc ]  (the id already checked) */
static bool parse_node_rest(parser *p, graph_state *gs, node_text *nt) {
    if (!ir_parse_expect(p, TK_EQUALS, "'='")) return false;
    nt->op_tok = p->tok;
    if (!lookup_op(p, &nt->op_tok, &nt->op)) return false;
    ir_parse_advance(p);
    if (!parse_operands(p, gs, nt) || !parse_attrs(p, nt)) return false;
    if (!ir_parse_expect(p, TK_COLON, "':' and the node's type")) return false;
    nt->type_tok = p->tok;
    if (!ir_parse_type(p, &nt->type)) return false;
    if (p->tok.kind == TK_GLOBAL && !p->tok.line_start && !parse_placement(p, nt)) return false;
    nt->loc = IR_NO_LOC;
    if (ir_parse_is_word(p, "loc") && !ir_parse_loc(p, &nt->loc)) return false;
    return ir_parse_line_end(p);
}

/* Adds a parsed node and infers its type, reporting at the op name in the text (the node keeps
 * the location it was written with). A node that uses a failed node is skipped silently. */
/* One input() node per graph input (the verifier's rule): a second one is an error here, at
 * the text. Its index is already checked by inference. */
static bool check_input_once(parser *p, graph_state *gs, const node_text *nt, const ir_node *n) {
    if (n->op != IR_OP_INPUT) return true;
    if (!gs->input_node) {
        gs->input_node = ir_alloc(p->scratch, sizeof *gs->input_node * ((size_t)gs->g->n_inputs + 1));
        for (int i = 0; i < gs->g->n_inputs; i++) gs->input_node[i] = -1;
    }
    int64_t i = n->attr[IR_ATTR_INDEX].v[0];
    if (gs->input_node[i] < 0) {
        gs->input_node[i] = n->id;
        return true;
    }
    ir_parse_error(p, &nt->op_tok, "graph input %%%s is already read by node %%%d (one input() node per input)",
                   gs->g->input_names[i], gs->input_node[i]);
    return false;
}

static void add_node(parser *p, graph_state *gs, const node_text *nt) {
    ir_node *n = ir_graph_add_node(gs->g, nt->op, nt->in, nt->n_in, nt->loc);
    memcpy(n->attr, nt->attr, sizeof n->attr);
    if (nt->placed) {
        n->offset = nt->offset;
        gs->g->planned = true;
    }
    bool bad = false;
    for (int i = 0; i < n->n_in; i++) bad = bad || gs->bad[n->in[i]];
    push_node(p, gs, n, bad);
    if (bad) return;
    n->loc = ir_parse_loc_of(p, &nt->op_tok);
    int errors = p->d->errors;
    bool ok = ir_infer(gs->g, n, p->d);
    n->loc = nt->loc;
    if (!ok || p->d->errors > errors) {
        gs->bad[n->id] = true;
        p->lx.quiet_line = nt->op_tok.line;
        return;
    }
    if (ir_type_equal(&n->type, &nt->type)) {
        if (!check_input_once(p, gs, nt, n)) gs->bad[n->id] = true;
        return;
    }
    gs->bad[n->id] = true;
    if (n->n_in > 0)
        ir_parse_error(p, &nt->type_tok, "declared type %s but the operands give %s", ir_type_text(&nt->type).s,
                       ir_type_text(&n->type).s);
    else
        ir_parse_error(p, &nt->type_tok, "declared type %s but this %s node is %s", ir_type_text(&nt->type).s,
                       ir_op_name(n->op), ir_type_text(&n->type).s);
}

static bool parse_node(parser *p, graph_state *gs) {
    node_text nt;
    memset(&nt, 0, sizeof nt);
    nt.id_tok = p->tok;
    int64_t id;
    if (!ir_parse_node_id(&nt.id_tok, &id)) {
        ir_parse_error(p, &nt.id_tok, "expected a node id like %%3, got %%%s", nt.id_tok.text);
        return false;
    }
    ir_parse_advance(p);
    if (!check_node_id(p, gs, &nt.id_tok, id)) return false;
    if (!parse_node_rest(p, gs, &nt)) {
        add_placeholder(p, gs);
        return false;
    }
    add_node(p, gs, &nt);
    return true;
}

/* An output name: a bare name or a string. */
static bool parse_out_name(parser *p, const char **name) {
    if (p->tok.kind != TK_IDENT && p->tok.kind != TK_STRING) return ir_parse_expected(p, "an output name");
    *name = p->tok.text;
    ir_parse_advance(p);
    return true;
}

/* One `name = %id` of a return; k is its position. */
static bool parse_binding(parser *p, graph_state *gs, int k) {
    ir_token nt = p->tok;
    const char *name = NULL;
    if (!parse_out_name(p, &name)) return false;
    if (k >= gs->n_outs) {
        ir_parse_error(p, &nt, "graph @%s has %d output%s; '%s' is not one of them", gs->g->name, gs->n_outs,
                       gs->n_outs == 1 ? "" : "s", name);
        return false;
    }
    if (strcmp(name, gs->outs[k]) != 0) {
        ir_parse_error(p, &nt, "output %d of graph @%s is '%s', but return binds '%s' here", k, gs->g->name,
                       gs->outs[k], name);
        return false;
    }
    if (!ir_parse_expect(p, TK_EQUALS, "'='")) return false;
    ir_token vt = p->tok;
    int64_t id;
    if (vt.kind != TK_LOCAL) return ir_parse_expected(p, "a node id like %3");
    if (!ir_parse_node_id(&vt, &id) || id >= gs->g->n_nodes) {
        ir_parse_error(p, &vt, "output '%s' refers to %%%s, which is not a node of graph @%s", name, vt.text,
                       gs->g->name);
        return false;
    }
    ir_parse_advance(p);
    ir_graph_add_output(gs->g, name, (int)id);
    return true;
}

/* The node id token t names as the value of `what` (an output, an update, the loss): a node of
 * the graph. A node whose own line failed gives false without another error. */
static bool parse_value_node(parser *p, graph_state *gs, const char *what, int *id) {
    ir_token t = p->tok;
    int64_t v;
    if (t.kind != TK_LOCAL) return ir_parse_expected(p, "a node id like %3");
    if (!ir_parse_node_id(&t, &v) || v >= gs->g->n_nodes) {
        ir_parse_error(p, &t, "%s refers to %%%s, which is not a node of graph @%s", what, t.text, gs->g->name);
        return false;
    }
    ir_parse_advance(p);
    *id = (int)v;
    return !gs->bad[v];
}

/* One `@PARAM = %id` of a return: the parameter's new value, of its type, once per parameter. */
static bool parse_update(parser *p, graph_state *gs) {
    ir_token pt = p->tok;
    int64_t param;
    if (!ir_parse_param(p, &pt, &param)) return false;
    ir_graph *g = gs->g;
    const ir_param *pp = &p->m->params[param];
    for (int k = 0; k < g->n_updates; k++) {
        if (g->update_params[k] == param) {
            ir_parse_error(p, &pt, "parameter @%s is updated twice in graph @%s", pp->name, g->name);
            return false;
        }
    }
    /* An update is an output named after its parameter: output names are unique. */
    for (int k = 0; k < ir_graph_n_results(g); k++) {
        if (strcmp(g->output_names[k], pp->name) == 0) {
            ir_parse_error(p, &pt, "the update of @%s has the name of output '%s' of graph @%s", pp->name,
                           g->output_names[k], g->name);
            return false;
        }
    }
    ir_parse_advance(p);
    char what[64];
    snprintf(what, sizeof what, "the update of @%.40s", pp->name);
    ir_token vt = p->tok;
    int id;
    if (!ir_parse_expect(p, TK_EQUALS, "'='") || !parse_value_node(p, gs, what, &id)) return false;
    const ir_type *t = &g->nodes[id]->type;
    if (!ir_type_equal(t, &pp->type)) {
        ir_parse_error(p, &vt, "%s is %s, but the parameter is %s", what, ir_type_text(t).s, ir_type_text(&pp->type).s);
        return false;
    }
    ir_graph_add_update(g, (int)param, id);
    return true;
}

/* return = "return" [ binding { "," binding } ]: every output in order, then the updates
 *   binding = name "=" LOCAL | GLOBAL "=" LOCAL (an update of that parameter) */
static bool parse_return(parser *p, graph_state *gs) {
    ir_token kw = p->tok;
    ir_parse_advance(p);
    gs->returned = true;
    int k = 0;
    if (!p->tok.line_start && p->tok.kind != TK_EOF) {
        do {
            if (p->tok.kind != TK_GLOBAL) {
                if (!parse_binding(p, gs, k)) return false;
                k++;
            } else if (k < gs->n_outs) {
                ir_parse_error(p, &p->tok, "the update @%s comes before output '%s' of graph @%s (the outputs are "
                               "bound first, then the updates)", p->tok.text, gs->outs[k], gs->g->name);
                return false;
            } else if (!parse_update(p, gs)) {
                return false;
            }
        } while (ir_parse_accept(p, TK_COMMA));
    }
    if (k < gs->n_outs) {
        ir_parse_error(p, &kw, "return binds %d of the %d outputs of graph @%s; '%s' is missing", k, gs->n_outs,
                       gs->g->name, gs->outs[k]);
        return false;
    }
    return ir_parse_line_end(p);
}

/* ---- the minimize line ----------------------------------------------------------------------- */

/* OPTIMIZER = "sgd" | "adam" */
static bool parse_optimizer(parser *p, ir_optim_kind *kind) {
    ir_token t = p->tok;
    if (t.kind != TK_IDENT) return ir_parse_expected(p, "an optimizer (sgd or adam)");
    if (!ir_optim_lookup(t.text, kind)) {
        const char *names[IR_OPTIM_COUNT];
        for (int k = 0; k < IR_OPTIM_COUNT; k++) names[k] = ir_optim_name((ir_optim_kind)k);
        const char *close = ir_closest(t.text, names, IR_OPTIM_COUNT);
        if (close)
            ir_parse_error(p, &t, "unknown optimizer '%s'; did you mean '%s'?", t.text, close);
        else
            ir_parse_error(p, &t, "unknown optimizer '%s' (expected sgd or adam)", t.text);
        return false;
    }
    ir_parse_advance(p);
    return true;
}

/* The hyperparameter of the optimizer that token t names (an index in ir_hyper_table). */
static bool lookup_hyper(parser *p, const ir_token *t, ir_optim_kind kind, int *index) {
    const char *names[IR_N_HYPERS] = {0};
    char list[128] = "";
    for (int i = 0; i < IR_N_HYPERS; i++) {
        const ir_hyper_info *h = &ir_hyper_table[i];
        if (!(h->optims & (1u << kind))) continue;
        names[i] = h->name;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? ", " : "", h->name);
        if (t->kind == TK_IDENT && strcmp(t->text, h->name) == 0) {
            *index = i;
            return true;
        }
    }
    if (t->kind != TK_IDENT) return ir_parse_expected(p, "a hyperparameter like lr=0.1");
    const char *close = ir_closest(t->text, names, IR_N_HYPERS);
    if (close)
        ir_parse_error(p, t, "%s has no hyperparameter '%s'; did you mean '%s'?", ir_optim_name(kind), t->text, close);
    else
        ir_parse_error(p, t, "%s has no hyperparameter '%s' (its hyperparameters: %s)", ir_optim_name(kind), t->text,
                       list);
    return false;
}

/* hypers = "(" NAME "=" float { "," NAME "=" float } ")": each of the optimizer's at most once,
 * in any order, in its range; a missing one takes the language's default, except lr. */
static bool parse_hypers(parser *p, ir_minimize *mz) {
    bool seen[IR_N_HYPERS] = {false};
    if (!ir_parse_expect(p, TK_LPAREN, "'(' and the hyperparameters")) return false;
    do {
        ir_token t = p->tok;
        int i = 0;
        if (!lookup_hyper(p, &t, mz->kind, &i)) return false;
        const ir_hyper_info *h = &ir_hyper_table[i];
        if (seen[i]) {
            ir_parse_error(p, &t, "hyperparameter '%s' is given twice", h->name);
            return false;
        }
        seen[i] = true;
        ir_parse_advance(p);
        ir_token vt = p->tok;
        double *v = ir_hyper_field(mz, h);
        if (!ir_parse_expect(p, TK_EQUALS, "'='") || !ir_parse_float(p, v)) return false;
        ir_text must;
        if (!ir_hyper_check(h, *v, true, &must)) {
            ir_parse_error(p, &vt, "%s must be %s, not %g", h->name, must.s, *v);
            return false;
        }
    } while (ir_parse_accept(p, TK_COMMA));
    ir_token close = p->tok;
    if (!ir_parse_expect(p, TK_RPAREN, "',' or ')'")) return false;
    for (int i = 0; i < IR_N_HYPERS; i++) {
        const ir_hyper_info *h = &ir_hyper_table[i];
        if (!(h->optims & (1u << mz->kind)) || seen[i]) continue;
        if (h->required) {
            ir_parse_error(p, &close, "%s needs %s", ir_optim_name(mz->kind), h->name);
            return false;
        }
        *ir_hyper_field(mz, h) = h->default_value;
    }
    return true;
}

/* minimize = "minimize" LOCAL "with" OPTIMIZER hypers [ loc ]: the loss a scalar f32 node; at most
 * one per graph, after the nodes, before the return. */
static bool parse_minimize(parser *p, graph_state *gs) {
    ir_token kw = p->tok;
    if (gs->in_kernel) {
        ir_parse_error(p, &kw, "expected '}' to close kernel @%s before 'minimize'", gs->kernel_name);
        return false;
    }
    if (gs->g->minimize) {
        ir_parse_error(p, &kw, "graph @%s has two minimize lines", gs->g->name);
        return false;
    }
    gs->minimized = true;
    ir_parse_advance(p);
    ir_minimize mz = {.loc = IR_NO_LOC};
    ir_token lt = p->tok;
    if (!parse_value_node(p, gs, "the loss", &mz.loss)) return false;
    const ir_type *t = &gs->g->nodes[mz.loss]->type;
    if (t->dtype != IR_F32 || t->rank != 0) {
        ir_parse_error(p, &lt, "the loss must be a scalar f32, but %%%d is %s", mz.loss, ir_type_text(t).s);
        return false;
    }
    if (!ir_parse_expect_word(p, "with") || !parse_optimizer(p, &mz.kind) || !parse_hypers(p, &mz)) return false;
    if (ir_parse_is_word(p, "loc") && !ir_parse_loc(p, &mz.loc)) return false;
    if (!ir_parse_line_end(p)) return false;
    gs->g->minimize = ir_alloc(p->m->arena, sizeof *gs->g->minimize);
    *gs->g->minimize = mz;
    return true;
}

/* A kernel's name: made of [A-Za-z0-9_] (the verifier's rule, so that it names a C function
 * later) and new in the graph. */
static bool check_kernel_name(parser *p, graph_state *gs, const ir_token *name) {
    bool plain = name->text[0] != 0;
    for (const char *c = name->text; *c; c++) {
        bool alnum = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9');
        plain = plain && (alnum || *c == '_');
    }
    if (!plain) {
        ir_parse_error(p, name, "kernel names are made of [A-Za-z0-9_], not %s", ir_parse_describe(p, name));
        return false;
    }
    for (int i = 0; i < gs->g->n_groups; i++) {
        if (strcmp(gs->g->groups[i].name, name->text) == 0) {
            ir_parse_error(p, name, "kernel @%s is defined twice in graph @%s", name->text, gs->g->name);
            return false;
        }
    }
    return true;
}

/* KIND = "loop" | "reduce" | "contraction" */
static bool parse_kernel_kind(parser *p, ir_fusion_kind *kind) {
    ir_token t = p->tok;
    if (t.kind != TK_IDENT) return ir_parse_expected(p, "a kernel kind (loop, reduce or contraction)");
    if (!ir_fusion_kind_lookup(t.text, kind)) {
        const char *names[IR_FUSION_KIND_COUNT];
        for (int k = 0; k < IR_FUSION_KIND_COUNT; k++) names[k] = ir_fusion_kind_name((ir_fusion_kind)k);
        const char *close = ir_closest(t.text, names, IR_FUSION_KIND_COUNT);
        if (close)
            ir_parse_error(p, &t, "unknown kernel kind '%s'; did you mean '%s'?", t.text, close);
        else
            ir_parse_error(p, &t, "unknown kernel kind '%s' (expected loop, reduce or contraction)", t.text);
        return false;
    }
    ir_parse_advance(p);
    return true;
}

/* kernel = "kernel" GLOBAL "(" KIND ")" "{" — opens the block of one fusion group. The block
 * counts as open even when the rest of the line is bad, so that its `}` still closes it. */
static bool parse_kernel(parser *p, graph_state *gs) {
    ir_token kw = p->tok;
    if (gs->in_kernel) {
        ir_parse_error(p, &kw, "kernel blocks do not nest; close kernel @%s with '}' first", gs->kernel_name);
        return false;
    }
    ir_parse_advance(p);
    gs->in_kernel = true;
    gs->kernel = -1;
    gs->kernel_lines = 0;
    gs->kernel_tok = kw;
    gs->kernel_name = "?";
    ir_token name = p->tok;
    if (name.kind != TK_GLOBAL) return ir_parse_expected(p, "a kernel name like @fused_add_relu_64");
    gs->kernel_name = name.text;
    if (!check_kernel_name(p, gs, &name)) return false;
    ir_parse_advance(p);
    ir_fusion_kind kind;
    if (!ir_parse_expect(p, TK_LPAREN, "'(' and the kernel's kind") || !parse_kernel_kind(p, &kind) ||
        !ir_parse_expect(p, TK_RPAREN, "')'") || !ir_parse_expect(p, TK_LBRACE, "'{'") || !ir_parse_line_end(p))
        return false;
    gs->kernel = ir_graph_add_group(gs->g, name.text, kind);
    return true;
}

/* The `}` of a kernel block; a block holds at least one node. */
static bool close_kernel(parser *p, graph_state *gs) {
    ir_parse_advance(p);
    gs->in_kernel = false;
    if (gs->kernel_lines == 0) {
        ir_parse_error(p, &gs->kernel_tok, "kernel @%s is empty (a kernel block holds at least one node)",
                       gs->kernel_name);
        return false;
    }
    return ir_parse_line_end(p);
}

/* One line of a graph body: a node, a kernel block's header, or the return. */
static bool parse_item(parser *p, graph_state *gs) {
    if (gs->returned) {
        ir_parse_error(p, &p->tok, "expected '}' after return, got %s", ir_parse_describe(p, &p->tok));
        return false;
    }
    if (gs->minimized && !ir_parse_is_word(p, "return") && !ir_parse_is_word(p, "minimize")) {
        ir_parse_error(p, &p->tok, "expected 'return' or '}' after the minimize line, got %s",
                       ir_parse_describe(p, &p->tok));
        gs->minimized = false; /* once: the lines after it are read as usual */
        return false;
    }
    if (p->tok.kind == TK_LOCAL) {
        gs->kernel_lines += gs->in_kernel;
        return parse_node(p, gs);
    }
    if (ir_parse_is_word(p, "return")) {
        if (gs->in_kernel) {
            /* Closed here so that the return itself is still read. */
            ir_parse_error(p, &p->tok, "expected '}' to close kernel @%s before 'return'", gs->kernel_name);
            gs->in_kernel = false;
        }
        return parse_return(p, gs);
    }
    if (ir_parse_is_word(p, "kernel")) return parse_kernel(p, gs);
    if (ir_parse_is_word(p, "minimize")) return parse_minimize(p, gs);
    ir_parse_error(p, &p->tok,
                   "expected a node (%%3 = add(%%1, %%2) : f32[4]), 'kernel', 'minimize', 'return' or '}', got %s",
                   ir_parse_describe(p, &p->tok));
    return false;
}

/* body = { node | kernel { node } "}" } [ minimize ] [ return ] "}" — one item per line; a bad
 * line is skipped. */
static void parse_body(parser *p, graph_state *gs) {
    while (!ir_parse_too_many_errors(p)) {
        int line = p->tok.line;
        if (p->tok.kind == TK_RBRACE && gs->in_kernel) {
            if (!close_kernel(p, gs)) ir_parse_skip_line(p, line);
            continue;
        }
        if (ir_parse_accept(p, TK_RBRACE)) {
            if (!gs->returned && gs->n_outs > 0)
                ir_parse_error(p, &p->prev, "graph @%s ends without binding its outputs (return %s = %%N, ...)",
                               gs->g->name, gs->outs[0]);
            if (!ir_parse_line_end(p)) ir_parse_skip_line(p, line);
            return;
        }
        if (p->tok.kind == TK_EOF) {
            ir_parse_expected(p, gs->in_kernel ? "'}' to close the kernel block" : "'}' to close the graph");
            return;
        }
        if (p->tok.line_start && (ir_parse_is_word(p, "param") || ir_parse_is_word(p, "graph"))) {
            ir_parse_error(p, &p->tok, "expected '}' to close graph @%s before %s", gs->g->name,
                           ir_parse_describe(p, &p->tok));
            return;
        }
        if (!parse_item(p, gs)) ir_parse_skip_line(p, line);
    }
}

/* inputs = "(" [ LOCAL ":" type { "," LOCAL ":" type } ] ")" */
static bool parse_inputs(parser *p, ir_graph *g) {
    if (!ir_parse_expect(p, TK_LPAREN, "'('")) return false;
    if (ir_parse_accept(p, TK_RPAREN)) return true;
    do {
        ir_token t = p->tok;
        int64_t id;
        ir_type type;
        if (t.kind != TK_LOCAL) return ir_parse_expected(p, "an input like %x : f32[4]");
        if (ir_parse_node_id(&t, &id)) {
            ir_parse_error(p, &t, "graph inputs are named, like %%x; %%%s is a node id", t.text);
            return false;
        }
        for (int i = 0; i < g->n_inputs; i++) {
            if (strcmp(g->input_names[i], t.text) == 0) {
                ir_parse_error(p, &t, "graph @%s has two inputs named %%%s", g->name, t.text);
                return false;
            }
        }
        ir_parse_advance(p);
        if (!ir_parse_expect(p, TK_COLON, "':' and the input's type") || !ir_parse_type(p, &type)) return false;
        ir_graph_add_input(g, t.text, type);
    } while (ir_parse_accept(p, TK_COMMA));
    return ir_parse_expect(p, TK_RPAREN, "',' or ')'");
}

/* outputs = "(" [ name { "," name } ] ")" */
static bool parse_outputs(parser *p, graph_state *gs) {
    if (!ir_parse_expect(p, TK_LPAREN, "'('")) return false;
    if (ir_parse_accept(p, TK_RPAREN)) return true;
    do {
        ir_token t = p->tok;
        const char *name = NULL;
        if (!parse_out_name(p, &name)) return false;
        for (int i = 0; i < gs->n_outs; i++) {
            if (strcmp(gs->outs[i], name) == 0) {
                ir_parse_error(p, &t, "graph @%s has two outputs named '%s'", gs->g->name, name);
                return false;
            }
        }
        gs->outs = ir_grow(p->scratch, (void *)gs->outs, sizeof *gs->outs, (size_t)gs->n_outs, (size_t)gs->n_outs + 1);
        gs->outs[gs->n_outs++] = name;
    } while (ir_parse_accept(p, TK_COMMA));
    return ir_parse_expect(p, TK_RPAREN, "',' or ')'");
}

/* graph = "graph" GLOBAL inputs "->" outputs [ loc ] "{" body */
static bool parse_graph(parser *p) {
    ir_parse_advance(p);
    ir_token name = p->tok;
    if (name.kind != TK_GLOBAL) return ir_parse_expected(p, "a graph name like @infer");
    if (ir_module_find_graph(p->m, name.text)) {
        ir_parse_error(p, &name, "graph @%s is defined twice", name.text);
        return false;
    }
    ir_parse_advance(p);
    graph_state gs;
    memset(&gs, 0, sizeof gs);
    gs.g = ir_module_add_graph(p->m, name.text, IR_NO_LOC);
    if (!parse_inputs(p, gs.g) || !ir_parse_expect(p, TK_ARROW, "'->'") || !parse_outputs(p, &gs)) return false;
    if (ir_parse_is_word(p, "loc") && !ir_parse_loc(p, &gs.g->loc)) return false;
    if (!ir_parse_expect(p, TK_LBRACE, "'{'") || !ir_parse_line_end(p)) return false;
    parse_body(p, &gs);
    return true;
}

/* ---- parameters and the module -------------------------------------------------------------- */

/* split = "split" "(" "axis" "=" INT ")" */
static bool parse_split(parser *p, const ir_type *type, int *axis) {
    ir_parse_advance(p);
    if (!ir_parse_expect(p, TK_LPAREN, "'('") || !ir_parse_expect_word(p, "axis") ||
        !ir_parse_expect(p, TK_EQUALS, "'='"))
        return false;
    ir_token t = p->tok;
    int64_t v;
    if (!ir_parse_int(p, &v)) return false;
    if (v < 0 || v >= type->rank) {
        ir_parse_error(p, &t, "split axis %lld is out of range for %s", (long long)v, ir_type_text(type).s);
        return false;
    }
    *axis = (int)v;
    return ir_parse_expect(p, TK_RPAREN, "')'");
}

/* param = "param" GLOBAL ":" type [ "=" init ] [ split ] [ "state" ] [ loc ]; optimizer state
 * (`state`) starts at zeros(). */
static bool parse_param(parser *p) {
    ir_parse_advance(p);
    ir_token name = p->tok;
    if (name.kind != TK_GLOBAL) return ir_parse_expected(p, "a parameter name like @w1");
    if (ir_module_find_param(p->m, name.text) >= 0) {
        ir_parse_error(p, &name, "parameter @%s is defined twice", name.text);
        return false;
    }
    ir_parse_advance(p);
    ir_type type;
    ir_init init = {.kind = IR_INIT_NONE};
    int split = -1;
    ir_loc loc = IR_NO_LOC;
    if (!ir_parse_expect(p, TK_COLON, "':' and the parameter's type") || !ir_parse_type(p, &type)) return false;
    if (ir_parse_accept(p, TK_EQUALS) && !ir_parse_init(p, &init)) return false;
    if (ir_parse_is_word(p, "split") && !parse_split(p, &type, &split)) return false;
    ir_token state = p->tok;
    bool is_state = ir_parse_is_word(p, "state");
    if (is_state) {
        if (init.kind != IR_INIT_ZEROS) {
            ir_parse_error(p, &state, "optimizer state starts at zeros(): write '= zeros() state'");
            return false;
        }
        ir_parse_advance(p);
    }
    if (ir_parse_is_word(p, "loc") && !ir_parse_loc(p, &loc)) return false;
    if (!ir_parse_line_end(p)) return false;
    int i = ir_module_add_param(p->m, name.text, type, init, loc);
    p->m->params[i].split_axis = split;
    p->m->params[i].state = is_state;
    return true;
}

/* Skips to the next line that starts a parameter or a graph. */
static void skip_to_item(parser *p, int line) {
    while (p->tok.kind != TK_EOF &&
           !(p->tok.line_start && p->tok.line > line && (ir_parse_is_word(p, "param") || ir_parse_is_word(p, "graph"))))
        ir_parse_advance(p);
}

/* module = { param | graph } */
static void parse_items(parser *p) {
    while (p->tok.kind != TK_EOF && !ir_parse_too_many_errors(p)) {
        int line = p->tok.line;
        bool ok = false;
        if (ir_parse_is_word(p, "param"))
            ok = parse_param(p);
        else if (ir_parse_is_word(p, "graph"))
            ok = parse_graph(p);
        else
            ir_parse_error(p, &p->tok, "expected 'param' or 'graph', got %s", ir_parse_describe(p, &p->tok));
        if (!ok) skip_to_item(p, line);
    }
}

ir_module *ir_parse_module(ir_diag *d, int file) {
    IR_ASSERT(file >= 0 && file < d->n_sources);
    parser p;
    memset(&p, 0, sizeof p);
    p.d = d;
    p.file = file;
    p.first_error = d->errors;
    p.scratch = ir_arena_create();
    p.m = ir_module_create();
    ir_lex_init(&p.lx, d, file, p.scratch);
    ir_parse_advance(&p);
    parse_items(&p);
    if (ir_parse_too_many_errors(&p)) ir_note(d, IR_NO_LOC, "too many errors in %s; stopping", d->sources[file].name);
    ir_arena_destroy(p.scratch);
    if (d->errors == p.first_error) return p.m;
    ir_module_destroy(p.m);
    return NULL;
}
