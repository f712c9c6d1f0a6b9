/* plot.c: line charts on a cell canvas (see plot.h).
 *
 * The series are first drawn onto a canvas of "pixels": one per cell for
 * markers, 2x4 per cell for braille. Segments between neighbouring finite
 * points are rasterised (Bresenham), so steep changes stay connected and
 * many points per column (a per-batch history) fill the column's range.
 * Each cell remembers the last series drawn in it, for its marker or its
 * colour. Then the rows are written with the y labels, the axes and the
 * legend around them. */
#include "term/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MARKERS[] = "*o+x";
static const int COLOURS[] = {36, 33, 35, 32};   /* cyan, yellow, magenta, green */
#define N_STYLES 4

typedef struct canvas {
    int cols, rows;         /* cells */
    int sx, sy;             /* pixels per cell: 1x1, or 2x4 for braille */
    unsigned char *dots;    /* braille dot bits per cell */
    signed char *owner;     /* last series drawn in a cell, -1: none */
} canvas;

static void set_pixel(canvas *c, int px, int py, int series)
{
    if (px < 0 || py < 0 || px >= c->cols * c->sx || py >= c->rows * c->sy)
        return;
    int cell = (py / c->sy) * c->cols + px / c->sx;
    if (c->sx == 2) {
        /* Braille dot numbering: left column 1,2,3,7, right 4,5,6,8. */
        static const unsigned char bit[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};
        c->dots[cell] |= bit[px % 2][py % 4];
    }
    c->owner[cell] = (signed char)(series % N_STYLES);
}

static void draw_line(canvas *c, int x0, int y0, int x1, int y1, int series)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int stepx = x0 < x1 ? 1 : -1, stepy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (;;) {
        set_pixel(c, x0, y0, series);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += stepx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += stepy;
        }
    }
}

/* The plotted range: min and max over the finite values, widened when
 * they are equal so a constant series sits in the middle. */
static int y_range(const term_plot *p, double *lo, double *hi)
{
    bool any = false;
    for (int s = 0; s < p->n_series; s++)
        for (int i = 0; i < p->series[s].n; i++) {
            double v = p->series[s].y[i];
            if (!isfinite(v))
                continue;
            if (!any || v < *lo)
                *lo = v;
            if (!any || v > *hi)
                *hi = v;
            any = true;
        }
    if (!any)
        return -1;
    if (*hi == *lo) {
        double d = *lo != 0 ? fabs(*lo) * 0.5 : 1;
        *lo -= d;
        *hi += d;
    }
    return 0;
}

static void series_name(char *buf, size_t size, const term_plot *p, int s)
{
    if (p->series[s].name)
        snprintf(buf, size, "%s", p->series[s].name);
    else
        snprintf(buf, size, "series %d", s + 1);
}

/* Appends a line, cut to the width when it is wider. */
static void emit(term_buf *out, term_buf *line, int width, term_style style)
{
    const char *s = term_buf_str(line);
    if (term_text_width(s, line->len) <= width)
        term_buf_append(out, s, line->len);
    else {
        term_buf_fit(out, s, width, false, true, style);
        if (style.color)
            term_buf_puts(out, "\033[0m");
    }
    term_buf_puts(out, "\n");
    if (line->failed)
        out->failed = true;
    term_buf_clear(line);
}

/* The cell's text: its braille pattern, or the owner's marker. */
static void put_cell(term_buf *line, const canvas *c, int cell, term_style style)
{
    int s = c->owner[cell];
    if (style.color)
        term_buf_printf(line, "\033[%dm", COLOURS[s]);
    if (c->sx == 2) {
        int m = c->dots[cell];   /* U+2800 + m, as UTF-8 */
        term_buf_append(line, (char[3]){(char)0xE2, (char)(0xA0 | (m >> 6)), (char)(0x80 | (m & 0x3F))}, 3);
    } else {
        term_buf_append(line, &MARKERS[s], 1);
    }
    if (style.color)
        term_buf_puts(line, "\033[0m");
}

