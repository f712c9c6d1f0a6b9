/* activation.h: element-wise (and, for softmax, row-wise) activations.
 *
 * Forward works in place on a batch of rows, after the bias is added, so a
 * dense layer makes one pass over its GEMM output. Backward takes the
 * activation's output y (never its input: that is not kept) and turns the
 * gradient with respect to y into the gradient with respect to the
 * pre-activation z, in place. */
#ifndef EMBER_ACTIVATION_H
#define EMBER_ACTIVATION_H

/* Fixed values: they are stored in checkpoints. */
typedef enum activation {
    ACT_LINEAR  = 0,
    ACT_RELU    = 1,
    ACT_SIGMOID = 2,
    ACT_SOFTMAX = 3,
    ACT_TANH    = 4,
    ACT_COUNT
} activation;

/* "relu", ...; NULL for a value out of range. */
const char *activation_name(activation a);
/* The activation called name, or -1. */
int         activation_from_name(const char *name);
/* "relu, sigmoid, softmax, tanh, linear": for error messages. */
const char *activation_names(void);

/* z: rows x cols, row-major; z[i][j] += bias[j] (bias may be NULL), then
 * z = a(z), in place. */
void activation_forward(activation a, float *z, const float *bias, int rows, int cols);
/* g: rows x cols, dL/dy on entry, dL/dz on return; y = a(z). */
void activation_backward(activation a, const float *y, float *g, int rows, int cols);

#endif
