/* svg.c: the SVG line and bar charts (see svg.h).
 *
 * The document is printed into a memory stream (open_memstream) and then
 * written in one piece, so a failure never leaves half a file. Numbers are
 * printed through num(), which forces a '.' decimal point whatever
 * LC_NUMERIC says: SVG coordinates are not localised. */
#include "io/svg.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/atomic.h"

static const char *const COLOURS[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};
#define N_COLOURS 6

/* A coordinate with `decimals` places, '.' as the decimal point. */
static void num(FILE *f, int decimals, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.*f", decimals, v);
    for (char *p = buf; *p; p++)
        if (*p == ',')
            *p = '.';
    fputs(buf, f);
}

/* Text as XML character data or attribute value: the five specials as
 * entities, and C0 controls (not allowed in XML 1.0) dropped. */
static void text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            if (c >= 0x20 || c == '\t' || c == '\n')
                fputc(c, f);
        }
    }
}

static void header(FILE *f, int w, int h)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
               " font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            w, h, w, h, w, h);
}

static void label(FILE *f, double x, double y, const char *anchor, const char *fill, const char *s)
{
    fputs("<text x=\"", f);
    num(f, 1, x);
    fputs("\" y=\"", f);
    num(f, 1, y);
    fprintf(f, "\" text-anchor=\"%s\" fill=\"%s\">", anchor, fill);
    text(f, s);
    fputs("</text>\n", f);
}

static void line(FILE *f, double x1, double y1, double x2, double y2, const char *stroke)
{
    fputs("<line x1=\"", f);
    num(f, 1, x1);
    fputs("\" y1=\"", f);
    num(f, 1, y1);
    fputs("\" x2=\"", f);
    num(f, 1, x2);
    fputs("\" y2=\"", f);
    num(f, 1, y2);
    fprintf(f, "\" stroke=\"%s\"/>\n", stroke);
}

/* A step of 1, 2 or 5 times a power of ten giving about `count` ticks. */
static double nice_step(double range, int count)
{
    double raw = range / count;
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Closes the memory stream and hands its text over, or fails. */
static char *finish(FILE *f, char **buf, size_t *size, size_t *len, char *err)
{
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        free(*buf);
        ember_fail(err, "svg: out of memory while building the document");
        return NULL;
    }
    if (len)
        *len = *size;
    return *buf;
}

char *svg_line_chart_text(const svg_line_chart *c, size_t *len, char *err)
{
    int W = c->width > 0 ? c->width : 640, H = c->height > 0 ? c->height : 400;
    if (W < 200 || H < 150)
        return ember_fail(err, "svg: a line chart needs at least 200 x 150 pixels (got %d x %d)", W, H), NULL;
    int n = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < c->n_series; s++) {
        n = c->series[s].n > n ? c->series[s].n : n;
        for (int i = 0; i < c->series[s].n; i++)
            if (isfinite(c->series[s].y[i])) {
                lo = fmin(lo, c->series[s].y[i]);
                hi = fmax(hi, c->series[s].y[i]);
            }
    }
    if (!(lo <= hi))
        lo = 0, hi = 1;   /* no finite value: empty axes */
    if (lo == hi) {
        double d = lo != 0 ? fabs(lo) * 0.5 : 1;
        lo -= d;
        hi += d;
    }
    double ystep = nice_step(hi - lo, 5);
    lo = floor(lo / ystep) * ystep;
    hi = ceil(hi / ystep) * ystep;

    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return ember_fail(err, "svg: out of memory"), NULL;
    header(f, W, H);
    double x0 = 70, x1 = W - 20, y0 = 40, y1 = H - 70;
#define PX(i) (n > 1 ? x0 + (x1 - x0) * (i) / (n - 1) : (x0 + x1) / 2)
#define PY(v) (y1 - (y1 - y0) * ((v) - lo) / (hi - lo))
    if (c->title)
        label(f, W / 2.0, 24, "middle", "black", c->title);

    /* Axes, grid lines and tick labels. */
    for (double v = lo; v <= hi + ystep * 1e-6; v += ystep) {
        double y = PY(v), shown = fabs(v) < ystep * 1e-9 ? 0 : v;
        char t[32];
        snprintf(t, sizeof t, "%g", shown);
        for (char *p = t; *p; p++)
            if (*p == ',')
                *p = '.';
        line(f, x0, y, x1, y, "#e0e0e0");
        label(f, x0 - 6, y + 4, "end", "black", t);
    }
    double xstep = n > 1 ? fmax(1, nice_step(n - 1, 8)) : 1;
    for (double i = 0; i <= n - 1 + 1e-9; i += xstep) {
        char t[32];
        snprintf(t, sizeof t, "%d", c->x_first + (int)i);
        line(f, PX(i), y1, PX(i), y1 + 5, "black");
        label(f, PX(i), y1 + 18, "middle", "black", t);
    }
    line(f, x0, y0, x0, y1, "black");
    line(f, x0, y1, x1, y1, "black");
    if (c->x_name)
        label(f, (x0 + x1) / 2, y1 + 36, "middle", "black", c->x_name);
    if (c->y_name) {
        fprintf(f, "<text transform=\"translate(16 %d) rotate(-90)\" text-anchor=\"middle\">", (int)((y0 + y1) / 2));
        text(f, c->y_name);
        fputs("</text>\n", f);
    }

    /* The series: a subpath per run of finite values. */
    double legend_x = x0;
    for (int s = 0; s < c->n_series; s++) {
        const svg_series *se = &c->series[s];
        const char *colour = COLOURS[s % N_COLOURS];
        bool any = false;
        int run = 0;
        for (int i = 0; i < se->n; i++) {
            if (!isfinite(se->y[i])) {
                if (run == 1)
                    fputs(" h0", f);   /* a lone point: a round dot */
                run = 0;
                continue;
            }
            if (!any)
                fprintf(f, "<path class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\""
                           " stroke-linecap=\"round\" stroke-linejoin=\"round\" d=\"", colour);
            fputs(run ? " L" : (any ? " M" : "M"), f);
            num(f, 2, PX(i));
            fputc(' ', f);
            num(f, 2, PY(se->y[i]));
            any = true;
            run++;
        }
        if (any)
            fputs(run == 1 ? " h0\"/>\n" : "\"/>\n", f);
        char name[64];
        snprintf(name, sizeof name, "series %d", s + 1);
        const char *shown = se->name ? se->name : name;
        line(f, legend_x, H - 16, legend_x + 20, H - 16, colour);
        label(f, legend_x + 26, H - 12, "start", "black", shown);
        legend_x += 26 + 7.0 * (double)strlen(shown) + 24;
    }
