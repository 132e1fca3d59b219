/*
 * bf16 convolution on AMX tiles (Intel Sapphire Rapids and later: AMX-TILE + AMX-BF16).
 *
 * The same GEMM as the AVX512_BF16 packed convolution (conv_avx512.c), C[m, p] = sum_k W[m, k] * X[k, p] per
 * image and group, with both operands as bf16 pairs along k and float32 accumulation, but multiplied by
 * TDPBF16PS: one instruction takes a 16 x 16 float32 tile C, a 16-row x 16-pair tile A and a 16-pair x
 * 16-column tile B, 8,192 multiply-adds where VDPBF16PS does 32.  A block of C is 32 output channels x 32
 * positions, four C tiles (tmm0-3) fed by two weight tiles (tmm4-5) and two input tiles (tmm6-7) per 16 pairs
 * of k.
 *
 * Layouts (k in pairs, padded with zero pairs to whole tiles of 16 so no tile reads past its operand):
 *  - weights, packed once (lk_conv_pack_weights_bf16 where lk_bf16_amx()): per group, per 16-row panel, per
 *    16 pairs of k, a 16 x 16 tile of pairs, row-major: a tile load is 1 KB of consecutive bytes;
 *  - input, packed per task (lk_conv_pack_input_bf16): 32-position panels [kp16][32] pairs, as the
 *    AVX512_BF16 kernel reads them, which is already AMX's B layout (a row holds the pair of one k step for 16
 *    positions); the two 16-column halves are the two B tiles, 128 bytes per row apart.
 * The constant-B matrix product (MatMul/Gemm weights) uses the same blocks with the roles turned: A the
 * activation rows, rounded per task into rows of pairs (lda = the padded pairs of a row), B the weights packed
 * once into 32-column pair panels [kp16][32] (lk_gemm_pack_b_bf16 where lk_bf16_amx(); lk_gemm_amx_rows).
 * A finished block is stored to a 32 x 32 float buffer and written out with the bias, residual and clamp by
 * lk_store_run, as the AVX-512 kernels' edge tiles are.
 *
 * The OS must grant a process the tile state: lk_bf16_amx() asks Linux once (arch_prctl
 * ARCH_REQ_XCOMP_PERM) and says whether this library uses AMX; LITERT_CPU_AMX=0 in the environment declines it
 * (the AVX512_BF16 kernels run instead).  The answer is fixed for the process, and with it the packed layout.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lk_internal.h"

#define TILE_PAIRS 16 /* pairs of k per tile row: 64 bytes */
#define TILE_ROWS 16
#define BLOCK 32       /* rows and columns of C per micro-kernel call */
#define TILE_WORDS (TILE_ROWS * TILE_PAIRS)
#define TILE_POSITIONS 256 /* input positions a task packs, at most */
#define SHARED_WORDS ((size_t)1 << 24) /* packed input shared among tasks: at most 64 MB */

/* k in pairs, rounded up to whole tiles */
static int pairs_padded(int k) { return ((k + 1) / 2 + TILE_PAIRS - 1) / TILE_PAIRS * TILE_PAIRS; }

size_t lk_conv_packed_amx_pairs(int m, int k, int groups) {
    if (m <= 0 || k <= 0 || groups <= 0 || m % groups) return 0;
    size_t panels = (size_t)(m / groups + TILE_ROWS - 1) / TILE_ROWS;
    return (size_t)groups * panels * (size_t)pairs_padded(k) * TILE_ROWS;
}

/* the bf16 pair (w[row][2q], w[row][2q + 1]) of group g's [mg][k] weights, zero past the rows or k */
static uint32_t weight_pair(const float *w, int g, int mg, int row, int k, int q) {
    if (row >= mg || 2 * q >= k) return 0;
    const float *r = w + ((size_t)g * mg + row) * k;
    return lk_bf16_pair(r[2 * q], 2 * q + 1 < k ? r[2 * q + 1] : 0.0f);
}

