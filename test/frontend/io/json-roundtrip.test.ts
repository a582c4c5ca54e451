/**
 * kiln's own configs: toJSON → modelFromJSON rebuilds every layer kiln has with the same options, and
 * with the weights copied it computes exactly the same outputs. Keras 2 and Keras 3 call spellings of
 * MultiHeadAttention (the value as a keyword argument) load too.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Input, interpretModel, knownClassNames, layers, loadModelFile, Model, modelFromJSON } from '../../../src/index.js';
import { randomData } from '../../support/random.js';
import { tempDir } from './helpers.js';

function sameOutputs(a: Model, b: Model, feeds: { shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array | Int32Array }[]): void {
  const x = interpretModel(a, feeds).outputs;
  const y = interpretModel(b, feeds).outputs;
  expect(Object.keys(y)).toEqual(Object.keys(x));
  for (const k of Object.keys(x)) expect(y[k].data).toEqual(x[k].data);
}

function randomize(model: Model): void {
  model.weights.forEach((w, i) => w.write(/variance/.test(w.name) ? randomData(w.size, i, 0.5, 1.5) : randomData(w.size, 100 + i)));
}

describe('toJSON / modelFromJSON', () => {
  it('rebuilds a model using every kiln layer class, and .h5 round trips its weights', async () => {
    const seq = Input({ shape: [5], dtype: 'int32', name: 'tokens' });
    let s = layers.Embedding({ inputDim: 9, outputDim: 4, maskZero: true })(seq);
    s = layers.Masking({ maskValue: 0 })(s);
    s = layers.Bidirectional({ layer: layers.LSTM({ units: 3, returnSequences: true }) })(s);
    s = layers.MultiHeadAttention({ numHeads: 2, keyDim: 3 })([s, s]) as typeof s;
    s = layers.LayerNormalization()(s);
    s = layers.TimeDistributed({ layer: layers.Dense(2) })(s);
    s = layers.GRU({ units: 2 })(layers.SimpleRNN({ units: 3, returnSequences: true })(layers.LSTM({ units: 2, returnSequences: true })(s)));

    const img = Input({ shape: [6, 6, 2], name: 'image' });
    let x = layers.ZeroPadding2D(1)(img);
    x = layers.Conv2D({ filters: 3, kernelSize: 3, activation: 'relu' })(x);
    x = layers.BatchNormalization()(x);
    x = layers.DepthwiseConv2D({ kernelSize: 3, padding: 'same' })(x);
    x = layers.MaxPooling2D(2)(x);
    x = layers.AveragePooling2D({ poolSize: 1 })(x);
    const gAvg = layers.GlobalAveragePooling2D()(x);
    const gMax = layers.GlobalMaxPooling2D()(x);
    let f = layers.Flatten()(layers.Permute([2, 1, 3])(x));
    f = layers.Dropout(0.3)(layers.Dense(3, { activation: 'tanh' })(layers.Reshape([-1])(f)));
    const merged = [layers.Add()([gAvg, gMax]), layers.Subtract()([gAvg, gMax]), layers.Multiply()([gAvg, f]), layers.Average()([gAvg, f]), layers.Maximum()([gMax, f]), layers.Minimum()([gMax, f])];
    const out = layers.Activation('softmax')(layers.Concatenate()([...merged, s]));
    const model = new Model({ inputs: [seq, img], outputs: out, name: 'everything' });
    randomize(model);

    const classes = new Set(model.layers.map((l) => l.getClassName()));
    const back = modelFromJSON(model.toJSON());
    expect(back.layers.map((l) => [l.name, l.getClassName()])).toEqual(model.layers.map((l) => [l.name, l.getClassName()]));
    expect(back.layers.map((l) => l.getConfig())).toEqual(model.layers.map((l) => l.getConfig()));
    // Every layer class kiln had when this test was written (Model and Sequential are covered elsewhere).
    const all = ['InputLayer', 'Dense', 'Activation', 'Dropout', 'Flatten', 'Reshape', 'Permute', 'Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum',
      'Concatenate', 'Embedding', 'Conv2D', 'DepthwiseConv2D', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'ZeroPadding2D',
      'BatchNormalization', 'SimpleRNN', 'LSTM', 'GRU', 'Bidirectional', 'TimeDistributed', 'Masking', 'LayerNormalization', 'MultiHeadAttention'];
    expect(all.filter((c) => !classes.has(c)), 'layer classes the model does not use').toEqual([]);
    expect(all.filter((c) => !knownClassNames().includes(c)), 'classes the registry misses').toEqual([]);

    const dir = tempDir();
    await model.save(join(dir, 'm.h5'));
    const loaded = await loadModelFile(join(dir, 'm.h5'));
    const feeds = [
      { shape: [2, 5], dtype: 'int32' as const, data: Int32Array.from([1, 4, 0, 2, 8, 3, 3, 7, 0, 0]) },
      { shape: [2, 6, 6, 2], dtype: 'float32' as const, data: randomData(144, 2) },
    ];
    sameOutputs(model, loaded, feeds);
  });

  it("reads MultiHeadAttention called with the value as a keyword (Keras 2 and Keras 3 spellings)", () => {
    const dense = (name: string) => ({ class_name: 'Dense', name, config: { name, units: 4 }, inbound_nodes: [[['x', 0, 0, {}]]] });
    const mha = { class_name: 'MultiHeadAttention', name: 'mha', config: { name: 'mha', num_heads: 2, key_dim: 2 } };
    const base = (node: unknown) => ({ class_name: 'Functional', config: { name: 'f', layers: [
      { class_name: 'InputLayer', name: 'x', config: { name: 'x', batch_input_shape: [null, 3, 4] }, inbound_nodes: [] },
      dense('q'), dense('v'), { ...mha, inbound_nodes: [node] },
    ], input_layers: [['x', 0, 0]], output_layers: [['mha', 0, 0]] } });
    const k3 = (layer: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 3, 4], dtype: 'float32', keras_history: [layer, 0, 0] } });
    const keras2 = modelFromJSON(base([['q', 0, 0, { value: ['v', 0, 0] }]]));
    const keras3 = modelFromJSON(base({ args: [k3('q')], kwargs: { value: k3('v'), use_causal_mask: true } }));
    const listed = modelFromJSON(base([['q', 0, 0, {}], ['v', 0, 0, {}]]));
    expect(keras2.getLayer('mha').calls[0].inputs.map((t) => t.history!.call.layer.name)).toEqual(['q', 'v']);
    expect(keras3.getLayer('mha').calls[0].args).toEqual({ useCausalMask: true });
    listed.setWeights(keras2.getWeights());
    const feed = { shape: [2, 3, 4], dtype: 'float32' as const, data: randomData(24, 1) };
    expect(Object.values(interpretModel(listed, feed).outputs)[0].data).toEqual(Object.values(interpretModel(keras2, feed).outputs)[0].data);
  });

  it('a Keras 3 Sequential without an InputLayer entry takes its input from build_input_shape', () => {
    const model = modelFromJSON({ module: 'keras', class_name: 'Sequential', config: { name: 's', layers: [{ module: 'keras.layers', class_name: 'Dense', config: { name: 'd', units: 2 }, registered_name: null }], build_input_shape: [null, 3] } });
    expect(model.inputs[0].shape).toEqual([null, 3]);
    expect(model.countParams()).toBe(8);
  });
});
