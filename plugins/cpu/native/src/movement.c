/* Data movement: transpose and block copies (Concat, Split, Slice). */
#include <string.h>

#include "lk_internal.h"

typedef struct {
    int rank;
    int64_t shape[LK_MAX_DIMS];      /* output shape */
    int64_t in_strides[LK_MAX_DIMS]; /* input stride (elements) of each output dim */
    size_t elem, rows, row_len, per_task;
    const char *x;
    char *out;
} tr_job;

/* Where output row `row` starts in the input (elements). */
static int64_t row_offset(const tr_job *j, size_t row) {
    int64_t off = 0;
    for (int d = j->rank - 2; d >= 0; d--) {
        off += (int64_t)(row % (size_t)j->shape[d]) * j->in_strides[d];
        row /= (size_t)j->shape[d];
    }
    return off;
}

/* Output rows [first, last) of a float transpose whose second-innermost output axis is contiguous in the
 * input (the last two axes swapped, e.g. [n, c, h, w] -> [n, c, w, h]): up to 16 consecutive output rows
 * at a time, each input row read as one contiguous run of 16 floats, where row by row every output value
 * would be a gather from another input row. */
static void tr_rows_swapped(const tr_job *j, size_t first, size_t last) {
    const int64_t inner_stride = j->in_strides[j->rank - 1];
    const size_t across = (size_t)j->shape[j->rank - 2], len = j->row_len;
    for (size_t row = first; row < last;) {
        size_t n = LK_MIN((size_t)16, LK_MIN(across - row % across, last - row));
        const float *src = (const float *)j->x + row_offset(j, row);
        float *dst = (float *)j->out + row * len;
        for (size_t i = 0; i < len; i++) {
            const float *s = src + (int64_t)i * inner_stride;
            for (size_t k = 0; k < n; k++) dst[k * len + i] = s[k];
        }
        row += n;
    }
}

static void tr_task(void *arg, size_t t) {
    const tr_job *j = arg;
    size_t first = t * j->per_task, last = LK_MIN(first + j->per_task, j->rows);
    int r = j->rank;
    int64_t inner_stride = j->in_strides[r - 1];
    if (r >= 2 && j->elem == 4 && inner_stride != 1 && j->in_strides[r - 2] == 1) {
        tr_rows_swapped(j, first, last);
        return;
    }
    for (size_t row = first; row < last; row++) {
        int64_t off = row_offset(j, row);
        char *o = j->out + row * j->row_len * j->elem;
        if (inner_stride == 1) {
            memcpy(o, j->x + off * (int64_t)j->elem, j->row_len * j->elem);
        } else if (j->elem == 4) {
            const float *src = (const float *)j->x + off;
            float *dst = (float *)o;
            for (size_t i = 0; i < j->row_len; i++) dst[i] = src[(int64_t)i * inner_stride];
        } else {
            for (size_t i = 0; i < j->row_len; i++)
                memcpy(o + i * j->elem, j->x + (off + (int64_t)i * inner_stride) * (int64_t)j->elem, j->elem);
        }
    }
}

int lk_transpose(int rank, const int64_t *shape, const int *perm, size_t elem_size, const void *x, void *out,
                 lk_pool *pool) {
    if (rank < 1 || rank > LK_MAX_DIMS || elem_size == 0) return LK_E_ARG;
    int64_t in_strides[LK_MAX_DIMS];
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        if (shape[d] < 0) return LK_E_ARG;
        in_strides[d] = s;
        s *= shape[d];
    }
    tr_job j;
    memset(&j, 0, sizeof j);
    j.rank = rank;
    int seen = 0;
    for (int d = 0; d < rank; d++) {
        if (perm[d] < 0 || perm[d] >= rank || (seen >> perm[d]) & 1) return LK_E_ARG;
        seen |= 1 << perm[d];
        j.shape[d] = shape[perm[d]];
        j.in_strides[d] = in_strides[perm[d]];
    }
    j.elem = elem_size;
    j.row_len = (size_t)j.shape[rank - 1];
    j.rows = 1;
    for (int d = 0; d < rank - 1; d++) j.rows *= (size_t)j.shape[d];
    if (j.rows == 0 || j.row_len == 0) return LK_OK;
    j.x = x;
    j.out = out;
    j.per_task = lk_items_per_task(pool, j.rows, j.row_len, 16384);
    lk_parallel_for(pool, (j.rows + j.per_task - 1) / j.per_task, tr_task, &j);
    return LK_OK;
}

typedef struct {
    size_t rows, bytes, src_stride, dst_stride;
    size_t per_task;      /* rows per task, when there are enough rows; else 1 */
    size_t pieces, piece; /* each row cut into `pieces` byte ranges of `piece` bytes (the last shorter) */
    const char *src;
    char *dst;
} copy_job;

static void copy_task(void *arg, size_t t) {
    const copy_job *j = arg;
    if (j->pieces > 1) {
        size_t r = t / j->pieces, first = (t % j->pieces) * j->piece, n = LK_MIN(j->piece, j->bytes - first);
        memcpy(j->dst + r * j->dst_stride + first, j->src + r * j->src_stride + first, n);
        return;
    }
    size_t first = t * j->per_task, last = LK_MIN(first + j->per_task, j->rows);
    for (size_t r = first; r < last; r++) memcpy(j->dst + r * j->dst_stride, j->src + r * j->src_stride, j->bytes);
}

/* Tasks of whole rows, or of pieces of rows when there are fewer rows than tasks wanted: a Concat of a
 * few feature maps is one long row per input, and one thread copying it pulls what the convolution before
 * it left in the other core's cache (SqueezeNet's Concat copies were slower on 2 threads than on 1). */
int lk_copy_blocks(size_t rows, size_t bytes, const void *src, size_t src_stride, void *dst, size_t dst_stride,
                   lk_pool *pool) {
    if (rows == 0 || bytes == 0) return LK_OK;
    size_t tasks = lk_task_count(pool, rows * bytes, 1 << 16);
    copy_job j = {rows, bytes, src_stride, dst_stride, 1, 1, bytes, src, dst};
    if (tasks > rows) {
        size_t pieces = (tasks + rows - 1) / rows;
        j.piece = (((bytes + pieces - 1) / pieces) + 63) & ~(size_t)63;
        j.pieces = (bytes + j.piece - 1) / j.piece;
        lk_parallel_for(pool, rows * j.pieces, copy_task, &j);
    } else {
        j.per_task = (rows + tasks - 1) / tasks;
        lk_parallel_for(pool, (rows + j.per_task - 1) / j.per_task, copy_task, &j);
    }
    return LK_OK;
}
