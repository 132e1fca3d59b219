/*
 * Depthwise 2-D convolution, NCHW (one input channel per group, one output
 * channel per input channel).
 *
 * Each task takes a block of (image, channel) planes.  A plane is first
 * copied into a zero-bordered scratch plane, so the inner loops have no
 * bounds checks: every output row is a sum over the kh*kw taps of a weight
 * times a (strided) row of the padded plane, which vectorises along the
 * output width for stride 1.  Bias, residual and activation follow on the
 * same rows.
 */
#include <string.h>

#include "lk_internal.h"

typedef struct {
    const lk_conv2d *p;
    const float *x, *w, *bias, *z;
    float *y;
    int ph, pw;            /* padded plane size */
    size_t planes, per_task;
    int status;
} dw_job;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LK_DW_AVX512 1
/* bias + the 3x3 taps of 16 consecutive outputs whose three input rows start at r0, r1, r2: two chains of
 * multiply-adds (the taps alternate between them), added at the end */
__attribute__((target("avx512f"), always_inline)) static inline __m512 taps3x3(const __m512 wv[9], __m512 bv,
                                                                               const float *r0, const float *r1,
                                                                               const float *r2) {
    __m512 a0 = _mm512_fmadd_ps(wv[0], _mm512_loadu_ps(r0), bv);
    __m512 a1 = _mm512_mul_ps(wv[1], _mm512_loadu_ps(r0 + 1));
    a0 = _mm512_fmadd_ps(wv[2], _mm512_loadu_ps(r0 + 2), a0);
    a1 = _mm512_fmadd_ps(wv[3], _mm512_loadu_ps(r1), a1);
    a0 = _mm512_fmadd_ps(wv[4], _mm512_loadu_ps(r1 + 1), a0);
    a1 = _mm512_fmadd_ps(wv[5], _mm512_loadu_ps(r1 + 2), a1);
    a0 = _mm512_fmadd_ps(wv[6], _mm512_loadu_ps(r2), a0);
    a1 = _mm512_fmadd_ps(wv[7], _mm512_loadu_ps(r2 + 1), a1);
    a0 = _mm512_fmadd_ps(wv[8], _mm512_loadu_ps(r2 + 2), a0);
    return _mm512_add_ps(a0, a1);
}

/* 3x3, stride 1, written straight into the output rows: 16 outputs of a row
 * per step (masked at the row's end) from the three padded input rows, plus
 * bias, the residual row and the clamp (ReLU, ReLU6, Clip: lo/hi) before the
 * one store, so the plane is not copied out of a flat buffer nor walked again
 * for the activation.  Reads up to 18 floats past a row's ow values (within
 * the padded row and the scratch's slack). */
__attribute__((target("avx512f"))) static void dw3x3_rows_avx512(const float *padded, size_t pw, int oh, int ow,
                                                                 const float *w, float bias, const float *z,
                                                                 float lo, float hi, float *y) {
    __m512 wv[9];
    for (int k = 0; k < 9; k++) wv[k] = _mm512_set1_ps(w[k]);
    const __m512 bv = _mm512_set1_ps(bias), lov = _mm512_set1_ps(lo), hiv = _mm512_set1_ps(hi);
    for (int oy = 0; oy < oh; oy++) {
        const float *r0 = padded + (size_t)oy * pw, *r1 = r0 + pw, *r2 = r1 + pw;
        float *out = y + (size_t)oy * ow;
        const float *zr = z ? z + (size_t)oy * ow : NULL;
        for (int i = 0; i < ow; i += 16) {
            __mmask16 m = ow - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (ow - i)) - 1u);
            __m512 v = taps3x3(wv, bv, r0 + i, r1 + i, r2 + i);
            if (zr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, zr + i));
            _mm512_mask_storeu_ps(out + i, m, _mm512_min_ps(_mm512_max_ps(v, lov), hiv));
        }
    }
}

/* 3x3, stride 1 on maps of at most 8 columns (7x7: MobileNetV2's and ShuffleNet's last stages), over the padded
 * plane read as one flat row: flat position i = oy * pw + ox, so a 7x7 map is 61 positions in 4 vectors where
 * the row kernel runs 7 vectors with 7 of 16 lanes used; the pw - ow positions past each row are computed and
 * dropped when the rows are copied out (residual and clamp there).  The multiply-adds of dw3x3_rows_avx512 in
 * its order: the same results.  Reads up to 17 floats past the plane (the scratch's slack). */
