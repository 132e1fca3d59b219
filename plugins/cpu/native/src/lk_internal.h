/* Internal helpers shared by the kernel files (not part of the public API). */
#ifndef LK_INTERNAL_H
#define LK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "litert_kernels.h"

/* Hot loops are compiled for several targets and picked at load time by the
 * dynamic loader (GCC/Clang function multi-versioning on x86-64 ELF). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(LK_NO_CLONES) && !defined(__SANITIZE_ADDRESS__)
#define LK_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LK_HOT
#endif

#define LK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LK_MAX(a, b) ((a) > (b) ? (a) : (b))

/* A per-thread scratch buffer of at least `bytes` bytes, 64-byte aligned,
 * reused across calls (grown as needed).  `slot` picks one of a few
 * independent buffers.  NULL when the allocation fails. */
void *lk_scratch(int slot, size_t bytes);

/* dst[t] = src[t * stride] for t < n; stride 1 and 2 (the common strided
 * conv) as loops of their own, which GCC vectorises */
void lk_gather(float *restrict dst, const float *restrict src, int n, int stride);

/* exp(x) for float32 in straight-line arithmetic so loops calling it
 * vectorise: Cody-Waite reduction x = n ln2 + r, a degree-6 polynomial for
 * e^r on |r| <= ln2/2, and 2^n built in the exponent bits.  Max relative
 * error about 2 ulp; x > 88.7 gives FLT_MAX-ish, x < -87.3 gives 0 (the
 * true value is below FLT_MIN there: returning it as a denormal would make
 * every later multiply by it take a slow microcode assist, e.g. masked
 * attention scores through softmax into the next MatMul). */
static inline float lk_expf(float x) {
    float zero = x < -87.3f ? 0.0f : 1.0f;
    x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
    float t = x * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = x - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { float f; int32_t i; } scale;
    int32_t ni = (int32_t)n;
    /* 2^n for n in [-126, 127]; 88.7/ln2 < 128 and -87.3/ln2 > -126 */
    scale.i = (ni + 127) << 23;
    return p * scale.f * zero;
}

static inline float lk_sigmoidf(float x) { return 1.0f / (1.0f + lk_expf(-x)); }

/* tanh(x) = 1 - 2 / (exp(2x) + 1); near 0 (|x| < 0.004) the odd series keeps
 * the relative error small */
static inline float lk_tanhf(float x) {
    float e = lk_expf(2.0f * x);
    float t = 1.0f - 2.0f / (e + 1.0f);
    float small = x * (1.0f - x * x * (1.0f / 3.0f));
    return (x < 0.004f && x > -0.004f) ? small : t;
}

/* Flush-to-zero and denormals-are-zero for the calling thread (x86 MXCSR):
 * returns the previous state for lk_restore_denormals.  Kernels run with
 * them on, as most inference engines do: a denormal operand costs an FMA a
 * ~100-cycle assist, and values below FLT_MIN do not matter to a network. */
unsigned lk_flush_denormals(void);
void lk_restore_denormals(unsigned state);

/* im2col of output positions [first, first + count) of one group of a conv:
 * dst[kk * ld + j] is the input value kernel tap kk = (channel, ki, kj) reads
 * for position first + j (0 in the padding). */
/* whether the pre-activation conv (lk_conv2d_packed_preact_f32) takes this geometry: 1x1, stride 1, no pads,
 * one group, the output the input's size */
int lk_conv_preact_geometry(const lk_conv2d *p);
void lk_im2col(const lk_conv2d *p, const float *x, int first, int count, float *dst, size_t ld);

/* Writes an h x w image into a padded plane split into its even and odd
 * columns (`half` floats a row each), so that stride-2 windows read
 * contiguous memory; the borders are left as they are. */
void lk_split_columns(const float *src, int h, int w, int pad_top, int pad_left, int half, float *even, float *odd);

/* Copies a rows x cols block between pitched buffers (a plane into its
 * padded copy, a padded result back): inlined loops, no per-row call. */
