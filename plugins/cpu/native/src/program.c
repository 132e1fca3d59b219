/*
 * Static plans of kernel calls (see litert_program.h).
 *
 * Two tables drive it, one row per step kind: CHECKS says which bytes of
 * which slots a step touches (validated, overflow-safe, when it is added),
 * RUNS calls the kernel.
 */
#include <stdlib.h>
#include <string.h>

#include "litert_program.h"
#include "lk_internal.h"

struct lk_program {
    int slot_count;
    int64_t *slot_bytes;
    lk_step *steps;
    int count, capacity;
};

/* ------------------------------------------------------------ size checks */

/* a*b*... with overflow detection: -1 on overflow or a negative factor */
static int64_t product(int count, const int64_t *v) {
    int64_t p = 1;
    for (int i = 0; i < count; i++) {
        if (v[i] < 0 || __builtin_mul_overflow(p, v[i], &p)) return -1;
    }
    return p;
}

static int64_t prod2(int64_t a, int64_t b) { int64_t v[2] = {a, b}; return product(2, v); }
static int64_t prod3(int64_t a, int64_t b, int64_t c) { int64_t v[3] = {a, b, c}; return product(3, v); }
static int64_t prod4(int64_t a, int64_t b, int64_t c, int64_t d) { int64_t v[4] = {a, b, c, d}; return product(4, v); }

/* the slot exists (or is optional and absent) and holds at least `bytes` */
static int need(const lk_program *pr, int slot, int64_t bytes, int optional) {
    if (slot < 0) return optional;
    if (slot >= pr->slot_count || bytes < 0) return 0;
    return pr->slot_bytes[slot] >= bytes;
}

static int64_t f32(int64_t elements) { return elements < 0 || elements > INT64_MAX / 4 ? -1 : elements * 4; }

static int valid_act(const lk_activation *a) { return a->kind >= 0 && a->kind < LK_ACT_COUNT; }

static int check_conv(const lk_program *pr, const lk_step *s) {
    const lk_conv2d *p = &s->u.conv;
    if (p->n < 0 || p->c < 1 || p->h < 1 || p->w < 1 || p->m < 1 || p->oh < 0 || p->ow < 0 || p->kh < 1 ||
        p->kw < 1 || p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1 || p->pad_top < 0 || p->pad_left < 0 ||
        p->groups < 1 || p->c % p->groups || p->m % p->groups || !valid_act(&p->act))
        return 0;
    if (s->kind == LK_STEP_DWCONV2D && (p->groups != p->c || p->m != p->c)) return 0;
    if ((s->kind == LK_STEP_CONV2D_PACKED || s->kind == LK_STEP_CONV2D_PACKED_PREACT) && !lk_conv_packed_available())
        return 0;
    if (s->kind == LK_STEP_CONV2D_PACKED_BF16 && !lk_bf16_available()) return 0;
    int wino_unit = s->kind == LK_STEP_CONV2D_WINOGRAD ? 2 : s->kind == LK_STEP_CONV2D_WINOGRAD4 ? 4 : 0;
    if ((wino_unit || s->kind == LK_STEP_CONV2D_WINOGRAD_BF16) && !lk_winograd_available(p)) return 0;
    /* a variant the library has (F(4x4, 5x5) does not exist) */
    if (wino_unit && !lk_winograd_packed_floats(wino_unit, p->kh, p->m, p->c, p->groups)) return 0;
    if (s->kind == LK_STEP_CONV2D_WINOGRAD_BF16 && (!lk_bf16_available() || p->groups != 1 || p->kh != 3)) return 0;
    /* padded extents fit in int */
    if ((int64_t)(p->oh - 1) * p->sh + (int64_t)(p->kh - 1) * p->dh + 1 > 1 << 30 ||
        (int64_t)(p->ow - 1) * p->sw + (int64_t)(p->kw - 1) * p->dw + 1 > 1 << 30 ||
        prod2(p->oh, p->ow) > 1 << 30 || prod3(p->c / p->groups, p->kh, p->kw) > 1 << 30)
        return 0;
    int64_t out = f32(prod4(p->n, p->m, p->oh, p->ow));
    return need(pr, s->slots[0], f32(prod4(p->n, p->c, p->h, p->w)), 0) &&
           need(pr, s->slots[1],
                s->kind == LK_STEP_CONV2D_PACKED || s->kind == LK_STEP_CONV2D_PACKED_PREACT
                    ? f32((int64_t)lk_conv_packed_floats(p->m, p->c / p->groups * p->kh * p->kw, p->groups))
                : s->kind == LK_STEP_CONV2D_PACKED_BF16 || s->kind == LK_STEP_CONV2D_PACKED_PREACT_BF16
                    ? f32((int64_t)lk_conv_packed_bf16_pairs(p->m, p->c / p->groups * p->kh * p->kw, p->kh * p->kw, p->groups))
                : wino_unit ? f32((int64_t)lk_winograd_packed_floats(wino_unit, p->kh, p->m, p->c, p->groups))
                : s->kind == LK_STEP_CONV2D_WINOGRAD_BF16 ? f32((int64_t)lk_winograd_packed_bf16_pairs(p->m, p->c))
                                                     : f32(prod4(p->m, p->c / p->groups, p->kh, p->kw)),
                0) &&
           need(pr, s->slots[2], f32(p->m), 1) && need(pr, s->slots[3], out, 1) && need(pr, s->slots[4], out, 0);
}

