// kiln's side of the model benchmark: compile each bench sample for a batch, then time predict (inputs
// written, one submit, outputs read back) and a train step (SGD, categorical cross-entropy, loss read
// back) exactly as the peers time theirs; with --precision mixed, both in mixed precision (a mixed train
// step also scales its loss, as Keras's LossScaleOptimizer). One `bench {...}` line per measurement.
// --micro 64,128 also times each predict (from the host and from the GPU) compiled in micro-batches of
// those sizes that divide the batch: the data behind compile's MICRO_BATCH_RULE.
// Usage: node --import tsx bench/kiln.ts [--batches 1,256,4096] [--iters 20] [--models mlp,cnn,resnet,lstm] [--predict-only] [--micro 64,128]
import { parseArgs } from 'node:util';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { loadCachedTuning } from '../src/codegen/tuning.js';
import { Net, describeAdapter } from '../src/runtime/index.js';
import { optimizers } from '../src/index.js';
import { TrainingSession } from '../src/training/session.js';
import { resolveCompileArgs } from '../src/training/config.js';
import { benchDevice, benchModel, emit, median, randomInputs, reason, variant } from './common.js';
import { smClock } from './gpu-clock.js';

const { values: opt } = parseArgs({ options: {
  batches: { type: 'string', default: '1,256' }, iters: { type: 'string', default: '20' }, models: { type: 'string', default: 'mlp,cnn,resnet,lstm' },
  'predict-only': { type: 'boolean', default: false }, 'budget-ms': { type: 'string', default: '4000' },
  precision: { type: 'string', default: 'float32' }, micro: { type: 'string', default: '' },
} });

const gpu = await benchDevice();
const tuning = loadCachedTuning(gpu.adapter);
emit({ part: 'info', system: 'kiln', adapter: describeAdapter(gpu.adapter), tuned: tuning ? Object.keys(tuning.gemm).length : 0, variant: variant() });
const iters = Number(opt.iters);
const budget = Number(opt['budget-ms']);

/** Warm-up: at least this many calls, and calls for at least WARM_MS. */
const WARM_CALLS = 3;
// Between the submits of a timed loop the GPU idles; a short one-off warm-up left kiln's rows up to 2×
// slower in some runs (idle clocks, we think), so each case first runs busy for a while.
const WARM_MS = 200;
// The process's first case warms up longer: in run W (session 10) the first case, the mlp at batch 1,
// took 0.204 ms against 0.073 for the same predict in the overhead part of the same call.
const FIRST_WARM_MS = 1000;
let warmedUp = false;
/**
 * The warm-up also lasts until nvidia-smi reads the SM clock within 5% of its maximum, for at most
 * SETTLE_MAX_MS: a compile idles the GPU, and the H100 then sits at 375–705 MHz for the first few hundred
 * ms of work (run AV: the ResNet's train step at batch 256 timed 12.0 ms at 705 MHz, pipelined 5.3).
 */
const SETTLE_MAX_MS = 3000;
/** From this batch, the plain predict is also timed as four batches of a quarter (see below). */
const BATCHES_FROM = 4096;
const SETTLED = 0.95;

/**
 * Timed calls last at least this long in all (more than `iters` calls where one is fast): the median of
 * 20 calls of 0.1 ms fell inside one short window of the host, and the cnn's predict at batch 1 read
 * 0.064, 0.141 and 0.079 ms plain in runs AA, AB and AC of session 11 with the same kernels.
 */
const MIN_TIMED_MS = 100;

/**
 * Median ms of `fn` over `iters` calls (or MIN_TIMED_MS of calls) after the warm-up, fewer when they pass
 * the time budget (batch 4096), and the epoch-ms window of the timed calls (report.ts notes the GPU's
 * clock in it).
 */