__attribute__((target("avx512f"))) static void dw3x3_flat_avx512(const float *padded, size_t pw, int oh, int ow,
                                                                 const float *w, float bias, const float *z,
                                                                 float lo, float hi, float *flat, float *y) {
    __m512 wv[9];
    for (int k = 0; k < 9; k++) wv[k] = _mm512_set1_ps(w[k]);
    const __m512 bv = _mm512_set1_ps(bias), lov = _mm512_set1_ps(lo), hiv = _mm512_set1_ps(hi);
    const float *r0 = padded, *r1 = r0 + pw, *r2 = r1 + pw;
    size_t n = (size_t)(oh - 1) * pw + (size_t)ow;
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(flat + i, m, taps3x3(wv, bv, r0 + i, r1 + i, r2 + i));
    }
    __mmask16 row = (__mmask16)((1u << ow) - 1u);
    for (int oy = 0; oy < oh; oy++) {
        __m512 v = _mm512_maskz_loadu_ps(row, flat + (size_t)oy * pw);
        if (z) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(row, z + (size_t)oy * ow));
        _mm512_mask_storeu_ps(y + (size_t)oy * ow, row, _mm512_min_ps(_mm512_max_ps(v, lov), hiv));
    }
}

/* A plane into its padded copy, 16 floats per masked load and store: a
 * plane's rows are short (7 to 112 floats), where a memcpy call per row costs
 * more than the copy (7x7: 40% of the kernel's time went to memmove). */
__attribute__((target("avx512f"))) static void copy_rows_avx512(float *dst, size_t dst_pitch, const float *src,
                                                                 int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        float *d = dst + (size_t)r * dst_pitch;
        const float *s = src + (size_t)r * cols;
        int c = 0;
        for (; c + 16 <= cols; c += 16) _mm512_storeu_ps(d + c, _mm512_loadu_ps(s + c));
        if (c < cols) {
            __mmask16 m = (__mmask16)((1u << (cols - c)) - 1u);
            _mm512_mask_storeu_ps(d + c, m, _mm512_maskz_loadu_ps(m, s + c));
        }
    }
}

/* 3x3, stride 2 over the even/odd column split (taps 0, 1, 2 of output
 * column ox read ev[ox], od[ox], ev[ox + 1]): the row kernel above's scheme,
 * with the same fused residual and clamp. */
__attribute__((target("avx512f"))) static void dw3x3_s2_rows_avx512(const float *even, const float *odd, size_t half,
                                                                    int oh, int ow, const float *w, float bias,
                                                                    const float *z, float lo, float hi, float *y) {
    __m512 wv[9];
    for (int k = 0; k < 9; k++) wv[k] = _mm512_set1_ps(w[k]);
    const __m512 bv = _mm512_set1_ps(bias), lov = _mm512_set1_ps(lo), hiv = _mm512_set1_ps(hi);
    for (int oy = 0; oy < oh; oy++) {
        size_t r = (size_t)(2 * oy) * half;
        const float *e[3] = {even + r, even + r + half, even + r + 2 * half};
        const float *o[3] = {odd + r, odd + r + half, odd + r + 2 * half};
        float *out = y + (size_t)oy * ow;
        const float *zr = z ? z + (size_t)oy * ow : NULL;
        for (int i = 0; i < ow; i += 16) {
            __mmask16 m = ow - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (ow - i)) - 1u);
            __m512 a0 = bv, a1 = _mm512_setzero_ps();
            for (int k = 0; k < 3; k++) {
                a0 = _mm512_fmadd_ps(wv[3 * k], _mm512_loadu_ps(e[k] + i), a0);
                a1 = _mm512_fmadd_ps(wv[3 * k + 1], _mm512_loadu_ps(o[k] + i), a1);
                a0 = _mm512_fmadd_ps(wv[3 * k + 2], _mm512_loadu_ps(e[k] + i + 1), a0);
            }
            __m512 v = _mm512_add_ps(a0, a1);
            if (zr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, zr + i));
            _mm512_mask_storeu_ps(out + i, m, _mm512_min_ps(_mm512_max_ps(v, lov), hiv));
        }
    }
}

/* 16 values of an image row seen with pad_left zero columns before it, from padded column j0 (zeros outside
 * the row, and for a row outside the image: NULL); masked loads do not fault on the lanes they skip */
__attribute__((target("avx512f"), always_inline)) static inline __m512 padded16(const float *row, int w, int pad_left,
                                                                               int j0) {
    if (!row) return _mm512_setzero_ps();
    int first = LK_MAX(0, pad_left - j0), end = LK_MIN(16, w + pad_left - j0);
    __mmask16 m = end <= first ? 0 : (__mmask16)((((1u << end) - 1u) >> first) << first);
    return _mm512_maskz_loadu_ps(m, row + j0 - pad_left);
}

