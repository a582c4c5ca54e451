/**
 * Conversions for old Keras models: Theano kernels flipped spatially (Keras's convert_all_kernels_in_model),
 * and channels_first models built in kiln's NHWC layout: callers feed NHWC, outputs match Keras's.
 */
import { describe, expect, it } from 'vitest';
import { convertKernels, flipKernel, interpretModel, loadModelFile, modelFromJSON, Sequential, layers } from '../../../src/index.js';
import { tfjs } from '../../support/tfjs.js';
import { randomData } from '../../support/random.js';
import { expectClose } from '../../support/close.js';
import { randomizeTfjs, saveTfjsToFiles, tempDir } from './helpers.js';

describe("convertKernels(model, 'theano')", () => {
  it('flips every convolution kernel over its spatial axes, as Keras convert_kernel', () => {
    const model = new Sequential({ layers: [layers.Conv2D({ filters: 2, kernelSize: [2, 3], inputShape: [5, 5, 2], name: 'c' }), layers.DepthwiseConv2D({ kernelSize: 2, name: 'dw' }), layers.Flatten(), layers.Dense(2, { name: 'd' })] });
    model.weights.forEach((w, i) => w.write(randomData(w.size, 30 + i)));
    const before = model.layers.map((l) => l.getWeights());
    expect(convertKernels(model, 'theano')).toEqual(['c', 'dw']);
    const k0 = before[0][0];
    const k1 = model.getLayer('c').getWeights()[0];
    // kernel [2, 3, 2, 2]: k1[i][j][c][o] = k0[1 - i][2 - j][c][o].
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let c = 0; c < 4; c++) expect(k1[(i * 3 + j) * 4 + c]).toBe(k0[((1 - i) * 3 + (2 - j)) * 4 + c]);
    expect(model.getLayer('c').getWeights()[1]).toEqual(before[0][1]);
    expect(model.getLayer('d').getWeights()).toEqual(before[3]);
    convertKernels(model, 'theano');
    expect(model.layers.map((l) => l.getWeights())).toEqual(before);
  });

  it('flipKernel mirrors a 1-d kernel too', () => {
    expect([...flipKernel(Float32Array.of(1, 2, 3, 4, 5, 6), [3, 1, 2])]).toEqual([5, 6, 3, 4, 1, 2]);
  });
});

/** (b, c, h, w) data → (b, h, w, c). */
function toNhwc(data: Float32Array, [b, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let n = 0; n < b; n++) for (let k = 0; k < c; k++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((n * h + y) * w + x) * c + k] = data[((n * c + k) * h + y) * w + x];
  return out;
}

