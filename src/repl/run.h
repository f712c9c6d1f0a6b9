/* run.h: running Lua code with tracebacks and Ctrl-C, in a state that has
 * ember's modules (see run.c). */
#ifndef EMBER_REPL_RUN_H
#define EMBER_REPL_RUN_H

#include <signal.h>

#include <lua.h>

/* Opens the standard libraries and ember's modules (nn, data, tensor,
 * ember, seed) as globals, then runs the embedded lua/ files. Returns
 * LUA_OK, or reports the error and returns another status. */
int  run_open(lua_State *L);
/* lua_pcall with a traceback message handler and Ctrl-C handling. */
int  run_call(lua_State *L, int narg, int nres);
/* Prints the error at the top of the stack to stderr (and pops it) when
 * status is not LUA_OK; returns status. */
int  run_report(lua_State *L, int status);
/* SIGINT's handler, through sigaction (signal() may reset it after one
 * delivery); the one it replaces goes to *old when old is not NULL. */
void run_set_sigint(void (*handler)(int), struct sigaction *old);

#endif
