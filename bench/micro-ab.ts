// One batch in one run against the same batch in micro-batches, alternating call by call in one process
// (so the host's and the clock's windows fall on every variant alike): from the host and from a
// GPUBuffer. The data behind MICRO_BATCH_RULE for models near its edges.
// Usage: node --import tsx bench/micro-ab.ts [--models lstm,mlp,cnn] [--batch 4096] [--micro 2048,1024] [--rounds 60] [--precision float32|mixed]
import { parseArgs } from 'node:util';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter, type Precision } from '../src/codegen/profile.js';
import { Net } from '../src/runtime/index.js';
import { benchDevice, benchModel, median, randomInputs } from './common.js';

const { values: opt } = parseArgs({ options: { models: { type: 'string', default: 'lstm,mlp,cnn' }, batch: { type: 'string', default: '4096' }, micro: { type: 'string', default: '2048,1024' }, rounds: { type: 'string', default: '60' }, precision: { type: 'string', default: 'float32' } } });
const gpu = await benchDevice();
const batch = Number(opt.batch);
const fmt = (ms: number) => ms.toFixed(3);

for (const name of opt.models.split(',')) {
  const got = await benchModel(name);
  if ('missing' in got) continue;
  const sizes = [batch, ...opt.micro.split(',').map(Number).filter((m) => m < batch && batch % m === 0)];
  const nets = await Promise.all(sizes.map(async (m) => Net.create(compileBundle(got.model, { batch, microBatch: m, profile: profileForAdapter(gpu.adapter), precision: opt.precision as Precision }).bundle, gpu)));
  const inputs = randomInputs(nets[0].inputs);
  const buffers = nets.map((net) => Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, net.createInputBuffer(k, v)])));
  const times = sizes.map(() => ({ host: [] as number[], gpu: [] as number[] }));
  for (let round = 0; round < Number(opt.rounds) + 10; round++) {
    for (const [i, net] of nets.entries()) {
      let t = performance.now();
      await net.predict(inputs);
      const host = performance.now() - t;
      t = performance.now();
      await net.predict(buffers[i]);
      const onGpu = performance.now() - t;
      // The first rounds warm the clock and the caches.
      if (round >= 10) {
        times[i].host.push(host);
        times[i].gpu.push(onGpu);
      }
    }
  }
  const label = (m: number) => (m === batch ? 'one run' : `${batch / m} × ${m}`);
  console.log(`${name} b=${batch} ${opt.precision}: ${sizes.map((m, i) => `${label(m)} host ${fmt(median(times[i].host))} ms, gpu-input ${fmt(median(times[i].gpu))} ms`).join('; ')}`);
  for (const b of buffers) for (const x of Object.values(b)) x.destroy();
  for (const net of nets) net.destroy();
}
process.exit(0);
