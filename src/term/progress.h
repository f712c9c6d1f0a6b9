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

/* done of total steps after elapsed seconds; finished selects the closing
 * form (total time and time per step) over the running one (ETA). The bar
 * is bar_width characters (0: no bar, as Keras's verbose=2). Returns the
 * length written, truncated to size - 1 like snprintf. */
size_t term_progress(char *buf, size_t size, int64_t done, int64_t total,
                     double elapsed, int finished, int bar_width,
                     const progress_metric *metrics, int n_metrics);

/* "3s", "450ms", "12us": Keras's way of showing a duration. */
size_t term_duration(char *buf, size_t size, double seconds);

#endif
