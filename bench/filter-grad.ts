// GPU time of one conv2dBackpropFilter (its partials kernel and its chunk sum) under each value of an
// experiment knob, e.g. the direct kernel's workgroup target: KNOB=KILN_FILTER_GRAD_GROUPS VALUES=512,1024,2048.
// Usage: node --import tsx bench/filter-grad.ts [--batch 256] [--size 32] [--cin 32] [--cout 32]
import { parseArgs } from 'node:util';
import type { Graph, Node } from '../src/ir/index.js';
import { getOp } from '../src/ir/index.js';
import { buildBundle } from '../src/codegen/bundle.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { Net, openDevice } from '../src/runtime/index.js';

const { values: opt } = parseArgs({ options: { batch: { type: 'string', default: '256' }, size: { type: 'string', default: '32' }, cin: { type: 'string', default: '32' }, cout: { type: 'string', default: '32' } } });
const [n, s, cin, cout] = [opt.batch, opt.size, opt.cin, opt.cout].map(Number);
const gpu = await openDevice();
const knob = process.env.KNOB;
// ';' separates values that hold commas themselves (KILN_SPLIT_TILES=8,8,4,2,2,8).
const values = knob ? (process.env.VALUES ?? '').split(process.env.VALUES?.includes(';') ? ';' : ',') : [''];

function graph(): Graph {
  const x = [n, s, s, cin];
  const dy = [n, s, s, cout];
  const nodes: Node[] = [x, dy].map((shape, id) => ({ id, op: 'input', inputs: [], attrs: { name: id ? 'dy' : 'x', shape, dtype: 'float32' }, outputs: [{ shape, dtype: 'float32' }], name: id ? 'dy' : 'x' }));
  const attrs = { strides: [1, 1], padding: 'same', dilations: [1, 1], kernelSize: [3, 3] };
  const outputs = getOp('conv2dBackpropFilter').infer(nodes.map((m) => m.outputs[0]), attrs);
  nodes.push({ id: 2, op: 'conv2dBackpropFilter', inputs: [{ node: 0, output: 0 }, { node: 1, output: 0 }], attrs, outputs, name: 'dw' });
  return { nodes, outputs: [{ name: 'dw', value: { node: 2, output: 0 } }], updates: [] };
}

for (const value of values) {
  if (knob) process.env[knob] = value;
  const { bundle } = buildBundle(graph(), new Map(), 'dw', n, { profile: profileForAdapter(gpu.adapter) });
  const net = await Net.create(bundle, gpu);
  await net.fill(0.5);
  await net.timeSteps(20);
  const times = await net.timeSteps(50);
  const parts = times.map((t, i) => `${t.ms.toFixed(4)} ms [${bundle.manifest.steps[i].dispatch.join(',')}]`).join(' + ');
  console.log(`filter-grad n=${n} ${s}×${s} ${cin}→${cout} ${knob ?? ''}=${value}: ${times.reduce((a, t) => a + t.ms, 0).toFixed(4)} ms = ${parts}`);
  net.destroy();
}
process.exit(0);
