/*
 * Winograd convolution for stride-1 convolutions with square 3x3 or 5x5
 * kernels, any groups (Lavin & Gray): an u x u output tile from an
 * (u+r-1)^2 input tile, with (u+r-1)^2 multiplies per channel pair instead of
 * r^2 u^2.  Three variants:
 *  - F(2x2, 3x3), 16 multiplies for 4 outputs (2.25x fewer): its transforms
 *    hold only 0, +-1 and +-1/2, so its float32 error is that of the direct
 *    method;
 *  - F(4x4, 3x3), 36 for 16 (4x fewer): transforms with entries up to 8
 *    raise the float32 error to ~1e-6 of the output's norm per layer (direct:
 *    ~2e-7; measured on ResNet-like layers in docs/native-kernels.md).  The
 *    lowering takes it only for large maps, where it pays;
 *  - F(2x2, 5x5), 36 for 4 (2.8x fewer), on the same six points as F(4x4, 3x3)
 *    (so the same input transform B^T), and about the same error.
 *
 * Per task (an image, a group, a block of tile rows, a range of weight panels):
 *  1. V[f][c][t] = (B^T d B)[f] of every input tile t: the block's input rows
 *     are split into u column phases (phase q holds padded columns u k + q),
 *     so tile tx reads column j of its tile as phase j % u at tx + j / u, and
 *     every transform loop runs vectorised across the tiles of a row;
 *  2. (u+r-1)^2 GEMMs M[f] = U[f] V[f] on the library's 12x32 tile, with the
 *     weights transformed and packed once (lk_winograd_pack_weights);
 *  3. Y = A^T M A per tile into u output rows at a time, then bias, residual
 *     and a clamp activation on the way out.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lk_internal.h"

#define MR 12
#define NR 32

/* input tile row -> v (planes fstride apart): ph[i * unit + q] is phase q of the tile row's input row i */
typedef void (*wino_input_fn)(int unit, int tw, const float *const *ph, float *v, size_t fstride);
/* M of `tiles` consecutive tiles -> u output rows r[0..u-1] of u values per tile (a block's tiles
 * are its tile rows one after another, so r[k] + u * tw * tr is output row u * tr + k of tile row tr);
 * tmp holds alpha * u * tiles floats */
typedef void (*wino_output_fn)(int tiles, const float *m, size_t fstride, float *const *r, float *tmp);

typedef struct {
    int unit, r, alpha;   /* output tile side, kernel side, input tile side (unit + r - 1) */
    int tile_budget;      /* tiles of a block, about (its V and M stay in L2) */
    const float *g;       /* G: alpha x r, row-major; U = G g G^T */
    wino_input_fn input_row;
    /* NULL: input_row writes V itself; else input_row leaves row-transformed tiles in the task's tmp
     * and this runs the column pass over the whole block (a tile row alone is under one vector) */
    void (*input_block)(int tiles, const float *rows, size_t stride, float *v, size_t fstride);
    wino_output_fn output_row;
} wino_variant;

/* ---------------------------------------------------------------- F(2x2, 3x3) */

static const float G23[4 * 3] = {1, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f, -0.5f, 0.5f, 0, 0, 1};

/* B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]; one named value per tile
 * entry, so that GCC vectorises the loop across tiles (16 per AVX-512 step) */
LK_HOT static void input_row_f2(int unit, int tw, const float *const *ph, float *v, size_t fstride) {
    (void)unit;
    const float *restrict e0 = ph[0], *restrict e1 = ph[2], *restrict e2 = ph[4], *restrict e3 = ph[6];
    const float *restrict o0 = ph[1], *restrict o1 = ph[3], *restrict o2 = ph[5], *restrict o3 = ph[7];
    float *restrict v0 = v, *restrict v1 = v + fstride, *restrict v2 = v + 2 * fstride, *restrict v3 = v + 3 * fstride;
    float *restrict v4 = v + 4 * fstride, *restrict v5 = v + 5 * fstride, *restrict v6 = v + 6 * fstride;
    float *restrict v7 = v + 7 * fstride, *restrict v8 = v + 8 * fstride, *restrict v9 = v + 9 * fstride;
    float *restrict v10 = v + 10 * fstride, *restrict v11 = v + 11 * fstride, *restrict v12 = v + 12 * fstride;
    float *restrict v13 = v + 13 * fstride, *restrict v14 = v + 14 * fstride, *restrict v15 = v + 15 * fstride;
    for (int tx = 0; tx < tw; tx++) {
        /* B^T d over rows (entries d[row][col], cols ev[tx], od[tx], ev[tx+1], od[tx+1]) */
        float t00 = e0[tx] - e2[tx], t01 = o0[tx] - o2[tx], t02 = e0[tx + 1] - e2[tx + 1], t03 = o0[tx + 1] - o2[tx + 1];
        float t10 = e1[tx] + e2[tx], t11 = o1[tx] + o2[tx], t12 = e1[tx + 1] + e2[tx + 1], t13 = o1[tx + 1] + o2[tx + 1];
        float t20 = e2[tx] - e1[tx], t21 = o2[tx] - o1[tx], t22 = e2[tx + 1] - e1[tx + 1], t23 = o2[tx + 1] - o1[tx + 1];
        float t30 = e1[tx] - e3[tx], t31 = o1[tx] - o3[tx], t32 = e1[tx + 1] - e3[tx + 1], t33 = o1[tx + 1] - o3[tx + 1];
        /* (B^T d) B over columns */
        v0[tx] = t00 - t02, v1[tx] = t01 + t02, v2[tx] = t02 - t01, v3[tx] = t01 - t03;
        v4[tx] = t10 - t12, v5[tx] = t11 + t12, v6[tx] = t12 - t11, v7[tx] = t11 - t13;
        v8[tx] = t20 - t22, v9[tx] = t21 + t22, v10[tx] = t22 - t21, v11[tx] = t21 - t23;
        v12[tx] = t30 - t32, v13[tx] = t31 + t32, v14[tx] = t32 - t31, v15[tx] = t31 - t33;
    }
}

