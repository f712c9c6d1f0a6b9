#!/bin/sh
# test_cli.sh EMBER: the command line (as the stock lua does it) and the
# examples, through the real binary. The examples need the real
# Fashion-MNIST; without it they are skipped and the rest still runs.
ember=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
examples=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() {   # check NAME EXPECTED-STATUS EXPECTED-TEXT -- COMMAND...
    name=$1 want=$2 text=$3
    shift 4
    out=$("$@" 2>&1)
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL $name: exit $got, expected $want"; echo "$out"; fail=1
    elif ! printf '%s\n' "$out" | grep -qF -- "$text"; then
        echo "FAIL $name: output lacks \"$text\""; echo "$out"; fail=1
    else
        echo "ok $name"
    fi
}

check version 0 "ember 0." -- "$ember" --version
check help 0 "usage: ember [options] [script [args]]" -- "$ember" --help
check exec 0 "2" -- "$ember" -e "print(1+1)"
check exec-order 0 "ab" -- "$ember" -e "x = 'a'" -e "io.write(x, 'b')"
check unknown-option 1 "unknown option --frobnicate" -- "$ember" --frobnicate
check exec-missing 1 "-e needs code" -- "$ember" -e
check globals 0 "function table table table" -- "$ember" -e \
    "print(table.concat({type(seed), type(nn), type(data), type(tensor)}, ' '))"

printf 'print(...)\nprint(arg[0], arg[1], arg[2], #arg)\n' > "$tmp/args.lua"
check script-args 0 "$tmp/args.lua	one	two	2" -- "$ember" "$tmp/args.lua" one two
check script-varargs 0 "one	two" -- "$ember" "$tmp/args.lua" one two

printf 'local function f()\n  error("boom")\nend\nf()\n' > "$tmp/fails.lua"
check script-error 1 "fails.lua:2: boom" -- "$ember" "$tmp/fails.lua"
check traceback 1 "stack traceback:" -- "$ember" "$tmp/fails.lua"
check traceback-line 1 "fails.lua:4: in main chunk" -- "$ember" "$tmp/fails.lua"
check syntax-error 1 "unexpected symbol" -- "$ember" -e "x = = 1"
check missing-script 1 "cannot open" -- "$ember" "$tmp/no-such-file.lua"
check stdin 0 "42" -- sh -c "echo 'print(6*7)' | \"$ember\" -"

# The shell reading a pipe: statements one by one, values shown, no prompt
# or banner, status 1 if any failed (and the rest still run).
check piped 0 "2" -- sh -c "printf 'print(1+1)\n' | \"$ember\""
printf 'x = 20\nx + 1\nfor i = 1, 2 do\n  print(i * 100)\nend\nerror("bad line")\nx * 2\n' > "$tmp/piped.txt"
"$ember" < "$tmp/piped.txt" > "$tmp/piped.out" 2>&1
status=$?
if [ $status -ne 1 ]; then echo "FAIL piped-status: exit $status, expected 1"; fail=1; else echo "ok piped-status"; fi
expected=$(printf '21\n100\n200\nstdin:1: bad line\n40')
if [ "$(cat "$tmp/piped.out")" != "$expected" ]; then
    echo "FAIL piped-output:"; cat "$tmp/piped.out"; fail=1
else
    echo "ok piped-output"
fi
printf 'greeting = "hello from the script"\n' > "$tmp/greet.lua"
check dash-i 0 "hello from the script" -- sh -c "echo 'greeting' | \"$ember\" -i \"$tmp/greet.lua\""
check nn-error 1 'nn.dense: activation "sigmod" unknown (relu, sigmoid, softmax, tanh, linear)' -- \
    "$ember" -e 'nn.dense(10, "sigmod")'
check runs-anywhere 0 "ok" -- sh -c "cd / && \"$ember\" -e 'print(\"ok\")'"

if [ -d /usr/share/datasets/fashion-mnist ] || [ -d "${EMBER_DATA:-/nonexistent}/fashion-mnist" ]; then
    check forum-example 0 "predicted_class: " -- "$ember" "$examples/forum_model.lua" 1 3000
    check output-units 0 "needs at least 10 output units, but the last layer has 5" -- \
        "$ember" "$examples/output_units.lua" 1 3000
    check by-hand 0 "500 batches into epoch 2" -- "$ember" "$examples/by_hand.lua"

    # Ctrl-C during fit: training stops at a batch boundary with an error
    # the script can catch, the model carries on, and a second Ctrl-C
    # later interrupts a plain Lua loop.
    cat > "$tmp/interrupt.lua" <<LUA
local train = data.load("fashion-mnist")
seed(3)
local m = nn.sequential { nn.flatten(), nn.dense(16, "relu"), nn.dense(10, "softmax") }
m:compile { optimizer = "adam", loss = "sparse_categorical_crossentropy" }
local marker = "$tmp/started"
local ok, err = pcall(m.fit, m, train, { epochs = 1000, verbose = 0, on_batch_end = function(_, logs)
  if logs.batch == 5 then io.open(marker, "w"):close() end
end })
print("fit:", ok, err)
print("batch boundary:", m.cursor.seen == m.cursor.batch * 32 + m.cursor.epoch * 60000)
m:epoch { verbose = 0 }
print("carried on:", m.cursor.batch == 0)
io.open(marker .. "2", "w"):close()
local ok2, err2 = pcall(function() while true do end end)
print("loop:", ok2, err2)
LUA
    "$ember" "$tmp/interrupt.lua" > "$tmp/interrupt.out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do [ -f "$tmp/started" ] && break; sleep 0.1; done
    kill -INT $pid
    for _ in $(seq 300); do [ -f "$tmp/started2" ] && break; sleep 0.1; done
    sleep 0.2
    kill -INT $pid
    wait $pid
    check interrupt-fit 0 "m:fit: interrupted in epoch 1 at batch" -- cat "$tmp/interrupt.out"
    check interrupt-boundary 0 "batch boundary:	true" -- cat "$tmp/interrupt.out"
    check interrupt-carry-on 0 "carried on:	true" -- cat "$tmp/interrupt.out"
    check interrupt-loop 0 "loop:	false	interrupted!" -- cat "$tmp/interrupt.out"
else
    echo "skipped: the examples need Fashion-MNIST (apt-get install dataset-fashion-mnist)"
    [ $fail -eq 0 ] && exit 77
fi
exit $fail
