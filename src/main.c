/* main.c: ember's command line.
 *
 * Until the Lua scripting layer lands, ember is a small driver over the C
 * core: it trains a Flatten-Dense-Dense-Dense model (by default the forum
 * post's 512-1024-30 sigmoid model) on a named dataset with Adam and sparse
 * categorical cross-entropy, printing Keras-style progress, the test loss
 * and accuracy, and one test sample's output vector by class.
 *
 * State for the run lives in one struct (run); Ctrl-C sets a flag that the
 * training observer reads, so training stops between two batches with the
 * model consistent, and the test results are still printed. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/gemm.h"
#include "core/model.h"
#include "core/train.h"
#include "data/dataset.h"
#include "term/progress.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.0.0"
#endif

typedef struct run {
    const char *data;        /* dataset name */
    int    hidden[2];        /* units of the two hidden relu layers */
    int    units;            /* output units */
    int    activation;       /* of the output layer */
    int    epochs;
    int    batch_size;
    long   train_limit;      /* first N training samples; 0: all */
    long   test_limit;
    unsigned long long seed;
    int    threads;
    long   sample;           /* 1-based test sample to show; 0: none */
    int    verbose;          /* 1: progress bar on a terminal, 2: a line per epoch */

    /* While training. */
    double epoch_start;
    double last_draw;
    int    epochs_total;
} run;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ember [options]\n"
        "\n"
        "Trains Flatten -> Dense(512, relu) -> Dense(1024, relu) -> Dense(UNITS, ACTIVATION)\n"
        "with Adam and sparse categorical cross-entropy, as the forum post's Keras model,\n"
        "then prints the test loss and accuracy and one test sample's outputs by class.\n"
        "\n"
        "  --data NAME         dataset: fashion-mnist (default) or mnist\n"
        "  --units N           output units (default 30)\n"
        "  --activation NAME   output activation: relu, sigmoid, softmax, tanh, linear\n"
        "                      (default sigmoid)\n"
        "  --hidden A,B        units of the two hidden relu layers (default 512,1024)\n"
        "  --epochs N          epochs (default 5)\n"
        "  --batch N           batch size (default 32)\n"
        "  --train N           train on the first N training samples (default all)\n"
        "  --test N            evaluate on the first N test samples (default all)\n"
        "  --sample N          show test sample N's outputs; 1-based, so 61 is Keras's\n"
        "                      x_test[60] (default 61; 0 for none)\n"
        "  --seed N            seed for weights and shuffling (default 42)\n"
        "  --threads N         threads for matrix products (default: one per core)\n"
        "  --verbose N         1: progress bar (default), 2: one line per epoch, 0: quiet\n"
        "  --version           print the version\n"
        "  --help              this text\n"
        "\n"
        "Datasets are looked for in $EMBER_DATA/NAME, /usr/share/datasets/NAME and ./data/NAME.\n"
        "Ctrl-C stops training at the next batch boundary; the test results are still shown.\n");
}

