/*
 * 2-D max/average pooling and global pooling, NCHW.  Windows are reduced
 * separably (rows, then columns: see pool_plane), planes split among the
 * pool's threads; the average divisor is computed per output position from
 * the window's overlap with the image (or with the declared pads,
 * count_include_pad).
 */
#include <math.h>
#include <string.h>

#include "lk_internal.h"

typedef struct {
    const lk_pool2d *p;
    const float *x;
    float *y;
    size_t planes, per_task;
    int lanes; /* pool_lanes: planes side by side, POOL_LANES at a time */
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

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LK_POOL_AVX512 1
/* Most rows a window reads that max3_stride2_row takes (taller windows take the row buffer). */
#define POOL_VECTOR_ROWS 8

/* The padded, row-reduced values P[j0 .. j0 + 16) of one output row: P[j] is the max over the window's `rows`
 * input rows (in order, as the row pass takes them: MAXPS(next, so far)) of image column j - pad, and -inf in
 * the pad columns and past them (masked loads, which do not fault on the lanes they skip). */
__attribute__((target("avx512f"), always_inline)) static inline __m512 padded_max16(const float *const *rows,
                                                                                   int nrows, int w, int pad,
                                                                                   int j0) {
    int first = LK_MAX(0, pad - j0), end = LK_MIN(16, w + pad - j0); /* lanes inside the image */
    __mmask16 m = end <= first ? 0 : (__mmask16)((((1u << end) - 1u) >> first) << first);
    const __m512 fill = _mm512_set1_ps(-INFINITY);
    __m512 v = _mm512_mask_loadu_ps(fill, m, rows[0] + j0 - pad);
    for (int r = 1; r < nrows; r++) v = _mm512_max_ps(_mm512_mask_loadu_ps(fill, m, rows[r] + j0 - pad), v);
    return v;
}

/* One output row of a 3-wide, stride-2 max window (ResNet's, Inception's and SqueezeNet's 3x3/2 pools; pad
 * columns and columns past them are -inf, so a window may reach past the image), all in registers: the rows'
 * maxima 48 columns at a time, then per 16 outputs the even and odd lanes and the even lanes two columns on
 * (the third tap).  Through a row buffer instead, each short row (111 values) was read back right after its
 * masked stores, which do not forward to loads: SqueezeNet's pools took 2.7-4.6x onnxruntime's time.  The
 * same comparisons in the same order as the scalar passes (o = -inf, then MAXPS(tap, o) per tap). */
__attribute__((target("avx512f"))) static void max3_stride2_row(const float *const *rows, int nrows, int w, int pad,
                                                                int ow, float *out) {
    static const int even[16] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
    static const int odd[16] = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
    const __m512i ie = _mm512_loadu_si512(even), io = _mm512_loadu_si512(odd);
    const __m512 fill = _mm512_set1_ps(-INFINITY);
    __m512 a = padded_max16(rows, nrows, w, pad, 0);
    for (int ox = 0; ox < ow; ox += 16) {
        int j = 2 * ox;
        __m512 b = padded_max16(rows, nrows, w, pad, j + 16), c = padded_max16(rows, nrows, w, pad, j + 32);
        __m512 s0 = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(b), _mm512_castps_si512(a), 2));
        __m512 s1 = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(c), _mm512_castps_si512(b), 2));
        __m512 o = _mm512_max_ps(_mm512_permutex2var_ps(a, ie, b), fill);
        o = _mm512_max_ps(_mm512_permutex2var_ps(a, io, b), o);
        o = _mm512_max_ps(_mm512_permutex2var_ps(s0, ie, s1), o);
        __mmask16 m = ow - ox >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (ow - ox)) - 1u);
        _mm512_mask_storeu_ps(out + ox, m, o);
        a = c;
    }
}
#endif

