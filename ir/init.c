/* init.c — parameter initializers: constants, random draws and loads from .npy or safetensors.
 * Random values are a pure function of (seed, parameter name): a splitmix64 stream seeded
 * with FNV-1a(name) mixed with the seed, so adding a parameter never changes another's values. */
#include "ir/kernels.h"
#include "runtime/tensor_file.h"

#include <math.h>
#include <string.h>

static const double TWO_PI = 6.28318530717958647692;

typedef struct init_rng {
    uint64_t state;
    bool has_spare;      /* Box-Muller makes normals in pairs */
    double spare;
} init_rng;

/* splitmix64 (Steele, Lea, Flood 2014): a Weyl sequence through a 64-bit finalizer. */
uint64_t ir_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

static init_rng rng_for(uint64_t seed, const char *name) {
    uint64_t s = seed;
    return (init_rng){fnv1a(name) ^ ir_splitmix64(&s), false, 0};
}

/* The top 53 bits as a double in [0, 1). */
static double rng_uniform(init_rng *r) { return (double)(ir_splitmix64(&r->state) >> 11) * 0x1p-53; }

/* Box-Muller: r = sqrt(-2 ln u1), u1 in (0, 1] so the log is finite; z = r cos, r sin (2 pi u2). */
static double rng_normal(init_rng *r) {
    if (r->has_spare) {
        r->has_spare = false;
        return r->spare;
    }
    double u1 = 1.0 - rng_uniform(r), u2 = rng_uniform(r);
    double radius = sqrt(-2.0 * log(u1));
    r->spare = radius * sin(TWO_PI * u2);
    r->has_spare = true;
    return radius * cos(TWO_PI * u2);
}

/* Fans as PyTorch computes them, except that a rank-2 weight is [in, out] (tfc computes x @ w):
 * rank >= 3 is OIHW with receptive field prod(dims[2:]). */
static void fans(const ir_type *t, double *fan_in, double *fan_out) {
    if (t->rank == 0) {
        *fan_in = *fan_out = 1;
    } else if (t->rank == 1) {
        *fan_in = *fan_out = (double)t->dims[0];
    } else if (t->rank == 2) {
        *fan_in = (double)t->dims[0];
        *fan_out = (double)t->dims[1];
    } else {
        double receptive = (double)ir_kern_span(t, 2, t->rank);
        *fan_in = (double)t->dims[1] * receptive;
        *fan_out = (double)t->dims[0] * receptive;
    }
}

static const char *init_name(ir_init_kind kind) {
    switch (kind) {
    case IR_INIT_NORMAL: return "normal";
    case IR_INIT_UNIFORM: return "uniform";
    case IR_INIT_GLOROT: return "glorot";
    case IR_INIT_HE: return "he";
    default: return "?";
    }
}

static bool fill_random(const ir_param *p, uint64_t seed, ir_tensor *t, ir_diag *d) {
    char buf[128];
    if (!ir_dtype_is_float(p->type.dtype)) {
        ir_error(d, p->loc, "parameter '%s' of type %s cannot use the random initializer %s(): it needs a float type",
                 p->name, ir_type_str(&p->type, buf, sizeof buf), init_name(p->init.kind));
        return false;
    }
    double fan_in, fan_out;
    fans(&p->type, &fan_in, &fan_out);
    double lo = p->init.a, hi = p->init.b, std = p->init.a;
    if (p->init.kind == IR_INIT_GLOROT) hi = sqrt(6.0 / (fan_in + fan_out)), lo = -hi;
    if (p->init.kind == IR_INIT_HE) std = sqrt(2.0 / fan_in);
    bool normal = p->init.kind == IR_INIT_NORMAL || p->init.kind == IR_INIT_HE;
    init_rng rng = rng_for(seed, p->name);
    int64_t count = ir_type_elems(&p->type);
    for (int64_t i = 0; i < count; i++)
        ir_tensor_set(t, i, normal ? std * rng_normal(&rng) : lo + (hi - lo) * rng_uniform(&rng));
    return true;
}

/* The array's type as text ("f32[3,4]"), or a description when it has no IR type. */
static const char *array_type_str(const rt_array *a, char *buf, size_t size) {
    if ((unsigned)a->dtype >= IR_DTYPE_COUNT || a->rank < 0 || a->rank > IR_MAX_RANK) return "an unsupported array";
    ir_type t = {(ir_dtype)a->dtype, a->rank, {0}};
    for (int i = 0; i < a->rank; i++) t.dims[i] = a->dims[i];
    return ir_type_str(&t, buf, size);
}

static bool copy_loaded(const ir_param *p, const rt_array *a, ir_tensor *t, ir_diag *d) {
    char want[128], got[128];
    ir_type_str(&p->type, want, sizeof want);
    array_type_str(a, got, sizeof got);
    size_t bytes = (size_t)ir_type_elems(&p->type) * ir_dtype_size(p->type.dtype);
    if (strcmp(want, got) != 0 || a->nbytes != bytes) {
        if (p->init.key)
            ir_error(d, p->loc, "%s: tensor '%s' is %s, but parameter '%s' is %s", p->init.path, p->init.key, got,
                     p->name, want);
        else
            ir_error(d, p->loc, "%s: the array is %s, but parameter '%s' is %s", p->init.path, got, p->name, want);
        return false;
    }
    if (bytes) memcpy(t->data, a->data, bytes);
    return true;
}

/* load("file.safetensors", "key") or load("file.npy"). */
static bool load_param(const ir_param *p, ir_tensor *t, ir_diag *d) {
    char err[512], want[128];
    bool ok = false;
    if (!p->init.key) {
        rt_array a = {0};
        if (rt_npy_read(p->init.path, &a, err, sizeof err) != 0)
            ir_error(d, p->loc, "%s (loading parameter '%s')", err, p->name);
        else
            ok = copy_loaded(p, &a, t, d);
        rt_array_free(&a);
        return ok;
    }
    rt_array_set set = {0};
    if (rt_safetensors_read(p->init.path, &set, err, sizeof err) != 0) {
        ir_error(d, p->loc, "%s (loading parameter '%s')", err, p->name);
    } else {
        const rt_array *a = rt_array_set_find(&set, p->init.key);
        if (a)
            ok = copy_loaded(p, a, t, d);
        else
            ir_error(d, p->loc, "%s: no tensor '%s' (parameter '%s' is %s)", p->init.path, p->init.key, p->name,
                     ir_type_str(&p->type, want, sizeof want));
    }
    rt_array_set_free(&set);
    return ok;
}

static void fill_value(ir_tensor *t, double v) {
    int64_t count = ir_type_elems(&t->type);
    for (int64_t i = 0; i < count; i++) ir_tensor_set(t, i, v);
}

bool ir_param_init(const ir_param *p, uint64_t seed, ir_tensor *t, ir_diag *d) {
    IR_ASSERT(ir_type_equal(&t->type, &p->type) && t->data);
    switch (p->init.kind) {
    case IR_INIT_NONE:
        ir_error(d, p->loc, "parameter '%s' has no initializer and no value in the weights file", p->name);
        return false;
    case IR_INIT_ZEROS: fill_value(t, 0); return true;
    case IR_INIT_ONES: fill_value(t, 1); return true;
    case IR_INIT_FULL: fill_value(t, p->init.a); return true;
    case IR_INIT_NORMAL:
    case IR_INIT_UNIFORM:
    case IR_INIT_GLOROT:
    case IR_INIT_HE: return fill_random(p, seed, t, d);
    case IR_INIT_LOAD: return load_param(p, t, d);
    }
    ir_internal_error(__FILE__, __LINE__, "bad initializer kind");
}
