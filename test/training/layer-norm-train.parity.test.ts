/** A training step through LayerNormalization on the GPU gives TF.js trainOnBatch's losses and weights. */
import { describe, expect, it } from 'vitest';
import { Sequential, layers, optimizers, clearSession, type Model } from '../../src/index.js';
import { tfjs } from '../support/tfjs.js';
import { randomData, randomInts } from '../support/random.js';
import { expectClose } from '../support/close.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;
const uniform = (minval: number, maxval: number, seed: number) => ({ className: 'RandomUniform', config: { minval, maxval, seed } });

const MODELS: Record<string, { kiln: () => Model; tf: (tf: Tf) => any; input: number[] }> = {
  'dense → layer norm → relu → dense softmax': {
    kiln: () => new Sequential([layers.Dense(6, { inputShape: [8] }), layers.LayerNormalization({ gammaInitializer: uniform(0.5, 1.5, 1), betaInitializer: uniform(-0.5, 0.5, 2) }), layers.Activation('relu'), layers.Dense(5, { activation: 'softmax' })]),
    tf: (tf) => tf.sequential({ layers: [tf.layers.dense({ units: 6, inputShape: [8] }), tf.layers.layerNormalization(), tf.layers.activation({ activation: 'relu' }), tf.layers.dense({ units: 5, activation: 'softmax' })] }),
    input: [8],
  },
  'layer norm over axes [1, 2] of a sequence → flatten → dense softmax': {
    kiln: () => new Sequential([layers.LayerNormalization({ axis: [1, 2], inputShape: [3, 4], epsilon: 1e-5 }), layers.Flatten(), layers.Dense(5, { activation: 'softmax' })]),
    tf: (tf) => tf.sequential({ layers: [tf.layers.layerNormalization({ axis: [1, 2], inputShape: [3, 4], epsilon: 1e-5 }), tf.layers.flatten(), tf.layers.dense({ units: 5, activation: 'softmax' })] }),
    input: [3, 4],
  },
};

describe('LayerNormalization training step against TF.js trainOnBatch', () => {
  for (const [what, m] of Object.entries(MODELS)) {
    it(`${what}: SGD 0.1, categorical cross-entropy, two steps`, async () => {
      const tf = await tfjs();
      clearSession();
      const batch = 6;
      const kiln = m.kiln();
      const tfModel = m.tf(tf);
      tfModel.setWeights(kiln.getWeights().map((v, i) => tf.tensor(v, kiln.weights[i].shape as number[])));
      kiln.compile({ optimizer: optimizers.SGD({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' });
      tfModel.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
      const size = batch * m.input.reduce((a, b) => a * b, 1);
      for (let step = 0; step < 2; step++) {
        const x = randomData(size, 3 + step, -2, 2);
        const y = new Float32Array(batch * 5);
        randomInts(batch, 5, 9 + step).forEach((c, r) => (y[r * 5 + c] = 1));
        const [loss] = await kiln.trainOnBatch(x, y);
        const tfLoss = (await tfModel.trainOnBatch(tf.tensor(x, [batch, ...m.input]), tf.tensor(y, [batch, 5]))) as number;
        expect(Math.abs(loss - tfLoss), `step ${step} loss ${loss} vs TF.js ${tfLoss}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(tfLoss)));
      }
      const tfWeights = tfModel.getWeights();
      // Changed by two SGD steps, compared as the train-step parity tests do.
      for (const [i, w] of kiln.weights.entries()) expectClose(w.read(), await tfWeights[i].data(), { rtol: 1e-3, atol: 2e-5 }, `weight '${w.name}'`);
    });
  }
});
