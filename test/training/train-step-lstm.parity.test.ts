/**
 * Training through time: one step of kiln's compiled training (BPTT on the GPU, lavapipe here) gives
 * the same loss and new weights as TF.js trainOnBatch on the same LSTM and GRU models.
 */
import { describe, expect, it } from 'vitest';
import { Input, Model, Sequential, layers, optimizers, clearSession, type SymbolicTensor } from '../../src/index.js';
import { tfjs } from '../support/tfjs.js';
import { randomData, randomInts } from '../support/random.js';
import { expectClose } from '../support/close.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;

const CASES: Record<string, { kiln: () => Model; tf: (tf: Tf) => any; input: number[]; dtype?: 'int32' }> = {
  'LSTM (last step) → Dense softmax': {
    kiln: () => new Sequential([layers.LSTM({ units: 6, inputShape: [5, 4] }), layers.Dense(3, { activation: 'softmax' })]),
    tf: (tf) => tf.sequential({ layers: [tf.layers.lstm({ units: 6, inputShape: [5, 4] }), tf.layers.dense({ units: 3, activation: 'softmax' })] }),
    input: [5, 4],
  },
  'Embedding(maskZero) → GRU sequences → GRU → Dense softmax': {
    kiln: () => {
      const x = Input({ shape: [6], dtype: 'int32' });
      const e = layers.Embedding({ inputDim: 5, outputDim: 3, maskZero: true })(x) as SymbolicTensor;
      const s = layers.GRU({ units: 4, returnSequences: true, recurrentActivation: 'sigmoid' })(e) as SymbolicTensor;
      return new Model({ inputs: x, outputs: layers.Dense(3, { activation: 'softmax' })(layers.GRU({ units: 4, goBackwards: true })(s) as SymbolicTensor) });
    },
    tf: (tf) => {
      const x = tf.input({ shape: [6], dtype: 'int32' });
      const e = tf.layers.embedding({ inputDim: 5, outputDim: 3, maskZero: true }).apply(x);
      const s = tf.layers.gru({ units: 4, returnSequences: true, recurrentActivation: 'sigmoid' }).apply(e);
      return tf.model({ inputs: x, outputs: tf.layers.dense({ units: 3, activation: 'softmax' }).apply(tf.layers.gru({ units: 4, goBackwards: true }).apply(s)) as any });
    },
    input: [6],
    dtype: 'int32',
  },
};

describe('one training step through an RNN gives TF.js trainOnBatch’s loss and weights', () => {
  for (const [what, c] of Object.entries(CASES)) {
    it(`${what}, SGD, two steps`, async () => {
      const tf = await tfjs();
      clearSession();
      const batch = 4;
      const kiln = c.kiln();
      const tfModel = c.tf(tf);
      tfModel.setWeights(kiln.getWeights().map((v, i) => tf.tensor(v, kiln.weights[i].shape as number[])));
      kiln.compile({ optimizer: optimizers.SGD({ learningRate: 0.5 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      tfModel.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      const size = batch * c.input.reduce((a, b) => a * b, 1);
      for (let step = 0; step < 2; step++) {
        const x = c.dtype === 'int32' ? randomInts(size, 5, 3 + step) : randomData(size, 3 + step);
        const labels = randomInts(batch, 3, 9 + step);
        const y = new Float32Array(batch * 3);
        labels.forEach((k, r) => (y[r * 3 + k] = 1));
        const [loss] = await kiln.trainOnBatch(x, y);
        const [tfLoss] = (await tfModel.trainOnBatch(tf.tensor(x, [batch, ...c.input], c.dtype ?? 'float32'), tf.tensor(y, [batch, 3]))) as number[];
        expect(Math.abs(loss - tfLoss), `step ${step} loss ${loss} vs TF.js ${tfLoss}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(tfLoss)));
      }
      const tfWeights = tfModel.getWeights();
      // f32 sums over steps and rows in different orders.
      for (const [i, w] of kiln.weights.entries()) expectClose(w.read(), await tfWeights[i].data(), { rtol: 1e-3, atol: 2e-5 }, `weight '${w.name}'`);
    }, 300_000);
  }
});
