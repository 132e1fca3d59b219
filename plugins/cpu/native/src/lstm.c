/*
 * LSTM (ONNX gate order i, o, f, c).  Each step's gates are the two biases
 * plus x_t W^T plus H_{t-1} R^T, matrix-vector products over the transposed
 * weights (transposed once at load: rows of 4h gates, so the products run 64
 * gates per four vector registers), updated in one pass.
 * Runs on the calling thread: the models this serves are latency-bound on
 * per-step work, which is what a compiled loop removes.  The products stream
 * the weights from L2, so the input projections of all steps run first, four
 * steps per pass over W^T.
 */
#include <string.h>

#include "lk_internal.h"

typedef float v16 __attribute__((vector_size(64), aligned(4)));

/* out[j] += v[k] . mat_t[k][j] for j < n (mat_t rows n floats apart): 64
 * outputs at a time stay in four vector registers while every row is added,
 * scaled by v[k] (eight chains measured no faster: the rows stream from L2) */
LK_HOT static void gemv_t(int k, int n, const float *v, const float *mat_t, float *out) {
    int j = 0;
    for (; j + 64 <= n; j += 64) {
        float *o = out + j;
        v16 a0, a1, a2, a3;
        memcpy(&a0, o, 64), memcpy(&a1, o + 16, 64), memcpy(&a2, o + 32, 64), memcpy(&a3, o + 48, 64);
        for (int p = 0; p < k; p++) {
            const float *row = mat_t + (size_t)p * n + j;
            v16 r0, r1, r2, r3;
            memcpy(&r0, row, 64), memcpy(&r1, row + 16, 64), memcpy(&r2, row + 32, 64), memcpy(&r3, row + 48, 64);
            float vp = v[p];
            a0 += vp * r0, a1 += vp * r1, a2 += vp * r2, a3 += vp * r3;
        }
        memcpy(o, &a0, 64), memcpy(o + 16, &a1, 64), memcpy(o + 32, &a2, 64), memcpy(o + 48, &a3, 64);
    }
    for (; j < n; j++) {
        float acc = out[j];
        for (int p = 0; p < k; p++) acc += v[p] * mat_t[(size_t)p * n + j];
        out[j] = acc;
    }
}

/* out[i][j] += v[i][k] . mat_t[k][j] for four rows i at once (v rows k floats
 * apart, out rows n apart): each row of mat_t read once for the four, where
 * four gemv_t calls read it four times (the input projection of four steps) */
LK_HOT static void gemv4_t(int k, int n, const float *v, const float *mat_t, float *out) {
    const float *v0 = v, *v1 = v + k, *v2 = v + 2 * (size_t)k, *v3 = v + 3 * (size_t)k;
    int j = 0;
    for (; j + 32 <= n; j += 32) {
        float *o0 = out + j, *o1 = o0 + n, *o2 = o1 + n, *o3 = o2 + n;
        v16 a00, a01, a10, a11, a20, a21, a30, a31;
        memcpy(&a00, o0, 64), memcpy(&a01, o0 + 16, 64), memcpy(&a10, o1, 64), memcpy(&a11, o1 + 16, 64);
        memcpy(&a20, o2, 64), memcpy(&a21, o2 + 16, 64), memcpy(&a30, o3, 64), memcpy(&a31, o3 + 16, 64);
        for (int p = 0; p < k; p++) {
            const float *row = mat_t + (size_t)p * n + j;
            v16 r0, r1;
            memcpy(&r0, row, 64), memcpy(&r1, row + 16, 64);
            a00 += v0[p] * r0, a01 += v0[p] * r1, a10 += v1[p] * r0, a11 += v1[p] * r1;
            a20 += v2[p] * r0, a21 += v2[p] * r1, a30 += v3[p] * r0, a31 += v3[p] * r1;
        }
        memcpy(o0, &a00, 64), memcpy(o0 + 16, &a01, 64), memcpy(o1, &a10, 64), memcpy(o1 + 16, &a11, 64);
        memcpy(o2, &a20, 64), memcpy(o2 + 16, &a21, 64), memcpy(o3, &a30, 64), memcpy(o3 + 16, &a31, 64);
    }
    for (int i = 0; i < 4 && j < n; i++) {
        for (int jj = j; jj < n; jj++) {
            float acc = out[(size_t)i * n + jj];
            for (int p = 0; p < k; p++) acc += v[(size_t)i * k + p] * mat_t[(size_t)p * n + jj];
            out[(size_t)i * n + jj] = acc;
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

int lk_lstm_f32(const lk_lstm *p, const float *x, const float *w_t, const float *r_t, const float *b, const float *h0,
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
        const float *wd = w_t + (size_t)d * p->input * g4, *rd = r_t + (size_t)d * g4 * hid;
        /* every step's input projection first, from the two biases (summed once, copied to every row) */
        if (rows) {
            for (int j = 0; j < g4; j++) proj[j] = b ? b[(size_t)d * 2 * g4 + j] + b[(size_t)d * 2 * g4 + g4 + j] : 0.0f;
            for (size_t i = 1; i < rows; i++) memcpy(proj + i * g4, proj, (size_t)g4 * sizeof(float));
        }
        size_t i = 0;
        for (; i + 4 <= rows; i += 4) gemv4_t(p->input, g4, x + i * p->input, wd, proj + i * g4);
        for (; i < rows; i++) gemv_t(p->input, g4, x + i * p->input, wd, proj + i * g4);
        size_t state = (size_t)p->batch * hid;
        if (h0) memcpy(h, h0 + d * state, state * sizeof(float)); else memset(h, 0, state * sizeof(float));
        if (c0) memcpy(c, c0 + d * state, state * sizeof(float)); else memset(c, 0, state * sizeof(float));
        for (int s = 0; s < p->seq; s++) {
            int t = reverse ? p->seq - 1 - s : s;
            memcpy(gates, proj + (size_t)t * p->batch * g4, (size_t)p->batch * g4 * sizeof(float));
            for (int bi = 0; bi < p->batch; bi++) gemv_t(hid, g4, h + (size_t)bi * hid, rd, gates + (size_t)bi * g4);
            lstm_gates(p->batch, hid, gates, h, c);
            if (y) memcpy(y + ((size_t)t * dirs + d) * state, h, state * sizeof(float));
        }
        if (yh) memcpy(yh + d * state, h, state * sizeof(float));
        if (yc) memcpy(yc + d * state, c, state * sizeof(float));
    }
    return LK_OK;
}