async function timed(fn: () => Promise<unknown>): Promise<{ ms: number; n: number; window: [number, number] }> {
  const warm = performance.now();
  const warmMs = warmedUp ? WARM_MS : FIRST_WARM_MS;
  warmedUp = true;
  let settled = false;
  let probing = false;
  const probe = () => {
    probing = true;
    void smClock().then((c) => ((settled = !c || c.sm >= SETTLED * c.max), (probing = false)));
  };
  const warming = () => performance.now() - warm < warmMs || (!settled && performance.now() - warm < SETTLE_MAX_MS);
  for (let i = 0; i < WARM_CALLS || warming(); i++) {
    if (!settled && !probing) probe();
    await fn();
  }
  const times: number[] = [];
  const start = performance.now();
  const t0 = Date.now();
  const more = () => times.length < iters || performance.now() - start < MIN_TIMED_MS;
  while (more() && (times.length < 5 || performance.now() - start < budget)) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return { ms: median(times), n: times.length, window: [t0, Date.now()] };
}

/** `timed` with every feed uploaded once into a GPUBuffer, as PyTorch's and TF.js's harnesses keep their inputs on the GPU. */
async function timedOnGpu(net: Net, feeds: Record<string, Float32Array>, call: (buffers: Record<string, GPUBuffer>) => Promise<unknown>) {
  const buffers = Object.fromEntries(Object.entries(feeds).map(([name, data]) => [name, net.createInputBuffer(name, data)]));
  try {
    return await timed(() => call(buffers));
  } finally {
    for (const b of Object.values(buffers)) b.destroy();
  }
}

