/* parallel.c: a persistent pool of worker threads for element-wise passes
 * (see parallel.h).
 *
 * Why not OpenMP, or more OpenBLAS: OpenBLAS's own threads keep spinning
 * (sched_yield) for a while after each GEMM, and an OpenMP runtime would
 * add a second set of spinning threads fighting them for two cores. Our
 * workers block on a condition variable between jobs, so while a GEMM
 * runs they take no CPU at all, and when a job comes the spinning OpenBLAS
 * thread yields its core to them. The caller, which has nothing else to
 * do, spins until the workers' parts are done.
 *
 * Owns: the pool (process-wide, like OpenBLAS's thread count). Must never:
 * allocate or start threads in parallel_for; split a job so that two
 * threads write the same cache line. */
#include "core/parallel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/fp.h"
#include "core/gemm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#define POOL_MAX 16   /* threads, the caller included */
#define LINE     16   /* floats in a 64-byte cache line: chunks start on one */

/* A job is cut into chunks that every thread, the caller included, claims
 * one at a time until none is left. A worker the scheduler runs late
 * (OpenBLAS's spinning thread may hold its core) then simply takes fewer
 * chunks, or none, instead of making the caller wait for a fixed half. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t  wake;
    atomic_int      workers;      /* started, never stopped */
    atomic_flag     busy;         /* a job is running */

    /* The current job, written under lock before generation moves. */
    uint32_t        generation;
    parallel_fn     fn;
    void           *ctx;
    size_t          n, chunk;     /* elements; elements per chunk */
    uint32_t        chunks;
    fp_mode         mode;         /* the caller's floating-point mode */
    /* generation << 32 | next chunk: a worker still holding an old job
     * cannot claim a chunk of the next one. */
    _Atomic uint64_t claim;
    atomic_uint      done;        /* chunks finished */
} pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .busy = ATOMIC_FLAG_INIT,
};

/* Claims and runs chunks of job generation gen until none is left. */
static void run_chunks(uint32_t gen, parallel_fn fn, void *ctx, size_t n, size_t chunk,
                       uint32_t chunks)
{
    uint64_t v = atomic_load_explicit(&pool.claim, memory_order_relaxed);
    for (;;) {
        if ((uint32_t)(v >> 32) != gen || (uint32_t)v >= chunks)
            return;
        if (!atomic_compare_exchange_weak(&pool.claim, &v, v + 1))
            continue;   /* v now holds the current value */
        size_t first = (size_t)(uint32_t)v * chunk;
        size_t end = first + chunk < n ? first + chunk : n;
        fn(ctx, first, end);
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
        v = atomic_load_explicit(&pool.claim, memory_order_relaxed);
    }
}

static void *worker(void *arg)
{
    (void)arg;
    uint32_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        while (pool.generation == seen)
            pthread_cond_wait(&pool.wake, &pool.lock);
        seen = pool.generation;
        parallel_fn fn = pool.fn;
        void *ctx = pool.ctx;
        size_t n = pool.n, chunk = pool.chunk;
        uint32_t chunks = pool.chunks;
        fp_mode mode = pool.mode;
        pthread_mutex_unlock(&pool.lock);

        fp_mode saved = fp_adopt(mode);
        run_chunks(seen, fn, ctx, n, chunk, chunks);
        fp_leave(saved);
    }
    return NULL;
}

int parallel_reserve(void)
{
    int want = gemm_threads() - 1;
    if (want > POOL_MAX - 1)
        want = POOL_MAX - 1;
    int status = 0;
    pthread_mutex_lock(&pool.lock);
    while (atomic_load(&pool.workers) < want) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &attr, worker, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            status = -1;
            break;
        }
        atomic_fetch_add(&pool.workers, 1);
    }
    pthread_mutex_unlock(&pool.lock);
    return status;
}

void parallel_for(size_t n, size_t grain, parallel_fn fn, void *ctx)
{
    size_t chunk = (grain + LINE - 1) / LINE * LINE;
    if (chunk == 0)
        chunk = LINE;
    size_t chunks = (n + chunk - 1) / chunk;
    if (gemm_threads() < 2 || atomic_load_explicit(&pool.workers, memory_order_relaxed) < 1 ||
        chunks < 4 || chunks > UINT32_MAX ||
        atomic_flag_test_and_set_explicit(&pool.busy, memory_order_acquire)) {
        fn(ctx, 0, n);
        return;
    }

    pthread_mutex_lock(&pool.lock);
    uint32_t gen = ++pool.generation;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.chunk = chunk;
    pool.chunks = (uint32_t)chunks;
    pool.mode = fp_current();
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.claim, (uint64_t)gen << 32, memory_order_relaxed);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    run_chunks(gen, fn, ctx, n, chunk, (uint32_t)chunks);
    /* Only chunks a worker is still running are left: spin, and now and
     * then give the core away in case that worker is waiting for it. */
    for (unsigned spins = 0;
         atomic_load_explicit(&pool.done, memory_order_acquire) < chunks; spins++) {
        if (spins % 256 == 255)
            sched_yield();
        else
            cpu_relax();
    }
    atomic_flag_clear_explicit(&pool.busy, memory_order_release);
}
