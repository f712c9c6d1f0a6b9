/* model.c: the sequential model (see model.h for the memory layout).
 *
 * Owns: the layer list, parameters and gradients, the batch buffers, the
 * optimizer state. Must never: allocate in model_forward/model_backward,
 * or leave the model half-changed when a call fails (every allocating call
 * allocates everything first, then commits). */
#include "core/model.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fp.h"
#include "core/gemm.h"
#include "core/parallel.h"

/* Refuse single buffers past this many floats (16 GiB): a typo such as
 * dense(1e9) gets a message, not an attempt to allocate it. */
#define MAX_FLOATS ((size_t)1 << 32)

/* A parameter costs its weight, its gradient and up to two optimizer
 * moments (Adam): the figure messages about model size use. */
#define BYTES_PER_PARAM 16.0

/* Bytes of physical memory, or 0 if unknown. A model that needs more
 * would be refused by calloc or, with overcommit, die when touched:
 * better refused up front with the figure. */
static double physical_memory(void)
{
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages > 0 && size > 0)
        return (double)pages * (double)size;
#endif
    return 0.0;
}

void model_init(model *m, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    rng_seed(&m->rng, seed);
}

void model_seed(model *m, uint64_t seed)
{
    rng_seed(&m->rng, seed);
}

static void free_buffers(layer *l)
{
    if (l->kind != LAYER_FLATTEN) {   /* flatten only aliases */
        free(l->y);
        free(l->g);
    }
    free(l->z);
    free(l->mask);
    l->y = l->g = l->z = l->mask = NULL;
}

void model_free(model *m)
{
    for (int i = 0; i < m->n_layers; i++)
        free_buffers(&m->layers[i]);
    free(m->layers);
    free(m->params);
    free(m->grads);
    optimizer_free(&m->opt);
    free(m->x);
    free(m->labels);
    free(m->targets);
    free(m->cursor.order);
    memset(m, 0, sizeof *m);
}

static int add_layer(model *m, layer l, char *err)
{
    if (m->built)
        return ember_fail(err, "the model is already built: layers can only be added before its first use");
    layer *grown = realloc(m->layers, (size_t)(m->n_layers + 1) * sizeof *grown);
    if (!grown)
        return ember_fail(err, "out of memory adding a layer");
    m->layers = grown;
    m->layers[m->n_layers++] = l;
    return 0;
}

int model_add_dense(model *m, int units, activation act, char *err)
{
    if (units < 1)
        return ember_fail(err, "dense: units must be a positive integer (got %d)", units);
    if ((unsigned)act >= ACT_COUNT)
        return ember_fail(err, "dense: unknown activation (%s)", activation_names());
    return add_layer(m, (layer){.kind = LAYER_DENSE, .units = units, .act = act}, err);
}

int model_add_flatten(model *m, char *err)
{
    return add_layer(m, (layer){.kind = LAYER_FLATTEN}, err);
}

int model_add_dropout(model *m, float rate, char *err)
{
    if (!(rate >= 0.0f && rate < 1.0f))
        return ember_fail(err, "dropout: rate must be in [0, 1) (got %g)", (double)rate);
    return add_layer(m, (layer){.kind = LAYER_DROPOUT, .rate = rate}, err);
}

