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

#include "litert_qkernels.h"
#include "lk_internal.h"

#define TILE_PAIRS 16 /* pairs of k per tile row: 64 bytes */
#define TILE_ROWS 16
#define BLOCK 32       /* rows and columns of C per micro-kernel call */
#define TILE_WORDS (TILE_ROWS * TILE_PAIRS)
#define TILE_POSITIONS 256 /* input positions a task packs, at most */
#define SHARED_WORDS ((size_t)1 << 24) /* packed input shared among tasks: at most 64 MB */
#define ROUND_WORDS 4096 /* pair-plane words a rounding task writes, at least */

/* k in pairs, rounded up to whole tiles */
static int pairs_padded(int k) { return ((k + 1) / 2 + TILE_PAIRS - 1) / TILE_PAIRS * TILE_PAIRS; }

/* Convolutions of at least this many input channels per group read their input straight from the image
 * (conv_direct below), fewer (a 3-channel stem) im2col it into panels: the direct form multiplies each tap's
 * channel pairs as tiles of their own, which few channels would leave mostly empty. */
#define DIRECT_CHANNELS 16
#define MAX_TAPS 64

static int direct_form(int cg, int taps) { return cg >= DIRECT_CHANNELS && taps <= MAX_TAPS; }

/* The direct form's channel pairs per tap, ceil(cg / 2), are multiplied in ceil(pairs / 16) tiles of tile_k
 * pairs each, as even as they go (34 channels: two tiles of 9 pairs, one zero pair, where tiles of 16 would
 * round and read 15 zero planes); channel_pairs counts the pairs with that padding. */
static int tile_k(int cg, int taps) {
    if (!direct_form(cg, taps)) return TILE_PAIRS;
    int cp = (cg + 1) / 2, tiles = (cp + TILE_PAIRS - 1) / TILE_PAIRS;
    return (cp + tiles - 1) / tiles;
}

static int channel_pairs(int cg) {
    int cp = (cg + 1) / 2, tiles = (cp + TILE_PAIRS - 1) / TILE_PAIRS;
    return tiles * ((cp + tiles - 1) / tiles);
}

/* pairs of one weight row in the layout: taps x channel pairs (direct), or k's pairs padded to whole tiles */
static int row_pairs(int cg, int taps) { return direct_form(cg, taps) ? taps * channel_pairs(cg) : pairs_padded(cg * taps); }

size_t lk_conv_packed_amx_pairs(int m, int k, int taps, int groups) {
    if (m <= 0 || k <= 0 || taps <= 0 || k % taps || groups <= 0 || m % groups) return 0;
    size_t panels = (size_t)(m / groups + TILE_ROWS - 1) / TILE_ROWS;
    return (size_t)groups * panels * (size_t)row_pairs(k / taps, taps) * TILE_ROWS;
}

/* the bf16 pair (w[row][kk], w[row][kk + step]) of group g's [mg][k] weights, zero past the rows or k; the
 * second value zero when `second` is false (an odd count's last pair) */
static uint32_t weight_pair(const float *w, int g, int mg, int row, int k, int kk, int step, int second) {
    if (row >= mg || kk >= k) return 0;
    const float *r = w + ((size_t)g * mg + row) * k;
    return lk_bf16_pair(r[kk], second ? r[kk + step] : 0.0f);
}

/* Per group, per 16-row panel, tiles of 16 rows x tile_k pairs, row-major, in the order the kernels read them:
 * direct, per tap per block of channel pairs (pair = channels 2c and 2c + 1 at that tap); else per 16 pairs of
 * k (k = channel x tap, as im2col lays it out). */
void lk_conv_pack_weights_amx(const float *w, int m, int k, int taps, int groups, uint32_t *out) {
    int mg = m / groups, panels = (mg + TILE_ROWS - 1) / TILE_ROWS, cg = k / taps, kt = tile_k(cg, taps);
    int direct = direct_form(cg, taps), cp = channel_pairs(cg), blocks = direct ? cp / kt : pairs_padded(k) / kt;
    for (int g = 0; g < groups; g++)
        for (int pm = 0; pm < panels; pm++)
            for (int tap = 0; tap < (direct ? taps : 1); tap++)
                for (int blk = 0; blk < blocks; blk++)
                    for (int r = 0; r < TILE_ROWS; r++)
                        for (int q = 0; q < kt; q++) {
                            int row = pm * TILE_ROWS + r, pair = blk * kt + q;
                            if (direct) /* channels 2 * pair and 2 * pair + 1 at this tap */
                                *out++ = 2 * pair < cg ? weight_pair(w, g, mg, row, k, 2 * pair * taps + tap, taps,
                                                                     2 * pair + 1 < cg)
                                                       : 0u;
                            else
                                *out++ = weight_pair(w, g, mg, row, k, 2 * pair, 1, 2 * pair + 1 < k);
                        }
}

