/* tensor.c: the Tensor userdata and the "tensor" module.
 *
 * A tensor is a float32 array of rank 1..4, row-major and always contiguous.
 * An owned tensor keeps its floats inside its own userdata block, after the
 * header and aligned to 64 bytes, so Lua's collector frees header and data
 * together and no __gc is needed. A view (a row t[i], a slice, a reshape, a
 * model's weights) points into another object's memory and holds that
 * object in user value 1; views of views hold the root owner directly, so a
 * chain of views never keeps intermediate views alive.
 *
 * Positions are 1-based like every Lua sequence: t[1] is the first row.
 * Rows, slices and reshapes share memory with their parent (writing to one
 * writes the other); copy() and the arithmetic operators make new tensors.
 *
 * The metatable's __index is a C function (integer keys and the `shape`
 * field need the tensor itself, which a plain method table cannot see); it
 * falls back to the method table, which the metatable also holds under
 * __methods (and the one field name under __fields) so tab completion and
 * help can walk them, as for datasets and models.
 *
 * Errors: argument mistakes use luaL_arg* ("bad argument #2 to 'get' (...)");
 * others name the function, "tensor.zeros: ..." for module functions and
 * "tensor:reshape: ..." for methods; metamethods say "tensor: ...".
 * This file never frees memory itself and never stores a C global. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind/bind.h"
#include "core/error.h"
#include "core/rng.h"

#define TENSOR_ALIGN     64
#define TENSOR_MAX_SIZE  ((size_t)1 << 31)   /* elements: 8 GB of float32 */
#define PRINT_THRESHOLD  1000                /* summarise above this many values */
#define PRINT_EDGE       3                   /* values kept at each end */

/* ---- construction ------------------------------------------------------ */

/* Product of the dims, raising when the tensor would be impossibly large.
 * The limit test runs before each multiplication, so it cannot overflow. */
static size_t shape_size(lua_State *L, int rank, const int *shape)
{
    if (rank < 1 || rank > 4)
        luaL_error(L, "tensor: rank must be 1..4 (got %d)", rank);
    size_t size = 1;
    double exact = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 1)
            luaL_error(L, "tensor: dimension %d must be a positive integer (got %d)",
                       i + 1, shape[i]);
        exact *= shape[i];
        if (size <= TENSOR_MAX_SIZE)
            size *= (size_t)shape[i];
    }
    if (size > TENSOR_MAX_SIZE || size > (SIZE_MAX - 256) / sizeof(float)) {   /* 32-bit hosts */
        char s[64], m[160];   /* luaL_error knows no %.1f */
        ember_shape_text(s, sizeof s, rank, shape);
        snprintf(m, sizeof m, "%s is %.0f values (%.1f GB of float32); at most 2^31 values (8.6 GB) are allowed",
                 s, exact, exact * sizeof(float) / 1e9);
        luaL_error(L, "tensor: %s", m);
    }
    return size;
}

/* A tensor header with its shape filled in and, for an owned tensor, room
 * for the data after it. */
static tensor *push_header(lua_State *L, int rank, const int *shape, bool owned)
{
    size_t size = shape_size(L, rank, shape);
    size_t bytes = sizeof(tensor) + (owned ? TENSOR_ALIGN - 1 + size * sizeof(float) : 0);
    tensor *t = lua_newuserdatauv(L, bytes, 1);
    *t = (tensor){.rank = rank, .size = size, .view = !owned};
    memcpy(t->shape, shape, (size_t)rank * sizeof *shape);
    luaL_setmetatable(L, TENSOR_MT);
    return t;
}

tensor *tensor_push(lua_State *L, int rank, const int *shape)
{
    tensor *t = push_header(L, rank, shape, true);
    uintptr_t data = ((uintptr_t)(t + 1) + TENSOR_ALIGN - 1) & ~(uintptr_t)(TENSOR_ALIGN - 1);
    t->data = (float *)data;
    memset(t->data, 0, t->size * sizeof(float));
    return t;
}

