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
  it('conv relu → max pool → conv relu → global average → dense softmax: bias and relu inside the convs, the head one kernel', async () => {
    const x = Input({ shape: [8, 8, 3] });
    const c1 = layers.Conv2D(4, 3, { padding: 'same', activation: 'relu' });
    const c2 = layers.Conv2D(6, 3, { activation: 'relu' });
    const dense = layers.Dense(5, { activation: 'softmax' });
    const y = dense(layers.GlobalAveragePooling2D()(c2(layers.MaxPooling2D(2)(c1(x)))));
    const model = new Model({ inputs: x, outputs: y });
    for (const [k, l] of [c1, c2, dense].entries()) l.setWeights(l.weights.map((w, j) => randomData(w.size, 10 * k + j + 1, -0.8, 0.8)));
    const run = await check(model);
    expect(ops(run)).toEqual(['fused', 'maxPool2d', 'fused', 'fused']);
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

describe('a softmax head reads through a global average pooling (each row staged by its workgroup)', () => {
  /** GlobalAveragePooling2D (optionally keepdims, then Flatten) → Dense softmax, its weights random. */
  function head(shape: number[], units: number, keepdims = false): Model {
    const x = Input({ shape });
    const dense = layers.Dense(units, { activation: 'softmax' });
    const pooled = layers.GlobalAveragePooling2D({ keepdims }).apply(x) as SymbolicTensor;
    const model = new Model({ inputs: x, outputs: dense.apply(keepdims ? (layers.Flatten().apply(pooled) as SymbolicTensor) : pooled) as SymbolicTensor });
    dense.setWeights(dense.weights.map((w, j) => randomData(w.size, 40 + j, -0.8, 0.8)));
    return model;
  }
  it.each([
    ['a ResNet head, 10×10×32 (vec4 channel runs, 8 pixel slices: unrolled passes, then a tail) → Dense 10 at batch 1', [10, 10, 32], 10, false, 1],
    ['6 channels (scalar runs), 7×9 pixels → Dense 5 at batch 3', [7, 9, 6], 5, false, 3],
    ['4 channels, more lanes than pixels → Dense 3 at batch 2', [5, 6, 4], 3, false, 2],
    ['520 channels: more vec4 runs than lanes (one pixel slice) → Dense 40 (a lane per column) at batch 2', [3, 4, 520], 40, false, 2],
    ['keepdims, then Flatten → Dense 10 at batch 2', [6, 5, 8], 10, true, 2],
  ] as const)('%s', async (_, shape, units, keepdims, batch) => {
    const run = await check(head([...shape], units, keepdims), batch);
    expect(ops(run)).toEqual(['fused']);
    expect(run.compiled.report.steps).toHaveLength(1);
  });

  it('a head without a softmax, and a pooling with two readers, keep the reduction kernel', async () => {
    const x = Input({ shape: [6, 6, 8] });
    const pooled = layers.GlobalAveragePooling2D().apply(x) as SymbolicTensor;
    const linear = await check(new Model({ inputs: x, outputs: layers.Dense(4).apply(pooled) as SymbolicTensor }));
    expect(ops(linear)).toEqual(['reduceMean', 'fused']);
    clearSession();
    const y = Input({ shape: [6, 6, 8] });
    const shared = layers.GlobalAveragePooling2D().apply(y) as SymbolicTensor;
    const both = await check(new Model({ inputs: y, outputs: [layers.Dense(4, { activation: 'softmax' }).apply(shared) as SymbolicTensor, layers.Activation('relu').apply(shared) as SymbolicTensor] }));
    expect(ops(both)).toContain('reduceMean');
  });
});
