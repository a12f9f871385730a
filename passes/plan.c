/* plan.c — the memory plan: every materialized intermediate gets a 64-byte-aligned offset in
 * one arena, so that values live at the same time never share bytes. Liveness comes from
 * ir/plan_info.c; elementwise kernels write over an input that dies there (in place); then
 * buffers are placed largest first, each in the tightest gap among those live with it. */
#include "passes/passes.h"

#include <stdlib.h>

enum { PLAN_ALIGN = 64 };

/* A buffer: one arena slot holding a chain of values, each written in place over the last. */
typedef struct plan_buffer {
    int64_t size;             /* bytes, rounded up to PLAN_ALIGN */
    int first, last;          /* kernels: the one writing the first value .. the last reading the tail */
    int tail;                 /* the chain's latest value: only it may be written over in place */
    int64_t offset;           /* -1 until placed */
} plan_buffer;

typedef struct planner {
    const ir_graph *g;
    const ir_liveness *l;
    plan_buffer *buf;
    int n_buf;
    int *buf_of;              /* per node: its buffer, -1 when not in the arena */
} planner;

static int64_t align_up(int64_t x) { return (x + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN; }

/* A dying input of out's kernel whose buffer `out` can take over (the tail of its chain), or -1. */
static int in_place_source(const planner *p, int out) {
    const ir_graph *g = p->g;
    int k = p->l->kernel[out], first = out;
    while (first > 0 && p->l->kernel[first - 1] == k) first--;
    for (int i = first; i < g->n_nodes && p->l->kernel[i] == k; i++) {
        const ir_node *u = g->nodes[i];
        for (int j = 0; j < u->n_in; j++) {
            int r = p->l->root[u->in[j]];
            if (p->buf_of[r] >= 0 && p->buf[p->buf_of[r]].tail == r && ir_liveness_in_place_ok(g, p->l, out, r))
                return r;
        }
    }
    return -1;
}

/* Values in kernel order: each either continues the buffer of a dying input or opens its own. */
static void build_buffers(planner *p) {
    const ir_graph *g = p->g;
    for (int i = 0; i < g->n_nodes; i++) p->buf_of[i] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (p->l->place[i] != IR_PLACE_ARENA) continue;
        int src = in_place_source(p, i);
        if (src >= 0) {
            plan_buffer *b = &p->buf[p->buf_of[src]];
            b->tail = i;
            b->last = p->l->last[i];
            p->buf_of[i] = p->buf_of[src];
            continue;
        }
        p->buf[p->n_buf] = (plan_buffer){align_up(ir_node_bytes(g->nodes[i])), p->l->kernel[i], p->l->last[i], i, -1};
        p->buf_of[i] = p->n_buf++;
    }
}

/* Placement order: larger first, then earlier first, then by index (deterministic). */
typedef struct plan_key {
    int64_t size;
    int first, index;
} plan_key;

static int by_size(const void *pa, const void *pb) {
    const plan_key *a = pa, *b = pb;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    if (a->first != b->first) return a->first < b->first ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* A placed buffer's bytes, [offset, end). */
typedef struct plan_span {
    int64_t offset, end;
} plan_span;

static int by_offset(const void *pa, const void *pb) {
    const plan_span *a = pa, *b = pb;
    return (a->offset > b->offset) - (a->offset < b->offset);
}

/* Greedy by size (as TFLite's arena planner): the smallest gap between placed buffers live at
 * the same time that fits, else just above the highest of them. */
static void place_buffer(planner *p, int b, const plan_key *placed, int n_placed, plan_span *live) {
    plan_buffer *me = &p->buf[b];
    int n = 0;
    for (int i = 0; i < n_placed; i++) {
        const plan_buffer *o = &p->buf[placed[i].index];
        if (o->first <= me->last && me->first <= o->last) live[n++] = (plan_span){o->offset, o->offset + o->size};
    }
    qsort(live, (size_t)n, sizeof *live, by_offset);
    int64_t top = 0, best = -1, best_gap = 0;
    for (int i = 0; i < n; i++) {
        int64_t gap = live[i].offset - top;
        if (gap >= me->size && (best < 0 || gap < best_gap)) {
            best = top;
            best_gap = gap;
        }
        if (live[i].end > top) top = live[i].end;
    }
    me->offset = best >= 0 ? best : top;
}

static void place_buffers(planner *p) {
    plan_key *order = malloc(sizeof *order * ((size_t)p->n_buf + 1));
    plan_span *live = malloc(sizeof *live * ((size_t)p->n_buf + 1));
    if (!order || !live) ir_internal_error(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < p->n_buf; i++) order[i] = (plan_key){p->buf[i].size, p->buf[i].first, i};
    qsort(order, (size_t)p->n_buf, sizeof *order, by_size);
    for (int i = 0; i < p->n_buf; i++) place_buffer(p, order[i].index, order, i, live);
    free(order);
    free(live);
}

static int64_t offset_for(ir_placement place, int64_t arena_offset) {
    switch (place) {
    case IR_PLACE_EXTERNAL: return IR_EXTERNAL;
    case IR_PLACE_ALIAS: return IR_ALIAS;
    case IR_PLACE_ARENA: return arena_offset;
    case IR_PLACE_NONE: break;
    }
    return IR_NOT_PLANNED;
}

bool pass_plan(ir_graph *g, pass_context *ctx) {
    (void)ctx;
    ir_liveness l;
    ir_liveness_compute(g, &l);
    planner p = {g, &l, NULL, 0, NULL};
    p.buf = malloc(sizeof *p.buf * ((size_t)g->n_nodes + 1));
    p.buf_of = malloc(sizeof *p.buf_of * ((size_t)g->n_nodes + 1));
    if (!p.buf || !p.buf_of) ir_internal_error(__FILE__, __LINE__, "out of memory");
    build_buffers(&p);
    place_buffers(&p);
    for (int i = 0; i < g->n_nodes; i++)
        g->nodes[i]->offset = offset_for(l.place[i], p.buf_of[i] >= 0 ? p.buf[p.buf_of[i]].offset : -1);
    g->planned = true;
    free(p.buf);
    free(p.buf_of);
    ir_liveness_free(&l);
    return true;
}
