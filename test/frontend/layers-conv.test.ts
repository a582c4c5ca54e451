import { describe, expect, it } from 'vitest';
import { Input, Model, interpretModel, layers, type Layer } from '../../src/index.js';
import { ModelError, ShapeError } from '../../src/ir/errors.js';
import { expectParity } from '../support/parity.js';
import { tfjs } from '../support/tfjs.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

// Float32 interpreter vs TF.js CPU: sums of ≤ 27 products of values in [-1, 1].
const tol = { rtol: 1e-5, atol: 1e-5 };

describe('Conv2D matches TF.js layers with the same weights', () => {
  const cases: [string, Record<string, unknown>, number[]][] = [
    ['same padding', { filters: 4, kernelSize: 3, padding: 'same' }, [6, 6, 3]],
    ['valid padding', { filters: 4, kernelSize: 3, padding: 'valid' }, [6, 6, 3]],
    ['strides 2, same, odd input (asymmetric padding)', { filters: 3, kernelSize: 3, strides: 2, padding: 'same' }, [7, 7, 2]],
    ['strides 2, valid', { filters: 3, kernelSize: 3, strides: 2 }, [7, 6, 2]],
    ['rectangular strides [1, 2], same', { filters: 2, kernelSize: [2, 3], strides: [1, 2], padding: 'same' }, [5, 6, 2]],
    ['dilation 2, valid', { filters: 3, kernelSize: 3, dilationRate: 2 }, [7, 7, 2]],
    ['dilation 2, same', { filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same' }, [6, 5, 2]],
    ['rectangular kernel [2, 3]', { filters: 5, kernelSize: [2, 3] }, [5, 6, 2]],
    ['relu activation', { filters: 4, kernelSize: 3, activation: 'relu', padding: 'same' }, [5, 5, 2]],
    ['tanh, no bias', { filters: 4, kernelSize: [3, 1], activation: 'tanh', useBias: false }, [5, 5, 2]],
  ];
  for (const [what, cfg, shape] of cases) {
    it(what, () => expectParity({ kiln: () => layers.Conv2D(cfg), tfjs: (l) => l.conv2d(cfg as never), inputShapes: [shape], batch: 2, ...tol }));
  }
  it('positional form Conv2D(filters, kernelSize, options)', () =>
    expectParity({ kiln: () => layers.Conv2D(3, [3, 2], { strides: 2, padding: 'same' }), tfjs: (l) => l.conv2d({ filters: 3, kernelSize: [3, 2], strides: 2, padding: 'same' }), inputShapes: [[6, 6, 2]], ...tol }));
});

describe('DepthwiseConv2D matches TF.js layers with the same weights', () => {
  const cases: [string, Record<string, unknown>, number[]][] = [
    ['multiplier 1, valid', { kernelSize: 3 }, [6, 6, 3]],
    ['multiplier 2, same, strides 2', { kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same' }, [7, 7, 3]],
    ['no bias', { kernelSize: 2, useBias: false }, [4, 4, 3]],
  ];
  for (const [what, cfg, shape] of cases) {
    it(what, () => expectParity({ kiln: () => layers.DepthwiseConv2D(cfg), tfjs: (l) => l.depthwiseConv2d(cfg as never), inputShapes: [shape], batch: 2, ...tol }));
  }
  it('with dilation 2 matches tf.depthwiseConv2d (TF.js layers ignore dilationRate in DepthwiseConv2D)', async () => {
    const tf = await tfjs();
    const layer = layers.DepthwiseConv2D([2, 3], { depthMultiplier: 2, dilationRate: 2, activation: 'relu', biasInitializer: { className: 'RandomUniform', config: { seed: 3 } } });
    const x = Input({ shape: [7, 8, 2] });
    const model = new Model({ inputs: x, outputs: layer(x) });
    expect(model.outputs[0].shape).toEqual([null, 5, 4, 4]);
    const data = randomData(2 * 7 * 8 * 2, 5);
    const got = Object.values(interpretModel(model, { shape: [2, 7, 8, 2], dtype: 'float32', data }, { precision: 'float32' }).outputs)[0];
    const [kernel, bias] = layer.getWeights();
    const want = tf.relu(tf.add(tf.depthwiseConv2d(tf.tensor4d(data, [2, 7, 8, 2]), tf.tensor4d(kernel, [2, 3, 2, 2]), 1, 'valid', 'NHWC', 2), tf.tensor1d(bias)));
    expect(got.shape).toEqual(want.shape);
    expectClose(got.data, await want.data(), tol, 'dilated depthwise');
  });
  it('names its kernel depthwise_kernel, shaped [kh, kw, cin, multiplier]', () => {
    const layer = layers.DepthwiseConv2D(3, { depthMultiplier: 2, name: 'dw' });
    expect(layer(Input({ shape: [5, 5, 4] })).shape).toEqual([null, 3, 3, 8]);
    expect(layer.weights.map((w) => [w.name, w.shape])).toEqual([['dw/depthwise_kernel', [3, 3, 4, 2]], ['dw/bias', [8]]]);
  });
});

describe('Conv2D shapes and parameters', () => {
  it('32 filters 3×3 on 28×28×1 have 320 parameters', () => {
    const conv = layers.Conv2D(32, 3);
    expect(conv(Input({ shape: [28, 28, 1] })).shape).toEqual([null, 26, 26, 32]);
    expect(conv.countParams()).toBe(320);
  });
  it('keeps an unknown spatial size unknown under same padding', () => {
    expect(layers.Conv2D(2, 3, { padding: 'same', strides: 2 })(Input({ shape: [null, 9, 3] })).shape).toEqual([null, null, 5, 2]);
  });
});

describe('Conv layers reject bad definitions where they are written', () => {
  it('on a rank-2 tensor, naming the layer and the shape', () => {
    const x = Input({ shape: [32] });
    expect(() => layers.Conv2D(4, 3, { name: 'c1' })(x)).toThrow(ShapeError);
    expect(() => layers.Conv2D(4, 3, { name: 'c2' })(x)).toThrow("Layer 'c2' (Conv2D): expected input of rank 4 (batch, height, width, channels), got shape (None, 32)");
    expect(() => layers.DepthwiseConv2D(3, { name: 'd1' })(x)).toThrow("Layer 'd1' (DepthwiseConv2D): expected input of rank 4");
  });
  it('a kernel larger than the input with valid padding', () => {
    const x = Input({ shape: [2, 5, 1] });
    expect(() => layers.Conv2D(1, 3, { name: 'big' })(x)).toThrow("Layer 'big' (Conv2D): kernel (3, 3) is larger than the input (None, 2, 5, 1) with padding 'valid'");
    expect(() => layers.Conv2D(1, 2, { dilationRate: 2, name: 'dil' })(x)).toThrow(/Layer 'dil' \(Conv2D\): kernel \(2, 2\) \(\(3, 3\) dilated by \(2, 2\)\) is larger than the input \(None, 2, 5, 1\)/);
    expect(layers.Conv2D(1, 3, { padding: 'same' })(x).shape).toEqual([null, 2, 5, 1]);
  });
  it('a second call with other channels', () => {
    const conv = layers.Conv2D(2, 1, { name: 'twice' });
    conv(Input({ shape: [4, 4, 3] }));
    expect(() => conv(Input({ shape: [4, 4, 5] }))).toThrow(/Layer 'twice' \(Conv2D\): expected input axis -1 of size 3/);
  });
  it('strides > 1 together with dilation > 1 (Keras rule)', () => {
    expect(() => layers.Conv2D(1, 3, { strides: 2, dilationRate: 2, name: 'sd' })).toThrow(ModelError);
    expect(() => layers.DepthwiseConv2D(3, { strides: [1, 2], dilationRate: [2, 1], name: 'dsd' })).toThrow(/Layer 'dsd' \(DepthwiseConv2D\): strides > 1 is not supported together with dilationRate > 1/);
  });
  it('channelsFirst, saying kiln compiles NHWC and the loader converts', () => {
    expect(() => layers.Conv2D(1, 3, { dataFormat: 'channelsFirst', name: 'cf' })).toThrow(/Layer 'cf' \(Conv2D\): .*kiln compiles NHWC.*loader converts/);
  });
  it('bad options', () => {
    expect(() => layers.Conv2D(0, 3, { name: 'f0' })).toThrow("Layer 'f0' (Conv2D): filters must be a positive integer, got 0");
    expect(() => layers.Conv2D(2, [3, 0])).toThrow(/kernelSize must be an integer ≥ 1 or a pair/);
    expect(() => layers.Conv2D({ filters: 2 })).toThrow(/kernelSize is required/);
    expect(() => layers.Conv2D(2, 3, { padding: 'causal' as never })).toThrow(/padding must be 'valid' or 'same'/);
    expect(() => layers.Conv2D(2, 3, { activation: 'nope' })).toThrow(/unknown activation 'nope'/);
    expect(() => layers.DepthwiseConv2D(3, { depthMultiplier: 1.5 })).toThrow(/depthMultiplier must be a positive integer/);
  });
});

describe('Conv layer configs', () => {
  it('round-trip through fromConfig', () => {
    const conv = layers.Conv2D(8, [3, 2], { strides: [2, 1], padding: 'same', activation: 'relu', useBias: false, kernelInitializer: 'heNormal', kernelRegularizer: 'l2', name: 'rt' });
    const back = layers.Conv2D.fromConfig(conv.getConfig());
    expect(back.getConfig()).toEqual(conv.getConfig());
    const dw = layers.DepthwiseConv2D({ kernelSize: 3, depthMultiplier: 2, dilationRate: 2, depthwiseRegularizer: { className: 'L1L2', config: { l1: 0.1, l2: 0 } }, name: 'rtd' });
    expect(layers.DepthwiseConv2D.fromConfig(dw.getConfig()).getConfig()).toEqual(dw.getConfig());
  });
  it('use the TF.js key names and values, and rebuild from a TF.js config', async () => {
    const tf = await tfjs();
    const pairs: [() => Layer, () => { getConfig(): Record<string, unknown> }, typeof layers.Conv2D | typeof layers.DepthwiseConv2D][] = [
      [() => layers.Conv2D({ filters: 4, kernelSize: [3, 2], strides: 2, padding: 'same', activation: 'relu' }), () => tf.layers.conv2d({ filters: 4, kernelSize: [3, 2], strides: 2, padding: 'same', activation: 'relu' }), layers.Conv2D],
      [() => layers.DepthwiseConv2D({ kernelSize: 3, depthMultiplier: 2, dilationRate: 2 }), () => tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, dilationRate: 2 }), layers.DepthwiseConv2D],
    ];
    for (const [kiln, ref, Cls] of pairs) {
      const mine = kiln().getConfig();
      const theirs = ref().getConfig();
      // Constraints and activity regularizers are not supported by kiln weights yet; TF.js omits an unset dtype.
      const unsupported = ['activityRegularizer', 'kernelConstraint', 'biasConstraint', 'depthwiseConstraint'];
      expect(Object.keys(mine).filter((k) => k !== 'dtype').sort()).toEqual(Object.keys(theirs).filter((k) => !unsupported.includes(k)).sort());
      for (const k of ['kernelSize', 'strides', 'padding', 'dataFormat', 'dilationRate', 'activation', 'useBias', 'filters', 'depthMultiplier', 'kernelRegularizer', 'biasRegularizer']) {
        expect(mine[k], k).toEqual(theirs[k]);
      }
      const rebuilt = (Cls as typeof layers.Conv2D).fromConfig({ ...theirs, name: `from_tfjs_${Cls.className}` });
      expect(rebuilt(Input({ shape: [9, 9, 2] })).shape).toEqual(kiln()(Input({ shape: [9, 9, 2] })).shape);
    }
  });
});
