/**
 * Data-movement kernels (transpose, concat, slice, pad, gather, oneHot) and the elementwise ops
 * around them (cast, where, comparisons), each built from raw ops in a custom layer and checked on
 * the GPU against the interpreter. Pure copies must match exactly (tolerance 0).
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, clearSession, layers, ops, type SymbolicTensor } from '../../src/index.js';
import type { DType } from '../../src/ir/types.js';
import { compileBundle } from '../../src/codegen/index.js';
import { Net } from '../../src/runtime/index.js';
import { expectGpuMatchesInterpreter, testGpu, type GpuRun } from '../support/gpu.js';

const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));
beforeEach(() => clearSession());

const EXACT = { rtol: 0, atol: 0 };

/** A model whose body is `fn` over raw ops, wrapped in one custom layer; inputs are sample shapes (float32 unless a dtype is given). */
function opsModel(inputs: (number[] | [number[], DType])[], fn: (...xs: SymbolicTensor[]) => SymbolicTensor | SymbolicTensor[]): Model {
  class Ops extends layers.Layer {
    override call(x: SymbolicTensor | SymbolicTensor[]) {
      return fn(...(Array.isArray(x) ? x : [x]));
    }
  }
  const xs = inputs.map((s, i) => (typeof s[0] === 'number' ? Input({ shape: s as number[], name: `in${i}` }) : Input({ shape: (s as [number[], DType])[0], dtype: (s as [number[], DType])[1], name: `in${i}` })));
  return new Model({ inputs: xs, outputs: new Ops().apply(xs.length === 1 ? xs[0] : xs) });
}

/** Runs the GPU check (batch 2 unless given), keeps the net for cleanup, returns the run. */
async function check(model: Model, tol: { rtol: number; atol: number }, extra: { batch?: number; intRange?: number } = {}): Promise<GpuRun> {
  const run = await expectGpuMatchesInterpreter(model, { batch: 2, ...tol, ...extra });
  nets.push(run.net);
  return run;
}

const kernelCount = (run: GpuRun) => run.compiled.report.steps.length;

describe('transpose', () => {
  it.each([
    ['swaps the last two axes', [3, 4], [0, 2, 1]],
    ['rotates the axes of a rank-4 tensor', [3, 4, 5], [0, 3, 1, 2]],
    ['moves the batch axis inward', [3, 4], [2, 0, 1]],
  ])('%s: one kernel, exact', async (_what, shape, perm) => {
    const run = await check(opsModel([shape], (x) => ops.transpose(x, perm)), EXACT);
    expect(kernelCount(run)).toBe(1);
  });
});

describe('slice', () => {
  it('takes an inner block with begins on every axis and a size of -1', async () => {
    const run = await check(opsModel([[5, 6]], (x) => ops.slice(x, [1, 2, 1], [1, -1, 3])), EXACT, { batch: 3 });
    expect(kernelCount(run)).toBe(1);
  });
});

describe('pad', () => {
  it('pads two axes unevenly with a non-zero constant', () => check(opsModel([[3, 4]], (x) => ops.pad(x, [[0, 0], [2, 1], [0, 3]], 0.5)), EXACT));
  it('pads int32 values with an int constant', () => check(opsModel([[[4], 'int32']], (x) => ops.pad(x, [[1, 0], [1, 2]], 7)), EXACT, { intRange: 100 }));
  it('with zero paddings is a plain copy', () => check(opsModel([[3, 2]], (x) => ops.pad(x, [[0, 0], [0, 0], [0, 0]])), EXACT));
});

describe('concat', () => {
  it('joins three inputs of different lengths along axis 1', () =>
    check(opsModel([[2, 3], [4, 3], [1, 3]], (a, b, c) => ops.concat([a, b, c], 1)), EXACT));
  it('joins along the last axis, reading a repeated input through one operand', async () => {
    const run = await check(opsModel([[2, 3], [2, 1]], (a, b) => ops.concat([a, b, a], -1)), EXACT);
    expect(run.compiled.report.kernels[0].operands).toHaveLength(3);
  });
  it('joins int32 tensors along the batch axis', () => check(opsModel([[[3], 'int32'], [[3], 'int32']], (a, b) => ops.concat([a, b], 0)), EXACT));
});

