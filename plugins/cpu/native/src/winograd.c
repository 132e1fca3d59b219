/*
 * Winograd F(2x2, 3x3) for 3x3, stride-1, ungrouped convolutions (Lavin &
 * Gray): a 2x2 output tile from a 4x4 input tile with 16 multiplies per
 * channel pair instead of 36.  Its transforms hold only 0, +-1 and +-1/2, so
 * the float32 error is that of the direct method (F(4x4, 3x3) was measured
 * too inaccurate for MindSpore-style accuracy checks in the numpy kernel).
 *
 * Per task (an image, a block of tile rows):
 *  1. V[f][c][t] = (B^T d B)[f] of every 4x4 input tile t: the block's input
 *     rows are split into even and odd columns, so tile tx reads columns
 *     ev[tx], od[tx], ev[tx + 1], od[tx + 1] and every transform loop runs
 *     vectorised across the tiles of a row;
 *  2. 16 GEMMs M[f] = U[f] V[f] on the library's 12x32 tile, with the weights
 *     transformed and packed once (lk_winograd_pack_weights);
 *  3. Y = A^T M A per tile into two output rows at a time, then bias,
 *     residual and a clamp activation on the way out.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lk_internal.h"

#define MR 12
#define NR 32

size_t lk_winograd_packed_floats(int m, int c) {
    if (m <= 0 || c <= 0) return 0;
    return (size_t)16 * ((size_t)(m + MR - 1) / MR) * MR * (size_t)c;
}

void lk_winograd_pack_weights(const float *w, int m, int c, float *out) {
    /* U = G g G^T, G = [[1,0,0],[.5,.5,.5],[.5,-.5,.5],[0,0,1]], packed [f][m panel][c][12] */
    int panels = (m + MR - 1) / MR;
    memset(out, 0, lk_winograd_packed_floats(m, c) * sizeof(float));
    for (int mi = 0; mi < m; mi++)
        for (int ci = 0; ci < c; ci++) {
            const float *g = w + ((size_t)mi * c + ci) * 9;
            float t[4][3], u[4][4];
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                u[i][0] = t[i][0];
                u[i][1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                u[i][2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                u[i][3] = t[i][2];
            }
            for (int f = 0; f < 16; f++)
                out[(((size_t)f * panels + mi / MR) * c + ci) * MR + mi % MR] = u[f / 4][f % 4];
        }
}

size_t lk_winograd_packed_bf16_pairs(int m, int c) {
    if (m <= 0 || c <= 0) return 0;
    return (size_t)16 * ((size_t)(m + MR - 1) / MR) * MR * (size_t)((c + 1) / 2);
}

int lk_winograd_pack_weights_bf16(const float *w, int m, int c, uint32_t *out) {
    /* the float32 transform, then each [c][12] panel rounded into [ceil(c/2)][12] pairs */
    float *u = malloc(lk_winograd_packed_floats(m, c) * sizeof(float));
    if (!u) return LK_E_NOMEM;
    lk_winograd_pack_weights(w, m, c, u);
    size_t panels = (size_t)16 * ((m + MR - 1) / MR);
    int cp = (c + 1) / 2;
    for (size_t pnl = 0; pnl < panels; pnl++)
        for (int q = 0; q < cp; q++)
            for (int r = 0; r < MR; r++) {
                const float *src = u + pnl * c * MR;
                float hi = 2 * q + 1 < c ? src[(size_t)(2 * q + 1) * MR + r] : 0.0f;
                out[(pnl * cp + q) * MR + r] = lk_bf16_pair(src[(size_t)2 * q * MR + r], hi);
            }
    free(u);
    return LK_OK;
}

typedef struct {
    const lk_conv2d *p;
    const float *x, *u, *bias, *z;
    const uint32_t *u_bf16; /* bf16 pairs instead of u (lk_conv2d_winograd_bf16) */
    float *y;
    int tiles_h, tiles_w, rows_per_task, tiles_pad, panels_m, half;
    int chunk_panels, chunks; /* weight panels per task, tasks per tile block (few tiles, several threads) */
    float lo, hi;
    int status;
} wino_job;

/* one tile row of one channel: v[f * fstride + tx] for the tiles of the row.
 * Written with one named value per tile entry so that GCC vectorises the
 * loop across tiles (16 tiles per AVX-512 iteration). */
