/*
 * Separable 2-D resampling over the last two axes (Resize: nearest, linear,
 * cubic).  The caller gives, per output row and per output column, the
 * source indices and weights of its taps (computed once by the plugin from
 * the ONNX coordinate rules), so one kernel serves every mode.  Each source
 * row an output row reads is resampled along the width once per plane
 * (through column tables transposed to [tap][ox] and clamped once per task,
 * so the loop over ox vectorises with gathers), then every output row is
 * blended from its resampled source rows (vectorised over the width): an
 * upsampling by 2 resamples each source row once instead of twice.
 */
#include <string.h>

#include "lk_internal.h"

typedef struct {
    const lk_resize2d *p;
    const float *x, *wy, *wx;
    const int32_t *iy, *ix;
    float *y;
    size_t per_task;
    int status;
} resize_job;

static inline int clamp_index(int32_t i, int n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

/* out[ox] = sum_k wxt[k][ox] * src[ixt[k][ox]] */
LK_HOT static void resample_row(const float *restrict src, const int32_t *restrict ixt, const float *restrict wxt,
                                int ow, int tx, float *restrict out) {
    for (int ox = 0; ox < ow; ox++) out[ox] = wxt[ox] * src[ixt[ox]];
    for (int k = 1; k < tx; k++) {
        const int32_t *restrict ik = ixt + (size_t)k * ow;
        const float *restrict wk = wxt + (size_t)k * ow;
        for (int ox = 0; ox < ow; ox++) out[ox] += wk[ox] * src[ik[ox]];
    }
}

/* out[ox] = sum_k w[k] * rows[k][ox] */
LK_HOT static void blend_rows(const float *const *rows, const float *w, int ty, int ow, float *restrict out) {
    const float *restrict r0 = rows[0];
    float w0 = w[0];
    for (int ox = 0; ox < ow; ox++) out[ox] = w0 * r0[ox];
    for (int k = 1; k < ty; k++) {
        const float *restrict rk = rows[k];
        float wk = w[k];
        for (int ox = 0; ox < ow; ox++) out[ox] += wk * rk[ox];
    }
}

static void resize_task(void *arg, size_t t) {
    resize_job *j = arg;
    const lk_resize2d *p = j->p;
    size_t taps = (size_t)p->tx * p->ow;
    /* per task: [tap][ox] column tables, each source row resampled (h rows of
     * ow), which of them are done for the current plane, row pointers */
    const float **rows = lk_scratch(0, (size_t)p->ty * sizeof(float *) + (taps + (size_t)p->h) * sizeof(int32_t));
    float *wxt = lk_scratch(1, taps * sizeof(float));
    float *resampled = lk_scratch(2, (size_t)p->h * p->ow * sizeof(float));
    if (!rows || !wxt || !resampled) {
        j->status = LK_E_NOMEM;
        return;
    }
    int32_t *ixt = (int32_t *)(void *)(rows + p->ty), *ready = ixt + taps;
    for (int k = 0; k < p->tx; k++)
        for (int ox = 0; ox < p->ow; ox++) {
            ixt[(size_t)k * p->ow + ox] = clamp_index(j->ix[(size_t)ox * p->tx + k], p->w);
            wxt[(size_t)k * p->ow + ox] = j->wx[(size_t)ox * p->tx + k];
        }
    size_t first = t * j->per_task, last = LK_MIN(first + j->per_task, (size_t)p->planes);
    for (size_t plane = first; plane < last; plane++) {
        const float *x = j->x + plane * (size_t)p->h * p->w;
        float *y = j->y + plane * (size_t)p->oh * p->ow;
        memset(ready, 0, (size_t)p->h * sizeof(int32_t));
        for (int oy = 0; oy < p->oh; oy++) {
            for (int k = 0; k < p->ty; k++) {
                int r = clamp_index(j->iy[(size_t)oy * p->ty + k], p->h);
                float *row = resampled + (size_t)r * p->ow;
                if (!ready[r]) {
                    resample_row(x + (size_t)r * p->w, ixt, wxt, p->ow, p->tx, row);
                    ready[r] = 1;
                }
                rows[k] = row;
            }
            blend_rows(rows, j->wy + (size_t)oy * p->ty, p->ty, p->ow, y + (size_t)oy * p->ow);
        }
    }
}

int lk_resize2d_f32(const lk_resize2d *p, const float *x, const int32_t *iy, const float *wy, const int32_t *ix,
                    const float *wx, float *y, lk_pool *pool) {
    if (!p || p->planes < 0 || p->h < 1 || p->w < 1 || p->oh < 0 || p->ow < 0 || p->ty < 1 || p->tx < 1)
        return LK_E_ARG;
    if (p->planes == 0 || p->oh == 0 || p->ow == 0) return LK_OK;
    resize_job j = {p, x, wy, wx, iy, ix, y, 0, 0};
    size_t tasks = lk_task_count(pool, (size_t)p->planes * p->oh * p->ow, 1 << 15);
    if (tasks > (size_t)p->planes) tasks = (size_t)p->planes;
    j.per_task = ((size_t)p->planes + tasks - 1) / tasks;
    lk_parallel_for(pool, ((size_t)p->planes + j.per_task - 1) / j.per_task, resize_task, &j);
    return j.status;
}
