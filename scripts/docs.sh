#!/bin/sh
# Builds the DocC documentation of the Protoqueue, ProtoqueueCodec, ProtoqueueSchema and ProtoqueueTesting modules
# (their Documentation.docc catalogs and every public symbol) with swift-docc-plugin. Any DocC warning, such as a symbol
# link that does not resolve, fails the run. The archives land in .build/plugins/Swift-DocC/outputs/;
# `swift package --disable-sandbox preview-documentation --target Protoqueue` serves them locally. (Links from
# ProtoqueueTesting and ProtoqueueSchema to symbols of other modules do not resolve: write them in code voice
# there.)
set -eu
cd "$(dirname "$0")/.."
swift package generate-documentation --target ProtoqueueCodec --target ProtoqueueSchema --target Protoqueue --target ProtoqueueTesting \
    --enable-experimental-combined-documentation --warnings-as-errors
