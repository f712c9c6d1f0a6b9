/* error.h: how the core reports failure.
 *
 * Functions that can fail on user input return 0 on success and -1 on
 * failure, writing a complete, human-readable sentence into a caller-owned
 * buffer of EMBER_ERR_SIZE bytes. The core never exits, never asserts on
 * user input and never prints: the caller decides what to do with the text
 * (the Lua bindings raise it, the C driver prints it). */
#ifndef EMBER_ERROR_H
#define EMBER_ERROR_H

#include <stddef.h>

#define EMBER_ERR_SIZE 512

/* Formats the message into err (which may be NULL) and returns -1, so a
 * failing path reads `return ember_fail(err, "...", ...);`. */
int ember_fail(char *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* "28x28": a sample shape as error messages show it. */
void ember_shape_text(char *buf, size_t size, int rank, const int *shape);

#endif
