/* parallel.h: the element-wise passes of a training step on every core.
 *
 * A tiny persistent pool: parallel_for(n, grain, fn, ctx) cuts [0, n) into
 * chunks of about grain elements (whole 64-byte lines, so no two threads
 * write the same cache line), which the caller and the workers claim until
 * none is left; it returns when all are done. Meant for passes where each element's result depends on
 * that element alone (the optimizer's update, ...): the results are then
 * the same bit for bit whatever the thread count.
 *
 * The thread count is the matrix products' (gemm_threads()), so one
 * setting, threads(n), governs both. Workers are started by
 * parallel_reserve, called where the model allocates (model_reserve),
 * never in the hot path; between jobs they sleep, so they never compete
 * with OpenBLAS's threads for the cores during a GEMM. Each job runs in
 * the caller's floating-point mode (flush-to-zero included, fp.h).
 *
 * One job at a time: a call made while the pool is busy (from another
 * thread) simply runs on its caller, alone. */
#ifndef EMBER_PARALLEL_H
#define EMBER_PARALLEL_H

#include <stddef.h>

/* Works on elements [first, end). */
typedef void (*parallel_fn)(void *ctx, size_t first, size_t end);

/* Starts workers so that parallel_for can use gemm_threads() threads;
 * returns 0, or -1 if no thread could be started (work then runs on the
 * caller alone, which is still correct). */
int  parallel_reserve(void);
/* fn over [0, n) in chunks of ~grain elements; on the caller alone when
 * that makes fewer than 4 chunks (too little work to share). */
void parallel_for(size_t n, size_t grain, parallel_fn fn, void *ctx);

#endif
