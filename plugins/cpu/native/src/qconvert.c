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

static void quantize_task(void *ctx, size_t index) {
    const qconvert_job *j = ctx;
    int64_t n, first = task_range(&j->tasks, index, &n);
    quantize_run((const float *)j->x + first, (uint8_t *)j->y + first, n, j->scale, j->zero, j->lo, j->hi);
}

static void dequantize_task(void *ctx, size_t index) {
    const qconvert_job *j = ctx;
    int64_t n, first = task_range(&j->tasks, index, &n);
    dequantize_run((const uint8_t *)j->x + first, (float *)j->y + first, n, j->x_signed, j->scale, j->zero);
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
    qconvert_job j = {.x = x, .y = y, .scale = scale, .zero = zero, .lo = lo, .hi = hi};
    lk_parallel_for(pool, split(pool, count, &j.tasks), quantize_task, &j);
    return LK_OK;
}

int lk_dequantize_f32(int64_t count, const void *x, int x_signed, float scale, int zero, float *y, lk_pool *pool) {
    if (count < 0 || (x_signed != 0 && x_signed != 1)) return LK_E_ARG;
    qconvert_job j = {.x = x, .y = y, .scale = scale, .zero = zero, .x_signed = x_signed};
    lk_parallel_for(pool, split(pool, count, &j.tasks), dequantize_task, &j);
    return LK_OK;
}

#define QADD_BLOCK 1024 /* floats of each operand on the stack at a time */

typedef struct {
    task_split tasks;
    const lk_qadd *p;
    const uint8_t *a, *b;
    uint8_t *y;
} qadd_job;

static void qadd_task(void *ctx, size_t index) {
    const qadd_job *j = ctx;
    const lk_qadd *p = j->p;
    int64_t count, first = task_range(&j->tasks, index, &count), last = first + count;
    float fa[QADD_BLOCK], fb[QADD_BLOCK];
    for (int64_t i = first; i < last; i += QADD_BLOCK) {
        int64_t n = LK_MIN(QADD_BLOCK, last - i);
        dequantize_run(j->a + i, fa, n, p->a_signed, p->a_scale, p->a_zero);
        dequantize_run(j->b + i, fb, n, p->b_signed, p->b_scale, p->b_zero);
        for (int64_t k = 0; k < n; k++) fa[k] = fa[k] + fb[k];
        if (p->act.kind != LK_ACT_NONE) lk_activate(fa, (size_t)n, &p->act);
        quantize_run(fa, j->y + i, n, p->y_scale, p->y_zero, p->y_lo, p->y_hi);
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
    qadd_job j = {.p = p, .a = a, .b = b, .y = y};
    lk_parallel_for(pool, split(pool, p->count, &j.tasks), qadd_task, &j);
    return LK_OK;
}
