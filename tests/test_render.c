/* test_render.c: the terminal renderers (src/term) as plain text.
 *
 * Small fixed inputs against the exact ASCII they must give (colour and
 * Unicode off, as under NO_COLOR or in a pipe), and properties over many
 * inputs and widths: bar lengths proportional to values, clipping, every
 * line within the width (in code points, escapes not counted), top-k
 * order, the collapsed unused-unit line, ramp extremes, plot gaps. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "term/bars.h"
#include "term/buffer.h"
#include "term/image.h"
#include "term/plot.h"
#include "term/table.h"
#include "testutil.h"

static const term_style ASCII = {false, false};
static const term_style UNICODE = {false, true};
static const term_style FULL = {true, true};
static const term_style COLOUR_ONLY = {true, false};

static const char *const NAMES[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/* Prints both texts when they differ, so a failure shows the change. */
#define CHECK_TEXT(buf, expected)                                                     \
    do {                                                                              \
        const char *got_ = term_buf_str(buf);                                         \
        CHECK(strcmp(got_, (expected)) == 0);                                         \
        if (strcmp(got_, (expected)) != 0)                                            \
            fprintf(stderr, "--- got:\n%s--- expected:\n%s---\n", got_, (expected)); \
    } while (0)

/* The widest line of a text, in display columns; also counts the lines. */
static int widest_line(const char *s, int *lines)
{
    int widest = 0, n = 0;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        int w = term_text_width(s, len);
        widest = w > widest ? w : widest;
        n++;
        s += len + (nl ? 1 : 0);
    }
    if (lines)
        *lines = n;
    return widest;
}