/* Separable pooling: a window's max (or sum) is the max over its rows of
 * each row's max over its columns.  Per output row, the kh input rows are
 * reduced into one row of w values (contiguous passes), then each output
 * column reduces kw values of that row (contiguous for stride 1, a stride-2
 * gather GCC vectorises with permutes, strided otherwise).  Padding needs no
 * bordered copy: rows outside the image are skipped, and each column tap
 * only visits the output columns whose tap lands inside the image, so a
 * degenerate window (say 3x32768 over 10x10) costs a loop over its taps, not
 * its area.  Work per plane: oh*kh*w + oh*ow*kw, against oh*ow*kh*kw. */
LK_HOT static void pool_plane(const lk_pool2d *p, const float *x, float *y, float *row, const int *cols) {
    const int is_max = p->kind == LK_POOL_MAX, w = p->w, ow = p->ow;
    const float fill = is_max ? -INFINITY : 0.0f;
    const int lo_y = p->kind == LK_POOL_AVG_INCLUDE_PAD ? -p->pad_top : 0;
    const int hi_y = p->kind == LK_POOL_AVG_INCLUDE_PAD ? p->h + p->pad_bottom : p->h;
#ifdef LK_POOL_AVX512
    /* 3-wide stride-2 max windows of up to POOL_VECTOR_ROWS rows in registers (max3_stride2_row), padded or
     * not (ResNet's 3x3/2 pools pad one column each side, Inception-v2's only on the right) */
    const int vector_columns = is_max && p->kw == 3 && p->sw == 2 && p->dw == 1 && p->kh <= POOL_VECTOR_ROWS &&
                               lk_conv_packed_available();
#endif
    for (int oy = 0; oy < p->oh; oy++) {
        int y0 = oy * p->sh - p->pad_top, taken = 0;
#ifdef LK_POOL_AVX512
        if (vector_columns) {
            const float *rows[POOL_VECTOR_ROWS];
            int nrows = 0;
            for (int ki = 0; ki < p->kh && nrows < POOL_VECTOR_ROWS; ki++) {
                int r = y0 + ki * p->dh;
                if (r >= 0 && r < p->h) rows[nrows++] = x + (size_t)r * w;
            }
            if (nrows > 0) {
                max3_stride2_row(rows, nrows, w, p->pad_left, ow, y + (size_t)oy * ow);
                continue;
            }
        }
#endif
        for (int ki = 0; ki < p->kh; ki++) {
            int r = y0 + ki * p->dh;
            if (r < 0 || r >= p->h) continue;
            const float *restrict src = x + (size_t)r * w;
            float *restrict v = row;
            if (!taken)
                for (int i = 0; i < w; i++) v[i] = src[i];
            else if (is_max)
                for (int i = 0; i < w; i++) v[i] = src[i] > v[i] ? src[i] : v[i];
            else
                for (int i = 0; i < w; i++) v[i] += src[i];
            taken = 1;
        }
        float *restrict out = y + (size_t)oy * ow;
        for (int ox = 0; ox < ow; ox++) out[ox] = fill;
        if (taken)
            for (int kj = 0; kj < p->kw; kj++) {
                /* tap kj of output column ox reads image column ox * sw + c */
                long c = (long)kj * p->dw - p->pad_left;
                long first = c >= 0 ? 0 : (-c + p->sw - 1) / p->sw;
                long last = c >= w ? 0 : (w - 1 - c) / p->sw + 1;
                if (last > ow) last = ow;
                if (first >= last) continue;
                /* the row's first visited value: in bounds, as c + first * sw >= 0 */
                const float *restrict v = row + (c + first * p->sw);
                float *restrict o = out + first;
                const long n = last - first;
                if (is_max) {
                    if (p->sw == 1)
                        for (long i = 0; i < n; i++) o[i] = v[i] > o[i] ? v[i] : o[i];
                    else if (p->sw == 2)
                        for (long i = 0; i < n; i++) o[i] = v[2 * i] > o[i] ? v[2 * i] : o[i];
                    else
                        for (long i = 0; i < n; i++) {
                            float s = v[i * p->sw];
                            o[i] = s > o[i] ? s : o[i];
                        }
                } else {
                    if (p->sw == 1)
                        for (long i = 0; i < n; i++) o[i] += v[i];
                    else if (p->sw == 2)
                        for (long i = 0; i < n; i++) o[i] += v[2 * i];
                    else
                        for (long i = 0; i < n; i++) o[i] += v[i * p->sw];
                }
            }
        if (!is_max) {
            /* a window without taps has the sum 0 and the count 0: 0 / 0 is its NaN (one vectorised
             * divide per row; a branch per value kept this loop scalar: 3/4 of a 3x3 average pool) */
            const float rows = (float)overlap(y0, p->kh, p->dh, lo_y, hi_y);
            for (int ox = 0; ox < ow; ox++) out[ox] = out[ox] / (rows * (float)cols[ox]);
        }
    }
}

