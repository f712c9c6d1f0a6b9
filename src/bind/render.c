/* render.c: ember.render, the C renderers (src/term) and writers (src/io)
 * as Lua functions that return text or write a file.
 *
 * Not meant to be called by people directly: lua/inspect.lua builds the
 * user-facing functions (m:probs, ds:show, plot, m:confusion, exports) on
 * these. Arrays come in as tensors or Lua sequences and are copied into
 * scratch userdata, so an error anywhere frees everything with the GC.
 * The style (colour, Unicode) comes from the options or ember.color; the
 * width from the options or the terminal. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bind/bind.h"
#include "core/error.h"
#include "io/png.h"
#include "io/svg.h"
#include "term/bars.h"
#include "term/buffer.h"
#include "term/image.h"
#include "term/plot.h"
#include "term/table.h"

/* ---- reading arguments ------------------------------------------------- */

/* The floats of a tensor or a sequence of numbers (nil or missing: NaN),
 * in a scratch userdata pushed on the stack. */
static float *read_floats(lua_State *L, int idx, int *n, const char *what)
{
    idx = lua_absindex(L, idx);
    const tensor *t = tensor_test(L, idx);
    if (t) {
        float *f = lua_newuserdatauv(L, (t->size ? t->size : 1) * sizeof *f, 0);
        memcpy(f, t->data, t->size * sizeof *f);
        *n = (int)t->size;
        return f;
    }
    if (!lua_istable(L, idx))
        luaL_error(L, "render: %s must be a tensor or a list of numbers (got %s)", what, luaL_typename(L, idx));
    lua_Integer len = luaL_len(L, idx);
    if (len < 0 || len > (1 << 26))
        luaL_error(L, "render: %s has %d values", what, (int)len);
    float *f = lua_newuserdatauv(L, (size_t)(len ? len : 1) * sizeof *f, 0);
    for (lua_Integer i = 1; i <= len; i++) {
        lua_geti(L, idx, i);
        int isnum;
        lua_Number v = lua_tonumberx(L, -1, &isnum);
        f[i - 1] = isnum ? (float)v : NAN;
        lua_pop(L, 1);
    }
    *n = (int)len;
    return f;
}

/* Integers of a sequence, in a scratch userdata. */
static int *read_ints(lua_State *L, int idx, int n, const char *what)
{
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    if (luaL_len(L, idx) != n)
        luaL_error(L, "render: %s has %d values, expected %d", what, (int)luaL_len(L, idx), n);
    int *v = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *v, 0);
    for (int i = 0; i < n; i++) {
        lua_geti(L, idx, i + 1);
        v[i] = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    return v;
}

/* Class names from a table keyed by label (0..classes-1); the strings stay
 * alive in that table, which must stay on the stack. NULL if absent. */
static const char **read_names(lua_State *L, int idx, int classes)
{
    if (lua_isnoneornil(L, idx) || classes < 1)
        return NULL;
    idx = lua_absindex(L, idx);
    const char **names = lua_newuserdatauv(L, (size_t)classes * sizeof *names, 0);
    for (int c = 0; c < classes; c++) {
        lua_geti(L, idx, c);
        names[c] = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
        lua_pop(L, 1);   /* the table keeps the string */
    }
    return names;
}

static int opt_int(lua_State *L, int opts, const char *key, int def)
{
    if (!lua_istable(L, opts))
        return def;
    lua_getfield(L, opts, key);
    int v = lua_isnil(L, -1) ? def : (int)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    return v;
}

static bool opt_bool(lua_State *L, int opts, const char *key, bool def)
{
    if (!lua_istable(L, opts))
        return def;
    lua_getfield(L, opts, key);
    bool v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static const char *opt_string(lua_State *L, int opts, const char *key)
{
    if (!lua_istable(L, opts))
        return NULL;
    lua_getfield(L, opts, key);
    const char *s = lua_tostring(L, -1);   /* the table keeps it alive */
    lua_pop(L, 1);
    return s;
}

static term_style style_of(lua_State *L, int opts)
{
    bool color = bind_ctx(L)->color;
    return (term_style){.color = opt_bool(L, opts, "color", color),
                        .unicode = opt_bool(L, opts, "unicode", color)};
}

/* The terminal's width: TIOCGWINSZ on standard output, else $COLUMNS, else 80. */
static int terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *env = getenv("COLUMNS");
    int n = env ? atoi(env) : 0;
    return n > 0 ? n : 80;
}