/* the operands of one block_kernel call (the kernel, below) */
typedef struct {
    int taps, steps, kt;
    const uint32_t *a;
    size_t a_step, a_next, lda;
    const uint32_t *b;
    size_t ldb, b_step;
    const int *tap_off;
} block_operands;

/* the one tap of a product over plain k */
static const int ONE_TAP[1] = {0};

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AMX_TARGET "amx-tile,amx-bf16,avx512f"
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int amx_usable, amx_int8_usable;
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
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) amx_int8_usable = amx_usable && (d & (1u << 25)); /* AMX-INT8 */
}

int lk_int8_amx(void) {
    pthread_once(&amx_once, amx_probe);
    return amx_int8_usable;
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

/* C tiles (tmm0-3) 16 x 16 floats; A tiles (tmm4-5) 16 rows of kt pairs, B tiles (tmm6-7) kt rows of 16 pairs
 * (the tile state is per thread: each task configures its own) */
__attribute__((target(AMX_TARGET))) static void configure_tiles(int kt) {
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) cfg.colsb[t] = 64, cfg.rows[t] = TILE_ROWS;
    cfg.colsb[4] = cfg.colsb[5] = (uint16_t)(kt * 4);
    cfg.rows[6] = cfg.rows[7] = (uint8_t)kt;
    /* not GCC 12's _tile_loadconfig: its asm names only the first 8 bytes as read, and the stores above went */
    __asm__ volatile("ldtilecfg %0" : : "m"(cfg));
}

__attribute__((target(AMX_TARGET))) static void release_tiles(void) { _tile_release(); }

/* AddressSanitizer does not see inside the tile loads and stores (inline assembly): in a sanitized build every
 * tile's rows are touched first, their first and last bytes, by plain reads it checks. */
#if defined(__SANITIZE_ADDRESS__)
static void touch_tile(const void *base, int rows, int row_bytes, size_t stride) {
    const volatile unsigned char *b = base;
    for (int r = 0; r < rows; r++) (void)b[(size_t)r * stride], (void)b[(size_t)r * stride + (size_t)row_bytes - 1];
}
#else
#define touch_tile(base, rows, row_bytes, stride) ((void)0)
#endif

/* The C tiles of a 32 x 32 block (tmm0: rows 0-15 x columns 0-15, tmm1: columns 16-31, tmm2 and tmm3: rows
 * 16-31), zeroed, and stored into ct[32][32] (4-byte values, float32 or int32); two_a / two_b say whether the
 * block has a second row / column half (compile-time constants in the callers) */
__attribute__((target("amx-tile"), always_inline)) static inline void zero_c_tiles(const int two_a, const int two_b) {
    _tile_zero(0);
    if (two_b) _tile_zero(1);
    if (two_a) _tile_zero(2);
    if (two_a && two_b) _tile_zero(3);
}

__attribute__((target("amx-tile"), always_inline)) static inline void store_c_tiles(const int two_a, const int two_b,
                                                                                   void *ct) {
    char *c = ct;
    touch_tile(c, BLOCK, BLOCK * 4, BLOCK * 4);
    _tile_stored(0, c, BLOCK * 4);
    if (two_b) _tile_stored(1, c + TILE_ROWS * 4, BLOCK * 4);
    if (two_a) _tile_stored(2, c + TILE_ROWS * BLOCK * 4, BLOCK * 4);
    if (two_a && two_b) _tile_stored(3, c + (TILE_ROWS * BLOCK + TILE_ROWS) * 4, BLOCK * 4);
}

/* ct[32][32] = a 32 x 32 block of C: per tap, per step of kt pairs of k, A the next 16 x kt tile (rows `lda`
 * bytes apart; a_step words on per step; rows 16-31 a_next words after), B kt rows of 16 pairs `ldb` bytes apart
 * at the tap's offset from b, b_step words on per step.  The direct convolution's taps and channel pairs (B rows:
 * the pair planes, one plane apart), or one tap over k (the im2col conv and the GEMM: B a [kp][32] panel).
 * two_a / two_b (compile-time constants in the callers) drop the tiles of a block with only 16 rows or columns. */
