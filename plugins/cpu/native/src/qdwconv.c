/*
 * Quantised (int8) depthwise convolution, NCHW (see litert_qkernels.h).
 *
 * One task per (image, channel) plane: the plane is copied into a zero-point-padded buffer (int8
 * flipped to uint8), widened to float32 and split into stride_w column phases, in which every tap reads
 * consecutive output columns from consecutive elements; the taps then accumulate (exactly, see
 * accumulate_run) over long contiguous runs (loops the compiler vectorises in its per-ISA clones), and
 * are requantised: with stride_h 1 all rows as one flat run (rows of 7 or 14 would leave an AVX-512 loop
 * nothing but its scalar tail), else row by row.
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
    int avx512;     /* run_avx512 instead of the portable loops */
    int failed;
} qdw_job;

/* The products accumulate in float32, one FMA per tap and 16 outputs: uint8 x int8 products and their
 * sums stay integers below 2^24 for kernels of up to 512 taps (checked when the step is added), so float
 * is exact here and the int32 bias is added after. */
LK_HOT static void widen_run(float *restrict dst, const uint8_t *restrict src, int n) {
    for (int i = 0; i < n; i++) dst[i] = (float)src[i];
}

LK_HOT static void accumulate_run(float *restrict acc, const float *restrict src, int n, float w) {
    for (int i = 0; i < n; i++) acc[i] += w * src[i];
}

LK_HOT static void requantize_run(const float *restrict acc, uint8_t *restrict dst, int n, int32_t bias, float scale,
                                  int zero, int lo, int hi) {
    for (int i = 0; i < n; i++) dst[i] = (uint8_t)lk_requantize((int32_t)acc[i] + bias, scale, zero, lo, hi);
}

int lk_qdwconv_valid(const lk_qconv2d *p) {
    return lk_qconv_valid(p) && p->groups == p->c && p->m == p->c && !p->channels_last && p->kh * p->kw <= 512;
}

#define QDW_CHUNK 1024

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl")))

static int avx512_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

/* n outputs at once, 16 per vector: all taps accumulate in a register (no int32 row to memory and back),
 * then bias, scale, round to nearest even, zero point, clamp, bytes out */
AVX512_TARGET static void run_avx512(const float *base, const ptrdiff_t *taps, const float *w, int tap_count, int n,
                                     int32_t bias, float scale, int zero, int lo, int hi, uint8_t *dst) {
    __m512i bias_v = _mm512_set1_epi32(bias), zero_v = _mm512_set1_epi32(zero);
    __m512i lo_v = _mm512_set1_epi32(lo), hi_v = _mm512_set1_epi32(hi);
    __m512 scale_v = _mm512_set1_ps(scale), min_f = _mm512_set1_ps(-65536.0f), max_f = _mm512_set1_ps(65536.0f);
    for (int i = 0; i < n; i += 16) {
        __mmask16 mask = (__mmask16)(n - i >= 16 ? 0xffffu : (1u << (n - i)) - 1u);
        __m512 acc = _mm512_setzero_ps();
        for (int t = 0; t < tap_count; t++)
            acc = _mm512_fmadd_ps(_mm512_set1_ps(w[t]), _mm512_maskz_loadu_ps(mask, base + taps[t] + i), acc);
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_cvttps_epi32(acc), bias_v)), scale_v);
        f = _mm512_min_ps(_mm512_max_ps(f, min_f), max_f);
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), zero_v);
        q = _mm512_min_epi32(_mm512_max_epi32(q, lo_v), hi_v);
        _mm_mask_storeu_epi8(dst + i, mask, _mm512_cvtepi32_epi8(q));
    }
}
/* dst[0, n) = v */
AVX512_TARGET static void fill_avx512(float *dst, int n, float v) {
    __m512 value = _mm512_set1_ps(v);
    for (int i = 0; i < n; i += 16)
        _mm512_mask_storeu_ps(dst + i, (__mmask16)(n - i >= 16 ? 0xffffu : (1u << (n - i)) - 1u), value);
}

/* One input row into the float phase rows (phase q row at phase_rows + q * phase): padded column
 * px = ix + pad_left goes to phase px % sw, column px / sw; the rest of each row is the zero point.
 * sw 1 and 2 only (the strides depthwise layers use). */