/* the pre-activation conv: a 1x1 packed conv's geometry, and a scale and a shift per input channel */
static int check_conv_preact(const lk_program *pr, const lk_step *s) {
    const lk_conv2d *p = &s->u.conv;
    if (s->kind == LK_STEP_CONV2D_PACKED_PREACT_BF16 && (!lk_bf16_amx() || p->c < lk_conv_preact_bf16_channels()))
        return 0;
    return check_conv(pr, s) && lk_conv_preact_geometry(p) && need(pr, s->slots[5], f32(p->c), 0) &&
           need(pr, s->slots[6], f32(p->c), 0);
}

static int check_pool(const lk_program *pr, const lk_step *s) {
    const lk_pool2d *p = &s->u.pool;
    if (p->n < 0 || p->c < 0 || p->h < 1 || p->w < 1 || p->oh < 0 || p->ow < 0 || p->kh < 1 || p->kw < 1 ||
        p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1 || p->pad_top < 0 || p->pad_left < 0 ||
        p->pad_bottom < 0 || p->pad_right < 0 || p->kind < 0 || p->kind > LK_POOL_AVG_INCLUDE_PAD)
        return 0;
    if ((int64_t)(p->oh - 1) * p->sh + (int64_t)(p->kh - 1) * p->dh + 1 > 1 << 30 ||
        (int64_t)(p->ow - 1) * p->sw + (int64_t)(p->kw - 1) * p->dw + 1 > 1 << 30)
        return 0;
    return need(pr, s->slots[0], f32(prod4(p->n, p->c, p->h, p->w)), 0) &&
           need(pr, s->slots[1], f32(prod4(p->n, p->c, p->oh, p->ow)), 0);
}

static int check_gpool(const lk_program *pr, const lk_step *s) {
    int rows = s->u.gpool.rows, inner = s->u.gpool.inner;
    return rows >= 0 && inner >= 1 && (s->u.gpool.kind == LK_POOL_MAX || s->u.gpool.kind == LK_POOL_AVG) &&
           need(pr, s->slots[0], f32(prod2(rows, inner)), 0) && need(pr, s->slots[1], f32(rows), 0);
}

/* elements an operand with these strides reaches: 1 + sum (shape-1)*stride */
static int64_t reach(int rank, const int64_t *shape, const int64_t *strides) {
    int64_t last = 0;
    for (int d = 0; d < rank; d++) {
        int64_t step;
        if (strides[d] < 0 || shape[d] < 1 || __builtin_mul_overflow(shape[d] - 1, strides[d], &step) ||
            __builtin_add_overflow(last, step, &last))
            return -1;
    }
    return last + 1;
}

static int check_binary(const lk_program *pr, const lk_step *s) {
    const lk_broadcast *bc = &s->u.binary.bc;
    if (s->u.binary.op < 0 || s->u.binary.op >= LK_BINARY_COUNT || bc->rank < 1 || bc->rank > LK_MAX_DIMS ||
        !valid_act(&s->u.binary.act))
        return 0;
    int64_t n = product(bc->rank, bc->shape);
    if (n < 0) return 0;
    if (n == 0) return need(pr, s->slots[0], 0, 0) && need(pr, s->slots[1], 0, 0) && need(pr, s->slots[2], 0, 0);
    int r = bc->rank;
    if ((bc->a_strides[r - 1] != 0 && bc->a_strides[r - 1] != 1) || (bc->b_strides[r - 1] != 0 && bc->b_strides[r - 1] != 1))
        return 0;
    return need(pr, s->slots[0], f32(reach(r, bc->shape, bc->a_strides)), 0) &&
           need(pr, s->slots[1], f32(reach(r, bc->shape, bc->b_strides)), 0) && need(pr, s->slots[2], f32(n), 0);
}

