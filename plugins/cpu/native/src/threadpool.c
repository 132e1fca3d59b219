/*
 * The thread pool behind lk_parallel_for.
 *
 * A job is n tasks claimed one at a time through one 64-bit atomic word
 * holding (generation << 32 | first unclaimed << 16 | last unclaimed + 1), so
 * a worker that wakes late can never claim a task of a job that has moved on:
 * its compare-and-swap fails on the generation.  The caller claims from the
 * front, the workers from the back: consecutive kernels cut the same way (a
 * conv's position tiles, then the next conv's) leave each thread on the part
 * of the data it wrote, still in its own cache, where tasks taken in turns
 * made every kernel read half its input from the other core.  The caller does not wait for
 * workers to notice a job, only for its tasks to complete; on a busy machine a
 * descheduled worker therefore costs nothing (the caller does its share).
 *
 * Idle workers spin for a short while (so the back-to-back kernels of one
 * inference hand off without a wake-up) and then sleep on a condition
 * variable: a library must not burn a core when nobody runs a model.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lk_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LK_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define LK_PAUSE() __asm__ __volatile__("yield")
#else
#define LK_PAUSE() ((void)0)
#endif

/* how long an idle worker spins before sleeping, and a waiting caller before blocking, unless
 * lk_pool_set_spin says otherwise.  2 ms, not less: between two predict calls Python spends a few
 * hundred us, and a worker asleep by then wakes late (a halted vCPU of a VM wakes through the
 * hypervisor; another process may hold the core for its slice), so the next run went single-threaded
 * for a while: measured on a 2-vCPU Zen 4 guest, 2 threads, p90 latency at 200 us / 2 ms of spin:
 * SqueezeNet 11.0 / 5.3 ms, detection head 7.8 / 3.9 ms, MobileNetV2 8.6 / 7.6 ms (minima equal) */
#define LK_SPIN_NS 2000000L

struct lk_pool {
    int threads;
    _Atomic long spin_ns;
    pthread_t *workers;
    pthread_mutex_t mutex;
    pthread_cond_t wake;      /* workers: a new generation or stop */
    pthread_cond_t finished;  /* caller: all tasks done */
    atomic_flag busy;         /* a caller is running a job */
    atomic_uint_fast64_t claim;  /* generation << 32 | front << 16 | back (one past the last unclaimed) */
    atomic_uint generation;
    atomic_size_t done;
    atomic_int stop;
    /* the current job; written before its generation is published */
    lk_task_fn fn;
    void *ctx;
    size_t n;
};

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

#define LK_MAX_JOB_TASKS 0xffffu /* tasks of one job: the claim word's 16-bit indices */

/* Claims the next task of generation `gen`, from the front or the back; 0 when none is left. */
static int claim(lk_pool *pool, uint32_t gen, int from_back, size_t *task) {
    uint64_t word = atomic_load(&pool->claim);
    for (;;) {
        uint32_t front = (uint32_t)(word >> 16) & 0xffffu, back = (uint32_t)word & 0xffffu;
        if ((uint32_t)(word >> 32) != gen || front >= back) return 0;
        uint64_t next = from_back ? word - 1 : word + (1u << 16);
        if (atomic_compare_exchange_weak(&pool->claim, &word, next)) {
            *task = from_back ? back - 1 : front;
            return 1;
        }
    }
}

/* Claims and runs tasks of generation `gen` until none is left. */
static void work(lk_pool *pool, uint32_t gen, lk_task_fn fn, void *ctx, size_t n, int from_back) {
    size_t task;
    while (claim(pool, gen, from_back, &task)) {
        fn(ctx, task);
        if (atomic_fetch_add(&pool->done, 1) + 1 == n) {
            pthread_mutex_lock(&pool->mutex);
            pthread_cond_broadcast(&pool->finished);
            pthread_mutex_unlock(&pool->mutex);
        }
    }
}