/* A 3x3, stride-1 window with one pad on every side (the "same" pools of
 * Inception's branches): the output is the input's size, so the passes run
 * flat over the whole plane (loops of h*w values, where pool_plane's row
 * passes are loops of w: 28 values, under two vectors); the first and last
 * rows and columns, whose windows are shorter, get their own short passes.
 * The same comparisons and additions, in the same order, as pool_plane.
 * Needs h, w >= 3 (an interior). */
static int is_same3(const lk_pool2d *p) {
    return p->kh == 3 && p->kw == 3 && p->sh == 1 && p->sw == 1 && p->dh == 1 && p->dw == 1 && p->pad_top == 1 &&
           p->pad_left == 1 && p->pad_bottom == 1 && p->pad_right == 1 && p->oh == p->h && p->ow == p->w &&
           p->h >= 3 && p->w >= 3;
}

/* v[i] = a[i] (op) b[i] (op) c[i] for n values (c NULL: two rows) */
LK_HOT static void rows3(int is_max, const float *restrict a, const float *restrict b, const float *restrict c,
                         float *restrict v, size_t n) {
    if (is_max && c) {
        for (size_t i = 0; i < n; i++) {
            float m = a[i];
            m = b[i] > m ? b[i] : m;
            v[i] = c[i] > m ? c[i] : m;
        }
    } else if (is_max) {
        for (size_t i = 0; i < n; i++) v[i] = b[i] > a[i] ? b[i] : a[i];
    } else if (c) {
        for (size_t i = 0; i < n; i++) v[i] = a[i] + b[i] + c[i];
    } else {
        for (size_t i = 0; i < n; i++) v[i] = a[i] + b[i];
    }
}

/* y[q] = (v[q-1] (op) v[q] (op) v[q+1]) / div for q in [first, last) (max: no division) */
LK_HOT static void columns3(int is_max, const float *restrict v, float *restrict y, size_t first, size_t last,
                            float div) {
    if (is_max)
        for (size_t q = first; q < last; q++) {
            float m = -INFINITY;
            m = v[q - 1] > m ? v[q - 1] : m;
            m = v[q] > m ? v[q] : m;
            y[q] = v[q + 1] > m ? v[q + 1] : m;
        }
    else
        for (size_t q = first; q < last; q++) y[q] = (v[q - 1] + v[q] + v[q + 1]) / div;
}

static void pool_same3(const lk_pool2d *p, const float *x, float *y, float *v) {
    const int is_max = p->kind == LK_POOL_MAX, include = p->kind == LK_POOL_AVG_INCLUDE_PAD, h = p->h, w = p->w;
    const size_t hw = (size_t)h * w, last_row = (size_t)(h - 1) * w;
    /* vertical: the first and last rows take two input rows, the rest three, flat */
    rows3(is_max, x, x + w, NULL, v, (size_t)w);
    rows3(is_max, x, x + w, x + 2 * (size_t)w, v + w, hw - 2 * (size_t)w);
    rows3(is_max, x + last_row - w, x + last_row, NULL, v + last_row, (size_t)w);
    /* horizontal, away from the first and last columns: the first and last rows' windows count 6 taps
     * in the image (9 with the pads counted), the others 9; flat over the rows in between (their first
     * and last columns get row-crossing values, redone below) */
    const float edge_rows = include ? 9.0f : 6.0f;
    columns3(is_max, v, y, 1, (size_t)w - 1, edge_rows);
    columns3(is_max, v, y, (size_t)w, last_row, 9.0f);
    columns3(is_max, v, y, last_row + 1, hw - 1, edge_rows);
    /* the first and last columns: two columns of v each */
    for (int oy = 0; oy < h; oy++) {
        const float *vr = v + (size_t)oy * w;
        float *yr = y + (size_t)oy * w;
        float l, r;
        if (is_max) {
            l = -INFINITY, r = -INFINITY;
            l = vr[0] > l ? vr[0] : l, l = vr[1] > l ? vr[1] : l;
            r = vr[w - 2] > r ? vr[w - 2] : r, r = vr[w - 1] > r ? vr[w - 1] : r;
        } else {
            float taps = include ? 9.0f : (oy == 0 || oy == h - 1 ? 4.0f : 6.0f);
            l = (0.0f + vr[0] + vr[1]) / taps;
            r = (0.0f + vr[w - 2] + vr[w - 1]) / taps;
        }
        yr[0] = l, yr[w - 1] = r;
    }
}

