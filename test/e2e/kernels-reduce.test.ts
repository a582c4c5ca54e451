/** GPU reduction kernels (reduceSum/Mean/Max/Min/Prod over any axes, argMax) against the float64 interpreter. */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, layers, ops, clearSession, type SymbolicTensor } from '../../src/index.js';
import type { DType } from '../../src/ir/types.js';
import { expectGpuMatchesInterpreter, type GpuRun } from '../support/gpu.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));
beforeEach(() => clearSession());

const TOL = { rtol: 1e-4, atol: 1e-5 };
const EXACT = { rtol: 0, atol: 0 };

/** A model whose body is `fn` on one input, wrapped in a custom layer. */
function opModel(shape: number[], fn: (x: SymbolicTensor) => SymbolicTensor, dtype: DType = 'float32'): Model {
  class Reduce extends layers.Layer {
    override call(x: SymbolicTensor) {
      return fn(x);
    }
  }
  const x = Input({ shape, dtype });
  return new Model({ inputs: x, outputs: new Reduce().apply(x) as SymbolicTensor });
}

async function check(model: Model, tol = TOL, batch = 2, intRange?: number): Promise<GpuRun> {
  const run = await expectGpuMatchesInterpreter(model, { batch, seed: 5, intRange, ...tol });
  runs.push(run);
  return run;
}

const REDUCERS = { sum: ops.sum, mean: ops.mean, max: ops.max, min: ops.min, prod: ops.prod } as const;

/** [label, input shape without the batch, axes, keepDims]; axes count the batch. */
const AXES: [string, number[], number[], boolean][] = [
  ['last axis', [3, 5], [-1], false],
  ['axis 1 keepDims', [4, 3], [1], true],
  ['height and width (global pooling)', [4, 5, 3], [1, 2], false],
  ['non-adjacent axes 1 and 3, keepDims', [3, 4, 5], [1, 3], true],
  ['the batch axis', [3, 4], [0], false],
  ['batch and last axis', [3, 4], [0, 2], true],
  ['every axis (empty axes)', [3, 4], [], false],
];

describe('reductions over any axes match the interpreter', () => {
  for (const [name, reduce] of Object.entries(REDUCERS)) {
    it.each(AXES)(`${name}: %s`, async (_, shape, axes, keepDims) => {
      const run = await check(opModel(shape, (x) => reduce(x, axes, keepDims)));
      expect(run.compiled.report.steps).toHaveLength(1);
    });
  }
});

describe('long reductions fold each output with a whole workgroup', () => {
  // 300 and 2·150 reduced elements: past the cooperative threshold, not multiples of the workgroup.
  it.each(Object.entries(REDUCERS).filter(([n]) => n !== 'prod'))('%s over 300 elements', async (_, reduce) => {
    await check(opModel([10, 30, 2], (x) => reduce(x, [1, 2], false)), { rtol: 1e-4, atol: 1e-4 });
  });
  it.each(Object.entries(REDUCERS).filter(([n]) => n !== 'prod'))('%s over non-adjacent axes, 2·150 elements', async (_, reduce) => {
    await check(opModel([2, 3, 150], (x) => reduce(x, [1, 3], true)), { rtol: 1e-4, atol: 1e-4 });
  });
  it('prod over 260 elements near 1', async () => {
    await check(opModel([260], (x) => ops.prod(ops.add(ops.mul(x, 0.01), 1), [1])), { rtol: 1e-4, atol: 1e-5 });
  });
  it('sum of everything', async () => {
    await check(opModel([9, 33], (x) => ops.sum(x)), { rtol: 1e-4, atol: 1e-4 }, 3);
  });
});

describe('reductions over a middle axis read rows of the kept channels (global pooling)', () => {
  // 300 rows of 8 channels and 260 of 16, reduced over the rows: one workgroup an image, lanes across channels.
  it.each(Object.entries(REDUCERS).filter(([n]) => n !== 'prod'))('%s over [300, 8] and [20, 13, 16] per sample', async (_, reduce) => {
    const run = await check(opModel([300, 8], (x) => reduce(x, [1], false)), { rtol: 1e-4, atol: 1e-4 });
    const wgsl = [...run.compiled.bundle.files].filter(([f]) => f.endsWith('.wgsl')).map(([, b]) => new TextDecoder().decode(b));
    expect(wgsl.some((w) => w.includes('const C = 8u; const LANES = 32u;'))).toBe(true);
    await check(opModel([20, 13, 16], (x) => reduce(x, [1, 2], true)), { rtol: 1e-4, atol: 1e-4 }, 3);
  });
});

describe('int32 reductions are exact', () => {
  it.each(['sum', 'max', 'min', 'prod'] as const)('%s over axis 1 and over everything', async (name) => {
    await check(opModel([4, 3], (x) => REDUCERS[name](x, [1], false), 'int32'), EXACT, 2, 5);
    await check(opModel([4, 3], (x) => REDUCERS[name](x, [], true), 'int32'), EXACT, 2, name === 'prod' ? 3 : 50);
    await check(opModel([300], (x) => REDUCERS[name](x, [1], false), 'int32'), EXACT, 2, name === 'prod' ? 2 : 50);
  });
});

