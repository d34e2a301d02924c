#!/bin/sh
# Builds and runs Examples/ScheduledReports, a separate package that depends on this one by path and compiles
# its own .proto files with both build-tool plugins, then checks what it prints.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
example="$root/Examples/ScheduledReports"
output=$(cd "$example" && swift run scheduled-reports 2>&1) || {
    echo "$output" >&2
    echo "error: building or running Examples/ScheduledReports failed" >&2
    exit 1
}
echo "$output"
expected='report=monthly-revenue range=2026-10-01..2026-10-31 format=pdf
recipients=cfo@example.com,ops@example.com filters=currency=EUR,region=EMEA maxRows=500
round trip: equal
ScheduledReport(reportID: "monthly-revenue", range: DateRange(from: "2026-10-01", to: "2026-10-31"), format: .pdf, recipients: ["cfo@example.com", "ops@example.com"], filters: ["currency": "EUR", "region": "EMEA"], maxRows: 500)'
actual=$(printf '%s\n' "$output" | grep -E '^(report=|recipients=|round trip:|ScheduledReport\()')
if [ "$actual" != "$expected" ]; then
    echo "error: Examples/ScheduledReports printed" >&2
    echo "$actual" >&2
    echo "expected" >&2
    echo "$expected" >&2
    exit 1
fi
echo "Examples/ScheduledReports: OK"
