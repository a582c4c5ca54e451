// Where a predict's host time goes: runs a bench model's predict in a loop under V8's sampling profiler
// and prints the functions with the most self time (the profile itself lands in $OUT or bench-out).
// Usage: node --cpu-prof --cpu-prof-dir=DIR --import tsx bench/host-profile.ts [--model mlp] [--batch 1] [--iters 5000]
//        node --import tsx bench/host-profile.ts --report DIR/x.cpuprofile
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { Net } from '../src/runtime/index.js';
import { benchDevice, benchModel, randomInputs } from './common.js';

const { values: opt } = parseArgs({ options: { model: { type: 'string', default: 'mlp' }, batch: { type: 'string', default: '1' }, iters: { type: 'string', default: '5000' }, report: { type: 'string' } } });

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
if (opt.report) {
  const p = JSON.parse(readFileSync(opt.report, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + p.timeDeltas[i]);
    total += p.timeDeltas[i];
  });
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}% ${(us / 1000).toFixed(1).padStart(8)} ms  ${key}`);
  process.exit(0);
}

const gpu = await benchDevice();
const got = await benchModel(opt.model!);
if ('missing' in got) throw new Error(got.missing);
const net = await Net.create(compileBundle(got.model, { batch: Number(opt.batch), profile: profileForAdapter(gpu.adapter) }).bundle, gpu);
const inputs = randomInputs(net.inputs);
for (let i = 0; i < 200; i++) await net.predict(inputs);
const t0 = performance.now();
for (let i = 0; i < Number(opt.iters); i++) await net.predict(inputs);
console.log(`${opt.model} b=${opt.batch}: ${(((performance.now() - t0) / Number(opt.iters)) * 1000).toFixed(1)} µs a predict`);
process.exit(0);
