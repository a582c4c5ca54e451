/**
 * Training steps whose backward pass runs the gradient kernels (conv and depthwise backprops, pool
 * grads, scatterAdd): kiln's trainOnBatch on the GPU against TF.js's trainOnBatch from the same
 * weights, with SGD. Each model is checked to contain the gradient ops it is meant to exercise.
 */
import { describe, expect, it } from 'vitest';
import { Sequential, layers, optimizers, clearSession, type Model } from '../../src/index.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { trainingProgram } from '../../src/training/index.js';
import { tfjs } from '../support/tfjs.js';
import { randomData, randomInts } from '../support/random.js';
import { expectClose } from '../support/close.js';
import { bodyOps } from '../passes/helpers.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;

interface Case {
  readonly kiln: () => Model;
  readonly tf: (tf: Tf) => any;
  readonly input: number[];
  /** Inputs are integer indices in [0, vocab) rather than floats in [-1, 1). */
  readonly vocab?: number;
  /** Gradient ops the training step must contain. */
  readonly grads: string[];
  readonly loss: 'categoricalCrossentropy' | 'meanSquaredError';
}

const CLASSES = 5;

/** TF.js 4.22's avgPool gradient divides by the whole window where 'same' padding cuts it (docs/ops.md), so pools here are 'valid'. */
const CASES: Record<string, Case> = {
  'Conv2D relu → MaxPooling2D → Dense softmax': {
    kiln: () => new Sequential([layers.Conv2D(4, 3, { activation: 'relu', inputShape: [6, 6, 2] }), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(CLASSES, { activation: 'softmax' })]),
    tf: (tf) => tf.sequential({ layers: [tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [6, 6, 2] }), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: CLASSES, activation: 'softmax' })] }),
    input: [6, 6, 2],
    grads: ['conv2dBackpropFilter', 'maxPool2dGrad'],
    loss: 'categoricalCrossentropy',
  },
  'Conv2D strides 2 → Conv2D 2×3 same → AveragePooling2D → Dense (MSE)': {
    kiln: () => new Sequential([
      layers.Conv2D(4, 3, { strides: 2, padding: 'same', activation: 'relu', inputShape: [7, 7, 2] }),
      layers.Conv2D(3, [2, 3], { padding: 'same', activation: 'tanh' }),
      layers.AveragePooling2D(2),
      layers.Flatten(),
      layers.Dense(CLASSES, { activation: 'softmax' }),
    ]),
    tf: (tf) => tf.sequential({ layers: [
      tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', inputShape: [7, 7, 2] }),
      tf.layers.conv2d({ filters: 3, kernelSize: [2, 3], padding: 'same', activation: 'tanh' }),
      tf.layers.averagePooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: CLASSES, activation: 'softmax' }),
    ] }),
    input: [7, 7, 2],
    grads: ['conv2dBackpropFilter', 'conv2dBackpropInput', 'avgPool2dGrad'],
    loss: 'meanSquaredError',
  },
  'Conv2D → DepthwiseConv2D ×2 → overlapping MaxPooling2D → Dense': {
    kiln: () => new Sequential([
      layers.Conv2D(3, 3, { padding: 'same', inputShape: [6, 6, 2] }),
      layers.DepthwiseConv2D(3, { depthMultiplier: 2, activation: 'relu' }),
      layers.MaxPooling2D({ poolSize: 2, strides: 1 }),
      layers.Flatten(),
      layers.Dense(CLASSES, { activation: 'softmax' }),
    ]),
    tf: (tf) => tf.sequential({ layers: [
      tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', inputShape: [6, 6, 2] }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 1 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: CLASSES, activation: 'softmax' }),
    ] }),
    input: [6, 6, 2],
    grads: ['conv2dBackpropFilter', 'depthwiseConv2dBackpropInput', 'depthwiseConv2dBackpropFilter', 'maxPool2dGrad'],
    loss: 'categoricalCrossentropy',
  },
  'Embedding (repeated indices) → Dense': {
    kiln: () => new Sequential([layers.Embedding({ inputDim: 7, outputDim: 4, inputLength: 3 }), layers.Flatten(), layers.Dense(CLASSES, { activation: 'softmax' })]),
    tf: (tf) => tf.sequential({ layers: [tf.layers.embedding({ inputDim: 7, outputDim: 4, inputLength: 3 }), tf.layers.flatten(), tf.layers.dense({ units: CLASSES, activation: 'softmax' })] }),
    input: [3],
    vocab: 7,
    grads: ['scatterAdd'],
    loss: 'categoricalCrossentropy',
  },
};

describe('one SGD step through the gradient kernels gives TF.js trainOnBatch’s loss and weights', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}, two steps`, async () => {
      const tf = await tfjs();
      clearSession();
      const batch = 6;
      const kiln = c.kiln();
      const tfModel = c.tf(tf);
      tfModel.setWeights(kiln.getWeights().map((v, i) => tf.tensor(v, kiln.weights[i].shape as number[])));
      const args = { optimizer: optimizers.SGD({ learningRate: 0.1 }), loss: c.loss };
      // Ops of the step, inside fused nodes too (an input gradient leads its epilogue's group).
      const ops = new Set(trainingProgram(kiln, resolveCompileArgs(kiln, args), batch).program.graph.nodes.flatMap((n) => (n.op === 'fused' ? [n.op, ...bodyOps(n)] : [n.op])));
      for (const op of c.grads) expect(ops, `the training step should contain ${op}`).toContain(op);
      const before = kiln.getWeights().map((v) => Float32Array.from(v));
      kiln.compile(args);
      tfModel.compile({ optimizer: tf.train.sgd(0.1), loss: c.loss });
      const size = batch * c.input.reduce((a, b) => a * b, 1);
      for (let step = 0; step < 2; step++) {
        const x = c.vocab ? Float32Array.from(randomInts(size, c.vocab, 3 + step)) : randomData(size, 3 + step);
        const y = new Float32Array(batch * CLASSES);
        randomInts(batch, CLASSES, 9 + step).forEach((k, r) => (y[r * CLASSES + k] = 1));
        const [loss] = await kiln.trainOnBatch(x, y);
        const out = (await tfModel.trainOnBatch(tf.tensor(x, [batch, ...c.input]), tf.tensor(y, [batch, CLASSES]))) as number | number[];
        const tfLoss = Array.isArray(out) ? out[0] : out;
        expect(Math.abs(loss - tfLoss), `step ${step} loss ${loss} vs TF.js ${tfLoss}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(tfLoss)));
      }
      const tfWeights = tfModel.getWeights();
      for (const [i, w] of kiln.weights.entries()) {
        const [got, want] = [w.read(), (await tfWeights[i].data()) as Float32Array];
        expectClose(got, want, { rtol: 1e-3, atol: 2e-5 }, `weight '${w.name}'`);
        // The updates themselves, tightly: a small gradient error hides inside the weights' tolerance.
        const delta = (v: ArrayLike<number>) => Float32Array.from(v, (a, k) => a - before[i][k]);
        expectClose(delta(got), delta(want), { rtol: 1e-2, atol: 1e-6 }, `update of '${w.name}'`);
      }
    });
  }
});