void lk_conv_pack_weights_amx(const float *w, int m, int k, int groups, uint32_t *out) {
    int mg = m / groups, panels = (mg + TILE_ROWS - 1) / TILE_ROWS, kblocks = pairs_padded(k) / TILE_PAIRS;
    for (int g = 0; g < groups; g++)
        for (int pm = 0; pm < panels; pm++)
            for (int kb = 0; kb < kblocks; kb++)
                for (int r = 0; r < TILE_ROWS; r++)
                    for (int q = 0; q < TILE_PAIRS; q++)
                        *out++ = weight_pair(w, g, mg, pm * TILE_ROWS + r, k, kb * TILE_PAIRS + q);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AMX_TARGET "amx-tile,amx-bf16,avx512f"
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int amx_usable;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

/* CPUID says AMX-TILE and AMX-BF16, the OS has enabled the tile state in XCR0, and Linux grants it to us */
static void amx_probe(void) {
    const char *env = getenv("LITERT_CPU_AMX");
    if ((env && strcmp(env, "0") == 0) || !lk_bf16_available()) return;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) || !(d & (1u << 22))) return;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return; /* OSXSAVE: xgetbv is allowed */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return; /* XTILECFG and XTILEDATA */
    amx_usable = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

int lk_bf16_amx(void) {
    pthread_once(&amx_once, amx_probe);
    return amx_usable;
}

/* the 64-byte operand of LDTILECFG */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* every tile 16 rows of 64 bytes (the tile state is per thread: each task configures its own) */
__attribute__((target(AMX_TARGET))) static void configure_tiles(void) {
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) cfg.colsb[t] = 64, cfg.rows[t] = TILE_ROWS;
    /* not GCC 12's _tile_loadconfig: its asm names only the first 8 bytes as read, and the stores above went */
    __asm__ volatile("ldtilecfg %0" : : "m"(cfg));
}

__attribute__((target(AMX_TARGET))) static void release_tiles(void) { _tile_release(); }

/* ct[32][32] = the 32 x 32 block A x B over kb tiles of 16 pairs: A tiles of 16 rows `lda` bytes apart, the
 * second (rows 16-31) a_next words after the first, both a_step words further per 16 pairs; B a panel
 * [kb * 16][32] (128-byte rows).  two_a / two_b (compile-time constants in the callers) drop the tiles of a
 * block with only 16 rows or columns. */
__attribute__((target(AMX_TARGET), always_inline)) static inline void block_kernel(
    const int two_a, const int two_b, int kb, const uint32_t *a, size_t lda, size_t a_next, size_t a_step,
    const uint32_t *b, float *ct) {
    _tile_zero(0);
    if (two_b) _tile_zero(1);
    if (two_a) _tile_zero(2);
    if (two_a && two_b) _tile_zero(3);
    for (int q = 0; q < kb; q++) {
        _tile_loadd(4, a, lda);
        _tile_loadd(6, b, BLOCK * 4);
        _tile_dpbf16ps(0, 4, 6);
        if (two_b) {
            _tile_loadd(7, b + TILE_ROWS, BLOCK * 4);
            _tile_dpbf16ps(1, 4, 7);
        }
        if (two_a) {
            _tile_loadd(5, a + a_next, lda);
            _tile_dpbf16ps(2, 5, 6);
            if (two_b) _tile_dpbf16ps(3, 5, 7);
        }
        a += a_step;
        b += (size_t)TILE_PAIRS * BLOCK;
    }
    _tile_stored(0, ct, BLOCK * 4);
    if (two_b) _tile_stored(1, ct + TILE_ROWS, BLOCK * 4);
    if (two_a) _tile_stored(2, ct + TILE_ROWS * BLOCK, BLOCK * 4);
    if (two_a && two_b) _tile_stored(3, ct + TILE_ROWS * BLOCK + TILE_ROWS, BLOCK * 4);
}

