/* test_reference.c: ember's numbers against hand-computed Keras references.
 *
 * What this proves: for small fixed inputs, the losses (loss_compute), the
 * optimizer steps (optimizer_update), the weight initialiser (model_build)
 * and the accuracy metric (accuracy_sum, argmax) give the values Keras
 * gives, as written in ../shared/DESIGN.md section 2. Every constant below
 * was computed by hand or with plain python3 `math` in double precision
 * from the float32 inputs; the derivation sits next to it. The inputs are
 * chosen so that the plausible wrong formulas (no renormalisation, epsilon
 * in the wrong place, no clip, the textbook Adam instead of Keras's) give
 * values far outside the tolerance.
 *
 * It does not build models except for the initialiser; gradients are the
 * business of test_grad.c, training of test_train.c. */
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

/* |got - want| <= rel * |want| + abs, reporting the values on failure. */
static bool near(const char *what, double got, double want, double rel, double abs)
{
    double d = fabs(got - want);
    if (d <= rel * fabs(want) + abs && !isnan(got))
        return true;
    fprintf(stderr, "  %s: got %.10g, want %.10g (diff %.3g)\n", what, got, want, d);
    return false;
}

#define REL 1e-6   /* the brief's tolerance: float32 arithmetic, double sums */

/* ---- sparse_categorical_crossentropy -------------------------------- */

static void test_sparse_clip_renormalise(void)
{
    /* Linear output, from probabilities: Keras clips to [1e-7, 1 - 1e-7],
     * takes log and applies softmax cross-entropy, i.e.
     * loss = -log(q_y / sum_j q_j).
     * Row 0: p = [0.2, 0.5, 0.9, 0.0], label 1; 0.0 is clipped to 1e-7:
     *   S = 0.2 + 0.5 + 0.9 + 1e-7 (float32 values) = 1.6000001
     *   -log(0.5 / 1.6000001) = 1.1631508592671642
     *   (without the renormalisation it would be -log 0.5 = 0.693).
     * Row 1: p = [0.7, 0.1, 0.05, 0.15], label 0: S = 1.0
     *   -log(0.7) = 0.35667495724334075
     * Mean of the two: 0.7599129082552525. */
    float p[8] = {0.2f, 0.5f, 0.9f, 0.0f, 0.7f, 0.1f, 0.05f, 0.15f};
    int32_t lab[2] = {1, 0};
    loss l = {LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false};
    float g[8];

    double one = loss_compute(l, ACT_LINEAR, p, p, 1, 4, lab, NULL, g);
    CHECK(near("sparse row 0", one, 1.1631508592671642, REL, 0));
    /* dL/dq_j = 1/S - [j == y]/q_y where the clip is inactive, 0 where it
     * is active (TensorFlow's clip_by_value gradient); linear act, so
     * dL/dz = dL/dq:
     *   g = [1/1.6000001, 1/1.6000001 - 2, 1/1.6000001, 0]
     *     = [0.62499997, -1.37500003, 0.62499997, 0] */
    CHECK(near("sparse g0", g[0], 0.6249999690865736, 1e-5, 0));
    CHECK(near("sparse g1", g[1], -1.3750000309134265, 1e-5, 0));
    CHECK(near("sparse g2", g[2], 0.6249999690865736, 1e-5, 0));
    CHECK(g[3] == 0.0f);   /* clipped unit: exactly no gradient */

    double two = loss_compute(l, ACT_LINEAR, p, p, 2, 4, lab, NULL, NULL);
    CHECK(near("sparse batch mean", two, 0.7599129082552525, REL, 0));

    /* Sigmoid output, same rule on y (z only has to be consistent):
     * y = [0.2, 0.5, 0.9], label 2: -log(0.9 / 1.6) = 0.5753641449035618 */
    float y[3] = {0.2f, 0.5f, 0.9f}, z[3];
    for (int j = 0; j < 3; j++)
        z[j] = logf(y[j] / (1.0f - y[j]));
    int32_t lab2 = 2;
    double s = loss_compute(l, ACT_SIGMOID, z, y, 1, 3, &lab2, NULL, NULL);
    CHECK(near("sparse sigmoid", s, 0.5753641449035618, 1e-5, 0));
}

