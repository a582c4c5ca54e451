// Which upload path a host input of a bench model's batch should take: the same bundle loaded twice,
// one Net writing inputs through queue.writeBuffer and one through its mapped staging buffers
// (`mappedUploadFrom: 0`), predicts alternating between the two so that both see the same windows.
// Usage: node --import tsx bench/upload-ab.ts [--models mlp,cnn,lstm,resnet] [--batch 256] [--iters 400]
import { parseArgs } from 'node:util';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { Net } from '../src/runtime/index.js';
import { benchDevice, benchModel, median, randomInputs } from './common.js';

const { values: opt } = parseArgs({ options: { models: { type: 'string', default: 'mlp,cnn,lstm,resnet' }, batch: { type: 'string', default: '256' }, iters: { type: 'string', default: '400' } } });
const gpu = await benchDevice();
for (const name of opt.models.split(',')) {
  const got = await benchModel(name);
  if ('missing' in got) continue;
  const { bundle } = compileBundle(got.model, { batch: Number(opt.batch), profile: profileForAdapter(gpu.adapter) });
  const nets = { writeBuffer: await Net.create(bundle, gpu), mapped: await Net.create(bundle, gpu, { mappedUploadFrom: 0 }) };
  const inputs = randomInputs(nets.mapped.inputs);
  const bytes = Object.values(inputs).reduce((n, a) => n + a.byteLength, 0);
  const times: Record<string, number[]> = { writeBuffer: [], mapped: [] };
  for (let i = 0; i < 50; i++) for (const net of Object.values(nets)) await net.predict(inputs);
  for (let i = 0; i < Number(opt.iters); i++) {
    for (const [path, net] of Object.entries(nets)) {
      const t = performance.now();
      await net.predict(inputs);
      times[path].push(performance.now() - t);
    }
  }
  console.log(`${name} b=${opt.batch} (${(bytes / 1048576).toFixed(2)} MiB in): ${Object.entries(times).map(([p, ts]) => `${p} ${(median(ts) * 1000).toFixed(1)} µs`).join(', ')}`);
  for (const net of Object.values(nets)) net.destroy();
}
process.exit(0);
