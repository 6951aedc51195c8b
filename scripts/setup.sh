#!/usr/bin/env bash
# Installs what the build and the tests need, when it is missing: the musl target and C
# compiler (ring's C needs musl-gcc), valgrind and GNU time (size and cost guards), openssl
# (a non-Rust TLS peer), python3-venv (the gRPC health server). Docker is installed by
# scripts/dockerd.sh when the Docker tests run. Safe to run again: a second run installs nothing.
set -euo pipefail

need_apt=()
command -v musl-gcc >/dev/null || need_apt+=(musl-tools)
command -v valgrind >/dev/null || need_apt+=(valgrind)
[ -x /usr/bin/time ] || need_apt+=(time)
command -v openssl >/dev/null || need_apt+=(openssl)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need_apt[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "setup: apt-get install ${need_apt[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl
fi
