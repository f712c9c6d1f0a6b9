/* checkpoint.h: a model's whole training state as a file, and back.
 *
 * Worked example (error handling left out):
 *
 *     char err[EMBER_ERR_SIZE];
 *     checkpoint_extras extras = {.batch_size = 32, .accuracy = true};
 *     checkpoint_save("run.ckpt", &m, &extras, NULL, err);   // atomic
 *
 *     checkpoint c;
 *     if (checkpoint_load("run.ckpt", &c, err) == 0) {
 *         // c.model is built and compiled, with the saved weights,
 *         // optimizer state, generator and cursor: train_epoch on the
 *         // same data continues exactly where the saved run stood.
 *         checkpoint_free(&c);
 *     }
 *
 * The format (version 1), all integers and floats little-endian, written
 * field by field (never a struct), so a file means the same on any
 * machine:
 *
 *     header   "EMBERCKP" (8 bytes), u32 version (1)
 *     sections, in this order, each: 4-byte tag, u64 payload length,
 *              payload, u32 CRC-32 (zlib) of tag, length and payload
 *       ARCH   input shape, layers (kind, units, activation, rate), u64
 *              parameter count (must match what the layers make)
 *       COMP   compiled flag, loss, optimizer settings, and the binding's
 *              extras (batch size, accuracy metric)
 *       PARM   every parameter, f32
 *       OPTS   u64 optimizer iterations, the first and second moment
 *              arrays when the optimizer has them (f32 each)
 *       RNGS   the generator: u64 state, u64 inc
 *       CURS   the training cursor; the epoch's sample order (u32 each)
 *              when an epoch is under way
 *       HIST   the history: named lists of f64
 *       END    empty; nothing may follow it
 *
 * Loading checks everything before it is used: framing, CRCs, every
 * count against the bytes that hold it (nothing is allocated that the
 * file does not pay for), shapes against the limits below, the parameter
 * count against the architecture, the order against being a permutation.
 * A refusal names the file, the section and what was wrong. The model is
 * built on the side and handed over only when all of it succeeded.
 * Nothing in a file is ever executed. */
#ifndef EMBER_IO_CHECKPOINT_H
#define EMBER_IO_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

#define CHECKPOINT_VERSION    1
#define CHECKPOINT_MAX_LAYERS 1024
#define CHECKPOINT_MAX_UNITS  (1 << 24)
#define CHECKPOINT_MAX_LISTS  256    /* history lists */
#define CHECKPOINT_MAX_NAME   64     /* bytes in a history list's name */

/* What the Lua binding keeps beside the core model. */
typedef struct checkpoint_extras {
    int  batch_size;     /* for fit, step and epoch; >= 1 */
    bool accuracy;       /* the accuracy metric was asked for */
} checkpoint_extras;

/* One history list, e.g. "loss" = {0.61, 0.42, ...}. */
typedef struct checkpoint_list {
    char    name[CHECKPOINT_MAX_NAME + 1];   /* 1..64 bytes, no NUL inside */
    bool    integers;    /* every value is an integer (e.g. "epoch"): Lua
                            gets integers back, not floats */
    size_t  n;
    double *values;      /* NaN where an epoch had no such figure */
} checkpoint_list;

typedef struct checkpoint_history {
    size_t           n;
    checkpoint_list *lists;
} checkpoint_history;

/* A loaded checkpoint: everything here is owned by it. */
typedef struct checkpoint {
    model              model;
    checkpoint_extras  extras;
    checkpoint_history history;
} checkpoint;

/* Bytes that checkpoint_encode will write; 0 if the model cannot be saved
 * (not built). history may be NULL (no lists). */
size_t checkpoint_size(const model *m, const checkpoint_history *h);
/* Writes exactly checkpoint_size(m, h) bytes into buf. */
void   checkpoint_encode(const model *m, const checkpoint_extras *x,
                         const checkpoint_history *h, unsigned char *buf);

/* Encodes and writes path atomically (io_write_atomic): on any failure
 * the old file is intact, no temporary file is left, and err names the
 * path and the reason. */
int checkpoint_save(const char *path, const model *m, const checkpoint_extras *x,
                    const checkpoint_history *h, char *err);

/* Parses a whole file held in memory; name is what messages call it (a
 * path). On success *out owns a built model (compiled if it was), the
 * extras and the history; on failure *out is untouched and nothing is
 * left allocated. Safe on any bytes: this is the fuzzing entry point. */
int checkpoint_parse(const void *buf, size_t len, const char *name,
                     checkpoint *out, char *err);
/* Reads path, then checkpoint_parse. */
int checkpoint_load(const char *path, checkpoint *out, char *err);

void checkpoint_free(checkpoint *c);
void checkpoint_history_free(checkpoint_history *h);

/* Puts the training state of src (a parsed checkpoint or snapshot) into
 * dst, which must have the same layers and, if built, the same input
 * shape (an unbuilt dst is built for it): parameters (copied into dst's
 * own array, so views of dst's weights stay valid), optimizer settings
 * and state, loss, generator and cursor; the state is moved out of src.
 * On failure (another architecture: err says where they differ) dst is
 * unchanged. */
int checkpoint_restore(model *dst, checkpoint *src, char *err);

#endif