__attribute__((target(AMX_TARGET), always_inline)) static inline void block_kernel(
    const int two_a, const int two_b, int taps, int steps, int kt, const uint32_t *a, size_t a_step, size_t a_next,
    size_t lda, const uint32_t *b, size_t ldb, size_t b_step, const int *tap_off, float *ct) {
    (void)kt; /* the tiles' shape is configured (configure_tiles); only the sanitized build's touches read it */
    zero_c_tiles(two_a, two_b);
    for (int tap = 0; tap < taps; tap++) {
        const uint32_t *bt = b + tap_off[tap];
        for (int c = 0; c < steps; c++) {
            touch_tile(a, TILE_ROWS, kt * 4, lda);
            touch_tile(bt, kt, two_b ? 128 : 64, ldb);
            _tile_loadd(4, a, lda);
            _tile_loadd(6, bt, ldb);
            _tile_dpbf16ps(0, 4, 6);
            if (two_b) {
                _tile_loadd(7, bt + TILE_ROWS, ldb);
                _tile_dpbf16ps(1, 4, 7);
            }
            if (two_a) {
                touch_tile(a + a_next, TILE_ROWS, kt * 4, lda);
                _tile_loadd(5, a + a_next, lda);
                _tile_dpbf16ps(2, 5, 6);
                if (two_b) _tile_dpbf16ps(3, 5, 7);
            }
            a += a_step;
            bt += b_step;
        }
    }
    store_c_tiles(two_a, two_b, ct);
}


#define LK_AMX_BLOCK(NAME, TWO_A, TWO_B)                                                                      \
    __attribute__((target(AMX_TARGET))) static void NAME(const block_operands *o, float *ct) {              \
        block_kernel(TWO_A, TWO_B, o->taps, o->steps, o->kt, o->a, o->a_step, o->a_next, o->lda, o->b, o->ldb, \
                     o->b_step, o->tap_off, ct);                                                               \
    }
LK_AMX_BLOCK(block_32x32, 1, 1)
LK_AMX_BLOCK(block_32x16, 1, 0)
LK_AMX_BLOCK(block_16x32, 0, 1)
LK_AMX_BLOCK(block_16x16, 0, 0)
#undef LK_AMX_BLOCK

/* the block kernel for `rows` x `cols` (each at most 32) valid values: tiles wholly past them are skipped */
static void amx_block(int rows, int cols, const block_operands *o, float *ct) {
    if (rows > TILE_ROWS)
        (cols > TILE_ROWS ? block_32x32 : block_32x16)(o, ct);
    else
        (cols > TILE_ROWS ? block_16x32 : block_16x16)(o, ct);
}

/* The int8 block: int32 ct[32][32] (row = position, column = output channel) = the sum over taps and 64-byte
 * steps of k of A (uint8: 16 positions, rows lda bytes apart, the second 16 rows a_next bytes on) times B
 * (int8: 16 quads x 16 channels x 4, rows 64 bytes apart; channels 16-31 b_next bytes on) by TDPBUSD.  The
 * tile shapes are the bf16 kernel's (16 rows of 64 bytes everywhere): configure_tiles(TILE_PAIRS). */
#define AMX_INT8_TARGET "amx-tile,amx-int8,avx512f"

__attribute__((target(AMX_INT8_TARGET), always_inline)) static inline void int8_block_kernel(
    const int two_a, const int two_b, const lk_amx_int8_operands *o, int32_t *ct) {
    zero_c_tiles(two_a, two_b);
    for (int tap = 0; tap < o->taps; tap++) {
        const uint8_t *a = o->a + o->tap_off[tap];
        const int8_t *b = o->b + (size_t)tap * o->b_tap;
        for (int s = 0; s < o->steps; s++) {
            touch_tile(a, TILE_ROWS, 64, o->lda);
            touch_tile(b, TILE_ROWS, 64, 64);
            _tile_loadd(4, a, o->lda);
            _tile_loadd(6, b, 64);
            _tile_dpbusd(0, 4, 6);
            if (two_b) {
                touch_tile(b + o->b_next, TILE_ROWS, 64, 64);
                _tile_loadd(7, b + o->b_next, 64);
                _tile_dpbusd(1, 4, 7);
            }
            if (two_a) {
                touch_tile(a + o->a_next, TILE_ROWS, 64, o->lda);
                _tile_loadd(5, a + o->a_next, o->lda);
                _tile_dpbusd(2, 5, 6);
                if (two_b) _tile_dpbusd(3, 5, 7);
            }
            a += 64;
            b += TILE_ROWS * 64;
        }
    }
    store_c_tiles(two_a, two_b, ct);
}

