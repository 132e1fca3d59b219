/* im2col: the input values each kernel tap reads, laid out as GEMM rows. */
#include <stddef.h>
#include <string.h>

#include "lk_internal.h"

/* inlined into each ISA clone of its callers: lk_im2col calls it per tap and output row, where a call through
 * the ifunc of an exported clone cost as much as a short row's copy */
static inline void gather(float *restrict dst, const float *restrict src, int n, int stride) {
    if (stride == 1)
        memcpy(dst, src, (size_t)n * sizeof(float));
    else if (stride == 2)
        for (int t = 0; t < n; t++) dst[t] = src[2 * t];
    else
        for (int t = 0; t < n; t++) dst[t] = src[(ptrdiff_t)t * stride];
}

LK_HOT void lk_gather(float *restrict dst, const float *restrict src, int n, int stride) { gather(dst, src, n, stride); }

/* What one kernel tap reads for one run of outputs along an output row: zeros for t < t0 and t >= t1 (padding,
 * or the whole run when the tap's input row is outside the image), else the plane's values from src on, one per
 * stride. The same for every input channel, so a run's taps are worked out once and walked per channel. */
typedef struct {
    int t0, t1;
    ptrdiff_t src; /* offset in an input plane of the value at t0 */
} tap_run;

/* The largest kernel whose taps a run describes at once (on the stack, 4 kB); larger ones fall back to one tap
 * at a time.  A ViT's 16x16 patch embedding (256 taps) took that fallback at 64: 0.652 -> 0.635 ms for its
 * 3 -> 192 conv over 224x224 on one Zen 4 thread. */
#define RUN_TAPS 256

static void describe_run(const lk_conv2d *p, int oy, int ox, int run, int ki, int kj, tap_run *d) {
    int iy = oy * p->sh - p->pad_top + ki * p->dh;
    int ix0 = ox * p->sw - p->pad_left + kj * p->dw;
    d->t0 = d->t1 = 0;
    d->src = 0;
    if (iy < 0 || iy >= p->h) return;
    int t0 = ix0 >= 0 ? 0 : (-ix0 + p->sw - 1) / p->sw;
    int t1 = ix0 >= p->w ? 0 : (p->w - ix0 + p->sw - 1) / p->sw;
    t0 = LK_MIN(t0, run);
    t1 = LK_MAX(t0, LK_MIN(t1, run));
    d->t0 = t0, d->t1 = t1;
    d->src = (ptrdiff_t)iy * p->w + ix0 + (ptrdiff_t)t0 * p->sw;
}

static inline void copy_run(float *row, const float *plane, const tap_run *d, int run, int stride) {
    for (int t = 0; t < d->t0; t++) row[t] = 0.0f;
    if (d->t1 > d->t0) gather(row + d->t0, plane + d->src, d->t1 - d->t0, stride);
    for (int t = d->t1; t < run; t++) row[t] = 0.0f;
}

LK_HOT void lk_im2col(const lk_conv2d *p, const float *x, int first, int count, float *dst, size_t ld) {
    int cg = p->c / p->groups, taps = p->kh * p->kw;
    size_t plane_size = (size_t)p->h * p->w;
    if (p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pad_top == 0 && p->pad_left == 0 &&
        p->oh == p->h && p->ow == p->w) {
        /* 1x1 over the whole image: row ci is input channel ci itself */
        for (int ci = 0; ci < cg; ci++)
            memcpy(dst + (size_t)ci * ld, x + (size_t)ci * plane_size + first, (size_t)count * sizeof(float));
        return;
    }
    tap_run runs[RUN_TAPS];
    int oy = first / p->ow, ox = first % p->ow;
    for (int j = 0; j < count;) { /* one run per output row */
        int run = LK_MIN(p->ow - ox, count - j);
        if (taps <= RUN_TAPS) {
            for (int tap = 0; tap < taps; tap++) describe_run(p, oy, ox, run, tap / p->kw, tap % p->kw, &runs[tap]);
            for (int ci = 0; ci < cg; ci++) {
                const float *plane = x + (size_t)ci * plane_size;
                float *rows = dst + (size_t)ci * taps * ld + j;
                for (int tap = 0; tap < taps; tap++) copy_run(rows + (size_t)tap * ld, plane, &runs[tap], run, p->sw);
            }
        } else {
            for (int ci = 0; ci < cg; ci++)
                for (int tap = 0; tap < taps; tap++) {
                    describe_run(p, oy, ox, run, tap / p->kw, tap % p->kw, &runs[0]);
                    copy_run(dst + ((size_t)ci * taps + tap) * ld + j, x + (size_t)ci * plane_size, &runs[0], run,
                             p->sw);
                }
        }
        j += run;
        ox = 0;
        oy++;
    }
}

void lk_split_columns(const float *src, int h, int w, int pad_top, int pad_left, int half, float *even, float *odd) {
    int e0 = pad_left & 1;  /* first image column that lands on an even padded column */
    int ev = (pad_left + e0) / 2, od = (pad_left + 1 - e0) / 2;
    int n_even = (w - e0 + 1) / 2, n_odd = (w - (1 - e0) + 1) / 2;
    for (int i = 0; i < h; i++) {
        const float *row = src + (size_t)i * w;
        /* stride-2 reads as gather(), which GCC vectorises with permutes */
        lk_gather(even + (size_t)(i + pad_top) * half + ev, row + e0, n_even, 2);
        lk_gather(odd + (size_t)(i + pad_top) * half + od, row + 1 - e0, n_odd, 2);
    }
}
