/*
 * Separable 2-D resampling over the last two axes (Resize: nearest, linear,
 * cubic).  The caller gives, per output row and per output column, the
 * source indices and weights of its taps (computed once by the plugin from
 * the ONNX coordinate rules), so one kernel serves every mode: each output
 * row is first blended from its source rows (vectorised over the width),
 * then each output element from its source columns.
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

LK_HOT static void resize_task(void *arg, size_t t) {
    resize_job *j = arg;
    const lk_resize2d *p = j->p;
    float *row = lk_scratch(0, (size_t)p->w * sizeof(float));
    if (!row) {
        j->status = LK_E_NOMEM;
        return;
    }
    size_t first = t * j->per_task, last = LK_MIN(first + j->per_task, (size_t)p->planes);
    for (size_t plane = first; plane < last; plane++) {
        const float *x = j->x + plane * (size_t)p->h * p->w;
        float *y = j->y + plane * (size_t)p->oh * p->ow;
        for (int oy = 0; oy < p->oh; oy++) {
            const float *src = x + (size_t)clamp_index(j->iy[oy * p->ty], p->h) * p->w;
            float w0 = j->wy[oy * p->ty];
            for (int i = 0; i < p->w; i++) row[i] = w0 * src[i];
            for (int k = 1; k < p->ty; k++) {
                const float *s = x + (size_t)clamp_index(j->iy[oy * p->ty + k], p->h) * p->w;
                float wk = j->wy[oy * p->ty + k];
                for (int i = 0; i < p->w; i++) row[i] += wk * s[i];
            }
            float *out = y + (size_t)oy * p->ow;
            for (int ox = 0; ox < p->ow; ox++) {
                float acc = 0.0f;
                for (int k = 0; k < p->tx; k++)
                    acc += j->wx[ox * p->tx + k] * row[clamp_index(j->ix[ox * p->tx + k], p->w)];
                out[ox] = acc;
            }
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