static inline void lk_copy_rows(float *restrict dst, size_t dst_pitch, const float *restrict src, size_t src_pitch,
                                int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        float *restrict d = dst + (size_t)r * dst_pitch;
        const float *restrict s = src + (size_t)r * src_pitch;
        for (int c = 0; c < cols; c++) d[c] = s[c];
    }
}

/* C[rows][32] = A x B over all of k: A is a weight panel laid out [k][12]
 * (lk_conv_pack_weights) of which the first `rows` (1-12) are wanted, B has
 * row stride ldb; the library's AVX-512 tile (4, 8 or 12 rows), only where
 * lk_conv_packed_available(). */
void lk_gemm_panel(int rows, int k, const float *a, const float *b, size_t ldb, float *c, size_t ldc);
/* C[12][16] = A x B: lk_gemm_panel for a last panel of at most 16 columns */
void lk_gemm_panel16(int k, const float *a, const float *b, size_t ldb, float *c, size_t ldc);
/* C[12][width] = A x B for a last panel of `cols` valid columns (16 < cols < LK_GEMM_NARROW, width <= 32):
 * 16 of them as one 12 x 16 tile, the rest one FMA per column and k instead of a whole 12 x 32 tile's 24;
 * columns [cols, width) of C are zeros. */
#define LK_GEMM_NARROW 26
void lk_gemm_panel_narrow(int k, const float *a, const float *b, size_t ldb, int cols, int width, float *c,
                          size_t ldc);
/* The same in bf16 arithmetic: A a pair panel [kp][12], B a pair panel
 * [kp][32] (lk_rows_to_bf16_pairs); only where lk_bf16_available(). */
void lk_gemm_panel_bf16(int kp, const uint32_t *a, const uint32_t *b, float *c, size_t ldc);
/* lk_gemm_pack_b of a B whose rows are ldb floats apart (a column block of a wider [k, n] B, or rows of
 * an [n, k] one) */
void lk_gemm_pack_b_ld(const float *b, int k, int n, size_t ldb, int trans_b, float *out);
/* lk_gemm_pack_b_bf16 of a B whose rows are ldb floats apart (a column block
 * of a wider [k, n] B, or rows of an [n, k] one); on AMX in AMX's panels, as
 * lk_gemm_packed_b_rows_bf16 then reads them */
void lk_gemm_pack_b_bf16_ld(const float *b, int k, int n, size_t ldb, int trans_b, uint32_t *out);
/* pair rows per 32-column panel of a bf16 B packed by either packer: ceil(k / 2), in whole AMX tiles on AMX */
int lk_gemm_b_panel_pairs(int k);
/* An activation as the clamp a kernel's store applies (ReLU, Clip; none:
 * -inf..inf) and, for any other kind, the activation to run after the store
 * (`after`, LK_ACT_NONE when the clamp covers it). */
void lk_split_activation(const lk_activation *act, float *lo, float *hi, lk_activation *after);
/* two float32 values as the bf16 kernels read a pair along k: each rounded
 * to nearest even, lo in the low half */
uint32_t lk_bf16_pair(float lo, float hi);
/* k float32 rows of 32 values (row stride ld) rounded to bf16 pairs [ceil(k/2)][32] */
void lk_rows_to_bf16_pairs(const float *src, size_t ld, int k, uint32_t *dst);
/* dst[0:n] = the bf16 pairs (r0[i], r1[i]) (r1 NULL: zero high halves), rounded as lk_rows_to_bf16_pairs
 * rounds; with `pre` (scale and shift of r0, then of r1) each value first through max(x * scale + shift, 0) */
void lk_pair_rows_bf16(const float *r0, const float *r1, int n, const float *pre, uint32_t *dst);

/* out[0:n] = min(max(acc[0:n] + bias + z[0:n], lo), hi) (z may be NULL): a finished tile's row written out with
 * its epilogue, in masked 16-wide steps (AVX-512F) */
