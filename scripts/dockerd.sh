#!/usr/bin/env bash
# Start or stop a Docker engine for healthprobe's real-engine tests.
#
#   scripts/dockerd.sh start   # install docker.io (+ docker-compose) if missing, start dockerd, wait
#   scripts/dockerd.sh stop    # stop the dockerd that `start` started, and nothing else
#   scripts/dockerd.sh status  # say whether an engine answers
#
# The engine runs the way this kind of machine allows (no bridge, no iptables, vfs storage):
#   dockerd --storage-driver=vfs --iptables=false --bridge=none
# so containers use `--network none` (or `host`) and check themselves over loopback.
#
# Idempotent: when an engine already answers `docker info`, `start` uses it and `stop` leaves it
# alone; `stop` only ever signals the pid recorded in our own pidfile.
#
# Environment:
#   HEALTHPROBE_DOCKERD_ROOT  where our engine keeps its state (default /var/lib/healthprobe-dockerd)
#   HEALTHPROBE_DOCKERD_WAIT  seconds to wait for the engine to answer (default 30)
#   DOCKER                    the docker client to use (default: docker on PATH)
set -euo pipefail

ROOT="${HEALTHPROBE_DOCKERD_ROOT:-/var/lib/healthprobe-dockerd}"
WAIT="${HEALTHPROBE_DOCKERD_WAIT:-30}"
DOCKER="${DOCKER:-docker}"
PIDFILE="$ROOT/dockerd.pid"
LOG="$ROOT/dockerd.log"
SOCK="/var/run/docker.sock"

say() { printf 'dockerd.sh: %s\n' "$*" >&2; }

engine_answers() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_installed() {
    # A docker *client* may already be on the machine (e.g. /usr/local/bin/docker); the engine
    # itself comes from Debian's docker.io. The list lives in scripts/setup.sh (group docker).
    "$(dirname "$0")/setup.sh" docker
}

our_pid() {
    # The pid in our pidfile, if that process is still a dockerd.
    [ -s "$PIDFILE" ] || return 1
    local pid
    pid="$(cat "$PIDFILE")"
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = dockerd ] || return 1
    # A killed dockerd whose parent has not reaped it yet is a zombie: not running.
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
    printf '%s\n' "$pid"
}

start() {
    ensure_installed
    if engine_answers; then
        if our_pid >/dev/null; then
            say "our engine is already running (pid $(our_pid))"
        else
            say "an engine already answers; using it (stop will leave it alone)"
        fi
        return 0
    fi
    if pid="$(our_pid)"; then
        say "our dockerd (pid $pid) is running but does not answer yet; waiting"
    else
        if [ -S "$SOCK" ]; then
            say "removing stale socket $SOCK (nothing answers on it)"
            as_root rm -f "$SOCK"
        fi
        as_root mkdir -p "$ROOT/data" "$ROOT/exec"
        local dockerd
        dockerd="$(command -v dockerd || echo /usr/sbin/dockerd)"
        say "starting $dockerd (data-root $ROOT/data, log $LOG)"
        # setsid + nohup: the engine outlives this script and its caller's process group.
        as_root setsid nohup "$dockerd" \
            --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
            --data-root "$ROOT/data" --exec-root "$ROOT/exec" --pidfile "$PIDFILE" \
            --host "unix://$SOCK" \
            >"$LOG" 2>&1 </dev/null &
    fi
    local i t0=$SECONDS
    for ((i = 0; i < WAIT * 4; i++)); do
        if engine_answers; then
            say "engine answers after $((SECONDS - t0)) s: $("$DOCKER" version -f 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null)"
            return 0
        fi
        sleep 0.25
    done
    say "engine did not answer within ${WAIT} s; last lines of $LOG:"
    tail -n 20 "$LOG" >&2 || true
    return 1
}

stop() {
    local pid
    if ! pid="$(our_pid)"; then
        if engine_answers; then
            say "the engine that answers is not ours; leaving it alone"
        else
            say "no engine of ours is running"
        fi
        return 0
    fi
    say "stopping our dockerd (pid $pid)"
    as_root kill -TERM "$pid"
    local i
    for ((i = 0; i < 120; i++)); do
        [ -d "/proc/$pid" ] || { say "stopped"; rm -f "$PIDFILE"; return 0; }
        sleep 0.25
    done
    say "dockerd (pid $pid) did not stop in 30 s; sending KILL"
    as_root kill -KILL "$pid" || true
    rm -f "$PIDFILE"
}

status() {
    if engine_answers; then
        if pid="$(our_pid)"; then say "engine answers (ours, pid $pid)"; else say "engine answers (not ours)"; fi
    else
        say "no engine answers"
        return 1
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 1 ;;
esac