/* Parses a whole decimal integer in [lo, hi] or says which option was wrong. */
static int parse_long(const char *opt, const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "ember: %s needs an integer from %ld to %ld (got %s)\n", opt, lo, hi, text ? text : "nothing");
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_args(run *r, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--version") == 0) {
            printf("ember %s\n", EMBER_VERSION);
            exit(0);
        } else if (strcmp(a, "--data") == 0 && v) {
            r->data = v;
        } else if (strcmp(a, "--activation") == 0 && v) {
            r->activation = activation_from_name(v);
            if (r->activation < 0) {
                fprintf(stderr, "ember: activation \"%s\" unknown (%s)\n", v, activation_names());
                return -1;
            }
        } else if (strcmp(a, "--hidden") == 0 && v) {
            char *end;
            long h1 = strtol(v, &end, 10), h2 = *end == ',' ? strtol(end + 1, &end, 10) : -1;
            if (*end || h1 < 1 || h2 < 1 || h1 > 100000 || h2 > 100000) {
                fprintf(stderr, "ember: --hidden needs two positive unit counts such as 512,1024 (got %s)\n", v);
                return -1;
            }
            r->hidden[0] = (int)h1;
            r->hidden[1] = (int)h2;
        } else if (strcmp(a, "--units") == 0) {
            if (parse_long(a, v, 1, 100000, &n) < 0) return -1;
            r->units = (int)n;
        } else if (strcmp(a, "--epochs") == 0) {
            if (parse_long(a, v, 0, 100000, &n) < 0) return -1;
            r->epochs = (int)n;
        } else if (strcmp(a, "--batch") == 0) {
            if (parse_long(a, v, 1, 1 << 20, &n) < 0) return -1;
            r->batch_size = (int)n;
        } else if (strcmp(a, "--train") == 0) {
            if (parse_long(a, v, 0, LONG_MAX, &r->train_limit) < 0) return -1;
        } else if (strcmp(a, "--test") == 0) {
            if (parse_long(a, v, 0, LONG_MAX, &r->test_limit) < 0) return -1;
        } else if (strcmp(a, "--sample") == 0) {
            if (parse_long(a, v, 0, LONG_MAX, &r->sample) < 0) return -1;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_long(a, v, 0, LONG_MAX, &n) < 0) return -1;
            r->seed = (unsigned long long)n;
        } else if (strcmp(a, "--threads") == 0) {
            if (parse_long(a, v, 1, 256, &n) < 0) return -1;
            r->threads = (int)n;
        } else if (strcmp(a, "--verbose") == 0) {
            if (parse_long(a, v, 0, 2, &n) < 0) return -1;
            r->verbose = (int)n;
        } else {
            fprintf(stderr, "ember: %s: %s (see ember --help)\n", a,
                    a[0] == '-' && a[1] == '-' && !v ? "needs a value or is unknown" : "unknown option");
            return -1;
        }
        if (strcmp(a, "--help") && strcmp(a, "--version"))
            i++;   /* every other option takes a value */
    }
    return 0;
}

/* The progress line on a terminal; a line per epoch otherwise. */
static int observe(void *data, model *m, const train_event *ev)
{
    (void)m;
    run *r = data;
    double t = now();
    if (ev->batch == 1)
        r->epoch_start = t;
    bool tty = r->verbose == 1 && isatty(STDOUT_FILENO);
    if (r->verbose > 0 && (ev->epoch_end || (tty && t - r->last_draw > 0.1))) {
        progress_metric metrics[] = {{"loss", ev->epoch_logs.loss}, {"accuracy", ev->epoch_logs.accuracy}};
        char line[256];
        term_progress(line, sizeof line, ev->batch, ev->batches_per_epoch, t - r->epoch_start,
                      ev->epoch_end, tty ? 30 : 0, metrics, 2);
        printf(tty ? "\r%s\033[K%s" : "%s%s", line, ev->epoch_end ? "\n" : "");
        fflush(stdout);
        r->last_draw = t;
    }
    if (ev->epoch_end && ev->epoch + 1 < r->epochs_total && r->verbose > 0)
        printf("Epoch %lld/%d\n", (long long)ev->epoch + 2, r->epochs_total);
    return interrupted != 0;
}

static int slice(const dataset *ds, long limit, dataset *out, char *err)
{
    size_t n = limit > 0 && (size_t)limit < ds->count ? (size_t)limit : ds->count;
    return dataset_slice(ds, 0, n, out, err);
}

static void show_sample(model *m, const dataset *test, long sample)
{
    if (sample < 1 || (size_t)sample > test->count) {
        fprintf(stderr, "ember: --sample %ld is outside the test set (1..%zu)\n", sample, test->count);
        return;
    }
    int units = model_output_units(m);
    float *x = malloc(test->features * sizeof *x), *p = malloc((size_t)units * sizeof *p);
    char err[EMBER_ERR_SIZE];
    sample_source src = dataset_source(test);
    uint32_t index = (uint32_t)(sample - 1);
    int32_t label;
    if (x && p) {
        src.gather(src.ctx, &index, 1, x, &label);
        if (model_predict(m, x, 1, p, err) == 0) {
            int best = argmax(p, units);
            double sum = 0.0;
            for (int j = 0; j < units; j++)
                sum += p[j];
            printf("\ntest sample %ld (Keras's x_test[%ld]): outputs by unit; share = output / sum of outputs\n",
                   sample, sample - 1);
            for (int j = 0; j < units; j++) {
                const char *name = dataset_class_name(test, j);
                printf("  %3d %-12s %.6f  %5.1f%%%s\n", j, name ? name : "(no such class)",
                       (double)p[j], sum > 0 ? 100.0 * p[j] / sum : 0.0,
                       j == best ? "  <- predicted" : "");
            }
            const char *pn = dataset_class_name(test, best), *an = dataset_class_name(test, label);
            printf("predicted class: %d %s, actual class: %d %s\n", best, pn ? pn : "(no such class)",
                   (int)label, an ? an : "");
        } else {
            fprintf(stderr, "ember: %s\n", err);
        }
    }
    free(x);
    free(p);
}

