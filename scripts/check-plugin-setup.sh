#!/bin/sh
# Checks that a package applying the build-tool plugins with a broken setup fails with a message naming the fix:
# a manifest without the experimentalCGen flag, and a C target without a header in include/. Builds a small
# temporary package that depends on this repository by path (SwiftPM builds only the generator, the plugins and
# ProtoqueueCodec from it); the correct setup is built and run first. The repository is not modified.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
identity=$(basename "$root")  # a path dependency's package identity is its directory name
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
package="$tmp/setup-check"
mkdir -p "$package/Sources/CSetup/include" "$package/Sources/Setup" "$package/Sources/setup-check"
write_manifest() {
    cat > "$package/Package.swift" <<MANIFEST
$1
import PackageDescription

let package = Package(
    name: "SetupCheck",
    dependencies: [.package(path: "$root")],
    targets: [
        .target(name: "CSetup", plugins: [.plugin(name: "ProtoqueueCGenerator", package: "$identity")]),
        .target(
            name: "Setup",
            dependencies: ["CSetup", .product(name: "ProtoqueueCodec", package: "$identity")],
            plugins: [.plugin(name: "ProtoqueueSwiftGenerator", package: "$identity")]
        ),
        .executableTarget(name: "setup-check", dependencies: ["Setup"]),
    ]
)
MANIFEST
}
good_manifest='// swift-tools-version: 6.3;(experimentalCGen)'
write_manifest "$good_manifest"
echo '// placeholder: SwiftPM needs a header of the target'"'"'s own' > "$package/Sources/CSetup/include/CSetup.h"
printf 'syntax = "proto3";\npackage setup;\nmessage Ping {\n  string text = 1;\n}\n' \
    > "$package/Sources/CSetup/ping.proto"
echo '@_exported public import ProtoqueueCodec' > "$package/Sources/Setup/Setup.swift"
printf 'import Setup\n\nprint(Ping(text: "hi"))\n' > "$package/Sources/setup-check/main.swift"
failures=0

output=$(cd "$package" && swift run setup-check 2>&1) || true
if [ "$(printf '%s\n' "$output" | tail -n 1)" = 'Ping(text: "hi")' ]; then
    echo "OK   correct setup builds and runs"
else
    printf '%s\n' "$output"
    echo "FAIL correct setup: expected the last line 'Ping(text: \"hi\")'"
    failures=$((failures + 1))
fi

# expect <description> <fixed string the failing build's output must contain>
expect() {
    if (cd "$package" && swift build > "$tmp/out.txt" 2>&1); then
        echo "FAIL $1: the build succeeded"
        failures=$((failures + 1))
    elif grep -qF "$2" "$tmp/out.txt"; then
        echo "OK   $1: $(grep -F "$2" "$tmp/out.txt" | head -n 1)"
    else
        echo "FAIL $1: no line contains '$2' in:"
        cat "$tmp/out.txt"
        failures=$((failures + 1))
    fi
}

write_manifest '// swift-tools-version: 6.3'
expect "manifest without experimentalCGen" \
    "Package.swift: ProtoqueueCGenerator adds generated C to target 'CSetup', which SwiftPM allows only with an \
experimental manifest flag: make the first line of the manifest '// swift-tools-version: 6.3;(experimentalCGen)'"
write_manifest "$good_manifest"

mv "$package/Sources/CSetup/include" "$tmp/include"
expect "C target without include/" \
    "error: Setup: C target CSetup has no include/ directory, so SwiftPM skips it"
mv "$tmp/include" "$package/Sources/CSetup/include"

if [ "$failures" -ne 0 ]; then
    echo "error: $failures plugin setup check(s) failed" >&2
    exit 1
fi
echo "All plugin setup checks passed."
