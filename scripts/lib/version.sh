#!/usr/bin/env bash
# healthprobe's version, read from Cargo.toml here and nowhere else: scripts/release.sh,
# scripts/check-release.sh, bench/run.sh and the release workflow all take it from this file.
#
#   . scripts/lib/version.sh    sets VERSION (empty when Cargo.toml's [package] has none)
#   scripts/lib/version.sh      prints it; exits 1 when there is none

# healthprobe_version: the `version` of the [package] table of the Cargo.toml beside scripts/.
healthprobe_version() {
    sed -n '/^\[package\]/,/^\[/ s/^version *= *"\(.*\)"/\1/p' \
        "$(dirname "${BASH_SOURCE[0]}")/../../Cargo.toml" | head -n 1
}

# shellcheck disable=SC2034  # read by the scripts that source this file
VERSION="$(healthprobe_version)"

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    [ -n "$VERSION" ] || { echo "version.sh: no version in Cargo.toml's [package]" >&2; exit 1; }
    printf '%s\n' "$VERSION"
fi
