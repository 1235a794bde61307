#!/usr/bin/env bash
# Data-parallel training beside one process, in the same run (issue 16): for B2 and B3, rounds
# of 1 rank x 1 thread, 2 ranks x 1 thread (buckets reduced during the backward pass, then all
# after it: NNC_NO_OVERLAP) and 1 rank x 2 threads, one after the other so that
# the machine's load falls on all three alike; each line is bench/mpi_bench.c's JSON (the
# fastest epoch of the run, the slowest rank's time). Compare the minimum of each over the
# rounds. Needs a build with -DNNC_MPI=ON -DNNC_BUILD_BENCH=ON.
#
# Usage: bench/mpi_bench.sh [BUILD_DIR] [ROUNDS] [B2_ROWS] [B3_ROWS] [EPOCHS]
set -euo pipefail
build=${1:-build}
rounds=${2:-3}
rows2=${3:-12800}
rows3=${4:-6400}
epochs=${5:-2}
mpirun="mpirun --allow-run-as-root --oversubscribe --bind-to none"
echo "# $(lscpu | grep 'Model name' | sed 's/  */ /g'); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for b in B2 B3; do
  rows=$rows2; [ $b = B3 ] && rows=$rows3
  for r in $(seq "$rounds"); do
    "$build/mpi_bench" $b 1 "$rows" "$epochs"
    $mpirun -np 2 "$build/mpi_bench" $b 1 "$rows" "$epochs"
    $mpirun -np 2 -x NNC_NO_OVERLAP=1 "$build/mpi_bench" $b 1 "$rows" "$epochs" | sed 's/"buckets"/"no_overlap": 1, "buckets"/'
    "$build/mpi_bench" $b 2 "$rows" "$epochs"
  done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
