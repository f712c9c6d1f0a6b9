/* loss.c: losses with Keras's semantics, and accuracy (see loss.h).
 *
 * Every loss is the mean over the batch, summed in double. The gradient is
 * of that mean, with respect to the output layer's pre-activation z: the
 * fused paths (softmax + cross-entropy, sigmoid + binary cross-entropy,
 * exactly what Keras computes from the logits) write it directly, the
 * others write dL/dy and pass it through activation_backward. */
#include "core/loss.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static const char *const names[LOSS_COUNT] = {
    [LOSS_SPARSE_CATEGORICAL_CROSSENTROPY] = "sparse_categorical_crossentropy",
    [LOSS_CATEGORICAL_CROSSENTROPY] = "categorical_crossentropy",
    [LOSS_BINARY_CROSSENTROPY] = "binary_crossentropy",
    [LOSS_MSE] = "mse",
};

const char *loss_name(loss_kind k)
{
    return (unsigned)k < LOSS_COUNT ? names[k] : NULL;
}

int loss_from_name(const char *name)
{
    if (strcmp(name, "mean_squared_error") == 0)
        return LOSS_MSE;
    for (int i = 0; i < LOSS_COUNT; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *loss_names(void)
{
    return "sparse_categorical_crossentropy, categorical_crossentropy, "
           "binary_crossentropy, mse";
}

bool loss_takes_labels(loss_kind k)
{
    return k == LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
}

int argmax(const float *v, int n)
{
    int best = 0;
    for (int j = 1; j < n; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

/* Keras clips probabilities to [epsilon, 1 - epsilon], both float32. */
static const float clip_lo = LOSS_EPSILON;
static const float clip_hi = 1.0f - LOSS_EPSILON;

static float clip(float p)
{
    return p < clip_lo ? clip_lo : p > clip_hi ? clip_hi : p;
}

/* TensorFlow's clip_by_value passes the gradient except strictly outside. */
static bool clip_passes(float p)
{
    return !(p < clip_lo || p > clip_hi);
}

/* log(sum_j exp(x_j)), stably. */
static double log_sum_exp(const float *x, int n)
{
    float max = x[0];
    for (int j = 1; j < n; j++)
        if (x[j] > max)
            max = x[j];
    double sum = 0.0;
    for (int j = 0; j < n; j++)
        sum += exp((double)x[j] - max);
    return max + log(sum);
}

/* Cross-entropy from logits x for one row whose target weights are t (or,
 * when t is NULL, one-hot at label). Writes (softmax(x) * sum(t) - t) * scale
 * into g when g is not NULL. */
static double cross_entropy_logits_row(const float *x, int cols, int label,
                                       const float *t, float *g, float scale)
{
    double lse = log_sum_exp(x, cols);
    double loss = 0.0, tsum = 0.0;
    if (t) {
        for (int j = 0; j < cols; j++) {
            loss += t[j] * (lse - x[j]);
            tsum += t[j];
        }
    } else {
        loss = lse - x[label];
        tsum = 1.0;
    }
    if (g)
        for (int j = 0; j < cols; j++) {
            double p = exp(x[j] - lse);
            double tj = t ? t[j] : (j == label);
            g[j] = (float)((p * tsum - tj) * scale);
        }
    return loss;
}

/* sparse, from probabilities: -log(q_label / sum q), q = clip(y). */
static double renormalised_row(const float *y, int cols, int label, float *g, float scale)
{
    double sum = 0.0;
    for (int j = 0; j < cols; j++)
        sum += clip(y[j]);
    double q = clip(y[label]);
    if (g)
        for (int j = 0; j < cols; j++) {
            double d = 1.0 / sum - (j == label ? 1.0 / q : 0.0);
            g[j] = clip_passes(y[j]) ? (float)(d * scale) : 0.0f;
        }
    return log(sum) - log(q);
}

/* categorical, from probabilities: r = y / sum y, c = clip(r),
 * -sum t log c (Keras normalises first, then clips). */
static double normalised_row(const float *y, int cols, const float *t, float *g, float scale)
{
    double sum = 0.0;
    for (int j = 0; j < cols; j++)
        sum += y[j];
    double loss = 0.0, hr = 0.0;
    for (int j = 0; j < cols; j++) {
        float r = (float)(y[j] / sum);
        double c = clip(r);
        loss -= t[j] * log(c);
        if (g) {
            /* h_j = dL/dr_j; dL/dy_k = (h_k - sum_j h_j r_j) / sum. */
            double h = clip_passes(r) ? -t[j] / c : 0.0;
            g[j] = (float)h;
            hr += h * r;
        }
    }
    if (g)
        for (int j = 0; j < cols; j++)
            g[j] = (float)((g[j] - hr) / sum * scale);
    return loss;
}

double loss_compute(loss l, activation act, const float *z, const float *y,
                    int rows, int cols, const int32_t *labels,
                    const float *targets, float *g)
{
    double total = 0.0;
    float scale = 1.0f / (float)rows;
    float escale = 1.0f / ((float)rows * (float)cols);   /* per element */
    bool through_activation = true;   /* g holds dL/dy, not yet dL/dz */

    for (int i = 0; i < rows; i++) {
        size_t off = (size_t)i * cols;
        const float *yr = y + off;
        const float *t = targets ? targets + off : NULL;
        float *gr = g ? g + off : NULL;
        int label = labels ? labels[i] : 0;

        switch (l.kind) {
        case LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
        case LOSS_CATEGORICAL_CROSSENTROPY: {
            const float *tt = l.kind == LOSS_CATEGORICAL_CROSSENTROPY ? t : NULL;
            if (l.from_logits) {
                total += cross_entropy_logits_row(yr, cols, label, tt, gr, scale);
            } else if (act == ACT_SOFTMAX && z) {
                /* Keras uses the softmax's input as logits. */
                total += cross_entropy_logits_row(z + off, cols, label, tt, gr, scale);
                through_activation = false;
            } else if (tt) {
                total += normalised_row(yr, cols, tt, gr, scale);
            } else {
                total += renormalised_row(yr, cols, label, gr, scale);
            }
            break;
        }
        case LOSS_BINARY_CROSSENTROPY: {
            const float *x = NULL;
            if (l.from_logits)
                x = yr;
            else if (act == ACT_SIGMOID && z) {
                x = z + off;
                through_activation = false;
            }
            for (int j = 0; j < cols; j++) {
                if (x) {
                    /* max(x, 0) - x t + log(1 + exp(-|x|)) */
                    double xj = x[j];
                    total += (xj > 0 ? xj : 0) - xj * t[j] + log1p(exp(-fabs(xj)));
                    if (gr) {
                        double p = xj >= 0 ? 1.0 / (1.0 + exp(-xj)) : exp(xj) / (1.0 + exp(xj));
                        gr[j] = (float)((p - t[j]) * escale);
                    }
                } else {
                    double c = clip(yr[j]);
                    total -= t[j] * log(c + LOSS_EPSILON) + (1.0 - t[j]) * log(1.0 - c + LOSS_EPSILON);
                    if (gr) {
                        double d = -t[j] / (c + LOSS_EPSILON) + (1.0 - t[j]) / (1.0 - c + LOSS_EPSILON);
                        gr[j] = clip_passes(yr[j]) ? (float)(d * escale) : 0.0f;
                    }
                }
            }
            break;
        }
        case LOSS_MSE:
            for (int j = 0; j < cols; j++) {
                double d = (double)yr[j] - t[j];
                total += d * d;
                if (gr)
                    gr[j] = (float)(2.0 * d * escale);
            }
            break;
        case LOSS_COUNT:
            break;
        }
    }
    if (g && through_activation)
        activation_backward(act, y, g, rows, cols);

    if (l.kind == LOSS_BINARY_CROSSENTROPY || l.kind == LOSS_MSE)
        return total / ((double)rows * cols);
    return total / rows;
}

double accuracy_sum(loss l, const float *y, int rows, int cols,
                    const int32_t *labels, const float *targets)
{
    double correct = 0.0;
    for (int i = 0; i < rows; i++) {
        const float *yr = y + (size_t)i * cols;
        const float *t = targets ? targets + (size_t)i * cols : NULL;
        if (l.kind == LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) {
            correct += argmax(yr, cols) == labels[i];
        } else if (l.kind == LOSS_BINARY_CROSSENTROPY) {
            int right = 0;
            for (int j = 0; j < cols; j++)
                right += t[j] == (yr[j] > 0.5f ? 1.0f : 0.0f);
            correct += (double)right / cols;
        } else {
            correct += argmax(yr, cols) == argmax(t, cols);
        }
    }
    return correct;
}
