/**
 * Gradient ops leading a fused epilogue (a gradient's accumulation, then relu's mask):
 * conv2dBackpropInput on both of its kernels, the halo kernel (stride 1) and the split-K GEMM (stride
 * 2), and the pooling gradients. The fused graph runs on the GPU, NaN-poisoned, against the float64
 * interpreter on the unfused one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { getOp, interpret, validate, type Graph } from '../../src/ir/index.js';
import { GraphBuilder } from '../../src/passes/builder.js';
import { fuseEpilogues } from '../../src/passes/fuse-epilogues.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { expectClose } from '../support/close.js';
import { randomData } from '../support/random.js';

const TOL = { rtol: 1e-4, atol: 1e-5 };
const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Fuses `graph`'s epilogue into one node, runs it on the GPU on random inputs of `shapes`, NaN-poisoned,
 * and compares output `out` with the float64 interpreter on the unfused graph; returns the kernels' WGSL.
 */
async function runFused(graph: Graph, shapes: Record<string, number[]>, batch: number, seed: number): Promise<string[]> {
  const fused = fuseEpilogues.run({ graph, weights: new Map() }, { phase: 'training', batch }).graph;
  validate(fused);
  expect(fused.nodes.filter((n) => n.op === 'fused'), 'one fused node').toHaveLength(1);
  const { bundle, report } = buildBundle(fused, new Map(), 'dx', batch);
  const net = await Net.create(bundle, await testGpu());
  nets.push(net);
  const feeds = Object.fromEntries(Object.entries(shapes).map(([n, sh], i) => [n, randomData(size(sh), seed + i, -1, 1)]));
  await net.fill(NaN);
  const got = await net.predict(feeds);
  const want = interpret(graph, feeds, { precision: 'float64' }).outputs.out;
  expectClose(got.out, want.data, TOL, 'out');
  return report.kernels.map((k) => k.wgsl);
}

/** dx = conv2dBackpropInput(dy, w); out = reluGrad(dx + other, y) (+ a per-channel bias when `bias`). */
async function check(x: number[], w: number[], strides: number[], bias = false): Promise<string[]> {
  // A stride-1 conv this small fills no GPU, so the halo kernel runs only when forced.
  if (strides[0] === 1) process.env.KILN_CONV = 'halo';
  try {
    return await checkCompiled(x, w, strides, bias);
  } finally {
    delete process.env.KILN_CONV;
  }
}

async function checkCompiled(x: number[], w: number[], strides: number[], bias: boolean): Promise<string[]> {
  const attrs = { strides, padding: 'same', dilations: [1, 1] };
  const dyShape = getOp('conv2d').infer([{ shape: x, dtype: 'float32' }, { shape: w, dtype: 'float32' }], attrs)[0].shape as number[];
  const b = new GraphBuilder();
  const input = (name: string, shape: number[]) => b.add('input', [], { name, shape, dtype: 'float32' }, name)[0];
  const [dy, k, other, y, c] = [input('dy', dyShape), input('w', w), input('other', x), input('y', x), input('c', [x[3]])];
  let v = b.add('conv2dBackpropInput', [dy, k], { ...attrs, inputSize: x.slice(1, 3) }, 'dx')[0];
  v = b.add('add', [v, other], {}, 'accumulate')[0];
  if (bias) v = b.add('mul', [v, c], {}, 'scale')[0];
  v = b.add('reluGrad', [v, y], {}, 'mask')[0];
  const graph = b.build([{ name: 'out', value: v }], []);
  return runFused(graph, { dy: dyShape, w, other: x, y: x, c: [x[3]] }, x[0], 70);
}

describe('conv2dBackpropInput with a fused epilogue matches the interpreter', () => {
  it('stride 1: the halo kernel, accumulation and mask in its store', async () => {
    const kernels = await check([2, 9, 10, 8], [3, 3, 8, 16], [1, 1]);
    expect(kernels, 'the flipped kernel, then the halo kernel').toHaveLength(2);
    expect(kernels[1]).toContain('select(0.0,');
  });
  it('stride 2: the split-K GEMM, the epilogue in its store function', async () => {
    const kernels = await check([2, 9, 10, 4], [3, 3, 4, 6], [2, 2]);
    expect(kernels).toHaveLength(1);
    expect(kernels[0]).toContain('fn store(batch: u32, row: u32, col: u32, v: f32) {');
  });
  it('a per-channel operand in the chain (read through output coordinates), both kernels', async () => {
    await check([2, 9, 10, 8], [3, 3, 8, 16], [1, 1], true);
    await check([2, 9, 10, 4], [3, 3, 4, 6], [2, 2], true);
  });
});

/** reluGrad(poolGrad + other, y) for a 2×2 pooling with stride 2 over x. */
async function checkPool(op: 'maxPool2dGrad' | 'avgPool2dGrad', x: number[]): Promise<void> {
  const attrs = { poolSize: [2, 2], strides: [2, 2], padding: 'valid' };
  const dyShape = [x[0], Math.floor(x[1] / 2), Math.floor(x[2] / 2), x[3]];
  const b = new GraphBuilder();
  const input = (name: string, shape: number[]) => b.add('input', [], { name, shape, dtype: 'float32' }, name)[0];
  const [xv, dy, other, y] = [input('x', x), input('dy', dyShape), input('other', x), input('y', x)];
  let v = op === 'maxPool2dGrad' ? b.add(op, [xv, dy], attrs, 'dx')[0] : b.add(op, [dy], { ...attrs, inputSize: x.slice(1, 3) }, 'dx')[0];
  v = b.add('add', [v, other], {}, 'accumulate')[0];
  v = b.add('reluGrad', [v, y], {}, 'mask')[0];
  const graph = b.build([{ name: 'out', value: v }], []);
  const kernels = await runFused(graph, { x, dy: dyShape, other: x, y: x }, x[0], 80);
  expect(kernels).toHaveLength(1);
}

describe('pooling gradients with a fused epilogue match the interpreter', () => {
  it('maxPool2dGrad, windows tiling the input (a kernel per window)', () => checkPool('maxPool2dGrad', [2, 6, 8, 3]));
  it('avgPool2dGrad, windows tiling the input', () => checkPool('avgPool2dGrad', [2, 6, 8, 3]));
  it('maxPool2dGrad, an odd width (a kernel per dx element)', () => checkPool('maxPool2dGrad', [2, 6, 7, 3]));
  it('avgPool2dGrad, an odd width', () => checkPool('avgPool2dGrad', [2, 6, 7, 3]));
});
