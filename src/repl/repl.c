/* repl.c: the interactive shell, and its plain form for piped input.
 *
 * On a terminal: GNU Readline with Lua-aware completion (ember.complete in
 * lua/repl.lua), history kept across runs, a continuation prompt for an
 * unfinished statement (a syntax error "at <eof>", as lua.c tells it), the
 * value of an expression printed (ember.show), shell commands after ':'
 * (ember.commands, with :quit and :reset here), and Ctrl-C: at the prompt
 * it clears the line, while a statement runs it interrupts it (run.c).
 *
 * Not on a terminal: statements are read line by line from standard input
 * with no prompt, no banner and no escape codes, and the exit status is 1
 * if any statement failed.
 *
 * Readline's callbacks take no user data, so the state they need lives in
 * one struct, `shell`, reachable through a file-static pointer while the
 * shell runs: the one place this file keeps global state. */
#include "repl/repl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>
#include <lualib.h>

#include "core/error.h"
#include "data/dataset.h"
#include "repl/run.h"

#define HISTORY_LINES 1000
#define PROMPT "> "
#define PROMPT_MORE ">> "

typedef struct shell {
    lua_State *L;
    bool       interactive;       /* a terminal: readline, prompt, banner */
    char       history[1024];     /* history file, "" if none */
    bool       failed;            /* a statement failed (piped mode's status) */
    bool       quit;
    /* Reading a line with readline's callback interface. */
    char      *line;
    bool       line_done;
} shell;

static shell *current;                       /* for readline's callbacks */
/* Ctrl-C at the prompt: the handler writes a byte here and the prompt's
 * select wakes up. A pipe, not a flag, because the signal may be handled
 * on any thread (OpenBLAS has its own), which would not wake the select. */
static int interrupt_pipe[2] = {-1, -1};

/* ---- history ----------------------------------------------------------- */

/* $XDG_STATE_HOME/ember/history, else ~/.local/state/ember/history; the
 * folders are made as needed. Leaves path empty if there is no home. */
static void history_path(char *path, size_t size)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[900];
    path[0] = 0;
    if (state && *state)
        snprintf(dir, sizeof dir, "%s/ember", state);
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.local/state/ember", home);
    else
        return;
    /* mkdir -p: each missing folder along the way. */
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0700);
            *p = '/';
        }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return;
    snprintf(path, size, "%s/history", dir);
}

static void history_open(shell *sh)
{
    history_path(sh->history, sizeof sh->history);
    if (!sh->history[0])
        return;
    read_history(sh->history);
    history_truncate_file(sh->history, HISTORY_LINES);
    stifle_history(HISTORY_LINES);
}

/* Every statement is appended at once, so no exit path can lose it. */
static void history_add(shell *sh, const char *statement)
{
    HIST_ENTRY *last = history_length ? history_get(history_base + history_length - 1) : NULL;
    if (!*statement || (last && strcmp(last->line, statement) == 0))
        return;
    add_history(statement);
    if (sh->history[0]) {
        FILE *f = fopen(sh->history, "a");   /* append_history needs the file to exist */
        if (f)
            fclose(f);
        append_history(1, sh->history);
    }
}

/* ---- reading a line ---------------------------------------------------- */

static void on_prompt_sigint(int sig)
{
    (void)sig;
    int saved = errno;
    if (write(interrupt_pipe[1], "", 1) < 0) {
        /* full: an interrupt is already waiting */
    }
    errno = saved;
}

static void on_line(char *line)
{
    current->line = line;
    current->line_done = true;
    rl_callback_handler_remove();
}

/* One line from readline; NULL at end of input. *interrupted is set when
 * Ctrl-C cleared the line instead. */
