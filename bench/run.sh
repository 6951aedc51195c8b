#!/usr/bin/env bash
# Benchmark of healthprobe, both release variants (full and slim), beside the tools a container
# would use instead.
#
# Usage: bench/run.sh            (from anywhere; it works in the repository root)
#        bench/run.sh --help
#
# Starts loopback servers (plain HTTP, HTTPS with an ECDSA P-256 certificate from a private CA,
# TLS 1.3, and a TCP listener), runs one health check per tool against each, and prints a
# markdown table to stdout: user-space instructions (valgrind callgrind, repeatable run to run),
# peak RSS (/usr/bin/time %M), median wall time over BENCH_RUNS runs, and binary sizes.
# Progress goes to stderr. Every healthprobe run must exit 0, or the bench fails.
#
# healthprobe is the release set, built by scripts/release.sh exactly as it is published (pinned
# nightly, build-std; the toolchain and musl set-up are that script's, scripts/lib/). The gRPC
# peer is the tests' own server (tests/grpc/health_server.py) in the tests' venv
# (scripts/grpc-venv.sh).
#
# Environment:
#   HEALTHPROBE_BIN=PATH  benchmark this binary instead of building the release set (e.g.
#                         /bin/true to test the plumbing); HEALTHPROBE_SLIM_BIN=PATH the slim one
#                         (no slim rows without it)
#   BENCH_RUNS=N          wall-time runs per row (default 25, at least 20)
#   BENCH_SIZES=0         skip the aarch64 builds for the size table
#   BENCH_AARCH64=0       the same
#   BENCH_GRPC=0          skip the gRPC rows (they need the tests' Python venv with grpcio,
#                         scripts/grpc-venv.sh, and about 30 s for the Python peer under valgrind)
#   BENCH_PROFILE=1       also build the release set unstripped (same code, with symbols) and print
#                         callgrind_annotate's top entries for each healthprobe check
#   BENCH_INSTALL=0       never install packages (fail if something is missing)
#   BENCH_STRICT=1        exit 1 when a size or cost budget is missed
#   BENCH_TARGET_DIR=DIR  where the release sets and cargo target dirs go (default:
#                         $CARGO_TARGET_DIR or target)
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 0
fi

cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-25}
SIZES=${BENCH_SIZES:-1}
AARCH64=${BENCH_AARCH64:-1}
PROFILE=${BENCH_PROFILE:-0}
GRPC=${BENCH_GRPC:-1}
INSTALL=${BENCH_INSTALL:-1}
STRICT=${BENCH_STRICT:-0}
TD=${BENCH_TARGET_DIR:-${CARGO_TARGET_DIR:-target}}
X86=x86_64-unknown-linux-musl
ARM=aarch64-unknown-linux-musl
((RUNS >= 20)) || { echo "bench: BENCH_RUNS must be at least 20" >&2; exit 1; }

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: FAILED: %s\n' "$*" >&2; exit 1; }
NOTES=()
note() { NOTES+=("$*"); log "note: $*"; }
START_NS=$(date +%s%N)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/healthprobe-bench.XXXXXX")
SERVER_PID="" GRPC_SERVER_PIDS=()
cleanup() {
    local p
    for p in "${GRPC_SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# ---------------------------------------------------------------------------------------------
# 1. Tools
# ---------------------------------------------------------------------------------------------
# What the bench runs (valgrind, GNU time, curl, GNU wget, busybox, openssl, python3) is
# scripts/setup.sh's group bench; musl-tools, the aarch64 cross compiler and the toolchains come
# with scripts/release.sh (scripts/lib/).
if [[ "$INSTALL" == 1 ]]; then
    scripts/setup.sh bench >&2 || die "scripts/setup.sh bench failed"
else
    SETUP_NO_INSTALL=1 scripts/setup.sh bench >&2 || die "missing packages (BENCH_INSTALL=0; scripts/setup.sh bench installs them)"
fi

PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
REAL_OPENSSL=$(command -v openssl)

# ---------------------------------------------------------------------------------------------
# 2. Builds: the release set, as published (scripts/release.sh; one build at a time: 2 cores)
# ---------------------------------------------------------------------------------------------
BUILD_S=0
# shellcheck source=scripts/lib/version.sh
. scripts/lib/version.sh # VERSION
[[ -n $VERSION ]] || die "no version in Cargo.toml"
release_set() { # LABEL OUT_DIR ARGS...: scripts/release.sh --out OUT_DIR ARGS...
    local t0 rc=0
    t0=$(date +%s)
    log "building $1: scripts/release.sh --out $2 ${*:3}"
    TARGET_DIR="$TD/release-build${PROFILE_SUFFIX:-}" scripts/release.sh --out "$2" --no-image --no-measure "${@:3}" >&2 || rc=$?
    BUILD_S=$((BUILD_S + $(date +%s) - t0))
    return $rc
}

SIZE_ROWS=() # "target|variant|path"
HP_SLIM=
if [[ -n "${HEALTHPROBE_BIN:-}" ]]; then
    HP=$HEALTHPROBE_BIN
    [[ -x $HP ]] || HP=$(command -v "$HP") || die "HEALTHPROBE_BIN=$HEALTHPROBE_BIN is not executable"
    note "healthprobe is HEALTHPROBE_BIN=$HEALTHPROBE_BIN (not built by this run)"
    SIZE_ROWS+=("given binary|as given|$HP")
    if [[ -n "${HEALTHPROBE_SLIM_BIN:-}" ]]; then
        HP_SLIM=$(realpath "$HEALTHPROBE_SLIM_BIN")
        SIZE_ROWS+=("given binary|slim, as given|$HP_SLIM")
    fi
else
    arches=(--arch amd64)
    [[ "$SIZES" == 1 && "$AARCH64" == 1 ]] && arches+=(--arch arm64)
    REL=$TD/bench-release
    release_set "the release set" "$REL" "${arches[@]}" || die "scripts/release.sh failed"
    HP=$REL/healthprobe-$VERSION-x86_64-linux-musl
    HP_SLIM=$REL/healthprobe-$VERSION-slim-x86_64-linux-musl
    [[ -x $HP && -x $HP_SLIM ]] || die "no binaries in $REL"
    for a in x86_64 aarch64; do
        for v in "" -slim; do
            f=$REL/healthprobe-$VERSION$v-$a-linux-musl
            label="full (cli, tls, grpc)"
            [[ -n $v ]] && label="slim (cli)"
            [[ -f $f ]] && SIZE_ROWS+=("$a-unknown-linux-musl|$label|$f")
        done
    done
fi
HP=$(realpath "$HP")

HP_PROF='' HP_SLIM_PROF=''
if [[ "$PROFILE" == 1 ]]; then
    if PROFILE_SUFFIX=-profile CARGO_PROFILE_RELEASE_STRIP=false \
        release_set "x86_64 unstripped (profile)" "$TD/bench-profile" --arch amd64; then
        HP_PROF=$(realpath "$TD/bench-profile/healthprobe-$VERSION-x86_64-linux-musl")
        HP_SLIM_PROF=$(realpath "$TD/bench-profile/healthprobe-$VERSION-slim-x86_64-linux-musl")
    else
        note "the unstripped profile build failed: no profiles"
    fi
fi

# ---------------------------------------------------------------------------------------------
# 3. Loopback servers and a private CA
# ---------------------------------------------------------------------------------------------
# Health checks talk to their own container: no proxy, whatever this shell has.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY

PKI=$TMP/pki
mkdir -p "$PKI"
log "making a private CA and an ECDSA P-256 server certificate in $PKI"
(
    cd "$PKI"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=healthprobe bench CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out ca.pem
    openssl ecparam -name prime256v1 -genkey -noout -out server.key
    openssl req -new -key server.key -subj "/CN=localhost" -out server.csr
    printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' 'basicConstraints=critical,CA:FALSE' \
        'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
        -extfile server.ext -out server.pem
) >/dev/null 2>"$TMP/openssl.err" || { cat "$TMP/openssl.err" >&2; die "openssl could not make the certificates"; }
CA=$PKI/ca.pem

cat >"$TMP/server.py" <<'EOF'
# Loopback servers for the benchmark: plain HTTP, HTTPS (TLS 1.3 only), HTTPS (TLS 1.2, for
# busybox's built-in TLS client), and a TCP listener that accepts and closes at once.
import http.server, os, socket, socketserver, ssl, sys, threading

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bench"
    sys_version = ""

    # One write for the whole response, and no Nagle delay: the server must not be what the
    # wall time measures.
    disable_nagle_algorithm = True

    def do_GET(self):
        body, code = (b"ok", 200) if self.path == "/health" else (b"not found", 404)
        head = ("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
                % (code, self.responses[code][0], len(body))).encode()
        self.wfile.write(head + (b"" if self.command == "HEAD" else body))
        self.wfile.flush()

    do_HEAD = do_GET

    def log_message(self, *args):
        pass

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ctx = None

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)  # no getfqdn()

    def finish_request(self, request, client_address):
        # Before the handshake too: else the session tickets wait ~40 ms for a delayed ACK.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ctx is not None:
            try:
                request = self.ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()
                return
        self.RequestHandlerClass(request, client_address, self)

class Server6(Server):
    address_family = socket.AF_INET6

def serve(ctx):
    """Listen on 127.0.0.1:<ephemeral> and, when possible, on [::1] with the same port, so that
    `localhost` costs no refused connection whichever family a client tries first."""
    s = Server(("127.0.0.1", 0), Handler)
    s.ctx = ctx
    servers = [s]
    try:
        s6 = Server6(("::1", s.server_address[1]), Handler)
        s6.ctx = ctx
        servers.append(s6)
    except OSError:
        pass
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    return s.server_address[1]

def tcp_listener():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(128)
    def loop():
        while True:
            conn, _ = ls.accept()
            conn.close()
    threading.Thread(target=loop, daemon=True).start()
    return ls.getsockname()[1]

