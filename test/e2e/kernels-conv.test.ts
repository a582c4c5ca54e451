/** GPU conv kernels (conv2d, depthwiseConv2d), alone and with fused epilogues, against the float64 interpreter. */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, Sequential, layers, clearSession, type Layer, type SymbolicTensor } from '../../src/index.js';
import { expectGpuMatchesInterpreter, type GpuRun } from '../support/gpu.js';
import { randomData } from '../support/random.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));
beforeEach(() => clearSession());

const TOL = { rtol: 1e-4, atol: 1e-5 };

/** Every weight of a layer to seeded random values (never zeros), so a bias is not a no-op. */
function randomize(layer: Layer, seed: number): Layer {
  layer.setWeights(layer.weights.map((w, k) => randomData(w.size, seed + k, -0.8, 0.8)));
  return layer;
}

/** Gives a BatchNormalization non-trivial gamma, beta and moving statistics (variance > 0). */
function randomizeBatchNorm(bn: Layer, seed: number): Layer {
  const c = bn.weights[0].shape[0] as number;
  bn.setWeights([randomData(c, seed, 0.5, 1.5), randomData(c, seed + 1, -0.5, 0.5), randomData(c, seed + 2, -0.3, 0.3), randomData(c, seed + 3, 0.5, 2)]);
  return bn;
}

/** One conv layer on an input of `shape`, its weights randomized after building. */
function single(layer: Layer, shape: number[], seed = 11): Model {
  const x = Input({ shape });
  const model = new Model({ inputs: x, outputs: layer.apply(x) as SymbolicTensor });
  randomize(layer, seed);
  return model;
}

async function check(model: Model, batch = 2, seed = 7): Promise<GpuRun> {
  const run = await expectGpuMatchesInterpreter(model, { batch, seed, ...TOL });
  runs.push(run);
  return run;
}

const ops = (run: GpuRun) => run.compiled.program.graph.nodes.map((n) => n.op).filter((op) => op !== 'input' && op !== 'weight' && op !== 'constant');

describe('conv2d kernels match the interpreter', () => {
  it.each([
    ['same 3×3', { kernelSize: 3, padding: 'same' }, [6, 7, 3]],
    ['valid 3×3', { kernelSize: 3, padding: 'valid' }, [6, 7, 3]],
    ['same, strides 2', { kernelSize: 3, padding: 'same', strides: 2 }, [7, 6, 3]],
    ['valid, strides 2', { kernelSize: 3, padding: 'valid', strides: 2 }, [7, 8, 2]],
    ['same, even kernel, strides 2 (pad split unevenly)', { kernelSize: 4, padding: 'same', strides: 2 }, [7, 9, 2]],
    ['same, dilation 2', { kernelSize: 3, padding: 'same', dilationRate: 2 }, [7, 6, 3]],
    ['valid, dilation [2, 1]', { kernelSize: 3, padding: 'valid', dilationRate: [2, 1] }, [7, 6, 3]],
    ['rectangular 2×3 kernel, strides [1, 2]', { kernelSize: [2, 3], padding: 'same', strides: [1, 2] }, [5, 7, 3]],
    ['1×1 kernel', { kernelSize: 1 }, [4, 4, 5]],
  ] as const)('%s, with bias (one fused kernel)', async (_, args, shape) => {
    const run = await check(single(layers.Conv2D({ filters: 5, ...args } as never), [...shape]));
    expect(run.compiled.report.steps).toHaveLength(1);
  });

  it('without bias or activation is a plain conv2d kernel', async () => {
    const run = await check(single(layers.Conv2D(4, 3, { padding: 'same', useBias: false }), [5, 5, 3]));
    expect(ops(run)).toEqual(['conv2d']);
    expect(run.compiled.report.steps).toHaveLength(1);
  });

  it('with batch 1 and batch 3', async () => {
    await check(single(layers.Conv2D(3, 3, { padding: 'same' }), [4, 5, 2]), 1);
    await check(single(layers.Conv2D(3, 3, { padding: 'valid', strides: 2 }), [5, 5, 2]), 3);
  });
});

describe('conv2d epilogues run inside the conv kernel', () => {
  const fused = ['relu', 'relu6', 'elu', 'selu', 'gelu', 'sigmoid', 'hardSigmoid', 'tanh', 'softplus', 'softsign', 'swish', 'exponential'];
  it.each(fused)('bias + %s is one kernel', async (activation) => {
    const run = await check(single(layers.Conv2D(4, 3, { padding: 'same', activation }), [5, 6, 3]));
    expect(run.compiled.report.steps).toHaveLength(1);
    expect(ops(run)).toEqual(['fused']);
  });

  it('activation without bias is one kernel', async () => {
    const run = await check(single(layers.Conv2D(4, 3, { padding: 'valid', useBias: false, activation: 'tanh' }), [5, 6, 3]));
    expect(run.compiled.report.steps).toHaveLength(1);
  });

  it('softmax stays its own kernel after the fused conv', async () => {
    const run = await check(single(layers.Conv2D(4, 3, { padding: 'same', activation: 'softmax' }), [4, 4, 3]));
    expect(ops(run)).toEqual(['fused', 'softmax']);
  });

  it('a residual of the conv input itself (conv(x) + x) reads the same operand twice', async () => {
    const x = Input({ shape: [5, 5, 4] });
    const conv = layers.Conv2D(4, 3, { padding: 'same' });
    const model = new Model({ inputs: x, outputs: layers.Activation('relu')(layers.Add()([conv(x), x])) });
    randomize(conv, 5);
    const run = await check(model);
    expect(run.compiled.report.steps).toHaveLength(1);
  });
});

