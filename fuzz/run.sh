#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of fuzz/ (see fuzz/README.md).
#
#   fuzz/run.sh ci              build, replay every seed corpus, then a short seeded run per
#                               target; exits non-zero on any crash, leak or sanitizer report
#   fuzz/run.sh long [SECONDS]  fuzz each target for SECONDS (default 300); new inputs go to
#                               build-fuzz/findings/<target>/, crashes to build-fuzz/artifacts/
#
# Needs clang and libFuzzer's runtime (Debian: clang libclang-rt-14-dev). The build lives in
# build-fuzz/ (NNC_FUZZ_BUILD overrides), apart from the normal build. The committed corpus is
# only read, never written: merging finds into it is a deliberate step (fuzz/README.md).
# Out of scope: coverage reports, and the targets themselves (fuzz/fuzz_*.c).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-ci}
build=${NNC_FUZZ_BUILD:-build-fuzz}
jobs=${NNC_FUZZ_JOBS:-2}            # ci: targets fuzzed at once

case "$mode" in
  ci|long) ;;
  *) echo "usage: fuzz/run.sh ci | long [SECONDS]" >&2; exit 2 ;;
esac

# Inputs longer than this are not tried; model files need more room than the text formats
# (a 4-layer functional model saved with its optimizer state is about 4.6 KB).
max_len() { case "$1" in model|keras_config) echo 8192 ;; *) echo 4096 ;; esac; }
# ci: executions per target after the replay, a few seconds each on one core (the parsers
# run at very different speeds); NNC_FUZZ_RUNS sets one count for all.
runs_for() {
  if [ -n "${NNC_FUZZ_RUNS:-}" ]; then echo "$NNC_FUZZ_RUNS"; return; fi
  case "$1" in csv) echo 300000 ;; idx) echo 1000000 ;; *) echo 40000 ;; esac
}
# A target's dictionary (fuzz/<target>.dict), when there is one.
dict_for() { if [ -f "fuzz/$1.dict" ]; then echo "-dict=fuzz/$1.dict"; fi; }

echo "== fuzz: build ($build, clang, -fsanitize=fuzzer,address,undefined)"
CC=${NNC_FUZZ_CC:-clang} cmake -S . -B "$build" -DNNC_FUZZ=ON -DNNC_BUILD_TESTS=OFF \
  -DNNC_BUILD_EXAMPLES=OFF -DNNC_SANITIZE=OFF -DNNC_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" --target fuzz_all -j"$jobs" >/dev/null

targets=()
for t in csv idx model keras_config spec; do
  if [ -x "$build/fuzz/fuzz_$t" ]; then targets+=("$t"); else echo "fuzz: fuzz_$t not built (see the cmake output), skipped"; fi
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/artifacts" "$build/logs"

# Runs one target; its libFuzzer output goes to a log, one summary line to stdout. On a crash
# the log's tail is printed and the status is non-zero.
run_target() {
  local t=$1 what=$2; shift 2
  local log="$build/logs/$t-$what.log"
  # shellcheck disable=SC2046
  if "$build/fuzz/fuzz_$t" -max_len="$(max_len "$t")" -artifact_prefix="$build/artifacts/$t-" \
       -print_final_stats=1 $(dict_for "$t") "$@" >"$log" 2>&1; then
    local n
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "fuzz: $t $what: ${n:-?} executions, no crash"
  else
    echo "fuzz: $t $what: CRASH (log: $log)"
    tail -n 60 "$log"
    ls "$build/artifacts/$t-"* 2>/dev/null | sed 's/^/fuzz: reproducer: /'
    return 1
  fi
}

status=0
if [ "$mode" = ci ]; then
  rm -f "$build/artifacts/"*
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/nnc-fuzz-XXXXXX")
  trap 'rm -rf "$scratch"' EXIT
  for t in "${targets[@]}"; do
    run_target "$t" replay "fuzz/corpus/$t" -runs=0 || status=1
  done
  # The seeded runs, $jobs at a time; new inputs go to a scratch folder (the first corpus
  # folder is where libFuzzer writes), the committed corpus is only read.
  pids=()
  for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t"
    run_target "$t" "seed 1" "$scratch/$t" "fuzz/corpus/$t" -seed=1 -runs="$(runs_for "$t")" &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$jobs" ]; then wait "${pids[0]}" || status=1; pids=("${pids[@]:1}"); fi
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
else
  seconds=${2:-300}
  for t in "${targets[@]}"; do
    mkdir -p "$build/findings/$t"
    run_target "$t" "${seconds}s" "$build/findings/$t" "fuzz/corpus/$t" -max_total_time="$seconds" || status=1
    echo "fuzz: $t: $(ls "$build/findings/$t" | wc -l) inputs in $build/findings/$t (merge: fuzz/README.md)"
  done
fi

if [ "$status" -ne 0 ]; then
  echo "fuzz: a target crashed (reproducers in $build/artifacts/; fuzz/README.md says how to replay)"
else
  echo "fuzz: ${#targets[@]} targets clean"
fi
exit "$status"
