/**
 * The training batch norm's kernels (partials per chunk of rows, a per-channel combine, an
 * elementwise pass), forward and gradient, in hand-built graphs fed by graph inputs, against the
 * float64 interpreter, NaN-poisoned.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { getOp, interpret, validate, type Graph, type Node } from '../../src/ir/index.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { batchNormSplit } from '../../src/codegen/lower/batch-norm.js';
import { channelLayout } from '../../src/ir/ops/batchnorm.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { expectClose } from '../support/close.js';
import { randomData } from '../support/random.js';

// Sums over up to 70k rows in float32 (partials, then a tree) against float64.
const TOL = { rtol: 2e-4, atol: 2e-5 };
const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Runs one node over graph inputs on the GPU and in the interpreter; compares every output. */
async function check(op: 'batchNormTraining' | 'batchNormTrainingGrad', x: number[], axis: number, offset = 0, extra: Record<string, string> = {}): Promise<void> {
  const C = x[axis < 0 ? x.length + axis : axis];
  const names = op === 'batchNormTraining' ? ['x', 'gamma', 'beta', ...(extra.side ? ['side'] : [])] : ['x', 'gamma', 'mean', 'variance', 'dy'];
  const shapes = names.map((n) => (n === 'x' || n === 'dy' || n === 'side' ? x : [C]));
  const nodes: Node[] = shapes.map((shape, id) => ({ id, op: 'input', inputs: [], attrs: { name: names[id], shape, dtype: 'float32' }, outputs: [{ shape, dtype: 'float32' }], name: names[id] }));
  const { side: _, ...rest } = extra;
  const attrs = { axis, epsilon: 1e-3, ...rest };
  const outputs = getOp(op).infer(nodes.map((n) => n.outputs[0]), attrs);
  const id = nodes.length;
  nodes.push({ id, op, inputs: names.map((_, node) => ({ node, output: 0 })), attrs, outputs, name: 'bn' });
  const outNames = op === 'batchNormTraining' ? ['y', 'mean', 'variance'] : ['dx', 'dgamma', 'dbeta'];
  const graph: Graph = { nodes, outputs: outNames.map((name, output) => ({ name, value: { node: id, output } })), updates: [] };
  validate(graph);
  const { bundle, report } = buildBundle(graph, new Map(), 'bn', x[0]);
  expect(report.kernels, 'partials, combine, elementwise').toHaveLength(3);
  const net = await Net.create(bundle, await testGpu());
  nets.push(net);
  const ranges: Record<string, [number, number]> = { x: [offset - 2, offset + 2], gamma: [0.5, 1.5], beta: [-1, 1], mean: [offset - 0.3, offset + 0.3], variance: [0.5, 2], dy: [-1, 1], side: [-1, 1] };
  const feeds = Object.fromEntries(names.map((n, k) => [n, randomData(size(shapes[k]), 60 + k, ...ranges[n])]));
  await net.fill(NaN);
  const got = await net.predict(feeds);
  const want = interpret(graph, feeds, { precision: 'float64' }).outputs;
  for (const name of outNames) expectClose(got[name], want[name].data, TOL, `${op} ${name}`);
}

describe('training batch norm kernels match the interpreter', () => {
  for (const op of ['batchNormTraining', 'batchNormTrainingGrad'] as const) {
    describe(op, () => {
      it('dense features, last axis (one chunk)', () => check(op, [6, 5], -1));
      it('NHWC images of 32 channels, read as vec4s (16·8·8 rows)', () => check(op, [16, 8, 8, 32], -1));
      it('NHWC images with many chunks of rows (70·32·32 rows of 3 channels)', () => check(op, [70, 32, 32, 3], -1));
      it('300 channels: 75 quads of lanes side by side, 2 rows at once', () => check(op, [64, 300], -1));
      it('column blocks: 1030 channels one by one (blocks of 256), 1100 in quads (blocks of 256 quads)', async () => {
        await check(op, [8, 1030], -1);
        await check(op, [6, 1100], -1);
      });
      it('channels on axis 1 (NCHW: rows contiguous, one channel at a time)', () => check(op, [5, 4, 9, 7], 1));
      it('channels on axis 1 with many chunks of rows (64·32·32 rows of 8 channels)', () => check(op, [64, 8, 32, 32], 1));
      it('a mean far from zero (the partials shift their data)', () => check(op, [40, 16, 16, 8], -1, 100));
    });
  }
});

describe('batchNormTraining with a fused relu and side input matches the interpreter', () => {
  it('NHWC, read as vec4s', () => check('batchNormTraining', [16, 8, 8, 32], -1, 0, { activation: 'relu' }));
  it('channels one by one', () => check('batchNormTraining', [70, 32, 32, 3], -1, 0, { activation: 'relu' }));
  it('plus a side input (a residual), NHWC as vec4s and channels one by one', async () => {
    await check('batchNormTraining', [16, 8, 8, 32], -1, 0, { activation: 'relu', side: 'yes' });
    await check('batchNormTraining', [10, 6, 6, 3], -1, 0, { side: 'yes' });
  });
});

describe('batchNormSplit', () => {
  it('gives NHWC channels side by side in quads, and many chunks to a large batch', () => {
    const s = batchNormSplit(channelLayout('t', [256, 32, 32, 32], -1));
    expect(s).toMatchObject({ M: 256 * 1024, cols: 8, rows: 32, G: 512, quads: true });
    expect(s.chunk * s.G).toBeGreaterThanOrEqual(s.M);
  });
  it('gives single channels side by side where they are not a multiple of 4', () => {
    expect(batchNormSplit(channelLayout('t', [70, 32, 32, 3], -1))).toMatchObject({ cols: 3, rows: 64, quads: false });
  });
  it('gives a channel on axis 1 every lane, one row each', () => {
    expect(batchNormSplit(channelLayout('t', [5, 4, 9, 7], 1))).toMatchObject({ M: 5 * 63, cols: 1, rows: 256, G: 1, quads: false });
  });
});
