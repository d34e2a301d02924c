#!/usr/bin/env bash
# Runs the Protoqueue demo on a Debian machine, installing what is missing first. It uses the nats-server at
# NATS_URL when that is set, and otherwise starts a private one on a free 127.0.0.1 port for the demo's lifetime.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-dependencies.sh
[ -n "$(command -v swift)" ] || export PATH="/opt/swift/usr/bin:$PATH"

swift build -c release --product protoqueue-demo
exec scripts/with-nats-server.sh "$(swift build -c release --show-bin-path)/protoqueue-demo" "$@"