int model_build(model *m, int rank, const int *shape, char *err)
{
    if (m->built)
        return ember_fail(err, "the model is already built");
    if (m->n_layers == 0 || m->layers[m->n_layers - 1].kind != LAYER_DENSE)
        return ember_fail(err, "the last layer must be dense: its units are the outputs the loss compares with the labels");
    if (rank < 1 || rank > 3)
        return ember_fail(err, "input must have 1 to 3 dimensions per sample (got %d)", rank);
    size_t features = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 1)
            return ember_fail(err, "input dimension %d must be positive (got %d)", i + 1, shape[i]);
        features *= (size_t)shape[i];
    }
    if (features > INT32_MAX)
        return ember_fail(err, "input of %zu features per sample is too large", features);

    /* First pass: widths and parameter count, touching nothing. */
    int in_rank = rank;
    size_t width = features, n_params = 0;
    for (int i = 0; i < m->n_layers; i++) {
        layer *l = &m->layers[i];
        if (l->kind == LAYER_FLATTEN) {
            in_rank = 1;
        } else if (l->kind == LAYER_DENSE) {
            if (in_rank != 1) {
                char text[48];
                ember_shape_text(text, sizeof text, rank, shape);
                return ember_fail(err, "layer %d (dense) gets input of shape %s: put a flatten layer before it", i + 1, text);
            }
            size_t weights = width * (size_t)l->units;
            if (weights > MAX_FLOATS)
                return ember_fail(err, "layer %d (dense %d) would need %zu weights, %.1f GB of memory with their "
                                       "gradients and optimizer state (%.1f GB for the weights alone): too large "
                                       "(at most %zu weights a layer)", i + 1, l->units, weights,
                                  weights * BYTES_PER_PARAM / 1e9, weights * 4.0 / 1e9, MAX_FLOATS);
            n_params += weights + (size_t)l->units;
            width = (size_t)l->units;
        }
    }
    if (n_params > MAX_FLOATS)
        return ember_fail(err, "the model would have %zu parameters, %.1f GB of memory with gradients and optimizer "
                               "state: too large (at most %zu)", n_params, n_params * BYTES_PER_PARAM / 1e9, MAX_FLOATS);
    double memory = physical_memory();
    if (memory > 0 && n_params * BYTES_PER_PARAM > memory)
        return ember_fail(err, "the model would have %zu parameters, %.1f GB of memory with gradients and optimizer "
                               "state, more than the %.1f GB this machine has", n_params,
                          n_params * BYTES_PER_PARAM / 1e9, memory / 1e9);

    float *params = calloc(n_params, sizeof *params);
    float *grads = calloc(n_params, sizeof *grads);
    optimizer opt = {0};
    if (!params || !grads || (m->compiled && optimizer_init(&opt, m->opt.spec, n_params, err) < 0)) {
        free(params);
        free(grads);
        return ember_fail(err, "out of memory for %zu parameters (%.1f MB)", n_params, n_params * 16.0 / 1e6);
    }

    /* Second pass: commit. */
    m->params = params;
    m->grads = grads;
    m->grads_zero = true;   /* calloc */
    if (m->compiled) {
        optimizer_free(&m->opt);
        m->opt = opt;
    }
    m->n_params = n_params;
    m->input_rank = rank;
    memcpy(m->input_shape, shape, (size_t)rank * sizeof *shape);
    m->input_size = (int)features;
    width = features;
    size_t offset = 0;
    for (int i = 0; i < m->n_layers; i++) {
        layer *l = &m->layers[i];
        l->in = (int)width;
        if (l->kind == LAYER_DENSE) {
            l->out = l->units;
            size_t nw = (size_t)l->in * l->out;
            l->w = params + offset;
            l->dw = grads + offset;
            l->b = params + offset + nw;
            l->db = grads + offset + nw;
            offset += nw + (size_t)l->out;
            /* glorot_uniform: U(-limit, limit), biases stay zero. */
            float limit = sqrtf(6.0f / (float)(l->in + l->out));
            for (size_t k = 0; k < nw; k++)
                l->w[k] = limit * (2.0f * rng_uniform(&m->rng) - 1.0f);
        } else {
            l->out = l->in;
        }
        width = (size_t)l->out;
    }
    m->built = true;
    return 0;
}

int model_compile(model *m, loss l, optimizer_spec spec, char *err)
{
    if ((unsigned)l.kind >= LOSS_COUNT)
        return ember_fail(err, "unknown loss (%s)", loss_names());
    if (optimizer_check(&spec, err) < 0)
        return -1;
    if (m->built) {
        optimizer fresh = {0};
        if (optimizer_init(&fresh, spec, m->n_params, err) < 0)
            return -1;
        optimizer_free(&m->opt);
        m->opt = fresh;
    } else {
        m->opt.spec = spec;
    }
    m->loss = l;
    m->compiled = true;
    return 0;
}

