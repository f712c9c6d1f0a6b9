/* bars.c: probability bars, one row per output unit (see bars.h).
 *
 * A row is: label, name, value (and share), the bar in a frame, marker.
 * Column widths are decided once for the rows that will be shown, so the
 * frames line up; the bar gets what the width leaves. A row that still does
 * not fit (a very narrow width) is cut with a mark rather than wrapped,
 * which would break the picture. */
#include "term/bars.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_COLS 16    /* longer class names are abbreviated */
#define NAME_MIN_COLS 6     /* what a narrow width may shrink them to */
#define BAR_MIN_COLS  10    /* below this the names give way first */
#define VALUE_COLS    9     /* term_buf_value's widest form */

static const char NO_CLASS[] = "(no such class)";

#define SGR_RESET "\033[0m"
#define SGR_GREEN "\033[32m"
#define SGR_RED   "\033[31m"
#define SGR_DIM   "\033[2m"

static double clip01(double v)
{
    if (!(v > 0))       /* NaN too */
        return 0;
    return v > 1 ? 1 : v;
}

int term_bar(term_buf *out, double value, int cells, term_style style)
{
    if (cells <= 0)
        return out->failed ? -1 : 0;
    double v = clip01(value);
    if (!style.unicode) {
        int n = (int)floor(v * cells + 0.5);
        term_buf_repeat(out, "#", n);
        term_buf_repeat(out, " ", cells - n);
        return out->failed ? -1 : 0;
    }
    /* U+2588 is the full block, U+2589..U+258F are 7/8 down to 1/8. */
    static const char *const eighth[8] = {
        "", "\u258F", "\u258E", "\u258D", "\u258C", "\u258B", "\u258A", "\u2589"};
    long e = (long)floor(v * cells * 8 + 0.5);
    int full = (int)(e / 8), rem = (int)(e % 8);
    term_buf_repeat(out, "\u2588", full);
    int used = full;
    if (rem) {
        term_buf_puts(out, eighth[rem]);
        used++;
    }
    term_buf_repeat(out, " ", cells - used);
    return out->failed ? -1 : 0;
}

/* What one chart needs while rendering: the decided column widths. */
typedef struct layout {
    const term_bars *c;
    int label_cols, name_cols, bar_cols, width;
    term_style style;
} layout;

static const char *unit_name(const term_bars *c, int unit)
{
    if (unit >= c->classes)
        return NO_CLASS;
    return c->names && c->names[unit] ? c->names[unit] : "";
}

static double bar_value(const term_bars *c, int unit)
{
    return c->share ? c->share[unit] : c->values[unit];
}

static const char *marker(const term_bars *c, int unit)
{
    bool t = unit == c->true_label, p = unit == c->predicted;
    return t && p ? "<- true, predicted" : t ? "<- true" : p ? "<- predicted" : NULL;
}

/* Appends line (no '\n' in it) and a newline, cut to the width if needed. */
static void emit(term_buf *out, const term_buf *line, const layout *L)
{
    const char *s = term_buf_str(line);
    if (term_text_width(s, line->len) <= L->width) {
        term_buf_append(out, s, line->len);
    } else {
        term_buf_fit(out, s, L->width, false, true, L->style);
        if (L->style.color)
            term_buf_puts(out, SGR_RESET);
    }
    term_buf_puts(out, "\n");
}

static void row(term_buf *out, term_buf *line, const layout *L, int unit)
{
    const term_bars *c = L->c;
    const term_style st = L->style;
    const char *mark = marker(c, unit);
    bool unused = unit >= c->classes;
    const char *bar_sgr = !st.color ? NULL
                        : unit == c->true_label ? SGR_GREEN
                        : unit == c->predicted  ? SGR_RED : NULL;
    term_buf_clear(line);
    if (st.color && unused)
        term_buf_puts(line, SGR_DIM);
    term_buf_printf(line, "%*d ", L->label_cols, unit);
    if (L->name_cols > 0) {
        term_buf_fit(line, unit_name(c, unit), L->name_cols, false, true, st);
        term_buf_puts(line, " ");
    }
    char v[32];
    term_value_text(v, sizeof v, c->values[unit]);
    term_buf_fit(line, v, VALUE_COLS, true, false, st);
    if (c->share) {
        term_value_text(v, sizeof v, c->share[unit]);
        term_buf_puts(line, " ");
        term_buf_fit(line, v, VALUE_COLS, true, false, st);
    }
    term_buf_puts(line, st.unicode ? " \u2502" : " |");
    if (bar_sgr)
        term_buf_puts(line, bar_sgr);
    term_bar(line, bar_value(c, unit), L->bar_cols, st);
    if (bar_sgr)
        term_buf_puts(line, unused ? SGR_RESET SGR_DIM : SGR_RESET);
    term_buf_puts(line, st.unicode ? "\u2502" : "|");
    if (mark) {
        term_buf_puts(line, " ");
        if (bar_sgr)
            term_buf_puts(line, bar_sgr);
        term_buf_puts(line, mark);
    }
    if (st.color && (unused || bar_sgr))
        term_buf_puts(line, SGR_RESET);
    if (line->failed)
        out->failed = true;
    emit(out, line, L);
}

