/**
 * Backpropagation through time on the GPU (rnnSequenceGrad: replay, walk back, four reductions),
 * and the forward kernels in training mode (dropout masks), compared with the interpreter's rnnSequenceGrad, whose gradients test/passes/gradients.test.ts
 * checks against finite differences. Outputs are poisoned with NaN before each run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Attrs, NDArray, ValueRef } from '../../src/ir/index.js';
import { getOp, interpret } from '../../src/ir/index.js';
import { GraphBuilder } from '../../src/passes/builder.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';
import { SPLIT_TILINGS } from '../../src/codegen/lower/split-gemm.js';

/** f32 sums over steps and rows against the float64 reference. */
const TOL = { rtol: 1e-4, atol: 1e-5 };
const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

/** One forward input: a weight (float), a fed input, or a constant (mask, training flag). */
type In = { role: 'weight' | 'input'; shape: number[] } | { role: 'constant'; shape: number[]; dtype: 'bool'; value: number[] };
const w = (shape: number[]): In => ({ role: 'weight', shape });
const fed = (shape: number[]): In => ({ role: 'input', shape });
const flags = (shape: number[], value: number[]): In => ({ role: 'constant', shape, dtype: 'bool', value });

/**
 * Runs rnnSequenceGrad on the GPU and the interpreter: replaying the forward itself ('replay'), or reading
 * the records of a forward rnnSequence (`record`, 'recorded'; the forward's outputs and records are
 * compared too), or (with 'forward') rnnSequence alone.
 */
async function expectGradMatches(inputs: In[], attrs: Attrs, grads: { dy?: boolean; dh?: boolean; dc?: boolean }, mode: 'replay' | 'recorded' | 'forward' = 'replay'): Promise<number> {
  const b = new GraphBuilder();
  const weights = new Map<string, NDArray>();
  const feeds: Record<string, NDArray> = {};
  const refs = inputs.map((s, i) => {
    if (s.role === 'constant') return b.add('constant', [], { shape: s.shape, dtype: s.dtype, value: s.value }, `c${i}`)[0];
    const data = randomData(s.shape.reduce((a, c) => a * c, 1), 31 + i);
    if (s.role === 'weight') {
      weights.set(`w${i}`, { shape: s.shape, dtype: 'float32', data });
      return b.add('weight', [], { name: `w${i}`, shape: s.shape, dtype: 'float32' }, `w${i}`)[0];
    }
    feeds[`in${i}`] = { shape: s.shape, dtype: 'float32', data };
    return b.add('input', [], { name: `in${i}`, shape: s.shape, dtype: 'float32' }, `in${i}`)[0];
  });
  const fwdTypes = getOp('rnnSequence').infer(refs.map((r) => b.type(r)), attrs);
  const cotangents = (['dy', 'dh', 'dc'] as const).flatMap((k, i) => {
    if (!grads[k]) return [];
    const shape = fwdTypes[i].shape as number[];
    feeds[k] = { shape, dtype: 'float32', data: randomData(shape.reduce((a, c) => a * c, 1), 77 + i) };
    return [b.add('input', [], { name: k, shape, dtype: 'float32' }, k)[0]];
  });
  const gradAttrs = { ...attrs, hasDy: !!grads.dy, hasDh: !!grads.dh, hasDc: !!grads.dc };
  let outs: ValueRef[];
  if (mode === 'forward') outs = b.add('rnnSequence', refs, attrs, 'rnn');
  else if (mode === 'replay') outs = b.add('rnnSequenceGrad', [...refs, ...cotangents], gradAttrs, 'rnn/grad');
  else {
    const forward = b.add('rnnSequence', refs, { ...attrs, record: true }, 'rnn');
    outs = [...b.add('rnnSequenceGrad', [...refs, ...cotangents, ...forward.slice(fwdTypes.length)], { ...gradAttrs, recorded: true }, 'rnn/grad'), ...forward];
  }
  const graph = b.build(outs.map((value, i) => ({ name: `g${i}`, value })), []);
  const { bundle } = buildBundle(graph, weights, 'rnn_grad', inputs[0].shape[0]);
  const net = await Net.create(bundle, await testGpu());
  nets.push(net);
  await net.fill(NaN);
  const got = await net.predict(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.data as Float32Array])));
  const want = interpret(graph, feeds, { weights, precision: 'float64' }).outputs;
  for (const name of Object.keys(want)) expectClose(got[name], want[name].data, TOL, name);
  return bundle.manifest.steps.length;
}

const [B, T, F, U] = [3, 5, 4, 6];
const mask = flags([B, T], [1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0]);

