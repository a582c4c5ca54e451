/**
 * GPU kernels of the gradient ops (scatterAdd, conv and depthwise conv backprops, pool grads), each in
 * a hand-built graph fed by graph inputs, against the float64 interpreter on random data (never zeros).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { getOp, interpret, validate, type Attrs, type DType, type Graph, type Node } from '../../src/ir/index.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { SPLIT_TILINGS } from '../../src/codegen/lower/split-gemm.js';
import { MIN_FILTER_GRAD_CHANNELS } from '../../src/codegen/lower/conv-filter-grad.js';
import { Net, type TensorData } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { expectClose } from '../support/close.js';
import { randomData, randomInts } from '../support/random.js';

const TOL = { rtol: 1e-4, atol: 1e-5 };

interface Feed {
  readonly shape: number[];
  readonly data: TensorData;
}

const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const rand = (shape: number[], seed: number): Feed => ({ shape, data: randomData(size(shape), seed) });
const dtypeOf = (d: TensorData): DType => (d instanceof Int32Array ? 'int32' : 'float32');

/**
 * Runs `op` on inputs fed as graph inputs a, b, …: compiles the one-op graph, runs it on the GPU with
 * a NaN-poisoned arena, and compares with the float64 interpreter. Returns the kernels' WGSL.
 */
async function check(op: string, feeds: Feed[], attrs: Attrs, tol = TOL, kernels = 1): Promise<string[]> {
  const names = feeds.map((_, k) => String.fromCharCode(97 + k));
  const nodes: Node[] = feeds.map((f, id) => {
    const type = { shape: f.shape, dtype: dtypeOf(f.data) };
    return { id, op: 'input', inputs: [], attrs: { name: names[id], shape: f.shape, dtype: type.dtype }, outputs: [type], name: names[id] };
  });
  const outputs = getOp(op).infer(nodes.map((n) => n.outputs[0]), attrs);
  nodes.push({ id: feeds.length, op, inputs: feeds.map((_, node) => ({ node, output: 0 })), attrs, outputs, name: op });
  const graph: Graph = { nodes, outputs: [{ name: 'y', value: { node: feeds.length, output: 0 } }], updates: [] };
  validate(graph);
  const { bundle, report } = buildBundle(graph, new Map(), op, feeds[0].shape[0]);
  const net = await Net.create(bundle, await testGpu());
  nets.push(net);
  const inputs = Object.fromEntries(names.map((n, k) => [n, feeds[k].data]));
  await net.fill(NaN);
  const got = await net.predict(inputs);
  const want = interpret(graph, inputs, { precision: 'float64' }).outputs.y;
  expectClose(got.y, want.data, tol, op);
  expect(report.kernels).toHaveLength(kernels);
  return report.kernels.map((k) => k.wgsl);
}

/** Conv attrs with every default written out. */
const conv = (a: { strides?: number[]; padding?: string; dilations?: number[] }): Attrs => ({ strides: [1, 1], padding: 'valid', dilations: [1, 1], ...a });

/** The forward op's output shape for input x and kernel w. */
const forward = (op: string, x: number[], w: number[], attrs: Attrs) => getOp(op).infer([{ shape: x, dtype: 'float32' }, { shape: w, dtype: 'float32' }], attrs)[0].shape as number[];

const CONV_CASES: [string, number[], number[], Attrs][] = [
  ['same 3×3', [2, 5, 6, 3], [3, 3, 3, 4], conv({ padding: 'same' })],
  ['valid 3×3, strides 2', [2, 7, 6, 3], [3, 3, 3, 4], conv({ strides: [2, 2] })],
  ['same 3×3, strides 2', [2, 7, 6, 3], [3, 3, 3, 4], conv({ padding: 'same', strides: [2, 2] })],
  ['same, even 4×4 kernel, strides 2 (pad split unevenly)', [2, 7, 9, 2], [4, 4, 2, 3], conv({ padding: 'same', strides: [2, 2] })],
  ['same, dilation 2', [2, 7, 6, 3], [3, 3, 3, 4], conv({ padding: 'same', dilations: [2, 2] })],
  ['valid, dilation [2, 1]', [2, 7, 6, 3], [3, 3, 3, 4], conv({ dilations: [2, 1] })],
  ['rectangular 2×3, strides [1, 2], same', [2, 5, 7, 3], [2, 3, 3, 4], conv({ padding: 'same', strides: [1, 2] })],
  ['valid 3×2, strides [2, 1], dilation [1, 2]', [1, 8, 7, 2], [3, 2, 2, 5], conv({ strides: [2, 1], dilations: [1, 2] })],
  ['1×1 kernel', [2, 4, 4, 5], [1, 1, 5, 3], conv({})],
  ['strides larger than the kernel', [2, 7, 7, 2], [2, 2, 2, 3], conv({ strides: [3, 3] })],
  ['a long reduction (batch 4 of 12×12)', [4, 12, 12, 2], [3, 3, 2, 4], conv({ padding: 'same' })],
];

