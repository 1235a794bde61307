#!/usr/bin/env node
// Runs an ONNX file in ONNX Runtime (the onnxruntime-node package, CPU) on inputs written by
// a test, and writes the model's first output, so the test can compare it with nnc_predict's.
//
// Usage: node tools/onnx_check.js MODEL.onnx OUT.bin BATCH IN.bin:D1,D2,... [IN2.bin:...]
//   each IN.bin holds BATCH examples of that graph input, raw little-endian float32 in nnc's
//   layout, the shape of one example after the colon; inputs in the graph's input order.
//   OUT.bin gets the first output as raw float32; stdout one line: "output NAME dims [..]".
// The package is found in $NNC_ONNXRUNTIME_DIR/node_modules (default: build-onnxruntime/ at
// the top of the source tree), where `npm install --ignore-scripts onnxruntime-node@1.30.0`
// puts it. Exit status 0, or 1 with one line on stderr.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(msg) {
  process.stderr.write(`onnx_check: ${msg}\n`);
  process.exit(1);
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 4) fail('usage: onnx_check.js MODEL.onnx OUT.bin BATCH IN.bin:D1,D2 ...');
  const [model, out, batchText, ...ins] = args;
  const dir = process.env.NNC_ONNXRUNTIME_DIR || path.join(__dirname, '..', 'build-onnxruntime');
  let ort;
  try {
    ort = require(path.join(path.resolve(dir), 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    fail(`onnxruntime-node not found under ${dir}/node_modules: ${e.message.split('\n')[0]}`);
  }
  const batch = Number(batchText);
  if (!Number.isInteger(batch) || batch < 1) fail(`batch '${batchText}' is not a positive integer`);
  const session = await ort.InferenceSession.create(model);
  if (session.inputNames.length !== ins.length)
    fail(`${model} has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}), ` +
         `${ins.length} given`);
  const feeds = {};
  ins.forEach((spec, i) => {
    const colon = spec.lastIndexOf(':');
    if (colon < 0) fail(`'${spec}' is not FILE:D1,D2,...`);
    const dims = [batch, ...spec.slice(colon + 1).split(',').map(Number)];
    const bytes = fs.readFileSync(spec.slice(0, colon));
    const want = dims.reduce((a, b) => a * b, 1);
    if (bytes.length !== 4 * want) fail(`${spec}: ${bytes.length} bytes, ${4 * want} expected`);
    const data = new Float32Array(want);
    for (let k = 0; k < want; k++) data[k] = bytes.readFloatLE(4 * k);
    feeds[session.inputNames[i]] = new ort.Tensor('float32', data, dims);
  });
  const results = await session.run(feeds);
  const name = session.outputNames[0];
  const y = results[name];
  const buf = Buffer.alloc(4 * y.data.length);
  y.data.forEach((v, k) => buf.writeFloatLE(v, 4 * k));
  fs.writeFileSync(out, buf);
  process.stdout.write(`output ${name} dims [${y.dims.join(', ')}]\n`);
}

main().catch((e) => fail(String(e && e.message ? e.message : e).split('\n')[0]));
