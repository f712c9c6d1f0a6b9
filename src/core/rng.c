/* rng.c: PCG32 (XSH RR), see rng.h. */
#include "core/rng.h"

void rng_seed(rng *r, uint64_t seed)
{
    /* The reference pcg32_srandom_r: stream from the seed too, so that
     * nearby seeds give unrelated sequences. */
    r->state = 0;
    r->inc = (seed << 1u) | 1u;
    rng_u32(r);
    r->state += seed ^ 0x853c49e6748fea9bULL;
    rng_u32(r);
}

uint32_t rng_u32(rng *r)
{
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

float rng_uniform(rng *r)
{
    return (float)(rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

uint32_t rng_below(rng *r, uint32_t n)
{
    /* Reject the values that would make some results more likely. */
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t x = rng_u32(r);
        if (x >= threshold)
            return x % n;
    }
}

void rng_shuffle(rng *r, uint32_t *index, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(r, (uint32_t)i);
        uint32_t t = index[i - 1];
        index[i - 1] = index[j];
        index[j] = t;
    }
}