describe('argMax gives the int32 index of the first maximum', () => {
  it.each([
    ['last axis', [7], -1],
    ['a middle axis', [5, 3, 4], 2],
    ['axis 1 of rank 4', [4, 3, 2], 1],
    ['the batch axis', [6], 0],
  ] as const)('over %s', async (_, shape, axis) => {
    const run = await check(opModel([...shape], (x) => ops.argMax(x, axis)), EXACT, 3);
    expect(run.compiled.bundle.manifest.model.outputs[0].dtype).toBe('int32');
  });

  it('ties keep the first index (int32 input with few values)', async () => {
    await check(opModel([9, 4], (x) => ops.argMax(x, 1), 'int32'), EXACT, 4, 3);
    await check(opModel([300], (x) => ops.argMax(x, -1), 'int32'), EXACT, 2, 4);
  });
});

describe('few outputs over many elements split into two kernels through scratch', () => {
  /**
   * Float32 sums of n terms in [-1, 1] round differently from float64 by about ε·√n·|partial sums|
   * (a random walk), and the sums themselves are O(√n) with mean 0, so rtol alone is meaningless
   * near zero: atol scales with √n for sums and with 1/√n for means (the sum divided by n).
   */
  const tolFor = (name: string, n: number) =>
    name === 'sum' ? { rtol: 1e-4, atol: 1e-4 * Math.sqrt(n) } : name === 'mean' ? { rtol: 1e-4, atol: 1e-4 / Math.sqrt(n) } : { rtol: 1e-4, atol: 1e-5 };
  /** Steps of the reduction node (the model's last node). */
  const reduceSteps = (run: GpuRun) => {
    const steps = run.compiled.report.steps;
    return steps.filter((s) => s.name === steps.at(-1)!.name);
  };

  /** [label, input shape without the batch, batch, axes, keepDims, reduced elements per output]. */
  const SPLIT: [string, number[], number, number[], boolean, number][] = [
    ['[64,16,16,8] over leading axes 0,1,2', [16, 16, 8], 64, [0, 1, 2], false, 64 * 16 * 16],
    ['[64,16,16,8] over leading axes 0,1,2, keepDims', [16, 16, 8], 64, [0, 1, 2], true, 64 * 16 * 16],
    ['[4096,32] over axis 0', [32], 4096, [0], false, 4096],
    ['[4096,32] over axis 0, keepDims', [32], 4096, [0], true, 4096],
    ['[2,4096,3] over axes 0,1 (3 columns: partial rows of lanes)', [4096, 3], 2, [0, 1], false, 8192],
    ['[2,8192] over the trailing axis', [8192], 2, [-1], true, 8192],
    ['[3,5000] over the trailing axis (slices not multiples of 256)', [5000], 3, [1], false, 5000],
    ['[2,4100] over every axis', [4100], 2, [], false, 8200],
    ['[1,32,32,32] over height and width (global pooling at batch 1: one workgroup would walk 128 rows a lane)', [32, 32, 32], 1, [1, 2], false, 1024],
  ];
  for (const name of ['sum', 'mean', 'max', 'min'] as const) {
    it.each(SPLIT)(`${name}: %s`, async (_, shape, batch, axes, keepDims, n) => {
      const run = await check(opModel(shape, (x) => REDUCERS[name](x, axes, keepDims)), tolFor(name, n), batch);
      expect(run.compiled.report.steps).toHaveLength(2);
    });
  }

  it('an output with many partials gets a workgroup of lanes in the second pass (32 partials over 32 lanes)', async () => {
    const run = await check(opModel([16, 16, 8], (x) => ops.sum(x, [0, 1, 2])), tolFor('sum', 64 * 256), 64);
    const wgsl = run.compiled.report.kernels.map((k) => k.wgsl);
    expect(wgsl.some((w) => w.includes('const L = 32u;'))).toBe(true);
  });

  it('prod over 4096·2 elements near 1', async () => {
    const run = await check(opModel([4096, 2], (x) => ops.prod(ops.add(ops.mul(x, 0.001), 1), [0, 1])), { rtol: 1e-4, atol: 1e-5 }, 2);
    expect(reduceSteps(run)).toHaveLength(2);
  });

  it('scratch does not corrupt other values: two split reductions feeding one add', async () => {
    const run = await check(
      opModel([16, 16, 8], (x) => ops.add(ops.sum(x, [0, 1, 2]), ops.max(x, [0, 1, 2]))),
      { rtol: 1e-4, atol: 1e-4 * Math.sqrt(64 * 16 * 16) },
      64,
    );
    // Two kernels per reduction, one for the add; the scratch region lies past every planned value.
    expect(run.compiled.report.steps).toHaveLength(5);
    const m = run.compiled.bundle.manifest;
    const scratchParams = run.compiled.report.kernels.flatMap((k, i) => k.operands.flatMap((o, j) => (o.operand.kind === 'scratch' ? [m.steps[i].params[j]] : [])));
    expect(scratchParams).toHaveLength(4);
    const valueEnds = [...m.model.inputs, ...m.model.outputs].map((v) => v.offset / 4);
    for (const p of scratchParams) for (const end of valueEnds) expect(p).toBeGreaterThan(end);
  });
});
