#!/usr/bin/env bash
# Proof that the tests can fail. Builds build-nan/ with -DNNC_INJECT_NAN=ON, in which the matmul
# forward (every Dense layer) writes one NaN, then expects failures: every case of the gradient
# checks that run a matmul, of the PyTorch fixtures and of the CNN fixtures must fail, and every
# example program must exit non-zero. Cases that run no matmul must still pass there, so the
# failures are the NaN's and not a broken build. One line per group; exit 0 only when all hold.
set -uo pipefail
cd "$(dirname "$0")/.."
B=build-nan
start=$SECONDS

examples=()
for src in examples/*.c; do examples+=("$(basename "$src" .c)"); done

cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DNNC_WERROR=ON -DNNC_INJECT_NAN=ON >/dev/null || exit 1
targets=(--target nnc_tests)
for e in "${examples[@]}"; do targets+=(--target "example_$e"); done
cmake --build "$B" -j2 "${targets[@]}" >/dev/null || { echo "nan_check: the build failed"; exit 1; }

ok=1
log="$B/nan_check.log"
: >"$log"

# Runs the cases matching the filters; want "fail" (every case fails) or "pass" (every case
# passes). The runner's last line must be there: a crash proves nothing.
group() {
    local name=$1 want=$2
    shift 2
    local out last passed failed skipped
    out=$("$B/nnc_tests" "$@" 2>&1)
    printf '== %s (%s)\n%s\n' "$name" "$*" "$out" >>"$log"
    last=$(printf '%s\n' "$out" | tail -n 1)
    if [[ ! $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
        echo "nan_check: $name: no closing count (did the runner crash?) - NOT PROVEN"
        ok=0
        return
    fi
    passed=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]} skipped=${BASH_REMATCH[3]}
    if [[ $want == fail ]] && ((failed > 0 && passed == 0 && skipped == 0)); then
        echo "nan_check: $name: all $failed cases fail, as they must"
    elif [[ $want == pass ]] && ((passed > 0 && failed == 0 && skipped == 0)); then
        echo "nan_check: $name: all $passed cases pass (control: no matmul in them)"
    else
        echo "nan_check: $name: $passed passed, $failed failed, $skipped skipped; want every case to $want - NOT PROVEN"
        ok=0
    fi
}

group "gradient checks" fail grad/op/matmul grad/model/
group "PyTorch fixtures" fail fixture/mlp_ fixture/opt_
group "CNN fixtures" fail cnn_fixture/
group "no-matmul cases" pass grad/op/add grad/op/relu grad/loss/ fixture/activation/

codes=()
for e in "${examples[@]}"; do
    "$B/example_$e" >>"$log" 2>&1
    rc=$?
    codes+=("$e=$rc")
    if ((rc == 0)); then ok=0; fi
done
if printf '%s\n' "${codes[@]}" | grep -q '=0$'; then
    echo "nan_check: examples: exit codes ${codes[*]}; one passed - NOT PROVEN"
else
    echo "nan_check: examples: all ${#examples[@]} exit non-zero (${codes[*]})"
fi

echo "nan_check: $((SECONDS - start)) s; output in $log"
((ok)) && exit 0
echo "nan_check: a NaN went unnoticed"
exit 1
