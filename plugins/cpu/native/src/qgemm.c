/*
 * Quantised GEMM (see litert_qkernels.h): int32 C = (A - a_zero) x (B - b_zero), A uint8, B int8.
 *
 * The raw products sum(A * B) are computed first, then the zero points are folded in:
 *   C[m, n] = sum_k A*B - a_zero * colsum(B)[n] - b_zero[n] * rowsum(A)[m] + k * a_zero * b_zero[n].
 * The VNNI path packs B per call into [n/16][k/4][16][4] panels (4 consecutive k of one column next to
 * each other, what _mm512_dpbusd_epi32 multiplies against 4 broadcast bytes of A) and keeps a 4 x 16
 * tile of C in registers.
 */
#include <stdlib.h>
#include <string.h>

#include "litert_qkernels.h"
#include "lk_internal.h"

static void fold_zero_points(int m, int n, int k, const uint8_t *a, int a_zero, const int8_t *b,
                             const int32_t *b_zero, int32_t *c) {
    if (a_zero) {
        for (int j = 0; j < n; j++) {
            int32_t colsum = 0;
            for (int p = 0; p < k; p++) colsum += b[(size_t)p * n + j];
            for (int i = 0; i < m; i++) c[(size_t)i * n + j] -= a_zero * colsum;
        }
    }
    if (b_zero) {
        for (int i = 0; i < m; i++) {
            int32_t rowsum = 0;
            for (int p = 0; p < k; p++) rowsum += a[(size_t)i * k + p];
            for (int j = 0; j < n; j++) c[(size_t)i * n + j] += b_zero[j] * (k * a_zero - rowsum);
        }
    }
}

void lk_qgemm_u8s8_portable(int m, int n, int k, const uint8_t *a, int a_zero, const int8_t *b,
                            const int32_t *b_zero, int32_t *c) {
    for (int i = 0; i < m; i++) {
        int32_t *row = c + (size_t)i * n;
        memset(row, 0, (size_t)n * sizeof *row);
        for (int p = 0; p < k; p++) {
            int32_t av = a[(size_t)i * k + p];
            const int8_t *brow = b + (size_t)p * n;
            for (int j = 0; j < n; j++) row[j] += av * brow[j];
        }
    }
    fold_zero_points(m, n, k, a, a_zero, b, b_zero, c);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define QNR 16
#define QMR 4

int lk_qgemm_vnni_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
}

/* B (k x n) -> panels [n/16][k4/4][16][4], zero-padded in k and n. */
static void pack_b(int n, int k, const int8_t *b, int8_t *out) {
    int k4 = (k + 3) & ~3;
    int panels = (n + QNR - 1) / QNR;
    for (int pnl = 0; pnl < panels; pnl++) {
        int8_t *dst = out + (size_t)pnl * k4 * QNR;
        for (int p = 0; p < k4; p += 4)
            for (int col = 0; col < QNR; col++)
                for (int q = 0; q < 4; q++) {
                    int j = pnl * QNR + col, kk = p + q;
                    dst[(size_t)p * QNR + col * 4 + q] = (j < n && kk < k) ? b[(size_t)kk * n + j] : 0;
                }
    }
}

static inline int32_t load4(const uint8_t *row, int p, int k) {
    uint8_t bytes[4] = {0, 0, 0, 0};
    for (int q = 0; q < 4 && p + q < k; q++) bytes[q] = row[p + q];
    int32_t v;
    memcpy(&v, bytes, 4);
    return v;
}

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void qgemm_vnni(int m, int n, int k, const uint8_t *a, const int8_t *packed, int32_t *c) {
    int k4 = (k + 3) & ~3;
    int panels = (n + QNR - 1) / QNR;
    for (int i0 = 0; i0 < m; i0 += QMR) {
        int rows = LK_MIN(QMR, m - i0);
        for (int pnl = 0; pnl < panels; pnl++) {
            const int8_t *bp = packed + (size_t)pnl * k4 * QNR;
            __m512i acc[QMR];
            for (int r = 0; r < QMR; r++) acc[r] = _mm512_setzero_si512();
            for (int p = 0; p < k4; p += 4) {
                __m512i bv = _mm512_loadu_si512((const void *)(bp + (size_t)p * QNR));
                for (int r = 0; r < rows; r++) {
                    const uint8_t *arow = a + (size_t)(i0 + r) * k;
                    int32_t four;
                    if (p + 4 <= k)
                        memcpy(&four, arow + p, 4);
                    else
                        four = load4(arow, p, k);
                    acc[r] = _mm512_dpbusd_epi32(acc[r], _mm512_set1_epi32(four), bv);
                }
            }
            int cols = LK_MIN(QNR, n - pnl * QNR);
            __mmask16 mask = (__mmask16)((1u << cols) - 1u);
            for (int r = 0; r < rows; r++)
                _mm512_mask_storeu_epi32(c + (size_t)(i0 + r) * n + pnl * QNR, mask, acc[r]);
        }
    }
}

int lk_qgemm_u8s8(int m, int n, int k, const uint8_t *a, int a_zero, const int8_t *b, const int32_t *b_zero,
                  int32_t *c) {
    if (m <= 0 || n <= 0) return 0;
    if (k <= 0) {
        memset(c, 0, (size_t)m * n * sizeof *c);
        return 0;
    }
    if (!lk_qgemm_vnni_available()) {
        lk_qgemm_u8s8_portable(m, n, k, a, a_zero, b, b_zero, c);
        return 0;
    }
    size_t k4 = (size_t)((k + 3) & ~3);
    size_t panels = (size_t)((n + QNR - 1) / QNR);
    int8_t *packed = malloc(panels * k4 * QNR);
    if (!packed) return -1;
    pack_b(n, k, b, packed);
    qgemm_vnni(m, n, k, a, packed, c);
    free(packed);
    fold_zero_points(m, n, k, a, a_zero, b, b_zero, c);
    return 0;
}

#else

int lk_qgemm_vnni_available(void) { return 0; }

int lk_qgemm_u8s8(int m, int n, int k, const uint8_t *a, int a_zero, const int8_t *b, const int32_t *b_zero,
                  int32_t *c) {
    lk_qgemm_u8s8_portable(m, n, k, a, a_zero, b, b_zero, c);
    return 0;
}

#endif
