# shellcheck shell=bash
# Sourced, never run: the helpers every script uses to install what it needs when it is missing.
# The lists of WHAT a fresh machine needs live in scripts/setup.sh (one place); these helpers only
# know HOW: Debian packages by name (never through Recommends), rustup targets and components,
# `cargo install --locked`, and PyPI wheels in the repo's .venv.
#
# The caller may define `say` (one-line messages to stderr); a default is provided.
# SETUP_NO_INSTALL=1: need_deb only checks, and fails naming the missing packages (bench/run.sh's
# BENCH_INSTALL=0).

declare -F say >/dev/null || say() { printf 'setup: %s\n' "$*" >&2; }

SETUP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
SETUP_VENV="$SETUP_ROOT/.venv"

_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else say "need root to run: $*"; return 1
    fi
}

_apt_updated=0
# need_deb PACKAGE...: installs the Debian packages that dpkg does not list as installed.
# Every package is named: --no-install-recommends, so nothing comes in by accident.
need_deb() {
    local want=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || want+=("$p")
    done
    [ "${#want[@]}" -gt 0 ] || return 0
    if [ "${SETUP_NO_INSTALL:-0}" = 1 ]; then
        say "missing Debian packages: ${want[*]} (SETUP_NO_INSTALL=1: not installed)"
        return 1
    fi
    say "apt-get install ${want[*]}"
    if [ "$_apt_updated" = 0 ]; then
        _as_root apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || return 1
        _apt_updated=1
    fi
    # Servers (postgresql, mariadb, redis, memcached) come in as packages only: the tests start
    # their own instances on free ports, so the package's own service is not started
    # (policy-rc.d 101), where this machine has no such policy already.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e "$policy" ] && [ "$(id -u)" = 0 ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
    fi
    local rc=0
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${want[@]}" >&2 || rc=$?
    [ "$made_policy" = 0 ] || rm -f "$policy"
    return "$rc"
}

# need_target TRIPLE [TOOLCHAIN]: a rustup target for the default (or the named) toolchain.
need_target() {
    local tc=()
    [ -z "${2:-}" ] || tc=(--toolchain "$2")
    rustup target list --installed "${tc[@]}" 2>/dev/null | grep -qx "$1" && return 0
    say "rustup target add $1 ${2:-}"
    rustup target add "$1" "${tc[@]}" >&2
}

# need_component COMPONENT [TOOLCHAIN]: a rustup component (rustfmt, clippy, rust-src).
need_component() {
    local tc=()
    [ -z "${2:-}" ] || tc=(--toolchain "$2")
    rustup component list --installed "${tc[@]}" 2>/dev/null | grep -q "^$1" && return 0
    say "rustup component add $1 ${2:-}"
    rustup component add "$1" "${tc[@]}" >&2
}

# need_toolchain TOOLCHAIN: a rustup toolchain (minimal profile).
need_toolchain() {
    rustup run "$1" rustc --version >/dev/null 2>&1 && return 0
    say "rustup toolchain install $1 --profile minimal"
    rustup toolchain install "$1" --profile minimal >&2
}

# need_crate BINARY CRATE[@VERSION]: `cargo install --locked` when BINARY is not on PATH.
need_crate() {
    command -v "$1" >/dev/null 2>&1 && return 0
    local t=$SECONDS
    say "cargo install --locked $2"
    cargo install --locked "$2" >&2 || return 1
    say "$2 installed in $((SECONDS - t)) s"
}

# need_venv: the repo's .venv (gitignored), where the Python tools and test servers live.
need_venv() {
    [ -x "$SETUP_VENV/bin/python" ] && return 0
    say "python3 -m venv $SETUP_VENV"
    python3 -m venv "$SETUP_VENV" >&2
}

# need_pip IMPORT_OR_BINARY PACKAGE...: pip-installs PACKAGEs into .venv unless the check passes.
# IMPORT_OR_BINARY is `bin:NAME` (an executable in .venv/bin) or a Python import statement.
need_pip() {
    local check="$1"; shift
    need_venv || return 1
    case "$check" in
        bin:*) [ -x "$SETUP_VENV/bin/${check#bin:}" ] && return 0 ;;
        *) "$SETUP_VENV/bin/python" -c "$check" 2>/dev/null && return 0 ;;
    esac
    say "pip install $* (into .venv)"
    "$SETUP_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
}
