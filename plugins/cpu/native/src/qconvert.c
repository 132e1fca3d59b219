/* Quantisation and dequantisation of float32 tensors, per tensor, and the QDQ residual Add built from them
 * (see litert_qkernels.h). */
#include "litert_qkernels.h"
#include "lk_internal.h"
#include "qcommon.h"

#define QCONVERT_MIN_TASK 8192 /* elements: below this a task costs more to hand out than to run */

/* An elementwise pass cut into tasks (by split): count elements, chunk per task, the last task's shorter */
typedef struct {
    int64_t count, chunk;
} task_split;

/* the first element of task `index`, and in *n how many it has */
static inline int64_t task_range(const task_split *s, size_t index, int64_t *n) {
    int64_t first = (int64_t)index * s->chunk;
    *n = LK_MIN(s->chunk, s->count - first);
    return first;
}

typedef struct {
    task_split tasks;
    const void *x;
    void *y;
    float scale;
    int zero, lo, hi, x_signed;
    int fast; /* fast_paths() */
} qconvert_job;

LK_HOT static void quantize_run(const float *restrict x, uint8_t *restrict y, int64_t n, float scale, int zero,
                                int lo, int hi) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] / scale;
        v = v != v ? 0.0f : (v < -65536.0f ? -65536.0f : (v > 65536.0f ? 65536.0f : v));
        int q = (int)rintf(v) + zero;
        y[i] = (uint8_t)(q < lo ? lo : (q > hi ? hi : q));
    }
}

LK_HOT static void dequantize_run(const uint8_t *restrict x, float *restrict y, int64_t n, int x_signed, float scale,
                                  int zero) {
    if (x_signed)
        for (int64_t i = 0; i < n; i++) y[i] = (float)((int32_t)(int8_t)x[i] - zero) * scale;
    else
        for (int64_t i = 0; i < n; i++) y[i] = (float)((int32_t)x[i] - zero) * scale;
}

#if defined(__x86_64__) && defined(__GNUC__)
static int avx512_ok(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

static inline __mmask16 tail16(int64_t left) { return (__mmask16)(left >= 16 ? 0xffffu : (1u << left) - 1u); }

/* quantize_run 16 at a time: NaN to 0 and the clamp to [lo, hi] before rounding, as [lo - zero, hi - zero]
 * (integers: rounding and clamping commute, the same bytes) */
LK_Q_AVX512 static void quantize_avx512(const float *x, uint8_t *y, int64_t n, float scale, int zero, int lo, int hi) {
    __m512 s = _mm512_set1_ps(scale), low = _mm512_set1_ps((float)(lo - zero)), high = _mm512_set1_ps((float)(hi - zero));
    __m512i z = _mm512_set1_epi32(zero);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail16(n - i);
        __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(m, x + i), s);
        v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
        v = _mm512_min_ps(_mm512_max_ps(v, low), high);
        _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), z)));
    }
}

/* dequantize_run 16 at a time: the same subtraction, conversion and product */
LK_Q_AVX512 static void dequantize_avx512(const uint8_t *x, float *y, int64_t n, int x_signed, float scale, int zero) {
    __m512 s = _mm512_set1_ps(scale);
    __m512i z = _mm512_set1_epi32(zero);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail16(n - i);
        __m128i bytes = _mm_maskz_loadu_epi8(m, x + i);
        __m512i q = x_signed ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, z)), s));
    }
}
#else
static int avx512_ok(void) { return 0; }
static void quantize_avx512(const float *x, uint8_t *y, int64_t n, float scale, int zero, int lo, int hi) {
    quantize_run(x, y, n, scale, zero, lo, hi);
}
static void dequantize_avx512(const uint8_t *x, float *y, int64_t n, int x_signed, float scale, int zero) {
    dequantize_run(x, y, n, x_signed, scale, zero);
}
#endif

/* whether the conversions take their AVX-512 loops (the compiler's versions of the C loops took 2-4x as long:
 * int8 MobileNetV2's input QuantizeLinear 0.058 ms against onnxruntime's 0.022) */
static int fast_paths(void) { return !lk_qconv_portable_forced() && avx512_ok(); }

static void quantize_any(int fast, const float *x, uint8_t *y, int64_t n, float scale, int zero, int lo, int hi) {
    if (fast)
        quantize_avx512(x, y, n, scale, zero, lo, hi);
    else
        quantize_run(x, y, n, scale, zero, lo, hi);
}

static void dequantize_any(int fast, const uint8_t *x, float *y, int64_t n, int x_signed, float scale, int zero) {
    if (fast)
        dequantize_avx512(x, y, n, x_signed, scale, zero);
    else
        dequantize_run(x, y, n, x_signed, scale, zero);
}