static void softmax_row(const float *z, float *y, int n)
{
    double mx = z[0], sum = 0;
    for (int j = 1; j < n; j++)
        if (z[j] > mx)
            mx = z[j];
    for (int j = 0; j < n; j++)
        sum += exp(z[j] - mx);
    for (int j = 0; j < n; j++)
        y[j] = (float)(exp(z[j] - mx) / sum);
}

static void test_sparse_softmax_and_logits(void)
{
    /* z = [1, -0.5, 2, 0.25]; logsumexp(z) = 2.4847311347019678.
     * Softmax output, from probabilities (Keras uses the logits), and a
     * linear output with from_logits: ordinary CE = logsumexp(z) - z_y.
     *   label 2: 0.4847311347019678     label 0: 1.4847311347019678
     * Batch [label 2, label 0]: mean 0.9847311347019678. */
    float z[8] = {1.0f, -0.5f, 2.0f, 0.25f, 1.0f, -0.5f, 2.0f, 0.25f};
    float y[8];
    softmax_row(z, y, 4);
    softmax_row(z + 4, y + 4, 4);
    int32_t lab[2] = {2, 0};

    loss probs = {LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false};
    loss logits = {LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, true};
    CHECK(near("softmax CE label 2",
               loss_compute(probs, ACT_SOFTMAX, z, y, 1, 4, lab, NULL, NULL),
               0.4847311347019678, REL, 0));
    CHECK(near("softmax CE batch",
               loss_compute(probs, ACT_SOFTMAX, z, y, 2, 4, lab, NULL, NULL),
               0.9847311347019678, REL, 0));
    CHECK(near("logits CE batch",
               loss_compute(logits, ACT_LINEAR, z, z, 2, 4, lab, NULL, NULL),
               0.9847311347019678, REL, 0));

    /* A saturated softmax: Keras takes the logits, so z = [0, 30],
     * label 0 gives 30 + log(1 + e^-30) = 30.0 (to 1e-13); going through
     * the clipped probabilities would give -log(1e-7 / (1 + 1e-7)) = 16.1. */
    float zs[2] = {0.0f, 30.0f}, ys[2];
    softmax_row(zs, ys, 2);
    int32_t zero = 0;
    CHECK(near("softmax CE saturated",
               loss_compute(probs, ACT_SOFTMAX, zs, ys, 1, 2, &zero, NULL, NULL),
               30.0, REL, 0));

    /* Large logits must not overflow: z = [1000, 0, -1000], label 1:
     * log-softmax = 0 - 1000 - log(1 + e^-1000 + e^-2000) = -1000. */
    float big[3] = {1000.0f, 0.0f, -1000.0f};
    int32_t one = 1;
    CHECK(near("logits CE, large",
               loss_compute(logits, ACT_LINEAR, big, big, 1, 3, &one, NULL, NULL),
               1000.0, REL, 0));
}

/* ---- categorical, binary, mse ---------------------------------------- */

