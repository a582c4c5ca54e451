import { describe, expect, it } from 'vitest';
import { Input, Model, interpretModel, layers, type Layer } from '../../src/index.js';
import { ModelError, ShapeError } from '../../src/ir/errors.js';
import { expectParity } from '../support/parity.js';
import { tfjs } from '../support/tfjs.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;

/** For layers TF.js lacks: kiln's layer through the interpreter against a formula written with tf ops. */
async function expectFormula(layer: Layer, shapes: number[][], formula: (tf: Tf, xs: any[]) => any): Promise<void> {
  const tf = await tfjs();
  const inputs = shapes.map((s) => Input({ shape: s }));
  const model = new Model({ inputs, outputs: layer(inputs) });
  const feeds = shapes.map((s, i) => ({ shape: [3, ...s], dtype: 'float32' as const, data: randomData(3 * s.reduce((a, b) => a * b, 1), 21 + i) }));
  const got = Object.values(interpretModel(model, feeds, { precision: 'float32' }).outputs)[0];
  const want = formula(tf, feeds.map((f) => tf.tensor(f.data, f.shape)));
  expect(got.shape).toEqual(want.shape);
  expectClose(got.data, await want.data(), { rtol: 1e-6, atol: 1e-6 }, layer.getClassName());
}

const elementwise = [
  ['Add', () => layers.Add(), (l: any) => l.add()],
  ['Multiply', () => layers.Multiply(), (l: any) => l.multiply()],
  ['Average', () => layers.Average(), (l: any) => l.average()],
  ['Maximum', () => layers.Maximum(), (l: any) => l.maximum()],
  ['Minimum', () => layers.Minimum(), (l: any) => l.minimum()],
] as const;

describe('elementwise merge layers match TF.js layers', () => {
  describe.each(elementwise)('%s', (_name, kiln, tf) => {
    it('on two inputs of the same shape', () => expectParity({ kiln, tfjs: tf, inputShapes: [[4, 5], [4, 5]] }));
    it('on three inputs', () => expectParity({ kiln, tfjs: tf, inputShapes: [[6], [6], [6]] }));
    it('broadcasting size-1 dims', () => expectParity({ kiln, tfjs: tf, inputShapes: [[4, 1], [1, 5]] }));
    it('on inputs of different ranks (the lower one gets axes after the batch)', () => expectParity({ kiln, tfjs: tf, inputShapes: [[3, 4], [4]] }));
  });
});

describe('Subtract (TF.js 4.22 has no subtract layer: compared with tf.sub)', () => {
  it('on two inputs of the same shape', () => expectFormula(layers.Subtract(), [[4, 5], [4, 5]], (tf, [a, b]) => tf.sub(a, b)));
  it('broadcasting, with a lower-rank second input', () =>
    expectFormula(layers.Subtract(), [[3, 1], [5]], (tf, [a, b]) => tf.sub(a, tf.expandDims(b, 1))));
  it('rejects three inputs, naming the layer and the shapes', () => {
    const xs = [Input({ shape: [4] }), Input({ shape: [4] }), Input({ shape: [4] })];
    expect(() => layers.Subtract({ name: 'sub3' })(xs)).toThrow(ModelError);
    expect(() => layers.Subtract({ name: 'sub3' })(xs)).toThrow(/Layer 'sub3' \(Subtract\): expects exactly 2 inputs, got 3: \(None, 4\), \(None, 4\) and \(None, 4\)/);
  });
});

