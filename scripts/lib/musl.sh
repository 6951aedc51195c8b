# Sourced by scripts/dist.sh and scripts/release.sh: what a static musl build needs, installed
# when missing. The caller defines `say`.

apt_updated=0
need_deb() { # need_deb COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    say "installing $2 from Debian (for $1)"
    [ "$apt_updated" = 1 ] || { apt-get update -qq; apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

need_target() {
    rustup target list --installed 2>/dev/null | grep -qx "$1" && return 0
    say "adding rust target $1"
    rustup target add "$1" >&2
}

# musl_toolchain ARCH: readies the C compiler (ring has C code), linker and rust target for
# ARCH (amd64 or arm64) and sets `triple` to its target triple; returns 1 for another ARCH.
musl_toolchain() {
    case "$1" in
        amd64)
            triple=x86_64-unknown-linux-musl
            need_deb musl-gcc musl-tools
            ;;
        arm64)
            triple=aarch64-unknown-linux-musl
            need_deb aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
            export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
            export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
            ;;
        *) return 1 ;;
    esac
    need_target "$triple"
}