describe('gather', () => {
  it('picks rows of a constant table by int32 indices (axis 0)', () => {
    const table = ops.constant(Array.from({ length: 12 }, (_, i) => i * 0.25 - 1), [6, 2]);
    return check(opsModel([[[4], 'int32']], (ix) => ops.gather(table, ix, 0)), EXACT, { intRange: 6 });
  });
  it('gathers along a middle axis, indices of rank 2', () =>
    check(opsModel([[5, 3], [[2, 2], 'int32']], (p, ix) => ops.gather(p, ix, 1)), EXACT, { intRange: 5 }));
  it('gathers along the last axis (negative axis)', () =>
    check(opsModel([[3, 4], [[3], 'int32']], (p, ix) => ops.gather(p, ix, -1)), EXACT, { intRange: 4 }));
  it('clamps an out-of-range index into [0, dim) (the interpreter raises instead)', async () => {
    const table = ops.constant([10, 11, 20, 21, 30, 31], [3, 2]);
    const compiled = compileBundle(opsModel([[[4], 'int32']], (ix) => ops.gather(table, ix, 0)), { batch: 1, check: true });
    const net = await Net.create(compiled.bundle, await testGpu());
    nets.push(net);
    await net.fill(NaN);
    const got = await net.predict({ [net.inputs[0].name]: Int32Array.from([-5, 1, 3, 99]) });
    expect(Array.from(got[net.outputs[0].name])).toEqual([10, 11, 20, 21, 30, 31, 30, 31]);
  });
});

describe('oneHot', () => {
  it('gives on at the index and off elsewhere; indices ≥ depth give a row of off', async () => {
    const run = await check(opsModel([[[3], 'int32']], (ix) => ops.oneHot(ix, 4)), EXACT, { intRange: 6 });
    expect(kernelCount(run)).toBe(1);
  });
});

describe('cast, where and comparisons', () => {
  // ×4 is exact in float32, so truncation toward zero sees the same values as the interpreter.
  it('casts float → int32 (truncating), int32 → float and float → bool', () =>
    check(opsModel([[6]], (x) => {
      const i = ops.cast(ops.mul(x, 4), 'int32');
      return [i, ops.cast(ops.add(i, i), 'float32'), ops.cast(ops.floor(ops.mul(x, 2)), 'bool')];
    }), EXACT));
  it('selects with a broadcast condition', () =>
    check(opsModel([[3, 4], [1, 4]], (a, b) => ops.where(ops.greater(b, 0), a, ops.mul(a, -4))), EXACT));
  const comparisons = ['equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual'] as const;
  it('compares int32 tensors (with ties) into bools', () =>
    check(opsModel([[[5], 'int32'], [[5], 'int32']], (a, b) => comparisons.map((c) => ops[c](a, b))), EXACT, { intRange: 3 }));
  it('compares float tensors, one broadcast, into bools', () =>
    check(opsModel([[2, 3], [3]], (a, b) => comparisons.map((c) => ops[c](ops.floor(ops.mul(a, 2)), ops.floor(ops.mul(b, 2))))), EXACT));
});

describe('memory sharing', () => {
  it('an output that is a reshape of an input runs no kernel and reads the input memory', async () => {
    const run = await check(opsModel([[3, 4]], (x) => ops.reshape(x, [-1, 2, 6])), EXACT);
    expect(kernelCount(run)).toBe(0);
  });
  it('a reshaped input can be an output next to a computed one', async () => {
    const run = await check(opsModel([[3, 4]], (x) => [ops.reshape(x, [-1, 12]), ops.transpose(ops.reshape(x, [-1, 2, 6]), [0, 2, 1])]), EXACT);
    expect(kernelCount(run)).toBe(1);
  });
  it('one value feeds two data-movement kernels and an elementwise one', async () => {
    const run = await check(opsModel([[3, 4]], (x) => {
      const h = ops.exp(x);
      return [ops.transpose(h, [0, 2, 1]), ops.pad(h, [[0, 0], [1, 1], [0, 0]]), ops.slice(h, [0, 1, 0], [-1, 1, -1])];
    }), { rtol: 1e-6, atol: 0 });
    expect(kernelCount(run)).toBe(4);
  });
});
