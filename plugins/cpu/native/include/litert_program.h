/*
 * litert_program.h - a static plan of kernel calls run in one call.
 *
 * A program is a list of steps over numbered tensor slots.  Each slot has a
 * byte size fixed when the program is created; every step is checked against
 * those sizes when it is added (lk_program_add refuses a step that would
 * read or write past a slot), so running a program only needs one pointer per
 * slot, each to at least that many bytes.  The CPU plugin points slots at a
 * planned activation arena, the model's constants and the run's inputs and
 * outputs, and runs whole segments of the graph with the GIL released.
 */
#ifndef LITERT_PROGRAM_H
#define LITERT_PROGRAM_H

#include "litert_kernels.h"
#include "litert_qkernels.h"

#ifdef __cplusplus
extern "C" {
#endif

enum lk_step_kind {
    LK_STEP_CONV2D = 0,     /* slots: x, w, bias?, z?, y */
    LK_STEP_DWCONV2D,       /* slots: x, w, bias?, z?, y */
    LK_STEP_POOL2D,         /* slots: x, y */
    LK_STEP_GLOBAL_POOL,    /* slots: x, y */
    LK_STEP_BINARY,         /* slots: a, b, y */
    LK_STEP_UNARY,          /* slots: x, y */
    LK_STEP_AFFINE,         /* slots: x, scale, shift, y */
    LK_STEP_SOFTMAX,        /* slots: x, y */
    LK_STEP_LAYERNORM,      /* slots: x, gamma, beta?, y */
    LK_STEP_INSTANCENORM,   /* slots: x, gamma, beta, y */
    LK_STEP_MATMUL,         /* slots: a, b, bias?, y */
    LK_STEP_TRANSPOSE,      /* slots: x, y */
    LK_STEP_COPY,           /* slots: x, y (strided block copy with byte offsets) */
    LK_STEP_CONV2D_PACKED,  /* slots: x, packed w, bias?, z?, y (lk_conv2d_packed_f32) */
    LK_STEP_LRN,            /* slots: x, y */
    LK_STEP_LSTM,           /* slots: x, w_t, r_t, b?, h0?, c0?, y?, yh?, yc? */
    LK_STEP_RESIZE2D,       /* slots: x, iy (int32), wy, ix (int32), wx, y */
    LK_STEP_CONVTRANSPOSE2D, /* slots: x, w, bias?, y */
    LK_STEP_CONV2D_WINOGRAD, /* slots: x, transformed w, bias?, z?, y (lk_conv2d_winograd_f32, unit 2) */
    LK_STEP_MATMUL_PACKED,  /* slots: a, packed b, bias?, y (lk_matmul_packed_f32) */
    /* int8 steps (litert_qkernels.h) */
    LK_STEP_QCONV2D,        /* slots: x (u8/s8), packed w, bias (int32), scale (f32), y (u8/s8) */
    LK_STEP_QDWCONV2D,      /* slots: x (u8/s8), w (s8 [c][kh][kw]), bias (int32), scale (f32), y (u8/s8) */
    LK_STEP_QUANTIZE,       /* slots: x (f32), y (u8/s8) */
    LK_STEP_DEQUANTIZE,     /* slots: x (u8/s8), y (f32) */
    /* bf16 arithmetic (litert_kernels.h) */
    LK_STEP_CONV2D_PACKED_BF16, /* slots: x, bf16 packed w, bias?, z?, y (lk_conv2d_packed_bf16) */
    LK_STEP_MATMUL_PACKED_BF16, /* slots: a, bf16 packed b, bias?, y (lk_matmul_packed_bf16) */
    LK_STEP_CONV2D_WINOGRAD_BF16, /* slots: x, bf16 transformed w, bias?, z?, y (lk_conv2d_winograd_bf16) */
    LK_STEP_MATMUL_BF16,        /* slots: a, b, bias?, y (lk_matmul_bf16) */
    /* int8 depthwise, channels-last (lk_qdwconv2d_nhwc_u8s8) */
    LK_STEP_QDWCONV2D_NHWC, /* slots: x (u8/s8 NHWC), w (f32 [kh*kw][c]), bias (int32), scale (f32), y (u8/s8 NHWC) */
    LK_STEP_QADD,           /* slots: a (u8/s8), b (u8/s8), y (u8/s8) (lk_qadd_u8) */
    LK_STEP_QMAXPOOL,       /* slots: x (u8), table? (u8[256]), y (u8) (lk_qmaxpool_u8) */
    LK_STEP_CONV2D_WINOGRAD4, /* slots: x, F(4x4, 3x3) transformed w, bias?, z?, y (lk_conv2d_winograd_f32, unit 4) */
    LK_STEP_CONV2D_PACKED_PREACT, /* slots: x, packed w, bias?, z?, y, scale, shift (lk_conv2d_packed_preact_f32) */
    LK_STEP_CONV2D_PACKED_PREACT_BF16, /* slots: x, bf16 packed w, bias?, z?, y, scale, shift (..._preact_bf16) */
    LK_STEP_KIND_COUNT
};

#define LK_STEP_SLOTS 9

typedef struct lk_step {
    int kind;
    int slots[LK_STEP_SLOTS];    /* -1 for an absent optional operand */
    union {
        lk_conv2d conv;
        lk_pool2d pool;
        struct { int rows, inner, kind; } gpool;
        struct { int op; lk_broadcast bc; lk_activation act; } binary;
        struct { lk_activation act; int64_t n; } unary;
        struct { int outer, channels, inner; lk_activation act; } affine;
        struct { int outer, axis, inner, log; } softmax;
        struct { int rows, size; float epsilon; } layernorm;
        struct { int n, c, inner; float epsilon; } instancenorm;
        struct { int n, c, inner, size; float alpha, beta, bias; } lrn;
        lk_lstm lstm;
        lk_resize2d resize;
        lk_matmul matmul;
        struct { int rank; int64_t shape[LK_MAX_DIMS]; int perm[LK_MAX_DIMS]; int64_t elem; } transpose;
        struct { int64_t rows, bytes, src_offset, src_stride, dst_offset, dst_stride; } copy;
        lk_qconv2d qconv;
        struct { int64_t count; float scale; int zero, lo, hi, x_signed; } qconvert;
        lk_qadd qadd;
        struct { lk_pool2d pool; int layout; } qpool;
    } u;
} lk_step;

typedef struct lk_program lk_program;

lk_program *lk_program_create(int slot_count, const int64_t *slot_bytes);
void lk_program_destroy(lk_program *program);
/* Appends a step after checking its parameters and every byte it reads or
 * writes against the slot sizes; LK_E_ARG (and nothing added) otherwise. */
int lk_program_add(lk_program *program, const lk_step *step);
int lk_program_steps(const lk_program *program);
/* Runs steps [first, last); slots[i] points at slot_bytes[i] bytes.  On
 * failure returns the error and stores the failing step's index. */
int lk_program_run(const lk_program *program, void *const *slots, int first, int last, lk_pool *pool,
                   int *failed_step);

#ifdef __cplusplus
}
#endif
#endif
