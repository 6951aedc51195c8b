#!/usr/bin/env bash
# Runs the README's test command (scripts/test.sh) the way a newcomer would on a fresh machine:
# in a new Debian 12 root (debootstrap, minbase + ca-certificates) that holds nothing else but
# rustup's stable toolchain, with a fresh clone of this commit and an empty ~/.cargo registry.
# Prints the wall time of each step. Root only (debootstrap, chroot, mounts).
#
#   scripts/fresh-root.sh [DIR]     (default /var/tmp/healthprobe-fresh-root; made anew)
#
# Environment: MIRROR (default the host's deb.debian.org), KEEP_ROOT=1 (keep DIR afterwards),
#   TEST_ENV (extra VAR=VALUE words for the test command, e.g. "FUZZ_SECONDS=10").
# The Docker engine runs inside the root (dockerd needs /proc, /sys with its cgroups, /dev and
# /run, all mounted here); the host must not run another engine on /var/run/docker.sock.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "fresh-root.sh: run as root" >&2; exit 1; }

DIR="${1:-/var/tmp/healthprobe-fresh-root}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
TOOLCHAIN="$(rustc --version | awk '{print $2}')"
COMMIT="$(git rev-parse HEAD)"
T0=$SECONDS
step() { printf '\n=== fresh-root: %s (t=%ds)\n' "$*" "$((SECONDS - T0))" >&2; }
took() { printf '=== fresh-root: %s took %ds\n' "$1" "$(($SECONDS - $2))" >&2; }

mounts=()
cleanup() {
    local m
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        m="${mounts[$i]}"
        umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    [ "${KEEP_ROOT:-0}" = 1 ] || rm -rf --one-file-system "$DIR"
}
trap cleanup EXIT

step "debootstrap bookworm (minbase + ca-certificates) into $DIR"
t=$SECONDS
rm -rf --one-file-system "$DIR"
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap; }
debootstrap --variant=minbase --include=ca-certificates bookworm "$DIR" "$MIRROR" >"$DIR.debootstrap.log" 2>&1 \
    || { tail -n 20 "$DIR.debootstrap.log" >&2; exit 1; }
took debootstrap "$t"

mount_in() { # mount_in SRC TARGET [mount args...]
    local src=$1 dst="$DIR$2"; shift 2
    mkdir -p "$dst"
    mount "$@" "$src" "$dst"
    mounts+=("$dst")
}
# The root itself a mount point, as a machine's / is: dockerd makes `/` private inside its mount
# namespace (`remount /, flags: 0x84000: invalid argument` in a plain directory), and so do the
# tests' `unshare -m` cases.
mount --bind "$DIR" "$DIR"
mount --make-private "$DIR"
mounts+=("$DIR")
mount_in proc /proc -t proc
mount_in /sys /sys --rbind
mount --make-rslave "$DIR/sys"
mount_in /dev /dev --rbind
mount --make-rslave "$DIR/dev"
mount_in tmpfs /run -t tmpfs
cp /etc/resolv.conf "$DIR/etc/resolv.conf"
# The workplace's own network set-up comes along, as a fresh machine of it has it too: registries
# are reached through its egress, whose CA certificates live in /usr/local/share/ca-certificates,
# with pip.conf and the SSL_*/PIP_CERT variables pointing at the bundle. Nothing else is copied.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$DIR/usr/local/share/ca-certificates/"
    chroot "$DIR" update-ca-certificates >/dev/null 2>&1
fi
[ ! -f /etc/pip.conf ] || cp /etc/pip.conf "$DIR/etc/pip.conf"
net_env=()
for v in SSL_CERT_FILE SSL_CERT_DIR PIP_CERT REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO \
    CARGO_HTTP_CAINFO RUSTUP_AUTO_INSTALL http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [ -z "${!v:-}" ] || net_env+=("$v=${!v}")
done

step "rustup: stable $TOOLCHAIN, minimal profile (rustup's toolchain is all the root gets besides Debian)"
t=$SECONDS
install -m 0755 "$(command -v rustup)" "$DIR/usr/local/bin/rustup-init"
chroot "$DIR" env -i HOME=/root "${net_env[@]}" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /usr/local/bin/rustup-init -y -q --profile minimal --default-toolchain "$TOOLCHAIN" >&2
took rustup "$t"

step "fresh clone of $COMMIT"
git clone -q --no-local "$PWD" "$DIR/root/healthprobe"
git -C "$DIR/root/healthprobe" checkout -q --detach "$COMMIT"

step "the README's test command: scripts/test.sh"
t=$SECONDS
rc=0
# shellcheck disable=SC2086
chroot "$DIR" env -i HOME=/root CI=true HEALTHPROBE_REQUIRE_DOCKER=1 "${net_env[@]}" \
    PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ${TEST_ENV:-} \
    bash -c 'cd /root/healthprobe && scripts/test.sh' || rc=$?
took "scripts/test.sh (exit $rc)" "$t"
step "done: exit $rc"
exit "$rc"
