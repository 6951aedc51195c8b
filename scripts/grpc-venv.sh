#!/usr/bin/env bash
# Makes <repo>/.venv (gitignored) hold grpcio and grpcio-health-checking from PyPI: the real
# gRPC health server tests start (tests/grpc/health_server.py). The list lives in
# scripts/setup.sh (group grpc); this name stays for the messages that point here.
set -euo pipefail
exec "$(dirname "$0")/setup.sh" grpc
