/*
 * Convolution as a GEMM with pre-packed weights, AVX-512 micro-kernel.
 *
 * C[m, p] = sum_k W[m, k] * X[k, p] per (image, group): m output channels,
 * p output positions, k = (input channel, tap).  The weights are packed once
 * (lk_conv_pack_weights) into panels of MR = 12 rows laid out [k][12]; the
 * input is packed per task into panels of NR = 32 positions laid out [k][32]
 * straight from the image (im2col fused into packing, so the column matrix
 * never exists in full).  The 12 x 32 micro-kernel keeps its tile in 24 zmm
 * registers across a KC-long slice of k, broadcasting weights and loading
 * input rows (the BLIS/MLAS scheme).  Bias, residual and activation run on
 * each finished tile while it is in L1.
 *
 * Built only for x86-64 with GCC/Clang; lk_conv_packed_available() says
 * whether this CPU runs it (AVX-512F), else lk_conv2d_f32 uses im2col + GEMM.
 */
#include <math.h>
#include <string.h>

#include "lk_internal.h"

#define MR 12
#define NR 32
#define KC 384
#define TILE_PANELS 8 /* B panels packed per task: 256 output positions */

/* The packed weight layout, float32 or bf16: per group, panels of MR rows (the last one zero-padded), each laid
 * out [k_units][MR] with k_units = k (float32) or ceil(k / 2) (bf16 pairs, an odd k's last pair zero-padded).
 * Both sizes and both packers follow this one walk. */
static size_t packed_units(int m, int k, int groups, int pairs) {
    if (m <= 0 || k <= 0 || groups <= 0 || m % groups) return 0;
    size_t panels = (size_t)(m / groups + MR - 1) / MR;
    return (size_t)groups * panels * MR * (size_t)(pairs ? (k + 1) / 2 : k);
}

/* w[g][row][kk] of the [groups][m / groups][k] weights, 0 for the rows that pad the last panel */
static inline float weight_or_pad(const float *w, int g, int mg, int row, int k, int kk) {
    return row < mg ? w[((size_t)g * mg + row) * k + kk] : 0.0f;
}

static void pack_panels(const float *w, int m, int k, int groups, int pairs, void *out) {
    int mg = m / groups, panels = (mg + MR - 1) / MR, units = pairs ? (k + 1) / 2 : k;
    for (int g = 0; g < groups; g++)
        for (int pnl = 0; pnl < panels; pnl++) {
            size_t panel = ((size_t)g * panels + pnl) * MR * units;
            for (int u = 0; u < units; u++)
                for (int r = 0; r < MR; r++) {
                    int row = pnl * MR + r;
                    size_t at = panel + (size_t)u * MR + r;
                    if (pairs)
                        ((uint32_t *)out)[at] =
                            lk_bf16_pair(weight_or_pad(w, g, mg, row, k, 2 * u),
                                         2 * u + 1 < k ? weight_or_pad(w, g, mg, row, k, 2 * u + 1) : 0.0f);
                    else
                        ((float *)out)[at] = weight_or_pad(w, g, mg, row, k, u);
                }
        }
}

size_t lk_conv_packed_floats(int m, int k, int groups) { return packed_units(m, k, groups, 0); }

void lk_conv_pack_weights(const float *w, int m, int k, int groups, float *out) { pack_panels(w, m, k, groups, 0, out); }

/* bf16: AMX's tile layout where the library uses AMX (conv_amx.c), else the pair panels */
size_t lk_conv_packed_bf16_pairs(int m, int k, int taps, int groups) {
    if (taps <= 0 || k % taps) return 0;
    return lk_bf16_amx() ? lk_conv_packed_amx_pairs(m, k, taps, groups) : packed_units(m, k, groups, 1);
}

void lk_conv_pack_weights_bf16(const float *w, int m, int k, int taps, int groups, uint32_t *out) {
    if (lk_bf16_amx())
        lk_conv_pack_weights_amx(w, m, k, taps, groups, out);
    else
        pack_panels(w, m, k, groups, 1, out);
}

/* What the micro-kernel applies to a finished tile: per-row bias, a residual
 * tile, and a clamp (ReLU, ReLU6, Clip; -inf/inf when none). */
typedef struct tile_epilogue {
    const float *bias; /* 12 values or NULL */
    const float *z;    /* residual tile (row stride ldz) or NULL */
    size_t ldz;
    float lo, hi;
    int final;         /* last k slice: apply the above */
} tile_epilogue;

/* The input transform of a pre-activation conv (NULL scale: none): row ci of a 1x1 conv's panel is input
 * channel ci, max(x * scale[ci] + shift[ci], 0) */
typedef struct {
    const float *scale, *shift;
} preact;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

int lk_conv_packed_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}


/* A finished 12 x 32 accumulator tile (its first `rows` rows) to c (row
 * stride ldc): added to c when accumulating over k slices, then bias,
 * residual and the clamp when e->final.  Shared by the float32 and bf16
 * micro-kernels, which differ only in how they accumulate. */
__attribute__((target("avx512f"), always_inline)) static inline void store_tile(
    const int rows, const __m512 *acc0, const __m512 *acc1, float *c, size_t ldc, int accumulate,
    const tile_epilogue *e) {
    const __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
#pragma GCC unroll 12
    for (int i = 0; i < rows; i++) {
        __m512 x0 = acc0[i], x1 = acc1[i];
        if (accumulate) {
            x0 = _mm512_add_ps(x0, _mm512_loadu_ps(c + i * ldc));
            x1 = _mm512_add_ps(x1, _mm512_loadu_ps(c + i * ldc + 16));
        }
        if (e->final) {
            if (e->bias) {
                __m512 bv = _mm512_set1_ps(e->bias[i]);
                x0 = _mm512_add_ps(x0, bv);
                x1 = _mm512_add_ps(x1, bv);
            }
            if (e->z) {
                x0 = _mm512_add_ps(x0, _mm512_loadu_ps(e->z + i * e->ldz));
                x1 = _mm512_add_ps(x1, _mm512_loadu_ps(e->z + i * e->ldz + 16));
            }
            x0 = _mm512_min_ps(_mm512_max_ps(x0, lo), hi);
            x1 = _mm512_min_ps(_mm512_max_ps(x1, lo), hi);
        }
        _mm512_storeu_ps(c + i * ldc, x0);
        _mm512_storeu_ps(c + i * ldc + 16, x1);
    }
}

/* A weight panel a[k][12] is read once per k step, 48 bytes, and a layer's panels (megabytes: ResNet-50's last
 * stage streams ~75 MB per image, its Winograd-transformed 512 x 512 3x3 weights 16.8 MB each) come from
 * memory, not cache: the hardware prefetcher alone left the kernels waiting for them.  Asking for the line 32
 * steps (1.5 KB) ahead hides that (Zen 4, one thread: those 3x3 convs at 7x7 1.89 -> 1.48 ms inside the
 * model, ResNet-50's native steps 65.4 -> 61.3 ms); a panel already in cache pays one load slot per k. */
__attribute__((target("avx512f"), always_inline)) static inline void prefetch_weights(const float *a) {
    _mm_prefetch((const char *)(a + 32 * MR), _MM_HINT_T0);
}

/* c[rows][32] (row stride ldc) = (accumulate ? c : 0) + A x b[kc][32] for `rows` rows of A, then the epilogue
 * when e->final.  A is a packed weight panel a[kc][12] (lda 1, astep 12) or rows read in place (lda their
 * stride, astep 1: a matrix product's activations, which then need no packing).  `rows`, lda's and astep's
 * kinds are compile-time constants in each caller below, so the loops unroll and the 2*rows accumulators live
 * in zmm registers. */
__attribute__((target("avx512f"), always_inline)) static inline void kernel_rows(
    const int rows, int kc, const float *a, const size_t lda, const size_t astep, const float *b, size_t ldb,
    const int *off, float *c, size_t ldc, int accumulate, const tile_epilogue *e) {
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 12
    for (int i = 0; i < rows; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++) {
        /* row p of the B operand: every ldb floats, or at its own offset (flat-rows convolution) */
        const float *bp = off ? b + off[p] : b;
        __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
        if (astep == MR) prefetch_weights(a);
#pragma GCC unroll 12
        for (int i = 0; i < rows; i++) {
            __m512 av = _mm512_set1_ps(a[i * lda]);
            acc0[i] = _mm512_fmadd_ps(av, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(av, b1, acc1[i]);
        }
        a += astep;
        if (!off) b += ldb;
    }
    store_tile(rows, acc0, acc1, c, ldc, accumulate, e);
}

#define LK_KERNEL(ROWS)                                                                                        \
    __attribute__((target("avx512f"))) static void kernel_##ROWS##x32(int kc, const float *a, const float *b,  \
                                                                     size_t ldb, float *c, size_t ldc,         \
                                                                     int accumulate, const tile_epilogue *e) { \
        kernel_rows(ROWS, kc, a, 1, MR, b, ldb, NULL, c, ldc, accumulate, e);                                  \
    }                                                                                                          \
    __attribute__((target("avx512f"))) static void kernel_##ROWS##x32_rows_at(                                 \
        int kc, const float *a, const float *b, const int *off, float *c, size_t ldc, int accumulate) {        \
        static const tile_epilogue none = {NULL, NULL, 0, -INFINITY, INFINITY, 0};                             \
        kernel_rows(ROWS, kc, a, 1, MR, b, 0, off, c, ldc, accumulate, &none);                                 \
    }                                                                                                          \
    __attribute__((target("avx512f"))) static void kernel_##ROWS##x32_a_in_place(                              \
        int kc, const float *a, size_t lda, const float *b, float *c, size_t ldc, int accumulate) {            \
        static const tile_epilogue none = {NULL, NULL, 0, -INFINITY, INFINITY, 0};                             \
        kernel_rows(ROWS, kc, a, lda, 1, b, NR, NULL, c, ldc, accumulate, &none);                              \
    }
LK_KERNEL(12)
LK_KERNEL(8)
LK_KERNEL(4)
#undef LK_KERNEL

/* c[12][16] (row stride ldc) = (accumulate ? c : 0) + a[kc][12] x b[kc][16]: the
 * tile for a last panel of at most 16 columns (Winograd's small maps: a 14x14
 * map is 16 tiles of 4x4), one accumulator per row.  On Zen 4 (one zmm FMA per
 * cycle) it keeps the FMA rate of the 12 x 32 tile with half its work. */
__attribute__((target("avx512f"))) static void kernel_12x16(int kc, const float *a, const float *b, size_t ldb,
                                                            float *c, size_t ldc, int accumulate) {
    __m512 acc[MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) acc[i] = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(b);
        prefetch_weights(a);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), b0, acc[i]);
        a += MR;
        b += ldb;
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++)
        _mm512_storeu_ps(c + i * ldc, accumulate ? _mm512_add_ps(acc[i], _mm512_loadu_ps(c + i * ldc)) : acc[i]);
}