/* A^T = [[1,1,1,0],[0,1,-1,-1]]: the two output rows, interleaved per tile */
LK_HOT static void output_row_f2(int tw, const float *m, size_t fstride, float *const *r, float *tmp) {
    (void)tmp;
    const float *restrict q[16];
    for (int f = 0; f < 16; f++) q[f] = m + (size_t)f * fstride;
    float *restrict r0 = r[0], *restrict r1 = r[1];
    for (int tx = 0; tx < tw; tx++) {
        float s00 = q[0][tx] + q[4][tx] + q[8][tx], s01 = q[1][tx] + q[5][tx] + q[9][tx];
        float s02 = q[2][tx] + q[6][tx] + q[10][tx], s03 = q[3][tx] + q[7][tx] + q[11][tx];
        float s10 = q[4][tx] - q[8][tx] - q[12][tx], s11 = q[5][tx] - q[9][tx] - q[13][tx];
        float s12 = q[6][tx] - q[10][tx] - q[14][tx], s13 = q[7][tx] - q[11][tx] - q[15][tx];
        r0[2 * tx] = s00 + s01 + s02;
        r0[2 * tx + 1] = s01 - s02 - s03;
        r1[2 * tx] = s10 + s11 + s12;
        r1[2 * tx + 1] = s11 - s12 - s13;
    }
}

/* ---------------------------------------------------------------- F(4x4, 3x3) */

/* F(4x4, 3x3) and F(2x2, 5x5) on the points 0, 1, -1, 2, -2, inf: one B^T, G 6 x 3 and 6 x 5 */
static const float G43[6 * 3] = {0.25f,     0,          0,         -1.0f / 6, -1.0f / 6, -1.0f / 6,
                                 -1.0f / 6, 1.0f / 6,   -1.0f / 6, 1.0f / 24, 1.0f / 12, 1.0f / 6,
                                 1.0f / 24, -1.0f / 12, 1.0f / 6,  0,         0,         1};
static const float G25[6 * 5] = {0.25f,     0,          0,         0,         0,         -1.0f / 6, -1.0f / 6,
                                 -1.0f / 6, -1.0f / 6,  -1.0f / 6, -1.0f / 6, 1.0f / 6,  -1.0f / 6, 1.0f / 6,
                                 -1.0f / 6, 1.0f / 24,  1.0f / 12, 1.0f / 6,  1.0f / 3,  2.0f / 3,  1.0f / 24,
                                 -1.0f / 12, 1.0f / 6,  -1.0f / 3, 2.0f / 3,  0,         0,         0,
                                 0,         1};

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* The transforms run on 16 tiles per AVX-512 vector with masked tails: a tile
 * row holds 7-14 tiles of a ResNet layer, too few for the compiler's
 * vectorised loops (measured: the scalar tails took half of the run).  Only
 * reached where lk_winograd_available(), which needs AVX-512F. */
#define WINO_AVX512 __attribute__((target("avx512f")))

WINO_AVX512 static inline __mmask16 tail_mask(int left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

/* the six rows of a 6-point transform step, 16 tiles from tx (masked) */
WINO_AVX512 static inline void load6(__mmask16 k, const float *const rows[6], int tx, __m512 v[6]) {
    for (int i = 0; i < 6; i++) v[i] = _mm512_maskz_loadu_ps(k, rows[i] + tx);
}

/* a's and b's lanes alternating: lanes 0-7 of each (half 0) or 8-15 (half 1) */
WINO_AVX512 static inline __m512 interleave(__m512 a, __m512 b, int half) {
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    return _mm512_permutex2var_ps(a, half ? hi : lo, b);
}

/* 16 values of the zero-padded image row from padded column `start` on: the image's w values sit at
 * padded columns [pad_left, pad_left + w).  Masked loads read only the row itself: from the row's first
 * value on an expanding load (the lanes before it are padding), else a load masked at the row's end. */
WINO_AVX512 static inline __m512 padded_vector(const float *row, int w, int pad_left, int start) {
    int first = start - pad_left; /* the image column in lane 0 */
    if (first >= w || first + 16 <= 0) return _mm512_setzero_ps();
    if (first >= 0) return _mm512_maskz_loadu_ps(tail_mask(w - first), row + first);
    __mmask16 lanes = (__mmask16)(tail_mask(w - first) & ~tail_mask(-first)); /* lanes -first .. w - first */
    return _mm512_maskz_expandloadu_ps(lanes, row);
}

/* an image row of w values, zero-padded by pad_left on the left and by zeros to 4 * len (len a multiple of
 * 16), into its 4 column phases, phase q at phases + q * len: 64 padded values per step, two rounds of
 * even/odd selection.  The padded row is never built (three library calls per row cost more than the
 * selection: 10% of a 64-channel 3x3 conv at 56x56) */
WINO_AVX512 static void deinterleave4(const float *row, int w, int pad_left, int len, float *phases) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int k = 0; k < len; k += 16) {
        int start = 4 * k;
        __m512 v0 = padded_vector(row, w, pad_left, start), v1 = padded_vector(row, w, pad_left, start + 16);
        __m512 v2 = padded_vector(row, w, pad_left, start + 32), v3 = padded_vector(row, w, pad_left, start + 48);
        __m512 e01 = _mm512_permutex2var_ps(v0, even, v1), o01 = _mm512_permutex2var_ps(v0, odd, v1);
        __m512 e23 = _mm512_permutex2var_ps(v2, even, v3), o23 = _mm512_permutex2var_ps(v2, odd, v3);
        _mm512_storeu_ps(phases + k, _mm512_permutex2var_ps(e01, even, e23));
        _mm512_storeu_ps(phases + (size_t)len + k, _mm512_permutex2var_ps(o01, even, o23));
        _mm512_storeu_ps(phases + (size_t)2 * len + k, _mm512_permutex2var_ps(e01, odd, e23));
        _mm512_storeu_ps(phases + (size_t)3 * len + k, _mm512_permutex2var_ps(o01, odd, o23));
    }
}
#define HAVE_DEINTERLEAVE4 1

