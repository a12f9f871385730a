/* interp.c — the reference interpreter: dense tensors, element access for every dtype, and the
 * graph runner that binds inputs and parameters, runs each node's kernel from the op table in
 * order and frees every intermediate after its last use. Slow and obviously correct: it is
 * the definition every backend is checked against. */
#include "ir/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- tensors ------------------------------------------------------------------------------ */

bool ir_tensor_alloc(ir_tensor *t, const ir_type *type) {
    t->type = *type;
    size_t bytes = (size_t)ir_type_elems(type) * ir_dtype_size(type->dtype);
    t->data = calloc(bytes ? bytes : 1, 1); /* never NULL on success, even when empty */
    return t->data != NULL;
}

void ir_tensor_free(ir_tensor *t) {
    free(t->data);
    t->data = NULL;
}

/* IEEE binary16, round to nearest even (F. Giesen's float_to_half_fast3_rtne). */
uint16_t ir_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = u & 0x80000000u;
    u ^= sign;
    uint16_t h;
    if (u >= (127u + 16u) << 23) { /* >= 65536, inf or NaN */
        h = u > 0x7f800000u ? 0x7e00 : 0x7c00;
    } else if (u < 113u << 23) {   /* a binary16 subnormal: let the FPU round at 2^-24 */
        float v, magic = 0.5f;
        memcpy(&v, &u, 4);
        v += magic;
        uint32_t r;
        memcpy(&r, &v, 4);
        h = (uint16_t)(r - 0x3f000000u);
    } else {
        uint32_t odd = (u >> 13) & 1;
        u -= 112u << 23; /* rebias the exponent from 127 to 15 */
        u += 0xfffu + odd;
        h = (uint16_t)(u >> 13);
    }
    return (uint16_t)(h | (sign >> 16));
}

