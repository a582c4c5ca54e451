import { describe, expect, it } from 'vitest';
import { Input, Model, Sequential, interpretModel, layers } from '../../src/index.js';
import { InputError, ModelError, ShapeError } from '../../src/ir/errors.js';
import { expectParity } from '../support/parity.js';
import { tfjs } from '../support/tfjs.js';
import { randomData, randomInts } from '../support/random.js';

const l2 = { className: 'L1L2', config: { l1: 0, l2: 0.01 } };
const ints = (n: number) => (size: number, seed: number) => randomInts(size, n, seed);

describe('Embedding matches TF.js layers with the same weights', () => {
  it('on int32 indices (positional inputDim, outputDim)', () =>
    expectParity({ kiln: () => layers.Embedding(10, 4), tfjs: (l) => l.embedding({ inputDim: 10, outputDim: 4 }), inputShapes: [[5]], dtype: 'int32', data: ints(10) }));
  it('on float indices, cast to int32 by truncation as Keras does', () =>
    expectParity({
      kiln: () => layers.Embedding({ inputDim: 7, outputDim: 3 }),
      tfjs: (l) => l.embedding({ inputDim: 7, outputDim: 3 }),
      inputShapes: [[6]],
      data: (size, seed) => randomData(size, seed, 0, 7),
    }));
  it('on rank-3 indices', () =>
    expectParity({ kiln: () => layers.Embedding(12, 5), tfjs: (l) => l.embedding({ inputDim: 12, outputDim: 5 }), inputShapes: [[2, 3]], dtype: 'int32', data: ints(12) }));
  it('with inputLength and maskZero (values are unchanged by the mask)', () =>
    expectParity({
      kiln: () => layers.Embedding(6, 2, { inputLength: 4, maskZero: true }),
      tfjs: (l) => l.embedding({ inputDim: 6, outputDim: 2, inputLength: 4, maskZero: true }),
      inputShapes: [[4]],
      dtype: 'int32',
      data: ints(6),
    }));
  it('with an explicit initializer and regularizer', () =>
    expectParity({
      kiln: () => layers.Embedding({ inputDim: 9, outputDim: 3, embeddingsInitializer: 'glorotUniform', embeddingsRegularizer: l2 }),
      tfjs: (l) => l.embedding({ inputDim: 9, outputDim: 3, embeddingsInitializer: 'glorotUniform', embeddingsRegularizer: l2 as never }),
      inputShapes: [[3]],
      dtype: 'int32',
      data: ints(9),
    }));
});

describe('Embedding: shapes, weights, errors', () => {
  it("has one weight 'embeddings' of shape [inputDim, outputDim], uniform in [-0.05, 0.05] by default", () => {
    const e = layers.Embedding(50, 8, { name: 'emb' });
    e(Input({ shape: [3], dtype: 'int32' }));
    expect(e.weights.map((w) => w.name)).toEqual(['emb/embeddings']);
    expect(e.weights[0].shape).toEqual([50, 8]);
    const v = e.getWeights()[0];
    expect(Math.max(...v)).toBeLessThanOrEqual(0.05);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(-0.05);
    expect(new Set(v).size).toBeGreaterThan(300);
  });
  it('inputLength fills unknown sample dims, as Keras states the output shape', () => {
    expect(layers.Embedding(5, 3, { inputLength: 6 })(Input({ shape: [null], dtype: 'int32' })).shape).toEqual([null, 6, 3]);
    expect(layers.Embedding(5, 3, { inputLength: [2, 4] })(Input({ shape: [2, null], dtype: 'int32' })).shape).toEqual([null, 2, 4, 3]);
    expect(layers.Embedding(5, 3)(Input({ shape: [null], dtype: 'int32' })).shape).toEqual([null, null, 3]);
  });
  it('gives a Sequential its input shape (inputLength,) or (None,), as Keras', () => {
    expect(new Sequential([layers.Embedding(5, 3, { inputLength: 7 })]).outputs[0].shape).toEqual([null, 7, 3]);
    expect(layers.Embedding(5, 3).getConfig().batchInputShape).toEqual([null, null]);
  });
  it('rejects an input that contradicts inputLength, naming the layer and the shape', () => {
    const x = Input({ shape: [5], dtype: 'int32' });
    expect(() => layers.Embedding(5, 3, { inputLength: 6, name: 'emb_len' })(x)).toThrow(ShapeError);
    expect(() => layers.Embedding(5, 3, { inputLength: 6, name: 'emb_len' })(x)).toThrow(/Layer 'emb_len' \(Embedding\).*6.*\(None, 5\)/);
  });
  it('rejects bad options at definition time', () => {
    expect(() => layers.Embedding(0, 3, { name: 'e0' })).toThrow(/'e0'.*inputDim/);
    expect(() => layers.Embedding({ inputDim: 4, name: 'e1' })).toThrow(ModelError);
    expect(() => layers.Embedding(4, 2.5)).toThrow(/outputDim/);
    expect(() => layers.Embedding(4, 2, { embeddingsConstraint: 'nonNeg' })).toThrow(/not supported/);
  });
  it('an index out of range is an InputError at run time', () => {
    const x = Input({ shape: [2], dtype: 'int32' });
    const model = new Model({ inputs: x, outputs: layers.Embedding(3, 2)(x) });
    expect(() => interpretModel(model, { shape: [1, 2], dtype: 'int32', data: Int32Array.from([0, 3]) })).toThrow(InputError);
  });
});

describe('Embedding: config', () => {
  it('fromConfig(getConfig()) round-trips and its keys cover TF.js', async () => {
    const e = layers.Embedding(10, 4, { maskZero: true, inputLength: 3, embeddingsRegularizer: { className: 'L1L2', config: { l1: 0, l2: 0.01 } } });
    const config = e.getConfig();
    expect(layers.Embedding.fromConfig(config).getConfig()).toEqual(config);
    expect(config).toMatchObject({
      inputDim: 10, outputDim: 4, maskZero: true, inputLength: 3, batchInputShape: [null, 3],
      embeddingsInitializer: { className: 'RandomUniform', config: { minval: -0.05, maxval: 0.05 } },
    });
    const tf = await tfjs();
    expect(Object.keys(config)).toEqual(expect.arrayContaining(Object.keys(tf.layers.embedding({ inputDim: 10, outputDim: 4 }).getConfig())));
  });
});
