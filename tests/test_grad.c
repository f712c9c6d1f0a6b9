/* test_grad.c: gradient checks by central finite differences.
 *
 * What this proves: for every layer (dense, flatten, dropout), every
 * activation (relu, sigmoid, softmax, tanh, linear) in hidden and output
 * position and every loss path (sparse CE from clipped probabilities, from
 * a softmax, from logits; categorical CE from probabilities, softmax and
 * logits; binary CE from a sigmoid, from logits and from clipped linear
 * outputs; mse), model_backward's gradients (m.grads, which the layers'
 * dw and db view) are the derivatives of the loss model_forward +
 * loss_compute compute, parameter by parameter:
 *
 *     dL/dw_i  ~  (L(w_i + h) - L(w_i - h)) / 2h
 *
 * with L the mean loss over a small batch, accumulated in double. The core
 * is float32, so h = 5e-3 and |analytic - numeric| <= 1e-4 + 2e-3 |numeric|
 * (observed: under 4e-5 for every case; a gradient off by 1% fails);
 * every case also checks that its gradient is not trivially small, so a
 * loss that ignores its parameters cannot pass.
 *
 * Kinks: a relu whose pre-activation is within reach of the perturbation,
 * or a clip that could switch on, would make the finite difference
 * meaningless. Each case picks, among up to 200 seeds (each with fresh
 * inputs), the first whose relu pre-activations (recomputed here in double
 * from the layers' inputs) are all at least RELU_MARGIN = 0.03 away from 0,
 * three times what a perturbation of h can move them; clipped outputs are
 * checked to lie inside the clip range.
 *
 * Dropout: the mask is drawn from the model's generator on every
 * forward(training = true). The numerical part must see the very mask the
 * analytic gradient was computed with, so before each forward the model's
 * rng struct is restored to the state it had before the analytic forward:
 * the generator's whole state is that struct (rng.h), so the same draws,
 * hence the same mask, come out; the test verifies this by comparing each
 * mask with the first (memcmp). Fixing the mask by copying it back instead
 * would rely on forward not redrawing it, which it does.
 *
 * Semantics beyond the chain rule, also checked here: dropped units get
 * exactly zero gradient and kept ones 1/(1 - rate) times theirs; with the
 * renormalised sparse loss, output units no label names are pushed down
 * (positive dL/dz); a sigmoid output saturated at 1.0f, or below the 1e-7
 * clip, gets exactly zero gradient (TensorFlow's clip_by_value gradient). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/activation.h"
#include "core/error.h"
#include "core/loss.h"
#include "core/model.h"
#include "core/optimizer.h"

#include "testutil.h"

#define H       5e-3
#define TOL_ABS 1e-4
#define TOL_REL 2e-3
#define MAX_ROWS 8
/* A perturbation of h moves a pre-activation by at most about h times an
 * input (|x| <= 1, hidden outputs <= 2 after dropout): 0.01. */
#define RELU_MARGIN 0.03

/* A layer of a test model. */
typedef struct lspec {
    layer_kind kind;
    int        units;
    activation act;
    float      rate;
} lspec;

#define DENSE(u, a) {LAYER_DENSE, (u), (a), 0.0f}
#define FLATTEN     {LAYER_FLATTEN, 0, ACT_LINEAR, 0.0f}
#define DROPOUT(r)  {LAYER_DROPOUT, 0, ACT_LINEAR, (r)}

typedef struct gcase {
    const char *name;
    int         rank;
    int         shape[3];
    lspec       layers[5];
    int         n_layers;
    loss        loss;
    int         rows;
    int         classes;    /* labels drawn from 0..classes-1 */
    bool        soft;       /* bce targets in (0, 1), not 0/1 */
    bool        unit_out;   /* linear output moved into (0, 1) for bce */
} gcase;

/* A small deterministic generator for inputs and labels, independent of
 * the core's. */
static uint64_t lcg_state = 88172645463325252ULL;
static double lcg(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) / 9007199254740992.0;   /* [0, 1) */
}

static int input_size(const gcase *c)
{
    int n = 1;
    for (int i = 0; i < c->rank; i++)
        n *= c->shape[i];
    return n;
}

static const float *layer_input(const model *m, int k, const float *x)
{
    return k == 0 ? x : m->layers[k - 1].y;
}

