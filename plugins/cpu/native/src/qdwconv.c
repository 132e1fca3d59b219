/*
 * Quantised (int8) depthwise convolution, NCHW (see litert_qkernels.h).
 *
 * One task per (image, channel) plane: the plane is copied into a zero-point-padded uint8 buffer (int8
 * flipped) split into stride_w column phases, in which every tap reads consecutive output columns from
 * consecutive bytes.  The taps then accumulate in float32 over long contiguous runs, exactly (see
 * accumulate_run), and are requantised: with stride_h 1 all rows as one flat run (rows of 7 or 14 would
 * leave an AVX-512 loop nothing but its scalar tail), else row by row.  With AVX-512 all taps of 16
 * outputs stay in one register; elsewhere portable loops the compiler vectorises in its per-ISA clones.
 */
#include <stddef.h>
#include <string.h>

#include "litert_qkernels.h"
#include "lk_internal.h"
#include "qcommon.h"

typedef struct {
    const lk_qconv2d *p;
    const uint8_t *x;
    const int8_t *w;
    const int32_t *bias;
    const float *scale;
    uint8_t *y;
    int hp, wp;
    int wq;         /* width of one column phase of the padded plane: ceil(wp / sw) */
    int avx512;     /* the AVX-512 copies and runs instead of the portable loops */
    int failed;
} qdw_job;

int lk_qdwconv_valid(const lk_qconv2d *p) {
    return lk_qconv_valid(p) && p->groups == p->c && p->m == p->c && p->layout == 0 && p->kh * p->kw <= 512;
}

#define QDW_CHUNK 1024 /* flat positions accumulated at a time by the portable loops (in L1) */

/* uint8 x int8 products and their sums stay integers below 2^24 for kernels of up to 512 taps (what
 * lk_qdwconv_valid allows), so float32 accumulates them exactly, one FMA per tap and 16 outputs; the int32
 * bias is added after. */
LK_HOT static void accumulate_run(float *restrict acc, const uint8_t *restrict src, int n, float w) {
    for (int i = 0; i < n; i++) acc[i] += w * (float)src[i];
}

LK_HOT static void requantize_run(const float *restrict acc, uint8_t *restrict dst, int n, int32_t bias, float scale,
                                  int zero, int lo, int hi) {
    for (int i = 0; i < n; i++) dst[i] = (uint8_t)lk_requantize((int32_t)acc[i] + bias, scale, zero, lo, hi);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define AVX512_TARGET LK_Q_AVX512

static int avx512_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

static inline __mmask16 mask16(int n) { return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u); }

/* n outputs, 16 per vector: all taps accumulate in a register, then bias, scale, round to nearest even,
 * zero point, clamp, bytes out */
AVX512_TARGET static void run_avx512(const uint8_t *base, const ptrdiff_t *taps, const float *w, int tap_count, int n,
                                     int32_t bias, float scale, int zero, int lo, int hi, uint8_t *dst) {
    lk_requant16 r = lk_requant16_make(zero, lo, hi);
    __m512i bias_v = _mm512_set1_epi32(bias);
    __m512 scale_v = _mm512_set1_ps(scale);
    for (int i = 0; i < n; i += 16) {
        __mmask16 mask = mask16(n - i);
        __m512 acc = _mm512_setzero_ps();
        for (int t = 0; t < tap_count; t++) {
            __m512 x = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, base + taps[t] + i)));
            acc = _mm512_fmadd_ps(_mm512_set1_ps(w[t]), x, acc);
        }
        _mm_mask_storeu_epi8(dst + i, mask, lk_requant16_apply(&r, _mm512_cvttps_epi32(acc), bias_v, scale_v));
    }
}

