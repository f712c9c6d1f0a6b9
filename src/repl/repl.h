/* repl.h: the interactive shell (GNU Readline) and its piped form. */
#ifndef EMBER_REPL_H
#define EMBER_REPL_H

#include <stdbool.h>

#include <lua.h>

/* Reads and runs statements until end of input or :quit. interactive: a
 * terminal (readline, prompts, banner, history, completion); otherwise
 * plain lines from standard input. *L may be replaced (:reset). Returns
 * the exit status: 1 if a piped statement failed, else 0. */
int repl_run(lua_State **L, bool interactive);

#endif
