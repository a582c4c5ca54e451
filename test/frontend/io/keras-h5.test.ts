/**
 * Keras HDF5 files, written by a Keras-compatible writer (keras-writer.ts): weights load with the right
 * names and shapes, a legacy full-model .h5 and a Keras 3 .keras archive load and compute what TF.js
 * computes with the same weights; kiln's own Keras HDF5 output reads back bit-exact.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelFile, modelFromJSON, Sequential, layers } from '../../../src/index.js';
import { tfjs } from '../../support/tfjs.js';
import { randomData } from '../../support/random.js';
import { kerasArchive, kerasModelH5, kerasWeightsH5, kerasWeightsOf } from './keras-writer.js';
import { expectSameOutputs, randomizeTfjs, tempDir } from './helpers.js';

async function tfCnn() {
  const tf = await tfjs();
  const m = tf.sequential({ layers: [
    tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 2], name: 'conv' }),
    tf.layers.batchNormalization({ name: 'bn' }),
    tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }), tf.layers.flatten({ name: 'flat' }),
    tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }),
  ] });
  await randomizeTfjs(m, 17);
  return m;
}

describe('Keras 2 HDF5 weights (layer_names / weight_names)', () => {
  it('load into a model built from its to_json config, with the right names and shapes', async () => {
    const m = await tfCnn();
    const dir = tempDir();
    writeFileSync(join(dir, 'w.h5'), await kerasWeightsH5(kerasWeightsOf(m)));
    writeFileSync(join(dir, 'model.json'), m.toJSON(null, true) as string);
    const model = await loadModelFile(join(dir, 'model.json'), { weights: join(dir, 'w.h5') });
    expect(model.layers.flatMap((l) => l.weights).map((w) => [w.name.replace(/_\d+$/, ''), w.shape])).toEqual([
      ['conv/kernel', [3, 3, 2, 4]], ['conv/bias', [4]], ['bn/gamma', [4]], ['bn/beta', [4]], ['bn/moving_mean', [4]], ['bn/moving_variance', [4]], ['out/kernel', [36, 3]], ['out/bias', [3]],
    ]);
    model.layers.forEach((l, i) => l.weights.forEach((w, k) => expect(w.read()).toEqual(m.layers[i].weights[k].read().dataSync())));
    await expectSameOutputs(model, m, [[8, 8, 2]]);
  });

  it('loadWeights reads them into an existing kiln model, and kiln writes the same layout back bit-exact', async () => {
    const model = new Sequential({ layers: [layers.Dense(4, { inputShape: [3], name: 'a' }), layers.Dense(2, { name: 'b' })] });
    const weights = [{ layer: 'a', weights: [{ name: 'a/kernel:0', shape: [3, 4], value: randomData(12, 1) }, { name: 'a/bias:0', shape: [4], value: randomData(4, 2) }] },
      { layer: 'b', weights: [{ name: 'b/kernel:0', shape: [4, 2], value: randomData(8, 3) }, { name: 'b/bias:0', shape: [2], value: randomData(2, 4) }] }];
    const dir = tempDir();
    writeFileSync(join(dir, 'w.h5'), await kerasWeightsH5(weights));
    await model.loadWeights(join(dir, 'w.h5'));
    expect(model.getWeights()).toEqual(weights.flatMap((l) => l.weights.map((w) => w.value)));
    await model.saveWeights(join(dir, 'back.h5'));
    const again = new Sequential({ layers: [layers.Dense(4, { inputShape: [3], name: 'a' }), layers.Dense(2, { name: 'b' })] });
    await again.loadWeights(join(dir, 'back.h5'));
    again.weights.forEach((w, i) => expect(new Uint32Array(w.read().buffer)).toEqual(new Uint32Array(model.weights[i].read().buffer)));
    await expect(model.saveWeights(join(dir, 'back.h5'))).rejects.toThrow(/back\.h5: already exists; pass \{ overwrite: true \}/);
  });

  it("a weightless layer's weight_names may be an empty float array, as h5py writes np.asarray([])", async () => {
    const h5wasm = (await import('h5wasm')).default;
    const mod: any = await h5wasm.ready;
    const f = new h5wasm.File('/empty-names.h5', 'w');
    f.create_attribute('layer_names', ['flat', 'a'], [2], 'S4');
    f.create_group('flat').create_attribute('weight_names', new Float64Array(0), [0], '<d');
    const g = f.create_group('a');
    g.create_attribute('weight_names', ['a/kernel:0', 'a/bias:0'], [2], 'S10');
    g.create_group('a').create_dataset({ name: 'kernel:0', data: randomData(6, 1), shape: [2, 3], dtype: '<f' });
    (g.get('a') as any).create_dataset({ name: 'bias:0', data: randomData(3, 2), shape: [3], dtype: '<f' });
    f.close();
    const dir = tempDir();
    writeFileSync(join(dir, 'w.h5'), mod.FS.readFile('/empty-names.h5'));
    const model = new Sequential({ layers: [layers.Flatten({ inputShape: [2], name: 'flat' }), layers.Dense(3, { name: 'a' })] });
    await model.loadWeights(join(dir, 'w.h5'));
    expect(model.getWeights()).toEqual([randomData(6, 1), randomData(3, 2)]);
  });

  it('a weight of the wrong shape is an error naming the file, the layer and both shapes', async () => {
    const model = new Sequential({ layers: [layers.Dense(4, { inputShape: [3], name: 'a' })] });
    const dir = tempDir();
    writeFileSync(join(dir, 'w.h5'), await kerasWeightsH5([{ layer: 'a', weights: [{ name: 'a/kernel:0', shape: [4, 4], value: randomData(16, 1) }, { name: 'a/bias:0', shape: [4], value: randomData(4, 2) }] }]));
    await expect(model.loadWeights(join(dir, 'w.h5'))).rejects.toThrow(/w\.h5: the weights do not fit model .*\n.*'a\/kernel:0' has shape \(4, 4\) in the file, but layer 'a' \(Dense\) expects kernel of shape \(3, 4\)/);
  });
});

describe('whole Keras models', () => {
  it('a legacy .h5 full model (model_config + model_weights) loads and runs', async () => {
    const m = await tfCnn();
    const dir = tempDir();
    writeFileSync(join(dir, 'm.h5'), await kerasModelH5(JSON.parse(m.toJSON(null, true) as string), kerasWeightsOf(m)));
    const model = await loadModelFile(join(dir, 'm.h5'));
    await expectSameOutputs(model, m, [[8, 8, 2]]);
  });

  it('kiln writes a legacy .h5 full model that reads back with the same outputs', async () => {
    const m = await tfCnn();
    const model = modelFromJSON(m.toJSON(null, true) as string);
    model.setWeights(m.getWeights().map((w: any) => w.dataSync()));
    const dir = tempDir();
    await model.save(join(dir, 'm.h5'));
    await expectSameOutputs(await loadModelFile(join(dir, 'm.h5')), m, [[8, 8, 2]]);
  });

  it('a Keras 3 .keras archive (functional, Keras 3 config spelling, class-named weight paths) loads and runs', async () => {
    const tf = await tfjs();
    const inp = tf.input({ shape: [5], name: 'x' });
    const h = tf.layers.dense({ units: 6, activation: 'relu', name: 'hidden' }).apply(inp) as any;
    const h2 = tf.layers.dense({ units: 6, activation: 'tanh', name: 'hidden2' }).apply(h) as any;
    const out = tf.layers.dense({ units: 2, name: 'head' }).apply(tf.layers.add({ name: 'sum' }).apply([h, h2]) as any) as any;
    const m = tf.model({ inputs: inp, outputs: out });
    await randomizeTfjs(m, 23);
    const k3tensor = (layer: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 6], dtype: 'float32', keras_history: [layer, 0, 0] } });
    const dtype = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
    const init = (cls: string) => ({ module: 'keras.initializers', class_name: cls, config: cls === 'Zeros' ? {} : { seed: null }, registered_name: null });
    const dense = (name: string, units: number, activation: string, from: string) => ({
      module: 'keras.layers', class_name: 'Dense', name,
      config: { name, trainable: true, dtype, units, activation, use_bias: true, kernel_initializer: init('GlorotUniform'), bias_initializer: init('Zeros'), kernel_regularizer: null, bias_regularizer: null, kernel_constraint: null, bias_constraint: null },
      registered_name: null, build_config: { input_shape: [null, 5] },
      inbound_nodes: [{ args: [from === 'x' ? { class_name: '__keras_tensor__', config: { shape: [null, 5], dtype: 'float32', keras_history: ['x', 0, 0] } } : k3tensor(from)], kwargs: {} }],
    });
    const config = {
      module: 'keras', class_name: 'Functional', registered_name: 'Functional',
      config: {
        name: 'functional', trainable: true,
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', name: 'x', config: { batch_shape: [null, 5], dtype: 'float32', sparse: false, name: 'x' }, registered_name: null, inbound_nodes: [] },
          dense('hidden', 6, 'relu', 'x'), dense('hidden2', 6, 'tanh', 'hidden'),
          { module: 'keras.layers', class_name: 'Add', name: 'sum', config: { name: 'sum', trainable: true, dtype }, registered_name: null, inbound_nodes: [{ args: [[k3tensor('hidden'), k3tensor('hidden2')]], kwargs: {} }] },
          dense('head', 2, 'linear', 'sum'),
        ],
        input_layers: [['x', 0, 0]], output_layers: [['head', 0, 0]],
      },
    };
    const w = (i: number) => ({ shape: m.weights[i].shape as number[], value: m.weights[i].read().dataSync() as Float32Array });
    // Keras 3 names weight paths by class, numbered in layer order: hidden → dense, hidden2 → dense_1, head → dense_2.
    const bytes = await kerasArchive(config, { 'layers/dense': [w(0), w(1)], 'layers/dense_1': [w(2), w(3)], 'layers/dense_2': [w(4), w(5)] });
    const dir = tempDir();
    writeFileSync(join(dir, 'm.keras'), bytes);
    const model = await loadModelFile(join(dir, 'm.keras'));
    expect(model.layers.map((l) => l.name)).toEqual(['x', 'hidden', 'hidden2', 'sum', 'head']);
    await expectSameOutputs(model, m, [[5]]);
  });

  it('a .keras archive with a nested Sequential: its weights sit under layers/sequential/layers/…', async () => {
    const tf = await tfjs();
    const inp = tf.input({ shape: [4], name: 'inp' });
    const inner = tf.sequential({ name: 'block', layers: [tf.layers.dense({ units: 3, inputShape: [4], name: 'in_dense' }), tf.layers.batchNormalization({ name: 'in_bn' })] });
    const a = tf.layers.dense({ units: 4, activation: 'relu', name: 'first' }).apply(inp) as any;
    const out = tf.layers.dense({ units: 2, name: 'last' }).apply(inner.apply(a) as any) as any;
    const m = tf.model({ inputs: inp, outputs: out });
    await randomizeTfjs(m, 29);
    const w = (layer: any) => layer.weights.map((v: any) => ({ shape: v.shape, value: v.read().dataSync() }));
    // Keras 3 paths: outer layers in config order (inp → input_layer, first → dense, block → sequential, last → dense_1).
    const bytes = await kerasArchive(JSON.parse(m.toJSON(null, true) as string), {
      'layers/dense': w(m.getLayer('first')), 'layers/dense_1': w(m.getLayer('last')),
      'layers/sequential/layers/dense': w(inner.getLayer('in_dense')), 'layers/sequential/layers/batch_normalization': w(inner.getLayer('in_bn')),
    });
    const dir = tempDir();
    writeFileSync(join(dir, 'nested.keras'), bytes);
    const model = await loadModelFile(join(dir, 'nested.keras'));
    await expectSameOutputs(model, m, [[4]]);
  });
});