#define LK_AMX_BLOCK(NAME, TWO_A, TWO_B)                                                                        \
    __attribute__((target(AMX_TARGET))) static void NAME(int kb, const uint32_t *a, size_t lda, size_t a_next, \
                                                         size_t a_step, const uint32_t *b, float *ct) {        \
        block_kernel(TWO_A, TWO_B, kb, a, lda, a_next, a_step, b, ct);                                         \
    }
LK_AMX_BLOCK(block_32x32, 1, 1)
LK_AMX_BLOCK(block_32x16, 1, 0)
LK_AMX_BLOCK(block_16x32, 0, 1)
LK_AMX_BLOCK(block_16x16, 0, 0)
#undef LK_AMX_BLOCK

/* the block kernel for `rows` x `cols` (each at most 32) valid values: tiles wholly past them are skipped */
static void amx_block(int rows, int cols, int kb, const uint32_t *a, size_t lda, size_t a_next, size_t a_step,
                      const uint32_t *b, float *ct) {
    if (rows > TILE_ROWS)
        (cols > TILE_ROWS ? block_32x32 : block_32x16)(kb, a, lda, a_next, a_step, b, ct);
    else
        (cols > TILE_ROWS ? block_16x32 : block_16x16)(kb, a, lda, a_next, a_step, b, ct);
}
#else
int lk_bf16_amx(void) { return 0; }
static void configure_tiles(void) {}
static void release_tiles(void) {}
static void amx_block(int rows, int cols, int kb, const uint32_t *a, size_t lda, size_t a_next, size_t a_step,
                      const uint32_t *b, float *ct) {
    (void)rows, (void)cols, (void)kb, (void)a, (void)lda, (void)a_next, (void)a_step, (void)b, (void)ct;
}
#endif

typedef struct {
    const lk_conv2d *p;
    const float *x, *bias, *z;
    const uint32_t *w;
    float *y;
    int kp, kblocks, mg, panels, blocks; /* k in padded pairs and in tiles; 16-row panels, 32-row blocks */
    int tile, tiles, chunks, chunk_blocks; /* positions per task, tiles per image, block chunks per tile */
    uint32_t *shared;                      /* every tile's packed input, when its blocks are split (chunks > 1) */
    float lo, hi;
    lk_activation after;
    int status;
} amx_conv_job;

/* the packed input of tile `tile` of image (batch x groups) `image` in the shared buffer */
static uint32_t *shared_tile(const amx_conv_job *j, size_t image, int tile) {
    return j->shared + (image * (size_t)j->tiles + (size_t)tile) * (size_t)j->tile * j->kp;
}

/* Task t of the packing pass: one 32-position panel of one tile into the shared buffer. */
static void amx_pack_task(void *arg, size_t t) {
    amx_conv_job *j = arg;
    const lk_conv2d *p = j->p;
    int panels = j->tile / BLOCK, pn = (int)(t % (size_t)panels);
    t /= (size_t)panels;
    int tile = (int)(t % (size_t)j->tiles);
    size_t image = t / (size_t)j->tiles;
    int first = tile * j->tile + pn * BLOCK, count = LK_MIN(BLOCK, p->oh * p->ow - first);
    if (count <= 0) return; /* past the last tile's positions */
    float *rows = lk_scratch(0, lk_conv_pack_bf16_rows_floats(p) * sizeof(float));
    if (!rows) {
        j->status = LK_E_NOMEM;
        return;
    }
    const float *xg = lk_group_input(p, j->x, image / (size_t)p->groups, image % (size_t)p->groups);
    lk_conv_pack_input_bf16(p, xg, first, count, j->kp, shared_tile(j, image, tile) + (size_t)pn * j->kp * BLOCK, rows);
}

