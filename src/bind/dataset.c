/* dataset.c: the Dataset userdata and the `data` module.
 *
 * A Dataset wraps the C dataset struct (src/data) that the model binding
 * trains on. Three kinds share one userdata type:
 *   - loaded (data.load, data.idx): owns its uint8 pixels and labels;
 *   - a subset (ds:subset): a slice into its parent, which it keeps alive
 *     through its first user value, so dropping the parent is safe;
 *   - shuffled (ds:shuffle): an owning copy in a new order.
 * Pixels stay uint8; everything that hands out floats (ds[i], ds:sample,
 * ds:images, ds:batches) goes through the dataset's sample_source gather,
 * so a sample reads here exactly as the model sees it (pixel / 255). Every
 * call makes new tensors: the user may keep them.
 *
 * ds[i] is the image alone, because Lua keeps one value of an index
 * expression; ds:sample(i) returns image, label. __index is a function
 * (integer keys and fields need the userdata); the metatable also holds
 * the method table as __methods and the field names as __fields, for tab
 * completion and help, as tensor.c does.
 *
 * Lua positions are 1-based (ds[61] is Keras's x_test[60]); labels are the
 * dataset's own values and are never shifted; class_names and counts are
 * keyed by label (class_names[0] == "T-shirt/top").
 *
 * The userdata is created zeroed (an empty, non-owning dataset) before
 * anything is loaded or allocated, as liolib.c does with files, so a
 * failure halfway leaves __gc something safe to free. Nothing here prints. */
#include "bind/bind.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef struct dataset_ud {
    dataset ds;          /* first, so dataset_check can return &ud->ds */
    char    split[8];    /* "train", "test", or "" */
    bool    subset;      /* a view: its range is shown by tostring */
    bool    shuffled;
    size_t  origin;      /* 0-based position of sample 1 in the loaded (or shuffled) set */
} dataset_ud;

/* Samples gathered per call when filling a tensor: bounded stack buffers. */
enum { DATASET_CHUNK = 256 };

/* ---- helpers ------------------------------------------------------------ */

/* A new Dataset userdata in a safe empty state, with one user value slot
 * (the parent of a subset). */
static dataset_ud *dataset_new(lua_State *L)
{
    dataset_ud *ud = lua_newuserdatauv(L, sizeof *ud, 1);
    memset(ud, 0, sizeof *ud);
    luaL_setmetatable(L, DATASET_MT);
    return ud;
}

static dataset_ud *dataset_checkud(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, DATASET_MT);
}

const dataset *dataset_check(lua_State *L, int arg)
{
    return &dataset_checkud(L, arg)->ds;
}

const dataset *dataset_test(lua_State *L, int arg)
{
    dataset_ud *ud = luaL_testudata(L, arg, DATASET_MT);
    return ud ? &ud->ds : NULL;
}

/* A 1-based inclusive range at arguments arg, arg + 1: first defaults to 1
 * (unless required) and last to #ds. Returns the 0-based start and the count;
 * an error names the argument and the valid range. */
static void dataset_range(lua_State *L, const dataset *ds, int arg, bool need_first,
                          size_t *start, size_t *count)
{
    lua_Integer n = (lua_Integer)ds->count;
    lua_Integer first = need_first ? luaL_checkinteger(L, arg) : luaL_optinteger(L, arg, 1);
    lua_Integer last = luaL_optinteger(L, arg + 1, n);
    if (first < 1 || first > n)
        luaL_argerror(L, arg, lua_pushfstring(L, "first must be in 1..%I, got %I", n, first));
    if (last < first || last > n)
        luaL_argerror(L, arg + 1, lua_pushfstring(L, "last must be in %I..%I, got %I",
                                                  first, n, last));
    *start = (size_t)(first - 1);
    *count = (size_t)(last - first + 1);
}

/* Pushes a new owned tensor of n samples (n x sample shape, or the sample
 * shape alone when single) and fills it with scaled pixels of positions
 * start..start+n-1, read through order when it is not NULL. When labels is
 * a stack index (not 0), the labels are stored in that table at 1..n. */
