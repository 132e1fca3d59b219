/*
 * Quantised (int8) depthwise convolution, channels-last: NHWC in, NHWC out (see litert_qkernels.h).
 *
 * Channels lie along the vector, so maps of any size and any stride fill it (the NCHW kernel's 7x7 planes
 * leave its AVX-512 loop mostly masked tails, and its stride 2 needs column phases).  A task is a block of
 * output rows of one image over one chunk of channels.  The input rows its windows reach are converted
 * once each to float32 (the zero point in the padding) into a ring of span = (kh - 1) * dh + 1 rows, so a
 * tap is one multiply-add with a memory operand; the weights come as float32 [kh*kw][round16(c)].  Rows
 * and weights are zero-padded to whole vectors of 16 channels, so only the stores are masked.  uint8 x int8
 * products and their sums stay integers below 2^24 for up to 512 taps, so float32 accumulates them
 * exactly, in any order; the requantisation is the NCHW kernel's, so both give the same bytes.
 */
#include <limits.h>
#include <string.h>

#include "litert_qkernels.h"
#include "lk_internal.h"
#include "qcommon.h"

#define CHUNK_MAX 256 /* channels per task: a ring of 3 rows x 58 columns x 256 floats is 178 kB */
#define OXB 8         /* output columns per AVX-512 block (8 accumulators, the weight vector reused 8 times) */

typedef struct {
    const lk_qconv2d *p;
    const uint8_t *x;
    const float *w;       /* [kh*kw][c16] */
    const int32_t *bias;
    const float *scale;
    uint8_t *y;
    int span, wp, c16;    /* ring rows; a converted row is wp pixels of the chunk's channels rounded to 16 */
    int chunk, chunks;    /* channels per task, chunks per image */
    int rows, row_blocks; /* output rows per task, blocks per image */
    int avx512;
    int failed;
} qdwn_job;

int lk_qdwconv_nhwc_valid(const lk_qconv2d *p) {
    return lk_qconv_valid(p) && p->groups == p->c && p->m == p->c && p->layout == (LK_Q_X_NHWC | LK_Q_Y_NHWC) &&
           p->kh * p->kw <= 512;
}

/* input row iy of channels [c0, c0 + cn) as float32 [wp][round16(cn)]; rows and columns outside the image
 * (the padding) hold the zero point, channels past cn zero */
LK_HOT static void convert_row(const qdwn_job *j, const uint8_t *image, int iy, int c0, int cn, float *restrict dst) {
    const lk_qconv2d *p = j->p;
    float zero = (float)p->x_zero;
    uint8_t flip = p->x_signed ? 0x80 : 0;
    int stride = (cn + 15) & ~15;
    for (int px = 0; px < j->wp; px++) {
        int ix = px - p->pad_left;
        float *restrict d = dst + (size_t)px * stride;
        if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) {
            for (int c = 0; c < cn; c++) d[c] = zero;
        } else {
            const uint8_t *restrict s = image + ((size_t)iy * p->w + ix) * p->c + c0;
            for (int c = 0; c < cn; c++) d[c] = (float)(uint8_t)(s[c] ^ flip);
        }
        for (int c = cn; c < stride; c++) d[c] = 0.0f;
    }
}