float ir_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0) {
        float v = ldexpf((float)mant, -24);
        return sign ? -v : v;
    }
    uint32_t u = exp == 31 ? sign | 0x7f800000u | (mant << 13) : sign | ((exp + 112) << 23) | (mant << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* bfloat16 is the top half of a float; round to nearest even, keep NaN a NaN. */
uint16_t ir_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

float ir_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

double ir_tensor_get(const ir_tensor *t, int64_t i) {
    switch (t->type.dtype) {
    case IR_F32: return ((const float *)t->data)[i];
    case IR_F16: return ir_f16_to_f32(((const uint16_t *)t->data)[i]);
    case IR_BF16: return ir_bf16_to_f32(((const uint16_t *)t->data)[i]);
    case IR_I32: return ((const int32_t *)t->data)[i];
    case IR_I64: return (double)((const int64_t *)t->data)[i];
    case IR_BOOL: return ((const uint8_t *)t->data)[i] != 0;
    default: ir_internal_error(__FILE__, __LINE__, "bad dtype");
    }
}

/* Float to integer as `cast` defines it: toward zero, NaN to 0, out of range saturates. */
static int64_t saturate_i64(double v, int64_t lo, int64_t hi) {
    if (isnan(v)) return 0;
    if (v <= (double)lo) return lo;
    if (v >= (double)hi) return hi; /* (double)INT64_MAX is 2^63: the test keeps the cast below defined */
    return (int64_t)v;
}

void ir_tensor_set(ir_tensor *t, int64_t i, double v) {
    switch (t->type.dtype) {
    case IR_F32: ((float *)t->data)[i] = (float)v; break;
    case IR_F16: ((uint16_t *)t->data)[i] = ir_f32_to_f16((float)v); break;
    case IR_BF16: ((uint16_t *)t->data)[i] = ir_f32_to_bf16((float)v); break;
    case IR_I32: ((int32_t *)t->data)[i] = (int32_t)saturate_i64(v, INT32_MIN, INT32_MAX); break;
    case IR_I64: ((int64_t *)t->data)[i] = saturate_i64(v, INT64_MIN, INT64_MAX); break;
    case IR_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
    default: ir_internal_error(__FILE__, __LINE__, "bad dtype");
    }
}

int64_t ir_kern_wrap64(uint64_t v) {
    return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

int64_t ir_tensor_get_i64(const ir_tensor *t, int64_t i) {
    switch (t->type.dtype) {
    case IR_I32: return ((const int32_t *)t->data)[i];
    case IR_I64: return ((const int64_t *)t->data)[i];
    case IR_BOOL: return ((const uint8_t *)t->data)[i] != 0;
    default: return saturate_i64(ir_tensor_get(t, i), INT64_MIN, INT64_MAX);
    }
}

void ir_tensor_set_i64(ir_tensor *t, int64_t i, int64_t v) {
    switch (t->type.dtype) {
    case IR_I32: {
        uint32_t low = (uint32_t)(uint64_t)v; /* i32 keeps the low 32 bits, as NumPy's astype */
        ((int32_t *)t->data)[i] = low <= INT32_MAX ? (int32_t)low : (int32_t)((int64_t)low - 0x100000000LL);
        break;
    }
    case IR_I64: ((int64_t *)t->data)[i] = v; break;
    case IR_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
    case IR_F32: ((float *)t->data)[i] = (float)v; break; /* one rounding, even above 2^53 */
    default: ir_tensor_set(t, i, (double)(float)v); break;
    }
}

void ir_kern_copy_elem(ir_tensor *out, int64_t oi, const ir_tensor *in, int64_t ii) {
    ir_dtype dt = out->type.dtype;
    if (dt == in->type.dtype) {
        size_t size = ir_dtype_size(dt);
        memcpy((char *)out->data + (size_t)oi * size, (const char *)in->data + (size_t)ii * size, size);
    } else if (ir_dtype_is_float(in->type.dtype)) {
        ir_tensor_set(out, oi, ir_tensor_get(in, ii));
    } else {
        ir_tensor_set_i64(out, oi, ir_tensor_get_i64(in, ii));
    }
}

/* ---- the graph runner ---------------------------------------------------------------------- */

/* Input and param nodes are bound by ir_interp_graph to the caller's tensors; no kernel runs. */
bool interp_bound(const ir_node *n, const ir_tensor *in, ir_tensor *out, ir_diag *d) {
    (void)n, (void)in, (void)out, (void)d;
    ir_internal_error(__FILE__, __LINE__, "interp_bound: input and param nodes are bound, not run");
}

typedef struct interp_state {
    const ir_graph *g;
    ir_tensor *values;   /* one per node; data NULL when not live */
    bool *borrowed;      /* values[i] is the caller's tensor: never freed here */
    int *last_use;       /* id of the last node reading values[i]; n_nodes for graph outputs */
} interp_state;

static void state_free(interp_state *s) {
    if (s->values && s->borrowed)
        for (int i = 0; i < s->g->n_nodes; i++)
            if (!s->borrowed[i]) ir_tensor_free(&s->values[i]);
    free(s->values);
    free(s->borrowed);
    free(s->last_use);
}

static bool state_init(interp_state *s, const ir_graph *g) {
    size_t n = (size_t)g->n_nodes + 1;
    s->g = g;
    s->values = calloc(n, sizeof *s->values);
    s->borrowed = calloc(n, sizeof *s->borrowed);
    s->last_use = calloc(n, sizeof *s->last_use);
    if (!s->values || !s->borrowed || !s->last_use) return false;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *node = g->nodes[i];
        s->last_use[i] = i; /* an unused value dies right after it is computed */
        for (int k = 0; k < node->n_in; k++) {
            IR_ASSERT(node->in[k] >= 0 && node->in[k] < i);
            s->last_use[node->in[k]] = i;
        }
    }
    for (int i = 0; i < g->n_outputs; i++) s->last_use[g->output_nodes[i]] = g->n_nodes;
    return true;
}

/* Points an input or param node at the caller's tensor, which must have the node's type. */
static void bind_leaf(interp_state *s, const ir_node *node, const ir_tensor *params, const ir_tensor *inputs) {
    const ir_tensor *src;
    if (node->op == IR_OP_INPUT) {
        int64_t k = node->attr[IR_ATTR_INDEX].v[0];
        IR_ASSERT(k >= 0 && k < s->g->n_inputs);
        src = &inputs[k];
    } else {
        int64_t k = node->attr[IR_ATTR_PARAM].v[0];
        IR_ASSERT(k >= 0 && k < s->g->module->n_params);
        src = &params[k];
    }
    IR_ASSERT(ir_type_equal(&src->type, &node->type) && src->data);
    s->values[node->id] = *src;
    s->borrowed[node->id] = true;
}

static bool run_node(interp_state *s, const ir_node *node, ir_diag *d) {
    enum { MAX_INLINE = 8 };
    ir_tensor inline_ops[MAX_INLINE], *ops = inline_ops;
    if (node->n_in > MAX_INLINE && !(ops = ir_kern_alloc(node, (size_t)node->n_in, sizeof *ops, d))) return false;
    for (int k = 0; k < node->n_in; k++) {
        ops[k] = s->values[node->in[k]];
        IR_ASSERT(ops[k].data != NULL);
    }
    ir_tensor *out = &s->values[node->id];
    bool ok = ir_tensor_alloc(out, &node->type);
    if (!ok)
        ir_error(d, node->loc, "%s: out of memory for the result", ir_op_table[node->op].name);
    else
        ok = ir_op_table[node->op].kernel(node, ops, out, d);
    if (ops != inline_ops) free(ops);
    return ok;
}

/* Frees the values whose last reader was node `id` (and `id` itself when nothing reads it). */
static void release_dead(interp_state *s, const ir_node *node) {
    for (int k = 0; k < node->n_in; k++) {
        int src = node->in[k];
        if (s->last_use[src] == node->id && !s->borrowed[src]) ir_tensor_free(&s->values[src]);
    }
    if (s->last_use[node->id] == node->id && !s->borrowed[node->id]) ir_tensor_free(&s->values[node->id]);
}

static bool copy_outputs(interp_state *s, ir_tensor *outputs, ir_diag *d) {
    const ir_graph *g = s->g;
    for (int i = 0; i < g->n_outputs; i++) {
        const ir_tensor *v = &s->values[g->output_nodes[i]];
        if (!ir_tensor_alloc(&outputs[i], &v->type)) {
            ir_error(d, g->loc, "graph '%s': out of memory for output '%s'", g->name, g->output_names[i]);
            for (int k = 0; k < i; k++) ir_tensor_free(&outputs[k]);
            return false;
        }
        memcpy(outputs[i].data, v->data, (size_t)ir_type_elems(&v->type) * ir_dtype_size(v->type.dtype));
    }
    return true;
}

bool ir_interp_graph(const ir_graph *g, const ir_tensor *params, const ir_tensor *inputs, ir_tensor *outputs,
                     ir_diag *d) {
    for (int i = 0; i < g->n_inputs; i++) IR_ASSERT(ir_type_equal(&inputs[i].type, &g->input_types[i]));
    for (int i = 0; i < g->n_outputs; i++) outputs[i].data = NULL;
    if (g->minimize) {   /* run as it is, the step would not train: say so, as interp_grad does */
        ir_error(d, g->minimize->loc, "minimize: not lowered; the optimizer pass must run before the graph (it is "
                                      "in every -O pipeline)");
        return false;
    }
    interp_state s = {0};
    bool ok = state_init(&s, g);
    if (!ok) ir_error(d, g->loc, "graph '%s': out of memory", g->name);
    for (int i = 0; ok && i < g->n_nodes; i++) {
        const ir_node *node = g->nodes[i];
        if (node->op == IR_OP_INPUT || node->op == IR_OP_PARAM) {
            bind_leaf(&s, node, params, inputs);
            continue;
        }
        ok = run_node(&s, node, d);
        if (ok) release_dead(&s, node);
    }
    if (ok) ok = copy_outputs(&s, outputs, d);
    state_free(&s);
    return ok;
}
