/* plot.h: training curves as a terminal line chart.
 *
 *   0.6931 +*
 *          |***
 *          |   **oo
 *   0.4102 +     **ooooo
 *          |        *****o
 *   0.1273 +             ****
 *          +-----------------
 *           1    epoch     20
 *   * loss  o val_loss
 *
 * One or more series share the axes; x is the index (shown from x_first,
 * 1 for Keras-style epochs), y runs from the smallest to the largest finite
 * value of all series. NaN and infinite values are gaps (a history holds
 * NaN for epochs without validation): a segment is drawn only between two
 * neighbouring finite points, a lone finite point is drawn on its own.
 *
 * Series are told apart by marker ('*', 'o', '+', 'x', cycling) in ASCII.
 * With Unicode they are drawn in braille (2x4 dots per cell) when colour can
 * tell them apart, i.e. with colour or for a single series; Unicode without
 * colour and several series keeps the markers, with box-drawing axes. */
#ifndef EMBER_TERM_PLOT_H
#define EMBER_TERM_PLOT_H

#include "term/buffer.h"

typedef struct term_series {
    const char  *name;      /* for the legend; NULL: "series N" */
    const float *y;         /* n values, index = x */
    int          n;
} term_series;

typedef struct term_plot {
    const term_series *series;
    int         n_series;
    int         x_first;    /* the x label of index 0 */
    const char *x_name;     /* under the x axis ("epoch"), or NULL */
} term_plot;

/* The chart in exactly `height` lines (the plot rows, the x axis, its
 * labels, the legend: height >= 5) of at most `width` columns (>= 20).
 * Series of different lengths share the x scale of the longest. With no
 * finite value at all it writes "(no data)". Returns 0, -1 when out of
 * memory or the size is too small. */
int term_line_plot(term_buf *out, const term_plot *plot, int width, int height, term_style style);

#endif
