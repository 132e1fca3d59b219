/*
 * litert_kernels.h - the public C API of litert's CPU kernel library ("lk").
 *
 * The library is plain C11 with no Python in it: the litert CPU plugin reaches
 * it through a thin CPython extension, and other C code (litert's future
 * microcontroller code generator, a vendor's test harness) can link it
 * directly.  Layout conventions:
 *
 *   - tensors are dense, row-major (C order), float32 unless a name says
 *     otherwise; images are NCHW;
 *   - every kernel is given a thread pool (may be NULL: run on the caller)
 *     and only touches the memory its shape arguments describe; callers check
 *     shapes, strides and offsets before calling (the extension does);
 *   - kernels return LK_OK or a negative LK_E* code, never abort.
 *
 * CPU features are chosen at run time: hot loops are compiled for several
 * targets (AVX-512, AVX2+FMA, portable baseline) and the best one the CPU
 * supports is picked when the library loads; lk_cpu_features() says which.
 */
#ifndef LITERT_KERNELS_H
#define LITERT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LK_API_VERSION 1

enum lk_status {
    LK_OK = 0,
    LK_E_ARG = -1,    /* a shape or parameter out of range */
    LK_E_NOMEM = -2,  /* a scratch allocation failed */
};

/* ------------------------------------------------------------------ threads */

typedef struct lk_pool lk_pool;

/* A pool running tasks on `threads` threads: the caller plus threads-1
 * workers.  Idle workers spin briefly, then sleep on a condition variable. */
lk_pool *lk_pool_create(int threads);
void lk_pool_destroy(lk_pool *pool);
int lk_pool_threads(const lk_pool *pool);
/* How long idle workers (and a caller waiting for them) spin before they
 * sleep, in ns (default 2 ms): longer keeps the cores between the steps of
 * an inference on a machine that other processes share, at the price of
 * burning them for that long after the last step. */
void lk_pool_set_spin(lk_pool *pool, long spin_ns);

/* Run fn(ctx, i) for i in [0, n): tasks are claimed one at a time by the
 * caller and the workers, so a late worker never stalls the job.  A pool that
 * is already running a job (a concurrent caller) runs the tasks inline. */
typedef void (*lk_task_fn)(void *ctx, size_t index);
void lk_parallel_for(lk_pool *pool, size_t n, lk_task_fn fn, void *ctx);

/* ---------------------------------------------------------------- features */

enum lk_isa { LK_ISA_BASELINE = 0, LK_ISA_AVX2 = 1, LK_ISA_AVX512 = 2 };
/* the instruction set the hot loops run with on this CPU */
enum lk_isa lk_cpu_isa(void);
const char *lk_isa_name(enum lk_isa isa);

/* -------------------------------------------------------------------- GEMM */

/* A cblas_sgemm-compatible function (row-major only is used).  When set
 * (e.g. OpenBLAS's), lk_sgemm calls it single-threaded per task; when NULL
 * the library's own blocked GEMM runs. */
typedef void (*lk_cblas_sgemm_fn)(int order, int transa, int transb, int m, int n, int k,
                                  float alpha, const float *a, int lda, const float *b, int ldb,
                                  float beta, float *c, int ldc);
void lk_set_blas_sgemm(lk_cblas_sgemm_fn fn);
int lk_has_blas(void);

/* C[m,n] = A[m,k] * B[k,n] (+ C when accumulate), row-major with leading
 * dimensions; trans_b: B is stored [n,k].  Single-threaded. */
void lk_sgemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb, int trans_b,
              float *c, int ldc, int accumulate);

/* ------------------------------------------------------------- activations */

enum lk_act {
    LK_ACT_NONE = 0,
    LK_ACT_RELU,
    LK_ACT_CLIP,        /* p0 = min, p1 = max */
    LK_ACT_SIGMOID,
    LK_ACT_TANH,
    LK_ACT_LEAKY_RELU,  /* p0 = alpha */
    LK_ACT_HARD_SIGMOID,/* p0 = alpha, p1 = beta */
    LK_ACT_HARD_SWISH,
    LK_ACT_GELU,        /* exact (erf) form */
    LK_ACT_GELU_TANH,
    LK_ACT_SILU,        /* x * sigmoid(x) */
    LK_ACT_ERF,
    LK_ACT_EXP,
    LK_ACT_NEG,
    LK_ACT_ABS,
    LK_ACT_SQRT,
    LK_ACT_RECIPROCAL,
    LK_ACT_ELU,         /* p0 = alpha */
    LK_ACT_SOFTPLUS,
    LK_ACT_COUNT
};

typedef struct lk_activation {
    int kind;       /* enum lk_act */
    float p0, p1;
} lk_activation;