/* The summary of units [first, units): sum and largest of the outputs. */
static void unused_summary(term_buf *out, term_buf *line, const layout *L)
{
    const term_bars *c = L->c;
    int first = c->classes, last = c->units - 1, arg = first;
    double sum = 0, share_sum = 0;
    for (int u = first; u <= last; u++) {
        sum += c->values[u];
        if (c->share)
            share_sum += c->share[u];
        if (c->values[u] > c->values[arg])
            arg = u;
    }
    term_buf_clear(line);
    if (L->style.color)
        term_buf_puts(line, SGR_DIM);
    if (first == last)
        term_buf_printf(line, "unit %d: ", first);
    else
        term_buf_printf(line, "units %d..%d: ", first, last);
    term_buf_puts(line, "sum ");
    term_buf_value(line, sum);
    term_buf_puts(line, ", largest ");
    term_buf_value(line, c->values[arg]);
    term_buf_printf(line, " (unit %d)", arg);
    if (c->share) {
        term_buf_puts(line, "; share ");
        term_buf_value(line, share_sum);
    }
    if (L->style.color)
        term_buf_puts(line, SGR_RESET);
    emit(out, line, L);
}

/* Descending by the bar's value, NaN last, ties by unit: a stable order. */
typedef struct ranked {
    double value;
    int unit;
} ranked;

static int by_value_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return x->unit - y->unit;
}

int term_bar_chart(term_buf *out, const term_bars *c, int width, term_style style)
{
    if (c->units <= 0)
        return out->failed ? -1 : 0;
    int *order = malloc((size_t)c->units * sizeof *order);
    if (!order) {
        out->failed = true;
        return -1;
    }
    for (int u = 0; u < c->units; u++)
        order[u] = u;

    /* Which rows: all units, the top k, or the classes plus a summary. */
    int shown = c->units;
    bool extra_true = false, summary = false, extra_pred = false;
    if (c->top > 0) {
        ranked *r = malloc((size_t)c->units * sizeof *r);
        if (!r) {
            free(order);
            out->failed = true;
            return -1;
        }
        for (int u = 0; u < c->units; u++) {
            double v = bar_value(c, u);
            r[u] = (ranked){isnan(v) ? -INFINITY : v, u};
        }
        qsort(r, (size_t)c->units, sizeof *r, by_value_desc);
        for (int u = 0; u < c->units; u++)
            order[u] = r[u].unit;
        free(r);
        shown = c->top < c->units ? c->top : c->units;
        if (c->true_label >= 0 && c->true_label < c->units) {
            extra_true = true;
            for (int i = 0; i < shown; i++)
                if (order[i] == c->true_label)
                    extra_true = false;
        }
    } else if (c->collapse_unused && c->classes < c->units) {
        shown = c->classes > 0 ? c->classes : 0;
        summary = true;
        extra_pred = c->predicted >= c->classes && c->predicted < c->units;
    }

    /* Column widths from the rows that will be shown. */
    layout L = {.c = c, .width = width, .style = style};
    L.label_cols = c->units - 1 >= 10 ? (c->units - 1 >= 100 ? 3 : 2) : 1;
    if (c->units - 1 >= 1000)
        L.label_cols = 4;
    int marker_cols = 0;
    for (int i = 0; i < shown + 2; i++) {
        int u = i < shown ? order[i] : i == shown ? (extra_true ? c->true_label : -1)
                                                  : (extra_pred ? c->predicted : -1);
        if (u < 0)
            continue;
        int w = term_text_width(unit_name(c, u), strlen(unit_name(c, u)));
        if (w > L.name_cols)
            L.name_cols = w < NAME_MAX_COLS ? w : NAME_MAX_COLS;
        const char *m = marker(c, u);
        if (m && (int)strlen(m) + 1 > marker_cols)
            marker_cols = (int)strlen(m) + 1;
    }
    int value_cols = (c->share ? 2 : 1) * (VALUE_COLS + 1);
    int fixed = L.label_cols + 1 + (L.name_cols ? L.name_cols + 1 : 0) + value_cols - 1 + 3 + marker_cols;
    L.bar_cols = width - fixed;
    if (L.bar_cols < BAR_MIN_COLS && L.name_cols > NAME_MIN_COLS) {
        int give = BAR_MIN_COLS - L.bar_cols;
        if (give > L.name_cols - NAME_MIN_COLS)
            give = L.name_cols - NAME_MIN_COLS;
        L.name_cols -= give;
        L.bar_cols += give;
    }
    if (L.bar_cols < 1)
        L.bar_cols = 1;

    term_buf line;
    term_buf_init(&line);
    if (c->share) {
        term_buf_clear(&line);
        term_buf_repeat(&line, " ", L.label_cols + 1 + (L.name_cols ? L.name_cols + 1 : 0));
        term_buf_printf(&line, "%*s %*s", VALUE_COLS, "output", VALUE_COLS, "share");
        emit(out, &line, &L);
    }
    for (int i = 0; i < shown; i++)
        row(out, &line, &L, order[i]);
    if (summary)
        unused_summary(out, &line, &L);
    if (extra_pred)
        row(out, &line, &L, c->predicted);
    if (extra_true) {
        term_buf_clear(&line);
        term_buf_repeat(&line, " ", L.label_cols - 1);
        term_buf_puts(&line, "...");
        emit(out, &line, &L);
        row(out, &line, &L, c->true_label);
    }
    if (line.failed)
        out->failed = true;
    term_buf_free(&line);
    free(order);
    return out->failed ? -1 : 0;
}
