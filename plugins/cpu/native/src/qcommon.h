/* Shared inline helpers of the int8 kernels (src/q*.c); not part of the public API. */
#ifndef LK_QCOMMON_H
#define LK_QCOMMON_H

#include <math.h>
#include <stdint.h>

/* round_half_even(acc * scale) + zero, clamped to [lo, hi]; in float32 as onnxruntime requantises.
 * The product is bounded first so the conversion to int is always defined (NaN counts as 0). */
static inline int lk_requantize(int32_t acc, float scale, int zero, int lo, int hi) {
    float v = (float)acc * scale;
    v = v != v ? 0.0f : (v < -65536.0f ? -65536.0f : (v > 65536.0f ? 65536.0f : v));
    int q = (int)rintf(v) + zero;
    return q < lo ? lo : (q > hi ? hi : q);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define LK_Q_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

/* lk_requantize on 16 lanes: the output type's clamp [lo, hi] is applied before rounding, as
 * [lo - zero, hi - zero] (integers, so rounding and clamping commute: the same bytes), which also keeps
 * the float-to-int conversion defined */
typedef struct {
    __m512 lo, hi;
    __m512i zero;
} lk_requant16;

LK_Q_AVX512 static inline lk_requant16 lk_requant16_make(int zero, int lo, int hi) {
    lk_requant16 r = {_mm512_set1_ps((float)(lo - zero)), _mm512_set1_ps((float)(hi - zero)), _mm512_set1_epi32(zero)};
    return r;
}

/* the 16 output values of acc scaled, as int32 inside the output type's range */
LK_Q_AVX512 static inline __m512i lk_requant16_int32(const lk_requant16 *r, __m512i acc, __m512 scale) {
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale);
    f = _mm512_min_ps(_mm512_max_ps(f, r->lo), r->hi);
    return _mm512_add_epi32(_mm512_cvtps_epi32(f), r->zero);
}

/* lk_requant16_int32 for sums whose scaled value is known to stay well inside int32 (lk_requant_bounded):
 * round and zero point only; the saturating packs of lk_requant_pack64 then clamp to the output type (for
 * an output range that is the type's whole range only) */
LK_Q_AVX512 static inline __m512i lk_requant16_int32_bounded(const lk_requant16 *r, __m512i acc, __m512 scale) {
    return _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale)), r->zero);
}

/* the 16 output bytes (uint8 or int8 two's complement) of acc + bias scaled */
LK_Q_AVX512 static inline __m128i lk_requant16_apply(const lk_requant16 *r, __m512i acc, __m512i bias, __m512 scale) {
    return _mm512_cvtepi32_epi8(lk_requant16_int32(r, _mm512_add_epi32(acc, bias), scale));
}

/* four vectors of int32 outputs as 64 bytes in their order: two saturating packs (exact for the in-range values
 * of lk_requant16_int32; the clamp to the output type for those of lk_requant16_int32_bounded) and one dword
 * permute to undo the packs' 128-bit lanes.  `is_signed`: int8 output, else uint8. */
LK_Q_AVX512 static inline __m512i lk_requant_pack64(__m512i a, __m512i b, __m512i c, __m512i d, int is_signed) {
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    __m512i ab = _mm512_packs_epi32(a, b), cd = _mm512_packs_epi32(c, d);
    __m512i bytes = is_signed ? _mm512_packs_epi16(ab, cd) : _mm512_packus_epi16(ab, cd);
    return _mm512_permutexvar_epi32(order, bytes);
}

#endif

/* Whether every requantised value of sums of `k` uint8 x int8 products plus bias[i] (i < m), times scale[i],
 * stays inside +-2^30, so that lk_requant16_int32_bounded's conversion is exact and defined: finite scales
 * and |bias| + k * 255 * 128 bounded.  A hostile file's huge bias or scale takes the clamping path. */
static inline int lk_requant_bounded(const int32_t *bias, const float *scale, int m, int64_t k) {
    double top = 0.0, biggest = 0.0;
    for (int i = 0; i < m; i++) {
        double b = bias ? fabs((double)bias[i]) : 0.0, s = fabs((double)scale[i]);
        if (!(s <= 3.0e38)) return 0; /* NaN or infinite */
        if (b > top) top = b;
        if (s > biggest) biggest = s;
    }
    return (top + (double)k * 255.0 * 128.0) * biggest < 1073741824.0;
}

/* Rows and columns of the zero-point-padded image a quantised convolution reads. */
static inline int64_t lk_qconv_span(int out, int stride, int k, int dilation) {
    return (int64_t)(out - 1) * stride + (int64_t)(k - 1) * dilation + 1;
}

/* whether lk_qconv_force_portable(1) is in effect (the int8 kernels then all take their C paths) */
int lk_qconv_portable_forced(void);

#endif
