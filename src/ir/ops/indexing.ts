import type { Dim, DType } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { sizeOf, stridesOf } from '../ndarray.js';
import type { RefContext } from '../registry.js';
import { formatShape } from '../errors.js';
import { fail } from './common.js';

/** A fresh output tensor with storage from the interpreter (its precision for floats). */
export function alloc(ctx: RefContext, shape: readonly number[], dtype: DType): NDArray {
  return { shape: [...shape], dtype, data: ctx.alloc(dtype, sizeOf(shape)) };
}

/** One broadcast dim pair; null where unknown. Returns undefined when the pair cannot broadcast. */
function broadcastDim(a: Dim, b: Dim): Dim | undefined {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === null) return b;
  if (b === null) return a;
  return a === b ? a : undefined;
}

/**
 * NumPy broadcasting of any number of shapes (right-aligned; 1 stretches). An unknown dim next to a
 * known k > 1 is taken to be k (it must be 1 or k at run time). Mismatches name every shape.
 */
export function broadcastShapes(op: string, shapes: readonly (readonly Dim[])[], roles?: readonly string[]): Dim[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = new Array<Dim>(rank).fill(1);
  for (let i = 1; i <= rank; i++) {
    let acc: Dim = 1;
    for (const s of shapes) {
      const d = i <= s.length ? s[s.length - i] : 1;
      const r = broadcastDim(acc, d);
      if (r === undefined) {
        const named = shapes.map((sh, k) => `${roles?.[k] ?? `input ${k}`} ${formatShape(sh)}`).join(', ');
        fail(op, `shapes do not broadcast: ${named}`, { shapes });
      }
      acc = r;
    }
    out[rank - i] = acc;
  }
  return out;
}

/** Strides of `inShape` laid over `outShape` (right-aligned), 0 along broadcast dims. */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const s = stridesOf(inShape);
  const off = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < off || inShape[i - off] === 1 ? 0 : s[i - off]));
}

/**
 * For every flat index of `outShape`, the flat index of `inShape` it reads under broadcasting;
 * null when the shapes are equal (the identity map).
 */
export function broadcastMap(inShape: readonly number[], outShape: readonly number[]): Int32Array | null {
  if (inShape.length === outShape.length && inShape.every((d, i) => d === outShape[i])) return null;
  return gatherOffsets(outShape, broadcastStrides(inShape, outShape), 0);
}

/**
 * Offsets `base + Σ idx[i]·strides[i]` for every index of `shape`, in row-major order: the one
 * odometer behind broadcasting, transpose and slice.
 */
export function gatherOffsets(shape: readonly number[], strides: readonly number[], base: number): Int32Array {
  const n = sizeOf(shape);
  const out = new Int32Array(n);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let off = base;
  for (let flat = 0; flat < n; flat++) {
    out[flat] = off;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Reads `x.data` through an optional index map (null = identity). */
export function at(map: Int32Array | null, i: number): number {
  return map === null ? i : map[i];
}
