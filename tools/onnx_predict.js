#!/usr/bin/env node
// Runs an ONNX file in ONNX Runtime (onnxruntime-node, CPU) on the rows of a CSV file and prints
// the model's first output as CSV: what `nnc predict` prints, computed by another runtime.
//
// Usage: node tools/onnx_predict.js MODEL.onnx DATA.csv [--softmax]
//   DATA.csv: a header row, then one example per row, its values in the model's input order
//   (one flat input: an MLP's features). --softmax turns each output row of logits into
//   probabilities, as `nnc predict` does for a model trained from logits.
// The package is found in $NNC_ONNXRUNTIME_DIR/node_modules (default: build-onnxruntime/ at the
// top of the source tree). Exit status 0, or 1 with one line on stderr.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(msg) {
  process.stderr.write(`onnx_predict: ${msg}\n`);
  process.exit(1);
}

// Seven significant digits, as nnc prints floats ("%.7g").
function g7(v) {
  if (v === 0) return '0';
  const e = Math.floor(Math.log10(Math.abs(v)));
  if (e < -4 || e >= 7) {
    const [m, x] = v.toExponential(6).split('e');
    const exp = Number(x);
    return `${m.replace(/\.?0+$/, '')}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(Number(v.toPrecision(7)));
}

async function main() {
  const args = process.argv.slice(2);
  const softmax = args.includes('--softmax');
  const [model, data] = args.filter((a) => a !== '--softmax');
  if (!model || !data) fail('usage: onnx_predict.js MODEL.onnx DATA.csv [--softmax]');
  const dir = process.env.NNC_ONNXRUNTIME_DIR || path.join(__dirname, '..', 'build-onnxruntime');
  let ort;
  try {
    ort = require(path.join(path.resolve(dir), 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    fail(`onnxruntime-node not found under ${dir}/node_modules: ${e.message.split('\n')[0]}`);
  }
  const lines = fs.readFileSync(data, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  const rows = lines.slice(1).map((l, i) => l.split(',').map((c) => {
    const v = Number(c);
    if (c.trim() === '' || !Number.isFinite(v)) fail(`${data}:${i + 2}: '${c}' is not a number`);
    return v;
  }));
  if (!rows.length) fail(`${data}: no rows`);
  const width = rows[0].length;
  rows.forEach((r, i) => { if (r.length !== width) fail(`${data}:${i + 2}: ${r.length} values, not ${width}`); });
  const session = await ort.InferenceSession.create(model);
  if (session.inputNames.length !== 1) fail(`${model} has ${session.inputNames.length} inputs; this tool feeds one`);
  const x = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, width]);
  const out = (await session.run({ [session.inputNames[0]]: x }))[session.outputNames[0]];
  const k = out.data.length / rows.length;
  for (let r = 0; r < rows.length; r++) {
    let v = Array.from(out.data.slice(r * k, (r + 1) * k));
    if (softmax) {
      const m = Math.max(...v), e = v.map((t) => Math.exp(t - m)), s = e.reduce((a, b) => a + b, 0);
      v = e.map((t) => t / s);
    }
    process.stdout.write(v.map(g7).join(',') + '\n');
  }
}

main().catch((e) => fail(e.message.split('\n')[0]));
