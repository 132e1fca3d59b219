/*
 * 2-D max/average pooling and global pooling, NCHW.  Same scheme as the
 * depthwise conv: each plane is copied into a bordered scratch plane (-inf
 * for max, 0 for average) so the window loops carry no bounds checks; the
 * average divisor is computed per output position from the window's overlap
 * with the image (or with the declared pads, count_include_pad).
 */
#include <math.h>
#include <string.h>

#include "lk_internal.h"

typedef struct {
    const lk_pool2d *p;
    const float *x;
    float *y;
    int ph, pw;
    size_t planes, per_task;
    int status;
} pool_job;

static int overlap(int start, int extent, int dil, int lo, int hi) {
    /* number of taps start + t*dil, t < extent, inside [lo, hi) */
    int count = 0;
    for (int t = 0; t < extent; t++) {
        int v = start + t * dil;
        count += v >= lo && v < hi;
    }
    return count;
}

/* `padded` holds the bordered plane, pw floats a row.  With `half` > 0 it
 * holds it de-interleaved instead (stride-2 columns, no dilation): even
 * columns then odd columns, `half` floats a row each, so that every tap is a
 * contiguous load (tap kj of column ox is (kj odd ? odd : even)[ox + kj/2]). */
LK_HOT static void pool_plane(const lk_pool2d *p, const float *padded, int pw, int half, int ph, float *y,
                              const int *cols) {
    int is_max = p->kind == LK_POOL_MAX;
    const int ow = p->ow;
    for (int oy = 0; oy < p->oh; oy++) {
        float *restrict out = y + (size_t)oy * ow;
        for (int ox = 0; ox < ow; ox++) out[ox] = is_max ? -INFINITY : 0.0f;
        for (int ki = 0; ki < p->kh; ki++) {
            size_t r = (size_t)(oy * p->sh + ki * p->dh);
            for (int kj = 0; kj < p->kw; kj++) {
                const float *restrict src;
                int step = 1;
                if (half)
                    src = padded + ((kj & 1) ? (size_t)ph * half : 0) + r * half + kj / 2;
                else {
                    src = padded + r * pw + kj * p->dw;
                    step = p->sw;
                }
                if (is_max) {
                    if (step == 1)
                        for (int ox = 0; ox < ow; ox++) out[ox] = src[ox] > out[ox] ? src[ox] : out[ox];
                    else
                        for (int ox = 0; ox < ow; ox++) {
                            float v = src[(size_t)ox * step];
                            out[ox] = v > out[ox] ? v : out[ox];
                        }
                } else {
                    if (step == 1)
                        for (int ox = 0; ox < ow; ox++) out[ox] += src[ox];
                    else
                        for (int ox = 0; ox < ow; ox++) out[ox] += src[(size_t)ox * step];
                }
            }
        }
        if (!is_max) {
            int lo_y = p->kind == LK_POOL_AVG_INCLUDE_PAD ? -p->pad_top : 0;
            int hi_y = p->kind == LK_POOL_AVG_INCLUDE_PAD ? p->h + p->pad_bottom : p->h;
            int rows = overlap(oy * p->sh - p->pad_top, p->kh, p->dh, lo_y, hi_y);
            for (int ox = 0; ox < ow; ox++) {
                int count = rows * cols[ox];
                out[ox] = count > 0 ? out[ox] / (float)count : NAN;
            }
        }
    }
}

/* Flat-row pooling: the plane (or its even/odd split) read as one long row,
 * each tap a pass over n values at its own offset, so the loops are long
 * even for 7x7 images; output row oy sits at flat offset oy * pitch, and
 * the values computed between rows are dropped.
 *   stride 1: taps at ki * pw + kj of the padded plane, pitch pw;
 *   stride 2: taps at ki * half + kj / 2 of the even (kj even) or odd plane,
 *             pitch 2 * half (input rows 2 oy + ki; twice the work, since
 *             the odd rows in between are computed too). */