static void test_categorical(void)
{
    /* From probabilities (Keras backend.categorical_crossentropy): divide
     * by the row sum, clip to [1e-7, 1 - 1e-7], -sum t log q.
     * Row 0: p = [0.2, 0.6, 0.4], t = [0, 1, 0]: 0.6 / 1.2 = 0.5
     *   -log 0.5 = 0.6931471805599455 (unnormalised: 0.51)
     * Row 1: p = [0.05, 0.0, 0.9], t = [0, 0, 1]: 0.9 / 0.95
     *   -log(0.9 / 0.95) = 0.05406722127027582
     * Mean: 0.3736072009151107 */
    float p[6] = {0.2f, 0.6f, 0.4f, 0.05f, 0.0f, 0.9f};
    float t[6] = {0, 1, 0, 0, 0, 1};
    loss probs = {LOSS_CATEGORICAL_CROSSENTROPY, false};
    loss logits = {LOSS_CATEGORICAL_CROSSENTROPY, true};
    CHECK(near("cce probs",
               loss_compute(probs, ACT_LINEAR, p, p, 2, 3, NULL, t, NULL),
               0.3736072009151107, 1e-5, 0));

    /* A soft target on row 0, t = [0.25, 0.75, 0], q = [1/6, 1/2, 1/3]:
     * -(0.25 log(1/6) + 0.75 log(1/2)) = 0.9678002527269729. Through a
     * sigmoid output (y is what counts). */
    float ts[3] = {0.25f, 0.75f, 0.0f}, zs[3];
    for (int j = 0; j < 3; j++)
        zs[j] = logf(p[j] / (1.0f - p[j]));
    CHECK(near("cce sigmoid soft",
               loss_compute(probs, ACT_SIGMOID, zs, p, 1, 3, NULL, ts, NULL),
               0.9678002527269729, 1e-5, 0));

    /* Softmax output and from_logits: -sum t (z - logsumexp z).
     * Row 0: z = [1, -0.5, 2], t = [0, 1, 0]; row 1: z = [0.3, 0.3, -1.2],
     * t = [1, 0, 0]. lse0 = 2.3490134, lse1 = 1.1177... ; mean
     * ((lse0 + 0.5) + (lse1 - 0.3)) / 2 = 1.8352276083472043 */
    float z[6] = {1.0f, -0.5f, 2.0f, 0.3f, 0.3f, -1.2f}, y[6];
    float tz[6] = {0, 1, 0, 1, 0, 0};
    softmax_row(z, y, 3);
    softmax_row(z + 3, y + 3, 3);
    CHECK(near("cce softmax",
               loss_compute(probs, ACT_SOFTMAX, z, y, 2, 3, NULL, tz, NULL),
               1.8352276083472043, REL, 0));
    CHECK(near("cce logits",
               loss_compute(logits, ACT_LINEAR, z, z, 2, 3, NULL, tz, NULL),
               1.8352276083472043, REL, 0));
}

static void test_binary(void)
{
    /* From probabilities, linear output (Keras backend.binary_crossentropy):
     * q = clip(p, 1e-7, 1 - 1e-7);
     * bce = -(t log(q + 1e-7) + (1 - t) log(1 - q + 1e-7)), mean over the
     * row, then over the batch.
     * Row 0: p = [0.3, 0.0, 0.95], t = [0, 0, 1]:
     *   -log(0.7 + 1e-7) = 0.3566748, -log(1 - 1e-7 + 1e-7) = 0,
     *   -log(0.95 + 1e-7) = 0.0512932 ; mean 0.1359893
     * Row 1: p = [1.0, 0.5, 0.1], t = [1, 1, 0]:
     *   -log(1 - 1e-7 + 1e-7) = 0, -log(0.5 + 1e-7) = 0.6931470,
     *   -log(0.9 + 1e-7) = 0.1053604 ; mean 0.2661691
     * Batch mean: 0.2010792292187808 (python3, double). */
    float p[6] = {0.3f, 0.0f, 0.95f, 1.0f, 0.5f, 0.1f};
    float t[6] = {0, 0, 1, 1, 1, 0};
    loss probs = {LOSS_BINARY_CROSSENTROPY, false};
    loss logits = {LOSS_BINARY_CROSSENTROPY, true};
    float g[6];
    double got = loss_compute(probs, ACT_LINEAR, p, p, 2, 3, NULL, t, g);
    CHECK(near("bce probs", got, 0.2010792292187808, 1e-5, 0));
    CHECK(isfinite(got));
    /* dL/dp = (-t / (q + 1e-7) + (1 - t) / (1 - q + 1e-7)) / (rows * cols)
     * where the clip is inactive, 0 where it is active (p = 0.0, p = 1.0):
     *   g0 = 1 / 0.7000001 / 6 = 0.23809521    g2 = -1 / 0.9500001 / 6
     *   g4 = -1 / 0.5000001 / 6                g5 = 1 / 0.9000001 / 6 */
    CHECK(near("bce g0", g[0], 0.2380952081363742, 1e-5, 0));
    CHECK(g[1] == 0.0f && g[3] == 0.0f);
    CHECK(near("bce g2", g[2], -0.17543858022547318, 1e-5, 0));
    CHECK(near("bce g4", g[4], -0.33333326666668, 1e-5, 0));
    CHECK(near("bce g5", g[5], 0.18518516491566397, 1e-5, 0));

    /* Sigmoid output (Keras uses the logits) and from_logits:
     * max(z, 0) - z t + log(1 + exp(-|z|)), mean over row then batch.
     * z = [[2, -1, 0.5], [-3, 0, 4]], t = [[1, 0, 0.25], [0, 1, 1]]
     * = (0.126928 + 0.313262 + 0.849077) / 3 ,
     *   (0.048587 + 0.693147 + 0.018150) / 3 ; mean 0.34152519046546653 */
    float z[6] = {2.0f, -1.0f, 0.5f, -3.0f, 0.0f, 4.0f}, y[6];
    float tz[6] = {1, 0, 0.25f, 0, 1, 1};
    for (int i = 0; i < 6; i++)
        y[i] = 1.0f / (1.0f + expf(-z[i]));
    CHECK(near("bce sigmoid",
               loss_compute(probs, ACT_SIGMOID, z, y, 2, 3, NULL, tz, NULL),
               0.34152519046546653, REL, 0));
    CHECK(near("bce logits",
               loss_compute(logits, ACT_LINEAR, z, z, 2, 3, NULL, tz, NULL),
               0.34152519046546653, REL, 0));
    /* A saturated sigmoid from the logits: z = 40, t = 0 -> 40 exactly
     * (the clipped probability path would give -log(1e-7) = 16.1). */
    float zb = 40.0f, yb = 1.0f, tb = 0.0f;
    CHECK(near("bce sigmoid saturated",
               loss_compute(probs, ACT_SIGMOID, &zb, &yb, 1, 1, NULL, &tb, NULL),
               40.0, REL, 0));
}

