/* test_png.c: the PNG writer and the tile grid (src/io/png.c).
 *
 * Every file written is read back here with a small independent reader:
 * the signature, the chunk sequence IHDR IDAT.. IEND, the CRC-32 of every
 * chunk recomputed with zlib, the IHDR fields, and the IDAT data inflated
 * (zlib uncompress) and compared with the input pixels row by row, each
 * behind its filter byte 0. Then the atomic write: errors that leave
 * nothing behind and an old file intact. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "io/png.h"
#include "testutil.h"

static char dir[64];

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(n > 0 ? (size_t)n : 1);
    *len = data ? fread(data, 1, (size_t)n, f) : 0;
    fclose(f);
    return data;
}

/* Checks a whole PNG file against the w x h pixels it must hold. */
static void check_png(const char *path, const uint8_t *pixels, int w, int h)
{
    size_t len = 0;
    uint8_t *f = read_all(path, &len);
    CHECK(f != NULL);
    if (!f)
        return;
    static const uint8_t sig[8] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A};
    CHECK(len > 8 && memcmp(f, sig, 8) == 0);

    uint8_t *idat = NULL;
    size_t idat_len = 0, pos = 8;
    int chunk = 0;
    bool ihdr_ok = false, iend = false;
    while (pos + 12 <= len && !iend) {
        uint32_t n = get_u32(f + pos);
        CHECK(pos + 12 + n <= len);
        if (pos + 12 + n > len)
            break;
        const uint8_t *type = f + pos + 4, *data = f + pos + 8;
        uLong crc = crc32(crc32(0L, Z_NULL, 0), type, 4 + n);
        CHECK(get_u32(data + n) == (uint32_t)crc);
        if (chunk == 0) {
            CHECK(memcmp(type, "IHDR", 4) == 0 && n == 13);
            ihdr_ok = memcmp(type, "IHDR", 4) == 0 && n == 13 && get_u32(data) == (uint32_t)w &&
                      get_u32(data + 4) == (uint32_t)h && data[8] == 8 && data[9] == 0 &&
                      data[10] == 0 && data[11] == 0 && data[12] == 0;
            CHECK(ihdr_ok);
        } else if (memcmp(type, "IDAT", 4) == 0) {
            uint8_t *more = realloc(idat, idat_len + n + 1);
            CHECK(more != NULL);
            if (!more)
                break;
            idat = more;
            memcpy(idat + idat_len, data, n);
            idat_len += n;
        } else if (memcmp(type, "IEND", 4) == 0) {
            CHECK(n == 0);
            iend = true;
        } else {
            CHECK(!"unexpected chunk");
        }
        pos += 12 + n;
        chunk++;
    }
    CHECK(iend && pos == len);   /* IEND last, nothing after it */

    uLongf raw_len = (uLongf)((size_t)(w + 1) * (size_t)h);
    uint8_t *raw = malloc(raw_len + 1);
    uLongf got = raw_len + 1;
    CHECK(idat && raw && uncompress(raw, &got, idat, (uLong)idat_len) == Z_OK);
    CHECK(got == raw_len);
    if (idat && raw && got == raw_len) {
        int bad = 0;
        for (int y = 0; y < h; y++) {
            const uint8_t *r = raw + (size_t)y * (size_t)(w + 1);
            bad += r[0] != 0 || memcmp(r + 1, pixels + (size_t)y * (size_t)w, (size_t)w) != 0;
        }
        CHECK(bad == 0);
    }
    free(raw);
    free(idat);
    free(f);
}

/* Files in the test directory whose name contains `part`. */
static int files_with(const char *part)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, part) != NULL;
    if (d)
        closedir(d);
    return n;
}

static void test_roundtrip(void)
{
    char path[128], err[EMBER_ERR_SIZE];
    int sizes[][2] = {{1, 1}, {28, 28}, {200, 3}, {3, 200}, {57, 57}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        uint8_t *px = malloc((size_t)w * (size_t)h);
        uint32_t s = 12345u + (uint32_t)k;
        for (int i = 0; i < w * h; i++) {
            s = s * 1664525u + 1013904223u;   /* noise, so deflate has work */
            px[i] = (uint8_t)(i % 3 == 0 ? s >> 24 : (uint32_t)i);
        }
        snprintf(path, sizeof path, "%s/img%zu.png", dir, k);
        CHECK(png_write_gray(path, px, w, h, err) == 0);
        check_png(path, px, w, h);
        free(px);
    }
    /* Encoding in memory gives the same bytes as the file. */
    uint8_t px[4] = {0, 85, 170, 255};
    size_t len = 0, flen = 0;
    uint8_t *mem = png_encode_gray(px, 2, 2, &len, err);
    snprintf(path, sizeof path, "%s/two.png", dir);
    CHECK(png_write_gray(path, px, 2, 2, err) == 0);
    uint8_t *file = read_all(path, &flen);
    CHECK(mem && file && len == flen && memcmp(mem, file, len) == 0);
    free(mem);
    free(file);
    CHECK(files_with(".tmp.") == 0);
}

