/* idx.c: the IDX reader (see idx.h).
 *
 * Order of work: magic, type, rank, dimensions, size (with overflow and
 * limit checks), then the data in chunks into a buffer that doubles as
 * bytes arrive, then one more read to catch trailing bytes. Every failure
 * is a message that starts with the path and says what was expected and
 * what was found; nothing here prints, exits or trusts a header field. */
#include "data/idx.h"

#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { IDX_TYPE_UBYTE = 0x08 };

#define IDX_FIRST_CHUNK    ((size_t)1 << 16)
#define IDX_MAX_READ       ((size_t)1 << 30)  /* gzread takes an unsigned int */
#define IDX_TRAILING_LIMIT ((uint64_t)1 << 20) /* stop counting garbage here */

static uint32_t idx_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static const char *idx_noun(idx_kind kind, uint64_t n)
{
    if (kind == IDX_LABELS)
        return n == 1 ? "label" : "labels";
    return n == 1 ? "image" : "images";
}

/* "28x28": the per-sample dimensions of an images file. */
static void idx_sample_shape(const idx_array *a, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 1; i < a->rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lu",
                                 i > 1 ? "x" : "", (unsigned long)a->dims[i]);
}

/* "10000 labels" or "60000 images of 28x28": what the header declares. */
static void idx_declared(const idx_array *a, idx_kind kind, char *buf, size_t size)
{
    if (kind == IDX_LABELS) {
        snprintf(buf, size, "%lu %s", (unsigned long)a->dims[0],
                 idx_noun(kind, a->dims[0]));
    } else {
        char shape[64];
        idx_sample_shape(a, shape, sizeof shape);
        snprintf(buf, size, "%lu %s of %s", (unsigned long)a->dims[0],
                 idx_noun(kind, a->dims[0]), shape);
    }
}

/* "4294967295 x 4294967295 x 4294967295": all dimensions, for messages. */
static void idx_all_dims(const idx_array *a, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < a->rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lu",
                                 i ? " x " : "", (unsigned long)a->dims[i]);
}

static int idx_stream_error(gzFile gz, const char *path, char *err)
{
    int saved = errno, code = Z_OK;
    const char *msg = gzerror(gz, &code);
    if (code == Z_ERRNO)
        return ember_fail(err, "%s: cannot read: %s", path, strerror(saved));
    return ember_fail(err, "%s: corrupt gzip stream: %s", path, msg);
}

/* Reads up to n bytes; *got < n only at end of file. */
static int idx_read_bytes(gzFile gz, const char *path, void *buf, size_t n,
                          size_t *got, char *err)
{
    *got = 0;
    while (*got < n) {
        size_t want = n - *got;
        if (want > IDX_MAX_READ)
            want = IDX_MAX_READ;
        errno = 0;
        int k = gzread(gz, (char *)buf + *got, (unsigned)want);
        if (k < 0)
            return idx_stream_error(gz, path, err);
        if (k == 0)
            break;
        *got += (size_t)k;
    }
    return 0;
}

/* Magic, type, rank and dimensions into a; a->count is left for later. */
static int idx_read_header(gzFile gz, const char *path, idx_kind kind,
                           idx_array *a, char *err)
{
    uint8_t head[4 + 4 * 4];
    size_t got;
    if (idx_read_bytes(gz, path, head, 4, &got, err))
        return -1;
    if (got < 4)
        return ember_fail(err, "%s: too short for an IDX file: %zu byte%s "
                          "(an IDX file starts with a 4-byte magic number)",
                          path, got, got == 1 ? "" : "s");

    uint32_t magic = idx_be32(head);
    uint32_t expected = kind == IDX_LABELS ? 0x00000801u : 0x00000803u;
    const char *what = kind == IDX_LABELS ? "labels" : "images";
    if (head[0] != 0 || head[1] != 0)
        return ember_fail(err, "%s: not an IDX %s file: magic 0x%08lx (expected 0x%08lx)",
                          path, what, (unsigned long)magic, (unsigned long)expected);
    if (head[2] != IDX_TYPE_UBYTE)
        return ember_fail(err, "%s: type byte 0x%02x is not 0x08 (unsigned byte): "
                          "only uint8 IDX files are supported", path, head[2]);

    int rank = head[3];
    if (kind == IDX_LABELS && rank != 1)
        return ember_fail(err, "%s: not an IDX labels file: magic 0x%08lx (expected 0x00000801)%s",
                          path, (unsigned long)magic,
                          rank >= 2 && rank <= 4 ? ": is this an images file?" : "");
    if (kind == IDX_IMAGES && (rank < 2 || rank > 4))
        return ember_fail(err, "%s: %d dimension%s: an images file has 2 to 4%s",
                          path, rank, rank == 1 ? "" : "s",
                          rank == 1 ? " (is this a labels file?)" : "");

    size_t need = 4 * (size_t)rank;
    if (idx_read_bytes(gz, path, head + 4, need, &got, err))
        return -1;
    if (got < need)
        return ember_fail(err, "%s: truncated header: %d dimensions need %zu bytes "
                          "after the magic, file holds %zu", path, rank, need, got);
    a->rank = rank;
    for (int i = 0; i < rank; i++)
        a->dims[i] = idx_be32(head + 4 + 4 * i);
    return 0;
}