/* Taps [first, last) of a window starting at `start` (stride `dil`) that
 * land inside [0, extent). */
static void tap_range(int start, int taps, int dil, int extent, int *first, int *last) {
    int f = start >= 0 ? 0 : (-start + dil - 1) / dil;
    int l = start >= extent ? 0 : (extent - 1 - start) / dil + 1;
    *first = f;
    *last = l < taps ? l : taps;
}

#define POOL_LANES 16

/* GCC vector types: one 16-wide max or add per tap on every target the
 * clones build for (AVX-512, AVX2 pairs, SSE quadruples) */
typedef float lanes __attribute__((vector_size(POOL_LANES * sizeof(float))));
typedef int lanes_mask __attribute__((vector_size(POOL_LANES * sizeof(int))));
#ifndef POOL_LANES_BELOW_WIDTH
#define POOL_LANES_BELOW_WIDTH 20
#endif

/* Small images: POOL_LANES planes at a time, transposed so that the planes
 * lie along the vector ([h*w][16] scratch), every tap of every window one
 * 16-wide max or add however narrow the image (the rows of a 7x7 plane are
 * too short for pool_plane's row passes).  `count` <= POOL_LANES planes. */
LK_HOT static void pool_lanes(const lk_pool2d *p, const float *x, float *y, size_t count, float *t, float *u,
                              const int *cols) {
    const size_t hw = (size_t)p->h * p->w, ohw = (size_t)p->oh * p->ow;
    const int is_max = p->kind == LK_POOL_MAX;
    const float fill = is_max ? -INFINITY : 0.0f;
    const lanes fill_lanes = (lanes){0} + fill;
    const int lo_y = p->kind == LK_POOL_AVG_INCLUDE_PAD ? -p->pad_top : 0;
    const int hi_y = p->kind == LK_POOL_AVG_INCLUDE_PAD ? p->h + p->pad_bottom : p->h;
    for (size_t l = 0; l < POOL_LANES; l++) {
        if (l < count) {
            const float *s = x + l * hw;
            for (size_t i = 0; i < hw; i++) t[i * POOL_LANES + l] = s[i];
        } else
            for (size_t i = 0; i < hw; i++) t[i * POOL_LANES + l] = 0.0f;
    }
    for (int oy = 0; oy < p->oh; oy++) {
        int iy0 = oy * p->sh - p->pad_top, ki0, ki1;
        tap_range(iy0, p->kh, p->dh, p->h, &ki0, &ki1);
        int rows = is_max ? 0 : overlap(iy0, p->kh, p->dh, lo_y, hi_y);
        for (int ox = 0; ox < p->ow; ox++) {
            int ix0 = ox * p->sw - p->pad_left, kj0, kj1;
            tap_range(ix0, p->kw, p->dw, p->w, &kj0, &kj1);
            lanes a = fill_lanes;
            for (int ki = ki0; ki < ki1; ki++) {
                const float *row = t + (size_t)(iy0 + ki * p->dh) * p->w * POOL_LANES;
                for (int kj = kj0; kj < kj1; kj++) {
                    lanes v;
                    memcpy(&v, row + (size_t)(ix0 + kj * p->dw) * POOL_LANES, sizeof v);
                    if (is_max) {
                        lanes_mask take = v > a;
                        a = (lanes)(((lanes_mask)v & take) | ((lanes_mask)a & ~take));
                    } else
                        a += v;
                }
            }
            if (!is_max) {
                int n = rows * cols[ox];
                if (n > 0)
                    a /= (float)n;
                else
                    a = (lanes){0} + NAN;
            }
            memcpy(u + ((size_t)oy * p->ow + ox) * POOL_LANES, &a, sizeof a);
        }
    }
    for (size_t l = 0; l < count; l++) {
        float *d = y + l * ohw;
        for (size_t i = 0; i < ohw; i++) d[i] = u[i * POOL_LANES + l];
    }
}

