/**
 * The gradient as the GPU computes it, checked against finite differences of the float64 interpreter:
 * each model's loss is differentiated (autodiff), fused and compiled like a training step, but its
 * gradients are outputs; every compared element is (L(w+h) − L(w−h)) / 2h on the interpreter.
 */
import { describe, it } from 'vitest';
import { expectGpuGradientsMatchFiniteDifferences } from '../support/gpu-gradients.js';
import { Input, Model, Sequential, layers, clearSession } from '../../src/index.js';

const BATCH = 3;
const MODELS: Record<string, () => Model> = {
  'dense, relu, softmax': () => new Sequential([layers.Dense(6, { activation: 'relu', inputShape: [5] }), layers.Dense(4, { activation: 'softmax' })]),
  'conv, max pool, dense': () => new Sequential([layers.Conv2D(3, 3, { padding: 'same', activation: 'tanh', inputShape: [6, 6, 2] }), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(4, { activation: 'softmax' })]),
  'depthwise, average pool': () => new Sequential([layers.DepthwiseConv2D(3, { depthMultiplier: 2, inputShape: [5, 5, 2] }), layers.AveragePooling2D(2, { padding: 'same' }), layers.Flatten(), layers.Dense(4, { activation: 'softmax' })]),
  'batch norm (training statistics)': () => new Sequential([layers.Dense(6, { inputShape: [5] }), layers.BatchNormalization(), layers.Activation('swish'), layers.Dense(4, { activation: 'softmax' })]),
  'embedding, concatenate': () => {
    const ids = Input({ shape: [3], dtype: 'int32' });
    const dense = Input({ shape: [2] });
    const e = layers.Flatten()(layers.Embedding(7, 2)(ids));
    return new Model({ inputs: [ids, dense], outputs: layers.Dense(4, { activation: 'softmax' })(layers.Concatenate()([e, dense])) });
  },
};

describe('GPU gradients match finite differences of the interpreter', () => {
  for (const [what, make] of Object.entries(MODELS)) {
    it(what, async () => {
      clearSession();
      await expectGpuGradientsMatchFiniteDifferences(make(), { batch: BATCH });
    });
  }
});
