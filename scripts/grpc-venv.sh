#!/usr/bin/env bash
# Makes <repo>/.venv (gitignored) hold grpcio and grpcio-health-checking from PyPI: the real
# gRPC health server tests/grpc.rs starts (tests/grpc/health_server.py). Idempotent: a second
# run installs nothing. scripts/setup.sh provides python3-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
if [ ! -x "$venv/bin/python" ]; then
  echo "grpc-venv: python3 -m venv $venv" >&2
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import grpc, grpc_health.v1.health' 2>/dev/null; then
  echo "grpc-venv: pip install grpcio grpcio-health-checking" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check grpcio grpcio-health-checking
fi
"$venv/bin/python" -c 'import grpc; print("grpc-venv: ready (grpcio " + grpc.__version__ + ")")' >&2
