/*
 * litert's integer (int8) kernels: the quantised GEMM under QLinearMatMul, QGemm and MatMulInteger.
 *
 * C[m, n] = sum_k (A[m, k] - a_zero) * (B[k, n] - b_zero[n]), exact in int32.  A is uint8 (int8
 * activations are passed shifted by 128 with a_zero + 128: the product is unchanged), B int8, row-major,
 * C int32 row-major.  On CPUs with AVX512-VNNI the products run on _mm512_dpbusd_epi32 (u8 x s8 -> s32 on
 * 4-element groups); elsewhere a portable C loop computes the same integers.  The choice is made at run
 * time (lk_qgemm_vnni_available).
 */
#ifndef LITERT_QKERNELS_H
#define LITERT_QKERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "litert_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* b_zero: n values, or NULL for 0.  Returns 0, or -1 when scratch memory cannot be had. */
int lk_qgemm_u8s8(int m, int n, int k, const uint8_t *a, int a_zero, const int8_t *b, const int32_t *b_zero,
                  int32_t *c);

/* The portable path alone (the reference the VNNI path is tested against). */
void lk_qgemm_u8s8_portable(int m, int n, int k, const uint8_t *a, int a_zero, const int8_t *b,
                            const int32_t *b_zero, int32_t *c);

/* Whether this CPU runs the AVX512-VNNI path. */
int lk_qgemm_vnni_available(void);
/* Whether int8 convolutions run on AMX tiles (AMX-INT8 and the OS's tile state; LITERT_CPU_AMX=0 declines). */
int lk_int8_amx(void);

/* ------------------------------------------------------------ quantised convolution (src/qconv.c, qdwconv.c)
 *
 * y = saturate(round(scale[m] * (bias[m] + sum x_u8 * w)) + y_zero), clamped to [y_lo, y_hi].
 * x is uint8 or int8 (x_signed: its bytes are flipped to uint8 on read, so x_zero is given in the uint8
 * domain, i.e. the int8 zero point + 128); w int8 with zero point 0; bias int32 already holds the model's
 * bias minus x_zero * (sum of the output channel's weights), so padded taps, read as x_zero, add nothing;
 * scale[m] = x_scale * w_scale[m] / y_scale.  y is uint8 (y_lo >= 0) or int8 (y_hi <= 127); a fused
 * ReLU/Clip narrows [y_lo, y_hi].  Rounding is to nearest even in float32, as onnxruntime requantises. */
typedef struct lk_qconv2d {
    int n, c, h, w;          /* input size (NCHW, or NHWC with LK_Q_X_NHWC) */
    int m, oh, ow;           /* output channels and size */
    int kh, kw, sh, sw, dh, dw;
    int pad_top, pad_left;   /* bottom/right pads follow from oh/ow */
    int groups;              /* 1 (lk_qconv2d_u8s8) or c == m (lk_qdwconv2d_u8s8) */
    int x_zero, x_signed;    /* input zero point in the uint8 domain; input bytes are int8 */
    int y_zero, y_lo, y_hi;  /* output zero point and clamp, in the output's own type */
    int layout;              /* LK_Q_X_NHWC | LK_Q_Y_NHWC bits; 0: both NCHW */
} lk_qconv2d;
/* lk_qconv2d.layout bits: x is [n][h][w][c] / y is [n][oh][ow][m] (channels-last int8 activations between
 * quantised convolutions, and QLinearMatMul/QGemm rows as 1 x rows images); a bit not set means NCHW */
#define LK_Q_X_NHWC 1
#define LK_Q_Y_NHWC 2

/* Bytes of packed weights for m output channels of c x kh x kw: [ceil(m/16)][kh*kw][ceil(c/4)][16][4]. */
size_t lk_qconv_packed_bytes(int m, int c, int kh, int kw);
/* w: int8 [m][c][kh][kw] -> packed (zero-filled past m and c). */
void lk_qconv_pack_weights(const int8_t *w, int m, int c, int kh, int kw, int8_t *packed);
/* Parameters a quantised convolution can run with (sizes positive, zero points and clamp in range). */
int lk_qconv_valid(const lk_qconv2d *p);
/* Ungrouped convolution on packed weights; AVX512-VNNI where the CPU has it, else portable C; on AMX tiles
 * (lk_int8_amx) the stride-1 convolutions of whole 64-channel steps with channels-last output. Returns LK_OK,
 * LK_E_ARG (parameters lk_qconv_valid refuses) or LK_E_NOMEM. */
int lk_qconv2d_u8s8(const lk_qconv2d *p, const void *x, const int8_t *packed, const int32_t *bias,
                    const float *scale, void *y, lk_pool *pool);
/* Depthwise (groups == c == m, NCHW, at most 512 taps) on plain int8 weights [c][kh][kw]. */
int lk_qdwconv_valid(const lk_qconv2d *p);
int lk_qdwconv2d_u8s8(const lk_qconv2d *p, const void *x, const int8_t *w, const int32_t *bias,
                      const float *scale, void *y, lk_pool *pool);
/* Depthwise channels-last (layout LK_Q_X_NHWC | LK_Q_Y_NHWC, at most 512 taps) on the int8 weights as
 * float32 [kh*kw][c rounded up to 16] (w_t[t][ch] = w[ch][t], every value an integer in [-128, 127]; 0 past c). */
int lk_qdwconv_nhwc_valid(const lk_qconv2d *p);
int lk_qdwconv2d_nhwc_u8s8(const lk_qconv2d *p, const void *x, const float *w_t, const int32_t *bias,
                           const float *scale, void *y, lk_pool *pool);
/* Test hook: 1 makes lk_qconv2d_u8s8 take its portable path even where VNNI exists. */
void lk_qconv_force_portable(int on);

/* ------------------------------------------------------------ (de)quantisation (src/qconvert.c)
 * quantize: y = saturate(round_half_even(x / scale) + zero) into [lo, hi] (uint8 or int8 bytes);
 * dequantize: y = (x - zero) * scale, x uint8 (x_signed 0) or int8 (1). */
int lk_quantize_f32(int64_t count, const float *x, float scale, int zero, int lo, int hi, void *y, lk_pool *pool);
int lk_dequantize_f32(int64_t count, const void *x, int x_signed, float scale, int zero, float *y, lk_pool *pool);
/* The residual Add of a QDQ model, DequantizeLinear(a) + DequantizeLinear(b) [-> activation] ->
 * QuantizeLinear, in one pass: the same float32 operations in the same order as the three steps (so the
 * same bytes), without writing the float tensors between them. */
typedef struct lk_qadd {
    int64_t count;
    float a_scale, b_scale, y_scale;
    int a_zero, b_zero, a_signed, b_signed; /* operand zero points in their own types */
    int y_zero, y_lo, y_hi;
    lk_activation act;                       /* applied to the float sum, as the Add step applies it */
} lk_qadd;
int lk_qadd_valid(const lk_qadd *p);
/* uint8 max pooling (p->kind LK_POOL_MAX), layout 0 (NCHW) or LK_Q_X_NHWC | LK_Q_Y_NHWC; table: 256 bytes
 * mapping the window's max to the output (Q(DQ(v)) of a QDQ model's MaxPool), or NULL for the identity. */
int lk_qmaxpool_valid(const lk_pool2d *p, int layout);
int lk_qmaxpool_u8(const lk_pool2d *p, int layout, const uint8_t *x, const uint8_t *table, uint8_t *y,
                   lk_pool *pool);
int lk_qadd_u8(const lk_qadd *p, const void *a, const void *b, void *y, lk_pool *pool);

#ifdef __cplusplus
}
#endif

#endif
