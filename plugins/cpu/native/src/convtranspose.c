/*
 * 2-D transposed convolution, NCHW: per (image, group) one GEMM gives every
 * (output channel, tap) contribution of every input position,
 * cols[p, (m, ky, kx)] = sum_c x[c, p] w[c, m, ky, kx], which a col2im pass
 * adds into the output at (iy*s - pad + ky*d, ix*s - pad + kx*d).  The input
 * is transposed to [positions, channels] first so the GEMM needs no
 * transposed operand.  Tasks: (image, group) pairs; each owns its output
 * channels.
 */
#include <string.h>

#include "lk_internal.h"

typedef struct {
    const lk_conv2d *p; /* n, c, h, w: input; m, oh, ow: output; pads are the begin pads */
    const float *x, *w, *bias;
    float *y;
    int status;
} ct_job;

static void ct_task(void *arg, size_t t) {
    ct_job *j = arg;
    const lk_conv2d *p = j->p;
    int g = (int)(t % (size_t)p->groups), b = (int)(t / (size_t)p->groups);
    int cg = p->c / p->groups, mg = p->m / p->groups, kk = p->kh * p->kw;
    int positions = p->h * p->w, cols_n = mg * kk;
    float *xt = lk_scratch(0, (size_t)positions * cg * sizeof(float));
    float *cols = lk_scratch(1, (size_t)positions * cols_n * sizeof(float));
    if (!xt || !cols) {
        j->status = LK_E_NOMEM;
        return;
    }
    const float *x = j->x + ((size_t)b * p->c + (size_t)g * cg) * positions;
    for (int c = 0; c < cg; c++)
        for (int i = 0; i < positions; i++) xt[(size_t)i * cg + c] = x[(size_t)c * positions + i];
    /* w is [c, m/g, kh, kw]: the group's rows [g*cg, (g+1)*cg) form a [cg, mg*kk] matrix */
    lk_sgemm(positions, cols_n, cg, xt, cg, j->w + (size_t)g * cg * cols_n, cols_n, 0, cols, cols_n, 0);
    float *y = j->y + ((size_t)b * p->m + (size_t)g * mg) * p->oh * p->ow;
    for (int m = 0; m < mg; m++) {
        float *plane = y + (size_t)m * p->oh * p->ow;
        float bv = j->bias ? j->bias[g * mg + m] : 0.0f;
        for (size_t i = 0; i < (size_t)p->oh * p->ow; i++) plane[i] = bv;
    }
    for (int iy = 0; iy < p->h; iy++)
        for (int ix = 0; ix < p->w; ix++) {
            const float *src = cols + ((size_t)iy * p->w + ix) * cols_n;
            int oy0 = iy * p->sh - p->pad_top, ox0 = ix * p->sw - p->pad_left, ky0, ky1, kx0, kx1;
            lk_taps_inside(oy0, p->dh, p->kh, p->oh, &ky0, &ky1);
            lk_taps_inside(ox0, p->dw, p->kw, p->ow, &kx0, &kx1);
            for (int m = 0; m < mg; m++) {
                float *plane = y + (size_t)m * p->oh * p->ow;
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        plane[(size_t)(oy0 + ky * p->dh) * p->ow + ox0 + kx * p->dw] +=
                            src[(size_t)m * kk + ky * p->kw + kx];
            }
        }
    if (p->act.kind != LK_ACT_NONE)
        for (int m = 0; m < mg; m++) lk_activate(y + (size_t)m * p->oh * p->ow, (size_t)p->oh * p->ow, &p->act);
}

int lk_convtranspose2d_f32(const lk_conv2d *p, const float *x, const float *w, const float *bias, float *y,
                           lk_pool *pool) {
    if (!p || p->groups < 1 || p->c % p->groups || p->m % p->groups || p->kh < 1 || p->kw < 1 || p->sh < 1 ||
        p->sw < 1 || p->dh < 1 || p->dw < 1)
        return LK_E_ARG;
    if (p->n == 0 || p->oh == 0 || p->ow == 0) return LK_OK;
    ct_job j = {p, x, w, bias, y, 0};
    lk_parallel_for(pool, (size_t)p->n * p->groups, ct_task, &j);
    return j.status;
}
