/* Softmax / LogSoftmax, LayerNormalization and InstanceNormalization. */
#include <math.h>
#include <string.h>

#include "lk_internal.h"

typedef float v16 __attribute__((vector_size(64), aligned(4)));

/* sum of x[0:n] with 16 partial sums (vectorises; more accurate than one) */
LK_HOT static double sum16(const float *x, int n) {
    v16 acc = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 v;
        memcpy(&v, x + i, sizeof v);
        acc += v;
    }
    double s = 0.0;
    for (int l = 0; l < 16; l++) s += acc[l];
    for (; i < n; i++) s += x[i];
    return s;
}

LK_HOT static double sqdiff16(const float *x, int n, float mean) {
    v16 acc = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 v;
        memcpy(&v, x + i, sizeof v);
        v -= mean;
        acc += v * v;
    }
    double s = 0.0;
    for (int l = 0; l < 16; l++) s += acc[l];
    for (; i < n; i++) s += (double)(x[i] - mean) * (x[i] - mean);
    return s;
}

typedef struct {
    int outer, axis, inner, log;
    const float *x;
    float *y;
    size_t units, per_task;
} softmax_job;

typedef int v16i __attribute__((vector_size(64), aligned(4)));

/* max of x[0:n] (NaNs skipped, as the scalar compare does) with 16 lanes:
 * a float max reduction does not vectorise by itself without -ffast-math */
LK_HOT static float max16(const float *x, int n) {
    v16 acc = (v16){0} - INFINITY;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 v;
        memcpy(&v, x + i, sizeof v);
        v16i take = v > acc;
        acc = (v16)(((v16i)v & take) | ((v16i)acc & ~take));
    }
    float m = -INFINITY;
    for (int l = 0; l < 16; l++) m = acc[l] > m ? acc[l] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* lk_expf on 16 lanes with fused multiply-adds (the same range reduction and polynomial) */
__attribute__((target("avx512f"), always_inline)) static inline __m512 exp16(__m512 x) {
    __mmask16 underflow = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_set1_ps(88.7f), _mm512_max_ps(_mm512_set1_ps(-87.3f), x)); /* a NaN stays NaN */
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(12582912.0f));
    __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(12582912.0f));
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512i scale = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps((__mmask16)~underflow, p, _mm512_castsi512_ps(scale));
}

/* softmax_row on 16 lanes with masked tails (a 197-wide attention row left 5 scalar exps per pass to the C
 * loop): the max with NaNs skipped, the exps and their 16 partial sums in one pass, then the scaling */
__attribute__((target("avx512f"))) static void softmax_row_avx512(int n, int log, const float *x, float *y) {
    __m512 acc = _mm512_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        acc = _mm512_mask_max_ps(acc, k, _mm512_maskz_loadu_ps(k, x + i), acc); /* MAXPS keeps acc on NaN */
    }
    float m = _mm512_reduce_max_ps(acc);
    if (m == -INFINITY || m != m) m = 0.0f;
    const __m512 mv = _mm512_set1_ps(m);
    __m512 sum = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), mv));
        sum = _mm512_mask_add_ps(sum, k, sum, e);
        if (!log) _mm512_mask_storeu_ps(y + i, k, e);
    }
    float lanes[16];
    _mm512_storeu_ps(lanes, sum);
    double s = 0.0;
    for (int l = 0; l < 16; l++) s += lanes[l];
    if (log) {
        const __m512 ls = _mm512_set1_ps((float)logf((float)s));
        for (int i = 0; i < n; i += 16) {
            __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
            _mm512_mask_storeu_ps(y + i, k, _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), mv), ls));
        }
        return;
    }
    const __m512 inv = _mm512_set1_ps((float)(1.0 / s));
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, y + i), inv));
    }
}
#endif

LK_HOT static void softmax_row(int n, int log, const float *x, float *y) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (lk_conv_packed_available()) {
        softmax_row_avx512(n, log, x, y);
        return;
    }