static void pool_task(void *arg, size_t t) {
    pool_job *j = arg;
    const lk_pool2d *p = j->p;
    float *row = lk_scratch(1, (size_t)p->w * sizeof(float));
    /* average: the window's overlap with the image (or declared pads) per output column */
    int *cols = lk_scratch(2, (size_t)p->ow * sizeof(int));
    if (!row || !cols) {
        j->status = LK_E_NOMEM;
        return;
    }
    if (p->kind != LK_POOL_MAX) {
        int lo_x = p->kind == LK_POOL_AVG_INCLUDE_PAD ? -p->pad_left : 0;
        int hi_x = p->kind == LK_POOL_AVG_INCLUDE_PAD ? p->w + p->pad_right : p->w;
        for (int ox = 0; ox < p->ow; ox++) cols[ox] = overlap(ox * p->sw - p->pad_left, p->kw, p->dw, lo_x, hi_x);
    }
    size_t first = t * j->per_task, last = LK_MIN(first + j->per_task, j->planes);
    size_t hw = (size_t)p->h * p->w, ohw = (size_t)p->oh * p->ow;
    if (j->lanes) {
        float *tr = lk_scratch(3, (hw + ohw) * POOL_LANES * sizeof(float));
        if (!tr) {
            j->status = LK_E_NOMEM;
            return;
        }
        for (size_t plane = first; plane < last; plane += POOL_LANES)
            pool_lanes(p, j->x + plane * hw, j->y + plane * ohw, LK_MIN((size_t)POOL_LANES, last - plane), tr,
                       tr + hw * POOL_LANES, cols);
        return;
    }
    if (is_same3(p)) {
        float *v = lk_scratch(3, hw * sizeof(float));
        if (!v) {
            j->status = LK_E_NOMEM;
            return;
        }
        for (size_t plane = first; plane < last; plane++) pool_same3(p, j->x + plane * hw, j->y + plane * ohw, v);
        return;
    }
    for (size_t plane = first; plane < last; plane++) pool_plane(p, j->x + plane * hw, j->y + plane * ohw, row, cols);
}

int lk_pool2d_f32(const lk_pool2d *p, const float *x, float *y, lk_pool *pool) {
    if (!p || p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1 || p->pad_top < 0 ||
        p->pad_left < 0 || p->kind < 0 || p->kind > LK_POOL_AVG_INCLUDE_PAD)
        return LK_E_ARG;
    size_t planes = (size_t)p->n * p->c;
    if (planes == 0 || p->oh == 0 || p->ow == 0) return LK_OK;
    pool_job j = {.p = p, .x = x, .y = y, .planes = planes};
    size_t work = (size_t)p->oh * ((size_t)p->kh * p->w + (size_t)p->ow * p->kw);
    /* narrow images: rows too short for row passes (and few enough values
     * per plane for the transposed copies to stay in cache) */
    j.lanes = p->w < POOL_LANES_BELOW_WIDTH && (size_t)p->h * p->w <= 4096 && !is_same3(p);
    j.per_task = lk_items_per_task(pool, planes, work, 1 << 16);
    if (j.lanes) j.per_task = (j.per_task + POOL_LANES - 1) / POOL_LANES * POOL_LANES;
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
