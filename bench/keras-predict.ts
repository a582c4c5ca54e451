// Keras-style `model.predict` as a user calls it: a small call repeated (one batch of `--small` samples,
// the Nets kept between calls or compiled each time), and one large call (`--large` samples in batches
// of `--batch`). Prints one line per model and case: the median and range of the timed calls.
// With --as-before, each call runs as model.predict did before session 19 (a7aebbb): its Nets compiled
// afresh (model.dispose() first) and one awaited call per batch.
// Usage: node --import tsx bench/keras-predict.ts [--models mlp,cnn] [--small 32] [--large 10000] [--batch 256] [--iters 20] [--as-before]
import { parseArgs } from 'node:util';
import { useTrainingDevice } from '../src/training/index.js';
import type { Model } from '../src/frontend/model.js';
import { benchDevice, benchModel, median } from './common.js';

const { values: opt } = parseArgs({ options: { models: { type: 'string', default: 'mlp,cnn' }, small: { type: 'string', default: '32' }, large: { type: 'string', default: '10000' }, batch: { type: 'string', default: '256' }, iters: { type: 'string', default: '20' }, 'as-before': { type: 'boolean', default: false } } });
const gpu = await benchDevice();
useTrainingDevice(gpu);
console.log(`device: ${gpu.adapter.description}`);

/** Milliseconds of each call after the first (which compiles). */
async function timeCalls(call: () => Promise<unknown>, iters: number): Promise<{ first: number; rest: number[] }> {
  let t = performance.now();
  await call();
  const first = performance.now() - t;
  const rest: number[] = [];
  for (let i = 0; i < iters; i++) {
    t = performance.now();
    await call();
    rest.push(performance.now() - t);
  }
  return { first, rest };
}

/** model.predict as a7aebbb ran it: Nets compiled for the call, then each batch's predict awaited in turn. */
async function asBefore(model: Model, x: Float32Array, perSample: number, batchSize: number): Promise<void> {
  model.dispose();
  const count = x.length / perSample;
  for (let start = 0; start < count; start += batchSize) await model.predict(x.subarray(start * perSample, Math.min(count, start + batchSize) * perSample), { batchSize });
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
for (const name of opt.models.split(',')) {
  const got = await benchModel(name);
  if ('missing' in got) continue;
  const { model } = got;
  const perSample = (model.inputs[0].shape as (number | null)[]).slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
  const cases = [
    { label: `${opt.small} samples, batchSize ${opt.small}`, samples: Number(opt.small), batchSize: Number(opt.small) },
    { label: `${opt.large} samples, batchSize ${opt.batch}`, samples: Number(opt.large), batchSize: Number(opt.batch) },
  ];
  for (const c of cases) {
    const x = Float32Array.from({ length: c.samples * perSample }, () => Math.random() * 2 - 1);
    const call = opt['as-before'] ? () => asBefore(model, x, perSample, c.batchSize) : () => model.predict(x, { batchSize: c.batchSize });
    const { first, rest } = await timeCalls(call, Number(opt.iters));
    console.log(`${name} predict ${c.label}${opt['as-before'] ? ' (as before)' : ''}: first ${fmt(first)} ms, then median ${fmt(median(rest))} ms (${fmt(Math.min(...rest))}–${fmt(Math.max(...rest))}) over ${rest.length} calls`);
  }
  model.dispose();
}
process.exit(0);