LK_HOT static void transform_tile_row(int tw, const float *const ev[4], const float *const od[4], float *v,
                                      size_t fstride) {
    const float *restrict e0 = ev[0], *restrict e1 = ev[1], *restrict e2 = ev[2], *restrict e3 = ev[3];
    const float *restrict o0 = od[0], *restrict o1 = od[1], *restrict o2 = od[2], *restrict o3 = od[3];
    float *restrict v0 = v, *restrict v1 = v + fstride, *restrict v2 = v + 2 * fstride, *restrict v3 = v + 3 * fstride;
    float *restrict v4 = v + 4 * fstride, *restrict v5 = v + 5 * fstride, *restrict v6 = v + 6 * fstride;
    float *restrict v7 = v + 7 * fstride, *restrict v8 = v + 8 * fstride, *restrict v9 = v + 9 * fstride;
    float *restrict v10 = v + 10 * fstride, *restrict v11 = v + 11 * fstride, *restrict v12 = v + 12 * fstride;
    float *restrict v13 = v + 13 * fstride, *restrict v14 = v + 14 * fstride, *restrict v15 = v + 15 * fstride;
    for (int tx = 0; tx < tw; tx++) {
        /* B^T d over rows (entries d[row][col], cols ev[tx], od[tx], ev[tx+1], od[tx+1]) */
        float t00 = e0[tx] - e2[tx], t01 = o0[tx] - o2[tx], t02 = e0[tx + 1] - e2[tx + 1], t03 = o0[tx + 1] - o2[tx + 1];
        float t10 = e1[tx] + e2[tx], t11 = o1[tx] + o2[tx], t12 = e1[tx + 1] + e2[tx + 1], t13 = o1[tx + 1] + o2[tx + 1];
        float t20 = e2[tx] - e1[tx], t21 = o2[tx] - o1[tx], t22 = e2[tx + 1] - e1[tx + 1], t23 = o2[tx + 1] - o1[tx + 1];
        float t30 = e1[tx] - e3[tx], t31 = o1[tx] - o3[tx], t32 = e1[tx + 1] - e3[tx + 1], t33 = o1[tx + 1] - o3[tx + 1];
        /* (B^T d) B over columns */
        v0[tx] = t00 - t02, v1[tx] = t01 + t02, v2[tx] = t02 - t01, v3[tx] = t01 - t03;
        v4[tx] = t10 - t12, v5[tx] = t11 + t12, v6[tx] = t12 - t11, v7[tx] = t11 - t13;
        v8[tx] = t20 - t22, v9[tx] = t21 + t22, v10[tx] = t22 - t21, v11[tx] = t21 - t23;
        v12[tx] = t30 - t32, v13[tx] = t31 + t32, v14[tx] = t32 - t31, v15[tx] = t31 - t33;
    }
}

/* Y = A^T M A, A^T = [[1,1,1,0],[0,1,-1,-1]], for one output channel and one
 * tile row: the two output rows, interleaved into r0/r1 (2 * tw values) */
LK_HOT static void output_tile_row(int tw, const float *m, size_t fstride, float *restrict r0, float *restrict r1) {
    const float *restrict q[16];
    for (int f = 0; f < 16; f++) q[f] = m + (size_t)f * fstride;
    for (int tx = 0; tx < tw; tx++) {
        float s00 = q[0][tx] + q[4][tx] + q[8][tx], s01 = q[1][tx] + q[5][tx] + q[9][tx];
        float s02 = q[2][tx] + q[6][tx] + q[10][tx], s03 = q[3][tx] + q[7][tx] + q[11][tx];
        float s10 = q[4][tx] - q[8][tx] - q[12][tx], s11 = q[5][tx] - q[9][tx] - q[13][tx];
        float s12 = q[6][tx] - q[10][tx] - q[14][tx], s13 = q[7][tx] - q[11][tx] - q[15][tx];
        r0[2 * tx] = s00 + s01 + s02;
        r0[2 * tx + 1] = s01 - s02 - s03;
        r1[2 * tx] = s10 + s11 + s12;
        r1[2 * tx + 1] = s11 - s12 - s13;
    }
}

LK_HOT static void finish_row(float *restrict y, const float *restrict r, const float *z, int n, float bias, float lo,
                              float hi) {
    if (z)
        for (int i = 0; i < n; i++) {
            float v = r[i] + bias + z[i];
            v = v < lo ? lo : v;
            y[i] = v > hi ? hi : v;
        }
    else
        for (int i = 0; i < n; i++) {
            float v = r[i] + bias;
            v = v < lo ? lo : v;
            y[i] = v > hi ? hi : v;
        }
}