int model_output_units(const model *m)
{
    return m->n_layers ? m->layers[m->n_layers - 1].units : 0;
}

int model_reserve(model *m, int rows, char *err)
{
    if (!m->built)
        return ember_fail(err, "the model is not built yet");
    parallel_reserve();   /* threads for the update; alone if none start */
    if (rows <= m->capacity)
        return 0;
    if (rows < 1)
        return ember_fail(err, "batch size must be positive (got %d)", rows);

    /* Allocate all, then swap in: a failure leaves the old buffers. */
    int n = m->n_layers, outs = model_output_units(m);
    layer *fresh = calloc((size_t)n, sizeof *fresh);
    float *x = malloc((size_t)rows * m->input_size * sizeof *x);
    int32_t *labels = malloc((size_t)rows * sizeof *labels);
    float *targets = malloc((size_t)rows * outs * sizeof *targets);
    bool ok = fresh && x && labels && targets;
    for (int i = 0; ok && i < n; i++) {
        const layer *l = &m->layers[i];
        size_t size = (size_t)rows * l->out * sizeof(float);
        layer *f = &fresh[i];
        f->kind = l->kind;
        if (l->kind == LAYER_FLATTEN)
            continue;
        ok = (f->y = malloc(size)) && (f->g = malloc(size));
        if (ok && l->kind == LAYER_DENSE && i == n - 1)
            ok = (f->z = malloc(size)) != NULL;
        if (ok && l->kind == LAYER_DROPOUT)
            ok = (f->mask = malloc(size)) != NULL;
    }
    if (!ok) {
        for (int i = 0; fresh && i < n; i++)
            free_buffers(&fresh[i]);
        free(fresh);
        free(x);
        free(labels);
        free(targets);
        return ember_fail(err, "out of memory for batch buffers of %d rows", rows);
    }
    for (int i = 0; i < n; i++) {
        layer *l = &m->layers[i];
        free_buffers(l);
        l->y = fresh[i].y;
        l->g = fresh[i].g;
        l->z = fresh[i].z;
        l->mask = fresh[i].mask;
        if (l->kind == LAYER_FLATTEN)   /* its gradient is its input's */
            l->g = i > 0 ? m->layers[i - 1].g : NULL;
    }
    free(fresh);
    free(m->x);
    free(m->labels);
    free(m->targets);
    m->x = x;
    m->labels = labels;
    m->targets = targets;
    m->capacity = rows;
    return 0;
}

/* How many distinct labels the outputs can stand for. */
static int label_limit(const model *m)
{
    int units = model_output_units(m);
    if (units == 1 && m->compiled && !loss_takes_labels(m->loss.kind))
        return 2;   /* one unit, target = the label: binary */
    return units;
}

int model_check_max_label(const model *m, int max_label, char *err)
{
    int units = model_output_units(m);
    if (max_label < label_limit(m))
        return 0;
    if (units == 1 && label_limit(m) == 2)
        return ember_fail(err,
            "labels go up to %d, but one output unit with %s takes labels 0 and 1: "
            "give the last dense layer %d units (one per class) and use sparse_categorical_crossentropy",
            max_label, loss_name(m->loss.kind), max_label + 1);
    return ember_fail(err,
        "labels go up to %d, which needs at least %d output units, but the last layer has %d: "
        "give the last dense layer at least %d units (one per class), e.g. dense(%d, \"softmax\")",
        max_label, max_label + 1, units, max_label + 1, max_label + 1);
}

int model_check_labels(const model *m, const int32_t *labels, int n, char *err)
{
    int max = -1;
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0)
            return ember_fail(err, "label %d (sample %d of the batch) is negative: labels are class numbers 0, 1, 2, ...",
                              (int)labels[i], i + 1);
        if (labels[i] > max)
            max = labels[i];
    }
    return model_check_max_label(m, max, err);
}

void one_hot(const int32_t *labels, int rows, int cols, float *targets)
{
    memset(targets, 0, (size_t)rows * cols * sizeof *targets);
    for (int i = 0; i < rows; i++)
        targets[(size_t)i * cols + labels[i]] = 1.0f;
}

