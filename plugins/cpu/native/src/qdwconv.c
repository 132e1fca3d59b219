/*
 * Quantised (int8) depthwise convolution, NCHW (see litert_qkernels.h).
 *
 * One task per (image, channel) plane: the plane is copied into a zero-point-padded uint8 buffer (int8
 * flipped), then each output row accumulates its taps in int32 over the whole row (a loop the compiler
 * vectorises in its per-ISA clones) and is requantised in place.
 */
#include <string.h>

#include "litert_qkernels.h"
#include "lk_internal.h"
#include "qcommon.h"

typedef struct {
    const lk_qconv2d *p;
    const uint8_t *x;
    const int8_t *w;
    const int32_t *bias;
    const float *scale;
    uint8_t *y;
    int hp, wp;
    int failed;
} qdw_job;

LK_HOT static void accumulate_row(int32_t *restrict acc, const uint8_t *restrict src, int n, int stride, int32_t w) {
    if (stride == 1)
        for (int i = 0; i < n; i++) acc[i] += w * (int32_t)src[i];
    else
        for (int i = 0; i < n; i++) acc[i] += w * (int32_t)src[(size_t)i * stride];
}

LK_HOT static void requantize_row(const int32_t *restrict acc, uint8_t *restrict dst, int n, float scale, int zero,
                                  int lo, int hi) {
    for (int i = 0; i < n; i++) dst[i] = (uint8_t)lk_requantize(acc[i], scale, zero, lo, hi);
}

static void plane_task(void *ctx, size_t index) {
    qdw_job *j = ctx;
    const lk_qconv2d *p = j->p;
    int ch = (int)(index % (size_t)p->c);
    size_t image = index / (size_t)p->c;
    uint8_t *padded = lk_scratch(0, (size_t)j->hp * j->wp + (size_t)p->ow * sizeof(int32_t) + 64);
    if (!padded) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    int32_t *acc = (int32_t *)(padded + (((size_t)j->hp * j->wp + 63) & ~(size_t)63));
    memset(padded, p->x_zero, (size_t)j->hp * j->wp);
    const uint8_t *src = j->x + (image * p->c + ch) * (size_t)p->h * p->w;
    uint8_t flip = p->x_signed ? 0x80 : 0;
    int cols = LK_MIN(p->w, j->wp - p->pad_left);
    for (int iy = 0; iy < p->h && iy + p->pad_top < j->hp; iy++) {
        uint8_t *d = padded + (size_t)(iy + p->pad_top) * j->wp + p->pad_left;
        for (int ix = 0; ix < cols; ix++) d[ix] = src[(size_t)iy * p->w + ix] ^ flip;
    }
    const int8_t *w = j->w + (size_t)ch * p->kh * p->kw;
    uint8_t *out = j->y + (image * p->c + ch) * (size_t)p->oh * p->ow;
    for (int oy = 0; oy < p->oh; oy++) {
        for (int ox = 0; ox < p->ow; ox++) acc[ox] = j->bias[ch];
        for (int ky = 0; ky < p->kh; ky++)
            for (int kx = 0; kx < p->kw; kx++) {
                const uint8_t *row = padded + (size_t)(oy * p->sh + ky * p->dh) * j->wp + (size_t)kx * p->dw;
                accumulate_row(acc, row, p->ow, p->sw, w[ky * p->kw + kx]);
            }
        requantize_row(acc, out + (size_t)oy * p->ow, p->ow, j->scale[ch], p->y_zero, p->y_lo, p->y_hi);
    }
}

int lk_qdwconv2d_u8s8(const lk_qconv2d *p, const void *x, const int8_t *w, const int32_t *bias,
                      const float *scale, void *y, lk_pool *pool) {
    if (!lk_qconv_valid(p) || p->groups != p->c || p->m != p->c || p->channels_last) return LK_E_ARG;
    qdw_job j = {.p = p, .x = x, .w = w, .bias = bias, .scale = scale, .y = y};
    j.hp = (int)lk_qconv_span(p->oh, p->sh, p->kh, p->dh);
    j.wp = (int)lk_qconv_span(p->ow, p->sw, p->kw, p->dw);
    lk_parallel_for(pool, (size_t)p->n * p->c, plane_task, &j);
    return j.failed ? LK_E_NOMEM : LK_OK;
}
