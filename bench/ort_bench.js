#!/usr/bin/env node
// P1 in ONNX Runtime (onnxruntime-node, CPU): the inference figures nnc_bench's "infer" mode and
// torch_bench.py's "infer" loop print, for an ONNX file that `nnc_bench B2|B3 T E R infer OUT.onnx`
// (or `nnc convert`) wrote from the trained model, so both engines run the same weights.
//
// Usage: node bench/ort_bench.js MODEL.onnx THREADS RUNS [BENCH]
//   THREADS: ONNX Runtime's intra-op threads (inter-op 1, sequential execution, all graph
//   optimizations). Times, best of RUNS: the Fashion-MNIST test set (10000 rows) at batch 1000
//   (samples per second) and its first 1000 rows one at a time (µs per example), in wall time
//   and in the process's CPU time (cpu_*: what a shared machine's queue does not inflate).
// Env: FMNIST_DIR (the IDX .gz files, default /usr/share/datasets/fashion-mnist);
//   NNC_ONNXRUNTIME_DIR (holds node_modules/onnxruntime-node; default build-onnxruntime/ at the
//   top of the source tree). Prints one JSON line; exit status 1 with a line on stderr on failure.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

function fail(msg) {
  process.stderr.write(`ort_bench: ${msg}\n`);
  process.exit(1);
}

function idx(file) {
  const b = zlib.gunzipSync(fs.readFileSync(file));
  const nd = b[3];
  const dims = [];
  for (let i = 0; i < nd; i++) dims.push(b.readUInt32BE(4 + 4 * i));
  return { dims, data: b.subarray(4 + 4 * nd) };
}

async function main() {
  const [model, threadsArg, runsArg, bench] = process.argv.slice(2);
  const threads = Number(threadsArg), runs = Number(runsArg);
  if (!model || !(threads >= 1) || !(runs >= 1)) fail('usage: ort_bench.js MODEL.onnx THREADS RUNS [BENCH]');
  const dir = process.env.NNC_ONNXRUNTIME_DIR || path.join(__dirname, '..', 'build-onnxruntime');
  let ort;
  try {
    ort = require(path.join(path.resolve(dir), 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    fail(`onnxruntime-node not found under ${dir}/node_modules: ${e.message.split('\n')[0]}`);
  }
  const fd = process.env.FMNIST_DIR || '/usr/share/datasets/fashion-mnist';
  const img = idx(path.join(fd, 't10k-images-idx3-ubyte.gz'));
  const lab = idx(path.join(fd, 't10k-labels-idx1-ubyte.gz'));
  const n = img.dims[0], feat = img.dims[1] * img.dims[2];
  const x = new Float32Array(n * feat);
  for (let i = 0; i < x.length; i++) x[i] = img.data[i] / 255;
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const inName = session.inputNames[0], outName = session.outputNames[0];
  // the input's shape after the batch: [784] for an MLP, [28, 28, 1] for B3 (channels last)
  const meta = session.inputMetadata ? session.inputMetadata.find((m) => m.name === inName) : null;
  const tail = meta && meta.shape && meta.shape.length > 1 ? meta.shape.slice(1).map(Number)
    : (bench === 'B3' ? [28, 28, 1] : [feat]);
  if (tail.reduce((a, v) => a * v, 1) !== feat) fail(`${model}: input shape [${tail}] does not take ${feat} values`);
  const tensor = (first, count) => new ort.Tensor('float32', x.subarray(first * feat, (first + count) * feat),
    [count, ...tail]);
  const batches = [];
  for (let i = 0; i < n; i += 1000) batches.push(tensor(i, Math.min(1000, n - i)));
  const ones = [];
  const one = Math.min(n, 1000);
  for (let i = 0; i < one; i++) ones.push(tensor(i, 1));
  // warm-up: one pass of each, as the other engines' first run also pays its set-up
  let correct = 0;
  for (let b = 0; b < batches.length; b++) {
    const out = (await session.run({ [inName]: batches[b] }))[outName].data;
    const k = out.length / batches[b].dims[0];
    for (let r = 0; r < batches[b].dims[0]; r++) {
      let arg = 0;
      for (let j = 1; j < k; j++) if (out[r * k + j] > out[r * k + arg]) arg = j;
      correct += arg === lab.data[b * 1000 + r];
    }
  }
  for (let i = 0; i < 50; i++) await session.run({ [inName]: ones[i] });
  let best1000 = Infinity, best1 = Infinity, cpu1000 = Infinity, cpu1 = Infinity; // wall, process CPU
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1e-6; };
  for (let run = 0; run < runs; run++) {
    const t0 = process.hrtime.bigint(), c0 = cpu();
    for (const b of batches) await session.run({ [inName]: b });
    const t1 = process.hrtime.bigint(), c1 = cpu();
    for (const o of ones) await session.run({ [inName]: o });
    const t2 = process.hrtime.bigint(), c2 = cpu();
    best1000 = Math.min(best1000, Number(t1 - t0) * 1e-9);
    best1 = Math.min(best1, Number(t2 - t1) * 1e-9);
    cpu1000 = Math.min(cpu1000, c1 - c0);
    cpu1 = Math.min(cpu1, c2 - c1);
  }
  process.stdout.write(JSON.stringify({
    bench: bench || path.basename(model), threads, loop: 'ort_infer', samples_per_s: +(n / best1000).toFixed(1),
    us_per_example_bs1: +(best1 / one * 1e6).toFixed(2), cpu_samples_per_s: +(n / cpu1000).toFixed(1),
    cpu_us_per_example_bs1: +(cpu1 / one * 1e6).toFixed(2), acc: +(correct / n).toFixed(4),
  }) + '\n');
}

main().catch((e) => fail(e.message));