#endif
    float m = max16(x, n);
    if (m == -INFINITY || m != m) m = 0.0f;
    for (int i = 0; i < n; i++) y[i] = lk_expf(x[i] - m);
    double s = sum16(y, n);
    if (log) {
        float ls = (float)logf((float)s);
        for (int i = 0; i < n; i++) y[i] = x[i] - m - ls;
    } else {
        float inv = (float)(1.0 / s);
        for (int i = 0; i < n; i++) y[i] *= inv;
    }
}

/* softmax over a strided axis: `inner` independent columns processed together */
LK_HOT static void softmax_cols(int n, int inner, int log, const float *x, float *y) {
    float *m = lk_scratch(1, (size_t)inner * 2 * sizeof(float));
    if (!m) return;
    float *s = m + inner;
    for (int j = 0; j < inner; j++) m[j] = -INFINITY, s[j] = 0.0f;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < inner; j++) {
            float v = x[(size_t)i * inner + j];
            m[j] = v > m[j] ? v : m[j];
        }
    for (int j = 0; j < inner; j++)
        if (m[j] == -INFINITY || m[j] != m[j]) m[j] = 0.0f;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < inner; j++) {
            float e = lk_expf(x[(size_t)i * inner + j] - m[j]);
            y[(size_t)i * inner + j] = e;
            s[j] += e;
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < inner; j++) {
            size_t o = (size_t)i * inner + j;
            y[o] = log ? x[o] - m[j] - logf(s[j]) : y[o] / s[j];
        }
}

static void softmax_task(void *arg, size_t t) {
    const softmax_job *j = arg;
    size_t first = t * j->per_task, last = LK_MIN(first + j->per_task, j->units);
    size_t block = (size_t)j->axis * j->inner;
    for (size_t o = first; o < last; o++) {
        if (j->inner == 1)
            softmax_row(j->axis, j->log, j->x + o * block, j->y + o * block);
        else
            softmax_cols(j->axis, j->inner, j->log, j->x + o * block, j->y + o * block);
    }
}

int lk_softmax_f32(int outer, int axis, int inner, int log, const float *x, float *y, lk_pool *pool) {
    if (outer < 0 || axis < 1 || inner < 1) return LK_E_ARG;
    if (outer == 0) return LK_OK;
    if (inner > 1 && !lk_scratch(1, (size_t)inner * 2 * sizeof(float))) return LK_E_NOMEM;
    size_t tasks = lk_task_count(pool, (size_t)outer * axis * inner, 8192);
    if (tasks > (size_t)outer) tasks = (size_t)outer;
    softmax_job j = {outer, axis, inner, log, x, y, (size_t)outer, ((size_t)outer + tasks - 1) / tasks};
    lk_parallel_for(pool, ((size_t)outer + j.per_task - 1) / j.per_task, softmax_task, &j);
    return LK_OK;
}

typedef struct {
    int rows, size;
    float eps;
    const float *x, *gamma, *beta;
    float *y;
    int channels;   /* instance norm: gamma/beta index = row % channels; 0 for layer norm */
    size_t per_task;
} norm_job;

LK_HOT static void norm_task(void *arg, size_t t) {
    const norm_job *j = arg;
    size_t first = t * j->per_task, last = LK_MIN(first + j->per_task, (size_t)j->rows);
    for (size_t r = first; r < last; r++) {
        const float *x = j->x + r * (size_t)j->size;
        float *y = j->y + r * (size_t)j->size;
        float mean = (float)(sum16(x, j->size) / j->size);
        float var = (float)(sqdiff16(x, j->size, mean) / j->size);
        float inv = 1.0f / sqrtf(var + j->eps);
        if (j->channels) {
            int c = (int)(r % (size_t)j->channels);
            float s = j->gamma[c] * inv, b = (j->beta ? j->beta[c] : 0.0f) - mean * s;
            for (int i = 0; i < j->size; i++) y[i] = x[i] * s + b;
        } else if (j->beta) {
            for (int i = 0; i < j->size; i++) y[i] = (x[i] - mean) * inv * j->gamma[i] + j->beta[i];
        } else {
            for (int i = 0; i < j->size; i++) y[i] = (x[i] - mean) * inv * j->gamma[i];
        }
    }
}

