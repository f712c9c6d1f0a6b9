/* optimizer.h: SGD (momentum, Nesterov), Adam and RMSprop with Keras's
 * defaults and update rules, each one fused pass over all parameters.
 *
 * The model keeps every parameter in one array and every gradient in
 * another, so an update is a single loop; the optimizer's state (moments,
 * step count) is two more arrays of the same length. */
#ifndef EMBER_OPTIMIZER_H
#define EMBER_OPTIMIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fixed values: they are stored in checkpoints. */
typedef enum optimizer_kind {
    OPT_SGD     = 0,
    OPT_ADAM    = 1,
    OPT_RMSPROP = 2,
    OPT_COUNT
} optimizer_kind;

typedef struct optimizer_spec {
    optimizer_kind kind;
    float learning_rate;
    float momentum;      /* sgd */
    bool  nesterov;      /* sgd */
    float beta_1;        /* adam */
    float beta_2;        /* adam */
    float rho;           /* rmsprop */
    float epsilon;       /* adam, rmsprop */
} optimizer_spec;

typedef struct optimizer {
    optimizer_spec spec;
    int64_t iterations;  /* updates done, Keras's optimizer.iterations */
    size_t  n;           /* parameters */
    float  *m;           /* sgd velocity, adam first moment (or NULL) */
    float  *v;           /* adam second moment, rmsprop mean square (or NULL) */
} optimizer;

/* Keras's defaults: sgd lr 0.01, momentum 0; adam lr 1e-3, 0.9, 0.999,
 * 1e-7; rmsprop lr 1e-3, rho 0.9, 1e-7. */
optimizer_spec optimizer_defaults(optimizer_kind k);
const char    *optimizer_name(optimizer_kind k);
int            optimizer_from_name(const char *name);   /* -1 if unknown */
const char    *optimizer_names(void);
/* Checks the settings (positive learning rate, betas in [0, 1), ...). */
int            optimizer_check(const optimizer_spec *s, char *err);

/* Allocates zeroed state for n parameters into *o, whose previous content
 * is ignored (free it first if it held state). */
int  optimizer_init(optimizer *o, optimizer_spec spec, size_t n, char *err);
void optimizer_free(optimizer *o);
/* One step: params -= f(grads, state). */
void optimizer_update(optimizer *o, float *params, const float *grads);
/* The same step in pieces, so that a piece can be updated while it is
 * still in cache: optimizer_begin_step counts the step, then
 * optimizer_update_range updates parameters [first, first + count), once
 * for every parameter. Each parameter's update depends on its own gradient
 * and state alone, so the pieces give exactly optimizer_update's result.
 * clear_grads: zero those gradients once used (the model's next products
 * then accumulate into them). */
void optimizer_begin_step(optimizer *o);
void optimizer_update_range(optimizer *o, float *params, float *grads, size_t first,
                            size_t count, bool clear_grads);

#endif
