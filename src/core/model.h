/* model.h: the sequential model: layers, parameters, buffers, training
 * state.
 *
 * Worked example (error handling left out):
 *
 *     model m;
 *     model_init(&m, 42);                          // seed
 *     model_add_flatten(&m, err);
 *     model_add_dense(&m, 512, ACT_RELU, err);
 *     model_add_dense(&m, 30, ACT_SIGMOID, err);
 *     model_build(&m, 2, (int[]){28, 28}, err);    // glorot_uniform weights
 *     model_compile(&m, (loss){LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false},
 *                   optimizer_defaults(OPT_ADAM), err);
 *     model_train_batch(&m, x, labels, NULL, 32, &stats, err);
 *     model_free(&m);
 *
 * Memory: every parameter lives in one array (params) and every gradient in
 * another (grads), so an optimizer step is one pass (a training step makes
 * it a layer at a time, while each is in cache); a dense layer's w, b,
 * dw and db point into them. Activation and gradient buffers are sized for
 * `capacity` rows by model_reserve, the only function besides model_build
 * that allocates; forward and backward never do. A failed call leaves the
 * model as it was. */
#ifndef EMBER_MODEL_H
#define EMBER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/activation.h"
#include "core/loss.h"
#include "core/optimizer.h"
#include "core/rng.h"

/* Fixed values: they are stored in checkpoints. */
typedef enum layer_kind {
    LAYER_DENSE   = 0,
    LAYER_FLATTEN = 1,
    LAYER_DROPOUT = 2,
} layer_kind;

typedef struct layer {
    layer_kind kind;
    activation act;      /* dense */
    int        units;    /* dense: output features */
    float      rate;     /* dropout: share of inputs zeroed while training */

    /* Set by model_build. */
    int    in, out;      /* features per sample in and out */
    float *w, *b;        /* dense: kernel (in x out, row-major, as Keras) and
                            bias, views into model.params */
    float *dw, *db;      /* dense: their gradients, views into model.grads */

    /* Sized by model_reserve (capacity rows). */
    float *y;            /* output of the last forward pass (flatten: the
                            input itself; dropout at inference: likewise) */
    float *z;            /* last layer only: pre-activation, for the loss */
    float *g;            /* dL/d(output), made dL/dz in place */
    float *mask;         /* dropout: 0 or 1/(1-rate) per element */
} layer;

/* Where training stands: enough to continue exactly where it stopped. */
typedef struct train_cursor {
    int64_t   epoch;         /* epochs completed */
    int64_t   batch;         /* batches done in the current epoch */
    int64_t   seen;          /* samples trained on, all epochs */
    int       batch_size;    /* of the current epoch */
    size_t    count;         /* samples in the current epoch's source */
    uint32_t *order;         /* the current epoch's sample order */
    /* The current epoch so far, for its running loss and accuracy. */
    double    loss_sum;      /* sum of batch mean loss * batch rows */
    double    correct_sum;   /* sum of accuracy_sum */
    int64_t   samples;
} train_cursor;

typedef struct model {
    layer   *layers;
    int      n_layers;

    bool     built;
    int      input_rank;     /* 1..3 */
    int      input_shape[3];
    int      input_size;     /* features per sample */
    size_t   n_params;
    float   *params;
    float   *grads;          /* after model_backward: the gradient; after a
                                training step: zeros (see grads_zero) */
    bool     grads_zero;     /* grads hold zeros, so the next training
                                step's dW products accumulate into them */

    bool      compiled;
    loss      loss;
    optimizer opt;           /* state allocated once built and compiled */

    int      capacity;       /* rows the batch buffers hold */
    int      last_rows;      /* rows of the last forward pass */
    float   *x;              /* a gathered input batch, capacity x input_size */
    int32_t *labels;         /* its labels */
    float   *targets;        /* one-hot targets for non-sparse losses */

    rng          rng;        /* weight init, shuffling, dropout */
    train_cursor cursor;
} model;

/* Result of one batch. */
typedef struct batch_stats {
    double loss;             /* mean over the batch */
    double correct;          /* accuracy_sum over the batch */
    int    rows;
} batch_stats;

void model_init(model *m, uint64_t seed);
void model_free(model *m);
/* Reseed the generator (before model_build, for repeatable weights). */
void model_seed(model *m, uint64_t seed);

int model_add_dense(model *m, int units, activation act, char *err);
int model_add_flatten(model *m, char *err);
int model_add_dropout(model *m, float rate, char *err);

/* Fixes the input shape, checks the layer sequence, allocates and
 * initialises parameters (glorot_uniform kernels, zero biases). */
int model_build(model *m, int rank, const int *shape, char *err);
/* Sets the loss and optimizer; optimizer state starts afresh. */
int model_compile(model *m, loss l, optimizer_spec opt, char *err);
/* Makes the batch buffers hold at least rows rows. */
int model_reserve(model *m, int rows, char *err);

int model_output_units(const model *m);
/* Refuses labels outside [0, output units) (0 and 1 for one output unit
 * under a non-sparse loss), with the fix in the message. */
int model_check_labels(const model *m, const int32_t *labels, int n, char *err);
/* Refuses a label range the model cannot learn, before any training. */
int model_check_max_label(const model *m, int max_label, char *err);

/* Forward pass over rows samples (rows <= capacity); returns the output
 * layer's y. training: dropout active. */
const float *model_forward(model *m, const float *x, int rows, bool training);
/* Backward pass after a forward with training = true; grads receives the
 * mean-loss gradient. Returns the mean loss. */
double model_backward(model *m, const float *x, int rows,
                      const int32_t *labels, const float *targets);

/* One training step on a batch: checks labels, forward, backward, update.
 * Nothing changes if it fails. Does not move the cursor. x is copied into
 * the model's input buffer unless it is that buffer, so every layer's last
 * output stays readable after the caller frees x. */
int model_train_batch(model *m, const float *x, const int32_t *labels,
                      const float *targets, int rows, batch_stats *out,
                      char *err);
/* Outputs for rows samples, in chunks of at most capacity rows (reserving
 * 32 if nothing is reserved), copied through the input buffer like
 * model_train_batch; out is rows x output units. */
int model_predict(model *m, const float *x, size_t rows, float *out, char *err);

/* Builds one-hot targets (rows x cols) from labels. */
void one_hot(const int32_t *labels, int rows, int cols, float *targets);
/* The targets a non-sparse loss compares the outputs with, from labels:
 * one-hot, or the label itself (0 or 1) when there is one output unit, as
 * Keras's binary_crossentropy takes it. */
void model_label_targets(const model *m, const int32_t *labels, int rows, float *targets);

#endif