describe('Concatenate matches TF.js layers', () => {
  it('along the last axis (default)', () =>
    expectParity({ kiln: () => layers.Concatenate(), tfjs: (l) => l.concatenate(), inputShapes: [[3, 4], [3, 2]] }));
  it('along axis 1 of three inputs (positional axis)', () =>
    expectParity({ kiln: () => layers.Concatenate(1), tfjs: (l) => l.concatenate({ axis: 1 }), inputShapes: [[2, 4], [3, 4], [1, 4]] }));
  // TF.js 4.22 runs every negative axis as -1 (backend/tfjs_backend.js `concatenate`), so its predict
  // fails for axis -2; TF.js gets the equivalent positive axis.
  it('along a negative middle axis', () =>
    expectParity({ kiln: () => layers.Concatenate({ axis: -2 }), tfjs: (l) => l.concatenate({ axis: 1 }), inputShapes: [[3, 4], [5, 4]] }));
  it('along a negative middle axis of rank-4 inputs', () =>
    expectParity({ kiln: () => layers.Concatenate({ axis: -2 }), tfjs: (l) => l.concatenate({ axis: 2 }), inputShapes: [[2, 3, 4], [2, 5, 4]] }));
  it('rejects mismatched dims off the axis, naming the layer and both shapes', () => {
    const xs = [Input({ shape: [3, 4] }), Input({ shape: [5, 2] })];
    expect(() => layers.Concatenate({ name: 'cat' })(xs)).toThrow(ShapeError);
    expect(() => layers.Concatenate({ name: 'cat' })(xs)).toThrow(/Layer 'cat' \(Concatenate\).*\(None, 3, 4\) and \(None, 5, 2\)/);
  });
  it('rejects different ranks and an out-of-range axis', () => {
    expect(() => layers.Concatenate({ name: 'cr' })([Input({ shape: [3, 4] }), Input({ shape: [4] })])).toThrow(/'cr'.*\(None, 3, 4\) and \(None, 4\)/);
    expect(() => layers.Concatenate({ axis: 3, name: 'ca' })([Input({ shape: [4] }), Input({ shape: [4] })])).toThrow(/'ca'.*axis 3/);
  });
  it('accepts unknown dims off the axis', () => {
    expect(layers.Concatenate()([Input({ shape: [null, 4] }), Input({ shape: [3, 2] })]).shape).toEqual([null, 3, 6]);
  });
});

describe('merge layers: definition-time checks', () => {
  it('Add of (None, 32) and (None, 16) names the layer and both shapes', () => {
    const xs = [Input({ shape: [32] }), Input({ shape: [16] })];
    expect(() => layers.Add({ name: 'add' })(xs)).toThrow(ShapeError);
    expect(() => layers.Add({ name: 'add' })(xs)).toThrow("Layer 'add' (Add): inputs have incompatible shapes (None, 32) and (None, 16)");
  });
  it.each(elementwise.map(([n, k]) => [n, k] as const))('%s rejects incompatible shapes, one input, and a single tensor', (_n, kiln) => {
    expect(() => kiln()([Input({ shape: [3, 4] }), Input({ shape: [4, 3] })])).toThrow(/\(None, 3, 4\) and \(None, 4, 3\)/);
    expect(() => kiln()([Input({ shape: [4] })])).toThrow(/at least 2 inputs, got 1/);
    expect(() => kiln()(Input({ shape: [4] }))).toThrow(/list/);
  });
  it('rejects different known batch sizes', () => {
    expect(() => layers.Add({ name: 'ab' })([Input({ batchShape: [2, 4] }), Input({ batchShape: [3, 4] })])).toThrow(/'ab'.*batch sizes.*\(2, 4\) and \(3, 4\)/);
  });
  it('a shared merge layer checks every call', () => {
    const add = layers.Add({ name: 'shared_add' });
    add([Input({ shape: [4] }), Input({ shape: [4] })]);
    expect(() => add([Input({ shape: [4] }), Input({ shape: [5] })])).toThrow(/'shared_add'.*\(None, 4\) and \(None, 5\)/);
  });
});

describe('merge layers: config', () => {
  const all = [
    ...elementwise.map(([n, k, t]) => [n, k, t] as const),
    ['Subtract', () => layers.Subtract({ name: 'sub_cfg', trainable: false }), null] as const,
    ['Concatenate', () => layers.Concatenate({ axis: 1, name: 'cat_cfg' }), (l: any) => l.concatenate({ axis: 1 })] as const,
  ];
  it.each(all)('%s: fromConfig(getConfig()) round-trips, keys cover TF.js', async (_n, kiln, tf) => {
    const layer = kiln();
    const Cls = layer.constructor as typeof layers.Add;
    expect(Cls.fromConfig(layer.getConfig()).getConfig()).toEqual(layer.getConfig());
    if (tf) expect(Object.keys(layer.getConfig())).toEqual(expect.arrayContaining(Object.keys(tf((await tfjs()).layers).getConfig())));
  });
  it('Concatenate records its axis (default -1)', () => {
    expect(layers.Concatenate().getConfig().axis).toBe(-1);
    expect(layers.Concatenate(2).getConfig().axis).toBe(2);
  });
});