static int check_unary(const lk_program *pr, const lk_step *s) {
    return s->u.unary.n >= 0 && valid_act(&s->u.unary.act) && need(pr, s->slots[0], f32(s->u.unary.n), 0) &&
           need(pr, s->slots[1], f32(s->u.unary.n), 0);
}

static int check_affine(const lk_program *pr, const lk_step *s) {
    int64_t n = prod3(s->u.affine.outer, s->u.affine.channels, s->u.affine.inner);
    return s->u.affine.channels >= 1 && valid_act(&s->u.affine.act) && need(pr, s->slots[0], f32(n), 0) &&
           need(pr, s->slots[1], f32(s->u.affine.channels), 0) && need(pr, s->slots[2], f32(s->u.affine.channels), 0) &&
           need(pr, s->slots[3], f32(n), 0);
}

static int check_softmax(const lk_program *pr, const lk_step *s) {
    int64_t n = prod3(s->u.softmax.outer, s->u.softmax.axis, s->u.softmax.inner);
    return s->u.softmax.axis >= 1 && s->u.softmax.inner >= 1 && need(pr, s->slots[0], f32(n), 0) &&
           need(pr, s->slots[1], f32(n), 0);
}

static int check_layernorm(const lk_program *pr, const lk_step *s) {
    int64_t n = prod2(s->u.layernorm.rows, s->u.layernorm.size);
    return s->u.layernorm.size >= 1 && need(pr, s->slots[0], f32(n), 0) &&
           need(pr, s->slots[1], f32(s->u.layernorm.size), 0) && need(pr, s->slots[2], f32(s->u.layernorm.size), 1) &&
           need(pr, s->slots[3], f32(n), 0);
}

static int check_instancenorm(const lk_program *pr, const lk_step *s) {
    int64_t n = prod3(s->u.instancenorm.n, s->u.instancenorm.c, s->u.instancenorm.inner);
    return s->u.instancenorm.c >= 1 && s->u.instancenorm.inner >= 1 && prod2(s->u.instancenorm.n, s->u.instancenorm.c) < (1LL << 31) &&
           need(pr, s->slots[0], f32(n), 0) && need(pr, s->slots[1], f32(s->u.instancenorm.c), 0) &&
           need(pr, s->slots[2], f32(s->u.instancenorm.c), 0) && need(pr, s->slots[3], f32(n), 0);
}

static int check_lrn(const lk_program *pr, const lk_step *s) {
    int64_t n = prod3(s->u.lrn.n, s->u.lrn.c, s->u.lrn.inner);
    return s->u.lrn.c >= 1 && s->u.lrn.inner >= 1 && s->u.lrn.size >= 1 && need(pr, s->slots[0], f32(n), 0) &&
           need(pr, s->slots[1], f32(n), 0);
}

static int check_lstm(const lk_program *pr, const lk_step *s) {
    const lk_lstm *p = &s->u.lstm;
    if (p->seq < 0 || p->batch < 0 || p->input < 1 || p->hidden < 1 || p->direction < 0 || p->direction > 2 ||
        prod2(p->hidden, 4) > (1 << 28))
        return 0;
    int64_t dirs = p->direction == 2 ? 2 : 1, g4 = 4 * (int64_t)p->hidden;
    int64_t state = prod3(dirs, p->batch, p->hidden);
    if (s->slots[6] < 0 && s->slots[7] < 0 && s->slots[8] < 0) return 0;  /* writes nothing */
    return need(pr, s->slots[0], f32(prod3(p->seq, p->batch, p->input)), 0) &&
           need(pr, s->slots[1], f32(prod3(dirs, g4, p->input)), 0) &&
           need(pr, s->slots[2], f32(prod3(dirs, g4, p->hidden)), 0) && need(pr, s->slots[3], f32(prod3(dirs, 2, g4)), 1) &&
           need(pr, s->slots[4], f32(state), 1) && need(pr, s->slots[5], f32(state), 1) &&
           need(pr, s->slots[6], f32(prod2(p->seq, state)), 1) && need(pr, s->slots[7], f32(state), 1) &&
           need(pr, s->slots[8], f32(state), 1);
}

