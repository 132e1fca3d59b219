/* Batched MatMul / Gemm with a fused epilogue (alpha, bias, activation). */
#include <string.h>

#include "lk_internal.h"

typedef struct {
    const lk_matmul *p;
    const float *a, *b, *bias;
    float *c;
    int m_block, m_blocks, n_block, n_blocks;
    int bf16; /* bf16 arithmetic: each task packs its B block into pairs and runs the bf16 tile */
    int own_kernel; /* float32: each task packs its B block for the library's 12x32 kernel (AVX-512) */
    int status;
} mm_job;

/* the rows of the packed GEMM's weight-panel tile (lk_gemm_packed_a_bytes counts in them) */
#define MM_ROW_PANEL 12

LK_HOT static void mm_epilogue(const lk_matmul *p, float *c, int rows, int cols, int m0, int n0,
                               const float *bias) {
    for (int r = 0; r < rows; r++) {
        float *row = c + (size_t)r * p->n;
        if (p->alpha != 1.0f)
            for (int j = 0; j < cols; j++) row[j] *= p->alpha;
        if (p->bias_kind == 1) {
            const float *bv = bias + n0;
            for (int j = 0; j < cols; j++) row[j] += p->beta * bv[j];
        } else if (p->bias_kind == 2) {
            const float *bv = bias + (size_t)(m0 + r) * p->n + n0;
            for (int j = 0; j < cols; j++) row[j] += p->beta * bv[j];
        } else if (p->bias_kind == 3) {
            float bv = p->beta * bias[0];
            for (int j = 0; j < cols; j++) row[j] += bv;
        }
        if (p->act.kind != LK_ACT_NONE) lk_activate(row, (size_t)cols, &p->act);
    }
}

/* A task's block of B (an activation: attention's K^T or V) packed per call for the library's 12x32 kernel,
 * as float32 or bf16 pairs, then its rows: an external BLAS zeroes C and copies both operands on every
 * call, a tenth of a ViT's time. */
static int packed_block(const lk_matmul *p, int bf16, int rows, int cols, const float *a, const float *b, float *c) {
    size_t ldb = p->trans_b ? (size_t)p->k : (size_t)p->n;
    size_t bytes = bf16 ? lk_gemm_packed_b_bf16_pairs(p->k, cols) * sizeof(uint32_t)
                        : lk_gemm_packed_b_floats(p->k, cols) * sizeof(float);
    void *packed = lk_scratch(3, bytes);
    if (!packed) return LK_E_NOMEM;
    if (bf16) {
        lk_gemm_pack_b_bf16_ld(b, p->k, cols, ldb, p->trans_b, packed);
        return lk_gemm_packed_b_rows_bf16(rows, cols, p->k, a, (size_t)p->k, packed, c, (size_t)p->n);
    }
    lk_gemm_pack_b_ld(b, p->k, cols, ldb, p->trans_b, packed);
    return lk_gemm_packed_b_rows(rows, cols, p->k, a, (size_t)p->k, packed, c, (size_t)p->n);
}

static void mm_task(void *arg, size_t t) {
    const mm_job *j = arg;
    const lk_matmul *p = j->p;
    size_t per_batch = (size_t)j->m_blocks * j->n_blocks;
    int bi = (int)(t / per_batch);
    int mb = (int)(t % per_batch / j->n_blocks), nb = (int)(t % j->n_blocks);
    int m0 = mb * j->m_block, rows = LK_MIN(j->m_block, p->m - m0);
    int n0 = nb * j->n_block, cols = LK_MIN(j->n_block, p->n - n0);
    const float *a = j->a + bi * p->a_bs + (size_t)m0 * p->k;
    const float *b = j->b + bi * p->b_bs + (p->trans_b ? (size_t)n0 * p->k : (size_t)n0);
    float *c = j->c + (size_t)bi * p->m * p->n + (size_t)m0 * p->n + n0;
    if (j->bf16 || j->own_kernel) {
        int status = packed_block(p, j->bf16, rows, cols, a, b, c);
        if (status != LK_OK) {
            ((mm_job *)j)->status = status;
            return;
        }
    } else {
        lk_sgemm(rows, cols, p->k, a, p->k, b, p->trans_b ? p->k : p->n, p->trans_b, c, p->n, 0);
    }
    mm_epilogue(p, c, rows, cols, m0, n0, j->bias);
}