static int count_char(const char *s, char c)
{
    int n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static void test_buffer(void)
{
    term_buf b;
    term_buf_init(&b);
    CHECK(strcmp(term_buf_str(&b), "") == 0);
    for (int i = 0; i < 1000; i++)
        term_buf_printf(&b, "%d,", i % 10);
    CHECK(b.len == 2000 && !b.failed && b.data[1999] == ',');
    term_buf_clear(&b);
    term_buf_fit(&b, "Ankle boot", 5, false, true, ASCII);
    term_buf_puts(&b, "|");
    term_buf_fit(&b, "ab", 4, true, true, ASCII);
    term_buf_puts(&b, "|");
    term_buf_fit(&b, "Ankle boot", 5, false, true, UNICODE);
    term_buf_puts(&b, "|");
    term_buf_fit(&b, "\u00e9t\u00e9", 4, false, false, UNICODE);   /* code points, not bytes */
    CHECK_TEXT(&b, "Ankl~|  ab|Ankl\u2026|\u00e9t\u00e9 ");
    CHECK(term_text_width("\033[38;5;232m\u2580\033[0mab", strlen("\033[38;5;232m\u2580\033[0mab")) == 3);

    term_buf_clear(&b);
    term_buf_value(&b, 0.12345);
    term_buf_puts(&b, " ");
    term_buf_value(&b, 1.5e-5);
    term_buf_puts(&b, " ");
    term_buf_value(&b, 0);
    term_buf_puts(&b, " ");
    term_buf_value(&b, -2.5e-4);
    CHECK_TEXT(&b, "0.1235 1.50e-05 0.0000 -2.50e-04");

    /* Side by side: left padded to its widest line (escapes not counted). */
    term_buf_clear(&b);
    term_side_by_side(&b, "ab\n\033[1mx\033[0m\nlong line\n", "1\n2\n3\n4\n", 2);
    CHECK_TEXT(&b, "ab         1\n\033[1mx\033[0m          2\nlong line  3\n           4\n");
    term_buf_clear(&b);
    term_side_by_side(&b, "a\nb\nc\n", "1\n", 1);
    CHECK_TEXT(&b, "a 1\nb\nc\n");
    term_buf_free(&b);
}

static void test_bar(void)
{
    term_buf b;
    term_buf_init(&b);
    term_bar(&b, 0.5, 20, ASCII);
    CHECK(count_char(term_buf_str(&b), '#') == 10 && b.len == 20);
    /* Proportional at every width and value on a grid. */
    for (int w = 1; w <= 60; w += 7)
        for (int k = 0; k <= 20; k++) {
            term_buf_clear(&b);
            term_bar(&b, k / 20.0, w, ASCII);
            CHECK(count_char(term_buf_str(&b), '#') == (int)floor(k / 20.0 * w + 0.5));
            CHECK((int)b.len == w);
        }
    /* Clipped to [0, 1]; NaN is an empty bar. */
    term_buf_clear(&b);
    term_bar(&b, -0.3, 10, ASCII);
    term_bar(&b, 1.7, 10, ASCII);
    term_bar(&b, NAN, 10, ASCII);
    CHECK_TEXT(&b, "          ##########          ");
    /* Unicode: eighths for the remainder, always `cells` columns. */
    term_buf_clear(&b);
    term_bar(&b, 0.5, 1, UNICODE);
    CHECK_TEXT(&b, "\u258C");
    term_buf_clear(&b);
    term_bar(&b, 0.3, 4, UNICODE);   /* 9.6 eighths: one full, 2/8 */
    CHECK_TEXT(&b, "\u2588\u258E  ");
    term_buf_clear(&b);
    term_bar(&b, 1.2, 3, UNICODE);
    CHECK_TEXT(&b, "\u2588\u2588\u2588");
    term_buf_free(&b);
}

static void test_bar_chart(void)
{
    term_buf b;
    term_buf_init(&b);
    float v[5] = {0.1f, 0.5f, 1.5f, 2e-5f, -0.25f};
    term_bar_chart(&b, &(term_bars){.values = v, .units = 5, .classes = 3, .names = NAMES,
                                    .true_label = 1, .predicted = 2},
                   60, ASCII);
    CHECK_TEXT(&b,
               "0 T-shirt/top        0.1000 |##               |\n"
               "1 Trouser            0.5000 |#########        | <- true\n"
               "2 Pullover           1.5000 |#################| <- predicted\n"
               "3 (no such class)  2.00e-05 |                 |\n"
               "4 (no such class)   -0.2500 |                 |\n");
    CHECK(widest_line(term_buf_str(&b), NULL) <= 60);

    /* Two columns, the bar from the share; unused units collapsed. */
    float share[5] = {0.05f, 0.25f, 0.7f, 1e-5f, 0};
    term_buf_clear(&b);
    term_bar_chart(&b, &(term_bars){.values = v, .share = share, .units = 5, .classes = 3, .names = NAMES,
                                    .true_label = 2, .predicted = 2, .collapse_unused = true},
                   72, ASCII);
    CHECK_TEXT(&b,
               "                 output     share\n"
               "0 T-shirt/top    0.1000    0.0500 |#                |\n"
               "1 Trouser        0.5000    0.2500 |####             |\n"
               "2 Pullover       1.5000    0.7000 |############     | <- true, predicted\n"
               "units 3..4: sum -0.2500, largest 2.00e-05 (unit 3); share 1.00e-05\n");
    /* Narrower: the names give way to the bar, a long line is cut. */
    term_buf_clear(&b);
    term_bar_chart(&b, &(term_bars){.values = v, .share = share, .units = 5, .classes = 3, .names = NAMES,
                                    .true_label = 2, .predicted = 2, .collapse_unused = true},
                   60, ASCII);
    CHECK_TEXT(&b,
               "            output     share\n"
               "0 T-shi~    0.1000    0.0500 |#         |\n"
               "1 Trous~    0.5000    0.2500 |###       |\n"
               "2 Pullo~    1.5000    0.7000 |#######   | <- true, predicted\n"
               "units 3..4: sum -0.2500, largest 2.00e-05 (unit 3); share 1~\n");

    /* Without names: numbers only, no name column. */
    term_buf_clear(&b);
    term_bar_chart(&b, &(term_bars){.values = v, .units = 2, .classes = 2, .true_label = -1, .predicted = -1},
                   20, ASCII);
    CHECK_TEXT(&b, "0    0.1000 |#     |\n1    0.5000 |###   |\n");
    term_buf_free(&b);
}

/* 30 units, 10 classes: the shape of the forum model. */
static void test_bar_chart_units(void)
{
    float v[30];
    for (int u = 0; u < 30; u++)
        v[u] = u < 10 ? 0.01f * (float)(u + 1) : 1e-7f * (float)(u % 7);
    v[6] = 0.8f;
    v[17] = 4e-6f;
    term_buf b;
    term_buf_init(&b);

    /* Collapsed: 10 class rows and one summary line naming the largest. */
    term_bar_chart(&b, &(term_bars){.values = v, .units = 30, .classes = 10, .names = NAMES,
                                    .true_label = 0, .predicted = 6, .collapse_unused = true},
                   80, ASCII);
    int lines;
    widest_line(term_buf_str(&b), &lines);
    CHECK(lines == 11);
    CHECK_STR_CONTAINS(term_buf_str(&b), "\nunits 10..29: sum 9.80e-06, largest 4.00e-06 (unit 17)\n");
    CHECK_STR_CONTAINS(term_buf_str(&b), "largest 4.00e-06 (unit 17)\n");
    CHECK_STR_CONTAINS(term_buf_str(&b), " 6 Shirt");
    CHECK(strstr(term_buf_str(&b), "no such class") == NULL);

    /* A predicted unit without a class keeps its row after the summary. */
    term_buf_clear(&b);
    v[25] = 0.9f;
    term_bar_chart(&b, &(term_bars){.values = v, .units = 30, .classes = 10, .names = NAMES,
                                    .true_label = 0, .predicted = 25, .collapse_unused = true},
                   80, ASCII);
    CHECK_STR_CONTAINS(term_buf_str(&b), "(unit 25)\n25 (no such class)");
    CHECK_STR_CONTAINS(term_buf_str(&b), "| <- predicted\n");

    /* Not collapsed: the 20 units without a class follow the classes. */
    term_buf_clear(&b);
    term_bar_chart(&b, &(term_bars){.values = v, .units = 30, .classes = 10, .names = NAMES,
                                    .true_label = 0, .predicted = 25},
                   80, ASCII);
    widest_line(term_buf_str(&b), &lines);
    CHECK(lines == 30);
    CHECK_STR_CONTAINS(term_buf_str(&b), " 9 Ankle boot");
    CHECK_STR_CONTAINS(term_buf_str(&b), "\n10 (no such class)");

    /* Top 3: descending, then "..." and the true class it left out. */
    term_buf_clear(&b);
    term_bar_chart(&b, &(term_bars){.values = v, .units = 30, .classes = 10, .names = NAMES,
                                    .true_label = 0, .predicted = 25, .top = 3},
                   80, ASCII);
    const char *s = term_buf_str(&b);
    widest_line(s, &lines);
    CHECK(lines == 5);
    CHECK(strncmp(s, "25 (no such class)", 18) == 0);
    const char *l2 = strchr(s, '\n') + 1, *l3 = strchr(l2, '\n') + 1, *l4 = strchr(l3, '\n') + 1;
    CHECK(strncmp(l2, " 6 Shirt", 8) == 0);
    CHECK(strncmp(l3, " 9 Ankle boot", 13) == 0);
    CHECK(strncmp(l4, " ...\n 0 T-shirt/top", 19) == 0);
    /* Top-k with the true class among them: exactly k rows. */
    term_buf_clear(&b);
    term_bar_chart(&b, &(term_bars){.values = v, .units = 30, .classes = 10, .names = NAMES,
                                    .true_label = 6, .predicted = 25, .top = 2},
                   80, ASCII);
    widest_line(term_buf_str(&b), &lines);
    CHECK(lines == 2);

    /* Every line within the width, in every style, narrow to wide. */
    float share[30];
    for (int u = 0; u < 30; u++)
        share[u] = v[u] / 2.0f;
    term_style styles[] = {ASCII, UNICODE, FULL, COLOUR_ONLY};
    for (int si = 0; si < 4; si++)
        for (int w = 10; w <= 130; w += 3) {
            for (int variant = 0; variant < 4; variant++) {
                term_buf_clear(&b);
                term_bar_chart(&b, &(term_bars){.values = v, .share = variant & 1 ? share : NULL, .units = 30,
                                                .classes = 10, .names = NAMES, .true_label = 3, .predicted = 25,
                                                .top = variant == 2 ? 5 : 0, .collapse_unused = variant == 3},
                               w, styles[si]);
                CHECK(!b.failed && widest_line(term_buf_str(&b), NULL) <= w);
            }
        }
    term_buf_free(&b);
}

static void test_image(void)
{
    term_buf b;
    term_buf_init(&b);
    /* ASCII: the ramp ends, two columns per pixel. */
    uint8_t px[6] = {0, 255, 128, 28, 227, 100};
    term_image_u8(&b, px, 2, 3, ASCII);
    CHECK_TEXT(&b, "  @@++\n..%%==\n");   /* 128: 4.52 of 9 steps, '+' */
    float fx[4] = {0.0f, 1.0f, 1.7f, NAN};
    term_buf_clear(&b);
    term_image_f32(&b, fx, 2, 2, ASCII);
    CHECK_TEXT(&b, "  @@\n@@  \n");
    /* Unicode without colour: shades. */
    term_buf_clear(&b);
    term_image_u8(&b, (uint8_t[3]){0, 128, 255}, 1, 3, UNICODE);
    CHECK_TEXT(&b, "  \u2592\u2592\u2588\u2588\n");
    /* Colour + Unicode: upper half blocks, fg upper, bg lower, black 16,
     * white 231; an odd last row has the terminal's background below
     * (each line ends in a reset, so no background escape is needed). */
    term_buf_clear(&b);
    term_image_u8(&b, (uint8_t[3]){0, 255, 128}, 3, 1, FULL);
    CHECK_TEXT(&b, "\033[38;5;16m\033[48;5;231m\u2580\033[0m\n\033[38;5;244m\u2580\033[0m\n");
    /* Runs of one colour are not repeated. */
    term_buf_clear(&b);
    term_image_u8(&b, (uint8_t[4]){255, 255, 0, 0}, 2, 2, FULL);
    CHECK_TEXT(&b, "\033[38;5;231m\033[48;5;16m\u2580\u2580\033[0m\n");
    /* A 28x28 sample: sizes as term_image_size says. */
    uint8_t img[28 * 28];
    for (int i = 0; i < 28 * 28; i++)
        img[i] = (uint8_t)(i * 7);
    term_style styles[] = {ASCII, UNICODE, FULL, COLOUR_ONLY};
    for (int si = 0; si < 4; si++) {
        term_buf_clear(&b);
        CHECK(term_image_u8(&b, img, 28, 28, styles[si]) == 0);
        int cols, lines, got_lines;
        term_image_size(28, 28, styles[si], &cols, &lines);
        CHECK(widest_line(term_buf_str(&b), &got_lines) == cols && got_lines == lines);
    }
    CHECK(term_image_u8(&b, img, 0, 28, ASCII) == -1);
    term_buf_free(&b);
}

static void test_plot(void)
{
    term_buf b;
    term_buf_init(&b);
    float loss[5] = {0.9f, 0.5f, 0.3f, 0.2f, 0.1f};
    float val[5] = {NAN, 0.6f, NAN, 0.4f, 0.4f};
    term_series two[2] = {{"loss", loss, 5}, {"val_loss", val, 5}};
    term_line_plot(&b, &(term_plot){two, 2, 1, "epoch"}, 24, 8, ASCII);
    CHECK_TEXT(&b,
               "0.9 +**\n"
               "    |  ** o\n"
               "    |    ***       ooooo\n"
               "    |       *********\n"
               "0.1 +                ***\n"
               "    +-------------------\n"
               "     1      epoch      5\n"
               "* loss  o val_loss\n");

    /* One point, no name, x from 0: one marker, no last label. */
    term_buf_clear(&b);
    term_line_plot(&b, &(term_plot){&(term_series){NULL, (float[1]){2.5f}, 1}, 1, 0, NULL}, 20, 6, ASCII);
    CHECK_TEXT(&b,
               "3.75 +\n"
               "     |*\n"
               "1.25 +\n"
               "     +--------------\n"
               "      0\n"
               "* series 1\n");

    /* Constant and negative values, zero labelled "0"; height exact. */
    float neg[4] = {-1, -1, 1, 1};
    term_buf_clear(&b);
    term_line_plot(&b, &(term_plot){&(term_series){"y", neg, 4}, 1, 1, NULL}, 20, 8, ASCII);
    CHECK_TEXT(&b,
               " 1 +          ******\n"
               "   |         *\n"
               "   |       **\n"
               "   |      *\n"
               "-1 +******\n"
               "   +----------------\n"
               "    1              4\n"
               "* y\n");
    term_buf_clear(&b);
    CHECK(term_line_plot(&b, &(term_plot){&(term_series){"nan", (float[2]){NAN, NAN}, 2}, 1, 1, NULL}, 40, 10,
                         ASCII) == 0);
    CHECK_TEXT(&b, "(no data)\n");
    CHECK(term_line_plot(&b, &(term_plot){two, 2, 1, NULL}, 10, 10, ASCII) == -1);

    /* Per batch: many points, NaN holes; every style within the size. */
    float batch[500], val2[500];
    for (int i = 0; i < 500; i++) {
        batch[i] = 2.0f * expf(-i / 100.0f) + 0.05f * sinf((float)i);
        val2[i] = i % 50 == 49 ? batch[i] + 0.1f : NAN;
    }
    term_series many[2] = {{"loss", batch, 500}, {"val_loss", val2, 500}};
    term_style styles[] = {ASCII, UNICODE, FULL, COLOUR_ONLY};
    for (int si = 0; si < 4; si++)
        for (int w = 20; w <= 120; w += 25)
            for (int h = 5; h <= 25; h += 10) {
                term_buf_clear(&b);
                CHECK(term_line_plot(&b, &(term_plot){many, 2, 1, "batch"}, w, h, styles[si]) == 0);
                int lines;
                CHECK(widest_line(term_buf_str(&b), &lines) <= w && lines == h);
            }
    /* Braille for one series with Unicode: the U+2800 block, no markers. */
    term_buf_clear(&b);
    term_line_plot(&b, &(term_plot){many, 1, 1, "batch"}, 60, 12, UNICODE);
    CHECK_STR_CONTAINS(term_buf_str(&b), "\u28FF loss");
    CHECK(strchr(term_buf_str(&b), '*') == NULL);
    term_buf_free(&b);
}

static void test_confusion(void)
{
    int labels[12] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2};
    int pred[12] = {0, 0, 1, 11, 1, 1, 0, 2, 0, 0, 1, 2};
    int counts[9], none[3];
    char err[EMBER_ERR_SIZE];
    CHECK(term_confusion_count(counts, none, 3, labels, pred, 12, err) == 0);
    int expect[9] = {2, 1, 0, 1, 2, 0, 2, 1, 2};
    CHECK(memcmp(counts, expect, sizeof expect) == 0);
    CHECK(none[0] == 1 && none[1] == 0 && none[2] == 0);
    /* Errors name the sample. */
    CHECK(term_confusion_count(counts, NULL, 3, labels, pred, 12, err) == -1);
    CHECK_STR_CONTAINS(err, "prediction 11 of sample 3 is not a class (0..2)");
    CHECK(term_confusion_count(counts, none, 3, (int[1]){3}, (int[1]){0}, 1, err) == -1);
    CHECK_STR_CONTAINS(err, "label 3 of sample 0 is not a class");

    /* Most confused: by count, ties by true label then prediction. */
    term_pair pairs[4];
    CHECK(term_confused_pairs(counts, 3, 4, pairs) == 4);
    CHECK(pairs[0].true_label == 2 && pairs[0].predicted == 0 && pairs[0].count == 2);
    CHECK(pairs[1].true_label == 0 && pairs[1].predicted == 1 && pairs[1].count == 1);
    CHECK(pairs[2].true_label == 1 && pairs[2].predicted == 0 && pairs[2].count == 1);
    CHECK(pairs[3].true_label == 2 && pairs[3].predicted == 1 && pairs[3].count == 1);
    CHECK(term_confused_pairs(counts, 3, 1, pairs) == 1 && pairs[0].count == 2);

    term_buf b;
    term_buf_init(&b);
    term_confusion_table(&b, &(term_confusion){3, counts, none, NAMES, 2}, 60, ASCII);
    CHECK_TEXT(&b,
               "true \\ pred   T-shir~ Trouser Pullov~ none    accuracy\n"
               "0 T-shirt/top       2       1       0       1    50.0%\n"
               "1 Trouser           1       2       0       0    66.7%\n"
               "2 Pullover          2       1       2       0    40.0%\n"
               "overall accuracy: 50.00% (6 of 12)\n"
               "most confused (true -> predicted):\n"
               "  2 Pullover -> 0 T-shirt/top: 2\n"
               "  0 T-shirt/top -> 1 Trouser: 1\n");
    /* No names: numbers as headers. */
    term_buf_clear(&b);
    term_confusion_table(&b, &(term_confusion){3, counts, NULL, NULL, 0}, 60, ASCII);
    CHECK_TEXT(&b,
               "true \\ pred 0 1 2 accuracy\n"
               "0           2 1 0    66.7%\n"
               "1           1 2 0    66.7%\n"
               "2           2 1 2    40.0%\n"
               "overall accuracy: 54.55% (6 of 11)\n");

    /* Ten classes of Fashion-MNIST within 80 columns. */
    int c10[100] = {0};
    for (int i = 0; i < 10; i++)
        c10[i * 11] = 900 + i;
    c10[6 * 10 + 0] = 123;
    c10[2 * 10 + 4] = 77;
    term_style styles[] = {ASCII, UNICODE, FULL};
    for (int si = 0; si < 3; si++) {
        term_buf_clear(&b);
        term_confusion_table(&b, &(term_confusion){10, c10, NULL, NAMES, 3}, 80, styles[si]);
        CHECK(widest_line(term_buf_str(&b), NULL) <= 80);
        CHECK_STR_CONTAINS(term_buf_str(&b), "  6 Shirt -> 0 T-shirt/top: 123\n  2 Pullover -> 4 Coat: 77\n");
    }
    term_buf_free(&b);
}

int main(void)
{
    test_buffer();
    test_bar();
    test_bar_chart();
    test_bar_chart_units();
    test_image();
    test_plot();
    test_confusion();
    return test_report();
}
