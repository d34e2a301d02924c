#!/usr/bin/env bash
# Installs what is missing, starts a private nats-server on a free loopback port when NATS_URL is unset, and runs
# the demo: a producer enqueues a batch of typed EmailTask tasks and prints the queue's stats.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/setup-deps.sh"
swift build --product protoqueue-demo

SERVER_PID=""
STORE=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "$STORE" ]; then rm -rf "$STORE"; fi
}
trap cleanup EXIT
if [ -z "${NATS_URL:-}" ]; then
    PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    STORE="$(mktemp -d)"
    nats-server -js -a 127.0.0.1 -p "$PORT" -sd "$STORE" >"$STORE/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        if python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $PORT)))"; then break; fi
        sleep 0.1
    done
    export NATS_URL="nats://127.0.0.1:$PORT"
    echo "started nats-server (pid $SERVER_PID) at $NATS_URL"
fi
"$(swift build --product protoqueue-demo --show-bin-path)/protoqueue-demo" "$@"
