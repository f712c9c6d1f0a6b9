/* png.c: the PNG encoder and the tile grid (see png.h).
 *
 * The smallest valid file: signature, IHDR, one IDAT, IEND. Each scanline
 * is prefixed by filter byte 0 (None): greyscale samples and weight grids
 * are small, and zlib at level 9 does well enough on them; choosing
 * filters per row would add code for a few percent. */
#include "io/png.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/error.h"
#include "io/atomic.h"

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* A chunk at p: length, type, data (already at p + 8), CRC over type and
 * data. Returns the end of the chunk. */
static uint8_t *finish_chunk(uint8_t *p, const char type[4], uint32_t len)
{
    put_u32(p, len);
    memcpy(p + 4, type, 4);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, p + 4, 4 + len);
    return put_u32(p + 8 + len, (uint32_t)crc);
}

uint8_t *png_encode_gray(const uint8_t *pixels, int w, int h, size_t *len, char *err)
{
    if (w < 1 || h < 1 || w > PNG_MAX_SIDE || h > PNG_MAX_SIDE || (size_t)w * (size_t)h > PNG_MAX_PIXELS) {
        ember_fail(err, "png: image size %dx%d is not in 1..%d per side and %d pixels",
                   w, h, PNG_MAX_SIDE, PNG_MAX_PIXELS);
        return NULL;
    }
    size_t row = (size_t)w + 1, raw_len = row * (size_t)h;
    uint8_t *raw = malloc(raw_len);
    uLong bound = compressBound((uLong)raw_len);
    /* signature 8, IHDR 25, IDAT 12 + data, IEND 12 */
    size_t cap = 8 + 25 + 12 + (size_t)bound + 12;
    uint8_t *file = malloc(cap);
    if (!raw || !file) {
        free(raw);
        free(file);
        ember_fail(err, "png: out of memory for a %dx%d image", w, h);
        return NULL;
    }
    for (int y = 0; y < h; y++) {
        raw[(size_t)y * row] = 0;   /* filter: None */
        memcpy(raw + (size_t)y * row + 1, pixels + (size_t)y * (size_t)w, (size_t)w);
    }

    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    uint8_t *p = file;
    memcpy(p, signature, 8);
    p += 8;

    uint8_t *d = p + 8;
    d = put_u32(d, (uint32_t)w);
    d = put_u32(d, (uint32_t)h);
    *d++ = 8;   /* bit depth */
    *d++ = 0;   /* colour type: greyscale */
    *d++ = 0;   /* compression: deflate */
    *d++ = 0;   /* filter method 0 */
    *d++ = 0;   /* no interlace */
    p = finish_chunk(p, "IHDR", 13);

    uLongf packed = bound;
    int z = compress2(p + 8, &packed, raw, (uLong)raw_len, 9);
    free(raw);
    if (z != Z_OK) {
        free(file);
        ember_fail(err, "png: zlib compress failed (%s)", zError(z));
        return NULL;
    }
    p = finish_chunk(p, "IDAT", (uint32_t)packed);
    p = finish_chunk(p, "IEND", 0);
    *len = (size_t)(p - file);
    return file;
}

int png_write_gray(const char *path, const uint8_t *pixels, int w, int h, char *err)
{
    size_t len;
    uint8_t *file = png_encode_gray(pixels, w, h, &len, err);
    if (!file)
        return -1;
    int rc = io_write_atomic(path, file, len, err);
    free(file);
    return rc;
}

static uint8_t to_byte(double v)
{
    if (!(v > 0))
        return 0;
    return v >= 1 ? 255 : (uint8_t)floor(v * 255 + 0.5);
}

uint8_t *png_tile(const png_tiles *t, int *w, int *h, char *err)
{
    if (t->count < 1 || t->tile_h < 1 || t->tile_w < 1 || t->tile_h > PNG_MAX_SIDE || t->tile_w > PNG_MAX_SIDE) {
        ember_fail(err, "png_tile: %d tiles of %dx%d: need at least one tile of at least 1x1",
                   t->count, t->tile_h, t->tile_w);
        return NULL;
    }
    int cols = t->columns;
    if (cols < 1)
        cols = (int)ceil(sqrt((double)t->count));
    if (cols > t->count)
        cols = t->count;
    int rows = (t->count + cols - 1) / cols;
    long gw = (long)cols * (t->tile_w + 1) - 1, gh = (long)rows * (t->tile_h + 1) - 1;
    if (gw > PNG_MAX_SIDE || gh > PNG_MAX_SIDE || gw * gh > PNG_MAX_PIXELS) {
        ember_fail(err, "png_tile: a grid of %dx%d tiles of %dx%d is %ldx%ld pixels, more than %d per side",
                   rows, cols, t->tile_h, t->tile_w, gh, gw, PNG_MAX_SIDE);
        return NULL;
    }
    uint8_t *img = malloc((size_t)gw * (size_t)gh);
    if (!img) {
        ember_fail(err, "png_tile: out of memory for %ldx%ld pixels", gw, gh);
        return NULL;
    }
    memset(img, t->background, (size_t)gw * (size_t)gh);
    int n = t->tile_h * t->tile_w;
    for (int k = 0; k < t->count; k++) {
        const float *tile = t->data + k * t->tile_stride;
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; t->normalize && i < n; i++) {
            double v = tile[i * t->pixel_stride];
            if (isfinite(v)) {
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        }
        size_t x0 = (size_t)(k % cols) * (size_t)(t->tile_w + 1);
        size_t y0 = (size_t)(k / cols) * (size_t)(t->tile_h + 1);
        for (int i = 0; i < n; i++) {
            double v = tile[i * t->pixel_stride];
            uint8_t b;
            if (!t->normalize)
                b = to_byte(v);
            else if (!isfinite(v))
                b = 0;
            else if (hi > lo)
                b = to_byte((v - lo) / (hi - lo));
            else
                b = 128;   /* a constant tile: no contrast to show */
            img[(y0 + (size_t)(i / t->tile_w)) * (size_t)gw + x0 + (size_t)(i % t->tile_w)] = b;
        }
    }
    *w = (int)gw;
    *h = (int)gh;
    return img;
}
