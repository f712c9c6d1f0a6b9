/* dataset.h: labelled image datasets in memory, found by name or path.
 *
 * A dataset is an IDX images file and an IDX labels file that agree on the
 * sample count. Pixels stay uint8 (60,000 Fashion-MNIST images are 47 MB,
 * not 188 MB); dataset_source scales them to [0, 1] while gathering a
 * batch. Named datasets ("fashion-mnist", "mnist") are looked for in
 * $EMBER_DATA/<name>, /usr/share/datasets/<name>, ./data/<name>.
 *
 * Ownership: a loaded dataset owns its pixels and labels; a slice is a
 * view into another dataset and must not outlive it. A sample_source made
 * by dataset_source points at the dataset, which must outlive it too.
 * Every function that can fail returns 0 or -1 with a message in err
 * (EMBER_ERR_SIZE bytes). */
#ifndef EMBER_DATASET_H
#define EMBER_DATASET_H

#include "core/source.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dataset {
    char      name[64];      /* "fashion-mnist", "mnist", or the images file's base name */
    size_t    count;         /* samples, > 0 */
    int       rank;          /* per-sample dims: 1..3 (28x28 -> rank 2) */
    int       shape[3];      /* unused entries are 0 */
    size_t    features;      /* product of shape */
    uint8_t  *pixels;        /* count x features */
    uint8_t  *labels;        /* count */
    int       max_label;     /* largest label present */
    int       classes;       /* 10 for the named sets, else max_label + 1 */
    const char *const *class_names;  /* classes entries, static strings, or NULL */
    bool      owner;         /* frees pixels/labels; false for a slice */
} dataset;

/* Loads an images file and a labels file (raw or .gz). name may be NULL:
 * then the images file's base name. A known name ("fashion-mnist",
 * "mnist") attaches its class names, and then every label must be one of
 * its classes. On failure *ds is zeroed. */
int  dataset_load_files(dataset *ds, const char *images_path,
                        const char *labels_path, const char *name, char *err);

/* Finds the directory of a named dataset: $EMBER_DATA/<name>, then
 * /usr/share/datasets/<name>, then ./data/<name>; the first that holds all
 * four files (train/t10k images/labels, raw or .gz) wins and is written to
 * dir. When none does, the message lists every place tried and how to
 * install the data. */
int  dataset_find(const char *name, char *dir, size_t dir_size, char *err);

/* Train and test sets of a named dataset ("fashion-mnist" or "mnist"):
 * train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
 * t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] (the .gz is
 * preferred when both exist). On failure both are zeroed. */
int  dataset_load(const char *name, dataset *train, dataset *test, char *err);

/* A non-owning view of count samples from first (0-based); count must be
 * at least 1 and the range inside ds. max_label is the slice's own. */
int  dataset_slice(const dataset *ds, size_t first, size_t count,
                   dataset *out, char *err);

/* Frees what ds owns and zeroes it; safe on a zeroed dataset or a slice. */
void dataset_free(dataset *ds);

/* The class name of label, or NULL when the dataset has none for it. */
const char *dataset_class_name(const dataset *ds, int label);

/* The core's view of ds: gather writes x[i*features + j] = pixel / 255
 * (exactly (float)(p / 255.0), as NumPy's x / 255.0 then float32) and
 * labels[i] = label. ds must outlive the source. */
sample_source dataset_source(const dataset *ds);

#endif
