// Peer harness from the project's shared benchmark kit (shared/bench), kept verbatim so ratios are taken against the same measurement.
// Peer baseline: ONNX Runtime's WebGPU execution provider (onnxruntime-node, native Dawn), with its
// graph optimizations, on the bench models exported by onnx_export.py. Predict includes the readback.
// Usage: node ort_peer.mjs ONNXDIR [--batch 256] [--iters 50] [--models mlp,cnn,lstm,resnet] [--ep webgpu|cpu]
import ort from 'onnxruntime-node';
import { parseArgs } from 'node:util';
import path from 'node:path';

const { values: opt, positionals } = parseArgs({ allowPositionals: true, options: {
  batch: { type: 'string', default: '256' }, iters: { type: 'string', default: '50' },
  models: { type: 'string', default: 'mlp,cnn,lstm,resnet' }, ep: { type: 'string', default: 'webgpu' },
} });
const shapes = { mlp: [784], cnn: [1, 28, 28], lstm: [20, 64], resnet: [3, 32, 32] };
const B = Number(opt.batch), iters = Number(opt.iters);
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
for (const name of opt.models.split(',')) {
  const file = path.join(positionals[0], `${name}_b${B}.onnx`);
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(file, { executionProviders: [opt.ep], graphOptimizationLevel: 'all' });
  const dims = [B, ...shapes[name]];
  const x = new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b) }, () => Math.random() * 2 - 1), dims);
  await session.run({ x });
  const firstMs = performance.now() - t0;
  const times = [];
  for (let i = 0; i < iters + 5; i++) {
    const t = performance.now();
    const out = await session.run({ x });
    await out.y.getData?.();
    if (i >= 5) times.push(performance.now() - t);
  }
  console.log(`ort-${opt.ep} ${name} batch=${B} predict_ms=${median(times).toFixed(3)} load_to_first_ms=${firstMs.toFixed(1)}`);
  await session.release();
}
process.exit(0);
