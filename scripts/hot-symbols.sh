#!/usr/bin/env bash
# Writes scripts/lib/hot-symbols.txt: the functions the common checks run, in the order the
# release linker (scripts/lib/hot-link.sh) places them first in the binary.
#
#   scripts/hot-symbols.sh
#
# Builds the x86_64 release binaries (scripts/release.sh, full then slim) and keeps each one's
# copy from before stripping (scripts/lib/hot-link.sh: HEALTHPROBE_LINK_UNSTRIPPED), runs it
# under callgrind (`--demangle=no`, `env -i`) for each check below against loopback servers, and
# lists every function each run entered: the full binary's first check's first, then what each
# further check (and the first again from a sealed copy), and then the slim binary, adds. Names
# are blanked as hot-link.sh blanks them, so that the list outlives a toolchain or dependency
# update; rerun this when a change moves the hot path (bench/run.sh shows the peak RSS it buys).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'hot-symbols: %s\n' "$*" >&2; }
command -v valgrind >/dev/null || scripts/setup.sh test

work="$(mktemp -d)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

for variant in full slim; do
    say "building the $variant x86_64 release binary, keeping its symbols (scripts/release.sh)"
    touch src/main.rs  # so that cargo links again, and the linker keeps the copy
    HEALTHPROBE_LINK_UNSTRIPPED="$work/healthprobe-$variant" \
        scripts/release.sh --out "$work/set" --arch amd64 --variant "$variant" --no-image --no-measure >/dev/null
done

# Loopback servers: HTTP (200 on /health, 503 elsewhere; also the tcp:// target) and one that
# accepts and never answers (the timeout path).
python3 - "$work/ports" <<'EOF' &
import http.server, socket, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        code, body = (200, b"ok") if self.path == "/health" else (503, b"down")
        self.send_response_only(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
silent = socket.socket(); silent.bind(("127.0.0.1", 0)); silent.listen(16)
open(sys.argv[1], "w").write(f"{srv.server_address[1]} {silent.getsockname()[1]}\n")
threading.Thread(target=srv.serve_forever, daemon=True).start()
held = []
while True:
    held.append(silent.accept())
EOF
pids+=($!)
for _ in $(seq 50); do [ -s "$work/ports" ] && break; sleep 0.1; done
read -r http silent <"$work/ports"

checks=(
    "http://127.0.0.1:$http/health"
    "http://127.0.0.1:$http/down"
    "tcp://127.0.0.1:$http"
    "tcp://127.0.0.1:1"
    "-t 1s http://127.0.0.1:$silent/health"
    "file:///etc/hostname"
    "--version"
)
: >"$work/all"
for variant in full slim; do
    for c in "${checks[@]}"; do
        # shellcheck disable=SC2086  # each check is its own words
        env -i valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg" \
            "$work/healthprobe-$variant" $c >/dev/null 2>&1 || true
        grep -oE '^c?fn=\([0-9]+\) .+' "$work/cg" | sed -E "s/^c?fn=\([0-9]+\) //; s/'[0-9]+$//" \
            | grep -v -e '^0x' -e '^(below main)$' | sort -u >>"$work/all"
        say "$variant $c: $(sort -u "$work/all" | wc -l) functions so far"
    done
    # The first check again from a sealed copy (README "Sealed probes"): the slot's decoder and
    # the sealed run's own path, placed beside the rest.
    "$work/healthprobe-$variant" seal "$work/sealed-$variant" "${checks[0]}" >/dev/null
    env -i valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg" \
        "$work/sealed-$variant" >/dev/null 2>&1 || true
    grep -oE '^c?fn=\([0-9]+\) .+' "$work/cg" | sed -E "s/^c?fn=\([0-9]+\) //; s/'[0-9]+$//" \
        | grep -v -e '^0x' -e '^(below main)$' | sort -u >>"$work/all"
    say "$variant sealed ${checks[0]}: $(sort -u "$work/all" | wc -l) functions so far"
done

# callgrind names musl's __libc_start_main "(below main)", and its assembly functions (no symbol
# size) by address: those every check runs are named here.
printf '%s\n' __libc_start_main memcpy memset memmove >>"$work/all"

out=scripts/lib/hot-symbols.txt
{
    echo "# The functions the common checks run, placed first by scripts/lib/hot-link.sh."
    echo "# Written by scripts/hot-symbols.sh ($(git rev-parse --short HEAD)); crate hashes and back-references blanked."
    sed -E 's/Cs[0-9A-Za-z]+_/Cs_/g; s/B[0-9A-Za-z]*_/B_/g; s/\.[0-9]+$//' "$work/all" | awk '!seen[$0]++'
} >"$out"
say "$out: $(grep -vc '^#' "$out") functions"
