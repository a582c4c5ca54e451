// Probe for the mlp's bimodal [mixed,gpu-input] predict at batch 4096 (session 17): times the same
// two Nets (mixed and float32) fresh, after the bench's mixed sequence has run in the same process on
// the same device, and once more with Nets compiled anew; each time by wall clock (as bench/kiln.ts
// times) and by GPU timestamps (every kernel, and the whole chain). Phases print their wall time, to
// set against a clock log (nvidia-smi) taken beside it.
// Usage: node --import tsx bench/slow-mode.ts [--model mlp] [--batch 4096] [--before mlp,cnn,resnet,lstm]
import { parseArgs } from 'node:util';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter, type Precision } from '../src/codegen/profile.js';
import { Net } from '../src/runtime/index.js';
import { optimizers } from '../src/index.js';
import { TrainingSession } from '../src/training/session.js';
import { resolveCompileArgs } from '../src/training/config.js';
import { benchDevice, benchModel, median, randomInputs } from './common.js';

const { values: opt } = parseArgs({ options: {
  model: { type: 'string', default: 'mlp' }, batch: { type: 'string', default: '4096' },
  before: { type: 'string', default: 'mlp,cnn,resnet,lstm' }, 'before-batches': { type: 'string', default: '1,256' },
} });
const gpu = await benchDevice();
const t0 = performance.now();
const say = (s: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(2)} s ${new Date().toISOString()}] ${s}`);

async function build(name: string, batch: number, precision: Precision) {
  const got = await benchModel(name);
  if ('missing' in got) throw new Error(got.missing);
  const compiled = compileBundle(got.model, { batch, microBatch: batch, profile: profileForAdapter(gpu.adapter), precision });
  const net = await Net.create(compiled.bundle, gpu);
  return { net, model: got.model, inputs: randomInputs(net.inputs) };
}

/** Median wall ms of `fn` after 200 ms busy, over at least 100 ms of calls. */
async function wall(fn: () => Promise<unknown>): Promise<number> {
  const w = performance.now();
  while (performance.now() - w < 200) await fn();
  const times: number[] = [];
  const s = performance.now();
  while (times.length < 20 || performance.now() - s < 100) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

async function measure(label: string, precision: Precision, net: Net, inputs: Record<string, Float32Array>) {
  const buffers = Object.fromEntries(Object.entries(inputs).map(([n, d]) => [n, net.createInputBuffer(n, d)]));
  const ms = await wall(() => net.predict(buffers));
  const steps = await net.timeSteps(20);
  const chain = await net.timeChain(20);
  for (const b of Object.values(buffers)) b.destroy();
  say(`${label} ${opt.model} b=${opt.batch} ${precision}: wall ${ms.toFixed(4)} ms, chain ${chain.toFixed(4)} ms, kernels ${steps.map((s) => s.ms.toFixed(4)).join(' + ')}`);
}

const batch = Number(opt.batch);
const kept = { mixed: await build(opt.model, batch, 'mixed'), float32: await build(opt.model, batch, 'float32') };
for (const p of ['mixed', 'float32'] as const) await measure('fresh', p, kept[p].net, kept[p].inputs);

say('the bench mixed sequence: predict, gpu-input predict and a train step of every model and batch');
for (const b of opt['before-batches'].split(',').map(Number)) {
  for (const name of opt.before.split(',')) {
    const { net, model, inputs } = await build(name, b, 'mixed');
    await wall(() => net.predict(inputs));
    const buffers = Object.fromEntries(Object.entries(inputs).map(([n, d]) => [n, net.createInputBuffer(n, d)]));
    await wall(() => net.predict(buffers));
    for (const x of Object.values(buffers)) x.destroy();
    net.destroy();
    const session = await TrainingSession.create(model, resolveCompileArgs(model, { optimizer: optimizers.SGD({ learningRate: 0.01 }), loss: 'categoricalCrossentropy', precision: 'mixed' }), b, gpu, { readLoss: true });
    const y = new Float32Array(b * 10).map((_, i) => (i % 10 === Math.floor(i / 10) % 10 ? 1 : 0));
    const names = Object.keys(inputs);
    const feeds = Object.fromEntries(session.inputNames.map((n, k) => [n, k < names.length ? inputs[names[k]] : y]));
    await wall(() => session.step(feeds));
    session.destroy();
    say(`ran ${name} b=${b}`);
  }
}
for (const p of ['mixed', 'float32'] as const) await measure('after, same Net', p, kept[p].net, kept[p].inputs);
for (const p of ['mixed', 'float32'] as const) {
  const again = await build(opt.model, batch, p);
  await measure('after, new Net', p, again.net, again.inputs);
  again.net.destroy();
}
process.exit(0);