/* x[i] = act(x[i]) for i in [0, n) */
void lk_activate(float *x, size_t n, const lk_activation *act);
/* y[i] = act(x[i]) */
void lk_activate_to(const float *x, float *y, size_t n, const lk_activation *act);

/* ------------------------------------------------------------ convolution */

typedef struct lk_conv2d {
    int n, c, h, w;          /* input NCHW */
    int m, oh, ow;           /* output channels and size */
    int kh, kw, sh, sw, dh, dw;
    int pad_top, pad_left;   /* bottom/right pads follow from oh/ow */
    int groups;
    lk_activation act;
} lk_conv2d;

/* y = act(conv(x, w) + bias + z): w is [m, c/groups, kh, kw]; bias [m] or
 * NULL; z (residual) [n, m, oh, ow] or NULL. */
int lk_conv2d_f32(const lk_conv2d *p, const float *x, const float *w, const float *bias,
                  const float *z, float *y, lk_pool *pool);
/* The same convolution with weights packed by lk_conv_pack_weights into
 * lk_conv_packed_floats(m, k, groups) floats (k = c/groups*kh*kw): the
 * library's own register-blocked GEMM, on CPUs where
 * lk_conv_packed_available() (AVX-512F); LK_E_ARG elsewhere. */
int lk_conv_packed_available(void);
size_t lk_conv_packed_floats(int m, int k, int groups);
void lk_conv_pack_weights(const float *w, int m, int k, int groups, float *out);
int lk_conv2d_packed_f32(const lk_conv2d *p, const float *x, const float *w_packed, const float *bias,
                         const float *z, float *y, lk_pool *pool);
/* The same 1x1 convolution (stride 1, no pads, one group) of max(x * scale + shift, 0), scale and shift per
 * input channel: a pre-activation block's BatchNorm and ReLU (DenseNet's) applied as the input is packed,
 * instead of in a pass of their own over the whole input. LK_E_ARG for any other geometry. */
int lk_conv2d_packed_preact_f32(const lk_conv2d *p, const float *x, const float *w_packed, const float *bias,
                                const float *z, float *y, const float *scale, const float *shift, lk_pool *pool);

/* bfloat16 arithmetic (float32 in and out): the packed convolution with
 * weights rounded to bf16 and packed by lk_conv_pack_weights_bf16 into
 * lk_conv_packed_bf16_pairs(m, k, groups) uint32 pairs (k in pairs, low half
 * first), input rounded to bf16 as it is packed, float32 accumulation and
 * epilogue.  Only where lk_bf16_available() (AVX512_BF16); LK_E_ARG
 * elsewhere.  Results differ from float32 by bf16's rounding (8-bit
 * significand) of both operands.  Where lk_bf16_amx() the packed layout is
 * AMX's tiles and the products run on them: the layout is the library's
 * own, fixed for the process; pack and run in the same one.  taps = kh * kw
 * (k = c / groups * taps): the AMX layout orders k by tap. */
int lk_bf16_available(void);
/* Whether the bf16 convolutions and constant-B products run on AMX tiles
 * (AMX-BF16, the tile state granted by the OS; LITERT_CPU_AMX=0 in the
 * environment declines it).  Asked once, fixed for the process. */
int lk_bf16_amx(void);
/* lk_conv2d_packed_preact_f32's pre-activation with bf16 weights, on AMX tiles only: the 1x1 conv of at least
 * lk_conv_preact_bf16_channels() input channels, max(x * scale + shift, 0) applied as the input is rounded to
 * bf16.  LK_E_ARG without AMX or for any other geometry. */
int lk_conv_preact_bf16_channels(void);
int lk_conv2d_packed_preact_bf16(const lk_conv2d *p, const float *x, const uint32_t *w_packed, const float *bias,
                                 const float *z, float *y, const float *scale, const float *shift, lk_pool *pool);
size_t lk_conv_packed_bf16_pairs(int m, int k, int taps, int groups);
void lk_conv_pack_weights_bf16(const float *w, int m, int k, int taps, int groups, uint32_t *out);
int lk_conv2d_packed_bf16(const lk_conv2d *p, const float *x, const uint32_t *w_packed, const float *bias,
                          const float *z, float *y, lk_pool *pool);

/* Stride-1 convs with a square 3x3 or 5x5 kernel (any groups) by Winograd
 * F(unit x unit, r x r): F(2, 3), F(4, 3) (~5x the float32 error of the
 * direct method, see winograd.c) or F(2, 5); weights transformed and packed by
 * lk_winograd_pack_weights into lk_winograd_packed_floats(unit, kernel, m, c,
 * groups) floats (0 for another variant or bad geometry); activation none,
 * ReLU or Clip; where lk_winograd_available(p). */