static void test_mse(void)
{
    /* y = [[0.5, -1, 2], [0, 0.25, 1]], t = [[1, -1, 0], [0.5, 0.25, -1]]
     * row means (0.25 + 0 + 4) / 3 and (0.25 + 0 + 4) / 3; mean 1.4166667 */
    float y[6] = {0.5f, -1.0f, 2.0f, 0.0f, 0.25f, 1.0f};
    float t[6] = {1.0f, -1.0f, 0.0f, 0.5f, 0.25f, -1.0f};
    float g[6];
    loss l = {LOSS_MSE, false};
    CHECK(near("mse", loss_compute(l, ACT_LINEAR, y, y, 2, 3, NULL, t, g),
               1.4166666666666667, REL, 0));
    /* dL/dy = 2 (y - t) / (rows * cols) = (y - t) / 3 */
    CHECK(near("mse g0", g[0], -0.5 / 3, 1e-6, 0));
    CHECK(near("mse g2", g[2], 2.0 / 3, 1e-6, 0));
    CHECK(near("mse g5", g[5], 2.0 / 3, 1e-6, 0));
}

/* ---- optimizers ------------------------------------------------------ */

/* Five parameters, two steps with given gradients. The tiny gradients
 * (1e-6, 1e-4) make epsilon's place visible; the zero gradient must not
 * give NaN. References: python3 in double from the float32 gradients. */
static const float W0[5] = {0.5f, -0.25f, 1.0f, 0.0f, 2.0f};
static const float G1[5] = {0.1f, -2.0f, 1e-6f, 0.0f, 1e-4f};
static const float G2[5] = {-0.3f, 1.5f, 2e-6f, 0.5f, 1e-4f};