/* 3x3, stride 2 straight from the image: per 16 outputs each input row's 48 padded columns are loaded and
 * split into the taps' even, odd and next-even columns by permutes (as dw3x3_s2_rows_avx512 reads them from
 * a split plane), so no plane is split or padded first (that pass was half of MobileNetV2's stride-2
 * depthwise convs).  The same multiply-adds in the same order as dw3x3_s2_rows_avx512: the same results. */
__attribute__((target("avx512f"))) static void dw3x3_s2_direct_avx512(const lk_conv2d *p, const float *x,
                                                                      const float *w, float bias, const float *z,
                                                                      float lo, float hi, float *y) {
    static const int even[16] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
    static const int odd[16] = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
    const __m512i ie = _mm512_loadu_si512(even), io = _mm512_loadu_si512(odd);
    __m512 wv[9];
    for (int k = 0; k < 9; k++) wv[k] = _mm512_set1_ps(w[k]);
    const __m512 bv = _mm512_set1_ps(bias), lov = _mm512_set1_ps(lo), hiv = _mm512_set1_ps(hi);
    const int ow = p->ow, iw = p->w, pad = p->pad_left;
    for (int oy = 0; oy < p->oh; oy++) {
        const float *rows[3];
        for (int k = 0; k < 3; k++) {
            int iy = 2 * oy - p->pad_top + k;
            rows[k] = iy >= 0 && iy < p->h ? x + (size_t)iy * iw : NULL;
        }
        float *out = y + (size_t)oy * ow;
        const float *zr = z ? z + (size_t)oy * ow : NULL;
        __m512 a[3];
        for (int k = 0; k < 3; k++) a[k] = padded16(rows[k], iw, pad, 0);
        for (int i = 0; i < ow; i += 16) {
            __mmask16 m = ow - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (ow - i)) - 1u);
            __m512 a0 = bv, a1 = _mm512_setzero_ps();
            for (int k = 0; k < 3; k++) {
                __m512 b = padded16(rows[k], iw, pad, 2 * i + 16), c = padded16(rows[k], iw, pad, 2 * i + 32);
                __m512 s0 = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(b), _mm512_castps_si512(a[k]), 2));
                __m512 s1 = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(c), _mm512_castps_si512(b), 2));
                a0 = _mm512_fmadd_ps(wv[3 * k], _mm512_permutex2var_ps(a[k], ie, b), a0);
                a1 = _mm512_fmadd_ps(wv[3 * k + 1], _mm512_permutex2var_ps(a[k], io, b), a1);
                a0 = _mm512_fmadd_ps(wv[3 * k + 2], _mm512_permutex2var_ps(s0, ie, s1), a0);
                a[k] = c;
            }
            __m512 v = _mm512_add_ps(a0, a1);
            if (zr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, zr + i));
            _mm512_mask_storeu_ps(out + i, m, _mm512_min_ps(_mm512_max_ps(v, lov), hiv));
        }
    }
}
#endif

/* 3x3, stride 1, dilation 1, over the padded plane read as one flat row:
 * flat[i] = sum of the nine taps at i, i + 1, i + 2, i + pw, ..., i + 2pw + 2
 * for every i up to the last output, so the loop is long even when the
 * image is small (a 14-wide row would run in the scalar tail); the pw - ow
 * columns between rows are computed and dropped. */
