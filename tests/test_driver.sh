#!/bin/sh
# test_driver.sh EMBER: the command-line driver's messages and exit codes.
# Needs the real Fashion-MNIST for the training cases; skips (77) without it.
ember=$1
fail=0
check() {   # check NAME EXPECTED-STATUS EXPECTED-TEXT -- ARGS...
    name=$1 want=$2 text=$3
    shift 4
    out=$("$ember" "$@" 2>&1)
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL $name: exit $got, expected $want"; echo "$out"; fail=1
    elif ! printf '%s\n' "$out" | grep -qF -- "$text"; then
        echo "FAIL $name: output lacks \"$text\""; echo "$out"; fail=1
    else
        echo "ok $name"
    fi
}
check version 0 "ember " -- --version
check help 0 "--units N" -- --help
check bad-activation 2 'activation "sigmod" unknown (relu, sigmoid' -- --activation sigmod
check bad-units 2 "--units needs an integer from 1" -- --units -3
check unknown-option 2 "unknown option" -- --frobnicate 1
check unknown-data 1 "unknown dataset \"no-such-dataset\": the known ones are fashion-mnist and mnist" -- --data no-such-dataset

if [ ! -d /usr/share/datasets/fashion-mnist ] && [ ! -d "${EMBER_DATA:-/nonexistent}/fashion-mnist" ]; then
    echo "skipped: Fashion-MNIST is not installed"
    [ $fail -eq 0 ] && exit 77
    exit 1
fi
check five-units 1 "needs at least 10 output units, but the last layer has 5" -- \
    --units 5 --epochs 1 --train 500 --test 100 --hidden 16,16
check small-run 0 "predicted class:" -- \
    --units 30 --epochs 1 --train 600 --test 200 --hidden 32,32 --verbose 2 --threads 1
exit $fail
