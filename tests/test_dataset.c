/* test_dataset.c: datasets by path and by name, slices, and the source.
 *
 * Everything runs on small datasets written into a fresh mkdtemp
 * directory; named lookups point $EMBER_DATA there (or at a directory
 * that does not exist) and run from a temporary working directory, so the
 * test does not depend on what is installed under /usr/share/datasets. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "core/error.h"
#include "data/dataset.h"
#include "testutil.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char test_root[64];

/* Six 2x3 images; pixel values include 0, 51 and 255. */
enum { SAMPLES = 6, ROWS = 2, COLS = 3, FEATURES = ROWS * COLS };

static uint8_t test_pixel(size_t sample, size_t j)
{
    static const uint8_t values[] = {0, 51, 255, 1, 128, 254, 17};
    return values[(sample * FEATURES + j) % sizeof values];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void write_file(const char *path, const uint8_t *bytes, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CHECK(f != NULL);
        if (!f)
            return;
        CHECK(gzwrite(f, bytes, (unsigned)n) == (int)n);
        CHECK(gzclose(f) == Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (!f)
            return;
        CHECK(fwrite(bytes, 1, n, f) == n);
        CHECK(fclose(f) == 0);
    }
}

static void write_images(const char *path, size_t count, int gz)
{
    uint8_t buf[16 + 64 * FEATURES];
    put_be32(buf, 0x00000803u);
    put_be32(buf + 4, (uint32_t)count);
    put_be32(buf + 8, ROWS);
    put_be32(buf + 12, COLS);
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < FEATURES; j++)
            buf[16 + i * FEATURES + j] = test_pixel(i, j);
    write_file(path, buf, 16 + count * FEATURES, gz);
}

/* Labels are (i * 7 + first) % modulus. */
static void write_labels(const char *path, size_t count, int first, int modulus, int gz)
{
    uint8_t buf[8 + 64];
    put_be32(buf, 0x00000801u);
    put_be32(buf + 4, (uint32_t)count);
    for (size_t i = 0; i < count; i++)
        buf[8 + i] = (uint8_t)((i * 7 + (size_t)first) % (size_t)modulus);
    write_file(path, buf, 8 + count, gz);
}

static const char *join(const char *dir, const char *name)
{
    static char path[4][512];
    static int next;
    next = (next + 1) % 4;
    snprintf(path[next], sizeof path[next], "%s/%s", dir, name);
    return path[next];
}

/* A named-dataset directory: train .gz (with a raw decoy that must lose),
 * test raw. */
static void write_named(const char *where, size_t train_count, int modulus)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", where);   /* join reuses its buffers */
    CHECK(mkdir(dir, 0700) == 0);
    write_images(join(dir, "train-images-idx3-ubyte.gz"), train_count, 1);
    write_images(join(dir, "train-images-idx3-ubyte"), train_count - 1, 0);
    write_labels(join(dir, "train-labels-idx1-ubyte.gz"), train_count, 0, modulus, 1);
    write_images(join(dir, "t10k-images-idx3-ubyte"), 3, 0);
    write_labels(join(dir, "t10k-labels-idx1-ubyte"), 3, 1, modulus, 0);
}

