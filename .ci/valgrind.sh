#!/usr/bin/env bash
# The CLI under valgrind: a few ordinary runs and a few failing ones must show no memory error
# and no leak. Uses the Release build of the README's test command (./build/nnc).
set -euo pipefail
cd "$(dirname "$0")/.."
nnc=./build/nnc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vg() {
  local want=$1; shift
  local rc=0
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    "$@" > "$tmp/out" 2> "$tmp/err" || rc=$?
  if [ "$rc" = 99 ] || { [ "$want" = ok ] && [ "$rc" != 0 ]; } || { [ "$want" = fail ] && [ "$rc" = 0 ]; }; then
    echo "valgrind: '$*' exited $rc"; cat "$tmp/err"; exit 1
  fi
  echo "valgrind clean (exit $rc): $*"
}
vg ok   $nnc train examples/digits.nnc --data digits --epochs 2 --test-split 0.2 --validation-split 0.1 \
          --save "$tmp/m.safetensors" --history "$tmp/h.csv" --plot "$tmp/p.svg"
vg ok   $nnc train examples/regression.nnc --data diabetes --epochs 2 --json
vg ok   $nnc train examples/digits.nnc --data digits --epochs 3 --init-weights "$tmp/m.safetensors" --quiet
vg ok   $nnc eval "$tmp/m.safetensors" --data digits --json
vg ok   $nnc predict "$tmp/m.safetensors" --data digits --output "$tmp/p.csv"
vg ok   $nnc summary examples/multilabel.nnc
vg ok   $nnc train examples/iris.nnc --data examples/iris_species.csv --label-column species --epochs 2 \
          --test-split 0.2 --save "$tmp/iris.safetensors" --quiet
vg ok   $nnc eval "$tmp/iris.safetensors" --data examples/iris_species.csv --test-split 0.2
vg ok   $nnc predict "$tmp/iris.safetensors" --data examples/iris_species.csv --json --output "$tmp/p.json"
printf 'input 4\ndense 3\nloss sparse_categorical_crossentropy from_logits=true\n' > "$tmp/late.nnc"
printf 'a,b,c,d,label\n1,2,3,4,0\n5,6,7,8,1\n1,2,3,5,2\n0,1,0,1,1\n2,2,2,2,0\n' > "$tmp/num.csv"
vg ok   $nnc train "$tmp/late.nnc" --data "$tmp/num.csv" --test-data "$tmp/num.csv" --epochs 2 --batch-size 2 \
          --validation-split 0.2 --stream --quiet
printf 'a,b,c,d,label\n1,2,3,4,0\n5,6,7,8,1\n1,2,x,4,1\n' > "$tmp/late.csv"
vg fail $nnc train "$tmp/late.nnc" --data "$tmp/late.csv" --stream --batch-size 1 --epochs 2
printf 'size;color;label\n1,5;red;yes\n0,5;blue;no\n' > "$tmp/semi.csv"
vg fail $nnc train examples/iris.nnc --data "$tmp/semi.csv"
printf 'size,color,label\n1.5,red,yes\n0.5,blue,no\n' > "$tmp/cat.csv"
printf 'input 3\ndense 1 activation=sigmoid\nloss binary_crossentropy\n' > "$tmp/cat.nnc"
vg ok   $nnc train "$tmp/cat.nnc" --data "$tmp/cat.csv" --one-hot color --epochs 1 --quiet --save "$tmp/cat.safetensors"
vg ok   $nnc predict "$tmp/cat.safetensors" --data "$tmp/cat.csv"
printf 'a,b,label\n1,2,0\n3,x,1\n' > "$tmp/bad.csv"
vg fail $nnc train examples/digits.nnc --data "$tmp/bad.csv"
vg fail $nnc eval "$tmp/h.csv" --data digits
printf 'input 4\ndense2 3\n' > "$tmp/bad.nnc"
vg fail $nnc train "$tmp/bad.nnc" --data iris
vg fail $nnc train examples/digits.nnc --data digits --epochs 1 --save /nonexistent_dir/m.safetensors
