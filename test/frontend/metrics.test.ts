/** Metrics through the reference interpreter against TF.js (CPU backend): tf.metrics, tf.inTopKAsync, compiled 'accuracy'. */
import { describe, expect, it } from 'vitest';
import { Input, losses, metrics } from '../../src/index.js';
import { interpret, ModelError, validate, type DType } from '../../src/ir/index.js';
import { traceGraph } from '../../src/frontend/trace.js';
import type { SymbolicTensor } from '../../src/frontend/symbolic.js';
import { tfjs } from '../support/tfjs.js';
import { randomData, randomInts } from '../support/random.js';
import { expectClose } from '../support/close.js';

/** Means of 0/1 values over a few samples: float64 vs float32 differ by rounding only. */
const TOL = { rtol: 1e-6, atol: 1e-7 };
const N = 16;
const C = 6;

interface Batch { shape: number[]; dtype?: DType; data: ArrayLike<number> }

/** Traces fn on inputs shaped like the batches (batch dim unknown) and runs it on the interpreter. */
function evalSym(fn: (t: SymbolicTensor, p: SymbolicTensor) => SymbolicTensor, yTrue: Batch, yPred: Batch): number {
  const t = Input({ batchShape: [null, ...yTrue.shape.slice(1)], dtype: yTrue.dtype ?? 'float32' });
  const p = Input({ batchShape: [null, ...yPred.shape.slice(1)] });
  const out = fn(t, p);
  expect(out.shape).toEqual([]);
  const { graph } = traceGraph({ inputs: [t, p], outputs: [{ name: 'out', tensor: out }], model: 'metric' });
  validate(graph);
  const feed = (b: Batch) => ({ shape: b.shape, dtype: b.dtype ?? 'float32', data: b.dtype === 'int32' ? Int32Array.from(b.data) : Float64Array.from(b.data) });
  return interpret(graph, { [t.name]: feed(yTrue), [p.name]: feed(yPred) }, { precision: 'float64' }).outputs.out.data[0];
}

const oneHotRows = (ids: ArrayLike<number>, c: number) => {
  const out = new Float32Array(ids.length * c);
  for (let i = 0; i < ids.length; i++) out[i * c + ids[i]] = 1;
  return out;
};
const mean = async (t: { data(): Promise<ArrayLike<number>> }) => {
  const d = await t.data();
  return Array.from(d).reduce((a, b) => a + b, 0) / d.length;
};

const ids = randomInts(N, C, 31);
const onehot = oneHotRows(ids, C);
const scores = randomData(N * C, 32, 0, 1);
const y2 = (data: ArrayLike<number>, c = C): Batch => ({ shape: [data.length / c, c], data });

