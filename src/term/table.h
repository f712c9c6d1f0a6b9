/* table.h: the confusion matrix, counted and rendered.
 *
 *   true \ pred      T-sh  Trou  Pull  none   accuracy
 *   0 T-shirt/top     850     2    15     0      85.0%
 *   ...
 *   most confused:
 *     Shirt -> T-shirt/top: 123
 *
 * Rows are the true labels, columns the predicted ones. A model with more
 * output units than classes can predict a unit that names no class: those
 * predictions are counted per true label in `no_class` and shown as a
 * "none" column when any is non-zero. Accuracy per class is the diagonal
 * over the row's total (no_class included). Knows nothing of Lua. */
#ifndef EMBER_TERM_TABLE_H
#define EMBER_TERM_TABLE_H

#include "term/buffer.h"

typedef struct term_confusion {
    int classes;
    const int *counts;          /* classes x classes, row-major */
    const int *no_class;        /* classes entries, or NULL */
    const char *const *names;   /* classes names, or NULL: numbers only */
    int most_confused;          /* list the k largest off-diagonal pairs */
} term_confusion;

typedef struct term_pair {
    int true_label, predicted, count;
} term_pair;

/* Counts n (label, prediction) pairs into counts (classes x classes) and
 * no_class (classes; predictions >= classes), both zeroed first. A label
 * outside 0..classes-1 or a negative prediction is an error naming the
 * sample; no_class may be NULL only if every prediction is a class.
 * Returns 0, or -1 with a message in err (EMBER_ERR_SIZE bytes) and the
 * arrays untouched. */
int term_confusion_count(int *counts, int *no_class, int classes,
                         const int *labels, const int *predicted, int n, char *err);

/* The up to k largest off-diagonal counts (zero counts never), largest
 * first, ties by true label then prediction. Returns how many were written
 * to out (k entries of room). */
int term_confused_pairs(const int *counts, int classes, int k, term_pair *out);

/* The table, per-class accuracy, overall accuracy and the most confused
 * pairs. Names are abbreviated to fit the columns; lines are at most
 * `width` columns when the width allows the numbers themselves (about
 * 5 columns per class plus 25). Returns 0, or -1 when out of memory. */
int term_confusion_table(term_buf *out, const term_confusion *m, int width, term_style style);

#endif