/* Smallest |pre-activation| of any relu unit after the last forward,
 * recomputed in double from the layer's input, w and b. */
static double relu_margin(const model *m, const float *x, int rows)
{
    double margin = INFINITY;
    for (int k = 0; k < m->n_layers; k++) {
        const layer *L = &m->layers[k];
        if (L->kind != LAYER_DENSE || L->act != ACT_RELU)
            continue;
        const float *in = layer_input(m, k, x);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < L->out; j++) {
                double z = L->b[j];
                for (int i = 0; i < L->in; i++)
                    z += (double)in[r * L->in + i] * L->w[i * L->out + j];
                if (fabs(z) < margin)
                    margin = fabs(z);
            }
    }
    return margin;
}

static const layer *last_layer(const model *m)
{
    return &m->layers[m->n_layers - 1];
}

/* The mean loss of the current parameters, as the user would compute it:
 * forward, then loss_compute on the output layer's z and y. */
static double loss_now(model *m, const float *x, int rows, const int32_t *labels,
                       const float *targets)
{
    const float *y = model_forward(m, x, rows, true);
    const layer *L = last_layer(m);
    return loss_compute(m->loss, L->act, L->z, y, rows, L->out, labels, targets, NULL);
}

static int build(model *m, const gcase *c, uint64_t seed, char *err)
{
    model_init(m, seed);
    for (int k = 0; k < c->n_layers; k++) {
        const lspec *s = &c->layers[k];
        int rc = s->kind == LAYER_DENSE   ? model_add_dense(m, s->units, s->act, err)
               : s->kind == LAYER_FLATTEN ? model_add_flatten(m, err)
                                          : model_add_dropout(m, s->rate, err);
        if (rc)
            return -1;
    }
    if (model_build(m, c->rank, c->shape, err) ||
        model_compile(m, c->loss, optimizer_defaults(OPT_SGD), err) ||
        model_reserve(m, c->rows, err))
        return -1;
    return 0;
}

/* Runs one case: builds it with the first seed that keeps relus off their
 * kinks, then compares every parameter's analytic and numeric gradient. */
