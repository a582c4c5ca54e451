/**
 * Batch normalization kept whole, with its learning-phase input and moving-statistics outputs; and
 * the training step's pair: batchNormTraining (batch statistics) and batchNormTrainingGrad.
 */
import type { OpDef } from '../registry.js';
import type { Attrs, Dim, TensorType } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { sizeOf } from '../ndarray.js';
import { formatShape } from '../errors.js';
import { attrFloat, attrInt, defineOp, dimsCompatible, expectBoolScalar, expectDtype, expectRank, fail, mergeDim, normalizeAxis, tensor } from './common.js';
import { alloc } from './indexing.js';

const PARAMS = ['gamma', 'beta', 'movingMean', 'movingVar'] as const;

/** x seen as [outer, C, inner] around the channel axis: element (o, c, i) sits at (o·C + c)·inner + i. */
export interface ChannelLayout {
  readonly axis: number;
  readonly outer: number;
  readonly C: number;
  readonly inner: number;
}

/** The [outer, C, inner] layout of a concrete x around `axis` (negative counts from the end). */
export function channelLayout(op: string, shape: readonly number[], axisAttr: number): ChannelLayout {
  const axis = normalizeAxis(op, axisAttr, shape);
  return { axis, outer: sizeOf(shape.slice(0, axis)), C: shape[axis], inner: sizeOf(shape.slice(axis + 1)) };
}

/** Each channel's batch mean and biased variance, two passes as tf.nn.moments. */
function batchMoments(x: NDArray, { outer, C, inner }: ChannelLayout): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const n = outer * inner;
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) sum += x.data[(o * C + c) * inner + i];
    mean[c] = sum / n;
    let sq = 0;
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) sq += (x.data[(o * C + c) * inner + i] - mean[c]) ** 2;
    variance[c] = sq / n;
  }
  return { mean, variance };
}

/** Checks that each named vector holds one value per channel of x on `axis`; returns the channel count. */
function checkChannelVectors(op: string, x: TensorType, axis: number, vectors: readonly [string, TensorType][]): Dim {
  let channels: Dim = x.shape[axis];
  for (const [role, p] of vectors) {
    expectDtype(op, role, p, 'float');
    if (p.shape.length !== 1 || !dimsCompatible(p.shape[0], channels)) {
      fail(op, `${role} ${formatShape(p.shape)} must be a vector of the ${x.shape[axis]} channels on axis ${axis} of x ${formatShape(x.shape)}`, { role, x: x.shape, param: p.shape });
    }
    channels = mergeDim(channels, p.shape[0]);
  }
  return channels;
}

const TRAINING_ATTRS = { axis: { kind: 'int', default: -1 }, epsilon: { kind: 'float', default: 1e-3 } } as const;

/** Activations a batchNormTraining can apply to y (fuseBatchNormActivation puts them there). */
export const BATCH_NORM_ACTIVATIONS = ['linear', 'relu'] as const;

/** x's checks shared by the training pair: a float tensor of rank ≥ 1, and ε > 0; returns the channel axis. */
function checkTrainingX(op: string, x: TensorType, attrs: Attrs): number {
  expectDtype(op, 'x', x, 'float');
  expectRank(op, 'x', x, [1]);
  const epsilon = attrFloat(op, attrs, 'epsilon');
  if (!(epsilon > 0)) fail(op, `epsilon must be > 0, got ${epsilon}`);
  return normalizeAxis(op, attrInt(op, attrs, 'axis'), x.shape);
}


