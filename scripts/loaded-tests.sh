#!/usr/bin/env bash
# The integration suite N times in a row under a parallel CPU load (`stress-ng --cpu 2`, one
# busy worker per core of this 2-core machine): the deadline assertions must hold under load
# (tests/support/cmd.rs judges them by the probe's own clock, tests/support/cpu.rs keeps the
# suite's own heavy steps apart from probe runs).
#
#   scripts/loaded-tests.sh [N]      (default 20)
#
# Prints one line per run and ends with "N passed, M failed"; exit 1 when a run failed. Each
# run's output is kept in target/loaded-tests/run-I.log.
set -uo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
command -v stress-ng >/dev/null || scripts/setup.sh stress
cargo build --tests --quiet || exit 1
mkdir -p target/loaded-tests
stress-ng --cpu "$(nproc)" --timeout "$((runs * 600))s" >/dev/null 2>&1 &
load=$!
trap 'kill "$load" 2>/dev/null' EXIT
passed=0 failed=0
for i in $(seq "$runs"); do
    t=$SECONDS
    if cargo test --test tests >"target/loaded-tests/run-$i.log" 2>&1; then
        passed=$((passed + 1)); verdict=ok
    else
        failed=$((failed + 1)); verdict=FAILED
    fi
    echo "run $i: $verdict in $((SECONDS - t)) s: $(grep -h '^test result' "target/loaded-tests/run-$i.log" | tail -n 1)"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
