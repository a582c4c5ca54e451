/**
 * The attentionGrad kernels (dq per query row leaving its softmax max, 1/sum and Σ P·dP in scratch, then dk and
 * dv per key row) in a hand-built graph fed by graph inputs, against the float64 interpreter, NaN-poisoned.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { getOp, interpret, validate, type Graph, type Node } from '../../src/ir/index.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { expectClose } from '../support/close.js';
import { randomData } from '../support/random.js';

// Softmax recomputed in float32 and sums over the other sequence, against float64.
const TOL = { rtol: 1e-4, atol: 2e-5 };
const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

/** q [b,tq,h,d], k [b,tk,h,d], v [b,tk,h,dv]; mask values (0/1) of shape maskShape when given. */
async function check(b: number, tq: number, tk: number, h: number, d: number, dv: number, attrs: { scale: number; causal?: boolean }, mask?: { shape: number[]; values: number[] }): Promise<void> {
  const shapes = [[b, tq, h, d], [b, tk, h, d], [b, tk, h, dv], [b, tq, h, dv], ...(mask ? [mask.shape] : [])];
  const names = ['q', 'k', 'v', 'dy', 'mask'].slice(0, shapes.length);
  const nodes: Node[] = shapes.map((shape, id) => ({ id, op: 'input', inputs: [], attrs: { name: names[id], shape, dtype: 'float32' }, outputs: [{ shape, dtype: 'float32' }], name: names[id] }));
  const outputs = getOp('attentionGrad').infer(nodes.map((n) => n.outputs[0]), attrs);
  const id = nodes.length;
  nodes.push({ id, op: 'attentionGrad', inputs: shapes.map((_, node) => ({ node, output: 0 })), attrs, outputs, name: 'ag' });
  const graph: Graph = { nodes, outputs: ['dq', 'dk', 'dv'].map((name, output) => ({ name, value: { node: id, output } })), updates: [] };
  validate(graph);
  const { bundle, report } = buildBundle(graph, new Map(), 'ag', b);
  expect(report.kernels, 'dq kernel, then the dk/dv kernel').toHaveLength(2);
  const net = await Net.create(bundle, await testGpu());
  nets.push(net);
  const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
  const feeds = Object.fromEntries(names.map((n, k) => [n, n === 'mask' ? Float32Array.from(mask!.values) : randomData(size(shapes[k]), 60 + k, -1.5, 1.5)]));
  await net.fill(NaN);
  const got = await net.predict(feeds);
  const want = interpret(graph, feeds, { precision: 'float64' }).outputs;
  for (const name of ['dq', 'dk', 'dv']) expectClose(got[name], want[name].data, TOL, name);
}

describe('attentionGrad kernels match the interpreter', () => {
  it('cross-attention, 2 heads', () => check(2, 3, 5, 2, 4, 3, { scale: 0.5 }));
  it('causal (queries before a key skipped)', () => check(2, 6, 6, 2, 3, 2, { scale: 0.6, causal: true }));
  it('a broadcast mask with the causal mask, one row fully masked', () =>
    check(2, 3, 4, 1, 2, 3, { scale: 0.7, causal: true }, { shape: [2, 1, 4], values: [1, 0, 1, 1, 0, 1, 1, 0] }));
  it('a [batch, tq, tk] mask, 40 keys', () =>
    check(1, 5, 40, 2, 3, 3, { scale: 0.4 }, { shape: [1, 5, 40], values: Array.from({ length: 200 }, (_, n) => (n % 40 === 0 || n % 3 !== 0 ? 1 : 0)) }));
});