static int check_resize(const lk_program *pr, const lk_step *s) {
    const lk_resize2d *p = &s->u.resize;
    if (p->planes < 0 || p->h < 1 || p->w < 1 || p->oh < 0 || p->ow < 0 || p->ty < 1 || p->tx < 1 || p->ty > 64 ||
        p->tx > 64)
        return 0;
    int64_t ty = prod2(p->oh, p->ty), tx = prod2(p->ow, p->tx);
    return need(pr, s->slots[0], f32(prod3(p->planes, p->h, p->w)), 0) && need(pr, s->slots[1], f32(ty), 0) &&
           need(pr, s->slots[2], f32(ty), 0) && need(pr, s->slots[3], f32(tx), 0) && need(pr, s->slots[4], f32(tx), 0) &&
           need(pr, s->slots[5], f32(prod3(p->planes, p->oh, p->ow)), 0);
}

static int check_convtranspose(const lk_program *pr, const lk_step *s) {
    const lk_conv2d *p = &s->u.conv;
    if (p->n < 0 || p->c < 1 || p->h < 1 || p->w < 1 || p->m < 1 || p->oh < 0 || p->ow < 0 || p->kh < 1 ||
        p->kw < 1 || p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1 || p->groups < 1 || p->c % p->groups ||
        p->m % p->groups || !valid_act(&p->act) || prod3(p->m / p->groups, p->kh, p->kw) > (1 << 24))
        return 0;
    return need(pr, s->slots[0], f32(prod4(p->n, p->c, p->h, p->w)), 0) &&
           need(pr, s->slots[1], f32(prod4(p->c, p->m / p->groups, p->kh, p->kw)), 0) &&
           need(pr, s->slots[2], f32(p->m), 1) && need(pr, s->slots[3], f32(prod4(p->n, p->m, p->oh, p->ow)), 0);
}

static int check_matmul(const lk_program *pr, const lk_step *s) {
    const lk_matmul *p = &s->u.matmul;
    if (s->kind == LK_STEP_MATMUL_BF16 && !lk_bf16_available()) return 0;
    if (p->batch < 0 || p->m < 0 || p->n < 0 || p->k < 0 || p->trans_a || p->a_bs < 0 || p->b_bs < 0 ||
        p->bias_kind < 0 || p->bias_kind > 3 || !valid_act(&p->act))
        return 0;
    if (p->batch == 0 || p->m == 0 || p->n == 0) return need(pr, s->slots[3], 0, 0);
    int64_t a_span, b_span, t;
    if (__builtin_mul_overflow((int64_t)(p->batch - 1), p->a_bs, &t) || __builtin_add_overflow(t, prod2(p->m, p->k), &a_span) ||
        __builtin_mul_overflow((int64_t)(p->batch - 1), p->b_bs, &t) || __builtin_add_overflow(t, prod2(p->k, p->n), &b_span))
        return 0;
    int64_t bias = p->bias_kind == 1 ? p->n : p->bias_kind == 2 ? prod2(p->m, p->n) : 1;
    return need(pr, s->slots[0], f32(a_span), 0) && need(pr, s->slots[1], f32(b_span), 0) &&
           (p->bias_kind == 0 ? s->slots[2] < 0 : need(pr, s->slots[2], f32(bias), 0)) &&
           need(pr, s->slots[3], f32(prod3(p->batch, p->m, p->n)), 0);
}

static int check_matmul_packed(const lk_program *pr, const lk_step *s) {
    const lk_matmul *p = &s->u.matmul;
    int bf16 = s->kind == LK_STEP_MATMUL_PACKED_BF16;
    if (!(bf16 ? lk_bf16_available() : lk_conv_packed_available()) || p->batch != 1 || p->m < 0 || p->n < 1 ||
        p->k < 1 || p->trans_a || p->trans_b || p->a_bs || p->b_bs || p->bias_kind < 0 || p->bias_kind > 3 ||
        !valid_act(&p->act))
        return 0;
    /* packed B: k x n floats in 32-column panels, or as many bf16 pairs (4 bytes each too) */
    int64_t packed = (int64_t)(bf16 ? lk_gemm_packed_b_bf16_pairs(p->k, p->n) : lk_gemm_packed_b_floats(p->k, p->n));
    int64_t bias = p->bias_kind == 1 ? p->n : p->bias_kind == 2 ? prod2(p->m, p->n) : 1;
    return need(pr, s->slots[0], f32(prod2(p->m, p->k)), 0) &&
           need(pr, s->slots[1], f32(packed), 0) &&
           (p->bias_kind == 0 ? s->slots[2] < 0 : need(pr, s->slots[2], f32(bias), 0)) &&
           need(pr, s->slots[3], f32(prod2(p->m, p->n)), 0);
}

