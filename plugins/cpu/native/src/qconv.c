/*
 * Quantised (int8) convolution on packed weights (see litert_qkernels.h).
 *
 * The image is first copied, per batch item, into a zero-point-padded channels-last buffer (channels
 * rounded up to 4, int8 flipped to uint8): every tap of every output position is then a plain read, and 4
 * consecutive channels of one pixel are the 4 bytes _mm512_dpbusd_epi32 multiplies against 4 weights of 16
 * output channels.  A tile is QR = 6 output positions (consecutive in the flattened oh x ow plane, so 7x7
 * maps fill tiles too) x QB = 64 output channels: 24 int32 accumulators stay in registers over all taps
 * and channels (6 broadcasts and 4 weight loads per 24 VPDPBUSD; 12 x 32 took 12 broadcasts from 12 row
 * pointers, more than the general registers hold: ResNet-18 int8's convs 9.9-10.3 -> 8.9 ms on one Zen 4
 * thread), then the requantisation (bias, float32 scale, round, zero point, clamp) runs on them and the
 * bytes go out channel by channel (NCHW) or pixel by pixel (channels-last).  Channels-last, 4-aligned
 * uint8 input without padding (QLinearMatMul/QGemm rows) is read in place.
 */
#include <string.h>

#include "litert_qkernels.h"
#include "lk_internal.h"
#include "qcommon.h"

#define QR 6        /* output positions per tile */
#define QB 64       /* output channels per tile, at most (4 vectors of 16) */
#define QCHUNK 8    /* tiles per task, at most */
#define AMX_ROWS 32 /* positions per AMX block (two tiles of 16) */
#define AMX_MAX_TAPS 64

static int force_portable;

void lk_qconv_force_portable(int on) { force_portable = on; }

int lk_qconv_portable_forced(void) { return force_portable; }

static int round4(int c) { return (c + 3) & ~3; }

/* Whether this process's packed weights for c input channels are laid out for the AMX tiles: whole tiles of
 * 16 quads (64 channels) per tap, the quads past c zero, from 48 channels (a third of zeros at most; fewer
 * channels stay on the VNNI tiles, and a 3-channel stem's weights 16 times their size).  Fixed for the
 * process, as lk_int8_amx() is. */
static int amx_layout(int c) { return lk_int8_amx() && c >= 48; }

/* quads (4 channels) per tap in the packed weights: the channels' own, or whole tiles of 16 (amx_layout) */
static int packed_quads(int c) { return amx_layout(c) ? (round4(c) / 4 + 15) / 16 * 16 : round4(c) / 4; }

size_t lk_qconv_packed_bytes(int m, int c, int kh, int kw) {
    return (size_t)((m + 15) / 16) * 16 * (size_t)kh * (size_t)kw * (size_t)packed_quads(c) * 4;
}

void lk_qconv_pack_weights(const int8_t *w, int m, int c, int kh, int kw, int8_t *packed) {
    int taps = kh * kw, quads = packed_quads(c), blocks = (m + 15) / 16;
    for (int b = 0; b < blocks; b++)
        for (int t = 0; t < taps; t++)
            for (int q = 0; q < quads; q++)
                for (int col = 0; col < 16; col++)
                    for (int e = 0; e < 4; e++) {
                        int mm = b * 16 + col, cc = q * 4 + e;
                        *packed++ = (mm < m && cc < c) ? w[((size_t)mm * c + cc) * taps + t] : 0;
                    }
}

