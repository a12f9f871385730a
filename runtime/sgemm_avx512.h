/* sgemm_avx512.h — the runtime's own f32 matrix product for CPUs with AVX-512 (sgemm_avx512.c
 * says how it works). The executor's GEMM and convolution steps call it in place of OpenBLAS's
 * sgemm where the CPU has AVX-512F and AVX-512VL (checked once, at run time: the library itself
 * is built for generic x86-64) and fall back to OpenBLAS elsewhere. TFC_SGEMM=blas in the
 * environment makes it always fall back (to compare the two). All matrices are row major. */
#ifndef TFC_RUNTIME_SGEMM_AVX512_H
#define TFC_RUNTIME_SGEMM_AVX512_H

#include <stdbool.h>

/* Columns per packed panel: a packed B may be split between callers only at multiples of it. */
#define RT_SGEMM_AVX512_PANEL 64

#include <stddef.h>
#include <stdint.h>

/* Whether this CPU and OS run the AVX-512 kernel (and TFC_SGEMM is not "blas"). */
bool rt_sgemm_avx512_available(void);

/* C[m×n] = op(A)[m×k] · op(B)[k×n] with leading dimensions lda, ldb, ldc (op = transpose when
   trans_*: A then holds k×m, B n×k). Reads B in place, or, transposed, packs it as it goes into
   a buffer per thread. False, with C untouched, when the kernel is not available, does not suit
   the shape (as _suits, and at least 2^17 multiply-adds; with B transposed at least 16 rows and
   2^19 multiply-adds: OpenBLAS is as fast on tiny products), or the buffer cannot be allocated:
   the caller then uses BLAS. */
bool rt_sgemm_avx512(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float *c, int64_t ldc);

/* Whether the kernel is the better choice for an m×n×k product with B packed in advance: n of at
   least 48; narrower products (logits) waste most of the 64-column tile. */
bool rt_sgemm_avx512_suits(int64_t m, int64_t n, int64_t k);

/* Floats of the packed form of a k×n B. */
size_t rt_sgemm_avx512_packed_floats(int64_t n, int64_t k);

/* Packs op(B) (k×n) into `packed` (rt_sgemm_avx512_packed_floats(n, k) floats, 64-byte aligned). */
void rt_sgemm_avx512_pack_b(bool trans_b, int64_t n, int64_t k, const float *b, int64_t ldb, float *packed);

/* C[m×n] = op(A)[m×k] · B[k×n] with B (not transposed) read in place, row stride ldb: no packing,
   for a B that is itself a fresh copy (convolution columns). Only when available() is true and
   m, n, k > 0. Same summation order as the packed forms, so the same results. */
void rt_sgemm_avx512_direct(bool trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                            int64_t ldb, float *c, int64_t ldc);

/* C[m×n] = A[m×k] · B[k×n] where B's row k starts at b + koff[k] (any offsets: a convolution's
   taps over a padded image, each row a shifted window of it). Only when available() is true
   and m, n, k > 0; every b[koff[k] + j], j < n, must be readable. */
void rt_sgemm_avx512_offsets(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                             const int64_t *koff, float *c, int64_t ldc);

/* C[m×n] = op(A)[m×k] · B[k×n], where B is columns col0 .. col0 + n - 1 of an n_total-column B
   packed by rt_sgemm_avx512_pack_b (col0 a multiple of RT_SGEMM_AVX512_PANEL). Only when
   available() is true. */
void rt_sgemm_avx512_packed(bool trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                            const float *packed, int64_t n_total, int64_t col0, float *c, int64_t ldc);

#endif