static void dataset_push_samples(lua_State *L, const dataset *ds, const uint32_t *order,
                                 size_t start, size_t n, bool single, int labels)
{
    if (labels)
        labels = lua_absindex(L, labels);
    int shape[4], rank = 0;
    if (!single) {
        if (n > INT32_MAX)
            luaL_error(L, "dataset: %I samples are too many for one tensor", (lua_Integer)n);
        shape[rank++] = (int)n;
    }
    for (int i = 0; i < ds->rank; i++)
        shape[rank++] = ds->shape[i];
    tensor *t = tensor_push(L, rank, shape);

    sample_source src = dataset_source(ds);
    uint32_t index[DATASET_CHUNK];
    int32_t label[DATASET_CHUNK];
    for (size_t done = 0; done < n;) {
        size_t k = n - done < DATASET_CHUNK ? n - done : DATASET_CHUNK;
        for (size_t i = 0; i < k; i++)
            index[i] = order ? order[start + done + i] : (uint32_t)(start + done + i);
        src.gather(src.ctx, index, k, t->data + done * ds->features, label);
        for (size_t i = 0; labels && i < k; i++) {
            lua_pushinteger(L, label[i]);
            lua_rawseti(L, labels, (lua_Integer)(done + i + 1));
        }
        done += k;
    }
}

/* A generator for a shuffle: from seed when given, else drawn from the
 * context's seeds (so ember.seed(n) makes unseeded shuffles repeat too). */
static void dataset_rng(lua_State *L, bool seeded, lua_Integer seed, rng *r)
{
    if (seeded) {
        rng_seed(r, (uint64_t)seed);
        return;
    }
    rng *seeds = &bind_ctx(L)->seeds;
    uint64_t hi = rng_u32(seeds);
    rng_seed(r, (hi << 32) | rng_u32(seeds));
}

/* A shuffled order of count indices in a userdata pushed on the stack (the
 * collector frees it, even when a later step raises). */
static uint32_t *dataset_push_order(lua_State *L, size_t count, rng *r)
{
    uint32_t *order = lua_newuserdatauv(L, count * sizeof *order, 0);
    for (size_t i = 0; i < count; i++)
        order[i] = (uint32_t)i;
    rng_shuffle(r, order, count);
    return order;
}

/* ---- the data module ----------------------------------------------------- */

/* data.load(name) -> train, test */
static int dataset_load_named(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    dataset_ud *train = dataset_new(L);
    dataset_ud *test = dataset_new(L);
    char err[EMBER_ERR_SIZE];
    if (dataset_load(name, &train->ds, &test->ds, err))
        return bind_error(L, "data.load", err);
    memcpy(train->split, "train", 6);
    memcpy(test->split, "test", 5);
    return 2;
}

/* data.idx(images_path, labels_path [, name]) -> dataset */
static int dataset_load_idx(lua_State *L)
{
    const char *images = luaL_checkstring(L, 1);
    const char *labels = luaL_checkstring(L, 2);
    const char *name = luaL_optstring(L, 3, NULL);
    dataset_ud *ud = dataset_new(L);
    char err[EMBER_ERR_SIZE];
    if (dataset_load_files(&ud->ds, images, labels, name, err))
        return bind_error(L, "data.idx", err);
    return 1;
}

/* ---- methods --------------------------------------------------------------- */

/* ds:subset(first [, last]) -> a view of samples first..last (last: #ds) */
static int dataset_subset(lua_State *L)
{
    dataset_ud *parent = dataset_checkud(L, 1);
    size_t start, count;
    dataset_range(L, &parent->ds, 2, true, &start, &count);
    dataset_ud *ud = dataset_new(L);
    char err[EMBER_ERR_SIZE];
    if (dataset_slice(&parent->ds, start, count, &ud->ds, err))
        return bind_error(L, "subset", err);
    memcpy(ud->split, parent->split, sizeof ud->split);
    ud->subset = true;
    ud->shuffled = parent->shuffled;
    ud->origin = parent->origin + start;
    lua_pushvalue(L, 1);              /* the slice points into the parent's memory */
    lua_setiuservalue(L, -2, 1);
    return 1;
}

