#!/usr/bin/env bash
# Build the static healthprobe binaries and stage the build context the root Dockerfile copies from:
#
#   $OUT/dist/linux-amd64/healthprobe   $OUT/dist/linux-arm64/healthprobe   $OUT/dist/licenses/*
#
#   scripts/dist.sh [amd64] [arm64]     # default: amd64
#
# With SLIM=1, also the slim variant ($OUT/dist/linux-ARCH/healthprobe-slim, `--no-default-features
# --features cli`), which the Dockerfile copies with --build-arg VARIANT=-slim. It is built in a
# target dir of its own, so that TARGET_DIR/TRIPLE/release/healthprobe stays the full binary.
#
# Then:  DOCKER_BUILDKIT=0 docker build -f Dockerfile --build-arg TARGETARCH=amd64 \
#            -t ghcr.io/healthprobe/healthprobe:0.1 "$OUT"
#
# Environment:
#   OUT         where to stage (default target/docker; printed on stdout at the end)
#   TARGET_DIR  cargo target dir (default target)
#   SLIM_TARGET_DIR  cargo target dir of the slim variant (default TARGET_DIR/slim)
#   EXTRA_BINS  more cargo target selectors to build and stage beside healthprobe, e.g.
#               "--example app" (the test uses this for the demo app)
# arm64 needs `rustup target add aarch64-unknown-linux-musl` and Debian's gcc-aarch64-linux-gnu
# (the C compiler and linker for ring; .cargo/config.toml names the linker).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT="${OUT:-target/docker}"
TARGET_DIR="${TARGET_DIR:-target}"
SLIM_TARGET_DIR="${SLIM_TARGET_DIR:-$TARGET_DIR/slim}"
arches=("$@")
[ "${#arches[@]}" -gt 0 ] || arches=(amd64)

say() { printf 'dist.sh: %s\n' "$*" >&2; }

# shellcheck source=scripts/lib/musl.sh
. scripts/lib/musl.sh  # the working directory is the checkout

mkdir -p "$OUT/dist/licenses"
for f in LICENSE LICENSE-MIT LICENSE-APACHE COPYING NOTICE; do
    [ -f "$f" ] && cp "$f" "$OUT/dist/licenses/"
done

for arch in "${arches[@]}"; do
    musl_toolchain "$arch" || { say "unknown arch $arch (amd64|arm64)"; exit 1; }
    # The published binary is built on its own, exactly as `cargo build --release --bin healthprobe`
    # builds it (building it together with examples would unify dev-dependency features into it).
    cargo build --release --target "$triple" --target-dir "$TARGET_DIR" --bin healthprobe >&2
    if [ -n "${EXTRA_BINS:-}" ]; then
        # shellcheck disable=SC2086  # EXTRA_BINS is a list of cargo selectors
        cargo build --release --target "$triple" --target-dir "$TARGET_DIR" ${EXTRA_BINS} >&2
    fi
    mkdir -p "$OUT/dist/linux-$arch"
    cp "$TARGET_DIR/$triple/release/healthprobe" "$OUT/dist/linux-$arch/healthprobe"
    if [ "${SLIM:-0}" = 1 ]; then
        cargo build --release --target "$triple" --target-dir "$SLIM_TARGET_DIR" --bin healthprobe \
            --no-default-features --features cli >&2
        cp "$SLIM_TARGET_DIR/$triple/release/healthprobe" "$OUT/dist/linux-$arch/healthprobe-slim"
    fi
    for sel in ${EXTRA_BINS:-}; do
        case "$sel" in
            --*) ;;
            *) src="$TARGET_DIR/$triple/release/$sel"
               [ -f "$src" ] || src="$TARGET_DIR/$triple/release/examples/$sel"
               cp "$src" "$OUT/dist/linux-$arch/$sel" ;;
        esac
    done
    say "staged $OUT/dist/linux-$arch: $(find "$OUT/dist/linux-$arch" -type f -printf "%f ")"
done
printf '%s\n' "$OUT"
