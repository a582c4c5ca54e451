/**
 * rnnSequence's shape inference and typed errors, and its reference on cases small enough to check
 * by hand. (Values against TF.js: test/frontend/layers-recurrent.parity.test.ts; gradients against
 * finite differences: test/passes/gradients.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { getOp, ndarray, type TensorType } from '../../../src/ir/index.js';
import '../../../src/ir/ops/index.js';

const t = (shape: (number | null)[], dtype: TensorType['dtype'] = 'float32'): TensorType => ({ shape, dtype });
const infer = (inputs: TensorType[], attrs: Record<string, unknown>) => getOp('rnnSequence').infer(inputs, attrs as never);
const REF = { precision: 'float64' as const, alloc: (_: string, n: number) => new Float64Array(n) };

describe('rnnSequence shapes', () => {
  it('LSTM: last output and two final states; sequences with returnSequences', () => {
    const ins = [t([null, 20, 64]), t([64, 128]), t([32, 128]), t([128])];
    expect(infer(ins, { cell: 'lstm' }).map((o) => o.shape)).toEqual([[null, 32], [null, 32], [null, 32]]);
    expect(infer(ins, { cell: 'lstm', returnSequences: true })[0].shape).toEqual([null, 20, 32]);
  });
  it('GRU resetAfter takes a [2, 3u] bias; one final state', () => {
    expect(infer([t([2, 5, 3]), t([3, 12]), t([4, 12]), t([2, 12])], { cell: 'gru', resetAfter: true })).toHaveLength(2);
  });
  it('optional inputs follow in order: bias, states, mask, training', () => {
    const ins = [t([2, 5, 3]), t([3, 4]), t([4, 4]), t([2, 4]), t([2, 5], 'bool'), t([], 'bool')];
    expect(infer(ins, { cell: 'simple', hasBias: false, hasInitialState: true, hasMask: true, dropout: 0.5 })[0].shape).toEqual([2, 4]);
  });
});

describe('rnnSequence errors name the input, the expected and the given shape', () => {
  it('a kernel of the wrong width', () => {
    expect(() => infer([t([2, 5, 3]), t([3, 8]), t([4, 16]), t([16])], { cell: 'lstm' })).toThrow("rnnSequence: kernel must have shape (3, 16) (cell 'lstm', 4 units, 3 features), got (3, 8)");
  });
  it('a missing input for the attributes', () => {
    expect(() => infer([t([2, 5, 3]), t([3, 16]), t([4, 16])], { cell: 'lstm', hasInitialState: true, hasBias: false })).toThrow(/expects 5 inputs for these attributes \(x, kernel, recurrentKernel, initial state\(s\)\), got 3/);
  });
  it('a mask of the wrong type', () => {
    expect(() => infer([t([2, 5, 3]), t([3, 4]), t([4, 4]), t([2, 5])], { cell: 'simple', hasBias: false, hasMask: true })).toThrow(/mask must be bool/);
  });
  it('an activation that is not recurrent', () => {
    expect(() => infer([t([2, 5, 3]), t([3, 4]), t([4, 4])], { cell: 'simple', hasBias: false, activation: 'leakyRelu' })).toThrow(/activation 'leakyRelu' is not a recurrent activation/);
  });
});

describe('rnnSequence reference', () => {
  it('SimpleRNN with identity weights and linear activation sums its inputs; a masked step repeats the output', () => {
    const x = ndarray([1, 3, 1], 'float32', [1, 2, 4], 'float64');
    const one = ndarray([1, 1], 'float32', [1], 'float64');
    const mask = ndarray([1, 3], 'bool', [1, 0, 1]);
    const [y, h] = getOp('rnnSequence').reference([x, one, one, mask], { cell: 'simple', activation: 'linear', hasBias: false, hasMask: true, returnSequences: true }, REF as never);
    expect(Array.from(y.data)).toEqual([1, 1, 5]);
    expect(Array.from(h.data)).toEqual([5]);
  });
  it('goBackwards reads the last step first and returns outputs in processing order', () => {
    const x = ndarray([1, 3, 1], 'float32', [1, 2, 4], 'float64');
    const one = ndarray([1, 1], 'float32', [1], 'float64');
    const [y] = getOp('rnnSequence').reference([x, one, one], { cell: 'simple', activation: 'linear', hasBias: false, goBackwards: true, returnSequences: true }, REF as never);
    expect(Array.from(y.data)).toEqual([4, 6, 7]);
  });
});
