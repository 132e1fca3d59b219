/* Broadcast binary ops, unary ops and per-channel affine (BatchNormalization). */
#include <math.h>
#include <string.h>

#include "lk_internal.h"

/* one innermost row: out[i] = a[i*sa] op b[i*sb], sa/sb in {0, 1} */
LK_HOT static void binary_row(int op, size_t n, const float *a, int64_t sa, const float *b, int64_t sb,
                              float *out) {
    size_t i;
#define LK_ROW(EXPR)                                                                  \
    if (sa == 1 && sb == 1) {                                                         \
        for (i = 0; i < n; i++) { float x = a[i], y = b[i]; out[i] = (EXPR); }       \
    } else if (sa == 1 && sb == 0) {                                                  \
        float y = b[0];                                                               \
        for (i = 0; i < n; i++) { float x = a[i]; out[i] = (EXPR); }                 \
    } else if (sa == 0 && sb == 1) {                                                  \
        float x = a[0];                                                               \
        for (i = 0; i < n; i++) { float y = b[i]; out[i] = (EXPR); }                 \
    } else {                                                                          \
        for (i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; out[i] = (EXPR); } \
    }
    switch (op) {
    case LK_ADD: LK_ROW(x + y) break;
    case LK_SUB: LK_ROW(x - y) break;
    case LK_MUL: LK_ROW(x * y) break;
    case LK_DIV: LK_ROW(x / y) break;
    case LK_MAX: LK_ROW((x != x || y != y) ? NAN : (x > y ? x : y)) break;
    case LK_MIN: LK_ROW((x != x || y != y) ? NAN : (x < y ? x : y)) break;
    case LK_POW: LK_ROW(powf(x, y)) break;
    default: break;
    }
#undef LK_ROW
}

typedef struct {
    int op;
    const lk_broadcast *bc;
    const float *a, *b;
    float *out;
    const lk_activation *act;
    size_t rows, row_len, rows_per_task;
} binary_job;

static void binary_task(void *arg, size_t t) {
    const binary_job *j = arg;
    const lk_broadcast *bc = j->bc;
    int r = bc->rank;
    size_t first = t * j->rows_per_task, last = LK_MIN(first + j->rows_per_task, j->rows);
    for (size_t row = first; row < last; row++) {
        /* offsets of this row: decompose its index over the outer dims */
        int64_t ao = 0, bo = 0;
        size_t rest = row;
        for (int d = r - 2; d >= 0; d--) {
            int64_t idx = (int64_t)(rest % (size_t)bc->shape[d]);
            rest /= (size_t)bc->shape[d];
            ao += idx * bc->a_strides[d];
            bo += idx * bc->b_strides[d];
        }
        float *o = j->out + row * j->row_len;
        binary_row(j->op, j->row_len, j->a + ao, bc->a_strides[r - 1], j->b + bo, bc->b_strides[r - 1], o);
        if (j->act && j->act->kind != LK_ACT_NONE) lk_activate(o, j->row_len, j->act);
    }
}

int lk_binary_f32(int op, const lk_broadcast *bc, const float *a, const float *b, float *out,
                  const lk_activation *act, lk_pool *pool) {
    if (op < 0 || op >= LK_BINARY_COUNT || !bc || bc->rank < 1 || bc->rank > LK_MAX_DIMS) return LK_E_ARG;
    int r = bc->rank;
    if ((bc->a_strides[r - 1] != 0 && bc->a_strides[r - 1] != 1) ||
        (bc->b_strides[r - 1] != 0 && bc->b_strides[r - 1] != 1))
        return LK_E_ARG;
    size_t rows = 1;
    for (int d = 0; d < r - 1; d++) rows *= (size_t)bc->shape[d];
    size_t row_len = (size_t)bc->shape[r - 1];
    if (rows == 0 || row_len == 0) return LK_OK;
    binary_job j = {op, bc, a, b, out, act, rows, row_len, 1};
    size_t tasks = lk_task_count(pool, rows * row_len, 16384);
    if (tasks > rows) tasks = rows;
    j.rows_per_task = (rows + tasks - 1) / tasks;
    tasks = (rows + j.rows_per_task - 1) / j.rows_per_task;
    lk_parallel_for(pool, tasks, binary_task, &j);
    return LK_OK;
}

typedef struct {
    const lk_activation *act;
    const float *x;
    float *y;
    size_t n, chunk;
} unary_job;

static void unary_task(void *arg, size_t t) {
    const unary_job *j = arg;
    size_t first = t * j->chunk, last = LK_MIN(first + j->chunk, j->n);
    lk_activate_to(j->x + first, j->y + first, last - first, j->act);
}

int lk_unary_f32(const lk_activation *act, const float *x, float *y, size_t n, lk_pool *pool) {
    if (!act || act->kind < 0 || act->kind >= LK_ACT_COUNT) return LK_E_ARG;
    if (n == 0) return LK_OK;
    size_t tasks = lk_task_count(pool, n, 16384);
    unary_job j = {act, x, y, n, ((n + tasks - 1) / tasks + 15) & ~(size_t)15};
    tasks = (n + j.chunk - 1) / j.chunk;
    lk_parallel_for(pool, tasks, unary_task, &j);
    return LK_OK;
}

typedef struct {
    int outer, channels, inner;
    const float *x, *scale, *shift;
    float *y;
    const lk_activation *act;
    size_t planes, per_task;
} affine_job;

LK_HOT static void affine_task(void *arg, size_t t) {
    const affine_job *j = arg;
    size_t first = t * j->per_task, last = LK_MIN(first + j->per_task, j->planes);
    for (size_t plane = first; plane < last; plane++) {
        size_t c = plane % (size_t)j->channels;
        const float *x = j->x + plane * (size_t)j->inner;
        float *y = j->y + plane * (size_t)j->inner;
        float s = j->scale[c], b = j->shift[c];
        for (int i = 0; i < j->inner; i++) y[i] = x[i] * s + b;
        if (j->act && j->act->kind != LK_ACT_NONE) lk_activate(y, (size_t)j->inner, j->act);
    }
}

int lk_channel_affine_f32(int outer, int channels, int inner, const float *x, const float *scale,
                          const float *shift, float *y, const lk_activation *act, lk_pool *pool) {
    if (outer < 0 || channels <= 0 || inner < 0) return LK_E_ARG;
    size_t planes = (size_t)outer * (size_t)channels;
    if (planes == 0 || inner == 0) return LK_OK;
    size_t tasks = lk_task_count(pool, planes * (size_t)inner, 16384);
    if (tasks > planes) tasks = planes;
    affine_job j = {outer, channels, inner, x, scale, shift, y, act, planes, (planes + tasks - 1) / tasks};
    lk_parallel_for(pool, (planes + j.per_task - 1) / j.per_task, affine_task, &j);
    return LK_OK;
}
