/* test_svg.c: the SVG writers (src/io/svg.c).
 *
 * Usage: test_svg [xmllint]. The documents must parse as XML: with the
 * path of xmllint (meson passes it when found; Debian: libxml2-utils)
 * every document is checked with `xmllint --noout`; without it that check
 * is skipped with a note and the rest still runs. Labels carry <, &, " and
 * ' so that escaping is exercised; the element counts are checked: one
 * <path> per series, one <rect class="bar"> per unit (two with shares). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "io/svg.h"
#include "testutil.h"

static const char *xmllint;
static char dir[64];

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* xmllint --noout on the file: exit status 0 means well-formed XML. */
static void check_xml(const char *path)
{
    if (!xmllint)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        execl(xmllint, xmllint, "--noout", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Writes the text to a file in the test directory and checks it as XML. */
static void check_doc(const char *doc, const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(doc, f);
    fclose(f);
    check_xml(path);
}

static const char *const NAMES[] = {"T-shirt/top", "Trouser", "Pull<over>", "Dress & \"Coat\"", "Coat's"};

static void test_line_chart(void)
{
    char err[EMBER_ERR_SIZE];
    float loss[6] = {0.9f, 0.6f, 0.45f, 0.4f, 0.38f, 0.35f};
    float val[6] = {NAN, 0.7f, NAN, 0.5f, 0.52f, INFINITY};
    float flat[1] = {0.5f};
    svg_series s[3] = {{"loss <train> & \"more\"", loss, 6}, {"val_loss", val, 6}, {NULL, flat, 1}};
    size_t len = 0;
    char *doc = svg_line_chart_text(&(svg_line_chart){s, 3, 1, "Loss & <accuracy>", "epoch", "loss", 0, 0},
                                    &len, err);
    CHECK(doc && len == strlen(doc));
    if (!doc)
        return;
    CHECK(strncmp(doc, "<?xml", 5) == 0 && strstr(doc, "</svg>\n") == doc + len - 7);
    CHECK(count(doc, "<path") == 3);
    /* Escaped labels, the raw ones nowhere. */
    CHECK_STR_CONTAINS(doc, ">Loss &amp; &lt;accuracy&gt;</text>");
    CHECK_STR_CONTAINS(doc, ">loss &lt;train&gt; &amp; &quot;more&quot;</text>");
    CHECK(strstr(doc, "<train>") == NULL && strstr(doc, "<accuracy>") == NULL);
    CHECK_STR_CONTAINS(doc, ">series 3</text>");
    /* val_loss: a lone point (index 1) then a run from index 3 to 4. */
    const char *vp = strstr(doc, "stroke=\"#ff7f0e\" stroke-width");
    CHECK(vp != NULL);
    if (vp) {
        const char *d = strstr(vp, " d=\""), *end = d ? strchr(d + 4, '"') : NULL;
        CHECK(d && end);
        if (d && end) {
            char path[256];
            snprintf(path, sizeof path, "%.*s", (int)(end - d - 4), d + 4);
            CHECK(count(path, "M") == 2 && count(path, " h0") == 1 && count(path, " L") == 1);
        }
    }
    check_doc(doc, "line.svg");

    /* Written atomically: the same bytes in the file. */
    char path[128];
    snprintf(path, sizeof path, "%s/curves.svg", dir);
    CHECK(svg_write_line_chart(path, &(svg_line_chart){s, 3, 1, "Loss & <accuracy>", "epoch", "loss", 0, 0},
                               err) == 0);
    FILE *f = fopen(path, "r");
    char *back = calloc(len + 2, 1);
    CHECK(f && back && fread(back, 1, len + 1, f) == len && strcmp(back, doc) == 0);
    if (f)
        fclose(f);
    free(back);
    free(doc);

    /* Edge cases stay valid documents: no finite value, one point, many. */
    float none[2] = {NAN, NAN}, many[2000];
    for (int i = 0; i < 2000; i++)
        many[i] = -3.0f + expf(-i / 300.0f);
    svg_series e1 = {"empty", none, 2}, e2 = {"one", flat, 1}, e3 = {"batches", many, 2000};
    const svg_series *cases[] = {&e1, &e2, &e3};
    for (int k = 0; k < 3; k++) {
        doc = svg_line_chart_text(&(svg_line_chart){cases[k], 1, 0, NULL, NULL, NULL, 320, 200}, NULL, err);
        CHECK(doc != NULL);
        if (doc) {
            CHECK(count(doc, "<path") == (k == 0 ? 0 : 1));
            check_doc(doc, "edge.svg");
        }
        free(doc);
    }
    CHECK(svg_line_chart_text(&(svg_line_chart){s, 1, 0, NULL, NULL, NULL, 10, 10}, NULL, err) == NULL);
    CHECK_STR_CONTAINS(err, "200 x 150");
}

static void test_bar_chart(void)
{
    char err[EMBER_ERR_SIZE];
    float v[7] = {0.1f, 0.9f, 1.5f, -0.2f, 0.3f, 1e-6f, NAN};
    float share[7] = {0.03f, 0.3f, 0.5f, 0, 0.1f, 3e-7f, 0};
    char *doc = svg_bar_chart_text(&(svg_bar_chart){v, NULL, 7, 5, NAMES, 1, 2, "Sample 61 <test>", 0},
                                   NULL, err);
    CHECK(doc != NULL);
    if (!doc)
        return;
    CHECK(count(doc, "<rect class=\"bar\"") == 7);
    CHECK(count(doc, "(no such class)") == 2);
    CHECK_STR_CONTAINS(doc, ">2 Pull&lt;over&gt;</text>");
    CHECK_STR_CONTAINS(doc, ">3 Dress &amp; &quot;Coat&quot;</text>");
    CHECK_STR_CONTAINS(doc, ">4 Coat&apos;s</text>");
    CHECK_STR_CONTAINS(doc, "&lt;- true</text>");
    CHECK_STR_CONTAINS(doc, "&lt;- predicted</text>");
    /* Clipped widths: 1.5 is the full 250 pixels; -0.2, NaN (and 1e-6) 0. */
    CHECK_STR_CONTAINS(doc, "width=\"250.00\" height=\"14\"");
    CHECK(count(doc, "width=\"0.00\" height=\"14\"") == 3);
    check_doc(doc, "bars.svg");
    free(doc);

    /* With shares: two bars per unit; true = predicted marked once. */
    doc = svg_bar_chart_text(&(svg_bar_chart){v, share, 7, 5, NAMES, 2, 2, NULL, 800}, NULL, err);
    CHECK(doc != NULL);
    if (doc) {
        CHECK(count(doc, "<rect class=\"bar\"") == 14);
        CHECK(count(doc, "&lt;- true, predicted") == 1);
        check_doc(doc, "bars2.svg");
    }
    free(doc);

    /* Atomic write into a missing directory: an error, no file. */
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/missing/bars.svg", dir);
    CHECK(svg_write_bar_chart(path, &(svg_bar_chart){v, NULL, 7, 5, NAMES, 1, 2, NULL, 0}, err) == -1);
    CHECK_STR_CONTAINS(err, "No such file or directory");
    CHECK(stat(path, &st) != 0);
    snprintf(path, sizeof path, "%s/bars.svg", dir);
    CHECK(svg_write_bar_chart(path, &(svg_bar_chart){v, NULL, 7, 5, NAMES, 1, 2, NULL, 0}, err) == 0);
    check_xml(path);
    CHECK(svg_bar_chart_text(&(svg_bar_chart){v, NULL, 0, 5, NAMES, 1, 2, NULL, 0}, NULL, err) == NULL);
}

int main(int argc, char **argv)
{
    xmllint = argc > 1 ? argv[1] : NULL;
    if (!xmllint)
        fprintf(stderr, "note: xmllint not found (Debian: libxml2-utils); the XML parse check is skipped\n");
    snprintf(dir, sizeof dir, "/tmp/ember-svg-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_line_chart();
    test_bar_chart();
    const char *made[] = {"line.svg", "curves.svg", "edge.svg", "bars.svg", "bars2.svg"};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, made[i]);
        unlink(path);
    }
    rmdir(dir);
    return test_report();
}
