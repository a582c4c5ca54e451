/** Layer normalization kept whole: per-row statistics over some axes, then a learned scale and shift. */
import type { OpDef } from '../registry.js';
import type { Attrs, Dim, TensorType } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { stridesOf } from '../ndarray.js';
import { formatShape } from '../errors.js';
import { attrFloat, attrInts, defineOp, dimsCompatible, expectDtype, expectRank, fail, normalizeAxis, tensor } from './common.js';
import { alloc, gatherOffsets } from './indexing.js';

/** The normalized axes of a layerNorm node, counted from the front, sorted and duplicate-free. */
export function layerNormAxes(shape: readonly Dim[], attrs: Attrs): number[] {
  const raw = attrInts('layerNorm', attrs, 'axes');
  if (raw.length === 0) fail('layerNorm', 'axes must name at least one axis');
  const axes = raw.map((a) => normalizeAxis('layerNorm', a, shape)).sort((a, b) => a - b);
  if (new Set(axes).size !== axes.length) fail('layerNorm', `axes [${raw.join(', ')}] repeat an axis of ${formatShape(shape)}`, { axes: raw });
  return axes;
}

/**
 * A concrete shape seen as rows × columns: a row is one index of the kept axes, a column one index
 * of the normalized axes; element (r, c) sits at `rows[r] + cols[c]`, and column c reads gamma[c].
 */
export interface LayerNormLayout {
  readonly rows: Int32Array;
  readonly cols: Int32Array;
  /** Kept dims and normalized dims, in axis order. */
  readonly keptShape: number[];
  readonly normShape: number[];
}

/** The row/column layout of a layerNorm over `axes` of `shape`. */
export function layerNormLayout(shape: readonly number[], axes: readonly number[]): LayerNormLayout {
  const st = stridesOf(shape);
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const keptShape = kept.map((i) => shape[i]);
  const normShape = axes.map((i) => shape[i]);
  return {
    rows: gatherOffsets(keptShape, kept.map((i) => st[i]), 0),
    cols: gatherOffsets(normShape, axes.map((i) => st[i]), 0),
    keptShape,
    normShape,
  };
}

/** Checks gamma (and beta) against the normalized dims of x; returns the normalized axes. */
function checkParams(op: string, x: TensorType, params: readonly [string, TensorType][], attrs: Attrs): number[] {
  expectDtype(op, 'x', x, 'float');
  expectRank(op, 'x', x, [1]);
  const axes = layerNormAxes(x.shape, attrs);
  const want = axes.map((a) => x.shape[a]);
  for (const [role, p] of params) {
    expectDtype(op, role, p, 'float');
    if (p.shape.length !== want.length || !p.shape.every((d, i) => dimsCompatible(d, want[i]))) {
      fail(op, `${role} ${formatShape(p.shape)} must have the shape ${formatShape(want)} of the normalized axes [${axes.join(', ')}] of x ${formatShape(x.shape)}`, { role, x: x.shape, param: p.shape });
    }
  }
  const epsilon = attrFloat(op, attrs, 'epsilon');
  if (!(epsilon > 0)) fail(op, `epsilon must be > 0, got ${epsilon}`);
  return axes;
}

/** One row's mean and 1/√(biased variance + ε), two passes as tf.nn.moments. */
function rowStats(x: NDArray, r: number, cols: Int32Array, eps: number): { mean: number; inv: number } {
  let sum = 0;
  for (const c of cols) sum += x.data[r + c];
  const mean = sum / cols.length;
  let sq = 0;
  for (const c of cols) sq += (x.data[r + c] - mean) ** 2;
  return { mean, inv: 1 / Math.sqrt(sq / cols.length + eps) };
}

const ATTRS = { axes: { kind: 'ints', default: [-1] }, epsilon: { kind: 'float', default: 1e-3 } } as const;

/** Registry rows for layerNorm and its gradient op (docs/ops.md). */
export const layerNormOps: OpDef[] = [
  defineOp({
    name: 'layerNorm',
    arity: 3,
    attrs: ATTRS,
    infer: ([x, gamma, beta], attrs) => {
      checkParams('layerNorm', x, [['gamma', gamma], ['beta', beta]], attrs);
      return [tensor(x.shape, x.dtype)];
    },
    reference: ([x, gamma, beta], attrs, ctx) => {
      const eps = attrFloat('layerNorm', attrs, 'epsilon');
      const { rows, cols } = layerNormLayout(x.shape, layerNormAxes(x.shape, attrs));
      const y = alloc(ctx, x.shape, x.dtype);
      const n = cols.length;
      for (const r of rows) {
        const { mean, inv } = rowStats(x, r, cols, eps);
        cols.forEach((c, k) => (y.data[r + c] = (x.data[r + c] - mean) * inv * gamma.data[k] + beta.data[k]));
      }
      return [y] as NDArray[];
    },
  }),
  defineOp({
    name: 'layerNormGrad',
    arity: 3,
    attrs: ATTRS,
    infer: ([x, gamma, dy], attrs) => {
      checkParams('layerNormGrad', x, [['gamma', gamma]], attrs);
      if (dy.shape.length !== x.shape.length || !dy.shape.every((d, i) => dimsCompatible(d, x.shape[i]))) {
        fail('layerNormGrad', `dy ${formatShape(dy.shape)} must be shaped like x ${formatShape(x.shape)}`);
      }
      return [tensor(x.shape, x.dtype), tensor(gamma.shape, gamma.dtype), tensor(gamma.shape, gamma.dtype)];
    },
    reference: ([x, gamma, dy], attrs, ctx) => {
      const eps = attrFloat('layerNormGrad', attrs, 'epsilon');
      const { rows, cols } = layerNormLayout(x.shape, layerNormAxes(x.shape, attrs));
      const dx = alloc(ctx, x.shape, x.dtype);
      const dGamma = alloc(ctx, gamma.shape, gamma.dtype);
      const dBeta = alloc(ctx, gamma.shape, gamma.dtype);
      const n = cols.length;
      const [sumDg, sumDb] = [new Float64Array(n), new Float64Array(n)];
      for (const r of rows) {
        const { mean, inv } = rowStats(x, r, cols, eps);
        let g = 0;
        let gx = 0;
        cols.forEach((c, k) => {
          const xHat = (x.data[r + c] - mean) * inv;
          const gk = dy.data[r + c] * gamma.data[k];
          g += gk;
          gx += gk * xHat;
          sumDg[k] += dy.data[r + c] * xHat;
          sumDb[k] += dy.data[r + c];
        });
        cols.forEach((c, k) => (dx.data[r + c] = inv * (dy.data[r + c] * gamma.data[k] - g / n - ((x.data[r + c] - mean) * inv * gx) / n)));
      }
      dGamma.data.set(sumDg);
      dBeta.data.set(sumDb);
      return [dx, dGamma, dBeta] as NDArray[];
    },
  }),
];
