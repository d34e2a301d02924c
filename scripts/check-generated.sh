#!/bin/sh
# Fails when the committed Sources/CProtoDescriptors differs from a fresh protoc-c run.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$root/scripts/regenerate-descriptors.sh" "$tmp/CProtoDescriptors"
if ! diff -ru "$root/Sources/CProtoDescriptors" "$tmp/CProtoDescriptors" > "$tmp/drift.diff"; then
    cat "$tmp/drift.diff" >&2
    echo "error: Sources/CProtoDescriptors is out of date with protoc-c $(protoc-gen-c --version 2>/dev/null | head -n 1)." >&2
    echo "       Run scripts/regenerate-descriptors.sh and commit the result." >&2
    exit 1
fi
echo "Sources/CProtoDescriptors matches a fresh protoc-c run."