int lk_qconv_valid(const lk_qconv2d *p) {
    if (p->n < 0 || p->c < 1 || p->h < 1 || p->w < 1 || p->m < 1 || p->oh < 1 || p->ow < 1 || p->kh < 1 ||
        p->kw < 1 || p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1 || p->pad_top < 0 || p->pad_left < 0 ||
        p->groups < 1 || p->x_zero < 0 || p->x_zero > 255 || (p->x_signed != 0 && p->x_signed != 1) ||
        p->layout < 0 || p->layout > (LK_Q_X_NHWC | LK_Q_Y_NHWC) || p->y_lo > p->y_hi ||
        !((p->y_lo >= 0 && p->y_hi <= 255) || (p->y_lo >= -128 && p->y_hi <= 127)) || p->y_zero < -128 ||
        p->y_zero > 255)
        return 0;
    int64_t hp = lk_qconv_span(p->oh, p->sh, p->kh, p->dh), wp = lk_qconv_span(p->ow, p->sw, p->kw, p->dw);
    if (hp > 1 << 30 || wp > 1 << 30 || (int64_t)p->oh * p->ow > 1 << 30 || (int64_t)p->kh * p->kw > 1 << 20)
        return 0;
    int64_t padded;
    if (__builtin_mul_overflow(hp * wp, (int64_t)round4(p->c), &padded) || padded > (int64_t)1 << 40) return 0;
    return 1;
}

typedef struct {
    const lk_qconv2d *p;
    const uint8_t *x;       /* this image's input */
    uint8_t *xp;            /* the padded channels-last copy */
    const int8_t *packed;
    const int32_t *bias;
    const float *scale;
    uint8_t *y;             /* this image's output */
    int hp, wp, c4;
    int quads;              /* quads per tap in the packed weights (packed_quads) */
    int positions, chunks, chunk_tiles, mblocks;
    int group;              /* QB-channel blocks per task: all of them unless that leaves threads idle */
    int bounded;            /* lk_requant_bounded: the epilogue skips its float clamp */
    /* the AMX path's input: the padded image (stride 1: hq = hp, wq = wp), or for stride 2 its four phase
     * planes [row parity][column parity][hq][wq] (xp at the first), which make a strided conv's taps flat rows
     * again */
    const uint8_t *planes;
    int hq, wq;
} qconv_job;

/* one row of the padded channels-last image */
static void pad_row(void *ctx, size_t row) {
    const qconv_job *j = ctx;
    const lk_qconv2d *p = j->p;
    uint8_t *dst = j->xp + (size_t)row * j->wp * j->c4;
    memset(dst, p->x_zero, (size_t)j->wp * j->c4);
    int iy = (int)row - p->pad_top;
    if (iy < 0 || iy >= p->h) return;
    uint8_t flip = p->x_signed ? 0x80 : 0;
    int cols = LK_MIN(p->w, j->wp - p->pad_left);
    if (p->layout & LK_Q_X_NHWC) {
        const uint8_t *src = j->x + (size_t)iy * p->w * p->c;
        if (!flip && j->c4 == p->c) {
            memcpy(dst + (size_t)p->pad_left * j->c4, src, (size_t)cols * p->c);
            return;
        }
        for (int ix = 0; ix < cols; ix++) {
            uint8_t *d = dst + (size_t)(ix + p->pad_left) * j->c4;
            for (int ch = 0; ch < p->c; ch++) d[ch] = src[(size_t)ix * p->c + ch] ^ flip;
        }
        return;
    }
    size_t plane = (size_t)p->h * p->w;
    for (int ch = 0; ch < p->c; ch++) {
        const uint8_t *src = j->x + ch * plane + (size_t)iy * p->w;
        uint8_t *d = dst + (size_t)p->pad_left * j->c4 + ch;
        for (int ix = 0; ix < cols; ix++) d[(size_t)ix * j->c4] = src[ix] ^ flip;
    }
}

/* byte offset, in the padded image, of the top-left tap of output position `pos` */
static size_t position_offset(const qconv_job *j, int pos) {
    const lk_qconv2d *p = j->p;
    int oy = pos / p->ow, ox = pos % p->ow;
    return ((size_t)oy * p->sh * j->wp + (size_t)ox * p->sw) * j->c4;
}

/* `rows` x `cols` requantised bytes of a tile (row r: output position first + r) into y */
static void store_tile(const qconv_job *j, int first, int rows, int m0, int cols, const uint8_t *tile, int ld) {
    const lk_qconv2d *p = j->p;
    if (p->layout & LK_Q_Y_NHWC) {
        for (int r = 0; r < rows; r++) memcpy(j->y + ((size_t)first + r) * p->m + m0, tile + (size_t)r * ld, (size_t)cols);
        return;
    }
    size_t plane = (size_t)p->oh * p->ow;
    for (int col = 0; col < cols; col++) {
        uint8_t *dst = j->y + (size_t)(m0 + col) * plane + first;
        for (int r = 0; r < rows; r++) dst[r] = tile[(size_t)r * ld + col];
    }
}