/* one application of B^T = [[4,0,-5,0,1,0],[0,-4,-4,1,1,0],[0,4,-4,-1,1,0],
 * [0,-2,-1,2,1,0],[0,2,-1,-2,1,0],[0,4,0,-5,0,1]] to six rows of tw values */
WINO_AVX512 static void bt6(int tw, const float *const d[6], float *const t[6]) {
    const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f), two = _mm512_set1_ps(2.0f);
    for (int tx = 0; tx < tw; tx += 16) {
        __mmask16 k = tail_mask(tw - tx);
        __m512 a[6];
        load6(k, d, tx, a);
        __m512 a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5];
        __m512 p = _mm512_fnmadd_ps(four, a2, a4), q = _mm512_fnmadd_ps(four, a1, a3);
        __m512 r = _mm512_sub_ps(a4, a2), s2 = _mm512_mul_ps(two, _mm512_sub_ps(a3, a1));
        _mm512_mask_storeu_ps(t[0] + tx, k, _mm512_fmadd_ps(four, a0, _mm512_fnmadd_ps(five, a2, a4)));
        _mm512_mask_storeu_ps(t[1] + tx, k, _mm512_add_ps(p, q));
        _mm512_mask_storeu_ps(t[2] + tx, k, _mm512_sub_ps(p, q));
        _mm512_mask_storeu_ps(t[3] + tx, k, _mm512_add_ps(r, s2));
        _mm512_mask_storeu_ps(t[4] + tx, k, _mm512_sub_ps(r, s2));
        _mm512_mask_storeu_ps(t[5] + tx, k, _mm512_fmadd_ps(four, a1, _mm512_fnmadd_ps(five, a3, a5)));
    }
}

/* one application of A^T = [[1,1,1,1,1,0],[0,1,-1,2,-2,0],[0,1,1,4,4,0],[0,1,-1,8,-8,1]]
 * to six rows of tw values; four rows out, each value `step` floats apart (1, or 4:
 * the tile's four columns interleaved, for which o[q] = o[0] + q and o[0] has
 * room for 4 * tw rounded up to 64 floats) */