static void grad_case(const gcase *c)
{
    char err[EMBER_ERR_SIZE] = "";
    int nin = input_size(c), rows = c->rows;
    float x[MAX_ROWS * 64];
    int32_t labels[MAX_ROWS];
    float targets[MAX_ROWS * 16];
    model m;
    bool found = false;

    for (uint64_t seed = 1; seed <= 200 && !found; seed++) {
        for (int i = 0; i < rows * nin; i++)
            x[i] = (float)(2 * lcg() - 1);
        if (build(&m, c, seed, err)) {
            fprintf(stderr, "  %s: build failed: %s\n", c->name, err);
            CHECK(!"grad case builds");
            model_free(&m);
            return;
        }
        int out = model_output_units(&m);
        for (int r = 0; r < rows; r++)
            labels[r] = (int32_t)(lcg() * c->classes);
        if (c->loss.kind == LOSS_CATEGORICAL_CROSSENTROPY && !c->soft)
            one_hot(labels, rows, out, targets);
        else
            for (int i = 0; i < rows * out; i++)
                targets[i] = c->soft ? (float)(0.1 + 0.8 * lcg())
                           : c->loss.kind == LOSS_MSE ? (float)(2 * lcg() - 1)
                           : (float)(lcg() < 0.5);
        if (c->unit_out) {
            /* Keep a linear output inside (0, 1): small kernel, bias 0.5. */
            layer *L = &m.layers[m.n_layers - 1];
            for (int i = 0; i < L->in * L->out; i++)
                L->w[i] *= 0.2f;
            for (int j = 0; j < L->out; j++)
                L->b[j] = 0.5f;
        }
        rng saved = m.rng;
        model_forward(&m, x, rows, true);
        m.rng = saved;
        if (relu_margin(&m, x, rows) >= RELU_MARGIN)
            found = true;
        else
            model_free(&m);
    }
    CHECK(found);
    if (!found) {
        fprintf(stderr, "  %s: no seed keeps the relus off their kinks\n", c->name);
        return;
    }

    /* Analytic gradient, remembering the generator (dropout masks). */
    rng r0 = m.rng;
    const float *y = model_forward(&m, x, rows, true);
    const layer *L = last_layer(&m);
    if (c->unit_out || (c->loss.kind == LOSS_BINARY_CROSSENTROPY && !c->loss.from_logits &&
                        L->act == ACT_LINEAR)) {
        bool inside = true;
        for (int i = 0; i < rows * L->out; i++)
            inside &= (y[i] > 0.05f && y[i] < 0.95f);
        CHECK(inside);   /* the clip is inactive with margin */
    }
    double l_fwd = loss_compute(m.loss, L->act, L->z, y, rows, L->out, labels,
                                targets, NULL);
    double l_bwd = model_backward(&m, x, rows, labels, targets);
    if (fabs(l_fwd - l_bwd) > 1e-6 * fabs(l_fwd) + 1e-7) {
        fprintf(stderr, "  %s: backward loss %.9g, forward+loss %.9g\n", c->name,
                l_bwd, l_fwd);
        CHECK(!"model_backward returns the loss of the batch");
    }

    /* Masks of the analytic pass, to prove the numeric passes reuse them. */
    float *masks[5] = {0};
    for (int k = 0; k < m.n_layers; k++)
        if (m.layers[k].kind == LAYER_DROPOUT) {
            size_t n = (size_t)rows * m.layers[k].out;
            masks[k] = malloc(n * sizeof(float));
            memcpy(masks[k], m.layers[k].mask, n * sizeof(float));
        }

    float *analytic = malloc(m.n_params * sizeof(float));
    memcpy(analytic, m.grads, m.n_params * sizeof(float));

    int bad = 0;
    bool same_masks = true;
    double worst = 0, biggest = 0;
    for (size_t i = 0; i < m.n_params; i++) {
        float p = m.params[i];
        m.params[i] = (float)(p + H);
        double hp = (double)m.params[i] - p;          /* the step really taken */
        m.rng = r0;
        double lp = loss_now(&m, x, rows, labels, targets);
        m.params[i] = (float)(p - H);
        double hm = p - (double)m.params[i];
        m.rng = r0;
        double lm = loss_now(&m, x, rows, labels, targets);
        m.params[i] = p;
        for (int k = 0; k < m.n_layers; k++)
            if (masks[k])
                same_masks &= memcmp(masks[k], m.layers[k].mask,
                                     (size_t)rows * m.layers[k].out * sizeof(float)) == 0;
        double num = (lp - lm) / (hp + hm), a = analytic[i];
        double d = fabs(a - num);
        if (fabs(num) > biggest)
            biggest = fabs(num);
        if (d > worst)
            worst = d;
        if (d > TOL_ABS + TOL_REL * fabs(num) || isnan(a)) {
            if (bad < 5)
                fprintf(stderr, "  %s: param %zu: analytic %.6g, numeric %.6g\n",
                        c->name, i, a, num);
            bad++;
        }
    }
    if (bad || getenv("GRAD_VERBOSE"))
        fprintf(stderr, "  %s: %d of %zu gradients differ (worst %.3g, largest %.3g)\n",
                c->name, bad, m.n_params, worst, biggest);
    CHECK(bad == 0);
    CHECK(same_masks);
    if (biggest < 1e-2)
        fprintf(stderr, "  %s: gradient too small to test (%.3g)\n", c->name, biggest);
    CHECK(biggest >= 1e-2);
    /* The analytic gradient lives in m.grads, and each dense layer's dw and
     * db view it at the same offsets as w and b view m.params. */
    bool views = true;
    for (int k = 0; k < m.n_layers; k++) {
        const layer *D = &m.layers[k];
        if (D->kind == LAYER_DENSE)
            views &= D->dw - m.grads == D->w - m.params && D->db - m.grads == D->b - m.params;
    }
    CHECK(views);

    for (int k = 0; k < 5; k++)
        free(masks[k]);
    free(analytic);
    model_free(&m);
}