/* Task t: one tile of positions of one image and group, packed once, times one chunk of its 32-row blocks. */
static void amx_conv_task(void *arg, size_t t) {
    amx_conv_job *j = arg;
    const lk_conv2d *p = j->p;
    int positions = p->oh * p->ow;
    int chunk = (int)(t % (size_t)j->chunks);
    t /= (size_t)j->chunks;
    int tile = (int)(t % (size_t)j->tiles);
    size_t image = t / (size_t)j->tiles; /* batch x groups */
    int b = (int)(image / (size_t)p->groups), g = (int)(image % (size_t)p->groups);
    int first = tile * j->tile, count = LK_MIN(j->tile, positions - first);
    int blk0 = chunk * j->chunk_blocks, blk1 = LK_MIN(j->blocks, blk0 + j->chunk_blocks);
    if (count <= 0 || blk0 >= blk1) return;
    int panels_n = (count + BLOCK - 1) / BLOCK;
    float *ct = lk_scratch(1, (size_t)BLOCK * BLOCK * sizeof(float));
    uint32_t *packed = j->shared ? shared_tile(j, image, tile)
                                 : lk_scratch(2, (size_t)panels_n * j->kp * BLOCK * sizeof(uint32_t));
    float *rows = j->shared ? NULL : lk_scratch(0, lk_conv_pack_bf16_rows_floats(p) * sizeof(float));
    if (!packed || !ct || (!j->shared && !rows)) {
        j->status = LK_E_NOMEM;
        return;
    }
    if (!j->shared)
        lk_conv_pack_input_bf16(p, lk_group_input(p, j->x, (size_t)b, (size_t)g), first, count, j->kp, packed, rows);
    configure_tiles();
    const uint32_t *wg = j->w + (size_t)g * j->panels * j->kp * TILE_ROWS;
    for (int blk = blk0; blk < blk1; blk++) {
        int m0 = blk * BLOCK, valid = LK_MIN(BLOCK, j->mg - m0), oc = g * j->mg + m0;
        const uint32_t *a = wg + (size_t)(2 * blk) * j->kp * TILE_ROWS;
        for (int pn = 0; pn < panels_n; pn++) {
            int c0 = pn * BLOCK, cols = LK_MIN(BLOCK, count - c0);
            amx_block(valid, cols, j->kblocks, a, TILE_PAIRS * 4, (size_t)j->kp * TILE_ROWS, TILE_WORDS,
                      packed + (size_t)pn * j->kp * BLOCK, ct);
            for (int r = 0; r < valid; r++) {
                size_t at = ((size_t)b * p->m + oc + r) * positions + first + c0;
                lk_store_run(j->y + at, ct + (size_t)r * BLOCK, cols, j->bias ? j->bias[oc + r] : 0.0f,
                             j->z ? j->z + at : NULL, j->lo, j->hi);
                if (j->after.kind != LK_ACT_NONE) lk_activate(j->y + at, (size_t)cols, &j->after);
            }
        }
    }
    release_tiles();
}

int lk_gemm_amx_pairs(int k) { return pairs_padded(k); }

int lk_gemm_amx_rows(int rows, int cols, int k, const float *a, size_t lda, const uint32_t *b, float *c, size_t ldc) {
    if (rows <= 0 || cols <= 0) return LK_OK;
    int kp = pairs_padded(k), kb = kp / TILE_PAIRS, padded_rows = (LK_MIN(rows, BLOCK) + TILE_ROWS - 1) / TILE_ROWS * TILE_ROWS;
    uint32_t *ap = lk_scratch(2, (size_t)padded_rows * kp * sizeof(uint32_t));
    float *ct = lk_scratch(1, (size_t)BLOCK * BLOCK * sizeof(float));
    if (!ap || !ct) return LK_E_NOMEM;
    configure_tiles();
    for (int m0 = 0; m0 < rows; m0 += BLOCK) {
        /* this block's rows as pairs, kp apart; the pairs past k and the rows past `rows` zero (a tile reads them) */
        int valid = LK_MIN(BLOCK, rows - m0), in_tiles = (valid + TILE_ROWS - 1) / TILE_ROWS * TILE_ROWS;
        for (int r = 0; r < in_tiles; r++) {
            uint32_t *row = ap + (size_t)r * kp;
            int filled = r < valid ? (k + 1) / 2 : 0;
            if (filled) lk_row_to_bf16_pairs(a + (size_t)(m0 + r) * lda, k, row);
            memset(row + filled, 0, (size_t)(kp - filled) * sizeof(uint32_t));
        }
        for (int n0 = 0; n0 < cols; n0 += BLOCK) {
            int nc = LK_MIN(BLOCK, cols - n0);
            amx_block(valid, nc, kb, ap, (size_t)kp * 4, (size_t)TILE_ROWS * kp, TILE_PAIRS, b + (size_t)n0 * kp, ct);
            for (int r = 0; r < valid; r++)
                memcpy(c + (size_t)(m0 + r) * ldc + n0, ct + (size_t)r * BLOCK, (size_t)nc * sizeof(float));
        }
    }
    release_tiles();
    return LK_OK;
}