#define LK_AMX_INT8_BLOCK(NAME, TWO_A, TWO_B)                                                                   \
    __attribute__((target(AMX_INT8_TARGET))) static void NAME(const lk_amx_int8_operands *o, int32_t *ct) {     \
        int8_block_kernel(TWO_A, TWO_B, o, ct);                                                                 \
    }
LK_AMX_INT8_BLOCK(int8_block_32x32, 1, 1)
LK_AMX_INT8_BLOCK(int8_block_32x16, 1, 0)
LK_AMX_INT8_BLOCK(int8_block_16x32, 0, 1)
LK_AMX_INT8_BLOCK(int8_block_16x16, 0, 0)
#undef LK_AMX_INT8_BLOCK

void lk_amx_int8_block(int rows, int cols, const lk_amx_int8_operands *o, int32_t *ct) {
    if (rows > TILE_ROWS)
        (cols > TILE_ROWS ? int8_block_32x32 : int8_block_32x16)(o, ct);
    else
        (cols > TILE_ROWS ? int8_block_16x32 : int8_block_16x16)(o, ct);
}

void lk_amx_int8_begin(void) { configure_tiles(TILE_PAIRS); }

void lk_amx_int8_end(void) { release_tiles(); }

/* The 32 columns of a finished row of C (the flat positions of one block) to the output: the columns that are
 * output positions (mask bits: ox < ow) are consecutive output positions, so bias, residual and clamp run on
 * the whole row and the kept lanes are compressed into place (one call per row, where a store per output-row
 * run took 5 per row on a 7x7 map) */
__attribute__((target("avx512f"))) static void store_compressed(float *out, const float *acc, const uint16_t keep[2],
                                                                 float bias, const float *z, float lo, float hi) {
    const __m512 b = _mm512_set1_ps(bias), l = _mm512_set1_ps(lo), h = _mm512_set1_ps(hi);
    for (int half = 0; half < 2; half++) {
        if (!keep[half]) continue;
        __m512 v = _mm512_add_ps(_mm512_loadu_ps(acc + 16 * half), b);
        if (z) v = _mm512_add_ps(v, _mm512_maskz_expandloadu_ps(keep[half], z));
        _mm512_mask_compressstoreu_ps(out, keep[half], _mm512_min_ps(_mm512_max_ps(v, l), h));
        int n = __builtin_popcount(keep[half]);
        out += n;
        if (z) z += n;
    }
}
#else
static void store_compressed(float *out, const float *acc, const uint16_t keep[2], float bias, const float *z,
                             float lo, float hi) {
    (void)out, (void)acc, (void)keep, (void)bias, (void)z, (void)lo, (void)hi;
}
int lk_bf16_amx(void) { return 0; }
int lk_int8_amx(void) { return 0; }
void lk_amx_int8_block(int rows, int cols, const lk_amx_int8_operands *o, int32_t *ct) {
    (void)rows, (void)cols, (void)o, (void)ct;
}
void lk_amx_int8_begin(void) {}
void lk_amx_int8_end(void) {}
static void configure_tiles(int kt) { (void)kt; }
static void release_tiles(void) {}
static void amx_block(int rows, int cols, const block_operands *o, float *ct) { (void)rows, (void)cols, (void)o, (void)ct; }
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
    configure_tiles(TILE_PAIRS);
    const uint32_t *wg = j->w + (size_t)g * j->panels * j->kp * TILE_ROWS;
    for (int blk = blk0; blk < blk1; blk++) {
        int m0 = blk * BLOCK, valid = LK_MIN(BLOCK, j->mg - m0), oc = g * j->mg + m0;
        const uint32_t *a = wg + (size_t)(2 * blk) * j->kp * TILE_ROWS;
        for (int pn = 0; pn < panels_n; pn++) {
            int c0 = pn * BLOCK, cols = LK_MIN(BLOCK, count - c0);
            const block_operands o = {1, j->kblocks, TILE_PAIRS, a, TILE_WORDS, (size_t)j->kp * TILE_ROWS,
                                      TILE_PAIRS * 4, packed + (size_t)pn * j->kp * BLOCK, BLOCK * 4,
                                      (size_t)TILE_PAIRS * BLOCK, ONE_TAP};
            amx_block(valid, cols, &o, ct);
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
    configure_tiles(TILE_PAIRS);
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
            const block_operands o = {1, kb, TILE_PAIRS, ap, TILE_PAIRS, (size_t)TILE_ROWS * kp, (size_t)kp * 4,
                                      b + (size_t)n0 * kp, BLOCK * 4, (size_t)TILE_PAIRS * BLOCK, ONE_TAP};
            amx_block(valid, nc, &o, ct);
            lk_copy_short_rows(c + (size_t)m0 * ldc + n0, ldc, ct, BLOCK, valid, nc);
        }
    }
    release_tiles();
    return LK_OK;
}

