// Training steps larger than the GPU: the session `fit` would use (trainingSessionFor) for a bench model
// at batches whose arena passes the binding limit (paged) or the device's memory (micro-batched after
// an out-of-memory at load). Prints, per batch, the session chosen, its arena and the step time.
// Usage: node --import tsx bench/large-batch.ts [--model resnet] [--batches 4096,16384] [--steps 3]
import { parseArgs } from 'node:util';
import { optimizers } from '../src/index.js';
import { resolveCompileArgs } from '../src/training/config.js';
import { DataParallelSession, trainingSessionFor } from '../src/training/replicas.js';
import { Net } from '../src/runtime/index.js';
import { benchDevice, benchModel, randomInputs } from './common.js';

const { values: opt } = parseArgs({ options: { model: { type: 'string', default: 'resnet' }, batches: { type: 'string', default: '4096,16384' }, steps: { type: 'string', default: '3' } } });
const gpu = await benchDevice();
const got = await benchModel(opt.model);
if ('missing' in got) throw new Error(got.missing);
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
// Every load the session tries, and how it ended, to see the fallbacks.
const create = Net.create.bind(Net);
Net.create = async (bundle, ctx) => {
  const m = bundle.manifest;
  try {
    const net = await create(bundle, ctx);
    console.log(`  loaded batch ${m.model.batch}: arena ${gib(m.arena.size)}`);
    return net;
  } catch (e) {
    console.log(`  batch ${m.model.batch}, arena ${gib(m.arena.size)}: ${(e as Error).name}: ${(e as Error).message.slice(0, 160)}`);
    throw e;
  }
};
for (const batch of opt.batches.split(',').map(Number)) {
  const config = resolveCompileArgs(got.model, { optimizer: optimizers.SGD({ learningRate: 0.01 }), loss: 'categoricalCrossentropy' });
  const t0 = performance.now();
  const session = await trainingSessionFor(got.model, config, batch, [gpu], { readLoss: true });
  const setup = performance.now() - t0;
  const m = session.bundle.manifest;
  const pages = m.arena.pageBytes ? Math.ceil(m.arena.size / m.arena.pageBytes) : 1;
  const micro = session instanceof DataParallelSession ? `${session.microBatches} micro-batches of ${session.microBatch}` : 'one submit';
  const x = randomInputs(m.model.inputs.filter((s) => !s.name.startsWith('__')).slice(0, 1))[m.model.inputs[0].name];
  const perSample = m.model.inputs[0].shape.slice(1).reduce((a, b) => a * b, 1);
  const feeds = Object.fromEntries(session.inputNames.map((n, k) => [n, k === 0 ? Float32Array.from({ length: batch * perSample }, (_, i) => x[i % x.length]) : new Float32Array(batch * 10).map((_, i) => (i % 10 === Math.floor(i / 10) % 10 ? 1 : 0))]));
  await session.step(feeds);
  const times: number[] = [];
  for (let k = 0; k < Number(opt.steps); k++) {
    const t = performance.now();
    await session.step(feeds);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`${opt.model} batch ${batch}: ${micro}, arena ${gib(m.arena.size)} in ${pages} page(s), setup ${(setup / 1000).toFixed(1)} s, step ${times[times.length >> 1].toFixed(1)} ms (median of ${times.length})`);
  session.destroy();
}
process.exit(0);
