# Sourced by scripts/release.sh and bench/run.sh: the toolchain the release binaries are built
# with, named here and nowhere else, and how it builds them. The caller defines `say` and has
# sourced scripts/lib/musl.sh (musl_toolchain).
#
# Release binaries are built by a pinned nightly so that std itself is compiled for size
# (`-Z build-std`, std's `optimize_for_size` feature) and without unwind tables; a contributor's
# `cargo build --release --target x86_64-unknown-linux-musl` stays on stable and still works.
#
#   rustc 1.97.0-nightly (e50aa6fba 2026-05-19) is the toolchain `nightly-2026-05-20` (a nightly
#   is named by the day it was published, one day after its commit). nightly-2026-05-19 is the
#   commit before (9eb3be26b) and has no musl rust-std to download.
NIGHTLY=nightly-2026-05-20

# `-C force-unwind-tables=no` is worth ~210 KB once std is rebuilt (with the prebuilt std it
# changes nothing). Not `-C panic=immediate-abort`: that removes the panic hook, and a panic must
# still exit 1 with one line (DESIGN.md), not end with a signal.
# `-Z location-detail=none` drops the file, line and column of every panic location (~2,000 in
# the full binary, std's and the crates' file paths among them): 65 KB of the full binary
# (1,628,592 -> 1,563,056 bytes stripped, 2026-12-01). The panic hook then prints its one line
# without an `at FILE:LINE` (src/cli.rs); a contributor's stable build keeps the locations.
# `-C linker-features=+lld -C link-self-contained=+linker`: the C driver links with the
# toolchain's rust-lld, whose --symbol-ordering-file scripts/lib/hot-link.sh uses (see
# nightly_linker below).
NIGHTLY_RUSTFLAGS=(-C force-unwind-tables=no -Z location-detail=none
    -Z unstable-options -C linker-features=+lld -C link-self-contained=+linker)
# Not -z noseparate-code: it would save ~7 KB of page padding by mapping the read-only data
# (ring's tables, webpki's roots) executable with the code.
# The same as `-Z build-std=std,panic_abort -Z build-std-features=optimize_for_size`, as
# environment (cargo reads [unstable] keys from CARGO_UNSTABLE_*).
NIGHTLY_ENV=(CARGO_UNSTABLE_BUILD_STD=std,panic_abort CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size)

# nightly_toolchain: installs $NIGHTLY (minimal profile) and its rust-src when missing.
nightly_toolchain() {
    if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
        say "installing rust toolchain $NIGHTLY (rustup toolchain install $NIGHTLY --profile minimal)"
        rustup toolchain install "$NIGHTLY" --profile minimal >&2
    fi
    rustup component list --installed --toolchain "$NIGHTLY" 2>/dev/null | grep -qx rust-src \
        || { say "adding rust-src to $NIGHTLY"; rustup component add rust-src --toolchain "$NIGHTLY" >&2; }
}

# nightly_target TRIPLE: readies TRIPLE for $NIGHTLY. build-std compiles std from rust-src; from
# the target's rust-std it needs only lib/self-contained (musl's libc.a, crt*.o, libunwind.a).
# When $NIGHTLY's rust-std for TRIPLE cannot be had (aarch64-unknown-linux-musl is not published
# for every nightly), that directory is copied from the default toolchain, which
# musl_toolchain has given the target: its files are the same bytes in every Rust release since
# musl 1.2.5 (1.95.0, stable and nightly-2026-05-20 compared equal for x86_64).
nightly_target() {
    local sc="lib/rustlib/$1/lib/self-contained" nsys dsys
    nsys="$(rustc "+$NIGHTLY" --print sysroot)"
    [ -f "$nsys/$sc/libc.a" ] && return 0
    say "adding rust target $1 to $NIGHTLY"
    rustup target add "$1" --toolchain "$NIGHTLY" >/dev/null 2>&1 && [ -f "$nsys/$sc/libc.a" ] && return 0
    dsys="$(rustup run "$(rustup default | cut -d' ' -f1)" rustc --print sysroot)"
    [ -f "$dsys/$sc/libc.a" ] || { say "no $sc in $dsys either"; return 1; }
    say "$NIGHTLY has no rust-std for $1: using $dsys/$sc (musl's C runtime only)"
    mkdir -p "$nsys/$sc"
    cp -p "$dsys/$sc"/* "$nsys/$sc/"
}

# nightly_flags DIR: the rustflags of a release build, one a line: NIGHTLY_RUSTFLAGS, then
# - the --remap-path-prefix for std's sources (std's panic locations embed them): rust-src lives
#   in the user's RUSTUP_HOME; it becomes /rustc/COMMIT, the path a prebuilt std names;
# - no libunwind: nothing unwinds (panic=abort, std included) and the panic hook prints no
#   backtrace, but std's default hook, still linked, can capture one, and that links all of
#   libunwind (~46 KB). `--cfg healthprobe_no_unwinder` makes src/main.rs define the two
#   functions it calls (an empty backtrace), and an empty libunwind.a in DIR, searched before the
#   toolchain's, answers the `-lunwind` of std's unwind crate.
nightly_flags() {
    local sysroot hash
    sysroot="$(rustc "+$NIGHTLY" --print sysroot)"
    hash="$(rustc "+$NIGHTLY" -vV | sed -n 's/^commit-hash: //p')"
    sysroot="$(cd "$sysroot" && pwd -P)"
    mkdir -p "$1" && rm -f "$1/libunwind.a" && ar rc "$1/libunwind.a"
    printf '%s\n' "${NIGHTLY_RUSTFLAGS[@]}" "--remap-path-prefix=$sysroot/lib/rustlib/src/rust=/rustc/$hash" \
        --cfg healthprobe_no_unwinder -L "native=$1"
}

# nightly_linker TRIPLE: links TRIPLE's release binary through scripts/lib/hot-link.sh (the code
# the common checks run placed first: a plain HTTP check's peak RSS 1.46 MB -> under 1 MB), with
# the C driver the target had (CARGO_TARGET_<TRIPLE>_LINKER, else cc) as the real one.
nightly_linker() {
    local var
    var="CARGO_TARGET_$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')_LINKER"
    case "${!var:-}" in
        */hot-link.sh) ;;
        "") export HEALTHPROBE_LINK_CC=cc ;;
        *) export HEALTHPROBE_LINK_CC="${!var}" ;;
    esac
    export "$var=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/hot-link.sh"
}