LK_HOT static void pool_plane_flat(const lk_pool2d *p, const float *even, const float *odd, size_t row, size_t pitch,
                                   int stride2, float *y, const int *cols, float *flat) {
    int is_max = p->kind == LK_POOL_MAX;
    const size_t n = (size_t)(p->oh - 1) * pitch + p->ow;
    for (size_t i = 0; i < n; i++) flat[i] = is_max ? -INFINITY : 0.0f;
    for (int ki = 0; ki < p->kh; ki++)
        for (int kj = 0; kj < p->kw; kj++) {
            const float *restrict src = stride2 ? ((kj & 1) ? odd : even) + (size_t)ki * row + kj / 2
                                                : even + (size_t)ki * row + kj;
            float *restrict out = flat;
            if (is_max)
                for (size_t i = 0; i < n; i++) out[i] = src[i] > out[i] ? src[i] : out[i];
            else
                for (size_t i = 0; i < n; i++) out[i] += src[i];
        }
    int lo_y = p->kind == LK_POOL_AVG_INCLUDE_PAD ? -p->pad_top : 0;
    int hi_y = p->kind == LK_POOL_AVG_INCLUDE_PAD ? p->h + p->pad_bottom : p->h;
    for (int oy = 0; oy < p->oh; oy++) {
        const float *restrict src = flat + (size_t)oy * pitch;
        float *restrict out = y + (size_t)oy * p->ow;
        if (is_max) {
            for (int ox = 0; ox < p->ow; ox++) out[ox] = src[ox];
            continue;
        }
        int rows = overlap(oy * p->sh - p->pad_top, p->kh, 1, lo_y, hi_y);
        for (int ox = 0; ox < p->ow; ox++) {
            int count = rows * cols[ox];
            out[ox] = count > 0 ? src[ox] / (float)count : NAN;
        }
    }
}

static void pool_task(void *arg, size_t t) {
    pool_job *j = arg;
    const lk_pool2d *p = j->p;
    int half = (p->sw == 2 && p->dw == 1) ? (j->pw + 1) / 2 + 1 : 0;
    float *padded = lk_scratch(1, ((size_t)j->ph * j->pw + 2 * (size_t)j->ph * half) * sizeof(float));
    if (!padded) {
        j->status = LK_E_NOMEM;
        return;
    }
    /* average: the window's overlap with the image (or declared pads) per output column */
    int *cols = lk_scratch(2, (size_t)p->ow * sizeof(int));
    if (!cols) {
        j->status = LK_E_NOMEM;
        return;
    }
    if (p->kind != LK_POOL_MAX) {
        int lo_x = p->kind == LK_POOL_AVG_INCLUDE_PAD ? -p->pad_left : 0;
        int hi_x = p->kind == LK_POOL_AVG_INCLUDE_PAD ? p->w + p->pad_right : p->w;
        for (int ox = 0; ox < p->ow; ox++) cols[ox] = overlap(ox * p->sw - p->pad_left, p->kw, p->dw, lo_x, hi_x);
    }
    float *flat = NULL;
    int flat_s2 = half && p->sh == 2 && p->dh == 1;
    if ((p->sh == 1 && p->sw == 1 && p->dh == 1 && p->dw == 1) || flat_s2) {
        flat = lk_scratch(3, (size_t)p->oh * (flat_s2 ? 2 * (size_t)half : (size_t)j->pw) * sizeof(float));
        if (!flat) {
            j->status = LK_E_NOMEM;
            return;
        }
    }
    float fill = p->kind == LK_POOL_MAX ? -INFINITY : 0.0f;
    float *even = padded + (size_t)j->ph * j->pw, *odd = even + (size_t)j->ph * half;
    /* borders keep their fill across planes: write it once per task */
    size_t total = half ? 2 * (size_t)j->ph * half : (size_t)j->ph * j->pw;
    float *base = half ? even : padded;
    for (size_t i = 0; i < total; i++) base[i] = fill;
    size_t first = t * j->per_task, last = LK_MIN(first + j->per_task, j->planes);
    size_t hw = (size_t)p->h * p->w, ohw = (size_t)p->oh * p->ow;
    for (size_t plane = first; plane < last; plane++) {
        const float *src = j->x + plane * hw;
        if (half) {
            /* stride 2: the image goes straight into even and odd padded columns */
            lk_split_columns(src, p->h, p->w, p->pad_top, p->pad_left, half, even, odd);
            if (flat_s2)
                pool_plane_flat(p, even, odd, (size_t)half, 2 * (size_t)half, 1, j->y + plane * ohw, cols, flat);
            else
                pool_plane(p, even, j->pw, half, j->ph, j->y + plane * ohw, cols);
            continue;
        }
        lk_copy_rows(padded + (size_t)p->pad_top * j->pw + p->pad_left, (size_t)j->pw, src, (size_t)p->w, p->h, p->w);
        if (flat)
            pool_plane_flat(p, padded, NULL, (size_t)j->pw, (size_t)j->pw, 0, j->y + plane * ohw, cols, flat);
        else
            pool_plane(p, padded, j->pw, 0, j->ph, j->y + plane * ohw, cols);
    }
}