void lk_store_run(float *out, const float *acc, int n, float bias, const float *z, float lo, float hi);

/* The bf16 convolution's input packing: positions [first, first + count) of one group's image im2col'd and
 * rounded into 32-position pair panels [panel_pairs][32] (rows past ceil(k / 2) zero), through `rows`, a
 * buffer of lk_conv_pack_bf16_rows_floats(p) floats */
size_t lk_conv_pack_bf16_rows_floats(const lk_conv2d *p);
void lk_conv_pack_input_bf16(const lk_conv2d *p, const float *x, int first, int count, int panel_pairs, uint32_t *out,
                             float *rows);

/* The AMX bf16 convolution (conv_amx.c): weights in 16 x 16-pair tiles, lk_conv_packed_amx_pairs of them */
size_t lk_conv_packed_amx_pairs(int m, int k, int taps, int groups);
void lk_conv_pack_weights_amx(const float *w, int m, int k, int taps, int groups, uint32_t *out);
int lk_conv2d_amx_bf16(const lk_conv2d *p, const float *x, const uint32_t *w_packed, const float *bias,
                       const float *z, float *y, lk_pool *pool);
/* ... and its constant-B product: B packed by lk_gemm_pack_b_bf16 in 32-column panels of lk_gemm_amx_pairs(k)
 * pair rows each (k's pairs padded to whole tiles), b at the first panel of the columns; C[rows][cols] = A x B */
int lk_gemm_amx_pairs(int k);
int lk_gemm_amx_rows(int rows, int cols, int k, const float *a, size_t lda, const uint32_t *b, float *c, size_t ldc);
/* int8 products on AMX tiles (AMX-INT8; declined with the bf16 ones by LITERT_CPU_AMX=0): lk_amx_int8_block
 * writes int32 ct[32][32] (row = position, column = channel; rows x cols of them valid, each at most 32) as the
 * sum over `taps` taps (A at tap_off[tap] bytes from a, B tap * b_tap bytes on) and `steps` 64-byte steps of
 * k of A (uint8: rows lda bytes apart, rows 16-31 a_next bytes after rows 0-15) times B (int8 [16 quads][16
 * channels][4] per step, 1 KB, channels 16-31 b_next bytes on), between lk_amx_int8_begin and _end on the
 * calling thread. */
typedef struct {
    int taps, steps;
    const uint8_t *a;
    size_t lda, a_next;
    const size_t *tap_off;
    const int8_t *b;
    size_t b_tap, b_next;
} lk_amx_int8_operands;
void lk_amx_int8_begin(void);
void lk_amx_int8_end(void);
void lk_amx_int8_block(int rows, int cols, const lk_amx_int8_operands *o, int32_t *ct);
/* one float32 row of k values as ceil(k / 2) bf16 pairs (AVX512_BF16) */
void lk_row_to_bf16_pairs(const float *src, int k, uint32_t *dst);

/* C[rows][cols] (row stride ldc) = A[rows][k] (row stride lda) x B[k][cols],
 * B packed by lk_gemm_pack_b and b_packed at its first panel; only where
 * lk_conv_packed_available().  LK_E_NOMEM when scratch is short. */
int lk_gemm_packed_b_rows(int rows, int cols, int k, const float *a, size_t lda, const float *b_packed, float *c,
                          size_t ldc);
/* rows x n floats, n <= 32, from src (row stride lds) to dst (row stride ldd): masked vector moves where the
 * library has AVX-512 (a run-time-length memcpy is `rep movsq`, slow to start), else memcpy per row */
void lk_copy_short_rows(float *dst, size_t ldd, const float *src, size_t lds, int rows, int n);
/* A region of C made final by a blocked product (rows [m0, m0 + rows), columns [n0, n0 + cols) of its C), for
 * the caller's epilogue while the region is in cache */