int lk_winograd_available(const lk_conv2d *p);
size_t lk_winograd_packed_floats(int unit, int kernel, int m, int c, int groups);
void lk_winograd_pack_weights(int unit, int kernel, const float *w, int m, int c, int groups, float *out);
int lk_conv2d_winograd_f32(int unit, const lk_conv2d *p, const float *x, const float *u, const float *bias,
                           const float *z, float *y, lk_pool *pool);
/* F(2x2, 3x3), ungrouped, with the 16 GEMMs in bf16 arithmetic (transforms in float32):
 * weights transformed, rounded and packed by lk_winograd_pack_weights_bf16
 * into lk_winograd_packed_bf16_pairs(m, c) uint32 pairs (LK_E_NOMEM when its
 * float32 staging buffer cannot be allocated); only where lk_bf16_available(). */
size_t lk_winograd_packed_bf16_pairs(int m, int c);
int lk_winograd_pack_weights_bf16(const float *w, int m, int c, uint32_t *out);
int lk_conv2d_winograd_bf16(const lk_conv2d *p, const float *x, const uint32_t *u, const float *bias, const float *z,
                            float *y, lk_pool *pool);

/* Depthwise (groups == c == m): any stride, dilation and padding. */
int lk_dwconv2d_f32(const lk_conv2d *p, const float *x, const float *w, const float *bias,
                    const float *z, float *y, lk_pool *pool);

/* Transposed convolution: x [n, c, h, w], w [c, m/groups, kh, kw], bias [m]
 * or NULL, y [n, m, oh, ow]; pad_top/pad_left are the begin pads (may be
 * negative: output_shape asking for more than the full result). */
int lk_convtranspose2d_f32(const lk_conv2d *p, const float *x, const float *w, const float *bias, float *y,
                           lk_pool *pool);

/* ----------------------------------------------------------------- pooling */

enum lk_pool_kind { LK_POOL_MAX = 0, LK_POOL_AVG = 1, LK_POOL_AVG_INCLUDE_PAD = 2 };

typedef struct lk_pool2d {
    int n, c, h, w, oh, ow;
    int kh, kw, sh, sw, dh, dw, pad_top, pad_left;
    int pad_bottom, pad_right;  /* declared pads: LK_POOL_AVG_INCLUDE_PAD counts them */
    int kind;                /* enum lk_pool_kind */
} lk_pool2d;

int lk_pool2d_f32(const lk_pool2d *p, const float *x, float *y, lk_pool *pool);
/* y[r] = mean or max of x[r, 0:inner] for r in [0, rows) */
int lk_global_pool_f32(int rows, int inner, int kind, const float *x, float *y, lk_pool *pool);

/* ---------------------------------------------------------- elementwise */

enum lk_binary { LK_ADD = 0, LK_SUB, LK_MUL, LK_DIV, LK_MAX, LK_MIN, LK_POW, LK_BINARY_COUNT };

#define LK_MAX_DIMS 8

/* out = act(a op b) with numpy broadcasting: shapes already aligned to
 * `rank` dims (a stride of 0 broadcasts), out is dense. */
typedef struct lk_broadcast {
    int rank;
    int64_t shape[LK_MAX_DIMS];      /* output shape */
    int64_t a_strides[LK_MAX_DIMS];  /* in elements, 0 where broadcast */
    int64_t b_strides[LK_MAX_DIMS];
} lk_broadcast;

int lk_binary_f32(int op, const lk_broadcast *bc, const float *a, const float *b, float *out,
                  const lk_activation *act, lk_pool *pool);
int lk_unary_f32(const lk_activation *act, const float *x, float *y, size_t n, lk_pool *pool);

/* y[o, c, i] = x[o, c, i] * scale[c] + shift[c], then act (BatchNormalization) */
int lk_channel_affine_f32(int outer, int channels, int inner, const float *x, const float *scale,
                          const float *shift, float *y, const lk_activation *act, lk_pool *pool);

/* ------------------------------------------------------- normalisation */

/* softmax (log_softmax when log) over the middle axis of [outer, axis, inner] */
int lk_softmax_f32(int outer, int axis, int inner, int log, const float *x, float *y, lk_pool *pool);
/* LayerNormalization over the last `size` elements of each of `rows` rows;
 * gamma/beta of length size (beta may be NULL) */
int lk_layernorm_f32(int rows, int size, float epsilon, const float *x, const float *gamma,
                     const float *beta, float *y, lk_pool *pool);
/* InstanceNormalization-style: per (n, c) plane of `inner` elements */
int lk_instancenorm_f32(int n, int c, int inner, float epsilon, const float *x, const float *gamma,
                        const float *beta, float *y, lk_pool *pool);

