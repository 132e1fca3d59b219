/*
 * LSTM (ONNX gate order i, o, f, c).  The input projection of every step is
 * one GEMM per direction; each step then adds H_{t-1} R^T (one small GEMM)
 * and updates the gates in one pass.  Runs on the calling thread: the models
 * this serves are latency-bound on per-step work, which is what a compiled
 * loop removes.
 */
#include <string.h>

#include "lk_internal.h"

typedef float v16 __attribute__((vector_size(64), aligned(4)));

/* gates[b, :] += h[b, :] . r_t (r_t is R transposed, [hid, 4hid]): 64 gates
 * at a time stay in four vector registers while every row of r_t is added,
 * scaled by h[b, k] */
LK_HOT static void recurrent_gemv(int batch, int hid, const float *h, const float *r_t, float *gates) {
    int g4 = 4 * hid;
    for (int b = 0; b < batch; b++) {
        float *g = gates + (size_t)b * g4;
        const float *hb = h + (size_t)b * hid;
        int j = 0;
        for (; j + 64 <= g4; j += 64) {
            v16 a0, a1, a2, a3;
            memcpy(&a0, g + j, 64), memcpy(&a1, g + j + 16, 64), memcpy(&a2, g + j + 32, 64), memcpy(&a3, g + j + 48, 64);
            for (int k = 0; k < hid; k++) {
                const float *row = r_t + (size_t)k * g4 + j;
                v16 r0, r1, r2, r3;
                memcpy(&r0, row, 64), memcpy(&r1, row + 16, 64), memcpy(&r2, row + 32, 64), memcpy(&r3, row + 48, 64);
                float hk = hb[k];
                a0 += hk * r0, a1 += hk * r1, a2 += hk * r2, a3 += hk * r3;
            }
            memcpy(g + j, &a0, 64), memcpy(g + j + 16, &a1, 64), memcpy(g + j + 32, &a2, 64), memcpy(g + j + 48, &a3, 64);
        }
        for (; j < g4; j++) {
            float acc = g[j];
            for (int k = 0; k < hid; k++) acc += hb[k] * r_t[(size_t)k * g4 + j];
            g[j] = acc;
        }
    }
}

LK_HOT static void lstm_gates(int batch, int hid, const float *g, float *h, float *c) {
    for (int b = 0; b < batch; b++) {
        const float *gi = g + (size_t)b * 4 * hid, *go = gi + hid, *gf = go + hid, *gc = gf + hid;
        float *hb = h + (size_t)b * hid, *cb = c + (size_t)b * hid;
        for (int j = 0; j < hid; j++) {
            float cn = lk_sigmoidf(gf[j]) * cb[j] + lk_sigmoidf(gi[j]) * lk_tanhf(gc[j]);
            cb[j] = cn;
            hb[j] = lk_sigmoidf(go[j]) * lk_tanhf(cn);
        }
    }
}

int lk_lstm_f32(const lk_lstm *p, const float *x, const float *w, const float *r_t, const float *b, const float *h0,
                const float *c0, float *y, float *yh, float *yc) {
    if (!p || p->seq < 0 || p->batch < 0 || p->input < 1 || p->hidden < 1 || p->direction < 0 || p->direction > 2)
        return LK_E_ARG;
    int dirs = p->direction == 2 ? 2 : 1, hid = p->hidden, g4 = 4 * hid;
    size_t rows = (size_t)p->seq * p->batch;
    float *proj = lk_scratch(0, (rows * g4 + (size_t)p->batch * g4 + 2 * (size_t)p->batch * hid + 1) * sizeof(float));
    if (!proj) return LK_E_NOMEM;
    float *gates = proj + rows * g4, *h = gates + (size_t)p->batch * g4, *c = h + (size_t)p->batch * hid;
    for (int d = 0; d < dirs; d++) {
        int reverse = p->direction == 1 || d == 1;
        const float *wd = w + (size_t)d * g4 * p->input, *rd = r_t + (size_t)d * g4 * hid;
        if (rows) lk_sgemm((int)rows, g4, p->input, x, p->input, wd, p->input, 1, proj, g4, 0);
        if (b) {
            const float *wb = b + (size_t)d * 2 * g4, *rb = wb + g4;
            for (size_t i = 0; i < rows; i++)
                for (int j = 0; j < g4; j++) proj[i * g4 + j] += wb[j] + rb[j];
        }
        size_t state = (size_t)p->batch * hid;
        if (h0) memcpy(h, h0 + d * state, state * sizeof(float)); else memset(h, 0, state * sizeof(float));
        if (c0) memcpy(c, c0 + d * state, state * sizeof(float)); else memset(c, 0, state * sizeof(float));
        for (int s = 0; s < p->seq; s++) {
            int t = reverse ? p->seq - 1 - s : s;
            memcpy(gates, proj + (size_t)t * p->batch * g4, (size_t)p->batch * g4 * sizeof(float));
            recurrent_gemv(p->batch, hid, h, rd, gates);
            lstm_gates(p->batch, hid, gates, h, c);
            if (y) memcpy(y + ((size_t)t * dirs + d) * state, h, state * sizeof(float));
        }
        if (yh) memcpy(yh + d * state, h, state * sizeof(float));
        if (yc) memcpy(yc + d * state, c, state * sizeof(float));
    }
    return LK_OK;
}
