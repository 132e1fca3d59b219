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
    case LK_ACT_GELU: EACH(0.5f * v * (1.0f + erf_approx(v * 0.70710678118654752f))) break;
    case LK_ACT_GELU_TANH: EACH(gelu_tanh(v)) break;
    case LK_ACT_SILU: EACH(v * sigmoid(v)) break;
    case LK_ACT_ERF: EACH(erf_approx(v)) break;
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