static int check_transpose(const lk_program *pr, const lk_step *s) {
    int r = s->u.transpose.rank;
    if (r < 1 || r > LK_MAX_DIMS || s->u.transpose.elem < 1 || s->u.transpose.elem > 16) return 0;
    int seen = 0;
    for (int d = 0; d < r; d++) {
        int p = s->u.transpose.perm[d];
        if (p < 0 || p >= r || (seen >> p) & 1) return 0;
        seen |= 1 << p;
    }
    int64_t bytes = prod2(product(r, s->u.transpose.shape), s->u.transpose.elem);
    return bytes >= 0 && need(pr, s->slots[0], bytes, 0) && need(pr, s->slots[1], bytes, 0);
}

static int check_copy(const lk_program *pr, const lk_step *s) {
    int64_t rows = s->u.copy.rows, bytes = s->u.copy.bytes;
    if (rows < 0 || bytes < 0 || s->u.copy.src_offset < 0 || s->u.copy.dst_offset < 0 || s->u.copy.src_stride < 0 ||
        s->u.copy.dst_stride < 0)
        return 0;
    if (rows == 0 || bytes == 0) return need(pr, s->slots[0], 0, 0) && need(pr, s->slots[1], 0, 0);
    int64_t src_end, dst_end, t;
    if (__builtin_mul_overflow(rows - 1, s->u.copy.src_stride, &t) || __builtin_add_overflow(t, s->u.copy.src_offset + bytes, &src_end) ||
        __builtin_mul_overflow(rows - 1, s->u.copy.dst_stride, &t) || __builtin_add_overflow(t, s->u.copy.dst_offset + bytes, &dst_end))
        return 0;
    if (rows > 1 && s->u.copy.dst_stride < bytes) return 0;  /* rows must not overlap in the output */
    return need(pr, s->slots[0], src_end, 0) && need(pr, s->slots[1], dst_end, 0);
}

/* int8 steps: one byte per element of x and y */
static int check_qconv(const lk_program *pr, const lk_step *s) {
    const lk_qconv2d *p = &s->u.qconv;
    int64_t weights;
    if (s->kind == LK_STEP_QDWCONV2D) {
        if (!lk_qdwconv_valid(p)) return 0;
        weights = prod3(p->c, p->kh, p->kw);
    } else if (s->kind == LK_STEP_QDWCONV2D_NHWC) {
        if (!lk_qdwconv_nhwc_valid(p)) return 0;
        weights = f32(prod3((p->c + 15) & ~15, p->kh, p->kw));
    } else {
        if (!lk_qconv_valid(p) || p->groups != 1) return 0;
        weights = (int64_t)lk_qconv_packed_bytes(p->m, p->c, p->kh, p->kw);
    }
    return need(pr, s->slots[0], prod4(p->n, p->c, p->h, p->w), 0) && need(pr, s->slots[1], weights, 0) &&
           need(pr, s->slots[2], f32(p->m), 0) && need(pr, s->slots[3], f32(p->m), 0) &&
           need(pr, s->slots[4], prod4(p->n, p->m, p->oh, p->ow), 0);
}

static int check_qconvert(const lk_program *pr, const lk_step *s) {
    int64_t n = s->u.qconvert.count;
    int lo = s->u.qconvert.lo, hi = s->u.qconvert.hi;
    if (n < 0) return 0;
    if (s->kind == LK_STEP_QUANTIZE)
        return s->u.qconvert.scale > 0.0f && lo <= hi && ((lo >= 0 && hi <= 255) || (lo >= -128 && hi <= 127)) &&
               need(pr, s->slots[0], f32(n), 0) && need(pr, s->slots[1], n, 0);
    return (s->u.qconvert.x_signed == 0 || s->u.qconvert.x_signed == 1) && need(pr, s->slots[0], n, 0) &&
           need(pr, s->slots[1], f32(n), 0);
}

static int check_qadd(const lk_program *pr, const lk_step *s) {
    int64_t n = s->u.qadd.count;
    return lk_qadd_valid(&s->u.qadd) && need(pr, s->slots[0], n, 0) && need(pr, s->slots[1], n, 0) &&
           need(pr, s->slots[2], n, 0);
}

