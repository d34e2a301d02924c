#!/bin/sh
# Checks that the build-tool plugins fail with readable messages: a protoqueue.json naming a missing file, a
# schema that does not compile (protoc's file:line message), a well-known-type import, and a missing protoc.
# Works on a copy of the repository in a temporary directory; the real tree is not touched.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/protoqueue"
(cd "$root" && tar --exclude='./.build*' --exclude='./.venv' --exclude='./.git' --exclude='./Examples/*/.build' -cf - .) \
    | tar -xf - -C "$tmp/protoqueue"
example="$tmp/protoqueue/Examples/ScheduledReports"
schema="$example/schemas/reports/scheduled_report.proto"
config="$example/Sources/CReportSchemas/protoqueue.json"
cp "$schema" "$tmp/schema.orig"
cp "$config" "$tmp/config.orig"
failures=0

# expect <description> <extended regex the build output must match> [env assignments...]
expect() {
    description=$1
    pattern=$2
    shift 2
    touch "$example/Package.swift"  # SwiftPM caches plugin evaluation; edits to protoqueue.json need this
    if (cd "$example" && env "$@" swift build > "$tmp/out.txt" 2>&1); then
        echo "FAIL $description: the build succeeded"
        failures=$((failures + 1))
    elif grep -Eq "$pattern" "$tmp/out.txt"; then
        echo "OK   $description: $(grep -Em1 "$pattern" "$tmp/out.txt")"
    else
        echo "FAIL $description: no line matches /$pattern/ in:"
        cat "$tmp/out.txt"
        failures=$((failures + 1))
    fi
    cp "$tmp/schema.orig" "$schema"
    cp "$tmp/config.orig" "$config"
}

sed 's#"reports/common.proto"#"reports/missing.proto"#' "$tmp/config.orig" > "$config"
expect "missing file in protoqueue.json" "protoFiles names 'reports/missing.proto', which does not exist"

sed 's/  ReportFormat format = 3;/  ReportFormat format = 3/' "$tmp/schema.orig" > "$schema"
expect "schema syntax error" 'reports/scheduled_report\.proto:[0-9]+:[0-9]+: Expected ";"'

sed -e 's#^import "reports/common.proto";#import "reports/common.proto";\nimport "google/protobuf/timestamp.proto";#' \
    -e 's#^  repeated string recipients = 4;#  repeated string recipients = 4;\n  google.protobuf.Timestamp due = 7;#' \
    "$tmp/schema.orig" > "$schema"
expect "well-known type import" 'imports google/protobuf/timestamp\.proto \(google\.protobuf\.Timestamp\); well-known types are not supported'

expect "protoc missing" 'PROTOC_PATH=/nonexistent/protoc is not an executable file' PROTOC_PATH=/nonexistent/protoc

if [ "$failures" -ne 0 ]; then
    echo "error: $failures plugin error check(s) failed" >&2
    exit 1
fi
echo "All plugin error checks passed."
