/* progress.h: the Keras-style progress line.
 *
 *   1875/1875 [==============================] - 3s 2ms/step - loss: 0.4812 - accuracy: 0.8234
 *
 * Rendered into a caller's buffer, never printed here: the caller decides
 * whether it rewrites a terminal line (\r) or prints once per epoch. Knows
 * nothing of models or Lua: it takes numbers and names. */
#ifndef EMBER_TERM_PROGRESS_H
#define EMBER_TERM_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct progress_metric {
    const char *name;
    double      value;
} progress_metric;

typedef struct progress_line {
    int64_t done, total;      /* steps */
    int64_t timed;            /* steps that elapsed covers: fewer than done
                                 when an epoch was resumed part way (0: done) */
    double  elapsed;          /* seconds */
    int     finished;         /* the closing form: total time, time per step */
    int     bar_width;        /* 0: no bar, as Keras's verbose=2 */
    const progress_metric *metrics;
    int     n_metrics;
} progress_line;

/* Renders the line; the running form shows an ETA. Returns the length
 * written, truncated to size - 1 like snprintf. */
size_t term_progress(char *buf, size_t size, const progress_line *p);

/* "3s", "450ms", "12us": Keras's way of showing a duration. */
size_t term_duration(char *buf, size_t size, double seconds);

#endif