static int check_qmaxpool(const lk_program *pr, const lk_step *s) {
    const lk_pool2d *p = &s->u.qpool.pool;
    return lk_qmaxpool_valid(p, s->u.qpool.layout) && need(pr, s->slots[0], prod4(p->n, p->c, p->h, p->w), 0) &&
           need(pr, s->slots[1], 256, 1) && need(pr, s->slots[2], prod4(p->n, p->c, p->oh, p->ow), 0);
}

/* ------------------------------------------------------------------- runs */

#define SLOT(i) ((void *)(s->slots[i] >= 0 ? slots[s->slots[i]] : NULL))
/* the run of a convolution step: `kernel` over its parameters (s->u.`params`) and slots x, w, b, z, y */
#define RUN_CONV(name, kernel, params)                                                                  \
    static int name(const lk_step *s, void *const *slots, lk_pool *pool) {                              \
        return kernel(&s->u.params, SLOT(0), SLOT(1), SLOT(2), SLOT(3), SLOT(4), pool);                 \
    }

RUN_CONV(run_conv, lk_conv2d_f32, conv)
RUN_CONV(run_conv_packed, lk_conv2d_packed_f32, conv)
static int run_conv_winograd(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_conv2d_winograd_f32(2, &s->u.conv, SLOT(0), SLOT(1), SLOT(2), SLOT(3), SLOT(4), pool);
}
static int run_conv_winograd4(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_conv2d_winograd_f32(4, &s->u.conv, SLOT(0), SLOT(1), SLOT(2), SLOT(3), SLOT(4), pool);
}
RUN_CONV(run_dwconv, lk_dwconv2d_f32, conv)
static int run_pool(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_pool2d_f32(&s->u.pool, SLOT(0), SLOT(1), pool);
}
static int run_gpool(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_global_pool_f32(s->u.gpool.rows, s->u.gpool.inner, s->u.gpool.kind, SLOT(0), SLOT(1), pool);
}
static int run_binary(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_binary_f32(s->u.binary.op, &s->u.binary.bc, SLOT(0), SLOT(1), SLOT(2), &s->u.binary.act, pool);
}
static int run_unary(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_unary_f32(&s->u.unary.act, SLOT(0), SLOT(1), (size_t)s->u.unary.n, pool);
}
static int run_affine(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_channel_affine_f32(s->u.affine.outer, s->u.affine.channels, s->u.affine.inner, SLOT(0), SLOT(1),
                                 SLOT(2), SLOT(3), &s->u.affine.act, pool);
}
static int run_softmax(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_softmax_f32(s->u.softmax.outer, s->u.softmax.axis, s->u.softmax.inner, s->u.softmax.log, SLOT(0),
                          SLOT(1), pool);
}
static int run_layernorm(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_layernorm_f32(s->u.layernorm.rows, s->u.layernorm.size, s->u.layernorm.epsilon, SLOT(0), SLOT(1),
                            SLOT(2), SLOT(3), pool);
}
static int run_instancenorm(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_instancenorm_f32(s->u.instancenorm.n, s->u.instancenorm.c, s->u.instancenorm.inner,
                               s->u.instancenorm.epsilon, SLOT(0), SLOT(1), SLOT(2), SLOT(3), pool);
}
static int run_lrn(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_lrn_f32(s->u.lrn.n, s->u.lrn.c, s->u.lrn.inner, s->u.lrn.size, s->u.lrn.alpha, s->u.lrn.beta,
                      s->u.lrn.bias, SLOT(0), SLOT(1), pool);
}
static int run_lstm(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_lstm_f32(&s->u.lstm, SLOT(0), SLOT(1), SLOT(2), SLOT(3), SLOT(4), SLOT(5), SLOT(6), SLOT(7), SLOT(8),
                       pool);
}
static int run_resize(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_resize2d_f32(&s->u.resize, SLOT(0), SLOT(1), SLOT(2), SLOT(3), SLOT(4), SLOT(5), pool);
}
static int run_convtranspose(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_convtranspose2d_f32(&s->u.conv, SLOT(0), SLOT(1), SLOT(2), SLOT(3), pool);
}
static int run_matmul(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_matmul_f32(&s->u.matmul, SLOT(0), SLOT(1), SLOT(2), SLOT(3), pool);
}
static int run_matmul_packed(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_matmul_packed_f32(&s->u.matmul, SLOT(0), SLOT(1), SLOT(2), SLOT(3), pool);
}