WINO_AVX512 static void at6(int tw, const float *const m[6], float *const o[4], int step) {
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), eight = _mm512_set1_ps(8.0f);
    /* 4 x 16 -> 64 interleaving: pairs of rows by floats, then the pairs by float pairs */
    const __m512i q0 = _mm512_setr_epi32(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const __m512i q1 = _mm512_setr_epi32(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    for (int tx = 0; tx < tw; tx += 16) {
        __mmask16 k = tail_mask(tw - tx);
        __m512 v[6];
        load6(k, m, tx, v);
        __m512 m0 = v[0], m1 = v[1], m2 = v[2], m3 = v[3], m4 = v[4], m5 = v[5];
        __m512 a = _mm512_add_ps(m1, m2), b = _mm512_sub_ps(m1, m2);
        __m512 c = _mm512_add_ps(m3, m4), d = _mm512_sub_ps(m3, m4);
        __m512 y0 = _mm512_add_ps(_mm512_add_ps(m0, a), c), y1 = _mm512_fmadd_ps(two, d, b);
        __m512 y2 = _mm512_fmadd_ps(four, c, a), y3 = _mm512_add_ps(_mm512_fmadd_ps(eight, d, b), m5);
        if (step == 1) {
            _mm512_mask_storeu_ps(o[0] + tx, k, y0);
            _mm512_mask_storeu_ps(o[1] + tx, k, y1);
            _mm512_mask_storeu_ps(o[2] + tx, k, y2);
            _mm512_mask_storeu_ps(o[3] + tx, k, y3);
        } else {
            __m512 p01l = interleave(y0, y1, 0), p01h = interleave(y0, y1, 1);
            __m512 p23l = interleave(y2, y3, 0), p23h = interleave(y2, y3, 1);
            float *dst = o[0] + (size_t)4 * tx;
            _mm512_storeu_ps(dst, _mm512_permutex2var_ps(p01l, q0, p23l));
            _mm512_storeu_ps(dst + 16, _mm512_permutex2var_ps(p01l, q1, p23l));
            _mm512_storeu_ps(dst + 32, _mm512_permutex2var_ps(p01h, q0, p23h));
            _mm512_storeu_ps(dst + 48, _mm512_permutex2var_ps(p01h, q1, p23h));
        }
    }
}

/* F(2x2, 5x5)'s A^T = [[1,1,1,1,1,0],[0,1,-1,2,-2,1]] to six rows of tw values;
 * two rows out, each value `step` floats apart (1, or 2: the tile's two columns
 * interleaved, o[1] = o[0] + 1, o[0] with room for 2 * tw rounded up to 32) */
WINO_AVX512 static void at6x2(int tw, const float *const m[6], float *const o[2], int step) {
    const __m512 two = _mm512_set1_ps(2.0f);
    for (int tx = 0; tx < tw; tx += 16) {
        __mmask16 k = tail_mask(tw - tx);
        __m512 v[6];
        load6(k, m, tx, v);
        __m512 m0 = v[0], m1 = v[1], m2 = v[2], m3 = v[3], m4 = v[4], m5 = v[5];
        __m512 y0 = _mm512_add_ps(_mm512_add_ps(m0, _mm512_add_ps(m1, m2)), _mm512_add_ps(m3, m4));
        __m512 y1 = _mm512_add_ps(_mm512_fmadd_ps(two, _mm512_sub_ps(m3, m4), _mm512_sub_ps(m1, m2)), m5);
        if (step == 1) {
            _mm512_mask_storeu_ps(o[0] + tx, k, y0);
            _mm512_mask_storeu_ps(o[1] + tx, k, y1);
        } else {
            float *dst = o[0] + (size_t)2 * tx;
            _mm512_storeu_ps(dst, interleave(y0, y1, 0));
            _mm512_storeu_ps(dst + 16, interleave(y0, y1, 1));
        }
    }
}
#else
/* one application of B^T = [[4,0,-5,0,1,0],[0,-4,-4,1,1,0],[0,4,-4,-1,1,0],
 * [0,-2,-1,2,1,0],[0,2,-1,-2,1,0],[0,4,0,-5,0,1]] to six rows of tw values */
static void bt6(int tw, const float *const d[6], float *const t[6]) {
    const float *restrict d0 = d[0], *restrict d1 = d[1], *restrict d2 = d[2], *restrict d3 = d[3];
    const float *restrict d4 = d[4], *restrict d5 = d[5];
    float *restrict t0 = t[0], *restrict t1 = t[1], *restrict t2 = t[2], *restrict t3 = t[3], *restrict t4 = t[4],
                    *restrict t5 = t[5];
    for (int tx = 0; tx < tw; tx++) {
        float a0 = d0[tx], a1 = d1[tx], a2 = d2[tx], a3 = d3[tx], a4 = d4[tx], a5 = d5[tx];
        float p = a4 - 4.0f * a2, q = a3 - 4.0f * a1, r = a4 - a2, s = 2.0f * (a3 - a1);
        t0[tx] = 4.0f * a0 - 5.0f * a2 + a4;
        t1[tx] = p + q;
        t2[tx] = p - q;
        t3[tx] = r + s;
        t4[tx] = r - s;
        t5[tx] = 4.0f * a1 - 5.0f * a3 + a5;
    }
}

/* one application of A^T = [[1,1,1,1,1,0],[0,1,-1,2,-2,0],[0,1,1,4,4,0],[0,1,-1,8,-8,1]]
 * to six rows of tw values: four rows out, each value `step` floats apart */
static void at6(int tw, const float *const m[6], float *const o[4], int step) {
    const float *restrict m0 = m[0], *restrict m1 = m[1], *restrict m2 = m[2], *restrict m3 = m[3];
    const float *restrict m4 = m[4], *restrict m5 = m[5];
    float *restrict o0 = o[0], *restrict o1 = o[1], *restrict o2 = o[2], *restrict o3 = o[3];
    for (int tx = 0; tx < tw; tx++) {
        float a = m1[tx] + m2[tx], b = m1[tx] - m2[tx], c = m3[tx] + m4[tx], d = m3[tx] - m4[tx];
        o0[(size_t)tx * step] = m0[tx] + a + c;
        o1[(size_t)tx * step] = b + 2.0f * d;
        o2[(size_t)tx * step] = a + 4.0f * c;
        o3[(size_t)tx * step] = b + 8.0f * d + m5[tx];
    }
}


/* F(2x2, 5x5)'s A^T = [[1,1,1,1,1,0],[0,1,-1,2,-2,1]]: two rows out, each value `step` floats apart */
static void at6x2(int tw, const float *const m[6], float *const o[2], int step) {
    for (int tx = 0; tx < tw; tx++) {
        float a = m[1][tx] + m[2][tx], b = m[1][tx] - m[2][tx], c = m[3][tx] + m[4][tx], d = m[3][tx] - m[4][tx];
        o[0][(size_t)tx * step] = m[0][tx] + a + c;
        o[1][(size_t)tx * step] = b + 2.0f * d + m[5][tx];
    }
}
#endif

/* B^T d B of 6x6 tiles (F(4x4, 3x3), F(2x2, 5x5)): over rows into tmp[i][j]
 * (column j of the tiles: phase j % unit at tx + j / unit), then over columns */
static void input_row_b6(int unit, int tw, const float *const *ph, float *v, size_t fstride) {
    /* over rows only, into v (the block's row-transformed tiles, planes fstride apart); input_block_b6
     * then runs the columns over all of a block's tiles at once */
    for (int j = 0; j < 6; j++) {
        const float *d[6];
        float *t[6];
        for (int i = 0; i < 6; i++) {
            d[i] = ph[i * unit + j % unit] + j / unit;
            t[i] = v + (size_t)(i * 6 + j) * fstride;
        }
        bt6(tw, d, t);
    }
}

/* the column pass of input_row_b6 over `tiles` tiles: rows in planes `stride` apart, V planes fstride apart */
static void input_block_b6(int tiles, const float *rows, size_t stride, float *v, size_t fstride) {
    for (int i = 0; i < 6; i++) {
        const float *d[6];
        float *t[6];
        for (int j = 0; j < 6; j++) {
            d[j] = rows + (size_t)(i * 6 + j) * stride;
            t[j] = v + (size_t)(i * 6 + j) * fstride;
        }
        bt6(tiles, d, t);
    }
}
/* over rows into tmp[r][j], then over columns into the four output rows, 4 values per tile */
static void output_row_f4(int tw, const float *m, size_t fstride, float *const *r, float *tmp) {
    for (int j = 0; j < 6; j++) {
        const float *in[6];
        float *out[4];
        for (int i = 0; i < 6; i++) in[i] = m + (size_t)(i * 6 + j) * fstride;
        for (int k = 0; k < 4; k++) out[k] = tmp + (size_t)(k * 6 + j) * tw;
        at6(tw, in, out, 1);
    }
    for (int k = 0; k < 4; k++) {
        const float *in[6];
        float *out[4];
        for (int j = 0; j < 6; j++) in[j] = tmp + (size_t)(k * 6 + j) * tw;
        for (int q = 0; q < 4; q++) out[q] = r[k] + q;
        at6(tw, in, out, 4);
    }
}

/* F(2x2, 5x5): over rows into tmp[r][j], then over columns into the two output rows, 2 values per tile */
static void output_row_f25(int tw, const float *m, size_t fstride, float *const *r, float *tmp) {
    for (int j = 0; j < 6; j++) {
        const float *in[6];
        float *out[2] = {tmp + (size_t)j * tw, tmp + (size_t)(6 + j) * tw};
        for (int i = 0; i < 6; i++) in[i] = m + (size_t)(i * 6 + j) * fstride;
        at6x2(tw, in, out, 1);
    }
    for (int k = 0; k < 2; k++) {
        const float *in[6];
        float *out[2] = {r[k], r[k] + 1};
        for (int j = 0; j < 6; j++) in[j] = tmp + (size_t)(k * 6 + j) * tw;
        at6x2(tw, in, out, 2);
    }
}

static const wino_variant VARIANTS[] = {
    {2, 3, 4, 128, G23, input_row_f2, NULL, output_row_f2},
    {4, 3, 6, 64, G43, input_row_b6, input_block_b6, output_row_f4},
    {2, 5, 6, 64, G25, input_row_b6, input_block_b6, output_row_f25},
};

/* F(unit x unit, r x r), or NULL */
static const wino_variant *variant(int unit, int r) {
    for (size_t i = 0; i < sizeof VARIANTS / sizeof VARIANTS[0]; i++)
        if (VARIANTS[i].unit == unit && VARIANTS[i].r == r) return &VARIANTS[i];
    return NULL;
}

/* ---------------------------------------------------------------- weights */

size_t lk_winograd_packed_floats(int unit, int kernel, int m, int c, int groups) {
    const wino_variant *v = variant(unit, kernel);
    if (!v || m <= 0 || c <= 0 || groups <= 0 || m % groups || c % groups) return 0;
    size_t panels = (size_t)(m / groups + MR - 1) / MR;
    return (size_t)v->alpha * v->alpha * (size_t)groups * panels * MR * (size_t)(c / groups);
}

/* U = G g G^T of the kernels of one 12-row weight panel and one input channel, the panel's rows along the
 * innermost loops (vectorised; rows past the panel's end are zero), written into the panel's 12 floats of
 * every plane f (planes `fstride` floats apart).  Additions in the order of the scalar definition. */
LK_HOT static void pack_panel(const wino_variant *v, const float *const rows[MR], int count, float *dst,
                              size_t fstride) {
    const int a = v->alpha, r = v->r;
    float gk[25][MR], t[6][5][MR];
    for (int q = 0; q < r * r; q++)
        for (int l = 0; l < MR; l++) gk[q][l] = l < count ? rows[l][q] : 0.0f;
    for (int i = 0; i < a; i++)
        for (int col = 0; col < r; col++) {
            float *tl = t[i][col];
            for (int l = 0; l < MR; l++) tl[l] = 0.0f;
            for (int k = 0; k < r; k++) {
                const float gik = v->g[i * r + k];
                for (int l = 0; l < MR; l++) tl[l] += gik * gk[k * r + col][l];
            }
        }
    for (int i = 0; i < a; i++)
        for (int j = 0; j < a; j++) {
            float *u = dst + (size_t)(i * a + j) * fstride;
            for (int l = 0; l < MR; l++) u[l] = 0.0f;
            for (int col = 0; col < r; col++) {
                const float gjc = v->g[j * r + col];
                for (int l = 0; l < MR; l++) u[l] += t[i][col][l] * gjc;
            }
        }
}

void lk_winograd_pack_weights(int unit, int kernel, const float *w, int m, int c, int groups, float *out) {
    /* U = G g G^T of each [r][r] kernel (w: [m][c / groups][r][r]), packed [f][group][m panel][c / groups][12] */
    if (!lk_winograd_packed_floats(unit, kernel, m, c, groups)) return;
    const wino_variant *v = variant(unit, kernel);
    int r = v->r, mg = m / groups, cg = c / groups, panels = (mg + MR - 1) / MR;
    size_t fstride = (size_t)groups * panels * cg * MR;
    for (int g = 0; g < groups; g++)
        for (int pm = 0; pm < panels; pm++) {
            int count = LK_MIN(MR, mg - pm * MR);
            for (int ci = 0; ci < cg; ci++) {
                const float *rows[MR];
                for (int l = 0; l < count; l++) rows[l] = w + ((size_t)(g * mg + pm * MR + l) * cg + ci) * r * r;
                pack_panel(v, rows, count, out + (((size_t)g * panels + pm) * cg + ci) * MR, fstride);
            }
        }
}

size_t lk_winograd_packed_bf16_pairs(int m, int c) {
    if (m <= 0 || c <= 0) return 0;
    return (size_t)16 * ((size_t)(m + MR - 1) / MR) * MR * (size_t)((c + 1) / 2);
}

int lk_winograd_pack_weights_bf16(const float *w, int m, int c, uint32_t *out) {
    /* the float32 transform, then each [c][12] panel rounded into [ceil(c/2)][12] pairs */
    float *u = malloc(lk_winograd_packed_floats(2, 3, m, c, 1) * sizeof(float));
    if (!u) return LK_E_NOMEM;
    lk_winograd_pack_weights(2, 3, w, m, c, 1, u);
    size_t panels = (size_t)16 * ((m + MR - 1) / MR);
    int cp = (c + 1) / 2;
    for (size_t pnl = 0; pnl < panels; pnl++)
        for (int q = 0; q < cp; q++)
            for (int r = 0; r < MR; r++) {
                const float *src = u + pnl * c * MR;
                float hi = 2 * q + 1 < c ? src[(size_t)(2 * q + 1) * MR + r] : 0.0f;
                out[(pnl * cp + q) * MR + r] = lk_bf16_pair(src[(size_t)2 * q * MR + r], hi);
            }
    free(u);
    return LK_OK;
}

typedef struct {
    const wino_variant *v;
    const lk_conv2d *p;
    const float *x, *u, *bias, *z;
    const uint32_t *u_bf16; /* bf16 pairs instead of u (lk_conv2d_winograd_bf16) */
    float *y;
    int cg, mg;               /* input and output channels of a group */
    int tiles_h, tiles_w, rows_per_task, tiles_pad, panels_m, phase_len; /* panels_m: of a group */
    int chunk_panels, chunks; /* weight panels per task, tasks per tile block (few tiles, several threads) */
    float lo, hi;
    int status;
} wino_job;

/* one input row (w values after pad_left zero columns) into `unit` column
 * phases of `len` floats each: phase q holds padded columns unit * k + q. */
static void split_phases(const float *row, int w, int pad_left, int unit, int len, float *phases) {
#ifdef HAVE_DEINTERLEAVE4
    if (unit == 4 && len % 16 == 0) {
        deinterleave4(row, w, pad_left, len, phases);
        return;
    }
#endif
    memset(phases, 0, (size_t)unit * len * sizeof(float));
    for (int q = 0; q < unit; q++) {
        int first = ((q - pad_left) % unit + unit) % unit; /* first image column in phase q */
        if (first >= w) continue;
        lk_gather(phases + (size_t)q * len + (first + pad_left) / unit, row + first, (w - first + unit - 1) / unit, unit);
    }
}

LK_HOT static void finish_row(float *restrict y, const float *restrict r, const float *z, int n, float bias, float lo,
                              float hi) {
    if (z)
        for (int i = 0; i < n; i++) {
            float v = r[i] + bias + z[i];
            v = v < lo ? lo : v;
            y[i] = v > hi ? hi : v;
        }
    else
        for (int i = 0; i < n; i++) {
            float v = r[i] + bias;
            v = v < lo ? lo : v;
            y[i] = v > hi ? hi : v;
        }
}

static void wino_task(void *arg, size_t t) {
    wino_job *j = arg;
    const lk_conv2d *p = j->p;
    const wino_variant *var = j->v;
    const int unit = var->unit, alpha = var->alpha, planes = alpha * alpha, cg = j->cg, mg = j->mg;
    int pm_first = (int)(t % (size_t)j->chunks) * j->chunk_panels;
    int pm_last = LK_MIN(j->panels_m, pm_first + j->chunk_panels);
    t /= (size_t)j->chunks;
    int blocks = (j->tiles_h + j->rows_per_task - 1) / j->rows_per_task;
    int ty0 = (int)(t % (size_t)blocks) * j->rows_per_task;
    t /= (size_t)blocks;
    int g = (int)(t % (size_t)p->groups), b = (int)(t / (size_t)p->groups);
    int rows = LK_MIN(j->rows_per_task, j->tiles_h - ty0);
    int tiles = rows * j->tiles_w, tp = j->tiles_pad, tw = j->tiles_w, len = j->phase_len;
    /* V: [planes][c][tp], M: [planes][m padded][tp]; each plane skewed by 40
     * floats, or the transforms' streams a power of two apart would all fall in
     * one L1 set (measured: the input transform 4x slower) */
    size_t vfs = (size_t)cg * tp + 40;
    size_t mfs = (size_t)j->panels_m * MR * tp + 40;
    size_t split_rows = (size_t)(unit * rows + var->r - 1); /* input rows of the block */
    /* an output row: unit values per tile, room for whole 16-tile vectors (at6 stores them whole) */
    size_t out_stride = (size_t)unit * tp; /* tp: a multiple of 16 */
    size_t split_floats = split_rows * unit * len, out_floats = (size_t)unit * out_stride;
    float *v = lk_scratch(0, (planes * (vfs + mfs) + split_floats + out_floats + (size_t)planes * tp) * sizeof(float));
    if (!v) {
        j->status = LK_E_NOMEM;
        return;
    }
    float *mbuf = v + planes * vfs, *split = mbuf + planes * mfs, *out_rows = split + split_floats;
    float *tmp = out_rows + out_floats;
    if (tiles < tp) /* columns past the block's tiles: zeros, so the GEMMs read finite values */
        for (int f = 0; f < planes; f++)
            for (int c = 0; c < cg; c++)
                memset(v + f * vfs + (size_t)c * tp + tiles, 0, (size_t)(tp - tiles) * sizeof(float));
    const float *x = lk_group_input(p, j->x, (size_t)b, (size_t)g);
    const float *ph[36];
    for (int c = 0; c < cg; c++) {
        const float *xc = x + (size_t)c * p->h * p->w;
        /* the block's input rows unit*ty0 - pad_top + r, each split into its column phases */
        for (size_t r = 0; r < split_rows; r++) {
            int iy = unit * ty0 - p->pad_top + (int)r;
            float *phases = split + r * unit * len;
            if (iy >= 0 && iy < p->h)
                split_phases(xc + (size_t)iy * p->w, p->w, p->pad_left, unit, len, phases);
            else
                memset(phases, 0, (size_t)unit * len * sizeof(float));
        }
        for (int tr = 0; tr < rows; tr++) {
            /* ph[i * unit + q]: phase q of the tile row's input row i */
            const float *row = split + (size_t)unit * tr * unit * len;
            for (int i = 0; i < alpha * unit; i++, row += len) ph[i] = row;
            if (var->input_block)
                var->input_row(unit, tw, ph, tmp + (size_t)tr * tw, (size_t)tp);
            else
                var->input_row(unit, tw, ph, v + (size_t)c * tp + (size_t)tr * tw, vfs);
        }
        if (var->input_block) var->input_block(tiles, tmp, (size_t)tp, v + (size_t)c * tp, vfs);
    }
    if (j->u_bf16) {
        /* each 32-tile column panel of V[f] rounded to pairs once, then every weight panel over it */
        int cp = (cg + 1) / 2;
        uint32_t *vp = lk_scratch(1, (size_t)cp * NR * sizeof(uint32_t));
        if (!vp) {
            j->status = LK_E_NOMEM;
            return;
        }
        for (int f = 0; f < planes; f++)
            for (int pn = 0; pn < tp / NR; pn++) {
                lk_rows_to_bf16_pairs(v + f * vfs + (size_t)pn * NR, (size_t)tp, cg, vp);
                for (int pm = pm_first; pm < pm_last; pm++)
                    lk_gemm_panel_bf16(cp, j->u_bf16 + (((size_t)f * p->groups + g) * j->panels_m + pm) * cp * MR, vp,
                                       mbuf + f * mfs + (size_t)pm * MR * tp + (size_t)pn * NR, (size_t)tp);
            }
    } else {
        /* 32-tile panels, the last one 16 wide where tp is an odd multiple of 16 */
        for (int f = 0; f < planes; f++)
            for (int pm = pm_first; pm < pm_last; pm++) {
                const float *uf = j->u + (((size_t)f * p->groups + g) * j->panels_m + pm) * cg * MR;
                float *mf = mbuf + f * mfs + (size_t)pm * MR * tp;
                int rows = LK_MIN(MR, mg - pm * MR); /* the output transform reads M's rows below mg only */
                for (int col = 0; col < tp; col += NR) {
                    int width = LK_MIN(NR, tp - col), valid = tiles - col; /* the columns past `tiles` are zeros */
                    const float *vf = v + f * vfs + col;
                    if (width == NR && valid > 16 && valid < LK_GEMM_NARROW)
                        lk_gemm_panel_narrow(cg, uf, vf, (size_t)tp, valid, width, mf + col, (size_t)tp);
                    else if (width == NR)
                        lk_gemm_panel(rows, cg, uf, vf, (size_t)tp, mf + col, (size_t)tp);
                    else
                        lk_gemm_panel16(cg, uf, vf, (size_t)tp, mf + col, (size_t)tp);
                }
            }
    }
    float *r[4];
    for (int k = 0; k < unit; k++) r[k] = out_rows + (size_t)k * out_stride;
    for (int m = pm_first * MR; m < LK_MIN(mg, pm_last * MR); m++) {
        int channel = g * mg + m;
        float bias = j->bias ? j->bias[channel] : 0.0f;
        float *ym = j->y + ((size_t)b * p->m + channel) * p->oh * p->ow;
        const float *zm = j->z ? j->z + ((size_t)b * p->m + channel) * p->oh * p->ow : NULL;
        /* the whole block's tiles per transform pass: a tile row alone is 7-14 tiles, under one vector */
        var->output_row(tiles, mbuf + (size_t)m * tp, mfs, r, tmp);
        for (int tr = 0; tr < rows; tr++)
            for (int k = 0; k < unit; k++) {
                int oy = unit * (ty0 + tr) + k;
                if (oy < p->oh)
                    finish_row(ym + (size_t)oy * p->ow, r[k] + (size_t)unit * tw * tr,
                               zm ? zm + (size_t)oy * p->ow : NULL, p->ow, bias, j->lo, j->hi);
            }
    }
}

int lk_winograd_available(const lk_conv2d *p) {
    return p && lk_conv_packed_available() && p->kh == p->kw && (p->kh == 3 || p->kh == 5) && p->sh == 1 &&
           p->sw == 1 && p->dh == 1 && p->dw == 1 && p->groups >= 1 && p->c % p->groups == 0 &&
           p->m % p->groups == 0 && p->pad_top >= 0 && p->pad_top < p->kh && p->pad_left >= 0 &&
           p->pad_left < p->kw && (p->act.kind == LK_ACT_NONE || p->act.kind == LK_ACT_RELU || p->act.kind == LK_ACT_CLIP);
}

static int winograd(const wino_variant *var, const lk_conv2d *p, const float *x, const float *u, const uint32_t *u_bf16,
                    const float *bias, const float *z, float *y, lk_pool *pool) {
    if (!var || !lk_winograd_available(p) || p->kh != var->r || p->n < 0 || p->c < 1 || p->m < 1 || p->oh < 1 ||
        p->ow < 1)
        return LK_E_ARG;
    if (p->n == 0) return LK_OK;
    const int unit = var->unit;
    wino_job j = {.v = var, .p = p, .x = x, .u = u, .u_bf16 = u_bf16, .bias = bias, .z = z, .y = y,
                  .cg = p->c / p->groups, .mg = p->m / p->groups};
    j.tiles_h = (p->oh + unit - 1) / unit;
    j.tiles_w = (p->ow + unit - 1) / unit;
    j.panels_m = (j.mg + MR - 1) / MR;
    /* a column phase of a padded input row: the image, and the unit * tiles + r - 1 columns the tiles read */
    j.phase_len = (LK_MAX(p->w + p->pad_left, unit * j.tiles_w + var->r - 1) / unit + 2 + 15) / 16 * 16;
    lk_activation after; /* none: lk_winograd_available admits only clamps */
    lk_split_activation(&p->act, &j.lo, &j.hi, &after);
    /* Blocks of tile rows, at most about the variant's tile budget each (its V and M stay in L2): the block
     * height with the shortest makespan (rounds of `threads` blocks times a block's cost, which is whole
     * 32-tile panels: 4 blocks of 14 tiles cost as much as 4 of 32), the taller on a tie.  Fewer blocks than
     * threads (one small image): the weight panels are split among tasks as well, each transforming the
     * block's input itself (measured: a 256-channel 3x3 conv at 14x14 no faster on 2 threads than on 1
     * before). */
    int threads = lk_pool_threads(pool);
    int rows_max = LK_MIN(j.tiles_h, LK_MAX(1, var->tile_budget / j.tiles_w));
    long best = -1;
    /* float32 GEMMs take panels of 16 tiles at the end (lk_gemm_panel16); bf16 ones whole 32-tile panels */
    const int quantum = u_bf16 ? NR : NR / 2;
    for (int rows = rows_max; rows >= 1; rows--) {
        size_t blocks = (size_t)p->n * p->groups * ((j.tiles_h + rows - 1) / rows);
        long cost = (long)((blocks + threads - 1) / threads) * ((rows * j.tiles_w + quantum - 1) / quantum);
        if (best < 0 || cost < best) {
            best = cost;
            j.rows_per_task = rows;
        }
    }
    j.tiles_pad = (j.rows_per_task * j.tiles_w + quantum - 1) / quantum * quantum;
    size_t blocks = (size_t)p->n * p->groups * ((j.tiles_h + j.rows_per_task - 1) / j.rows_per_task);
    j.chunks = 1;
    if (blocks < (size_t)threads) j.chunks = (int)LK_MIN((size_t)j.panels_m, ((size_t)threads + blocks - 1) / blocks);
    j.chunk_panels = (j.panels_m + j.chunks - 1) / j.chunks;
    j.chunks = (j.panels_m + j.chunk_panels - 1) / j.chunk_panels;
    lk_parallel_for(pool, blocks * (size_t)j.chunks, wino_task, &j);
    return j.status;
}

int lk_conv2d_winograd_f32(int unit, const lk_conv2d *p, const float *x, const float *u, const float *bias,
                           const float *z, float *y, lk_pool *pool) {
    return winograd(p ? variant(unit, p->kh) : NULL, p, x, u, NULL, bias, z, y, pool);
}

int lk_conv2d_winograd_bf16(const lk_conv2d *p, const float *x, const uint32_t *u, const float *bias, const float *z,
                            float *y, lk_pool *pool) {
    if (!lk_bf16_available() || !p || p->groups != 1) return LK_E_ARG;
    return winograd(variant(2, 3), p, x, NULL, u, bias, z, y, pool);
}
