/* sgemm_avx512.c — the runtime's own f32 matrix product for x86-64 CPUs with AVX-512: C = A·B (row
 * major, either operand transposed), computed by a 6 × 64 register tile (24 zmm accumulators,
 * one 512-bit FMA per cycle on Zen 4 and Intel cores alike). It reads A in place, broadcasting
 * one element per row and k (no packing of A, whose rows stream from L1/L2). B is read in place
 * too when its rows are contiguous (not transposed): the tile's four vector loads per k are then
 * one row's 64 columns, as fast as from a packed panel at the workloads' shapes, with no copy.
 * A transposed B is packed into panels of 64 columns × KC rows as it goes, and a caller that
 * multiplies by the same B again (weights) keeps a packed copy (rt_sgemm_avx512_pack_b /
 * rt_sgemm_avx512_packed), the fastest form: contiguous, aligned, and packed once.
 *
 * Blocking (BLIS's scheme with MLAS's choice of operands): k in blocks of KC = 256 (a 6 × 256
 * sliver of A is 6 KB, in L1 across a row of panels; a 256 × 64 panel of B is 64 KB, read from
 * L2), columns in blocks of NC = 512 (the packed block, 512 KB, stays in L2 while every row
 * sliver passes over it). Each C element sums its k products in increasing k, one block after
 * another, whatever m, n and the tile grid around the call: results do not depend on how a
 * caller splits C into tiles. */
#include "runtime/sgemm_avx512.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RT_SGEMM_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#define MR 6
#define NR RT_SGEMM_AVX512_PANEL
#define NV (NR / 16) /* zmm vectors per tile row */
#define KC 256
#define NC 512

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

size_t rt_sgemm_avx512_packed_floats(int64_t n, int64_t k) {
    return (size_t)(ceil_div(n, NR) * NR) * (size_t)(k > 0 ? k : 0);
}

/* ---- packing B --------------------------------------------------------------------------------
 * Packed layout: for each block of KC rows (k0 = 0, KC, ...), for each panel of NR columns, kc
 * rows of NR floats (columns past n are zeros). Block kb starts at k0 * round_up(n, NR); panel p
 * of it at p * kc * NR. */

/* One panel of a transposed B: dst[kk · NR + j] = b[j · ldb + k0 + kk] for j < w, kk < kc. */
static void pack_transposed_panel(const float *b, int64_t ldb, int64_t w, int64_t k0, int64_t kc, float *dst);

static void pack_block(bool trans_b, const float *b, int64_t ldb, int64_t n, int64_t k0, int64_t kc, float *dst) {
    for (int64_t j0 = 0; j0 < n; j0 += NR, dst += kc * NR) {
        int64_t w = n - j0 < NR ? n - j0 : NR;
        if (trans_b) {
            pack_transposed_panel(b + j0 * ldb, ldb, w, k0, kc, dst);
            for (int64_t j = w; j < NR; j++)
                for (int64_t kk = 0; kk < kc; kk++) dst[kk * NR + j] = 0.0f;
            continue;
        }
        for (int64_t kk = 0; kk < kc; kk++) {
            float *row = dst + kk * NR;
            memcpy(row, b + (k0 + kk) * ldb + j0, (size_t)w * sizeof(float));
            if (w < NR) memset(row + w, 0, (size_t)(NR - w) * sizeof(float));
        }
    }
}

void rt_sgemm_avx512_pack_b(bool trans_b, int64_t n, int64_t k, const float *b, int64_t ldb, float *packed) {
    int64_t np = ceil_div(n, NR) * NR;
    for (int64_t k0 = 0; k0 < k; k0 += KC) {
        int64_t kc = k - k0 < KC ? k - k0 : KC;
        pack_block(trans_b, b, ldb, n, k0, kc, packed + k0 * np);
    }
}

/* ---- the micro-kernel -------------------------------------------------------------------------- */

#ifdef RT_SGEMM_X86

#define AVX512 __attribute__((target("avx512f,avx512vl,fma")))

