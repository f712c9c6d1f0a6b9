/* table.c: the confusion matrix (see table.h).
 *
 * Column widths are decided once: the count columns are as wide as the
 * largest count and, when the width allows, as the class names (cut to
 * that width: "T-sh", "Trou"); below three columns the headers fall back
 * to label numbers. The row names give way before the counts do. */
#include "term/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define ROW_NAME_MAX 16
#define ROW_NAME_MIN 8
#define HEADER_NAME_MAX 7
#define ACC_COLS 9          /* " accuracy", " 100.0%" */

int term_confusion_count(int *counts, int *no_class, int classes,
                         const int *labels, const int *predicted, int n, char *err)
{
    if (classes < 1)
        return ember_fail(err, "confusion: classes must be positive (got %d)", classes);
    /* Check everything first, so a failure leaves the counts untouched. */
    for (int i = 0; i < n; i++) {
        int y = labels[i], p = predicted[i];
        if (y < 0 || y >= classes)
            return ember_fail(err, "confusion: label %d of sample %d is not a class (0..%d)", y, i, classes - 1);
        if (p < 0)
            return ember_fail(err, "confusion: prediction %d of sample %d is negative", p, i);
        if (p >= classes && !no_class)
            return ember_fail(err, "confusion: prediction %d of sample %d is not a class (0..%d)",
                              p, i, classes - 1);
    }
    memset(counts, 0, (size_t)classes * (size_t)classes * sizeof *counts);
    if (no_class)
        memset(no_class, 0, (size_t)classes * sizeof *no_class);
    for (int i = 0; i < n; i++) {
        int y = labels[i], p = predicted[i];
        if (p >= classes)
            no_class[y]++;
        else
            counts[(size_t)y * (size_t)classes + (size_t)p]++;
    }
    return 0;
}

static int by_count_desc(const void *a, const void *b)
{
    const term_pair *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->true_label != y->true_label)
        return x->true_label - y->true_label;
    return x->predicted - y->predicted;
}

int term_confused_pairs(const int *counts, int classes, int k, term_pair *out)
{
    if (k <= 0)
        return 0;
    /* A partial selection would do, but classes is small (10): sort all. */
    term_pair *all = malloc((size_t)classes * (size_t)classes * sizeof *all);
    if (!all)
        return 0;
    int m = 0;
    for (int t = 0; t < classes; t++)
        for (int p = 0; p < classes; p++) {
            int c = counts[(size_t)t * (size_t)classes + (size_t)p];
            if (t != p && c > 0)
                all[m++] = (term_pair){t, p, c};
        }
    qsort(all, (size_t)m, sizeof *all, by_count_desc);
    int got = m < k ? m : k;
    memcpy(out, all, (size_t)got * sizeof *out);
    free(all);
    return got;
}