static int run_norm(norm_job *j, lk_pool *pool) {
    if (j->rows < 0 || j->size < 1) return LK_E_ARG;
    if (j->rows == 0) return LK_OK;
    size_t tasks = lk_task_count(pool, (size_t)j->rows * j->size, 8192);
    if (tasks > (size_t)j->rows) tasks = (size_t)j->rows;
    j->per_task = ((size_t)j->rows + tasks - 1) / tasks;
    lk_parallel_for(pool, ((size_t)j->rows + j->per_task - 1) / j->per_task, norm_task, j);
    return LK_OK;
}

int lk_layernorm_f32(int rows, int size, float epsilon, const float *x, const float *gamma, const float *beta,
                     float *y, lk_pool *pool) {
    norm_job j = {rows, size, epsilon, x, gamma, beta, y, 0, 0};
    return run_norm(&j, pool);
}

int lk_instancenorm_f32(int n, int c, int inner, float epsilon, const float *x, const float *gamma,
                        const float *beta, float *y, lk_pool *pool) {
    if (c < 1) return LK_E_ARG;
    norm_job j = {n * c, inner, epsilon, x, gamma, beta, y, c, 0};
    return run_norm(&j, pool);
}

typedef struct {
    int n, c, inner, size;
    float alpha, beta, bias;
    const float *x;
    float *y;
    int tile, tiles;
} lrn_job;

/* y = x / (bias + alpha/size * sum of x^2 over the channel window)^beta */
LK_HOT static void lrn_task(void *arg, size_t t) {
    const lrn_job *j = arg;
    int b = (int)(t / (size_t)j->tiles), tile = (int)(t % (size_t)j->tiles);
    int first = tile * j->tile, count = LK_MIN(j->tile, j->inner - first);
    int lo = (j->size - 1) / 2, hi = j->size - 1 - lo;
    float scale = j->alpha / (float)j->size;
    int quarter = j->beta == 0.75f;
    for (int c = 0; c < j->c; c++) {
        float *restrict y = j->y + ((size_t)b * j->c + c) * j->inner + first;
        const float *restrict x = j->x + ((size_t)b * j->c + c) * j->inner + first;
        for (int i = 0; i < count; i++) y[i] = 0.0f;
        for (int cc = LK_MAX(0, c - lo); cc <= LK_MIN(j->c - 1, c + hi); cc++) {
            const float *restrict xs = j->x + ((size_t)b * j->c + cc) * j->inner + first;
            for (int i = 0; i < count; i++) y[i] += xs[i] * xs[i];
        }
        if (quarter) {
            for (int i = 0; i < count; i++) {
                float v = j->bias + scale * y[i];
                float r = sqrtf(v);
                y[i] = x[i] / (r * sqrtf(r));  /* v^0.75 */
            }
        } else {
            for (int i = 0; i < count; i++) y[i] = x[i] * powf(j->bias + scale * y[i], -j->beta);
        }
    }
}

int lk_lrn_f32(int n, int c, int inner, int size, float alpha, float beta, float bias, const float *x, float *y,
               lk_pool *pool) {
    if (n < 0 || c < 1 || inner < 1 || size < 1) return LK_E_ARG;
    if (n == 0) return LK_OK;
    lrn_job j = {n, c, inner, size, alpha, beta, bias, x, y, 0, 0};
    j.tile = LK_MIN(inner, 1024);
    size_t want = lk_task_count(pool, (size_t)n * c * inner, 1 << 14);
    while ((size_t)n * ((inner + j.tile - 1) / j.tile) < want && j.tile > 64) j.tile /= 2;
    j.tiles = (inner + j.tile - 1) / j.tile;
    lk_parallel_for(pool, (size_t)n * j.tiles, lrn_task, &j);
    return LK_OK;
}