LK_HOT static void dw3x3_s1(const lk_conv2d *p, const float *padded, int pw, const float *w, float bias,
                            const float *z, float *y, float *flat) {
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
    const int ow = p->ow;
    const size_t n = (size_t)(p->oh - 1) * pw + ow;
    const float *restrict r0 = padded, *restrict r1 = padded + pw, *restrict r2 = padded + 2 * (size_t)pw;
    float *restrict out = flat;
#ifdef LK_DW_AVX512
    if (lk_conv_packed_available()) {
        /* a clamp (or none) goes into the row kernel's store; another activation runs on its rows after */
        float lo, hi;
        lk_activation after;
        lk_split_activation(&p->act, &lo, &hi, &after);
        if (ow <= 8)
            dw3x3_flat_avx512(padded, (size_t)pw, p->oh, ow, w, bias, z, lo, hi, flat, y);
        else
            dw3x3_rows_avx512(padded, (size_t)pw, p->oh, ow, w, bias, z, lo, hi, y);
        if (after.kind != LK_ACT_NONE) lk_activate(y, (size_t)p->oh * ow, &after);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        float s0 = bias + w0 * r0[i] + w1 * r0[i + 1] + w2 * r0[i + 2];
        float s1 = w3 * r1[i] + w4 * r1[i + 1] + w5 * r1[i + 2];
        float s2 = w6 * r2[i] + w7 * r2[i + 1] + w8 * r2[i + 2];
        out[i] = s0 + (s1 + s2);
    }
    if (!z && p->act.kind != LK_ACT_NONE) lk_activate(flat, n, &p->act);  /* one call for the plane */
    for (int oy = 0; oy < p->oh; oy++) {
        float *restrict row = y + (size_t)oy * ow;
        const float *restrict src = flat + (size_t)oy * pw;
        if (z) {
            const float *restrict zr = z + (size_t)oy * ow;
            for (int ox = 0; ox < ow; ox++) row[ox] = src[ox] + zr[ox];
            if (p->act.kind != LK_ACT_NONE) lk_activate(row, (size_t)ow, &p->act);
        } else {
            for (int ox = 0; ox < ow; ox++) row[ox] = src[ox];
        }
    }
}

/* 3x3, stride 2, dilation 1, over a padded plane split into even and odd
 * columns (ev[i] = row[2i], od[i] = row[2i+1]), so every tap is a
 * contiguous load: taps 0, 1, 2 of an output column ox read ev[ox], od[ox], ev[ox + 1] */
LK_HOT static void dw3x3_s2(const lk_conv2d *p, const float *even, const float *odd, int half, const float *w,
                            float bias, const float *z, float *y) {
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
    const int ow = p->ow;
#ifdef LK_DW_AVX512
    if (lk_conv_packed_available()) {
        float lo, hi;
        lk_activation after;
        lk_split_activation(&p->act, &lo, &hi, &after);
        dw3x3_s2_rows_avx512(even, odd, (size_t)half, p->oh, ow, w, bias, z, lo, hi, y);
        if (after.kind != LK_ACT_NONE) lk_activate(y, (size_t)p->oh * ow, &after);
        return;
    }
#endif
    for (int oy = 0; oy < p->oh; oy++) {
        size_t r = (size_t)(2 * oy) * half;
        const float *e0 = even + r, *e1 = e0 + half, *e2 = e1 + half;
        const float *o0 = odd + r, *o1 = o0 + half, *o2 = o1 + half;
        float *restrict out = y + (size_t)oy * ow;
        for (int ox = 0; ox < ow; ox++) {
            float s0 = bias + w0 * e0[ox] + w1 * o0[ox] + w2 * e0[ox + 1];
            float s1 = w3 * e1[ox] + w4 * o1[ox] + w5 * e1[ox + 1];
            float s2 = w6 * e2[ox] + w7 * o2[ox] + w8 * e2[ox + 1];
            out[ox] = s0 + (s1 + s2);
        }
        if (z) {
            const float *restrict zr = z + (size_t)oy * ow;
            for (int ox = 0; ox < ow; ox++) out[ox] += zr[ox];
        }
        if (p->act.kind != LK_ACT_NONE) lk_activate(out, (size_t)p->ow, &p->act);
    }
}

LK_HOT static void dw_plane(const lk_conv2d *p, const float *padded, int pw, const float *w, float bias,
                            const float *z, float *y) {
    for (int oy = 0; oy < p->oh; oy++) {
        float *out = y + (size_t)oy * p->ow;
        for (int ox = 0; ox < p->ow; ox++) out[ox] = bias;
        for (int ki = 0; ki < p->kh; ki++) {
            const float *row = padded + (size_t)(oy * p->sh + ki * p->dh) * pw;
            for (int kj = 0; kj < p->kw; kj++) {
                float wv = w[ki * p->kw + kj];
                const float *src = row + kj * p->dw;
                if (p->sw == 1) {
                    for (int ox = 0; ox < p->ow; ox++) out[ox] += wv * src[ox];
                } else if (p->sw == 2) {
                    for (int ox = 0; ox < p->ow; ox++) out[ox] += wv * src[2 * ox];
                } else {
                    for (int ox = 0; ox < p->ow; ox++) out[ox] += wv * src[(size_t)ox * p->sw];
                }
            }
        }
        if (z) {
            const float *zr = z + (size_t)oy * p->ow;
            for (int ox = 0; ox < p->ow; ox++) out[ox] += zr[ox];
        }
        if (p->act.kind != LK_ACT_NONE) lk_activate(out, (size_t)p->ow, &p->act);
    }
}