describe('conv2dBackpropInput / conv2dBackpropFilter kernels match the interpreter', () => {
  it.each(CONV_CASES)('%s', async (_, x, w, attrs) => {
    const dy = forward('conv2d', x, w, attrs);
    await check('conv2dBackpropInput', [rand(dy, 3), rand(w, 4)], { ...attrs, inputSize: [x[1], x[2]] });
    // Stride 1 with a kernel larger than 1×1 may also run as the forward halo kernel on dy and the flipped kernel.
    if ((attrs.strides as number[]).every((v) => v === 1) && w[0] * w[1] > 1) {
      process.env.KILN_CONV = 'halo';
      try {
        // The forward kernel flipped and transposed into scratch, then the halo kernel.
        const [flip, wgsl] = await check('conv2dBackpropInput', [rand(dy, 3), rand(w, 4)], { ...attrs, inputSize: [x[1], x[2]] }, TOL, 2);
        expect(flip).not.toContain('var<workgroup>');
        expect(wgsl).toContain('var<workgroup> tileW');
      } finally {
        delete process.env.KILN_CONV;
      }
    }
    // Stride 1, undilated, with 8 input channels or more, or (pixel rows) 2 or more and at most 27 taps × channels: the
    // direct kernel's partial sums, then their sum; otherwise (and forced) the split-K GEMM.
    const direct = [...(attrs.strides as number[]), ...(attrs.dilations as number[])].every((v) => v === 1) && (x[3] >= MIN_FILTER_GRAD_CHANNELS || (x[3] >= 2 && w[0] * w[1] * x[3] <= 27));
    const [wgsl] = await check('conv2dBackpropFilter', [rand(x, 5), rand(dy, 6)], { ...attrs, kernelSize: [w[0], w[1]] }, TOL, direct ? 2 : 1);
    expect(wgsl.includes('var<workgroup> xs')).toBe(direct);
    if (direct) {
      process.env.KILN_CONV = 'gemm';
      try {
        const [split] = await check('conv2dBackpropFilter', [rand(x, 5), rand(dy, 6)], { ...attrs, kernelSize: [w[0], w[1]] });
        expect(split).not.toContain('var<workgroup> xs');
      } finally {
        delete process.env.KILN_CONV;
      }
    }
  });
});

describe('the direct filter gradient (stride 1, undilated) matches the interpreter', () => {
  it.each([
    ['37 wide (two row segments of 32, the second 5 pixels); 20 input channels (two blocks, the second partial)', [2, 4, 37, 20], [3, 3, 20, 6], conv({ padding: 'same' })],
    ['40 output channels (two blocks of 32, the second partial), valid', [2, 6, 7, 8], [3, 3, 8, 40], conv({})],
    ['a 9×1 kernel: 9 staged rows, 8 input channels a block to fit 16 KiB', [2, 12, 30, 9], [9, 1, 9, 4], conv({ padding: 'same' })],
    ['1×3, one image row', [1, 1, 9, 8], [1, 3, 8, 3], conv({ padding: 'same' })],
    ['1×1 kernel', [2, 5, 6, 11], [1, 1, 11, 5], conv({})],
  ] as [string, number[], number[], Attrs][])('%s', async (_, x, w, attrs) => {
    const dy = forward('conv2d', x, w, attrs);
    const [wgsl] = await check('conv2dBackpropFilter', [rand(x, 21), rand(dy, 22)], { ...attrs, kernelSize: [w[0], w[1]] }, TOL, 2);
    expect(wgsl).toContain('var<workgroup> xs');
    if (w[0] === 9) expect(wgsl).toContain('const CB = 8u;');
  });

  it('sums 192 chunks with 32 lanes an output, six chunks a lane (the few-output chunk sum)', async () => {
    const [x, w, attrs] = [[16, 12, 12, 8], [3, 3, 8, 4], conv({ padding: 'same' })] as const;
    const wgsls = await check('conv2dBackpropFilter', [rand([...x], 25), rand(forward('conv2d', [...x], [...w], attrs), 26)], { ...attrs, kernelSize: [3, 3] }, TOL, 2);
    expect(wgsls[1]).toContain('const COUNT = 288u; const CHUNKS = 192u; const L = 32u;');
  });

  it.each([
    ['two input channels, 26 wide in 7 groups of 4', [4, 28, 28, 2], [3, 3, 2, 32], conv({})],
    ['three input channels (the ResNet\'s stem), same', [3, 9, 32, 3], [3, 3, 3, 32], conv({ padding: 'same' })],
    ['two input channels, 40 outputs (two blocks of 32)', [2, 6, 7, 2], [3, 3, 2, 40], conv({ padding: 'same' })],
  ] as [string, number[], number[], Attrs][])('runs convs with fewer than 8 input channels in pixel rows: %s', async (_, x, w, attrs) => {
    const dy = forward('conv2d', x, w, attrs);
    const [wgsl] = await check('conv2dBackpropFilter', [rand(x, 27), rand(dy, 28)], { ...attrs, kernelSize: [w[0], w[1]] }, TOL, 2);
    expect(wgsl).toContain('let q = chunk *');
  });

  it.each([
    ['more input channels than pixel rows keep accumulators for (4 × 9 taps)', [2, 6, 7, 4], [3, 3, 4, 4]],
    ['one input channel (the CNN\'s conv)', [2, 8, 8, 1], [3, 3, 1, 4]],
    ['more than 64 output channels', [2, 6, 7, 8], [3, 3, 8, 65]],
  ] as [string, number[], number[]][])('leaves convs with %s to the split-K GEMM', async (_, x, w) => {
    const attrs = conv({ padding: 'same' });
    const [wgsl] = await check('conv2dBackpropFilter', [rand(x, 23), rand(forward('conv2d', x, w, attrs), 24)], { ...attrs, kernelSize: [3, 3] });
    expect(wgsl).not.toContain('var<workgroup> xs');
  });
});