/* Into how many blocks to cut each batch item so that the threads finish together: the fewest blocks
 * with the shortest makespan (rounds of `threads` tasks, each 1/blocks of an item).  Items that share out
 * evenly stay whole; ViT's 3 attention heads on 2 threads are cut in 2 (3 rounds of half a head rather
 * than 2 of a whole one, which left a thread idle for a third of the step: 1.42 -> 1.15 ms of a ViT's
 * attention products on a 2-vCPU Zen 4). */
static int blocks_per_item(int batch, int threads) {
    int best = 1;
    double best_span = (double)((batch + threads - 1) / threads);
    for (int blocks = 2; blocks <= 4 * threads; blocks++) {
        long tasks = (long)batch * blocks;
        double span = (double)((tasks + threads - 1) / threads) / blocks;
        if (span < best_span - 1e-9) best = blocks, best_span = span;
    }
    return best;
}

static int matmul(const lk_matmul *p, const float *a, const float *b, const float *bias, float *c, lk_pool *pool,
                  int bf16) {
    if (!p || p->batch < 0 || p->m < 0 || p->n < 0 || p->k < 0 || p->trans_a || p->a_bs < 0 || p->b_bs < 0 ||
        p->bias_kind < 0 || p->bias_kind > 3 || (p->bias_kind && !bias))
        return LK_E_ARG;
    if (p->batch == 0 || p->m == 0 || p->n == 0) return LK_OK;
    mm_job j = {p, a, b, bias, c, p->m, 1, p->n, 1, bf16, !bf16 && lk_conv_packed_available(), LK_OK};
    int threads = lk_pool_threads(pool);
    double flops = 2.0 * p->m * p->n * (double)p->k;
    int want = threads > 1 && flops * p->batch > 2e5 ? blocks_per_item(p->batch, threads) : 1;
    if (want > 1) {
        /* fewer items than threads: columns first, each task then packs only its slice of B; else the items
         * are cut only to even out the rounds, in whole 12-row tiles of the kernel */
        if (p->batch >= threads && p->m >= 12 * want) {
            j.m_block = ((p->m + want - 1) / want + 11) / 12 * 12;
        } else if (p->n >= 64 * want) {
            j.n_block = ((p->n + want - 1) / want + 15) & ~15;
        } else if (p->m >= 16 * want) {
            j.m_block = ((p->m + want - 1) / want + 7) & ~7;
        } else if (p->m >= 16) {
            j.m_block = ((p->m + 1) / 2 + 7) & ~7;
        }
        j.m_blocks = (p->m + j.m_block - 1) / j.m_block;
        j.n_blocks = (p->n + j.n_block - 1) / j.n_block;
    }
    lk_parallel_for(pool, (size_t)p->batch * j.m_blocks * j.n_blocks, mm_task, &j);
    return j.status;
}

int lk_matmul_f32(const lk_matmul *p, const float *a, const float *b, const float *bias, float *c,
                  lk_pool *pool) {
    return matmul(p, a, b, bias, c, pool, 0);
}

int lk_matmul_bf16(const lk_matmul *p, const float *a, const float *b, const float *bias, float *c,
                   lk_pool *pool) {
    if (!lk_bf16_available()) return LK_E_ARG;
    return matmul(p, a, b, bias, c, pool, 1);
}

typedef struct {
    const lk_matmul *p;
    const float *a, *b_packed, *bias;
    const uint32_t *b_bf16; /* instead of b_packed in bf16 arithmetic */
    float *c;
    int m_block, n_block, n_blocks;
    void *a_packed; /* A's rows packed once for all tasks (lk_gemm_pack_a_panels), or NULL: each task packs its own */
    int status;
} mm_packed_job;

