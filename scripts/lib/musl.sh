# Sourced by scripts/dist.sh and scripts/release.sh: readies a static musl build for one arch.
# What is installed is listed once, in scripts/setup.sh (groups build and arm64).

# musl_toolchain ARCH: readies the C compiler (ring has C code), linker and rust target for
# ARCH (amd64 or arm64) and sets `triple` to its target triple; returns 1 for another ARCH.
musl_toolchain() {
    local here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
    case "$1" in
        amd64)
            triple=x86_64-unknown-linux-musl
            "$here/setup.sh" build
            ;;
        arm64)
            triple=aarch64-unknown-linux-musl
            "$here/setup.sh" arm64
            export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
            export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
            ;;
        *) return 1 ;;
    esac
}
