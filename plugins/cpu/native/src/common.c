/* Per-thread scratch memory and CPU feature reporting. */
#define _POSIX_C_SOURCE 200112L
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_internal.h"

/* slots 0-3: a task's own buffers; 4: a buffer the calling thread fills or lends to a whole job */
#define LK_SCRATCH_SLOTS 5

static _Thread_local struct {
    void *ptr;
    size_t size;
} scratch[LK_SCRATCH_SLOTS];

void *lk_scratch(int slot, size_t bytes) {
    if (slot < 0 || slot >= LK_SCRATCH_SLOTS) return NULL;
    if (scratch[slot].size >= bytes && scratch[slot].ptr) return scratch[slot].ptr;
    size_t size = (bytes + 63) & ~(size_t)63;
    if (size < bytes) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, 64, size ? size : 64) != 0) return NULL;
    free(scratch[slot].ptr);
    scratch[slot].ptr = p;
    scratch[slot].size = size;
    return p;
}

long lk_l2_bytes(void) {
    static _Atomic long cached = 0;
    long bytes = atomic_load(&cached);
    if (bytes == 0) {
#ifdef _SC_LEVEL2_CACHE_SIZE
        bytes = sysconf(_SC_LEVEL2_CACHE_SIZE); /* glibc: from CPUID; 0 or -1 where unknown */
#endif
        if (bytes <= 0) bytes = 1L << 20;
        atomic_store(&cached, bytes);
    }
    return bytes;
}

enum lk_isa lk_cpu_isa(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return LK_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return LK_ISA_AVX2;
#endif
    return LK_ISA_BASELINE;
}

const char *lk_isa_name(enum lk_isa isa) {
    static const char *names[] = {"baseline", "avx2", "avx512"};
    return (unsigned)isa < sizeof names / sizeof names[0] ? names[isa] : "unknown";
}

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
unsigned lk_flush_denormals(void) {
    unsigned state = _mm_getcsr();
    _mm_setcsr(state | 0x8040); /* FTZ (bit 15) | DAZ (bit 6) */
    return state;
}
void lk_restore_denormals(unsigned state) { _mm_setcsr(state); }
#else
unsigned lk_flush_denormals(void) { return 0; }
void lk_restore_denormals(unsigned state) { (void)state; }
#endif

/* float32 -> bfloat16 bits, rounded to nearest even (NaN stays a quiet NaN),
 * as VCVTNEPS2BF16 rounds */
static uint32_t bf16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

void lk_split_activation(const lk_activation *act, float *lo, float *hi, lk_activation *after) {
    *lo = -INFINITY;
    *hi = INFINITY;
    after->kind = LK_ACT_NONE;
    if (act->kind == LK_ACT_RELU) {
        *lo = 0.0f;
    } else if (act->kind == LK_ACT_CLIP) {
        *lo = act->p0;
        *hi = act->p1;
    } else if (act->kind != LK_ACT_NONE) {
        *after = *act;
    }
}

uint32_t lk_bf16_pair(float lo, float hi) { return bf16_bits(lo) | bf16_bits(hi) << 16; }