/* ds:shuffle([seed]) -> a new owning dataset, the samples in a random order */
static int dataset_shuffle(lua_State *L)
{
    dataset_ud *src = dataset_checkud(L, 1);
    bool seeded = !lua_isnoneornil(L, 2);
    lua_Integer seed = seeded ? luaL_checkinteger(L, 2) : 0;
    if (seed < 0)
        luaL_argerror(L, 2, lua_pushfstring(L, "seed must be a non-negative integer, got %I", seed));
    const dataset *from = &src->ds;
    rng r;
    dataset_rng(L, seeded, seed, &r);
    uint32_t *order = dataset_push_order(L, from->count, &r);

    dataset_ud *ud = dataset_new(L);
    ud->ds = *from;
    ud->ds.pixels = NULL;
    ud->ds.labels = NULL;
    ud->ds.owner = true;              /* from here on __gc frees what is allocated */
    ud->ds.pixels = malloc(from->count * from->features);
    ud->ds.labels = malloc(from->count);
    if (!ud->ds.pixels || !ud->ds.labels)
        return luaL_error(L, "shuffle: out of memory for %I samples", (lua_Integer)from->count);
    for (size_t i = 0; i < from->count; i++) {
        memcpy(ud->ds.pixels + i * from->features,
               from->pixels + (size_t)order[i] * from->features, from->features);
        ud->ds.labels[i] = from->labels[order[i]];
    }
    memcpy(ud->split, src->split, sizeof ud->split);
    ud->shuffled = true;
    return 1;
}

/* ds:images([first [, last]]) -> tensor n x sample shape, pixels / 255 */
static int dataset_images(lua_State *L)
{
    const dataset *ds = dataset_check(L, 1);
    size_t start, count;
    dataset_range(L, ds, 2, false, &start, &count);
    dataset_push_samples(L, ds, NULL, start, count, false, 0);
    return 1;
}

/* ds:labels([first [, last]]) -> {label, ...} */
static int dataset_labels(lua_State *L)
{
    const dataset *ds = dataset_check(L, 1);
    size_t start, count;
    dataset_range(L, ds, 2, false, &start, &count);
    lua_createtable(L, count > INT32_MAX ? 0 : (int)count, 0);
    for (size_t i = 0; i < count; i++) {
        lua_pushinteger(L, ds->labels[start + i]);
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
    return 1;
}

/* ds:counts() -> {[label] = samples}, every label 0..max(classes, max_label + 1) - 1 */
static int dataset_counts(lua_State *L)
{
    const dataset *ds = dataset_check(L, 1);
    size_t counts[256] = {0};
    for (size_t i = 0; i < ds->count; i++)
        counts[ds->labels[i]]++;
    int labels = ds->classes > ds->max_label + 1 ? ds->classes : ds->max_label + 1;
    lua_createtable(L, 0, labels);
    for (int label = 0; label < labels && label < 256; label++) {
        lua_pushinteger(L, (lua_Integer)counts[label]);
        lua_rawseti(L, -2, label);
    }
    return 1;
}

/* ds:class_name(label) -> string or nil */
static int dataset_class_name_of(lua_State *L)
{
    const dataset *ds = dataset_check(L, 1);
    lua_Integer label = luaL_checkinteger(L, 2);
    const char *name = label >= 0 && label <= INT32_MAX ? dataset_class_name(ds, (int)label) : NULL;
    if (name)
        lua_pushstring(L, name);
    else
        lua_pushnil(L);
    return 1;
}

/* Where one ds:batches loop stands. */
typedef struct dataset_batches_state {
    size_t size;         /* samples per batch */
    size_t next;         /* 0-based position of the next batch's first sample */
} dataset_batches_state;

/* The iterator: upvalue 1 the dataset (kept alive), 2 the state, 3 the
 * shuffled order (a userdata) or nil. */
static int dataset_batches_next(lua_State *L)
{
    const dataset *ds = dataset_check(L, lua_upvalueindex(1));
    dataset_batches_state *st = lua_touserdata(L, lua_upvalueindex(2));
    const uint32_t *order = lua_touserdata(L, lua_upvalueindex(3));
    if (st->next >= ds->count)
        return 0;
    size_t n = ds->count - st->next < st->size ? ds->count - st->next : st->size;
    lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);   /* y, filled while gathering */
    dataset_push_samples(L, ds, order, st->next, n, false, -1);
    lua_insert(L, -2);                               /* x, y */
    lua_pushinteger(L, (lua_Integer)st->next + 1);
    st->next += n;
    return 3;
}

static const char *const dataset_batch_options[] = {"shuffle", "seed", NULL};

/* ds:batches(size [, {shuffle = bool, seed = n}]) -> iterator of x, y, first.
 * A seed alone implies shuffle = true. */
