/*
 * LSTM (ONNX gate order i, o, f, c).  The input projection of every step is
 * one GEMM per direction; each step then adds H_{t-1} R^T (one small GEMM)
 * and updates the gates in one pass.  Runs on the calling thread: the models
 * this serves are latency-bound on per-step work, which is what a compiled
 * loop removes.
 */
#include <string.h>

#include "lk_internal.h"

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

int lk_lstm_f32(const lk_lstm *p, const float *x, const float *w, const float *r, const float *b, const float *h0,
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
        const float *wd = w + (size_t)d * g4 * p->input, *rd = r + (size_t)d * g4 * hid;
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
            if (p->batch) lk_sgemm(p->batch, g4, hid, h, hid, rd, hid, 1, gates, g4, 1);
            lstm_gates(p->batch, hid, gates, h, c);
            if (y) memcpy(y + ((size_t)t * dirs + d) * state, h, state * sizeof(float));
        }
        if (yh) memcpy(yh + d * state, h, state * sizeof(float));
        if (yc) memcpy(yc + d * state, c, state * sizeof(float));
    }
    return LK_OK;
}
