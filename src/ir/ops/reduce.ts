/** Reductions over axes, argMax, and the softmax family (reductions along one axis kept whole). */
import type { OpDef } from '../registry.js';
import type { Attrs, Dim } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { sizeOf, stridesOf } from '../ndarray.js';
import { formatShape } from '../errors.js';
import { attrBool, attrInt, attrInts, defineOp, expectDtype, fail, normalizeAxis, tensor, type DtypeClass } from './common.js';
import { alloc, gatherOffsets } from './indexing.js';

/** One reduction: fold `step` from `init`, then `finish` with the element count. */
export interface ReduceRow {
  readonly init: number;
  readonly step: (acc: number, x: number) => number;
  /** int32 step where doubles would not wrap like 32-bit integers. */
  readonly int?: (acc: number, x: number) => number;
  readonly finish?: (acc: number, count: number) => number;
  readonly dtype: DtypeClass;
}

/** The reduction table. Empty reductions give the identity (mean: NaN). */
export const REDUCE: Readonly<Record<string, ReduceRow>> = {
  reduceSum: { init: 0, step: (a, x) => a + x, dtype: 'numeric' },
  // int32 mean is left out: TF.js would floor-divide, Keras would go to float; neither is wanted here.
  reduceMean: { init: 0, step: (a, x) => a + x, finish: (a, n) => a / n, dtype: 'float' },
  reduceMax: { init: -Infinity, step: Math.max, dtype: 'numeric' },
  reduceMin: { init: Infinity, step: Math.min, dtype: 'numeric' },
  reduceProd: { init: 1, step: (a, x) => a * x, int: Math.imul, dtype: 'numeric' },
};

/** Normalized, duplicate-free axes; empty means all. */
function reduceAxes(op: string, shape: readonly Dim[], attrs: Attrs): number[] {
  const raw = attrInts(op, attrs, 'axes');
  const axes = raw.length === 0 ? shape.map((_, i) => i) : raw.map((a) => normalizeAxis(op, a, shape, 'axis'));
  if (new Set(axes).size !== axes.length) fail(op, `axes [${raw.join(', ')}] repeat an axis of ${formatShape(shape)}`, { axes: raw });
  return axes;
}

function reducedShape<D extends Dim>(shape: readonly D[], axes: readonly number[], keepDims: boolean): (D | 1)[] {
  const out: (D | 1)[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

function reduceOp(name: string, row: ReduceRow): OpDef {
  return defineOp({
    name,
    arity: 1,
    attrs: { axes: { kind: 'ints', default: [] }, keepDims: { kind: 'bool', default: false } },
    infer: ([x], attrs) => {
      expectDtype(name, 'x', x, row.dtype);
      const axes = reduceAxes(name, x.shape, attrs);
      return [tensor(reducedShape(x.shape, axes, attrBool(name, attrs, 'keepDims')), x.dtype)];
    },
    reference: ([x], attrs, ctx) => {
      const axes = reduceAxes(name, x.shape, attrs);
      const out = alloc(ctx, reducedShape(x.shape, axes, attrBool(name, attrs, 'keepDims')), x.dtype);
      // Where each input element lands: the kept dims' output strides, 0 along reduced dims.
      const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const ks = stridesOf(kept);
      const dst = gatherOffsets(x.shape, ks.map((s, i) => (axes.includes(i) ? 0 : s)), 0);
      const step = x.dtype === 'int32' && row.int ? row.int : row.step;
      const acc = new Float64Array(out.data.length).fill(row.init);
      for (let i = 0; i < dst.length; i++) acc[dst[i]] = step(acc[dst[i]], x.data[i]);
      const count = sizeOf(axes.map((a) => x.shape[a]));
      const finish = row.finish;
      if (finish) acc.forEach((a, i) => (acc[i] = finish(a, count)));
      out.data.set(acc);
      return [out];
    },
  });
}

/** Splits a shape around one axis: element (o, k, i) is at (o·dim + k)·inner + i. */
function lanes(x: NDArray, axis: number): { outer: number; dim: number; inner: number } {
  return { outer: sizeOf(x.shape.slice(0, axis)), dim: x.shape[axis], inner: sizeOf(x.shape.slice(axis + 1)) };
}

/** softmax (log = false) or logSoftmax along one axis, max subtracted first. */
function softmaxRef(x: NDArray, axis: number, out: NDArray, log: boolean): void {
  const { outer, dim, inner } = lanes(x, axis);
  const src = x.data;
  const dst = out.data;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * dim * inner + i;
      let max = -Infinity;
      for (let k = 0; k < dim; k++) max = Math.max(max, src[base + k * inner]);
      let sum = 0;
      for (let k = 0; k < dim; k++) sum += Math.exp(src[base + k * inner] - max);
      const logSum = Math.log(sum);
      for (let k = 0; k < dim; k++) {
        const z = src[base + k * inner] - max;
        dst[base + k * inner] = log ? z - logSum : Math.exp(z) / sum;
      }
    }
  }
}

function softmaxOp(name: 'softmax' | 'logSoftmax'): OpDef {
  return defineOp({
    name,
    arity: 1,
    attrs: { axis: { kind: 'int', default: -1 } },
    infer: ([x], attrs) => {
      expectDtype(name, 'x', x, 'float');
      normalizeAxis(name, attrInt(name, attrs, 'axis'), x.shape);
      return [tensor(x.shape, x.dtype)];
    },
    reference: ([x], attrs, ctx) => {
      const out = alloc(ctx, x.shape, x.dtype);
      softmaxRef(x, normalizeAxis(name, attrInt(name, attrs, 'axis'), x.shape), out, name === 'logSoftmax');
      return [out];
    },
  });
}

const argMax = defineOp({
  name: 'argMax',
  arity: 1,
  attrs: { axis: { kind: 'int' } },
  infer: ([x], attrs) => {
    expectDtype('argMax', 'x', x, 'numeric');
    const axis = normalizeAxis('argMax', attrInt('argMax', attrs, 'axis'), x.shape);
    return [tensor(x.shape.filter((_, i) => i !== axis), 'int32')];
  },
  reference: ([x], attrs, ctx) => {
    const axis = normalizeAxis('argMax', attrInt('argMax', attrs, 'axis'), x.shape);
    const out = alloc(ctx, x.shape.filter((_, i) => i !== axis), 'int32');
    const { outer, dim, inner } = lanes(x, axis);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * dim * inner + i;
        let best = 0;
        // Strict > keeps the first maximum.
        for (let k = 1; k < dim; k++) if (x.data[base + k * inner] > x.data[base + best * inner]) best = k;
        out.data[o * inner + i] = best;
      }
    }
    return [out];
  },
});

/** Registry rows for the reductions, argMax, softmax and logSoftmax. */
export const reduceOps: OpDef[] = [
  ...Object.entries(REDUCE).map(([name, row]) => reduceOp(name, row)),
  argMax,
  softmaxOp('softmax'),
  softmaxOp('logSoftmax'),
];
