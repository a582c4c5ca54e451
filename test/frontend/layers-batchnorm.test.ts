import { describe, expect, it } from 'vitest';
import { Input, Model, interpretModel, layers } from '../../src/index.js';
import { ModelError, ShapeError } from '../../src/ir/errors.js';
import { expectParity } from '../support/parity.js';
import { tfjs } from '../support/tfjs.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

// One normalization per element in float32: TF.js folds γ/√(var+ε) differently, a few ulps apart.
const tol = { rtol: 1e-5, atol: 1e-5 };
const uniform = (minval: number, maxval: number, seed: number) => ({ className: 'RandomUniform', config: { minval, maxval, seed } });
/** Non-trivial statistics and affine parameters from the start, so inference parity means something. */
const randomStats = { gammaInitializer: uniform(0.5, 2, 1), betaInitializer: uniform(-1, 1, 2), movingMeanInitializer: uniform(-1, 1, 3), movingVarianceInitializer: uniform(0.2, 3, 4) };

describe('BatchNormalization in inference matches TF.js layers (random moving statistics)', () => {
  const cases: [string, Record<string, unknown>, number[]][] = [
    ['axis -1 on images', {}, [4, 3, 3]],
    ['rank 2, epsilon 0.1', { epsilon: 0.1 }, [5]],
    ['center false', { center: false }, [3, 4]],
    ['scale false', { scale: false }, [3, 4]],
    ['center and scale false', { center: false, scale: false }, [2, 2, 3]],
  ];
  for (const [what, cfg, shape] of cases) {
    it(what, () => expectParity({ kiln: () => layers.BatchNormalization({ ...cfg, ...randomStats }), tfjs: (l) => l.batchNormalization(cfg as never), inputShapes: [shape], ...tol }));
  }
  it('axis 1 matches the formula (TF.js CPU batchNorm cycles its parameters as if the axis were last, so it is no oracle here)', () => {
    const bn = layers.BatchNormalization({ axis: 1, ...randomStats });
    const x = Input({ shape: [3, 4, 2] });
    const model = new Model({ inputs: x, outputs: bn(x) });
    const data = randomData(2 * 24, 11);
    const got = Object.values(interpretModel(model, { shape: [2, 3, 4, 2], dtype: 'float32', data }, { precision: 'float32' }).outputs)[0];
    const [g, b, mm, mv] = bn.getWeights();
    const want = Array.from(data, (v, i) => {
      const c = Math.floor(i / 8) % 3;
      return (g[c] * (v - mm[c])) / Math.sqrt(mv[c] + 1e-3) + b[c];
    });
    expectClose(got.data, want, tol, 'axis-1 batch norm');
  });
  it('has the Keras weights: gamma, beta trainable; moving_mean, moving_variance not', () => {
    const bn = layers.BatchNormalization({ name: 'bn_w' });
    bn(Input({ shape: [4, 4, 3] }));
    expect(bn.weights.map((w) => w.name)).toEqual(['bn_w/gamma', 'bn_w/beta', 'bn_w/moving_mean', 'bn_w/moving_variance']);
    expect(bn.trainableWeights.map((w) => w.name)).toEqual(['bn_w/gamma', 'bn_w/beta']);
    expect(bn.countParams()).toBe(12);
  });
});

/** Float64 batch statistics of NHWC data over every axis but the last. */
function batchStats(x: Float32Array, c: number): { mean: number[]; variance: number[]; n: number } {
  const n = x.length / c;
  const mean = Array.from({ length: c }, (_, ch) => x.reduce((s, v, i) => (i % c === ch ? s + v : s), 0) / n);
  const variance = mean.map((m, ch) => x.reduce((s, v, i) => (i % c === ch ? s + (v - m) ** 2 : s), 0) / n);
  return { mean, variance, n };
}