static void wino_task(void *arg, size_t t) {
    wino_job *j = arg;
    const lk_conv2d *p = j->p;
    int pm_first = (int)(t % (size_t)j->chunks) * j->chunk_panels;
    int pm_last = LK_MIN(j->panels_m, pm_first + j->chunk_panels);
    t /= (size_t)j->chunks;
    int blocks = (j->tiles_h + j->rows_per_task - 1) / j->rows_per_task;
    int b = (int)(t / (size_t)blocks), ty0 = (int)(t % (size_t)blocks) * j->rows_per_task;
    int rows = LK_MIN(j->rows_per_task, j->tiles_h - ty0);
    int tiles = rows * j->tiles_w, tp = j->tiles_pad, tw = j->tiles_w, half = j->half;
    /* V: [16][c][tp], M: [16][m padded][tp]; each of the 16 planes skewed by
     * 40 floats, or the transforms' 16 streams a power of two apart would all
     * fall in one L1 set (measured: the input transform 4x slower) */
    size_t vfs = (size_t)p->c * tp + 40;
    size_t mfs = (size_t)j->panels_m * MR * tp + 40;
    size_t split_rows = (size_t)(2 * rows + 2);    /* input rows of the block */
    float *v = lk_scratch(0, (16 * vfs + 16 * mfs + split_rows * 2 * half + 4 * (size_t)half) * sizeof(float));
    if (!v) {
        j->status = LK_E_NOMEM;
        return;
    }
    float *mbuf = v + 16 * vfs, *split = mbuf + 16 * mfs, *out_rows = split + split_rows * 2 * half;
    if (tiles < tp) /* columns past the block's tiles: zeros, so the GEMMs read finite values */
        for (size_t r = 0; r < 16 * (size_t)p->c; r++) memset(v + r * tp + tiles, 0, (size_t)(tp - tiles) * sizeof(float));
    const float *x = j->x + (size_t)b * p->c * p->h * p->w;
    for (int c = 0; c < p->c; c++) {
        const float *xc = x + (size_t)c * p->h * p->w;
        /* the block's input rows 2*ty0 - pad_top + r, split into even/odd padded columns */
        memset(split, 0, split_rows * 2 * half * sizeof(float));
        for (size_t r = 0; r < split_rows; r++) {
            int iy = 2 * ty0 - p->pad_top + (int)r;
            if (iy >= 0 && iy < p->h)
                lk_split_columns(xc + (size_t)iy * p->w, 1, p->w, 0, p->pad_left, half, split + r * 2 * half,
                                 split + r * 2 * half + half);
        }
        for (int tr = 0; tr < rows; tr++) {
            const float *ev[4], *od[4];
            for (int i = 0; i < 4; i++) {
                ev[i] = split + (size_t)(2 * tr + i) * 2 * half;
                od[i] = ev[i] + half;
            }
            transform_tile_row(tw, ev, od, v + (size_t)c * tp + (size_t)tr * tw, vfs);
        }
    }
    if (j->u_bf16) {
        /* each 32-tile column panel of V[f] rounded to pairs once, then every weight panel over it */
        int cp = (p->c + 1) / 2;
        uint32_t *vp = lk_scratch(1, (size_t)cp * NR * sizeof(uint32_t));
        if (!vp) {
            j->status = LK_E_NOMEM;
            return;
        }
        for (int f = 0; f < 16; f++)
            for (int pn = 0; pn < tp / NR; pn++) {
                lk_rows_to_bf16_pairs(v + f * vfs + (size_t)pn * NR, (size_t)tp, p->c, vp);
                for (int pm = pm_first; pm < pm_last; pm++)
                    lk_gemm_panel_bf16(cp, j->u_bf16 + ((size_t)f * j->panels_m + pm) * cp * MR, vp,
                                       mbuf + f * mfs + (size_t)pm * MR * tp + (size_t)pn * NR, (size_t)tp);
            }
    } else {
        for (int f = 0; f < 16; f++)
            for (int pm = pm_first; pm < pm_last; pm++)
                for (int pn = 0; pn < tp / NR; pn++)
                    lk_gemm_panel(p->c, j->u + ((size_t)f * j->panels_m + pm) * p->c * MR, v + f * vfs + (size_t)pn * NR,
                                  (size_t)tp, mbuf + f * mfs + (size_t)pm * MR * tp + (size_t)pn * NR, (size_t)tp);
    }
    float *r0 = out_rows, *r1 = out_rows + 2 * (size_t)half;
    for (int m = pm_first * MR; m < LK_MIN(p->m, pm_last * MR); m++) {
        float bias = j->bias ? j->bias[m] : 0.0f;
        float *ym = j->y + ((size_t)b * p->m + m) * p->oh * p->ow;
        const float *zm = j->z ? j->z + ((size_t)b * p->m + m) * p->oh * p->ow : NULL;
        for (int tr = 0; tr < rows; tr++) {
            int oy = 2 * (ty0 + tr);
            output_tile_row(tw, mbuf + (size_t)m * tp + (size_t)tr * tw, mfs, r0, r1);
            finish_row(ym + (size_t)oy * p->ow, r0, zm ? zm + (size_t)oy * p->ow : NULL, p->ow, bias, j->lo, j->hi);
            if (oy + 1 < p->oh)
                finish_row(ym + (size_t)(oy + 1) * p->ow, r1, zm ? zm + (size_t)(oy + 1) * p->ow : NULL, p->ow, bias,
                           j->lo, j->hi);
        }
    }
}