describe('rnnSequenceGrad on the GPU matches the interpreter', () => {
  it('LSTM: sequences, initial states, final-state gradients, mask', () =>
    expectGradMatches([fed([B, T, F]), w([F, 4 * U]), w([U, 4 * U]), w([4 * U]), fed([B, U]), fed([B, U]), mask], { cell: 'lstm', hasInitialState: true, hasMask: true, returnSequences: true }, { dy: true, dh: true, dc: true }));
  it('LSTM: last output, goBackwards, sigmoid gates', () =>
    expectGradMatches([fed([B, T, F]), w([F, 4 * U]), w([U, 4 * U]), w([4 * U])], { cell: 'lstm', goBackwards: true, recurrentActivation: 'sigmoid' }, { dy: true }));
  it('GRU, reset before the product, with a mask', () =>
    expectGradMatches([fed([B, T, F]), w([F, 3 * U]), w([U, 3 * U]), w([3 * U]), fed([B, U]), mask], { cell: 'gru', hasInitialState: true, hasMask: true, returnSequences: true }, { dy: true, dh: true }));
  it('GRU, reset after the product (two bias rows)', () =>
    expectGradMatches([fed([B, T, F]), w([F, 3 * U]), w([U, 3 * U]), w([2, 3 * U])], { cell: 'gru', resetAfter: true, recurrentActivation: 'sigmoid', returnSequences: true }, { dy: true }));
  it('SimpleRNN without bias, relu, goBackwards', () =>
    expectGradMatches([fed([B, T, F]), w([F, U]), w([U, U])], { cell: 'simple', hasBias: false, activation: 'relu', recurrentActivation: 'linear', goBackwards: true, returnSequences: true }, { dy: true }));
  it('LSTM with dropout and recurrent dropout while training', () =>
    expectGradMatches([fed([B, T, F]), w([F, 4 * U]), w([U, 4 * U]), w([4 * U]), flags([], [1])], { cell: 'lstm', dropout: 0.3, recurrentDropout: 0.25, seed: 9, returnSequences: true }, { dy: true }));
  it('the forward kernels while training apply the same dropout masks as the interpreter', async () => {
    const on = flags([], [1]);
    await expectGradMatches([fed([B, T, F]), w([F, 4 * U]), w([U, 4 * U]), w([4 * U]), on], { cell: 'lstm', dropout: 0.3, recurrentDropout: 0.25, seed: 9, returnSequences: true }, {}, 'forward');
    await expectGradMatches([fed([B, T, F]), w([F, 3 * 130]), w([130, 3 * 130]), w([3 * 130]), on], { cell: 'gru', dropout: 0.4, recurrentDropout: 0.2, seed: 4 }, {}, 'forward');
  });
  it('GRU with 130 units replays through the projection GEMM', () =>
    expectGradMatches([fed([2, 3, F]), w([F, 390]), w([130, 390]), w([390])], { cell: 'gru', recurrentActivation: 'sigmoid' }, { dy: true }));
  it('LSTM with 512 units: gate gradients go through scratch, so large layers fit', () =>
    expectGradMatches([fed([1, 2, 3]), w([3, 2048]), w([512, 2048]), w([2048])], { cell: 'lstm', recurrentActivation: 'sigmoid', returnSequences: true }, { dy: true }));
  it('LSTM with 600 units: a step\'s gate gradients no longer fit workgroup memory beside dh and dc, so dh\'s product reads them from scratch', () =>
    expectGradMatches([fed([1, 2, 3]), w([3, 2400]), w([600, 2400]), w([2400])], { cell: 'lstm', recurrentActivation: 'sigmoid', returnSequences: true }, { dy: true }));
  it('sums dW, dR and db over many steps × rows in chunks (8400 rows: 66 partial sums of 128 each, then their sum)', async () => {
    const steps = await expectGradMatches([fed([420, 20, 3]), w([3, 8]), w([2, 8]), w([8]), flags([], [1])], { cell: 'lstm', dropout: 0.3, seed: 5 }, { dy: true });
    expect(steps).toBe(10);
  });
  it('replays a batch of 4099 with 8 rows a workgroup (the last one partly past the batch)', () =>
    expectGradMatches([fed([4099, 3, 2]), w([2, 12]), w([3, 12]), w([12])], { cell: 'lstm', returnSequences: true }, { dy: true }));
  it('sums a GRU\'s two bias rows (reset after the product) in chunks too', () =>
    expectGradMatches([fed([420, 20, 2]), w([2, 6]), w([2, 6]), w([2, 6])], { cell: 'gru', resetAfter: true, recurrentActivation: 'sigmoid' }, { dy: true }));
  it('is seven kernels: replay, R transposed, walk back, dx, dW, dR, db', async () => {
    const steps = await expectGradMatches([fed([B, T, F]), w([F, 4 * U]), w([U, 4 * U]), w([4 * U])], { cell: 'lstm' }, { dy: true });
    expect(steps).toBe(7);
  });
});

