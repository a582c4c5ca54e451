// Per-kernel GPU time of a bench sample's training step (SGD, categorical cross-entropy).
// Usage: node --import tsx bench/profile-train.ts [--model resnet] [--batch 256] [--top 15] [--precision float32|mixed]
import { parseArgs } from 'node:util';
import { optimizers } from '../src/index.js';
import { openDevice } from '../src/runtime/index.js';
import { TrainingSession } from '../src/training/session.js';
import { resolveCompileArgs } from '../src/training/config.js';

const { values: opt } = parseArgs({ options: { model: { type: 'string', default: 'resnet' }, batch: { type: 'string', default: '256' }, top: { type: 'string', default: '15' }, precision: { type: 'string', default: 'float32' } } });
const { model } = await import(`../samples/${opt.model}.js`);
const batch = Number(opt.batch);
const session = await TrainingSession.create(model, resolveCompileArgs(model, { optimizer: optimizers.SGD({ learningRate: 0.01 }), loss: 'categoricalCrossentropy', precision: opt.precision as 'float32' | 'mixed' }), batch, await openDevice());
const feeds = Object.fromEntries(session.net.inputs.map((s) => [s.name, new Float32Array(s.shape.reduce((a, b) => a * b, 1)).fill(0.1)]));
await session.step(feeds);
await session.net.flush();
const times = await session.net.timeSteps(10);
const total = times.reduce((a, t) => a + t.ms, 0);
const byKernel = times.map((t, i) => ({ ...t, i, kernel: session.bundle.manifest.steps[i].kernel, dispatch: session.bundle.manifest.steps[i].dispatch })).sort((a, b) => b.ms - a.ms);
for (const t of byKernel.slice(0, Number(opt.top))) console.log(`${opt.model} b=${batch} #${t.i} ${t.name.slice(0, 60).padEnd(60)} ${t.ms.toFixed(3)} ms [${t.dispatch.join(',')}]`);
console.log(`${opt.model} b=${batch} ${opt.precision} total ${total.toFixed(2)} ms over ${times.length} kernels`);
process.exit(0);
