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
OpenBLAS at 1 and 2 threads. Without it the KANN columns are left empty.
P1 (--p1 B2,B3) sets nnc beside ONNX Runtime (onnxruntime-node, run by bench/ort_bench.js on the
ONNX file nnc_bench writes from its trained model; NNC_ONNXRUNTIME_DIR holds its node_modules,
default build-onnxruntime/) at the same thread counts, and beside PyTorch's best setting.
--load runs the training benchmarks a second time with a competing busy loop pinned to one core
(another process on the machine) and prints nnc's 1- and 2-thread epochs under that load.
The first lines printed name the CPU (model, family/model, vector extensions) and the load average."""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile

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


def cpu_line():
    """The CPU's name, family/model, vector extensions and the load average, for the table's header."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                info.setdefault(k.strip(), v.strip())
    except OSError:
        pass
    flags = set(info.get("flags", "").split())
    ext = [x for x in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni") if x in flags]
    load = "%.2f %.2f %.2f" % os.getloadavg()
    return "CPU: %s (family %s model %s), %d CPUs, %s; load average %s" % (
        info.get("model name", "?"), info.get("cpu family", "?"), info.get("model", "?"), os.cpu_count() or 0,
        " ".join(ext) or "no AVX2", load)


class BusyLoop:
    """A competing process: one busy loop pinned to the last CPU, for the --load runs."""
    def __enter__(self):
        code = "import os\ntry: os.sched_setaffinity(0, {%d})\nexcept OSError: pass\nwhile True: pass\n" % (
            (os.cpu_count() or 1) - 1)
        self.p = subprocess.Popen([sys.executable, "-c", code])
        return self

    def __exit__(self, *exc):
        self.p.kill()
        self.p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("benches", nargs="*", default=["B0", "B1", "B2", "B3", "B4"])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--epochs", default="B0=100,B1=3,B2=3,B3=2,B4=1")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--only-p1", action="store_true", help="skip the training benchmarks")
    ap.add_argument("--p1", default="", help="P1 inference for these benches (e.g. B2,B3), after EPOCHS training epochs")
    ap.add_argument("--p1-runs", type=int, default=3, help="P1: best of this many timings")
    ap.add_argument("--no-ort", action="store_true", help="P1 without ONNX Runtime")
    ap.add_argument("--load", action="store_true", help="also train nnc with a competing busy loop on one core")
    a = ap.parse_args()
    print(cpu_line())
    print()
    epochs = dict(kv.split("=") for kv in a.epochs.split(","))
    if not os.access(os.path.join(a.build, "nnc_bench"), os.X_OK):
        sys.exit("%s/nnc_bench not found: configure with -DNNC_BUILD_BENCH=ON and build" % a.build)
    kernels = subprocess.run([os.path.join(a.build, "nnc_bench"), "kernels"], capture_output=True, text=True)
    print("nnc's kernels: %s" % (kernels.stdout.strip() or "?"))
    print()
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
                if s and blas == "1":
                    nnc.setdefault("kann1", s)  # per core: KANN on one thread, OpenBLAS 1
        best_t = min((t for t in nnc if t in (1, 2)), key=lambda t: nnc[t][0], default=None)
        rows.append((b, nnc, best_t, torch_best, kann_best))
    if rows:
        print_table(rows)
    if a.load and not a.only_p1:
        under_load(a, epochs, env)
    if a.p1:
        p1(a, env, have_torch)


def under_load(a, epochs, env):
    """nnc's epochs at 1 and 2 threads while another process keeps one core busy."""
    print()
    print("Under load (a busy loop pinned to CPU %d): nnc s/epoch median (min)" % ((os.cpu_count() or 1) - 1))
    print()
    print("| bench | 1 thread | 2 threads | 1 thread / 2 threads |")
    print("|---|---|---|---|")
    for b in a.benches:
        s = {}
        with BusyLoop():
            for t in (1, 2):
                s[t] = summary(runs_of([os.path.join(a.build, "nnc_bench"), b, str(t), epochs.get(b, "3"),
                                        str(a.runs)], env))
        if s[1] and s[2]:
            print("| %s | %.4g (%.4g) | %.4g (%.4g) | %.2fx |" % (b, s[1][0], s[1][1], s[2][0], s[2][1],
                                                              s[1][0] / s[2][0]))