int term_line_plot(term_buf *out, const term_plot *p, int width, int height, term_style style)
{
    if (width < 20 || height < 5)
        return -1;
    double lo = 0, hi = 0;
    int n = 0;
    for (int s = 0; s < p->n_series; s++)
        if (p->series[s].n > n)
            n = p->series[s].n;
    if (n == 0 || y_range(p, &lo, &hi) < 0) {
        term_buf_puts(out, "(no data)\n");
        return out->failed ? -1 : 0;
    }

    /* Rows and their tick labels: top, bottom and about every 4th row. */
    int rows = height - 3;
    int intervals = (rows - 1) / 4 > 0 ? (rows - 1) / 4 : 1;
    char (*labels)[24] = calloc((size_t)rows, sizeof *labels);
    int label_cols = 0;
    if (!labels) {
        out->failed = true;
        return -1;
    }
    for (int k = 0; k <= intervals; k++) {
        int r = (int)floor((double)k * (rows - 1) / intervals + 0.5);
        double v = hi - (hi - lo) * r / (rows - 1);
        if (fabs(v) < (hi - lo) * 1e-9)   /* no "-1.2e-17" for a zero tick */
            v = 0;
        snprintf(labels[r], sizeof labels[r], "%.4g", v);
        int w = (int)strlen(labels[r]);
        label_cols = w > label_cols ? w : label_cols;
    }

    bool braille = style.unicode && (style.color || p->n_series == 1);
    canvas c = {.rows = rows, .sx = braille ? 2 : 1, .sy = braille ? 4 : 1};
    c.cols = width - label_cols - 2;
    c.dots = calloc((size_t)(c.cols * rows), 1);
    c.owner = malloc((size_t)(c.cols * rows));
    if (!c.dots || !c.owner) {
        free(labels);
        free(c.dots);
        free(c.owner);
        out->failed = true;
        return -1;
    }
    memset(c.owner, -1, (size_t)(c.cols * rows));
    int px_w = c.cols * c.sx, px_h = rows * c.sy;
    for (int s = 0; s < p->n_series; s++) {
        const term_series *se = &p->series[s];
        int prev_x = 0, prev_y = 0;
        bool prev = false;
        for (int i = 0; i < se->n; i++) {
            double v = se->y[i];
            if (!isfinite(v)) {
                prev = false;
                continue;
            }
            int x = n > 1 ? (int)floor((double)i * (px_w - 1) / (n - 1) + 0.5) : 0;
            int y = (int)floor((hi - v) / (hi - lo) * (px_h - 1) + 0.5);
            if (prev)
                draw_line(&c, prev_x, prev_y, x, y, s);
            else
                set_pixel(&c, x, y, s);
            prev = true;
            prev_x = x;
            prev_y = y;
        }
    }

    term_buf line;
    term_buf_init(&line);
    const char *axis = style.unicode ? "\u2502" : "|";
    const char *tick = style.unicode ? "\u2524" : "+";
    for (int r = 0; r < rows; r++) {
        term_buf_fit(&line, labels[r], label_cols, true, false, style);
        term_buf_puts(&line, " ");
        term_buf_puts(&line, labels[r][0] ? tick : axis);
        int last = c.cols - 1;   /* no trailing blanks */
        while (last >= 0 && c.owner[r * c.cols + last] < 0)
            last--;
        for (int col = 0; col <= last; col++) {
            int cell = r * c.cols + col;
            if (c.owner[cell] < 0)
                term_buf_puts(&line, " ");
            else
                put_cell(&line, &c, cell, style);
        }
        emit(out, &line, width, style);
    }

    /* The x axis, then its first and last index and its name between. */
    term_buf_repeat(&line, " ", label_cols + 1);
    term_buf_puts(&line, style.unicode ? "\u2514" : "+");
    term_buf_repeat(&line, style.unicode ? "\u2500" : "-", c.cols);
    emit(out, &line, width, style);
    char first[16], last[16];
    snprintf(first, sizeof first, "%d", p->x_first);
    snprintf(last, sizeof last, "%d", p->x_first + n - 1);
    int lf = (int)strlen(first), ll = n > 1 ? (int)strlen(last) : 0;
    int name_len = p->x_name ? (int)strlen(p->x_name) : 0;
    term_buf_repeat(&line, " ", label_cols + 2);
    term_buf_puts(&line, first);
    int room = c.cols - lf - ll;   /* columns between the two labels */
    if (name_len > 0 && room >= name_len + 2) {
        int before = (room - name_len) / 2;
        term_buf_repeat(&line, " ", before);
        term_buf_puts(&line, p->x_name);
        term_buf_repeat(&line, " ", room - before - name_len);
    } else if (n > 1) {
        term_buf_repeat(&line, " ", room);
    }
    if (n > 1)
        term_buf_puts(&line, last);
    emit(out, &line, width, style);

    /* The legend: each series' marker (or a coloured braille block). */
    for (int s = 0; s < p->n_series; s++) {
        char name[64];
        series_name(name, sizeof name, p, s);
        term_buf_puts(&line, s ? "  " : "");
        if (style.color)
            term_buf_printf(&line, "\033[%dm", COLOURS[s % N_STYLES]);
        if (braille)
            term_buf_puts(&line, "\u28FF");
        else
            term_buf_append(&line, &MARKERS[s % N_STYLES], 1);
        if (style.color)
            term_buf_puts(&line, "\033[0m");
        term_buf_printf(&line, " %s", name);
    }
    emit(out, &line, width, style);

    term_buf_free(&line);
    free(labels);
    free(c.dots);
    free(c.owner);
    return out->failed ? -1 : 0;
}