static void run_opt(const char *name, optimizer_spec spec,
                    const double want1[5], const double want2[5])
{
    char err[EMBER_ERR_SIZE] = "";
    optimizer o;
    float w[5];
    memcpy(w, W0, sizeof w);
    int rc = optimizer_init(&o, spec, 5, err);
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "  %s: %s\n", name, err);
        return;
    }
    optimizer_update(&o, w, G1);
    CHECK(o.iterations == 1);
    for (int i = 0; i < 5; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s step 1 w[%d]", name, i);
        CHECK(near(what, w[i], want1[i], REL, 1e-9));
    }
    optimizer_update(&o, w, G2);
    CHECK(o.iterations == 2);
    for (int i = 0; i < 5; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s step 2 w[%d]", name, i);
        CHECK(near(what, w[i], want2[i], REL, 1e-9));
    }
    optimizer_free(&o);
}

static void test_optimizers(void)
{
    /* Adam, Keras defaults, lr 1e-3, b1 0.9, b2 0.999, eps 1e-7:
     * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
     * w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).
     * t = 1, g = 0.1: m = 0.01, v = 1e-5, a = 1e-3 * 0.0316228 / 0.1;
     *   w = 0.5 - a * 0.01 / (0.00316228 + 1e-7) = 0.49900003162
     * g = 1e-6: m = 1e-7, sqrt(v) = 3.162e-8, so eps dominates:
     *   w = 1 - 3.16228e-4 * 1e-7 / 1.3162e-7 = 0.99975975
     *   (textbook Adam with eps after bias correction: 0.99909). */
    optimizer_spec adam = optimizer_defaults(OPT_ADAM);
    CHECK(adam.learning_rate == 1e-3f && adam.beta_1 == 0.9f &&
          adam.beta_2 == 0.999f && adam.epsilon == 1e-7f);
    const double adam1[5] = {0.49900003162177614, -0.24900000158113633,
                             0.9997597469271088, 0.0, 1.9990306534307825};
    const double adam2[5] = {0.4994942165194636, -0.24891067668675523,
                             0.9993599788638302, -0.0007441321172622408,
                             1.998052530397195};
    run_opt("adam", adam, adam1, adam2);

    /* SGD, lr 0.01: plain w -= lr g. */
    optimizer_spec sgd = optimizer_defaults(OPT_SGD);
    CHECK(sgd.learning_rate == 0.01f && sgd.momentum == 0.0f && !sgd.nesterov);
    const double sgd1[5] = {0.49899999998509886, -0.23, 0.9999999900000001,
                            0.0, 1.9999990000000252};
    const double sgd2[5] = {0.5020000001043081, -0.245, 0.9999999700000001,
                            -0.005, 1.9999980000000503};
    run_opt("sgd", sgd, sgd1, sgd2);

    /* SGD momentum 0.9 (Keras): v = 0.9 v - lr g; w += v.
     * Step 2, w[1]: v1 = 0.02, v2 = 0.018 - 0.015 = 0.003; -0.23 + 0.003 */
    sgd.momentum = 0.9f;
    const double mom1[5] = {0.49899999998509886, -0.23, 0.9999999900000001,
                            0.0, 1.9999990000000252};
    const double mom2[5] = {0.5011000000908971, -0.227, 0.9999999610000001,
                            -0.005, 1.9999971000000731};
    run_opt("sgd momentum", sgd, mom1, mom2);

    /* Nesterov: v = 0.9 v - lr g; w += 0.9 v - lr g (the new v).
     * Step 1, w[1]: v = 0.02; w = -0.25 + 0.018 + 0.02 = -0.212
     * Step 2, w[1]: v = 0.003; w = -0.212 + 0.0027 - 0.015 = -0.2243 */
    sgd.nesterov = true;
    const double nes1[5] = {0.4980999999716878, -0.212, 0.9999999810000001,
                            0.0, 1.999998100000048};
    const double nes2[5] = {0.5029900001861155, -0.2243, 0.9999999349000002,
                            -0.009500000000000001, 1.9999953900001164};
    run_opt("sgd nesterov", sgd, nes1, nes2);

    /* RMSprop, lr 1e-3, rho 0.9, eps 1e-7 (Keras): v = rho v + (1 - rho) g^2;
     * w -= lr g / sqrt(v + eps).
     * g = 0.1: v = 1e-3, w = 0.5 - 1e-4 / sqrt(1.001e-3) = 0.49683788
     * g = 1e-4: v = 1e-9, w = 2 - 1e-7 / sqrt(1.01e-7) = 1.99968534
     *   (with sqrt(v) + eps it would be 1.99685). */
    optimizer_spec rms = optimizer_defaults(OPT_RMSPROP);
    CHECK(rms.learning_rate == 1e-3f && rms.rho == 0.9f && rms.epsilon == 1e-7f);
    const double rms1[5] = {0.49683788044185234, -0.24683772273511626,
                            0.999996837723929, 0.0, 1.9996853416201064};
    const double rms2[5] = {0.49985297866670814, -0.2487988839188775,
                            0.9999905131841197, -0.0031622713356320334,
                            1.9993720758830342};
    run_opt("rmsprop", rms, rms1, rms2);
}

