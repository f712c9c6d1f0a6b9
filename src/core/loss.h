/* loss.h: losses and the accuracy metric, with Keras's exact semantics
 * (../shared/DESIGN.md section 2).
 *
 * A loss sees the output layer whole: its pre-activation z, its output
 * y = act(z) and the activation, so it can take the numerically sound path
 * Keras takes (softmax + cross-entropy and sigmoid + binary cross-entropy
 * are computed from z) and hand back dL/dz directly.
 *
 * sparse_categorical_crossentropy, from probabilities, non-softmax output:
 *   q = clip(y, 1e-7, 1 - 1e-7);  loss = -log(q_label / sum_j q_j)
 * (Keras takes log(q) as logits of a softmax cross-entropy). Units that no
 * label names are pushed towards 0 by the renormalisation. The gradient is
 * 0 where the clip is active, as TensorFlow's clip_by_value gradient. */
#ifndef EMBER_LOSS_H
#define EMBER_LOSS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/activation.h"

#define LOSS_EPSILON 1e-7f   /* Keras backend.epsilon() */

/* Fixed values: they are stored in checkpoints. */
typedef enum loss_kind {
    LOSS_SPARSE_CATEGORICAL_CROSSENTROPY = 0,   /* integer labels */
    LOSS_CATEGORICAL_CROSSENTROPY        = 1,   /* one-hot targets */
    LOSS_BINARY_CROSSENTROPY             = 2,   /* targets in [0, 1] */
    LOSS_MSE                             = 3,   /* any targets */
    LOSS_COUNT
} loss_kind;

typedef struct loss {
    loss_kind kind;
    bool      from_logits;   /* y are logits, not probabilities */
} loss;

const char *loss_name(loss_kind k);
int         loss_from_name(const char *name);  /* -1 if unknown; "mse" and
                                                   "mean_squared_error" */
const char *loss_names(void);
/* Sparse losses take integer labels, the others a rows x cols target
 * matrix (fit builds it one-hot from a dataset's labels). */
bool        loss_takes_labels(loss_kind k);

/* The mean loss over rows. If g is not NULL it receives dL/dz of that mean
 * (rows x cols). labels: rows entries, each in [0, cols); targets: rows x
 * cols. Whichever the loss does not take may be NULL. */
double loss_compute(loss l, activation act, const float *z, const float *y,
                    int rows, int cols, const int32_t *labels,
                    const float *targets, float *g);

/* Keras's "accuracy" for this loss, summed over rows (divide by rows for
 * the mean): argmax(y) == label for sparse losses, argmax(y) ==
 * argmax(target) for categorical ones and mse, and for binary
 * cross-entropy the share of outputs on the right side of 0.5. */
double accuracy_sum(loss l, const float *y, int rows, int cols,
                    const int32_t *labels, const float *targets);

/* Index of the largest of n values, the first one on ties (NumPy's argmax). */
int argmax(const float *v, int n);

#endif
