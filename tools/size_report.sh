#!/usr/bin/env bash
# Lists the files of src/ and cli/ over 800 lines and the functions over 100 lines (from a
# definition's first line at column 0 to its closing brace at column 0), the limits
# docs/DESIGN.md sets. Tables (static data) are not functions and are not counted.
# Usage: tools/size_report.sh [--strict]   (--strict: exit 1 when something is over)
set -euo pipefail
cd "$(dirname "$0")/.."
over=0
for f in $(find src cli -name '*.[ch]' | sort); do
  n=$(wc -l < "$f")
  if [ "$n" -gt 800 ]; then echo "file     $f: $n lines"; over=1; fi
done
while IFS= read -r line; do echo "$line"; over=1; done < <(
  for f in $(find src cli -name '*.c' | sort); do
    awk -v f="$f" '
      # a definition: a line at column 0 with "(" (its signature may go on), then "{" ending a line
      !start && !sig && /^[A-Za-z_][^;=]*\(/ && !/;[ \t]*$/ { sig=NR; name=$0 }
      sig && !start && /\{[ \t]*$/ { start=sig; sig=0; next }
      sig && /;[ \t]*$/ { sig=0 }
      /^\}/ && start { len = NR - start + 1; if (len > 100) { sub(/\(.*/, "", name); printf "function %s:%d %s: %d lines\n", f, start, name, len }; start=0 }
    ' "$f"
  done)
if [ "$over" = 0 ]; then echo "size_report: no file over 800 lines, no function over 100"; fi
if [ "${1:-}" = --strict ] && [ "$over" = 1 ]; then exit 1; fi
exit 0
