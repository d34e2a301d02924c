#!/bin/sh
# Builds and checks Examples/ScheduledReports, a separate package that depends on this one by path, compiles its own
# .proto files with both build-tool plugins, and serves two task types with one QueueWorker:
# 1. its unit tests (ProtoqueueTesting's in-memory server) run with no nats-server reachable: every directory that
#    holds one is taken off PATH, and NATS_URL is unset;
# 2. its executable runs against a private nats-server (or NATS_URL), and the summary it prints is checked;
# 3. its dependency graph (only the library products) holds no observability backend (swift-otel, swift-prometheus).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
example="$root/Examples/ScheduledReports"
cd "$example"

swift build --build-tests

# The library products stay light: a package that depends only on them must not pull in an observability backend.
dependencies=$(swift package show-dependencies 2>/dev/null)
if printf '%s\n' "$dependencies" | grep -Ei 'swift-otel|swift-prometheus|hummingbird|grpc'; then
    echo "error: the Protoqueue library products depend on an observability backend:" >&2
    printf '%s\n' "$dependencies" >&2
    exit 1
fi
echo "dependencies of a package using only the library products:"
printf '%s\n' "$dependencies" | grep -E '^[│├└ ]'

no_server_path=
old_ifs=$IFS
IFS=:
for dir in $PATH; do
    [ -x "$dir/nats-server" ] || no_server_path="${no_server_path:+$no_server_path:}$dir"
done
IFS=$old_ifs
if env PATH="$no_server_path" sh -c 'command -v nats-server' > /dev/null 2>&1; then
    echo "error: nats-server is still on the reduced PATH" >&2
    exit 1
fi
echo "handler tests without nats-server (PATH=$no_server_path, NATS_URL unset)"
env -u NATS_URL PATH="$no_server_path" swift test --skip-build

output=$("$root/scripts/with-nats-server.sh" "$(swift build --show-bin-path)/scheduled-reports") || {
    echo "$output" >&2
    echo "error: running Examples/ScheduledReports failed" >&2
    exit 1
}
echo "$output"
expected='renders: monthly-revenue=1 quarterly-forecast=1 weekly-signups=2
mailed: monthly-revenue -> cfo@example.com,ops@example.com; weekly-signups -> growth@example.com
dead letter: quarterly-forecast reason=failed attempts=1 error=no report definition named '"'"'quarterly-forecast'"'"'
left: reports=0 report-deliveries=0'
actual=$(printf '%s\n' "$output" | grep -E '^(renders|mailed|dead letter|left):')
if [ "$actual" != "$expected" ]; then
    echo "error: Examples/ScheduledReports printed" >&2
    echo "$actual" >&2
    echo "expected" >&2
    echo "$expected" >&2
    exit 1
fi
echo "Examples/ScheduledReports: OK"
