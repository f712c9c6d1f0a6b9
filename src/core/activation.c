/* activation.c: activations, forward fused with the bias add, backward
 * from the output (see activation.h). */
#include "core/activation.h"

#include <math.h>
#include <string.h>

static const char *const names[ACT_COUNT] = {
    [ACT_LINEAR] = "linear", [ACT_RELU] = "relu", [ACT_SIGMOID] = "sigmoid",
    [ACT_SOFTMAX] = "softmax", [ACT_TANH] = "tanh",
};

const char *activation_name(activation a)
{
    return (unsigned)a < ACT_COUNT ? names[a] : NULL;
}

int activation_from_name(const char *name)
{
    for (int i = 0; i < ACT_COUNT; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *activation_names(void)
{
    return "relu, sigmoid, softmax, tanh, linear";
}

static float sigmoid(float x)
{
    /* Never exp of a large positive number: no overflow, no NaN. */
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static void softmax_row(float *z, int cols)
{
    float max = z[0];
    for (int j = 1; j < cols; j++)
        if (z[j] > max)
            max = z[j];
    float sum = 0.0f;
    for (int j = 0; j < cols; j++) {
        z[j] = expf(z[j] - max);
        sum += z[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < cols; j++)
        z[j] *= inv;
}

void activation_forward(activation a, float *z, const float *bias, int rows, int cols)
{
    for (int i = 0; i < rows; i++) {
        float *r = z + (size_t)i * cols;
        if (bias)
            for (int j = 0; j < cols; j++)
                r[j] += bias[j];
        switch (a) {
        case ACT_LINEAR:
            break;
        case ACT_RELU:
            for (int j = 0; j < cols; j++)
                r[j] = r[j] > 0.0f ? r[j] : 0.0f;
            break;
        case ACT_SIGMOID:
            for (int j = 0; j < cols; j++)
                r[j] = sigmoid(r[j]);
            break;
        case ACT_TANH:
            for (int j = 0; j < cols; j++)
                r[j] = tanhf(r[j]);
            break;
        case ACT_SOFTMAX:
            softmax_row(r, cols);
            break;
        case ACT_COUNT:
            break;
        }
    }
}

void activation_backward(activation a, const float *y, float *g, int rows, int cols)
{
    size_t n = (size_t)rows * cols;
    switch (a) {
    case ACT_LINEAR:
    case ACT_COUNT:
        break;
    case ACT_RELU:
        for (size_t i = 0; i < n; i++)
            g[i] = y[i] > 0.0f ? g[i] : 0.0f;
        break;
    case ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            g[i] *= y[i] * (1.0f - y[i]);
        break;
    case ACT_TANH:
        for (size_t i = 0; i < n; i++)
            g[i] *= 1.0f - y[i] * y[i];
        break;
    case ACT_SOFTMAX:
        /* dz_j = y_j (g_j - sum_k g_k y_k): the Jacobian of one row. */
        for (int i = 0; i < rows; i++) {
            const float *yr = y + (size_t)i * cols;
            float *gr = g + (size_t)i * cols;
            float dot = 0.0f;
            for (int j = 0; j < cols; j++)
                dot += gr[j] * yr[j];
            for (int j = 0; j < cols; j++)
                gr[j] = yr[j] * (gr[j] - dot);
        }
        break;
    }
}