/* One row of one phase plane (index: plane * hq + row) of the AMX path's strided input, from the padded image:
 * plane (py, px) row i is padded row i * s + py, every s-th pixel from px; past the image, x_zero */
static void phase_row(void *ctx, size_t index) {
    const qconv_job *j = ctx;
    int s = j->p->sh, plane = (int)(index / (size_t)j->hq), i = (int)(index % (size_t)j->hq);
    int py = plane / s, px = plane % s, row = i * s + py;
    uint8_t *dst = (uint8_t *)j->planes + ((size_t)plane * j->hq + i) * j->wq * j->c4;
    for (int col = 0; col < j->wq; col++) {
        int x = col * s + px;
        if (row < j->hp && x < j->wp)
            memcpy(dst + (size_t)col * j->c4, j->xp + ((size_t)row * j->wp + x) * j->c4, (size_t)j->c4);
        else
            memset(dst + (size_t)col * j->c4, j->p->x_zero, (size_t)j->c4);
    }
}

/* ------------------------------------------------------------------ portable path */

static void portable_task(void *ctx, size_t index) {
    const qconv_job *j = ctx;
    const lk_qconv2d *p = j->p;
    int groups = (j->mblocks + j->group - 1) / j->group;
    int chunk = (int)(index / (size_t)groups), mb0 = (int)(index % (size_t)groups) * j->group;
    int mb_end = LK_MIN(mb0 + j->group, j->mblocks), taps = p->kh * p->kw, quads = j->c4 / 4, stride = j->quads;
    int first = chunk * j->chunk_tiles * QR, last = LK_MIN(first + j->chunk_tiles * QR, j->positions);
    uint8_t tile[QR * QB];
    for (int t0 = first; t0 < last; t0 += QR) {
        int rows = LK_MIN(QR, last - t0);
        for (int mb = mb0; mb < mb_end; mb++) {
            int m0 = mb * QB, cols = LK_MIN(QB, p->m - m0);
            for (int r = 0; r < rows; r++) {
                const uint8_t *base = j->xp + position_offset(j, t0 + r);
                for (int col = 0; col < cols; col++) {
                    int mm = m0 + col;
                    const int8_t *wb = j->packed + (size_t)(mm / 16) * taps * stride * 64 + (mm % 16) * 4;
                    int32_t acc = j->bias[mm];
                    for (int t = 0; t < taps; t++) {
                        int ky = t / p->kw, kx = t % p->kw;
                        const uint8_t *a = base + ((size_t)ky * p->dh * j->wp + (size_t)kx * p->dw) * j->c4;
                        const int8_t *wt = wb + (size_t)t * stride * 64;
                        for (int q = 0; q < quads; q++)
                            for (int e = 0; e < 4; e++) acc += (int32_t)a[q * 4 + e] * wt[(size_t)q * 64 + e];
                    }
                    tile[r * QB + col] = (uint8_t)lk_requantize(acc, j->scale[mm], p->y_zero, p->y_lo, p->y_hi);
                }
            }
            store_tile(j, t0, rows, m0, cols, tile, QB);
        }
    }
}

/* ------------------------------------------------------------------ AVX512-VNNI path */

#if defined(__x86_64__) && defined(__GNUC__)
#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

static int vnni_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

/* the bias and scale of output channels [m0 + 16 v, m0 + 16 v + 16) for v < nv as vectors, zero past the last
 * channel (the VNNI and AMX epilogues') */
