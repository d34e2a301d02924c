#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs the whole test suite.
# Integration tests start their own nats-server on 127.0.0.1 (or use NATS_URL); with CI=true a missing
# nats-server or Python package fails the run instead of skipping.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/setup-deps.sh"
swift build --build-tests -Xswiftc -warnings-as-errors
swift test --skip-build
