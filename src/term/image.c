/* image.c: greyscale images as terminal text (see image.h).
 *
 * Both pixel types go through one renderer that reads a pixel with a
 * small accessor, so the four forms are written once. */
#include "term/image.h"

#include <math.h>
#include <stddef.h>

static const char ASCII_RAMP[] = " .:-=+*#%@";
static const char *const SHADES[] = {" ", "\u2591", "\u2592", "\u2593", "\u2588"};

typedef struct pixels {
    const uint8_t *u8;
    const float   *f32;
    int h, w;
} pixels;

static int pixel(const pixels *p, int y, int x)
{
    size_t i = (size_t)y * (size_t)p->w + (size_t)x;
    if (p->u8)
        return p->u8[i];
    float v = p->f32[i];
    if (!(v > 0))   /* NaN too */
        return 0;
    return v >= 1 ? 255 : (int)floorf(v * 255 + 0.5f);
}

/* The nearest of the 256-colour palette's 26 greys: black 16 (0), the ramp
 * 232..255 (8, 18, .., 238) and white 231 (255). */
static int grey_colour(int v)
{
    if (v < 4)
        return 16;
    if (v > 246)
        return 231;
    int i = (v - 8 + 5) / 10;   /* nearest ramp step */
    if (i < 0)
        i = 0;
    if (i > 23)
        i = 23;
    return 232 + i;
}

/* Index into a ramp of n symbols, rounding: 0 -> 0, 255 -> n - 1. */
static int ramp_index(int v, int n)
{
    return (v * (n - 1) + 127) / 255;
}

void term_image_size(int h, int w, term_style style, int *cols, int *lines)
{
    bool halves = style.color && style.unicode;
    *cols = halves ? w : 2 * w;
    *lines = halves ? (h + 1) / 2 : h;
}

static int render(term_buf *out, const pixels *p, term_style style)
{
    if (p->h < 1 || p->w < 1)
        return -1;
    if (style.color && style.unicode) {
        for (int y = 0; y < p->h; y += 2) {
            int last_fg = -1, last_bg = -1;
            for (int x = 0; x < p->w; x++) {
                /* An odd last row: the lower half is the terminal's own
                 * background, so reset the background for it. */
                int fg = grey_colour(pixel(p, y, x));
                int bg = y + 1 < p->h ? grey_colour(pixel(p, y + 1, x)) : -1;
                if (fg != last_fg)
                    term_buf_printf(out, "\033[38;5;%dm", fg);
                if (bg != last_bg)
                    term_buf_printf(out, bg < 0 ? "\033[49m" : "\033[48;5;%dm", bg);
                last_fg = fg;
                last_bg = bg;
                term_buf_puts(out, "\u2580");
            }
            term_buf_puts(out, "\033[0m\n");
        }
        return out->failed ? -1 : 0;
    }
    for (int y = 0; y < p->h; y++) {
        int last = -1;
        for (int x = 0; x < p->w; x++) {
            int v = pixel(p, y, x);
            if (style.color) {
                int c = grey_colour(v);
                if (c != last)
                    term_buf_printf(out, "\033[48;5;%dm", c);
                last = c;
                term_buf_puts(out, "  ");
            } else if (style.unicode) {
                const char *s = SHADES[ramp_index(v, 5)];
                term_buf_puts(out, s);
                term_buf_puts(out, s);
            } else {
                char c = ASCII_RAMP[ramp_index(v, (int)sizeof ASCII_RAMP - 1)];
                term_buf_append(out, (char[2]){c, c}, 2);
            }
        }
        term_buf_puts(out, style.color ? "\033[0m\n" : "\n");
    }
    return out->failed ? -1 : 0;
}

int term_image_u8(term_buf *out, const uint8_t *pixels_u8, int h, int w, term_style style)
{
    return render(out, &(pixels){.u8 = pixels_u8, .h = h, .w = w}, style);
}

int term_image_f32(term_buf *out, const float *pixels_f32, int h, int w, term_style style)
{
    return render(out, &(pixels){.f32 = pixels_f32, .h = h, .w = w}, style);
}
