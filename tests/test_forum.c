/* test_forum.c: the forum post's experiment end to end, on the real
 * Fashion-MNIST.
 *
 * Flatten -> Dense(512, relu) -> Dense(1024, relu) -> Dense(units), Adam,
 * sparse categorical cross-entropy, batch 32, one epoch on the first 6,000
 * training images, evaluated on the first 2,000 test images. With 30
 * sigmoid units (more units than classes) and with 10 it must reach 75 %;
 * with 5 units the labels 5..9 cannot be named, which must be refused
 * before any weight changes. Skips (77) when the data is not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/gemm.h"
#include "core/model.h"
#include "core/train.h"
#include "data/dataset.h"
#include "testutil.h"

static dataset train, test;

static int build(model *m, int units, activation act, char *err)
{
    model_init(m, 1234);
    if (model_add_flatten(m, err) < 0 || model_add_dense(m, 512, ACT_RELU, err) < 0 ||
        model_add_dense(m, 1024, ACT_RELU, err) < 0 || model_add_dense(m, units, act, err) < 0 ||
        model_build(m, train.rank, train.shape, err) < 0)
        return -1;
    return model_compile(m, (loss){LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false},
                         optimizer_defaults(OPT_ADAM), err);
}

/* Trains one epoch and returns the test accuracy (-1 on error). */
static double one_epoch(int units, activation act, double *unused_share)
{
    char err[EMBER_ERR_SIZE];
    model m;
    double acc = -1.0;
    if (build(&m, units, act, err) < 0) {
        fprintf(stderr, "build: %s\n", err);
        model_free(&m);
        return -1.0;
    }
    sample_source tr = dataset_source(&train), te = dataset_source(&test);
    train_logs fit, eval;
    bool stopped;
    if (train_epoch(&m, &tr, &(train_options){.batch_size = 32}, &fit, &stopped, err) < 0 ||
        model_evaluate(&m, &te, 100, &eval, err) < 0) {
        fprintf(stderr, "train: %s\n", err);
    } else {
        acc = eval.accuracy;
        fprintf(stderr, "%d %s units: train loss %.4f accuracy %.4f, test loss %.4f accuracy %.4f\n",
                units, activation_name(act), fit.loss, fit.accuracy, eval.loss, eval.accuracy);
        CHECK(fit.samples == 6000 && fit.batches == 188);   /* 187 full + 1 of 16 */
        CHECK(m.cursor.epoch == 1 && m.cursor.batch == 0 && m.cursor.seen == 6000);
        /* Predictions of a unit no label names: the renormalised loss pushes
         * those outputs down, so argmax should essentially never land there. */
        float *x = malloc(test.count * test.features * sizeof *x);
        float *y = malloc(test.count * (size_t)units * sizeof *y);
        uint32_t *index = malloc(test.count * sizeof *index);
        int32_t *labels = malloc(test.count * sizeof *labels);
        for (size_t i = 0; i < test.count; i++)
            index[i] = (uint32_t)i;
        te.gather(te.ctx, index, test.count, x, labels);
        CHECK(model_predict(&m, x, test.count, y, err) == 0);
        size_t unused = 0;
        for (size_t i = 0; i < test.count; i++)
            unused += argmax(y + i * (size_t)units, units) >= 10;
        *unused_share = (double)unused / test.count;
        free(x);
        free(y);
        free(index);
        free(labels);
    }
    model_free(&m);
    return acc;
}

int main(void)
{
    char err[EMBER_ERR_SIZE];
    dataset train_all = {0}, test_all = {0};
    if (dataset_load("fashion-mnist", &train_all, &test_all, err) < 0) {
        fprintf(stderr, "skipped: %s\n", err);
        return 77;
    }
    gemm_set_threads(0);
    CHECK(dataset_slice(&train_all, 0, 6000, &train, err) == 0);
    CHECK(dataset_slice(&test_all, 0, 2000, &test, err) == 0);

    double unused30 = 1.0, unused10 = 1.0;
    double acc30 = one_epoch(30, ACT_SIGMOID, &unused30);
    CHECK(acc30 >= 0.75);
    CHECK(unused30 < 0.01);
    double acc10 = one_epoch(10, ACT_SIGMOID, &unused10);
    CHECK(acc10 >= 0.75);
    CHECK(unused10 == 0.0);
    double soft_unused;
    CHECK(one_epoch(10, ACT_SOFTMAX, &soft_unused) >= 0.75);

    /* Five units cannot name labels 5..9: refused before any change. */
    model m;
    CHECK(build(&m, 5, ACT_SIGMOID, err) == 0);
    float *before = malloc(m.n_params * sizeof *before);
    memcpy(before, m.params, m.n_params * sizeof *before);
    sample_source tr = dataset_source(&train);
    bool stopped;
    CHECK(train_epoch(&m, &tr, NULL, NULL, &stopped, err) < 0);
    CHECK_STR_CONTAINS(err, "labels go up to 9");
    CHECK_STR_CONTAINS(err, "at least 10 output units");
    CHECK_STR_CONTAINS(err, "the last layer has 5");
    CHECK(memcmp(before, m.params, m.n_params * sizeof *before) == 0);
    CHECK(m.cursor.seen == 0 && m.opt.iterations == 0);
    free(before);
    model_free(&m);

    dataset_free(&train_all);
    dataset_free(&test_all);
    return test_report();
}
