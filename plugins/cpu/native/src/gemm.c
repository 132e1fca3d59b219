/*
 * Single-threaded SGEMM: an external BLAS when one was registered
 * (lk_set_blas_sgemm: the CPU plugin registers OpenBLAS from the
 * scipy-openblas32 wheel), else the library's own packed GEMM.
 *
 * The own GEMM follows the usual layout (BLIS/XNNPACK): B is packed into
 * panels of NR columns, A into panels of MR rows, and an MR x NR
 * micro-kernel accumulates a block in registers over a KC slice of k.
 * Written with GCC vector extensions, so one source serves AVX-512, AVX2 and
 * NEON; the hot function is cloned per x86-64 level and picked at load time.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lk_internal.h"

#define MR 8
#define NR 16
#define KC 256
#define NC 512

typedef float v16 __attribute__((vector_size(64), aligned(4)));

static _Atomic(lk_cblas_sgemm_fn) blas_sgemm = NULL;

void lk_set_blas_sgemm(lk_cblas_sgemm_fn fn) { atomic_store(&blas_sgemm, fn); }
int lk_has_blas(void) { return atomic_load(&blas_sgemm) != NULL; }

/* packs B[k0:k0+kc, n0:n0+nc] into NR-wide column panels, zero-padded */
static void pack_b(int kc, int nc, const float *b, int ldb, int trans_b, float *out) {
    for (int j0 = 0; j0 < nc; j0 += NR) {
        int nr = LK_MIN(NR, nc - j0);
        for (int p = 0; p < kc; p++) {
            float *dst = out + (size_t)p * NR;
            if (!trans_b) {
                const float *src = b + (size_t)p * ldb + j0;
                int j = 0;
                for (; j < nr; j++) dst[j] = src[j];
                for (; j < NR; j++) dst[j] = 0.0f;
            } else {
                int j = 0;
                for (; j < nr; j++) dst[j] = b[(size_t)(j0 + j) * ldb + p];
                for (; j < NR; j++) dst[j] = 0.0f;
            }
        }
        out += (size_t)kc * NR;
    }
}

/* packs A[i0:i0+mc, k0:k0+kc] into MR-tall row panels, zero-padded */
static void pack_a(int mc, int kc, const float *a, int lda, float *out) {
    for (int i0 = 0; i0 < mc; i0 += MR) {
        int mr = LK_MIN(MR, mc - i0);
        for (int p = 0; p < kc; p++) {
            int i = 0;
            for (; i < mr; i++) out[(size_t)p * MR + i] = a[(size_t)(i0 + i) * lda + p];
            for (; i < MR; i++) out[(size_t)p * MR + i] = 0.0f;
        }
        out += (size_t)kc * MR;
    }
}

LK_HOT static void micro_kernel(int kc, const float *pa, const float *pb, float *c, int ldc, int mr,
                                int nr, int accumulate) {
    v16 acc[MR];
    for (int i = 0; i < MR; i++) acc[i] = (v16){0};
    for (int p = 0; p < kc; p++) {
        v16 bv;
        memcpy(&bv, pb + (size_t)p * NR, sizeof bv);
        const float *ap = pa + (size_t)p * MR;
        for (int i = 0; i < MR; i++) acc[i] += ap[i] * bv;
    }
    for (int i = 0; i < mr; i++) {
        float *row = c + (size_t)i * ldc;
        float tmp[NR];
        memcpy(tmp, &acc[i], sizeof tmp);
        if (accumulate)
            for (int j = 0; j < nr; j++) row[j] += tmp[j];
        else
            for (int j = 0; j < nr; j++) row[j] = tmp[j];
    }
}

static void own_sgemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb, int trans_b,
                      float *c, int ldc, int accumulate) {
    float *pb = lk_scratch(2, (size_t)KC * (NC + NR) * sizeof(float));
    float *pa = lk_scratch(3, (size_t)KC * (LK_MIN(m, 256) + MR) * sizeof(float));
    if (!pa || !pb) {  /* no memory for packing: plain loops */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                float s = accumulate ? c[(size_t)i * ldc + j] : 0.0f;
                for (int p = 0; p < k; p++)
                    s += a[(size_t)i * lda + p] * (trans_b ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j]);
                c[(size_t)i * ldc + j] = s;
            }
        return;
    }
    if (k == 0) {
        if (!accumulate)
            for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    for (int j0 = 0; j0 < n; j0 += NC) {
        int nc = LK_MIN(NC, n - j0);
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = LK_MIN(KC, k - p0);
            const float *bsrc = trans_b ? b + (size_t)j0 * ldb + p0 : b + (size_t)p0 * ldb + j0;
            pack_b(kc, nc, bsrc, ldb, trans_b, pb);
            int acc = accumulate || p0 > 0;
            for (int i0 = 0; i0 < m; i0 += 256) {
                int mc = LK_MIN(256, m - i0);
                pack_a(mc, kc, a + (size_t)i0 * lda + p0, lda, pa);
                for (int jr = 0; jr < nc; jr += NR)
                    for (int ir = 0; ir < mc; ir += MR)
                        micro_kernel(kc, pa + (size_t)ir * kc, pb + (size_t)jr * kc,
                                     c + (size_t)(i0 + ir) * ldc + j0 + jr, ldc, LK_MIN(MR, mc - ir),
                                     LK_MIN(NR, nc - jr), acc);
            }
        }
    }
}

void lk_sgemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb, int trans_b, float *c,
              int ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    lk_cblas_sgemm_fn fn = atomic_load(&blas_sgemm);
    if (fn && k > 0) {
        /* CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112 */
        fn(101, 111, trans_b ? 112 : 111, m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
        return;
    }
    own_sgemm(m, n, k, a, lda, b, ldb, trans_b, c, ldc, accumulate);
}
