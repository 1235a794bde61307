#!/usr/bin/env bash
# CI: nnc as a user installs and links it. Installs into a temporary prefix and then moves the
# prefix, so that nothing may depend on where it was installed or where it was built; checks
# that no installed file names the source tree and that libnnc.so exports only nnc_ symbols;
# then, in a folder outside the tree and with NNC_DATA_DIR unset, builds the README's "Use nnc
# from your project" program with pkg-config (shared library) and with CMake's find_package
# (nnc::nnc and nnc::nnc_static), runs them, and trains the installed `nnc` on a bundled set.
# Last, with the prefix's data renamed, `nnc` and the program must fail naming the folders they
# tried: the data they used came from the prefix, not from the source tree.
#
# The source tree is only read, never changed (so an interrupted run cannot leave it broken):
# what keeps the source tree's data/ out of reach is that no source path is compiled in,
# which the grep below checks, and the failing runs at the end show.
#
# Usage: .ci/install_check.sh [BUILD_DIR]
#   BUILD_DIR  an existing build to install from (CI passes build/, the README's test build);
#              without it, a fresh Release build (tests and examples off) in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
start=$SECONDS
fail() { echo "install_check: FAILED: $*" >&2; exit 1; }
unset NNC_DATA_DIR

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q pkgconf >/dev/null || { apt-get update -q && apt-get install -y -q pkgconf >/dev/null; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case "$work/" in "$src"/*) fail "the temporary folder $work is inside the source tree" ;; esac

if [ $# -ge 1 ]; then
  build=$(cd "$1" && pwd)
  echo "== install_check: installing from $build"
else
  build=$work/build
  echo "== install_check: a fresh Release build in $build"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNNC_WERROR=ON -DNNC_BUILD_TESTS=OFF \
    -DNNC_BUILD_EXAMPLES=OFF >/dev/null
fi
cmake --build "$build" -j2 >/dev/null
built=$SECONDS

cmake --install "$build" --prefix "$work/installed" >/dev/null
mv "$work/installed" "$work/prefix"
P=$work/prefix
pc=$(find "$P" -name nnc.pc -path '*/pkgconfig/*' | head -1)
[ -n "$pc" ] || fail "no nnc.pc under the prefix"
export PKG_CONFIG_PATH=${pc%/nnc.pc}
version=$(pkg-config --modversion nnc)
libdir=$(realpath "$(pkg-config --variable=libdir nnc)")
[ -f "$libdir/libnnc.so" ] && [ -f "$libdir/libnnc.a" ] || fail "libnnc.so or libnnc.a missing in $libdir"
echo "install_check: nnc $version installed, prefix moved to $P"

# Neither the source tree, the build folder nor the first prefix may be named in what was
# installed (the data would be found through them, or the prefix could not move).
for path in "$src" "$build" "$work/installed"; do
  if grep -rlF "$path" "$P"; then fail "the files above contain $path"; fi
done
extra=$(nm -D --defined-only "$libdir/libnnc.so" | awk '$3 !~ /^nnc_/ {print $3}')
[ -z "$extra" ] || fail "libnnc.so exports symbols outside the API: $extra"
echo "install_check: no build path in the prefix; libnnc.so exports only nnc_ symbols"

# The README's program and CMakeLists.txt, word for word, plus a static twin.
app=$work/app
mkdir -p "$app"
awk '/^## Use nnc from your project/ {s = 1; next} s && /^## / {exit} s' README.md > "$work/section.md"
awk '/^```c$/ {f = 1; next} f && /^```$/ {exit} f' "$work/section.md" > "$app/app.c"
awk '/^```cmake$/ {f = 1; next} f && /^```$/ {exit} f' "$work/section.md" > "$app/CMakeLists.txt"
[ -s "$app/app.c" ] && [ -s "$app/CMakeLists.txt" ] || fail "README.md's \"Use nnc from your project\" has no \`\`\`c or \`\`\`cmake block"
printf 'add_executable(app_static app.c)\ntarget_link_libraries(app_static PRIVATE nnc::nnc_static)\n' \
  >> "$app/CMakeLists.txt"

# Runs the program; it must print both versions and a trained model's accuracy.
check_app() {
  local out
  out=$("$@") || fail "'$*' exited non-zero: $out"
  echo "$out" | sed 's/^/  /'
  echo "$out" | grep -qxF "nnc $version (headers $version)" || fail "'$*' printed the wrong version"
  echo "$out" | grep -q '^loss: [0-9.]* - accuracy: [0-9.]*$' || fail "'$*' printed no accuracy"
}

echo "== install_check: pkg-config, shared library"
cd "$app"
cc -std=c11 -Wall -Wextra -Werror app.c -o app_pc $(pkg-config --cflags --libs nnc) -Wl,-rpath,"$libdir"
ldd ./app_pc | grep -qF "libnnc.so.0 => $libdir/libnnc.so.0" || fail "app_pc does not load the installed libnnc.so.0"
check_app ./app_pc
pkg-config --static --libs nnc | grep -q -- '-lz' || fail "pkg-config --static --libs nnc lacks zlib"

echo "== install_check: CMake find_package(nnc 0.1), nnc::nnc and nnc::nnc_static"
cmake -S . -B build -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
cmake --build build -j2 >/dev/null
check_app ./build/app
if ldd ./build/app_static | grep -q libnnc; then fail "app_static loads libnnc.so"; fi
# Linked statically and living outside the prefix, it finds the data only through NNC_DATA_DIR.
check_app env NNC_DATA_DIR="$P/share/nnc/data" ./build/app_static
mkdir "$work/v"
printf 'cmake_minimum_required(VERSION 3.18)\nproject(v C)\nfind_package(nnc 1.0 REQUIRED)\n' > "$work/v/CMakeLists.txt"
if cmake -S "$work/v" -B "$work/v/build" -DCMAKE_PREFIX_PATH="$P" >/dev/null 2>&1; then
  fail "find_package(nnc 1.0) accepted nnc $version"
fi

echo "== install_check: the installed nnc on the bundled digits"
mkdir "$work/run"
cp "$src/examples/digits.nnc" "$work/run/"
cd "$work/run"
# line 1 the version, line 2 the product kernels this CPU runs (and how they were chosen)
[ "$("$P/bin/nnc" --version | head -n 1)" = "nnc $version" ] || fail "bin/nnc --version is not nnc $version"
"$P/bin/nnc" --version | sed -n 2p | grep -q '^kernels: float ' || fail "bin/nnc --version names no kernels"
"$P/bin/nnc" train digits.nnc --data digits --epochs 2 --test-split 0.2 > train.out ||
  fail "bin/nnc train exited non-zero: $(cat train.out)"
tail -n 1 train.out | grep -q '^test_loss: [0-9.]* - test_accuracy: [0-9.]*$' || fail "bin/nnc train: $(tail -n 3 train.out)"
tail -n 1 train.out | sed 's/^/  /'

echo "== install_check: without the prefix's data, both fail and say where they looked"
mv "$P/share/nnc/data" "$P/share/nnc/data.away"
for cmd in "$P/bin/nnc train digits.nnc --data digits --epochs 1" "$app/app_pc"; do
  if $cmd > out.txt 2> err.txt; then fail "'$cmd' ran without the prefix's data"; fi
  grep -q "bundled dataset '[a-z]*' not found.*looked in .*$P/" err.txt || fail "'$cmd': $(cat err.txt)"
  sed 's/^/  /' err.txt
done
mv "$P/share/nnc/data.away" "$P/share/nnc/data"

echo "install_check: passed in $((SECONDS - built)) s after the build ($((built - start)) s)"
