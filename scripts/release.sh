#!/usr/bin/env bash
# Build the healthprobe release set, reproducibly, with one command:
#
#   scripts/release.sh [--out DIR] [--arch amd64|arm64]... [--variant full|slim]...
#                      [--image | --no-image] [--no-measure] [--stable]
#
# writes into DIR (default target/release-set):
#   healthprobe-VERSION-x86_64-linux-musl       static, `cargo auditable build --release`, all
#                                                features (cli, tls, grpc)
#   healthprobe-VERSION-slim-x86_64-linux-musl  the slim variant: `--no-default-features
#                                                --features cli` (http, tcp, unix, file; no TLS,
#                                                no gRPC)
#   healthprobe-VERSION[-slim]-aarch64-linux-musl  the same two for AArch64
#   SHA256SUMS                                 `sha256sum` format: `sha256sum -c SHA256SUMS`
#   TOOLCHAIN                                  the rustc that built them (`rustc -vV`)
#   licenses/                                  LICENSE-MIT, LICENSE-APACHE, THIRD-PARTY-LICENSES.md
#   context/                                   the root Dockerfile's build context (dist/...)
# and, when a Docker engine answers (or with --image), the images from the root Dockerfile:
#   IMAGE:VERSION-amd64, IMAGE:VERSION-arm64   (IMAGE default ghcr.io/healthprobe/healthprobe)
#   IMAGE:VERSION-slim-amd64, ...-slim-arm64    (--build-arg VARIANT=-slim)
#
# The toolchain is the pinned nightly named in scripts/lib/nightly.sh (installed when missing),
# with std rebuilt for size: `-Z build-std=std,panic_abort -Z build-std-features=optimize_for_size
# -C force-unwind-tables=no`. --stable builds with the default toolchain and its prebuilt std
# instead (bigger; for comparison).
# The binaries are compiled first; the image only copies them. A multi-arch manifest needs buildx
# and a registry: the release workflow (.github/workflows/release.yml) pushes that one.
#
# Reproducible: two builds of the same commit in different directories give byte-identical
# binaries (scripts/check-release.sh proves it). The flags that make it so:
#   --remap-path-prefix CHECKOUT=/build, CARGO_HOME=/cargo, TARGET_DIR=/target, and the nightly's
#   rust-src (in RUSTUP_HOME) =/rustc/COMMIT (panic locations and any include!(OUT_DIR) path name
#   no directory of the build machine nor the user's home), `--locked`,
#   SOURCE_DATE_EPOCH = the commit's time, and the release profile (strip, lto, codegen-units=1).
# They go in CARGO_ENCODED_RUSTFLAGS, which replaces .cargo/config.toml's target rustflags, so
# the musl flags from there are repeated here: -C relocation-model=static -C target-feature=+crt-static.
#
# It also measures what `cargo auditable` adds: a plain `cargo build` with the same flags
# (x86_64 only; --no-measure skips it) and prints the difference in bytes.
#
# Environment: TARGET_DIR (cargo target dir, default target/release-build), IMAGE (image name),
#   DOCKER (client), EXTRA_RUSTFLAGS (appended, space-separated).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd -P)"
OUT=target/release-set
ARCHES=()
IMAGE_MODE=auto
MEASURE=1
VARIANTS=()
STABLE=0
IMAGE="${IMAGE:-ghcr.io/healthprobe/healthprobe}"
DOCKER="${DOCKER:-docker}"

usage() { sed -n '2,42p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --out=*) OUT="${1#--out=}"; shift ;;
        --arch) ARCHES+=("$2"); shift 2 ;;
        --image) IMAGE_MODE=1; shift ;;
        --no-image) IMAGE_MODE=0; shift ;;
        --no-measure) MEASURE=0; shift ;;
        --variant) VARIANTS+=("$2"); shift 2 ;;
        --stable) STABLE=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "release.sh: unknown argument $1" >&2; usage >&2; exit 1 ;;
    esac
done
[ "${#ARCHES[@]}" -gt 0 ] || ARCHES=(amd64 arm64)
[ "${#VARIANTS[@]}" -gt 0 ] || VARIANTS=(full slim)

