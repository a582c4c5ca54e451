// The tuning step of a benchmark run: `kiln tune` on each bench model at each batch (and on the GEMM
// sweep's sizes), winners merged into this adapter's tuning cache, which the later parts' compiles read.
// Usage: node --import tsx bench/tune.ts [--models mlp,cnn,resnet,lstm] [--batches 1,256,4096] [--gemm-sizes 1024,4096]
import { parseArgs } from 'node:util';
import { Input, Model, clearSession, layers } from '../src/index.js';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { saveCachedTuning, tuningCachePath } from '../src/codegen/tuning.js';
import { tuneBundle } from '../src/cli/tune.js';
import { openTuningDevice } from '../src/cli/tune-timer.js';
import { benchModel, dawnFlags, emit, installDawn, reason } from './common.js';

const { values: opt } = parseArgs({ options: {
  models: { type: 'string', default: 'mlp,cnn,resnet,lstm' }, batches: { type: 'string', default: '1,256' }, 'gemm-sizes': { type: 'string', default: '' },
} });
await installDawn(dawnFlags());
const tdev = await openTuningDevice();
const profile = profileForAdapter(tdev.adapter);

/** The models to tune: bench samples at each batch, and one Dense GEMM per sweep size. */
const jobs: { name: string; make: () => Promise<Model | undefined>; batch: number }[] = [];
for (const batch of opt.batches.split(',').filter(Boolean).map(Number)) {
  for (const name of opt.models.split(',').filter(Boolean)) jobs.push({ name, batch, make: async () => ((m) => ('model' in m ? m.model : undefined))(await benchModel(name)) });
}
for (const size of opt['gemm-sizes'].split(',').filter(Boolean).map(Number)) {
  jobs.push({ name: `gemm${size}`, batch: size, make: async () => {
    clearSession();
    const x = Input({ shape: [size] });
    return new Model({ name: `gemm${size}`, inputs: x, outputs: layers.Dense(size, { useBias: false })(x) });
  } });
}

for (const job of jobs) {
  const base = { part: 'tune', system: 'kiln', model: job.name, batch: job.batch } as const;
  try {
    const model = await job.make();
    if (!model) continue;
    const { bundle } = compileBundle(model, { batch: job.batch, profile });
    const t0 = performance.now();
    const result = await tuneBundle(bundle, tdev, { targetMs: 10, samples: 3 });
    saveCachedTuning(tdev.adapter, result.table);
    for (const p of result.problems) {
      const untuned = p.tried.find((t) => JSON.stringify(t.tiles) === JSON.stringify(p.untuned))?.ms;
      const best = p.tried.find((t) => t.tiles === p.winner)?.ms;
      emit({ ...base, key: p.key, winner: p.winner, ms: best, untuned_ms: untuned, steps: p.steps.length, tried: p.tried.map((t) => ({ tiles: t.tiles, ms: t.ms, ...(t.error ? { error: t.error } : {}) })) });
    }
    emit({ ...base, problems: result.problems.length, seconds: (performance.now() - t0) / 1000 });
  } catch (e) {
    emit({ ...base, status: 'error', reason: reason(e) });
  }
}
emit({ part: 'info', system: 'kiln-tune', cache: tuningCachePath(tdev.adapter) });
process.exit(0);
