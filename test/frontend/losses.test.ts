/**
 * Losses through the reference interpreter against TF.js (CPU backend): `tf.losses` where it has the
 * loss, else a compiled TF.js layers model (identity output) evaluated with that loss string.
 */
import { describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { Input, layers, losses, Sequential } from '../../src/index.js';
import { interpret, ModelError, validate, type DType } from '../../src/ir/index.js';
import { traceGraph } from '../../src/frontend/trace.js';
import type { SymbolicTensor } from '../../src/frontend/symbolic.js';
import { regularizerPenalty } from '../../src/frontend/regularizers.js';
import { tfjs } from '../support/tfjs.js';
import { randomData, randomInts } from '../support/random.js';
import { expectClose } from '../support/close.js';

/** float64 kiln vs float32 TF.js. */
const TOL = { rtol: 2e-5, atol: 1e-6 };
const N = 6;
const C = 5;

/** A concrete batch: shape (batch first), dtype, values. */
export interface Batch { shape: number[]; dtype?: DType; data: ArrayLike<number> }

/** Traces fn on inputs shaped like the batches (batch dim unknown) and runs it on the interpreter. */
export function evalSym(fn: (t: SymbolicTensor, p: SymbolicTensor) => SymbolicTensor, yTrue: Batch, yPred: Batch): number {
  const t = Input({ batchShape: [null, ...yTrue.shape.slice(1)], dtype: yTrue.dtype ?? 'float32' });
  const p = Input({ batchShape: [null, ...yPred.shape.slice(1)] });
  const out = fn(t, p);
  expect(out.shape).toEqual([]);
  const { graph } = traceGraph({ inputs: [t, p], outputs: [{ name: 'out', tensor: out }], model: 'loss' });
  validate(graph);
  const feed = (b: Batch) => ({ shape: b.shape, dtype: b.dtype ?? 'float32', data: b.dtype === 'int32' ? Int32Array.from(b.data) : Float64Array.from(b.data) });
  return interpret(graph, { [t.name]: feed(yTrue), [p.name]: feed(yPred) }, { precision: 'float64' }).outputs.out.data[0];
}

/** Row-wise softmax of random logits: probabilities in (0, 1). */
export function softmaxRows(logits: ArrayLike<number>, c: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length / c; r++) {
    const row = Array.from({ length: c }, (_, j) => logits[r * c + j]);
    const m = Math.max(...row);
    const e = row.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b);
    e.forEach((v, j) => (out[r * c + j] = v / s));
  }
  return out;
}

/** One-hot rows from class ids. */
export function oneHotRows(ids: ArrayLike<number>, c: number): Float32Array {
  const out = new Float32Array(ids.length * c);
  for (let i = 0; i < ids.length; i++) out[i * c + ids[i]] = 1;
  return out;
}

/** TF.js's value of a compiled loss (and metrics) on an identity model: evaluate(x = yPred, y = yTrue). */
export async function tfjsCompiled(loss: string, yTrue: Batch, yPred: Batch, metrics: string[] = []): Promise<number[]> {
  const tf = await tfjs();
  const model = tf.sequential({ layers: [tf.layers.activation({ activation: 'linear', inputShape: yPred.shape.slice(1) })] });
  model.compile({ optimizer: 'sgd', loss, metrics });
  const r = model.evaluate(tf.tensor(Float32Array.from(yPred.data), yPred.shape), tf.tensor(Float32Array.from(yTrue.data), yTrue.shape), { batchSize: yPred.shape[0] });
  return (Array.isArray(r) ? r : [r]).map((s) => s.dataSync()[0]);
}

const withTf = async (f: (tf: typeof TF) => TF.Tensor) => {
  const tf = await tfjs();
  return tf.tidy(() => f(tf)).dataSync()[0];
};

const logits = randomData(N * C, 11, -3, 3);
const probs = softmaxRows(logits, C);
const ids = randomInts(N, C, 12);
const onehot = oneHotRows(ids, C);
const y2 = (data: ArrayLike<number>, c = C): Batch => ({ shape: [data.length / c, c], data });