void model_label_targets(const model *m, const int32_t *labels, int rows, float *targets)
{
    int units = model_output_units(m);
    if (units == 1)
        for (int i = 0; i < rows; i++)
            targets[i] = (float)labels[i];
    else
        one_hot(labels, rows, units, targets);
}

const float *model_forward(model *m, const float *x, int rows, bool training)
{
    const float *in = x;
    m->last_rows = rows;
    for (int i = 0; i < m->n_layers; i++) {
        layer *l = &m->layers[i];
        size_t n = (size_t)rows * l->out;
        switch (l->kind) {
        case LAYER_FLATTEN:
            l->y = (float *)in;
            break;
        case LAYER_DENSE:
            if (l->z) {
                /* The last layer keeps its pre-activation for the loss. */
                gemm(false, false, rows, l->out, l->in, 1.0f, in, l->in, l->w, l->out, 0.0f, l->z, l->out);
                activation_forward(ACT_LINEAR, l->z, l->b, rows, l->out);
                memcpy(l->y, l->z, n * sizeof *l->y);
                activation_forward(l->act, l->y, NULL, rows, l->out);
            } else {
                gemm(false, false, rows, l->out, l->in, 1.0f, in, l->in, l->w, l->out, 0.0f, l->y, l->out);
                activation_forward(l->act, l->y, l->b, rows, l->out);
            }
            break;
        case LAYER_DROPOUT:
            if (training && l->rate > 0.0f) {
                /* Keras: keep where uniform >= rate, scale by 1/(1-rate). */
                float scale = 1.0f / (1.0f - l->rate);
                for (size_t k = 0; k < n; k++) {
                    l->mask[k] = rng_uniform(&m->rng) >= l->rate ? scale : 0.0f;
                    l->y[k] = in[k] * l->mask[k];
                }
            } else {
                memcpy(l->y, in, n * sizeof *l->y);
            }
            break;
        }
        in = l->y;
    }
    return in;
}

/* ---- backward pass and update --------------------------------------------
 *
 * Two passes. propagate() runs the chain top down: each dense layer's
 * dL/dz (activation backward, in place in its g), its weight gradients
 * (dW = X^T dZ, db = column sums of dZ, while dZ is in cache) and every
 * layer's dL/d(input) (dX = dZ W^T, from the weights as they were). It
 * updates nothing, so whatever it finds, the model is as before the batch.
 * Then, when training, the optimizer's step on each dense layer. The
 * numbers are those of a plain backward-then-update: each parameter's
 * update depends on its own gradient alone, and dX used the weights
 * before any update. (Updating each layer right after its dW instead
 * measured no faster than this within the noise, and would update layers
 * before the gradients below them were known to be finite.)
 *
 * Non-finite values: a training step refuses a batch whose loss, outputs
 * or gradients are not finite before it changes anything. propagate
 * checks every dZ (small: rows x units). The weight gradients are checked
 * without a pass over them: dW's entries are sums of rows products
 * X[r][i] * dZ[r][j], so with finite X and dZ they cannot overflow when
 * rows * max|X| * max|dZ| is far below FLT_MAX (the factor 2 covers
 * rounding in any summation order), nor db when rows * max|dZ| is. Only
 * when that bound fails (gradients near 1e38: training is diverging) are
 * all weight gradients computed first and checked before any update; that
 * path gives the same numbers, only slower. */

/* The largest |v[i]|, or infinity if any value is NaN or infinite. On
 * the bits: without its sign a float orders as an unsigned integer, and
 * exactly the infinities and NaNs are at or above 0x7f800000, so this is
 * one integer max reduction, which vectorises (a float max with NaN
 * checks does not, and this runs on every layer's input and dZ). */
static float max_abs(const float *v, size_t n)
{
    uint32_t largest = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        bits &= 0x7fffffffu;
        largest = bits > largest ? bits : largest;
    }
    if (largest >= 0x7f800000u)
        return INFINITY;
    float f;
    memcpy(&f, &largest, sizeof f);
    return f;
}