say() { printf 'release.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# --- tools -------------------------------------------------------------------------------------
# shellcheck source=scripts/lib/musl.sh
. scripts/lib/musl.sh  # the working directory is the checkout
# shellcheck source=scripts/lib/nightly.sh
. scripts/lib/nightly.sh
# TC: the toolchain of every cargo and rustc below (musl_toolchain readies the default one).
TC=()
if [ "$STABLE" = 0 ]; then
    nightly_toolchain
    TC=("+$NIGHTLY")
    export "${NIGHTLY_ENV[@]}"
fi
scripts/setup.sh auditable

# --- what is built -------------------------------------------------------------------------------
# shellcheck source=scripts/lib/version.sh
. scripts/lib/version.sh  # VERSION
[ -n "$VERSION" ] || die "no version in Cargo.toml"
COMMIT="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH="$(git log -1 --format=%ct 2>/dev/null || echo 0)"
fi
export SOURCE_DATE_EPOCH
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    say "note: the checkout has uncommitted changes to tracked files; this is not exactly commit ${COMMIT:0:12}"
fi

TARGET_DIR="${TARGET_DIR:-target/release-build}"
mkdir -p "$TARGET_DIR" "$OUT"
TARGET_DIR="$(cd "$TARGET_DIR" && pwd -P)"
OUT="$(cd "$OUT" && pwd -P)"
CARGO_HOME_DIR="$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd -P)"

# The musl flags of .cargo/config.toml (replaced by CARGO_ENCODED_RUSTFLAGS), then the
# reproducibility flags. rustc uses the last --remap-path-prefix that matches, so the target dir
# (often inside the checkout) comes after the checkout.
flags=(
    -C relocation-model=static
    -C target-feature=+crt-static
)
if [ "$STABLE" = 0 ]; then
    mapfile -t nflags < <(nightly_flags "$TARGET_DIR/no-unwinder")
    flags+=("${nflags[@]}")
fi
flags+=(
    "--remap-path-prefix=$ROOT=/build"
    "--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
    "--remap-path-prefix=$CARGO_HOME_DIR=/cargo"
    "--remap-path-prefix=$TARGET_DIR=/target"
)
# shellcheck disable=SC2206  # EXTRA_RUSTFLAGS is a space-separated list, like RUSTFLAGS
[ -z "${EXTRA_RUSTFLAGS:-}" ] || flags+=(${EXTRA_RUSTFLAGS})
CARGO_ENCODED_RUSTFLAGS="$(IFS=$'\x1f'; printf '%s' "${flags[*]}")"
export CARGO_ENCODED_RUSTFLAGS
unset RUSTFLAGS

say "healthprobe $VERSION, commit ${COMMIT:0:12}, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
say "rustc: $(rustc "${TC[@]}" --version)${TC[*]:+ (${TC[*]}, ${NIGHTLY_ENV[*]})}"
say "rustflags: ${flags[*]}"

rm -f "$OUT"/healthprobe-*-linux-musl "$OUT/SHA256SUMS"
rustc "${TC[@]}" -vV >"$OUT/TOOLCHAIN"
mkdir -p "$OUT/licenses" "$OUT/context/dist/licenses"
for f in LICENSE-MIT LICENSE-APACHE THIRD-PARTY-LICENSES.md; do
    [ -f "$f" ] && cp "$f" "$OUT/licenses/" && cp "$f" "$OUT/context/dist/licenses/"
done

is_static() { ! readelf -l "$1" 2>/dev/null | grep -q INTERP && ! readelf -d "$1" 2>/dev/null | grep -q NEEDED; }

t_all=$SECONDS
for arch in "${ARCHES[@]}"; do
    musl_toolchain "$arch" || die "unknown arch $arch (amd64|arm64)"
    [ "$STABLE" = 1 ] || nightly_target "$triple" || die "no $triple for $NIGHTLY"
    [ "$STABLE" = 1 ] || nightly_linker "$triple"
    short="${triple%%-unknown-*}-linux-musl"
    built="$TARGET_DIR/$triple/release/healthprobe"
    mkdir -p "$OUT/context/dist/linux-$arch"
    for variant in "${VARIANTS[@]}"; do
        case "$variant" in
            full) features=(); suffix="" ;;
            slim) features=(--no-default-features --features cli); suffix="-slim" ;;
            *) die "unknown variant $variant (full|slim)" ;;
        esac
        name="healthprobe-$VERSION$suffix-$short"
        cargo_args=(--release --locked --target "$triple" --target-dir "$TARGET_DIR" --bin healthprobe "${features[@]}")

        plain_size=""
        if [ "$MEASURE" = 1 ] && [ "$arch" = amd64 ]; then
            t=$SECONDS
            say "plain build (for the size comparison): cargo build ${cargo_args[*]}"
            cargo "${TC[@]}" build "${cargo_args[@]}" >&2
            plain_size="$(stat -c %s "$built")"
            say "plain build: $plain_size bytes ($((SECONDS - t)) s)"
        fi

        t=$SECONDS
        say "cargo auditable build ${cargo_args[*]}"
        cargo "${TC[@]}" auditable build "${cargo_args[@]}" >&2
        is_static "$built" || die "$built is not a static executable"
        cp "$built" "$OUT/$name"
        size="$(stat -c %s "$OUT/$name")"
        say "$name: $size bytes ($((SECONDS - t)) s)"
        if [ -n "$plain_size" ]; then
            echo "auditable: cargo auditable adds $((size - plain_size)) bytes ($plain_size -> $size) to $name"
        fi
        cp "$OUT/$name" "$OUT/context/dist/linux-$arch/healthprobe$suffix"
    done