for (const batch of opt.batches.split(',').map(Number)) {
  for (const name of opt.models.split(',')) {
    // Mixed-precision rows are a variant of kiln's rows, as the Dawn-toggle rows are.
    const mixed = opt.precision === 'mixed';
    const base = { part: 'models', system: 'kiln', model: name, batch, variant: [variant(), mixed ? 'mixed' : ''].filter(Boolean).join(',') } as const;
    const got = await benchModel(name);
    if ('missing' in got) {
      for (const metric of opt['predict-only'] ? ['predict'] : ['predict', 'train']) emit({ ...base, metric, status: 'missing', reason: got.missing });
      continue;
    }
    let inputs: Record<string, Float32Array> = {};
    try {
      const compiled = compileBundle(got.model, { batch, profile: profileForAdapter(gpu.adapter), tuning, ...(mixed ? { precision: 'mixed' as const } : {}) });
      const net = await Net.create(compiled.bundle, gpu);
      inputs = randomInputs(net.inputs);
      const p = await timed(() => net.predict(inputs));
      // compile's 'auto' may run the batch in micro-batches (MICRO_BATCH_RULE): the rows say so, and the same batch in one run is timed beside.
      const micro = compiled.bundle.manifest.model.microBatches ?? 1;
      const shape = (c: typeof compiled) => ({ kernels: c.bundle.manifest.steps.length, ...((c.bundle.manifest.model.microBatches ?? 1) > 1 ? { micro_batches: c.bundle.manifest.model.microBatches } : {}) });
      emit({ ...base, metric: 'predict', ms: p.ms, n: p.n, window: p.window, ...shape(compiled), compile_ms: compiled.millis });
      // Mixed bundles too: their plain rows carry the same upload as float32's, which hides what their kernels save.
      if (!base.variant || base.variant === 'mixed') {
        const g = await timedOnGpu(net, inputs, (buffers) => net.predict(buffers));
        emit({ ...base, variant: base.variant ? `${base.variant},gpu-input` : 'gpu-input', metric: 'predict', ms: g.ms, n: g.n, window: g.window, ...shape(compiled) });
      }
      net.destroy();
      if (micro > 1 && (!base.variant || base.variant === 'mixed')) {
        const whole = compileBundle(got.model, { batch, profile: profileForAdapter(gpu.adapter), tuning, microBatch: batch, ...(mixed ? { precision: 'mixed' as const } : {}) });
        const one = await Net.create(whole.bundle, gpu);
        const w = await timed(() => one.predict(inputs));
        emit({ ...base, variant: [base.variant, 'one run'].filter(Boolean).join(','), metric: 'predict', ms: w.ms, n: w.n, window: w.window, ...shape(whole) });
        const wg = await timedOnGpu(one, inputs, (buffers) => one.predict(buffers));
        emit({ ...base, variant: [base.variant, 'one run', 'gpu-input'].filter(Boolean).join(','), metric: 'predict', ms: wg.ms, n: wg.n, window: wg.window, ...shape(whole) });
        one.destroy();
      }
      for (const m of opt.micro ? opt.micro.split(',').map(Number) : []) {
        if (m >= batch || batch % m !== 0 || m === compiled.bundle.manifest.model.batch) continue;
        const sweep = compileBundle(got.model, { batch, profile: profileForAdapter(gpu.adapter), tuning, microBatch: m, ...(mixed ? { precision: 'mixed' as const } : {}) });
        const net = await Net.create(sweep.bundle, gpu);
        const label = `${batch / m}×${m}`;
        const h = await timed(() => net.predict(inputs));
        emit({ ...base, variant: [base.variant, label].filter(Boolean).join(','), metric: 'predict', ms: h.ms, n: h.n, window: h.window, ...shape(sweep) });
        const g = await timedOnGpu(net, inputs, (buffers) => net.predict(buffers));
        emit({ ...base, variant: [base.variant, label, 'gpu-input'].filter(Boolean).join(','), metric: 'predict', ms: g.ms, n: g.n, window: g.window, ...shape(sweep) });
        net.destroy();
      }
      if (micro === 1 && batch >= BATCHES_FROM && !base.variant && !opt.micro) {
        // The same rows from the host through a Net compiled for a quarter of the batch: four batches in one
        // call, each uploaded while the GPU computes the one before (what the micro-batches do), for a model 'auto' keeps whole.
        const quarter = compileBundle(got.model, { batch: batch / 4, profile: profileForAdapter(gpu.adapter), tuning });
        const small = await Net.create(quarter.bundle, gpu);
        const q = await timed(() => small.predict(inputs));
        emit({ ...base, variant: `4×${batch / 4}`, metric: 'predict', ms: q.ms, n: q.n, window: q.window, ...shape(quarter) });
        small.destroy();
      }
    } catch (e) {
      emit({ ...base, metric: 'predict', status: 'error', reason: reason(e) });
      continue;
    }
    if (opt['predict-only']) continue;
    try {
      // A train step as the peers time it: SGD, categorical cross-entropy, the loss read back each step.
      const model = got.model;
      const session = await TrainingSession.create(model, resolveCompileArgs(model, { optimizer: optimizers.SGD({ learningRate: 0.01 }), loss: 'categoricalCrossentropy', ...(mixed ? { precision: 'mixed' as const } : {}) }), batch, gpu, { readLoss: true });
      const y = new Float32Array(batch * 10).map((_, i) => (i % 10 === Math.floor(i / 10) % 10 ? 1 : 0));
      const names = Object.keys(inputs);
      const feeds = Object.fromEntries(session.inputNames.map((n, k) => [n, k < names.length ? inputs[names[k]] : y]));
      const s = await timed(() => session.step(feeds));
      const t1 = performance.now();
      for (let i = 0; i < s.n; i++) void session.step(feeds);
      await session.net.flush();
      emit({ ...base, metric: 'train', ms: s.ms, n: s.n, window: s.window, pipelined_ms: (performance.now() - t1) / s.n, kernels: session.bundle.manifest.steps.length });
      if (!base.variant || base.variant === 'mixed') {
        const g = await timedOnGpu(session.net, feeds, (buffers) => session.step(buffers));
        emit({ ...base, variant: base.variant ? `${base.variant},gpu-input` : 'gpu-input', metric: 'train', ms: g.ms, n: g.n, window: g.window, kernels: session.bundle.manifest.steps.length });
      }
      session.destroy();
    } catch (e) {
      emit({ ...base, metric: 'train', status: 'error', reason: reason(e) });
    }
  }
}
process.exit(0);
