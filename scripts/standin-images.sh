#!/usr/bin/env bash
# Build a local STAND-IN for gcr.io/distroless/static-debian12 (tags :nonroot and :latest).
#
# No container registry can be reached where healthprobe is tested, so the real distroless image
# cannot be pulled. This script builds, FROM scratch, an image with the same contents from the same
# Debian packages distroless/static is made of:
#   base-files, netbase, tzdata, ca-certificates   (apt-get download + dpkg -x)
#   /etc/passwd, /etc/group with root 0, nonroot 65532, nobody 65534
#   /etc/ssl/certs/ca-certificates.crt, /tmp (1777), /home/nonroot (65532), /root (0700)
# and tags it under the real name locally, so `FROM gcr.io/distroless/static-debian12:nonroot` and
# `USER nonroot` in Dockerfile.example resolve offline. Like the real one, :nonroot runs as
# 65532:65532 with WORKDIR /home/nonroot, and :latest runs as root. Every layer is labelled
# `io.healthprobe.stand-in` so nobody mistakes it for the real image.
#
# Cached: skipped when both tags exist, unless FORCE=1.
# Environment: DOCKER (client, default docker), FORCE=1 (rebuild).
set -euo pipefail

DOCKER="${DOCKER:-docker}"
NAME="gcr.io/distroless/static-debian12"
PKGS=(base-files netbase tzdata ca-certificates)

say() { printf 'standin-images.sh: %s\n' "$*" >&2; }

if [ "${FORCE:-0}" != 1 ] \
    && "$DOCKER" image inspect "$NAME:nonroot" >/dev/null 2>&1 \
    && "$DOCKER" image inspect "$NAME:latest" >/dev/null 2>&1; then
    say "$NAME:nonroot and :latest exist (stand-ins); FORCE=1 rebuilds"
    exit 0
fi

work="$(mktemp -d /tmp/healthprobe-standin.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/ctx/rootfs" "$work/ctx/home"

say "downloading ${PKGS[*]} from Debian"
if ! (cd "$work/debs" && apt-get download "${PKGS[@]}" >/dev/null 2>&1); then
    apt-get update -qq
    (cd "$work/debs" && apt-get download "${PKGS[@]}" >/dev/null)
fi

root="$work/ctx/rootfs"
versions=()
for deb in "$work"/debs/*.deb; do
    dpkg -x "$deb" "$root"
    versions+=("$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version)")
done

# What distroless adds on top of the packages.
# The CA bundle: ca-certificates ships the certificates; its postinst (update-ca-certificates)
# would concatenate them, and distroless ships that concatenation.
mkdir -p "$root/etc/ssl/certs"
find "$root/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort | xargs cat \
    >"$root/etc/ssl/certs/ca-certificates.crt"
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
GROUP
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
mkdir -p "$root/tmp" "$root/root" "$work/ctx/home/nonroot"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
# Manuals and docs are not in distroless/static either (copyright files are; keep those).
rm -rf "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian"
find "$root/usr/share/doc" -type f ! -name copyright -delete 2>/dev/null || true

cat >"$work/ctx/Dockerfile" <<'DOCKERFILE'
# STAND-IN for gcr.io/distroless/static-debian12, built by scripts/standin-images.sh from the
# Debian packages distroless/static is made of. NOT the real image: the real one is pulled from
# gcr.io; this exists because no registry can be reached where healthprobe's tests run.
FROM scratch
ARG USER_ID=65532
ARG WORKDIR=/home/nonroot
ARG PACKAGES=""
LABEL io.healthprobe.stand-in="gcr.io/distroless/static-debian12 (local stand-in built from Debian packages by scripts/standin-images.sh; not the real image)" \
      io.healthprobe.stand-in.packages="${PACKAGES}" \
      org.opencontainers.image.description="Local stand-in for gcr.io/distroless/static-debian12, built offline from Debian bookworm packages"
COPY rootfs/ /
COPY --chown=65532:65532 home/ /home/
USER ${USER_ID}:${USER_ID}
WORKDIR ${WORKDIR}
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
DOCKERFILE

quiet_build() { # the legacy builder's deprecation notice is noise here
    DOCKER_BUILDKIT=0 "$DOCKER" build -q "$@" 2> >(grep -v -e DEPRECATED -e 'legacy builder' \
        -e BuildKit -e environment-variable -e '^ *$' >&2)
}
say "building $NAME:nonroot (stand-in; ${versions[*]})"
quiet_build --build-arg "PACKAGES=${versions[*]}" \
    --build-arg USER_ID=65532 --build-arg WORKDIR=/home/nonroot \
    -t "$NAME:nonroot" "$work/ctx" >/dev/null
say "building $NAME:latest (stand-in, runs as root like the real :latest)"
quiet_build --build-arg "PACKAGES=${versions[*]}" \
    --build-arg USER_ID=0 --build-arg WORKDIR=/ \
    -t "$NAME:latest" "$work/ctx" >/dev/null
"$DOCKER" image ls "$NAME" >&2
