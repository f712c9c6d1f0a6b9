/* error.c: formatting of core error messages (see error.h). */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

int ember_fail(char *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, EMBER_ERR_SIZE, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void ember_shape_text(char *buf, size_t size, int rank, const int *shape)
{
    size_t used = 0;
    if (size == 0)
        return;
    buf[0] = 0;
    for (int i = 0; i < rank && used < size; i++) {
        int n = snprintf(buf + used, size - used, i ? "x%d" : "%d", shape[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}