/* Tasks of a job: tiles of up to TILE_POSITIONS positions (whole 32-position panels) per image, times chunks of
 * the 32-row blocks.  The blocks are split first, up to four tasks per thread: a task then writes whole output
 * rows, where tiles narrower than a row had the threads writing the two ends of one cache line (a 576 -> 96
 * 1x1 conv on 14x14, 32-position tiles: 73 us on two threads against 41 on one).  Only when the blocks are too
 * few for three tasks per thread are the tiles made narrower. */
static void partition(int positions, size_t images, int blocks, int threads, int *tile, int *tiles, int *chunks,
                      int *chunk_blocks) {
    int whole = (positions + BLOCK - 1) / BLOCK * BLOCK;
    *tile = LK_MIN(TILE_POSITIONS, whole);
    for (;;) {
        *tiles = (positions + *tile - 1) / *tile;
        size_t tile_tasks = images * (size_t)*tiles;
        *chunks = 1;
        if (threads > 1 && tile_tasks < (size_t)threads * 4)
            *chunks = (int)LK_MIN((size_t)blocks, ((size_t)threads * 4 + tile_tasks - 1) / tile_tasks);
        *chunk_blocks = (blocks + *chunks - 1) / *chunks;
        *chunks = (blocks + *chunk_blocks - 1) / *chunk_blocks;
        if (*tile <= BLOCK || threads <= 1 || tile_tasks * (size_t)*chunks >= (size_t)threads * 3) return;
        *tile = *tile / 2 / BLOCK * BLOCK;
    }
}

/* ------------------------------------------------------------------------
 * The direct form: no im2col.  The zero-padded input of an image and group is rounded once into pair planes,
 * one per (channel pair, phase), phase (a, b) holding padded rows sh*i + a and columns sw*j + b (the flat-rows
 * scheme of conv_avx512.c): tap (ki, kj) reads phase (ki*dh % sh, kj*dw % sw) at row oy + ki*dh/sh and column
 * ox + kj*dw/sw, so output (oy, ox) is flat position q = oy*wq + ox of a plane wq = ow + (kw-1)*dw/sw wide,
 * and for one tap, kt channel pairs and 16 consecutive positions the B tile is kt plane rows, one plane apart,
 * loaded where they lie.  The wq - ow columns past each output row are computed and dropped.
 */
typedef struct {
    const lk_conv2d *p;
    const float *x, *bias, *z;
    const uint32_t *w;
    float *y;
    int mg, blocks, row_words, cp, kt, taps, phases, wq, hq, flat;
    size_t plane;        /* words per (channel pair, phase) plane, slack included */
    uint32_t *planes;    /* [images][cp][phases][plane] */
    size_t image0;       /* the first image (batch x groups) in planes */
    size_t pairs_total, pairs_per_task; /* (image, channel pair) planes to round, per task of the rounding pass */
    int tile, tiles, chunks, chunk_blocks;
    int tap_off[MAX_TAPS]; /* words from a channel pair's first plane to the tap's first read */
    const float *scale, *shift; /* a pre-activation max(x * scale + shift, 0) per input channel, or NULL */
    float lo, hi;
    lk_activation after;
    int status;
} direct_job;