/* ---- glorot_uniform -------------------------------------------------- */

static int build_mlp(model *m, uint64_t seed, char *err)
{
    model_init(m, seed);
    if (model_add_dense(m, 512, ACT_RELU, err) ||
        model_add_dense(m, 10, ACT_SOFTMAX, err) ||
        model_build(m, 1, (int[]){784}, err))
        return -1;
    return 0;
}

static void test_glorot(void)
{
    char err[EMBER_ERR_SIZE] = "";
    model a, b, c;
    int ra = build_mlp(&a, 7, err);
    CHECK(ra == 0);
    int rb = build_mlp(&b, 7, err);
    int rc = build_mlp(&c, 8, err);
    CHECK(rb == 0 && rc == 0);
    if (ra || rb || rc) {
        fprintf(stderr, "  build: %s\n", err);
        return;
    }
    CHECK(a.n_params == (size_t)784 * 512 + 512 + 512 * 10 + 10);
    CHECK(a.layers[0].in == 784 && a.layers[0].out == 512);
    CHECK(a.layers[1].in == 512 && a.layers[1].out == 10);

    /* l = sqrt(6 / (fan_in + fan_out)). Layer 0: sqrt(6 / 1296) =
     * 0.068041; U(-l, l) has mean 0 and variance l^2 / 3 = 1/648 =
     * 0.0015432. N = 401408 draws: the sample mean's sd is
     * sqrt(l^2/3 / N) = 6.2e-5 (bound 3.5e-4, 5.6 sd); the sample
     * variance's relative sd is sqrt(0.8 / N) = 0.14% (bound 1%, 7 sd).
     * The largest |w| of N draws is within l (1 - 1e-4) almost surely. */
    for (int k = 0; k < 2; k++) {
        const layer *L = &a.layers[k];
        /* The limit itself is rounded to float32 (so is Keras's): allow
         * it one part in a million. */
        double lim = sqrt(6.0 / (L->in + L->out)) * (1 + 1e-6);
        size_t n = (size_t)L->in * L->out;
        double sum = 0, sq = 0, mx = 0;
        bool inside = true;
        for (size_t i = 0; i < n; i++) {
            double w = L->w[i];
            inside &= (w >= -lim && w <= lim);
            sum += w;
            sq += w * w;
            if (fabs(w) > mx)
                mx = fabs(w);
        }
        CHECK(inside);
        /* A draw near the limit: 5120 draws for layer 1, P(max < 0.99 l)
         * = 0.99^5120 ~ 1e-22. */
        CHECK(mx > lim * (k == 0 ? 0.9999 : 0.99));
        if (k == 0) {
            double mean = sum / n, var = sq / n - mean * mean;
            CHECK(near("glorot mean", mean, 0.0, 0, 3.5e-4));
            CHECK(near("glorot variance", var, lim * lim / 3, 0.01, 0));
        }
        bool zero = true;
        for (int j = 0; j < L->out; j++)
            zero &= (L->b[j] == 0.0f);
        CHECK(zero);
    }
    CHECK(memcmp(a.params, b.params, a.n_params * sizeof(float)) == 0);
    CHECK(memcmp(a.params, c.params, a.n_params * sizeof(float)) != 0);
    /* Not merely shifted: seeds 7 and 8 share few leading weights. */
    int same = 0;
    for (int i = 0; i < 1000; i++)
        same += (a.layers[0].w[i] == c.layers[0].w[i]);
    CHECK(same < 10);

    /* model_seed before build gives the same weights as that seed at init. */
    model d;
    model_init(&d, 123);
    model_seed(&d, 7);
    if (model_add_dense(&d, 512, ACT_RELU, err) == 0 &&
        model_add_dense(&d, 10, ACT_SOFTMAX, err) == 0 &&
        model_build(&d, 1, (int[]){784}, err) == 0)
        CHECK(memcmp(a.params, d.params, a.n_params * sizeof(float)) == 0);
    else
        CHECK(!"model_seed build failed");
    model_free(&a);
    model_free(&b);
    model_free(&c);
    model_free(&d);
}