static int run_conv_packed_preact(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_conv2d_packed_preact_f32(&s->u.conv, SLOT(0), SLOT(1), SLOT(2), SLOT(3), SLOT(4), SLOT(5), SLOT(6), pool);
}

static int run_conv_packed_preact_bf16(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_conv2d_packed_preact_bf16(&s->u.conv, SLOT(0), SLOT(1), SLOT(2), SLOT(3), SLOT(4), SLOT(5), SLOT(6),
                                        pool);
}

static int run_conv_packed_bf16(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_conv2d_packed_bf16(&s->u.conv, SLOT(0), SLOT(1), SLOT(2), SLOT(3), SLOT(4), pool);
}

static int run_matmul_bf16(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_matmul_bf16(&s->u.matmul, SLOT(0), SLOT(1), SLOT(2), SLOT(3), pool);
}

static int run_conv_winograd_bf16(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_conv2d_winograd_bf16(&s->u.conv, SLOT(0), SLOT(1), SLOT(2), SLOT(3), SLOT(4), pool);
}

static int run_matmul_packed_bf16(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_matmul_packed_bf16(&s->u.matmul, SLOT(0), SLOT(1), SLOT(2), SLOT(3), pool);
}
static int run_transpose(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_transpose(s->u.transpose.rank, s->u.transpose.shape, s->u.transpose.perm, (size_t)s->u.transpose.elem,
                        SLOT(0), SLOT(1), pool);
}
static int run_copy(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_copy_blocks((size_t)s->u.copy.rows, (size_t)s->u.copy.bytes, (char *)SLOT(0) + s->u.copy.src_offset,
                          (size_t)s->u.copy.src_stride, (char *)SLOT(1) + s->u.copy.dst_offset,
                          (size_t)s->u.copy.dst_stride, pool);
}

RUN_CONV(run_qconv, lk_qconv2d_u8s8, qconv)
RUN_CONV(run_qdwconv, lk_qdwconv2d_u8s8, qconv)
RUN_CONV(run_qdwconv_nhwc, lk_qdwconv2d_nhwc_u8s8, qconv)
static int run_qadd(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_qadd_u8(&s->u.qadd, SLOT(0), SLOT(1), SLOT(2), pool);
}
static int run_qmaxpool(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_qmaxpool_u8(&s->u.qpool.pool, s->u.qpool.layout, SLOT(0), SLOT(1), SLOT(2), pool);
}
static int run_quantize(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_quantize_f32(s->u.qconvert.count, SLOT(0), s->u.qconvert.scale, s->u.qconvert.zero, s->u.qconvert.lo,
                           s->u.qconvert.hi, SLOT(1), pool);
}
static int run_dequantize(const lk_step *s, void *const *slots, lk_pool *pool) {
    return lk_dequantize_f32(s->u.qconvert.count, SLOT(0), s->u.qconvert.x_signed, s->u.qconvert.scale,
                             s->u.qconvert.zero, SLOT(1), pool);
}

typedef struct {
    int (*check)(const lk_program *, const lk_step *);
    int (*run)(const lk_step *, void *const *, lk_pool *);
} step_kind;

