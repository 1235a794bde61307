#!/usr/bin/env python3
"""The cost model of data-parallel training (docs/PERFORMANCE.md, "Training on several
processes"): the scaling it predicts for P hosts on links of a given bandwidth.

Each host trains a batch of its own (128 rows: the global batch grows with the hosts, as
clusters are used) in T1 seconds per step, T_bwd of them in the backward pass. A ring
allreduce of S bytes of gradients sends and receives 2(P-1)/P * S bytes per host and pays
2(P-1) latencies alpha:
    T_comm = 2(P-1)/P * S / BW + 2(P-1) * alpha
Reduction that starts during the backward pass hides up to T_bwd of it:
    T_step = T1 + max(0, T_comm - overlap * T_bwd)      (overlap 1: ideal, 0: none)
and P hosts process P times the rows of one in T_step: speedup = P * T1 / T_step.

Usage: mpi_cost_model.py [T1_B2_ms T1_B3_ms]   (this machine's 1-core step times by default)
"""
import sys

S = {"B2": 535818 * 4, "B3": 225034 * 4}         # gradient bytes per step (the trainable floats)
T1 = {"B2": 3.1e-3, "B3": 27e-3}                 # one core of this machine, batch 128 (bench/mpi_bench.c)
if len(sys.argv) == 3:
    T1 = {"B2": float(sys.argv[1]) * 1e-3, "B3": float(sys.argv[2]) * 1e-3}
LINKS = [("10 Gb/s", 10e9 / 8, 30e-6), ("100 Gb/s", 100e9 / 8, 5e-6)]  # bandwidth, latency

print("| model | hosts | link | T_comm per step | speedup, no overlap | speedup, full overlap |")
print("|---|---|---|---|---|---|")
for b in ("B2", "B3"):
    t1, tb = T1[b], T1[b] * 2 / 3                # the backward pass: about 2/3 of a step
    for p in (8, 64):
        for name, bw, alpha in LINKS:
            tc = 2 * (p - 1) / p * S[b] / bw + 2 * (p - 1) * alpha
            none = p * t1 / (t1 + tc)
            full = p * t1 / (t1 + max(0.0, tc - tb))
            print(f"| {b} | {p} | {name} | {tc * 1e3:.2f} ms | {none:.1f}x | {full:.1f}x |")