AVX512_TARGET static void phase_row_avx512(const qdw_job *j, const uint8_t *src, float *phase_rows, size_t phase) {
    const lk_qconv2d *p = j->p;
    int cols = LK_MIN(p->w, j->wp - p->pad_left);
    __m512i flip = _mm512_set1_epi32(p->x_signed ? 0x80 : 0);
    if (p->sw == 1) {  /* the padding columns only, then the row */
        fill_avx512(phase_rows, p->pad_left, (float)p->x_zero);
        fill_avx512(phase_rows + p->pad_left + cols, j->wq - p->pad_left - cols, (float)p->x_zero);
        float *dst = phase_rows + p->pad_left;
        for (int i = 0; i < cols; i += 16) {
            __mmask16 mask = (__mmask16)(cols - i >= 16 ? 0xffffu : (1u << (cols - i)) - 1u);
            __m512i v = _mm512_xor_si512(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, src + i)), flip);
            _mm512_mask_storeu_ps(dst + i, mask, _mm512_cvtepi32_ps(v));
        }
        return;
    }
    /* sw == 2: source pairs (2i, 2i + 1) as 16-bit lanes, split into the even and odd byte */
    for (int q = 0; q < p->sw; q++) fill_avx512(phase_rows + q * phase, j->wq, (float)p->x_zero);
    int pl = p->pad_left;
    float *even = phase_rows + (size_t)(pl % 2) * phase + pl / 2;
    float *odd = phase_rows + (size_t)((pl + 1) % 2) * phase + (pl + 1) / 2;
    int evens = (cols + 1) / 2, odds = cols / 2;
    for (int i = 0; i < evens; i += 16) {
        int bytes = LK_MIN(32, cols - 2 * i);
        __mmask32 load = (__mmask32)(bytes >= 32 ? 0xffffffffu : (1u << bytes) - 1u);
        __m512i pairs = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi8(load, src + 2 * i));
        __m512i e = _mm512_xor_si512(_mm512_and_si512(pairs, _mm512_set1_epi32(0xff)), flip);
        __m512i o = _mm512_xor_si512(_mm512_srli_epi32(pairs, 8), flip);
        int ne = LK_MIN(16, evens - i), no = LK_MIN(16, odds - i);
        _mm512_mask_storeu_ps(even + i, (__mmask16)(ne >= 16 ? 0xffffu : (1u << ne) - 1u), _mm512_cvtepi32_ps(e));
        if (no > 0)
            _mm512_mask_storeu_ps(odd + i, (__mmask16)(no >= 16 ? 0xffffu : (1u << no) - 1u), _mm512_cvtepi32_ps(o));
    }
}

#else
static int avx512_available(void) { return 0; }
static void run_avx512(const float *base, const ptrdiff_t *taps, const float *w, int tap_count, int n, int32_t bias,
                       float scale, int zero, int lo, int hi, uint8_t *dst) {
    (void)base, (void)taps, (void)w, (void)tap_count, (void)n, (void)bias, (void)scale, (void)zero, (void)lo, (void)hi,
        (void)dst;
}
static void fill_avx512(float *dst, int n, float v) { (void)dst, (void)n, (void)v; }
static void phase_row_avx512(const qdw_job *j, const uint8_t *src, float *phase_rows, size_t phase) {
    (void)j, (void)src, (void)phase_rows, (void)phase;
}
#endif