describe('metrics vs TF.js', () => {
  it('categoricalAccuracy', async () => {
    const tf = await tfjs();
    const got = evalSym(metrics.categoricalAccuracy, y2(onehot), y2(scores));
    expect(got).toBeGreaterThan(0);
    expectClose([got], [await mean(tf.metrics.categoricalAccuracy(tf.tensor(onehot, [N, C]), tf.tensor(scores, [N, C])))], TOL);
  });
  it('sparseCategoricalAccuracy with int32 [batch] and float [batch, 1] labels', async () => {
    const tf = await tfjs();
    const want = await mean(tf.metrics.sparseCategoricalAccuracy(tf.tensor(Float32Array.from(ids), [N, 1]), tf.tensor(scores, [N, C])));
    expectClose([evalSym(metrics.sparseCategoricalAccuracy, { shape: [N], dtype: 'int32', data: ids }, y2(scores))], [want], TOL);
    expectClose([evalSym(metrics.sparseCategoricalAccuracy(), { shape: [N, 1], data: Float32Array.from(ids) }, y2(scores))], [want], TOL);
  });
  it('binaryAccuracy (threshold 0.5 vs TF.js; other thresholds vs the closed form)', async () => {
    const tf = await tfjs();
    const t = Float32Array.from(randomData(N * 3, 33, 0, 1), (v) => (v > 0.5 ? 1 : 0));
    const p = randomData(N * 3, 34, 0, 1);
    expectClose([evalSym(metrics.binaryAccuracy, y2(t, 3), y2(p, 3))], [await mean(tf.metrics.binaryAccuracy(tf.tensor(t, [N, 3]), tf.tensor(p, [N, 3])))], TOL);
    for (const threshold of [0.3, 0.7]) {
      const want = Array.from(p).filter((v, i) => (v > threshold ? 1 : 0) === t[i]).length / p.length;
      expectClose([evalSym(metrics.binaryAccuracy({ threshold }), y2(t, 3), y2(p, 3))], [want], TOL);
    }
  });
  it.each([1, 2, 3, 5])('topKCategoricalAccuracy and sparseTopKCategoricalAccuracy (k = %i) vs tf.inTopKAsync', async (k) => {
    const tf = await tfjs();
    const want = await mean(await tf.inTopKAsync(tf.tensor(scores, [N, C]), tf.tensor(ids, [N], 'int32'), k));
    expect(want).toBeGreaterThan(0);
    expectClose([evalSym(metrics.topKCategoricalAccuracy({ k }), y2(onehot), y2(scores))], [want], TOL);
    expectClose([evalSym(metrics.sparseTopKCategoricalAccuracy({ k }), { shape: [N], dtype: 'int32', data: ids }, y2(scores))], [want], TOL);
  });
  it('topK counts ties in the true class\'s favour (TF in_top_k, Keras 3 ops.in_top_k)', () => {
    // Row 0: true class ties with two others at the top; row 1: true class is 3rd of 4 distinct scores.
    const t = oneHotRows([0, 2], 4);
    const p = [0.5, 0.5, 0.5, 0.1, 0.4, 0.3, 0.2, 0.1];
    expect(evalSym(metrics.topKCategoricalAccuracy({ k: 1 }), y2(t, 4), y2(p, 4))).toBe(0.5);
    expect(evalSym(metrics.topKCategoricalAccuracy({ k: 2 }), y2(t, 4), y2(p, 4))).toBe(0.5);
    expect(evalSym(metrics.topKCategoricalAccuracy({ k: 3 }), y2(t, 4), y2(p, 4))).toBe(1);
  });
  it('mse and mae', async () => {
    const tf = await tfjs();
    const a = randomData(N * 3, 35);
    const b = randomData(N * 3, 36, -2, 2);
    expectClose([evalSym(metrics.mse, y2(a, 3), y2(b, 3))], [await mean(tf.metrics.meanSquaredError(tf.tensor(a, [N, 3]), tf.tensor(b, [N, 3])))], { rtol: 2e-6, atol: 1e-7 });
    expectClose([evalSym(metrics.mae, y2(a, 3), y2(b, 3))], [await mean(tf.metrics.meanAbsoluteError(tf.tensor(a, [N, 3]), tf.tensor(b, [N, 3])))], { rtol: 2e-6, atol: 1e-7 });
  });
});

