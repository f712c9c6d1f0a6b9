/* main.c: ember's command line, the Lua 5.4 program.
 *
 *   ember script.lua [args]   run a script (its arguments in the global arg)
 *   ember -e 'code'           run code (several -e run in order)
 *   ember -                   run standard input as a script
 *   ember -i script.lua       run the script, then the shell with its globals
 *   ember                     the shell (on a terminal), or statements
 *                             read from standard input (piped)
 *   ember --version | --help
 *
 * Modelled on the stock lua.c: options are read first, the arg table has
 * the script at 0 and its arguments from 1; running code (tracebacks,
 * Ctrl-C) is src/repl/run.c, the shell src/repl/repl.c. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "repl/repl.h"
#include "repl/run.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ember [options] [script [args]]\n"
        "\n"
        "  (nothing)          the interactive shell; with piped input, run its statements\n"
        "  script.lua [args]  run a Lua script; its arguments are in the global arg\n"
        "  -e code            run code (may be repeated; runs before the script)\n"
        "  -i                 the shell after the script or code, with its globals\n"
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
        return run_report(L, status);
    int n = argc - script - 1;
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = script + 1; i < argc; i++)
        lua_pushstring(L, argv[i]);
    return run_report(L, run_call(L, n, 0));
}

static int run_string(lua_State *L, const char *code)
{
    int status = luaL_loadbuffer(L, code, strlen(code), "=(command line)");
    if (status == LUA_OK)
        status = run_call(L, 0, 0);
    return run_report(L, status);
}

enum { DONE_OK, DONE_FAILED, RUN_SHELL };

static int finish(lua_State *L, int what)
{
    lua_pushinteger(L, what);
    return 1;
}

/* The Lua work, under lua_pcall so that even a memory error is reported.
 * Returns DONE_OK, DONE_FAILED, or RUN_SHELL when the shell comes next. */
static int protected_main(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    int script = 0;   /* index of the script in argv, 0 if none */
    bool ran = false, interactive = false;

    for (int i = 1; i < argc && !script; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            if (i + 1 < argc)
                script = i + 1;
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return finish(L, DONE_OK);
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
            printf("ember %s (%s)\n", EMBER_VERSION, LUA_RELEASE);
            return finish(L, DONE_OK);
        } else if (strcmp(a, "-i") == 0) {
            interactive = true;
        } else if (strcmp(a, "-e") == 0) {
            if (++i >= argc) {
                fprintf(stderr, "ember: -e needs code to run (see ember --help)\n");
                return finish(L, DONE_FAILED);
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "ember: unknown option %s (see ember --help)\n", a);
            return finish(L, DONE_FAILED);
        } else {
            script = i;
        }
    }

    if (run_open(L) != LUA_OK)
        return finish(L, DONE_FAILED);
    create_arg_table(L, argv, argc, script ? script : argc - 1);

    int end = script ? script : argc;
    for (int i = 1; i < end; i++)
        if (strcmp(argv[i], "-e") == 0) {
            ran = true;
            if (run_string(L, argv[++i]) != LUA_OK)
                return finish(L, DONE_FAILED);
        }
    if (script && run_script(L, argv[script], argv, argc, script) != LUA_OK)
        return finish(L, DONE_FAILED);
    /* ember alone (or -i after a script or code) is the shell. */
    if (interactive || (!script && !ran))
        return finish(L, RUN_SHELL);
    return finish(L, DONE_OK);
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
    int what = status == LUA_OK ? (int)lua_tointeger(L, -1) : DONE_FAILED;
    if (status != LUA_OK)
        run_report(L, status);
    lua_settop(L, 0);
    int code = what == DONE_OK ? 0 : 1;
    if (what == RUN_SHELL)
        code = repl_run(&L, isatty(STDIN_FILENO));
    lua_close(L);
    return code;
}