/* one output row from the converted rows each kernel row reads (rows[ky]); acc holds cn floats */
LK_HOT static void row_portable(const qdwn_job *j, const float *const *rows, int c0, int cn, uint8_t *out,
                                float *restrict acc) {
    const lk_qconv2d *p = j->p;
    size_t pixel = (size_t)((cn + 15) & ~15);
    for (int ox = 0; ox < p->ow; ox++) {
        for (int c = 0; c < cn; c++) acc[c] = 0.0f;
        for (int ky = 0; ky < p->kh; ky++)
            for (int kx = 0; kx < p->kw; kx++) {
                const float *restrict src = rows[ky] + ((size_t)ox * p->sw + (size_t)kx * p->dw) * pixel;
                const float *restrict wt = j->w + (size_t)(ky * p->kw + kx) * j->c16 + c0;
                for (int c = 0; c < cn; c++) acc[c] += wt[c] * src[c];
            }
        uint8_t *dst = out + (size_t)ox * p->c + c0;
        for (int c = 0; c < cn; c++)
            dst[c] = (uint8_t)lk_requantize((int32_t)acc[c] + j->bias[c0 + c], j->scale[c0 + c], p->y_zero, p->y_lo,
                                            p->y_hi);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define AVX512_TARGET LK_Q_AVX512

static int avx512_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

typedef struct {
    lk_requant16 q;
    __m512i bias;
    __m512 scale;
} requant_v;

/* bias, scale, round to nearest even, zero point, clamp: 16 bytes out (masked) */
AVX512_TARGET static inline void store16(const requant_v *r, __m512 acc, __mmask16 mask, uint8_t *dst) {
    _mm_mask_storeu_epi8(dst, mask, lk_requant16_apply(&r->q, _mm512_cvttps_epi32(acc), r->bias, r->scale));
}

/* COUNT (1 to OXB) output columns from ox, 16 channels from c0 + v */
#define DEFINE_COLUMNS(NAME, COUNT)                                                                              \
    AVX512_TARGET static inline void NAME(const qdwn_job *j, const float *const *rows, int c0, int cn, int v,     \
                                          int ox, __mmask16 mask, const requant_v *r, uint8_t *out) {             \
        const lk_qconv2d *p = j->p;                                                                               \
        __m512 acc[COUNT];                                                                                        \
        for (int k = 0; k < COUNT; k++) acc[k] = _mm512_setzero_ps();                                              \
        size_t pixel = (size_t)((cn + 15) & ~15), col_step = (size_t)p->sw * pixel;                               \
        for (int ky = 0; ky < p->kh; ky++)                                                                        \
            for (int kx = 0; kx < p->kw; kx++) {                                                                  \
                const float *src = rows[ky] + ((size_t)ox * p->sw + (size_t)kx * p->dw) * pixel + v;              \
                __m512 wv = _mm512_loadu_ps(j->w + (size_t)(ky * p->kw + kx) * j->c16 + c0 + v);                  \
                for (int k = 0; k < COUNT; k++)                                                                   \
                    acc[k] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(src + k * col_step), acc[k]);                    \
            }                                                                                                     \
        for (int k = 0; k < COUNT; k++) store16(r, acc[k], mask, out + (size_t)(ox + k) * p->c + c0 + v);          \
    }

DEFINE_COLUMNS(columns_1, 1)
DEFINE_COLUMNS(columns_2, 2)
DEFINE_COLUMNS(columns_3, 3)
DEFINE_COLUMNS(columns_4, 4)
DEFINE_COLUMNS(columns_5, 5)
DEFINE_COLUMNS(columns_6, 6)
DEFINE_COLUMNS(columns_7, 7)
DEFINE_COLUMNS(columns_8, 8)

typedef void (*columns_fn)(const qdwn_job *, const float *const *, int, int, int, int, __mmask16, const requant_v *,
                           uint8_t *);
/* a row's last ow % OXB columns in one block of their own: their accumulators are independent chains too
 * (one column at a time, a 7-wide map would be a chain of kh*kw dependent multiply-adds per vector) */
static const columns_fn COLUMNS[OXB + 1] = {NULL, columns_1, columns_2, columns_3, columns_4,
                                            columns_5, columns_6, columns_7, columns_8};

/* convert_row with 16 channels a vector: a pixel is cn / 16 zero-extending loads, conversions and stores, the
 * padding columns plain stores (the compiler's version of convert_row went through scalar and half-vector
 * tails at every pixel: int8 MobileNetV2's 17 depthwise steps 1.245 -> 1.165 ms on one Zen 4 thread) */
AVX512_TARGET static void convert_row_avx512(const qdwn_job *j, const uint8_t *image, int iy, int c0, int cn,
                                             float *restrict dst) {
    const lk_qconv2d *p = j->p;
    int stride = (cn + 15) & ~15;
    __m512i flip = _mm512_set1_epi32(p->x_signed ? 0x80 : 0);
    int inside = iy >= 0 && iy < p->h;
    int first = inside ? LK_MIN(p->pad_left, j->wp) : j->wp, last = inside ? LK_MIN(p->pad_left + p->w, j->wp) : j->wp;
    /* the padding columns: the zero point in the channels, 0 past cn */
    for (int v = 0; v < stride; v += 16) {
        __mmask16 mask = (__mmask16)(cn - v >= 16 ? 0xffffu : (1u << (cn - v)) - 1u);
        __m512 zero = _mm512_maskz_mov_ps(mask, _mm512_set1_ps((float)p->x_zero));
        for (int px = 0; px < first; px++) _mm512_storeu_ps(dst + (size_t)px * stride + v, zero);
        for (int px = last; px < j->wp; px++) _mm512_storeu_ps(dst + (size_t)px * stride + v, zero);
    }
    if (first >= last) return;
    const uint8_t *src = image + ((size_t)iy * p->w + (first - p->pad_left)) * p->c + c0;
    for (int px = first; px < last; px++, src += p->c) {
        float *d = dst + (size_t)px * stride;
        for (int v = 0; v < stride; v += 16) {
            __mmask16 mask = (__mmask16)(cn - v >= 16 ? 0xffffu : (1u << (cn - v)) - 1u);
            __m512i q = _mm512_mask_xor_epi32(_mm512_setzero_si512(), mask,
                                              _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, src + v)), flip);
            _mm512_storeu_ps(d + v, _mm512_cvtepi32_ps(q));
        }
    }
}