describe('depthwiseConv2d kernels match the interpreter', () => {
  it.each([
    ['multiplier 1, same', { kernelSize: 3, padding: 'same', depthMultiplier: 1 }],
    ['multiplier 2, same', { kernelSize: 3, padding: 'same', depthMultiplier: 2 }],
    ['multiplier 2, valid, strides 2', { kernelSize: 3, padding: 'valid', depthMultiplier: 2, strides: 2 }],
    ['multiplier 3, rectangular, dilation 2', { kernelSize: [3, 2], padding: 'same', depthMultiplier: 3, dilationRate: 2 }],
    ['multiplier 2, relu6 fused', { kernelSize: 3, padding: 'same', depthMultiplier: 2, activation: 'relu6' }],
  ] as const)('%s', async (_, args) => {
    const run = await check(single(layers.DepthwiseConv2D(args as never), [6, 7, 3]));
    expect(run.compiled.report.steps).toHaveLength(1);
  });

  it('without bias is a plain depthwiseConv2d kernel', async () => {
    const run = await check(single(layers.DepthwiseConv2D(3, { padding: 'same', depthMultiplier: 2, useBias: false }), [5, 5, 3]));
    expect(ops(run)).toEqual(['depthwiseConv2d']);
  });
});

describe('BatchNormalization folds into the conv', () => {
  it('Conv2D → BatchNormalization → ReLU is one kernel with no batchNorm', async () => {
    const bn = layers.BatchNormalization();
    const conv = layers.Conv2D(4, 3, { padding: 'same' });
    const model = new Sequential([layers.InputLayer({ inputShape: [6, 6, 3] }), conv, bn, layers.Activation('relu')]);
    randomize(conv, 3);
    randomizeBatchNorm(bn, 21);
    const run = await check(model);
    expect(run.compiled.program.graph.nodes.filter((n) => n.op === 'batchNorm')).toHaveLength(0);
    expect(ops(run)).toEqual(['fused']);
    expect(run.compiled.report.steps).toHaveLength(1);
  });

  it('DepthwiseConv2D (multiplier 2) → BatchNormalization → ReLU is one kernel', async () => {
    const bn = layers.BatchNormalization();
    const conv = layers.DepthwiseConv2D(3, { padding: 'same', depthMultiplier: 2, useBias: false });
    const model = new Sequential([layers.InputLayer({ inputShape: [5, 5, 3] }), conv, bn, layers.Activation('relu')]);
    randomize(conv, 4);
    randomizeBatchNorm(bn, 22);
    const run = await check(model);
    expect(run.compiled.program.graph.nodes.filter((n) => n.op === 'batchNorm')).toHaveLength(0);
    expect(run.compiled.report.steps).toHaveLength(1);
  });
});

describe('the resnet block', () => {
  it('conv-bn-relu-conv-bn + residual add + relu is two kernels, the add inside the second conv', async () => {
    const x = Input({ shape: [6, 6, 4] });
    const [c1, c2] = [layers.Conv2D(4, 3, { padding: 'same', useBias: false }), layers.Conv2D(4, 3, { padding: 'same', useBias: false })];
    const [bn1, bn2] = [layers.BatchNormalization(), layers.BatchNormalization()];
    let y = layers.Activation('relu')(bn1(c1(x)));
    y = bn2(c2(y));
    const model = new Model({ inputs: x, outputs: layers.Activation('relu')(layers.Add()([y, x])) });
    randomize(c1, 1);
    randomize(c2, 2);
    randomizeBatchNorm(bn1, 31);
    randomizeBatchNorm(bn2, 41);
    const run = await check(model);
    const graph = run.compiled.program.graph;
    expect(graph.nodes.filter((n) => n.op === 'batchNorm')).toHaveLength(0);
    expect(ops(run)).toEqual(['fused', 'fused']);
    expect(run.compiled.report.steps).toHaveLength(2);
    const bodies = graph.nodes.filter((n) => n.op === 'fused').map((n) => (n.attrs.body as unknown as { nodes: { op: string }[] }).nodes.map((b) => b.op).filter((op) => op !== 'param'));
    expect(bodies).toEqual([['conv2d', 'add', 'relu'], ['conv2d', 'add', 'add', 'relu']]);
  });
});

describe('conv2d tap masks', () => {
  // Up to 31 taps, each staged row keeps a bit per in-image tap; a 7×7 kernel (49 taps) tests bounds per element.
  for (const [kernelSize, dilationRate, strides] of [[5, 2, 1], [7, 1, 2]] as const) {
    it(`${kernelSize}×${kernelSize} 'same' kernel, dilation ${dilationRate}, strides ${strides}`, async () => {
      const model = single(layers.Conv2D({ filters: 6, kernelSize, dilationRate, strides, padding: 'same', activation: 'relu' }), [11, 10, 3]);
      await check(model, 3);
    });
  }
});

describe('conv2d at sizes that pick the large GEMM tiles', () => {
  // 32 images of 16×16×8 → 8192 output pixels: larger blocks of src/codegen/lower/gemm.ts.
  for (const filters of [32, 64]) {
    it(`${filters} filters, 3×3 same, strides 1 and 2`, async () => {
      for (const strides of [1, 2]) {
        clearSession();
        const x = Input({ shape: [16, 16, 8] });
        const model = new Model({ inputs: x, outputs: layers.Conv2D(filters, 3, { padding: 'same', strides, activation: 'relu' })(x) });
        runs.push(await expectGpuMatchesInterpreter(model, { batch: 32, ...TOL }));
      }
    });
  }
});
