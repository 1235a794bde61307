#!/usr/bin/env python3
"""Runs the benchmarks of bench/README.md for nnc and PyTorch in one go and prints a table:
per bench, nnc's and PyTorch's median seconds per epoch (the best thread setting of each),
their ratio, and the accuracy of each.

Usage: /usr/bin/python3 bench/run.py [--build build] [--runs 3] [--epochs B0=100,B1=3,B2=3,B3=2,B4=1] [B0 B1 ...]
nnc_bench is built only with the benchmarks on: cmake -S . -B build -DNNC_BUILD_BENCH=ON.
PyTorch is Debian's python3-torch (run this with /usr/bin/python3); its figure is the fastest
of the `min` and `minfe` loops at 1 OpenMP thread with OpenBLAS at 1 and 2 threads, as
bench/README.md says. Without torch the PyTorch columns are left empty.
KANN (B0 and B1 only) runs when KANN_BENCH names a kann_bench binary built from
bench/kann_bench.c against KANN's sources (see that file); its figure is the faster of
OpenBLAS at 1 and 2 threads. Without it the KANN columns are left empty."""
import argparse, json, os, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def runs_of(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write("failed: %s\n%s" % (" ".join(cmd), out.stderr))
        return []
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]


def summary(rs):
    ep = [e for r in rs for e in r["epoch_s"]]
    return (statistics.median(ep), min(ep), statistics.median(r["acc"] for r in rs)) if ep else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("benches", nargs="*", default=["B0", "B1", "B2", "B3", "B4"])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--epochs", default="B0=100,B1=3,B2=3,B3=2,B4=1")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--only-p1", action="store_true", help="skip the training benchmarks")
    ap.add_argument("--p1", default="", help="P1 inference for these benches (e.g. B2,B3), after EPOCHS training epochs")
    a = ap.parse_args()
    epochs = dict(kv.split("=") for kv in a.epochs.split(","))
    if not os.access(os.path.join(a.build, "nnc_bench"), os.X_OK):
        sys.exit("%s/nnc_bench not found: configure with -DNNC_BUILD_BENCH=ON and build" % a.build)
    env = dict(os.environ, DIGITS_CSV=os.path.join(ROOT, "data", "digits.csv.gz"),
               FMNIST_DIR=os.environ.get("NNC_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
    try:
        import torch  # noqa: F401
        have_torch = not a.no_torch
    except ImportError:
        have_torch = False
    rows = []
    for b in ([] if a.only_p1 else a.benches):
        ep = epochs.get(b, "3")
        nnc = {}
        for t in (1, 2):
            s = summary(runs_of([os.path.join(a.build, "nnc_bench"), b, str(t), ep, str(a.runs)], env))
            if s:
                nnc[t] = s
        torch_best = None
        if have_torch:
            for loop in ("min", "minfe"):
                for blas in ("1", "2"):
                    e = dict(env, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS=blas)
                    s = summary(runs_of([sys.executable, os.path.join(HERE, "torch_bench.py"), b, "1", loop,
                                         ep, str(a.runs)], e))
                    if s and (torch_best is None or s[0] < torch_best[0][0]):
                        torch_best = (s, "%s, OpenBLAS %s" % (loop, blas))
        kann_best = None
        kann = os.environ.get("KANN_BENCH")
        if kann and b in ("B0", "B1"):
            for blas in ("1", "2"):
                e = dict(env, OPENBLAS_NUM_THREADS=blas)
                s = summary(runs_of([kann, b, "1", ep, str(a.runs)], e))
                if s and (kann_best is None or s[0] < kann_best[0]):
                    kann_best = s
        best_t = min(nnc, key=lambda t: nnc[t][0]) if nnc else None
        rows.append((b, nnc, best_t, torch_best, kann_best))
    if rows:
        print_table(rows)
    if a.p1:
        p1(a, env, have_torch)


def print_table(rows):
    print("| bench | nnc 1 thread s/epoch (min) | nnc 2 threads s/epoch (min) | nnc acc | PyTorch s/epoch (min) | PyTorch acc | PyTorch setting | PyTorch / nnc | KANN s/epoch (min) | KANN acc | KANN / nnc |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for b, nnc, bt, tb, kb in rows:
        cell = lambda t: "%.4g (%.4g)" % nnc[t][:2] if t in nnc else "-"
        acc = "%.4f" % nnc[bt][2] if bt else "-"
        if tb:
            ratio = "%.1fx" % (tb[0][0] / nnc[bt][0]) if bt else "-"
            torch = "%.4g (%.4g) | %.4f | %s | %s" % (tb[0][0], tb[0][1], tb[0][2], tb[1], ratio)
        else:
            torch = "- | - | - | -"
        if kb:
            kann = "%.4g (%.4g) | %.4f | %s" % (kb[0], kb[1], kb[2], "%.1fx" % (kb[0] / nnc[bt][0]) if bt else "-")
        else:
            kann = "- | - | -"
        print("| %s | %s | %s | %s | %s | %s |" % (b, cell(1), cell(2), acc, torch, kann))


def p1(a, env, have_torch):
    """P1: inference samples/s at batch 1000 and µs per example at batch 1, best setting each."""
    rows = []
    for b in [x for x in a.p1.split(",") if x]:
        ep = "1"
        nnc = [r for t in (1, 2) for r in runs_of([os.path.join(a.build, "nnc_bench"), b, str(t), ep, "3", "infer"], env)]
        tch = []
        if have_torch:
            for blas in ("1", "2"):
                e = dict(env, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS=blas)
                tch += runs_of([sys.executable, os.path.join(HERE, "torch_bench.py"), b, "1", "infer", ep, "3"], e)
        rows.append((b, nnc, tch))
    print()
    print("| P1 | nnc samples/s (batch 1000) | PyTorch samples/s | ratio | nnc µs/example (batch 1) | PyTorch µs/example | ratio | nnc acc | PyTorch acc |")
    print("|---|---|---|---|---|---|---|---|---|")
    for b, nnc, tch in rows:
        if not nnc:
            continue
        n1000 = max(r["samples_per_s"] for r in nnc)
        n1 = min(r["us_per_example_bs1"] for r in nnc)
        if tch:
            t1000 = max(r["samples_per_s"] for r in tch)
            t1 = min(r["us_per_example_bs1"] for r in tch)
            print("| %s | %.0f | %.0f | %.1fx | %.1f | %.1f | %.1fx | %.4f | %.4f |" % (
                b, n1000, t1000, n1000 / t1000, n1, t1, t1 / n1, nnc[0]["acc"], tch[0]["acc"]))
        else:
            print("| %s | %.0f | - | - | %.1f | - | - | %.4f | - |" % (b, n1000, n1, nnc[0]["acc"]))


if __name__ == "__main__":
    main()
