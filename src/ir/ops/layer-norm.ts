/** Layer normalization kept whole: per-row statistics over some axes, then a learned scale and shift. */
import type { OpDef } from '../registry.js';
import type { Attrs, Dim } from '../types.js';
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

/** Registry row for layerNorm (docs/ops.md). */
export const layerNormOps: OpDef[] = [
  defineOp({
    name: 'layerNorm',
    arity: 3,
    attrs: { axes: { kind: 'ints', default: [-1] }, epsilon: { kind: 'float', default: 1e-3 } },
    infer: ([x, gamma, beta], attrs) => {
      expectDtype('layerNorm', 'x', x, 'float');
      expectRank('layerNorm', 'x', x, [1]);
      const axes = layerNormAxes(x.shape, attrs);
      const want = axes.map((a) => x.shape[a]);
      for (const [role, p] of [['gamma', gamma], ['beta', beta]] as const) {
        expectDtype('layerNorm', role, p, 'float');
        if (p.shape.length !== want.length || !p.shape.every((d, i) => dimsCompatible(d, want[i]))) {
          fail('layerNorm', `${role} ${formatShape(p.shape)} must have the shape ${formatShape(want)} of the normalized axes [${axes.join(', ')}] of x ${formatShape(x.shape)}`, { role, x: x.shape, param: p.shape });
        }
      }
      const epsilon = attrFloat('layerNorm', attrs, 'epsilon');
      if (!(epsilon > 0)) fail('layerNorm', `epsilon must be > 0, got ${epsilon}`);
      return [tensor(x.shape, x.dtype)];
    },
    reference: ([x, gamma, beta], attrs, ctx) => {
      const eps = attrFloat('layerNorm', attrs, 'epsilon');
      const { rows, cols } = layerNormLayout(x.shape, layerNormAxes(x.shape, attrs));
      const y = alloc(ctx, x.shape, x.dtype);
      const n = cols.length;
      for (const r of rows) {
        // Two passes: the mean, then the biased variance around it (as tf.nn.moments).
        let sum = 0;
        for (const c of cols) sum += x.data[r + c];
        const mean = sum / n;
        let sq = 0;
        for (const c of cols) sq += (x.data[r + c] - mean) ** 2;
        const inv = 1 / Math.sqrt(sq / n + eps);
        cols.forEach((c, k) => (y.data[r + c] = (x.data[r + c] - mean) * inv * gamma.data[k] + beta.data[k]));
      }
      return [y] as NDArray[];
    },
  }),
];
