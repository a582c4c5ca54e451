// Why a predict from a GPUBuffer input can take longer than one from host values at batch 1: times, in
// turns, a plain predict, a GPUBuffer-input predict, and a plain predict wrapped in the validation error
// scope that a GPUBuffer-input call opens (src/runtime/net.ts: a destroyed or foreign buffer must fail by
// name, not return stale outputs). Usage: node --import tsx bench/gpu-input-cost.ts [--models tiny,mlp] [--iters 300]
import { parseArgs } from 'node:util';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { Net } from '../src/runtime/index.js';
import { Input, Model, clearSession, layers } from '../src/index.js';
import { benchDevice, benchModel, medianMicros, randomInputs } from './common.js';

const { values: opt } = parseArgs({ options: { models: { type: 'string', default: 'tiny,mlp,cnn' }, iters: { type: 'string', default: '300' }, rounds: { type: 'string', default: '3' } } });
const gpu = await benchDevice();
const iters = Number(opt.iters);

const perCall = (fn: () => Promise<unknown>) => medianMicros(fn, iters, 20);

for (const name of opt.models.split(',')) {
  clearSession();
  let model: Model;
  if (name === 'tiny') {
    const x = Input({ shape: [8] });
    model = new Model({ name: 'tiny', inputs: x, outputs: layers.Dense(8)(x) });
  } else {
    const got = await benchModel(name);
    if ('missing' in got) continue;
    model = got.model;
  }
  const net = await Net.create(compileBundle(model, { batch: 1, profile: profileForAdapter(gpu.adapter) }).bundle, gpu);
  const feeds = randomInputs(net.inputs) as Record<string, Float32Array>;
  const buffers = Object.fromEntries(Object.entries(feeds).map(([n, d]) => [n, net.createInputBuffer(n, d)]));
  const scoped = async () => {
    gpu.device.pushErrorScope('validation');
    const p = net.predict(feeds);
    const [out] = await Promise.all([p, gpu.device.popErrorScope()]);
    return out;
  };
  for (let r = 0; r < Number(opt.rounds); r++) {
    const plain = await perCall(() => net.predict(feeds));
    const onGpu = await perCall(() => net.predict(buffers));
    const inScope = await perCall(scoped);
    console.log(`gpu-input-cost ${name} round ${r}: plain ${plain.toFixed(1)} µs, GPUBuffer input ${onGpu.toFixed(1)} µs, plain in an error scope ${inScope.toFixed(1)} µs`);
  }
  net.destroy();
}
process.exit(0);