describe('depthwiseConv2dBackpropInput / Filter kernels match the interpreter', () => {
  it.each([
    ['multiplier 1, same', [2, 6, 7, 3], [3, 3, 3, 1], conv({ padding: 'same' })],
    ['multiplier 2, same', [2, 6, 7, 3], [3, 3, 3, 2], conv({ padding: 'same' })],
    ['multiplier 2, valid, strides 2', [2, 7, 6, 3], [3, 3, 3, 2], conv({ strides: [2, 2] })],
    ['multiplier 2, same, strides 2', [2, 7, 6, 2], [3, 3, 2, 2], conv({ padding: 'same', strides: [2, 2] })],
    ['multiplier 3, rectangular 3×2, dilation 2, same', [2, 6, 7, 3], [3, 2, 3, 3], conv({ padding: 'same', dilations: [2, 2] })],
    ['multiplier 1, a long reduction (batch 4 of 12×12)', [4, 12, 12, 2], [3, 3, 2, 1], conv({ padding: 'same' })],
  ] as [string, number[], number[], Attrs][])('%s', async (_, x, w, attrs) => {
    const dy = forward('depthwiseConv2d', x, w, attrs);
    await check('depthwiseConv2dBackpropInput', [rand(dy, 7), rand(w, 8)], { ...attrs, inputSize: [x[1], x[2]] });
    await check('depthwiseConv2dBackpropFilter', [rand(x, 9), rand(dy, 10)], { ...attrs, kernelSize: [w[0], w[1]] });
  });
});

describe('every split-K GEMM tiling gives the same gradients', () => {
  const x = [2, 9, 8, 5];
  const w = [3, 3, 5, 6];
  const attrs = conv({ padding: 'same', strides: [2, 1] });
  const dy = forward('conv2d', x, w, attrs);
  it.each(SPLIT_TILINGS.map((t) => [Object.values(t).join(','), t] as const))('KILN_SPLIT_TILES=%s', async (spec) => {
    process.env.KILN_SPLIT_TILES = spec;
    try {
      const [wgsl] = await check('conv2dBackpropFilter', [rand(x, 11), rand(dy, 12)], { ...attrs, kernelSize: [3, 3] });
      expect(wgsl).toContain(`const S = ${spec.split(',')[2]}u;`);
      await check('conv2dBackpropInput', [rand(dy, 13), rand(w, 14)], { ...attrs, inputSize: [x[1], x[2]] });
      await check('depthwiseConv2dBackpropFilter', [rand(x, 15), rand([...dy.slice(0, 3), 10], 16)], { ...attrs, kernelSize: [3, 3] });
    } finally {
      delete process.env.KILN_SPLIT_TILES;
    }
  });
});