static int digits(long v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

static const char *class_name(const term_confusion *m, int c)
{
    return m->names && m->names[c] ? m->names[c] : "";
}

static void emit(term_buf *out, term_buf *line, int width, term_style style)
{
    const char *s = term_buf_str(line);
    if (term_text_width(s, line->len) <= width)
        term_buf_append(out, s, line->len);
    else
        term_buf_fit(out, s, width, false, true, style);
    term_buf_puts(out, "\n");
    if (line->failed)
        out->failed = true;
    term_buf_clear(line);
}

int term_confusion_table(term_buf *out, const term_confusion *m, int width, term_style style)
{
    int k = m->classes;
    if (k < 1)
        return out->failed ? -1 : 0;
    long largest = 0, total = 0, right = 0;
    bool none_col = false;
    for (int t = 0; t < k; t++) {
        for (int p = 0; p < k; p++) {
            int c = m->counts[t * k + p];
            largest = c > largest ? c : largest;
            total += c;
            right += t == p ? c : 0;
        }
        if (m->no_class && m->no_class[t]) {
            none_col = true;
            largest = m->no_class[t] > largest ? m->no_class[t] : largest;
            total += m->no_class[t];
        }
    }

    /* Widths: row label, row name, count columns. */
    int label_cols = digits(k - 1);
    int name_cols = 0, longest_name = 0;
    for (int c = 0; c < k; c++) {
        int w = term_text_width(class_name(m, c), strlen(class_name(m, c)));
        longest_name = w > longest_name ? w : longest_name;
    }
    name_cols = longest_name < ROW_NAME_MAX ? longest_name : ROW_NAME_MAX;
    int col = digits(largest);
    if (none_col && col < 4)
        col = 4;
    int head = 11;   /* "true \ pred" */
#define ROW_COLS() ((label_cols + 1 + name_cols) > head ? (label_cols + 1 + name_cols) : head)
#define TOTAL() (ROW_COLS() + (k + none_col) * (col + 1) + ACC_COLS)
    while (m->names && col < HEADER_NAME_MAX && col < longest_name && TOTAL() + k + none_col <= width)
        col++;
    while (TOTAL() > width && name_cols > ROW_NAME_MIN)
        name_cols--;
    int row_cols = ROW_COLS();
#undef TOTAL
#undef ROW_COLS
    bool named_headers = m->names && col >= 3;

    term_buf line;
    term_buf_init(&line);
    term_buf_fit(&line, "true \\ pred", row_cols, false, false, style);
    for (int p = 0; p < k; p++) {
        char num[16];
        snprintf(num, sizeof num, "%d", p);
        term_buf_puts(&line, " ");
        /* Short headers are cut plainly ("T-sh"); longer ones show the cut ("Pullo~"). */
        term_buf_fit(&line, named_headers ? class_name(m, p) : num, col, !named_headers, col >= 6, style);
    }
    if (none_col) {
        term_buf_puts(&line, " ");
        term_buf_fit(&line, "none", col, false, false, style);
    }
    term_buf_puts(&line, " accuracy");
    emit(out, &line, width, style);

    for (int t = 0; t < k; t++) {
        term_buf_printf(&line, "%*d ", label_cols, t);
        term_buf_fit(&line, class_name(m, t), row_cols - label_cols - 1, false, true, style);
        long row_total = 0;
        for (int p = 0; p < k; p++) {
            int c = m->counts[t * k + p];
            row_total += c;
            const char *sgr = !style.color ? NULL : t == p ? "\033[32m" : c == 0 ? "\033[2m" : NULL;
            term_buf_printf(&line, " %s%*d%s", sgr ? sgr : "", col, c, sgr ? "\033[0m" : "");
        }
        if (none_col) {
            int c = m->no_class[t];
            row_total += c;
            term_buf_printf(&line, " %*d", col, c);
        }
        if (row_total > 0)
            term_buf_printf(&line, " %7.1f%%", 100.0 * m->counts[t * k + t] / row_total);
        else
            term_buf_printf(&line, " %8s", "-");
        emit(out, &line, width, style);
    }
    if (total > 0)
        term_buf_printf(&line, "overall accuracy: %.2f%% (%ld of %ld)", 100.0 * right / total, right, total);
    else
        term_buf_puts(&line, "overall accuracy: - (no samples)");
    emit(out, &line, width, style);

    if (m->most_confused > 0) {
        term_pair *pairs = malloc((size_t)m->most_confused * sizeof *pairs);
        int n = pairs ? term_confused_pairs(m->counts, k, m->most_confused, pairs) : 0;
        if (!pairs)
            out->failed = true;
        if (n > 0) {
            term_buf_puts(&line, "most confused (true -> predicted):");
            emit(out, &line, width, style);
        }
        for (int i = 0; i < n; i++) {
            const term_pair *q = &pairs[i];
            term_buf_printf(&line, "  %d%s%s -> %d%s%s: %d", q->true_label,
                            m->names ? " " : "", class_name(m, q->true_label), q->predicted,
                            m->names ? " " : "", class_name(m, q->predicted), q->count);
            emit(out, &line, width, style);
        }
        free(pairs);
    }
    if (line.failed)
        out->failed = true;
    term_buf_free(&line);
    return out->failed ? -1 : 0;
}
