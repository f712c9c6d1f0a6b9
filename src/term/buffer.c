/* buffer.c: the growable text buffer and the width helpers (see buffer.h).
 *
 * Must never print or probe the terminal: it only holds text. */
#include "term/buffer.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void term_buf_init(term_buf *b)
{
    *b = (term_buf){0};
}

void term_buf_free(term_buf *b)
{
    free(b->data);
    *b = (term_buf){0};
}

void term_buf_clear(term_buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = 0;
}

const char *term_buf_str(const term_buf *b)
{
    return b->data ? b->data : "";
}

/* Room for `extra` more bytes plus the NUL; doubles to keep appends O(1). */
static int reserve(term_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->failed = true;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int term_buf_append(term_buf *b, const char *s, size_t n)
{
    if (reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int term_buf_puts(term_buf *b, const char *s)
{
    return term_buf_append(b, s, strlen(s));
}

int term_buf_printf(term_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) < 0) {
        b->failed = true;
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int term_buf_repeat(term_buf *b, const char *s, int n)
{
    size_t len = strlen(s);
    for (int i = 0; i < n; i++)
        if (term_buf_append(b, s, len) < 0)
            return -1;
    return b->failed ? -1 : 0;
}

/* Length in bytes of the escape sequence at s (ESC [ params final), or 0. */
static size_t escape_len(const char *s, size_t n)
{
    if (n < 2 || s[0] != '\033' || s[1] != '[')
        return 0;
    size_t i = 2;
    while (i < n && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x40)
        i++;
    return i < n ? i + 1 : n;
}

int term_text_width(const char *s, size_t n)
{
    int cols = 0;
    for (size_t i = 0; i < n;) {
        size_t esc = escape_len(s + i, n - i);
        if (esc) {
            i += esc;
            continue;
        }
        /* Continuation bytes 10xxxxxx do not start a code point. */
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            cols++;
        i++;
    }
    return cols;
}

/* Bytes of the first `cols` code points of s (escapes included, not counted). */
static size_t prefix_bytes(const char *s, size_t n, int cols)
{
    size_t i = 0;
    int seen = 0;
    while (i < n) {
        size_t esc = escape_len(s + i, n - i);
        if (esc) {
            i += esc;
            continue;
        }
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (seen == cols)
                break;
            seen++;
        }
        i++;
    }
    return i;
}

int term_buf_fit(term_buf *b, const char *text, int cols, bool right_align, bool mark, term_style style)
{
    if (cols <= 0)
        return b->failed ? -1 : 0;
    size_t n = strlen(text);
    int w = term_text_width(text, n);
    if (w <= cols) {
        if (right_align)
            term_buf_repeat(b, " ", cols - w);
        term_buf_append(b, text, n);
        if (!right_align)
            term_buf_repeat(b, " ", cols - w);
        return b->failed ? -1 : 0;
    }
    int keep = mark ? cols - 1 : cols;
    term_buf_append(b, text, prefix_bytes(text, n, keep));
    if (mark)
        term_buf_puts(b, style.unicode ? "\u2026" : "~");
    return b->failed ? -1 : 0;
}

void term_value_text(char *buf, size_t size, double v)
{
    double a = fabs(v);
    snprintf(buf, size, a != 0 && (a < 1e-3 || a >= 1e3) ? "%.2e" : "%.4f", v);
}

int term_buf_value(term_buf *b, double v)
{
    char text[32];
    term_value_text(text, sizeof text, v);
    return term_buf_puts(b, text);
}

/* The next line of *s (without its '\n'), advancing *s; false at the end. */
static bool next_line(const char **s, const char **line, size_t *len)
{
    if (!*s || !**s)
        return false;
    const char *nl = strchr(*s, '\n');
    *line = *s;
    *len = nl ? (size_t)(nl - *s) : strlen(*s);
    *s = nl ? nl + 1 : *s + *len;
    return true;
}

int term_side_by_side(term_buf *out, const char *left, const char *right, int gap)
{
    int left_w = 0;
    const char *p = left, *line;
    size_t len;
    while (next_line(&p, &line, &len)) {
        int w = term_text_width(line, len);
        if (w > left_w)
            left_w = w;
    }
    const char *l = left, *r = right;
    for (;;) {
        const char *ll = NULL, *rl = NULL;
        size_t ln = 0, rn = 0;
        bool has_l = next_line(&l, &ll, &ln);
        bool has_r = next_line(&r, &rl, &rn);
        if (!has_l && !has_r)
            break;
        if (has_l)
            term_buf_append(out, ll, ln);
        if (has_r && rn > 0) {
            term_buf_repeat(out, " ", left_w - (has_l ? term_text_width(ll, ln) : 0) + gap);
            term_buf_append(out, rl, rn);
        }
        term_buf_puts(out, "\n");
    }
    return out->failed ? -1 : 0;
}
