import { describe, expect, it } from 'vitest';
import { Input, layers } from '../../src/index.js';
import { ModelError, ShapeError } from '../../src/ir/errors.js';
import { expectParity } from '../support/parity.js';
import { tfjs } from '../support/tfjs.js';

describe('Flatten matches TF.js layers', () => {
  it('on rank-3 input', () => expectParity({ kiln: () => layers.Flatten(), tfjs: (l) => l.flatten(), inputShapes: [[4, 5]] }));
  it('on NHWC images, with dataFormat channelsLast', () =>
    expectParity({ kiln: () => layers.Flatten({ dataFormat: 'channelsLast' }), tfjs: (l) => l.flatten({ dataFormat: 'channelsLast' }), inputShapes: [[3, 4, 2]] }));
  it('keeps a rank-2 input and gives a rank-1 input a unit axis, as Keras (TF.js rejects rank < 3)', () => {
    expect(layers.Flatten()(Input({ shape: [6] })).shape).toEqual([null, 6]);
    expect(layers.Flatten()(Input({ batchShape: [4] })).shape).toEqual([4, 1]);
  });
  it('rejects an input with an unknown non-batch dim, naming the layer and the shape', () => {
    const x = Input({ shape: [null, 5] });
    expect(() => layers.Flatten({ name: 'flat' })(x)).toThrow(ShapeError);
    expect(() => layers.Flatten({ name: 'flat' })(x)).toThrow(/Layer 'flat' \(Flatten\).*\(None, None, 5\)/);
  });
  it('rejects channelsFirst at definition time', () => {
    expect(() => layers.Flatten({ dataFormat: 'channelsFirst', name: 'f1' })).toThrow(ModelError);
    expect(() => layers.Flatten({ dataFormat: 'channelsFirst', name: 'f1' })).toThrow(/'f1'.*channelsLast/);
  });
});

describe('Reshape matches TF.js layers', () => {
  it('to an explicit target shape', () =>
    expectParity({ kiln: () => layers.Reshape({ targetShape: [3, 4] }), tfjs: (l) => l.reshape({ targetShape: [3, 4] }), inputShapes: [[2, 6]] }));
  // TF.js 4.22 leaves the -1 as null in the static shape whenever the batch is unknown (it checks the
  // batch too); Keras resolves it from the sample dims, as kiln does. So TF.js gets the resolved shape.
  it('with one -1 inferred (positional Keras-style argument)', () =>
    expectParity({ kiln: () => layers.Reshape([2, -1, 3]), tfjs: (l) => l.reshape({ targetShape: [2, 2, 3] }), inputShapes: [[12]] }));
  it('infers the static shape with -1 as Keras does', () => {
    expect(layers.Reshape([-1, 2])(Input({ shape: [3, 4] })).shape).toEqual([null, 6, 2]);
    expect(layers.Reshape([-1, 2])(Input({ batchShape: [5, null, 4] })).shape).toEqual([5, null, 2]);
    // Deviation: the IR reshape takes one -1, so an unknown batch plus an unknown sample dim cannot be resolved.
    expect(() => layers.Reshape([-1, 2], { name: 'rs_u' })(Input({ shape: [null, 4] }))).toThrow(/'rs_u'.*\(None, None, 4\).*\(-1, 2\)/);
    expect(layers.Reshape([2, 3])(Input({ shape: [null, 3] })).shape).toEqual([null, 2, 3]);
  });
  it('rejects a size mismatch, naming the layer and both shapes', () => {
    const x = Input({ shape: [2, 3] });
    expect(() => layers.Reshape([4, 2], { name: 'rs' })(x)).toThrow(ShapeError);
    expect(() => layers.Reshape([4, 2], { name: 'rs' })(x)).toThrow(/Layer 'rs' \(Reshape\).*\(None, 2, 3\).*\(4, 2\)/);
    expect(() => layers.Reshape([4, -1], { name: 'rs2' })(x)).toThrow(/Layer 'rs2' \(Reshape\).*\(None, 2, 3\).*\(4, -1\)/);
  });
  it('rejects a bad targetShape at definition time', () => {
    expect(() => layers.Reshape([-1, -1], { name: 'two_holes' })).toThrow(/'two_holes'.*one -1/);
    expect(() => layers.Reshape([0, 3])).toThrow(ModelError);
  });
});

describe('Permute matches TF.js layers', () => {
  it('swapping two axes', () => expectParity({ kiln: () => layers.Permute([2, 1]), tfjs: (l) => l.permute({ dims: [2, 1] }), inputShapes: [[3, 5]] }));
  it('rotating three axes', () =>
    expectParity({ kiln: () => layers.Permute({ dims: [3, 1, 2] }), tfjs: (l) => l.permute({ dims: [3, 1, 2] }), inputShapes: [[2, 3, 4]] }));
  it('rejects dims that are not a 1-based permutation, and inputs of the wrong rank', () => {
    expect(() => layers.Permute([0, 1], { name: 'p0' })).toThrow(/'p0'.*permutation/);
    expect(() => layers.Permute([1, 1])).toThrow(ModelError);
    expect(() => layers.Permute([2, 1], { name: 'p2' })(Input({ shape: [2, 3, 4] }))).toThrow(/Layer 'p2' \(Permute\).*\(None, 2, 3, 4\)/);
  });
});

describe('shape layers: config', () => {
  const cases = [
    { make: () => layers.Flatten({ name: 'fl' }), tf: (l: any) => l.flatten({ dataFormat: 'channelsLast' }) },
    { make: () => layers.Reshape([2, -1], { name: 'rs', inputShape: [6] }), tf: (l: any) => l.reshape({ targetShape: [2, -1], inputShape: [6] }) },
    { make: () => layers.Permute([2, 1], { trainable: false }), tf: (l: any) => l.permute({ dims: [2, 1] }) },
  ];
  it.each(cases.map((c) => [c.make().getClassName(), c] as const))('%s: fromConfig(getConfig()) round-trips, keys cover TF.js', async (_n, c) => {
    const layer = c.make();
    const Cls = layer.constructor as typeof layers.Flatten;
    expect(Cls.fromConfig(layer.getConfig()).getConfig()).toEqual(layer.getConfig());
    const tf = await tfjs();
    expect(Object.keys(layer.getConfig())).toEqual(expect.arrayContaining(Object.keys(c.tf(tf.layers).getConfig())));
  });
});
