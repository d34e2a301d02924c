#!/bin/sh
# Regenerates Sources/CProtoDescriptors from Debian's descriptor.proto (libprotobuf-dev) and
# compiler/plugin.proto (libprotoc-dev) with protoc-c (protobuf-c-compiler).
# Usage: scripts/regenerate-descriptors.sh [output-dir]   (default: Sources/CProtoDescriptors)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/Sources/CProtoDescriptors"}
include=${PROTOQUEUE_PROTO_INCLUDE:-/usr/include}
for f in google/protobuf/descriptor.proto google/protobuf/compiler/plugin.proto; do
    if [ ! -f "$include/$f" ]; then
        echo "error: $include/$f not found (install libprotobuf-dev and libprotoc-dev)" >&2
        exit 1
    fi
done
command -v protoc >/dev/null || { echo "error: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
command -v protoc-gen-c >/dev/null || { echo "error: protoc-gen-c not found (apt-get install protobuf-c-compiler)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
protoc --c_out="$tmp" --proto_path="$include" google/protobuf/descriptor.proto google/protobuf/compiler/plugin.proto
mkdir -p "$out/include/google/protobuf/compiler" "$out/google/protobuf/compiler"
cp "$tmp/google/protobuf/descriptor.pb-c.h" "$out/include/google/protobuf/descriptor.pb-c.h"
cp "$tmp/google/protobuf/compiler/plugin.pb-c.h" "$out/include/google/protobuf/compiler/plugin.pb-c.h"
cp "$tmp/google/protobuf/descriptor.pb-c.c" "$out/google/protobuf/descriptor.pb-c.c"
cp "$tmp/google/protobuf/compiler/plugin.pb-c.c" "$out/google/protobuf/compiler/plugin.pb-c.c"
