#!/usr/bin/env bash
# The one test command: what CI runs (.ci/run) and what a newcomer runs. Installs what it needs
# on a fresh machine (as root), then runs every test suite and guard.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*" >&2; }

step "setup"
scripts/setup.sh

step "format"
cargo fmt --check

step "unit, integration and doc tests"
cargo test --all-targets
cargo test --doc

step "feature matrix"
cargo build --lib --no-default-features
cargo build --lib --no-default-features --features tls
cargo build --no-default-features --features cli

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps

step "static release binary"
cargo build --release --target x86_64-unknown-linux-musl --bin healthprobe
bin=target/x86_64-unknown-linux-musl/release/healthprobe
if readelf -l "$bin" | grep -q INTERP || readelf -d "$bin" | grep -q NEEDED; then echo "not static: $bin" >&2; exit 1; fi
ls -l "$bin" >&2

step "docker"
# Starts (and afterwards stops) a local engine when none answers; CI makes a missing engine a failure.
export HEALTHPROBE_DOCKER_START="${HEALTHPROBE_DOCKER_START:-1}"
tests/docker/run.sh