VNNI_TARGET static inline void channel_params(const qconv_job *j, int m0, int nv, __m512i *bias, __m512 *scale) {
    for (int v = 0; v < nv; v++) {
        int n = LK_MAX(0, LK_MIN(16, j->p->m - m0 - 16 * v));
        __mmask16 mask = (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
        bias[v] = _mm512_maskz_loadu_epi32(mask, j->bias + m0 + 16 * v);
        scale[v] = _mm512_maskz_loadu_ps(mask, j->scale + m0 + 16 * v);
    }
}

/* R positions (QR, or 1 for a tile of one position: a classifier's QGemm at batch 1, whose QR-row tiles made six
 * times the multiply-adds of its one row, or a 7x7 map's 49th) x (16 * NV) channels over all taps and channels,
 * requantised: the first `rows` positions' bytes to dst, position r at dst + r * ld (the output's own rows
 * when it is channels-last, else a tile the NCHW store transposes) */
#define DEFINE_VNNI_TILE(NV, R)                                                                                \
    VNNI_TARGET static void vnni_tile_##NV##_##R(const qconv_job *j, const size_t *offsets, int m0, int rows,  \
                                                 uint8_t *dst, size_t ld) {                                    \
        const lk_qconv2d *p = j->p;                                                                            \
        int taps = p->kh * p->kw, quads = j->c4 / 4;                                                           \
        size_t panel = (size_t)taps * j->quads * 64;                                                           \
        const int8_t *w0 = j->packed + (size_t)(m0 / 16) * panel;                                              \
        __m512i acc[R][NV], bias[NV];                                                                            \
        __m512 scale[NV];                                                                                      \
        /* the bias starts the sums (one add per vector fewer in the epilogue: the same int32 sums) */         \
        channel_params(j, m0, NV, bias, scale);                                                                \
        for (int r = 0; r < R; r++)                                                                            \
            for (int v = 0; v < NV; v++) acc[r][v] = bias[v];                                                  \
        for (int t = 0; t < taps; t++) {                                                                       \
            int ky = t / p->kw, kx = t % p->kw;                                                                \
            const uint8_t *tap = j->xp + ((size_t)ky * p->dh * j->wp + (size_t)kx * p->dw) * j->c4;            \
            const int8_t *wt = w0 + (size_t)t * j->quads * 64;                                                 \
            for (int q = 0; q < quads; q++) {                                                                  \
                __m512i b[NV];                                                                                 \
                for (int v = 0; v < NV; v++) b[v] = _mm512_loadu_si512((const void *)(wt + v * panel + (size_t)q * 64)); \
                for (int r = 0; r < R; r++) {                                                                  \
                    int32_t four;                                                                              \
                    memcpy(&four, tap + offsets[r] + (size_t)q * 4, 4);                                        \
                    __m512i a = _mm512_set1_epi32(four);                                                       \
                    for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], a, b[v]);          \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
        lk_requant16 rq = lk_requant16_make(p->y_zero, p->y_lo, p->y_hi);                                      \
        /* a position's NV vectors packed into its bytes and stored at once (four 16-byte masked stores of  \
         * vpmovdb'd vectors before: thin 1x1 convs, 16-24 input channels, are mostly this epilogue) */       \
        int cols = LK_MIN(16 * NV, p->m - m0), is_signed = p->y_lo < 0;                                         \
        __mmask64 bytes = cols >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << cols) - 1);                            \
        for (int r = 0; r < rows; r++) {                                                                       \
            __m512i q[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),            \
                            _mm512_setzero_si512()};                                                           \
            if (j->bounded) { /* the packs saturate to the type's range: no float clamp per vector */          \
                for (int v = 0; v < NV; v++) q[v] = lk_requant16_int32_bounded(&rq, acc[r][v], scale[v]);      \
            } else {                                                                                           \
                for (int v = 0; v < NV; v++) q[v] = lk_requant16_int32(&rq, acc[r][v], scale[v]);              \
            }                                                                                                  \
            _mm512_mask_storeu_epi8(dst + r * ld, bytes, lk_requant_pack64(q[0], q[1], q[2], q[3], is_signed));  \
        }                                                                                                      \
    }

DEFINE_VNNI_TILE(1, QR)
DEFINE_VNNI_TILE(2, QR)
DEFINE_VNNI_TILE(3, QR)
DEFINE_VNNI_TILE(4, QR)
DEFINE_VNNI_TILE(1, 1)
DEFINE_VNNI_TILE(2, 1)
DEFINE_VNNI_TILE(3, 1)
DEFINE_VNNI_TILE(4, 1)

