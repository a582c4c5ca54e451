// Mixed precision against float32 on the same adapter: each bench model compiled both ways, run on the
// same random batch; prints the largest |mixed − float32| of the outputs next to the largest |float32|,
// and the argmax agreement of the rows (a softmax head's predicted class).
// Usage: node --import tsx bench/mixed-error.ts [--models mlp,cnn,resnet,lstm] [--batch 256]
import { parseArgs } from 'node:util';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { Net } from '../src/runtime/index.js';
import { benchDevice, benchModel, emit, randomInputs, reason } from './common.js';

const { values: opt } = parseArgs({ options: { models: { type: 'string', default: 'mlp,cnn,resnet,lstm' }, batch: { type: 'string', default: '256' } } });
const gpu = await benchDevice();
const batch = Number(opt.batch);
for (const name of opt.models.split(',')) {
  const got = await benchModel(name);
  if ('missing' in got) continue;
  try {
    const outs = [];
    let inputs: Record<string, Float32Array> | undefined;
    for (const precision of ['float32', 'mixed'] as const) {
      const net = await Net.create(compileBundle(got.model, { batch, profile: profileForAdapter(gpu.adapter), precision }).bundle, gpu);
      inputs ??= randomInputs(net.inputs);
      outs.push(Object.values(await net.predict(inputs))[0] as Float32Array);
      net.destroy();
    }
    const [ref, mixed] = outs;
    let [err, scale] = [0, 0];
    for (let i = 0; i < ref.length; i++) [err, scale] = [Math.max(err, Math.abs(ref[i] - mixed[i])), Math.max(scale, Math.abs(ref[i]))];
    const cols = ref.length / batch;
    const argmax = (a: Float32Array, r: number) => a.subarray(r * cols, (r + 1) * cols).reduce((best, v, j, row) => (v > row[best] ? j : best), 0);
    let agree = 0;
    for (let r = 0; r < batch; r++) agree += Number(argmax(ref, r) === argmax(mixed, r));
    emit({ part: 'mixed-error', system: 'kiln', model: name, batch, max_abs_err: err, ref_scale: scale, argmax_agreement: agree / batch });
  } catch (e) {
    emit({ part: 'mixed-error', system: 'kiln', model: name, batch, status: 'error', reason: reason(e) });
  }
}
process.exit(0);
