#!/usr/bin/env bash
# Checks the Swift sources against .swift-format (swift format lint --strict), the 120-column limit, which
# swift-format does not enforce on lines it cannot break (long string literals and comments), and the 400-line limit
# of the files under Sources. Exits non-zero on any violation. `scripts/lint.sh --fix` formats the files in place first.
set -euo pipefail
cd "$(dirname "$0")/.."

files=()
while IFS= read -r file; do files+=("$file"); done < <(
    git ls-files -- 'Sources/*.swift' 'Tests/*.swift' 'Plugins/*.swift' 'Examples/*.swift' 'Package.swift'
)
if [ "${1:-}" = "--fix" ]; then
    swift format format --in-place --parallel "${files[@]}"
fi
status=0
swift format lint --strict --parallel "${files[@]}" || status=1
# Characters, not bytes (mawk's length counts bytes, so a line with a few en-dashes read as too long).
long=$(python3 - "${files[@]}" <<'PY'
import sys
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as source:
        for number, line in enumerate(source, 1):
            width = len(line.rstrip("\n"))
            if width > 120:
                print(f"{path}:{number}: line of {width} columns (limit 120)")
PY
)
if [ -n "$long" ]; then
    echo "$long"
    status=1
fi
# A file per main type: no Swift file under Sources over 400 lines.
big=$(for file in "${files[@]}"; do
    case "$file" in
        Sources/*) lines=$(wc -l < "$file"); [ "$lines" -gt 400 ] && echo "$file: $lines lines (limit 400)" ;;
    esac
done || true)
if [ -n "$big" ]; then
    echo "$big"
    status=1
fi
[ "$status" -eq 0 ] && echo "lint: ${#files[@]} files clean"
exit "$status"