static int is_3x3(const lk_conv2d *p, int stride) {
    return p->kh == 3 && p->kw == 3 && p->dh == 1 && p->dw == 1 && p->sh == stride && p->sw == stride;
}

static void dw_task(void *arg, size_t t) {
    dw_job *j = arg;
    const lk_conv2d *p = j->p;
    /* the padded plane, its even/odd split and 32 floats of slack for vector over-reads */
    float *padded = lk_scratch(0, ((size_t)j->ph * (2 * (size_t)j->pw + 4) + 32) * sizeof(float));
    if (!padded) {
        j->status = LK_E_NOMEM;
        return;
    }
    size_t first = t * j->per_task, last = LK_MIN(first + j->per_task, j->planes);
    size_t hw = (size_t)p->h * p->w, ohw = (size_t)p->oh * p->ow;
    float *flat = lk_scratch(2, (size_t)p->oh * j->pw * sizeof(float));
    if (!flat) {
        j->status = LK_E_NOMEM;
        return;
    }
    int half = (j->pw + 1) / 2 + 1;
    float *even = padded + (size_t)j->ph * j->pw, *odd = even + (size_t)j->ph * half;
    int split = is_3x3(p, 2);
#ifdef LK_DW_AVX512
    int vector_copy = lk_conv_packed_available();
#endif
    /* the borders stay zero across planes: clear them once per task */
    if (split)
        memset(even, 0, 2 * (size_t)j->ph * half * sizeof(float));
    else
        memset(padded, 0, (size_t)j->ph * j->pw * sizeof(float));
    for (size_t plane = first; plane < last; plane++) {
        int c = (int)(plane % (size_t)p->c);
        const float *src = j->x + plane * hw;
        const float *w = j->w + (size_t)c * p->kh * p->kw;
        float bias = j->bias ? j->bias[c] : 0.0f;
        const float *z = j->z ? j->z + plane * ohw : NULL;
#ifdef LK_DW_AVX512
        if (split && vector_copy) {
            float lo, hi;
            lk_activation after;
            lk_split_activation(&p->act, &lo, &hi, &after);
            float *out = j->y + plane * ohw;
            dw3x3_s2_direct_avx512(p, src, w, bias, z, lo, hi, out);
            if (after.kind != LK_ACT_NONE) lk_activate(out, ohw, &after);
            continue;
        }
#endif
        if (split) {
            /* stride 2: the image goes straight into even and odd padded columns */
            lk_split_columns(src, p->h, p->w, p->pad_top, p->pad_left, half, even, odd);
            dw3x3_s2(p, even, odd, half, w, bias, z, j->y + plane * ohw);
            continue;
        }
#ifdef LK_DW_AVX512
        if (vector_copy)
            copy_rows_avx512(padded + (size_t)p->pad_top * j->pw + p->pad_left, (size_t)j->pw, src, p->h, p->w);
        else
#endif
            lk_copy_rows(padded + (size_t)p->pad_top * j->pw + p->pad_left, (size_t)j->pw, src, (size_t)p->w, p->h,
                         p->w);
        if (is_3x3(p, 1))
            dw3x3_s1(p, padded, j->pw, w, bias, z, j->y + plane * ohw, flat);
        else
            dw_plane(p, padded, j->pw, w, bias, z, j->y + plane * ohw);
    }
}

int lk_dwconv2d_f32(const lk_conv2d *p, const float *x, const float *w, const float *bias, const float *z,
                    float *y, lk_pool *pool) {
    if (!p || p->groups != p->c || p->m != p->c || p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1 ||
        p->dh < 1 || p->dw < 1 || p->pad_top < 0 || p->pad_left < 0)
        return LK_E_ARG;
    size_t planes = (size_t)p->n * p->c;
    if (planes == 0 || p->oh == 0 || p->ow == 0) return LK_OK;
    dw_job j = {.p = p, .x = x, .w = w, .bias = bias, .z = z, .y = y, .planes = planes};
    j.ph = lk_padded_extent(p->oh, p->sh, p->kh, p->dh, p->pad_top, p->h);
    j.pw = lk_padded_extent(p->ow, p->sw, p->kw, p->dw, p->pad_left, p->w);
    j.per_task = lk_items_per_task(pool, planes, (size_t)p->oh * p->ow * p->kh * p->kw, 1 << 16);
    lk_parallel_for(pool, (planes + j.per_task - 1) / j.per_task, dw_task, &j);
    return j.status;
}
