/* main.c: ember's command line, the Lua 5.4 program.
 *
 *   ember script.lua [args]   run a script (its arguments in the global arg)
 *   ember -e 'code'           run code (several -e run in order)
 *   ember -                   run standard input
 *   ember --version | --help
 *
 * Modelled on the stock lua.c: a message handler adds the traceback to
 * errors, the arg table has the script at 0 and its arguments from 1, and
 * SIGINT sets a hook that stops a running Lua loop with an error. Training
 * also sees the interrupt (ember_ctx.interrupted) and stops at the next
 * batch boundary, so the model stays consistent.
 *
 * The process state a signal handler must reach is the one exception to
 * "no mutable globals": interrupted_state and interrupted_ctx, set only
 * while code runs. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "bind/bind.h"
#include "lua_files.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.0.0"
#endif

static lua_State *interrupted_state;
static ember_ctx *interrupted_ctx;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ember [options] [script [args]]\n"
        "\n"
        "  script.lua [args]  run a Lua script; its arguments are in the global arg\n"
        "  -e code            run code (may be repeated; runs before the script)\n"
        "  -                  run standard input as a script\n"
        "  --                 stop handling options\n"
        "  -v, --version      print the version\n"
        "  -h, --help         this text\n"
        "\n"
        "Globals: nn (models, layers, optimizers), data (datasets), tensor, seed(n),\n"
        "ember (version, blas, threads), help([topic]) for the API. Samples are 1-based:\n"
        "test[61] is Keras's x_test[60]; class labels are the dataset's own (Fashion-MNIST\n"
        "0..9). Examples: ember examples/forum_model.lua. See README.md.\n");
}

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
static void set_sigint(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

/* The first Ctrl-C asks Lua (the hook) and training (the flag) to stop at
 * a safe point; whichever acts first moves the flag on. A second one while
 * it is still pending means something is stuck in C: die as an unhandled
 * SIGINT would. */
static void on_sigint(int sig)
{
    int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
    if (!interrupted_state || interrupted_ctx->interrupted == INTERRUPT_PENDING) {
        set_sigint(SIG_DFL);
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
static int docall(lua_State *L, int narg, int nres)
{
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    interrupted_ctx = bind_ctx(L);
    interrupted_ctx->interrupted = INTERRUPT_NONE;
    interrupted_state = L;
    set_sigint(on_sigint);
    int status = lua_pcall(L, narg, nres, base);
    set_sigint(SIG_DFL);
    interrupted_state = NULL;
    lua_remove(L, base);
    return status;
}

static int report(lua_State *L, int status)
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
static int open_ember(lua_State *L)
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
            docall(L, 0, 0) != LUA_OK)
            return report(L, LUA_ERRRUN);
    }
    return LUA_OK;
}

/* arg: the script at 0, its arguments from 1, what came before negative. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script)
{
    lua_createtable(L, argc - script, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

static int run_script(lua_State *L, const char *path, char **argv, int argc, int script)
{
    const char *fname = strcmp(path, "-") == 0 ? NULL : path;
    int status = luaL_loadfile(L, fname);
    if (status != LUA_OK)
        return report(L, status);
    int n = argc - script - 1;
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = script + 1; i < argc; i++)
        lua_pushstring(L, argv[i]);
    return report(L, docall(L, n, 0));
}

static int run_string(lua_State *L, const char *code)
{
    int status = luaL_loadbuffer(L, code, strlen(code), "=(command line)");
    if (status == LUA_OK)
        status = docall(L, 0, 0);
    return report(L, status);
}

/* The Lua work, under lua_pcall so that even a memory error is reported. */
static int protected_main(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    int script = 0;   /* index of the script in argv, 0 if none */
    bool ran = false;

    for (int i = 1; i < argc && !script; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            if (i + 1 < argc)
                script = i + 1;
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            lua_pushboolean(L, 1);
            return 1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
            printf("ember %s (%s)\n", EMBER_VERSION, LUA_RELEASE);
            lua_pushboolean(L, 1);
            return 1;
        } else if (strcmp(a, "-e") == 0) {
            if (++i >= argc) {
                fprintf(stderr, "ember: -e needs code to run (see ember --help)\n");
                lua_pushboolean(L, 0);
                return 1;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "ember: unknown option %s (see ember --help)\n", a);
            lua_pushboolean(L, 0);
            return 1;
        } else {
            script = i;
        }
    }

    if (open_ember(L) != LUA_OK) {
        lua_pushboolean(L, 0);
        return 1;
    }
    create_arg_table(L, argv, argc, script ? script : argc - 1);

    int end = script ? script : argc;
    for (int i = 1; i < end; i++)
        if (strcmp(argv[i], "-e") == 0) {
            ran = true;
            if (run_string(L, argv[++i]) != LUA_OK) {
                lua_pushboolean(L, 0);
                return 1;
            }
        }
    if (script) {
        lua_pushboolean(L, run_script(L, argv[script], argv, argc, script) == LUA_OK);
        return 1;
    }
    if (!ran) {
        if (isatty(STDIN_FILENO)) {
            fprintf(stderr, "ember: the interactive shell is not built yet: run a script "
                            "(ember file.lua), code (ember -e 'print(1+1)') or standard input (ember -)\n");
            lua_pushboolean(L, 0);
            return 1;
        }
        lua_pushboolean(L, run_script(L, "-", argv, argc, argc - 1) == LUA_OK);
        return 1;
    }
    lua_pushboolean(L, 1);
    return 1;
}

int main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "ember: cannot create the Lua state: not enough memory\n");
        return 1;
    }
    lua_pushcfunction(L, protected_main);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 1, 0);
    int ok = status == LUA_OK && lua_toboolean(L, -1);
    if (status != LUA_OK)
        report(L, status);
    lua_close(L);
    return ok ? 0 : 1;
}