static void *worker_main(void *arg) {
    lk_pool *pool = arg;
    lk_flush_denormals(); /* the pool's own threads run kernels only */
    unsigned seen = atomic_load(&pool->generation);
    for (;;) {
        long start = now_ns();
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop)) {
            LK_PAUSE();
            if (++spins % 64 == 0 && now_ns() - start > atomic_load(&pool->spin_ns)) {
                pthread_mutex_lock(&pool->mutex);
                while ((gen = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop))
                    pthread_cond_wait(&pool->wake, &pool->mutex);
                pthread_mutex_unlock(&pool->mutex);
                break;
            }
        }
        if (atomic_load(&pool->stop)) return NULL;
        /* The job's fields and its generation are read together under the
         * mutex the caller writes them under; if that job is already over,
         * the claim word's generation check makes work() return at once. */
        pthread_mutex_lock(&pool->mutex);
        seen = (unsigned)(atomic_load(&pool->claim) >> 32);
        lk_task_fn fn = pool->fn;
        void *ctx = pool->ctx;
        size_t n = pool->n;
        pthread_mutex_unlock(&pool->mutex);
        (void)gen;
        work(pool, (uint32_t)seen, fn, ctx, n, 1);
    }
}

lk_pool *lk_pool_create(int threads) {
    if (threads < 1) threads = 1;
    lk_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->threads = threads;
    atomic_init(&pool->spin_ns, LK_SPIN_NS);
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->finished, NULL);
    atomic_flag_clear(&pool->busy);
    atomic_init(&pool->claim, 0);
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->done, 0);
    atomic_init(&pool->stop, 0);
    if (threads > 1) {
        pool->workers = calloc((size_t)threads - 1, sizeof(pthread_t));
        if (!pool->workers) {
            free(pool);
            return NULL;
        }
        for (int i = 0; i < threads - 1; i++) {
            if (pthread_create(&pool->workers[i], NULL, worker_main, pool) != 0) {
                pool->threads = i + 1; /* run with the workers we got */
                break;
            }
        }
    }
    return pool;
}

void lk_pool_destroy(lk_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    atomic_store(&pool->stop, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 0; i < pool->threads - 1; i++) pthread_join(pool->workers[i], NULL);
    free(pool->workers);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->finished);
    pthread_mutex_destroy(&pool->mutex);
    free(pool);
}

int lk_pool_threads(const lk_pool *pool) { return pool ? pool->threads : 1; }

void lk_pool_set_spin(lk_pool *pool, long spin_ns) {
    if (pool) atomic_store(&pool->spin_ns, spin_ns < 0 ? 0 : spin_ns);
}

size_t lk_task_count(const lk_pool *pool, size_t units, size_t min_units_per_task) {
    int threads = lk_pool_threads(pool);
    if (threads <= 1 || units == 0) return 1;
    if (min_units_per_task == 0) min_units_per_task = 1;
    size_t by_size = units / min_units_per_task;
    size_t wanted = (size_t)threads * 4;
    size_t tasks = LK_MIN(by_size, wanted);
    return tasks < 1 ? 1 : tasks;
}

typedef struct {
    lk_task_fn fn;
    void *ctx;
    size_t base;
} block_job;

static void block_task(void *arg, size_t index) {
    const block_job *b = arg;
    b->fn(b->ctx, b->base + index);
}

void lk_parallel_for(lk_pool *pool, size_t n, lk_task_fn fn, void *ctx) {
    if (n == 0) return;
    if (n > LK_MAX_JOB_TASKS && pool && pool->threads > 1) { /* more tasks than a claim word counts */
        for (size_t base = 0; base < n; base += LK_MAX_JOB_TASKS) {
            block_job b = {fn, ctx, base};
            lk_parallel_for(pool, LK_MIN(LK_MAX_JOB_TASKS, n - base), block_task, &b);
        }
        return;
    }
    if (!pool || pool->threads <= 1 || n == 1 || atomic_flag_test_and_set(&pool->busy)) {
        for (size_t i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&pool->mutex);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n = n;
    atomic_store(&pool->done, 0);
    unsigned gen = atomic_load(&pool->generation) + 1;
    atomic_store(&pool->claim, (uint64_t)gen << 32 | (uint64_t)n);
    atomic_store(&pool->generation, gen);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);

    work(pool, (uint32_t)gen, fn, ctx, n, 0);

    long start = now_ns();
    int spins = 0;
    while (atomic_load(&pool->done) < n) {
        LK_PAUSE();
        if (++spins % 64 == 0 && now_ns() - start > atomic_load(&pool->spin_ns)) {
            pthread_mutex_lock(&pool->mutex);
            while (atomic_load(&pool->done) < n) pthread_cond_wait(&pool->finished, &pool->mutex);
            pthread_mutex_unlock(&pool->mutex);
        }
    }
    atomic_flag_clear(&pool->busy);
}
