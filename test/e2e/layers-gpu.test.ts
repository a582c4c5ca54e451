/**
 * Keras layers compiled and run on the GPU, compared with the interpreter: shape layers, merges,
 * Embedding, ZeroPadding2D and every activation. Models with a Dense get matmul tolerances; pure
 * data movement must match exactly.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, Sequential, activations, clearSession, layers, ops, type SymbolicTensor } from '../../src/index.js';
import { expectGpuMatchesInterpreter, type GpuRun } from '../support/gpu.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));
beforeEach(() => clearSession());

const EXACT = { rtol: 0, atol: 0 };
const MATMUL = { rtol: 1e-4, atol: 1e-5 };

async function check(model: Model, tol: { rtol: number; atol: number }, extra: { batch?: number; intRange?: number } = {}): Promise<GpuRun> {
  const run = await expectGpuMatchesInterpreter(model, { batch: 2, ...tol, ...extra });
  runs.push(run);
  return run;
}

/** A functional model: one Input per sample shape, `layer` applied to all of them (a list when several). */
function around(layer: (xs: SymbolicTensor[]) => SymbolicTensor, ...shapes: number[][]): Model {
  const xs = shapes.map((shape) => Input({ shape }));
  return new Model({ inputs: xs, outputs: layer(xs) });
}

const kernelCount = (run: GpuRun) => run.compiled.report.steps.length;

describe('shape layers', () => {
  it('Flatten alone renames memory: no kernel', async () => {
    const run = await check(around(([x]) => layers.Flatten()(x) as SymbolicTensor, [3, 4, 2]), EXACT);
    expect(kernelCount(run)).toBe(0);
  });
  it('Flatten → Dense', () => check(new Sequential([layers.Flatten({ inputShape: [3, 4, 2] }), layers.Dense(5)]), MATMUL, { batch: 3 }));
  it('Reshape with an explicit shape and with -1, then Dense', () =>
    check(new Sequential([layers.Reshape([4, 6], { inputShape: [2, 12] }), layers.Reshape([-1, 3]), layers.Dense(2)]), MATMUL));
  it.each([
    ['[2, 1]', [2, 1], [3, 4]],
    ['[3, 1, 2]', [3, 1, 2], [2, 3, 4]],
    ['[1, 3, 2]', [1, 3, 2], [2, 3, 4]],
  ])('Permute(%s) is one exact kernel', async (_name, dims, shape) => {
    const run = await check(around(([x]) => layers.Permute(dims)(x) as SymbolicTensor, shape), EXACT);
    expect(kernelCount(run)).toBe(1);
  });
});

describe('Concatenate', () => {
  it('along the last axis (default), 3 inputs', () =>
    check(around((xs) => layers.Concatenate()(xs) as SymbolicTensor, [3, 2], [3, 4], [3, 1]), EXACT));
  it('along axis 1, 3 inputs', async () => {
    const run = await check(around((xs) => layers.Concatenate(1)(xs) as SymbolicTensor, [2, 4], [3, 4], [1, 4]), EXACT);
    expect(kernelCount(run)).toBe(1);
  });
});

describe('elementwise merges', () => {
  const merges = [
    ['Add', () => layers.Add()],
    ['Subtract', () => layers.Subtract()],
    ['Multiply', () => layers.Multiply()],
    ['Average', () => layers.Average()],
    ['Maximum', () => layers.Maximum()],
    ['Minimum', () => layers.Minimum()],
  ] as const;
  const TOL = { rtol: 1e-6, atol: 1e-7 };
  describe.each(merges)('%s', (name, make) => {
    it('on two inputs of the same shape', () => check(around((xs) => make()(xs) as SymbolicTensor, [4, 5], [4, 5]), TOL));
    it('broadcasting size-1 dims', () => check(around((xs) => make()(xs) as SymbolicTensor, [4, 1], [1, 5]), TOL));
    it('on inputs of different ranks', () => check(around((xs) => make()(xs) as SymbolicTensor, [3, 4], [4]), TOL));
    if (name !== 'Subtract') it('on three inputs', () => check(around((xs) => make()(xs) as SymbolicTensor, [6], [6], [6]), TOL));
  });
});

describe('Embedding', () => {
  it('looks up int32 indices (a gather from the weights), exactly', async () => {
    const x = Input({ shape: [5], dtype: 'int32' });
    const run = await check(new Model({ inputs: x, outputs: layers.Embedding(10, 3)(x) as SymbolicTensor }), EXACT, { batch: 3, intRange: 10 });
    expect(kernelCount(run)).toBe(1);
  });
  it('Embedding → Flatten → Dense', () => {
    const x = Input({ shape: [4], dtype: 'int32' });
    const e = layers.Embedding({ inputDim: 7, outputDim: 3, inputLength: 4 })(x) as SymbolicTensor;
    const y = layers.Dense(2, { activation: 'tanh' })(layers.Flatten()(e) as SymbolicTensor) as SymbolicTensor;
    return check(new Model({ inputs: x, outputs: y }), MATMUL, { batch: 3, intRange: 7 });
  });
});

describe('ZeroPadding2D', () => {
  it.each([
    ['an int', 1],
    ['[h, w]', [1, 2]],
    ['[[top, bottom], [left, right]]', [[1, 0], [2, 1]]],
  ] as const)('padding as %s is one exact kernel', async (_form, padding) => {
    const run = await check(around(([x]) => layers.ZeroPadding2D(padding as never)(x) as SymbolicTensor, [3, 4, 2]), EXACT);
    expect(kernelCount(run)).toBe(1);
  });
});

describe('Activation layers', () => {
  /** Scales [-1, 1) inputs to [-6, 6), so every activation sees both signs and its saturated ends. */
  class Widen extends layers.Layer {
    override call(x: SymbolicTensor) {
      return ops.mul(x, 6);
    }
  }
  it.each(activations.ACTIVATION_NAMES)('%s matches within rtol 1e-4, atol 1e-5', async (name) => {
    await check(around(([x]) => layers.Activation(name)(new Widen().apply(x) as SymbolicTensor) as SymbolicTensor, [3, 7]), { rtol: 1e-4, atol: 1e-5 }, { batch: 4 });
  });
});