describe('crossentropy losses vs TF.js', () => {
  it('categoricalCrossentropy on probabilities (and unnormalized scores, renormalized as Keras does)', async () => {
    expectClose([evalSym(losses.categoricalCrossentropy, y2(onehot), y2(probs))], await tfjsCompiled('categoricalCrossentropy', y2(onehot), y2(probs)), TOL);
    const scores = randomData(N * C, 13, 0.05, 1);
    expectClose([evalSym(losses.categoricalCrossentropy(), y2(onehot), y2(scores))], await tfjsCompiled('categoricalCrossentropy', y2(onehot), y2(scores)), TOL);
  });
  it('categoricalCrossentropy fromLogits, with and without label smoothing, vs tf.losses.softmaxCrossEntropy', async () => {
    for (const ls of [0, 0.1]) {
      const want = await withTf((tf) => tf.losses.softmaxCrossEntropy(tf.tensor(onehot, [N, C]), tf.tensor(logits, [N, C]), undefined, ls));
      expectClose([evalSym(losses.categoricalCrossentropy({ fromLogits: true, labelSmoothing: ls }), y2(onehot), y2(logits))], [want], TOL);
    }
  });
  it('categoricalCrossentropy label smoothing on probabilities = smoothed targets', async () => {
    const smoothed = onehot.map((y) => y * 0.8 + 0.2 / C);
    expectClose([evalSym(losses.categoricalCrossentropy({ labelSmoothing: 0.2 }), y2(onehot), y2(probs))], await tfjsCompiled('categoricalCrossentropy', y2(smoothed), y2(probs)), TOL);
  });
  it('fromLogits both ways: logits with fromLogits = softmax(logits) without', () => {
    const a = evalSym(losses.categoricalCrossentropy({ fromLogits: true }), y2(onehot), y2(logits));
    expectClose([a], [evalSym(losses.categoricalCrossentropy({ fromLogits: false }), y2(onehot), y2(probs))], { rtol: 1e-9, atol: 1e-12 });
    const z = randomData(N * 3, 14, -4, 4);
    const t = Float32Array.from(randomData(N * 3, 15, 0, 1), (v) => (v > 0.5 ? 1 : 0));
    const sig = Float64Array.from(z, (v) => 1 / (1 + Math.exp(-v)));
    expectClose([evalSym(losses.binaryCrossentropy({ fromLogits: true }), y2(t, 3), y2(z, 3))], [evalSym(losses.binaryCrossentropy(), y2(t, 3), y2(sig, 3))], { rtol: 1e-6, atol: 1e-9 });
  });
  it('categoricalCrossentropy over a time axis ([batch, T, classes]): mean over batch and time', async () => {
    const T = 3;
    const lg = randomData(N * T * C, 16, -2, 2);
    const tr = oneHotRows(randomInts(N * T, C, 17), C);
    const p = softmaxRows(lg, C);
    expectClose([evalSym(losses.categoricalCrossentropy, { shape: [N, T, C], data: tr }, { shape: [N, T, C], data: p })],
      await tfjsCompiled('categoricalCrossentropy', { shape: [N, T, C], data: tr }, { shape: [N, T, C], data: p }), TOL);
  });
  it('sparseCategoricalCrossentropy with int32 [batch] and float [batch, 1] labels', async () => {
    const want = await tfjsCompiled('sparseCategoricalCrossentropy', { shape: [N, 1], data: ids }, y2(probs));
    expectClose([evalSym(losses.sparseCategoricalCrossentropy, { shape: [N], dtype: 'int32', data: ids }, y2(probs))], want, TOL);
    expectClose([evalSym(losses.sparseCategoricalCrossentropy(), { shape: [N, 1], data: Float32Array.from(ids) }, y2(probs))], want, TOL);
  });
  it('sparseCategoricalCrossentropy fromLogits vs tf.losses.softmaxCrossEntropy on one-hot labels', async () => {
    const want = await withTf((tf) => tf.losses.softmaxCrossEntropy(tf.tensor(onehot, [N, C]), tf.tensor(logits, [N, C])));
    expectClose([evalSym(losses.sparseCategoricalCrossentropy({ fromLogits: true }), { shape: [N], dtype: 'int32', data: ids }, y2(logits))], [want], TOL);
  });
  it('binaryCrossentropy on probabilities, fromLogits and label smoothing', async () => {
    const t = Float32Array.from(randomData(N * 3, 18, 0, 1), (v) => (v > 0.5 ? 1 : 0));
    const p = randomData(N * 3, 19, 0.02, 0.98);
    expectClose([evalSym(losses.binaryCrossentropy, y2(t, 3), y2(p, 3))], await tfjsCompiled('binaryCrossentropy', y2(t, 3), y2(p, 3)), TOL);
    const z = randomData(N * 3, 20, -4, 4);
    for (const ls of [0, 0.2]) {
      const want = await withTf((tf) => tf.losses.sigmoidCrossEntropy(tf.tensor(t, [N, 3]), tf.tensor(z, [N, 3]), undefined, ls));
      expectClose([evalSym(losses.binaryCrossentropy({ fromLogits: true, labelSmoothing: ls }), y2(t, 3), y2(z, 3))], [want], TOL);
    }
  });
});

