#!/usr/bin/env bash
# Rewrites the generated tables of docs/SPEC.md (between its BEGIN and END markers) from the
# descriptors, with the docgen tool of a build tree (default build/). The test spec/docs_current
# fails when this has not been run after a change to a layer, optimizer or schedule.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake --build "$build" --target nnc_docgen >/dev/null
"$build/nnc_docgen" > "$build/spec_docs.md"
python3 - "$build/spec_docs.md" <<'PY'
import sys
gen = open(sys.argv[1]).read()
doc = open('docs/SPEC.md').read()
begin, end = gen.splitlines(True)[0], gen.splitlines(True)[-1]
i, j = doc.index(begin), doc.index(end) + len(end)
open('docs/SPEC.md', 'w').write(doc[:i] + gen + doc[j:])
PY
echo "docs/SPEC.md: generated tables updated"
