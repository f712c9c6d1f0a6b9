/* atomic.c: write to a temporary file, fsync, rename (see atomic.h).
 *
 * The temporary name is "<path>.tmp.<pid>.<n>", created with O_EXCL so two
 * writers never share one; O_CREAT's mode 0666 lets the umask decide the
 * final permissions, as for any file the user creates. */
#include "io/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The directory part of path, for its fsync after the rename ("." if none). */
static void directory_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, size, ".");
    else if (slash == path)
        snprintf(dir, size, "/");
    else
        snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

int io_write_atomic(const char *path, const void *data, size_t len, char *err)
{
    size_t tmp_size = strlen(path) + 64;
    char *tmp = malloc(tmp_size);
    if (!tmp)
        return ember_fail(err, "cannot write '%s': out of memory", path);
    int fd = -1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(tmp, tmp_size, "%s.tmp.%ld.%ld", path, (long)getpid(), (long)(now.tv_nsec + attempt) % 1000000);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        char dir[4096];
        directory_of(path, dir, sizeof dir);
        free(tmp);
        return ember_fail(err, "cannot write '%s': cannot create a file in '%s' (%s)", path, dir, strerror(e));
    }
    const char *step = NULL;
    if (write_all(fd, data, len) < 0)
        step = "writing";
    else if (fsync(fd) < 0)
        step = "flushing to disk";
    int e = errno;
    if (close(fd) < 0 && !step) {
        step = "closing";
        e = errno;
    }
    if (!step && rename(tmp, path) < 0) {
        step = "renaming the temporary file over it";
        e = errno;
    }
    if (step) {
        unlink(tmp);
        free(tmp);
        return ember_fail(err, "cannot write '%s': %s failed (%s); the old file, if any, is unchanged",
                          path, step, strerror(e));
    }
    free(tmp);
    /* The rename itself reaches the disk with the directory: best effort. */
    char dir[4096];
    directory_of(path, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}