static void test_all_cases(void)
{
    const loss sparse = {LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false};
    const loss sparse_logits = {LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, true};
    const loss cce = {LOSS_CATEGORICAL_CROSSENTROPY, false};
    const loss cce_logits = {LOSS_CATEGORICAL_CROSSENTROPY, true};
    const loss bce = {LOSS_BINARY_CROSSENTROPY, false};
    const loss bce_logits = {LOSS_BINARY_CROSSENTROPY, true};
    const loss mse = {LOSS_MSE, false};

    const gcase cases[] = {
        /* name, rank, shape, layers, n, loss, rows, classes, soft, unit_out */
        {"relu -> softmax, sparse", 1, {5}, {DENSE(4, ACT_RELU), DENSE(3, ACT_SOFTMAX)},
         2, sparse, 4, 3, false, false},
        {"tanh -> sigmoid, sparse (clip + renormalise)", 1, {5},
         {DENSE(4, ACT_TANH), DENSE(3, ACT_SIGMOID)}, 2, sparse, 4, 3, false, false},
        {"sigmoid -> linear, sparse from_logits", 1, {5},
         {DENSE(4, ACT_SIGMOID), DENSE(3, ACT_LINEAR)}, 2, sparse_logits, 4, 3, false, false},
        {"softmax -> tanh, mse", 1, {5}, {DENSE(4, ACT_SOFTMAX), DENSE(3, ACT_TANH)},
         2, mse, 4, 3, false, false},
        {"linear -> relu, mse", 1, {5}, {DENSE(4, ACT_LINEAR), DENSE(3, ACT_RELU)},
         2, mse, 4, 3, false, false},
        {"linear -> linear, mse", 1, {5}, {DENSE(4, ACT_LINEAR), DENSE(3, ACT_LINEAR)},
         2, mse, 3, 3, false, false},
        {"relu -> tanh -> softmax, sparse", 1, {5},
         {DENSE(4, ACT_RELU), DENSE(4, ACT_TANH), DENSE(3, ACT_SOFTMAX)}, 3, sparse, 4, 3,
         false, false},
        {"relu -> softmax, categorical", 1, {5}, {DENSE(4, ACT_RELU), DENSE(3, ACT_SOFTMAX)},
         2, cce, 4, 3, false, false},
        {"tanh -> sigmoid, categorical (normalise + clip)", 1, {5},
         {DENSE(4, ACT_TANH), DENSE(3, ACT_SIGMOID)}, 2, cce, 4, 3, false, false},
        {"relu -> linear, categorical from_logits", 1, {5},
         {DENSE(4, ACT_RELU), DENSE(3, ACT_LINEAR)}, 2, cce_logits, 4, 3, false, false},
        /* Soft targets that do not sum to 1 (Keras accepts them): the
         * softmax path's gradient is softmax(z) sum(t) - t. */
        {"relu -> softmax, categorical soft targets", 1, {5},
         {DENSE(4, ACT_RELU), DENSE(3, ACT_SOFTMAX)}, 2, cce, 4, 3, true, false},
        {"tanh -> sigmoid, categorical soft targets", 1, {5},
         {DENSE(4, ACT_TANH), DENSE(3, ACT_SIGMOID)}, 2, cce, 4, 3, true, false},
        {"relu -> linear, categorical from_logits soft targets", 1, {5},
         {DENSE(4, ACT_RELU), DENSE(3, ACT_LINEAR)}, 2, cce_logits, 4, 3, true, false},
        {"relu -> sigmoid, binary", 1, {5}, {DENSE(4, ACT_RELU), DENSE(3, ACT_SIGMOID)},
         2, bce, 4, 2, false, false},
        {"tanh -> sigmoid, binary soft targets", 1, {5},
         {DENSE(4, ACT_TANH), DENSE(2, ACT_SIGMOID)}, 2, bce, 4, 2, true, false},
        {"tanh -> linear, binary from_logits", 1, {5},
         {DENSE(4, ACT_TANH), DENSE(3, ACT_LINEAR)}, 2, bce_logits, 4, 2, true, false},
        {"tanh -> linear in (0,1), binary (clip + eps)", 1, {5},
         {DENSE(4, ACT_TANH), DENSE(3, ACT_LINEAR)}, 2, bce, 4, 2, true, true},
        {"7 units, labels 0..2, sigmoid, sparse", 1, {5},
         {DENSE(4, ACT_RELU), DENSE(7, ACT_SIGMOID)}, 2, sparse, 6, 3, false, false},
        {"flatten 2x3 -> relu -> softmax, sparse", 2, {2, 3},
         {FLATTEN, DENSE(4, ACT_RELU), DENSE(3, ACT_SOFTMAX)}, 3, sparse, 4, 3, false, false},
        {"tanh -> dropout 0.5 -> softmax, sparse", 1, {5},
         {DENSE(6, ACT_TANH), DROPOUT(0.5f), DENSE(3, ACT_SOFTMAX)}, 3, sparse, 4, 3,
         false, false},
        {"relu -> dropout 0.5 -> relu -> sigmoid, sparse", 1, {5},
         {DENSE(6, ACT_RELU), DROPOUT(0.5f), DENSE(4, ACT_RELU), DENSE(3, ACT_SIGMOID)}, 4,
         sparse, 4, 3, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = test_failures;
        grad_case(&cases[i]);
        if (test_failures != before)
            fprintf(stderr, "  (in case \"%s\")\n", cases[i].name);
    }
}

/* ---- semantics beyond the chain rule -------------------------------- */

/* Renormalisation: with the sparse loss on sigmoid outputs, units that no
 * label names get dL/dz = y (1 - y) / S > 0 for every row, so their bias
 * gradient is positive (training pushes them to 0). With plain -log p_y
 * it would be 0. */
static void test_unnamed_units_pushed_down(void)
{
    char err[EMBER_ERR_SIZE] = "";
    model m;
    model_init(&m, 3);
    int rc = model_add_dense(&m, 4, ACT_TANH, err) || model_add_dense(&m, 7, ACT_SIGMOID, err) ||
             model_build(&m, 1, (int[]){5}, err) ||
             model_compile(&m, (loss){LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false},
                           optimizer_defaults(OPT_ADAM), err) ||
             model_reserve(&m, 6, err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err);
        model_free(&m);
        return;
    }
    float x[30];
    for (int i = 0; i < 30; i++)
        x[i] = (float)(2 * lcg() - 1);
    int32_t labels[6] = {0, 1, 2, 2, 1, 0};
    model_forward(&m, x, 6, true);
    model_backward(&m, x, 6, labels, NULL);
    const layer *L = last_layer(&m);
    bool pushed = true;
    for (int j = 3; j < 7; j++)
        pushed &= L->db[j] > 1e-3f;
    CHECK(pushed);
    model_free(&m);
}