const pool = (poolSize: number[], strides: number[], padding: string): Attrs => ({ poolSize, strides, padding });
const POOL_CASES: [string, number[], Attrs][] = [
  ['2×2, strides 2, valid', [2, 6, 7, 3], pool([2, 2], [2, 2], 'valid')],
  ['2×2, strides 2, same (odd width: a clipped window)', [2, 6, 7, 3], pool([2, 2], [2, 2], 'same')],
  ['3×3, strides 2, same (overlapping windows)', [2, 7, 6, 2], pool([3, 3], [2, 2], 'same')],
  ['3×3, strides 1, same', [2, 5, 6, 2], pool([3, 3], [1, 1], 'same')],
  ['3×3, strides 1, valid', [1, 5, 6, 3], pool([3, 3], [1, 1], 'valid')],
  ['rectangular 2×3, strides [1, 2], same', [2, 5, 7, 3], pool([2, 3], [1, 2], 'same')],
  ['2×2, strides 3, valid (elements in no window)', [2, 7, 8, 2], pool([2, 2], [3, 3], 'valid')],
  ['2×2, strides 2, windows tiling the input (a kernel per window)', [2, 6, 8, 3], pool([2, 2], [2, 2], 'valid')],
  ['3×3, strides 3, same, windows tiling the input (no padding needed)', [2, 6, 9, 2], pool([3, 3], [3, 3], 'same')],
  ['rectangular 2×3, strides [2, 3], windows tiling the input', [1, 4, 9, 5], pool([2, 3], [2, 3], 'valid')],
];
/** The pooling-gradient kernel that walks windows, not dx elements (shaders/pool2d-grad-windows.wgsl.hbs). */
const walksWindows = (wgsl: string) => wgsl.includes('k < KH * KW');

describe('maxPool2dGrad / avgPool2dGrad kernels match the interpreter', () => {
  it.each(POOL_CASES)('%s', async (what, x, attrs) => {
    const dy = getOp('maxPool2d').infer([{ shape: x, dtype: 'float32' }], attrs)[0].shape as number[];
    const [maxWgsl] = await check('maxPool2dGrad', [rand(x, 17), rand(dy, 18)], attrs);
    const [avgWgsl] = await check('avgPool2dGrad', [rand(dy, 19)], { ...attrs, inputSize: [x[1], x[2]] });
    const tiling = what.includes('windows tiling the input');
    expect([walksWindows(maxWgsl), walksWindows(avgWgsl)]).toEqual([tiling, tiling]);
  });

  it('maxPool2dGrad routes each window to its first maximum on ties (row-major, strict >)', async () => {
    // Values from {-1, 0, 1}: most windows hold ties, so a different tie rule moves gradient.
    const x = [2, 6, 6, 2];
    const data = Float32Array.from(randomInts(size(x), 3, 21), (v) => v - 1);
    for (const attrs of [pool([2, 2], [2, 2], 'valid'), pool([3, 3], [1, 1], 'same'), pool([3, 3], [2, 2], 'same')]) {
      const dy = getOp('maxPool2d').infer([{ shape: x, dtype: 'float32' }], attrs)[0].shape as number[];
      await check('maxPool2dGrad', [{ shape: x, data }, rand(dy, 22)], attrs);
    }
    // A constant window: the whole gradient lands on its top-left element.
    const ones = { shape: [1, 2, 2, 1], data: new Float32Array(4).fill(1) };
    const [wgsl] = await check('maxPool2dGrad', [ones, { shape: [1, 1, 1, 1], data: Float32Array.of(0.75) }], pool([2, 2], [2, 2], 'valid'));
    expect(wgsl).toContain('v > best');
  });
});

describe('scatterAdd kernels match the interpreter', () => {
  it('axis 0 with repeated indices (an Embedding gradient: [batch, seq] indices)', async () => {
    await check('scatterAdd', [rand([3, 4, 5], 23), { shape: [3, 4], data: randomInts(12, 6, 24) }], { axis: 0, size: 6 });
  });

  it('every index the same, and some rows never indexed', async () => {
    const wgsl = await check('scatterAdd', [rand([5, 3], 25), { shape: [5], data: Int32Array.of(2, 2, 2, 2, 2) }], { axis: 0, size: 4 });
    expect(wgsl[0]).not.toContain('atomic');
  });

  it('axis 1, indices of rank 2, inner dims after them', async () => {
    await check('scatterAdd', [rand([2, 3, 2, 4], 26), { shape: [3, 2], data: Int32Array.of(0, 4, 4, 1, 0, 0) }], { axis: 1, size: 5 });
  });

  it('a scalar-per-index update on the last axis', async () => {
    await check('scatterAdd', [rand([3, 7], 27), { shape: [7], data: randomInts(7, 3, 28) }], { axis: 1, size: 3 });
  });

  it('int32 updates add exactly', async () => {
    const updates = { shape: [6, 2], data: Int32Array.from(randomInts(12, 100, 29), (v) => v - 50) };
    await check('scatterAdd', [updates, { shape: [6], data: Int32Array.of(1, 0, 1, 3, 1, 0) }], { axis: 0, size: 4 }, { rtol: 0, atol: 0 });
  });
});