/* channel pair t % cp of image image0 + t / cp into its phase planes */
static void round_pair_planes(direct_job *j, size_t t) {
    const lk_conv2d *p = j->p;
    int cp = (int)(t % (size_t)j->cp), cg = p->c / p->groups;
    size_t image = j->image0 + t / (size_t)j->cp;
    uint32_t *out = j->planes + (t * (size_t)j->phases) * j->plane;
    if (2 * cp >= cg) { /* a pair past the channels: zeros, which the weights' zero pairs multiply */
        memset(out, 0, (size_t)j->phases * j->plane * sizeof(uint32_t));
        return;
    }
    size_t hw = (size_t)p->h * p->w;
    const float *x0 = lk_group_input(p, j->x, image / (size_t)p->groups, image % (size_t)p->groups) + 2 * cp * hw;
    const float *x1 = 2 * cp + 1 < cg ? x0 + hw : NULL;
    float *gathered = NULL;
    if (p->sw > 1 && !(gathered = lk_scratch(0, 2 * (size_t)j->wq * sizeof(float)))) {
        j->status = LK_E_NOMEM;
        return;
    }
    for (int a = 0; a < p->sh; a++)
        for (int b = 0; b < p->sw; b++) {
            uint32_t *plane = out + (size_t)(a * p->sw + b) * j->plane;
            /* padded column sw*jq + b is image column sw*jq + b - pad_left: those in [0, w) */
            int j0 = 0, j1 = j->wq;
            while (j0 < j->wq && p->sw * j0 + b - p->pad_left < 0) j0++;
            while (j1 > j0 && p->sw * (j1 - 1) + b - p->pad_left >= p->w) j1--;
            if (p->sh == 1 && p->sw == 1 && j0 == 0 && j1 == j->wq && j->wq == p->w) {
                /* no column padding: the plane's rows inside the image are one run of the channels' rows */
                int i0 = LK_MAX(0, p->pad_top), i1 = LK_MIN(j->hq, p->h + p->pad_top);
                memset(plane, 0, (size_t)i0 * j->wq * sizeof(uint32_t));
                const float *s0 = x0 + (size_t)(i0 - p->pad_top) * p->w;
                float pre[4];
                if (j->scale) {
                    pre[0] = j->scale[2 * cp], pre[1] = j->shift[2 * cp];
                    pre[2] = x1 ? j->scale[2 * cp + 1] : 0.0f, pre[3] = x1 ? j->shift[2 * cp + 1] : 0.0f;
                }
                lk_pair_rows_bf16(s0, x1 ? s0 + hw : NULL, (i1 - i0) * j->wq, j->scale ? pre : NULL, plane + (size_t)i0 * j->wq);
                memset(plane + (size_t)i1 * j->wq, 0, (j->plane - (size_t)i1 * j->wq) * sizeof(uint32_t));
                continue;
            }
            for (int i = 0; i < j->hq; i++) {
                uint32_t *row = plane + (size_t)i * j->wq;
                int r = p->sh * i + a - p->pad_top;
                if (r < 0 || r >= p->h || j0 >= j1) {
                    memset(row, 0, (size_t)j->wq * sizeof(uint32_t));
                    continue;
                }
                memset(row, 0, (size_t)j0 * sizeof(uint32_t));
                memset(row + j1, 0, (size_t)(j->wq - j1) * sizeof(uint32_t));
                int c0 = p->sw * j0 + b - p->pad_left, n = j1 - j0;
                const float *s0 = x0 + (size_t)r * p->w + c0, *s1 = x1 ? x1 + (size_t)r * p->w + c0 : NULL;
                if (gathered) {
                    lk_gather(gathered, s0, n, p->sw);
                    if (s1) lk_gather(gathered + j->wq, s1, n, p->sw);
                    s0 = gathered, s1 = s1 ? gathered + j->wq : NULL;
                }
                lk_pair_rows_bf16(s0, s1, n, NULL, row + j0);
            }
            memset(plane + (size_t)j->hq * j->wq, 0, (j->plane - (size_t)j->hq * j->wq) * sizeof(uint32_t));
        }
}

/* Task t of the rounding pass: channel pairs [t * pairs_per_task, ...) of all the images in planes (a 7x7
 * plane is 49 pairs: one task each would cost more in hand-offs than in rounding) */
static void direct_pairs_task(void *arg, size_t t) {
    direct_job *j = arg;
    for (size_t i = t * j->pairs_per_task; i < LK_MIN(j->pairs_total, (t + 1) * j->pairs_per_task); i++)
        round_pair_planes(j, i);
}

