/* image.h: a greyscale image (a 28x28 sample) as terminal text.
 *
 * Four forms, chosen by the style, all with square-looking pixels (a
 * terminal cell is about twice as tall as wide):
 *
 *   colour + Unicode   U+2580 upper half blocks, foreground = upper pixel,
 *                      background = lower pixel, in the 256-colour greys
 *                      (16 black, 232..255, 231 white): two rows per line,
 *                      one column per pixel (28x28 -> 14 lines of 28).
 *   colour, no Unicode two spaces per pixel on a grey background.
 *   Unicode, no colour the shades " ░▒▓█", two columns per pixel.
 *   plain ASCII        the ramp " .:-=+*#%@" (0 is ' ', 255 is '@'), two
 *                      columns per pixel (28x28 -> 28 lines of 56).
 *
 * Every line has the same width (trailing background included), so the
 * block lines up beside the probability bars (term_side_by_side). */
#ifndef EMBER_TERM_IMAGE_H
#define EMBER_TERM_IMAGE_H

#include <stdint.h>

#include "term/buffer.h"

/* Pixels row-major, h x w, 0 black .. 255 white. Returns 0, or -1 when out
 * of memory or h, w < 1. */
int term_image_u8(term_buf *out, const uint8_t *pixels, int h, int w, term_style style);

/* The same for floats in [0, 1] (clipped; NaN is black), e.g. x / 255. */
int term_image_f32(term_buf *out, const float *pixels, int h, int w, term_style style);

/* The columns and lines term_image_* will take for an h x w image. */
void term_image_size(int h, int w, term_style style, int *cols, int *lines);

#endif
