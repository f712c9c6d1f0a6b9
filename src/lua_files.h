/* lua_files.h: the files of lua/, compiled into the binary by meson
 * (scripts/embed-lua), run in order when a Lua state is created; and
 * README.md, which help() reads its reference from. */
#ifndef EMBER_LUA_FILES_H
#define EMBER_LUA_FILES_H

#include <stddef.h>

typedef struct ember_lua_file {
    const char *name;     /* "lua/model.lua", or "README.md" for data */
    const char *source;
    size_t      size;
} ember_lua_file;

extern const ember_lua_file ember_lua_files[];
extern const int ember_lua_count;

#endif
