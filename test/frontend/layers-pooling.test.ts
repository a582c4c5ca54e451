import { describe, expect, it } from 'vitest';
import { Input, Model, interpretModel, layers } from '../../src/index.js';
import { ShapeError } from '../../src/ir/errors.js';
import { expectParity } from '../support/parity.js';
import { tfjs } from '../support/tfjs.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

// Max is exact; averages of ≤ 9 float32 values differ from TF.js only by summation order.
const tol = { rtol: 1e-6, atol: 1e-6 };

describe('MaxPooling2D and AveragePooling2D match TF.js layers', () => {
  const cases: [string, Record<string, unknown>, number[]][] = [
    ['default pool 2, strides = pool', {}, [6, 6, 3]],
    ['valid, odd input (the last row and column dropped)', { poolSize: 2 }, [5, 7, 2]],
    ['same, strides 2, odd input (padded edge windows)', { poolSize: 3, strides: 2, padding: 'same' }, [5, 5, 2]],
    ['same, strides 1 (overlapping, padded on both sides)', { poolSize: 3, strides: 1, padding: 'same' }, [4, 5, 2]],
    ['valid, rectangular pool [3, 2], strides [2, 1]', { poolSize: [3, 2], strides: [2, 1] }, [7, 5, 2]],
  ];
  for (const [what, cfg, shape] of cases) {
    it(`max: ${what}`, () => expectParity({ kiln: () => layers.MaxPooling2D(cfg), tfjs: (l) => l.maxPooling2d(cfg as never), inputShapes: [shape], batch: 2, ...tol }));
    it(`average: ${what}`, () => expectParity({ kiln: () => layers.AveragePooling2D(cfg), tfjs: (l) => l.averagePooling2d(cfg as never), inputShapes: [shape], batch: 2, ...tol }));
  }
  it('positional form MaxPooling2D(poolSize, options)', () =>
    expectParity({ kiln: () => layers.MaxPooling2D([2, 3], { strides: 1 }), tfjs: (l) => l.maxPooling2d({ poolSize: [2, 3], strides: 1 }), inputShapes: [[4, 4, 1]], ...tol }));
});

describe('global poolings match TF.js layers', () => {
  it('GlobalAveragePooling2D', () =>
    expectParity({ kiln: () => layers.GlobalAveragePooling2D(), tfjs: (l) => l.globalAveragePooling2d({}), inputShapes: [[4, 5, 3]], batch: 2, ...tol }));
  it('GlobalMaxPooling2D', () => expectParity({ kiln: () => layers.GlobalMaxPooling2D(), tfjs: (l) => l.globalMaxPooling2d({}), inputShapes: [[4, 5, 3]], batch: 2, ...tol }));
  for (const Cls of [layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D]) {
    it(`${Cls.className} keepdims: (batch, 1, 1, c) holding the same values`, () => {
      const x = Input({ shape: [3, 4, 5] });
      const model = new Model({ inputs: x, outputs: [Cls({ keepdims: true })(x), Cls()(x)] });
      expect(model.outputs.map((t) => t.shape)).toEqual([[null, 1, 1, 5], [null, 5]]);
      const out = Object.values(interpretModel(model, { shape: [2, 3, 4, 5], dtype: 'float32', data: randomData(120, 4) }).outputs);
      expect(out[0].shape).toEqual([2, 1, 1, 5]);
      expect(Array.from(out[0].data)).toEqual(Array.from(out[1].data));
    });
  }
});

describe('pooling layers reject bad definitions where they are written', () => {
  it('on a rank-3 tensor, naming the layer and the shape', () => {
    const x = Input({ shape: [4, 4] });
    expect(() => layers.MaxPooling2D({ name: 'mp' })(x)).toThrow(ShapeError);
    expect(() => layers.AveragePooling2D({ name: 'ap' })(x)).toThrow("Layer 'ap' (AveragePooling2D): expected input of rank 4 (batch, height, width, channels), got shape (None, 4, 4)");
    expect(() => layers.GlobalMaxPooling2D({ name: 'gmp' })(x)).toThrow("Layer 'gmp' (GlobalMaxPooling2D): expected input of rank 4 (batch, height, width, channels), got shape (None, 4, 4)");
  });
  it('a window larger than the input with valid padding', () => {
    expect(() => layers.MaxPooling2D(3, { name: 'big' })(Input({ shape: [2, 4, 1] }))).toThrow("Layer 'big' (MaxPooling2D): pool window (3, 3) is larger than the input (None, 2, 4, 1) with padding 'valid'");
    expect(layers.MaxPooling2D(3, { padding: 'same' })(Input({ shape: [2, 4, 1] })).shape).toEqual([null, 1, 2, 1]);
  });
  it('bad options, channelsFirst', () => {
    expect(() => layers.MaxPooling2D({ poolSize: 0, name: 'p0' })).toThrow("Layer 'p0' (MaxPooling2D): poolSize must be an integer ≥ 1 or a pair [height, width] of them, got 0");
    expect(() => layers.AveragePooling2D({ strides: [1, 2, 3] })).toThrow(/strides must be an integer ≥ 1 or a pair/);
    expect(() => layers.AveragePooling2D({ padding: 'full' as never })).toThrow(/padding must be 'valid' or 'same'/);
    expect(() => layers.GlobalAveragePooling2D({ dataFormat: 'channelsFirst', name: 'gcf' })).toThrow(/Layer 'gcf' \(GlobalAveragePooling2D\): .*kiln compiles NHWC/);
  });
});

describe('pooling configs', () => {
  it('round-trip through fromConfig', () => {
    const all = [
      [layers.MaxPooling2D, layers.MaxPooling2D({ poolSize: [3, 2], strides: [1, 2], padding: 'same' })],
      [layers.AveragePooling2D, layers.AveragePooling2D(3)],
      [layers.GlobalAveragePooling2D, layers.GlobalAveragePooling2D({ keepdims: true })],
      [layers.GlobalMaxPooling2D, layers.GlobalMaxPooling2D()],
    ] as const;
    for (const [Cls, layer] of all) expect((Cls as typeof layers.MaxPooling2D).fromConfig(layer.getConfig()).getConfig()).toEqual(layer.getConfig());
  });
  it('use the TF.js key names and values (strides default to poolSize)', async () => {
    const tf = await tfjs();
    const mine = layers.MaxPooling2D({ poolSize: [3, 2], padding: 'same' }).getConfig();
    const theirs = tf.layers.maxPooling2d({ poolSize: [3, 2], padding: 'same' }).getConfig();
    const { dtype, ...rest } = mine;
    expect(dtype).toBe('float32');
    expect(rest).toEqual({ ...theirs, name: mine.name });
    const g = layers.GlobalAveragePooling2D().getConfig();
    // keepdims is the Keras 2.6+ option TF.js lacks.
    expect(Object.keys(g).filter((k) => k !== 'dtype' && k !== 'keepdims').sort()).toEqual(Object.keys(tf.layers.globalAveragePooling2d({}).getConfig()).sort());
  });
});
