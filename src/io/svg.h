/* svg.h: training curves and probability bars as standalone SVG files.
 *
 * Plain SVG 1.1 text that any browser opens: no scripts, no external
 * fonts or style sheets, every label XML-escaped. Series are drawn as one
 * <path class="series"> each (NaN and infinite values break the line; a
 * lone finite point is a round dot); bars are <rect class="bar">. The
 * *_text functions return the document (for tests and for the caller to
 * place elsewhere); the svg_write_* ones write it atomically (io/atomic.h).
 * Knows nothing of models or Lua. */
#ifndef EMBER_IO_SVG_H
#define EMBER_IO_SVG_H

#include <stddef.h>

typedef struct svg_series {
    const char  *name;      /* legend; NULL: "series N" */
    const float *y;         /* n values, index = x */
    int          n;
} svg_series;

typedef struct svg_line_chart {
    const svg_series *series;
    int         n_series;
    int         x_first;    /* the x value of index 0 (1 for epochs) */
    const char *title;      /* each may be NULL */
    const char *x_name;
    const char *y_name;
    int         width, height;   /* pixels; 0: 640 x 400 */
} svg_line_chart;

typedef struct svg_bar_chart {
    const float *values;        /* units outputs */
    const float *share;         /* renormalised shares, or NULL; when given
                                   the solid bar is the share and a thin
                                   light bar the raw output */
    int units;
    int classes;                /* units >= classes: "(no such class)" */
    const char *const *names;   /* classes names, or NULL */
    int true_label;             /* -1: unknown */
    int predicted;              /* -1: none */
    const char *title;          /* may be NULL */
    int width;                  /* pixels; 0: 640 (height follows units) */
} svg_bar_chart;

/* The document, malloc'd and NUL-terminated, its length in *len (may be
 * NULL); NULL with a message in err (EMBER_ERR_SIZE bytes) on failure. */
char *svg_line_chart_text(const svg_line_chart *chart, size_t *len, char *err);
char *svg_bar_chart_text(const svg_bar_chart *chart, size_t *len, char *err);

/* The same, written to path atomically. 0, or -1 with a message in err. */
int svg_write_line_chart(const char *path, const svg_line_chart *chart, char *err);
int svg_write_bar_chart(const char *path, const svg_bar_chart *chart, char *err);

#endif