static bool all_finite(const float *v, size_t n)
{
    return !v || max_abs(v, n) <= FLT_MAX;
}

/* max_x counts as at least 1 so that the one bound covers db too. */
static bool weight_gradients_bounded(int rows, float max_x, float max_dz)
{
    double bound = (double)rows * max_dz * (max_x > 1.0f ? max_x : 1.0f);
    return max_x <= FLT_MAX && max_dz <= FLT_MAX && 2.0 * bound < FLT_MAX;
}

static const char *nonfinite_name(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isnan(v[i]))
            return "NaN";
    return "infinity";
}

/* The end of every message about a refused batch. */
static int nonfinite_fail(const model *m, char *err, const char *what)
{
    return ember_fail(err, "%s: lower the learning rate (now %g), or check the data; "
                           "the weights, optimizer state and cursor are as they were before this batch",
                      what, (double)m->opt.spec.learning_rate);
}

/* Names the first non-finite value among the input and the layers'
 * outputs below layer `below` (n_layers for all of them) into what;
 * false if there is none. */
static bool first_nonfinite(const model *m, const float *x, int rows, int below, char *what, size_t size)
{
    static const char *const kinds[] = {"dense", "flatten", "dropout"};
    size_t n = (size_t)rows * m->input_size;
    if (!all_finite(x, n)) {
        for (size_t i = 0; i < n; i++)
            if (!isfinite(x[i])) {
                snprintf(what, size, "the input holds %s (sample %zu of the batch)",
                         isnan(x[i]) ? "NaN" : "infinity", i / m->input_size + 1);
                break;
            }
        return true;
    }
    for (int i = 0; i < below; i++) {
        const layer *l = &m->layers[i];
        size_t out = (size_t)rows * l->out;
        const float *bad = !all_finite(l->z, out) ? l->z : !all_finite(l->y, out) ? l->y : NULL;
        if (!bad)
            continue;
        size_t nw = l->kind == LAYER_DENSE ? (size_t)l->in * l->out + (size_t)l->out : 0;
        if (nw && !all_finite(l->w, nw))
            /* An update overflowed on an earlier batch, which was not caught
             * then: only gradients are checked before an update. */
            snprintf(what, size, "layer %d (dense) produced %s because its weights hold %s "
                     "(an earlier update overflowed)", i + 1, nonfinite_name(bad, out), nonfinite_name(l->w, nw));
        else
            snprintf(what, size, "layer %d (%s) produced %s", i + 1, kinds[l->kind], nonfinite_name(bad, out));
        return true;
    }
    return false;
}

/* A batch whose outputs or loss are not finite: names the first layer
 * whose output is (the input itself, if that is where it starts). Runs
 * only on failure, so it may look at everything. */
static int forward_failure(const model *m, const float *x, int rows, double loss, char *err)
{
    char what[EMBER_ERR_SIZE];
    if (!first_nonfinite(m, x, rows, m->n_layers, what, sizeof what))
        snprintf(what, sizeof what, "the loss is %s although the outputs are finite", isnan(loss) ? "NaN" : "infinite");
    return nonfinite_fail(m, err, what);
}

/* Layer i's gradient is not finite. A relu zeroes a NaN in its input, so
 * the outputs can be finite while a NaN below it (in the input data, say)
 * reaches the weight gradients: name that first if there is one. */
static int gradient_failure(const model *m, int i, const float *g, size_t n, const float *x, int rows, char *err)
{
    char what[EMBER_ERR_SIZE];
    if (!first_nonfinite(m, x, rows, i, what, sizeof what))
        snprintf(what, sizeof what, "the gradient of layer %d (dense) went %s (the loss and outputs are finite)",
                 i + 1, nonfinite_name(g, n));
    return nonfinite_fail(m, err, what);
}

/* Pass one (see above). With check set (training), each dense layer's dZ
 * must be finite: returns -1 with *bad the layer if not; *bounded tells
 * whether every weight gradient is sure to be finite. */
static void weight_gradients(model *m, int i, const float *x, int rows, float beta);

