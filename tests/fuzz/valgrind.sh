#!/bin/sh
# tests/fuzz/valgrind.sh [BUILD]: the shell test (a pseudo-terminal
# session, with the real Fashion-MNIST when it is installed) and every Lua
# API test, with ember under valgrind's memcheck: any memory error or leak
# definitely lost fails. BUILD is the meson build directory holding ember
# and tests/test_shell (default: build). Prints one line per test
# ("valgrind_shell: ok, no errors or leaks definitely lost (41 s)") and
# exits non-zero if any failed; each failure shows its valgrind report.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
command -v valgrind >/dev/null 2>&1 || {
    echo "valgrind.sh: valgrind not found (Debian: apt-get install valgrind)" >&2
    exit 1
}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
export EMBER_VALGRIND_BINARY="$build/ember" EMBER_VALGRIND_LOGS="$logs"
# Valgrind hides AVX-512, so OpenBLAS picks other kernels under it than
# outside; tests/lua/checkpoint.lua resumes training in a child ember that
# runs outside valgrind and expects the same weights bit for bit, which
# holds only with the same kernels. Pin them for every process.
export OPENBLAS_CORETYPE=Haswell

status=0
run() {   # run NAME COMMAND...: one test under valgrind, one line of result
    name=$1
    shift
    rm -f "$logs"/ember.*.log
    start=$(date +%s)
    "$@" >"$logs/out" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    # valgrind's exit status says it (--error-exitcode); the logs are read
    # too, in case a test let an ember's status go unchecked. They hold
    # only errors and leaks (--quiet): "possibly lost" records are listed
    # but do not fail.
    if [ "$rc" -eq 0 ] && ! grep -qE 'definitely lost in loss record|Invalid (read|write|free)|uninitialised|Mismatched free|overlap' "$logs"/ember.*.log 2>/dev/null; then
        echo "$name: ok, no errors or leaks definitely lost ($secs s)"
        result=OK
    else
        tail -n 40 "$logs/out"
        for log in "$logs"/ember.*.log; do
            [ -s "$log" ] && { echo "--- $(basename "$log")"; cat "$log"; }
        done
        echo "$name: FAILED under valgrind (exit $rc, $secs s)"
        result=FAIL
        status=1
    fi
    [ -n "${EMBER_RESULTS:-}" ] && echo "$name $result" >>"$EMBER_RESULTS"
}

run valgrind_shell "$build/tests/test_shell" "$here/valgrind-ember.sh"
for script in "$root"/tests/lua/*.lua; do
    case $script in */fixture.lua) continue ;; esac   # shared helpers, not a test
    name=$(basename "$script" .lua)
    # shellcheck disable=SC2016  # expanded by the inner sh
    run "valgrind_lua_$name" sh -c 'cd "$1" && exec "$2" "$3"' sh "$logs" "$here/valgrind-ember.sh" "$script"
done
exit $status
