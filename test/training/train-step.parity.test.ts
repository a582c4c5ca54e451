import { describe, expect, it } from 'vitest';
import { Sequential, layers, optimizers, clearSession, type Model } from '../../src/index.js';
import { tfjs } from '../support/tfjs.js';
import { randomData, randomInts } from '../support/random.js';
import { expectClose } from '../support/close.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;

/** The same small models in kiln and TF.js layers (no dropout: the two draw different masks). */
const MODELS: Record<string, { kiln: () => Model; tf: (tf: Tf) => any; input: number[] }> = {
  mlp: {
    kiln: () => new Sequential([layers.Dense(12, { activation: 'relu', inputShape: [8] }), layers.Dense(5, { activation: 'softmax' })]),
    tf: (tf) => tf.sequential({ layers: [tf.layers.dense({ units: 12, activation: 'relu', inputShape: [8] }), tf.layers.dense({ units: 5, activation: 'softmax' })] }),
    input: [8],
  },
  cnn: {
    kiln: () => new Sequential([layers.Conv2D(4, 3, { activation: 'relu', inputShape: [6, 6, 2] }), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(5, { activation: 'softmax' })]),
    tf: (tf) => tf.sequential({ layers: [tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [6, 6, 2] }), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 5, activation: 'softmax' })] }),
    input: [6, 6, 2],
  },
  bn: {
    kiln: () => new Sequential([layers.Dense(6, { inputShape: [8] }), layers.BatchNormalization(), layers.Activation('relu'), layers.Dense(5, { activation: 'softmax' })]),
    tf: (tf) => tf.sequential({ layers: [tf.layers.dense({ units: 6, inputShape: [8] }), tf.layers.batchNormalization(), tf.layers.activation({ activation: 'relu' }), tf.layers.dense({ units: 5, activation: 'softmax' })] }),
    input: [8],
  },
};

const OPTIMIZERS: Record<string, { kiln: () => unknown; tf: (tf: Tf) => any }> = {
  sgd: { kiln: () => optimizers.SGD({ learningRate: 0.1 }), tf: (tf) => tf.train.sgd(0.1) },
  momentum: { kiln: () => optimizers.SGD({ learningRate: 0.1, momentum: 0.9 }), tf: (tf) => tf.train.momentum(0.1, 0.9) },
  adam: { kiln: () => optimizers.Adam({ learningRate: 0.01, epsilon: 1e-7 }), tf: (tf) => tf.train.adam(0.01, 0.9, 0.999, 1e-7) },
};

describe('one training step on the GPU gives TF.js trainOnBatch’s weights', () => {
  for (const [modelName, m] of Object.entries(MODELS)) {
    for (const optName of modelName === 'mlp' ? Object.keys(OPTIMIZERS) : ['sgd']) {
      it(`${modelName} with ${optName}, categorical cross-entropy, two steps`, async () => {
        const tf = await tfjs();
        clearSession();
        const batch = 6;
        const kiln = m.kiln();
        const tfModel = m.tf(tf);
        tfModel.setWeights(kiln.getWeights().map((v, i) => tf.tensor(v, kiln.weights[i].shape as number[])));
        kiln.compile({ optimizer: OPTIMIZERS[optName].kiln() as never, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
        tfModel.compile({ optimizer: OPTIMIZERS[optName].tf(tf), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
        const size = batch * m.input.reduce((a, b) => a * b, 1);
        for (let step = 0; step < 2; step++) {
          const x = randomData(size, 3 + step);
          const labels = randomInts(batch, 5, 9 + step);
          const y = new Float32Array(batch * 5);
          labels.forEach((c, r) => (y[r * 5 + c] = 1));
          const [loss] = await kiln.trainOnBatch(x, y);
          const [tfLoss] = (await tfModel.trainOnBatch(tf.tensor(x, [batch, ...m.input]), tf.tensor(y, [batch, 5]))) as number[];
          expect(Math.abs(loss - tfLoss), `step ${step} loss ${loss} vs TF.js ${tfLoss}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(tfLoss)));
        }
        const tfWeights = tfModel.getWeights();
        for (const [i, w] of kiln.weights.entries()) expectClose(w.read(), await tfWeights[i].data(), { rtol: 1e-3, atol: 2e-5 }, `weight '${w.name}'`);
      });
    }
  }
});
