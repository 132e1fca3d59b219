/* im2col: the input values each kernel tap reads, laid out as GEMM rows. */
#include <stddef.h>
#include <string.h>

#include "lk_internal.h"

LK_HOT void lk_gather(float *restrict dst, const float *restrict src, int n, int stride) {
    if (stride == 1)
        memcpy(dst, src, (size_t)n * sizeof(float));
    else if (stride == 2)
        for (int t = 0; t < n; t++) dst[t] = src[2 * t];
    else
        for (int t = 0; t < n; t++) dst[t] = src[(ptrdiff_t)t * stride];
}

void lk_im2col(const lk_conv2d *p, const float *x, int first, int count, float *dst, size_t ld) {
    int cg = p->c / p->groups;
    if (p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pad_top == 0 && p->pad_left == 0 &&
        p->oh == p->h && p->ow == p->w) {
        /* 1x1 over the whole image: row ci is input channel ci itself */
        for (int ci = 0; ci < cg; ci++)
            memcpy(dst + (size_t)ci * ld, x + (size_t)ci * p->h * p->w + first, (size_t)count * sizeof(float));
        return;
    }
    for (int ci = 0; ci < cg; ci++) {
        const float *plane = x + (size_t)ci * p->h * p->w;
        for (int ki = 0; ki < p->kh; ki++) {
            for (int kj = 0; kj < p->kw; kj++) {
                float *row = dst + ((size_t)(ci * p->kh + ki) * p->kw + kj) * ld;
                int oy = first / p->ow, ox = first % p->ow;
                int j = 0;
                while (j < count) {  /* one run per output row */
                    int run = LK_MIN(p->ow - ox, count - j);
                    int iy = oy * p->sh - p->pad_top + ki * p->dh;
                    if (iy < 0 || iy >= p->h) {
                        memset(row + j, 0, (size_t)run * sizeof(float));
                    } else {
                        const float *src = plane + (size_t)iy * p->w;
                        int ix0 = ox * p->sw - p->pad_left + kj * p->dw;
                        if (p->sw == 1 && ix0 >= 0 && ix0 + run <= p->w) {
                            memcpy(row + j, src + ix0, (size_t)run * sizeof(float));
                        } else {
                            /* taps inside the row: t in [t0, t1) */
                            int t0 = ix0 >= 0 ? 0 : (-ix0 + p->sw - 1) / p->sw;
                            int t1 = ix0 >= p->w ? 0 : (p->w - ix0 + p->sw - 1) / p->sw;
                            if (t0 > run) t0 = run;
                            if (t1 > run) t1 = run;
                            if (t1 < t0) t1 = t0;
                            for (int t = 0; t < t0; t++) row[j + t] = 0.0f;
                            lk_gather(row + j + t0, src + ix0 + (ptrdiff_t)t0 * p->sw, t1 - t0, p->sw);
                            for (int t = t1; t < run; t++) row[j + t] = 0.0f;
                        }
                    }
                    j += run;
                    ox = 0;
                    oy++;
                }
            }
        }
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