typedef void (*vnni_tile_fn)(const qconv_job *, const size_t *, int, int, uint8_t *, size_t);
/* [single position][vectors of 16 channels - 1]: a tile reads only the weight panels its channels have */
static const vnni_tile_fn VNNI_TILES[2][4] = {{vnni_tile_1_QR, vnni_tile_2_QR, vnni_tile_3_QR, vnni_tile_4_QR},
                                              {vnni_tile_1_1, vnni_tile_2_1, vnni_tile_3_1, vnni_tile_4_1}};

/* 16 x 16 bytes transposed in registers: four rounds of interleaving row i with row i + 8 */
VNNI_TARGET static void transpose16(__m128i r[16]) {
    for (int round = 0; round < 4; round++) {
        __m128i t[16];
        for (int i = 0; i < 8; i++) {
            t[2 * i] = _mm_unpacklo_epi8(r[i], r[i + 8]);
            t[2 * i + 1] = _mm_unpackhi_epi8(r[i], r[i + 8]);
        }
        for (int i = 0; i < 16; i++) r[i] = t[i];
    }
}

/* pad_row for NCHW input: 16 channels x 16 columns at a time, transposed in registers */
VNNI_TARGET static void vnni_pad_row(void *ctx, size_t row) {
    const qconv_job *j = ctx;
    const lk_qconv2d *p = j->p;
    int iy = (int)row - p->pad_top;
    if ((p->layout & LK_Q_X_NHWC) || iy < 0 || iy >= p->h || p->c < 16) {
        pad_row(ctx, row);
        return;
    }
    uint8_t *dst = j->xp + (size_t)row * j->wp * j->c4;
    memset(dst, p->x_zero, (size_t)j->wp * j->c4);
    __m128i flip = _mm_set1_epi8(p->x_signed ? (char)0x80 : 0);
    size_t plane = (size_t)p->h * p->w;
    int cols = LK_MIN(p->w, j->wp - p->pad_left);
    for (int ix0 = 0; ix0 < cols; ix0 += 16) {
        int n = LK_MIN(16, cols - ix0);
        __mmask16 in_mask = (__mmask16)((1u << n) - 1u);
        for (int c0 = 0; c0 < p->c; c0 += 16) {
            int k = LK_MIN(16, p->c - c0);
            __m128i r[16];
            for (int i = 0; i < 16; i++)
                r[i] = i < k ? _mm_xor_si128(_mm_maskz_loadu_epi8(in_mask, j->x + (size_t)(c0 + i) * plane +
                                                                                (size_t)iy * p->w + ix0), flip)
                             : _mm_setzero_si128();
            transpose16(r);
            __mmask16 out_mask = (__mmask16)((1u << k) - 1u);
            for (int i = 0; i < n; i++)
                _mm_mask_storeu_epi8(dst + (size_t)(ix0 + i + p->pad_left) * j->c4 + c0, out_mask, r[i]);
        }
    }
}