/* LRN across channels of [n, c, inner] (ONNX LRN) */
int lk_lrn_f32(int n, int c, int inner, int size, float alpha, float beta, float bias, const float *x, float *y,
               lk_pool *pool);

/* ------------------------------------------------------------- matmul */

/* Batched C[b] = A[b] x B[b] (+ bias[n]) then act.  A is [batch, m, k] with
 * batch stride a_bs (0: shared); B is [batch, k, n] ([n, k] when trans_b)
 * with stride b_bs; C dense [batch, m, n]. */
typedef struct lk_matmul {
    int batch, m, n, k;
    int64_t a_bs, b_bs;
    int trans_a, trans_b;
    float alpha;
    int bias_kind;            /* 0 none, 1 per column [n], 2 full [m, n], 3 scalar */
    float beta;               /* bias scale (Gemm's beta) */
    lk_activation act;
} lk_matmul;

int lk_matmul_f32(const lk_matmul *p, const float *a, const float *b, const float *bias, float *c,
                  lk_pool *pool);
/* The same with a constant B packed once (lk_gemm_pack_b: B is [k, n], or
 * [n, k] when trans_b, into lk_gemm_packed_b_floats(k, n) floats): batch 1,
 * trans_b 0 in p (the packing did it).  Only where
 * lk_conv_packed_available(); LK_E_ARG otherwise. */
size_t lk_gemm_packed_b_floats(int k, int n);
void lk_gemm_pack_b(const float *b, int k, int n, int trans_b, float *out);
int lk_matmul_packed_f32(const lk_matmul *p, const float *a, const float *b_packed, const float *bias, float *c,
                         lk_pool *pool);
/* The same in bf16 arithmetic: B packed by lk_gemm_pack_b_bf16 into
 * lk_gemm_packed_b_bf16_pairs(k, n) uint32 pairs, A rounded as it is packed;
 * only where lk_bf16_available(). */
size_t lk_gemm_packed_b_bf16_pairs(int k, int n);
/* lk_matmul_f32 in bf16 arithmetic (both operands rounded as a task packs
 * them, float32 accumulation and epilogue); only where lk_bf16_available(). */
int lk_matmul_bf16(const lk_matmul *p, const float *a, const float *b, const float *bias, float *c,
                   lk_pool *pool);
void lk_gemm_pack_b_bf16(const float *b, int k, int n, int trans_b, uint32_t *out);
int lk_matmul_packed_bf16(const lk_matmul *p, const float *a, const uint32_t *b_packed, const float *bias, float *c,
                          lk_pool *pool);

/* ---------------------------------------------------------------- resize */

/* y[plane, oy, ox] = sum_ty sum_tx wy[oy, ty] wx[ox, tx] x[plane, iy[oy, ty], ix[ox, tx]]:
 * separable resampling with per-row and per-column tap tables (indices are
 * clamped to the image) */
typedef struct lk_resize2d {
    int planes, h, w, oh, ow, ty, tx;
} lk_resize2d;

int lk_resize2d_f32(const lk_resize2d *p, const float *x, const int32_t *iy, const float *wy, const int32_t *ix,
                    const float *wx, float *y, lk_pool *pool);

/* --------------------------------------------------------------- recurrent */

/* ONNX LSTM, layout 0, default activations (sigmoid, tanh, tanh), no
 * peepholes, full-length sequences: x [seq, batch, input], w_t [dirs, input, 4h]
 * and r_t [dirs, h, 4h] (ONNX's W and R transposed per direction), b [dirs, 8h] or NULL, h0/c0 [dirs, batch, h] or NULL;
 * outputs y [seq, dirs, batch, h], yh/yc [dirs, batch, h], each may be NULL.
 * direction: 0 forward, 1 reverse, 2 bidirectional.  With a pool of several threads, each step's units are
 * shared among them (hidden 64 and up). */
typedef struct lk_lstm {
    int seq, batch, input, hidden, direction;
} lk_lstm;

int lk_lstm_f32(const lk_lstm *p, const float *x, const float *w_t, const float *r_t, const float *b, const float *h0,
                const float *c0, float *y, float *yh, float *yc, lk_pool *pool);

/* ---------------------------------------------------------- data movement */

/* out = x transposed: out dim i is x dim perm[i] */
int lk_transpose(int rank, const int64_t *shape, const int *perm, size_t elem_size, const void *x,
                 void *out, lk_pool *pool);
/* copy of `rows` blocks of `bytes` bytes: src + r*src_stride -> dst + r*dst_stride (Concat, Split, Slice) */
int lk_copy_blocks(size_t rows, size_t bytes, const void *src, size_t src_stride, void *dst,
                   size_t dst_stride, lk_pool *pool);

#ifdef __cplusplus
}
#endif
#endif
