/* run.c: running Lua code the way every part of ember needs it: with a
 * traceback on error, with Ctrl-C, and in a state with ember's modules.
 *
 * Shared by the command line (main.c) and the shell (repl.c). Modelled on
 * lua.c: a message handler adds the traceback; SIGINT sets a hook that
 * stops a running Lua loop with an error at the next instruction, and the
 * ember_ctx flag that training checks at every batch boundary.
 *
 * The state a signal handler must reach is the one exception to "no
 * mutable globals": interrupted_state and interrupted_ctx, set only while
 * code runs. */
#include "repl/run.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <lualib.h>

#include "bind/bind.h"
#include "lua_files.h"

static lua_State *interrupted_state;
static ember_ctx *interrupted_ctx;

/* The hook SIGINT installs: raise an error at the next Lua instruction. */
static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    interrupted_ctx->interrupted = INTERRUPT_RAISED;
    luaL_error(L, "interrupted!");
}

/* sigaction, not signal(): with the POSIX feature macros glibc's signal()
 * resets the handler after one delivery, and the second Ctrl-C would kill. */
void run_set_sigint(void (*handler)(int), struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old);
}

/* The first Ctrl-C asks Lua (the hook) and training (the flag) to stop at
 * a safe point; whichever acts first moves the flag on. A second one while
 * it is still pending means something is stuck in C: die as an unhandled
 * SIGINT would. */
static void on_sigint(int sig)
{
    int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
    if (!interrupted_state || interrupted_ctx->interrupted == INTERRUPT_PENDING) {
        run_set_sigint(SIG_DFL, NULL);
        raise(sig);
        return;
    }
    interrupted_ctx->interrupted = INTERRUPT_PENDING;
    lua_sethook(interrupted_state, stop_hook, mask, 1);
}

static int message_handler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Calls the function below narg arguments, with tracebacks and Ctrl-C. */
int run_call(lua_State *L, int narg, int nres)
{
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    interrupted_ctx = bind_ctx(L);
    interrupted_ctx->interrupted = INTERRUPT_NONE;
    interrupted_state = L;
    /* The handler before (the shell's, at its prompt) comes back after:
     * there is never a moment when Ctrl-C would kill ember by default. */
    struct sigaction before;
    run_set_sigint(on_sigint, &before);
    int status = lua_pcall(L, narg, nres, base);
    sigaction(SIGINT, &before, NULL);
    interrupted_state = NULL;
    lua_remove(L, base);
    return status;
}

int run_report(lua_State *L, int status)
{
    if (status != LUA_OK) {
        fprintf(stderr, "ember: %s\n", lua_tostring(L, -1));
        fflush(stderr);
        lua_pop(L, 1);
    }
    return status;
}

/* ember.embedded(name): the text of a file compiled into the binary. */
static int embedded(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    for (int i = 0; i < ember_lua_count; i++)
        if (strcmp(ember_lua_files[i].name, name) == 0) {
            lua_pushlstring(L, ember_lua_files[i].source, ember_lua_files[i].size);
            return 1;
        }
    lua_pushnil(L);
    return 1;
}

static bool is_lua(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".lua") == 0;
}

/* Globals and package.loaded entries for ember's modules, then lua/. */
int run_open(lua_State *L)
{
    luaL_openlibs(L);
    static const luaL_Reg modules[] = {
        {"ember", luaopen_ember},
        {"tensor", luaopen_ember_tensor},
        {"data", luaopen_ember_data},
        {"nn", luaopen_ember_nn},
        {NULL, NULL},
    };
    for (const luaL_Reg *m = modules; m->name; m++) {
        luaL_requiref(L, m->name, m->func, 1);
        lua_pop(L, 1);
    }
    lua_getglobal(L, "ember");
    lua_pushcfunction(L, embedded);
    lua_setfield(L, -2, "embedded");
    luaL_requiref(L, "ember.render", luaopen_ember_render, 0);
    lua_setfield(L, -2, "render");
    lua_getfield(L, -1, "seed");
    lua_setglobal(L, "seed");
    lua_pop(L, 1);
    for (int i = 0; i < ember_lua_count; i++) {
        const ember_lua_file *f = &ember_lua_files[i];
        if (!is_lua(f->name))
            continue;
        char chunkname[64];
        snprintf(chunkname, sizeof chunkname, "@%s", f->name);
        if (luaL_loadbuffer(L, f->source, f->size, chunkname) != LUA_OK ||
            run_call(L, 0, 0) != LUA_OK)
            return run_report(L, LUA_ERRRUN);
    }
    return LUA_OK;
}