/* the fp32 micro-kernel over exactly `rows` (4, 8 or 12) rows of A read in place, B a packed panel [kc][32] */
static void f32_tile_a_in_place(int rows, int kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                                int accumulate) {
    if (rows == 4)
        kernel_4x32_a_in_place(kc, a, lda, b, c, ldc, accumulate);
    else if (rows == 8)
        kernel_8x32_a_in_place(kc, a, lda, b, c, ldc, accumulate);
    else
        kernel_12x32_a_in_place(kc, a, lda, b, c, ldc, accumulate);
}

/* Panels a one-row product reads side by side (see gemv_packed). */
#define GEMV_STREAMS 8

/* `n` (a compile-time constant in each caller) 32-column panels of packed B times one row a, over all of k,
 * into c[n * 32]: two accumulators per panel, the row's value broadcast once per k. */
__attribute__((target("avx512f"), always_inline)) static inline void gemv_streams(const int n, int k, const float *a,
                                                                                  const float *b, float *c) {
    __m512 acc[GEMV_STREAMS][2];
    for (int s = 0; s < n; s++) acc[s][0] = acc[s][1] = _mm512_setzero_ps();
    for (int i = 0; i < k; i++) {
        __m512 x = _mm512_set1_ps(a[i]);
        for (int s = 0; s < n; s++) {
            const float *row = b + ((size_t)s * k + i) * NR;
            acc[s][0] = _mm512_fmadd_ps(x, _mm512_loadu_ps(row), acc[s][0]);
            acc[s][1] = _mm512_fmadd_ps(x, _mm512_loadu_ps(row + 16), acc[s][1]);
        }
    }
    for (int s = 0; s < n; s++) {
        _mm512_storeu_ps(c + s * NR, acc[s][0]);
        _mm512_storeu_ps(c + s * NR + 16, acc[s][1]);
    }
}

/* One row times packed B ([panel][k][32], zero-padded to whole panels) into `cols` columns of c: a batch-1
 * fully connected layer, bound by reading B once from memory (VGG-19's 25,088 x 4,096 is 411 MB).  Eight
 * panels are read side by side over all of k: eight sequential streams keep more of the memory system busy
 * than the one a panel at a time makes (Zen 4, one thread: 25.6 -> 28.7 GB/s, 16.7 -> ~14.5 ms, where
 * MindSpore Lite takes 14.8); the row itself (k floats) stays in L1/L2. */
__attribute__((target("avx512f"))) static void gemv_packed(int cols, int k, const float *a, const float *b, float *c) {
    float out[GEMV_STREAMS * NR];
    int panels = (cols + NR - 1) / NR;
    for (int p0 = 0; p0 < panels;) {
        int n = LK_MIN(GEMV_STREAMS, panels - p0);
        const float *bp = b + (size_t)p0 * k * NR;
        if (n == GEMV_STREAMS)
            gemv_streams(GEMV_STREAMS, k, a, bp, out);
        else
            for (int s = 0; s < n; s++) gemv_streams(1, k, a, bp + (size_t)s * k * NR, out + s * NR);
        int c0 = p0 * NR;
        memcpy(c + c0, out, (size_t)LK_MIN(n * NR, cols - c0) * sizeof(float));
        p0 += n;
    }
}

/* the fp32 micro-kernel with the fewest rows covering `rows` (4, 8 or 12) */
static void f32_tile(int rows, int kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc,
                     int accumulate, const tile_epilogue *e) {
    if (rows <= 4)
        kernel_4x32(kc, a, b, ldb, c, ldc, accumulate, e);
    else if (rows <= 8)
        kernel_8x32(kc, a, b, ldb, c, ldc, accumulate, e);
    else
        kernel_12x32(kc, a, b, ldb, c, ldc, accumulate, e);
}

/* A partial last panel of `cols` < TAIL_COLS positions, over all k at once:
 * each position is one column of the weight panel's 12 rows (a masked
 * 12-lane vector), so it costs one FMA per k where a 12 x 32 tile costs 24
 * whatever its valid columns.  b is the packed panel [k][32]; `n` columns from
 * column j0 (a compile-time constant in each caller, so the accumulators
 * stay in registers) go to edge[row][32] for the edge tiles' store.  From 16
 * columns on, the first 16 are one 12 x 16 tile (12 FMAs per k, every lane
 * used): see narrow_panel. */
#define TAIL_COLS LK_GEMM_NARROW
__attribute__((target("avx512f"), always_inline)) static inline void tail_chunk(const int n, int k, const float *a,
                                                                                const float *b, size_t ldb, int j0,
                                                                                float *edge) {
    const __mmask16 rows = (__mmask16)((1u << MR) - 1u);
    /* fewer than 4 columns are fewer chains of dependent FMAs than keep the FMA units busy (4 cycles of
     * latency, one per cycle): k is then dealt round-robin to `lanes` accumulators per column, summed at
     * the end (one column of a 3x3/2 conv to a 7x7 map was 7% of its time, 2% of its columns) */
    const int lanes = n >= 4 ? 1 : n >= 2 ? 2 : 4;
    __m512 acc[8];
    __m512 part[4][3];
#pragma GCC unroll 8
    for (int i = 0; i < n; i++) acc[i] = _mm512_setzero_ps();
#pragma GCC unroll 4
    for (int u = 0; u < 4; u++)
#pragma GCC unroll 3
        for (int i = 0; i < 3; i++) part[u][i] = _mm512_setzero_ps();
    int p = 0;
    if (lanes > 1)
        for (; p + lanes <= k; p += lanes)
#pragma GCC unroll 4
            for (int u = 0; u < lanes; u++) {
                __m512 w = _mm512_maskz_loadu_ps(rows, a + (size_t)(p + u) * MR);
                const float *bp = b + (size_t)(p + u) * ldb + j0;
#pragma GCC unroll 3
                for (int i = 0; i < n; i++) part[u][i] = _mm512_fmadd_ps(w, _mm512_set1_ps(bp[i]), part[u][i]);
            }
#pragma GCC unroll 3
    for (int i = 0; i < n && lanes > 1; i++)
        acc[i] = _mm512_add_ps(_mm512_add_ps(part[0][i], part[1][i]), _mm512_add_ps(part[2][i], part[3][i]));
    for (; p < k; p++) {
        __m512 w = _mm512_maskz_loadu_ps(rows, a + (size_t)p * MR);
        const float *bp = b + (size_t)p * ldb + j0;
#pragma GCC unroll 8
        for (int i = 0; i < n; i++) acc[i] = _mm512_fmadd_ps(w, _mm512_set1_ps(bp[i]), acc[i]);
    }
    float column[8][16];
#pragma GCC unroll 8
    for (int i = 0; i < n; i++) _mm512_storeu_ps(column[i], acc[i]);
    for (int i = 0; i < n; i++)
        for (int r = 0; r < MR; r++) edge[r * NR + j0 + i] = column[i][r];
}

__attribute__((target("avx512f"))) static void tail_columns(int k, const float *a, const float *b, size_t ldb,
                                                             int cols, float *edge) {
    int j0 = 0;
    for (; cols - j0 >= 8; j0 += 8) tail_chunk(8, k, a, b, ldb, j0, edge);
    switch (cols - j0) {
    case 7: tail_chunk(7, k, a, b, ldb, j0, edge); break;
    case 6: tail_chunk(6, k, a, b, ldb, j0, edge); break;
    case 5: tail_chunk(5, k, a, b, ldb, j0, edge); break;
    case 4: tail_chunk(4, k, a, b, ldb, j0, edge); break;
    case 3: tail_chunk(3, k, a, b, ldb, j0, edge); break;
    case 2: tail_chunk(2, k, a, b, ldb, j0, edge); break;
    case 1: tail_chunk(1, k, a, b, ldb, j0, edge); break;
    default: break;
    }
}

/* ---- bfloat16 operands (AVX512_BF16) ----------------------------------
 * The same 12 x 32 tile with both operands as pairs of bfloat16 along k
 * (one uint32 = rows 2p and 2p+1, low half first): VDPBF16PS multiplies
 * two pairs per lane and adds them to a float32 accumulator, twice the
 * multiply-adds of an FMA per instruction; accumulation, bias, residual and
 * activation stay float32.  Weights are rounded to bf16 once, when packed;
 * activations when a task packs its input panels. */
#define BF16_TARGET "avx512f,avx512bw,avx512bf16"

int lk_bf16_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
}

__attribute__((target(BF16_TARGET), always_inline)) static inline void kernel_bf16_rows(
    const int rows, int kp, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int accumulate,
    const tile_epilogue *e) {
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 12
    for (int i = 0; i < rows; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
        _mm_prefetch((const char *)(a + 32 * MR), _MM_HINT_T0); /* a conv's weight pairs: see prefetch_weights */
#pragma GCC unroll 12
        for (int i = 0; i < rows; i++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[i]);
            acc0[i] = _mm512_dpbf16_ps(acc0[i], av, b0);
            acc1[i] = _mm512_dpbf16_ps(acc1[i], av, b1);
        }
        a += MR;
        b += NR;
    }
    store_tile(rows, acc0, acc1, c, ldc, accumulate, e);
}

#define LK_BF16_KERNEL(ROWS)                                                                                \
    __attribute__((target(BF16_TARGET))) static void kernel_bf16_##ROWS##x32(                               \
        int kp, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int accumulate,                 \
        const tile_epilogue *e) {                                                                           \
        kernel_bf16_rows(ROWS, kp, a, b, c, ldc, accumulate, e);                                            \
    }
LK_BF16_KERNEL(12)
LK_BF16_KERNEL(8)
LK_BF16_KERNEL(4)
#undef LK_BF16_KERNEL

/* the bf16 micro-kernel with the fewest rows covering `rows`; kp pairs of k */
static void bf16_tile(int rows, int kp, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int accumulate,
                      const tile_epilogue *e) {
    if (rows <= 4)
        kernel_bf16_4x32(kp, a, b, c, ldc, accumulate, e);
    else if (rows <= 8)
        kernel_bf16_8x32(kp, a, b, c, ldc, accumulate, e);
    else
        kernel_bf16_12x32(kp, a, b, c, ldc, accumulate, e);
}

/* dst[0:n] = the bf16 pairs (r0[i], r1[i]) (r1 NULL: zero high halves), rounded to nearest even; with `pre`
 * (scale and shift of r0, then of r1) each value first through max(x * scale + shift, 0) */
