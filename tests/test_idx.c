/* test_idx.c: the IDX reader against files it writes itself.
 *
 * Every file is generated into a fresh mkdtemp directory, raw and gzip'd,
 * so the test needs no data on the machine. Good files must read back
 * byte for byte; each kind of damage must give its own message, leave the
 * output zeroed and allocate nothing it was not given data for. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "core/error.h"
#include "data/dataset.h"
#include "data/idx.h"
#include "testutil.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#ifdef TEST_ASAN
/* Under ASan an address-space rlimit cannot be used, so cap single
 * allocations instead: a reader that mallocs a header's 8 GiB claim gets
 * NULL and fails the huge-claim check with "out of memory". */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=1024";
}
#endif

static char test_dir[64];

static const char *test_path(const char *name)
{
    static char path[400];
    snprintf(path, sizeof path, "%s/%s", test_dir, name);
    return path;
}

static void write_raw(const char *name, const uint8_t *bytes, size_t n)
{
    FILE *f = fopen(test_path(name), "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(fwrite(bytes, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

static void write_gz(const char *name, const uint8_t *bytes, size_t n)
{
    gzFile gz = gzopen(test_path(name), "wb");
    CHECK(gz != NULL);
    if (!gz)
        return;
    CHECK(gzwrite(gz, bytes, (unsigned)n) == (int)n);
    CHECK(gzclose(gz) == Z_OK);
}

static void write_both(const char *name, const uint8_t *bytes, size_t n)
{
    char gzname[128];
    snprintf(gzname, sizeof gzname, "%s.gz", name);
    write_raw(name, bytes, n);
    write_gz(gzname, bytes, n);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An IDX uint8 file in buf: header for dims, then data_bytes of pattern
 * (which may differ from the header's product, to make damaged files).
 * Returns the total size. */
static size_t make_idx(uint8_t *buf, int rank, const uint32_t *dims, size_t data_bytes)
{
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = (uint8_t)rank;
    for (int i = 0; i < rank; i++)
        put_be32(buf + 4 + 4 * i, dims[i]);
    size_t head = 4 + 4 * (size_t)rank;
    for (size_t i = 0; i < data_bytes; i++)
        buf[head + i] = (uint8_t)(i * 37u % 251u);
    return head + data_bytes;
}

/* idx_read must fail on name with a message holding both path and want. */
static void expect_error(const char *name, idx_kind kind, const char *want)
{
    idx_array a;
    char err[EMBER_ERR_SIZE] = "";
    memset(&a, 0xab, sizeof a);
    int rc = idx_read(test_path(name), kind, &a, err);
    CHECK(rc == -1);
    CHECK(a.data == NULL && a.count == 0 && a.rank == 0);
    CHECK_STR_CONTAINS(err, test_path(name));
    CHECK_STR_CONTAINS(err, want);
    if (rc == 0)
        idx_free(&a);
}

static void expect_good(const char *name, idx_kind kind, int rank,
                        const uint32_t *dims, size_t count)
{
    idx_array a;
    char err[EMBER_ERR_SIZE] = "";
    int rc = idx_read(test_path(name), kind, &a, err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    CHECK(a.rank == rank);
    for (int i = 0; i < rank; i++)
        CHECK(a.dims[i] == dims[i]);
    CHECK(a.count == count);
    size_t same = 0;
    for (size_t i = 0; i < a.count; i++)
        same += a.data[i] == (uint8_t)(i * 37u % 251u);
    CHECK(same == count);
    idx_free(&a);
    CHECK(a.data == NULL && a.count == 0);
}

static void test_good_files(uint8_t *buf)
{
    uint32_t labels[1] = {100};
    write_both("labels", buf, make_idx(buf, 1, labels, 100));
    expect_good("labels", IDX_LABELS, 1, labels, 100);
    expect_good("labels.gz", IDX_LABELS, 1, labels, 100);

    uint32_t images[3] = {7, 5, 4};
    write_both("images", buf, make_idx(buf, 3, images, 140));
    expect_good("images", IDX_IMAGES, 3, images, 140);
    expect_good("images.gz", IDX_IMAGES, 3, images, 140);

    uint32_t flat[2] = {3, 9}, cube[4] = {2, 3, 4, 5};
    write_raw("flat", buf, make_idx(buf, 2, flat, 27));
    expect_good("flat", IDX_IMAGES, 2, flat, 27);
    write_raw("cube", buf, make_idx(buf, 4, cube, 120));
    expect_good("cube", IDX_IMAGES, 4, cube, 120);

    /* Larger than the reader's first chunk, so the buffer has to grow. */
    uint32_t big[3] = {300, 28, 28};
    write_gz("big.gz", buf, make_idx(buf, 3, big, 300 * 784));
    expect_good("big.gz", IDX_IMAGES, 3, big, 300 * 784);
}

static void test_bad_headers(uint8_t *buf)
{
    expect_error("images", IDX_LABELS,
                 "not an IDX labels file: magic 0x00000803 (expected 0x00000801)");
    expect_error("labels.gz", IDX_IMAGES,
                 "1 dimension: an images file has 2 to 4 (is this a labels file?)");

    const uint8_t png[8] = {0x89, 'P', 'N', 'G', 13, 10, 26, 10};
    write_raw("png", png, sizeof png);
    expect_error("png", IDX_IMAGES, "not an IDX images file: magic 0x89504e47 (expected 0x00000803)");

    uint32_t dims[5] = {2, 2, 2, 2, 2};
    size_t n = make_idx(buf, 1, dims, 2);
    buf[2] = 0x0d;
    write_raw("float", buf, n);
    expect_error("float", IDX_LABELS,
                 "type byte 0x0d is not 0x08 (unsigned byte): only uint8 IDX files are supported");

    write_raw("rank0", buf, make_idx(buf, 0, dims, 0));
    expect_error("rank0", IDX_IMAGES, "0 dimensions: an images file has 2 to 4");
    write_raw("rank5", buf, make_idx(buf, 5, dims, 32));
    expect_error("rank5", IDX_IMAGES, "5 dimensions: an images file has 2 to 4");

    write_raw("empty", buf, 0);
    expect_error("empty", IDX_LABELS, "too short for an IDX file: 0 bytes");
    n = make_idx(buf, 3, dims, 0);
    write_raw("shorthead", buf, n - 2);
    expect_error("shorthead", IDX_IMAGES,
                 "truncated header: 3 dimensions need 12 bytes after the magic, file holds 10");

    uint32_t huge[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu};
    write_raw("overflow", buf, make_idx(buf, 3, huge, 16));
    expect_error("overflow", IDX_IMAGES,
                 "dimensions 4294967295 x 4294967295 x 4294967295 overflow");
    uint32_t large[3] = {65536, 512, 1024};
    write_raw("large", buf, make_idx(buf, 3, large, 16));
    expect_error("large", IDX_IMAGES,
                 "make 34359738368 bytes, more than the limit of 17179869184");

    uint32_t none[3] = {0, 28, 28}, flat[3] = {3, 0, 4}, nolabels[1] = {0};
    write_raw("none", buf, make_idx(buf, 3, none, 0));
    expect_error("none", IDX_IMAGES, "holds no samples: header says 0 images");
    write_raw("nolabels", buf, make_idx(buf, 1, nolabels, 0));
    expect_error("nolabels", IDX_LABELS, "holds no samples: header says 0 labels");
    write_raw("zerodim", buf, make_idx(buf, 3, flat, 0));
    expect_error("zerodim", IDX_IMAGES, "dimension 2 of 3 x 0 x 4 is 0");
}

static void test_bad_lengths(uint8_t *buf)
{
    uint32_t labels[1] = {100}, images[3] = {7, 5, 4};
    write_both("shortlabels", buf, make_idx(buf, 1, labels, 99));
    expect_error("shortlabels", IDX_LABELS, "truncated: header says 100 labels, file holds 99");
    expect_error("shortlabels.gz", IDX_LABELS, "truncated: header says 100 labels, file holds 99");
    write_both("shortimages", buf, make_idx(buf, 3, images, 139));
    expect_error("shortimages", IDX_IMAGES,
                 "truncated: header says 7 images of 5x4, file holds 6 images and 19 bytes");
    expect_error("shortimages.gz", IDX_IMAGES,
                 "truncated: header says 7 images of 5x4, file holds 6 images and 19 bytes");
    write_raw("wholeimages", buf, make_idx(buf, 3, images, 120));
    expect_error("wholeimages", IDX_IMAGES,
                 "truncated: header says 7 images of 5x4, file holds 6 images");

    write_both("longlabels", buf, make_idx(buf, 1, labels, 112));
    expect_error("longlabels", IDX_LABELS,
                 "12 bytes of trailing data after the 100 labels the header declares");
    expect_error("longlabels.gz", IDX_LABELS,
                 "12 bytes of trailing data after the 100 labels the header declares");
    write_raw("longimages", buf, make_idx(buf, 3, images, 141));
    expect_error("longimages", IDX_IMAGES,
                 "1 byte of trailing data after the 7 images of 5x4 the header declares");
}

static long read_file(const char *name, uint8_t *buf, size_t size)
{
    FILE *f = fopen(test_path(name), "rb");
    if (!f)
        return -1;
    long n = (long)fread(buf, 1, size, f);
    fclose(f);
    return n;
}

static void test_bad_gzip(uint8_t *buf)
{
    /* big.gz from test_good_files: damage the middle of its deflate data. */
    static uint8_t gz[1 << 20];
    long n = read_file("big.gz", gz, sizeof gz);
    CHECK(n > 200);
    if (n <= 200)
        return;
    for (long i = n / 2; i < n / 2 + 8; i++)
        gz[i] ^= 0x5a;
    write_raw("corrupt.gz", gz, (size_t)n);
    expect_error("corrupt.gz", IDX_IMAGES, "corrupt gzip stream: ");

    /* A download cut short: the deflate stream simply stops. */
    read_file("big.gz", gz, sizeof gz);
    write_raw("cut.gz", gz, (size_t)n / 2);
    expect_error("cut.gz", IDX_IMAGES,
                 "truncated gzip stream: header says 300 images of 28x28, file holds ");
    (void)buf;
}

static void test_missing(void)
{
    expect_error("no-such-file", IDX_LABELS, "cannot open: No such file or directory");
    expect_error("", IDX_LABELS, "cannot read: Is a directory");
}

/* A 20-byte file claiming 8 GiB must fail on its length, not allocate. */
static void test_huge_claim(uint8_t *buf)
{
    uint32_t dims[3] = {1u << 20, 64, 128};
    write_raw("claim", buf, make_idx(buf, 3, dims, 4));
#ifdef TEST_ASAN
    expect_error("claim", IDX_IMAGES,
                 "truncated: header says 1048576 images of 64x128, file holds 0 images and 4 bytes");
#else
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct rlimit lim = {(rlim_t)1 << 30, (rlim_t)1 << 30};
        setrlimit(RLIMIT_AS, &lim);
        expect_error("claim", IDX_IMAGES,
                     "truncated: header says 1048576 images of 64x128, file holds 0 images and 4 bytes");
        _exit(test_failures ? 1 : 0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif
}

static void test_count_mismatch(void)
{
    dataset ds;
    char err[EMBER_ERR_SIZE] = "";
    char images[400], labels[400];
    snprintf(images, sizeof images, "%s", test_path("images.gz"));
    snprintf(labels, sizeof labels, "%s", test_path("labels"));
    CHECK(dataset_load_files(&ds, images, labels, NULL, err) == -1);
    CHECK(ds.pixels == NULL && ds.labels == NULL && ds.count == 0);
    char want[900];
    snprintf(want, sizeof want, "%s: 7 images but %s: 100 labels", images, labels);
    CHECK_STR_CONTAINS(err, want);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        CHECK(unlink(test_path(e->d_name)) == 0);
    }
    closedir(d);
    CHECK(rmdir(dir) == 0);
}

int main(void)
{
    snprintf(test_dir, sizeof test_dir, "/tmp/ember-test-idx-XXXXXX");
    if (!mkdtemp(test_dir)) {
        perror("mkdtemp");
        return 1;
    }
    static uint8_t buf[4 + 4 * 5 + 300 * 784 + 64];
    test_good_files(buf);
    test_bad_headers(buf);
    test_bad_lengths(buf);
    test_bad_gzip(buf);
    test_missing();
    test_huge_claim(buf);
    test_count_mismatch();
    remove_dir(test_dir);
    return test_report();
}