describe('regression and other losses vs TF.js', () => {
  const a = randomData(N * 4, 21, -1, 1);
  const b = randomData(N * 4, 22, -2, 2);
  const pos = randomData(N * 4, 23, 0.05, 1);
  const pos2 = randomData(N * 4, 24, 0.05, 1);
  it.each([
    ['meanSquaredError', losses.meanSquaredError, a, b],
    ['meanAbsoluteError', losses.meanAbsoluteError, a, b],
    ['meanAbsolutePercentageError', losses.meanAbsolutePercentageError, a, b],
    ['meanSquaredLogarithmicError', losses.meanSquaredLogarithmicError, pos, pos2],
    ['logcosh', losses.logCosh, a, b],
    ['poisson', losses.poisson, pos, pos2],
    ['kullbackLeiblerDivergence', losses.kullbackLeiblerDivergence, pos, pos2],
    ['categoricalHinge', losses.categoricalHinge, oneHotRows(randomInts(N, 4, 25), 4), b],
    ['hinge', losses.hinge, Float32Array.from(a, (v) => (v > 0 ? 1 : -1)), b],
    ['squaredHinge', losses.squaredHinge, Float32Array.from(a, (v) => (v > 0 ? 1 : -1)), b],
  ] as const)('%s matches the TF.js layers loss of that name', async (name, fn, t, p) => {
    expectClose([evalSym(fn as never, y2(t, 4), y2(p, 4))], await tfjsCompiled(name, y2(t, 4), y2(p, 4)), TOL);
  });
  it('hinge maps {0, 1} labels to {−1, 1} (Keras 3), as tf.losses.hingeLoss does', async () => {
    const t01 = Float32Array.from(a, (v) => (v > 0 ? 1 : 0));
    const want = await withTf((tf) => tf.losses.hingeLoss(tf.tensor(t01, [N, 4]), tf.tensor(b, [N, 4])));
    expectClose([evalSym(losses.hinge, y2(t01, 4), y2(b, 4))], [want], TOL);
  });
  it.each([1, 0.3])('huber(delta %f) matches tf.losses.huberLoss', async (delta) => {
    const want = await withTf((tf) => tf.losses.huberLoss(tf.tensor(a, [N, 4]), tf.tensor(b, [N, 4]), undefined, delta));
    expectClose([evalSym(losses.huber({ delta }), y2(a, 4), y2(b, 4))], [want], TOL);
  });
});