static int dataset_batches(lua_State *L)
{
    const dataset *ds = dataset_check(L, 1);
    lua_Integer size = luaL_checkinteger(L, 2);
    if (size < 1)
        luaL_argerror(L, 2, lua_pushfstring(L, "size must be a positive integer, got %I", size));
    bool shuffle = false, seeded = false;
    lua_Integer seed = 0;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            lua_pop(L, 1);
            bool known = false;
            for (int i = 0; dataset_batch_options[i]; i++)
                if (lua_type(L, -1) == LUA_TSTRING &&
                    strcmp(lua_tostring(L, -1), dataset_batch_options[i]) == 0)
                    known = true;
            if (!known)
                luaL_argerror(L, 3, lua_pushfstring(L, "unknown option %s (shuffle, seed)",
                                                    luaL_tolstring(L, -1, NULL)));
        }
        int type = lua_getfield(L, 3, "seed");
        if (type != LUA_TNIL) {
            int ok;
            seed = lua_tointegerx(L, -1, &ok);
            if (!ok || type != LUA_TNUMBER || seed < 0)
                luaL_argerror(L, 3, lua_pushfstring(L, "seed must be a non-negative integer, got %s",
                                                    luaL_tolstring(L, -1, NULL)));
            seeded = shuffle = true;
        }
        type = lua_getfield(L, 3, "shuffle");
        if (type != LUA_TNIL) {
            if (type != LUA_TBOOLEAN)
                luaL_argerror(L, 3, lua_pushfstring(L, "shuffle must be true or false, got %s",
                                                    luaL_typename(L, -1)));
            shuffle = lua_toboolean(L, -1);
        }
        lua_pop(L, 2);
    }

    lua_settop(L, 1);
    dataset_batches_state *st = lua_newuserdatauv(L, sizeof *st, 0);
    st->size = (size_t)size;
    st->next = 0;
    if (shuffle) {
        rng r;
        dataset_rng(L, seeded, seed, &r);
        dataset_push_order(L, ds->count, &r);   /* the same order ds:shuffle(seed) gives */
    } else {
        lua_pushnil(L);
    }
    lua_pushcclosure(L, dataset_batches_next, 3);
    return 1;
}

/* The 0-based position of the 1-based index at arg. ds[i] (arg 2 of
 * __index) raises "dataset: index 0 out of range (1..10000)"; a method
 * raises the same text as a bad argument. */
static size_t dataset_position(lua_State *L, const dataset *ds, int arg, bool method)
{
    lua_Integer i;
    if (method) {
        i = luaL_checkinteger(L, arg);
    } else {
        int ok;
        i = lua_tointegerx(L, arg, &ok);
        if (!ok)
            luaL_error(L, "dataset: index must be an integer (got %s)",
                       luaL_tolstring(L, arg, NULL));
    }
    if (i < 1 || (lua_Unsigned)i > ds->count) {
        const char *msg = lua_pushfstring(L, "index %I out of range (1..%I)", i,
                                          (lua_Integer)ds->count);
        if (method)
            luaL_argerror(L, arg, msg);
        luaL_error(L, "dataset: %s", msg);
    }
    return (size_t)(i - 1);
}

/* ds:sample(i) -> image, label: ds[i] can give only the image (Lua keeps
 * one value of an index), so the pair comes from this method. */
static int dataset_sample(lua_State *L)
{
    const dataset *ds = dataset_check(L, 1);
    size_t at = dataset_position(L, ds, 2, true);
    dataset_push_samples(L, ds, NULL, at, 1, true, 0);
    lua_pushinteger(L, ds->labels[at]);
    return 2;
}

/* ds:label(i) -> the label of sample i, as stored (never shifted) */
static int dataset_label(lua_State *L)
{
    const dataset *ds = dataset_check(L, 1);
    lua_pushinteger(L, ds->labels[dataset_position(L, ds, 2, true)]);
    return 1;
}

/* ---- metamethods --------------------------------------------------------- */