/* The clip: one dense sigmoid layer whose biases put unit 1 at y = 1.0f
 * exactly (z = 60) and unit 2 at y ~ 1.4e-11 (z = -25), both beyond the
 * clip [1e-7, 1 - 1e-7]. Their gradient must be exactly 0, although for
 * unit 2 y (1 - y) is not 0: only the clip's zero gradient makes it so. */
static void test_clip_gradient(void)
{
    char err[EMBER_ERR_SIZE] = "";
    model m;
    model_init(&m, 5);
    int rc = model_add_dense(&m, 3, ACT_SIGMOID, err) ||
             model_build(&m, 1, (int[]){5}, err) ||
             model_compile(&m, (loss){LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false},
                           optimizer_defaults(OPT_SGD), err) ||
             model_reserve(&m, 2, err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err);
        model_free(&m);
        return;
    }
    layer *L = &m.layers[0];
    for (int i = 0; i < 15; i++)
        L->w[i] *= 0.1f;
    L->b[0] = 0.0f;
    L->b[1] = 60.0f;
    L->b[2] = -25.0f;
    float x[10];
    for (int i = 0; i < 10; i++)
        x[i] = (float)(2 * lcg() - 1);
    const int32_t labels[2] = {0, 1};   /* also the saturated unit's own label */
    const float *y = model_forward(&m, x, 2, true);
    CHECK(y[1] == 1.0f && y[4] == 1.0f);
    CHECK(y[2] > 0.0f && y[2] < 1e-9f && y[5] > 0.0f && y[5] < 1e-9f);
    /* Row 0: -log(y0 / (y0 + (1 - 1e-7) + 1e-7)); row 1: -log((1 - 1e-7) / S). */
    double want = 0;
    for (int r = 0; r < 2; r++) {
        double y0 = y[r * 3], s = y0 + 1.0;
        want += r == 0 ? -log(y0 / s) : -log((1 - 1e-7) / s);
    }
    want /= 2;
    double got = model_backward(&m, x, 2, labels, NULL);
    CHECK(fabs(got - want) < 1e-5 * want);
    CHECK(L->db[1] == 0.0f);
    CHECK(L->db[2] == 0.0f);
    bool zero = true;
    for (int i = 0; i < 5; i++)
        zero &= (L->dw[i * 3 + 1] == 0.0f && L->dw[i * 3 + 2] == 0.0f);
    CHECK(zero);
    CHECK(L->db[0] != 0.0f);   /* the unclipped unit still learns */
    model_free(&m);
}

