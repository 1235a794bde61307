#!/usr/bin/env bash
# The include rule of docs/DESIGN.md ("Layers of the code"): each folder of src/ includes only
# its own headers and those of the folders its row of the table names; cli/ includes only the
# public header and its own. The rule is read from the table itself, so the document and the
# check cannot drift apart. Exits 1, listing every offending #include, when the rule is broken.
set -euo pipefail
cd "$(dirname "$0")/.."
table=docs/DESIGN.md
declare -A allowed
while IFS='|' read -r _ folder _ may _; do
  folder=$(echo "$folder" | tr -d ' `'); folder=${folder#src/}; folder=${folder%/}
  may=$(echo "$may" | tr -d '`' | sed 's|src/||g; s|/||g; s|backendcpu|backend/cpu|g; s|—||g; s|,| |g')
  allowed[$folder]=$may
done < <(grep -E '^\| `src/[a-z/]+` \|' "$table")
[ ${#allowed[@]} -gt 0 ] || { echo "check_layers: no folder table found in $table"; exit 1; }
bad=0
for dir in $(find src -mindepth 1 -type d | sort); do
  folder=${dir#src/}
  [ -n "$(find "$dir" -maxdepth 1 -name '*.[ch]' -print -quit)" ] || continue
  if [ -z "${allowed[$folder]+set}" ]; then
    echo "check_layers: $dir has no row in $table"; bad=1; continue
  fi
  for f in "$dir"/*.[ch]; do
    while IFS= read -r inc; do
      path=$(realpath -m --relative-to=src "$(dirname "$f")/$inc")
      [ "$inc" = nnc.h ] && continue
      target=$(dirname "$path")
      [ "$target" = "$folder" ] && continue
      ok=0
      for a in ${allowed[$folder]}; do [ "$target" = "$a" ] && ok=1; done
      if [ $ok = 0 ]; then echo "$f: includes \"$inc\" ($target/), which $folder/ may not"; bad=1; fi
    done < <(grep -ho '^#include "[^"]*"' "$f" | sed 's/#include "//; s/"$//')
  done
done
# The command line tool is a client of the public API.
for f in cli/*.[ch]; do
  while IFS= read -r inc; do
    case "$inc" in nnc.h|nnc_version.h) ;; */*) echo "$f: includes \"$inc\": cli/ uses include/nnc.h only"; bad=1 ;; esac
  done < <(grep -ho '^#include "[^"]*"' "$f" | sed 's/#include "//; s/"$//')
done
[ $bad = 0 ] && echo "check_layers: every include follows docs/DESIGN.md"
exit $bad
