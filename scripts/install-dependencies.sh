#!/usr/bin/env bash
# Installs what building, testing and running Protoqueue needs on Debian (bookworm): the C libraries and
# compilers from apt, nats-server, and a Python virtual environment (.venv) for the cross-language tests.
# Idempotent: installs only what is missing. Needs root or sudo for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
    libnats-dev          # nats.c 3.4.1
    libprotobuf-c-dev    # protobuf-c runtime
    protobuf-c-compiler  # protoc-gen-c
    protobuf-compiler    # protoc
    libprotobuf-dev      # google/protobuf/*.proto
    libprotoc-dev        # google/protobuf/compiler/plugin.proto (descriptor regeneration)
    nats-server          # the server the demo and the tests start
    pkg-config
    openssl              # certificates for the TLS tests
)
# A Python that is not Debian's (pyenv, for example) brings venv and pip itself.
if ! { command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; }; then
    apt_packages+=(python3 python3-venv python3-pip)
fi

missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "install-dependencies: apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
if ! command -v swift >/dev/null; then
    echo "install-dependencies: Swift 6.3 or later is required (https://www.swift.org/install/linux/); 'swift' is not on PATH" >&2
    exit 1
fi

if [ -f scripts/python-requirements.txt ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    stamp=.venv/requirements.installed
    if ! cmp -s scripts/python-requirements.txt "$stamp"; then
        .venv/bin/python -m pip install -q --disable-pip-version-check -r scripts/python-requirements.txt
        cp scripts/python-requirements.txt "$stamp"
    fi
fi