static int push_buf(lua_State *L, term_buf *b, int status)
{
    if (status < 0 || b->failed) {
        term_buf_free(b);
        return luaL_error(L, "render: out of memory, or too small a width or height");
    }
    lua_pushlstring(L, term_buf_str(b), b->len);
    term_buf_free(b);
    return 1;
}

/* ---- renderers --------------------------------------------------------- */

/* The chart a table at idx describes: values =, share =, classes =,
 * names = (keyed by label), true_label =, predicted =. The arrays live in
 * scratch userdata on the stack. */
typedef struct bar_args {
    const float *values, *share;
    int units, classes, true_label, predicted;
    const char **names;
} bar_args;

static bar_args read_bar_args(lua_State *L, int idx, const char *fname)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    bar_args a;
    int n_share = 0;
    lua_getfield(L, idx, "values");
    a.values = read_floats(L, -1, &a.units, "values");
    lua_getfield(L, idx, "share");
    a.share = lua_isnil(L, -1) ? NULL : read_floats(L, -1, &n_share, "share");
    if (a.share && n_share != a.units)
        luaL_error(L, "%s: %d shares for %d values", fname, n_share, a.units);
    a.classes = opt_int(L, idx, "classes", a.units);
    lua_getfield(L, idx, "names");
    a.names = read_names(L, -1, a.classes < a.units ? a.classes : a.units);
    a.true_label = opt_int(L, idx, "true_label", -1);
    a.predicted = opt_int(L, idx, "predicted", -1);
    return a;
}

/* render.bars { values =, share =, classes =, names =, true_label =,
 *               predicted =, top =, collapse =, width = } -> text */
static int render_bars(lua_State *L)
{
    bar_args a = read_bar_args(L, 1, "render.bars");
    term_bars chart = {.values = a.values, .share = a.share, .units = a.units, .classes = a.classes,
                       .names = a.names, .true_label = a.true_label, .predicted = a.predicted,
                       .top = opt_int(L, 1, "top", 0),
                       .collapse_unused = opt_bool(L, 1, "collapse", false)};
    term_buf b;
    term_buf_init(&b);
    int status = term_bar_chart(&b, &chart, opt_int(L, 1, "width", terminal_columns()), style_of(L, 1));
    return push_buf(L, &b, status);
}

/* render.image(t [, opts]) -> text: a rank-2 tensor of values in [0, 1]. */
static int render_image(lua_State *L)
{
    const tensor *t = tensor_check(L, 1);
    luaL_argcheck(L, t->rank == 2, 1, "an image is a rank-2 tensor (rows x columns)");
    term_buf b;
    term_buf_init(&b);
    int status = term_image_f32(&b, t->data, t->shape[0], t->shape[1], style_of(L, 2));
    return push_buf(L, &b, status);
}

/* render.image_size(h, w [, opts]) -> columns, lines */
static int render_image_size(lua_State *L)
{
    int cols, lines;
    term_image_size((int)luaL_checkinteger(L, 1), (int)luaL_checkinteger(L, 2), style_of(L, 3), &cols, &lines);
    lua_pushinteger(L, cols);
    lua_pushinteger(L, lines);
    return 2;
}

/* render.side_by_side(left, right [, gap]) -> text */
static int render_side_by_side(lua_State *L)
{
    term_buf b;
    term_buf_init(&b);
    int status = term_side_by_side(&b, luaL_checkstring(L, 1), luaL_checkstring(L, 2),
                                   (int)luaL_optinteger(L, 3, 2));
    return push_buf(L, &b, status);
}

/* The series of a list { { name =, y = }, ... } as term_series and
 * svg_series (same layout of name, y, n). */
