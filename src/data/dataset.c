/* dataset.c: datasets by name or by path (see dataset.h).
 *
 * What it owns: the table of known datasets (their class names and how to
 * install them), the search for a dataset's directory, pairing an images
 * file with a labels file, slices, and the sample_source that scales uint8
 * pixels to floats while a batch is gathered. File parsing is idx.c's job;
 * nothing here prints or exits. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "data/dataset.h"

#include "core/error.h"
#include "data/idx.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATASET_PATH_MAX 4096

static const char *const dataset_fashion_classes[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

static const char *const dataset_digit_classes[10] = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
};

typedef struct dataset_known {
    const char *name;
    const char *const *class_names;   /* 10 entries */
    const char *install;              /* how to get it; NULL: put the files in place */
} dataset_known;

/* Debian packages only Fashion-MNIST (apt-cache search mnist finds just
 * dataset-fashion-mnist), so MNIST is installed by hand. */
static const dataset_known dataset_known_sets[] = {
    {"fashion-mnist", dataset_fashion_classes,
     "install it with: sudo apt-get install dataset-fashion-mnist"},
    {"mnist", dataset_digit_classes, NULL},
};

enum { DATASET_KNOWN_COUNT = sizeof dataset_known_sets / sizeof dataset_known_sets[0] };

/* The four files of a named dataset, in the original MNIST naming. */
static const char *const dataset_file_names[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
};

static const dataset_known *dataset_lookup(const char *name)
{
    for (int i = 0; name && i < DATASET_KNOWN_COUNT; i++)
        if (strcmp(dataset_known_sets[i].name, name) == 0)
            return &dataset_known_sets[i];
    return NULL;
}

/* Path of dir/base.gz if readable, else dir/base if readable; -1 if
 * neither (or the path does not fit). */
static int dataset_file_path(const char *dir, const char *base, char *path, size_t size)
{
    int n = snprintf(path, size, "%s/%s.gz", dir, base);
    if (n < 0 || (size_t)n >= size)
        return -1;
    if (access(path, R_OK) == 0)
        return 0;
    path[n - 3] = '\0';
    return access(path, R_OK) == 0 ? 0 : -1;
}

/* Why dir cannot serve as a dataset directory, into why; 0 if it can. */
static int dataset_dir_problem(const char *dir, char *why, size_t size)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(why, size, "%s", errno == ENOENT ? "no such directory" : strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, size, "not a directory");
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        char path[DATASET_PATH_MAX];
        if (dataset_file_path(dir, dataset_file_names[i], path, sizeof path)) {
            snprintf(why, size, "no %s[.gz] there", dataset_file_names[i]);
            return -1;
        }
    }
    return 0;
}

/* Appends to a message buffer, silently truncating. */
static void dataset_append(char *buf, size_t size, const char *fmt, const char *a,
                           const char *b)
{
    size_t used = strlen(buf);
    if (used + 1 < size)
        snprintf(buf + used, size - used, fmt, a, b);
}

int dataset_find(const char *name, char *dir, size_t dir_size, char *err)
{
    if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return ember_fail(err, "dataset name must be a plain name such as "
                          "\"fashion-mnist\" (got \"%s\")", name ? name : "(null)");

    const char *env = getenv("EMBER_DATA");
    char places[3][DATASET_PATH_MAX];
    int n = 0;
    if (env && *env) {
        snprintf(places[n], sizeof places[n], "%s/%s", env, name);
        n++;
    }
    snprintf(places[n], sizeof places[n], "/usr/share/datasets/%s", name);
    n++;
    snprintf(places[n], sizeof places[n], "./data/%s", name);
    n++;

    char msg[EMBER_ERR_SIZE];
    snprintf(msg, sizeof msg, "dataset \"%s\" not found: looked in ", name);
    if (!(env && *env))
        dataset_append(msg, sizeof msg, "$EMBER_DATA/%s (%s), ", name, "$EMBER_DATA not set");
    for (int i = 0; i < n; i++) {
        char why[128];
        if (dataset_dir_problem(places[i], why, sizeof why) == 0) {
            if (strlen(places[i]) >= dir_size)
                return ember_fail(err, "dataset \"%s\": path %s is too long (%zu bytes at most)",
                                  name, places[i], dir_size ? dir_size - 1 : 0);
            memcpy(dir, places[i], strlen(places[i]) + 1);
            return 0;
        }
        dataset_append(msg, sizeof msg, i + 1 < n ? "%s (%s), " : "%s (%s); ", places[i], why);
    }
    const dataset_known *known = dataset_lookup(name);
    if (known && known->install)
        dataset_append(msg, sizeof msg, "%s%s", known->install, "");
    else
        dataset_append(msg, sizeof msg, "put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                       "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz "
                       "in ./data/%s or $EMBER_DATA/%s", name, name);
    return ember_fail(err, "%s", msg);
}

static int dataset_max_label(const uint8_t *labels, size_t count)
{
    int max = -1;
    for (size_t i = 0; i < count; i++)
        if (labels[i] > max)
            max = labels[i];
    return max;
}

