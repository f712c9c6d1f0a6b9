/* png.h: greyscale PNG files: a sample image, or a grid of tiles (the
 * first layer's weights, one 28x28 tile per unit).
 *
 *   uint8_t *grid = png_tile(&(png_tiles){.data = W, .count = units,
 *                            .tile_h = 28, .tile_w = 28, .tile_stride = 1,
 *                            .pixel_stride = units, .normalize = true},
 *                            &gw, &gh, err);
 *   png_write_gray("weights.png", grid, gw, gh, err);
 *
 * Files are 8-bit greyscale (colour type 0), not interlaced, one IDAT
 * chunk deflated by zlib, every chunk with its CRC-32; written atomically
 * (io/atomic.h). Knows nothing of models or Lua. */
#ifndef EMBER_IO_PNG_H
#define EMBER_IO_PNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest width or height accepted, and the largest pixel count: far
 * beyond any grid of weights, small enough that sizes never overflow. */
#define PNG_MAX_SIDE   16384
#define PNG_MAX_PIXELS (64 * 1024 * 1024)

/* The PNG file for w x h pixels (row-major, 0 black .. 255 white), in a
 * malloc'd buffer of *len bytes; NULL with a message in err on failure. */
uint8_t *png_encode_gray(const uint8_t *pixels, int w, int h, size_t *len, char *err);

/* Encodes and writes it to path atomically. Returns 0, or -1 with a
 * message in err (EMBER_ERR_SIZE bytes); the old file is then intact. */
int png_write_gray(const char *path, const uint8_t *pixels, int w, int h, char *err);

/* A set of equally sized float tiles, laid out by strides so that both a
 * stack of images (tile_stride = h*w, pixel_stride = 1) and a weight
 * matrix with one column per unit (tile_stride = 1, pixel_stride = units)
 * are read in place. */
typedef struct png_tiles {
    const float *data;
    int       count;            /* tiles */
    int       tile_h, tile_w;
    ptrdiff_t tile_stride;      /* floats from one tile to the next */
    ptrdiff_t pixel_stride;     /* floats from one pixel to the next */
    int       columns;          /* tiles per row; 0: about square */
    bool      normalize;        /* each tile's min..max to 0..255 (a
                                   constant tile is mid grey); else values
                                   in [0, 1] times 255, clipped. NaN: 0 */
    uint8_t   background;       /* the 1-pixel gaps and unused cells */
} png_tiles;

/* The grid image, tiles left to right then top to bottom with a 1-pixel
 * gap between them (none at the border), malloc'd, *w x *h. NULL with a
 * message in err when the sizes are invalid or too large. */
uint8_t *png_tile(const png_tiles *t, int *w, int *h, char *err);

#endif