static void quantize_task(void *ctx, size_t index) {
    const qconvert_job *j = ctx;
    int64_t n, first = task_range(&j->tasks, index, &n);
    quantize_any(j->fast, (const float *)j->x + first, (uint8_t *)j->y + first, n, j->scale, j->zero, j->lo, j->hi);
}

static void dequantize_task(void *ctx, size_t index) {
    const qconvert_job *j = ctx;
    int64_t n, first = task_range(&j->tasks, index, &n);
    dequantize_any(j->fast, (const uint8_t *)j->x + first, (float *)j->y + first, n, j->x_signed, j->scale, j->zero);
}

/* elements per task (a multiple of 64, so tasks share no cache line of their uint8 side) and the task count:
 * a few tasks per thread, none under QCONVERT_MIN_TASK elements */
static size_t split(const lk_pool *pool, int64_t count, task_split *s) {
    size_t tasks = lk_task_count(pool, (size_t)count, QCONVERT_MIN_TASK);
    s->count = count;
    s->chunk = (((count + (int64_t)tasks - 1) / (int64_t)tasks) + 63) & ~(int64_t)63;
    if (s->chunk < 64) s->chunk = 64;
    return (size_t)((count + s->chunk - 1) / s->chunk);
}

int lk_quantize_f32(int64_t count, const float *x, float scale, int zero, int lo, int hi, void *y, lk_pool *pool) {
    if (count < 0 || !(scale > 0.0f) || lo > hi || !((lo >= 0 && hi <= 255) || (lo >= -128 && hi <= 127)))
        return LK_E_ARG;
    qconvert_job j = {.x = x, .y = y, .scale = scale, .zero = zero, .lo = lo, .hi = hi, .fast = fast_paths()};
    lk_parallel_for(pool, split(pool, count, &j.tasks), quantize_task, &j);
    return LK_OK;
}

int lk_dequantize_f32(int64_t count, const void *x, int x_signed, float scale, int zero, float *y, lk_pool *pool) {
    if (count < 0 || (x_signed != 0 && x_signed != 1)) return LK_E_ARG;
    qconvert_job j = {.x = x, .y = y, .scale = scale, .zero = zero, .x_signed = x_signed, .fast = fast_paths()};
    lk_parallel_for(pool, split(pool, count, &j.tasks), dequantize_task, &j);
    return LK_OK;
}

#define QADD_BLOCK 1024 /* floats of each operand on the stack at a time */

typedef struct {
    task_split tasks;
    const lk_qadd *p;
    const uint8_t *a, *b;
    uint8_t *y;
    int fast; /* fast_paths() */
} qadd_job;

static void qadd_task(void *ctx, size_t index) {
    const qadd_job *j = ctx;
    const lk_qadd *p = j->p;
    int64_t count, first = task_range(&j->tasks, index, &count), last = first + count;
    float fa[QADD_BLOCK], fb[QADD_BLOCK];
    for (int64_t i = first; i < last; i += QADD_BLOCK) {
        int64_t n = LK_MIN(QADD_BLOCK, last - i);
        dequantize_any(j->fast, j->a + i, fa, n, p->a_signed, p->a_scale, p->a_zero);
        dequantize_any(j->fast, j->b + i, fb, n, p->b_signed, p->b_scale, p->b_zero);
        for (int64_t k = 0; k < n; k++) fa[k] = fa[k] + fb[k];
        if (p->act.kind != LK_ACT_NONE) lk_activate(fa, (size_t)n, &p->act);
        quantize_any(j->fast, fa, j->y + i, n, p->y_scale, p->y_zero, p->y_lo, p->y_hi);
    }
}

int lk_qadd_valid(const lk_qadd *p) {
    return p->count >= 0 && p->y_scale > 0.0f && p->y_lo <= p->y_hi &&
           ((p->y_lo >= 0 && p->y_hi <= 255) || (p->y_lo >= -128 && p->y_hi <= 127)) &&
           (p->a_signed == 0 || p->a_signed == 1) && (p->b_signed == 0 || p->b_signed == 1) && p->act.kind >= 0 &&
           p->act.kind < LK_ACT_COUNT;
}

int lk_qadd_u8(const lk_qadd *p, const void *a, const void *b, void *y, lk_pool *pool) {
    if (!lk_qadd_valid(p)) return LK_E_ARG;
    qadd_job j = {.p = p, .a = a, .b = b, .y = y, .fast = fast_paths()};
    lk_parallel_for(pool, split(pool, p->count, &j.tasks), qadd_task, &j);
    return LK_OK;
}
