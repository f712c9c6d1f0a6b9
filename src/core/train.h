/* train.h: training and evaluation over a sample source.
 *
 * Everything is built from one primitive, train_steps, which runs the next
 * batches from the model's cursor, so m:step(n), m:epoch() and fit are the
 * same loop and mixing them gives the same result as fit alone. Each epoch
 * starts with a fresh permutation drawn from the model's generator (Keras's
 * shuffle=True); the last partial batch is kept. An observer sees every
 * batch and may stop training between two batches, where the weights,
 * optimizer state and cursor agree. */
#ifndef EMBER_TRAIN_H
#define EMBER_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/model.h"
#include "core/source.h"

typedef struct train_logs {
    double  loss;        /* mean over the samples covered */
    double  accuracy;
    int64_t samples;
    int64_t batches;
} train_logs;

typedef struct train_event {
    int64_t    epoch;             /* 0-based epoch this batch belongs to */
    int64_t    batch;             /* batches done in it, this one included */
    int64_t    batches_per_epoch;
    bool       epoch_end;         /* this batch finished the epoch */
    train_logs epoch_logs;        /* the epoch so far */
} train_event;

/* Return non-zero to stop after this batch. */
typedef int (*train_observer)(void *data, model *m, const train_event *ev);

typedef struct train_options {
    int            batch_size;    /* 32 if 0 */
    bool           no_shuffle;    /* keep the source's order */
    train_observer observe;       /* may be NULL */
    void          *observer_data;
} train_options;

/* Runs at most max_batches batches (< 0: no limit) from the cursor; stops
 * early at the end of an epoch if to_epoch_end, or when the observer says
 * so (*stopped set). out covers the batches run. A source of another size,
 * or another batch size, than the current epoch's starts a new epoch. */
int train_steps(model *m, const sample_source *src, const train_options *o,
                int64_t max_batches, bool to_epoch_end, train_logs *out,
                bool *stopped, char *err);

/* The rest of the current epoch, or a whole one at an epoch boundary. */
int train_epoch(model *m, const sample_source *src, const train_options *o,
                train_logs *out, bool *stopped, char *err);

/* Loss and accuracy over the whole source, in order, in batches of
 * batch_size (0: 32), without training. */
int model_evaluate(model *m, const sample_source *src, int batch_size,
                   train_logs *out, char *err);

#endif