int lk_winograd_available(const lk_conv2d *p) {
    return p && lk_conv_packed_available() && p->kh == 3 && p->kw == 3 && p->sh == 1 && p->sw == 1 && p->dh == 1 &&
           p->dw == 1 && p->groups == 1 && p->pad_top >= 0 && p->pad_top <= 2 && p->pad_left >= 0 &&
           p->pad_left <= 2 && (p->act.kind == LK_ACT_NONE || p->act.kind == LK_ACT_RELU || p->act.kind == LK_ACT_CLIP);
}

static int winograd(const lk_conv2d *p, const float *x, const float *u, const uint32_t *u_bf16, const float *bias,
                    const float *z, float *y, lk_pool *pool) {
    if (!lk_winograd_available(p) || p->n < 0 || p->c < 1 || p->m < 1 || p->oh < 1 || p->ow < 1) return LK_E_ARG;
    if (p->n == 0) return LK_OK;
    wino_job j = {.p = p, .x = x, .u = u, .u_bf16 = u_bf16, .bias = bias, .z = z, .y = y};
    j.tiles_h = (p->oh + 1) / 2;
    j.tiles_w = (p->ow + 1) / 2;
    j.panels_m = (p->m + MR - 1) / MR;
    /* even/odd halves of a padded input row: the image, and the 2 * tiles + 2 columns the tiles read */
    j.half = LK_MAX(p->w + p->pad_left, 2 * j.tiles_w + 2) / 2 + 2;
    lk_activation after; /* none: lk_winograd_available admits only clamps */
    lk_split_activation(&p->act, &j.lo, &j.hi, &after);
    /* Blocks of tile rows, at most ~128 tiles each (its V and M stay in L2): the block height with the
     * shortest makespan (rounds of `threads` blocks times a block's cost, which is whole 32-tile panels:
     * 4 blocks of 14 tiles cost as much as 4 of 32), the taller on a tie.  Fewer blocks than threads (one
     * small image): the weight panels are split among tasks as well, each transforming the block's input
     * itself (measured: a 256-channel 3x3 conv at 14x14 no faster on 2 threads than on 1 before). */
    int threads = lk_pool_threads(pool);
    int rows_max = LK_MIN(j.tiles_h, LK_MAX(1, 128 / j.tiles_w));
    long best = -1;
    for (int rows = rows_max; rows >= 1; rows--) {
        size_t blocks = (size_t)p->n * ((j.tiles_h + rows - 1) / rows);
        long cost = (long)((blocks + threads - 1) / threads) * ((rows * j.tiles_w + NR - 1) / NR);
        if (best < 0 || cost < best) {
            best = cost;
            j.rows_per_task = rows;
        }
    }
    j.tiles_pad = (j.rows_per_task * j.tiles_w + NR - 1) / NR * NR;
    size_t blocks = (size_t)p->n * ((j.tiles_h + j.rows_per_task - 1) / j.rows_per_task);
    j.chunks = 1;
    if (blocks < (size_t)threads) j.chunks = (int)LK_MIN((size_t)j.panels_m, ((size_t)threads + blocks - 1) / blocks);
    j.chunk_panels = (j.panels_m + j.chunks - 1) / j.chunks;
    j.chunks = (j.panels_m + j.chunk_panels - 1) / j.chunk_panels;
    lk_parallel_for(pool, blocks * (size_t)j.chunks, wino_task, &j);
    return j.status;
}

int lk_conv2d_winograd_f32(const lk_conv2d *p, const float *x, const float *u, const float *bias, const float *z,
                           float *y, lk_pool *pool) {
    return winograd(p, x, u, NULL, bias, z, y, pool);
}

int lk_conv2d_winograd_bf16(const lk_conv2d *p, const float *x, const uint32_t *u, const float *bias, const float *z,
                            float *y, lk_pool *pool) {
    if (!lk_bf16_available()) return LK_E_ARG;
    return winograd(p, x, NULL, u, bias, z, y, pool);
}
