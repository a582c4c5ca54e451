/**
 * The split-K GEMM with a folded grid, on the GPU: one-invocation blocks (a forced tiling) make a
 * modest convolution gradient need more than 65535 workgroups along one axis, so the grid is folded
 * into x and y and the shader recovers each block's columns, rows and batch. The results match the
 * float64 interpreter, and every element is written (the arena is poisoned with NaN).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getOp, interpret, validate, type Attrs, type Graph, type Node } from '../../src/ir/index.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { MAX_GROUPS } from '../../src/codegen/indexing.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { expectClose } from '../support/close.js';
import { randomData } from '../support/random.js';

const TOL = { rtol: 1e-4, atol: 1e-5 };
/** 1×1 output blocks, no K split: one workgroup per output element of each batch. */
const ONE_ELEMENT_BLOCKS = '1,1,1,1,1,4';

const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));
afterEach(() => {
  delete process.env.KILN_SPLIT_TILES;
  delete process.env.KILN_CONV;
});

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs the one-op graph `op(a, b)` on the GPU with a NaN-poisoned arena against the float64 interpreter; returns its one kernel's dispatch. */
async function check(op: string, shapes: [number[], number[]], attrs: Attrs): Promise<readonly number[]> {
  const nodes: Node[] = shapes.map((shape, id) => ({ id, op: 'input', inputs: [], attrs: { name: 'ab'[id], shape, dtype: 'float32' }, outputs: [{ shape, dtype: 'float32' }], name: 'ab'[id] }));
  const outputs = getOp(op).infer(nodes.map((n) => n.outputs[0]), attrs);
  nodes.push({ id: 2, op, inputs: [{ node: 0, output: 0 }, { node: 1, output: 0 }], attrs, outputs, name: op });
  const graph: Graph = { nodes, outputs: [{ name: 'y', value: { node: 2, output: 0 } }], updates: [] };
  validate(graph);
  const { bundle, report } = buildBundle(graph, new Map(), op, shapes[0][0]);
  const net = await Net.create(bundle, await testGpu());
  nets.push(net);
  const inputs = { a: randomData(size(shapes[0]), 21), b: randomData(size(shapes[1]), 22) };
  await net.fill(NaN);
  const got = await net.predict(inputs);
  expectClose(got.y, interpret(graph, inputs, { precision: 'float64' }).outputs.y.data, TOL, op);
  expect(report.kernels).toHaveLength(1);
  return report.kernels[0].dispatch;
}

const same = { strides: [1, 1], padding: 'same', dilations: [1, 1] };

describe('a split GEMM grid past 65535 workgroups per dimension is folded and still exact', () => {
  it('conv2dBackpropInput of a 257×257 image, 3 channels: 66049 row blocks × 3 column blocks', async () => {
    process.env.KILN_SPLIT_TILES = ONE_ELEMENT_BLOCKS;
    // A stride-1 input gradient would otherwise run the halo conv kernel, not the split GEMM.
    process.env.KILN_CONV = 'gemm';
    const dispatch = await check('conv2dBackpropInput', [[1, 257, 257, 2], [3, 3, 3, 2]], { ...same, inputSize: [257, 257] });
    // Unfolded, this would be [3, 66049, 1].
    expect(dispatch[1]).toBeGreaterThan(1);
    expect(Math.max(...dispatch)).toBeLessThanOrEqual(MAX_GROUPS);
    expect(dispatch[0] * dispatch[1]).toBeGreaterThan(3 * 66049);
  }, 120_000);

  it('depthwiseConv2dBackpropInput, 2 channels as the GEMM batch: 66049 row blocks × 2 batches', async () => {
    process.env.KILN_SPLIT_TILES = ONE_ELEMENT_BLOCKS;
    const dispatch = await check('depthwiseConv2dBackpropInput', [[1, 257, 257, 2], [3, 3, 2, 1]], { ...same, inputSize: [257, 257] });
    expect(dispatch[2]).toBe(1);
    expect(Math.max(...dispatch)).toBeLessThanOrEqual(MAX_GROUPS);
  }, 120_000);
});