describe('getLoss', () => {
  it.each([
    ['categorical_crossentropy', 'categorical_crossentropy'], ['categoricalCrossentropy', 'categorical_crossentropy'], ['CategoricalCrossentropy', 'categorical_crossentropy'],
    ['sparse_categorical_crossentropy', 'sparse_categorical_crossentropy'], ['binary_crossentropy', 'binary_crossentropy'],
    ['mse', 'mean_squared_error'], ['MSE', 'mean_squared_error'], ['mae', 'mean_absolute_error'], ['meanAbsoluteError', 'mean_absolute_error'],
    ['huber', 'huber_loss'], ['kld', 'kl_divergence'], ['KLDivergence', 'kl_divergence'], ['kullback_leibler_divergence', 'kl_divergence'],
    ['hinge', 'hinge'], ['squared_hinge', 'squared_hinge'], ['categorical_hinge', 'categorical_hinge'], ['logcosh', 'log_cosh'],
  ])('%s → %s', (id, name) => {
    expect(losses.getLoss(id).kerasName).toBe(name);
  });
  it('accepts factories, configured losses, Keras configs and plain functions', () => {
    expect(losses.getLoss(losses.meanSquaredError).kerasName).toBe('mean_squared_error');
    const cce = losses.categoricalCrossentropy({ fromLogits: true, labelSmoothing: 0.1 });
    expect(losses.getLoss(cce)).toBe(cce);
    expect(cce.getConfig()).toEqual({ name: 'categorical_crossentropy', reduction: 'sum_over_batch_size', from_logits: true, label_smoothing: 0.1 });
    const fromConfig = losses.getLoss({ class_name: 'CategoricalCrossentropy', config: { name: 'categorical_crossentropy', reduction: 'sum_over_batch_size', from_logits: true, label_smoothing: 0.1 } });
    expect(fromConfig.getConfig()).toEqual(cce.getConfig());
    expect(losses.getLoss({ className: 'Huber', config: { delta: 0.5 } }).getConfig().delta).toBe(0.5);
    const custom = losses.getLoss(function myLoss(t, p) { return losses.meanSquaredError(t, p); });
    expect([custom.className, custom.kerasName]).toEqual(['LossFunctionWrapper', 'myLoss']);
    expectClose([evalSym(custom, y2(onehot), y2(probs))], [evalSym(losses.meanSquaredError, y2(onehot), y2(probs))], { rtol: 0, atol: 0 });
  });
  it('unknown names and options are ModelErrors that list what is known', () => {
    expect(() => losses.getLoss('crossentropyy')).toThrow(ModelError);
    expect(() => losses.getLoss('crossentropyy')).toThrow(/'crossentropyy'.*categorical_crossentropy.*mse/);
    expect(() => losses.categoricalCrossentropy({ from_logits: true } as never)).toThrow(/unknown option 'from_logits'.*fromLogits/);
  });
});

describe('regularizationLoss', () => {
  it('sums l1·Σ|w| + l2·Σw² over trainable weights with a regularizer', () => {
    const model = new Sequential([layers.Dense(3, { inputShape: [4], kernelRegularizer: 'l1_l2' }), layers.Dense(2, { kernelRegularizer: 'l2', biasRegularizer: 'l1' }), layers.Dense(2)]);
    const vars = model.trainableWeights;
    const reg = losses.regularizationLoss(vars);
    const { graph, variables } = traceGraph({ inputs: [], outputs: [{ name: 'reg', tensor: reg }], model: 'reg' });
    const got = interpret(graph, {}, { weights: new Map(variables.map((v) => [v.name, { shape: v.shape, dtype: v.dtype, data: v.read() }])) }).outputs.reg.data[0];
    const want = vars.reduce((s, v) => s + regularizerPenalty(v.regularizer, v.read()), 0);
    expect(want).toBeGreaterThan(0);
    expectClose([got], [want], { rtol: 1e-6, atol: 1e-9 });
    expect(evalSym(() => losses.regularizationLoss([]), y2(onehot), y2(probs))).toBe(0);
  });
});
