// kiln's side of the benchmark: compile each bench sample for a batch, then time predict (inputs
// written, one submit, outputs read back) exactly as the peers time theirs.
// Usage: node --import tsx bench/kiln.ts [--batches 1,256] [--iters 20] [--models mlp,cnn,resnet]
import { parseArgs } from 'node:util';
import { compileBundle } from '../src/codegen/index.js';
import { Net, openDevice, describeAdapter } from '../src/runtime/index.js';
import { optimizers, type Model } from '../src/index.js';
import { TrainingSession } from '../src/training/session.js';
import { resolveCompileArgs } from '../src/training/config.js';

const { values: opt } = parseArgs({ options: {
  batches: { type: 'string', default: '1,256' }, iters: { type: 'string', default: '20' }, models: { type: 'string', default: 'mlp,cnn,resnet' },
} });

/** The bench models, from samples/ (the LSTM arrives with the recurrent-layers issue). */
const SAMPLES: Record<string, () => Promise<Model>> = {
  mlp: async () => (await import('../samples/mlp.js')).model,
  cnn: async () => (await import('../samples/cnn.js')).model,
  resnet: async () => (await import('../samples/resnet.js')).model,
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const gpu = await openDevice();
console.error(`adapter: ${describeAdapter(gpu.adapter)}`);
const iters = Number(opt.iters);
for (const batch of opt.batches.split(',').map(Number)) {
  for (const name of opt.models.split(',')) {
    const make = SAMPLES[name];
    if (!make) { console.log(`kiln ${name} batch=${batch} skipped=not-yet-supported`); continue; }
    const compiled = compileBundle(await make(), { batch });
    const t0 = performance.now();
    const net = await Net.create(compiled.bundle, gpu);
    const loadMs = performance.now() - t0;
    const inputs = Object.fromEntries(net.inputs.map((s) => [s.name, new Float32Array(s.shape.reduce((a, b) => a * b, 1)).map(() => Math.random() * 2 - 1)]));
    const times: number[] = [];
    for (let i = 0; i < iters + 3; i++) {
      const t = performance.now();
      await net.predict(inputs);
      if (i >= 3) times.push(performance.now() - t);
    }
    net.destroy();
    // A train step as the peers time it: SGD, categorical cross-entropy, the loss read back each step.
    const model = await make();
    const session = await TrainingSession.create(model, resolveCompileArgs(model, { optimizer: optimizers.SGD({ learningRate: 0.01 }), loss: 'categoricalCrossentropy' }), batch, gpu, { readLoss: true });
    const y = new Float32Array(batch * 10).map((_, i) => (i % 10 === (i / 10) % 10 ? 1 : 0));
    const feeds = Object.fromEntries(session.inputNames.map((n, k) => [n, k < net.inputs.length ? inputs[net.inputs[k].name] : y]));
    const steps: number[] = [];
    for (let i = 0; i < iters + 3; i++) {
      const t = performance.now();
      await session.step(feeds);
      if (i >= 3) steps.push(performance.now() - t);
    }
    const t1 = performance.now();
    for (let i = 0; i < iters; i++) void session.step(feeds);
    await session.net.flush();
    const pipelined = (performance.now() - t1) / iters;
    console.log(`kiln ${name} batch=${batch} predict_ms=${median(times).toFixed(3)} train_step_ms=${median(steps).toFixed(3)} train_step_pipelined_ms=${pipelined.toFixed(3)} compile_ms=${compiled.millis.toFixed(1)} load_ms=${loadMs.toFixed(1)} kernels=${compiled.bundle.manifest.steps.length} train_kernels=${session.bundle.manifest.steps.length}`);
    session.destroy();
  }
}
process.exit(0);