static void test_errors(void)
{
    char path[128], err[EMBER_ERR_SIZE];
    uint8_t px[4] = {1, 2, 3, 4};
    struct stat st;

    /* A missing directory: an error naming path and reason, no file. */
    snprintf(path, sizeof path, "%s/missing/a.png", dir);
    err[0] = 0;
    CHECK(png_write_gray(path, px, 2, 2, err) == -1);
    CHECK_STR_CONTAINS(err, path);
    CHECK_STR_CONTAINS(err, "No such file or directory");
    CHECK(stat(path, &st) != 0);

    /* Bad sizes are refused before anything is touched. */
    snprintf(path, sizeof path, "%s/old.png", dir);
    uint8_t old[1] = {7};
    CHECK(png_write_gray(path, old, 1, 1, err) == 0);
    CHECK(png_write_gray(path, px, 0, 2, err) == -1);
    CHECK_STR_CONTAINS(err, "image size 0x2");
    CHECK(png_write_gray(path, px, PNG_MAX_SIDE + 1, 1, err) == -1);
    check_png(path, old, 1, 1);

    /* An existing file is replaced whole. */
    CHECK(png_write_gray(path, px, 2, 2, err) == 0);
    check_png(path, px, 2, 2);

    /* A failure after the temporary file was written (the target is a
     * directory, so the rename fails): reported, the temporary file is
     * gone, the directory and its content are untouched. */
    char target[128], inside[160];
    snprintf(target, sizeof target, "%s/adir.png", dir);
    snprintf(inside, sizeof inside, "%s/keep", target);
    CHECK(mkdir(target, 0755) == 0);
    FILE *f = fopen(inside, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    err[0] = 0;
    CHECK(png_write_gray(target, px, 2, 2, err) == -1);
    CHECK_STR_CONTAINS(err, "renaming");
    CHECK_STR_CONTAINS(err, "unchanged");
    CHECK(stat(inside, &st) == 0 && S_ISDIR((stat(target, &st), st.st_mode)));
    CHECK(files_with(".tmp.") == 0);
    unlink(inside);
    rmdir(target);
}

static void test_tiles(void)
{
    char err[EMBER_ERR_SIZE];
    /* A 784 x 3 weight matrix, one column per unit: tile 0 a ramp, tile 1
     * negated (its minimum where tile 0 has its maximum), tile 2 constant. */
    enum { UNITS = 3, PIX = 28 * 28 };
    float *W = malloc(sizeof(float) * PIX * UNITS);
    for (int i = 0; i < PIX; i++) {
        W[i * UNITS + 0] = (float)i * 0.01f - 1.0f;
        W[i * UNITS + 1] = -(float)i;
        W[i * UNITS + 2] = 0.25f;
    }
    W[5 * UNITS + 1] = NAN;   /* ignored by min/max, drawn black */
    int w = 0, h = 0;
    uint8_t *g = png_tile(&(png_tiles){.data = W, .count = UNITS, .tile_h = 28, .tile_w = 28,
                                       .tile_stride = 1, .pixel_stride = UNITS, .normalize = true,
                                       .background = 200},
                          &w, &h, err);
    CHECK(g && w == 57 && h == 57);   /* 2 x 2 cells, one pixel between */
    if (g) {
        CHECK(g[0] == 0 && g[27 * 57 + 27] == 255);                /* tile 0: min, max */
        CHECK(g[29] == 255 && g[27 * 57 + 29 + 27] == 0);          /* tile 1: reversed */
        CHECK(g[29 + 5] == 0);                                     /* NaN */
        CHECK(g[29 * 57] == 128 && g[56 * 57 + 27] == 128);        /* constant tile */
        CHECK(g[28] == 200 && g[28 * 57 + 3] == 200);              /* gaps */
        CHECK(g[29 * 57 + 29] == 200 && g[56 * 57 + 56] == 200);   /* the empty cell */
        char path[128];
        snprintf(path, sizeof path, "%s/weights.png", dir);
        CHECK(png_write_gray(path, g, w, h, err) == 0);
        check_png(path, g, w, h);
    }
    free(g);

    /* Images stacked one after another, values in [0, 1], a fixed 3 columns. */
    float imgs[5 * 4];
    for (int i = 0; i < 20; i++)
        imgs[i] = (float)i / 10.0f - 0.5f;   /* -0.5 .. 1.4: clipped */
    g = png_tile(&(png_tiles){.data = imgs, .count = 5, .tile_h = 2, .tile_w = 2, .tile_stride = 4,
                              .pixel_stride = 1, .columns = 3},
                 &w, &h, err);
    CHECK(g && w == 8 && h == 5);
    if (g) {
        CHECK(g[0] == 0 && g[1] == 0 && g[8] == 0 && g[9] == 0);   /* tile 0: -0.5 .. -0.2 */
        CHECK(g[3] == 0 && g[8 + 3] == 26 && g[8 + 4] == 51);         /* tile 1: -0.1 .. 0.2 */
        CHECK(g[3 * 8 + 3] == 255);                               /* tile 4: 1.1 */
    }
    free(g);
    CHECK(png_tile(&(png_tiles){.data = imgs, .count = 0, .tile_h = 2, .tile_w = 2}, &w, &h, err) == NULL);
    CHECK_STR_CONTAINS(err, "0 tiles");
    free(W);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/ember-png-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_roundtrip();
    test_errors();
    test_tiles();
    /* Clean up what the tests wrote. */
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    return test_report();
}