__attribute__((target(BF16_TARGET), always_inline)) static inline void pair_rows(const float *r0, const float *r1,
                                                                                 int n, const float *pre,
                                                                                 uint32_t *dst) {
    /* lanes 0-15 hold r0, 16-31 r1 after the conversion: interleave them */
    static const uint16_t order[32] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
                                       8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i idx = _mm512_loadu_si512(order);
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m512 lo = _mm512_maskz_loadu_ps(m, r0 + i), hi = r1 ? _mm512_maskz_loadu_ps(m, r1 + i) : _mm512_setzero_ps();
        if (pre) {
            const __m512 zero = _mm512_setzero_ps();
            lo = _mm512_max_ps(_mm512_fmadd_ps(lo, _mm512_set1_ps(pre[0]), _mm512_set1_ps(pre[1])), zero);
            hi = r1 ? _mm512_max_ps(_mm512_fmadd_ps(hi, _mm512_set1_ps(pre[2]), _mm512_set1_ps(pre[3])), zero) : zero;
        }
        __m512i v = _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        _mm512_mask_storeu_epi32(dst + i, m, v);
    }
}

__attribute__((target(BF16_TARGET))) void lk_pair_rows_bf16(const float *r0, const float *r1, int n, const float *pre,
                                                            uint32_t *dst) {
    pair_rows(r0, r1, n, pre, dst);
}

/* k float32 rows of 32 (row stride ld) -> a bf16 pair panel [ceil(k/2)][32],
 * rounded to nearest even (an odd k's last pair has a zero high half) */
__attribute__((target(BF16_TARGET))) void lk_rows_to_bf16_pairs(const float *src, size_t ld, int k, uint32_t *dst) {
    for (int p = 0; p < k; p += 2)
        pair_rows(src + (size_t)p * ld, p + 1 < k ? src + (size_t)(p + 1) * ld : NULL, NR, NULL, dst + (size_t)(p / 2) * NR);
}

/* one float32 row of k values -> ceil(k/2) bf16 pairs in place order: the
 * conversion of 32 consecutive values already is 16 pairs (k even low) */
__attribute__((target(BF16_TARGET))) void lk_row_to_bf16_pairs(const float *src, int k, uint32_t *dst) {
    for (int i = 0; i < k; i += 32) {
        int n = LK_MIN(32, k - i);
        __mmask16 lo = (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
        __mmask16 hi = (__mmask16)(n >= 32 ? 0xffffu : n > 16 ? (1u << (n - 16)) - 1u : 0u);
        __m512i v = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, src + i + 16), _mm512_maskz_loadu_ps(lo, src + i));
        int pairs = (n + 1) / 2;
        _mm512_mask_storeu_epi32(dst + i / 2, (__mmask16)(pairs >= 16 ? 0xffffu : (1u << pairs) - 1u), v);
    }
}

/* out[0:n] = min(max(acc[0:n] + bias + z[0:n], lo), hi) (z may be NULL), n
 * any length: the epilogue of a tile whose columns are not a whole, in-place
 * 32-wide panel (flat-rows runs, edge tiles), in masked 16-wide steps so a
 * run of 27 costs two vector steps instead of 16 + 11 scalar ones. */
__attribute__((target("avx512f"))) void lk_store_run(float *out, const float *acc, int n, float bias,
                                                         const float *z, float lo, float hi) {
    const __m512 b = _mm512_set1_ps(bias), l = _mm512_set1_ps(lo), h = _mm512_set1_ps(hi);
    for (int t = 0; t < n; t += 16) {
        __mmask16 m = n - t >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - t)) - 1u);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, acc + t), b);
        if (z) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, z + t));
        _mm512_mask_storeu_ps(out + t, m, _mm512_min_ps(_mm512_max_ps(v, l), h));
    }
}

/* Rows [0, mr) of A (mr <= 12, row stride lda) as one [k][12] panel, rows past mr zero: 16 columns at a
 * time, the 12 x 16 block transposed in registers (pairs of rows interleaved, then quads, then the 128-bit
 * lanes of four quads) and stored as 16 runs of 12.  The scalar gather it replaces was ~5% of a ViT's
 * matrix products on one thread. */
__attribute__((target("avx512f"))) static void pack_a_f32(int mr, int k, const float *src, size_t lda, float *panel) {
    const __m512 zero = _mm512_setzero_ps();
    for (int p0 = 0; p0 < k; p0 += 16) {
        int n = LK_MIN(16, k - p0);
        __mmask16 in = (__mmask16)((1u << n) - 1u);
        __m512 r[12], t[12], u[12];
        for (int i = 0; i < MR; i++) r[i] = i < mr ? _mm512_maskz_loadu_ps(in, src + (size_t)i * lda + p0) : zero;
        for (int i = 0; i < MR; i += 2) {
            t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);     /* per lane: r_i[0] r_i+1[0] r_i[1] r_i+1[1] */
            t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]); /* per lane: r_i[2] r_i+1[2] r_i[3] r_i+1[3] */
        }
        for (int q = 0; q < MR; q += 4) { /* u[q + e], lane L: rows q..q+3 of column 4L + e */
            u[q] = _mm512_shuffle_ps(t[q], t[q + 2], 0x44);
            u[q + 1] = _mm512_shuffle_ps(t[q], t[q + 2], 0xEE);
            u[q + 2] = _mm512_shuffle_ps(t[q + 1], t[q + 3], 0x44);
            u[q + 3] = _mm512_shuffle_ps(t[q + 1], t[q + 3], 0xEE);
        }
        for (int e = 0; e < 4; e++) {
            /* column 4L + e: lane L of u[e], u[4 + e], u[8 + e] (and of the zero rows 12..15) */
            __m512 x0 = _mm512_shuffle_f32x4(u[e], u[4 + e], 0x44), x1 = _mm512_shuffle_f32x4(u[e], u[4 + e], 0xEE);
            __m512 x2 = _mm512_shuffle_f32x4(u[8 + e], zero, 0x44), x3 = _mm512_shuffle_f32x4(u[8 + e], zero, 0xEE);
            __m512 column[4] = {_mm512_shuffle_f32x4(x0, x2, 0x88), _mm512_shuffle_f32x4(x0, x2, 0xDD),
                                _mm512_shuffle_f32x4(x1, x3, 0x88), _mm512_shuffle_f32x4(x1, x3, 0xDD)};
            for (int lane = 0; lane < 4; lane++) {
                int c = 4 * lane + e;
                if (c < n) _mm512_mask_storeu_ps(panel + (size_t)(p0 + c) * MR, 0x0fff, column[lane]);
            }
        }
    }
}

/* positions [first, first + count) of a 1x1 conv's input channels through the pre-activation, as rows of ld */
__attribute__((target("avx512f"))) static void preact_rows(const lk_conv2d *p, const float *x, const preact *pre,
                                                            int first, int count, float *dst, size_t ld) {
    size_t plane = (size_t)p->h * p->w;
    const __m512 zero = _mm512_setzero_ps();
    for (int ci = 0; ci < p->c; ci++) {
        const float *src = x + (size_t)ci * plane + first;
        float *row = dst + (size_t)ci * ld;
        __m512 a = _mm512_set1_ps(pre->scale[ci]), b = _mm512_set1_ps(pre->shift[ci]);
        for (int t = 0; t < count; t += 16) {
            __mmask16 m = count - t >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - t)) - 1u);
            __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, src + t), a, b);
            _mm512_mask_storeu_ps(row + t, m, _mm512_max_ps(v, zero));
        }
    }
}

/* the first n <= 16 columns of edge[12][32] into 12 rows of c (row stride ldc), without a library call per row */
__attribute__((target("avx512f"))) static void edge_to_rows(const float *edge, int n, float *c, size_t ldc) {
    __mmask16 columns = (__mmask16)((1u << n) - 1u);
    for (int r = 0; r < MR; r++) _mm512_mask_storeu_ps(c + (size_t)r * ldc, columns, _mm512_loadu_ps(edge + (size_t)r * NR));
}
/* rows x n floats (n <= 32) from src (row stride lds) to dst (row stride ldd) by masked vector moves: a memcpy of
 * a run-time length compiles to `rep movsq`, whose start-up cost dominated short copies (a sixth of a ViT's
 * attention products: the 5 columns past 192 of a 197-wide C, B's 32-float panel rows) */
