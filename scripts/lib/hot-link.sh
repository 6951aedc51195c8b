#!/usr/bin/env bash
# The linker of the release builds (scripts/lib/nightly.sh: nightly_linker): puts the code the
# common checks run next to each other, so that a check faults in fewer pages of the binary.
#
# The kernel maps a file-backed page with its neighbours in the page cache (fault-around, 64 KB),
# so a check that runs 200 KB of code spread over 1.1 MB of text has all 1.1 MB resident: the
# full binary's plain HTTP check peaked at 1.46 MB RSS, of which 1.1 MB was text. With the
# functions it runs placed first, the same check touches a few hundred KB.
#
# The functions are listed in scripts/lib/hot-symbols.txt (scripts/hot-symbols.sh writes it from
# callgrind runs) with what changes from build to build blanked: the crate hashes of Rust's v0
# symbol names (`Cs_`: they depend on the toolchain, the target, the features, the profile and
# the crate's version), the back-references (`B_`: offsets that move with the hashes) and LLVM's
# `.N` suffixes of local copies. So this links twice, both times keeping the symbols: once to
# learn this build's names, then with rust-lld's --symbol-ordering-file naming them in the list's
# order. A stripped build (rustc's `-Wl,--strip-all`) is stripped afterwards with the toolchain's
# rust-objcopy (--strip-unneeded, which keeps cargo auditable's .dep-v0): under --strip-all
# rust-lld drops the local symbols it orders by, and orders nothing. The inputs alone decide the
# order, so the build stays reproducible; a function the list names and the build lacks is
# skipped.
#
# Called by rustc as its C compiler driver (`-C linker`, via CARGO_TARGET_<TRIPLE>_LINKER); the
# real driver is $HEALTHPROBE_LINK_CC (default cc), which rustc's `-C linker-features=+lld` makes
# run rust-lld. HEALTHPROBE_LINK_LOG=FILE appends how many functions were ordered;
# HEALTHPROBE_LINK_UNSTRIPPED=FILE keeps a copy of the binary before stripping.
set -euo pipefail
cc="${HEALTHPROBE_LINK_CC:-cc}"
list="$(dirname "$0")/hot-symbols.txt"

out="" keep=() prev="" strip=0 bdir=""
for a in "$@"; do
    [ "$prev" = -o ] && out="$a"
    prev="$a"
    case "$a" in
        -s | -Wl,-s | -Wl,--strip-all) strip=1 ;;
        *) keep+=("$a") ;;
    esac
    case "$a" in -B*/gcc-ld) bdir="${a#-B}" ;; esac  # rustc's rust-lld: <sysroot>/lib/rustlib/<host>/bin/gcc-ld
done
[ -n "$out" ] && [ -s "$list" ] || exec "$cc" "$@"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
first=("${keep[@]}")
for i in "${!first[@]}"; do [ "${first[$i]}" = "$out" ] && [ "${first[$((i - 1))]:-}" = -o ] && first[i]="$tmp/first"; done
"$cc" "${first[@]}"

# `readelf -Ws`: every function symbol of the first link (readelf reads any architecture's ELF),
# in address order, never sorted by name: the crate hashes in the names differ between checkouts
# (the root crate's is its path), and a name order would follow them where names blank alike.
# Each name is paired with its blanked form; the list's order then takes every name of a blanked
# form (LLVM's local copies `f.12` and `f.345` are both `f`).
readelf -Ws --wide "$tmp/first" | awk '$4 == "FUNC" && $8 != "" { print $2, $8 }' | sort -s -k1,1 \
    | awk '!seen[$2]++ { print $2 }' | sed -E 'h; s/Cs[0-9A-Za-z]+_/Cs_/g; s/B[0-9A-Za-z]*_/B_/g; s/\.[0-9]+$//; G; s/\n/ /' >"$tmp/names"
awk 'NR == FNR { name[$1] = ($1 in name) ? name[$1] "\n" $2 : $2; next } ($1 in name) { print name[$1]; delete name[$1] }' \
    "$tmp/names" "$list" >"$tmp/order"
if [ -n "${HEALTHPROBE_LINK_LOG:-}" ]; then
    echo "hot-link: $out: $(wc -l <"$tmp/order") functions ordered by $(grep -vc '^#' "$list") names" >>"$HEALTHPROBE_LINK_LOG"
    cp "$tmp/order" "$HEALTHPROBE_LINK_LOG.$$.order"; cp "$tmp/names" "$HEALTHPROBE_LINK_LOG.$$.names"
fi
# No build-id: rust-lld would hash the file with its symbol table, whose names carry the
# checkout's path hash, and the note would differ between two builds of one commit after the
# symbols are stripped. The release binaries are named by their sha256 (SHA256SUMS) instead.
"$cc" "${keep[@]}" "-Wl,--symbol-ordering-file=$tmp/order" -Wl,--no-warn-symbol-ordering -Wl,--build-id=none
# scripts/hot-symbols.sh profiles this copy: the same build, with its symbols.
[ -z "${HEALTHPROBE_LINK_UNSTRIPPED:-}" ] || cp "$out" "$HEALTHPROBE_LINK_UNSTRIPPED"
if [ "$strip" = 1 ]; then
    [ -n "$bdir" ] || { echo "hot-link: no -B.../gcc-ld among the arguments: cannot find rust-objcopy to strip" >&2; exit 1; }
    LD_LIBRARY_PATH="$bdir/../../../..${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$bdir/../rust-objcopy" --strip-unneeded "$out"
fi
