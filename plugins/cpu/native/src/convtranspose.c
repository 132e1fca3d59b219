/*
 * 2-D transposed convolution, NCHW: per (image, group) one GEMM gives every
 * (output channel, tap) contribution of every input position,
 * cols[p, (m, ky, kx)] = sum_c x[c, p] w[c, m, ky, kx], which a col2im pass
 * adds into the output at (iy*s - pad + ky*d, ix*s - pad + kx*d).  Two
 * parallel passes per (image, group): the GEMM in chunks of input positions
 * (each transposes its slice of the input to [positions, channels] first, so
 * the GEMM needs no transposed operand), then col2im in chunks of output
 * channels, which own their planes (the taps of neighbouring positions
 * overlap where the kernel is wider than the stride).  One task per (image,
 * group) left the second thread idle on a batch-1 U-Net's decoder.
 */
#include <string.h>

#include "lk_internal.h"

#define CT_MIN_POSITIONS 64 /* input positions of a GEMM task, at least */

typedef struct {
    const lk_conv2d *p; /* n, c, h, w: input; m, oh, ow: output; pads are the begin pads */
    const float *x, *w, *bias;
    float *y;
    float *cols;        /* [positions][mg * kh * kw] of the current (image, group) */
    size_t image;       /* the current (image, group): b * groups + g */
    int pos_chunk, m_chunk;
    int status;
} ct_job;

/* GEMM task t: input positions [t * pos_chunk, ...) of the current image and group into cols */
static void ct_gemm_task(void *arg, size_t t) {
    ct_job *j = arg;
    const lk_conv2d *p = j->p;
    int g = (int)(j->image % (size_t)p->groups), b = (int)(j->image / (size_t)p->groups);
    int cg = p->c / p->groups, cols_n = p->m / p->groups * p->kh * p->kw, positions = p->h * p->w;
    int p0 = (int)t * j->pos_chunk, count = LK_MIN(j->pos_chunk, positions - p0);
    if (count <= 0) return;
    float *xt = lk_scratch(0, (size_t)count * cg * sizeof(float));
    if (!xt) {
        j->status = LK_E_NOMEM;
        return;
    }
    const float *x = j->x + ((size_t)b * p->c + (size_t)g * cg) * positions + p0;
    for (int c = 0; c < cg; c++)
        for (int i = 0; i < count; i++) xt[(size_t)i * cg + c] = x[(size_t)c * positions + i];
    /* w is [c, m/g, kh, kw]: the group's rows [g*cg, (g+1)*cg) form a [cg, mg*kk] matrix */
    lk_sgemm(count, cols_n, cg, xt, cg, j->w + (size_t)g * cg * cols_n, cols_n, 0, j->cols + (size_t)p0 * cols_n,
             cols_n, 0);
}

/* col2im task t: output channels [t * m_chunk, ...) of the current image and group */
static void ct_col2im_task(void *arg, size_t t) {
    ct_job *j = arg;
    const lk_conv2d *p = j->p;
    int g = (int)(j->image % (size_t)p->groups), b = (int)(j->image / (size_t)p->groups);
    int mg = p->m / p->groups, kk = p->kh * p->kw, cols_n = mg * kk;
    int m0 = (int)t * j->m_chunk, m1 = LK_MIN(mg, m0 + j->m_chunk);
    size_t plane_size = (size_t)p->oh * p->ow;
    float *y = j->y + ((size_t)b * p->m + (size_t)g * mg) * plane_size;
    for (int m = m0; m < m1; m++) {
        float *plane = y + (size_t)m * plane_size, bv = j->bias ? j->bias[g * mg + m] : 0.0f;
        for (size_t i = 0; i < plane_size; i++) plane[i] = bv;
    }
    for (int iy = 0; iy < p->h; iy++)
        for (int ix = 0; ix < p->w; ix++) {
            const float *src = j->cols + ((size_t)iy * p->w + ix) * cols_n;
            int oy0 = iy * p->sh - p->pad_top, ox0 = ix * p->sw - p->pad_left, ky0, ky1, kx0, kx1;
            lk_taps_inside(oy0, p->dh, p->kh, p->oh, &ky0, &ky1);
            lk_taps_inside(ox0, p->dw, p->kw, p->ow, &kx0, &kx1);
            for (int m = m0; m < m1; m++) {
                float *plane = y + (size_t)m * plane_size;
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        plane[(size_t)(oy0 + ky * p->dh) * p->ow + ox0 + kx * p->dw] +=
                            src[(size_t)m * kk + ky * p->kw + kx];
            }
        }
    if (p->act.kind != LK_ACT_NONE)
        for (int m = m0; m < m1; m++) lk_activate(y + (size_t)m * plane_size, plane_size, &p->act);
}

int lk_convtranspose2d_f32(const lk_conv2d *p, const float *x, const float *w, const float *bias, float *y,
                           lk_pool *pool) {
    if (!p || p->groups < 1 || p->c % p->groups || p->m % p->groups || p->kh < 1 || p->kw < 1 || p->sh < 1 ||
        p->sw < 1 || p->dh < 1 || p->dw < 1)
        return LK_E_ARG;
    if (p->n == 0 || p->oh == 0 || p->ow == 0) return LK_OK;
    ct_job j = {p, x, w, bias, y, NULL, 0, 0, 0, LK_OK};
    int positions = p->h * p->w, mg = p->m / p->groups, threads = lk_pool_threads(pool);
    size_t cols_n = (size_t)mg * p->kh * p->kw;
    if (!(j.cols = lk_scratch(4, (size_t)positions * cols_n * sizeof(float)))) return LK_E_NOMEM;
    int pos_tasks = LK_MAX(1, LK_MIN(threads * 4, positions / CT_MIN_POSITIONS));
    j.pos_chunk = (positions + pos_tasks - 1) / pos_tasks;
    pos_tasks = (positions + j.pos_chunk - 1) / j.pos_chunk;
    int m_tasks = LK_MAX(1, LK_MIN(threads * 4, mg));
    j.m_chunk = (mg + m_tasks - 1) / m_tasks;
    m_tasks = (mg + j.m_chunk - 1) / j.m_chunk;
    for (j.image = 0; j.image < (size_t)p->n * p->groups && j.status == LK_OK; j.image++) {
        lk_parallel_for(pool, (size_t)pos_tasks, ct_gemm_task, &j);
        if (j.status == LK_OK) lk_parallel_for(pool, (size_t)m_tasks, ct_col2im_task, &j);
    }
    return j.status;
}