/* mm_epilogue on a final region of a task's block (lk_gemm_finish: rows and columns relative to the block) */
typedef struct {
    const mm_packed_job *j;
    float *c;
    int m0, n0;
} block_finish;

static void finish_block_region(void *arg, int m0, int rows, int n0, int cols) {
    const block_finish *f = arg;
    const lk_matmul *p = f->j->p;
    mm_epilogue(p, f->c + (size_t)m0 * p->n + n0, rows, cols, f->m0 + m0, f->n0 + n0, f->j->bias);
}

static void mm_packed_task(void *arg, size_t t) {
    mm_packed_job *j = arg;
    const lk_matmul *p = j->p;
    int m0 = (int)(t / (size_t)j->n_blocks) * j->m_block, n0 = (int)(t % (size_t)j->n_blocks) * j->n_block;
    int rows = LK_MIN(j->m_block, p->m - m0), cols = LK_MIN(j->n_block, p->n - n0);
    if (!j->b_bf16 && !j->a_packed) {
        /* float32 over the whole block, blocked for the caches; each region's epilogue once it is final */
        float *c = j->c + (size_t)m0 * p->n + n0;
        block_finish f = {j, c, m0, n0};
        const lk_gemm_finish finish = {finish_block_region, &f};
        int status = lk_gemm_packed_b_rows_finish(rows, cols, p->k, j->a + (size_t)m0 * p->k, (size_t)p->k,
                                                  j->b_packed + (size_t)n0 * p->k, c, (size_t)p->n, &finish);
        if (status != LK_OK) j->status = status;
        return;
    }
    /* n_block is a multiple of the 32-column panels the packing made, m_block of the 12-row ones.  One row
     * panel at a time, its bias and activation applied while it is in L1 (after the whole block, the GELU of
     * a ViT's MLP read its 197 x 384 block back from L2) */
    const float *b32 = j->b_bf16 ? NULL : j->b_packed + (size_t)n0 * p->k;
    const uint32_t *b16 = j->b_bf16 ? j->b_bf16 + (size_t)n0 * lk_gemm_b_panel_pairs(p->k) : NULL;
    /* on AMX tiles (lk_gemm_packed_b_rows_bf16 runs them) a row panel is two 16-row tiles */
    const int row_panel = b16 && lk_bf16_amx() ? 32 : MM_ROW_PANEL;
    for (int r0 = 0; r0 < rows; r0 += row_panel) {
        int panel_rows = LK_MIN(row_panel, rows - r0), m = m0 + r0;
        float *c = j->c + (size_t)m * p->n + n0;
        const float *a = j->a + (size_t)m * p->k;
        int status;
        if (j->a_packed) {
            const char *ap = (const char *)j->a_packed + lk_gemm_packed_a_bytes(m, p->k, b16 != NULL);
            status = lk_gemm_prepacked_rows(panel_rows, cols, p->k, ap, b32, b16, c, (size_t)p->n);
        } else {
            status = b16 ? lk_gemm_packed_b_rows_bf16(panel_rows, cols, p->k, a, (size_t)p->k, b16, c, (size_t)p->n)
                         : lk_gemm_packed_b_rows(panel_rows, cols, p->k, a, (size_t)p->k, b32, c, (size_t)p->n);
        }
        if (status != LK_OK) {
            j->status = status;
            return;
        }
        mm_epilogue(p, c, panel_rows, cols, m, n0, j->bias);
    }
}

typedef struct {
    const lk_matmul *p;
    const float *a;
    int bf16;
    void *ap;
    int tasks, panels;
    int status;
} pack_a_job;

/* task t of `tasks` packs its share of A's 12-row panels */
static void pack_a_task(void *arg, size_t t) {
    pack_a_job *j = arg;
    int first = (int)((size_t)j->panels * t / (size_t)j->tasks), end = (int)((size_t)j->panels * (t + 1) / (size_t)j->tasks);
    int status = lk_gemm_pack_a_panels(first, end - first, j->p->m, j->p->k, j->a, (size_t)j->p->k, j->bf16, j->ap);
    if (status != LK_OK) j->status = status;
}