/* Task t: one tile of flat positions of one image, times one chunk of the 32-row blocks. */
static void direct_task(void *arg, size_t t) {
    direct_job *j = arg;
    const lk_conv2d *p = j->p;
    int chunk = (int)(t % (size_t)j->chunks);
    t /= (size_t)j->chunks;
    int tile = (int)(t % (size_t)j->tiles);
    size_t local = t / (size_t)j->tiles, image = j->image0 + local;
    int b = (int)(image / (size_t)p->groups), g = (int)(image % (size_t)p->groups);
    int first = tile * j->tile, count = LK_MIN(j->tile, j->flat - first);
    int blk0 = chunk * j->chunk_blocks, blk1 = LK_MIN(j->blocks, blk0 + j->chunk_blocks);
    if (count <= 0 || blk0 >= blk1) return;
    float *ct = lk_scratch(1, (size_t)BLOCK * BLOCK * sizeof(float));
    if (!ct) {
        j->status = LK_E_NOMEM;
        return;
    }
    configure_tiles(j->kt);
    int positions = p->oh * p->ow;
    const uint32_t *wg = j->w + (size_t)g * ((j->mg + TILE_ROWS - 1) / TILE_ROWS) * j->row_words;
    const uint32_t *img = j->planes + local * (size_t)j->cp * j->phases * j->plane;
    size_t cp_stride = (size_t)j->phases * j->plane; /* words between channel pairs */
    for (int blk = blk0; blk < blk1; blk++) {
        int m0 = blk * BLOCK, valid = LK_MIN(BLOCK, j->mg - m0), oc = g * j->mg + m0;
        const uint32_t *a = wg + (size_t)(2 * blk) * j->row_words;
        for (int c0 = 0; c0 < count; c0 += BLOCK) {
            int q0 = first + c0, cols = LK_MIN(BLOCK, count - c0);
            const block_operands o = {j->taps, j->cp / j->kt, j->kt, a, (size_t)TILE_ROWS * j->kt,
                                      (size_t)j->row_words, (size_t)j->kt * 4, img + q0, cp_stride * 4,
                                      cp_stride * j->kt, j->tap_off};
            amx_block(valid, cols, &o, ct);
            /* flat positions [q0, q0 + cols): those with ox < ow are the output positions from the first one's on */
            uint32_t kept = 0;
            int start = -1, n = 0, oy = q0 / j->wq, ox = q0 % j->wq;
            for (int i = 0; i < cols; i++, ox++) {
                if (ox == j->wq) ox = 0, oy++;
                if (ox >= p->ow) continue;
                kept |= 1u << i;
                if (start < 0) start = oy * p->ow + ox;
                n++;
            }
            if (!n) continue;
            const uint16_t keep[2] = {(uint16_t)(kept & 0xffffu), (uint16_t)(kept >> 16)};
            for (int r = 0; r < valid; r++) {
                size_t at = ((size_t)b * p->m + oc + r) * positions + (size_t)start;
                store_compressed(j->y + at, ct + (size_t)r * BLOCK, keep, j->bias ? j->bias[oc + r] : 0.0f,
                                 j->z ? j->z + at : NULL, j->lo, j->hi);
                if (j->after.kind != LK_ACT_NONE) lk_activate(j->y + at, (size_t)n, &j->after);
            }
        }
    }
    release_tiles();
}