AVX512_TARGET static void row_avx512(const qdwn_job *j, const float *const *rows, int c0, int cn, uint8_t *out) {
    const lk_qconv2d *p = j->p;
    requant_v r;
    r.q = lk_requant16_make(p->y_zero, p->y_lo, p->y_hi);
    for (int v = 0; v < cn; v += 16) {
        __mmask16 mask = (__mmask16)(cn - v >= 16 ? 0xffffu : (1u << (cn - v)) - 1u);
        r.bias = _mm512_maskz_loadu_epi32(mask, j->bias + c0 + v);
        r.scale = _mm512_maskz_loadu_ps(mask, j->scale + c0 + v);
        int ox = 0;
        for (; ox + OXB <= p->ow; ox += OXB) columns_8(j, rows, c0, cn, v, ox, mask, &r, out);
        if (ox < p->ow) COLUMNS[p->ow - ox](j, rows, c0, cn, v, ox, mask, &r, out);
    }
}
#else
static int avx512_available(void) { return 0; }
static void convert_row_avx512(const qdwn_job *j, const uint8_t *image, int iy, int c0, int cn, float *dst) {
    (void)j, (void)image, (void)iy, (void)c0, (void)cn, (void)dst;
}
static void row_avx512(const qdwn_job *j, const float *const *rows, int c0, int cn, uint8_t *out) {
    (void)j, (void)rows, (void)c0, (void)cn, (void)out;
}
#endif

static int ring_slot(int iy, int span) { return ((iy % span) + span) % span; }

static void block_task(void *ctx, size_t index) {
    qdwn_job *j = ctx;
    const lk_qconv2d *p = j->p;
    int block = (int)(index % (size_t)j->row_blocks);
    size_t rest = index / (size_t)j->row_blocks;
    int c0 = (int)(rest % (size_t)j->chunks) * j->chunk, cn = LK_MIN(j->chunk, p->c - c0);
    size_t image = rest / (size_t)j->chunks;
    size_t row_floats = (size_t)j->wp * (size_t)((cn + 15) & ~15);
    /* the ring, the portable path's accumulators, the row pointers of the current output row */
    float *ring = lk_scratch(0, ((size_t)j->span * row_floats + (size_t)cn) * sizeof(float) +
                                    (size_t)p->kh * sizeof(float *) + 64);
    if (!ring) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    float *acc = ring + (size_t)j->span * row_floats;
    const float **rows = (const float **)(((uintptr_t)(acc + cn) + 7) & ~(uintptr_t)7);
    const uint8_t *x = j->x + image * (size_t)p->h * p->w * p->c;
    uint8_t *y = j->y + image * (size_t)p->oh * p->ow * p->c;
    int next = INT_MIN; /* the first input row not yet converted */
    int oy_end = LK_MIN(p->oh, (block + 1) * j->rows);
    for (int oy = block * j->rows; oy < oy_end; oy++) {
        int top = oy * p->sh - p->pad_top, bottom = top + (j->span - 1);
        /* rows top..bottom fill the span slots of the ring; a row converted earlier is still there */
        for (int iy = LK_MAX(next, top); iy <= bottom; iy++) {
            float *slot = ring + (size_t)ring_slot(iy, j->span) * row_floats;
            if (j->avx512)
                convert_row_avx512(j, x, iy, c0, cn, slot);
            else
                convert_row(j, x, iy, c0, cn, slot);
        }
        next = bottom + 1;
        for (int ky = 0; ky < p->kh; ky++) rows[ky] = ring + (size_t)ring_slot(top + ky * p->dh, j->span) * row_floats;
        uint8_t *out = y + (size_t)oy * p->ow * p->c;
        if (j->avx512)
            row_avx512(j, rows, c0, cn, out);
        else
            row_portable(j, rows, c0, cn, out, acc);
    }
}

int lk_qdwconv2d_nhwc_u8s8(const lk_qconv2d *p, const void *x, const float *w_t, const int32_t *bias,
                           const float *scale, void *y, lk_pool *pool) {
    if (!lk_qdwconv_nhwc_valid(p)) return LK_E_ARG;
    qdwn_job j = {.p = p, .x = x, .w = w_t, .bias = bias, .scale = scale, .y = y};
    j.span = (int)lk_qconv_span(1, 1, p->kh, p->dh);
    j.wp = (int)lk_qconv_span(p->ow, p->sw, p->kw, p->dw);
    j.c16 = (p->c + 15) & ~15;
    /* chunks of up to CHUNK_MAX channels (never smaller: two tasks writing parts of one pixel's cache lines
     * at once cost more than they gain), then about four tasks per thread over rows, where each block
     * converts span - sh input rows again */
    int threads = lk_pool_threads(pool), want = threads > 1 ? 4 * threads : 1;
    j.chunks = (p->c + CHUNK_MAX - 1) / CHUNK_MAX;
    /* a split falls on 64-channel boundaries: where c is a multiple of 64 no cache line is shared */
    int align = j.chunks > 1 ? 64 : 16;
    j.chunk = (((p->c + j.chunks - 1) / j.chunks) + align - 1) & ~(align - 1);
    j.chunks = (p->c + j.chunk - 1) / j.chunk;
    int64_t have = (int64_t)p->n * j.chunks;
    int blocks = (int)LK_MIN((int64_t)p->oh, LK_MAX(1, (want + have - 1) / have));
    j.rows = (p->oh + blocks - 1) / blocks;
    j.row_blocks = (p->oh + j.rows - 1) / j.rows;
    j.avx512 = !lk_qconv_portable_forced() && avx512_available();
    lk_parallel_for(pool, (size_t)p->n * j.chunks * j.row_blocks, block_task, &j);
    return j.failed ? LK_E_NOMEM : LK_OK;
}