/* ds.key: upvalue 1 is the method table; then integer indices; then fields. */
static int dataset_index(lua_State *L)
{
    dataset_ud *ud = dataset_checkud(L, 1);
    const dataset *ds = &ud->ds;
    if (lua_type(L, 2) == LUA_TNUMBER) {   /* ds[i]: the image of sample i */
        dataset_push_samples(L, ds, NULL, dataset_position(L, ds, 2, false), 1, true, 0);
        return 1;
    }
    if (lua_type(L, 2) != LUA_TSTRING)
        return 0;
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    const char *key = lua_tostring(L, 2);
    if (strcmp(key, "name") == 0) {
        lua_pushstring(L, ds->name);
    } else if (strcmp(key, "split") == 0) {
        if (ud->split[0])
            lua_pushstring(L, ud->split);
        else
            lua_pushnil(L);
    } else if (strcmp(key, "shape") == 0) {
        lua_createtable(L, ds->rank, 0);
        for (int i = 0; i < ds->rank; i++) {
            lua_pushinteger(L, ds->shape[i]);
            lua_rawseti(L, -2, i + 1);
        }
    } else if (strcmp(key, "classes") == 0) {
        lua_pushinteger(L, ds->classes);
    } else if (strcmp(key, "max_label") == 0) {
        lua_pushinteger(L, ds->max_label);
    } else if (strcmp(key, "class_names") == 0) {
        if (!ds->class_names)
            return 0;
        lua_createtable(L, ds->classes, 1);   /* keyed by label: [0] is the first class */
        for (int label = 0; label < ds->classes; label++) {
            lua_pushstring(L, ds->class_names[label]);
            lua_rawseti(L, -2, label);
        }
    } else {
        return 0;
    }
    return 1;
}

static int dataset_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)dataset_check(L, 1)->count);
    return 1;
}

/* "Dataset fashion-mnist (test) [1..2000]: 2000 samples of 28x28, 10 classes" */
static int dataset_tostring(lua_State *L)
{
    dataset_ud *ud = dataset_checkud(L, 1);
    const dataset *ds = &ud->ds;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "Dataset ");
    luaL_addstring(&b, ds->name);
    if (ud->split[0] || ud->shuffled) {
        lua_pushfstring(L, " (%s%s%s)", ud->split, ud->split[0] && ud->shuffled ? ", " : "",
                        ud->shuffled ? "shuffled" : "");
        luaL_addvalue(&b);
    }
    if (ud->subset) {
        lua_pushfstring(L, " [%I..%I]", (lua_Integer)ud->origin + 1,
                        (lua_Integer)(ud->origin + ds->count));
        luaL_addvalue(&b);
    }
    char shape[64];
    ember_shape_text(shape, sizeof shape, ds->rank, ds->shape);
    lua_pushfstring(L, ": %I sample%s of %s, %d class%s", (lua_Integer)ds->count,
                    ds->count == 1 ? "" : "s", shape, ds->classes, ds->classes == 1 ? "" : "es");
    luaL_addvalue(&b);
    luaL_pushresult(&b);
    return 1;
}

static int dataset_gc(lua_State *L)
{
    dataset_free(&dataset_checkud(L, 1)->ds);   /* frees only what it owns; a slice owns nothing */
    return 0;
}

static const luaL_Reg dataset_methods[] = {
    {"sample", dataset_sample},
    {"label", dataset_label},
    {"subset", dataset_subset},
    {"shuffle", dataset_shuffle},
    {"images", dataset_images},
    {"labels", dataset_labels},
    {"batches", dataset_batches},
    {"counts", dataset_counts},
    {"class_name", dataset_class_name_of},
    {NULL, NULL},
};

static const luaL_Reg dataset_metamethods[] = {
    {"__len", dataset_len},
    {"__tostring", dataset_tostring},
    {"__gc", dataset_gc},
    {"__index", NULL},      /* set below: a closure over the method table */
    {NULL, NULL},
};

/* The fields ds.key answers besides the methods (for completion and help). */
static const char *const dataset_fields[] = {
    "name", "split", "shape", "classes", "max_label", "class_names", NULL,
};

static const luaL_Reg data_functions[] = {
    {"load", dataset_load_named},
    {"idx", dataset_load_idx},
    {NULL, NULL},
};

int luaopen_ember_data(lua_State *L)
{
    luaL_newmetatable(L, DATASET_MT);
    luaL_setfuncs(L, dataset_metamethods, 0);
    luaL_newlib(L, dataset_methods);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__methods");      /* what completion walks: __index is a function */
    lua_pushcclosure(L, dataset_index, 1);
    lua_setfield(L, -2, "__index");
    lua_createtable(L, 6, 0);
    for (int i = 0; dataset_fields[i]; i++) {
        lua_pushstring(L, dataset_fields[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "__fields");
    lua_pop(L, 1);
    luaL_newlib(L, data_functions);
    return 1;
}
