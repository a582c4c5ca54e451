// Bundle load to first result, as a user's fresh process sees it: open Dawn and the device, read the
// bundle from disk, create its buffers and pipelines, run one predict and read it back.
// Usage: node --import tsx bench/load.ts --prepare DIR [--models mlp,resnet]   (compile bundles, batch 1)
//        node --import tsx bench/load.ts --model mlp DIR                        (one fresh-process measurement)
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { compileBundle, writeBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { loadCachedTuning } from '../src/codegen/tuning.js';
import { loadBundle, type LoadOptions } from '../src/runtime/index.js';
import { benchDevice, benchModel, dawnFlags, emit, installDawn, randomInputs, reason, variant } from './common.js';

const { values: opt, positionals } = parseArgs({ allowPositionals: true, options: {
  prepare: { type: 'boolean', default: false }, models: { type: 'string', default: 'mlp,resnet' }, model: { type: 'string' },
} });
const dir = positionals[0] ?? 'bench-out/load';

if (opt.prepare) {
  const gpu = await benchDevice();
  for (const name of opt.models.split(',')) {
    const got = await benchModel(name);
    if ('missing' in got) {
      emit({ part: 'load', system: 'kiln', model: name, status: 'missing', reason: got.missing });
      continue;
    }
    const compiled = compileBundle(got.model, { batch: 1, profile: profileForAdapter(gpu.adapter), tuning: loadCachedTuning(gpu.adapter) });
    await writeBundle(compiled.bundle, join(dir, `${name}.kiln`), { singleFile: true, overwrite: true, loader: false });
  }
  process.exit(0);
}

const name = opt.model!;
try {
  // The clock starts where a user's code would call kiln: Dawn's module load is counted.
  const t0 = performance.now();
  await installDawn(dawnFlags());
  const tDawn = performance.now();
  const phases: LoadOptions['phases'] = {};
  const net = await loadBundle(join(dir, `${name}.kiln`), { phases });
  const t3 = performance.now();
  await net.predict(randomInputs(net.inputs));
  const t4 = performance.now();
  // loadBundle opens the device while it reads the bundle: device and read overlap.
  emit({ part: 'load', system: 'kiln', model: name, batch: 1, ms: t4 - t0, device_ms: tDawn - t0 + phases.device!, read_ms: phases.read!, setup_ms: phases.setup!, first_predict_ms: t4 - t3, kernels: net.manifest.kernels.length, variant: variant() });
} catch (e) {
  emit({ part: 'load', system: 'kiln', model: name, status: 'error', reason: reason(e) });
}
process.exit(0);
