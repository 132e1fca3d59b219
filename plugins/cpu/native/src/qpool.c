/*
 * Quantised (uint8) max pooling, NCHW or channels-last (see litert_qkernels.h).
 *
 * Max pooling commutes with quantisation (Dequantize is increasing), so a QDQ model's
 * DequantizeLinear -> MaxPool -> QuantizeLinear is the max of the uint8 window, mapped through
 * Q(DQ(v)) when the two sides' parameters differ: a 256-entry table the lowering computes with the
 * (de)quantisation steps' own float32 operations, so the bytes are theirs.  A window with no input
 * tap gives Q(-inf), the output type's lowest value, 0.  Channels-last, a tap is one vector max over
 * the channels; NCHW, a plane at a time (the slow path: a pool between int8 convolutions is NHWC).
 */
#include <string.h>

#include "litert_qkernels.h"
#include "lk_internal.h"

typedef struct {
    const lk_pool2d *p;
    int layout;
    const uint8_t *x, *table;
    uint8_t *y;
} qpool_job;

int lk_qmaxpool_valid(const lk_pool2d *p, int layout) {
    return p->n >= 0 && p->c >= 1 && p->h >= 1 && p->w >= 1 && p->oh >= 1 && p->ow >= 1 && p->kh >= 1 &&
           p->kw >= 1 && p->sh >= 1 && p->sw >= 1 && p->dh >= 1 && p->dw >= 1 && p->kind == LK_POOL_MAX &&
           (layout == 0 || layout == (LK_Q_X_NHWC | LK_Q_Y_NHWC)) && (int64_t)p->kh * p->kw <= (1 << 20);
}

/* one output row of one image, channels-last */
LK_HOT static void row_nhwc(const qpool_job *j, const uint8_t *restrict image, int oy, uint8_t *restrict out) {
    const lk_pool2d *p = j->p;
    int c = p->c;
    /* the taps checked one by one: lk_taps_inside's ranges measured 3% slower here (50.7 -> 52.4 us, a 64 x 56
       x 56 3x3/2 pool), where a tap is a whole channel vector */
    for (int ox = 0; ox < p->ow; ox++) {
        uint8_t *restrict o = out + (size_t)ox * c;
        int any = 0;
        for (int ky = 0; ky < p->kh; ky++) {
            int iy = oy * p->sh - p->pad_top + ky * p->dh;
            if (iy < 0 || iy >= p->h) continue;
            for (int kx = 0; kx < p->kw; kx++) {
                int ix = ox * p->sw - p->pad_left + kx * p->dw;
                if (ix < 0 || ix >= p->w) continue;
                const uint8_t *restrict s = image + ((size_t)iy * p->w + ix) * c;
                if (!any)
                    memcpy(o, s, (size_t)c);
                else
                    for (int ch = 0; ch < c; ch++) o[ch] = o[ch] > s[ch] ? o[ch] : s[ch];
                any = 1;
            }
        }
        if (!any)
            memset(o, 0, (size_t)c);
        else if (j->table)
            for (int ch = 0; ch < c; ch++) o[ch] = j->table[o[ch]];
    }
}

/* one output row of one channel plane, NCHW */
static void row_nchw(const qpool_job *j, const uint8_t *plane, int oy, uint8_t *out) {
    const lk_pool2d *p = j->p;
    int iy0 = oy * p->sh - p->pad_top, ky0, ky1;
    lk_taps_inside(iy0, p->dh, p->kh, p->h, &ky0, &ky1);
    for (int ox = 0; ox < p->ow; ox++) {
        int best = -1, ix0 = ox * p->sw - p->pad_left, kx0, kx1;
        lk_taps_inside(ix0, p->dw, p->kw, p->w, &kx0, &kx1);
        for (int ky = ky0; ky < ky1; ky++) {
            const uint8_t *row = plane + (size_t)(iy0 + ky * p->dh) * p->w;
            for (int kx = kx0; kx < kx1; kx++)
                if (row[ix0 + kx * p->dw] > best) best = row[ix0 + kx * p->dw];
        }
        out[ox] = best < 0 ? 0 : (j->table ? j->table[best] : (uint8_t)best);
    }
}

static void row_task(void *ctx, size_t index) {
    const qpool_job *j = ctx;
    const lk_pool2d *p = j->p;
    int oy = (int)(index % (size_t)p->oh);
    size_t rest = index / (size_t)p->oh;
    if (j->layout) {
        row_nhwc(j, j->x + rest * (size_t)p->h * p->w * p->c, oy, j->y + (rest * (size_t)p->oh + oy) * p->ow * p->c);
        return;
    }
    /* NCHW: rest is image * c + channel */
    row_nchw(j, j->x + rest * (size_t)p->h * p->w, oy, j->y + (rest * (size_t)p->oh + oy) * p->ow);
}

int lk_qmaxpool_u8(const lk_pool2d *p, int layout, const uint8_t *x, const uint8_t *table, uint8_t *y,
                   lk_pool *pool) {
    if (!lk_qmaxpool_valid(p, layout)) return LK_E_ARG;
    qpool_job j = {.p = p, .layout = layout, .x = x, .table = table, .y = y};
    size_t rows = (size_t)p->n * (layout ? 1 : (size_t)p->c) * p->oh;
    lk_parallel_for(pool, rows, row_task, &j);
    return LK_OK;
}