static void test_load_files(void)
{
    char err[EMBER_ERR_SIZE] = "";
    dataset ds;
    write_images(join(test_root, "imgs.idx"), SAMPLES, 0);
    write_labels(join(test_root, "labs.idx.gz"), SAMPLES, 3, 6, 1);
    int rc = dataset_load_files(&ds, join(test_root, "imgs.idx"),
                                join(test_root, "labs.idx.gz"), NULL, err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    CHECK(strcmp(ds.name, "imgs.idx") == 0);
    CHECK(ds.count == SAMPLES && ds.rank == 2);
    CHECK(ds.shape[0] == ROWS && ds.shape[1] == COLS && ds.features == FEATURES);
    CHECK(ds.max_label == 5 && ds.classes == 6);
    CHECK(ds.class_names == NULL && dataset_class_name(&ds, 0) == NULL);
    CHECK(ds.owner);
    for (size_t i = 0; i < SAMPLES; i++) {
        CHECK(ds.labels[i] == (i * 7 + 3) % 6);
        CHECK(ds.pixels[i * FEATURES + 4] == test_pixel(i, 4));
    }

    /* The source: pixel p becomes exactly (float)(p / 255.0). */
    sample_source src = dataset_source(&ds);
    CHECK(src.count == SAMPLES && src.rank == 2 && src.max_label == 5);
    CHECK(source_features(&src) == FEATURES && src.ctx == &ds);
    uint32_t index[3] = {5, 0, 3};
    float x[3 * FEATURES];
    int32_t labels[3];
    src.gather(src.ctx, index, 3, x, labels);
    int exact = 0;
    for (size_t i = 0; i < 3; i++) {
        CHECK(labels[i] == ds.labels[index[i]]);
        for (size_t j = 0; j < FEATURES; j++)
            exact += x[i * FEATURES + j] == (float)(test_pixel(index[i], j) / 255.0);
    }
    CHECK(exact == 3 * FEATURES);
    CHECK(x[FEATURES + 0] == 0.0f);                  /* sample 0 is 0, 51, 255, ... */
    CHECK(x[FEATURES + 1] == (float)(51 / 255.0));
    CHECK(x[FEATURES + 2] == 1.0f);
    src.gather(src.ctx, index, 1, x, NULL);  /* labels are optional */

    /* Slices: views with their own max_label; freeing one frees nothing. */
    dataset part;
    CHECK(dataset_slice(&ds, 2, 3, &part, err) == 0);
    CHECK(part.count == 3 && !part.owner && part.features == FEATURES);
    CHECK(part.pixels == ds.pixels + 2 * FEATURES && part.labels == ds.labels + 2);
    CHECK(part.max_label == 5);   /* labels 5, 0, 1 */
    CHECK(dataset_slice(&ds, 3, 2, &part, err) == 0);
    CHECK(part.max_label == 1);   /* labels 0, 1 */
    sample_source sub = dataset_source(&part);
    uint32_t zero = 0;
    sub.gather(sub.ctx, &zero, 1, x, labels);
    CHECK(labels[0] == 0 && x[0] == (float)(test_pixel(3, 0) / 255.0));
    dataset_free(&part);
    CHECK(part.pixels == NULL && ds.pixels != NULL);
    CHECK(dataset_slice(&ds, 5, 1, &part, err) == 0);
    CHECK(dataset_slice(&ds, 0, SAMPLES, &part, err) == 0);

    CHECK(dataset_slice(&ds, 6, 1, &part, err) == -1);
    CHECK_STR_CONTAINS(err, "imgs.idx: samples 6 to 6 (0-based) are out of range: it has 6 samples (0 to 5)");
    CHECK(part.count == 0 && part.pixels == NULL);
    CHECK(dataset_slice(&ds, 5, 2, &part, err) == -1);
    CHECK_STR_CONTAINS(err, "samples 5 to 6 (0-based) are out of range");
    CHECK(dataset_slice(&ds, 0, 7, &part, err) == -1);
    CHECK(dataset_slice(&ds, SIZE_MAX, 2, &part, err) == -1);
    CHECK(dataset_slice(&ds, 1, SIZE_MAX, &part, err) == -1);
    CHECK(dataset_slice(&ds, 0, 0, &part, err) == -1);
    CHECK_STR_CONTAINS(err, "a slice needs at least one sample");

    dataset_free(&ds);
    CHECK(ds.pixels == NULL && ds.count == 0);
    dataset_free(&ds);   /* safe twice: it is zeroed now */

    /* A known name brings its class names and checks the labels. */
    write_labels(join(test_root, "labs12"), SAMPLES, 12, 13, 0);   /* 12, 6, 0, ... */
    CHECK(dataset_load_files(&ds, join(test_root, "imgs.idx"),
                             join(test_root, "labs12"), "mnist", err) == -1);
    CHECK_STR_CONTAINS(err, "labs12: label 12 of sample 0 (0-based) is not a mnist class (0 to 9)");
    CHECK(ds.pixels == NULL && ds.labels == NULL);
    dataset_free(&ds);
    CHECK(dataset_load_files(&ds, join(test_root, "imgs.idx"),
                             join(test_root, "labs.idx.gz"), "mnist", err) == 0);
    CHECK(strcmp(ds.name, "mnist") == 0 && ds.classes == 10);
    CHECK(strcmp(dataset_class_name(&ds, 7), "7") == 0);
    dataset_free(&ds);
}

static void test_named(void)
{
    char err[EMBER_ERR_SIZE] = "", dir[512];
    char data[512];
    snprintf(data, sizeof data, "%s", join(test_root, "data"));
    CHECK(mkdir(data, 0700) == 0);
    write_named(join(data, "fashion-mnist"), 5, 10);
    setenv("EMBER_DATA", data, 1);

    /* $EMBER_DATA comes first, even though /usr/share/datasets may hold it. */
    CHECK(dataset_find("fashion-mnist", dir, sizeof dir, err) == 0);
    CHECK(strcmp(dir, join(data, "fashion-mnist")) == 0);
    CHECK(dataset_find("fashion-mnist", dir, 8, err) == -1);
    CHECK_STR_CONTAINS(err, "is too long");

    dataset train, test;
    int rc = dataset_load("fashion-mnist", &train, &test, err);
    CHECK(rc == 0);
    if (rc)
        fprintf(stderr, "  %s\n", err);
    CHECK(train.count == 5 && test.count == 3);   /* the .gz won over the raw decoy */
    CHECK(strcmp(train.name, "fashion-mnist") == 0 && strcmp(test.name, "fashion-mnist") == 0);
    CHECK(train.classes == 10 && test.classes == 10 && train.max_label == 8);
    CHECK(strcmp(dataset_class_name(&train, 0), "T-shirt/top") == 0);
    CHECK(strcmp(dataset_class_name(&test, 9), "Ankle boot") == 0);
    CHECK(dataset_class_name(&train, 10) == NULL && dataset_class_name(&train, -1) == NULL);
    dataset_free(&train);
    dataset_free(&test);

    /* A damaged test file: nothing is left loaded. */
    write_labels(join(join(data, "fashion-mnist"), "t10k-labels-idx1-ubyte"), 2, 1, 10, 0);
    CHECK(dataset_load("fashion-mnist", &train, &test, err) == -1);
    CHECK_STR_CONTAINS(err, ": 3 images but ");
    CHECK(train.pixels == NULL && test.pixels == NULL && train.count == 0);
    dataset_free(&train);
    dataset_free(&test);

    CHECK(dataset_load("cifar10", &train, &test, err) == -1);
    CHECK_STR_CONTAINS(err, "unknown dataset \"cifar10\": the known ones are fashion-mnist and mnist");
    CHECK_STR_CONTAINS(err, "loaded by path");
    CHECK(dataset_find("../etc", dir, sizeof dir, err) == -1);
    CHECK_STR_CONTAINS(err, "plain name");

    /* Not found: every place is listed, with why, and how to get the files.
     * Run from an empty working directory so ./data/mnist is absent. */
    char cwd[512], work[512];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(work, sizeof work, "%s", join(test_root, "work"));
    CHECK(mkdir(work, 0700) == 0);
    CHECK(chdir(work) == 0);
    setenv("EMBER_DATA", join(test_root, "nowhere"), 1);
    int mnist_installed = access("/usr/share/datasets/mnist", F_OK) == 0;
    if (!mnist_installed) {
        CHECK(dataset_find("mnist", dir, sizeof dir, err) == -1);
        CHECK_STR_CONTAINS(err, "dataset \"mnist\" not found: looked in ");
        CHECK_STR_CONTAINS(err, join(test_root, "nowhere/mnist (no such directory)"));
        CHECK_STR_CONTAINS(err, "/usr/share/datasets/mnist (no such directory)");
        CHECK_STR_CONTAINS(err, "./data/mnist (no such directory)");
        CHECK_STR_CONTAINS(err, "put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                           "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz "
                           "in ./data/mnist or $EMBER_DATA/mnist");
        CHECK(dataset_load("mnist", &train, &test, err) == -1);
        CHECK_STR_CONTAINS(err, "dataset \"mnist\" not found");
        CHECK(train.count == 0 && test.count == 0);
        dataset_free(&train);
        dataset_free(&test);
    }
    unsetenv("EMBER_DATA");
    CHECK(dataset_find("no-such-set", dir, sizeof dir, err) == -1);
    CHECK_STR_CONTAINS(err, "$EMBER_DATA/no-such-set ($EMBER_DATA not set), "
                       "/usr/share/datasets/no-such-set (no such directory), "
                       "./data/no-such-set (no such directory); put ");

    /* Fashion-MNIST's message gives the Debian package, when it is missing. */
    if (dataset_find("fashion-mnist", dir, sizeof dir, err) == 0)
        CHECK(strcmp(dir, "/usr/share/datasets/fashion-mnist") == 0);
    else
        CHECK_STR_CONTAINS(err, "sudo apt-get install dataset-fashion-mnist");

    /* ./data/<name> is the last place; an incomplete folder says what is missing. */
    CHECK(mkdir("data", 0700) == 0);
    write_named("data/mnist", 4, 10);
    if (!mnist_installed) {
        CHECK(dataset_find("mnist", dir, sizeof dir, err) == 0);
        CHECK(strcmp(dir, "./data/mnist") == 0);
        CHECK(dataset_load("mnist", &train, &test, err) == 0);
        CHECK(train.count == 4 && strcmp(dataset_class_name(&train, 3), "3") == 0);
        dataset_free(&train);
        dataset_free(&test);
    }
    CHECK(unlink("data/mnist/t10k-labels-idx1-ubyte") == 0);
    CHECK(dataset_find("mnist", dir, sizeof dir, err) == (mnist_installed ? 0 : -1));
    if (!mnist_installed)
        CHECK_STR_CONTAINS(err, "./data/mnist (no t10k-labels-idx1-ubyte[.gz] there)");

    CHECK(chdir(cwd) == 0);
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[1024];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            remove_tree(child);
        }
        if (d)
            closedir(d);
        CHECK(rmdir(path) == 0);
    } else {
        CHECK(unlink(path) == 0);
    }
}

int main(void)
{
    snprintf(test_root, sizeof test_root, "/tmp/ember-test-dataset-XXXXXX");
    if (!mkdtemp(test_root)) {
        perror("mkdtemp");
        return 1;
    }
    test_load_files();
    test_named();
    remove_tree(test_root);
    return test_report();
}