/* C[0:mr, 0:w] (=|+=) A[0:mr, 0:kc] · B[0:kc, 0:w], w <= NR; C's columns from w on are left
   alone. A's element (i, k) is a[i * rs + k * cs]; B's row k starts at p + k * ps (ps = NR in a
   packed panel, B's own row stride when B is read in place; masked loads never touch the columns
   from w on), or, with `offsets`, at p + koff[k] (a convolution's taps over a padded image). mr
   and offsets are constants in every instance (the wrappers below), so the accumulators stay in
   registers: 6 rows × 4 vectors. Per k: 4 vector loads of B, 6 broadcasts of A, 24 FMAs. Only
   the instances for a partial panel (edge, w < NR) mask their loads and stores: on Zen 4 a
   masked load costs a vector-pipe operation besides the load, and four of them per 24 FMAs
   measured 12 % slower. */
static inline __attribute__((always_inline)) AVX512 void tile(int mr, bool offsets, bool edge, int64_t kc,
                                                              const float *a, int64_t rs, int64_t cs, const float *p,
                                                              int64_t ps, const int64_t *koff, float *c, int64_t ldc,
                                                              int w, bool add) {
    __mmask16 mask[NV];
    for (int v = 0; v < NV; v++) {
        int left = w - 16 * v;
        mask[v] = left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
    }
    __m512 acc[MR][NV];
    /* Unrolled (mr is a constant) so that the accumulators are registers, not an array. */
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        const float *pk = offsets ? p + koff[k] : p + k * ps;
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            bv[v] = edge ? _mm512_maskz_loadu_ps(mask[v], pk + 16 * v) : _mm512_loadu_ps(pk + 16 * v);
        const float *ak = a + k * cs;
#pragma GCC unroll 12
        for (int i = 0; i < mr; i++) {
            __m512 ai = _mm512_set1_ps(ak[i * rs]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            if (add)
                acc[i][v] = _mm512_add_ps(acc[i][v], edge ? _mm512_maskz_loadu_ps(mask[v], ci + 16 * v)
                                                          : _mm512_loadu_ps(ci + 16 * v));
            if (edge)
                _mm512_mask_storeu_ps(ci + 16 * v, mask[v], acc[i][v]);
            else
                _mm512_storeu_ps(ci + 16 * v, acc[i][v]);
        }
    }
}

typedef void (*tile_fn)(int64_t kc, const float *a, int64_t rs, int64_t cs, const float *p, int64_t ps,
                        const int64_t *koff, float *c, int64_t ldc, int w, bool add);

#define TILE_VARIANT(NAME, R, OFFSETS, EDGE)                                                                           \
    static AVX512 void NAME##_##R(int64_t kc, const float *a, int64_t rs, int64_t cs, const float *p, int64_t ps,      \
                                  const int64_t *koff, float *c, int64_t ldc, int w, bool add) {                       \
        tile(R, OFFSETS, EDGE, kc, a, rs, cs, p, ps, koff, c, ldc, w, add);                                            \
    }
#define TILE(R)                                                                                                        \
    TILE_VARIANT(tile, R, false, false)                                                                                \
    TILE_VARIANT(tile_edge, R, false, true)                                                                            \
    TILE_VARIANT(tile_off, R, true, false)                                                                             \
    TILE_VARIANT(tile_off_edge, R, true, true)
TILE(1)
TILE(2)
TILE(3)
TILE(4)
TILE(5)
TILE(6)

/* By [offsets][edge][rows]. */
static const tile_fn tiles[2][2][MR + 1] = {
    {{NULL, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6},
     {NULL, tile_edge_1, tile_edge_2, tile_edge_3, tile_edge_4, tile_edge_5, tile_edge_6}},
    {{NULL, tile_off_1, tile_off_2, tile_off_3, tile_off_4, tile_off_5, tile_off_6},
     {NULL, tile_off_edge_1, tile_off_edge_2, tile_off_edge_3, tile_off_edge_4, tile_off_edge_5, tile_off_edge_6}},
};

/* One k block against one column block of B, packed (ps = 0: panels of kc × NR at b + j0 · kc),
   read in place (row stride ps) or through row offsets (koff, ps ignored): every MR-row sliver
   of A passes over the block's panels while they sit in L2. */