__attribute__((target("avx512f"))) void lk_copy_short_rows(float *dst, size_t ldd, const float *src, size_t lds,
                                                               int rows, int n) {
    __mmask16 lo = (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
    __mmask16 hi = (__mmask16)(n >= 32 ? 0xFFFFu : n > 16 ? (1u << (n - 16)) - 1u : 0u);
    for (int r = 0; r < rows; r++) {
        const float *from = src + (size_t)r * lds;
        float *to = dst + (size_t)r * ldd;
        _mm512_mask_storeu_ps(to, lo, _mm512_maskz_loadu_ps(lo, from));
        if (hi) _mm512_mask_storeu_ps(to + 16, hi, _mm512_maskz_loadu_ps(hi, from + 16));
    }
}
#else
int lk_conv_packed_available(void) { return 0; }
static void kernel_12x32_rows_at(int kc, const float *a, const float *b, const int *off, float *c, size_t ldc,
                                 int accumulate) {
    (void)kc, (void)a, (void)b, (void)off, (void)c, (void)ldc, (void)accumulate;
}
#define kernel_8x32_rows_at kernel_12x32_rows_at
#define kernel_4x32_rows_at kernel_12x32_rows_at
void lk_store_run(float *out, const float *acc, int n, float bias, const float *z, float lo, float hi) {
    (void)out, (void)acc, (void)n, (void)bias, (void)z, (void)lo, (void)hi;
}
int lk_bf16_available(void) { return 0; }
static void f32_tile(int rows, int kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc,
                     int accumulate, const tile_epilogue *e) {
    (void)rows, (void)kc, (void)a, (void)b, (void)ldb, (void)c, (void)ldc, (void)accumulate, (void)e;
}
#define TAIL_COLS 0
static void tail_columns(int k, const float *a, const float *b, size_t ldb, int cols, float *edge) {
    (void)k, (void)a, (void)b, (void)ldb, (void)cols, (void)edge;
}
static void bf16_tile(int rows, int kp, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int accumulate,
                      const tile_epilogue *e) {
    (void)rows, (void)kp, (void)a, (void)b, (void)c, (void)ldc, (void)accumulate, (void)e;
}
static void kernel_12x16(int kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc, int accumulate) {
    (void)kc, (void)a, (void)b, (void)ldb, (void)c, (void)ldc, (void)accumulate;
}
void lk_rows_to_bf16_pairs(const float *src, size_t ld, int k, uint32_t *dst) {
    (void)src, (void)ld, (void)k, (void)dst;
}
void lk_pair_rows_bf16(const float *r0, const float *r1, int n, const float *pre, uint32_t *dst) {
    (void)r0, (void)r1, (void)n, (void)pre, (void)dst;
}
void lk_row_to_bf16_pairs(const float *src, int k, uint32_t *dst) { (void)src, (void)k, (void)dst; }
static void pack_a_f32(int mr, int k, const float *src, size_t lda, float *panel) {
    (void)mr, (void)k, (void)src, (void)lda, (void)panel;
}
static void edge_to_rows(const float *edge, int n, float *c, size_t ldc) { (void)edge, (void)n, (void)c, (void)ldc; }
static void f32_tile_a_in_place(int rows, int kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                                int accumulate) {
    (void)rows, (void)kc, (void)a, (void)lda, (void)b, (void)c, (void)ldc, (void)accumulate;
}
static void preact_rows(const lk_conv2d *p, const float *x, const preact *pre, int first, int count, float *dst,
                        size_t ld) {
    (void)p, (void)x, (void)pre, (void)first, (void)count, (void)dst, (void)ld;
}
static void gemv_packed(int cols, int k, const float *a, const float *b, float *c) {
    (void)cols, (void)k, (void)a, (void)b, (void)c;
}
void lk_copy_short_rows(float *dst, size_t ldd, const float *src, size_t lds, int rows, int n) {
    for (int r = 0; r < rows; r++) memcpy(dst + (size_t)r * ldd, src + (size_t)r * lds, (size_t)n * sizeof(float));
}
#endif

void lk_gemm_panel(int rows, int k, const float *a, const float *b, size_t ldb, float *c, size_t ldc) {
    tile_epilogue e = {NULL, NULL, 0, -INFINITY, INFINITY, 0};
    for (int k0 = 0; k0 < k; k0 += KC) {
        int kc = LK_MIN(KC, k - k0);
        e.final = k0 + kc >= k;
        f32_tile(rows, kc, a + (size_t)k0 * MR, b + (size_t)k0 * ldb, ldb, c, ldc, k0 > 0, &e);
    }
}

void lk_gemm_panel16(int k, const float *a, const float *b, size_t ldb, float *c, size_t ldc) {
    for (int k0 = 0; k0 < k; k0 += KC)
        kernel_12x16(LK_MIN(KC, k - k0), a + (size_t)k0 * MR, b + (size_t)k0 * ldb, ldb, c, ldc, k0 > 0);
}

/* Columns of a narrow last panel that run as one 12 x 16 tile: 16 when it has that many, else none. */
static int narrow_wide(int cols) { return cols >= 16 ? 16 : 0; }

/* FMAs per k step of a narrow last panel of `cols` < TAIL_COLS positions (narrow_panel's cost: 12 for its
 * 12 x 16 tile, one per remaining column; a whole 12 x 32 tile takes 24) */
static int narrow_fmas(int cols) {
    int wide = narrow_wide(cols);
    return (wide ? 12 : 0) + cols - wide;
}

/* A narrow last panel over all k into edge[12][32]: its first narrow_wide(cols) columns as one 12 x 16 tile,
 * the rest one FMA per column (a 7x7 image: 49 = 32 + 17 positions, 37 FMAs per k instead of 48, where
 * one per column took 41 with a quarter of each vector idle).  b is laid out densely by pack_input: those
 * columns [k][16], then the rest [k][cols - 16], so the one or two columns of a tail read 4-8 bytes per k
 * from L1 instead of a 128-byte panel row each (a 3x3/2 conv to 7x7 spent 7% of its time on 1 of its 49
 * columns). */
static void narrow_panel(int k, const float *a, const float *b, int cols, float *edge) {
    int wide = narrow_wide(cols);
    if (wide) lk_gemm_panel16(k, a, b, (size_t)wide, edge, NR);
    tail_columns(k, a, b + (size_t)k * wide, (size_t)(cols - wide), cols - wide, edge + wide);
}

/* narrow_panel on an unpacked B (row stride ldb; Winograd's V), its columns copied out of the edge buffer into
 * C, zeros from `cols` to `width` */
void lk_gemm_panel_narrow(int k, const float *a, const float *b, size_t ldb, int cols, int width, float *c,
                          size_t ldc) {
    float edge[MR * NR] = {0};
    int wide = narrow_wide(cols);
    if (wide) lk_gemm_panel16(k, a, b, ldb, c, ldc);
    tail_columns(k, a, b + wide, ldb, cols - wide, edge);
    edge_to_rows(edge, width - wide, c + wide, ldc);
}

void lk_gemm_panel_bf16(int kp, const uint32_t *a, const uint32_t *b, float *c, size_t ldc) {
    tile_epilogue e = {NULL, NULL, 0, -INFINITY, INFINITY, 0};
    for (int p0 = 0; p0 < kp; p0 += KC / 2) {
        int pc = LK_MIN(KC / 2, kp - p0);
        e.final = p0 + pc >= kp;
        bf16_tile(MR, pc, a + (size_t)p0 * MR, b + (size_t)p0 * NR, c, ldc, p0 > 0, &e);
    }
}

/* ------------------------------------------------------------------------
 * MatMul / Gemm with a constant B (the weights), packed once into NR-wide
 * column panels [k][NR] so that the micro-kernel's vector operand is the
 * weights (contiguous, aligned) and its broadcast operand the activations,
 * packed per call into MR-row panels [k][MR] (rows x k floats: 1/(2n) of
 * the arithmetic).  The same 12 x 32 kernel as the convolutions; in bf16,
 * both operands as [ceil(k/2)] pairs instead of [k] floats. */
size_t lk_gemm_packed_b_floats(int k, int n) {
    if (k < 1 || n < 1) return 0;
    return (size_t)((n + NR - 1) / NR) * (size_t)k * NR;
}

/* pair rows per 32-column panel of a packed bf16 B: ceil(k / 2), padded to whole AMX tiles where the library
 * uses AMX */
int lk_gemm_b_panel_pairs(int k) { return lk_bf16_amx() ? lk_gemm_amx_pairs(k) : (k + 1) / 2; }

size_t lk_gemm_packed_b_bf16_pairs(int k, int n) {
    if (k < 1 || n < 1) return 0;
    return (size_t)((n + NR - 1) / NR) * (size_t)lk_gemm_b_panel_pairs(k) * NR;
}

/* Packing visits B in the order it is stored: [k, n] row by row (a panel's
 * 32 columns are one contiguous run of a row); [n, k] (trans_b) in blocks of
 * 64 along k, so the 32 rows a panel reads and the panel rows it writes stay
 * in L1 (column by column over k it read 32 rows a whole row apart per
 * value: VGG-19's 25088 x 4096 classifier took 1.5 s to pack). */
#define PACK_BLOCK 64

void lk_gemm_pack_b_ld(const float *b, int k, int n, size_t ldb, int trans_b, float *out) {
    for (int j0 = 0; j0 < n; j0 += NR) {
        float *panel = out + (size_t)(j0 / NR) * k * NR;
        int nr = LK_MIN(NR, n - j0);
        if (nr < NR) memset(panel, 0, (size_t)k * NR * sizeof(float));
        if (!trans_b) {
            if (nr == NR)
                for (int p = 0; p < k; p++) memcpy(panel + (size_t)p * NR, b + (size_t)p * ldb + j0, NR * sizeof(float));
            else
                lk_copy_short_rows(panel, NR, b + j0, ldb, k, nr);
            continue;
        }
        for (int p0 = 0; p0 < k; p0 += PACK_BLOCK)
            for (int j = 0; j < nr; j++) {
                const float *row = b + (size_t)(j0 + j) * ldb;
                for (int p = p0; p < LK_MIN(k, p0 + PACK_BLOCK); p++) panel[(size_t)p * NR + j] = row[p];
            }
    }
}

void lk_gemm_pack_b(const float *b, int k, int n, int trans_b, float *out) {
    lk_gemm_pack_b_ld(b, k, n, trans_b ? (size_t)k : (size_t)n, trans_b, out);
}

/* values [0, count) of a row (count even, or the row's odd end) as bf16 pairs, by the vector converter where
 * `vector` (the CPU has AVX512_BF16) */
static void round_pairs(const float *src, int count, uint32_t *dst, int vector) {
    if (vector) {
        lk_row_to_bf16_pairs(src, count, dst);
        return;
    }
    for (int q = 0; 2 * q < count; q++) dst[q] = lk_bf16_pair(src[2 * q], 2 * q + 1 < count ? src[2 * q + 1] : 0.0f);
}

/* B as 32-column bf16 pair panels of panel_pairs rows each (rows past ceil(k / 2) zero) */
static void pack_b_bf16_panels(const float *b, int k, int n, size_t ldb, int trans_b, int panel_pairs, uint32_t *out) {
    int kp = (k + 1) / 2;
    uint32_t pairs[PACK_BLOCK / 2];
    const int vector = lk_bf16_available(); /* asked once: attention packs B on every call */
    for (int j0 = 0; j0 < n; j0 += NR) {
        uint32_t *panel = out + (size_t)(j0 / NR) * panel_pairs * NR;
        int nr = LK_MIN(NR, n - j0);
        if (nr < NR) memset(panel, 0, (size_t)kp * NR * sizeof(uint32_t));
        if (panel_pairs > kp) memset(panel + (size_t)kp * NR, 0, (size_t)(panel_pairs - kp) * NR * sizeof(uint32_t));
        if (!trans_b && nr == NR && vector) {
            lk_rows_to_bf16_pairs(b + j0, ldb, k, panel); /* [k, n]: a panel is k rows of 32 */
            continue;
        }
        if (!trans_b) {
            for (int q = 0; q < kp; q++)
                for (int j = 0; j < nr; j++) {
                    const float *col = b + (size_t)2 * q * ldb + j0 + j;
                    panel[(size_t)q * NR + j] = lk_bf16_pair(col[0], 2 * q + 1 < k ? col[ldb] : 0.0f);
                }
            continue;
        }
        /* a row of [n, k] is a column of B: its pairs along k are adjacent values */
        for (int p0 = 0; p0 < k; p0 += PACK_BLOCK)
            for (int j = 0; j < nr; j++) {
                int count = LK_MIN(PACK_BLOCK, k - p0);
                round_pairs(b + (size_t)(j0 + j) * ldb + p0, count, pairs, vector);
                for (int q = 0; q < (count + 1) / 2; q++) panel[(size_t)(p0 / 2 + q) * NR + j] = pairs[q];
            }
    }
}

/* on AMX, in the AMX panels (lk_gemm_amx_rows) */
void lk_gemm_pack_b_bf16_ld(const float *b, int k, int n, size_t ldb, int trans_b, uint32_t *out) {
    pack_b_bf16_panels(b, k, n, ldb, trans_b, lk_gemm_b_panel_pairs(k), out);
}

void lk_gemm_pack_b_bf16(const float *b, int k, int n, int trans_b, uint32_t *out) {
    pack_b_bf16_panels(b, k, n, trans_b ? (size_t)k : (size_t)n, trans_b, lk_gemm_b_panel_pairs(k), out);
}

/* rows x cols of C = A x B for either packed B (exactly one of b32, b16) */
/* steps along k of a panel row: k floats, or k/2 pairs (4 bytes either way) */
static int a_steps(int k, int bf16) { return bf16 ? (k + 1) / 2 : k; }

size_t lk_gemm_packed_a_bytes(int rows, int k, int bf16) {
    return (size_t)((rows + MR - 1) / MR) * (size_t)a_steps(k, bf16) * MR * 4;
}

int lk_gemm_pack_a_panels(int first, int count, int rows, int k, const float *a, size_t lda, int bf16, void *ap) {
    int steps = a_steps(k, bf16);
    uint32_t *rows16 = bf16 ? lk_scratch(2, (size_t)MR * steps * sizeof(uint32_t)) : NULL;
    if (bf16 && !rows16) return LK_E_NOMEM;
    for (int pm = first; pm < first + count; pm++) {
        int mr = LK_MIN(MR, rows - pm * MR);
        const float *src = a + (size_t)pm * MR * lda;
        /* k outer: the panel is written front to back, the rows read side by side */
        if (bf16) {
            /* each row rounded to pairs in one vector pass, then gathered into the panel as the float32 path is */
            for (int r = 0; r < mr; r++) lk_row_to_bf16_pairs(src + (size_t)r * lda, k, rows16 + (size_t)r * steps);
            uint32_t *panel = (uint32_t *)ap + (size_t)pm * steps * MR;
            for (int p = 0; p < steps; p++)
                for (int r = 0; r < MR; r++) panel[(size_t)p * MR + r] = r < mr ? rows16[(size_t)r * steps + p] : 0u;
        } else {
            pack_a_f32(mr, k, src, lda, (float *)ap + (size_t)pm * steps * MR);
        }
    }
    return LK_OK;
}

int lk_gemm_prepacked_rows(int rows, int cols, int k, const void *ap, const float *b32, const uint32_t *b16, float *c,
                           size_t ldc) {
    if (rows <= 0 || cols <= 0) return LK_OK;
    static const tile_epilogue none = {NULL, NULL, 0, -INFINITY, INFINITY, 0};
    int steps = a_steps(k, b16 != NULL), panels_m = (rows + MR - 1) / MR;
    float *tile = lk_scratch(1, (size_t)MR * NR * sizeof(float));
    if (!tile) return LK_E_NOMEM;
    for (int pm = 0; pm < panels_m; pm++) {
        int m0 = pm * MR, mr = LK_MIN(MR, rows - m0);
        size_t a_at = (size_t)pm * steps * MR;
        for (int n0 = 0; n0 < cols; n0 += NR) {
            int nc = LK_MIN(NR, cols - n0);
            size_t b_at_panel = (size_t)(n0 / NR) * steps * NR;
            float *dst = c + (size_t)m0 * ldc + n0;
            /* 4, 8 or 12 rows of 32 columns in place, else into a tile by the smallest kernel covering them */
            int full = nc == NR && (mr == MR || mr == 8 || mr == 4);
            float *out = full ? dst : tile;
            size_t ld = full ? ldc : NR;
            if (b16)
                bf16_tile(mr, steps, (const uint32_t *)ap + a_at, b16 + b_at_panel, out, ld, 0, &none);
            else
                f32_tile(mr, k, (const float *)ap + a_at, b32 + b_at_panel, NR, out, ld, 0, &none);
            if (!full)
                lk_copy_short_rows(dst, ldc, tile, NR, mr, nc);
        }
    }
    return LK_OK;
}

/* Whether 12 rows `lda` floats apart share L1 sets so much that reading them in place thrashes it: a 4 KB
 * stride (k = 1,024) puts all 12 in one set of the 8-way, 64-set L1 (BERT's second MLP product 6% slower than
 * packing its rows); 3 KB (768) spreads them 3 to a set. */
static int rows_share_sets(size_t lda) {
    int per_set[64] = {0}, most = 0;
    for (size_t r = 0; r < MR; r++) {
        int set = (int)((r * lda * sizeof(float) / 64) % 64);
        per_set[set]++;
        most = LK_MAX(most, per_set[set]);
    }
    return most > 3;
}

/* Columns of packed B per pass of gemm_rows_blocked: a KC slice of that many columns fills half of L2 (the rest
 * for A's rows and C) */
static int pass_columns(void) { return LK_MAX(NR, (int)(lk_l2_bytes() / 2 / (KC * sizeof(float))) / NR * NR); }

static void finish_region(const lk_gemm_finish *finish, int m0, int rows, int n0, int cols) {
    if (finish) finish->fn(finish->ctx, m0, rows, n0, cols);
}

/* float32 C[rows][cols] = A x packed B in GotoBLAS order: passes of columns whose KC slice of B stays in L2,
 * within a pass k in KC slices, within a slice 12-row panels whose slice of A (12 x KC) stays in L1 across the
 * pass's 32-column panels.  A's rows are read in place, no packing of the activations (it was 6% of a ViT's run
 * on two threads), but copied a slice at a time where their stride puts them in few L1 sets (a 4 KB stride, k =
 * 1,024, puts all 12 in one set of the 8-way 64-set L1).  Over all of k and all columns at once, a wide or deep
 * B was read from L3 again for every 12-row panel (197 x 384 x 1536 at 140 GFLOP/s against onnxruntime's 197
 * on one core of a Xeon with 2 MB of L2; 197 x 3072 x 768 at 118).  A region of C is handed to `finish` once
 * final (the matrix product's bias and activation, applied while it is in cache).  A last panel of other than
 * 4, 8 or 12 rows, and a last one of fewer than 32 columns, take all of k at once. */
static int gemm_rows_blocked(int rows, int cols, int k, const float *a, size_t lda, const float *b, float *c,
                             size_t ldc, const lk_gemm_finish *finish) {
    float *tile = lk_scratch(1, (size_t)MR * NR * sizeof(float));
    const int copy_rows = rows_share_sets(lda);
    float *slice = copy_rows ? lk_scratch(2, (size_t)MR * KC * sizeof(float)) : NULL;
    if (!tile || (copy_rows && !slice)) return LK_E_NOMEM;
    const int rest = rows % MR, blocked = rows - (rest == 8 || rest == 4 ? 0 : rest), whole = cols / NR * NR;
    const int pass = pass_columns();
    for (int p0 = 0; p0 < whole; p0 += pass) {
        const int p1 = LK_MIN(whole, p0 + pass);
        for (int k0 = 0; k0 < k; k0 += KC) {
            const int kc = LK_MIN(KC, k - k0);
            for (int m0 = 0; m0 < blocked; m0 += MR) {
                const int mr = LK_MIN(MR, blocked - m0);
                const float *as = a + (size_t)m0 * lda + k0;
                size_t ld = lda;
                if (copy_rows) {
                    for (int r = 0; r < mr; r++) memcpy(slice + (size_t)r * KC, as + (size_t)r * lda, (size_t)kc * sizeof(float));
                    as = slice, ld = KC;
                }
                for (int n0 = p0; n0 < p1; n0 += NR)
                    f32_tile_a_in_place(mr, kc, as, ld, b + ((size_t)(n0 / NR) * k + k0) * NR, c + (size_t)m0 * ldc + n0,
                                        ldc, k0 > 0);
                if (k0 + kc == k) finish_region(finish, m0, mr, p0, p1 - p0);
            }
        }
    }
    /* a partial last column panel (B is zero-padded to 32 columns): all of k into the tile, then its columns */
    for (int m0 = 0; m0 < blocked && whole < cols; m0 += MR) {
        int mr = LK_MIN(MR, blocked - m0);
        f32_tile_a_in_place(mr, k, a + (size_t)m0 * lda, lda, b + (size_t)(whole / NR) * k * NR, tile, NR, 0);
        lk_copy_short_rows(c + (size_t)m0 * ldc + whole, ldc, tile, NR, mr, cols - whole);
        finish_region(finish, m0, mr, whole, cols - whole);
    }
    if (blocked == rows) return LK_OK;
    void *ap = lk_scratch(0, lk_gemm_packed_a_bytes(rows - blocked, k, 0));
    if (!ap) return LK_E_NOMEM;
    lk_gemm_pack_a_panels(0, 1, rows - blocked, k, a + (size_t)blocked * lda, lda, 0, ap);
    int status = lk_gemm_prepacked_rows(rows - blocked, cols, k, ap, b, NULL, c + (size_t)blocked * ldc, ldc);
    if (status == LK_OK) finish_region(finish, blocked, rows - blocked, 0, cols);
    return status;
}

int lk_gemm_packed_b_rows_finish(int rows, int cols, int k, const float *a, size_t lda, const float *b_packed,
                                 float *c, size_t ldc, const lk_gemm_finish *finish) {
    if (rows <= 0 || cols <= 0) return LK_OK;
    if (rows == 1 && lk_conv_packed_available()) {
        gemv_packed(cols, k, a, b_packed, c);
        finish_region(finish, 0, 1, 0, cols);
        return LK_OK;
    }
    if (!lk_conv_packed_available()) return LK_E_ARG;
    return gemm_rows_blocked(rows, cols, k, a, lda, b_packed, c, ldc, finish);
}

int lk_gemm_packed_b_rows(int rows, int cols, int k, const float *a, size_t lda, const float *b_packed, float *c,
                          size_t ldc) {
    return lk_gemm_packed_b_rows_finish(rows, cols, k, a, lda, b_packed, c, ldc, NULL);
}

int lk_gemm_packed_b_rows_bf16(int rows, int cols, int k, const float *a, size_t lda, const uint32_t *b_packed,
                               float *c, size_t ldc) {
    if (rows <= 0 || cols <= 0) return LK_OK;
    if (lk_bf16_amx()) return lk_gemm_amx_rows(rows, cols, k, a, lda, b_packed, c, ldc);
    /* A's rows rounded into pairs as they are packed into this thread's scratch, then multiplied */
    void *ap = lk_scratch(0, lk_gemm_packed_a_bytes(rows, k, 1));
    if (!ap) return LK_E_NOMEM;
    int status = lk_gemm_pack_a_panels(0, (rows + MR - 1) / MR, rows, k, a, lda, 1, ap);
    return status != LK_OK ? status : lk_gemm_prepacked_rows(rows, cols, k, ap, NULL, b_packed, c, ldc);
}

int lk_conv_preact_geometry(const lk_conv2d *p) {
    return p && p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pad_top == 0 && p->pad_left == 0 &&
           p->groups == 1 && p->oh == p->h && p->ow == p->w;
}

/* im2col, or the pre-activation's rows where the conv has one */
static void pack_columns(const lk_conv2d *p, const float *x, const preact *pre, int first, int count, float *dst,
                         size_t ld) {
    if (pre->scale)
        preact_rows(p, x, pre, first, count, dst, ld);
    else
        lk_im2col(p, x, first, count, dst, ld);
}

/* packs input positions [first, first + count) of one group into NR-wide
 * panels [k][NR] (zero beyond count) */
static void pack_input(const lk_conv2d *p, const float *x, const preact *pre, int first, int count, float *out) {
    int k = p->c / p->groups * p->kh * p->kw;
    for (int base = 0; base < count; base += NR) {
        int n = LK_MIN(NR, count - base);
        float *panel = out + (size_t)(base / NR) * k * NR;
        if (n < TAIL_COLS) { /* a narrow last panel, laid out as narrow_panel reads it */
            int wide = narrow_wide(n);
            if (wide) pack_columns(p, x, pre, first + base, wide, panel, (size_t)wide);
            pack_columns(p, x, pre, first + base + wide, n - wide, panel + (size_t)k * wide, (size_t)(n - wide));
            continue;
        }
        pack_columns(p, x, pre, first + base, n, panel, NR);
        if (n < NR)
            for (int kk = 0; kk < k; kk++) memset(panel + (size_t)kk * NR + n, 0, (size_t)(NR - n) * sizeof(float));
    }
}

/* bf16 packing im2cols this many input channels at a time into an L1
 * buffer of float32 rows, then rounds them into the pair panel: an even
 * count, so no pair straddles two calls (only the last may end odd) */
static int bf16_chunk_channels(const lk_conv2d *p) { return LK_MAX(2, 64 / (p->kh * p->kw) & ~1); }

size_t lk_conv_pack_bf16_rows_floats(const lk_conv2d *p) { return (size_t)bf16_chunk_channels(p) * p->kh * p->kw * NR; }

void lk_conv_pack_input_bf16(const lk_conv2d *p, const float *x, int first, int count, int panel_pairs, uint32_t *out,
                             float *rows) {
    int cg = p->c / p->groups, taps = p->kh * p->kw, kp = (cg * taps + 1) / 2, chunk = bf16_chunk_channels(p);
    /* a 1x1 conv over the whole image: a whole panel's rows are the input channels' own, rounded where they are */
    int pointwise = p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pad_top == 0 && p->pad_left == 0 &&
                    p->oh == p->h && p->ow == p->w;
    lk_conv2d q = *p;
    q.groups = 1;
    for (int base = 0; base < count; base += NR) {
        int n = LK_MIN(NR, count - base);
        uint32_t *panel = out + (size_t)(base / NR) * panel_pairs * NR;
        for (int c0 = 0; c0 < cg && !(pointwise && n == NR); c0 += chunk) {
            q.c = LK_MIN(chunk, cg - c0);
            int k = q.c * taps;
            lk_im2col(&q, x + (size_t)c0 * p->h * p->w, first + base, n, rows, NR);
            if (n < NR)
                for (int r = 0; r < k; r++) memset(rows + (size_t)r * NR + n, 0, (size_t)(NR - n) * sizeof(float));
            lk_rows_to_bf16_pairs(rows, NR, k, panel + (size_t)(c0 * taps / 2) * NR);
        }
        if (pointwise && n == NR) lk_rows_to_bf16_pairs(x + first + base, (size_t)p->h * p->w, cg, panel);
        if (panel_pairs > kp) memset(panel + (size_t)kp * NR, 0, (size_t)(panel_pairs - kp) * NR * sizeof(uint32_t));
    }
}

/* Where task t of a conv job works: the tasks are images x groups x tiles x weight-panel chunks, chunks
 * innermost (the packed-weight and the flat-rows paths cut the same way). */
typedef struct {
    int pm_first, pm_last; /* weight panels [pm_first, pm_last) */
    int image, group, tile;
    int first, count;      /* the tile's positions [first, first + count) of `positions` */
} task_place;

static task_place place_task(size_t t, int chunks, int chunk_panels, int panels_m, int groups, int tiles, int tile,
                             int positions) {
    task_place at;
    at.pm_first = (int)(t % (size_t)chunks) * chunk_panels;
    at.pm_last = LK_MIN(panels_m, at.pm_first + chunk_panels);
    t /= (size_t)chunks;
    size_t per_image = (size_t)groups * tiles;
    at.image = (int)(t / per_image);
    at.group = (int)(t % per_image / tiles);
    at.tile = (int)(t % tiles);
    at.first = at.tile * tile;
    at.count = LK_MIN(tile, positions - at.first);
    return at;
}

typedef struct {
    const lk_conv2d *p;
    const float *x, *w_packed, *bias, *z;
    const uint32_t *w_bf16; /* bf16 pair weights instead of w_packed (lk_conv2d_packed_bf16) */
    float *y;
    int k, mg, panels_m, tile, tiles, pointwise;
    int chunk_panels, chunks; /* weight panels per task, tasks per tile (few positions, several threads) */
    float lo, hi;          /* the activation when it is a clamp */
    lk_activation after;   /* else applied after the tile is stored */
    float *shared;         /* every tile's packed input, when several tasks share a tile (chunks > 1) */
    size_t shared_per_tile;
    preact pre;            /* applied to the input as it is packed (lk_conv2d_packed_preact_f32) */
    int status;
} pconv_job;

/* A tile's packed input worth sharing among the tasks of its weight panels (256 KB). */
#define SHARED_PACK_FLOATS 65536

/* Task t of the packing pass: one NR-wide input panel of one tile into the shared buffer. */
static void pconv_pack_task(void *arg, size_t t) {
    pconv_job *j = arg;
    const lk_conv2d *p = j->p;
    int panels = (j->tile + NR - 1) / NR;
    size_t tile_index = t / (size_t)panels;
    int pn = (int)(t % (size_t)panels);
    int tile = (int)(tile_index % (size_t)j->tiles);
    size_t image = tile_index / (size_t)j->tiles; /* batch x groups */
    int first = tile * j->tile + pn * NR, count = LK_MIN(NR, p->oh * p->ow - first);
    if (count <= 0) return; /* past the last tile's positions */
    const float *xg = lk_group_input(p, j->x, image / (size_t)p->groups, image % (size_t)p->groups);
    pack_input(p, xg, &j->pre, first, count, j->shared + tile_index * j->shared_per_tile + (size_t)pn * j->k * NR);
}

static void pconv_task(void *arg, size_t t) {
    pconv_job *j = arg;
    const lk_conv2d *p = j->p;
    int positions = p->oh * p->ow;
    task_place at = place_task(t, j->chunks, j->chunk_panels, j->panels_m, p->groups, j->tiles, j->tile, positions);
    int pm_first = at.pm_first, pm_last = at.pm_last, b = at.image, g = at.group, first = at.first, count = at.count;
    int panels_n = (count + NR - 1) / NR;
    /* several k slices go outermost (a slice's B panels stay in L2 across all
     * weight panels); the tiles that are not written in place then keep one
     * edge buffer each until the last slice */
    int slices = (j->k + KC - 1) / KC;
    size_t edges = slices > 1 ? (size_t)j->panels_m * panels_n : 1;
    /* float32 panels of the whole tile, or (bf16) one chunk of rows on its way into the pair panels */
    size_t packed_floats = j->w_bf16 ? (size_t)bf16_chunk_channels(p) * p->kh * p->kw * NR : (size_t)panels_n * j->k * NR;
    float *packed = j->shared ? j->shared + (((size_t)b * p->groups + g) * j->tiles + at.tile) * j->shared_per_tile
                              : lk_scratch(0, packed_floats * sizeof(float));
    float *edge_all = lk_scratch(1, edges * MR * NR * sizeof(float));
    int kp = (j->k + 1) / 2; /* bf16: k in pairs */
    uint32_t *packed_bf16 = j->w_bf16 ? lk_scratch(2, (size_t)panels_n * kp * NR * sizeof(uint32_t)) : NULL;
    if (!packed || !edge_all || (j->w_bf16 && !packed_bf16)) {
        j->status = LK_E_NOMEM;
        return;
    }
    const float *xg = lk_group_input(p, j->x, (size_t)b, (size_t)g);
    /* 1x1, stride 1, no pads: full panels read the image itself (row k of the
     * GEMM operand is input channel k); only a partial last panel is packed */
    int direct = j->pointwise ? count / NR : 0;
    if (j->w_bf16) {
        lk_conv_pack_input_bf16(p, xg, first, count, kp, packed_bf16, packed);
    } else if (j->shared) {
        /* packed by the packing pass */
    } else if (direct < panels_n) {
        if (direct)
            pack_input(p, xg, &j->pre, first + direct * NR, count - direct * NR, packed + (size_t)direct * j->k * NR);
        else
            pack_input(p, xg, &j->pre, first, count, packed);
    }
    const float *wg = j->w_bf16 ? NULL : j->w_packed + (size_t)g * j->panels_m * MR * j->k;
    const uint32_t *wg_bf16 = j->w_bf16 ? j->w_bf16 + (size_t)g * j->panels_m * MR * kp : NULL;
    for (int k0 = 0; k0 < j->k; k0 += KC) {
        int kc = LK_MIN(KC, j->k - k0), final = k0 + kc >= j->k;
        for (int pm = pm_first; pm < pm_last; pm++) {
            int m0 = pm * MR, rows = LK_MIN(MR, j->mg - m0);
            int oc = g * j->mg + m0;
            for (int pn = 0; pn < panels_n; pn++) {
                int c0 = pn * NR, cols = LK_MIN(NR, count - c0);
                float *y = j->y + ((size_t)b * p->m + oc) * positions + first + c0;
                float *edge = edge_all + (slices > 1 ? ((size_t)pm * panels_n + pn) * MR * NR : 0);
                /* a panel of 4, 8 or 12 valid rows and 32 columns is written in place */
                int full = (rows == MR || rows == 8 || rows == 4) && cols == NR;
                float *dst = full ? y : edge;
                size_t ldc = full ? (size_t)positions : NR;
                const float *zt = j->z ? j->z + ((size_t)b * p->m + oc) * positions + first + c0 : NULL;
                /* edge tiles: bias/residual/activation after the copy below */
                tile_epilogue e = {full && j->bias ? j->bias + oc : NULL, full ? zt : NULL, (size_t)positions,
                                   full ? j->lo : -INFINITY, full ? j->hi : INFINITY, final};
                int kernel_rows_needed = full ? rows : MR;
                if (j->w_bf16) {
                    /* k0 is a multiple of KC, which is even: slices start at a pair */
                    bf16_tile(kernel_rows_needed, (kc + 1) / 2, wg_bf16 + ((size_t)pm * kp + k0 / 2) * MR,
                              packed_bf16 + ((size_t)pn * kp + k0 / 2) * NR, dst, ldc, k0 > 0, &e);
                } else if (cols < TAIL_COLS && pn >= direct) {
                    /* a narrow partial panel (packed, zero-padded): all of k in the first slice */
                    if (k0 == 0) narrow_panel(j->k, wg + (size_t)pm * MR * j->k, packed + (size_t)pn * j->k * NR, cols, edge);
                } else {
                    const float *bp = pn < direct ? xg + (size_t)k0 * positions + first + c0
                                                  : packed + ((size_t)pn * j->k + k0) * NR;
                    size_t ldb = pn < direct ? (size_t)positions : NR;
                    f32_tile(kernel_rows_needed, kc, wg + (size_t)pm * MR * j->k + (size_t)k0 * MR, bp, ldb, dst, ldc,
                             k0 > 0, &e);
                }
                if (!final) continue;
                if (full) {
                    if (j->after.kind != LK_ACT_NONE)
                        for (int r = 0; r < rows; r++) lk_activate(y + (size_t)r * positions, (size_t)cols, &j->after);
                    continue;
                }
                for (int r = 0; r < rows; r++) {
                    float *row = y + (size_t)r * positions;
                    lk_store_run(row, edge + (size_t)r * NR, cols, j->bias ? j->bias[oc + r] : 0.0f,
                              zt ? zt + (size_t)r * positions : NULL, j->lo, j->hi);
                    if (j->after.kind != LK_ACT_NONE) lk_activate(row, (size_t)cols, &j->after);
                }
            }
        }
    }
}

/* ------------------------------------------------------------------------
 * Convolutions without im2col ("flat rows").  The zero-padded input is seen
 * as sh*sw phase planes, phase (a, b) holding padded rows sh*i + a and
 * columns sw*j + b; tap (ki, kj) then reads phase (ki*dh % sh, kj*dw % sw)
 * at row oy + ki*dh/sh and column ox + kj*dw/sw: stride 1 within the plane.
 * A task copies the plane rows its output rows read into a private buffer of
 * width wq = ow + (kw-1)*dw/sw, one plane of `plane` floats per (channel,
 * phase).  Output (oy, ox) is flat position q = oy*wq + ox, and GEMM row
 * k = (ci, ki, kj) at q is buffer[off[k] + q - oy0*wq]: contiguous along q,
 * so the micro-kernel reads its B rows through the offset table instead of
 * a packed panel (a 3x3 conv copies its input once instead of nine times;
 * stride 2, once instead of 2.25 times, with no per-tap gathers).  The
 * wq - ow columns past each row's end are computed and dropped.
 */
typedef struct {
    const lk_conv2d *p;
    const float *x, *w_packed, *bias, *z;
    float *y;
    const int *off;
    int k, mg, panels_m, wq, rows_max, plane, tile, tiles;
    int chunk_panels, chunks; /* weight panels per task, tasks per tile (few positions, several threads) */
    unsigned phases_read; /* bit a*sw + b: some tap reads phase (a, b) */
    float lo, hi;
    lk_activation after;
    int status;
} flat_job;

static void flat_fill(const flat_job *j, const float *xg, int oy0, float *buf) {
    const lk_conv2d *p = j->p;
    int cg = p->c / p->groups, phases = p->sh * p->sw;
    for (int ci = 0; ci < cg; ci++) {
        const float *src = xg + (size_t)ci * p->h * p->w;
        for (int a = 0; a < p->sh; a++)
            for (int b = 0; b < p->sw; b++) {
                if (!(j->phases_read >> (a * p->sw + b) & 1u)) continue;
                float *dst = buf + ((size_t)ci * phases + (size_t)a * p->sw + b) * j->plane;
                /* plane columns jq in [j0, j1) hold image columns sw*jq + b - pad_left */
                int j0 = LK_MIN(j->wq, LK_MAX(0, (p->pad_left - b + p->sw - 1) / p->sw));
                int j1 = LK_MAX(j0, LK_MIN(j->wq, (p->w + p->pad_left - b + p->sw - 1) / p->sw));
                for (int r = 0; r < j->rows_max; r++) {
                    float *row = dst + (size_t)r * j->wq;
                    int iy = p->sh * (oy0 + r) + a - p->pad_top;
                    if (iy < 0 || iy >= p->h || j1 == j0) {
                        memset(row, 0, (size_t)j->wq * sizeof(float));
                        continue;
                    }
                    memset(row, 0, (size_t)j0 * sizeof(float));
                    lk_gather(row + j0, src + (size_t)iy * p->w + (p->sw * j0 + b - p->pad_left), j1 - j0, p->sw);
                    memset(row + j1, 0, (size_t)(j->wq - j1) * sizeof(float));
                }
                memset(dst + (size_t)j->rows_max * j->wq, 0,
                       (size_t)(j->plane - j->rows_max * j->wq) * sizeof(float));
            }
    }
}

/* the valid columns of a finished 32-wide tile (flat positions q0..q0+cols)
 * to their output rows: + bias + residual, then the activation */
static void flat_store(const flat_job *j, const float *tile, size_t ld, int rows, int oc, int b, int q0, int cols) {
    const lk_conv2d *p = j->p;
    size_t positions = (size_t)p->oh * p->ow;
    for (int c = 0; c < cols;) {
        int q = q0 + c, oy = q / j->wq, ox = q % j->wq;
        int run = LK_MIN(cols - c, j->wq - ox);
        int valid = LK_MAX(0, LK_MIN(run, p->ow - ox));
        for (int r = 0; r < rows && valid; r++) {
            size_t at = ((size_t)b * p->m + oc + r) * positions + (size_t)oy * p->ow + ox;
            lk_store_run(j->y + at, tile + (size_t)r * ld + c, valid, j->bias ? j->bias[oc + r] : 0.0f,
                      j->z ? j->z + at : NULL, j->lo, j->hi);
            if (j->after.kind != LK_ACT_NONE) lk_activate(j->y + at, (size_t)valid, &j->after);
        }
        c += run;
    }
}

static void flat_task(void *arg, size_t t) {
    flat_job *j = arg;
    const lk_conv2d *p = j->p;
    task_place at = place_task(t, j->chunks, j->chunk_panels, j->panels_m, p->groups, j->tiles, j->tile, p->oh * j->wq);
    int pm_first = at.pm_first, pm_last = at.pm_last, b = at.image, g = at.group, q0 = at.first, count = at.count;
    int cg = p->c / p->groups, oy0 = q0 / j->wq;
    /* one k slice: each 12x32 tile is finished in an L1 buffer and stored;
     * several: the slices go outermost, so a slice's B rows stay in L2
     * across all weight panels, and the tiles accumulate in a task-sized C */
    int slices = (j->k + KC - 1) / KC;
    size_t ldc = slices > 1 ? (size_t)(count + NR - 1) / NR * NR : NR;
    float *buf = lk_scratch(0, (size_t)cg * p->sh * p->sw * j->plane * sizeof(float));
    float *cbuf = lk_scratch(1, (slices > 1 ? (size_t)j->chunk_panels * MR * ldc : (size_t)MR * NR) * sizeof(float));
    if (!buf || !cbuf) {
        j->status = LK_E_NOMEM;
        return;
    }
    flat_fill(j, lk_group_input(p, j->x, (size_t)b, (size_t)g), oy0, buf);
    const float *base = buf + (q0 - oy0 * j->wq);
    const float *wg = j->w_packed + (size_t)g * j->panels_m * MR * j->k;
    for (int k0 = 0; k0 < j->k; k0 += KC) {
        int kc = LK_MIN(KC, j->k - k0), last = k0 + kc >= j->k;
        for (int pm = pm_first; pm < pm_last; pm++) {
            int m0 = pm * MR, rows = LK_MIN(MR, j->mg - m0);
            const float *ak = wg + (size_t)pm * MR * j->k + (size_t)k0 * MR;
            for (int c0 = 0; c0 < count; c0 += NR) {
                float *c = slices > 1 ? cbuf + (size_t)(pm - pm_first) * MR * ldc + c0 : cbuf;
                if (rows == 4)
                    kernel_4x32_rows_at(kc, ak, base + c0, j->off + k0, c, ldc, k0 > 0);
                else if (rows == 8)
                    kernel_8x32_rows_at(kc, ak, base + c0, j->off + k0, c, ldc, k0 > 0);
                else
                    kernel_12x32_rows_at(kc, ak, base + c0, j->off + k0, c, ldc, k0 > 0);
                if (last) flat_store(j, c, ldc, rows, g * j->mg + m0, b, q0 + c0, LK_MIN(NR, count - c0));
            }
        }
    }
}

/* tiles of whole 32-wide panels over `positions` per image and group;
 * enough tiles for every thread when the image is small */
static int conv_tile(int positions, size_t images, int threads) {
    int tile = TILE_PANELS * NR;
    while (tile > NR && threads > 1 && images * (size_t)((positions + tile - 1) / tile) < (size_t)threads * 3) tile /= 2;
    if (tile > positions) tile = (positions + NR - 1) / NR * NR;
    return tile;
}

/* Packing a column of K rows costs about as much as PACK_ROWS weight rows' FMAs over it (strided gathers and
 * stores against broadcast FMAs in the micro-kernel). */
#define PACK_ROWS 8

/* FMAs per k step of a tile of `cols` positions: 24 per whole 32-wide panel (a 12 x 32 tile), a last panel
 * under `tail_cols` positions at narrow_panel's cost, any other last panel as a whole one. */
static int tile_fmas(int cols, int tail_cols) {
    int tail = cols % NR;
    return cols / NR * 24 + (tail == 0 ? 0 : tail < tail_cols ? narrow_fmas(tail) : 24);
}

/* Tiles and weight-panel chunks for the packed-weight path, chosen by makespan: with tasks claimed as
 * threads free up, a run takes about ceil(tasks / threads) times its largest task, the FMAs per k of its
 * tile (tile_fmas) times its weight panels.  A small image (14x14: 196 positions) cut into 32-wide tiles
 * leaves a 4-position tail and 7 tasks for 2 threads; one whole tile with its weight panels split in 2-4
 * chunks is even.  Costed in whole panels instead of FMAs, a 7x7 image's 49 = 32 + 17 positions cut into
 * two 32-wide tiles looked even too, but gave one thread 24 FMAs per k and the other 13 (512 -> 2048 1x1
 * at 7x7, 2 threads: 1.57x the one-thread speed); whole, with its weight panels in two chunks, each thread
 * runs 37 on half the panels.  Every task also packs its tile's input, so splitting a tile's weight panels
 * packs it again per chunk: that is counted as pack_rows more weight rows per task (a 3 -> 32 3x3/2 stem, k = 27
 * and three weight panels, had its 49 tiles each packed three times on two threads: 0.255 ms, 0.183 flat).
 * Tiles narrower than TILE_PANELS panels are tried only while the wider ones
 * give fewer than four tasks per thread (each tile streams all the weights).  Ties go to fewer chunks
 * (each packs the tile's input again), then to more tasks, up to four per thread. */
static void packed_partition(int positions, size_t images, int panels_m, int threads, int tail_cols, int pack_rows,
                             int *tile, int *chunks, int *chunk_panels) {
    int whole = (positions + NR - 1) / NR * NR; /* the image as one tile */
    *tile = LK_MIN(TILE_PANELS * NR, whole);
    *chunks = 1;
    *chunk_panels = panels_m;
    if (threads <= 1) return;
    int64_t best = -1;
    size_t best_tasks = 0;
    for (int t = *tile; t >= NR; t = t / 2 / NR * NR) {
        if (t < LK_MIN(TILE_PANELS * NR, whole) &&
            images * (size_t)((positions + 2 * t - 1) / (2 * t)) >= 4 * (size_t)threads)
            break;
        int tiles = (positions + t - 1) / t, widest = tile_fmas(tiles > 1 ? t : positions, tail_cols);
        for (int c = 1; c <= LK_MIN(panels_m, 4 * threads); c++) {
            int per = (panels_m + c - 1) / c, used = (panels_m + per - 1) / per;
            if (used != c) continue;
            size_t tasks = images * (size_t)tiles * (size_t)c;
            /* each task packs its tile's input (pack_rows weight rows' worth) besides its `per` 12-row panels */
            int64_t span = (int64_t)((tasks + (size_t)threads - 1) / (size_t)threads) * widest * (per * MR + pack_rows);
            int better = best < 0 || span < best ||
                         (span == best && c == *chunks && tasks > best_tasks && best_tasks < 4 * (size_t)threads);
            if (better) {
                best = span, best_tasks = tasks;
                *tile = t, *chunks = c, *chunk_panels = per;
            }
        }
    }
}

/* Weight panels per task when `tile_tasks` tiles leave threads idle (a 7x7 or 13x13 image is one or two
 * tiles): the panels are split among tasks too, each packing or copying its tile's input itself. Sets
 * *chunk_panels and returns the tasks per tile. */
static int panel_chunks(int panels_m, size_t tile_tasks, int threads, int *chunk_panels) {
    int chunks = 1;
    if (threads > 1 && tile_tasks < (size_t)threads * 3)
        chunks = (int)LK_MIN((size_t)panels_m, ((size_t)threads * 3 + tile_tasks - 1) / tile_tasks);
    *chunk_panels = (panels_m + chunks - 1) / chunks;
    return (panels_m + *chunk_panels - 1) / *chunk_panels;
}


/* Flat rows compute the wq - ow columns past each output row and drop them; im2col packs the input kh*kw/(sh*sw)
 * times instead.  Flat rows are worth it while the dropped columns are under a quarter and the micro-kernel
 * columns they run (rounded up to whole NR panels) cost less than packed panels plus their packing: on a small
 * image (8x8: 80 flat positions, three panels, against two) packing wins once there are enough output channels
 * to share it.  Phases a 1x1 kernel skips are not copied.  Every flat tile is also scattered into the output
 * rows through an edge buffer (store_run), about FLAT_STORE_K steps of k per output: next to a short k that
 * is what decides (SqueezeNet's 3 -> 64 3x3/2 stem, k = 27: flat 0.60 ms, packed 0.52; a 7x7/2 stem, k =
 * 147: flat 2.35, packed 2.57; Zen 4, one thread). */
#define FLAT_STORE_K 8
static int flat_pays(const lk_conv2d *p) {
    int wq = p->ow + (p->kw - 1) * p->dw / p->sw;
    if (p->sh > 4 || p->sw > 4 || 4 * (wq - p->ow) > wq) return 0;
    int64_t mg = p->m / p->groups, rows = (mg + MR - 1) / MR * MR;
    int64_t flat_cols = ((int64_t)p->oh * wq + NR - 1) / NR * NR;
    /* packed: whole panels, and a last panel under TAIL_COLS at narrow_fmas (24 per 32-wide tile) */
    int64_t positions = (int64_t)p->oh * p->ow, tail = positions % NR;
    int64_t narrow = tail < TAIL_COLS ? (narrow_fmas((int)tail) * NR + 23) / 24 : NR;
    int64_t packed_cols = positions / NR * NR + (tail == 0 ? 0 : narrow);
    int64_t k = (int64_t)(p->c / p->groups) * p->kh * p->kw;
    return flat_cols * rows * (k + FLAT_STORE_K) <= packed_cols * (rows + PACK_ROWS) * k;
}

static int conv_flat(const lk_conv2d *p, const float *x, const float *w_packed, const float *bias, const float *z,
                     float *y, lk_pool *pool) {
    flat_job j = {.p = p, .x = x, .w_packed = w_packed, .bias = bias, .z = z, .y = y};
    int cg = p->c / p->groups, phases = p->sh * p->sw;
    j.k = cg * p->kh * p->kw;
    j.mg = p->m / p->groups;
    j.panels_m = (j.mg + MR - 1) / MR;
    j.wq = p->ow + (p->kw - 1) * p->dw / p->sw;
    size_t images = (size_t)p->n * p->groups;
    j.tile = conv_tile(p->oh * j.wq, images, lk_pool_threads(pool));
    j.tiles = (p->oh * j.wq + j.tile - 1) / j.tile;
    j.chunks = panel_chunks(j.panels_m, images * (size_t)j.tiles, lk_pool_threads(pool), &j.chunk_panels);
    /* rows a tile's panels touch (a tile may start mid-row; its last panel
     * runs up to NR - 1 positions past it), then the kernel's rows below */
    j.rows_max = (j.tile + NR + j.wq - 2) / j.wq + 1 + (p->kh - 1) * p->dh / p->sh;
    j.plane = (j.rows_max * j.wq + (p->kw - 1) * p->dw / p->sw + NR + 15) / 16 * 16;
    if ((int64_t)cg * phases * j.plane > (int64_t)1 << 30) return LK_E_ARG;
    int *off = lk_scratch(3, (size_t)j.k * sizeof(int));
    if (!off) return LK_E_NOMEM;
    for (int ci = 0, kk = 0; ci < cg; ci++)
        for (int ki = 0; ki < p->kh; ki++)
            for (int kj = 0; kj < p->kw; kj++) {
                int phase = (ki * p->dh % p->sh) * p->sw + kj * p->dw % p->sw;
                j.phases_read |= 1u << phase;
                off[kk++] = (ci * phases + phase) * j.plane + ki * p->dh / p->sh * j.wq + kj * p->dw / p->sw;
            }
    j.off = off;
    lk_split_activation(&p->act, &j.lo, &j.hi, &j.after);
    lk_parallel_for(pool, images * j.tiles * (size_t)j.chunks, flat_task, &j);
    return j.status;
}

/* the packed-weight convolution in float32 (w_packed) or bf16 (w_bf16): the
 * flat-rows path serves float32 only (its B rows are read in place, which
 * bf16 pairs cannot be) */
static int conv_packed(const lk_conv2d *p, const float *x, const float *w_packed, const uint32_t *w_bf16,
                       const float *bias, const float *z, float *y, preact pre, lk_pool *pool) {
    if (!p || p->groups < 1 || p->c % p->groups || p->m % p->groups) return LK_E_ARG;
    if (pre.scale && (w_bf16 || !pre.shift || !lk_conv_preact_geometry(p))) return LK_E_ARG;
    int positions = p->oh * p->ow;
    if (p->n == 0 || positions == 0) return LK_OK;
    if (!w_bf16 && !(p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pad_top == 0 && p->pad_left == 0) &&
        flat_pays(p))
        return conv_flat(p, x, w_packed, bias, z, y, pool);
    pconv_job j = {.p = p, .x = x, .w_packed = w_packed, .w_bf16 = w_bf16, .bias = bias, .z = z, .y = y, .pre = pre};
    j.k = p->c / p->groups * p->kh * p->kw;
    j.mg = p->m / p->groups;
    j.panels_m = (j.mg + MR - 1) / MR;
    /* reading the image in place beats packing it when few weight panels
     * reuse each input panel (measured: 64 output channels from 256, +27%;
     * 256 from 64, packing 13% faster: a packed panel is contiguous, the
     * image's rows are a plane apart); bf16 always converts a packed panel */
    j.pointwise = !w_bf16 && !pre.scale && p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pad_top == 0 &&
                  p->pad_left == 0 && p->oh == p->h && p->ow == p->w && j.panels_m <= 8;
    lk_split_activation(&p->act, &j.lo, &j.hi, &j.after);
    size_t images = (size_t)p->n * p->groups;
    /* bf16 tiles have no narrow last panel */
    packed_partition(positions, images, j.panels_m, lk_pool_threads(pool), w_bf16 ? 0 : TAIL_COLS,
                     j.pointwise ? 0 : PACK_ROWS, &j.tile, &j.chunks, &j.chunk_panels);
    j.tiles = (positions + j.tile - 1) / j.tile;
    int tile_panels = (j.tile + NR - 1) / NR;
    size_t tile_floats = (size_t)tile_panels * j.k * NR;
    if (j.chunks > 1 && !w_bf16 && p->kh * p->kw > 1 && tile_floats >= SHARED_PACK_FLOATS &&
        tile_floats <= ((size_t)1 << 28) / (images * j.tiles)) {
        /* the tasks of a tile share its input panels, packed once, in parallel, instead of once per task: for
         * im2col's kh*kw copies of a large input (512 -> 512 3x3 on 7x7, 2 threads: 1.68-1.88 -> 1.55 ms); small
         * panels and a 1x1 conv's cost less to pack again than the extra pass and moving them between cores
         * (64 -> 96 3x3 on 5x5: +30% when shared; 960 -> 320 1x1 on 7x7: +13%) */
        j.shared_per_tile = tile_floats;
        j.shared = lk_scratch(4, images * j.tiles * j.shared_per_tile * sizeof(float));
        if (!j.shared) return LK_E_NOMEM;
        lk_parallel_for(pool, images * j.tiles * (size_t)tile_panels, pconv_pack_task, &j);
    }
    lk_parallel_for(pool, images * j.tiles * (size_t)j.chunks, pconv_task, &j);
    return j.status;
}

int lk_conv2d_packed_f32(const lk_conv2d *p, const float *x, const float *w_packed, const float *bias,
                         const float *z, float *y, lk_pool *pool) {
    if (!lk_conv_packed_available()) return LK_E_ARG;
    return conv_packed(p, x, w_packed, NULL, bias, z, y, (preact){NULL, NULL}, pool);
}

int lk_conv2d_packed_preact_f32(const lk_conv2d *p, const float *x, const float *w_packed, const float *bias,
                                const float *z, float *y, const float *scale, const float *shift, lk_pool *pool) {
    if (!lk_conv_packed_available() || !scale || !shift) return LK_E_ARG;
    return conv_packed(p, x, w_packed, NULL, bias, z, y, (preact){scale, shift}, pool);
}

int lk_conv2d_packed_bf16(const lk_conv2d *p, const float *x, const uint32_t *w_packed, const float *bias,
                          const float *z, float *y, lk_pool *pool) {
    if (!lk_bf16_available()) return LK_E_ARG;
    if (lk_bf16_amx()) return lk_conv2d_amx_bf16(p, x, w_packed, bias, z, y, pool);
    return conv_packed(p, x, NULL, w_packed, bias, z, y, (preact){NULL, NULL}, pool);
}