static char *read_interactive(shell *sh, const char *prompt, bool *interrupted)
{
    *interrupted = false;
    sh->line = NULL;
    sh->line_done = false;
    rl_callback_handler_install(prompt, on_line);
    int in = fileno(rl_instream), wake = interrupt_pipe[0];
    while (!sh->line_done) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(in, &fds);
        FD_SET(wake, &fds);
        int ready = select((in > wake ? in : wake) + 1, &fds, NULL, NULL, NULL);
        if (ready < 0)
            continue;   /* EINTR: the pipe says whether it was Ctrl-C */
        if (FD_ISSET(wake, &fds)) {
            /* Ctrl-C at the prompt: drop the line, start a fresh one. */
            char drain[64];
            while (read(wake, drain, sizeof drain) > 0)
                ;
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_callback_handler_remove();
            printf("^C\n");
            fflush(stdout);
            *interrupted = true;
            break;
        }
        if (FD_ISSET(in, &fds))
            rl_callback_read_char();
    }
    return sh->line;
}

/* One line from a pipe or file, without its newline; NULL at the end. */
static char *read_plain(void)
{
    char *line = NULL;
    size_t size = 0;
    ssize_t n = getline(&line, &size, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = 0;
    return line;
}

/* ---- completion -------------------------------------------------------- */

/* The longest common prefix of the matches, as readline wants in [0]. */
static char **matches_from_lua(lua_State *L, int idx)
{
    lua_Integer n = luaL_len(L, idx);
    if (n < 1)
        return NULL;
    char **m = calloc((size_t)n + 2, sizeof *m);
    if (!m)
        return NULL;
    size_t common = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, idx, i);
        const char *s = lua_tostring(L, -1);
        m[i] = strdup(s ? s : "");
        lua_pop(L, 1);
        if (i == 1)
            common = strlen(m[1]);
        else
            while (common && strncmp(m[1], m[i], common) != 0)
                common--;
    }
    m[0] = strndup(m[1], common);
    return m;
}

/* Asks ember.complete(text) in lua/repl.lua; a word inside a string
 * completes file names. Never lets a Lua error out of the callback. */
static char **complete(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;   /* no default file names */
    if (rl_completion_quote_character)
        return rl_completion_matches(text, rl_filename_completion_function);
    lua_State *L = current->L;
    int top = lua_gettop(L);
    char **matches = NULL;
    lua_getglobal(L, "ember");
    if (lua_istable(L, -1) && lua_getfield(L, -1, "complete") == LUA_TFUNCTION) {
        lua_pushstring(L, text);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
            if (lua_getfield(L, -1, "files") != LUA_TNIL) {
                lua_settop(L, top);
                return rl_completion_matches(text, rl_filename_completion_function);
            }
            lua_pop(L, 1);
            rl_completion_append_character = '\0';
            matches = matches_from_lua(L, lua_gettop(L));
        }
    }
    lua_settop(L, top);
    return matches;
}

static void setup_readline(void)
{
    rl_readline_name = "ember";
    rl_catch_signals = 0;          /* Ctrl-C is ours (read_interactive) */
    rl_attempted_completion_function = complete;
    /* Lua-aware words: a.b:c[1] stays one word; quotes start file names. */
    rl_basic_word_break_characters = " \t\n(),;=+-*/%^~<>{}&|#";
    rl_completer_word_break_characters = rl_basic_word_break_characters;
    rl_completer_quote_characters = "\"'";
}

/* ---- running statements ------------------------------------------------ */

/* Compiles a statement: "return <text>" first, so an expression shows its
 * value, then the text itself. LUA_ERRSYNTAX "at <eof>" means unfinished. */
static int compile(lua_State *L, const char *text, bool *incomplete)
{
    *incomplete = false;
    const char *ret = lua_pushfstring(L, "return %s;", text);
    int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
    lua_remove(L, -2);
    if (status == LUA_OK)
        return status;
    lua_pop(L, 1);
    status = luaL_loadbuffer(L, text, strlen(text), "=stdin");
    if (status == LUA_ERRSYNTAX) {
        size_t len;
        const char *msg = lua_tolstring(L, -1, &len);
        static const char eof_mark[] = "<eof>";
        size_t mark = sizeof eof_mark - 1;
        if (len >= mark && strcmp(msg + len - mark, eof_mark) == 0) {
            lua_pop(L, 1);
            *incomplete = true;
        }
    }
    return status;
}