describe('rnnSequenceGrad reading the records of its forward (`recorded`) matches the interpreter, records included', () => {
  it.each([
    ['LSTM: sequences, initial states, final-state gradients, mask', [fed([B, T, F]), w([F, 4 * U]), w([U, 4 * U]), w([4 * U]), fed([B, U]), fed([B, U]), mask], { cell: 'lstm', hasInitialState: true, hasMask: true, returnSequences: true }, { dy: true, dh: true, dc: true }],
    ['LSTM: last output, goBackwards', [fed([B, T, F]), w([F, 4 * U]), w([U, 4 * U]), w([4 * U])], { cell: 'lstm', goBackwards: true, recurrentActivation: 'sigmoid' }, { dy: true }],
    ['GRU, reset before the product, with a mask', [fed([B, T, F]), w([F, 3 * U]), w([U, 3 * U]), w([3 * U]), fed([B, U]), mask], { cell: 'gru', hasInitialState: true, hasMask: true, returnSequences: true }, { dy: true, dh: true }],
    ['GRU, reset after the product (the h gate\'s recurrent term recorded apart)', [fed([B, T, F]), w([F, 3 * U]), w([U, 3 * U]), w([2, 3 * U])], { cell: 'gru', resetAfter: true, recurrentActivation: 'sigmoid', returnSequences: true }, { dy: true }],
    ['SimpleRNN without bias, goBackwards', [fed([B, T, F]), w([F, U]), w([U, U])], { cell: 'simple', hasBias: false, activation: 'relu', recurrentActivation: 'linear', goBackwards: true, returnSequences: true }, { dy: true }],
    ['LSTM with dropout and recurrent dropout while training (the dropped state recorded)', [fed([B, T, F]), w([F, 4 * U]), w([U, 4 * U]), w([4 * U]), flags([], [1])], { cell: 'lstm', dropout: 0.3, recurrentDropout: 0.25, seed: 9, returnSequences: true }, { dy: true }],
    ['GRU with 130 units through the projection GEMM', [fed([2, 3, F]), w([F, 390]), w([130, 390]), w([390])], { cell: 'gru', recurrentActivation: 'sigmoid' }, { dy: true }],
    ['a batch of 4099, 8 rows a forward workgroup (the last partly past the batch)', [fed([4099, 3, 2]), w([2, 12]), w([3, 12]), w([12])], { cell: 'lstm', returnSequences: true }, { dy: true }],
  ] as const)('%s', async (_, inputs, attrs, grads) => {
    await expectGradMatches([...inputs], attrs, grads, 'recorded');
  });

  it('is seven kernels: the forward, then R transposed, walk back, dx, dW, dR, db (no replay)', async () => {
    const steps = await expectGradMatches([fed([B, T, F]), w([F, 4 * U]), w([U, 4 * U]), w([4 * U])], { cell: 'lstm' }, { dy: true }, 'recorded');
    expect(steps).toBe(7);
  });
});

describe('the weight sums over steps × rows give the same gradients under every split-K tiling (A staged along its contiguous rows)', () => {
  it.each(SPLIT_TILINGS.map((t) => [Object.values(t).join(','), t] as const))('KILN_SPLIT_TILES=%s', async (spec) => {
    process.env.KILN_SPLIT_TILES = spec;
    try {
      await expectGradMatches([fed([7, 9, 5]), w([5, 4 * U]), w([U, 4 * U]), w([4 * U])], { cell: 'lstm', returnSequences: true }, { dy: true });
    } finally {
      delete process.env.KILN_SPLIT_TILES;
    }
  });
});

describe('the walk back with several rows a workgroup (KILN_RNN_BACKWARD_RPW), rows past the batch writing nothing', () => {
  it.each([2, 4, 8])('%i rows: LSTM with a mask and initial states, GRU with each reset, SimpleRNN with recurrent dropout', async (rows) => {
    process.env.KILN_RNN_BACKWARD_RPW = String(rows);
    try {
      await expectGradMatches([fed([B, T, F]), w([F, 4 * U]), w([U, 4 * U]), w([4 * U]), fed([B, U]), fed([B, U]), mask], { cell: 'lstm', hasInitialState: true, hasMask: true, returnSequences: true }, { dy: true, dh: true, dc: true });
      await expectGradMatches([fed([B, T, F]), w([F, 3 * U]), w([U, 3 * U]), w([3 * U]), fed([B, U]), mask], { cell: 'gru', hasInitialState: true, hasMask: true, returnSequences: true }, { dy: true, dh: true });
      await expectGradMatches([fed([B, T, F]), w([F, 3 * U]), w([U, 3 * U]), w([2, 3 * U])], { cell: 'gru', resetAfter: true, recurrentActivation: 'sigmoid', returnSequences: true }, { dy: true });
      await expectGradMatches([fed([B, T, F]), w([F, U]), w([U, U]), w([U]), flags([], [1])], { cell: 'simple', recurrentDropout: 0.3, seed: 3, returnSequences: true }, { dy: true });
    } finally {
      delete process.env.KILN_RNN_BACKWARD_RPW;
    }
  });
});