describe('BatchNormalization in training', () => {
  const shape = [4, 3, 3];
  const batch = 2;
  const momentum = 0.9;

  function kilnModel(callArgs?: { training?: boolean }, extra: Record<string, unknown> = {}) {
    const x = Input({ shape });
    const bn = layers.BatchNormalization({ momentum, ...randomStats, ...extra });
    const model = new Model({ inputs: x, outputs: bn(x, callArgs) });
    return { bn, model };
  }
  const data = randomData(batch * 36, 21, -2, 3);
  const feed = { shape: [batch, ...shape], dtype: 'float32' as const, data };

  it('normalizes with the batch statistics like TF.js apply(x, {training: true}), and updates the moving ones as docs/ops.md says', async () => {
    const tf = await tfjs();
    const { bn, model } = kilnModel();
    const before = bn.getWeights();
    const got = interpretModel(model, feed, { training: true, precision: 'float32' });

    const tfLayer = tf.layers.batchNormalization({ momentum });
    tfLayer.apply(tf.input({ shape }));
    tfLayer.setWeights(before.map((v) => tf.tensor1d(v)));
    const want = tfLayer.apply(tf.tensor(data, [batch, ...shape]), { training: true }) as import('@tensorflow/tfjs').Tensor;
    expectClose(Object.values(got.outputs)[0].data, await want.data(), tol, 'training y');

    const graph = model.toGraph();
    expect(graph.updates.map((u) => u.weight)).toEqual([bn.movingMean!.name, bn.movingVariance!.name]);
    expect(bn.updates.map((u) => u.variable)).toEqual([bn.movingMean, bn.movingVariance]);
    const { mean, variance } = batchStats(data, 3);
    const [mm, mv] = [before[2], before[3]];
    const newMean = mean.map((m, c) => mm[c] * momentum + m * (1 - momentum));
    const biased = mv.map((v, c) => v * momentum + variance[c] * (1 - momentum));
    expectClose(got.updates[bn.movingMean!.name].data, newMean, tol, 'new moving mean');
    expectClose(got.updates[bn.movingVariance!.name].data, biased, tol, 'new moving variance (biased, as TF.js)');

    const tfStats = tfLayer.getWeights().slice(2);
    expectClose(await tfStats[0].data(), newMean, tol, 'TF.js moving mean');
    expectClose(await tfStats[1].data(), biased, tol, 'TF.js moving variance');
  });

  it('follows the learning phase when the call leaves training unset', () => {
    const { bn, model } = kilnModel();
    const infer = interpretModel(model, feed, { training: false });
    const train = interpretModel(model, feed, { training: true });
    expect(Array.from(infer.updates[bn.movingMean!.name].data)).toEqual(Array.from(bn.movingMean!.read()));
    expect(Array.from(Object.values(infer.outputs)[0].data)).not.toEqual(Array.from(Object.values(train.outputs)[0].data));
  });

  it('layer(x, {training: true}) trains whatever the learning phase', () => {
    const fixed = interpretModel(kilnModel({ training: true }).model, feed, { training: false });
    const phased = interpretModel(kilnModel().model, feed, { training: true });
    expect(Array.from(Object.values(fixed.outputs)[0].data)).toEqual(Array.from(Object.values(phased.outputs)[0].data));
  });

  it('layer(x, {training: false}) and a frozen layer (trainable = false) run in inference mode and record no updates', () => {
    const inference = interpretModel(kilnModel().model, feed, { training: false });
    const want = Array.from(Object.values(inference.outputs)[0].data);
    for (const { bn, model } of [kilnModel({ training: false }), kilnModel({ training: true }, { trainable: false })]) {
      expect(bn.updates).toEqual([]);
      expect(model.toGraph().updates).toEqual([]);
      expect(Array.from(Object.values(interpretModel(model, feed, { training: true }).outputs)[0].data)).toEqual(want);
    }
    const frozen = kilnModel(undefined, { trainable: false }).bn;
    expect(frozen.trainableWeights).toEqual([]);
    expect(frozen.nonTrainableWeights.map((w) => w.name.split('/').at(-1))).toEqual(['gamma', 'beta', 'moving_mean', 'moving_variance']);
  });
});

describe('BatchNormalization rejects bad definitions where they are written', () => {
  it('an axis out of range, naming the layer and the shape', () => {
    const x = Input({ shape: [4, 4, 3] });
    expect(() => layers.BatchNormalization({ axis: 4, name: 'bn_a' })(x)).toThrow(ShapeError);
    expect(() => layers.BatchNormalization({ axis: 4, name: 'bn_b' })(x)).toThrow("Layer 'bn_b' (BatchNormalization): axis 4 is out of range for input of shape (None, 4, 4, 3) (rank 4)");
    expect(() => layers.BatchNormalization(-5, { name: 'bn_c' })(x)).toThrow(/Layer 'bn_c' \(BatchNormalization\): axis -5 is out of range/);
  });
  it('an unknown channel dim, a second call of another rank or size', () => {
    expect(() => layers.BatchNormalization({ name: 'bn_u' })(Input({ shape: [4, null] }))).toThrow("Layer 'bn_u' (BatchNormalization): axis -1 of the input must be known, got shape (None, 4, None)");
    const bn = layers.BatchNormalization({ name: 'bn_r' });
    bn(Input({ shape: [4, 3] }));
    expect(() => bn(Input({ shape: [4, 4] }))).toThrow(/Layer 'bn_r' \(BatchNormalization\): expected input axis 2 of size 3/);
    expect(() => bn(Input({ shape: [2, 4, 3] }))).toThrow(/Layer 'bn_r' \(BatchNormalization\): expected input of rank 3/);
  });
  it('bad options', () => {
    expect(() => layers.BatchNormalization({ axis: 0.5, name: 'bn_f' })).toThrow(ModelError);
    expect(() => layers.BatchNormalization({ epsilon: 0, name: 'bn_e' })).toThrow("Layer 'bn_e' (BatchNormalization): epsilon must be > 0, got 0");
    expect(() => layers.BatchNormalization({ gammaInitializer: 'nope' })).toThrow(/unknown initializer/);
  });
});

describe('BatchNormalization config', () => {
  it('round-trips through fromConfig and uses the TF.js key names', async () => {
    const tf = await tfjs();
    const bn = layers.BatchNormalization({ axis: 1, momentum: 0.9, epsilon: 1e-5, center: false, gammaRegularizer: 'l2', ...randomStats });
    const config = bn.getConfig();
    expect(layers.BatchNormalization.fromConfig(config).getConfig()).toEqual(config);
    const theirs = tf.layers.batchNormalization({ axis: 1, momentum: 0.9, epsilon: 1e-5, center: false }).getConfig();
    // Constraints are not supported by kiln weights yet; TF.js omits an unset dtype.
    expect(Object.keys(config).filter((k) => k !== 'dtype').sort()).toEqual(Object.keys(theirs).filter((k) => !k.endsWith('Constraint')).sort());
    for (const k of ['axis', 'momentum', 'epsilon', 'center', 'scale', 'betaRegularizer']) expect(config[k], k).toEqual(theirs[k]);
  });
});
