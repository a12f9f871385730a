/* math_harness.h — for the accuracy test of codegen/cpu/math.c: one loop per math function,
 * out[i] = f(x[i]) (or f(x[i], y[i])), emitted with cg_cpu_emit_math into a module of its own,
 * optimized with default<O3> for a target CPU and compiled by ORC LLJIT; plus what the loop
 * vectorizer made of each loop. Independent of the rest of the CPU backend. */
#ifndef TFC_TEST_MATH_HARNESS_H
#define TFC_TEST_MATH_HARNESS_H

#include "codegen/codegen.h"

#include <stddef.h>
#include <stdint.h>

typedef void (*math_unary_loop)(const float *x, float *out, int64_t n);
typedef void (*math_binary_loop)(const float *x, const float *y, float *out, int64_t n);

/* The math functions of cg_cpu_emit_math, in the order the test reports them. */
extern const cg_fn math_harness_fns[];
extern const int math_harness_n_fns;

typedef struct math_harness math_harness;

/* cpu: an LLVM CPU name, or NULL for the host CPU and its features. lanes: 1, the loops call
 * cg_cpu_emit_math on f32 values and the loop vectorizer widens them; or N > 1, they call it on
 * <N x float> values themselves, and n must be a multiple of N. NULL after writing why into
 * err. */
math_harness *math_harness_create(const char *cpu, int lanes, char *err, size_t err_size);
void math_harness_destroy(math_harness *h); /* NULL is ignored */

const char *math_harness_cpu(const math_harness *h);
int math_harness_lanes(const math_harness *h);
bool math_harness_has_feature(const math_harness *h, const char *feature); /* "+avx2" */
math_unary_loop math_harness_unary(const math_harness *h, cg_fn f);
math_binary_loop math_harness_binary(const math_harness *h, cg_fn f);

/* The widest <N x float> in f's optimized loop (0: not vectorized), and whether the loop
 * still calls anything but an LLVM intrinsic. */
int math_harness_vector_width(const math_harness *h, cg_fn f);
bool math_harness_has_calls(const math_harness *h, cg_fn f);

#endif
