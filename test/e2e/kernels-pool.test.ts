/** GPU pooling kernels (maxPool2d, avgPool2d, the global poolings) against the float64 interpreter. */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession, type Layer, type SymbolicTensor } from '../../src/index.js';
import { expectGpuMatchesInterpreter, type GpuRun } from '../support/gpu.js';
import { randomData } from '../support/random.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));
beforeEach(() => clearSession());

const TOL = { rtol: 1e-4, atol: 1e-5 };

/** One layer on an input of `shape`. */
function single(layer: Layer, shape: number[]): Model {
  const x = Input({ shape });
  return new Model({ inputs: x, outputs: layer.apply(x) as SymbolicTensor });
}

async function check(model: Model, batch = 2): Promise<GpuRun> {
  const run = await expectGpuMatchesInterpreter(model, { batch, seed: 9, ...TOL });
  runs.push(run);
  return run;
}

const ops = (run: GpuRun) => run.compiled.program.graph.nodes.map((n) => n.op).filter((op) => op !== 'input' && op !== 'weight' && op !== 'constant');

describe('maxPool2d and avgPool2d kernels match the interpreter', () => {
  const cases = [
    ['2×2, valid (default strides = pool size)', { poolSize: 2 }, [6, 6, 3]],
    ['2×2, valid, odd input drops the last row and column', { poolSize: 2 }, [7, 5, 2]],
    ['3×3, same, strides 2 (partial windows at both edges)', { poolSize: 3, strides: 2, padding: 'same' }, [7, 6, 3]],
    ['2×2, same, strides 2, odd input (padding after only)', { poolSize: 2, strides: 2, padding: 'same' }, [5, 5, 2]],
    ['rectangular 2×3, same, strides 1', { poolSize: [2, 3], strides: 1, padding: 'same' }, [4, 5, 3]],
    ['3×3, valid, strides [1, 2]', { poolSize: 3, strides: [1, 2], padding: 'valid' }, [6, 7, 2]],
  ] as const;
  it.each(cases)('max: %s', async (_, args, shape) => {
    const run = await check(single(layers.MaxPooling2D(args as never), [...shape]));
    expect(ops(run)).toEqual(['maxPool2d']);
  });
  it.each(cases)('average over valid elements only: %s', async (_, args, shape) => {
    const run = await check(single(layers.AveragePooling2D(args as never), [...shape]));
    expect(ops(run)).toEqual(['avgPool2d']);
  });

  it('batch 1 and batch 3', async () => {
    await check(single(layers.MaxPooling2D({ poolSize: 3, strides: 2, padding: 'same' }), [5, 4, 2]), 1);
    await check(single(layers.AveragePooling2D({ poolSize: 3, strides: 2, padding: 'same' }), [5, 4, 2]), 3);
  });
});

describe('global poolings lower to reductions over height and width', () => {
  it.each([
    ['GlobalAveragePooling2D', () => layers.GlobalAveragePooling2D(), 'reduceMean'],
    ['GlobalAveragePooling2D keepdims', () => layers.GlobalAveragePooling2D({ keepdims: true }), 'reduceMean'],
    ['GlobalMaxPooling2D', () => layers.GlobalMaxPooling2D(), 'reduceMax'],
    ['GlobalMaxPooling2D keepdims', () => layers.GlobalMaxPooling2D({ keepdims: true }), 'reduceMax'],
  ] as const)('%s', async (_, make, op) => {
    const run = await check(single(make(), [5, 6, 4]));
    expect(ops(run)).toEqual([op]);
  });

  it('over a large image, each output folded by a whole workgroup', async () => {
    await check(single(layers.GlobalAveragePooling2D(), [20, 17, 3]));
    await check(single(layers.GlobalMaxPooling2D(), [20, 17, 3]));
  });
});

describe('a small CNN', () => {
  it('conv relu → max pool → conv relu → global average → dense softmax: bias and relu inside the convs', async () => {
    const x = Input({ shape: [8, 8, 3] });
    const c1 = layers.Conv2D(4, 3, { padding: 'same', activation: 'relu' });
    const c2 = layers.Conv2D(6, 3, { activation: 'relu' });
    const dense = layers.Dense(5, { activation: 'softmax' });
    const y = dense(layers.GlobalAveragePooling2D()(c2(layers.MaxPooling2D(2)(c1(x)))));
    const model = new Model({ inputs: x, outputs: y });
    for (const [k, l] of [c1, c2, dense].entries()) l.setWeights(l.weights.map((w, j) => randomData(w.size, 10 * k + j + 1, -0.8, 0.8)));
    const run = await check(model);
    // The dense head may end in one kernel or two, depending on whether softmax joins the matmul's epilogue.
    expect(ops(run).slice(0, 4)).toEqual(['fused', 'maxPool2d', 'fused', 'reduceMean']);
    expect(ops(run).filter((op) => op === 'add' || op === 'relu')).toEqual([]);
    expect(run.compiled.report.steps).toHaveLength(ops(run).length);
  });
});

describe('a Dense reads through the pooling before it (one kernel, the pooled tensor never written)', () => {
  /** Pooling → Flatten → Dense, as in the bench CNN. */
  function pooledDense(pool: Layer, shape: number[], units: number, activation: string): Model {
    const x = Input({ shape });
    return new Model({ inputs: x, outputs: layers.Dense(units, { activation: activation as never }).apply(layers.Flatten().apply(pool.apply(x) as SymbolicTensor) as SymbolicTensor) as SymbolicTensor });
  }
  const cases = [
    ['max 2×2, valid; Dense 12 relu at batch 1 (few rows, four columns a lane)', () => layers.MaxPooling2D({ poolSize: 2 }), [8, 6, 4], 12, 'relu', 1],
    ['max 2×2, valid, odd input; Dense 12 relu at batch 20 (register-blocked GEMM)', () => layers.MaxPooling2D({ poolSize: 2 }), [7, 9, 3], 12, 'relu', 20],
    ['max 2×2, valid; Dense 10 softmax at batch 3 (the CNN head: split-K row softmax)', () => layers.MaxPooling2D({ poolSize: 2 }), [10, 10, 4], 10, 'softmax', 3],
    ['average 3×3, same, strides 1 (clipped windows); Dense 7 at batch 2', () => layers.AveragePooling2D({ poolSize: 3, strides: 1, padding: 'same' }), [5, 4, 3], 7, 'linear', 2],
    ['average 2×2, valid; Dense 9 tanh at batch 12 (GEMM)', () => layers.AveragePooling2D({ poolSize: 2 }), [6, 6, 2], 9, 'tanh', 12],
  ] as const;
  it.each(cases)('%s', async (_, pool, shape, units, activation, batch) => {
    const run = await check(pooledDense(pool(), [...shape], units, activation), batch);
    expect(run.compiled.report.steps).toHaveLength(1);
    expect(ops(run)).toEqual(['fused']);
  });
});