/* stride 2: source bytes (2i, 2i + 1) to even[i] and odd[i], 16 pairs at a time, int8 flipped */
AVX512_TARGET static void split_pairs_avx512(const uint8_t *src, int cols, uint8_t *even, uint8_t *odd, int flip) {
    __m512i flip_v = _mm512_set1_epi32(flip);
    int evens = (cols + 1) / 2, odds = cols / 2;
    for (int i = 0; i < evens; i += 16) {
        int bytes = LK_MIN(32, cols - 2 * i);
        __mmask32 load = (__mmask32)(bytes >= 32 ? 0xffffffffu : (1u << bytes) - 1u);
        __m512i pairs = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi8(load, src + 2 * i));
        __m512i e = _mm512_xor_si512(_mm512_and_si512(pairs, _mm512_set1_epi32(0xff)), flip_v);
        __m512i o = _mm512_xor_si512(_mm512_srli_epi32(pairs, 8), flip_v);
        _mm_mask_storeu_epi8(even + i, mask16(evens - i), _mm512_cvtepi32_epi8(e));
        if (odds > i) _mm_mask_storeu_epi8(odd + i, mask16(odds - i), _mm512_cvtepi32_epi8(o));
    }
}
#else
static int avx512_available(void) { return 0; }
static void run_avx512(const uint8_t *base, const ptrdiff_t *taps, const float *w, int tap_count, int n, int32_t bias,
                       float scale, int zero, int lo, int hi, uint8_t *dst) {
    (void)base, (void)taps, (void)w, (void)tap_count, (void)n, (void)bias, (void)scale, (void)zero, (void)lo, (void)hi,
        (void)dst;
}
static void split_pairs_avx512(const uint8_t *src, int cols, uint8_t *even, uint8_t *odd, int flip) {
    (void)src, (void)cols, (void)even, (void)odd, (void)flip;
}
#endif

/* n outputs from base + taps[t] + i: the AVX-512 run, or the portable loops over an accumulator row */
static void run_outputs(const qdw_job *j, const uint8_t *base, const ptrdiff_t *taps, const float *w, int n, int ch,
                        float *acc, uint8_t *dst) {
    const lk_qconv2d *p = j->p;
    int tap_count = p->kh * p->kw;
    if (j->avx512) {
        run_avx512(base, taps, w, tap_count, n, j->bias[ch], j->scale[ch], p->y_zero, p->y_lo, p->y_hi, dst);
        return;
    }
    for (int first = 0; first < n; first += QDW_CHUNK) {
        int count = LK_MIN(QDW_CHUNK, n - first);
        memset(acc, 0, (size_t)count * sizeof *acc);
        for (int t = 0; t < tap_count; t++) accumulate_run(acc, base + taps[t] + first, count, w[t]);
        requantize_run(acc, dst + first, count, j->bias[ch], j->scale[ch], p->y_zero, p->y_lo, p->y_hi);
    }
}

/* offset, in the phase planes, of the first byte tap (ky, kx) reads for output (0, 0) */
static ptrdiff_t tap_offset(const qdw_job *j, int ky, int kx) {
    const lk_qconv2d *p = j->p;
    int col = kx * p->dw;
    return (ptrdiff_t)((size_t)(col % p->sw) * (j->hp + 1) * j->wq + (size_t)ky * p->dh * j->wq + col / p->sw);
}

/* sh == 1: all output rows as one flat run over the phase width (position oy * wq + ox; the wq - ow extra
 * columns are computed and dropped); sh > 1: row by row (contiguous in the phase planes too) */
static void compute_plane(const qdw_job *j, const uint8_t *phases, const ptrdiff_t *taps, const float *w, int ch,
                          uint8_t *out, float *acc, uint8_t *wide) {
    const lk_qconv2d *p = j->p;
    if (p->sh == 1) {
        run_outputs(j, phases, taps, w, p->oh * j->wq, ch, acc, wide);
        for (int oy = 0; oy < p->oh; oy++) memcpy(out + (size_t)oy * p->ow, wide + (size_t)oy * j->wq, (size_t)p->ow);
        return;
    }
    for (int oy = 0; oy < p->oh; oy++)
        run_outputs(j, phases + (size_t)oy * p->sh * j->wq, taps, w, p->ow, ch, acc, out + (size_t)oy * p->ow);
}

/* The zero-point-padded plane as sw column phases of hp + 1 rows (a flat run reads up to (kw-1)*dw/sw
 * bytes past the last row): padded column px = ix + pad_left goes to phase px % sw, column px / sw. */
