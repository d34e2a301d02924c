#!/usr/bin/env bash
# Installs what the build and the tests need on Debian/Ubuntu when it is missing:
# the C libraries, protoc / protoc-c, nats-server, and a Python venv (.venv) with scripts/python-requirements.txt.
# The Swift toolchain (6.3 or newer) must already be installed. Sourced by scripts/test.sh and scripts/demo.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

need_apt=()
[ -f /usr/include/nats/nats.h ] || need_apt+=(libnats-dev)
[ -f /usr/include/protobuf-c/protobuf-c.h ] || need_apt+=(libprotobuf-c-dev)
command -v protoc >/dev/null 2>&1 || need_apt+=(protobuf-compiler)
command -v protoc-gen-c >/dev/null 2>&1 || need_apt+=(protobuf-c-compiler)
[ -f /usr/include/google/protobuf/descriptor.proto ] || need_apt+=(libprotobuf-dev)
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null 2>&1 || need_apt+=(nats-server)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing: ${need_apt[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "error: the Swift toolchain (6.3+) is not on PATH" >&2
    exit 1
fi

VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import nats, google.protobuf' >/dev/null 2>&1; then
    "$VENV/bin/pip" install -q -r "$ROOT/scripts/python-requirements.txt"
fi
export PROTOQUEUE_PYTHON="$VENV/bin/python"
export PATH="/usr/sbin:$PATH"