int main(int argc, char **argv)
{
    run r = {.data = "fashion-mnist", .hidden = {512, 1024}, .units = 30,
             .activation = ACT_SIGMOID, .epochs = 5, .batch_size = 32,
             .seed = 42, .sample = 61, .verbose = 1};
    if (parse_args(&r, argc, argv) < 0)
        return 2;
    gemm_set_threads(r.threads);

    char err[EMBER_ERR_SIZE];
    dataset train_all = {0}, test_all = {0}, train = {0}, test = {0};
    model m;
    model_init(&m, r.seed);
    int status = 1;
    if (dataset_load(r.data, &train_all, &test_all, err) < 0 ||
        slice(&train_all, r.train_limit, &train, err) < 0 ||
        slice(&test_all, r.test_limit, &test, err) < 0)
        goto fail;

    if (model_add_flatten(&m, err) < 0 ||
        model_add_dense(&m, r.hidden[0], ACT_RELU, err) < 0 ||
        model_add_dense(&m, r.hidden[1], ACT_RELU, err) < 0 ||
        model_add_dense(&m, r.units, (activation)r.activation, err) < 0 ||
        model_build(&m, train.rank, train.shape, err) < 0 ||
        model_compile(&m, (loss){LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, false},
                      optimizer_defaults(OPT_ADAM), err) < 0)
        goto fail;

    printf("ember %s: %s, %zu training and %zu test samples; BLAS: %s, %d thread%s\n",
           EMBER_VERSION, r.data, train.count, test.count, gemm_backend(), gemm_threads(),
           gemm_threads() == 1 ? "" : "s");
    printf("model: flatten %dx%d -> dense %d relu -> dense %d relu -> dense %d %s; %zu parameters; adam, sparse_categorical_crossentropy\n",
           train.shape[0], train.shape[1], r.hidden[0], r.hidden[1], r.units,
           activation_name((activation)r.activation), m.n_params);

    sample_source src = dataset_source(&train);
    train_options opts = {.batch_size = r.batch_size, .observe = observe, .observer_data = &r};
    r.epochs_total = r.epochs;
    signal(SIGINT, on_sigint);
    if (r.epochs > 0 && r.verbose > 0)
        printf("Epoch 1/%d\n", r.epochs);
    double started = now();
    for (int e = 0; e < r.epochs && !interrupted; e++) {
        bool stopped;
        if (train_epoch(&m, &src, &opts, NULL, &stopped, err) < 0)
            goto fail;
    }
    double trained = now() - started;
    signal(SIGINT, SIG_DFL);
    if (interrupted)
        printf("\ninterrupted: stopped after epoch %lld batch %lld (%lld samples seen); the model is consistent\n",
               (long long)m.cursor.epoch + (m.cursor.batch > 0), (long long)m.cursor.batch,
               (long long)m.cursor.seen);
    if (m.cursor.epoch > 0)
        printf("training: %.2f s, %.2f s per epoch\n", trained, trained / (double)m.cursor.epoch);

    train_logs logs;
    sample_source test_src = dataset_source(&test);
    double t0 = now();
    if (model_evaluate(&m, &test_src, 256, &logs, err) < 0)
        goto fail;
    printf("test loss: %.4f - test accuracy: %.4f (%zu samples, %.2f s)\n",
           logs.loss, logs.accuracy, test.count, now() - t0);
    if (r.sample > 0)
        show_sample(&m, &test_all, r.sample);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "ember: %s\n", err);
done:
    model_free(&m);
    dataset_free(&train);
    dataset_free(&test);
    dataset_free(&train_all);
    dataset_free(&test_all);
    return status;
}
