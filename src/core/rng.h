/* rng.h: the seeded random number generator behind every random choice in
 * ember (weight initialisation, shuffling, dropout masks).
 *
 * PCG32 (O'Neill, pcg-random.org): 64 bits of state, small, fast, and its
 * whole state is two integers, so a checkpoint can store it and a resumed
 * run continues the very same stream. There is no global generator: the
 * state lives in the model that uses it. */
#ifndef EMBER_RNG_H
#define EMBER_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng {
    uint64_t state;
    uint64_t inc;     /* stream selector, always odd */
} rng;

void     rng_seed(rng *r, uint64_t seed);
uint32_t rng_u32(rng *r);
/* Uniform in [0, 1), 24 random bits: every value is an exact float. */
float    rng_uniform(rng *r);
/* Uniform integer in [0, n), without modulo bias; n > 0. */
uint32_t rng_below(rng *r, uint32_t n);
/* Fisher-Yates shuffle of n indices in place. */
void     rng_shuffle(rng *r, uint32_t *index, size_t n);

#endif
