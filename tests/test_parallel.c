/* test_parallel.c: the core's thread pool (src/core/parallel.c).
 *
 * Proves: every element of a job is visited exactly once, for sizes around
 * the chunking thresholds, at 1 and 2 threads; chunks never split a
 * 64-byte line between threads (a chunk starts on a multiple of 16
 * floats); the caller's flush-to-zero mode reaches the workers; many jobs
 * in a row (the pool's generations) never mix. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fp.h"
#include "core/gemm.h"
#include "core/parallel.h"
#include "testutil.h"

typedef struct visit {
    atomic_int *count;
    atomic_int  misaligned;
    atomic_int  denormal_kept;
    volatile float tiny;
} visit;

static void mark(void *ctx, size_t first, size_t end)
{
    visit *v = ctx;
    if (first % 16 != 0)
        atomic_fetch_add(&v->misaligned, 1);
    /* In flush-to-zero mode a denormal times one is zero. */
    if (v->tiny * 1.0f != 0.0f)
        atomic_fetch_add(&v->denormal_kept, 1);
    for (size_t i = first; i < end; i++)
        atomic_fetch_add(&v->count[i], 1);
}

static void run(size_t n, size_t grain)
{
    visit v = {.count = calloc(n ? n : 1, sizeof *v.count), .tiny = 1e-40f};
    fp_mode mode = fp_enter();
    parallel_for(n, grain, mark, &v);
    fp_leave(mode);
    int wrong = 0;
    for (size_t i = 0; i < n; i++)
        wrong += atomic_load(&v.count[i]) != 1;
    CHECK(wrong == 0);
    CHECK(atomic_load(&v.misaligned) == 0);
    CHECK(atomic_load(&v.denormal_kept) == 0);
    free(v.count);
}

int main(void)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 1000, 16384, 65535, 65536, 65537, 958000};
    for (int threads = 1; threads <= 2; threads++) {
        gemm_set_threads(threads);
        CHECK(parallel_reserve() == 0);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            run(sizes[i], 16384);
            run(sizes[i], 100);   /* a grain that is not a whole line */
        }
        for (int rep = 0; rep < 200; rep++)   /* back-to-back jobs */
            run(70000, 4096);
    }
    return test_report();
}
