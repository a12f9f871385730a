/* lower_kernel.c — the loop structure of each kind of kernel: loop kernels (one index space, a
 * flat PARALLEL|VECTOR loop for pure elementwise chains, else a parallel loop over the leading
 * axes around a vector loop over the last), reduce kernels (a parallel loop over the rows, each
 * reduction's accumulator loop, then the row's stores), scatter kernels (gather_grad and
 * max_pool2d_grad: zeros, then a serial scatter-add), and contraction kernels (a GEMM or
 * convolution library call with its epilogue over the result's rows, or the loop kernel that
 * computes the contraction elementally). */
#include "codegen/lower.h"

#include <string.h>

enum { GRAIN_ELEMS = 32768, NONTEMPORAL_BYTES = 4 << 20 };

int64_t cg_grain(int64_t work_per_iteration) {
    if (work_per_iteration < 1) work_per_iteration = 1;
    return (GRAIN_ELEMS + work_per_iteration - 1) / work_per_iteration;
}

static const ir_node *node(const cg_lower *w, int id) { return w->g->nodes[id]; }

int cg_kernel_outputs(cg_lower *w, int **out) {
    int n = 0;
    *out = ir_alloc(w->a, sizeof **out * (size_t)(w->end - w->first + 1));
    for (int id = w->first; id < w->end; id++)
        if (w->buf_of[id] >= 0) (*out)[n++] = id; /* even a reshape: inside a group it is computed */
    return n;
}

