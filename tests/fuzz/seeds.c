/* seeds.c: writes the fuzzers' seed corpora: small valid files of every
 * shape the readers accept, so fuzzing starts from the inside of the
 * formats instead of guessing magic numbers.
 *
 *     seeds DIR    writes DIR/idx/ and DIR/checkpoint/
 *
 * IDX: labels and images (ranks 2 to 4), raw and gzip'd, in the form
 * fuzz_idx takes (a mode byte first: see fuzz_idx.c). Checkpoints:
 * made by the core itself (checkpoint_encode) from tiny models: one per
 * optimizer, built and compiled or not, with a cursor in the middle of an
 * epoch (sample order present) and a history. Run at fuzzing time, so the
 * corpus always matches the current format; nothing is committed. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/model.h"
#include "core/train.h"
#include "io/checkpoint.h"

static const char *out_dir;

static void fail(const char *what, const char *why)
{
    fprintf(stderr, "seeds: %s: %s\n", what, why);
    exit(1);
}

static void make_dir(const char *sub)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, sub);
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        fail(path, strerror(errno));
}

static void write_file(const char *name, const void *buf, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0)
        fail(path, strerror(errno));
}

/* An IDX uint8 file (magic 0 0 8 rank, big-endian dims, bytes i*37) as
 * fuzz_idx inputs: a mode byte, then the file; see fuzz_idx.c. Written
 * raw (mode 0) and gzip'd (1), and, unless big, gzip'd and cut in half
 * (2) and gzip'd with a byte flipped (3). */
static void write_idx(const char *name, int rank, const uint32_t *dims, int big)
{
    size_t count = 1;
    for (int i = 0; i < rank; i++)
        count *= dims[i];
    unsigned char *buf = malloc(4 + 4 + 4 * (size_t)rank + count);
    if (!buf)
        fail(name, "out of memory");
    size_t n = 4;   /* room for the prefix */
    buf[n++] = 0, buf[n++] = 0, buf[n++] = 8, buf[n++] = (unsigned char)rank;
    for (int i = 0; i < rank; i++) {
        buf[n++] = (unsigned char)(dims[i] >> 24);
        buf[n++] = (unsigned char)(dims[i] >> 16);
        buf[n++] = (unsigned char)(dims[i] >> 8);
        buf[n++] = (unsigned char)dims[i];
    }
    for (size_t i = 0; i < count; i++)
        buf[n++] = (unsigned char)(i * 37);

    char file[256];
    for (int mode = 0; mode < (big ? 2 : 4); mode++) {
        size_t skip = mode < 2 ? 3 : 0;   /* the prefix is 1 or 4 bytes */
        buf[skip] = (unsigned char)mode;
        if (mode >= 2) {
            size_t at = (n - 4) / 2;   /* a point inside the stream */
            buf[1] = (unsigned char)(at >> 8), buf[2] = (unsigned char)at;
            buf[3] = 0x40;
        }
        snprintf(file, sizeof file, "idx/%s.mode%d", name, mode);
        write_file(file, buf + skip, n - skip);
    }
    free(buf);
}

/* ---- checkpoints ------------------------------------------------------- */

/* A source of 10 samples of 2x3 floats, labels 0..2. */
static void gather(const void *ctx, const uint32_t *index, size_t n, float *x, int32_t *labels)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < 6; j++)
            x[i * 6 + j] = (float)sin(index[i] * 6 + j);
        labels[i] = (int32_t)(index[i] % 3);
    }
}

static void check(int rc, const char *what, const char *err)
{
    if (rc != 0)
        fail(what, err);
}

static void save(const char *name, const model *m, int with_history)
{
    double loss[] = {1.25, 0.5, NAN}, epoch[] = {1, 2, 3};
    checkpoint_list lists[2] = {
        {.name = "loss", .integers = false, .n = 3, .values = loss},
        {.name = "epoch", .integers = true, .n = 3, .values = epoch},
    };
    checkpoint_history h = {.n = 2, .lists = lists};
    checkpoint_extras x = {.batch_size = 4, .accuracy = with_history};
    const checkpoint_history *hp = with_history ? &h : NULL;
    size_t size = checkpoint_size(m, hp);
    if (size == 0)
        fail(name, "checkpoint_size is 0");
    unsigned char *buf = malloc(size);
    if (!buf)
        fail(name, "out of memory");
    checkpoint_encode(m, &x, hp, buf);

    /* Only a file the loader takes is a useful seed. */
    checkpoint c;
    char err[EMBER_ERR_SIZE];
    check(checkpoint_parse(buf, size, name, &c, err), name, err);
    checkpoint_free(&c);

    char path[256];
    snprintf(path, sizeof path, "checkpoint/%s", name);
    write_file(path, buf, size);
    free(buf);
}

static void make_checkpoints(void)
{
    char err[EMBER_ERR_SIZE];
    sample_source src = {.count = 10, .rank = 2, .shape = {2, 3}, .max_label = 2,
                         .gather = gather};
    train_options o = {.batch_size = 4};

    /* Built, not compiled: dense(3) on 4 inputs. */
    model m;
    model_init(&m, 1);
    check(model_add_dense(&m, 3, ACT_LINEAR, err), "dense", err);
    check(model_build(&m, 1, (int[]){4}, err), "build", err);
    save("built.ckpt", &m, 0);
    model_free(&m);

    /* Each optimizer, trained into the middle of its second epoch. */
    static const struct { const char *name; optimizer_kind opt; loss_kind loss; } runs[] = {
        {"adam.ckpt", OPT_ADAM, LOSS_SPARSE_CATEGORICAL_CROSSENTROPY},
        {"sgd.ckpt", OPT_SGD, LOSS_CATEGORICAL_CROSSENTROPY},
        {"rmsprop.ckpt", OPT_RMSPROP, LOSS_MSE},
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        model_init(&m, 7 + r);
        check(model_add_flatten(&m, err), "flatten", err);
        check(model_add_dense(&m, 4, ACT_RELU, err), "dense", err);
        check(model_add_dropout(&m, 0.25f, err), "dropout", err);
        check(model_add_dense(&m, 3, r == 2 ? ACT_SIGMOID : ACT_SOFTMAX, err), "dense", err);
        check(model_build(&m, 2, (int[]){2, 3}, err), "build", err);
        optimizer_spec spec = optimizer_defaults(runs[r].opt);
        if (runs[r].opt == OPT_SGD) {
            spec.momentum = 0.9f;
            spec.nesterov = true;
        }
        check(model_compile(&m, (loss){runs[r].loss, false}, spec, err), "compile", err);
        train_logs logs;
        bool stopped;
        check(train_steps(&m, &src, &o, 4, false, &logs, &stopped, err), "train", err);
        save(runs[r].name, &m, 1);
        model_free(&m);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seeds DIR\n");
        return 2;
    }
    out_dir = argv[1];
    make_dir("");
    make_dir("idx");
    make_dir("checkpoint");

    write_idx("labels", 1, (uint32_t[]){10}, 0);
    write_idx("images", 2, (uint32_t[]){3, 5}, 0);
    write_idx("images3d", 3, (uint32_t[]){2, 6, 5}, 0);
    write_idx("images4d", 4, (uint32_t[]){2, 2, 3, 2}, 0);
    write_idx("one", 3, (uint32_t[]){1, 1, 1}, 0);
    /* Past the reader's first 64 KiB chunk, so its buffer grows. */
    write_idx("big", 3, (uint32_t[]){2, 200, 201}, 1);

    make_checkpoints();
    return 0;
}
