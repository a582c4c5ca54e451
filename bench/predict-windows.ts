// How a predict's wall time moves over a long loop: plain (input from the host) and [gpu-input] calls
// alternate in blocks, each block's median printed, to tell a slow window of the machine from a slow
// path of kiln's. Usage: node --import tsx bench/predict-windows.ts [--model cnn] [--batch 1] [--blocks 20] [--calls 50]
import { parseArgs } from 'node:util';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { Net } from '../src/runtime/index.js';
import { benchDevice, benchModel, median, randomInputs } from './common.js';

const { values: opt } = parseArgs({ options: { model: { type: 'string', default: 'cnn' }, batch: { type: 'string', default: '1' }, blocks: { type: 'string', default: '20' }, calls: { type: 'string', default: '50' } } });
const gpu = await benchDevice();
const got = await benchModel(opt.model);
if ('missing' in got) throw new Error(got.missing);
const compiled = compileBundle(got.model, { batch: Number(opt.batch), profile: profileForAdapter(gpu.adapter) });
const net = await Net.create(compiled.bundle, gpu);
const feeds = randomInputs(net.inputs);
const buffers = Object.fromEntries(Object.entries(feeds).map(([name, data]) => [name, net.createInputBuffer(name, data)]));
const start = performance.now();
/** Median ms of `calls` awaited calls of `fn`. */
async function block(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < Number(opt.calls); i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}
for (let b = 0; b < Number(opt.blocks); b++) {
  const at = ((performance.now() - start) / 1000).toFixed(2);
  const plain = await block(() => net.predict(feeds));
  const onGpu = await block(() => net.predict(buffers));
  console.log(`${opt.model} b=${opt.batch} t=${at}s plain ${plain.toFixed(3)} ms, gpu-input ${onGpu.toFixed(3)} ms`);
}
process.exit(0);
