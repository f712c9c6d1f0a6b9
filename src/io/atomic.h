/* atomic.h: replacing a file so that it is either the old or the new one.
 *
 * The bytes go to a temporary file beside the target (same directory, so
 * the rename cannot cross file systems), which is flushed to disk (fsync)
 * and then renamed over the target. A failure at any step removes the
 * temporary file and leaves the old target untouched; the message names
 * the path, the step and the system's reason. Used by every writer in
 * src/io (PNG, SVG, and checkpoints when they come). */
#ifndef EMBER_IO_ATOMIC_H
#define EMBER_IO_ATOMIC_H

#include <stddef.h>

/* Returns 0, or -1 with a message in err (EMBER_ERR_SIZE bytes). The new
 * file gets the usual permissions (0666 less the umask). */
int io_write_atomic(const char *path, const void *data, size_t len, char *err);

#endif