/* Prints an error: the message and a short traceback (the shell's own
 * frames, ember's library frames, "[C]: in ?" and the like, left out). */
static void print_error(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    if (!msg)
        msg = "(error object is not a string)";
    const char *tb = strstr(msg, "\nstack traceback:");
    size_t head = tb ? (size_t)(tb - msg) : strlen(msg);
    fprintf(stderr, "%.*s\n", (int)head, msg);
    if (tb) {
        int shown = 0;
        const char *line = strchr(tb + 1, '\n');
        while (line && shown < 6) {
            const char *next = strchr(line + 1, '\n');
            int len = next ? (int)(next - line - 1) : (int)strlen(line + 1);
            /* The shell's own frames, and those of ember's embedded
             * library (chunks named "lua/...") and of error() itself, are
             * not the user's: leave them out. */
            const char *frame = line + 1 + strspn(line + 1, " \t");
            bool noise = strstr(frame, "[C]: in ?") ||
                         (strncmp(frame, "stdin:", 6) == 0 && strstr(frame, "in main chunk")) ||
                         strncmp(frame, "lua/", 4) == 0 ||
                         strncmp(frame, "[C]: in function 'error'", 24) == 0 ||
                         strncmp(frame, "(...tail calls...)", 18) == 0;
            if (!noise && len > 0) {
                fprintf(stderr, "%s%.*s\n", shown ? "" : "stack traceback:\n", len, line + 1);
                shown++;
            }
            line = next;
        }
    }
    fflush(stderr);
    lua_pop(L, 1);
}

/* Shows the values a statement returned, through ember.show. */
static void show_results(lua_State *L, int n)
{
    if (n <= 0)
        return;
    lua_getglobal(L, "ember");
    lua_getfield(L, -1, "show");
    lua_remove(L, -2);
    lua_insert(L, -(n + 1));
    if (!lua_isfunction(L, -(n + 1))) {
        lua_pop(L, n + 1);
        return;
    }
    if (lua_pcall(L, n, 0, 0) != LUA_OK)
        print_error(L);
}

static void run_statement(shell *sh, const char *text)
{
    lua_State *L = sh->L;
    int top = lua_gettop(L);
    bool incomplete;
    int status = compile(L, text, &incomplete);
    if (status == LUA_OK)
        status = run_call(L, 0, LUA_MULTRET);
    if (status != LUA_OK) {
        print_error(L);
        sh->failed = true;
    } else {
        show_results(L, lua_gettop(L) - top);
    }
    lua_settop(L, top);
    fflush(stdout);
}

/* ---- shell commands ---------------------------------------------------- */

static bool confirm(shell *sh, const char *question)
{
    if (!sh->interactive)
        return true;   /* a script asked for it */
    char *answer = readline(question);
    bool yes = answer && (answer[0] == 'y' || answer[0] == 'Y');
    free(answer);
    return yes;
}

/* :reset: a fresh Lua state, as if ember had just started. */
static void reset(shell *sh)
{
    if (!confirm(sh, "Reset: every global and model will be lost. Continue? [y/N] "))
        return;
    lua_State *fresh = luaL_newstate();
    if (!fresh || run_open(fresh) != LUA_OK) {
        fprintf(stderr, "ember: :reset failed: the old state is kept\n");
        if (fresh)
            lua_close(fresh);
        return;
    }
    lua_close(sh->L);
    sh->L = fresh;
    printf("a fresh state: nothing defined\n");
}