/* n outputs from base + taps[t] + i: the AVX-512 run, or the portable loops over an accumulator row */
static void run_outputs(const qdw_job *j, const float *base, const ptrdiff_t *taps, const float *w, int n, int ch,
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

 /* flat positions accumulated at a time (int32, in L1) */

/* offset, in the phase planes, of the first element tap (ky, kx) reads for output (0, 0) */
static ptrdiff_t tap_offset(const qdw_job *j, int ky, int kx) {
    const lk_qconv2d *p = j->p;
    int col = kx * p->dw;
    return (ptrdiff_t)((size_t)(col % p->sw) * (j->hp + 1) * j->wq + (size_t)ky * p->dh * j->wq + col / p->sw);
}

/* sh == 1: all output rows as one flat run over the phase width (position oy * wq + ox; the wq - ow extra
 * columns are computed and dropped), so the vector loops are long even on 7x7 maps; sh > 1: row by row
 * (contiguous in the phase planes too) */
static void compute_plane(const qdw_job *j, const float *phases, const ptrdiff_t *taps, const float *w, int ch,
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

/* the portable copy: zero-point-padded bytes (int8 flipped), then widened into the column phases */
static void pad_plane(const qdw_job *j, const uint8_t *src, uint8_t *padded, float *phases, size_t phase) {
    const lk_qconv2d *p = j->p;
    size_t padded_bytes = (size_t)j->hp * j->wp;
    memset(padded, p->x_zero, padded_bytes);
    int cols = LK_MIN(p->w, j->wp - p->pad_left);
    for (int iy = 0; iy < p->h && iy + p->pad_top < j->hp; iy++) {
        uint8_t *d = padded + (size_t)(iy + p->pad_top) * j->wp + p->pad_left;
        const uint8_t *row = src + (size_t)iy * p->w;
        if (p->x_signed)
            for (int ix = 0; ix < cols; ix++) d[ix] = row[ix] ^ 0x80;
        else
            memcpy(d, row, (size_t)cols);
    }
    /* column phase q holds padded columns q, q + sw, ...: with sw == 1 one widening pass */
    if (p->sw == 1) {
        widen_run(phases, padded, j->hp * j->wp);
        for (size_t i = (size_t)j->hp * j->wp; i < phase; i++) phases[i] = (float)p->x_zero;
    } else {
        for (int q = 0; q < p->sw; q++) {
            float *dst = phases + (size_t)q * phase;
            for (int py = 0; py < j->hp; py++) {
                const uint8_t *row = padded + (size_t)py * j->wp;
                int k = 0;
                for (int px = q; px < j->wp; px += p->sw, k++) dst[(size_t)py * j->wq + k] = (float)row[px];
                for (; k < j->wq; k++) dst[(size_t)py * j->wq + k] = (float)p->x_zero;
            }
            for (int k = 0; k < j->wq; k++) dst[(size_t)j->hp * j->wq + k] = (float)p->x_zero;
        }
    }
}

static void plane_task(void *ctx, size_t index) {
    qdw_job *j = ctx;
    const lk_qconv2d *p = j->p;
    int ch = (int)(index % (size_t)p->c);
    size_t image = index / (size_t)p->c;
    int flat = p->sh == 1;
    /* the padded plane as bytes, then as float32 split into sw column phases of hp + 1 rows (a flat run
     * reads past the last row), the accumulators, and (flat) the requantised wide rows */
    size_t padded_bytes = ((size_t)j->hp * j->wp + 63) & ~(size_t)63;
    size_t phase = (size_t)(j->hp + 1) * j->wq, phases_n = ((size_t)p->sw * phase + 15) & ~(size_t)15;
    size_t accs = QDW_CHUNK, taps = (size_t)p->kh * p->kw;
    size_t wide = flat ? (size_t)p->oh * j->wq : 0;
    uint8_t *padded = lk_scratch(0, padded_bytes + (phases_n + accs + taps) * sizeof(float) + taps * sizeof(ptrdiff_t) +
                                        wide + 8);
    if (!padded) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    float *phases = (float *)(padded + padded_bytes), *acc = phases + phases_n;
    const uint8_t *src = j->x + (image * p->c + ch) * (size_t)p->h * p->w;
    if (j->avx512 && p->sw <= 2) {
        for (int py = 0; py <= j->hp; py++) {  /* rows of the padding (and the spare row): the zero point */
            int iy = py - p->pad_top;
            if (iy >= 0 && iy < p->h && py < j->hp)
                phase_row_avx512(j, src + (size_t)iy * p->w, phases + (size_t)py * j->wq, phase);
            else
                for (int q = 0; q < p->sw; q++) fill_avx512(phases + q * phase + (size_t)py * j->wq, j->wq, (float)p->x_zero);
        }
    } else {
        pad_plane(j, src, padded, phases, phase);
    }
    float *w = acc + accs;
    ptrdiff_t *offsets = (ptrdiff_t *)(((uintptr_t)(w + taps) + 7) & ~(uintptr_t)7);
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