static int propagate(model *m, const float *x, int rows, bool check, int *bad, bool *bounded,
                     bool with_dw, float dw_beta)
{
    layer *last = &m->layers[m->n_layers - 1];
    *bounded = true;
    for (int i = m->n_layers - 1; i >= 0; i--) {
        layer *l = &m->layers[i];
        const float *in = i > 0 ? m->layers[i - 1].y : x;
        float *dest = i > 0 ? m->layers[i - 1].g : NULL;   /* dL/d(input) */
        if (l->kind == LAYER_DENSE) {
            if (l != last)
                activation_backward(l->act, l->y, l->g, rows, l->out);
            if (check) {
                float max_dz = max_abs(l->g, (size_t)rows * l->out);
                if (!(max_dz <= FLT_MAX)) {
                    *bad = i;
                    return -1;
                }
                float max_x = max_abs(in, (size_t)rows * l->in);
                *bounded = *bounded && weight_gradients_bounded(rows, max_x, max_dz);
            }
            /* dW before dX, as the one-pass backward did: the two GEMMs
             * share dZ while it is in cache. */
            if (with_dw)
                weight_gradients(m, i, x, rows, dw_beta);
            if (dest)
                gemm(false, true, rows, l->in, l->out, 1.0f, l->g, l->out, l->w, l->out, 0.0f, dest, l->in);
        } else if (l->kind == LAYER_DROPOUT && dest) {
            size_t n = (size_t)rows * l->out;
            if (l->rate > 0.0f)
                for (size_t k = 0; k < n; k++)
                    dest[k] = l->g[k] * l->mask[k];
            else
                memcpy(dest, l->g, n * sizeof *dest);
        }
    }
    return 0;
}

/* dW = X^T dZ (beta 1 accumulates into gradients known to be zero) and
 * db = column sums of dZ, for dense layer i. */
static void weight_gradients(model *m, int i, const float *x, int rows, float beta)
{
    layer *l = &m->layers[i];
    const float *in = i > 0 ? m->layers[i - 1].y : x;
    gemm(true, false, l->in, l->out, rows, 1.0f, in, l->in, l->g, l->out, beta, l->dw, l->out);
    for (int j = 0; j < l->out; j++)
        l->db[j] = 0.0f;
    for (int r = 0; r < rows; r++) {
        const float *gr = l->g + (size_t)r * l->out;
        for (int j = 0; j < l->out; j++)
            l->db[j] += gr[j];
    }
}

/* The optimizer's step on dense layer l: w and b are contiguous in
 * params, one range; its gradients are zeroed once used. */
static void update_layer(model *m, const layer *l)
{
    optimizer_update_range(&m->opt, m->params, m->grads, (size_t)(l->w - m->params),
                           (size_t)l->in * l->out + (size_t)l->out, true);
}

double model_backward(model *m, const float *x, int rows,
                      const int32_t *labels, const float *targets)
{
    layer *last = &m->layers[m->n_layers - 1];
    double loss = loss_compute(m->loss, last->act, last->z, last->y, rows, last->out,
                               labels, targets, last->g);
    int bad;
    bool bounded;
    propagate(m, x, rows, false, &bad, &bounded, true, 0.0f);
    m->grads_zero = false;
    return loss;
}

/* Backward and update after model_forward(training): refuses (returns -1,
 * nothing changed) a batch whose outputs, loss or gradients are not
 * finite. */