int lk_pool2d_f32(const lk_pool2d *p, const float *x, float *y, lk_pool *pool) {
    if (!p || p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1 || p->pad_top < 0 ||
        p->pad_left < 0 || p->kind < 0 || p->kind > LK_POOL_AVG_INCLUDE_PAD)
        return LK_E_ARG;
    size_t planes = (size_t)p->n * p->c;
    if (planes == 0 || p->oh == 0 || p->ow == 0) return LK_OK;
    pool_job j = {.p = p, .x = x, .y = y, .planes = planes};
    j.ph = lk_padded_extent(p->oh, p->sh, p->kh, p->dh, p->pad_top, p->h);
    j.pw = lk_padded_extent(p->ow, p->sw, p->kw, p->dw, p->pad_left, p->w);
    j.per_task = lk_items_per_task(pool, planes, (size_t)p->oh * p->ow * p->kh * p->kw, 1 << 16);
    lk_parallel_for(pool, (planes + j.per_task - 1) / j.per_task, pool_task, &j);
    return j.status;
}

typedef struct {
    int rows, inner, kind;
    const float *x;
    float *y;
    size_t per_task;
} gpool_job;

typedef float v16 __attribute__((vector_size(64), aligned(4)));

LK_HOT static void gpool_task(void *arg, size_t t) {
    const gpool_job *j = arg;
    size_t first = t * j->per_task, last = LK_MIN(first + j->per_task, (size_t)j->rows);
    for (size_t r = first; r < last; r++) {
        const float *x = j->x + r * (size_t)j->inner;
        if (j->kind == LK_POOL_MAX) {
            float m = -INFINITY;
            for (int i = 0; i < j->inner; i++) m = x[i] > m || x[i] != x[i] ? x[i] : m;
            j->y[r] = m;
        } else {
            v16 acc = {0};
            int i = 0;
            for (; i + 16 <= j->inner; i += 16) {
                v16 v;
                memcpy(&v, x + i, sizeof v);
                acc += v;
            }
            float s = 0.0f;
            for (int l = 0; l < 16; l++) s += acc[l];
            for (; i < j->inner; i++) s += x[i];
            j->y[r] = s / (float)j->inner;
        }
    }
}

int lk_global_pool_f32(int rows, int inner, int kind, const float *x, float *y, lk_pool *pool) {
    if (rows < 0 || inner < 1 || (kind != LK_POOL_MAX && kind != LK_POOL_AVG)) return LK_E_ARG;
    if (rows == 0) return LK_OK;
    size_t tasks = lk_task_count(pool, (size_t)rows * inner, 1 << 15);
    if (tasks > (size_t)rows) tasks = (size_t)rows;
    gpool_job j = {rows, inner, kind, x, y, ((size_t)rows + tasks - 1) / tasks};
    lk_parallel_for(pool, ((size_t)rows + j.per_task - 1) / j.per_task, gpool_task, &j);
    return LK_OK;
}
