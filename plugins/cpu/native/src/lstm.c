/*
 * LSTM (ONNX gate order i, o, f, c).  Each step's gates are the two biases
 * plus x_t W^T plus H_{t-1} R^T, matrix-vector products over the transposed
 * weights (transposed once at load: rows of 4h gates, so the products run 64
 * gates per four vector registers), updated in one pass.
 * The products stream the weights from L2, so the input projections of all
 * steps run first, four steps per pass over W^T.  With a pool, each step's
 * recurrence is split by hidden units: a task computes the four gates of its
 * units (four column ranges of R^T) and updates those units, reading the
 * whole previous state from one buffer and writing the next into the other;
 * the end of the step's parallel_for is the only barrier (the benchmark's
 * 16-step LSTM of hidden 128 on two Zen 4 threads: 0.065 -> 0.053 ms a run,
 * onnxruntime 0.055; it ran on the calling thread alone before).
 */
#include <string.h>

#include "lk_internal.h"

typedef float v16 __attribute__((vector_size(64), aligned(4)));

/* out[j] = init[j] + v[k] . mat_t[k][j] for j < n (mat_t rows ld floats apart; out may be init): 64 outputs
 * at a time stay in four vector registers while every row is added, scaled by v[k] (eight chains measured no
 * faster: the rows stream from L2) */
LK_HOT static void gemv_t(int k, int n, const float *v, const float *mat_t, size_t ld, const float *init, float *out) {
    int j = 0;
    for (; j + 64 <= n; j += 64) {
        const float *i0 = init + j;
        v16 a0, a1, a2, a3;
        memcpy(&a0, i0, 64), memcpy(&a1, i0 + 16, 64), memcpy(&a2, i0 + 32, 64), memcpy(&a3, i0 + 48, 64);
        for (int p = 0; p < k; p++) {
            const float *row = mat_t + (size_t)p * ld + j;
            v16 r0, r1, r2, r3;
            memcpy(&r0, row, 64), memcpy(&r1, row + 16, 64), memcpy(&r2, row + 32, 64), memcpy(&r3, row + 48, 64);
            float vp = v[p];
            a0 += vp * r0, a1 += vp * r1, a2 += vp * r2, a3 += vp * r3;
        }
        float *o = out + j;
        memcpy(o, &a0, 64), memcpy(o + 16, &a1, 64), memcpy(o + 32, &a2, 64), memcpy(o + 48, &a3, 64);
    }
    for (; j < n; j++) {
        float acc = init[j];
        for (int p = 0; p < k; p++) acc += v[p] * mat_t[(size_t)p * ld + j];
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

/* hidden units [u0, u1) of one batch row from its gates g (i, o, f, c blocks of hid): c updated, the new
 * state into h */
LK_HOT static void lstm_units(int hid, int u0, int u1, const float *g, float *h, float *c) {
    const float *gi = g, *go = gi + hid, *gf = go + hid, *gc = gf + hid;
    for (int j = u0; j < u1; j++) {
        float cn = lk_sigmoidf(gf[j]) * c[j] + lk_sigmoidf(gi[j]) * lk_tanhf(gc[j]);
        c[j] = cn;
        h[j] = lk_sigmoidf(go[j]) * lk_tanhf(cn);
    }
}

/* One step of one direction, split by hidden units: `proj` the step's input projections [batch][4h], `h_prev`
 * the state it reads, `h_next` the state it writes (other buffers, so that no task reads a unit another one has
 * updated), `c` updated in place (each unit by its own task) */
typedef struct {
    int batch, hid, chunk;
    const float *r_t, *proj, *h_prev;
    float *gates, *h_next, *c;
} lstm_step;

static void lstm_step_task(void *ctx, size_t index) {
    const lstm_step *j = ctx;
    int hid = j->hid, g4 = 4 * hid, u0 = (int)index * j->chunk, u1 = LK_MIN(u0 + j->chunk, hid);
    for (int b = 0; b < j->batch; b++) {
        const float *proj = j->proj + (size_t)b * g4;
        float *gates = j->gates + (size_t)b * g4;
        for (int q = 0; q < 4; q++) /* gate q of units [u0, u1): columns q * hid + u0 .. of R^T */
            gemv_t(hid, u1 - u0, j->h_prev + (size_t)b * hid, j->r_t + (size_t)q * hid + u0, (size_t)g4,
                   proj + (size_t)q * hid + u0, gates + (size_t)q * hid + u0);
        lstm_units(hid, u0, u1, gates, j->h_next + (size_t)b * hid, j->c + (size_t)b * hid);
    }
}

/* units per task: whole vectors, at least 32 (a step of fewer is cheaper on one thread than handed out), one
 * task per thread */
static int step_chunk(int hid, int threads) {
    if (threads < 2 || hid < 64) return hid;
    int chunk = ((hid + threads - 1) / threads + 15) & ~15;
    return LK_MAX(chunk, 32);
}

int lk_lstm_f32(const lk_lstm *p, const float *x, const float *w_t, const float *r_t, const float *b, const float *h0,
                const float *c0, float *y, float *yh, float *yc, lk_pool *pool) {
    if (!p || p->seq < 0 || p->batch < 0 || p->input < 1 || p->hidden < 1 || p->direction < 0 || p->direction > 2)
        return LK_E_ARG;
    int dirs = p->direction == 2 ? 2 : 1, hid = p->hidden, g4 = 4 * hid;
    size_t rows = (size_t)p->seq * p->batch, state = (size_t)p->batch * hid;
    float *proj = lk_scratch(0, (rows * g4 + (size_t)p->batch * g4 + 3 * state + 1) * sizeof(float));
    if (!proj) return LK_E_NOMEM;
    float *gates = proj + rows * g4, *h = gates + (size_t)p->batch * g4, *c = h + state, *h2 = c + state;
    lstm_step step = {.batch = p->batch, .hid = hid, .chunk = step_chunk(hid, lk_pool_threads(pool)), .gates = gates,
                      .c = c};
    size_t tasks = (size_t)((hid + step.chunk - 1) / step.chunk);
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
        for (; i < rows; i++) gemv_t(p->input, g4, x + i * p->input, wd, (size_t)g4, proj + i * g4, proj + i * g4);
        if (h0) memcpy(h, h0 + d * state, state * sizeof(float)); else memset(h, 0, state * sizeof(float));
        if (c0) memcpy(c, c0 + d * state, state * sizeof(float)); else memset(c, 0, state * sizeof(float));
        step.r_t = rd;
        float *h_prev = h, *h_next = h2;
        for (int s = 0; s < p->seq; s++) {
            int t = reverse ? p->seq - 1 - s : s;
            step.proj = proj + (size_t)t * p->batch * g4;
            step.h_prev = h_prev, step.h_next = h_next;
            lk_parallel_for(tasks > 1 ? pool : NULL, tasks, lstm_step_task, &step);
            if (y) memcpy(y + ((size_t)t * dirs + d) * state, h_next, state * sizeof(float));
            float *swap = h_prev;
            h_prev = h_next, h_next = swap;
        }
        if (yh) memcpy(yh + d * state, h_prev, state * sizeof(float));
        if (yc) memcpy(yc + d * state, c, state * sizeof(float));
    }
    return LK_OK;
}