int dataset_load_files(dataset *ds, const char *images_path,
                       const char *labels_path, const char *name, char *err)
{
    memset(ds, 0, sizeof *ds);
    if (!images_path || !labels_path)
        return ember_fail(err, "dataset: an images file and a labels file are both needed");

    idx_array images, labels;
    if (idx_read(images_path, IDX_IMAGES, &images, err))
        return -1;
    if (idx_read(labels_path, IDX_LABELS, &labels, err)) {
        idx_free(&images);
        return -1;
    }
    if (images.dims[0] != labels.dims[0]) {
        ember_fail(err, "%s: %lu images but %s: %lu labels: the two files must "
                   "hold the same samples", images_path, (unsigned long)images.dims[0],
                   labels_path, (unsigned long)labels.dims[0]);
        goto fail;
    }
    for (int i = 1; i < images.rank; i++)
        if (images.dims[i] > INT_MAX) {
            ember_fail(err, "%s: image dimension %lu is too large (at most %d)",
                       images_path, (unsigned long)images.dims[i], INT_MAX);
            goto fail;
        }

    const dataset_known *known = dataset_lookup(name);
    int max_label = dataset_max_label(labels.data, labels.count);
    if (known && max_label >= 10) {
        size_t at = 0;
        while (labels.data[at] < 10)
            at++;
        ember_fail(err, "%s: label %d of sample %zu (0-based) is not a %s class "
                   "(0 to 9)", labels_path, labels.data[at], at, known->name);
        goto fail;
    }

    if (!name) {
        const char *slash = strrchr(images_path, '/');
        name = slash ? slash + 1 : images_path;
    }
    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->count = images.dims[0];
    ds->rank = images.rank - 1;
    for (int i = 0; i < ds->rank; i++)
        ds->shape[i] = (int)images.dims[i + 1];
    ds->features = images.count / images.dims[0];
    ds->pixels = images.data;
    ds->labels = labels.data;
    ds->max_label = max_label;
    ds->classes = known ? 10 : max_label + 1;
    ds->class_names = known ? known->class_names : NULL;
    ds->owner = true;
    return 0;
fail:
    idx_free(&images);
    idx_free(&labels);
    return -1;
}

int dataset_load(const char *name, dataset *train, dataset *test, char *err)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    const dataset_known *known = dataset_lookup(name);
    if (!known)
        return ember_fail(err, "unknown dataset \"%s\": the known ones are fashion-mnist "
                          "and mnist; any IDX images file and labels file can also be "
                          "loaded by path", name ? name : "(null)");

    char dir[DATASET_PATH_MAX];
    if (dataset_find(name, dir, sizeof dir, err))
        return -1;
    char path[4][DATASET_PATH_MAX];
    for (int i = 0; i < 4; i++)
        if (dataset_file_path(dir, dataset_file_names[i], path[i], sizeof path[i]))
            return ember_fail(err, "%s: %s[.gz] is missing or unreadable",
                              dir, dataset_file_names[i]);
    if (dataset_load_files(train, path[0], path[1], known->name, err))
        return -1;
    if (dataset_load_files(test, path[2], path[3], known->name, err)) {
        dataset_free(train);
        return -1;
    }
    return 0;
}

int dataset_slice(const dataset *ds, size_t first, size_t count, dataset *out, char *err)
{
    if (count == 0 || first >= ds->count || count > ds->count - first) {
        if (out != ds)
            memset(out, 0, sizeof *out);
        if (ds->count == 0)
            return ember_fail(err, "%s: cannot slice an empty dataset", ds->name);
        if (count == 0)
            return ember_fail(err, "%s: a slice needs at least one sample", ds->name);
        return ember_fail(err, "%s: samples %zu to %zu (0-based) are out of range: "
                          "it has %zu samples (0 to %zu)", ds->name, first,
                          first + count - 1, ds->count, ds->count - 1);
    }
    dataset view = *ds;
    view.count = count;
    view.pixels = ds->pixels + first * ds->features;
    view.labels = ds->labels + first;
    view.max_label = dataset_max_label(view.labels, count);
    view.owner = false;
    *out = view;
    return 0;
}

void dataset_free(dataset *ds)
{
    if (!ds)
        return;
    if (ds->owner) {
        free(ds->pixels);
        free(ds->labels);
    }
    memset(ds, 0, sizeof *ds);
}

const char *dataset_class_name(const dataset *ds, int label)
{
    if (!ds->class_names || label < 0 || label >= ds->classes)
        return NULL;
    return ds->class_names[label];
}

/* The table gives exactly (float)(p / 255.0), as NumPy's x / 255.0 then
 * float32 would; 256 entries per call cost nothing next to a batch. */
static void dataset_gather(const void *ctx, const uint32_t *index, size_t n,
                           float *x, int32_t *labels)
{
    const dataset *ds = ctx;
    float scale[256];
    for (int p = 0; p < 256; p++)
        scale[p] = (float)(p / 255.0);
    size_t features = ds->features;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *src = ds->pixels + (size_t)index[i] * features;
        float *dst = x + i * features;
        for (size_t j = 0; j < features; j++)
            dst[j] = scale[src[j]];
        if (labels)
            labels[i] = ds->labels[index[i]];
    }
}

sample_source dataset_source(const dataset *ds)
{
    sample_source s = {0};
    s.count = ds->count;
    s.rank = ds->rank;
    for (int i = 0; i < ds->rank && i < 3; i++)
        s.shape[i] = ds->shape[i];
    s.max_label = ds->count ? ds->max_label : -1;
    s.gather = dataset_gather;
    s.ctx = ds;
    return s;
}