typedef struct {
    void (*fn)(void *ctx, int m0, int rows, int n0, int cols);
    void *ctx;
} lk_gemm_finish;
/* lk_gemm_packed_b_rows handing each region of C to `finish` (may be NULL) once it is final */
int lk_gemm_packed_b_rows_finish(int rows, int cols, int k, const float *a, size_t lda, const float *b_packed,
                                 float *c, size_t ldc, const lk_gemm_finish *finish);
/* This CPU's L2 cache per core in bytes (sysconf where the C library knows it, else 1 MB), asked once */
long lk_l2_bytes(void);
/* The same with B packed by lk_gemm_pack_b_bf16 (A rounded to bf16 as it is
 * packed); only where lk_bf16_available(). */
int lk_gemm_packed_b_rows_bf16(int rows, int cols, int k, const float *a, size_t lda, const uint32_t *b_packed,
                               float *c, size_t ldc);

/* The same in two phases, so that threads multiplying one A by different column blocks of B pack it once
 * between them: A's rows in 12-row panels of k floats (bf16: ceil(k/2) pairs), lk_gemm_packed_a_bytes in
 * all; lk_gemm_pack_a_panels writes panels [first, first + count) of a rows x k A (row stride lda);
 * lk_gemm_prepacked_rows multiplies `rows` rows from the panel at ap by b32 (lk_gemm_pack_b) or b16
 * (lk_gemm_pack_b_bf16, where lk_bf16_available()). */
size_t lk_gemm_packed_a_bytes(int rows, int k, int bf16);
int lk_gemm_pack_a_panels(int first, int count, int rows, int k, const float *a, size_t lda, int bf16, void *ap);
int lk_gemm_prepacked_rows(int rows, int cols, int k, const void *ap, const float *b32, const uint32_t *b16, float *c,
                           size_t ldc);

/* Number of tasks to cut `work` units into so that each task has at least
 * `min_work` units and every thread gets a few tasks. */
size_t lk_task_count(const lk_pool *pool, size_t units, size_t min_units_per_task);

/* The input channels of group g of image b of a convolution's NCHW input x. */
static inline const float *lk_group_input(const lk_conv2d *p, const float *x, size_t b, size_t g) {
    return x + (b * (size_t)p->c + g * (size_t)(p->c / p->groups)) * p->h * p->w;
}

/* Rows (or columns) of a zero/fill-bordered copy of an image that the
 * windows of a sliding-window op read: at least the image plus its begin pad. */
static inline int lk_padded_extent(int out, int stride, int kernel, int dilation, int pad_begin, int in) {
    return LK_MAX((out - 1) * stride + (kernel - 1) * dilation + 1, pad_begin + in);
}

/* The taps [*first, *end) of a window of `kernel` taps, tap k at coordinate start + k * dilation (start =
 * out * stride - pad_begin), that fall inside [0, size): the others read (or, for a transposed convolution,
 * write) padding, which the kernels skip.  dilation >= 1. */
static inline void lk_taps_inside(int start, int dilation, int kernel, int size, int *first, int *end) {
    int lo, hi;
    if (dilation == 1) { /* the usual case, without the divisions (this runs once per output position) */
        lo = start < 0 ? -start : 0;
        hi = size - start;
    } else {
        lo = start < 0 ? (-start + dilation - 1) / dilation : 0;
        hi = start < size ? (size - start + dilation - 1) / dilation : 0;
    }
    *first = LK_MIN(lo, kernel);
    *end = LK_MAX(*first, LK_MIN(hi, kernel));
}

/* Items per task when `items` units of `work_per_item` each are cut for the
 * pool (at least `min_work` per task, never more tasks than items); the task
 * count is (items + per_task - 1) / per_task. */
static inline size_t lk_items_per_task(const lk_pool *pool, size_t items, size_t work_per_item, size_t min_work) {
    size_t tasks = lk_task_count(pool, items * work_per_item, min_work);
    if (tasks > items) tasks = items;
    return (items + tasks - 1) / tasks;
}


#endif
