/*
 * General 2-D convolution, NCHW: im2col tiles + GEMM + fused epilogue.
 *
 * Work is cut into tasks of (image, group, block of output channels, tile of
 * output positions).  A task builds the im2col matrix of its tile only
 * (K x tile, sized to stay in L2), multiplies it by the group's weights
 * straight into the output, and applies bias, residual and activation to the
 * rows it just wrote, while they are in cache.  A 1x1 stride-1 unpadded conv
 * skips im2col: the input itself is the GEMM operand.
 */
#include <string.h>

#include "lk_internal.h"

typedef struct {
    const lk_conv2d *p;
    const float *x, *w, *bias, *z;
    float *y;
    int pointwise;
    int k;              /* c/groups * kh * kw */
    int mg;             /* output channels per group */
    int m_block, m_blocks;
    int tile, tiles;    /* output positions per task, tiles per plane */
    int status;
} conv_job;

LK_HOT static void epilogue_rows(float *y, size_t ldy, int rows, int count, const float *bias,
                                 const float *z, const lk_activation *act) {
    for (int r = 0; r < rows; r++) {
        float *row = y + (size_t)r * ldy;
        if (bias) {
            float b = bias[r];
            for (int j = 0; j < count; j++) row[j] += b;
        }
        if (z) {
            const float *zr = z + (size_t)r * ldy;
            for (int j = 0; j < count; j++) row[j] += zr[j];
        }
        if (act->kind != LK_ACT_NONE) lk_activate(row, (size_t)count, act);
    }
}

static void conv_task(void *arg, size_t t) {
    conv_job *j = arg;
    const lk_conv2d *p = j->p;
    size_t per_image = (size_t)p->groups * j->m_blocks * j->tiles;
    int b = (int)(t / per_image);
    size_t r = t % per_image;
    int g = (int)(r / ((size_t)j->m_blocks * j->tiles));
    r %= (size_t)j->m_blocks * j->tiles;
    int mb = (int)(r / j->tiles), tile = (int)(r % j->tiles);
    int positions = p->oh * p->ow;
    int first = tile * j->tile, count = LK_MIN(j->tile, positions - first);
    int m0 = g * j->mg + mb * j->m_block, rows = LK_MIN(j->m_block, j->mg - mb * j->m_block);
    const float *x = lk_group_input(p, j->x, (size_t)b, (size_t)g);
    float *y = j->y + ((size_t)b * p->m + m0) * positions + first;
    const float *operand;
    int ldb;
    if (j->pointwise) {
        operand = x + first;
        ldb = positions;
    } else {
        float *col = lk_scratch(0, (size_t)j->k * count * sizeof(float));
        if (!col) {
            j->status = LK_E_NOMEM;
            return;
        }
        lk_im2col(p, x, first, count, col, (size_t)count);
        operand = col;
        ldb = count;
    }
    lk_sgemm(rows, count, j->k, j->w + (size_t)m0 * j->k, j->k, operand, ldb, 0, y, positions, 0);
    const float *z = j->z ? j->z + ((size_t)b * p->m + m0) * positions + first : NULL;
    epilogue_rows(y, (size_t)positions, rows, count, j->bias ? j->bias + m0 : NULL, z, &p->act);
}

int lk_conv2d_f32(const lk_conv2d *p, const float *x, const float *w, const float *bias, const float *z,
                  float *y, lk_pool *pool) {
    if (!p || p->groups < 1 || p->c % p->groups || p->m % p->groups || p->kh < 1 || p->kw < 1 || p->sh < 1 ||
        p->sw < 1 || p->dh < 1 || p->dw < 1 || p->n < 0 || p->oh < 0 || p->ow < 0)
        return LK_E_ARG;
    int positions = p->oh * p->ow;
    if (p->n == 0 || positions == 0 || p->m == 0) return LK_OK;
    conv_job j = {.p = p, .x = x, .w = w, .bias = bias, .z = z, .y = y};
    j.mg = p->m / p->groups;
    j.k = p->c / p->groups * p->kh * p->kw;
    j.pointwise = p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pad_top == 0 && p->pad_left == 0 &&
                  p->oh == p->h && p->ow == p->w;
    /* tile: the im2col block stays within ~256 KiB; pointwise tiles only cut work */
    int tile = j.pointwise ? 1024 : (int)(65536 / (j.k > 0 ? j.k : 1));
    tile = LK_MAX(tile, 64);
    tile = (tile + 15) & ~15;
    if (tile > positions) tile = positions;
    j.tile = tile;
    j.tiles = (positions + tile - 1) / tile;
    j.m_block = j.mg;
    j.m_blocks = 1;
    int threads = lk_pool_threads(pool);
    size_t tasks = (size_t)p->n * p->groups * j.tiles;
    if (threads > 1 && tasks < (size_t)threads * 2 && j.mg >= 16) {
        /* few position tiles (small images): cut output channels too */
        int want = (int)(((size_t)threads * 2 + tasks - 1) / tasks);
        int block = (j.mg + want - 1) / want;
        block = (block + 7) & ~7;
        j.m_block = LK_MAX(block, 8);
        j.m_blocks = (j.mg + j.m_block - 1) / j.m_block;
    }
    if (threads > 1 && tasks * j.m_blocks < (size_t)threads * 2 && tile > 64) {
        /* still few tasks: smaller tiles */
        int want = threads * 2;
        int t2 = (positions + want - 1) / want;
        t2 = LK_MAX((t2 + 15) & ~15, 16);
        j.tile = t2;
        j.tiles = (positions + t2 - 1) / t2;
    }
    tasks = (size_t)p->n * p->groups * j.m_blocks * j.tiles;
    lk_parallel_for(pool, tasks, conv_task, &j);
    return j.status;
}
