/* Activations and other unary float functions, one vectorisable loop per kind. */
#include <math.h>

#include "lk_internal.h"

/* erf(x) by Abramowitz-Stegun 7.1.26 refined: |error| < 1.5e-7 absolute */
static inline float erf_approx(float x) {
    float ax = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float y = 1.061405429f;
    y = y * t - 1.453152027f;
    y = y * t + 1.421413741f;
    y = y * t - 0.284496736f;
    y = y * t + 0.254829592f;
    y = 1.0f - y * t * lk_expf(-ax * ax);
    return x < 0 ? -y : y;
}

#define sigmoid lk_sigmoidf
#define tanh_approx lk_tanhf

LK_HOT void lk_activate_to(const float *x, float *y, size_t n, const lk_activation *act) {
    int kind = act ? act->kind : LK_ACT_NONE;
    float p0 = act ? act->p0 : 0.0f, p1 = act ? act->p1 : 0.0f;
    size_t i;
    switch (kind) {
    case LK_ACT_RELU:
        for (i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case LK_ACT_CLIP:
        for (i = 0; i < n; i++) {
            float v = x[i] < p0 ? p0 : x[i];
            y[i] = v > p1 ? p1 : v;
        }
        /* NaN propagates as in onnxruntime's Clip: comparisons keep it */
        break;
    case LK_ACT_SIGMOID:
        for (i = 0; i < n; i++) y[i] = sigmoid(x[i]);
        break;
    case LK_ACT_TANH:
        for (i = 0; i < n; i++) y[i] = tanh_approx(x[i]);
        break;
    case LK_ACT_LEAKY_RELU:
        for (i = 0; i < n; i++) y[i] = x[i] < 0.0f ? x[i] * p0 : x[i];
        break;
    case LK_ACT_HARD_SIGMOID:
        for (i = 0; i < n; i++) {
            float v = x[i] * p0 + p1;
            v = v < 0.0f ? 0.0f : v;
            y[i] = v > 1.0f ? 1.0f : v;
        }
        break;
    case LK_ACT_HARD_SWISH:
        for (i = 0; i < n; i++) {
            float v = x[i] * (1.0f / 6.0f) + 0.5f;
            v = v < 0.0f ? 0.0f : v;
            v = v > 1.0f ? 1.0f : v;
            y[i] = x[i] * v;
        }
        break;
    case LK_ACT_GELU:
        for (i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erf_approx(x[i] * 0.70710678118654752f));
        break;
    case LK_ACT_GELU_TANH:
        for (i = 0; i < n; i++) {
            float v = x[i];
            y[i] = 0.5f * v * (1.0f + tanh_approx(0.79788456080286536f * (v + 0.044715f * v * v * v)));
        }
        break;
    case LK_ACT_SILU:
        for (i = 0; i < n; i++) y[i] = x[i] * sigmoid(x[i]);
        break;
    case LK_ACT_ERF:
        for (i = 0; i < n; i++) y[i] = erf_approx(x[i]);
        break;
    case LK_ACT_EXP:
        /* exp keeps its full range semantics: overflow to inf, underflow to 0 */
        for (i = 0; i < n; i++) y[i] = x[i] > 88.72f ? INFINITY : (x[i] < -103.9f ? 0.0f : (x[i] < -87.3f ? expf(x[i]) : lk_expf(x[i])));
        break;
    case LK_ACT_NEG:
        for (i = 0; i < n; i++) y[i] = -x[i];
        break;
    case LK_ACT_ABS:
        for (i = 0; i < n; i++) y[i] = fabsf(x[i]);
        break;
    case LK_ACT_SQRT:
        for (i = 0; i < n; i++) y[i] = sqrtf(x[i]);
        break;
    case LK_ACT_RECIPROCAL:
        for (i = 0; i < n; i++) y[i] = 1.0f / x[i];
        break;
    case LK_ACT_ELU:
        for (i = 0; i < n; i++) y[i] = x[i] < 0.0f ? p0 * (lk_expf(x[i]) - 1.0f) : x[i];
        break;
    case LK_ACT_SOFTPLUS:
        for (i = 0; i < n; i++) {
            float v = x[i];
            float a = v > 0 ? v : -v;
            y[i] = (v > 0 ? v : 0.0f) + log1pf(lk_expf(-a));
        }
        break;
    default:
        if (x != y)
            for (i = 0; i < n; i++) y[i] = x[i];
        break;
    }
}

void lk_activate(float *x, size_t n, const lk_activation *act) {
    if (act && act->kind != LK_ACT_NONE) lk_activate_to(x, x, n, act);
}

