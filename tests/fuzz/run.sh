#!/bin/sh
# tests/fuzz/run.sh [SECONDS]: builds the libFuzzer targets with clang
# (AddressSanitizer, UndefinedBehaviorSanitizer, LeakSanitizer) into
# build-fuzz/ and runs each for SECONDS (default 120), both at once, one
# per core. Each starts from a fresh seed corpus (tests/fuzz/seeds.c,
# written into build-fuzz/, never into the source tree) and first replays
# any saved crash input tests/fuzz/crashes/TARGET-*. Prints one line per
# target ("fuzz_idx: 1234567 runs in 120 s, no crash") and exits non-zero
# if any target crashed, leaked, tripped a sanitizer, ran out of time on
# one input or used more than 2 GiB.
#
# Longer by hand: tests/fuzz/run.sh 3600. With 0, each target only runs
# its seeds and the saved crash inputs, a quick check. A crash leaves its
# input in build-fuzz/crashes/; reproduce with build-fuzz/fuzz_idx FILE.
# With EMBER_RESULTS set (scripts/test), "TARGET OK" or "TARGET FAIL" is
# appended to that file for each target.
set -eu
seconds=${1:-120}
case $seconds in
    ''|*[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS per target]" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/build-fuzz"
targets="fuzz_idx fuzz_checkpoint"
cc=${CLANG:-clang}

command -v "$cc" >/dev/null 2>&1 || {
    echo "run.sh: $cc not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
}

# No BLAS: EMBER_BLAS_OPENBLAS stays undefined, so the core's plain C gemm
# is used and nothing outside this tree (but zlib) is linked.
core="$root/src/core/error.c $root/src/core/rng.c $root/src/core/gemm.c
      $root/src/core/activation.c $root/src/core/loss.c $root/src/core/optimizer.c
      $root/src/core/model.c $root/src/core/train.c $root/src/core/parallel.c"
io="$root/src/io/atomic.c $root/src/io/checkpoint.c"
flags="-std=c17 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer -I$root/src
       -fsanitize=address,undefined -fno-sanitize-recover=all"
libs="-lz -lm -lpthread"

rm -rf "$out/corpus" "$out/logs"
mkdir -p "$out/corpus" "$out/logs" "$out/crashes"

build() {   # build NAME SOURCES...: one clang call, its log kept on failure
    name=$1
    shift
    # shellcheck disable=SC2086  # word splitting of the flag lists is wanted
    if ! $cc $flags "$@" $libs -o "$out/$name" >"$out/logs/$name.build" 2>&1; then
        cat "$out/logs/$name.build" >&2
        echo "$name: FAILED to build" >&2
        exit 1
    fi
}
# shellcheck disable=SC2086
build seeds "$here/seeds.c" $core $io
# shellcheck disable=SC2086
build fuzz_idx -fsanitize=fuzzer "$here/fuzz_idx.c" "$root/src/data/idx.c" "$root/src/core/error.c"
# shellcheck disable=SC2086
build fuzz_checkpoint -fsanitize=fuzzer "$here/fuzz_checkpoint.c" $core $io

"$out/seeds" "$out/corpus/seeds" || { echo "seeds: FAILED to write the seed corpus" >&2; exit 1; }
cp -r "$out/corpus/seeds/idx" "$out/corpus/fuzz_idx"
cp -r "$out/corpus/seeds/checkpoint" "$out/corpus/fuzz_checkpoint"

result() {   # result TARGET OK|FAIL
    if [ -n "${EMBER_RESULTS:-}" ]; then
        echo "$1 $2" >>"$EMBER_RESULTS"
    fi
}

# Saved crash inputs first (a fixed bug stays fixed): each must run clean.
status=0
replay_failed=""
for t in $targets; do
    set -- "$here/crashes/$t"-*
    [ -e "$1" ] || continue
    if "$out/$t" -rss_limit_mb=2048 -timeout=10 "$@" >"$out/logs/$t.replay" 2>&1; then
        echo "   $t: the $# saved crash input(s) in tests/fuzz/crashes run clean"
    else
        grep -E '^(==[0-9]+==|SUMMARY|    #[0-9]|.*runtime error:|Running: )' "$out/logs/$t.replay" | head -n 40
        echo "   $t: a saved crash input in tests/fuzz/crashes still fails (log: build-fuzz/logs/$t.replay)"
        replay_failed="$replay_failed $t"
    fi
done

if [ "$seconds" -eq 0 ]; then
    echo "running $targets over their seed corpora"
    limit=-runs=0
else
    echo "fuzzing $targets for $seconds s each"
    limit=-max_total_time=$seconds
fi
pids=""
for t in $targets; do
    "$out/$t" "$limit" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
        "$out/corpus/$t" >"$out/logs/$t.log" 2>&1 &
    pids="$pids $!"
done

# shellcheck disable=SC2086  # one argument per pid
set -- $pids
for t in $targets; do
    pid=$1
    shift
    rc=0
    wait "$pid" || rc=$?
    log="$out/logs/$t.log"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    start=$(sed -n 's/.*INITED cov: \([0-9]*\) ft: \([0-9]*\).*/\1 edges, \2 features/p' "$log" | tail -n 1)
    end=$(sed -n 's/.*DONE *cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/\1 edges, \2 features, \3 inputs/p' "$log" | tail -n 1)
    if [ "$rc" -ne 0 ]; then
        grep -E '^(==[0-9]+==|SUMMARY|    #[0-9]|.*runtime error:|.*Test unit written|.*ERROR: libFuzzer)' "$log" | head -n 60
        echo "$t: FAILED after ${runs:-?} runs (exit $rc; log: build-fuzz/logs/$t.log; input in build-fuzz/crashes/)"
        result "$t" FAIL
        status=1
        continue
    fi
    echo "   $t coverage: seeds ${start:-?}; at the end ${end:-?}"
    case " $replay_failed " in
        *" $t "*)
            echo "$t: FAILED on a saved crash input; ${runs:-?} runs in ${secs:-?} s, no new crash"
            result "$t" FAIL
            status=1 ;;
        *)
            echo "$t: ${runs:-?} runs in ${secs:-?} s, no crash"
            result "$t" OK ;;
    esac
done
exit $status
