/* progress.c: the Keras-style progress line (see progress.h). */
#include "term/progress.h"

#include <stdarg.h>
#include <stdio.h>

/* snprintf that keeps appending safely past a full buffer. */
static size_t append(char *buf, size_t size, size_t used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t append(char *buf, size_t size, size_t used, const char *fmt, ...)
{
    if (used >= size)
        return used;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
    if (n < 0)
        return used;
    return used + (size_t)n >= size ? size - 1 : used + (size_t)n;
}

size_t term_duration(char *buf, size_t size, double seconds)
{
    if (seconds >= 1.0)
        return append(buf, size, 0, "%.0fs", seconds);
    if (seconds >= 1e-3)
        return append(buf, size, 0, "%.0fms", seconds * 1e3);
    return append(buf, size, 0, "%.0fus", seconds * 1e6);
}

size_t term_progress(char *buf, size_t size, const progress_line *p)
{
    if (size == 0)
        return 0;
    buf[0] = 0;
    int64_t done = p->done, total = p->total;
    int64_t timed = p->timed > 0 ? p->timed : done;
    int digits = snprintf(NULL, 0, "%lld", (long long)total);
    size_t used = append(buf, size, 0, "%*lld/%lld", digits, (long long)done, (long long)total);
    if (p->bar_width > 0) {
        /* Keras: '=' for done, '>' at the head while running, '.' after. */
        int width = p->bar_width;
        int filled = total > 0 ? (int)(width * done / total) : width;
        used = append(buf, size, used, " [");
        for (int i = 0; i < width; i++) {
            char ch = i < filled ? '=' : '.';
            if (i == filled - 1 && done < total)
                ch = '>';
            used = append(buf, size, used, "%c", ch);
        }
        used = append(buf, size, used, "]");
    }
    char a[32], b[32];
    double per_step = timed > 0 ? p->elapsed / timed : 0.0;
    if (p->finished) {
        term_duration(a, sizeof a, p->elapsed);
        term_duration(b, sizeof b, per_step);
        used = append(buf, size, used, " - %s %s/step", a, b);
    } else {
        term_duration(a, sizeof a, per_step * (total - done));
        used = append(buf, size, used, " - ETA: %s", a);
    }
    for (int i = 0; i < p->n_metrics; i++)
        used = append(buf, size, used, " - %s: %.4f", p->metrics[i].name, p->metrics[i].value);
    return used;
}