static void block(bool trans_a, int64_t m, int64_t n, int64_t kc, const float *a, int64_t lda, const float *b,
                  int64_t ps, const int64_t *koff, float *c, int64_t ldc, bool add) {
    int64_t rs = trans_a ? 1 : lda, cs = trans_a ? lda : 1;
    bool packed = !ps && !koff; /* else panel j0 starts at b + j0 */
    for (int64_t i0 = 0; i0 < m; i0 += MR) {
        int mr = (int)(m - i0 < MR ? m - i0 : MR);
        for (int64_t j0 = 0; j0 < n; j0 += NR) {
            int w = (int)(n - j0 < NR ? n - j0 : NR);
            tile_fn f = tiles[koff != NULL][w < NR][mr];
            const float *p = packed ? b + j0 * kc : b + j0;
            f(kc, a + i0 * rs, rs, cs, p, packed ? NR : ps, koff, c + i0 * ldc + j0, ldc, w, add);
        }
    }
}

/* dst[r · ldd + c] = src[c · ld + r] for a 16 × 16 block: the classic three rounds of shuffles
   (pairs of rows, quads within 128-bit lanes, then the lanes). */
static AVX512 void transpose16(const float *src, int64_t ld, float *dst, int64_t ldd) {
    __m512 r[16], t[16], u[16], v[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * ld);
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        v[i] = _mm512_shuffle_f32x4(u[i], u[4 + i], 0x88);
        v[4 + i] = _mm512_shuffle_f32x4(u[i], u[4 + i], 0xDD);
        v[8 + i] = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0x88);
        v[12 + i] = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0xDD);
    }
    for (int i = 0; i < 8; i++) {
        _mm512_storeu_ps(dst + i * ldd, _mm512_shuffle_f32x4(v[i], v[8 + i], 0x88));
        _mm512_storeu_ps(dst + (8 + i) * ldd, _mm512_shuffle_f32x4(v[i], v[8 + i], 0xDD));
    }
}

/* 16 × 16 blocks in registers (a scalar transpose writes one float per cache line), the edges
   one element at a time. */
static void pack_transposed_panel(const float *b, int64_t ldb, int64_t w, int64_t k0, int64_t kc, float *dst) {
    int64_t wf = w / 16 * 16, kf = kc / 16 * 16;
    for (int64_t j = 0; j < wf; j += 16)
        for (int64_t kk = 0; kk < kf; kk += 16) transpose16(b + j * ldb + k0 + kk, ldb, dst + kk * NR + j, NR);
    for (int64_t j = 0; j < w; j++) {
        const float *src = b + j * ldb + k0;
        for (int64_t kk = j < wf ? kf : 0; kk < kc; kk++) dst[kk * NR + j] = src[kk];
    }
}

static bool detect_avx512(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE) || !(ecx & bit_FMA)) return false;
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    if ((lo & 0xe6) != 0xe6) return false; /* the OS saves the xmm, ymm and zmm state */
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    return (ebx & bit_AVX512F) && (ebx & bit_AVX512VL);
}

bool rt_sgemm_avx512_available(void) {
    static int state; /* 0 unknown, 1 yes, 2 no; racing first calls compute the same answer */
    int s = __atomic_load_n(&state, __ATOMIC_RELAXED);
    if (!s) {
        s = detect_avx512() ? 1 : 2;
        const char *env = getenv("TFC_SGEMM");
        if (env && strcmp(env, "blas") == 0) s = 2;
        __atomic_store_n(&state, s, __ATOMIC_RELAXED);
    }
    return s == 1;
}

#else

bool rt_sgemm_avx512_available(void) { return false; }

static void pack_transposed_panel(const float *b, int64_t ldb, int64_t w, int64_t k0, int64_t kc, float *dst) {
    for (int64_t j = 0; j < w; j++)
        for (int64_t kk = 0; kk < kc; kk++) dst[kk * NR + j] = b[j * ldb + k0 + kk];
}

static void block(bool trans_a, int64_t m, int64_t n, int64_t kc, const float *a, int64_t lda, const float *b,
                  int64_t ps, const int64_t *koff, float *c, int64_t ldc, bool add) {
    (void)trans_a, (void)m, (void)n, (void)kc, (void)a, (void)lda, (void)b, (void)ps, (void)koff, (void)c, (void)ldc,
        (void)add;
}

#endif

/* ---- the product ------------------------------------------------------------------------------- */

void rt_sgemm_avx512_packed(bool trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                            const float *packed, int64_t n_total, int64_t col0, float *c, int64_t ldc) {
    int64_t np = ceil_div(n_total, NR) * NR;
    for (int64_t k0 = 0; k0 < k; k0 += KC) {
        int64_t kc = k - k0 < KC ? k - k0 : KC;
        const float *ak = a + (trans_a ? k0 * lda : k0);
        block(trans_a, m, n, kc, ak, lda, packed + k0 * np + col0 * kc, 0, NULL, c, ldc, k0 > 0);
    }
}