/* The data size the header declares, checked for zeros, overflow and the
 * limit before anything is allocated. */
static int idx_data_size(const char *path, idx_kind kind, const idx_array *a,
                         size_t *size, char *err)
{
    char dims[128];
    idx_all_dims(a, dims, sizeof dims);
    if (a->dims[0] == 0)
        return ember_fail(err, "%s: holds no samples: header says 0 %s",
                          path, idx_noun(kind, 0));
    for (int i = 1; i < a->rank; i++)
        if (a->dims[i] == 0)
            return ember_fail(err, "%s: dimension %d of %s is 0: an image needs "
                              "at least one pixel", path, i + 1, dims);

    uint64_t total = 1;
    for (int i = 0; i < a->rank; i++) {
        if (total > UINT64_MAX / a->dims[i])
            return ember_fail(err, "%s: dimensions %s overflow a 64-bit size: "
                              "this is not a real IDX file", path, dims);
        total *= a->dims[i];
    }
    uint64_t limit = IDX_MAX_BYTES < SIZE_MAX ? IDX_MAX_BYTES : (uint64_t)SIZE_MAX;
    if (total > limit)
        return ember_fail(err, "%s: dimensions %s make %llu bytes, more than the "
                          "limit of %llu", path, dims, (unsigned long long)total,
                          (unsigned long long)limit);
    *size = (size_t)total;
    return 0;
}

/* Reads exactly size bytes, growing the buffer only as data arrives. */
static int idx_read_data(gzFile gz, const char *path, idx_kind kind,
                         idx_array *a, size_t size, char *err)
{
    size_t cap = size < IDX_FIRST_CHUNK ? size : IDX_FIRST_CHUNK;
    size_t have = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return ember_fail(err, "%s: out of memory reading %zu bytes", path, cap);
    for (;;) {
        size_t got;
        if (idx_read_bytes(gz, path, buf + have, cap - have, &got, err))
            goto fail;
        have += got;
        if (have < cap || cap == size)
            break;
        size_t next = cap > size / 2 ? size : cap * 2;
        uint8_t *grown = realloc(buf, next);
        if (!grown) {
            ember_fail(err, "%s: out of memory reading %zu bytes", path, next);
            goto fail;
        }
        buf = grown;
        cap = next;
    }

    char declared[160];
    idx_declared(a, kind, declared, sizeof declared);
    if (have < size) {
        /* zlib reports a gzip stream cut short as end of file plus
         * Z_BUF_ERROR; say so, since the cause is the download, not the
         * header. */
        int code = Z_OK;
        gzerror(gz, &code);
        const char *how = code == Z_BUF_ERROR ? "truncated gzip stream" : "truncated";
        size_t sample = size / a->dims[0];
        if (kind == IDX_LABELS)
            ember_fail(err, "%s: %s: header says %s, file holds %zu",
                       path, how, declared, have);
        else if (have % sample)
            ember_fail(err, "%s: %s: header says %s, file holds %zu %s and %zu byte%s",
                       path, how, declared, have / sample,
                       idx_noun(kind, have / sample), have % sample,
                       have % sample == 1 ? "" : "s");
        else
            ember_fail(err, "%s: %s: header says %s, file holds %zu %s",
                       path, how, declared, have / sample,
                       idx_noun(kind, have / sample));
        goto fail;
    }

    /* Count what follows the data, up to a limit (a FIFO may never end). */
    uint64_t extra = 0;
    while (extra < IDX_TRAILING_LIMIT) {
        uint8_t scratch[4096];
        size_t got;
        if (idx_read_bytes(gz, path, scratch, sizeof scratch, &got, err))
            goto fail;
        extra += got;
        if (got < sizeof scratch)
            break;
    }
    if (extra > 0) {
        ember_fail(err, "%s: %s%llu byte%s of trailing data after the %s the header declares",
                   path, extra >= IDX_TRAILING_LIMIT ? "at least " : "",
                   (unsigned long long)extra, extra == 1 ? "" : "s", declared);
        goto fail;
    }
    a->data = buf;
    a->count = size;
    return 0;
fail:
    free(buf);
    return -1;
}

int idx_read(const char *path, idx_kind kind, idx_array *out, char *err)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return ember_fail(err, "idx_read: no path given");
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return ember_fail(err, "%s: cannot open: %s", path,
                          errno ? strerror(errno) : "out of memory");
    gzbuffer(gz, 1u << 17);  /* fewer system calls on 47 MB of images */

    idx_array a = {0};
    size_t size = 0;
    int rc = idx_read_header(gz, path, kind, &a, err);
    if (rc == 0)
        rc = idx_data_size(path, kind, &a, &size, err);
    if (rc == 0)
        rc = idx_read_data(gz, path, kind, &a, size, err);
    gzclose(gz);
    if (rc == 0)
        *out = a;
    return rc;
}

void idx_free(idx_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}
