/**
 * Gradient cases for rnnSequence, checked by test/passes/gradients.test.ts against finite differences
 * of the float64 interpreter. Inputs: x, kernel, recurrentKernel, [bias], [h0, (c0)], [mask], [training].
 */
import type { Attrs } from '../../src/ir/index.js';

/** One input of a case, as gradients.test.ts reads it. */
interface InputSpec {
  readonly shape: number[];
  readonly dtype?: 'float32' | 'bool';
  readonly lo?: number;
  readonly hi?: number;
  readonly values?: number[];
}

const f = (shape: number[]): InputSpec => ({ shape, lo: -1.5, hi: 1.5 });
const mask: InputSpec = { shape: [2, 3], dtype: 'bool' as const, values: [1, 0, 1, 1, 1, 0] };
const training: InputSpec = { shape: [], dtype: 'bool' as const, values: [1] };
const B = 2;
const T = 3;
const F = 2;
const U = 2;

/** Every cell, each option, and dropout while training (fixed masks, so differences apply). */
export const RNN_SEQUENCE_CASES: { inputs: InputSpec[]; attrs: Attrs }[] = [
  { inputs: [f([B, T, F]), f([F, 4 * U]), f([U, 4 * U]), f([4 * U]), f([B, U]), f([B, U])], attrs: { cell: 'lstm', hasInitialState: true, returnSequences: true } },
  { inputs: [f([B, T, F]), f([F, 4 * U]), f([U, 4 * U]), f([4 * U]), mask], attrs: { cell: 'lstm', recurrentActivation: 'sigmoid', goBackwards: true, hasMask: true } },
  { inputs: [f([B, T, F]), f([F, 3 * U]), f([U, 3 * U]), f([3 * U]), f([B, U]), mask], attrs: { cell: 'gru', recurrentActivation: 'sigmoid', hasInitialState: true, hasMask: true, returnSequences: true } },
  { inputs: [f([B, T, F]), f([F, 3 * U]), f([U, 3 * U]), f([2, 3 * U])], attrs: { cell: 'gru', resetAfter: true, recurrentActivation: 'sigmoid', returnSequences: true } },
  { inputs: [f([B, T, F]), f([F, U]), f([U, U]), f([B, U]), mask], attrs: { cell: 'simple', hasBias: false, hasInitialState: true, hasMask: true, goBackwards: true } },
  { inputs: [f([B, T, F]), f([F, 4 * U]), f([U, 4 * U]), f([4 * U]), training], attrs: { cell: 'lstm', activation: 'softsign', recurrentActivation: 'sigmoid', dropout: 0.3, recurrentDropout: 0.4, seed: 5, returnSequences: true } },
];