void rt_sgemm_avx512_direct(bool trans_a, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                            int64_t ldb, float *c, int64_t ldc) {
    for (int64_t j0 = 0; j0 < n; j0 += NC) {
        int64_t w = n - j0 < NC ? n - j0 : NC;
        for (int64_t k0 = 0; k0 < k; k0 += KC) {
            int64_t kc = k - k0 < KC ? k - k0 : KC;
            block(trans_a, m, w, kc, a + (trans_a ? k0 * lda : k0), lda, b + k0 * ldb + j0, ldb, NULL, c + j0, ldc,
                  k0 > 0);
        }
    }
}

void rt_sgemm_avx512_offsets(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                             const int64_t *koff, float *c, int64_t ldc) {
    for (int64_t j0 = 0; j0 < n; j0 += NC) {
        int64_t w = n - j0 < NC ? n - j0 : NC;
        for (int64_t k0 = 0; k0 < k; k0 += KC) {
            int64_t kc = k - k0 < KC ? k - k0 : KC;
            block(false, m, w, kc, a + k0, lda, b + j0, 0, koff + k0, c + j0, ldc, k0 > 0);
        }
    }
}

/* One packing buffer per thread (at most KC × NC floats, 512 KB), kept for the thread's later
   calls and freed when it exits. */
typedef struct pack_buffer {
    float *data;
    size_t capacity;
} pack_buffer;

static pthread_key_t buffer_key;
static pthread_once_t buffer_once = PTHREAD_ONCE_INIT;
static bool buffer_key_ok;

static void free_buffer(void *p) {
    pack_buffer *b = p;
    free(b->data);
    free(b);
}

static void make_buffer_key(void) { buffer_key_ok = pthread_key_create(&buffer_key, free_buffer) == 0; }

static float *thread_buffer(size_t floats) {
    pthread_once(&buffer_once, make_buffer_key);
    if (!buffer_key_ok) return NULL;
    pack_buffer *b = pthread_getspecific(buffer_key);
    if (!b) {
        if (!(b = calloc(1, sizeof *b))) return NULL;
        if (pthread_setspecific(buffer_key, b) != 0) {
            free(b);
            return NULL;
        }
    }
    if (floats > b->capacity) {
        free(b->data);
        b->data = aligned_alloc(64, floats * sizeof(float));
        b->capacity = b->data ? floats : 0;
    }
    return b->data;
}

bool rt_sgemm_avx512_suits(int64_t m, int64_t n, int64_t k) { return m > 0 && n >= 48 && k > 0; }

bool rt_sgemm_avx512(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float *c, int64_t ldc) {
    if (!rt_sgemm_avx512_available() || !rt_sgemm_avx512_suits(m, n, k)) return false;
    double macs = (double)m * (double)n * (double)k;
    /* B's rows contiguous: read in place, no copy, as fast as a packed B at the workloads' shapes
       (and 2-3 x OpenBLAS at 4-8 rows); below 2^17 multiply-adds OpenBLAS's small-matrix
       kernels are as fast or faster. */
    if (!trans_b) {
        if (macs < 131072.0) return false;
        rt_sgemm_avx512_direct(trans_a, m, n, k, a, lda, b, ldb, c, ldc);
        return true;
    }
    /* B transposed is packed per call: worth it from 16 rows and 2^19 multiply-adds. */
    if (m < 16 || macs < 524288.0) return false;
    int64_t nb = n < NC ? n : NC, kb = k < KC ? k : KC;
    float *pack = thread_buffer(rt_sgemm_avx512_packed_floats(nb, kb));
    if (!pack) return false;
    for (int64_t j0 = 0; j0 < n; j0 += NC) {
        int64_t w = n - j0 < NC ? n - j0 : NC;
        for (int64_t k0 = 0; k0 < k; k0 += KC) {
            int64_t kc = k - k0 < KC ? k - k0 : KC;
            pack_block(trans_b, trans_b ? b + j0 * ldb : b + j0, ldb, w, k0, kc, pack);
            block(trans_a, m, w, kc, a + (trans_a ? k0 * lda : k0), lda, pack, 0, NULL, c + j0, ldc, k0 > 0);
        }
    }
    return true;
}
