#!/bin/sh
# tests/fuzz/valgrind-ember.sh [ember arguments]: ember under valgrind's
# memcheck, for tests that exec "the ember binary" (test_shell takes its
# path as argv[1]). Errors and leaks definitely lost make the exit status
# 1; valgrind's report goes to a log file, never to the terminal the test
# reads. Set by tests/fuzz/valgrind.sh:
#   EMBER_VALGRIND_BINARY  the ember to run (default: build/ember)
#   EMBER_VALGRIND_LOGS    folder for the logs, one per process (default /tmp)
here=$(cd "$(dirname "$0")" && pwd)
exec valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \
    --error-exitcode=1 --suppressions="$here/valgrind.supp" \
    --log-file="${EMBER_VALGRIND_LOGS:-/tmp}/ember.%p.log" \
    "${EMBER_VALGRIND_BINARY:-$here/../../build/ember}" "$@"