def tls_ctx(pki, minimum, maximum=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    if ciphers:
        ctx.set_ciphers(ciphers)
    ctx.load_cert_chain(os.path.join(pki, "server.pem"), os.path.join(pki, "server.key"))
    return ctx

def main():
    pki = sys.argv[1]
    http_port = serve(None)
    https_port = serve(tls_ctx(pki, ssl.TLSVersion.TLSv1_3))
    # busybox's built-in TLS speaks TLS 1.2 only and is refused at OpenSSL's default security
    # level 2 (handshake failure); this port is for it alone.
    https12_port = serve(tls_ctx(pki, ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2,
                                 "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256:@SECLEVEL=0"))
    tcp_port = tcp_listener()
    tmp = os.path.join(pki, "ports.tmp")
    with open(tmp, "w") as f:
        f.write("%d %d %d %d\n" % (http_port, https_port, https12_port, tcp_port))
    os.rename(tmp, os.path.join(pki, "ports"))
    threading.Event().wait()

main()
EOF

cat >"$TMP/walltime.py" <<'EOF'
# walltime.py RUNS CMD...: run CMD (stdio on /dev/null) 3 times to warm up, then RUNS times;
# print the median wall time in ms. Exit 3 at the first run that does not exit 0.
import statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
def once():
    t0 = time.perf_counter_ns()
    rc = subprocess.call(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, timeout=120)
    dt = time.perf_counter_ns() - t0
    if rc != 0:
        print("exit status %d" % rc, file=sys.stderr)
        sys.exit(3)
    return dt
for _ in range(3):
    once()
ts = sorted(once() for _ in range(runs))
print("%.2f %.2f %.2f" % (statistics.median(ts) / 1e6, ts[0] / 1e6, ts[-1] / 1e6))
EOF

log "starting loopback servers"
"$PY" "$TMP/server.py" "$PKI" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    [[ -s $PKI/ports ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "the loopback server died"; }
    sleep 0.1
done
[[ -s $PKI/ports ]] || die "the loopback server did not start"
read -r HTTP_PORT HTTPS_PORT HTTPS12_PORT TCP_PORT <"$PKI/ports"
log "servers: http 127.0.0.1:$HTTP_PORT, https (TLS 1.3) localhost:$HTTPS_PORT, https (TLS 1.2, for busybox's own TLS) localhost:$HTTPS12_PORT, tcp 127.0.0.1:$TCP_PORT"
HTTP_URL=http://127.0.0.1:$HTTP_PORT/health
HTTPS_URL=https://localhost:$HTTPS_PORT/health
curl -fsS -o /dev/null "$HTTP_URL" || die "the plain HTTP server does not answer"
curl -fsS -o /dev/null --cacert "$CA" "$HTTPS_URL" || die "the HTTPS server does not answer"

# gRPC: Google's own grpc.health.v1 implementation, as the tests run it (tests/grpc/health_server.py
# in the venv of scripts/grpc-venv.sh), plaintext (h2c) and TLS with the same certificate.
GRPC_PORT="" GRPCS_PORT="" VPY="" GRPC_SERVER_PIDS=()
if [[ "$GRPC" == 1 ]]; then
    VPY=$PWD/.venv/bin/python
    if [[ "$INSTALL" == 1 ]]; then scripts/grpc-venv.sh >&2 || true; fi
    if [[ -x $VPY ]] && "$VPY" -c 'import grpc, grpc_health.v1.health' 2>/dev/null; then
        cat >"$TMP/grpc_client.py" <<'EOF'
# grpc_client.py HOST:PORT [CA.pem]: one grpc.health.v1.Health/Check, exit 0 when SERVING.
import sys
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
target = sys.argv[1]
if len(sys.argv) > 2:
    with open(sys.argv[2], "rb") as f:
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(f.read()))
else:
    channel = grpc.insecure_channel(target)
# A long deadline: under valgrind the TLS handshake alone takes seconds.
reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=120)
sys.exit(0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1)
EOF
        grpc_server() { # PORT_FILE [--tls CERT KEY]: start one; print its port
            "$VPY" tests/grpc/health_server.py "$@" >>"$TMP/grpc_server.log" 2>&1 &
            GRPC_SERVER_PIDS+=($!)
            for _ in $(seq 100); do
                [[ -s $1 ]] && { cat "$1"; return 0; }
                kill -0 "${GRPC_SERVER_PIDS[-1]}" 2>/dev/null || break
                sleep 0.1
            done
            return 1
        }
        if GRPC_PORT=$(grpc_server "$PKI/gport") &&
            GRPCS_PORT=$(grpc_server "$PKI/gsport" --tls "$PKI/server.pem" "$PKI/server.key"); then
            GRPC_PORT=${GRPC_PORT//[^0-9]/} GRPCS_PORT=${GRPCS_PORT//[^0-9]/}
            log "servers: grpc 127.0.0.1:$GRPC_PORT, grpcs localhost:$GRPCS_PORT"
        else
            GRPC_PORT="" GRPCS_PORT=""
            cat "$TMP/grpc_server.log" >&2
            note "the gRPC server did not start: no gRPC rows"
        fi
    else
        note "no Python with grpcio and grpcio-health-checking (scripts/grpc-venv.sh): no gRPC rows"
    fi
fi

# ---------------------------------------------------------------------------------------------
# 4. Measuring
# ---------------------------------------------------------------------------------------------
RESULTS=$TMP/results.tsv
: >"$RESULTS"

fmt_instr() {
    [[ $1 =~ ^[0-9]+$ ]] || { printf '%s' "$1"; return 0; }
    awk -v n="$1" 'BEGIN {
    if (n < 1000) printf "%d", n
    else if (n < 1e6) printf "%d K", n / 1e3 + 0.5
    else if (n < 1e9) printf "%.1f M", n / 1e6
    else printf "%.2f G", n / 1e9 }'; }
fmt_mb() { awk -v k="$1" 'BEGIN { printf "%.2f MB", k / 1024 }'; }
fmt_size() { awk -v b="$1" 'BEGIN {
    if (b < 1048576) printf "%d KB", b / 1024 + 0.5; else printf "%.2f MB", b / 1048576 }'; }

# If a child process outlives the command (busybox's openssl s_client helper does), wait until
# each callgrind log in DIR is complete.
wait_logs() {
    local f ok
    for _ in $(seq 300); do
        ok=1
        for f in "$1"/*.log; do grep -q 'Collected :' "$f" || ok=0; done
        ((ok)) && return 0
        sleep 0.1
    done
    log "warning: a traced child process did not finish: $(grep -L 'Collected :' "$1"/*.log | tr '\n' ' ')"
}

# measure CHECK TOOL SHOWN_COMMAND -- CMD...
#   Appends "check, tool, shown command, instructions, peak RSS KB, median ms, detail" to RESULTS.
#   ROW_ENV=(VAR=VALUE...): environment for the command (set through env(1), outside what is
#   measured). ROW_HELPER=openssl: the command spawns openssl (busybox wget https), whose RSS is
#   recorded too through a wrapper first on PATH. CMD must be an absolute path.
ROW_ENV=()
ROW_HELPER=
ROW_VG_WHY=
TIMEOUT=$(command -v timeout)
VALGRIND=$(command -v valgrind)
measure() {
    local check=$1 tool=$2 shown=$3
    shift 4
    local is_hp=0 rc out instr rss wall wmin wmax procs detail=""
    # Every tool runs with the same small environment (PATH only), as tests/budget.rs measures:
    # a shell's variables would add each tool's getenv scans (~10 K instructions for us).
    local -a envp=(env -i "PATH=$PATH" ${ROW_ENV[@]+"${ROW_ENV[@]}"})
    [[ "$tool" == healthprobe* ]] && is_hp=1
    log "[$check] $tool: $shown"

    # a. it must succeed at all
    rc=0
    out=$("${envp[@]}" "$TIMEOUT" 60 "$@" </dev/null 2>&1) || rc=$?
    if ((rc != 0)); then
        if ((is_hp)); then
            printf '%s\n' "$out" >&2
            die "healthprobe exited $rc on the $check check: $*"
        fi
        note "$tool failed the $check check (exit $rc: $(printf '%s' "$out" | sed -n 1p)); row left out"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$check" "$tool" "$shown" "failed (exit $rc)" "" "" "" "" >>"$RESULTS"
        return 0
    fi
    if ((is_hp)) && [[ -n "$out" ]]; then log "  healthprobe said: $(printf '%s' "$out" | sed -n 1p)"; fi

    # b. instructions, all processes included (only of a run that succeeds under valgrind)
    local vg=$TMP/vg.$RANDOM$RANDOM
    mkdir "$vg"
    rc=0
    "${envp[@]}" "$TIMEOUT" 300 "$VALGRIND" --tool=callgrind --callgrind-out-file=/dev/null \
        --trace-children=yes --log-file="$vg/%p.log" "$@" </dev/null >/dev/null 2>&1 || rc=$?
    if ((rc != 0)); then
        ((is_hp)) && die "healthprobe exited $rc under valgrind ($check)"
        note "$tool fails the $check check under valgrind (exit $rc) though it passes without: no instruction count${ROW_VG_WHY:+ ($ROW_VG_WHY)}"
        instr=n/a
    else
        wait_logs "$vg"
        instr=$(cat "$vg"/*.log | awk '/Collected :/ { s += $NF } END { print s + 0 }')
        procs=$(grep -l 'Collected :' "$vg"/*.log | wc -l)
        if ((procs > 1)); then
            local parts
            parts=$(for f in "$vg"/*.log; do
                awk '/Command:/ { sub(/.*Command: /, ""); split($0, a, " "); n = a[1]; sub(/.*\//, "", n)
                                  if (n == "busybox" || n == "openssl") n = n " " a[2] }
                     /Collected :/ { c = $NF } END { print c "\t" n }' "$f"
            done | sort -k1,1nr | while IFS=$'\t' read -r c n; do printf '%s %s + ' "$n" "$(fmt_instr "$c")"; done)
            detail="$procs processes, instructions ${parts% + }"
            ((is_hp)) && note "healthprobe started $((procs - 1)) child process(es) on the $check check"
        fi
    fi

    # c. peak RSS
    local rssf=$TMP/rss.$RANDOM$RANDOM helperf=$TMP/helper-rss.$RANDOM$RANDOM
    local -a renv=("${envp[@]}")
    if [[ "$ROW_HELPER" == openssl ]]; then
        mkdir -p "$TMP/wrap"
        printf '#!/bin/sh\nexec /usr/bin/time -f %%M -o "%s" "%s" "$@"\n' "$helperf" "$REAL_OPENSSL" >"$TMP/wrap/openssl"
        chmod +x "$TMP/wrap/openssl"
        renv+=("PATH=$TMP/wrap:$PATH")
    fi
    rc=0
    "${renv[@]}" "$TIMEOUT" 60 /usr/bin/time -f %M -o "$rssf" "$@" </dev/null >/dev/null 2>&1 || rc=$?
    if ((rc != 0)); then
        ((is_hp)) && die "healthprobe exited $rc under /usr/bin/time ($check)"
        note "$tool exited $rc under /usr/bin/time ($check)"
    fi
    rss=$(tail -n1 "$rssf")
    if [[ "$ROW_HELPER" == openssl ]]; then
        for _ in $(seq 100); do [[ -s $helperf ]] && break; sleep 0.1; done
        if [[ -s $helperf ]]; then
            detail="${detail:+$detail; }peak RSS busybox $(fmt_mb "$rss"), openssl s_client $(fmt_mb "$(tail -n1 "$helperf")") (they run at the same time; the column shows the larger)"
            rss=$(printf '%s\n%s\n' "$rss" "$(tail -n1 "$helperf")" | sort -n | tail -n1)
        fi
    fi

    # d. wall time (of the command itself; a helper outliving it is not waited for)
    local w
    if ! w=$("${envp[@]}" "$PY" "$TMP/walltime.py" "$RUNS" "$@" 2>"$TMP/wall.err"); then
        if ((is_hp)); then cat "$TMP/wall.err" >&2; die "a healthprobe run failed during the $RUNS timed runs ($check)"; fi
        note "$tool failed during the timed runs ($check): $(cat "$TMP/wall.err")"
        w="- - -"
    fi
    read -r wall wmin wmax <<<"$w"
    log "  $(fmt_instr "$instr") instructions, $(fmt_mb "$rss"), median $wall ms (min $wmin, max $wmax)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$check" "$tool" "$shown" "$instr" "$rss" "$wall" "$wmin" "$detail" >>"$RESULTS"
}

# The floor of the method: a static program that only calls exit(0).
CC_FLOOR=$(command -v cc || command -v gcc || true)
# shellcheck disable=SC2016  # $60 is the assembler's immediate, not a variable
if [[ -n "$CC_FLOOR" ]] && printf '.globl _start\n_start:\n\tmov $60, %%eax\n\txor %%edi, %%edi\n\tsyscall\n' >"$TMP/exit0.s" &&
    "$CC_FLOOR" -nostdlib -static -o "$TMP/exit0" "$TMP/exit0.s" 2>/dev/null && "$TMP/exit0"; then
    floor_i=$("$VALGRIND" --tool=callgrind --callgrind-out-file=/dev/null "$TMP/exit0" 2>&1 | awk '/Collected :/ { print $NF }')
    /usr/bin/time -f %M -o "$TMP/exit0.rss" "$TMP/exit0"
    note "the floor of the method: a static program that only calls exit(0) reads ${floor_i:-?} instructions (callgrind) and $(tail -n1 "$TMP/exit0.rss") KB peak RSS (the pages /usr/bin/time's forked child had before exec count)"
fi

# aarch64: the binary runs a real check under qemu, when qemu-aarch64-static is there.
for r in "${SIZE_ROWS[@]}"; do
    IFS='|' read -r tgt feat path <<<"$r"
    [[ $tgt == "$ARM" ]] || continue
    if command -v qemu-aarch64-static >/dev/null; then
        if out=$("$TIMEOUT" 60 qemu-aarch64-static "$path" "$HTTP_URL" 2>&1); then
            log "aarch64 ($feat) under qemu: $out"
        else
            note "the aarch64 binary ($feat) failed the plain HTTP check under qemu-aarch64-static: $out"
        fi
    fi
done

# healthprobe and --ca-file
HP_TLS=(--ca-file "$CA")
HP_TLS_SHOWN="--ca-file ca.pem"
if ! hp_out=$(timeout 30 "$HP" "${HP_TLS[@]}" "$HTTPS_URL" </dev/null 2>&1); then
    if timeout 30 "$HP" -k "$HTTPS_URL" </dev/null >/dev/null 2>&1; then
        note "healthprobe --ca-file failed ($(printf '%s' "$hp_out" | sed -n 1p)); the HTTPS row uses -k (no verification)"
        HP_TLS=(-k)
        HP_TLS_SHOWN="-k"
    else
        printf '%s\n' "$hp_out" >&2
        die "healthprobe fails the HTTPS check with --ca-file and with -k"
    fi
fi

BB=$(command -v busybox)
CURL=$(command -v curl)
WGET=$(command -v wget)
BBV=$(busybox 2>&1 | sed -n 1p | awk '{print $2}')

# Plain HTTP
measure http healthprobe "healthprobe http://127.0.0.1:PORT/health" -- "$HP" "$HTTP_URL"
[[ -n $HP_SLIM ]] && measure http "healthprobe slim" "healthprobe-slim http://127.0.0.1:PORT/health" -- "$HP_SLIM" "$HTTP_URL"
# The same check from a sealed copy (README "Sealed probes"): it reads its command line from the
# binary's seal slot instead of argv.
if "$HP" seal "$TMP/healthcheck" "$HTTP_URL" >/dev/null && [[ -x $TMP/healthcheck ]]; then
    measure http "healthprobe, sealed" "healthcheck (healthprobe seal healthcheck http://127.0.0.1:PORT/health)" -- "$TMP/healthcheck"
else
    note "healthprobe seal failed; no sealed row"
fi
measure http "busybox wget" "busybox wget -q -O /dev/null URL" -- "$BB" wget -q -O /dev/null "$HTTP_URL"
measure http "curl" "curl -fsS -o /dev/null URL" -- "$CURL" -fsS -o /dev/null "$HTTP_URL"
measure http "GNU wget" "wget -q -O /dev/null URL" -- "$WGET" -q -O /dev/null "$HTTP_URL"

# HTTPS (TLS 1.3, ECDSA P-256, private CA)
measure https healthprobe "healthprobe $HP_TLS_SHOWN https://localhost:PORT/health" -- "$HP" "${HP_TLS[@]}" "$HTTPS_URL"
# Debian's busybox wget verifies a certificate by running `openssl s_client`, which reads the CA
# from SSL_CERT_FILE; instructions and RSS include that helper process.
ROW_ENV=("SSL_CERT_FILE=$CA") ROW_HELPER=openssl
measure https "busybox wget (+ openssl)" "SSL_CERT_FILE=ca.pem busybox wget -q -O /dev/null URL" -- "$BB" wget -q -O /dev/null "$HTTPS_URL"
# With no openssl on PATH (a scratch or distroless image), busybox falls back to its own TLS
# client: TLS 1.2 only, no certificate verification, and accepted only by a server that lowers
# OpenSSL's security level (else: handshake failure); measured against the TLS 1.2 port.
mkdir -p "$TMP/empty"
ROW_ENV=("PATH=$TMP/empty") ROW_HELPER=
ROW_VG_WHY="busybox notices that it could not start openssl through a flag a vfork()ed child sets in memory it shares with the parent, and valgrind runs vfork() as fork()"
measure https "busybox wget, own TLS" "busybox wget -q -O /dev/null --no-check-certificate URL (TLS 1.2 port)" -- "$BB" wget -q -O /dev/null --no-check-certificate "https://localhost:$HTTPS12_PORT/health"
ROW_ENV=() ROW_VG_WHY=
measure https "curl" "curl -fsS -o /dev/null --cacert ca.pem URL" -- "$CURL" -fsS -o /dev/null --cacert "$CA" "$HTTPS_URL"
measure https "GNU wget" "wget -q -O /dev/null --ca-certificate=ca.pem URL" -- "$WGET" -q -O /dev/null --ca-certificate="$CA" "$HTTPS_URL"

# TCP (the listener accepts and closes at once)
measure tcp healthprobe "healthprobe tcp://127.0.0.1:PORT" -- "$HP" "tcp://127.0.0.1:$TCP_PORT"
[[ -n $HP_SLIM ]] && measure tcp "healthprobe slim" "healthprobe-slim tcp://127.0.0.1:PORT" -- "$HP_SLIM" "tcp://127.0.0.1:$TCP_PORT"
measure tcp "busybox nc" "busybox nc 127.0.0.1 PORT </dev/null" -- "$BB" nc 127.0.0.1 "$TCP_PORT"
measure tcp "curl telnet://" "curl -sS telnet://127.0.0.1:PORT </dev/null" -- "$CURL" -sS "telnet://127.0.0.1:$TCP_PORT"
measure tcp "bash /dev/tcp" "bash -c ': </dev/tcp/127.0.0.1/PORT'" -- "$BASH" -c ": </dev/tcp/127.0.0.1/$TCP_PORT"

# Wall-time outliers among the peers, seen while writing this script: they are the tools' own.
note "GNU wget's https wall time (~64 ms and up) and busybox's own TLS (~55-64 ms) are mostly waiting: the same against \`openssl s_server\`, so not the bench server's doing (it writes each response at once, TCP_NODELAY)"

# gRPC (grpc.health.v1.Health/Check of the server's overall status)
if [[ -n "$GRPC_PORT" ]]; then
    if hp_features=$("$HP" --version 2>/dev/null) && [[ $hp_features == *features:* && $hp_features != *grpc* ]]; then
        note "this healthprobe was built without the grpc feature: no gRPC rows"
    else
        measure grpc healthprobe "healthprobe grpc://127.0.0.1:PORT" -- "$HP" "grpc://127.0.0.1:$GRPC_PORT"
        measure grpc "Python grpcio client" "python grpc_client.py 127.0.0.1:PORT" -- "$VPY" "$TMP/grpc_client.py" "127.0.0.1:$GRPC_PORT"
        measure grpcs healthprobe "healthprobe $HP_TLS_SHOWN grpcs://localhost:PORT" -- "$HP" "${HP_TLS[@]}" "grpcs://localhost:$GRPCS_PORT"
        measure grpcs "Python grpcio client" "python grpc_client.py localhost:PORT ca.pem" -- "$VPY" "$TMP/grpc_client.py" "localhost:$GRPCS_PORT" "$CA"
        note "no grpc_health_probe row: it is a Go program that no reachable package registry ships; the gRPC peer is a 12-line Python client on grpcio $("$VPY" -c 'import grpc; print(grpc.__version__)')"
    fi
fi

# ---------------------------------------------------------------------------------------------
# 5. Profiles (BENCH_PROFILE=1)
# ---------------------------------------------------------------------------------------------
PROFILES=$TMP/profiles.md
: >"$PROFILES"
if [[ -n "$HP_PROF" ]]; then
    specs=("http|$HTTP_URL" "https|$HTTPS_URL" "tcp|tcp://127.0.0.1:$TCP_PORT")
    [[ -n "$GRPC_PORT" ]] && specs+=("grpc|grpc://127.0.0.1:$GRPC_PORT" "grpcs|grpcs://localhost:$GRPCS_PORT")
    specs+=("http slim|$HTTP_URL" "tcp slim|tcp://127.0.0.1:$TCP_PORT")
    for spec in "${specs[@]}"; do
        check=${spec%%|*} url=${spec#*|}
        args=("$url")
        [[ $check == https || $check == grpcs ]] && args=("${HP_TLS[@]}" "$url")
        bin=$HP_PROF
        [[ $check == *slim ]] && bin=$HP_SLIM_PROF
        log "profiling the $check check (unstripped build)"
        env -i valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.${check// /-}" "$bin" "${args[@]}" \
            </dev/null >/dev/null 2>"$TMP/cg.$check.err" || die "the unstripped healthprobe failed the $check check"
        {
            printf '\n<details><summary>callgrind_annotate, %s check (unstripped build)</summary>\n\n```\n' "$check"
            # the 15 costliest functions (self cost), paths shortened
            callgrind_annotate --inclusive=no "$TMP/cg.${check// /-}" 2>/dev/null |
                awk '/PROGRAM TOTALS/ { print; next } /file:function/ { p = 1; next } /^-+$/ { next } p && NF { print }' |
                sed -e 's/ \[[^]]*\]$//' -e 's#/root/.cargo/registry/src/[^/]*/##' -e 's#/[^ ]*/src_musl/#musl/#' \
                    -e 's#/rustc/[0-9a-f]*/#rust/#' | sed -n 1,16p
            printf '```\n</details>\n'
        } >>"$PROFILES"
    done
fi

# ---------------------------------------------------------------------------------------------
# 6. Report
# ---------------------------------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
[[ -n $cpu ]] || cpu=$(uname -m)
if [[ -n "${HEALTHPROBE_BIN:-}" ]]; then
    HP_HOW="HEALTHPROBE_BIN=$HEALTHPROBE_BIN"
else
    HP_HOW="x86_64 musl static, the release set of scripts/release.sh ($(sed -n 1p "$REL/TOOLCHAIN")), built by this run"
fi
hp_version=$("$HP" --version 2>/dev/null | sed -n 1p || true)

get() { # CHECK TOOL COLUMN(4..8)
    awk -F'\t' -v c="$1" -v t="$2" -v k="$3" '$1 == c && $2 == t { print $k; exit }' "$RESULTS"
}

# shellcheck disable=SC2016  # the backquotes are markdown's, not command substitutions
{
    printf '## healthprobe benchmark\n\n'
    printf -- '- machine: %s cores, %s, %s %s %s\n' "$(nproc)" "$cpu" "$(uname -s)" "$(uname -r)" "$(uname -m)"
    printf -- '- date: %s; load average %s at the start, %s at the end (wall times are noisy on a busy machine; instructions are not)\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf -- '- healthprobe: %s (%s)\n' "${hp_version:-unknown version}" "$HP_HOW"
    printf -- '- peers: %s; %s; BusyBox %s (%s); %s; %s; valgrind %s\n' \
        "$(curl --version | sed -n 1p | awk '{print $1, $2}')" \
        "$(wget --version | sed -n 1p | awk '{print $1, $2, $3}')" \
        "$BBV" "$(dpkg-query -W -f='${Package} ${Version}' busybox-static 2>/dev/null || echo busybox)" \
        "$(openssl version | awk '{print $1, $2}')" \
        "$(bash --version | sed -n 1p | sed 's/ (.*//')" \
        "$(valgrind --version | sed 's/valgrind-//')"
    printf -- '- command: `bench/run.sh` (%s wall-time runs per row after 3 warm-up runs)\n\n' "$RUNS"

    printf '| check | tool | instructions | peak RSS | median wall | fastest | command |\n'
    printf '|---|---|---:|---:|---:|---:|---|\n'
    marks=(¹ ² ³ ⁴ ⁵ ⁶) nmark=0 footnotes=()
    while IFS=$'\t' read -r check tool shown instr rss wall wmin detail; do
        t=$tool
        [[ $tool == healthprobe* ]] && t="**$tool**"
        if [[ -n $detail ]]; then
            t="$t ${marks[nmark]}"
            footnotes+=("${marks[nmark]} $detail.")
            nmark=$(((nmark + 1) % ${#marks[@]}))
        fi
        if [[ $instr == failed* ]]; then
            printf '| %s | %s | %s | | | | `%s` |\n' "$check" "$t" "$instr" "$shown"
        else
            printf '| %s | %s | %s | %s | %s ms | %s ms | `%s` |\n' "$check" "$t" "$(fmt_instr "$instr")" "$(fmt_mb "$rss")" "$wall" "$wmin" "$shown"
        fi
    done <"$RESULTS"
    if ((${#footnotes[@]})); then
        printf '\n'
        printf '%s\n' "${footnotes[@]}"
    fi

    printf '\n| binary | target | features | bytes | size |\n|---|---|---|---:|---:|\n'
    for r in "${SIZE_ROWS[@]}"; do
        IFS='|' read -r tgt feat path <<<"$r"
        b=$(stat -c %s "$path")
        printf '| healthprobe | %s | %s | %s | %s |\n' "$tgt" "$feat" "$b" "$(fmt_size "$b")"
    done
    b=$(stat -c %s "$(realpath "$BB")")
    printf '| busybox (all applets) | x86_64, static | | %s | %s |\n' "$b" "$(fmt_size "$b")"
    printf '\nKB = 1024 bytes, MB = 1024 KB (peak RSS is `/usr/bin/time -f %%M` in KB, shown as MB). Instructions: `valgrind --tool=callgrind --trace-children=yes`, user space, summed over the processes of one run.\n'

    # The size and cost budgets
    printf '\n### Budgets\n\n| target | budget | measured | |\n|---|---:|---:|---|\n'
    verdict() { if awk -v m="$1" -v b="$2" 'BEGIN { exit !(m <= b) }'; then echo met; else echo "**missed**"; fi; }
    v=$(get http healthprobe 4)
    printf '| plain HTTP instructions | 100 K | %s | %s |\n' "$(fmt_instr "$v")" "$(verdict "$v" 100000)"
    v=$(get http healthprobe 5)
    printf '| plain HTTP peak RSS | 1.00 MB | %s | %s |\n' "$(fmt_mb "$v")" "$(verdict "$v" 1024)"
    c=$(get https curl 4)
    v=$(get https healthprobe 4)
    if [[ $c =~ ^[0-9]+$ ]]; then
        printf '| HTTPS instructions ≤ 1/3 of curl | %s | %s | %s |\n' "$(fmt_instr $((c / 3)))" "$(fmt_instr "$v")" "$(verdict "$v" $((c / 3)))"
    fi
    v=$(get https healthprobe 4)
    printf '| HTTPS instructions, within 5 %% of 3.16 M | 3.32 M | %s | %s |\n' "$(fmt_instr "$v")" "$(verdict "$v" 3318000)"
    v=$(get https healthprobe 5)
    printf '| HTTPS peak RSS | 3.00 MB | %s | %s |\n' "$(fmt_mb "$v")" "$(verdict "$v" 3072)"
    for r in "${SIZE_ROWS[@]}"; do
        IFS='|' read -r tgt feat path <<<"$r"
        [[ $tgt == "$X86" ]] || continue
        b=$(stat -c %s "$path")
        case $feat in
        full*) printf '| x86_64 static binary, full | 1,600,000 bytes | %s | %s |\n' "$b" "$(verdict "$b" 1600000)" ;;
        slim*) printf '| x86_64 static binary, slim (`cli` only) | 600,000 bytes | %s | %s |\n' "$b" "$(verdict "$b" 600000)" ;;
        esac
    done

    if [[ -s $PROFILES ]]; then
        printf '\n### Profiles (unstripped build, same code)\n'
        cat "$PROFILES"
    fi

    if ((${#NOTES[@]})); then
        printf '\n### Notes\n\n'
        printf -- '- %s\n' "${NOTES[@]}"
    fi
} >"$TMP/report.md"

cat "$TMP/report.md"
END_NS=$(date +%s%N)
log "done in $(((END_NS - START_NS) / 1000000000)) s (of which building: ${BUILD_S} s)"
if [[ "$STRICT" == 1 ]] && grep -q '| \*\*missed\*\* |' "$TMP/report.md"; then
    die "a size or cost budget is missed (BENCH_STRICT=1)"
fi