/* ---- accuracy and argmax --------------------------------------------- */

static void test_argmax_accuracy(void)
{
    CHECK(argmax((float[]){0.1f, 0.7f, 0.7f, 0.2f}, 4) == 1);   /* first tie */
    CHECK(argmax((float[]){0.5f, 0.5f, 0.5f}, 3) == 0);
    CHECK(argmax((float[]){-3.0f, -1.0f, -2.0f}, 3) == 1);      /* negatives */
    CHECK(argmax((float[]){-1.0f}, 1) == 0);
    CHECK(argmax((float[]){0.0f, 0.0f, 0.0f, 1e-30f}, 4) == 3);

    /* Sparse: argmax(y) == label. Rows: tie [0.3, 0.3, 0.1] -> 0;
     * [0.1, 0.2, 0.7] -> 2; [0.9, 0.05, 0.05] -> 0. */
    float y[9] = {0.3f, 0.3f, 0.1f, 0.1f, 0.2f, 0.7f, 0.9f, 0.05f, 0.05f};
    loss sparse = {LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false};
    CHECK(accuracy_sum(sparse, y, 3, 3, (int32_t[]){0, 2, 0}, NULL) == 3.0);
    CHECK(accuracy_sum(sparse, y, 3, 3, (int32_t[]){1, 2, 1}, NULL) == 1.0);
    CHECK(accuracy_sum(sparse, y, 2, 3, (int32_t[]){1, 1, 0}, NULL) == 0.0);

    /* Categorical and mse: argmax(y) == argmax(t) (tie in t: first). */
    float t[9] = {0, 1, 0, 0, 0, 1, 0.5f, 0.5f, 0};
    loss cce = {LOSS_CATEGORICAL_CROSSENTROPY, false};
    loss mse = {LOSS_MSE, false};
    CHECK(accuracy_sum(cce, y, 3, 3, NULL, t) == 2.0);
    CHECK(accuracy_sum(mse, y, 3, 3, NULL, t) == 2.0);

    /* Binary: share of outputs on the right side of 0.5 per row, summed
     * over rows. Keras binary_accuracy: y > 0.5 counts as 1, so 0.5 is 0.
     * Row 0: y [0.5, 0.7], t [0, 1] -> 2/2; row 1: y [0.3, 0.2], t [1, 0]
     * -> 1/2; row 2: y [0.9, 0.1], t [1, 1] -> 1/2. Sum 2.0 (with y >= 0.5
     * counting as 1 it would be 1.5). */
    float yb[6] = {0.5f, 0.7f, 0.3f, 0.2f, 0.9f, 0.1f};
    float tb[6] = {0, 1, 1, 0, 1, 1};
    loss bce = {LOSS_BINARY_CROSSENTROPY, false};
    CHECK(near("binary accuracy", accuracy_sum(bce, yb, 3, 2, NULL, tb), 2.0, 0, 1e-12));
}

int main(void)
{
    test_sparse_clip_renormalise();
    test_sparse_softmax_and_logits();
    test_categorical();
    test_binary();
    test_mse();
    test_optimizers();
    test_glorot();
    test_argmax_accuracy();
    return test_report();
}