static int conv_direct(const lk_conv2d *p, const float *x, const uint32_t *w, const float *bias, const float *z,
                       float *y, const float *scale, const float *shift, lk_pool *pool) {
    direct_job j = {.p = p, .x = x, .bias = bias, .z = z, .w = w, .y = y, .scale = scale, .shift = shift};
    int cg = p->c / p->groups;
    j.taps = p->kh * p->kw;
    j.cp = channel_pairs(cg);
    j.kt = tile_k(cg, j.taps);
    j.row_words = row_pairs(cg, j.taps) * TILE_ROWS;
    j.mg = p->m / p->groups;
    j.blocks = (j.mg + BLOCK - 1) / BLOCK;
    j.phases = p->sh * p->sw;
    j.wq = p->ow + (p->kw - 1) * p->dw / p->sw;
    j.hq = p->oh + (p->kh - 1) * p->dh / p->sh;
    j.flat = p->oh * j.wq;
    /* a block's last panel reads up to 31 positions past the flat ones, plus the farthest tap's offset */
    j.plane = ((size_t)j.hq * j.wq + BLOCK + j.wq + 15) / 16 * 16;
    if ((double)j.phases * j.plane * j.cp > (double)(1 << 30)) return LK_E_ARG;
    for (int ki = 0, t = 0; ki < p->kh; ki++)
        for (int kj = 0; kj < p->kw; kj++, t++) {
            int phase = (ki * p->dh % p->sh) * p->sw + kj * p->dw % p->sw;
            j.tap_off[t] = (int)((size_t)phase * j.plane) + ki * p->dh / p->sh * j.wq + kj * p->dw / p->sw;
        }
    lk_split_activation(&p->act, &j.lo, &j.hi, &j.after);
    size_t images = (size_t)p->n * p->groups, per_image = (size_t)j.cp * j.phases * j.plane;
    /* the pair planes of as many images as SHARED_WORDS holds (at least one), then their tiles */
    size_t batch = LK_MAX((size_t)1, LK_MIN(images, SHARED_WORDS / per_image));
    for (j.image0 = 0; j.image0 < images; j.image0 += batch) {
        size_t count = LK_MIN(batch, images - j.image0);
        if (!(j.planes = lk_scratch(4, count * per_image * sizeof(uint32_t)))) return LK_E_NOMEM;
        /* rounding tasks of at least ROUND_WORDS words each, up to four per thread */
        j.pairs_total = count * (size_t)j.cp;
        size_t tasks = LK_MIN((size_t)lk_pool_threads(pool) * 4, j.pairs_total * j.phases * j.plane / ROUND_WORDS);
        tasks = LK_MAX((size_t)1, LK_MIN(tasks, j.pairs_total));
        j.pairs_per_task = (j.pairs_total + tasks - 1) / tasks;
        lk_parallel_for(pool, (j.pairs_total + j.pairs_per_task - 1) / j.pairs_per_task, direct_pairs_task, &j);
        if (j.status != LK_OK) return j.status;
        partition(j.flat, count, j.blocks, lk_pool_threads(pool), &j.tile, &j.tiles, &j.chunks, &j.chunk_blocks);
        lk_parallel_for(pool, count * (size_t)j.tiles * j.chunks, direct_task, &j);
        if (j.status != LK_OK) return j.status;
    }
    return LK_OK;
}

int lk_conv2d_amx_bf16(const lk_conv2d *p, const float *x, const uint32_t *w_packed, const float *bias,
                       const float *z, float *y, lk_pool *pool) {
    if (!lk_bf16_amx()) return LK_E_ARG;
    if (!p || p->groups < 1 || p->c % p->groups || p->m % p->groups) return LK_E_ARG;
    int positions = p->oh * p->ow;
    if (p->n == 0 || positions == 0) return LK_OK;
    if (direct_form(p->c / p->groups, p->kh * p->kw)) return conv_direct(p, x, w_packed, bias, z, y, NULL, NULL, pool);
    amx_conv_job j = {.p = p, .x = x, .bias = bias, .z = z, .w = w_packed, .y = y};
    j.kp = pairs_padded(p->c / p->groups * p->kh * p->kw);
    j.kblocks = j.kp / TILE_PAIRS;
    j.mg = p->m / p->groups;
    j.panels = (j.mg + TILE_ROWS - 1) / TILE_ROWS;
    j.blocks = (j.mg + BLOCK - 1) / BLOCK;
    lk_split_activation(&p->act, &j.lo, &j.hi, &j.after);
    size_t images = (size_t)p->n * p->groups;
    partition(positions, images, j.blocks, lk_pool_threads(pool), &j.tile, &j.tiles, &j.chunks, &j.chunk_blocks);
    size_t tile_tasks = images * (size_t)j.tiles;
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

int lk_conv_preact_bf16_channels(void) { return DIRECT_CHANNELS; }

/* The pre-activation's geometry (1x1, stride 1, no pads, one group) keeps the planes' rows in the fast path of
 * round_pair_planes, which applies it as it rounds: no pass of its own over the input. */
int lk_conv2d_packed_preact_bf16(const lk_conv2d *p, const float *x, const uint32_t *w_packed, const float *bias,
                                 const float *z, float *y, const float *scale, const float *shift, lk_pool *pool) {
    if (!lk_bf16_amx() || !scale || !shift || !lk_conv_preact_geometry(p) || !direct_form(p->c, 1)) return LK_E_ARG;
    if (p->n == 0 || p->oh * p->ow == 0) return LK_OK;
    return conv_direct(p, x, w_packed, bias, z, y, scale, shift, pool);
}