tensor *tensor_push_view(lua_State *L, int owner, float *data, int rank, const int *shape)
{
    owner = lua_absindex(L, owner);
    tensor *t = push_header(L, rank, shape, false);
    t->data = data;
    lua_pushvalue(L, owner);
    lua_setiuservalue(L, -2, 1);
    return t;
}

tensor *tensor_check(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, TENSOR_MT);
}

tensor *tensor_test(lua_State *L, int arg)
{
    return luaL_testudata(L, arg, TENSOR_MT);
}

/* A view into the tensor at `parent`, owned by its root owner. */
static tensor *push_view_of(lua_State *L, int parent, float *data, int rank, const int *shape)
{
    parent = lua_absindex(L, parent);
    const tensor *p = lua_touserdata(L, parent);
    if (p->view)
        lua_getiuservalue(L, parent, 1);
    else
        lua_pushvalue(L, parent);
    tensor *t = tensor_push_view(L, -1, data, rank, shape);
    lua_remove(L, -2);
    return t;
}

/* A new owned tensor shaped like t. */
static tensor *push_like(lua_State *L, const tensor *t)
{
    return tensor_push(L, t->rank, t->shape);
}

/* ---- shapes from arguments --------------------------------------------- */

/* Reads dims given as integer arguments from `first` on, or as one table at
 * `first`: zeros(2, 3) and zeros{2, 3}. Returns the count (1..4). */
static int read_dims(lua_State *L, int first, const char *fname, lua_Integer dims[4])
{
    bool table = lua_type(L, first) == LUA_TTABLE;
    lua_Unsigned count = table ? lua_rawlen(L, first)
                               : (lua_Unsigned)(lua_gettop(L) < first ? 0 : lua_gettop(L) - first + 1);
    if (count < 1 || count > 4)
        luaL_error(L, "%s: a tensor has 1 to 4 dimensions (got %I)", fname, (lua_Integer)count);
    for (int i = 0; i < (int)count; i++) {
        if (!table) {
            dims[i] = luaL_checkinteger(L, first + i);
            continue;
        }
        int isint = 0;
        lua_rawgeti(L, first, i + 1);
        dims[i] = lua_type(L, -1) == LUA_TNUMBER ? lua_tointegerx(L, -1, &isint) : 0;
        if (!isint)
            luaL_error(L, "%s: dimension %d must be a positive integer (got %s)",
                       fname, i + 1, luaL_tolstring(L, -1, NULL));
        lua_pop(L, 1);
    }
    return (int)count;
}

static void check_dim(lua_State *L, const char *fname, int i, lua_Integer d)
{
    if (d < 1)
        luaL_error(L, "%s: dimension %d must be a positive integer (got %I)", fname, i + 1, d);
    if (d > INT_MAX)
        luaL_error(L, "%s: dimension %d is too large (got %I, at most %d)", fname, i + 1, d, INT_MAX);
}

static int read_shape(lua_State *L, int first, const char *fname, int shape[4])
{
    lua_Integer dims[4];
    int rank = read_dims(L, first, fname, dims);
    for (int i = 0; i < rank; i++) {
        check_dim(L, fname, i, dims[i]);
        shape[i] = (int)dims[i];
    }
    return rank;
}

/* ---- module functions -------------------------------------------------- */

static tensor *push_filled(lua_State *L, int first, const char *fname, float value)
{
    int shape[4];
    int rank = read_shape(L, first, fname, shape);
    tensor *t = tensor_push(L, rank, shape);
    if (value != 0)
        for (size_t i = 0; i < t->size; i++)
            t->data[i] = value;
    return t;
}

static int tensor_zeros(lua_State *L) { push_filled(L, 1, "tensor.zeros", 0); return 1; }
static int tensor_ones(lua_State *L)  { push_filled(L, 1, "tensor.ones", 1); return 1; }

static int tensor_fill(lua_State *L)
{
    float value = (float)luaL_checknumber(L, 1);
    push_filled(L, 2, "tensor.fill", value);
    return 1;
}