/* :name args, by name: quit and reset here, the rest in ember.commands. */
static void run_command(shell *sh, const char *line)
{
    char name[32];
    size_t n = strcspn(line + 1, " \t");
    snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), line + 1);
    const char *args = line + 1 + n;
    args += strspn(args, " \t");
    if (strcmp(name, "quit") == 0 || strcmp(name, "q") == 0) {
        sh->quit = true;
        return;
    }
    if (strcmp(name, "reset") == 0) {
        reset(sh);
        return;
    }
    lua_State *L = sh->L;
    int top = lua_gettop(L);
    lua_getglobal(L, "ember");
    if (lua_istable(L, -1) && lua_getfield(L, -1, "commands") == LUA_TTABLE &&
        lua_getfield(L, -1, name) == LUA_TTABLE && lua_getfield(L, -1, "run") == LUA_TFUNCTION) {
        lua_pushstring(L, args);
        if (run_call(L, 1, 0) != LUA_OK) {
            print_error(L);
            sh->failed = true;
        }
    } else {
        fprintf(stderr, "unknown command :%s (:help lists them)\n", name);
        sh->failed = true;
    }
    lua_settop(L, top);
    fflush(stdout);
}

/* ---- the loop ---------------------------------------------------------- */

static void print_banner(shell *sh)
{
    char dir[512], err[EMBER_ERR_SIZE];
    bool found = dataset_find("fashion-mnist", dir, sizeof dir, err) == 0;
    lua_State *L = sh->L;
    lua_getglobal(L, "ember");
    if (lua_istable(L, -1) && lua_getfield(L, -1, "banner") == LUA_TFUNCTION) {
        if (found)
            lua_pushstring(L, dir);
        else
            lua_pushnil(L);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_isstring(L, -1))
            printf("%s\n", lua_tostring(L, -1));
    }
    lua_settop(L, 0);
    fflush(stdout);
}

/* Appends line to the statement being read (a newline between lines). */
static char *append_line(char *statement, const char *line)
{
    size_t old = statement ? strlen(statement) : 0, add = strlen(line);
    char *grown = realloc(statement, old + add + 2);
    if (!grown) {
        free(statement);
        return NULL;
    }
    if (old)
        grown[old++] = '\n';
    memcpy(grown + old, line, add + 1);
    return grown;
}

int repl_run(lua_State **L, bool interactive)
{
    shell sh = {.L = *L, .interactive = interactive};
    shell *outer = current;
    current = &sh;
    struct sigaction before;
    if (interactive) {
        if (interrupt_pipe[0] < 0 && pipe(interrupt_pipe) == 0) {
            fcntl(interrupt_pipe[0], F_SETFL, O_NONBLOCK);
            fcntl(interrupt_pipe[1], F_SETFL, O_NONBLOCK);
        }
        /* The prompt's handler for the whole session; run_call puts its
         * own in place while a statement runs, then this one back. */
        run_set_sigint(on_prompt_sigint, &before);
        setup_readline();
        history_open(&sh);
        print_banner(&sh);
    }
    char *statement = NULL;   /* lines of an unfinished statement */
    while (!sh.quit) {
        bool interrupted = false;
        char *line = interactive ? read_interactive(&sh, statement ? PROMPT_MORE : PROMPT, &interrupted)
                                 : read_plain();
        if (interrupted) {
            free(statement);
            statement = NULL;
            continue;
        }
        if (!line) {
            if (interactive)
                printf("\n");
            if (statement) {   /* input ended inside a statement: say why */
                run_statement(&sh, statement);
                free(statement);
                statement = NULL;
            }
            break;
        }
        if (!statement && line[0] == ':') {
            if (interactive)
                history_add(&sh, line);
            run_command(&sh, line);
            free(line);
            continue;
        }
        statement = append_line(statement, line);
        free(line);
        if (!statement)
            break;
        bool incomplete;
        int top = lua_gettop(sh.L);
        int status = compile(sh.L, statement, &incomplete);
        lua_settop(sh.L, top);
        if (status != LUA_OK && incomplete)
            continue;   /* wait for the rest: the continuation prompt */
        if (interactive)
            history_add(&sh, statement);
        run_statement(&sh, statement);
        free(statement);
        statement = NULL;
    }
    free(statement);
    if (interactive) {
        sigaction(SIGINT, &before, NULL);
        if (sh.history[0])
            history_truncate_file(sh.history, HISTORY_LINES);
    }
    *L = sh.L;
    current = outer;
    return sh.failed && !interactive ? 1 : 0;
}
