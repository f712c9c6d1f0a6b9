/* idx.h: reading IDX files (the MNIST file format), raw or gzip'd.
 *
 * An IDX file is a 4-byte magic (0x00 0x00 type rank), rank big-endian
 * uint32 dimensions, then the data, row-major. We support only type 0x08
 * (unsigned byte), which is what MNIST and Fashion-MNIST use: labels files
 * have rank 1, images files rank 2..4 (samples x per-sample dims).
 *
 * The reader trusts nothing in the file: the header is checked before the
 * data is read, memory grows only as data actually arrives (a tiny file
 * claiming gigabytes allocates nothing big), and the file must hold exactly
 * the declared bytes. Reading goes through zlib's gzread, which passes
 * files that are not gzip'd through unchanged, so .gz and raw both work. */
#ifndef EMBER_IDX_H
#define EMBER_IDX_H

#include <stddef.h>
#include <stdint.h>

typedef enum idx_kind { IDX_LABELS, IDX_IMAGES } idx_kind;

typedef struct idx_array {
    int      rank;        /* number of dimensions: labels 1, images 2..4 */
    uint32_t dims[4];     /* dims[0] is the sample count, always > 0 */
    size_t   count;       /* product of dims = bytes of data */
    uint8_t *data;
} idx_array;

/* The largest data size we accept (16 GiB): far above any real dataset,
 * low enough that a corrupt header is caught by name, not by malloc. */
#define IDX_MAX_BYTES ((uint64_t)1 << 34)

/* Reads and validates a whole file. On failure returns -1, fills err
 * (EMBER_ERR_SIZE bytes; the message starts with path) and leaves *out
 * zeroed (nothing to free). */
int  idx_read(const char *path, idx_kind kind, idx_array *out, char *err);

/* Frees the data and zeroes *a; safe on a zeroed array. */
void idx_free(idx_array *a);

#endif