static int tensor_rand(lua_State *L)
{
    tensor *t = push_filled(L, 1, "tensor.rand", 0);
    rng *r = &bind_ctx(L)->seeds;
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = rng_uniform(r);
    return 1;
}

static int tensor_is(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_pushboolean(L, tensor_test(L, 1) != NULL);
    return 1;
}

/* "3" or "2,3": a position in a nested table, for error messages. */
static void path_text(char *buf, size_t n, const int *index, int depth)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < depth && used < n; i++) {
        int w = snprintf(buf + used, n - used, i ? ",%d" : "%d", index[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* Copies the table at idx (depth `depth` of the nesting) into t, checking
 * that every row has the length the first row had. */
static void from_fill(lua_State *L, int idx, tensor *t, int depth, int *index, size_t *pos)
{
    char here[64], first[64];
    int n = t->shape[depth];
    if (lua_rawlen(L, idx) != (lua_Unsigned)n) {
        int ones[4] = {1, 1, 1, 1};
        path_text(here, sizeof here, index, depth);
        path_text(first, sizeof first, ones, depth);
        int got = (int)lua_rawlen(L, idx);
        luaL_error(L, "tensor.from: row %s has %d value%s, row %s has %d",
                   here, got, got == 1 ? "" : "s", first, n);
    }
    for (int i = 1; i <= n; i++) {
        index[depth] = i;
        int type = lua_rawgeti(L, idx, i);
        path_text(here, sizeof here, index, depth + 1);
        if (depth == t->rank - 1) {
            if (type != LUA_TNUMBER)
                luaL_error(L, "tensor.from: value at %s is not a number (got %s)", here, lua_typename(L, type));
            t->data[(*pos)++] = (float)lua_tonumber(L, -1);
        } else {
            if (type != LUA_TTABLE)
                luaL_error(L, "tensor.from: row %s is not a table (got %s); rows must all have %d values",
                           here, lua_typename(L, type), t->shape[depth + 1]);
            from_fill(L, lua_gettop(L), t, depth + 1, index, pos);
        }
        lua_pop(L, 1);
    }
}

static int tensor_from(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int rank = 0, shape[4], index[4];
    /* The shape is the length of the first table at each level. */
    lua_pushvalue(L, 1);
    while (lua_type(L, -1) == LUA_TTABLE) {
        lua_Unsigned n = lua_rawlen(L, -1);
        if (rank == 4)
            luaL_error(L, "tensor.from: tables nested deeper than 4 levels (a tensor has rank 1..4)");
        if (n == 0)
            luaL_error(L, "tensor.from: empty table (a tensor needs at least one value)");
        if (n > INT_MAX)
            luaL_error(L, "tensor.from: table too long");
        shape[rank++] = (int)n;
        lua_rawgeti(L, -1, 1);
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
    tensor *t = tensor_push(L, rank, shape);
    size_t pos = 0;
    from_fill(L, 1, t, 0, index, &pos);
    return 1;
}

/* ---- indexing ---------------------------------------------------------- */

static size_t row_size(const tensor *t)
{
    return t->size / (size_t)t->shape[0];
}

/* The 0-based row for the 1-based key at idx, raising on a bad key. */
static int check_row(lua_State *L, const tensor *t, int idx)
{
    int isint = 0;
    lua_Integer i = lua_tointegerx(L, idx, &isint);
    if (!isint) {
        if (lua_type(L, idx) == LUA_TNUMBER)
            luaL_error(L, "tensor: index %s is not an integer", luaL_tolstring(L, idx, NULL));
        luaL_error(L, "tensor: index must be an integer (got %s)", luaL_typename(L, idx));
    }
    if (i < 1 || i > t->shape[0])
        luaL_error(L, "tensor: index %I out of range (1..%d)", i, t->shape[0]);
    return (int)(i - 1);
}

static void push_shape(lua_State *L, const tensor *t)
{
    lua_createtable(L, t->rank, 0);
    for (int i = 0; i < t->rank; i++) {
        lua_pushinteger(L, t->shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

/* __index: t[i] (a number on rank 1, a view of row i otherwise), t.shape,
 * then the methods (upvalue 1). */
static int tensor_index(lua_State *L)
{
    tensor *t = tensor_check(L, 1);
    if (lua_type(L, 2) == LUA_TSTRING) {
        if (strcmp(lua_tostring(L, 2), "shape") == 0)
            push_shape(L, t);
        else {
            lua_pushvalue(L, 2);
            lua_rawget(L, lua_upvalueindex(1));
        }
        return 1;
    }
    int row = check_row(L, t, 2);
    if (t->rank == 1)
        lua_pushnumber(L, t->data[row]);
    else
        push_view_of(L, 1, t->data + (size_t)row * row_size(t), t->rank - 1, t->shape + 1);
    return 1;
}

/* __newindex: t[i] = number (an element, or every value of row i) or
 * t[i] = tensor (copied into row i; shapes must match). */
static int tensor_newindex(lua_State *L)
{
    tensor *t = tensor_check(L, 1);
    if (lua_type(L, 2) == LUA_TSTRING)
        return luaL_error(L, "tensor: cannot set field '%s' (only integer indices can be assigned)",
                          lua_tostring(L, 2));
    int row = check_row(L, t, 2);
    size_t n = row_size(t);
    float *dst = t->data + (size_t)row * n;
    const tensor *src = tensor_test(L, 3);
    if (lua_type(L, 3) == LUA_TNUMBER) {
        float v = (float)lua_tonumber(L, 3);
        for (size_t i = 0; i < n; i++)
            dst[i] = v;
    } else if (src && t->rank > 1) {
        if (src->rank != t->rank - 1 || memcmp(src->shape, t->shape + 1, (size_t)src->rank * sizeof(int)) != 0) {
            char a[64], b[64];
            ember_shape_text(a, sizeof a, t->rank - 1, t->shape + 1);
            ember_shape_text(b, sizeof b, src->rank, src->shape);
            return luaL_error(L, "tensor: shapes %s and %s do not match (assigning to row %d)", a, b, row + 1);
        }
        memmove(dst, src->data, n * sizeof(float));   /* the source may be a view of t */
    } else {
        return luaL_error(L, "tensor: cannot assign a %s to %s %d (%s expected)", luaL_typename(L, 3),
                          t->rank == 1 ? "element" : "row", row + 1,
                          t->rank == 1 ? "number" : "number or tensor");
    }
    return 0;
}

/* The flat offset for the full 1-based index in arguments 2..rank+1, after
 * checking that the call had `given` arguments where `wanted` were due. */
static size_t check_position(lua_State *L, const tensor *t, const char *fname, int given, int wanted,
                             const char *and_value)
{
    if (given != wanted) {
        char s[64];
        ember_shape_text(s, sizeof s, t->rank, t->shape);
        luaL_error(L, "%s: shape %s takes %d %s%s (got %d argument%s)", fname, s, t->rank,
                   t->rank == 1 ? "index" : "indices", and_value, given, given == 1 ? "" : "s");
    }
    size_t offset = 0;
    for (int d = 0; d < t->rank; d++) {
        lua_Integer i = luaL_checkinteger(L, d + 2);
        if (i < 1 || i > t->shape[d])
            luaL_argerror(L, d + 2, lua_pushfstring(L, "index %I out of range 1..%d", i, t->shape[d]));
        offset = offset * (size_t)t->shape[d] + (size_t)(i - 1);
    }
    return offset;
}

static int tensor_get(lua_State *L)
{
    tensor *t = tensor_check(L, 1);
    size_t at = check_position(L, t, "tensor:get", lua_gettop(L) - 1, t->rank, "");
    lua_pushnumber(L, t->data[at]);
    return 1;
}

static int tensor_set(lua_State *L)
{
    tensor *t = tensor_check(L, 1);
    size_t at = check_position(L, t, "tensor:set", lua_gettop(L) - 1, t->rank + 1, " and a value");
    t->data[at] = (float)luaL_checknumber(L, t->rank + 2);
    return 0;
}

static int tensor_slice(lua_State *L)
{
    tensor *t = tensor_check(L, 1);
    lua_Integer first = luaL_checkinteger(L, 2);
    lua_Integer last = luaL_optinteger(L, 3, t->shape[0]);
    if (first < 1 || first > t->shape[0])
        return luaL_argerror(L, 2, lua_pushfstring(L, "first row %I out of range 1..%d", first, t->shape[0]));
    if (last < first || last > t->shape[0])
        return luaL_argerror(L, 3, lua_pushfstring(L, "last row %I out of range %I..%d", last, first, t->shape[0]));
    int shape[4];
    memcpy(shape, t->shape, sizeof shape);
    shape[0] = (int)(last - first + 1);
    push_view_of(L, 1, t->data + (size_t)(first - 1) * row_size(t), t->rank, shape);
    return 1;
}

/* reshape(d1, ...) or reshape{...}; one dimension may be -1 and is then
 * inferred from the size. */
static int tensor_reshape(lua_State *L)
{
    tensor *t = tensor_check(L, 1);
    const char *fname = "tensor:reshape";
    lua_Integer dims[4];
    int rank = read_dims(L, 2, fname, dims), shape[4], infer = -1;
    size_t known = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == -1 && infer < 0) {
            infer = i;
            continue;
        }
        check_dim(L, fname, i, dims[i]);
        shape[i] = (int)dims[i];
        known *= (size_t)shape[i];   /* clamped below, so this cannot overflow */
        if (known > TENSOR_MAX_SIZE)
            known = TENSOR_MAX_SIZE + 1;
    }
    if (infer >= 0)
        shape[infer] = known <= t->size && t->size % known == 0 ? (int)(t->size / known) : 0;
    if (infer >= 0 ? shape[infer] == 0 : known != t->size) {
        char from[64], to[128];
        ember_shape_text(from, sizeof from, t->rank, t->shape);
        for (int i = 0, used = 0; i < rank; i++)
            used += snprintf(to + used, sizeof to - (size_t)used, i ? "x%lld" : "%lld", (long long)dims[i]);
        return luaL_error(L, "%s: cannot reshape %s (%d values) to %s", fname, from, (int)t->size, to);
    }
    push_view_of(L, 1, t->data, rank, shape);
    return 1;
}

static int tensor_copy(lua_State *L)
{
    tensor *t = tensor_check(L, 1);
    tensor *c = push_like(L, t);
    memcpy(c->data, t->data, t->size * sizeof(float));
    return 1;
}

static void push_table(lua_State *L, const float *data, int rank, const int *shape, size_t stride)
{
    lua_createtable(L, shape[0], 0);
    for (int i = 0; i < shape[0]; i++) {
        if (rank == 1)
            lua_pushnumber(L, data[i]);
        else
            push_table(L, data + (size_t)i * stride, rank - 1, shape + 1, stride / (size_t)shape[1]);
        lua_rawseti(L, -2, i + 1);
    }
}

static int tensor_totable(lua_State *L)
{
    tensor *t = tensor_check(L, 1);
    push_table(L, t->data, t->rank, t->shape, row_size(t));
    return 1;
}

static int tensor_size(lua_State *L) { lua_pushinteger(L, (lua_Integer)tensor_check(L, 1)->size); return 1; }
static int tensor_rank(lua_State *L) { lua_pushinteger(L, tensor_check(L, 1)->rank); return 1; }
static int tensor_len(lua_State *L)  { lua_pushinteger(L, tensor_check(L, 1)->shape[0]); return 1; }

/* ---- reductions -------------------------------------------------------- */

/* Sums in double: a float32 running sum stops counting at 2^24. */
static double sum_of(const tensor *t)
{
    double s = 0;
    for (size_t i = 0; i < t->size; i++)
        s += t->data[i];
    return s;
}

static int tensor_sum(lua_State *L)
{
    lua_pushnumber(L, sum_of(tensor_check(L, 1)));
    return 1;
}

static int tensor_mean(lua_State *L)
{
    tensor *t = tensor_check(L, 1);
    lua_pushnumber(L, sum_of(t) / (double)t->size);
    return 1;
}

/* 0-based position of the first largest (sign 1) or smallest (sign -1). */
static size_t extreme_at(const float *x, size_t n, int sign)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (sign > 0 ? x[i] > x[best] : x[i] < x[best])
            best = i;
    return best;
}

static int push_extreme(lua_State *L, int sign)
{
    tensor *t = tensor_check(L, 1);
    lua_pushnumber(L, t->data[extreme_at(t->data, t->size, sign)]);
    return 1;
}

static int tensor_max(lua_State *L) { return push_extreme(L, 1); }
static int tensor_min(lua_State *L) { return push_extreme(L, -1); }

/* Rank 1: the 1-based position. Rank 2: a table with one position per row
 * (the predicted class of each sample in a batch of outputs). */
static int push_arg_extreme(lua_State *L, int sign)
{
    tensor *t = tensor_check(L, 1);
    if (t->rank == 1) {
        lua_pushinteger(L, (lua_Integer)extreme_at(t->data, t->size, sign) + 1);
    } else if (t->rank == 2) {
        size_t n = (size_t)t->shape[1];
        lua_createtable(L, t->shape[0], 0);
        for (int r = 0; r < t->shape[0]; r++) {
            lua_pushinteger(L, (lua_Integer)extreme_at(t->data + (size_t)r * n, n, sign) + 1);
            lua_rawseti(L, -2, r + 1);
        }
    } else {
        return luaL_argerror(L, 1, lua_pushfstring(L, "rank 1 or 2 expected, got rank %d", t->rank));
    }
    return 1;
}

static int tensor_argmax(lua_State *L) { return push_arg_extreme(L, 1); }
static int tensor_argmin(lua_State *L) { return push_arg_extreme(L, -1); }

typedef struct ranked {
    float value;
    int   at;
} ranked;

/* Descending by value, ties by position; NaN last. A total order, as
 * qsort requires. */
static int ranked_compare(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    bool na = isnan(a->value), nb = isnan(b->value);
    if (na != nb)
        return na ? 1 : -1;
    if (!na && a->value != b->value)
        return a->value > b->value ? -1 : 1;
    return (a->at > b->at) - (a->at < b->at);
}

static int tensor_topk(lua_State *L)
{
    tensor *t = tensor_check(L, 1);
    lua_Integer k = luaL_checkinteger(L, 2);
    if (t->rank != 1)
        return luaL_argerror(L, 1, lua_pushfstring(L, "rank 1 expected, got rank %d", t->rank));
    luaL_argcheck(L, k >= 1 && k <= (lua_Integer)t->size, 2,
                  lua_pushfstring(L, "k must be in 1..%I (got %I)", (lua_Integer)t->size, k));
    /* Scratch space as a userdata, so the collector frees it even if
     * building the result tables raises (out of memory). */
    ranked *r = lua_newuserdatauv(L, t->size * sizeof *r, 0);
    for (size_t i = 0; i < t->size; i++)
        r[i] = (ranked){t->data[i], (int)i};
    qsort(r, t->size, sizeof *r, ranked_compare);
    lua_createtable(L, (int)k, 0);
    lua_createtable(L, (int)k, 0);
    for (int i = 0; i < (int)k; i++) {
        lua_pushnumber(L, r[i].value);
        lua_rawseti(L, -3, i + 1);
        lua_pushinteger(L, r[i].at + 1);
        lua_rawseti(L, -2, i + 1);
    }
    return 2;
}

/* ---- elementwise ------------------------------------------------------- */

static int map(lua_State *L, float (*f)(float))
{
    tensor *t = tensor_check(L, 1);
    tensor *r = push_like(L, t);
    for (size_t i = 0; i < t->size; i++)
        r->data[i] = f(t->data[i]);
    return 1;
}

static int tensor_abs(lua_State *L)  { return map(L, fabsf); }
static int tensor_exp(lua_State *L)  { return map(L, expf); }
static int tensor_log(lua_State *L)  { return map(L, logf); }
static int tensor_sqrt(lua_State *L) { return map(L, sqrtf); }
static float negate(float x)          { return -x; }
static int tensor_unm(lua_State *L)  { return map(L, negate); }   /* called as (t, t) */

enum op { OP_ADD, OP_SUB, OP_MUL, OP_DIV };

static float apply(enum op op, float a, float b)
{
    switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    default:     return a / b;
    }
}

/* a op b where each is a tensor or a number (at least one is a tensor, or
 * Lua would not have called us). Tensors must have the same shape. */
static int arith(lua_State *L, enum op op)
{
    tensor *a = tensor_test(L, 1), *b = tensor_test(L, 2);
    for (int i = 1; i <= 2; i++)
        if (!tensor_test(L, i) && lua_type(L, i) != LUA_TNUMBER)
            return luaL_error(L, "tensor: arithmetic on a %s value (tensor or number expected)",
                              luaL_typename(L, i));
    if (a && b && (a->rank != b->rank || memcmp(a->shape, b->shape, (size_t)a->rank * sizeof(int)) != 0)) {
        char sa[64], sb[64];
        ember_shape_text(sa, sizeof sa, a->rank, a->shape);
        ember_shape_text(sb, sizeof sb, b->rank, b->shape);
        return luaL_error(L, "tensor: shapes %s and %s do not match", sa, sb);
    }
    tensor *r = push_like(L, a ? a : b);
    float sa = a ? 0 : (float)lua_tonumber(L, 1), sb = b ? 0 : (float)lua_tonumber(L, 2);
    for (size_t i = 0; i < r->size; i++)
        r->data[i] = apply(op, a ? a->data[i] : sa, b ? b->data[i] : sb);
    return 1;
}

static int tensor_add(lua_State *L) { return arith(L, OP_ADD); }
static int tensor_sub(lua_State *L) { return arith(L, OP_SUB); }
static int tensor_mul(lua_State *L) { return arith(L, OP_MUL); }
static int tensor_div(lua_State *L) { return arith(L, OP_DIV); }

/* t:scale(s) is t * s, spelled as a method. */
static int tensor_scale(lua_State *L)
{
    tensor_check(L, 1);
    luaL_checktype(L, 2, LUA_TNUMBER);
    return arith(L, OP_MUL);
}

/* ---- tostring ----------------------------------------------------------
 * The format, which tests and users rely on:
 *
 *   tensor(2x3)                        tensor(10, view) for a view
 *   [[0.1000, 0.2000, 0.3000],
 *    [0.4000, 0.5000, 0.6000]]
 *
 * Values use %.4f, or %.3e for the whole tensor when any shown finite,
 * non-zero value has |x| >= 1e4 or |x| < 1e-3; they are right-aligned to
 * the widest shown value. Rows nest as in NumPy: one newline between rows
 * of a matrix, a blank line between matrices. Above 1000 values every
 * dimension longer than 6 shows its first 3 and last 3 entries with
 * "..." between them. */

typedef struct printer {
    const tensor *t;
    size_t stride[4];       /* values per step of each dimension */
    bool summary;
    luaL_Buffer *b;         /* NULL while measuring */
    bool sci;               /* measuring: some value needs %.3e */
    int width_fixed, width_sci;
} printer;

static void print_value(printer *p, float x)
{
    char s[64];
    if (!p->b) {
        double a = fabs(x);
        if (isfinite(a) && a != 0 && (a >= 1e4 || a < 1e-3))
            p->sci = true;
        int w = snprintf(s, sizeof s, "%.4f", (double)x);
        p->width_fixed = w > p->width_fixed ? w : p->width_fixed;
        w = snprintf(s, sizeof s, "%.3e", (double)x);
        p->width_sci = w > p->width_sci ? w : p->width_sci;
        return;
    }
    int w = snprintf(s, sizeof s, p->sci ? "%.3e" : "%.4f", (double)x);
    for (int i = w; i < (p->sci ? p->width_sci : p->width_fixed); i++)
        luaL_addchar(p->b, ' ');
    luaL_addstring(p->b, s);
}

static void print_text(printer *p, const char *s)
{
    if (p->b)
        luaL_addstring(p->b, s);
}

static void print_walk(printer *p, int depth, size_t offset)
{
    const tensor *t = p->t;
    int n = t->shape[depth];
    bool cut = p->summary && n > 2 * PRINT_EDGE;
    print_text(p, "[");
    for (int i = 0; i < n; i++) {
        if (i > 0) {
            /* ", " inside a row; otherwise one newline per remaining
             * dimension, then indent past the open brackets. */
            print_text(p, ",");
            for (int k = depth + 1; k < t->rank; k++)
                print_text(p, "\n");
            for (int k = 0; k <= (depth == t->rank - 1 ? 0 : depth); k++)
                print_text(p, " ");
        }
        if (cut && i == PRINT_EDGE) {
            print_text(p, "...");
            i = n - PRINT_EDGE - 1;
        } else if (depth == t->rank - 1) {
            print_value(p, t->data[offset + (size_t)i]);
        } else {
            print_walk(p, depth + 1, offset + (size_t)i * p->stride[depth]);
        }
    }
    print_text(p, "]");
}

static int tensor_tostring(lua_State *L)
{
    tensor *t = tensor_check(L, 1);
    printer p = {.t = t, .summary = t->size > PRINT_THRESHOLD};
    p.stride[t->rank - 1] = 1;
    for (int d = t->rank - 2; d >= 0; d--)
        p.stride[d] = p.stride[d + 1] * (size_t)t->shape[d + 1];
    print_walk(&p, 0, 0);                        /* measure */
    char s[64];
    ember_shape_text(s, sizeof s, t->rank, t->shape);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    p.b = &b;
    luaL_addstring(&b, "tensor(");
    luaL_addstring(&b, s);
    luaL_addstring(&b, t->view ? ", view)\n" : ")\n");
    print_walk(&p, 0, 0);                        /* write */
    luaL_pushresult(&b);
    return 1;
}

/* ---- registration ------------------------------------------------------ */

static const luaL_Reg tensor_functions[] = {
    {"zeros", tensor_zeros}, {"ones", tensor_ones}, {"fill", tensor_fill},
    {"rand", tensor_rand}, {"from", tensor_from}, {"is", tensor_is},
    {NULL, NULL}
};

static const luaL_Reg tensor_methods[] = {
    {"size", tensor_size}, {"rank", tensor_rank},
    {"get", tensor_get}, {"set", tensor_set},
    {"slice", tensor_slice}, {"reshape", tensor_reshape},
    {"copy", tensor_copy}, {"totable", tensor_totable},
    {"sum", tensor_sum}, {"mean", tensor_mean}, {"max", tensor_max}, {"min", tensor_min},
    {"argmax", tensor_argmax}, {"argmin", tensor_argmin}, {"topk", tensor_topk},
    {"scale", tensor_scale}, {"abs", tensor_abs}, {"exp", tensor_exp},
    {"log", tensor_log}, {"sqrt", tensor_sqrt},
    {NULL, NULL}
};

static const luaL_Reg tensor_metamethods[] = {
    {"__newindex", tensor_newindex}, {"__len", tensor_len}, {"__tostring", tensor_tostring},
    {"__add", tensor_add}, {"__sub", tensor_sub}, {"__mul", tensor_mul},
    {"__div", tensor_div}, {"__unm", tensor_unm},
    {NULL, NULL}
};

/* __index is a closure over the method table (see the top of the file). */
int luaopen_ember_tensor(lua_State *L)
{
    luaL_newmetatable(L, TENSOR_MT);
    luaL_setfuncs(L, tensor_metamethods, 0);
    luaL_newlib(L, tensor_methods);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__methods");
    lua_pushcclosure(L, tensor_index, 1);
    lua_setfield(L, -2, "__index");
    lua_createtable(L, 1, 0);              /* fields besides the methods, for completion */
    lua_pushliteral(L, "shape");
    lua_rawseti(L, -2, 1);
    lua_setfield(L, -2, "__fields");
    lua_pop(L, 1);
    luaL_newlib(L, tensor_functions);
    return 1;
}