static int backward_update(model *m, const float *x, int rows, const int32_t *labels,
                           const float *targets, double *loss_out, char *err)
{
    layer *last = &m->layers[m->n_layers - 1];
    size_t n_out = (size_t)rows * last->out;
    double loss = loss_compute(m->loss, last->act, last->z, last->y, rows, last->out,
                               labels, targets, last->g);
    /* The outputs and the loss tell whether the forward pass went wrong:
     * a NaN anywhere below reaches them, unless a relu zeroed it. */
    if (!isfinite(loss) || !all_finite(last->y, n_out) || !all_finite(last->z, n_out))
        return forward_failure(m, x, rows, loss, err);
    int bad;
    bool bounded;
    /* Gradients known to be zero (the last update cleared them) let the dW
     * products accumulate (beta 1): with beta 0 OpenBLAS first makes a pass
     * of its own zeroing dW, ~15 % of a batch-32 step's GEMM time. */
    const float dw_beta = m->grads_zero ? 1.0f : 0.0f;
    m->grads_zero = false;   /* from here on they hold this batch's */
    if (propagate(m, x, rows, true, &bad, &bounded, true, dw_beta) < 0)
        return gradient_failure(m, bad, m->layers[bad].g, (size_t)rows * m->layers[bad].out, x, rows, err);
    if (!bounded) {
        /* Diverging: the weight gradients could have overflowed: check. */
        for (int i = m->n_layers - 1; i >= 0; i--) {
            const layer *l = &m->layers[i];
            size_t nw = (size_t)l->in * l->out + (size_t)l->out;
            if (l->kind == LAYER_DENSE && !all_finite(l->dw, nw))
                return gradient_failure(m, i, l->dw, nw, x, rows, err);
        }
    }
    optimizer_begin_step(&m->opt);
    for (int i = m->n_layers - 1; i >= 0; i--)
        if (m->layers[i].kind == LAYER_DENSE)
            update_layer(m, &m->layers[i]);
    m->grads_zero = true;   /* every parameter belongs to a dense layer */
    *loss_out = loss;
    return 0;
}

int model_train_batch(model *m, const float *x, const int32_t *labels,
                      const float *targets, int rows, batch_stats *out, char *err)
{
    if (!m->built)
        return ember_fail(err, "the model is not built yet");
    if (!m->compiled)
        return ember_fail(err, "the model is not compiled: choose a loss and an optimizer first");
    if (rows < 1)
        return ember_fail(err, "a batch needs at least one sample (got %d)", rows);
    int outs = model_output_units(m);
    bool sparse = loss_takes_labels(m->loss.kind);
    if ((sparse || !targets) && !labels)
        return ember_fail(err, "%s needs integer labels", loss_name(m->loss.kind));
    if ((sparse || !targets) && model_check_labels(m, labels, rows, err) < 0)
        return -1;
    if (x != m->x && model_reserve(m, rows, err) < 0)
        return -1;
    if (x != m->x) {
        memcpy(m->x, x, (size_t)rows * m->input_size * sizeof *x);
        x = m->x;
    }
    if (!sparse && !targets) {
        model_label_targets(m, labels, rows, m->targets);
        targets = m->targets;
    }
    fp_mode mode = fp_enter();
    rng before = m->rng;   /* dropout draws from it: a refused batch puts it back */
    const float *y = model_forward(m, x, rows, true);
    /* Accuracy first: the output layer's y is not touched by backward. */
    double correct = accuracy_sum(m->loss, y, rows, outs, labels, sparse ? NULL : targets);
    double loss = 0.0;
    int status = backward_update(m, x, rows, sparse ? labels : NULL, sparse ? NULL : targets, &loss, err);
    fp_leave(mode);
    if (status < 0) {
        m->rng = before;
        return -1;
    }
    if (out)
        *out = (batch_stats){.loss = loss, .correct = correct, .rows = rows};
    return 0;
}

int model_predict(model *m, const float *x, size_t rows, float *out, char *err)
{
    if (!m->built)
        return ember_fail(err, "the model is not built yet");
    if (m->capacity == 0 && model_reserve(m, 32, err) < 0)
        return -1;
    int outs = model_output_units(m);
    fp_mode mode = fp_enter();
    for (size_t done = 0; done < rows;) {
        int n = rows - done < (size_t)m->capacity ? (int)(rows - done) : m->capacity;
        const float *chunk = x + done * m->input_size;
        if (chunk != m->x)
            memcpy(m->x, chunk, (size_t)n * m->input_size * sizeof *x);
        const float *y = model_forward(m, m->x, n, false);
        memcpy(out + done * outs, y, (size_t)n * outs * sizeof *out);
        done += (size_t)n;
    }
    fp_leave(mode);
    return 0;
}
