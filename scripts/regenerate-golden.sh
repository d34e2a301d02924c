#!/usr/bin/env bash
# Rewrites the generator's golden files (Tests/Golden/<set>/*.golden) from the current generator, after an intended
# change of its output. Review the diff before committing it: GoldenTests fails on any other change.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOQUEUE_REGENERATE_GOLDEN=1 swift test --filter GoldenTests
git status --short Tests/Golden