static void pad_phases(const qdw_job *j, const uint8_t *src, uint8_t *phases, size_t phase) {
    const lk_qconv2d *p = j->p;
    uint8_t flip = p->x_signed ? 0x80 : 0;
    int cols = LK_MIN(p->w, j->wp - p->pad_left);
    memset(phases, p->x_zero, (size_t)p->sw * phase);
    for (int iy = 0; iy < p->h && iy + p->pad_top < j->hp; iy++) {
        const uint8_t *row = src + (size_t)iy * p->w;
        uint8_t *dst = phases + (size_t)(iy + p->pad_top) * j->wq;
        if (p->sw == 1) {
            uint8_t *d = dst + p->pad_left;
            if (flip)
                for (int ix = 0; ix < cols; ix++) d[ix] = row[ix] ^ flip;
            else
                memcpy(d, row, (size_t)cols);
        } else if (p->sw == 2 && j->avx512) {
            int pl = p->pad_left;
            split_pairs_avx512(row, cols, dst + (size_t)(pl % 2) * phase + pl / 2,
                               dst + (size_t)((pl + 1) % 2) * phase + (pl + 1) / 2, flip);
        } else {
            for (int q = 0; q < p->sw; q++) {
                int ix0 = ((q - p->pad_left) % p->sw + p->sw) % p->sw;
                uint8_t *d = dst + (size_t)q * phase + (ix0 + p->pad_left) / p->sw;
                for (int ix = ix0, k = 0; ix < cols; ix += p->sw, k++) d[k] = row[ix] ^ flip;
            }
        }
    }
}

static void plane_task(void *ctx, size_t index) {
    qdw_job *j = ctx;
    const lk_qconv2d *p = j->p;
    int ch = (int)(index % (size_t)p->c);
    size_t image = index / (size_t)p->c;
    /* the phases, the portable loops' accumulators, the float weights and tap offsets, and (sh == 1) the
     * requantised wide rows */
    size_t phase = (size_t)(j->hp + 1) * j->wq, phases_bytes = ((size_t)p->sw * phase + 63) & ~(size_t)63;
    size_t taps = (size_t)p->kh * p->kw, wide = p->sh == 1 ? (size_t)p->oh * j->wq : 0;
    uint8_t *phases = lk_scratch(0, phases_bytes + (QDW_CHUNK + taps) * sizeof(float) + taps * sizeof(ptrdiff_t) +
                                        wide + 8);
    if (!phases) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    float *acc = (float *)(phases + phases_bytes), *w = acc + QDW_CHUNK;
    ptrdiff_t *offsets = (ptrdiff_t *)(((uintptr_t)(w + taps) + 7) & ~(uintptr_t)7);
    pad_phases(j, j->x + (image * p->c + ch) * (size_t)p->h * p->w, phases, phase);
    for (int ky = 0; ky < p->kh; ky++)
        for (int kx = 0; kx < p->kw; kx++) {
            w[ky * p->kw + kx] = (float)j->w[((size_t)ch * p->kh + ky) * p->kw + kx];
            offsets[ky * p->kw + kx] = tap_offset(j, ky, kx);
        }
    compute_plane(j, phases, offsets, w, ch, j->y + (image * p->c + ch) * (size_t)p->oh * p->ow, acc,
                  (uint8_t *)(offsets + taps));
}

int lk_qdwconv2d_u8s8(const lk_qconv2d *p, const void *x, const int8_t *w, const int32_t *bias,
                      const float *scale, void *y, lk_pool *pool) {
    if (!lk_qdwconv_valid(p)) return LK_E_ARG;
    qdw_job j = {.p = p, .x = x, .w = w, .bias = bias, .scale = scale, .y = y};
    j.hp = (int)lk_qconv_span(p->oh, p->sh, p->kh, p->dh);
    j.wp = (int)lk_qconv_span(p->ow, p->sw, p->kw, p->dw);
    j.wq = (j.wp + p->sw - 1) / p->sw;
    j.avx512 = !lk_qconv_portable_forced() && avx512_available();
    lk_parallel_for(pool, (size_t)p->n * p->c, plane_task, &j);
    return j.failed ? LK_E_NOMEM : LK_OK;
}
