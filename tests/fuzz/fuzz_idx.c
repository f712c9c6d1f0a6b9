/* fuzz_idx.c: libFuzzer target for the IDX reader (src/data/idx.c).
 *
 * idx_read takes a path and reads through zlib's gzopen, so each input is
 * put in a memory file (memfd_create, made once per process) and read
 * back through /proc/self/fd/N: no file on disk, nothing shared between
 * parallel fuzzers, and the reader's real code path (gzopen, gzread, raw
 * or gzip'd) is the one exercised. Every file is read as both kinds.
 *
 * zlib is not instrumented, so the fuzzer cannot see its way into a gzip
 * stream by itself (a gzip'd seed looks no different from a raw one and
 * is dropped). The first byte of an input therefore says how the rest,
 * the IDX bytes, is laid in the file:
 *     mode 0: as it is (a raw file, or whatever the fuzzer made)
 *     mode 1: gzip'd
 *     mode 2: gzip'd, then cut to the length in bytes 1-2 (big-endian)
 *     mode 3: gzip'd, then byte (bytes 1-2) of the stream XORed with byte 3
 * Modes 2 and 3 keep 4 bytes of prefix; the IDX bytes follow it.
 * tests/fuzz/seeds.c writes seeds in this form.
 *
 * Besides the sanitizers, the target checks the reader's contract: a
 * success holds exactly the product of the dimensions, within the limit;
 * a failure leaves the array zeroed and a message that starts with the
 * path. A broken contract aborts, which libFuzzer reports as a crash. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "data/idx.h"

static int  memory_file = -1;
static char memory_path[64];

static void check_contract(int rc, const idx_array *a, idx_kind kind, const char *err)
{
    if (rc == 0) {
        size_t count = 1;
        for (int i = 0; i < a->rank; i++)
            count *= a->dims[i];
        int rank_ok = kind == IDX_LABELS ? a->rank == 1 : a->rank >= 2 && a->rank <= 4;
        if (!rank_ok || a->dims[0] == 0 || a->count != count || !a->data ||
            (uint64_t)a->count > IDX_MAX_BYTES)
            abort();
    } else {
        static const idx_array zero;
        if (memcmp(a, &zero, sizeof zero) != 0)
            abort();
        if (strncmp(err, memory_path, strlen(memory_path)) != 0 ||
            !memchr(err, '\0', EMBER_ERR_SIZE))
            abort();
    }
}

/* gzip's format (deflate with a gzip header and trailer) into a new
 * buffer; *n is its length. */
static unsigned char *gzip(const uint8_t *data, size_t size, size_t *n)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&z, size);
    unsigned char *out = malloc(cap);
    if (!out)
        abort();
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    *n = z.total_out;
    deflateEnd(&z);
    return out;
}

static void put_file(const uint8_t *data, size_t size)
{
    if (ftruncate(memory_file, 0) != 0 ||
        (size > 0 && pwrite(memory_file, data, size, 0) != (ssize_t)size)) {
        perror("fuzz_idx: writing the memory file");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memory_file < 0) {
        memory_file = memfd_create("fuzz_idx", 0);
        if (memory_file < 0) {
            perror("fuzz_idx: memfd_create");
            abort();
        }
        snprintf(memory_path, sizeof memory_path, "/proc/self/fd/%d", memory_file);
    }
    if (size < 1)
        return 0;
    int mode = data[0] % 4;
    if (mode == 0) {
        put_file(data + 1, size - 1);
    } else {
        size_t skip = mode == 1 ? 1 : 4;
        if (size < skip)
            return 0;
        size_t n;
        unsigned char *z = gzip(data + skip, size - skip, &n);
        size_t at = mode == 1 ? 0 : (size_t)data[1] << 8 | data[2];
        if (mode == 2 && at < n)
            n = at;
        if (mode == 3)
            z[at % n] ^= data[3] ? data[3] : 0x01;
        put_file(z, n);
        free(z);
    }

    static const idx_kind kinds[] = {IDX_LABELS, IDX_IMAGES};
    for (int k = 0; k < 2; k++) {
        idx_array a;
        char err[EMBER_ERR_SIZE] = "";
        int rc = idx_read(memory_path, kinds[k], &a, err);
        check_contract(rc, &a, kinds[k], err);
        idx_free(&a);
    }
    return 0;
}