static const step_kind KINDS[LK_STEP_KIND_COUNT] = {
    [LK_STEP_CONV2D] = {check_conv, run_conv},
    [LK_STEP_DWCONV2D] = {check_conv, run_dwconv},
    [LK_STEP_POOL2D] = {check_pool, run_pool},
    [LK_STEP_GLOBAL_POOL] = {check_gpool, run_gpool},
    [LK_STEP_BINARY] = {check_binary, run_binary},
    [LK_STEP_UNARY] = {check_unary, run_unary},
    [LK_STEP_AFFINE] = {check_affine, run_affine},
    [LK_STEP_SOFTMAX] = {check_softmax, run_softmax},
    [LK_STEP_LAYERNORM] = {check_layernorm, run_layernorm},
    [LK_STEP_INSTANCENORM] = {check_instancenorm, run_instancenorm},
    [LK_STEP_MATMUL] = {check_matmul, run_matmul},
    [LK_STEP_TRANSPOSE] = {check_transpose, run_transpose},
    [LK_STEP_COPY] = {check_copy, run_copy},
    [LK_STEP_CONV2D_PACKED] = {check_conv, run_conv_packed},
    [LK_STEP_LRN] = {check_lrn, run_lrn},
    [LK_STEP_LSTM] = {check_lstm, run_lstm},
    [LK_STEP_RESIZE2D] = {check_resize, run_resize},
    [LK_STEP_CONVTRANSPOSE2D] = {check_convtranspose, run_convtranspose},
    [LK_STEP_CONV2D_WINOGRAD] = {check_conv, run_conv_winograd},
    [LK_STEP_MATMUL_PACKED] = {check_matmul_packed, run_matmul_packed},
    [LK_STEP_QCONV2D] = {check_qconv, run_qconv},
    [LK_STEP_QDWCONV2D] = {check_qconv, run_qdwconv},
    [LK_STEP_QUANTIZE] = {check_qconvert, run_quantize},
    [LK_STEP_DEQUANTIZE] = {check_qconvert, run_dequantize},
    [LK_STEP_CONV2D_PACKED_BF16] = {check_conv, run_conv_packed_bf16},
    [LK_STEP_MATMUL_PACKED_BF16] = {check_matmul_packed, run_matmul_packed_bf16},
    [LK_STEP_CONV2D_WINOGRAD_BF16] = {check_conv, run_conv_winograd_bf16},
    [LK_STEP_MATMUL_BF16] = {check_matmul, run_matmul_bf16},
    [LK_STEP_QDWCONV2D_NHWC] = {check_qconv, run_qdwconv_nhwc},
    [LK_STEP_QADD] = {check_qadd, run_qadd},
    [LK_STEP_QMAXPOOL] = {check_qmaxpool, run_qmaxpool},
    [LK_STEP_CONV2D_WINOGRAD4] = {check_conv, run_conv_winograd4},
    [LK_STEP_CONV2D_PACKED_PREACT] = {check_conv_preact, run_conv_packed_preact},
    [LK_STEP_CONV2D_PACKED_PREACT_BF16] = {check_conv_preact, run_conv_packed_preact_bf16},
};

/* ------------------------------------------------------------- programs */

lk_program *lk_program_create(int slot_count, const int64_t *slot_bytes) {
    if (slot_count < 0) return NULL;
    lk_program *pr = calloc(1, sizeof *pr);
    if (!pr) return NULL;
    pr->slot_count = slot_count;
    pr->slot_bytes = calloc((size_t)(slot_count ? slot_count : 1), sizeof(int64_t));
    if (!pr->slot_bytes) {
        free(pr);
        return NULL;
    }
    for (int i = 0; i < slot_count; i++) pr->slot_bytes[i] = slot_bytes[i] < 0 ? 0 : slot_bytes[i];
    return pr;
}

void lk_program_destroy(lk_program *pr) {
    if (!pr) return;
    free(pr->slot_bytes);
    free(pr->steps);
    free(pr);
}

int lk_program_add(lk_program *pr, const lk_step *step) {
    if (!pr || !step || step->kind < 0 || step->kind >= LK_STEP_KIND_COUNT) return LK_E_ARG;
    for (int i = 0; i < LK_STEP_SLOTS; i++)
        if (step->slots[i] >= pr->slot_count || step->slots[i] < -1) return LK_E_ARG;
    if (!KINDS[step->kind].check(pr, step)) return LK_E_ARG;
    if (pr->count == pr->capacity) {
        int cap = pr->capacity ? pr->capacity * 2 : 16;
        lk_step *grown = realloc(pr->steps, (size_t)cap * sizeof(lk_step));
        if (!grown) return LK_E_NOMEM;
        pr->steps = grown;
        pr->capacity = cap;
    }
    pr->steps[pr->count++] = *step;
    return LK_OK;
}

int lk_program_steps(const lk_program *pr) { return pr ? pr->count : 0; }

int lk_program_run(const lk_program *pr, void *const *slots, int first, int last, lk_pool *pool, int *failed_step) {
    if (!pr || first < 0 || last > pr->count || first > last) return LK_E_ARG;
    unsigned fp_state = lk_flush_denormals();
    int result = LK_OK;
    for (int i = first; i < last && result == LK_OK; i++) {
        const lk_step *s = &pr->steps[i];
        int status = LK_OK;
        for (int k = 0; k < LK_STEP_SLOTS; k++)
            if (s->slots[k] >= 0 && !slots[s->slots[k]] && pr->slot_bytes[s->slots[k]] > 0) status = LK_E_ARG;
        if (status == LK_OK) status = KINDS[s->kind].run(s, slots, pool);
        if (status != LK_OK) {
            if (failed_step) *failed_step = i;
            result = status;
        }
    }
    lk_restore_denormals(fp_state);
    return result;
}
