/* source.h: where training and evaluation get their samples from.
 *
 * The core knows nothing of files or datasets: it asks a sample_source to
 * gather samples by index into a float batch. src/data implements it for
 * IDX datasets (uint8 pixels scaled while gathering); a test can implement
 * it over a plain array. */
#ifndef EMBER_SOURCE_H
#define EMBER_SOURCE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sample_source {
    size_t count;          /* samples */
    int    rank;           /* dimensions of one sample: 1..3 */
    int    shape[3];       /* e.g. 28, 28 */
    int    max_label;      /* largest label present (-1: none) */
    /* Writes n samples, by index, into x (n x features, row-major) and
     * their labels into labels. Must not fail: indices are < count. */
    void (*gather)(const void *ctx, const uint32_t *index, size_t n,
                   float *x, int32_t *labels);
    const void *ctx;
} sample_source;

static inline size_t source_features(const sample_source *s)
{
    size_t f = 1;
    for (int i = 0; i < s->rank; i++)
        f *= (size_t)s->shape[i];
    return f;
}

#endif