/* a constant-B MatMul/Gemm on B packed in float32 (b_packed) or bf16 (b_bf16) */
static int matmul_packed(const lk_matmul *p, const float *a, const float *b_packed, const uint32_t *b_bf16,
                         const float *bias, float *c, lk_pool *pool) {
    if (!p || p->batch != 1 || p->m < 0 || p->n < 0 || p->k < 1 || p->trans_a ||
        p->trans_b || p->bias_kind < 0 || p->bias_kind > 3 || (p->bias_kind && !bias))
        return LK_E_ARG;
    if (p->m == 0 || p->n == 0) return LK_OK;
    const int panel = 32, rows_panel = MM_ROW_PANEL;
    mm_packed_job j = {p, a, b_packed, bias, b_bf16, c, p->m, p->n, 1, NULL, LK_OK};
    int threads = lk_pool_threads(pool);
    if (threads > 1 && 2.0 * p->m * p->n * (double)p->k > 2e5) {
        /* blocks of whole 12-row x 32-column panels, cut so that the threads
         * finish together: the cut with the shortest makespan (rounds of
         * `threads` tasks times the largest task), columns before rows on a
         * tie (each task then reads only its slice of the weights) */
        int panels_n = (p->n + panel - 1) / panel, panels_m = (p->m + rows_panel - 1) / rows_panel;
        long best = -1;
        for (int nb = 1; nb <= LK_MIN(panels_n, 4 * threads); nb++)
            for (int mb = 1; mb <= LK_MIN(panels_m, 4 * threads); mb++) {
                int cols = (panels_n + nb - 1) / nb, rows = (panels_m + mb - 1) / mb;
                long tasks = (long)((panels_n + cols - 1) / cols) * ((panels_m + rows - 1) / rows);
                long makespan = (tasks + threads - 1) / threads * (long)cols * rows;
                if (best < 0 || makespan < best) {
                    best = makespan;
                    j.n_block = cols * panel;
                    j.m_block = rows * rows_panel;
                }
            }
    }
    j.n_blocks = (p->n + j.n_block - 1) / j.n_block;
    int m_blocks = (p->m + j.m_block - 1) / j.m_block;
    if (j.n_blocks > 1 && b_bf16 && !lk_bf16_amx()) {
        /* several tasks multiply the same rows: A is rounded and packed once, by all threads, instead of by each
         * task (a ViT's 197 x 768 A packed twice on 2 threads took ~7% of its MLP's second product); float32
         * products read A in place (lk_gemm_packed_b_rows) */
        int bf16 = b_bf16 != NULL, panels = (p->m + rows_panel - 1) / rows_panel;
        pack_a_job pack = {p, a, bf16, NULL, (int)lk_task_count(pool, (size_t)panels, 2), panels, LK_OK};
        if (!(pack.ap = lk_scratch(4, lk_gemm_packed_a_bytes(p->m, p->k, bf16)))) return LK_E_NOMEM;
        lk_parallel_for(pool, (size_t)pack.tasks, pack_a_task, &pack);
        if (pack.status != LK_OK) return pack.status;
        j.a_packed = pack.ap;
    }
    lk_parallel_for(pool, (size_t)m_blocks * j.n_blocks, mm_packed_task, &j);
    return j.status;
}

int lk_matmul_packed_f32(const lk_matmul *p, const float *a, const float *b_packed, const float *bias, float *c,
                         lk_pool *pool) {
    if (!lk_conv_packed_available()) return LK_E_ARG;
    return matmul_packed(p, a, b_packed, NULL, bias, c, pool);
}

int lk_matmul_packed_bf16(const lk_matmul *p, const float *a, const uint32_t *b_packed, const float *bias, float *c,
                          lk_pool *pool) {
    if (!lk_bf16_available()) return LK_E_ARG;
    return matmul_packed(p, a, NULL, b_packed, bias, c, pool);
}
