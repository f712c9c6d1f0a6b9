/* test_shell.c EMBER: the shell as a person uses it, through a
 * pseudo-terminal: the real binary, real readline, keys sent as typed and
 * the screen text read back.
 *
 * Proves: the banner and prompt appear; an expression prints its value; a
 * multi-line for loop continues on a second prompt and runs; Tab completes
 * m:ev to m:evaluate(; an error keeps the globals; Ctrl-C at the prompt
 * clears the line; history survives a restart (the file and the up arrow);
 * with the real Fashion-MNIST, Ctrl-C during m:fit returns to the prompt
 * and m:epoch() carries on from the recorded cursor.
 *
 * Timeouts are generous (a passing expect returns as soon as the text
 * shows; only a failure waits), as the suite runs tests side by side on a
 * loaded 2-core machine and in a sanitizer build. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

typedef struct session {
    int   fd;
    pid_t pid;
    char  screen[1 << 16];   /* everything read since the last expect */
    size_t used;
} session;

static const char *ember;
static char home[256];

static void start(session *s)
{
    memset(s, 0, sizeof *s);
    struct winsize ws = {.ws_row = 40, .ws_col = 200};
    s->pid = forkpty(&s->fd, NULL, NULL, &ws);
    if (s->pid == 0) {
        char state[300];
        snprintf(state, sizeof state, "%s/state", home);
        setenv("HOME", home, 1);
        setenv("XDG_STATE_HOME", state, 1);
        setenv("TERM", "dumb", 1);
        setenv("NO_COLOR", "1", 1);
        setenv("INPUTRC", "/dev/null", 1);
        execl(ember, ember, (char *)NULL);
        _exit(127);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Reads until text has appeared (true) or seconds have passed (false).
 * What was read up to and including text is consumed. */
static bool expect(session *s, const char *text, double seconds)
{
    double end = now() + seconds;
    for (;;) {
        char *at = strstr(s->screen, text);
        if (at) {
            size_t rest = s->used - (size_t)(at + strlen(text) - s->screen);
            memmove(s->screen, at + strlen(text), rest + 1);
            s->used = rest;
            return true;
        }
        double left = end - now();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        ssize_t n = read(s->fd, s->screen + s->used, sizeof s->screen - 1 - s->used);
        if (n <= 0)
            break;
        s->used += (size_t)n;
        s->screen[s->used] = 0;
        if (s->used > sizeof s->screen - 4096) {   /* keep the tail */
            memmove(s->screen, s->screen + s->used / 2, s->used - s->used / 2 + 1);
            s->used -= s->used / 2;
        }
    }
    fprintf(stderr, "expected \"%s\"; the screen shows:\n%s\n", text, s->screen);
    return false;
}

static void type(session *s, const char *keys)
{
    size_t n = strlen(keys);
    if (write(s->fd, keys, n) != (ssize_t)n)
        fprintf(stderr, "write to the terminal failed\n");
}

static int finish(session *s)
{
    int status = -1;
    for (int i = 0; i < 300; i++) {   /* 30 s: the suite runs tests in parallel */
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            close(s->fd);
            return status;
        }
        /* Keep the terminal drained so the child never blocks writing;
         * once it has exited, reads fail (EIO) and we just wait. */
        char drain[4096];
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0 && read(s->fd, drain, sizeof drain) < 0)
            usleep(100 * 1000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    close(s->fd);
    return -1;
}

static bool have_data(void)
{
    struct stat st;
    return stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", &st) == 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_shell EMBER\n");
        return 2;
    }
    ember = argv[1];
    snprintf(home, sizeof home, "/tmp/ember-shell-XXXXXX");
    if (!mkdtemp(home)) {
        perror("mkdtemp");
        return 1;
    }

    session s;
    start(&s);
    CHECK(expect(&s, "help() for the API", 60));
    CHECK(expect(&s, "> ", 60));

    /* An expression prints its value. */
    type(&s, "1+1\r");
    CHECK(expect(&s, "\n2", 60));

    /* A statement left open continues on a second prompt. */
    type(&s, "for i = 1, 3 do\r");
    CHECK(expect(&s, ">> ", 60));
    type(&s, "print(i * 10)\r");
    CHECK(expect(&s, ">> ", 60));
    type(&s, "end\r");
    CHECK(expect(&s, "10", 60));
    CHECK(expect(&s, "20", 60));
    CHECK(expect(&s, "30", 60));

    /* Tab completion knows a model's methods. */
    type(&s, "m = nn.sequential { nn.dense(2) }\r");
    CHECK(expect(&s, "> ", 60));
    type(&s, "m:ev\t");
    CHECK(expect(&s, "m:evaluate(", 60));
    type(&s, "\x15");   /* Ctrl-U: drop the line */

    /* An error keeps the state. */
    type(&s, "y = 5\r");
    type(&s, "error('deliberate')\r");
    CHECK(expect(&s, "deliberate", 60));
    type(&s, "y + 1\r");
    CHECK(expect(&s, "\n6", 60));

    /* Ctrl-C at the prompt clears the line. */
    type(&s, "this is not lua");
    CHECK(expect(&s, "not lua", 60));
    type(&s, "\x03");
    CHECK(expect(&s, "^C", 60));
    type(&s, "y * 3\r");
    CHECK(expect(&s, "\n15", 60));
    CHECK(strstr(s.screen, "syntax error") == NULL);

    if (have_data()) {
        /* Ctrl-C during fit: back at the prompt, the model consistent. */
        type(&s, "train = data.load('fashion-mnist'):subset(1, 20000)\r");
        type(&s, "seed(1); f = nn.sequential { nn.flatten(), nn.dense(32, 'relu'), nn.dense(10, 'softmax') }\r");
        type(&s, "f:compile { optimizer = 'adam', loss = 'sparse_categorical_crossentropy' }\r");
        type(&s, "f:fit(train, { epochs = 500, verbose = 2 })\r");
        CHECK(expect(&s, "Epoch 2/500", 60));
        type(&s, "\x03");
        CHECK(expect(&s, "interrupted in epoch", 60));
        CHECK(expect(&s, "> ", 60));
        type(&s, "stopped = f.cursor.epoch\r");
        type(&s, "f.cursor.batch > 0 and f.cursor.seen == f.cursor.epoch * 20000 + f.cursor.batch * 32\r");
        CHECK(expect(&s, "true", 60));
        type(&s, "f:epoch { verbose = 0 }\r");
        type(&s, "f.cursor.batch == 0 and f.cursor.epoch == stopped + 1\r");
        CHECK(expect(&s, "true", 60));
    }

    type(&s, "history_marker = 42\r");
    CHECK(expect(&s, "> ", 60));
    type(&s, ":quit\r");
    int status = finish(&s);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* The history file holds what was typed, and the up arrow recalls it. */
    char path[400], text[1 << 14] = "";
    snprintf(path, sizeof path, "%s/state/ember/history", home);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
    }
    CHECK(strstr(text, "history_marker = 42") != NULL);
    CHECK(strstr(text, "print(i * 10)") != NULL);
    start(&s);
    CHECK(expect(&s, "> ", 60));
    type(&s, "\x1b[A");   /* up: the last statement (":quit" came after it) */
    type(&s, "\x1b[A");
    CHECK(expect(&s, "history_marker = 42", 60));
    type(&s, "\r");
    type(&s, "history_marker\r");
    CHECK(expect(&s, "\n42", 60));
    /* Ctrl-D only once the prompt is back: typed while a statement runs,
     * the terminal is in canonical mode and would swallow it. */
    CHECK(expect(&s, "> ", 60));
    type(&s, "\x04");   /* Ctrl-D ends the shell */
    status = finish(&s);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", home);
    return test_report();
}
