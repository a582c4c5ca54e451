/**
 * The layerNormGrad kernels (dx per row, then dγ and dβ per column through the row statistics in
 * scratch) in a hand-built graph fed by graph inputs, against the float64 interpreter, NaN-poisoned.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { getOp, interpret, validate, type Graph, type Node } from '../../src/ir/index.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { expectClose } from '../support/close.js';
import { randomData } from '../support/random.js';

// Four workgroup sums per row and a column sum over every row, in float32 against float64.
const TOL = { rtol: 1e-4, atol: 1e-5 };
const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

async function check(x: number[], axes: number[], epsilon = 1e-3): Promise<void> {
  const p = axes.map((a) => x[a]);
  const shapes = [x, p, x];
  const names = ['x', 'gamma', 'dy'];
  const nodes: Node[] = shapes.map((shape, id) => ({ id, op: 'input', inputs: [], attrs: { name: names[id], shape, dtype: 'float32' }, outputs: [{ shape, dtype: 'float32' }], name: names[id] }));
  const attrs = { axes, epsilon };
  const outputs = getOp('layerNormGrad').infer(nodes.map((n) => n.outputs[0]), attrs);
  nodes.push({ id: 3, op: 'layerNormGrad', inputs: [0, 1, 2].map((node) => ({ node, output: 0 })), attrs, outputs, name: 'lng' });
  const graph: Graph = { nodes, outputs: ['dx', 'dgamma', 'dbeta'].map((name, output) => ({ name, value: { node: 3, output } })), updates: [] };
  validate(graph);
  const { bundle, report } = buildBundle(graph, new Map(), 'lng', x[0]);
  expect(report.kernels, 'dx kernel, then the dγ/dβ kernel').toHaveLength(2);
  const net = await Net.create(bundle, await testGpu());
  nets.push(net);
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const feeds = Object.fromEntries(names.map((n, k) => [n, randomData(size(shapes[k]), 40 + k, -2, 2)]));
  await net.fill(NaN);
  const got = await net.predict(feeds);
  const want = interpret(graph, feeds, { precision: 'float64' }).outputs;
  for (const name of ['dx', 'dgamma', 'dbeta']) expectClose(got[name], want[name].data, TOL, name);
}

describe('layerNormGrad kernels match the interpreter', () => {
  it('axis -1, short rows', () => check([4, 10], [1]));
  it('rows longer than a workgroup (300) and more rows than lanes (70 × 3)', () => check([70, 3, 300], [2]));
  it('axes [1, 2]', () => check([3, 4, 5], [1, 2], 1e-5));
  it('axis 1 of three (strided rows and columns)', () => check([2, 6, 5], [1]));
  it('axes [1, 3] of rank 4 (non-contiguous columns)', () => check([2, 3, 2, 4], [1, 3]));
});