/** Registry rows for batchNorm, batchNormTraining and batchNormTrainingGrad (docs/ops.md). */
export const batchNormOps: OpDef[] = [
  defineOp({
    name: 'batchNorm',
    arity: 6,
    attrs: { axis: { kind: 'int', default: -1 }, epsilon: { kind: 'float', default: 1e-3 }, momentum: { kind: 'float', default: 0.99 } },
    infer: ([x, ...rest], attrs) => {
      expectDtype('batchNorm', 'x', x, 'float');
      expectRank('batchNorm', 'x', x, [1]);
      const axis = normalizeAxis('batchNorm', attrInt('batchNorm', attrs, 'axis'), x.shape);
      let channels: Dim = x.shape[axis];
      PARAMS.forEach((role, i) => {
        const p = rest[i];
        expectDtype('batchNorm', role, p, 'float');
        if (p.shape.length !== 1 || !dimsCompatible(p.shape[0], channels)) {
          fail('batchNorm', `${role} ${formatShape(p.shape)} must be a vector of the ${x.shape[axis]} channels on axis ${axis} of x ${formatShape(x.shape)}`, { role, x: x.shape, param: p.shape });
        }
        channels = mergeDim(channels, p.shape[0]);
      });
      expectBoolScalar('batchNorm', 'training', rest[4]);
      const epsilon = attrFloat('batchNorm', attrs, 'epsilon');
      if (!(epsilon > 0)) fail('batchNorm', `epsilon must be > 0, got ${epsilon}`);
      const stats = tensor([channels], rest[2].dtype);
      return [tensor(x.shape, x.dtype), stats, { ...stats }];
    },
    reference: ([x, gamma, beta, movingMean, movingVar, training], attrs, ctx) => {
      const axis = normalizeAxis('batchNorm', attrInt('batchNorm', attrs, 'axis'), x.shape);
      const eps = attrFloat('batchNorm', attrs, 'epsilon');
      const momentum = attrFloat('batchNorm', attrs, 'momentum');
      const c = x.shape[axis];
      const outer = sizeOf(x.shape.slice(0, axis));
      const inner = sizeOf(x.shape.slice(axis + 1));
      const at = (o: number, ch: number, i: number) => (o * c + ch) * inner + i;
      const y = alloc(ctx, x.shape, x.dtype);
      const newMean = alloc(ctx, [c], movingMean.dtype);
      const newVar = alloc(ctx, [c], movingVar.dtype);
      const isTraining = training.data[0] !== 0;
      const n = outer * inner;
      for (let ch = 0; ch < c; ch++) {
        let mean = movingMean.data[ch];
        let variance = movingVar.data[ch];
        if (isTraining) {
          // Two passes over the channel: mean first, then the biased variance around it.
          let sum = 0;
          for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) sum += x.data[at(o, ch, i)];
          mean = sum / n;
          let sq = 0;
          for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) sq += (x.data[at(o, ch, i)] - mean) ** 2;
          variance = sq / n;
          newMean.data[ch] = movingMean.data[ch] * momentum + mean * (1 - momentum);
          newVar.data[ch] = movingVar.data[ch] * momentum + variance * (1 - momentum);
        } else {
          newMean.data[ch] = movingMean.data[ch];
          newVar.data[ch] = movingVar.data[ch];
        }
        const scale = gamma.data[ch] / Math.sqrt(variance + eps);
        for (let o = 0; o < outer; o++) {
          for (let i = 0; i < inner; i++) {
            const k = at(o, ch, i);
            y.data[k] = (x.data[k] - mean) * scale + beta.data[ch];
          }
        }
      }
      return [y, newMean, newVar] as NDArray[];
    },
  }),
  defineOp({
    name: 'batchNormTraining',
    arity: [3, 4],
    attrs: { ...TRAINING_ATTRS, activation: { kind: 'string', default: 'linear', oneOf: BATCH_NORM_ACTIVATIONS } },
    infer: ([x, gamma, beta, side], attrs) => {
      const axis = checkTrainingX('batchNormTraining', x, attrs);
      const channels = checkChannelVectors('batchNormTraining', x, axis, [['gamma', gamma], ['beta', beta]]);
      if (side && (side.dtype !== x.dtype || side.shape.length !== x.shape.length || !side.shape.every((d, i) => dimsCompatible(d, x.shape[i])))) {
        fail('batchNormTraining', `side ${formatShape(side.shape)} ${side.dtype} must be shaped like x ${formatShape(x.shape)} ${x.dtype}`, { x: x.shape, side: side.shape });
      }
      const stats = tensor([channels], x.dtype);
      return [tensor(x.shape, x.dtype), stats, { ...stats }];
    },
    reference: ([x, gamma, beta, side], attrs, ctx) => {
      const layout = channelLayout('batchNormTraining', x.shape, attrInt('batchNormTraining', attrs, 'axis'));
      const eps = attrFloat('batchNormTraining', attrs, 'epsilon');
      const { outer, C, inner } = layout;
      const { mean, variance } = batchMoments(x, layout);
      const relu = attrs.activation === 'relu';
      const y = alloc(ctx, x.shape, x.dtype);
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < C; c++) {
          const scale = gamma.data[c] / Math.sqrt(variance[c] + eps);
          for (let i = 0; i < inner; i++) {
            const k = (o * C + c) * inner + i;
            const v = (x.data[k] - mean[c]) * scale + beta.data[c] + (side ? side.data[k] : 0);
            y.data[k] = relu ? Math.max(v, 0) : v;
          }
        }
      }
      const meanOut = alloc(ctx, [C], x.dtype);
      const varOut = alloc(ctx, [C], x.dtype);
      meanOut.data.set(mean);
      varOut.data.set(variance);
      return [y, meanOut, varOut] as NDArray[];
    },
  }),
  defineOp({
    name: 'batchNormTrainingGrad',
    arity: 5,
    attrs: TRAINING_ATTRS,
    infer: ([x, gamma, mean, variance, dy], attrs) => {
      const axis = checkTrainingX('batchNormTrainingGrad', x, attrs);
      const channels = checkChannelVectors('batchNormTrainingGrad', x, axis, [['gamma', gamma], ['mean', mean], ['variance', variance]]);
      if (dy.shape.length !== x.shape.length || !dy.shape.every((d, i) => dimsCompatible(d, x.shape[i]))) {
        fail('batchNormTrainingGrad', `dy ${formatShape(dy.shape)} must be shaped like x ${formatShape(x.shape)}`, { x: x.shape, dy: dy.shape });
      }
      return [tensor(x.shape, x.dtype), tensor([channels], gamma.dtype), tensor([channels], gamma.dtype)];
    },
    reference: ([x, gamma, mean, variance, dy], attrs, ctx) => {
      const { outer, C, inner } = channelLayout('batchNormTrainingGrad', x.shape, attrInt('batchNormTrainingGrad', attrs, 'axis'));
      const eps = attrFloat('batchNormTrainingGrad', attrs, 'epsilon');
      const n = outer * inner;
      const r = Array.from(variance.data, (v) => 1 / Math.sqrt(v + eps));
      const dGamma = alloc(ctx, [C], gamma.dtype);
      const dBeta = alloc(ctx, [C], gamma.dtype);
      const at = (o: number, c: number, i: number) => (o * C + c) * inner + i;
      for (let c = 0; c < C; c++) {
        let sb = 0;
        let sg = 0;
        for (let o = 0; o < outer; o++) {
          for (let i = 0; i < inner; i++) {
            const k = at(o, c, i);
            sb += dy.data[k];
            sg += dy.data[k] * (x.data[k] - mean.data[c]) * r[c];
          }
        }
        dBeta.data[c] = sb;
        dGamma.data[c] = sg;
      }
      const dx = alloc(ctx, x.shape, x.dtype);
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < C; c++) {
          for (let i = 0; i < inner; i++) {
            const k = at(o, c, i);
            const xHat = (x.data[k] - mean.data[c]) * r[c];
            dx.data[k] = gamma.data[c] * r[c] * (dy.data[k] - dBeta.data[c] / n - (xHat * dGamma.data[c]) / n);
          }
        }
      }
      return [dx, dGamma, dBeta] as NDArray[];
    },
  }),
];