#undef PX
#undef PY
    fputs("</svg>\n", f);
    return finish(f, &buf, &size, len, err);
}

char *svg_bar_chart_text(const svg_bar_chart *c, size_t *len, char *err)
{
    int W = c->width > 0 ? c->width : 640;
    if (W < 400)
        return ember_fail(err, "svg: a bar chart needs at least 400 pixels of width (got %d)", W), NULL;
    if (c->units < 1)
        return ember_fail(err, "svg: a bar chart needs at least one unit (got %d)", c->units), NULL;
    const double row = 22, top = c->title ? 56 : 30, bar_x = 180, bar_w = W - bar_x - 210;
    int H = (int)(top + row * c->units + 16);

    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return ember_fail(err, "svg: out of memory"), NULL;
    header(f, W, H);
    if (c->title)
        label(f, W / 2.0, 24, "middle", "black", c->title);
    /* The scale: 0, 0.5, 1 above the bars, with faint guides. */
    for (int k = 0; k <= 2; k++) {
        double x = bar_x + bar_w * k / 2;
        line(f, x, top - 6, x, top + row * c->units, "#e0e0e0");
        label(f, x, top - 10, "middle", "black", k == 0 ? "0" : k == 1 ? "0.5" : "1");
    }
    if (c->share)
        label(f, bar_x + bar_w + 8, top - 10, "start", "black", "output / share");

    for (int u = 0; u < c->units; u++) {
        double y = top + row * u;
        bool unused = u >= c->classes;
        const char *colour = u == c->true_label ? "#2ca02c"
                           : u == c->predicted ? "#d62728"
                           : unused ? "#b0b0b0" : "#1f77b4";
        char name[160];
        const char *cls = unused ? "(no such class)" : c->names && c->names[u] ? c->names[u] : "";
        snprintf(name, sizeof name, "%d %s", u, cls);
        label(f, 10, y + 15, "start", unused ? "#808080" : "black", name);

        double v = c->share ? c->share[u] : c->values[u];
        v = v > 0 ? (v < 1 ? v : 1) : 0;   /* clipped, NaN is 0 */
        fputs("<rect class=\"bar\" x=\"", f);
        num(f, 1, bar_x);
        fputs("\" y=\"", f);
        num(f, 1, y + 4);
        fputs("\" width=\"", f);
        num(f, 2, bar_w * v);
        fprintf(f, "\" height=\"14\" fill=\"%s\"/>\n", colour);
        if (c->share) {
            double r = c->values[u] > 0 ? (c->values[u] < 1 ? c->values[u] : 1) : 0;
            fputs("<rect class=\"bar\" x=\"", f);
            num(f, 1, bar_x);
            fputs("\" y=\"", f);
            num(f, 1, y + 18);
            fputs("\" width=\"", f);
            num(f, 2, bar_w * r);
            fprintf(f, "\" height=\"3\" fill=\"%s\" fill-opacity=\"0.45\"/>\n", colour);
        }
        char value[64];
        if (c->share)
            snprintf(value, sizeof value, "%.4g / %.4g", c->values[u], c->share[u]);
        else
            snprintf(value, sizeof value, "%.4g", c->values[u]);
        for (char *p = value; *p; p++)
            if (*p == ',' && p[1] != ' ')
                *p = '.';
        label(f, bar_x + bar_w + 8, y + 15, "start", "black", value);
        bool t = u == c->true_label, p = u == c->predicted;
        if (t || p)
            label(f, bar_x + bar_w + (c->share ? 130 : 70), y + 15, "start", colour,
                  t && p ? "<- true, predicted" : t ? "<- true" : "<- predicted");
    }
    fputs("</svg>\n", f);
    return finish(f, &buf, &size, len, err);
}

/* A rendered document to path, atomically; frees it. */
static int write_doc(const char *path, char *doc, size_t len, char *err)
{
    if (!doc)
        return -1;
    int rc = io_write_atomic(path, doc, len, err);
    free(doc);
    return rc;
}

int svg_write_line_chart(const char *path, const svg_line_chart *chart, char *err)
{
    size_t len = 0;
    char *doc = svg_line_chart_text(chart, &len, err);
    return write_doc(path, doc, len, err);
}

int svg_write_bar_chart(const char *path, const svg_bar_chart *chart, char *err)
{
    size_t len = 0;
    char *doc = svg_bar_chart_text(chart, &len, err);
    return write_doc(path, doc, len, err);
}
