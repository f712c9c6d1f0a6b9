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

size_t term_progress(char *buf, size_t size, int64_t done, int64_t total,
                     double elapsed, int finished, int bar_width,
                     const progress_metric *metrics, int n_metrics)
{
    if (size == 0)
        return 0;
    buf[0] = 0;
    int digits = snprintf(NULL, 0, "%lld", (long long)total);
    size_t used = append(buf, size, 0, "%*lld/%lld", digits, (long long)done, (long long)total);
    if (bar_width > 0) {
        /* Keras: '=' for done, '>' at the head while running, '.' after. */
        int filled = total > 0 ? (int)(bar_width * done / total) : bar_width;
        used = append(buf, size, used, " [");
        for (int i = 0; i < bar_width; i++) {
            char ch = i < filled ? '=' : '.';
            if (i == filled - 1 && done < total)
                ch = '>';
            used = append(buf, size, used, "%c", ch);
        }
        used = append(buf, size, used, "]");
    }
    char a[32], b[32];
    if (finished) {
        term_duration(a, sizeof a, elapsed);
        term_duration(b, sizeof b, done > 0 ? elapsed / done : 0.0);
        used = append(buf, size, used, " - %s %s/step", a, b);
    } else {
        double eta = done > 0 ? elapsed / done * (total - done) : 0.0;
        term_duration(a, sizeof a, eta);
        used = append(buf, size, used, " - ETA: %s", a);
    }
    for (int i = 0; i < n_metrics; i++)
        used = append(buf, size, used, " - %s: %.4f", metrics[i].name, metrics[i].value);
    return used;
}