/* Dropout, one row: the mask is 0 or 1/(1 - rate) = 2 per element, the
 * dropout output is the mask times its input, a dropped unit's gradient is
 * exactly 0 and a kept one's is twice the gradient arriving from above.
 * Model: 5 -> dense 8 linear -> dropout 0.5 -> dense 3 softmax; with a
 * linear first layer and one row, db1[j] = dL/dy1[j] and
 * dL/d(dropout out)[j] = sum_k W2[j][k] db2[k]. */
static void test_dropout_mask(void)
{
    char err[EMBER_ERR_SIZE] = "";
    model m;
    model_init(&m, 11);
    int rc = model_add_dense(&m, 8, ACT_LINEAR, err) || model_add_dropout(&m, 0.5f, err) ||
             model_add_dense(&m, 3, ACT_SOFTMAX, err) ||
             model_build(&m, 1, (int[]){5}, err) ||
             model_compile(&m, (loss){LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false},
                           optimizer_defaults(OPT_SGD), err) ||
             model_reserve(&m, 4, err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err);
        model_free(&m);
        return;
    }
    float x[5] = {0.3f, -0.7f, 0.9f, 0.1f, -0.4f};
    int32_t label = 2;
    const layer *d1 = &m.layers[0], *dr = &m.layers[1], *d2 = &m.layers[2];
    CHECK(dr->in == 8 && dr->out == 8);

    /* Inference: no mask, no draw from the generator, output unchanged. */
    rng before = m.rng;
    float inf1[3], inf2[3];
    memcpy(inf1, model_forward(&m, x, 1, false), sizeof inf1);
    CHECK(memcmp(dr->y, d1->y, 8 * sizeof(float)) == 0);
    memcpy(inf2, model_forward(&m, x, 1, false), sizeof inf2);
    CHECK(memcmp(inf1, inf2, sizeof inf1) == 0);
    CHECK(memcmp(&before, &m.rng, sizeof before) == 0);

    /* Training: try a few rows of masks until both kinds of unit occur. */
    int kept = 0, dropped = 0;
    for (int attempt = 0; attempt < 8 && (kept == 0 || dropped == 0); attempt++) {
        model_forward(&m, x, 1, true);
        kept = dropped = 0;
        for (int j = 0; j < 8; j++) {
            kept += dr->mask[j] == 2.0f;
            dropped += dr->mask[j] == 0.0f;
        }
    }
    CHECK(kept + dropped == 8);   /* nothing but 0 and 1/(1 - 0.5) */
    CHECK(kept > 0 && dropped > 0);
    bool masked = true;
    for (int j = 0; j < 8; j++)
        masked &= dr->y[j] == dr->mask[j] * d1->y[j];
    CHECK(masked);

    model_backward(&m, x, 1, &label, NULL);
    bool zero_dropped = true, scaled_kept = true;
    for (int j = 0; j < 8; j++) {
        double above = 0;   /* dL/d(dropout output)[j] */
        for (int k = 0; k < 3; k++)
            above += (double)d2->w[j * 3 + k] * d2->db[k];
        if (dr->mask[j] == 0.0f) {
            zero_dropped &= d1->db[j] == 0.0f;
            for (int i = 0; i < 5; i++)
                zero_dropped &= d1->dw[i * 8 + j] == 0.0f;
        } else {
            scaled_kept &= fabs(d1->db[j] - 2.0 * above) <= 1e-6 + 1e-5 * fabs(above);
        }
    }
    CHECK(zero_dropped);
    CHECK(scaled_kept);
    model_free(&m);
}

int main(void)
{
    test_all_cases();
    test_unnamed_units_pushed_down();
    test_clip_gradient();
    test_dropout_mask();
    return test_report();
}