static term_series *read_series(lua_State *L, int idx, int *count)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    int n = (int)luaL_len(L, idx);
    if (n < 1 || n > 16)
        luaL_error(L, "render: 1 to 16 series to plot (got %d)", n);
    term_series *s = lua_newuserdatauv(L, (size_t)n * sizeof *s, 0);
    for (int i = 0; i < n; i++) {
        lua_geti(L, idx, i + 1);
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_getfield(L, -1, "name");
        s[i].name = lua_tostring(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, -1, "y");
        s[i].y = read_floats(L, -1, &s[i].n, "y");
        /* Keep the floats alive: anchor them in the series table. */
        lua_setfield(L, -3, "_floats");
        lua_pop(L, 2);
    }
    *count = n;
    return s;
}

/* render.plot(series [, { x_first =, x_name =, width =, height = }]) -> text */
static int render_plot(lua_State *L)
{
    int n;
    term_series *s = read_series(L, 1, &n);
    term_plot plot = {.series = s, .n_series = n, .x_first = opt_int(L, 2, "x_first", 1),
                      .x_name = opt_string(L, 2, "x_name")};
    term_buf b;
    term_buf_init(&b);
    int width = opt_int(L, 2, "width", terminal_columns() < 100 ? terminal_columns() : 100);
    int status = term_line_plot(&b, &plot, width, opt_int(L, 2, "height", 16), style_of(L, 2));
    return push_buf(L, &b, status);
}

/* render.confusion(labels, predicted, classes [, names [, { top =, width = }]])
 * -> text, counts (rows by true label, 0-based keys), pairs */
static int render_confusion(lua_State *L)
{
    int n = (int)luaL_len(L, 1);
    int classes = (int)luaL_checkinteger(L, 3);
    luaL_argcheck(L, classes >= 1 && classes <= 1000, 3, "1 to 1000 classes");
    const int *labels = read_ints(L, 1, n, "labels");
    const int *predicted = read_ints(L, 2, n, "predicted");
    const char **names = read_names(L, 4, classes);
    int *counts = lua_newuserdatauv(L, (size_t)classes * classes * sizeof *counts, 0);
    int *no_class = lua_newuserdatauv(L, (size_t)classes * sizeof *no_class, 0);
    char err[EMBER_ERR_SIZE];
    if (term_confusion_count(counts, no_class, classes, labels, predicted, n, err) < 0)
        return bind_error(L, "render.confusion", err);
    int top = opt_int(L, 5, "top", 5);
    term_confusion m = {.classes = classes, .counts = counts, .no_class = no_class,
                        .names = names, .most_confused = top};
    term_buf b;
    term_buf_init(&b);
    int status = term_confusion_table(&b, &m, opt_int(L, 5, "width", terminal_columns()), style_of(L, 5));
    push_buf(L, &b, status);
    lua_createtable(L, 0, classes);
    for (int t = 0; t < classes; t++) {
        lua_createtable(L, 0, classes);
        for (int p = 0; p < classes; p++) {
            lua_pushinteger(L, counts[t * classes + p]);
            lua_rawseti(L, -2, p);
        }
        lua_rawseti(L, -2, t);
    }
    term_pair *pairs = lua_newuserdatauv(L, (size_t)(top > 0 ? top : 1) * sizeof *pairs, 0);
    int found = term_confused_pairs(counts, classes, top, pairs);
    lua_pop(L, 1);
    lua_createtable(L, found, 0);
    for (int i = 0; i < found; i++) {
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, pairs[i].true_label);
        lua_setfield(L, -2, "true_label");
        lua_pushinteger(L, pairs[i].predicted);
        lua_setfield(L, -2, "predicted");
        lua_pushinteger(L, pairs[i].count);
        lua_setfield(L, -2, "count");
        lua_rawseti(L, -2, i + 1);
    }
    return 3;
}

/* ---- files ------------------------------------------------------------- */

