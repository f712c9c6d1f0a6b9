/* context.c: the bindings' shared state and the `ember` module.
 *
 * ember_ctx lives in a userdata in the registry under a private key, so
 * there is one per Lua state and none in C globals. The `ember` module
 * holds what belongs to no object: the version, seed(n), threads(n),
 * clock() and whether output may use colour (ember.color). */
#include "bind/bind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/gemm.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.0.0"
#endif

static const char ctx_key = 'k';   /* its address is the registry key */

ember_ctx *bind_ctx(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &ctx_key);
    ember_ctx *c = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (c)
        return c;
    c = lua_newuserdatauv(L, sizeof *c, 0);
    memset(c, 0, sizeof *c);
    /* Unseeded runs still differ from one another, as Keras's do. */
    rng_seed(&c->seeds, (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
    const char *no_color = getenv("NO_COLOR");
    c->color = isatty(STDOUT_FILENO) && !(no_color && *no_color);
    c->threads = 0;
    lua_rawsetp(L, LUA_REGISTRYINDEX, &ctx_key);
    return c;
}

int bind_error(lua_State *L, const char *function, const char *message)
{
    return luaL_error(L, "%s: %s", function, message);
}

/* seed(n): every model created afterwards, and tensor.rand and shuffles
 * without a seed of their own, repeat exactly. */
static int ember_seed(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0, 1, "the seed must be a non-negative integer");
    rng_seed(&bind_ctx(L)->seeds, (uint64_t)n);
    return 0;
}

/* threads([n]): the matrix-product thread count; returns the one in force. */
static int ember_threads(lua_State *L)
{
    if (!lua_isnoneornil(L, 1)) {
        lua_Integer n = luaL_checkinteger(L, 1);
        luaL_argcheck(L, n >= 1 && n <= 256, 1, "a thread count from 1 to 256 expected");
        gemm_set_threads((int)n);
        bind_ctx(L)->threads = (int)n;
    }
    lua_pushinteger(L, gemm_threads());
    return 1;
}

/* clock() -> seconds on a monotonic clock, for timing (os.clock is CPU). */
static int ember_clock(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + ts.tv_nsec * 1e-9);
    return 1;
}

static const luaL_Reg ember_functions[] = {
    {"seed", ember_seed},
    {"threads", ember_threads},
    {"clock", ember_clock},
    {NULL, NULL},
};

int luaopen_ember(lua_State *L)
{
    bind_ctx(L);
    luaL_newlib(L, ember_functions);
    lua_pushliteral(L, EMBER_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, gemm_backend());
    lua_setfield(L, -2, "blas");
    lua_pushboolean(L, bind_ctx(L)->color);
    lua_setfield(L, -2, "color");
    return 1;
}