int lk_conv2d_amx_bf16(const lk_conv2d *p, const float *x, const uint32_t *w_packed, const float *bias,
                       const float *z, float *y, lk_pool *pool) {
    if (!lk_bf16_amx()) return LK_E_ARG;
    if (!p || p->groups < 1 || p->c % p->groups || p->m % p->groups) return LK_E_ARG;
    int positions = p->oh * p->ow;
    if (p->n == 0 || positions == 0) return LK_OK;
    amx_conv_job j = {.p = p, .x = x, .bias = bias, .z = z, .w = w_packed, .y = y};
    j.kp = pairs_padded(p->c / p->groups * p->kh * p->kw);
    j.kblocks = j.kp / TILE_PAIRS;
    j.mg = p->m / p->groups;
    j.panels = (j.mg + TILE_ROWS - 1) / TILE_ROWS;
    j.blocks = (j.mg + BLOCK - 1) / BLOCK;
    lk_split_activation(&p->act, &j.lo, &j.hi, &j.after);
    /* tiles of whole 32-position panels, narrower while there are fewer than three per thread; then, for a
     * small image (7x7: two panels), each tile's blocks of output channels split among several tasks, each
     * packing the tile's input itself */
    int threads = lk_pool_threads(pool);
    size_t images = (size_t)p->n * p->groups;
    int whole = (positions + BLOCK - 1) / BLOCK * BLOCK;
    j.tile = LK_MIN(TILE_POSITIONS, whole);
    while (j.tile > BLOCK && threads > 1 && images * (size_t)((positions + j.tile - 1) / j.tile) < (size_t)threads * 3)
        j.tile = j.tile / 2 / BLOCK * BLOCK;
    j.tiles = (positions + j.tile - 1) / j.tile;
    size_t tile_tasks = images * (size_t)j.tiles;
    j.chunks = 1;
    if (threads > 1 && tile_tasks < (size_t)threads * 4)
        j.chunks = (int)LK_MIN((size_t)j.blocks, ((size_t)threads * 4 + tile_tasks - 1) / tile_tasks);
    j.chunk_blocks = (j.blocks + j.chunks - 1) / j.chunks;
    j.chunks = (j.blocks + j.chunk_blocks - 1) / j.chunk_blocks;
    size_t shared_words = tile_tasks * (size_t)j.tile * j.kp;
    if (j.chunks > 1 && shared_words <= SHARED_WORDS) {
        /* the tasks of a tile share its packed input, packed once by all threads, instead of once per task
         * (a 512 -> 512 3x3 conv on 7x7: 590 KB of pairs, in eight tasks) */
        if (!(j.shared = lk_scratch(4, shared_words * sizeof(uint32_t)))) return LK_E_NOMEM;
        lk_parallel_for(pool, tile_tasks * (size_t)(j.tile / BLOCK), amx_pack_task, &j);
        if (j.status != LK_OK) return j.status;
    }
    lk_parallel_for(pool, tile_tasks * (size_t)j.chunks, amx_conv_task, &j);
    return j.status;
}