/* render.png(path, t): a rank-2 tensor of values in [0, 1], as greys. */
static int render_png(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const tensor *t = tensor_check(L, 2);
    luaL_argcheck(L, t->rank == 2, 2, "an image is a rank-2 tensor (rows x columns)");
    uint8_t *pixels = lua_newuserdatauv(L, t->size, 0);
    for (size_t i = 0; i < t->size; i++) {
        float v = t->data[i];
        pixels[i] = !(v > 0.0f) ? 0 : v >= 1.0f ? 255 : (uint8_t)lroundf(v * 255.0f);
    }
    char err[EMBER_ERR_SIZE];
    if (png_write_gray(path, pixels, t->shape[1], t->shape[0], err) < 0)
        return luaL_error(L, "%s", err);
    lua_pushboolean(L, 1);
    return 1;
}

/* render.png_tiles(path, weights, tile_h, tile_w): a dense layer's kernel
 * (inputs x units), one min-max normalised tile per unit. */
static int render_png_tiles(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const tensor *w = tensor_check(L, 2);
    int th = (int)luaL_checkinteger(L, 3), tw = (int)luaL_checkinteger(L, 4);
    luaL_argcheck(L, w->rank == 2 && th > 0 && tw > 0 && (size_t)th * tw == (size_t)w->shape[0], 2,
                  "a kernel of (tile_h * tile_w) inputs x units");
    png_tiles tiles = {.data = w->data, .count = w->shape[1], .tile_h = th, .tile_w = tw,
                       .tile_stride = 1, .pixel_stride = w->shape[1], .normalize = true,
                       .background = 0};
    char err[EMBER_ERR_SIZE];
    int width, height;
    uint8_t *pixels = png_tile(&tiles, &width, &height, err);
    if (!pixels)
        return luaL_error(L, "%s", err);
    int status = png_write_gray(path, pixels, width, height, err);
    free(pixels);
    if (status < 0)
        return luaL_error(L, "%s", err);
    lua_pushboolean(L, 1);
    return 1;
}

/* render.svg_lines(path, series [, { title =, x_name =, y_name =, x_first = }]) */
static int render_svg_lines(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int n;
    term_series *s = read_series(L, 2, &n);
    svg_series *ss = lua_newuserdatauv(L, (size_t)n * sizeof *ss, 0);
    for (int i = 0; i < n; i++)
        ss[i] = (svg_series){.name = s[i].name, .y = s[i].y, .n = s[i].n};
    svg_line_chart chart = {.series = ss, .n_series = n, .x_first = opt_int(L, 3, "x_first", 1),
                            .title = opt_string(L, 3, "title"), .x_name = opt_string(L, 3, "x_name"),
                            .y_name = opt_string(L, 3, "y_name")};
    char err[EMBER_ERR_SIZE];
    if (svg_write_line_chart(path, &chart, err) < 0)
        return luaL_error(L, "%s", err);
    lua_pushboolean(L, 1);
    return 1;
}

/* render.svg_bars(path, { values =, share =, classes =, names =,
 *                         true_label =, predicted =, title = }) */
static int render_svg_bars(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    bar_args a = read_bar_args(L, 2, "render.svg_bars");
    svg_bar_chart chart = {.values = a.values, .share = a.share, .units = a.units, .classes = a.classes,
                           .names = a.names, .true_label = a.true_label, .predicted = a.predicted,
                           .title = opt_string(L, 2, "title")};
    char err[EMBER_ERR_SIZE];
    if (svg_write_bar_chart(path, &chart, err) < 0)
        return luaL_error(L, "%s", err);
    lua_pushboolean(L, 1);
    return 1;
}

/* render.columns() -> the terminal's width in columns */
static int render_columns(lua_State *L)
{
    lua_pushinteger(L, terminal_columns());
    return 1;
}

static const luaL_Reg render_functions[] = {
    {"bars", render_bars},
    {"image", render_image},
    {"image_size", render_image_size},
    {"side_by_side", render_side_by_side},
    {"plot", render_plot},
    {"confusion", render_confusion},
    {"png", render_png},
    {"png_tiles", render_png_tiles},
    {"svg_lines", render_svg_lines},
    {"svg_bars", render_svg_bars},
    {"columns", render_columns},
    {NULL, NULL},
};

int luaopen_ember_render(lua_State *L)
{
    luaL_newlib(L, render_functions);
    return 1;
}
