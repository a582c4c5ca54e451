import { describe, expect, it } from 'vitest';
import { Input, layers } from '../../src/index.js';
import { ModelError, ShapeError } from '../../src/ir/errors.js';
import { expectParity } from '../support/parity.js';
import { tfjs } from '../support/tfjs.js';

// Padding copies values: exact.
const exact = { rtol: 0, atol: 0 };

describe('ZeroPadding2D matches TF.js layers', () => {
  it('default: 1 on every side', () => expectParity({ kiln: () => layers.ZeroPadding2D(), tfjs: (l) => l.zeroPadding2d({}), inputShapes: [[3, 4, 2]], ...exact }));
  it('n on every side', () => expectParity({ kiln: () => layers.ZeroPadding2D(2), tfjs: (l) => l.zeroPadding2d({ padding: 2 }), inputShapes: [[3, 4, 2]], ...exact }));
  it('[h, w], symmetric per axis', () =>
    expectParity({ kiln: () => layers.ZeroPadding2D([1, 3]), tfjs: (l) => l.zeroPadding2d({ padding: [1, 3] }), inputShapes: [[3, 4, 2]], ...exact }));
  it('[[top, bottom], [left, right]], as a config object', () =>
    expectParity({ kiln: () => layers.ZeroPadding2D({ padding: [[0, 2], [3, 1]] }), tfjs: (l) => l.zeroPadding2d({ padding: [[0, 2], [3, 1]] }), inputShapes: [[3, 4, 2]], ...exact }));
  it('keeps an unknown spatial size unknown', () => {
    expect(layers.ZeroPadding2D([[1, 0], [2, 2]])(Input({ shape: [null, 5, 3] })).shape).toEqual([null, null, 9, 3]);
  });
});

describe('ZeroPadding2D rejects bad definitions where they are written', () => {
  it('on a rank-3 tensor, naming the layer and the shape', () => {
    expect(() => layers.ZeroPadding2D({ name: 'zp' })(Input({ shape: [4, 4] }))).toThrow(ShapeError);
    expect(() => layers.ZeroPadding2D({ name: 'zp2' })(Input({ shape: [4, 4] }))).toThrow("Layer 'zp2' (ZeroPadding2D): expected input of rank 4 (batch, height, width, channels), got shape (None, 4, 4)");
  });
  it('negative, fractional or malformed padding', () => {
    expect(() => layers.ZeroPadding2D(-1, { name: 'neg' })).toThrow("Layer 'neg' (ZeroPadding2D): padding must be an integer ≥ 0 or a pair [height, width] of them, got -1");
    expect(() => layers.ZeroPadding2D([1.5, 1])).toThrow(ModelError);
    expect(() => layers.ZeroPadding2D([[1, 2], [3]] as never)).toThrow(/padding\[1\] \(\[left, right\]\) must be/);
    expect(() => layers.ZeroPadding2D([[1, 2], 3] as never)).toThrow(/padding must be an integer, \[height, width\] or \[\[top, bottom\], \[left, right\]\]/);
    expect(() => layers.ZeroPadding2D({ padding: 1, dataFormat: 'channels_first' })).toThrow(/kiln compiles NHWC/);
  });
});

describe('ZeroPadding2D config', () => {
  it('round-trips through fromConfig, in the TF.js form', async () => {
    const tf = await tfjs();
    const layer = layers.ZeroPadding2D([1, 2]);
    const config = layer.getConfig();
    expect(config.padding).toEqual([[1, 1], [2, 2]]);
    expect(layers.ZeroPadding2D.fromConfig(config).getConfig()).toEqual(config);
    const { dtype, ...rest } = config;
    expect(dtype).toBe('float32');
    expect(rest).toEqual({ ...tf.layers.zeroPadding2d({ padding: [1, 2] }).getConfig(), name: config.name });
  });
});
