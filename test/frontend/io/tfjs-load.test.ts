/**
 * Models built and saved by TF.js layers itself load into kiln and compute the same outputs (reference
 * interpreter, random inputs); kiln → TF.js → kiln round trips keep every weight bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadModelFile, Sequential, layers, Input, Model, interpretModel } from '../../../src/index.js';
import { tfjs } from '../../support/tfjs.js';
import { randomData } from '../../support/random.js';
import { expectSameOutputs, loadTfjsFromFiles, randomizeTfjs, saveTfjsToFiles, tempDir } from './helpers.js';

describe('TF.js layers models saved by TF.js load into kiln', () => {
  it('the bench MLP (Sequential, dense + dropout) gives TF.js outputs', async () => {
    const tf = await tfjs();
    const m = tf.sequential({ layers: [
      tf.layers.dense({ units: 512, activation: 'relu', inputShape: [784] }), tf.layers.dropout({ rate: 0.2 }),
      tf.layers.dense({ units: 512, activation: 'relu' }), tf.layers.dropout({ rate: 0.2 }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ] });
    await randomizeTfjs(m);
    const model = await loadModelFile(await saveTfjsToFiles(m, tempDir()));
    expect(model.getClassName()).toBe('Sequential');
    expect(model.countParams()).toBe(m.countParams());
    await expectSameOutputs(model, m, [[784]], { rtol: 1e-4, atol: 1e-6 });
  });

  it('the bench CNN (conv, max pool, flatten, dense) gives TF.js outputs', async () => {
    const tf = await tfjs();
    const m = tf.sequential({ layers: [
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 10, activation: 'softmax' }),
    ] });
    await randomizeTfjs(m);
    const model = await loadModelFile(await saveTfjsToFiles(m, tempDir()));
    expect(model.layers.map((l) => l.getClassName())).toEqual(['Conv2D', 'MaxPooling2D', 'Flatten', 'Dense']);
    await expectSameOutputs(model, m, [[28, 28, 1]], { rtol: 1e-4, atol: 1e-6 });
  });

  it('a functional model with a layer shared by three calls and a nested Sequential with batch norm', async () => {
    const tf = await tfjs();
    const inp = tf.input({ shape: [4] });
    const shared = tf.layers.dense({ units: 4, activation: 'tanh' });
    const a = shared.apply(shared.apply(inp) as any);
    const b = shared.apply(tf.layers.dense({ units: 4 }).apply(inp) as any);
    const inner: any = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] }), tf.layers.batchNormalization()] });
    const out = inner.apply(tf.layers.add().apply([a as any, b as any]));
    const m = tf.model({ inputs: inp, outputs: out as any });
    await randomizeTfjs(m);
    const model = await loadModelFile(await saveTfjsToFiles(m, tempDir()));
    const sharedName = (shared as any).name;
    expect(model.getLayer(sharedName).calls.length).toBe(3);
    expect(model.countParams()).toBe(m.countParams());
    await expectSameOutputs(model, m, [[4]]);
  });

  it('a nested functional model called twice, two inputs and two outputs', async () => {
    const tf = await tfjs();
    const ii = tf.input({ shape: [5] });
    const block = tf.model({ inputs: ii, outputs: tf.layers.dense({ units: 5, activation: 'relu' }).apply(tf.layers.dense({ units: 6 }).apply(ii)) as any });
    const x1 = tf.input({ shape: [5] });
    const x2 = tf.input({ shape: [5] });
    const y1 = block.apply(x1) as any;
    const y2 = block.apply(x2) as any;
    const cat = tf.layers.concatenate().apply([y1, y2]) as any;
    const m = tf.model({ inputs: [x1, x2], outputs: [tf.layers.dense({ units: 2 }).apply(cat) as any, tf.layers.multiply().apply([y1, y2]) as any] });
    await randomizeTfjs(m);
    const model = await loadModelFile(await saveTfjsToFiles(m, tempDir()));
    expect(model.inputs.length).toBe(2);
    expect(model.outputs.length).toBe(2);
    await expectSameOutputs(model, m, [[5], [5]]);
  });
});

describe('loading twice', () => {
  it('the same file loads twice in one process (kiln numbers the second variables, matching goes by layer)', async () => {
    const tf = await tfjs();
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], name: 'only' })] });
    await randomizeTfjs(m);
    const path = await saveTfjsToFiles(m, tempDir());
    const first = await loadModelFile(path);
    const second = await loadModelFile(path);
    expect(second.weights.map((w) => w.name)).not.toEqual(first.weights.map((w) => w.name));
    expect(second.getWeights()).toEqual(first.getWeights());
    await expectSameOutputs(second, m, [[2]]);
  });
});

describe('kiln → TF.js → kiln', () => {
  it('keeps every weight bit-exact, and TF.js computes what kiln computes', async () => {
    const inp = Input({ shape: [6, 6, 2] });
    let x = layers.Conv2D({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' })(inp);
    x = layers.BatchNormalization()(x);
    const skip = layers.DepthwiseConv2D({ kernelSize: 3, padding: 'same' })(x);
    x = layers.Add()([x, skip]);
    x = layers.AveragePooling2D({ poolSize: 2 })(x);
    x = layers.Flatten()(x);
    const out = layers.Dense(4, { activation: 'softmax' })(x);
    const model = new Model({ inputs: inp, outputs: out });
    model.weights.forEach((w, i) => w.write(randomData(w.size, 90 + i, 0.1, 0.9)));
    const dir = tempDir();
    await model.save(join(dir, 'model.json'));

    const tfModel = await loadTfjsFromFiles(join(dir, 'model.json'));
    await expectSameOutputs(model, tfModel, [[6, 6, 2]]);
    const dir2 = tempDir();
    const path2 = await saveTfjsToFiles(tfModel, dir2);
    const back = await loadModelFile(path2);
    expect(back.weights.length).toBe(model.weights.length);
    back.weights.forEach((w, i) => {
      const a = new Uint32Array(w.read().buffer);
      const b = new Uint32Array(model.weights[i].read().buffer);
      expect(a, w.name).toEqual(b);
    });
    const feed = { shape: [2, 6, 6, 2], dtype: 'float32' as const, data: randomData(144, 5) };
    expect(Object.values(interpretModel(back, feed).outputs)[0].data).toEqual(Object.values(interpretModel(model, feed).outputs)[0].data);
  });

  const kilnModels: Record<string, () => Model> = {
    'the bench MLP': () => new Sequential({ layers: [layers.Dense(512, { activation: 'relu', inputShape: [784] }), layers.Dropout(0.2), layers.Dense(512, { activation: 'relu' }), layers.Dropout(0.2), layers.Dense(10, { activation: 'softmax' })] }),
    'the bench CNN': () => new Sequential({ layers: [layers.Conv2D({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }), layers.MaxPooling2D({ poolSize: 2 }), layers.Flatten(), layers.Dense(10, { activation: 'softmax' })] }),
    'a functional model with a shared layer and a nested Sequential': () => {
      const x = Input({ shape: [4] });
      const shared = layers.Dense(4, { activation: 'tanh' });
      const inner = new Sequential({ layers: [layers.Dense(3, { inputShape: [4] }), layers.BatchNormalization()] });
      const y = inner.apply(layers.Add()([shared(shared(x)), shared(layers.Dense(4)(x))])) as ReturnType<typeof Input>;
      return new Model({ inputs: x, outputs: layers.Dense(2)(y) });
    },
  };
  for (const [what, build] of Object.entries(kilnModels)) {
    it(`${what}: weights bit-exact after kiln → TF.js → kiln, outputs equal`, async () => {
      const model = build();
      model.weights.forEach((w, i) => w.write(randomData(w.size, 300 + i, -0.2, 0.2)));
      const dir = tempDir();
      await model.save(join(dir, 'model.json'));
      const tfModel = await loadTfjsFromFiles(join(dir, 'model.json'));
      const back = await loadModelFile(await saveTfjsToFiles(tfModel, tempDir()));
      expect(back.getClassName()).toBe(model.getClassName());
      const bitsOf = (m: Model) => m.layers.flatMap((l) => l.weights).map((w) => [...new Uint32Array(w.read().buffer)]);
      expect(bitsOf(back)).toEqual(bitsOf(model));
      const shape = model.inputs[0].shape.slice(1) as number[];
      await expectSameOutputs(back, tfModel, [shape]);
    });
  }

  it('a Sequential round trip keeps its class, names and weights', async () => {
    const model = new Sequential({ name: 'seq', layers: [layers.Dense(5, { inputShape: [3], activation: 'relu', name: 'd1' }), layers.Dense(2, { name: 'd2' })] });
    model.weights.forEach((w, i) => w.write(randomData(w.size, 7 + i)));
    const dir = tempDir();
    await model.save(join(dir, 'model.json'));
    const tfModel = await loadTfjsFromFiles(join(dir, 'model.json'));
    expect(tfModel.layers.map((l: any) => l.name)).toEqual(['d1', 'd2']);
    const back = await loadModelFile(await saveTfjsToFiles(tfModel, tempDir()));
    expect(back.getClassName()).toBe('Sequential');
    back.weights.forEach((w, i) => expect(new Uint32Array(w.read().buffer)).toEqual(new Uint32Array(model.weights[i].read().buffer)));
  });
});