describe("'accuracy' resolution", () => {
  it.each([
    [{ outputShape: [null, 1] }, 'binary'],
    [{ loss: 'binary_crossentropy', outputShape: [null, 4] }, 'binary'],
    [{ loss: 'sparse_categorical_crossentropy', outputShape: [null, 10] }, 'sparse_categorical'],
    [{ loss: 'categorical_crossentropy', outputShape: [null, 10] }, 'categorical'],
    [{ loss: 'mse', outputShape: [null, 10], targetShape: [null] }, 'sparse_categorical'],
    [{ outputShape: [null, 10], targetShape: [null, 1] }, 'sparse_categorical'],
    [{ outputShape: [null, 10], targetShape: [null, 10] }, 'categorical'],
    [{}, 'categorical'],
  ] as const)('%j → %s', (ctx, kind) => {
    expect(metrics.resolveAccuracy(ctx as metrics.MetricContext)).toBe(kind);
  });
  it.each([
    ['binaryCrossentropy', 1, 'BinaryAccuracy'],
    ['sparseCategoricalCrossentropy', C, 'SparseCategoricalAccuracy'],
    ['categoricalCrossentropy', C, 'CategoricalAccuracy'],
  ] as const)("getMetric('accuracy') with loss %s matches TF.js's compiled 'accuracy'", async (loss, units, className) => {
    const tf = await tfjs();
    const sparse = loss === 'sparseCategoricalCrossentropy';
    const yt: Batch = units === 1 ? { shape: [N, 1], data: Float32Array.from(ids, (i) => i % 2) } : sparse ? { shape: [N, 1], data: Float32Array.from(ids) } : y2(onehot);
    const yp: Batch = units === 1 ? { shape: [N, 1], data: randomData(N, 37, 0.05, 0.95) } : y2(softmaxed(scores));
    const m = metrics.getMetric('accuracy', { loss: losses.getLoss(loss), outputShape: [null, units] });
    expect([m.className, m.kerasName]).toEqual([className, 'accuracy']);
    const model = tf.sequential({ layers: [tf.layers.activation({ activation: 'linear', inputShape: [units] })] });
    model.compile({ optimizer: 'sgd', loss, metrics: ['accuracy'] });
    const r = model.evaluate(tf.tensor(Float32Array.from(yp.data), yp.shape), tf.tensor(Float32Array.from(yt.data), yt.shape), { batchSize: N }) as { dataSync(): ArrayLike<number> }[];
    expectClose([evalSym(m, yt, yp)], [r[1].dataSync()[0]], TOL);
    expectClose([evalSym(losses.getLoss(loss), yt, yp)], [r[0].dataSync()[0]], { rtol: 2e-5, atol: 1e-6 });
  });
  it('metrics.accuracy resolves from the shapes it is called on', () => {
    expect(evalSym(metrics.accuracy, { shape: [N], dtype: 'int32', data: ids }, y2(scores))).toBe(evalSym(metrics.sparseCategoricalAccuracy, { shape: [N], dtype: 'int32', data: ids }, y2(scores)));
    expect(evalSym(metrics.accuracy, y2(onehot), y2(scores))).toBe(evalSym(metrics.categoricalAccuracy, y2(onehot), y2(scores)));
  });
  it("'crossentropy' resolves like 'accuracy' and takes the loss's from_logits", () => {
    const logits = randomData(N * C, 38, -3, 3);
    const m = metrics.getMetric('crossentropy', { loss: losses.categoricalCrossentropy({ fromLogits: true }), outputShape: [null, C] });
    expect(m.getConfig()).toMatchObject({ name: 'crossentropy', from_logits: true });
    expect(evalSym(m, y2(onehot), y2(logits))).toBe(evalSym(losses.categoricalCrossentropy({ fromLogits: true }), y2(onehot), y2(logits)));
  });
});

describe('getMetric', () => {
  it.each([
    ['categorical_accuracy', 'categorical_accuracy'], ['categoricalAccuracy', 'categorical_accuracy'], ['SparseCategoricalAccuracy', 'sparse_categorical_accuracy'],
    ['binary_accuracy', 'binary_accuracy'], ['top_k_categorical_accuracy', 'top_k_categorical_accuracy'], ['mse', 'mean_squared_error'], ['mae', 'mean_absolute_error'],
    ['categorical_crossentropy', 'categorical_crossentropy'],
  ])('%s → %s', (id, name) => {
    expect(metrics.getMetric(id).kerasName).toBe(name);
  });
  it('configs: options in snake_case, as Keras', () => {
    expect(metrics.topKCategoricalAccuracy({ k: 3 }).getConfig()).toMatchObject({ name: 'top_k_categorical_accuracy', k: 3 });
    expect(metrics.binaryAccuracy().getConfig()).toMatchObject({ name: 'binary_accuracy', threshold: 0.5 });
  });
  it('unknown names are ModelErrors listing metrics and losses', () => {
    expect(() => metrics.getMetric('acuracy')).toThrow(ModelError);
    expect(() => metrics.getMetric('acuracy')).toThrow(/'acuracy'.*accuracy.*categorical_crossentropy/);
  });
});

function softmaxed(x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(x[r * C + j]);
    for (let j = 0; j < C; j++) out[r * C + j] = Math.exp(x[r * C + j]) / s;
  }
  return out;
}