def print_table(rows):
    print("| bench | nnc 1 thread s/epoch (min) | nnc 2 threads s/epoch (min) | nnc acc | PyTorch s/epoch (min) | PyTorch acc "
          "| PyTorch setting | PyTorch / nnc | KANN s/epoch (min) | KANN acc | KANN / nnc | KANN 1 thread / nnc 1 thread |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
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
            k1 = nnc.get("kann1")
            kann += " | %s" % ("%.2fx" % (k1[0] / nnc[1][0]) if k1 and 1 in nnc else "-")
        else:
            kann = "- | - | - | -"
        print("| %s | %s | %s | %s | %s | %s |" % (b, cell(1), cell(2), acc, torch, kann))


def p1(a, env, have_torch):
    """P1: inference samples/s at batch 1000 and µs per example at batch 1: nnc and ONNX Runtime
    at the same thread count (on the same trained weights), PyTorch at its best setting."""
    ort_dir = os.environ.get("NNC_ONNXRUNTIME_DIR", os.path.join(ROOT, "build-onnxruntime"))
    have_ort = (not a.no_ort and shutil.which("node") is not None and
                os.path.isdir(os.path.join(ort_dir, "node_modules", "onnxruntime-node")))
    tmp = tempfile.mkdtemp(prefix="nnc_p1_")
    rows, q8rows = [], []
    for b in [x for x in a.p1.split(",") if x]:
        onnx = os.path.join(tmp, b + ".onnx")
        nnc, ort, q8, bf = {}, {}, {}, {}
        for t in (1, 2):
            cmd = [os.path.join(a.build, "nnc_bench"), b, str(t), "1", str(a.p1_runs), "infer"]
            r = runs_of(cmd + ([onnx] if t == 1 else []), env)
            for line in r:  # nnc_bench prints float ("infer"), bf16 and int8 ("infer_int8") on the same weights
                {"infer_int8": q8, "infer_bf16": bf}.get(line.get("loop"), nnc)[t] = line
        for t in ((1, 2) if have_ort and os.path.exists(onnx) else ()):
            r = runs_of(["node", os.path.join(HERE, "ort_bench.js"), onnx, str(t), str(a.p1_runs), b],
                        dict(env, NNC_ONNXRUNTIME_DIR=ort_dir))
            if r:
                ort[t] = r[0]
        tch = []
        if have_torch:
            for blas in ("1", "2"):
                e = dict(env, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS=blas)
                tch += runs_of([sys.executable, os.path.join(HERE, "torch_bench.py"), b, "1", "infer", "1",
                                str(a.p1_runs)], e)
        rows.append((b, nnc, ort, tch))
        q8rows.append((b, nnc, q8, ort))
        if bf:
            q8rows.append((b + " bf16", nnc, bf, ort))
    shutil.rmtree(tmp, ignore_errors=True)
    print_p1(rows)
    print_p1_int8(q8rows)


def print_p1(rows):
    f = lambda v, fmt: fmt % v if v is not None else "-"
    ratio = lambda x, y: "%.2fx" % (x / y) if x and y else "-"
    print()
    print("| P1 | threads | nnc samples/s (batch 1000) | ORT samples/s | nnc / ORT | PyTorch samples/s (best) "
          "| nnc / PyTorch | nnc µs/example (batch 1) | ORT µs/example | ORT / nnc | PyTorch µs/example (best) "
          "| PyTorch / nnc | nnc acc | ORT acc | PyTorch acc |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for b, nnc, ort, tch in rows:
        t1000 = max(r["samples_per_s"] for r in tch) if tch else None
        t1 = min(r["us_per_example_bs1"] for r in tch) if tch else None
        tacc = tch[0]["acc"] if tch else None
        for t in sorted(nnc):
            n, o = nnc[t], ort.get(t)
            o1000, o1, oacc = (o["samples_per_s"], o["us_per_example_bs1"], o["acc"]) if o else (None,) * 3
            print("| %s | %d | %.0f | %s | %s | %s | %s | %.1f | %s | %s | %s | %s | %.4f | %s | %s |" % (
                b, t, n["samples_per_s"], f(o1000, "%.0f"), ratio(n["samples_per_s"], o1000), f(t1000, "%.0f"),
                ratio(n["samples_per_s"], t1000), n["us_per_example_bs1"], f(o1, "%.1f"),
                ratio(o1, n["us_per_example_bs1"]), f(t1, "%.1f"), ratio(t1, n["us_per_example_bs1"]), n["acc"],
                f(oacc, "%.4f"), f(tacc, "%.4f")))
    # one thread in process CPU time: what a busy shared machine's queue does not inflate
    cpu = [(b, nnc[1], ort[1]) for b, nnc, ort, _ in rows if 1 in nnc and 1 in ort and "cpu_samples_per_s" in nnc[1]]
    if cpu:
        print()
        print("| P1, 1 thread, process CPU time | nnc samples/s (batch 1000) | ORT samples/s | nnc / ORT "
              "| nnc µs/example (batch 1) | ORT µs/example | ORT / nnc |")
        print("|---|---|---|---|---|---|---|")
        for b, n, o in cpu:
            print("| %s | %.0f | %.0f | %s | %.1f | %.1f | %s |" % (
                b, n["cpu_samples_per_s"], o["cpu_samples_per_s"], ratio(n["cpu_samples_per_s"], o["cpu_samples_per_s"]),
                n["cpu_us_per_example_bs1"], o["cpu_us_per_example_bs1"],
                ratio(o["cpu_us_per_example_bs1"], n["cpu_us_per_example_bs1"])))



def print_p1_int8(rows):
    """Issue 17: nnc int8 (and bf16: rows "B2 bf16") beside nnc float and ORT float, in wall time and
    (1 thread) CPU time."""
    ratio = lambda x, y: "%.2fx" % (x / y) if x and y else "-"
    for key, key1, what in (("samples_per_s", "us_per_example_bs1", "wall time"),
                            ("cpu_samples_per_s", "cpu_us_per_example_bs1", "process CPU time")):
        print()
        print("| P1 int8 (%s) | threads | nnc fp32 samples/s (batch 1000) | nnc int8 | int8 / fp32 | ORT fp32 "
              "| int8 / ORT | nnc fp32 µs/example (batch 1) | nnc int8 | fp32 / int8 | ORT fp32 | ORT / int8 "
              "| acc fp32 | acc int8 |" % what)
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for b, nnc, q8, ort in rows:
            for t in sorted(q8):
                if key == "cpu_samples_per_s" and t != 1:
                    continue  # CPU time of several threads adds their cores: one thread only
                n, q, o = nnc.get(t, {}), q8[t], ort.get(t, {})
                f = lambda d, k, fmt: fmt % d[k] if k in d else "-"
                print("| %s | %d | %s | %.0f | %s | %s | %s | %s | %.1f | %s | %s | %s | %s | %.4f |" % (
                    b, t, f(n, key, "%.0f"), q[key], ratio(q[key], n.get(key)), f(o, key, "%.0f"),
                    ratio(q[key], o.get(key)), f(n, key1, "%.1f"), q[key1], ratio(n.get(key1), q[key1]),
                    f(o, key1, "%.1f"), ratio(o.get(key1), q[key1]), f(n, "acc", "%.4f"), q["acc"]))


if __name__ == "__main__":
    main()
