// Per-kernel GPU time of a bench sample: each step recorded many times in one submit.
// Usage: node --import tsx bench/profile.ts [--model resnet] [--batch 256] [--precision float32|mixed]
import { parseArgs } from 'node:util';
import { compileBundle } from '../src/codegen/index.js';
import { Net, openDevice } from '../src/runtime/index.js';
import { profileForAdapter, type Precision } from '../src/codegen/profile.js';

const { values: opt } = parseArgs({ options: { model: { type: 'string', default: 'resnet' }, batch: { type: 'string', default: '256' }, precision: { type: 'string', default: 'float32' } } });
const { model } = await import(`../samples/${opt.model}.js`);
const gpu = await openDevice();
const compiled = compileBundle(model, { batch: Number(opt.batch), microBatch: Number(opt.batch), profile: profileForAdapter(gpu.adapter), precision: opt.precision as Precision });
const net = await Net.create(compiled.bundle, gpu);
await net.predict(Object.fromEntries(net.inputs.map((s) => [s.name, new Float32Array(s.shape.reduce((a, b) => a * b, 1)).fill(0.5)])));
const times = await net.timeSteps(50);
const total = times.reduce((a, t) => a + t.ms, 0);
for (const t of times) console.log(`${opt.model} b=${opt.batch} ${t.name.padEnd(28)} ${t.ms.toFixed(4)} ms ${((100 * t.ms) / total).toFixed(1)}%`);
console.log(`${opt.model} b=${opt.batch} total ${total.toFixed(4)} ms (tiles ${process.env.KILN_GEMM_TILES ?? 'auto'}, convs ${process.env.KILN_CONV ?? 'auto'})`);
console.log(`${opt.model} b=${opt.batch} chain ${(await net.timeChain(50)).toFixed(4)} ms (every step in order, as in a call)`);
process.exit(0);
