/* bars.h: the probability vector of one sample, a horizontal bar per unit.
 *
 *    0 T-shirt/top      0.0123 |                              |
 *    9 Ankle boot       0.9012 |###########################   | <- true, predicted
 *   units 10..29 (no such class): sum 0.0031, largest 0.0009 (unit 17)
 *
 * A unit is named by its label and the dataset's class name; units the
 * dataset has no class for ("no such class") come after the real ones and
 * may be collapsed into one summary line. For sigmoid outputs the caller
 * passes two columns: the raw unit outputs and the share p / sum p that the
 * loss uses; the bar then shows the share (the distribution that sums to 1)
 * and a header line names the columns. Knows nothing of models or Lua. */
#ifndef EMBER_TERM_BARS_H
#define EMBER_TERM_BARS_H

#include <stdbool.h>

#include "term/buffer.h"

typedef struct term_bars {
    const float *values;        /* units outputs */
    const float *share;         /* units renormalised shares, or NULL */
    int units;
    int classes;                /* units >= classes have no class */
    const char *const *names;   /* classes names, or NULL: numbers only */
    int true_label;             /* marked "<- true"; -1: unknown */
    int predicted;              /* marked "<- predicted"; -1: none */
    int top;                    /* > 0: only the top largest, descending,
                                   plus the true class when it is not among
                                   them (after a "..." line) */
    bool collapse_unused;       /* the units without a class as one line
                                   (a predicted one keeps its own row);
                                   ignored when top > 0 */
} term_bars;

/* One bar of `cells` columns for a value in [0, 1] (clipped; NaN is 0):
 * round(value * cells) '#' then spaces in ASCII; in Unicode full blocks
 * and one eighth block for the remainder (1/8 column precision). */
int term_bar(term_buf *out, double value, int cells, term_style style);

/* The chart, every line at most `width` columns (from about 40 up; below
 * that the names and the bar shrink to a minimum and lines may be wider).
 * Returns 0, or -1 when out of memory. */
int term_bar_chart(term_buf *out, const term_bars *chart, int width, term_style style);

#endif
