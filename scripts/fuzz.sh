#!/usr/bin/env bash
# Fuzzes the parsers (target grammar, durations, status lists, ${VAR} expansion, the whole
# command line, the database replies (db_*) and the dependency, broker and DNS replies (dep_*), the
# sealed slot, JSON bodies and `--json` conditions) with
# cargo-fuzz on the pinned nightly of the release builds (scripts/lib/nightly.sh: $NIGHTLY), from
# the seed corpus in fuzz/corpus/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
#
# Prints each target's execution count; exits non-zero on the first crash (the input is left in
# fuzz/artifacts/TARGET/), and when a target ran zero executions (or none could be counted).
# scripts/setup.sh installs cargo-fuzz and the nightly when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"

scripts/setup.sh fuzz
say() { printf 'fuzz: %s\n' "$*" >&2; }
# shellcheck source=scripts/lib/nightly.sh
. scripts/lib/nightly.sh  # NIGHTLY, the toolchain setup.sh installed
export PATH="$PATH:$PWD/.venv/bin"
targets=(target_grammar duration status_list expand cli_args db_postgres db_mysql db_redis db_memcached dep_mongodb dep_kafka dep_nats dep_zookeeper dep_smtp dep_amqp dep_mqtt dep_dns seal_decode json_condition)
total=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  log=$(mktemp)
  # A private copy of the corpus dir keeps the checked-in seeds as they are.
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$t/." "$work/"
  if ! cargo "+$NIGHTLY" fuzz run "$t" "$work" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -30 "$log" >&2
    if compgen -G "fuzz/artifacts/$t/*" >/dev/null; then
      echo "fuzz: $t crashed; see fuzz/artifacts/$t/" >&2
    else
      echo "fuzz: cargo +$NIGHTLY fuzz run $t failed before fuzzing (the log's end is above)" >&2
    fi
    exit 1
  fi
  # libFuzzer's count: its final stats, else its last "Done N runs" or "#N DONE" line.
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1 || true)
  [ -n "$runs" ] || runs=$(grep -Eo '^Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' | tail -1 || true)
  [ -n "$runs" ] || runs=$(grep -Eo '^#[0-9]+[[:space:]]+DONE' "$log" | grep -Eo '[0-9]+' | tail -1 || true)
  if [ "${runs:-0}" -eq 0 ]; then
    tail -30 "$log" >&2
    echo "fuzz: $t ran ${runs:-no counted} executions; a smoke run that fuzzes nothing is a failure" >&2
    exit 1
  fi
  printf 'fuzz %-15s %12s executions in %ss, no crash\n' "$t" "$runs" "$seconds"
  total=$((total + runs))
  rm -rf "$work" "$log"
done
printf 'fuzz total       %12s executions\n' "$total"
