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

#ifdef __cplusplus
}
#endif

#endif
