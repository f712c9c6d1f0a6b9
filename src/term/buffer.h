/* buffer.h: the text buffer every renderer writes into, and the style flag.
 *
 *   term_buf b;
 *   term_buf_init(&b);
 *   term_bar_chart(&b, &chart, 80, (term_style){.color = false, .unicode = false});
 *   fputs(term_buf_str(&b), stdout);          -- written once, no flicker
 *   term_buf_free(&b);
 *
 * Renderers never probe the terminal: whether colour and Unicode are
 * allowed is decided once by the caller (NO_COLOR, isatty, the locale) and
 * passed in as a term_style. With both false every renderer writes plain
 * ASCII, which is what tests and pipes see.
 *
 * Running out of memory is sticky: the first failed append sets `failed`,
 * later appends do nothing, and the renderer returns -1. The text is always
 * NUL-terminated, so term_buf_str is safe at any point. */
#ifndef EMBER_TERM_BUFFER_H
#define EMBER_TERM_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct term_style {
    bool color;     /* ANSI SGR escapes (256-colour greys included) */
    bool unicode;   /* UTF-8 box drawing, blocks, braille */
} term_style;

typedef struct term_buf {
    char  *data;    /* NULL until the first append */
    size_t len;     /* bytes, without the terminating NUL */
    size_t cap;
    bool   failed;  /* an allocation failed: the text is incomplete */
} term_buf;

void term_buf_init(term_buf *b);
void term_buf_free(term_buf *b);
/* Empties the text and keeps the memory for the next render. */
void term_buf_clear(term_buf *b);
/* The text so far; "" before anything was appended. */
const char *term_buf_str(const term_buf *b);

/* Each returns 0, or -1 once the buffer has failed. */
int term_buf_append(term_buf *b, const char *s, size_t n);
int term_buf_puts(term_buf *b, const char *s);
int term_buf_printf(term_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* s appended n times (n <= 0: nothing). */
int term_buf_repeat(term_buf *b, const char *s, int n);

/* Appends text in exactly `cols` display columns: padded with spaces (on
 * the right, or on the left when right_align), or cut, with '~' (ASCII) or
 * U+2026 (Unicode) as the last column when mark is set. */
int term_buf_fit(term_buf *b, const char *text, int cols, bool right_align, bool mark, term_style style);

/* Display columns of the first n bytes of s: UTF-8 code points, with ANSI
 * escape sequences (ESC [ ... letter) counted as zero. Every character the
 * renderers emit is one column wide. */
int term_text_width(const char *s, size_t n);

/* Joins two rendered blocks line by line: each line of `left` padded to
 * the widest left line, then `gap` spaces, then the matching line of
 * `right`. The shorter block is padded with empty lines; no trailing
 * spaces are added after a left line with nothing to its right. */
int term_side_by_side(term_buf *out, const char *left, const char *right, int gap);

/* Shared by the renderers: "0.1234", or "1.23e-05" for values so small
 * that four decimals would hide them (and for |v| >= 1000). At most 9
 * columns; buf should hold 16 bytes. term_buf_value appends the same. */
void term_value_text(char *buf, size_t size, double v);
int term_buf_value(term_buf *b, double v);

#endif