/* NCHW store of a tile: each 16-channel half transposed, then `rows` bytes per channel in one masked store */
VNNI_TARGET static void vnni_store_nchw(const qconv_job *j, int first, int rows, int m0, int cols, const uint8_t *tile) {
    size_t plane = (size_t)j->p->oh * j->p->ow;
    __mmask16 mask = (__mmask16)((1u << rows) - 1u);
    for (int half = 0; half * 16 < cols; half++) {
        __m128i r[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < QR ? _mm_loadu_si128((const __m128i *)(tile + i * QB + half * 16)) : _mm_setzero_si128();
        transpose16(r);
        int n = LK_MIN(16, cols - half * 16);
        for (int col = 0; col < n; col++)
            _mm_mask_storeu_epi8(j->y + (size_t)(m0 + half * 16 + col) * plane + first, mask, r[col]);
    }
}

static void vnni_task(void *ctx, size_t index) {
    const qconv_job *j = ctx;
    const lk_qconv2d *p = j->p;
    int groups = (j->mblocks + j->group - 1) / j->group;
    int chunk = (int)(index / (size_t)groups), mb0 = (int)(index % (size_t)groups) * j->group;
    int mb_end = LK_MIN(mb0 + j->group, j->mblocks);
    int first = chunk * j->chunk_tiles * QR, last = LK_MIN(first + j->chunk_tiles * QR, j->positions);
    uint8_t tile[QR * QB];
    size_t offsets[QR];
    int oy = first / p->ow, ox = first % p->ow;
    size_t row_step = (size_t)p->sh * j->wp * j->c4, col_step = (size_t)p->sw * j->c4;
    for (int t0 = first; t0 < last; t0 += QR) {
        int rows = LK_MIN(QR, last - t0);
        /* past the last position the tile recomputes that position (never stored) */
        for (int r = 0; r < QR; r++) {
            offsets[r] = (size_t)oy * row_step + (size_t)ox * col_step;
            if (r < rows - 1 || (r == rows - 1 && rows == QR)) {
                if (++ox == p->ow) ox = 0, oy++;
            }
        }
        for (int mb = mb0; mb < mb_end; mb++) {
            int m0 = mb * QB, cols = LK_MIN(QB, p->m - m0);
            int nhwc = (p->layout & LK_Q_Y_NHWC) != 0;
            uint8_t *dst = nhwc ? j->y + (size_t)t0 * p->m + m0 : tile;
            size_t ld = nhwc ? (size_t)p->m : QB;
            /* one position (a batch-1 product, or the last of a 7x7 map's 49) takes the one-position tile */
            int single = rows == 1, n = single ? 1 : nhwc ? rows : QR;
            VNNI_TILES[single][(cols - 1) / 16](j, offsets, m0, n, dst, ld);
            if (!nhwc) vnni_store_nchw(j, t0, rows, m0, cols, tile);
        }
    }
}
/* ------------------------------------------------------------------ AMX path (lk_int8_amx) */

/* A block's finished int32 rows (flat positions f0 + r; those with ox >= ow are padding and dropped), requantised
 * to the channels-last output: `cols` channels from m0, as the VNNI tile's epilogue does */
VNNI_TARGET static void amx_store(const qconv_job *j, int f0, int rows, int m0, int cols, const int32_t *ct) {
    const lk_qconv2d *p = j->p;
    __m512i bias[2];
    __m512 scale[2];
    channel_params(j, m0, 2, bias, scale);
    lk_requant16 rq = lk_requant16_make(p->y_zero, p->y_lo, p->y_hi);
    __mmask64 bytes = ((__mmask64)1 << cols) - 1;
    const __m512i zero = _mm512_setzero_si512();
    int oy = f0 / j->wq, ox = f0 % j->wq, is_signed = p->y_lo < 0;
    for (int r = 0; r < rows; r++, ox++) {
        if (ox == j->wq) ox = 0, oy++;
        if (ox >= p->ow) continue;
        __m512i q[2];
        for (int v = 0; v < 2; v++) {
            __m512i acc = _mm512_add_epi32(_mm512_loadu_si512((const void *)(ct + r * 32 + 16 * v)), bias[v]);
            q[v] = j->bounded ? lk_requant16_int32_bounded(&rq, acc, scale[v]) : lk_requant16_int32(&rq, acc, scale[v]);
        }
        _mm512_mask_storeu_epi8(j->y + ((size_t)oy * p->ow + ox) * p->m + m0, bytes,
                                lk_requant_pack64(q[0], q[1], zero, zero, is_signed));
    }
}

/* Task of the AMX path: a chunk of 32-position blocks of flat positions (f = oy * wq + ox over the plane's
 * width: 32 consecutive ones are 32 pixels one c4 apart, so each tap of a block is a tile load of stride c4)
 * times a group of 32-channel blocks.  Tap (ky, kx) of output (oy, ox) reads input row oy * s + ky * dh, i.e.
 * row oy + ky * dh / s of the plane of row parity ky * dh % s (likewise columns). */
static void amx_task(void *ctx, size_t index) {
    const qconv_job *j = ctx;
    const lk_qconv2d *p = j->p;
    int groups = (j->mblocks + j->group - 1) / j->group;
    int chunk = (int)(index / (size_t)groups), mb0 = (int)(index % (size_t)groups) * j->group;
    int mb_end = LK_MIN(mb0 + j->group, j->mblocks), flat = (p->oh - 1) * j->wq + p->ow;
    int first = chunk * j->chunk_tiles * AMX_ROWS, last = LK_MIN(first + j->chunk_tiles * AMX_ROWS, flat);
    int taps = p->kh * p->kw, quads = j->quads, s = p->sh;
    size_t panel = (size_t)taps * quads * 64, tap_off[AMX_MAX_TAPS], plane = (size_t)j->hq * j->wq * j->c4;
    for (int t = 0; t < taps; t++) {
        int dy = t / p->kw * p->dh, dx = t % p->kw * p->dw;
        tap_off[t] = (size_t)(dy % s * s + dx % s) * plane + ((size_t)(dy / s) * j->wq + (size_t)(dx / s)) * j->c4;
    }
    _Alignas(64) int32_t ct[AMX_ROWS * 32];
    lk_amx_int8_begin();
    for (int f0 = first; f0 < last; f0 += AMX_ROWS) {
        int rows = LK_MIN(AMX_ROWS, last - f0);
        for (int mb = mb0; mb < mb_end; mb++) {
            int m0 = mb * 32, cols = LK_MIN(32, p->m - m0);
            const lk_amx_int8_operands o = {taps, quads / 16, j->planes + (size_t)f0 * j->c4, (size_t)j->c4,
                                            (size_t)16 * j->c4, tap_off, j->packed + (size_t)(m0 / 16) * panel,
                                            (size_t)quads * 64, panel};
            lk_amx_int8_block(rows, cols, &o, ct);
            amx_store(j, f0, rows, m0, cols, ct);
        }
    }
    lk_amx_int8_end();
}
#else
static int vnni_available(void) { return 0; }
static void vnni_task(void *ctx, size_t index) { portable_task(ctx, index); }
static void vnni_pad_row(void *ctx, size_t row) { pad_row(ctx, row); }
static void amx_task(void *ctx, size_t index) { portable_task(ctx, index); }
#endif

/* Whether the AMX path takes this convolution: weights in whole tiles of 64 channels (amx_layout; a pixel's
 * last step reads into the next pixel's bytes, which meet zero weights), stride 1 or 2 both ways (flat rows of
 * the image or of its phase planes), channels-last output (its blocks' rows are output positions), at most
 * AMX_MAX_TAPS taps */
static int amx_takes(const lk_qconv2d *p) {
    return !force_portable && amx_layout(p->c) && p->groups == 1 && p->sh == p->sw && (p->sh == 1 || p->sh == 2) &&
           (p->layout & LK_Q_Y_NHWC) && p->kh * p->kw <= AMX_MAX_TAPS;
}

int lk_qconv2d_u8s8(const lk_qconv2d *p, const void *x, const int8_t *packed, const int32_t *bias,
                    const float *scale, void *y, lk_pool *pool) {
    if (!lk_qconv_valid(p) || p->groups != 1) return LK_E_ARG;
    qconv_job j = {.p = p, .packed = packed, .bias = bias, .scale = scale};
    j.hp = (int)lk_qconv_span(p->oh, p->sh, p->kh, p->dh);
    j.wp = (int)lk_qconv_span(p->ow, p->sw, p->kw, p->dw);
    j.c4 = round4(p->c);
    j.quads = packed_quads(p->c);
    j.positions = p->oh * p->ow;
    j.mblocks = (p->m + QB - 1) / QB;
    /* an epilogue of four operations per 16 outputs instead of six where the packs' saturation is the clamp (the
     * output type's whole range, as the lowering asks) and the sums cannot leave int32 once scaled: thin 1x1
     * convs (16-24 input channels) are half epilogue.  int8 MobileNetV2's 35 convs 2.22-2.29 -> 2.07-2.12 ms
     * (per-step minima, one Zen 4 thread) */
    int whole_range = (p->y_lo == 0 && p->y_hi == 255) || (p->y_lo == -128 && p->y_hi == 127);
    j.bounded = whole_range && lk_requant_bounded(bias, scale, p->m, (int64_t)p->kh * p->kw * round4(p->c));
    /* position chunks of up to QCHUNK tiles, smaller when that gives each thread about eight */
    const int amx = amx_takes(p);
    j.hq = (j.hp + p->sh - 1) / p->sh, j.wq = (j.wp + p->sw - 1) / p->sw;
    if (amx) { /* blocks of 32 flat positions and 32 channels */
        j.positions = (p->oh - 1) * j.wq + p->ow;
        j.mblocks = (p->m + 31) / 32;
    }
    const int rows_per_tile = amx ? AMX_ROWS : QR;
    int threads = lk_pool_threads(pool), tiles = (j.positions + rows_per_tile - 1) / rows_per_tile;
    j.chunk_tiles = threads > 1 ? LK_MAX(1, LK_MIN(QCHUNK, tiles / (8 * threads))) : QCHUNK;
    j.chunks = (tiles + j.chunk_tiles - 1) / j.chunk_tiles;
    /* a task computes all output channels of its positions, so that two threads never write bytes of one
     * channels-last row (a cache line both would own in turn); channels are split only when there are too
     * few position chunks for about four tasks per thread */
    int wanted = 4 * threads;
    j.group = j.chunks >= wanted ? j.mblocks : LK_MAX(1, j.mblocks / ((wanted + j.chunks - 1) / j.chunks));
    /* channels-last uint8 rows with 4-aligned channels and no padding are read where they are */
    int in_place = !amx && (p->layout & LK_Q_X_NHWC) && !p->x_signed && p->c % 4 == 0 && p->pad_top == 0 &&
                   p->pad_left == 0 && j.wp == p->w && j.hp <= p->h;
    /* the caller's scratch, shared with the workers for this call (the tasks use no scratch of their own):
     * a malloc per call of a few hundred kB was a fresh mmap each time, its pages faulted in by both
     * threads at once under the process's memory-map lock (measured: MobileNetV2 int8 slower on 2 threads
     * than on 1) */
    uint8_t *padded = NULL, *planes = NULL;
    /* the AMX blocks' last rows may run past the last position: a block's worth of slack (x_zero) after the
     * image, or after its phase planes */
    size_t image_bytes = (size_t)j.hp * j.wp * j.c4, slack = amx ? (size_t)AMX_ROWS * j.c4 : 0;
    size_t plane_bytes = (size_t)p->sh * p->sw * j.hq * j.wq * j.c4;
    if (!in_place && !(padded = lk_scratch(3, image_bytes + (p->sh == 1 ? slack : 0)))) return LK_E_NOMEM;
    if (amx && p->sh > 1 && !(planes = lk_scratch(4, plane_bytes + slack))) return LK_E_NOMEM;
    if (slack) memset(planes ? planes + plane_bytes : padded + image_bytes, p->x_zero, slack);
    j.planes = planes ? planes : padded;
    lk_task_fn task = amx ? amx_task : !force_portable && vnni_available() ? vnni_task : portable_task;
    size_t in_image = (size_t)p->c * p->h * p->w, out_image = (size_t)p->m * p->oh * p->ow;
    for (int image = 0; image < p->n; image++) {
        j.x = (const uint8_t *)x + image * in_image;
        j.y = (uint8_t *)y + image * out_image;
        if (in_place) {
            j.xp = (uint8_t *)j.x;
        } else {
            j.xp = padded;
            lk_parallel_for(pool, (size_t)j.hp, task == portable_task ? pad_row : vnni_pad_row, &j);
        }
        if (planes) lk_parallel_for(pool, (size_t)p->sh * p->sw * j.hq, phase_row, &j);
        lk_parallel_for(pool, (size_t)j.chunks * ((j.mblocks + j.group - 1) / j.group), task, &j);
    }
    return LK_OK;
}