static bool same_dims(const ir_type *a, const ir_type *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

/* Stores every output at its coordinates (each in its own shape). With several outputs all
 * values are computed into variables first: a later output may be written in place over an
 * input (the plan allows it for elementwise kernels), which every value must read before. */
static void store_outputs(cg_lower *w, const int *outs, int n_out, cg_coords *coords, bool nontemporal_ok) {
    cg_expr **values = ir_alloc(w->a, sizeof *values * (size_t)n_out);
    int level = w->level;
    for (int i = 0; i < n_out; i++) {
        values[i] = cg_elem(w, outs[i], &coords[i]);
        if (n_out > 1) {
            int t = cg_new_var(w, "v", values[i]->type, false, level, -1);
            cg_emit_assign(w, level, t, values[i]);
            values[i] = cg_var_ref(w, t);
            cg_memo_set(w, outs[i], &coords[i], values[i]);
        }
    }
    for (int i = 0; i < n_out; i++) {
        const ir_node *n = node(w, outs[i]);
        bool nt = nontemporal_ok && ir_node_bytes(n) >= NONTEMPORAL_BYTES;
        cg_emit_store(w, level, w->buf_of[outs[i]], cg_linearize(w, &coords[i], &n->type), values[i], nt);
    }
}

/* Output i's coordinates from the loop's point c of shape s: the same point when the shapes
 * agree, else the point with the same linear index. */
static void output_coords(cg_lower *w, const cg_coords *c, const ir_type *s, const ir_type *t, cg_coords *out) {
    if (same_dims(s, t)) *out = *c;
    else cg_delinearize(w, cg_linearize(w, c, s), t, out);
}

/* ---- loop kernels --------------------------------------------------------------------------- */

/* Pure elementwise over one shape: every node elementwise (or a splat) of exactly that shape,
 * reading values of its element count or scalars, so every access is at the flat index. */
static bool flat_kernel(const cg_lower *w, const ir_type *s) {
    int64_t count = ir_type_elems(s);
    if (s->rank == 0) return false;
    for (int id = w->first; id < w->end; id++) {
        const ir_node *n = node(w, id);
        if (!((ir_op_table[n->op].flags & IR_ELEMENTWISE) || n->op == IR_OP_FULL) || !same_dims(&n->type, s))
            return false;
        for (int k = 0; k < n->n_in; k++) {
            int64_t e = ir_type_elems(&node(w, n->in[k])->type);
            if (e != count && e != 1) return false;
        }
    }
    return true;
}

void cg_lower_loop_kernel(cg_lower *w) {
    int *outs, n_out = cg_kernel_outputs(w, &outs);
    if (n_out == 0) {
        ir_bug(w->d, IR_NO_LOC, "lowering: kernel '%s' has %d outputs", w->k->name, n_out);
        w->failed = true;
        return;
    }
    const ir_type *s = &node(w, outs[0])->type;
    int64_t count = ir_type_elems(s), last = s->rank ? s->dims[s->rank - 1] : 1;
    for (int i = 1; i < n_out; i++) {
        if (ir_type_elems(&node(w, outs[i])->type) != count) {
            ir_bug(w->d, node(w, outs[i])->loc, "lowering: loop kernel '%s' has outputs of %lld and %lld elements",
                   w->k->name, (long long)count, (long long)ir_type_elems(&node(w, outs[i])->type));
            w->failed = true;
            return;
        }
    }
    bool flat = flat_kernel(w, s);
    cg_coords c = {.rank = s->rank};
    cg_loop_mark outer, inner;
    int n_loops = 0;
    if (s->rank == 0) {
        c.flat = cg_index(w, 0);
    } else if (flat || count == last) {
        cg_expr *i = cg_var_ref(w, cg_open_loop(w, &outer, 0, count, CG_LOOP_PARALLEL | CG_LOOP_VECTOR));
        n_loops = 1;
        cg_delinearize(w, i, s, &c);
    } else {
        ir_type lead = *s;
        lead.rank--;
        cg_expr *r = cg_var_ref(w, cg_open_loop(w, &outer, 0, count / last, CG_LOOP_PARALLEL));
        cg_expr *j = cg_var_ref(w, cg_open_loop(w, &inner, 1, last, CG_LOOP_VECTOR));
        n_loops = 2;
        cg_delinearize(w, r, &lead, &c);
        c.rank = s->rank;
        c.c[s->rank - 1] = j;
        c.flat = cg_add(w, cg_mul(w, r, cg_index(w, last)), j);
    }
    w->min_level = n_loops ? 1 : 0;
    cg_coords *oc = ir_alloc(w->a, sizeof *oc * (size_t)n_out);
    for (int i = 0; i < n_out; i++) output_coords(w, &c, s, &node(w, outs[i])->type, &oc[i]);
    store_outputs(w, outs, n_out, oc, flat);
    if (n_loops == 2) cg_close_loop(w, &inner);
    if (n_loops >= 1) cg_close_loop(w, &outer);
}

/* ---- reduce kernels --------------------------------------------------------------------------- */

/* The rows of a reduce kernel: X (the reductions' input shape) without its reduced axes. */
typedef struct rows {
    const ir_type *x;
    bool axes[IR_MAX_RANK];
    ir_type kept;
    int64_t n_rows, n_red;
} rows;

static int first_reduction(const cg_lower *w, bool axes[IR_MAX_RANK]) {
    for (int id = w->first; id < w->end; id++)
        if (ir_reduced_axes(node(w, id), axes)) return id;
    return -1;
}

/* The reduced shape's coordinates at the row (keepdims or not), whose linear index is the row. */
static void reduced_coords(cg_lower *w, const rows *r, const cg_coords *kc, const ir_type *t, cg_coords *out) {
    if (same_dims(t, &r->kept)) {
        *out = *kc;
        return;
    }
    if (t->rank == r->x->rank) {
        out->rank = t->rank;
        out->flat = kc->flat;
        for (int i = 0, o = 0; i < t->rank; i++) out->c[i] = r->axes[i] ? cg_index(w, 0) : kc->c[o++];
        return;
    }
    cg_delinearize(w, kc->flat, t, out);
}

/* The row's stores of outputs of X's shape: one pass over the reduced axes. */
static void store_row_outputs(cg_lower *w, const rows *r, const cg_coords *kc, const int *outs, int n_out) {
    if (n_out == 0 || r->n_red == 0) return;
    cg_coords xc = {.rank = r->x->rank};
    for (int i = 0, o = 0; i < r->x->rank; i++)
        if (!r->axes[i]) xc.c[i] = kc->c[o++];
    cg_reduced_loops loops;
    cg_open_reduced(w, &loops, r->x, r->axes, w->level, CG_LOOP_VECTOR, &xc);
    if (loops.n == 1 && r->axes[r->x->rank - 1]) /* one trailing run: X's index is row * count + k */
        xc.flat = cg_add(w, cg_mul(w, kc->flat, cg_index(w, r->n_red)), cg_var_ref(w, loops.inner_var));
    cg_coords *oc = ir_alloc(w->a, sizeof *oc * (size_t)n_out);
    for (int i = 0; i < n_out; i++) output_coords(w, &xc, r->x, &node(w, outs[i])->type, &oc[i]);
    store_outputs(w, outs, n_out, oc, false);
    cg_close_reduced(w, &loops);
}

static void init_rows(cg_lower *w, int reduction, const bool *axes, rows *r) {
    r->x = &node(w, node(w, reduction)->in[0])->type;
    memcpy(r->axes, axes, sizeof r->axes);
    r->kept = (ir_type){.dtype = r->x->dtype, .rank = 0};
    r->n_red = 1;
    for (int i = 0; i < r->x->rank; i++) {
        if (axes[i]) r->n_red *= r->x->dims[i];
        else r->kept.dims[r->kept.rank++] = r->x->dims[i];
    }
    r->n_rows = ir_type_elems(&r->kept);
}

void cg_lower_reduce_kernel(cg_lower *w) {
    bool axes[IR_MAX_RANK];
    int *outs, red = first_reduction(w, axes), n_out = cg_kernel_outputs(w, &outs);
    if (red < 0 || n_out == 0) {
        ir_bug(w->d, IR_NO_LOC, "lowering: reduce kernel '%s' has no reduction or no output", w->k->name);
        w->failed = true;
        return;
    }
    rows r;
    init_rows(w, red, axes, &r);
    int *row_outs = ir_alloc(w->a, sizeof(int) * (size_t)n_out), *red_outs = ir_alloc(w->a, sizeof(int) * (size_t)n_out);
    int n_row = 0, n_reduced = 0;
    for (int i = 0; i < n_out; i++) {
        int64_t e = ir_type_elems(&node(w, outs[i])->type);
        if (e == ir_type_elems(r.x)) row_outs[n_row++] = outs[i];
        else if (e == r.n_rows) red_outs[n_reduced++] = outs[i];
        else {
            ir_bug(w->d, node(w, outs[i])->loc, "lowering: reduce kernel '%s' writes %s, neither a row nor a reduced "
                   "shape of %s", w->k->name, ir_type_text(&node(w, outs[i])->type).s, ir_type_text(r.x).s);
            w->failed = true;
            return;
        }
    }
    cg_loop_mark m;
    cg_coords kc;
    bool parallel = r.n_rows > 1;
    cg_expr *row = parallel ? cg_var_ref(w, cg_open_loop(w, &m, 0, r.n_rows, CG_LOOP_PARALLEL)) : cg_index(w, 0);
    w->min_level = parallel ? 1 : 0;
    cg_delinearize(w, row, &r.kept, &kc);
    for (int id = w->first; id < w->end; id++) { /* each reduction's accumulator, in node order */
        bool ax[IR_MAX_RANK];
        if (!ir_reduced_axes(node(w, id), ax)) continue;
        cg_coords rc;
        reduced_coords(w, &r, &kc, &node(w, id)->type, &rc);
        cg_elem(w, id, &rc);
    }
    cg_coords *oc = ir_alloc(w->a, sizeof *oc * (size_t)n_out);
    for (int i = 0; i < n_reduced; i++) reduced_coords(w, &r, &kc, &node(w, red_outs[i])->type, &oc[i]);
    if (n_reduced) store_outputs(w, red_outs, n_reduced, oc, false);
    store_row_outputs(w, &r, &kc, row_outs, n_row);
    if (parallel) cg_close_loop(w, &m);
}

/* ---- scatter kernels ---------------------------------------------------------------------------- */

/* The columns of a scatter's rows that one parallel iteration owns: the whole row, or, when
 * the leading axes alone give too few iterations to share out (an embedding table's gradient
 * has one), blocks of at least 64 elements that divide the row (at most about 64 of them).
 * Different iterations never write the same element. */
static int64_t scatter_block(int64_t outer, int64_t inner) {
    if (outer >= 16 || inner < 128) return inner;
    int64_t least = inner / 64 > 64 ? inner / 64 : 64;
    for (int64_t b = least; b < inner; b++)
        if (inner % b == 0) return b;
    return inner;
}

/* out[o, v, block] = 0 for every v: one contiguous run when the block is the whole row. */
static void zero_fill(cg_lower *w, int buf, const ir_node *n, cg_expr *o, cg_expr *col, int64_t dim, int64_t inner,
                      int64_t block) {
    cg_expr *zero = cg_const_of(w, n->type.dtype, 0);
    cg_loop_mark mv, me;
    if (block == inner) {
        cg_expr *z = cg_var_ref(w, cg_open_loop(w, &mv, w->level, dim * inner, CG_LOOP_VECTOR));
        cg_emit_store(w, w->level, buf, cg_add(w, cg_mul(w, o, cg_index(w, dim * inner)), z), zero, false);
        cg_close_loop(w, &mv);
        return;
    }
    cg_expr *v = cg_var_ref(w, cg_open_loop(w, &mv, w->level, dim, 0));
    cg_expr *e = cg_var_ref(w, cg_open_loop(w, &me, w->level, block, CG_LOOP_VECTOR));
    cg_expr *row = cg_add(w, cg_mul(w, o, cg_index(w, dim)), v);
    cg_emit_store(w, w->level, buf, cg_add(w, cg_add(w, cg_mul(w, row, cg_index(w, inner)), col), e), zero, false);
    cg_close_loop(w, &me);
    cg_close_loop(w, &mv);
}

/* gather_grad(dy, idx) [axis, shape]: with dx = [outer, dim, inner] (the axes before the axis,
 * the axis, the axes after) and dy = [outer, n_idx, inner], dx = 0, then for k in order
 * dx[o, idx[k], :] += dy[o, k, :]. The loop over k is serial, since indices repeat; the work is
 * dx's size plus dy's, so an embedding's gradient costs its table once, not once per token. The
 * parallel loop runs over o and blocks of columns (scatter_block), each owning its elements. */
static void gather_scatter(cg_lower *w, const ir_node *n, int buf) {
    const ir_type *x = &n->type, *dyt = &node(w, n->in[0])->type, *it = &node(w, n->in[1])->type;
    int axis = (int)n->attr[IR_ATTR_AXIS].v[0];
    int64_t dim = x->dims[axis], n_idx = ir_type_elems(it), outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= x->dims[i];
    for (int i = axis + 1; i < x->rank; i++) inner *= x->dims[i];
    int64_t block = scatter_block(outer, inner), blocks = inner / block;
    cg_loop_mark mp, mk, me;
    bool parallel = outer * blocks > 1;
    cg_expr *p = parallel ? cg_var_ref(w, cg_open_loop(w, &mp, 0, outer * blocks, CG_LOOP_PARALLEL)) : cg_index(w, 0);
    w->min_level = parallel ? 1 : 0;
    cg_expr *o = cg_call2(w, CG_DIV, p, cg_index(w, blocks));
    cg_expr *col = cg_mul(w, cg_call2(w, CG_REM, p, cg_index(w, blocks)), cg_index(w, block));
    zero_fill(w, buf, n, o, col, dim, inner, block);
    if (n_idx > 0) {
        cg_expr *k = cg_var_ref(w, cg_open_loop(w, &mk, w->level, n_idx, 0));
        cg_coords ic, dc;
        cg_delinearize(w, k, it, &ic);
        cg_expr *v = cg_gather_index(w, n, &ic, dim);
        cg_expr *e = cg_add(w, col, cg_var_ref(w, cg_open_loop(w, &me, w->level, block, CG_LOOP_VECTOR)));
        cg_expr *at = cg_add(w, cg_mul(w, cg_add(w, cg_mul(w, o, cg_index(w, dim)), v), cg_index(w, inner)), e);
        cg_expr *from = cg_add(w, cg_mul(w, cg_add(w, cg_mul(w, o, cg_index(w, n_idx)), k), cg_index(w, inner)), e);
        cg_delinearize(w, from, dyt, &dc);
        cg_expr *old = cg_load(w, buf, at), *g = cg_elem(w, n->in[0], &dc);
        /* bool: the interpreter's sum stored as a bool, i.e. an or */
        cg_emit_store(w, w->level, buf, at, cg_call2(w, old->type == IR_BOOL ? CG_OR : CG_ADD, old, g), false);
        cg_close_loop(w, &me);
        cg_close_loop(w, &mk);
    }
    if (parallel) cg_close_loop(w, &mp);
}

/* max_pool2d_grad(x, dy): per plane (b, c), a loop of the parallel loop, dx = 0, then for each
 * window in row-major order dx[the window's maximum] += dy[window]: the window's kh*kw taps are
 * read once, where the output-indexed form would read them for every element the window holds
 * (9 times more for a 3x3 window). */
static void pool_scatter(cg_lower *w, const ir_node *n, int buf) {
    const ir_type *x = &n->type, *dyt = &node(w, n->in[1])->type;
    int64_t planes = x->dims[0] * x->dims[1], plane = x->dims[2] * x->dims[3];
    int64_t kw = n->attr[IR_ATTR_KERNEL].v[1], channels = x->dims[1];
    const int64_t *stride = n->attr[IR_ATTR_STRIDE].v, *lo = n->attr[IR_ATTR_LO].v;
    cg_loop_mark mp, mz, mo, mq;
    bool parallel = planes > 1;
    cg_expr *p = parallel ? cg_var_ref(w, cg_open_loop(w, &mp, 0, planes, CG_LOOP_PARALLEL)) : cg_index(w, 0);
    w->min_level = parallel ? 1 : 0;
    cg_expr *base = cg_mul(w, p, cg_index(w, plane));
    cg_expr *z = cg_var_ref(w, cg_open_loop(w, &mz, w->level, plane, CG_LOOP_VECTOR));
    cg_emit_store(w, w->level, buf, cg_add(w, base, z), cg_const_f(w, 0), false);
    cg_close_loop(w, &mz);
    cg_expr *oy = cg_var_ref(w, cg_open_loop(w, &mo, w->level, dyt->dims[2], 0));
    cg_expr *ox = cg_var_ref(w, cg_open_loop(w, &mq, w->level, dyt->dims[3], 0));
    cg_expr *b = cg_call2(w, CG_DIV, p, cg_index(w, channels)), *c = cg_call2(w, CG_REM, p, cg_index(w, channels));
    cg_coords dc = {.rank = 4, .c = {b, c, oy, ox}};
    cg_expr *o[2] = {oy, ox}, *tap = cg_max_pool_tap(w, n, &dc, o, w->level), *pos[2];
    cg_expr *offset[2] = {cg_call2(w, CG_DIV, tap, cg_index(w, kw)), cg_call2(w, CG_REM, tap, cg_index(w, kw))};
    for (int a = 0; a < 2; a++) { /* a window holds input, so the tap is one: the clamp only keeps memory safe */
        cg_expr *origin = cg_sub(w, cg_mul(w, o[a], cg_index(w, stride[a])), cg_index(w, lo[a]));
        pos[a] = cg_clamp(w, cg_add(w, origin, offset[a]), 0, x->dims[2 + a] - 1);
    }
    cg_expr *at = cg_add(w, base, cg_add(w, cg_mul(w, pos[0], cg_index(w, x->dims[3])), pos[1]));
    cg_expr *sum = cg_call2(w, CG_ADD, cg_load(w, buf, at), cg_elem(w, n->in[1], &dc));
    if (x->dtype == IR_F16 || x->dtype == IR_BF16) sum = cg_round_to(w, x->dtype, sum); /* windows apart: exact */
    cg_emit_store(w, w->level, buf, at, sum, false);
    cg_close_loop(w, &mq);
    cg_close_loop(w, &mo);
    if (parallel) cg_close_loop(w, &mp);
}

/* The sums of a scatter build up in memory, so in f16 and bf16 they would round at each
 * addition where the interpreter rounds once: those dtypes take the output-indexed loop kernel
 * (cg_gather_grad_value, cg_pool_grad_value), except max_pool2d_grad with windows that do not
 * overlap (each element gets one window's dy, exactly). */
void cg_lower_scatter_kernel(cg_lower *w) {
    const ir_node *n = node(w, w->first);
    int buf = w->buf_of[n->id];
    bool half = n->type.dtype == IR_F16 || n->type.dtype == IR_BF16;
    if (n->op == IR_OP_MAX_POOL2D_GRAD && half) {
        const int64_t *k = n->attr[IR_ATTR_KERNEL].v, *s = n->attr[IR_ATTR_STRIDE].v;
        half = s[0] < k[0] || s[1] < k[1];
    }
    if (half || w->end - w->first != 1 || buf < 0) cg_lower_loop_kernel(w);
    else if (n->op == IR_OP_GATHER_GRAD) gather_scatter(w, n, buf);
    else pool_scatter(w, n, buf);
}

/* ---- contraction kernels ----------------------------------------------------------------------- */

static rt_ref ref_of(const cg_lower *w, int buf) {
    const cg_buffer *b = &w->p->buffers[buf];
    return (rt_ref){b->slot, b->offset};
}

/* PERM n = 0, the identity, or the batch axes kept and the last two swapped (a GEMM flag). */
static int perm_kind(const ir_attr *perm) {
    if (perm->n == 0) return 0;
    bool identity = true, swap = perm->n >= 2;
    for (int i = 0; i < perm->n; i++) {
        identity &= perm->v[i] == i;
        if (i < perm->n - 2) swap &= perm->v[i] == i;
    }
    if (identity) return 0;
    if (swap && perm->v[perm->n - 2] == perm->n - 1 && perm->v[perm->n - 1] == perm->n - 2) return 1;
    return -1;
}

/* Fills the rt_gemm of matmul n; false when the library cannot compute it. */
static bool gemm_of(cg_lower *w, const ir_node *n, rt_gemm *gm) {
    const ir_type *ta = &node(w, n->in[0])->type, *tb = &node(w, n->in[1])->type;
    int ka = perm_kind(&n->attr[IR_ATTR_PERM_A]), kb = perm_kind(&n->attr[IR_ATTR_PERM_B]);
    int ba = w->buf_of[n->in[0]], bb = w->buf_of[n->in[1]];
    if (n->type.dtype != IR_F32 || ka < 0 || kb < 0 || ba < 0 || bb < 0) return false;
    bool a_vec = ta->rank == 1, b_vec = tb->rank == 1;
    memset(gm, 0, sizeof *gm);
    gm->trans_a = ka == 1;
    gm->trans_b = kb == 1;
    gm->m = a_vec ? 1 : ta->dims[ta->rank - (gm->trans_a ? 1 : 2)];
    gm->k = ta->dims[ta->rank - (gm->trans_a ? 2 : 1)];
    gm->n = b_vec ? 1 : tb->dims[tb->rank - (gm->trans_b ? 2 : 1)];
    if (gm->k == 0) return false;
    gm->lda = gm->trans_a ? gm->m : gm->k;
    gm->ldb = gm->trans_b ? gm->k : gm->n;
    /* Batch axes in NumPy's broadcasting; an axis of size 1 everywhere is left out. */
    int out_batch = n->type.rank - !a_vec - !b_vec;
    const ir_type *ops[2] = {ta, tb};
    int64_t stride[2][IR_MAX_RANK], per_item[2] = {gm->m * gm->k, gm->k * gm->n};
    for (int s = 0; s < 2; s++) {
        int nb = ops[s]->rank >= 2 ? ops[s]->rank - 2 : 0, shift = out_batch - nb;
        int64_t st = per_item[s];
        for (int i = out_batch - 1; i >= 0; i--) {
            int64_t d = i - shift >= 0 ? ops[s]->dims[i - shift] : 1;
            stride[s][i] = d == 1 ? 0 : st;
            st *= d;
        }
    }
    for (int i = 0; i < out_batch; i++) {
        if (n->type.dims[i] == 1) continue;
        if (gm->batch_rank == RT_MAX_RANK) return false;
        gm->batch[gm->batch_rank] = n->type.dims[i];
        gm->batch_stride_a[gm->batch_rank] = stride[0][i];
        gm->batch_stride_b[gm->batch_rank++] = stride[1][i];
    }
    gm->a = ref_of(w, ba);
    gm->b = ref_of(w, bb);
    w->k->lib_buf[0] = ba;
    w->k->lib_buf[1] = bb;
    return true;
}

static bool conv_of(cg_lower *w, const ir_node *n, rt_conv *cv) {
    const ir_type *xt = &node(w, n->in[0])->type, *kt = &node(w, n->in[1])->type;
    int bx = w->buf_of[n->in[0]], bk = w->buf_of[n->in[1]];
    if (n->type.dtype != IR_F32 || bx < 0 || bk < 0 || kt->dims[1] == 0) return false;
    *cv = (rt_conv){.x = ref_of(w, bx), .w = ref_of(w, bk),
                    .n = xt->dims[0], .c = xt->dims[1], .h = xt->dims[2], .w_in = xt->dims[3],
                    .o = kt->dims[0], .kh = kt->dims[2], .kw = kt->dims[3], .oh = n->type.dims[2], .ow = n->type.dims[3],
                    .stride_h = n->attr[IR_ATTR_STRIDE].v[0], .stride_w = n->attr[IR_ATTR_STRIDE].v[1],
                    .pad_h = n->attr[IR_ATTR_LO].v[0], .pad_w = n->attr[IR_ATTR_LO].v[1],
                    .dilation_h = n->attr[IR_ATTR_DILATION].v[0], .dilation_w = n->attr[IR_ATTR_DILATION].v[1],
                    .groups = n->attr[IR_ATTR_GROUPS].v[0]};
    w->k->lib_buf[0] = bx;
    w->k->lib_buf[1] = bk;
    return true;
}

/* The epilogue: rows of the result (all axes but the last, flattened; a GEMM's are its M×N
 * rows, batch by batch) in a parallel loop, the row's elements in a vector loop, the library's
 * value read from the scratch tile and every output of the group stored. */
static void lower_epilogue(cg_lower *w, int c, const int *outs, int n_out, int64_t n_rows, int64_t row_len) {
    const ir_node *cn = node(w, c);
    int scratch = w->p->n_buffers++;
    w->p->buffers[scratch] = (cg_buffer){"scratch", CG_SCRATCH_SLOT, 0, IR_F32, ir_type_elems(&cn->type)};
    w->scratch_buf = scratch;
    w->library_node = c;
    cg_loop_mark outer, inner;
    w->epi_row = cg_var_ref(w, cg_open_loop(w, &outer, 0, n_rows, CG_LOOP_PARALLEL));
    w->epi_col = cg_var_ref(w, cg_open_loop(w, &inner, 1, row_len, CG_LOOP_VECTOR));
    w->epi_row_len = row_len;
    w->min_level = 1;
    cg_coords cc, *oc = ir_alloc(w->a, sizeof *oc * (size_t)n_out);
    cg_delinearize(w, cg_add(w, cg_mul(w, w->epi_row, cg_index(w, row_len)), w->epi_col), &cn->type, &cc);
    for (int i = 0; i < n_out; i++) output_coords(w, &cc, &cn->type, &node(w, outs[i])->type, &oc[i]);
    store_outputs(w, outs, n_out, oc, false);
    cg_close_loop(w, &inner);
    cg_close_loop(w, &outer);
}

void cg_lower_contraction_kernel(cg_lower *w) {
    int c = -1, *outs, n_out = cg_kernel_outputs(w, &outs);
    for (int id = w->first; id < w->end && c < 0; id++)
        if (ir_op_table[node(w, id)->op].flags & IR_CONTRACTION) c = id;
    const ir_node *cn = c >= 0 ? node(w, c) : NULL;
    cg_kernel *k = w->k;
    bool library = cn && n_out > 0 && (cn->op == IR_OP_MATMUL ? gemm_of(w, cn, &k->gemm) : conv_of(w, cn, &k->conv));
    for (int i = 0; library && i < n_out; i++) library = ir_type_elems(&node(w, outs[i])->type) == ir_type_elems(&cn->type);
    if (!library) {
        memset(&k->gemm, 0, sizeof k->gemm);
        memset(&k->conv, 0, sizeof k->conv);
        k->lib_buf[0] = k->lib_buf[1] = k->lib_buf[2] = -1;
        cg_lower_loop_kernel(w);
        return;
    }
    k->kind = cn->op == IR_OP_MATMUL ? CG_KERNEL_GEMM : CG_KERNEL_CONV;
    int own = w->buf_of[c] >= 0 ? w->buf_of[c] : w->buf_of[outs[0]];
    if (k->kind == CG_KERNEL_GEMM) k->gemm.c = ref_of(w, own);
    else k->conv.out = ref_of(w, own);
    k->lib_buf[2] = own;
    if (n_out == 1 && outs[0] == c) return; /* the library writes the result itself */
    int64_t row_len = cn->type.rank ? cn->type.dims[cn->type.rank - 1] : 1;
    if (k->kind == CG_KERNEL_GEMM) row_len = k->gemm.n;
    lower_epilogue(w, c, outs, n_out, ir_type_elems(&cn->type) / row_len, row_len);
}