done

now="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
[ "$now" = "$COMMIT" ] || die "HEAD moved from ${COMMIT:0:12} to ${now:0:12} during the build (build.rs embeds the commit): run again"
# File times from the commit too, so the image's COPY layers do not depend on when this ran.
find "$OUT/context" "$OUT/licenses" "$OUT"/healthprobe-"$VERSION"-*-linux-musl -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$OUT" && sha256sum healthprobe-"$VERSION"-*-linux-musl >SHA256SUMS)
say "built in $((SECONDS - t_all)) s; $OUT/SHA256SUMS:"
sed 's/^/    /' "$OUT/SHA256SUMS" >&2

# --- images ------------------------------------------------------------------------------------
engine_answers() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }
if [ "$IMAGE_MODE" = auto ]; then
    if engine_answers; then IMAGE_MODE=1; else IMAGE_MODE=0; say "no Docker engine answers: no images (--image makes that an error)"; fi
fi
if [ "$IMAGE_MODE" = 1 ]; then
    engine_answers || die "--image: no Docker engine answers (scripts/dockerd.sh start)"
    # BuildKit sets TARGETARCH from --platform. A client without buildx can still use BuildKit
    # through DOCKER_BUILDKIT=1 (Debian's docker.io client has it built in).
    bk_docker="$DOCKER"
    "$DOCKER" buildx version >/dev/null 2>&1 || { [ -x /usr/bin/docker ] && bk_docker=/usr/bin/docker; }
    for arch in "${ARCHES[@]}"; do
        for variant in "${VARIANTS[@]}"; do
            suffix=""; [ "$variant" = slim ] && suffix="-slim"
            tag="$IMAGE:$VERSION$suffix-$arch"
            say "image $tag (linux/$arch) from the root Dockerfile"
            DOCKER_BUILDKIT=1 "$bk_docker" build -q --platform "linux/$arch" \
                --build-arg "VERSION=$VERSION" --build-arg "REVISION=$COMMIT" --build-arg "VARIANT=$suffix" \
                -f "$ROOT/Dockerfile" -t "$tag" "$OUT/context" >/dev/null
            echo "image: $tag $("$DOCKER" image inspect -f '{{.Os}}/{{.Architecture}} {{.Size}} bytes {{.Id}}' "$tag")"
        done
    done
fi

echo "release set: $OUT"
find "$OUT" -maxdepth 1 -type f -printf "    %f %s bytes\n" | sort
