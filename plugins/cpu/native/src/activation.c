/* Activations and other unary float functions, one vectorisable loop per kind. */
#include <math.h>

#include "lk_internal.h"

/* erf(x) = x P(x^2) / Q(x^2) on [-4, 4] (erf is +-1 beyond in float32): the rational approximation Eigen and
 * XLA use for float32, a few ulps everywhere, tiny |x| included.  The numpy kernels use the same coefficients
 * (litert_cpu/kernels/math/_common.py).  It replaced Abramowitz-Stegun 7.1.26 (an exp and a division, 1.5e-7
 * absolute), twice its cost: a ViT's GELU epilogues were 0.12 ms of each 0.64 ms MLP product at one thread. */
static inline float erf_approx(float x) {
    float xc = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x); /* a NaN stays NaN */
    float x2 = xc * xc;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 - 2.10102402082508e-06f;
    p = p * x2 - 5.69250639462346e-05f;
    p = p * x2 - 7.34990630326855e-04f;
    p = p * x2 - 2.95459980854025e-03f;
    p = p * x2 - 1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * x2 - 2.13374055278905e-04f;
    q = q * x2 - 1.68282697438203e-03f;
    q = q * x2 - 7.37332916720468e-03f;
    q = q * x2 - 1.42647390514189e-02f;
    return xc * p / q;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* erf_approx on 16 lanes with fused multiply-adds (the C loop above compiles to separate multiplies and adds:
 * C11 forbids contracting them), for Erf and GELU (gelu: 0.5 v (1 + erf(v / sqrt 2))).  The clamp keeps a NaN
 * (max/min return their second operand when either is NaN).  A ViT's 197 x 768 GELU epilogue: ~2x faster. */
__attribute__((target("avx512f"))) static void erf_avx512(const float *x, float *y, size_t n, int gelu) {
    const __m512 lo = _mm512_set1_ps(-4.0f), hi = _mm512_set1_ps(4.0f), half = _mm512_set1_ps(0.5f);
    const __m512 scale = _mm512_set1_ps(gelu ? 0.70710678118654752f : 1.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512 xc = _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_mul_ps(v, scale)));
        __m512 x2 = _mm512_mul_ps(xc, xc);
        __m512 p = _mm512_set1_ps(-2.72614225801306e-10f);
        p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.77068142495902e-08f));
        p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-2.10102402082508e-06f));
        p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-5.69250639462346e-05f));
        p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-7.34990630326855e-04f));
        p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-2.95459980854025e-03f));
        p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-1.60960333262415e-02f));
        __m512 q = _mm512_set1_ps(-1.45660718464996e-05f);
        q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-2.13374055278905e-04f));
        q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-1.68282697438203e-03f));
        q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-7.37332916720468e-03f));
        q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-1.42647390514189e-02f));
        /* 1 / q: the 14-bit reciprocal and one Newton step (about 1 ulp), where a division's latency bound
         * the loop (q lies in [-2.4, -0.0142] over the clamped range, never near 0) */
        __m512 r = _mm512_rcp14_ps(q);
        r = _mm512_mul_ps(r, _mm512_fnmadd_ps(q, r, _mm512_set1_ps(2.0f)));
        __m512 e = _mm512_mul_ps(_mm512_mul_ps(xc, p), r);
        if (gelu) {
            __m512 hv = _mm512_mul_ps(half, v);
            e = _mm512_fmadd_ps(hv, e, hv);
        }
        _mm512_mask_storeu_ps(y + i, m, e);
    }
}
#endif

/* Erf or GELU over n floats on the AVX-512 path; 0 where this CPU or build has none. */
static int erf_vector(const float *x, float *y, size_t n, int gelu) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (lk_conv_packed_available()) {
        erf_avx512(x, y, n, gelu);
        return 1;
    }
#endif
    (void)x, (void)y, (void)n, (void)gelu;
    return 0;
}

#define sigmoid lk_sigmoidf
#define tanh_approx lk_tanhf

/* v clamped to [lo, hi]; a NaN stays NaN, as in onnxruntime's Clip (both comparisons are false for it) */
static inline float clamp(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

static inline float gelu_tanh(float v) {
    return 0.5f * v * (1.0f + tanh_approx(0.79788456080286536f * (v + 0.044715f * v * v * v)));
}

/* exp with its full range: overflow to inf, underflow to 0 (lk_expf covers the normal range) */
static inline float exp_full_range(float v) {
    return v > 88.72f ? INFINITY : (v < -103.9f ? 0.0f : (v < -87.3f ? expf(v) : lk_expf(v)));
}

/* log(1 + e^v) without overflow */
static inline float softplus(float v) {
    return (v > 0 ? v : 0.0f) + log1pf(lk_expf(-fabsf(v)));
}

/* One pass of y[i] = expr over the n floats, the element read as v (y may be x); every kind is one such
   loop, which the compiler vectorises. */
#define EACH(expr)                          \
    for (size_t i = 0; i < n; i++) {       \
        float v = x[i];                     \
        y[i] = (expr);                      \
    }

LK_HOT void lk_activate_to(const float *x, float *y, size_t n, const lk_activation *act) {
    int kind = act ? act->kind : LK_ACT_NONE;
    float p0 = act ? act->p0 : 0.0f, p1 = act ? act->p1 : 0.0f;
    switch (kind) {
    case LK_ACT_RELU: EACH(v > 0.0f ? v : 0.0f) break;
    case LK_ACT_CLIP: EACH(clamp(v, p0, p1)) break;
    case LK_ACT_SIGMOID: EACH(sigmoid(v)) break;
    case LK_ACT_TANH: EACH(tanh_approx(v)) break;
    case LK_ACT_LEAKY_RELU: EACH(v < 0.0f ? v * p0 : v) break;
    case LK_ACT_HARD_SIGMOID: EACH(clamp(v * p0 + p1, 0.0f, 1.0f)) break;
    case LK_ACT_HARD_SWISH: EACH(v * clamp(v * (1.0f / 6.0f) + 0.5f, 0.0f, 1.0f)) break;
    case LK_ACT_GELU:
        if (!erf_vector(x, y, n, 1)) EACH(0.5f * v * (1.0f + erf_approx(v * 0.70710678118654752f)))
        break;
    case LK_ACT_GELU_TANH: EACH(gelu_tanh(v)) break;
    case LK_ACT_SILU: EACH(v * sigmoid(v)) break;
    case LK_ACT_ERF:
        if (!erf_vector(x, y, n, 0)) EACH(erf_approx(v))
        break;
    case LK_ACT_EXP: EACH(exp_full_range(v)) break;
    case LK_ACT_NEG: EACH(-v) break;
    case LK_ACT_ABS: EACH(fabsf(v)) break;
    case LK_ACT_SQRT: EACH(sqrtf(v)) break;
    case LK_ACT_RECIPROCAL: EACH(1.0f / v) break;
    case LK_ACT_ELU: EACH(v < 0.0f ? p0 * (lk_expf(v) - 1.0f) : v) break;
    case LK_ACT_SOFTPLUS: EACH(softplus(v)) break;
    default:
        if (x != y) EACH(v)
        break;
    }
}

#undef EACH

void lk_activate(float *x, size_t n, const lk_activation *act) {
    if (act && act->kind != LK_ACT_NONE) lk_activate_to(x, x, n, act);
}

