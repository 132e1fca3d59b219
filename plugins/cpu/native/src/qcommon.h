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

/* Rows and columns of the zero-point-padded image a quantised convolution reads. */
static inline int64_t lk_qconv_span(int out, int stride, int k, int dilation) {
    return (int64_t)(out - 1) * stride + (int64_t)(k - 1) * dilation + 1;
}

/* whether lk_qconv_force_portable(1) is in effect (the int8 kernels then all take their C paths) */
int lk_qconv_portable_forced(void);

#endif
