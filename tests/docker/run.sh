#!/usr/bin/env bash
# tests/docker/run.sh: healthprobe in a real Docker engine.
#
# What it proves, with `docker inspect` as the judge:
#   1. the example image (Dockerfile.example's probe and runtime stages, unchanged: its
#      HEALTHCHECK is a copy sealed in the probe stage) goes starting -> healthy -> unhealthy (app
#      flipped) -> healthy, and Docker's recorded Output is our one line;
#   2. the same under --read-only --cap-drop ALL --user 65532:65532 --network none
#      --security-opt no-new-privileges;
#   3. our published image (root Dockerfile) holds only /healthprobe (+ licenses), has no shell,
#      runs as 65532; its size is reported;
#   4. the embedded form: an image with only the app, HEALTHCHECK ["/app", "healthcheck", ...];
#   5. Compose (examples/compose.yaml, Debian's docker-compose): web starts only after db is healthy;
#   6. `healthprobe --wait ... -- /app ...` as ENTRYPOINT waits for a dependency, then execs the app
#      in the same process (PID 1 stays PID 1);
#   3b. the slim image (root Dockerfile, --build-arg VARIANT=-slim: `cli` only) holds only
#      /healthprobe, runs the example's health check the same way (starting -> healthy ->
#      unhealthy -> healthy), and refuses https:// naming the slim variant, exit 1;
#   7. the linux/arm64 image;
#   8. `healthprobe install /probe` as UID 65532 into a volume, for an app image without a probe,
#      and examples/compose-install.yaml as written;
#   9. the sealed probe of the example image (section 1): an intruder
#      with `docker exec` gets nothing from it (each try exits 1, one line; a listener on another
#      loopback port of that container hears no connection); `seal` into a volume as UID 65532;
#      the slim binary and (with section 7) the arm64 binary under qemu seal and run too.
#
# STAND-INS (no registry can be reached here, so nothing is pulled):
#   gcr.io/distroless/static-debian12:nonroot  <- scripts/standin-images.sh, FROM scratch with the
#                                                 Debian packages distroless/static is made of
#   ghcr.io/healthprobe/healthprobe:0.1        <- the root Dockerfile built here from this checkout
#   stage "build" of Dockerfile.example        <- FROM scratch + the demo app (examples/app.rs)
#                                                 compiled here for musl (rust:1 can't be pulled);
#                                                 the probe and runtime stages are
#                                                 Dockerfile.example's own lines
#   "your app"                                 <- examples/app.rs: `app serve --listen ADDR`,
#                                                 GET /health (200 ok / 503 after POST /flip)
#
# Environment:
#   HEALTHPROBE_REQUIRE_DOCKER=1  no engine, no docker-compose or a skipped section is a failure,
#                                 not a skip (CI sets it)
#   HEALTHPROBE_DOCKER_START=1    start an engine with scripts/dockerd.sh when none answers
#   HEALTHPROBE_DOCKER_BIN_DIR=D  use prebuilt static binaries D/healthprobe, D/healthprobe-slim
#                                 and D/app (no cargo)
#   DOCKER                        docker client (default: docker on PATH)
#   HEALTHPROBE_DOCKER_ARM64=0|1|auto  the linux/arm64 image (section 7); see there
#   KEEP=1                        keep the containers and images for inspection
# Last line: "N passed, M failed" (", K skipped" when some were); exit 1 when M > 0.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DOCKER="${DOCKER:-docker}"
RUN_ID="hpt$$"
PROBE_IMAGE="ghcr.io/healthprobe/healthprobe:0.1"
SLIM_IMAGE="ghcr.io/healthprobe/healthprobe:0.1-slim"
SLIM_EXAMPLE_IMAGE="healthprobe-example-slim:$RUN_ID"
BASE_IMAGE="gcr.io/distroless/static-debian12:nonroot"
EXAMPLE_IMAGE="healthprobe-example:$RUN_ID"
# The app with an unsealed /healthprobe beside it, for the sections that run the probe with
# arguments of their own (Compose, --wait ... --): the example image before it sealed its probe.
APP_IMAGE="healthprobe-app:$RUN_ID"
EMBED_IMAGE="healthprobe-embedded:$RUN_ID"
LABEL="io.healthprobe.test=$RUN_ID"
T0=$SECONDS

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); printf '  ok    %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf '  FAIL  %s\n' "$*"; }
skip() { skipped=$((skipped + 1)); printf '  SKIP  %s\n' "$*"; }
section() { printf '\n== %s  (t=%ds)\n' "$*" "$((SECONDS - T0))"; }
summary() {
    local line="$passed passed, $failed failed"
    [ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
    printf '\ndocker tests took %ds\n%s\n' "$((SECONDS - T0))" "$line"
}
loud() {
    printf '\n'
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
    printf '!!! %s\n' "$@"
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n'
}
d() { "$DOCKER" "$@"; }
build() { DOCKER_BUILDKIT=0 "$DOCKER" build -q "$@" 2> >(grep -v -e DEPRECATED -e 'legacy builder' -e BuildKit -e 'environment-variable' -e '^ *$' >&2); }

# ------------------------------------------------------------------------------------------------
# Is there an engine?
started_engine=0
if ! timeout 10 "$DOCKER" info >/dev/null 2>&1 && [ "${HEALTHPROBE_DOCKER_START:-0}" = 1 ]; then
    # Our own engine, stopped again at the end (its data-root, and so the cached stand-in base
    # images, stay on disk for the next run).
    "$ROOT/scripts/dockerd.sh" start && started_engine=1
fi
if ! timeout 10 "$DOCKER" info >/dev/null 2>&1; then
    if [ "${HEALTHPROBE_REQUIRE_DOCKER:-0}" = 1 ]; then
        loud "NO DOCKER ENGINE ANSWERS, and HEALTHPROBE_REQUIRE_DOCKER=1: the Docker tests FAIL." \
             "Start one with: scripts/dockerd.sh start"
        [ "$started_engine" = 1 ] && "$ROOT/scripts/dockerd.sh" stop
        failed=1; summary; exit 1
    fi
    loud "NO DOCKER ENGINE ANSWERS: the Docker tests (tests/docker/run.sh) are SKIPPED." \
         "Start one with: scripts/dockerd.sh start   (CI sets HEALTHPROBE_REQUIRE_DOCKER=1)"
    skipped=1; summary; exit 0
fi
echo "engine: $("$DOCKER" version -f 'server {{.Server.Version}} (API {{.Server.APIVersion}}), client {{.Client.Version}}')"

work="$(mktemp -d /tmp/healthprobe-docker.XXXXXX)"
cleanup() {
    local rc=$?
    if [ "${KEEP:-0}" = 1 ]; then
        echo "KEEP=1: left containers labelled $LABEL, images $EXAMPLE_IMAGE $APP_IMAGE $SLIM_EXAMPLE_IMAGE $EMBED_IMAGE $PROBE_IMAGE $SLIM_IMAGE, and $work"
        exit "$rc"
    fi
    if [ -n "${COMPOSE_UP:-}" ]; then
        HEALTHPROBE_EXAMPLE_IMAGE="$APP_IMAGE" docker-compose -f "$ROOT/examples/compose.yaml" \
            -p "$RUN_ID" down --timeout 1 >/dev/null 2>&1
    fi
    local ids
    ids="$(d ps -aq --filter "label=$LABEL")"
    # shellcheck disable=SC2086
    [ -n "$ids" ] && d rm -f $ids >/dev/null 2>&1
    d rmi "$EMBED_IMAGE" "$EXAMPLE_IMAGE" "$APP_IMAGE" "$SLIM_EXAMPLE_IMAGE" "$PROBE_IMAGE" "$SLIM_IMAGE" >/dev/null 2>&1
    # Untagged stage images the legacy builder left (the stand-in "build" stage), made by this run.
    local img
    for img in $(d images -q --filter dangling=true); do
        grep -qx "$img" "$work/dangling-before" 2>/dev/null || d rmi "$img" >/dev/null 2>&1
    done
    rm -rf "$work"
    [ "$started_engine" = 1 ] && "$ROOT/scripts/dockerd.sh" stop
    exit "$rc"
}
d images -q --filter dangling=true >"$work/dangling-before"
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------------------------
section "build: static binaries, stand-in base, our image, the example image"
ctx="$work/ctx"
mkdir -p "$ctx/dist/linux-amd64" "$ctx/dist/licenses"
if [ -n "${HEALTHPROBE_DOCKER_BIN_DIR:-}" ]; then
    echo "using prebuilt binaries from $HEALTHPROBE_DOCKER_BIN_DIR"
    cp "$HEALTHPROBE_DOCKER_BIN_DIR/healthprobe" "$HEALTHPROBE_DOCKER_BIN_DIR/healthprobe-slim" \
        "$HEALTHPROBE_DOCKER_BIN_DIR/app" "$ctx/dist/linux-amd64/"
    for f in LICENSE LICENSE-MIT LICENSE-APACHE; do [ -f "$ROOT/$f" ] && cp "$ROOT/$f" "$ctx/dist/licenses/"; done
else
    t=$SECONDS
    if OUT="$ctx" TARGET_DIR="$ROOT/target" SLIM=1 EXTRA_BINS="--example app" "$ROOT/scripts/dist.sh" amd64 >/dev/null; then
        pass "cargo build --release --target x86_64-unknown-linux-musl --bin healthprobe [--no-default-features --features cli --target-dir target/slim] --example app ($((SECONDS - t))s)"
    else
        fail "cargo build of the static binaries (see above)"; summary; exit 1
    fi
fi
for b in healthprobe healthprobe-slim app; do
    f="$ctx/dist/linux-amd64/$b"
    if [ -x "$f" ] && ! readelf -lW "$f" 2>/dev/null | grep -q 'INTERP'; then
        pass "$b is a static executable ($(stat -c %s "$f") bytes)"
    else
        fail "$b missing or dynamically linked: $f"
    fi
done

t=$SECONDS
if "$ROOT/scripts/standin-images.sh"; then
    pass "stand-in $BASE_IMAGE ready ($((SECONDS - t))s)"
else
    fail "building the distroless stand-in"; summary; exit 1
fi

t=$SECONDS
if build -f "$ROOT/Dockerfile" --build-arg TARGETARCH=amd64 -t "$PROBE_IMAGE" "$ctx" >/dev/null; then
    pass "built $PROBE_IMAGE from ./Dockerfile ($((SECONDS - t))s)"
else
    fail "docker build -f Dockerfile"; summary; exit 1
fi
t=$SECONDS
if build -f "$ROOT/Dockerfile" --build-arg TARGETARCH=amd64 --build-arg VARIANT=-slim -t "$SLIM_IMAGE" "$ctx" >/dev/null; then
    pass "built $SLIM_IMAGE from ./Dockerfile with --build-arg VARIANT=-slim ($((SECONDS - t))s)"
else
    fail "docker build -f Dockerfile --build-arg VARIANT=-slim"; summary; exit 1
fi

# The example image: Dockerfile.example's probe and runtime stages, line for line, after a build
# stage that stands in for `FROM rust:1 AS build` (it only provides /app, as the real stage does).
{
    echo "# GENERATED by tests/docker/run.sh: stand-in build stage + Dockerfile.example's probe and runtime stages"
    echo "FROM scratch AS build"
    echo "COPY dist/linux-amd64/app /app"
    sed -n '/^FROM ghcr.io\/healthprobe\/healthprobe:0.1 AS probe$/,$p' "$ROOT/Dockerfile.example"
} >"$ctx/Dockerfile.test"
t=$SECONDS
if grep -q '^RUN \["/healthprobe", "seal", "/healthcheck", "--timeout", "2s", "http://127.0.0.1:8080/health"\]$' "$ctx/Dockerfile.test" \
    && grep -q '^COPY --from=probe /healthcheck /healthcheck$' "$ctx/Dockerfile.test" \
    && build -f "$ctx/Dockerfile.test" -t "$EXAMPLE_IMAGE" "$ctx" >"$work/example-build.log" 2>&1; then
    pass "built the example image from Dockerfile.example's probe and runtime stages ($((SECONDS - t))s)"
else
    fail "docker build of Dockerfile.example's probe and runtime stages"; tail -n 15 "$work/example-build.log" | sed 's/^/    | /'; summary; exit 1
fi
hc="$(d image inspect -f '{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Timeout}}' "$EXAMPLE_IMAGE")"
if [ "$hc" = '["CMD","/healthcheck"] 10s 3s' ]; then
    pass "example image HEALTHCHECK is exec form, the copy sealed with --timeout 2s < Docker's 3s: $hc"
else
    fail "example image HEALTHCHECK: $hc"
fi
files="$(d export "$(d create --label "$LABEL" "$EXAMPLE_IMAGE")" | tar -tf - | grep -E '^(app|healthcheck|healthprobe)$' | tr '\n' ' ')"
if [ "$files" = "app healthcheck " ]; then pass "the example image holds /app and /healthcheck, no /healthprobe"; else fail "example image files: $files"; fi
# The unsealed app image (APP_IMAGE above).
cat >"$ctx/Dockerfile.app" <<DOCKERFILE
FROM $BASE_IMAGE
COPY dist/linux-amd64/app /app
COPY --from=$PROBE_IMAGE /healthprobe /healthprobe
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \\
    CMD ["/healthprobe", "--timeout", "2s", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["/app"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
DOCKERFILE
build -f "$ctx/Dockerfile.app" -t "$APP_IMAGE" "$ctx" >/dev/null || { fail "docker build of the unsealed app image"; summary; exit 1; }

# ------------------------------------------------------------------------------------------------
# Helpers
status() { d inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$1" 2>/dev/null; }
running() { [ "$(d inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
# wait_for CONTAINER STATUS SECONDS: poll until the health status is STATUS; sets $waited.
wait_for() {
    local c=$1 want=$2 limit=$3 s t=$SECONDS
    waited=0
    while :; do
        s="$(status "$c")"
        waited=$((SECONDS - t))
        [ "$s" = "$want" ] && return 0
        if ! running "$c"; then echo "    container $c stopped: $(d inspect -f 'exit {{.State.ExitCode}}' "$c")"; d logs --tail 5 "$c" 2>&1 | sed 's/^/    | /'; return 1; fi
        [ "$waited" -ge "$limit" ] && { echo "    still '$s' after ${limit}s"; return 1; }
        sleep 0.2
    done
}
# last_log CONTAINER: the last health check as "EXITCODE<TAB>OUTPUT" (output JSON-escaped).
last_log() {
    d inspect -f '{{json .State.Health.Log}}' "$1" | python3 -c '
import json, sys
log = json.load(sys.stdin) or []
e = log[-1] if log else {"ExitCode": -1, "Output": ""}
print("%d\t%s" % (e["ExitCode"], json.dumps(e["Output"])))'
}
# check_output CONTAINER WORD EXITCODE URL [MORE]: Docker's last recorded Output is one line of ours.
check_output() {
    local c=$1 word=$2 code=$3 url=$4 more=${5:-} got rc out
    got="$(last_log "$c")"; rc="${got%%	*}"; out="${got#*	}"
    local text; text="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).rstrip("\n"))' "$out")"
    if [ "$rc" = "$code" ] && [ "$(printf '%s\n' "$text" | wc -l)" = 1 ] \
        && [[ "$text" == "$word "* ]] && [[ "$text" == *"$url"* ]] && [[ "$text" == *"$more"* ]]; then
        pass "last Output is one line, exit $rc: $text"
    else
        fail "last health log entry: exit $rc, Output $out (wanted exit $code, one line starting '$word ', with $url ${more:+and $more})"
    fi
}
URL="http://127.0.0.1:8080/health"
# The app flips itself from inside the container with the probe it embeds (`/app healthcheck`,
# README "Embedding"): the example image's sealed /healthcheck takes no arguments.
flip() { local o; o="$(d exec "$1" /app healthcheck -X POST http://127.0.0.1:8080/flip 2>&1)"; local rc=$?; echo "    flip: $o (exit $rc)"; return $rc; }

# health_cycle NAME DOCKER-RUN-OPTIONS...: starting -> healthy -> (flip) unhealthy -> (flip) healthy
health_cycle() {
    local name=$1; shift
    local c="$RUN_ID-$name" first
    if ! d run -d --name "$c" --label "$LABEL" --health-interval 1s "$@" "${CYCLE_IMAGE:-$EXAMPLE_IMAGE}" >/dev/null; then
        fail "$name: docker run $*"; return
    fi
    first="$(status "$c")"
    if [ "$first" = starting ]; then pass "$name: health is 'starting' right after docker run"; else fail "$name: first status '$first', wanted starting"; fi
    if wait_for "$c" healthy 20; then pass "$name: starting -> healthy in ~${waited}s"; else fail "$name: never became healthy"; d logs --tail 5 "$c" 2>&1 | sed 's/^/    | /'; return; fi
    check_output "$c" healthy 0 "$URL"
    if flip "$c"; then pass "$name: docker exec $c /app healthcheck -X POST http://127.0.0.1:8080/flip (exit 0)"; else fail "$name: flip via docker exec failed"; fi
    if wait_for "$c" unhealthy 20; then pass "$name: healthy -> unhealthy in ~${waited}s after the app flipped (3 retries x 1s)"; else fail "$name: never became unhealthy"; fi
    check_output "$c" unhealthy 1 "$URL" 503
    flip "$c" || fail "$name: flip back failed"
    if wait_for "$c" healthy 20; then pass "$name: unhealthy -> healthy in ~${waited}s after flipping back"; else fail "$name: never became healthy again"; fi
    check_output "$c" healthy 0 "$URL"
    d rm -f "$c" >/dev/null
}

# ------------------------------------------------------------------------------------------------
section "1. example image, --network none: starting -> healthy -> unhealthy -> healthy"
health_cycle plain --network none

section "2. hardened: --read-only --cap-drop ALL --user 65532:65532 --network none --security-opt no-new-privileges"
health_cycle hardened --read-only --cap-drop ALL --user 65532:65532 --network none --security-opt no-new-privileges

# ------------------------------------------------------------------------------------------------
section "3. our image ($PROBE_IMAGE)"
if out="$(d run --rm --label "$LABEL" --network none --entrypoint /bin/sh "$PROBE_IMAGE" -c true 2>&1)"; then
    fail "docker run --entrypoint /bin/sh succeeded: the image has a shell"
else
    pass "docker run --rm --entrypoint /bin/sh $PROBE_IMAGE fails (no shell): $(printf '%s' "$out" | tail -n 1 | cut -c1-150)"
fi
cfg="$(d image inspect -f '{{json .Config.Entrypoint}} {{.Config.User}}' "$PROBE_IMAGE")"
if [ "$cfg" = '["/healthprobe"] 65532:65532' ]; then pass "ENTRYPOINT [\"/healthprobe\"], USER 65532:65532"; else fail "entrypoint/user: $cfg"; fi
if out="$(d run --rm --label "$LABEL" --network none --read-only "$PROBE_IMAGE" --version 2>&1)"; then
    pass "docker run $PROBE_IMAGE --version: $out"
else
    fail "docker run $PROBE_IMAGE --version: $out"
fi
cid="$(d create --label "$LABEL" "$PROBE_IMAGE")"
files="$(d export "$cid" | tar -tf - | grep -v -E '^(\.dockerenv|dev/.*|etc/|etc/(hostname|hosts|resolv\.conf|mtab)|proc/|sys/|usr/|usr/share/|usr/share/doc/|usr/share/doc/healthprobe/)$' | tr '\n' ' ')"
d rm "$cid" >/dev/null
if [[ "$files" =~ ^healthprobe\ (usr/share/doc/healthprobe/LICENSE[^ ]*\ )*$ ]]; then
    pass "the image holds only: $files"
else
    fail "unexpected files in the image: $files"
fi
for img in "$PROBE_IMAGE" "$BASE_IMAGE" "$EXAMPLE_IMAGE"; do
    size="$(d image inspect -f '{{.Size}}' "$img")"
    printf '  size  %-45s %9s bytes (%s KiB)\n' "$img" "$size" "$((size / 1024))"
done

# ------------------------------------------------------------------------------------------------
section "3b. the slim image ($SLIM_IMAGE: cli only, no TLS, no gRPC)"
cfg="$(d image inspect -f '{{json .Config.Entrypoint}} {{.Config.User}}' "$SLIM_IMAGE")"
if [ "$cfg" = '["/healthprobe"] 65532:65532' ]; then pass "ENTRYPOINT [\"/healthprobe\"], USER 65532:65532"; else fail "entrypoint/user: $cfg"; fi
if out="$(d run --rm --label "$LABEL" --network none --read-only "$SLIM_IMAGE" --version 2>&1)" \
    && [[ "$out" == *"features: cli)"* ]]; then
    pass "docker run $SLIM_IMAGE --version: $out"
else
    fail "docker run $SLIM_IMAGE --version (wanted features: cli): $out"
fi
out="$(d run --rm --label "$LABEL" --network none "$SLIM_IMAGE" https://127.0.0.1:1/ 2>&1)"; rc=$?
if [ "$rc" = 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ "$out" == *slim* && "$out" == *tls* ]]; then
    pass "the slim image refuses https:// in one line, exit 1: $out"
else
    fail "slim image given https:// (wanted exit 1, one line naming the slim variant and tls): exit $rc: $out"
fi
for img in "$SLIM_IMAGE" "$PROBE_IMAGE"; do
    printf '  size  %-45s %9s bytes\n' "$img" "$(d image inspect -f '{{.Size}}' "$img")"
done
# Dockerfile.example's stages with the slim image in its probe stage: the slim binary seals too.
sed "s#^FROM ghcr.io/healthprobe/healthprobe:0.1 AS probe\$#FROM $SLIM_IMAGE AS probe#" \
    "$ctx/Dockerfile.test" >"$ctx/Dockerfile.slim"
if grep -q "^FROM $SLIM_IMAGE AS probe\$" "$ctx/Dockerfile.slim" \
    && build -f "$ctx/Dockerfile.slim" -t "$SLIM_EXAMPLE_IMAGE" "$ctx" >/dev/null; then
    pass "built the example image with FROM $SLIM_IMAGE AS probe (a sealed slim copy)"
    CYCLE_IMAGE="$SLIM_EXAMPLE_IMAGE" health_cycle slim --network none
else
    fail "docker build of the example image with the slim probe"
fi

# ------------------------------------------------------------------------------------------------
section "4. embedded: HEALTHCHECK [\"/app\", \"healthcheck\", ...] in an image without /healthprobe"
cat >"$ctx/Dockerfile.embedded" <<'DOCKERFILE'
FROM gcr.io/distroless/static-debian12:nonroot
COPY dist/linux-amd64/app /app
USER 65532:65532
HEALTHCHECK --interval=1s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/app", "healthcheck", "--timeout", "2s", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["/app"]
CMD ["serve", "--listen", "127.0.0.1:8080"]
DOCKERFILE
if build -f "$ctx/Dockerfile.embedded" -t "$EMBED_IMAGE" "$ctx" >/dev/null; then
    c="$RUN_ID-embedded"
    d run -d --name "$c" --label "$LABEL" --network none --read-only --cap-drop ALL "$EMBED_IMAGE" >/dev/null
    if wait_for "$c" healthy 20; then pass "embedded: healthy in ~${waited}s"; check_output "$c" healthy 0 "$URL"; else fail "embedded: never healthy"; fi
    if d exec "$c" /app healthcheck -X POST http://127.0.0.1:8080/flip >/dev/null && wait_for "$c" unhealthy 20; then
        pass "embedded: unhealthy in ~${waited}s after the flip"; check_output "$c" unhealthy 1 "$URL" 503
    else
        fail "embedded: never unhealthy after the flip"
    fi
    d rm -f "$c" >/dev/null
else
    fail "embedded: docker build"
fi

# ------------------------------------------------------------------------------------------------
section "5. Compose (examples/compose.yaml): web starts only after db is healthy"
command -v docker-compose >/dev/null 2>&1 || [ "$(id -u)" != 0 ] || "$ROOT/scripts/setup.sh" docker
if ! command -v docker-compose >/dev/null 2>&1; then
    if [ "${HEALTHPROBE_REQUIRE_DOCKER:-0}" = 1 ]; then fail "docker-compose is not installed"; else skip "docker-compose is not installed (apt-get install docker-compose)"; fi
else
    compose() { HEALTHPROBE_EXAMPLE_IMAGE="$APP_IMAGE" docker-compose -f "$ROOT/examples/compose.yaml" -p "$RUN_ID" "$@"; }
    t=$SECONDS
    COMPOSE_UP=1
    if HEALTHPROBE_EXAMPLE_IMAGE="$APP_IMAGE" timeout 120 docker-compose -f "$ROOT/examples/compose.yaml" \
        -p "$RUN_ID" up -d >"$work/compose.log" 2>&1; then
        pass "docker-compose up -d returned after $((SECONDS - t))s"
    else
        fail "docker-compose up -d:"; sed 's/^/    | /' "$work/compose.log"
    fi
    db="$(compose ps -q db 2>/dev/null)"; web="$(compose ps -q web 2>/dev/null)"
    if [ -n "$db" ] && [ -n "$web" ]; then
        verdict="$(d inspect "$db" "$web" | python3 -c '
import json, sys
from datetime import datetime
def ts(s):  # Docker: 2026-01-02T03:04:05.123456789Z
    s = s.rstrip("Z"); base, _, frac = s.partition(".")
    return datetime.fromisoformat(base).timestamp() + float("0." + (frac or "0"))
db, web = json.load(sys.stdin)
log = db["State"]["Health"]["Log"]
first_ok = next((e for e in log if e["ExitCode"] == 0), None)
web_start = ts(web["State"]["StartedAt"]); db_start = ts(db["State"]["StartedAt"])
if first_ok is None:
    print("FAIL no passing check in db log"); sys.exit()
healthy_at = ts(first_ok["End"])
# Docker keeps the last 5 results: with 5 logged (a loaded machine, compose slow to start web),
# the first passing one may be gone, so then every logged check must be after web could start
# only if db was already healthy: web started after the earliest logged passing check began.
ok = web_start > healthy_at if len(log) < 5 else web_start > ts(first_ok["Start"])
print("%s db started at +0.00s, db first passing check ended at +%.2fs (%d checks logged), web started at +%.2fs"
      % ("OK" if ok else "FAIL", healthy_at - db_start, len(log), web_start - db_start))')"
        if [[ "$verdict" == OK* ]]; then pass "compose: ${verdict#OK }"; else fail "compose: ${verdict#FAIL }"; fi
        if wait_for "$db" healthy 10; then pass "compose: db is healthy"; check_output "$db" healthy 0 "tcp://127.0.0.1:5432"; else fail "compose: db not healthy"; fi
        if wait_for "$web" healthy 20; then pass "compose: web is healthy in ~${waited}s more (http + tcp targets)"; else fail "compose: web not healthy"; fi
        got="$(last_log "$web")"
        if [[ "$got" == 0* ]] && [[ "$got" == *'http://127.0.0.1:8080/health'*'\n'*'tcp://127.0.0.1:5432'* ]]; then
            pass "compose: web's Output has one line per target"
        else
            fail "compose: web's last Output: $got"
        fi
    else
        fail "compose: containers not found (db='$db' web='$web')"; sed 's/^/    | /' "$work/compose.log"
    fi
    compose down --timeout 1 >/dev/null 2>&1 && COMPOSE_UP=
fi

# ------------------------------------------------------------------------------------------------
section "6. ENTRYPOINT [\"/healthprobe\", \"--wait\", \"30s\", \"tcp://127.0.0.1:5432\", \"--\", \"/app\", \"serve\", ...]"
help="$(d run --rm --label "$LABEL" --network none "$PROBE_IMAGE" --help 2>&1)"
if ! grep -q -- '--wait' <<<"$help"; then
    why="--wait: \`healthprobe --help\` does not list --wait; the --wait ... -- ENTRYPOINT tests did not run"
    if [ "${HEALTHPROBE_REQUIRE_DOCKER:-0}" = 1 ]; then fail "$why"; else skip "$why"; fi
else
    w="$RUN_ID-wait"; dep="$RUN_ID-dep"
    d run -d --name "$w" --label "$LABEL" --network none --read-only --cap-drop ALL --health-interval 1s \
        --entrypoint /healthprobe "$APP_IMAGE" \
        --wait 30s tcp://127.0.0.1:5432 -- /app serve --listen 127.0.0.1:8080 >/dev/null
    sleep 3
    pid="$(d inspect -f '{{.State.Pid}}' "$w")"
    before="$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)"
    if running "$w" && [ "$(status "$w")" != healthy ] && [[ "$before" == /healthprobe\ --wait* ]]; then
        pass "--wait: with nothing on 5432, PID 1 is still '$before' and the container is '$(status "$w")' after 3s"
    else
        fail "--wait: before the dependency: running=$(running "$w" && echo yes || echo no) status=$(status "$w") pid1='$before'"
        d logs "$w" 2>&1 | tail -n 5 | sed 's/^/    | /'
    fi
    # The dependency ("db"): another container in the same network namespace listens on 5432.
    d run -d --name "$dep" --label "$LABEL" --network "container:$w" --entrypoint /app "$APP_IMAGE" \
        serve --listen 127.0.0.1:5432 >/dev/null
    if wait_for "$w" healthy 20; then
        after="$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)"
        pass "--wait: the dependency came up, the container became healthy in ~${waited}s"
        if [ "$(d inspect -f '{{.State.Pid}}' "$w")" = "$pid" ] && [[ "$after" == "/app serve --listen 127.0.0.1:8080"* ]]; then
            pass "--wait: same PID 1 ($pid) now runs '$after' (exec, no fork)"
        else
            fail "--wait: PID 1 after exec: '$after'"
        fi
        line="$(d logs "$w" 2>&1 | grep -m1 'tcp://127.0.0.1:5432')"
        echo "    the waiting probe logged: ${line:-(nothing)}"
    else
        fail "--wait: never healthy after the dependency came up"; d logs "$w" 2>&1 | tail -n 5 | sed 's/^/    | /'
    fi
    d rm -f "$dep" "$w" >/dev/null
    t=$SECONDS
    out="$(d run --rm --label "$LABEL" --network none --entrypoint /healthprobe "$APP_IMAGE" \
        --wait 2s tcp://127.0.0.1:5432 -- /app serve --listen 127.0.0.1:8080 2>&1)"; rc=$?
    if [ "$rc" = 1 ] && [ $((SECONDS - t)) -lt 15 ] && [[ "$(tail -n 1 <<<"$out")" == unhealthy* ]]; then
        pass "--wait 2s with nothing listening: exit 1 after $((SECONDS - t))s, app not started: $(tail -n 1 <<<"$out")"
    else
        fail "--wait 2s with nothing listening: exit $rc after $((SECONDS - t))s: $out"
    fi
fi

# ------------------------------------------------------------------------------------------------
section "7. linux/arm64: the same Dockerfile with TARGETARCH=arm64"
have_arm64_tools() {
    rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-musl \
        && command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v qemu-aarch64-static >/dev/null 2>&1
}
# HEALTHPROBE_DOCKER_ARM64: 1 = build and check arm64 (installing the toolchain when missing),
# 0 = don't, auto (default) = when the toolchain is there, or always under HEALTHPROBE_REQUIRE_DOCKER=1.
arm64="${HEALTHPROBE_DOCKER_ARM64:-auto}"
[ "$arm64" = auto ] && [ "${HEALTHPROBE_REQUIRE_DOCKER:-0}" = 1 ] && arm64=1
if [ "$arm64" = 1 ] && ! have_arm64_tools; then
    "$ROOT/scripts/setup.sh" arm64 || fail "arm64: scripts/setup.sh arm64"
fi
if [ "$arm64" = 0 ] || { [ "$arm64" = auto ] && ! have_arm64_tools; }; then
    skip "arm64: HEALTHPROBE_DOCKER_ARM64=${arm64} and/or no aarch64 toolchain (scripts/setup.sh arm64)"
else
    t=$SECONDS
    if [ -n "${HEALTHPROBE_DOCKER_BIN_DIR:-}" ] && [ -f "$HEALTHPROBE_DOCKER_BIN_DIR/healthprobe-arm64" ]; then
        mkdir -p "$ctx/dist/linux-arm64" && cp "$HEALTHPROBE_DOCKER_BIN_DIR/healthprobe-arm64" "$ctx/dist/linux-arm64/healthprobe"
    elif OUT="$ctx" TARGET_DIR="$ROOT/target" "$ROOT/scripts/dist.sh" arm64 >/dev/null; then
        pass "arm64: cargo build --release --target aarch64-unknown-linux-musl --bin healthprobe ($((SECONDS - t))s)"
    else
        fail "arm64: cargo build for aarch64-unknown-linux-musl"
    fi
    bin="$ctx/dist/linux-arm64/healthprobe"
    if [ -f "$bin" ]; then
        machine="$(readelf -h "$bin" 2>/dev/null | sed -n 's/^ *Machine: *//p')"
        if [ "$machine" = AArch64 ] && ! readelf -lW "$bin" | grep -q INTERP; then
            pass "arm64: static AArch64 executable ($(stat -c %s "$bin") bytes)"
        else
            fail "arm64: $bin is '$machine' (or dynamic)"
        fi
        ARM_IMAGE="healthprobe-arm64:$RUN_ID"
        # BuildKit, which sets TARGETARCH from --platform itself. The legacy builder can't build a
        # foreign-platform image FROM scratch (its intermediate images come out linux/amd64 and the
        # next step refuses them). A docker CLI without buildx can't use BuildKit, so this takes
        # Debian's docker.io client (20.10, BuildKit built in) when the one on PATH has no buildx.
        bk_docker="$DOCKER"
        "$DOCKER" buildx version >/dev/null 2>&1 || { [ -x /usr/bin/docker ] && bk_docker=/usr/bin/docker; }
        if DOCKER_BUILDKIT=1 "$bk_docker" build -q --platform linux/arm64 -f "$ROOT/Dockerfile" -t "$ARM_IMAGE" "$ctx" >"$work/arm64-build.log" 2>&1; then
            arch="$(d image inspect -f '{{.Os}}/{{.Architecture}}' "$ARM_IMAGE")"
            if [ "$arch" = linux/arm64 ]; then
                pass "arm64: DOCKER_BUILDKIT=1 docker build --platform linux/arm64 (TARGETARCH from the platform): $arch, $(d image inspect -f '{{.Size}}' "$ARM_IMAGE") bytes"
            else
                fail "arm64: the image is $arch"
            fi
            # Run the binary that is *in the image* under qemu, against the demo app on the host's loopback.
            cid="$(d create --label "$LABEL" "$ARM_IMAGE" 2>/dev/null)"
            d cp "$cid:/healthprobe" "$work/healthprobe-arm64" && d rm "$cid" >/dev/null
            port=$((20000 + RANDOM % 20000))
            "$ctx/dist/linux-amd64/app" serve --listen "127.0.0.1:$port" 2>/dev/null & app_pid=$!
            for _ in $(seq 25); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
            out="$(qemu-aarch64-static "$work/healthprobe-arm64" --timeout 2s "http://127.0.0.1:$port/health" 2>&1)"; rc=$?
            if [ "$rc" = 0 ] && [[ "$out" == *healthy* ]]; then pass "arm64: under qemu-aarch64-static: $(tail -n 1 <<<"$out")"; else fail "arm64: under qemu: exit $rc: $out"; fi
            out="$(qemu-aarch64-static "$work/healthprobe-arm64" --timeout 2s "tcp://127.0.0.1:1" 2>&1)"; rc=$?
            if [ "$rc" = 1 ]; then pass "arm64: refused port -> exit 1: $out"; else fail "arm64: refused port: exit $rc: $out"; fi
            kill "$app_pid" 2>/dev/null; wait "$app_pid" 2>/dev/null
            d rmi "$ARM_IMAGE" >/dev/null 2>&1
        else
            fail "arm64: DOCKER_BUILDKIT=1 $bk_docker build --platform linux/arm64:"; sed 's/^/    | /' "$work/arm64-build.log" | tail -n 15
        fi
    fi
fi

# ------------------------------------------------------------------------------------------------
section "8. install: the probe copied into a volume for an image that has none (Kubernetes init container, Compose one-shot)"
# "your vendor's app" <- an image FROM scratch holding only /app (examples/app.rs), whose
# HEALTHCHECK runs /probe/healthprobe from a volume that `healthprobe install /probe` filled.
BARE_IMAGE="healthprobe-bare-app:$RUN_ID"
cat >"$ctx/Dockerfile.bare" <<'DOCKERFILE'
FROM scratch
COPY dist/linux-amd64/app /app
USER 65532:65532
HEALTHCHECK --interval=1s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/probe/healthprobe", "--timeout", "2s", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["/app"]
CMD ["serve", "--listen", "127.0.0.1:8080"]
DOCKERFILE
vol="$RUN_ID-probe"
if build -f "$ctx/Dockerfile.bare" -t "$BARE_IMAGE" "$ctx" >/dev/null && d volume create --label "$LABEL" "$vol" >/dev/null; then
    # A Kubernetes emptyDir is world-writable; a new Docker volume is root's 0755: open it up the same way.
    chmod 1777 "$(d volume inspect -f '{{.Mountpoint}}' "$vol")"
    out="$(d run --rm --label "$LABEL" --network none --read-only --cap-drop ALL --user 65532:65532 \
        -v "$vol:/probe" "$PROBE_IMAGE" install /probe 2>&1)"; rc=$?
    if [ "$rc" = 0 ] && [[ "$out" =~ ^installed\ /probe/healthprobe\ \(healthprobe\ [0-9.]+,\ [0-9.]+\ (MB|KB)\)$ ]]; then
        pass "docker run --user 65532:65532 --read-only $PROBE_IMAGE install /probe: $out"
    else
        fail "install /probe as 65532 (exit $rc): $out"
    fi
    c="$RUN_ID-bare"
    d run -d --name "$c" --label "$LABEL" --network none --read-only --cap-drop ALL -v "$vol:/probe:ro" "$BARE_IMAGE" >/dev/null
    first="$(status "$c")"
    if [ "$first" = starting ]; then pass "install: health is 'starting' right after docker run"; else fail "install: first status '$first'"; fi
    if wait_for "$c" healthy 20; then pass "install: starting -> healthy in ~${waited}s, checked by /probe/healthprobe"; check_output "$c" healthy 0 "$URL"; else fail "install: never healthy"; fi
    if d exec "$c" /probe/healthprobe -X POST http://127.0.0.1:8080/flip >/dev/null && wait_for "$c" unhealthy 20; then
        pass "install: healthy -> unhealthy in ~${waited}s after the flip"; check_output "$c" unhealthy 1 "$URL" 503
    else
        fail "install: never unhealthy after the flip"
    fi
    if d exec "$c" /probe/healthprobe -X POST http://127.0.0.1:8080/flip >/dev/null && wait_for "$c" healthy 20; then
        pass "install: unhealthy -> healthy in ~${waited}s after flipping back"
    else
        fail "install: never healthy again"
    fi
    d rm -f "$c" >/dev/null
    d volume rm "$vol" >/dev/null 2>&1
else
    fail "install: docker build of the bare app image or volume create"
fi
if command -v docker-compose >/dev/null 2>&1; then
    # `timeout` runs programs, not shell functions: the command is spelled out through `env`.
    icompose=(env HEALTHPROBE_IMAGE="$PROBE_IMAGE" HEALTHPROBE_APP_IMAGE="$BARE_IMAGE"
        docker-compose -f "$ROOT/examples/compose-install.yaml" -p "${RUN_ID}i")
    icompose() { "${icompose[@]}" "$@"; }
    if timeout 120 "${icompose[@]}" up -d >"$work/compose-install.log" 2>&1; then
        inst="$(icompose ps -q probe-install 2>/dev/null)"; app="$(icompose ps -q app 2>/dev/null)"
        code="$(d inspect -f '{{.State.ExitCode}} {{.State.Status}}' "$inst" 2>/dev/null)"
        if [ "$code" = "0 exited" ]; then pass "compose-install: probe-install ran once and exited 0"; else fail "compose-install: probe-install: $code"; fi
        if [ -n "$app" ] && wait_for "$app" healthy 20; then
            pass "compose-install: app healthy in ~${waited}s (examples/compose-install.yaml as written)"; check_output "$app" healthy 0 "$URL"
        else
            fail "compose-install: app not healthy"; sed 's/^/    | /' "$work/compose-install.log"
        fi
    else
        fail "compose-install: docker-compose up -d"; sed 's/^/    | /' "$work/compose-install.log"
    fi
    icompose down -v --timeout 1 >/dev/null 2>&1
else
    fail "compose-install: docker-compose is not installed (scripts/setup.sh docker)"
fi
d rmi "$BARE_IMAGE" >/dev/null 2>&1

# ------------------------------------------------------------------------------------------------
section "9. seal: the example image's sealed /healthcheck; an intruder with docker exec gets nothing from it"
c="$RUN_ID-intruded"
d run -d --name "$c" --label "$LABEL" --network none "$EXAMPLE_IMAGE" >/dev/null
# The listener: another container in the same network namespace, logging every connection.
d run -d --name "$c-listener" --label "$LABEL" --network "container:$c" --entrypoint /app "$EXAMPLE_IMAGE" \
    serve --listen 127.0.0.1:9999 --log >/dev/null
for _ in $(seq 25); do d logs "$c-listener" 2>&1 | grep -q serving && break; sleep 0.2; done
other="http://127.0.0.1:9999/"
intrude() {  # intrude WHAT ARGS...: each try exits 1 with one line
    local what=$1; shift
    local out rc; out="$(d exec "$c" /healthcheck "$@" 2>&1)"; rc=$?
    if [ "$rc" = 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ "$out" == *sealed* ]]; then
        pass "intruder: /healthcheck $what -> exit 1: $out"
    else
        fail "intruder: /healthcheck $what: exit $rc: $out"
    fi
}
intrude "another target" "$other"
intrude "--bearer-file of a secret" --bearer-file /etc/passwd "$other"
intrude "-- /app" "$other" -- /app serve --listen 127.0.0.1:9998
intrude "install /tmp" install /tmp
intrude "seal /tmp/x ..." seal /tmp/x "$other"
out="$(d exec -e HEALTHPROBE_TARGETS="$other" -e HEALTHPROBE_TIMEOUT=1ms -e http_proxy="$other" -e HTTP_PROXY="$other" \
    -e SSL_CERT_FILE=/etc/passwd "$c" /healthcheck 2>&1)"; rc=$?
if [ "$rc" = 0 ] && [[ "$out" == "healthy "*"$URL"* ]]; then
    pass "intruder: HEALTHPROBE_TARGETS, HEALTHPROBE_TIMEOUT, proxy and SSL_CERT_FILE in the environment are ignored: $out"
else
    fail "intruder: the environment changed the sealed check: exit $rc: $out"
fi
heard="$(d logs "$c-listener" 2>&1 | grep -c 'connection from')"
if [ "$heard" = 0 ]; then pass "intruder: the listener on 127.0.0.1:9999 heard no connection"; else fail "intruder: the listener heard $heard connections"; fi
# The listener does hear a probe that is not sealed (the app's embedded one): it can fail.
d exec "$c" /app healthcheck tcp://127.0.0.1:9999 >/dev/null 2>&1
heard="$(d logs "$c-listener" 2>&1 | grep -c 'connection from')"
if [ "$heard" = 1 ]; then pass "control: the listener logs the unsealed probe's connection"; else fail "control: the listener logged $heard connections, wanted 1"; fi
out="$(d exec "$c" /healthcheck --version 2>&1)"
if [[ "$out" == *"sealed: --timeout 2s $URL"* ]]; then pass "/healthcheck --version names the sealed check"; else fail "/healthcheck --version: $out"; fi
d rm -f "$c" "$c-listener" >/dev/null

# The init-container path: seal into a shared volume as UID 65532, as examples/compose-install.yaml
# does with install; the app image (only /app) runs the sealed copy from the volume.
cat >"$ctx/Dockerfile.bare-sealed" <<'DOCKERFILE'
FROM scratch
COPY dist/linux-amd64/app /app
USER 65532:65532
HEALTHCHECK --interval=1s --timeout=3s --start-period=5s --retries=3 CMD ["/probe/healthcheck"]
ENTRYPOINT ["/app"]
CMD ["serve", "--listen", "127.0.0.1:8080"]
DOCKERFILE
BARE_SEALED_IMAGE="healthprobe-bare-sealed:$RUN_ID"
vol="$RUN_ID-sealed"
if build -f "$ctx/Dockerfile.bare-sealed" -t "$BARE_SEALED_IMAGE" "$ctx" >/dev/null && d volume create --label "$LABEL" "$vol" >/dev/null; then
    chmod 1777 "$(d volume inspect -f '{{.Mountpoint}}' "$vol")"
    out="$(d run --rm --label "$LABEL" --network none --read-only --cap-drop ALL --user 65532:65532 \
        -v "$vol:/probe" "$PROBE_IMAGE" seal /probe/healthcheck --timeout 2s "$URL" 2>&1)"; rc=$?
    if [ "$rc" = 0 ] && [[ "$out" == "sealed /probe/healthcheck "* ]]; then pass "docker run --user 65532:65532 $PROBE_IMAGE seal /probe/healthcheck ...: $out"; else fail "seal into a volume (exit $rc): $out"; fi
    c="$RUN_ID-bare-sealed"
    d run -d --name "$c" --label "$LABEL" --network none --read-only -v "$vol:/probe:ro" "$BARE_SEALED_IMAGE" >/dev/null
    if wait_for "$c" healthy 20; then pass "seal into a volume: app healthy in ~${waited}s, checked by /probe/healthcheck"; check_output "$c" healthy 0 "$URL"; else fail "seal into a volume: never healthy"; fi
    d rm -f "$c" >/dev/null
    d volume rm "$vol" >/dev/null 2>&1
else
    fail "seal into a volume: docker build or volume create"
fi

# The slim binary, and the arm64 one under qemu when section 7 built it, seal and run on the host.
port=$((20000 + RANDOM % 20000))
"$ctx/dist/linux-amd64/app" serve --listen "127.0.0.1:$port" 2>/dev/null & app_pid=$!
for _ in $(seq 25); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
sealed_runs() {  # sealed_runs NAME RUNNER...: seal with RUNNER, run the copy with RUNNER
    local name=$1; shift
    local out rc copy="$work/sealed-$name"
    if out="$("$@" seal "$copy" --timeout 5s "http://127.0.0.1:$port/health" 2>&1)" \
        && out="$("${@:1:$#-1}" "$copy" 2>&1)" && [[ "$out" == healthy* ]]; then
        pass "$name: sealed, and the copy runs its check: $out"
    else
        fail "$name: seal or sealed run: $out"
    fi
    out="$("${@:1:$#-1}" "$copy" tcp://127.0.0.1:1 2>&1)"; rc=$?
    if [ "$rc" = 1 ] && [[ "$out" == *sealed* ]]; then pass "$name: the copy refuses another target: $out"; else fail "$name: sealed copy given a target: exit $rc: $out"; fi
}
sealed_runs slim env "$ctx/dist/linux-amd64/healthprobe-slim"
if [ -f "$work/healthprobe-arm64" ]; then
    chmod +x "$work/healthprobe-arm64"
    sealed_runs arm64 qemu-aarch64-static "$work/healthprobe-arm64"
fi
kill "$app_pid" 2>/dev/null; wait "$app_pid" 2>/dev/null
d rmi "$BARE_SEALED_IMAGE" >/dev/null 2>&1

summary
[ "$failed" = 0 ]
