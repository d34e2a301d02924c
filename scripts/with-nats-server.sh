#!/usr/bin/env bash
# Runs a command with NATS_URL pointing at a JetStream-enabled nats-server.
# When NATS_URL is already set, that server is used as it is. Otherwise a private nats-server is started on a
# free 127.0.0.1 port with a temporary store directory, and stopped (by its own pid) when the command ends.
#   scripts/with-nats-server.sh swift run protoqueue-demo
set -euo pipefail

if [ -n "${NATS_URL:-}" ]; then
    exec "$@"
fi

server=${NATS_SERVER_BIN:-$(command -v nats-server || true)}
if [ -z "$server" ]; then
    echo "with-nats-server: nats-server not found (apt-get install nats-server, or set NATS_URL)" >&2
    exit 1
fi

store=$(mktemp -d -t protoqueue-nats.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$server" -js -a 127.0.0.1 -p "$port" -sd "$store" -l "$store/server.log" &
server_pid=$!
cleanup() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    rm -rf "$store"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    grep -q "Server is ready" "$store/server.log" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$store/server.log" >&2; exit 1; }
    sleep 0.05
done
grep -q "Server is ready" "$store/server.log" || { echo "with-nats-server: server did not start" >&2; exit 1; }

export NATS_URL="nats://127.0.0.1:$port"
echo "with-nats-server: private nats-server $("$server" --version | awk '{print $2}') at $NATS_URL (pid $server_pid)" >&2
status=0
"$@" || status=$?
exit "$status"