describe('channels_first models become NHWC', () => {
  for (const flattenFormat of ['channelsFirst', 'channelsLast'] as const) {
    it(`conv, concatenate on axis 1, pooling and a ${flattenFormat} Flatten: NHWC inputs give TF.js's NCHW outputs`, async () => {
      const tf = await tfjs();
      const inp = tf.input({ shape: [2, 6, 5] });
      const c1 = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', dataFormat: 'channelsFirst', activation: 'relu' }).apply(inp) as any;
      const c2 = tf.layers.conv2d({ filters: 2, kernelSize: 1, dataFormat: 'channelsFirst' }).apply(inp) as any;
      const cat = tf.layers.concatenate({ axis: 1 }).apply([c1, c2]) as any;
      const pool = tf.layers.maxPooling2d({ poolSize: 2, dataFormat: 'channelsFirst' }).apply(cat) as any;
      const flat = tf.layers.flatten({ dataFormat: flattenFormat } as any).apply(pool) as any;
      const m = tf.model({ inputs: inp, outputs: tf.layers.dense({ units: 3 }).apply(flat) as any });
      await randomizeTfjs(m, 51);
      const model = await loadModelFile(await saveTfjsToFiles(m, tempDir()));
      expect(model.inputs[0].shape).toEqual([null, 6, 5, 2]);
      expect(model.layers.some((l) => l.getClassName() === 'Permute')).toBe(flattenFormat === 'channelsLast');
      const shape = [2, 2, 6, 5];
      const data = randomData(120, 8);
      const want = await (m.predict(tf.tensor(data, shape)) as any).data();
      const got = Object.values(interpretModel(model, { shape: [2, 6, 5, 2], dtype: 'float32', data: toNhwc(data, shape) }, { precision: 'float32' }).outputs)[0];
      expectClose(got.data, want, { rtol: 1e-4, atol: 1e-5 }, 'output');
    });
  }

  it('a channels_first Sequential (Keras spelling) is converted too', async () => {
    const tf = await tfjs();
    const m = tf.sequential({ layers: [
      tf.layers.conv2d({ filters: 2, kernelSize: 2, dataFormat: 'channelsFirst', inputShape: [3, 4, 4] }),
      tf.layers.globalAveragePooling2d({ dataFormat: 'channelsFirst' }), tf.layers.dense({ units: 2 }),
    ] });
    await randomizeTfjs(m, 9);
    const model = modelFromJSON(m.toJSON(null, true) as string);
    model.layers.forEach((l, i) => l.setWeights(m.layers[i].getWeights().map((w: any) => w.dataSync())));
    const data = randomData(96, 2);
    const want = await (m.predict(tf.tensor(data, [2, 3, 4, 4])) as any).data();
    const got = Object.values(interpretModel(model, { shape: [2, 4, 4, 3], dtype: 'float32', data: toNhwc(data, [2, 3, 4, 4]) }, { precision: 'float32' }).outputs)[0];
    expectClose(got.data, want, { rtol: 1e-4, atol: 1e-5 }, 'output');
  });

  // TF.js 4.22's BatchNormalization over axis 1 applies its statistics along the wrong axis in inference
  // (gamma [1, 2, 3] on ones of shape [1, 3, 2, 2] gives 11, 22, 33, 11, …), so it cannot be the oracle
  // here: the converted model is checked against the same model written channels_last by hand.
  it('BatchNormalization over axis 1 of a channels_first tensor normalizes the channel axis', () => {
    const cf = { class_name: 'Sequential', config: { name: 'cf', layers: [
      { class_name: 'Conv2D', config: { name: 'c', filters: 3, kernel_size: 2, data_format: 'channels_first', batch_input_shape: [null, 2, 4, 4] } },
      { class_name: 'BatchNormalization', config: { name: 'bn', axis: [1], epsilon: 0.001 } },
    ] } };
    const model = modelFromJSON(cf);
    expect(model.inputs[0].shape).toEqual([null, 4, 4, 2]);
    const nhwc = new Sequential({ layers: [layers.Conv2D({ filters: 3, kernelSize: 2, inputShape: [4, 4, 2] }), layers.BatchNormalization({ axis: -1, epsilon: 0.001 })] });
    model.weights.forEach((w, i) => w.write(i === 5 ? randomData(w.size, 70 + i, 0.5, 1.5) : randomData(w.size, 70 + i)));
    nhwc.setWeights(model.getWeights());
    const feed = { shape: [2, 4, 4, 2], dtype: 'float32' as const, data: randomData(64, 3) };
    const got = Object.values(interpretModel(model, feed).outputs)[0];
    const want = Object.values(interpretModel(nhwc, feed).outputs)[0];
    expectClose(got.data, want.data, { rtol: 1e-6, atol: 1e-7 }, 'output');
  });

  it('a layer that reads a channels_first tensor in a way kiln cannot convert is an error naming it', () => {
    const json = { class_name: 'Sequential', config: { name: 's', layers: [
      { class_name: 'Conv2D', config: { name: 'c', filters: 2, kernel_size: 2, data_format: 'channels_first', batch_input_shape: [null, 3, 4, 4] } },
      { class_name: 'Reshape', config: { name: 'r', target_shape: [2, 9] } },
    ] } };
    expect(() => modelFromJSON(json)).toThrow(/layer 'r' \(Reshape\) is fed a channels_first tensor: kiln converts channels_first models to NHWC/);
  });
});
