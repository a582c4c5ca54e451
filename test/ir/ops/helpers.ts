/** Test helpers for op specs: a seeded PRNG, concrete tensors, running a registry row, closeness checks, TF.js bridging. */
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '../../../src/ir/ops/index.js';
import { getOp, type RefContext } from '../../../src/ir/registry.js';
import { allocStorage, sizeOf, type NDArray, type Precision } from '../../../src/ir/ndarray.js';
import type { Attrs, Dim, DType, TensorType } from '../../../src/ir/types.js';

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random floats in [lo, hi), never exactly zero (zeros hide unwritten outputs and wrong signs), and
 * exactly representable in float32 so the reference and a float32 oracle see the same inputs.
 */
export function randoms(next: () => number, n: number, lo = -2, hi = 2): number[] {
  return Array.from({ length: n }, () => {
    const v = Math.fround(lo + (hi - lo) * next());
    return v === 0 ? 0.5 : v;
  });
}

/** Random int32 values in [lo, hi). */
export function randomInts(next: () => number, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + Math.floor((hi - lo) * next()));
}

/** A concrete tensor (float64 storage for floats, so the reference sees exact inputs). */
export function nd(shape: readonly number[], data: readonly number[], dtype: DType = 'float32'): NDArray {
  expect(data.length).toBe(sizeOf(shape));
  const storage = allocStorage(dtype, data.length, 'float64');
  storage.set(data);
  return { shape: [...shape], dtype, data: storage };
}

/** A random float tensor of a shape. */
export function randomNd(next: () => number, shape: readonly number[], lo = -2, hi = 2): NDArray {
  return nd(shape, randoms(next, sizeOf(shape), lo, hi));
}

/** The bool scalar that carries the learning phase. */
export function phase(training: boolean): NDArray {
  return nd([], [training ? 1 : 0], 'bool');
}

/** The RefContext the interpreter would pass. */
export function refContext(precision: Precision = 'float64'): RefContext {
  return { precision, alloc: (dtype, size) => allocStorage(dtype, size, precision) };
}

/** Runs an op's reference implementation, checking its outputs against its own infer. */
export function run(op: string, inputs: readonly NDArray[], attrs: Attrs = {}, precision: Precision = 'float64'): NDArray[] {
  const def = getOp(op);
  const outs = def.reference(inputs, attrs, refContext(precision));
  const types = def.infer(inputs.map((x) => ({ shape: x.shape, dtype: x.dtype })), attrs);
  expect(outs.map((o) => ({ shape: o.shape, dtype: o.dtype }))).toEqual(types.map((t) => ({ shape: t.shape, dtype: t.dtype })));
  return outs;
}

/** Runs an op with one output. */
export function run1(op: string, inputs: readonly NDArray[], attrs: Attrs = {}, precision: Precision = 'float64'): NDArray {
  return run(op, inputs, attrs, precision)[0];
}

/** Static inference shorthand. */
export function infer(op: string, inputs: readonly TensorType[], attrs: Attrs = {}): TensorType[] {
  return getOp(op).infer(inputs, attrs);
}

/** A static type. */
export function tt(shape: readonly Dim[], dtype: DType = 'float32'): TensorType {
  return { shape, dtype };
}

/** Closeness: |x − y| ≤ atol + rtol·|y| elementwise, NaN only where the expectation has NaN. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: { rtol: number; atol: number }): void {
  expect(got.length, 'length').toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [x, y] = [got[i], want[i]];
    if (Number.isNaN(y) || Number.isNaN(x)) {
      expect(Number.isNaN(x), `element ${i}: got ${x}, want ${y}`).toBe(Number.isNaN(y));
      continue;
    }
    if (x === y) continue; // covers matching infinities
    if (!(Math.abs(x - y) <= tol.atol + tol.rtol * Math.abs(y))) {
      expect.fail(`element ${i}: got ${x}, want ${y} (|diff| ${Math.abs(x - y)} > ${tol.atol} + ${tol.rtol}·|want|)`);
    }
  }
}

/** A tolerance for comparing the float64 reference against TF.js float32 kernels. */
export const F32 = { rtol: 1e-5, atol: 1e-5 };

let backendReady: Promise<boolean> | null = null;

/** TF.js on its CPU backend: the oracle. */
export async function tfReady(): Promise<typeof tf> {
  backendReady ??= tf.setBackend('cpu');
  await backendReady;
  return tf;
}

/** An NDArray as a TF.js tensor. */
export function toTf(x: NDArray): tf.Tensor {
  const dtype = x.dtype === 'float16' ? 'float32' : x.dtype;
  return tf.tensor(Array.from(x.data), [...x.shape], dtype);
}

/** Runs a TF.js computation and returns its flat values. */
export function tfValues(fn: () => tf.Tensor): Float64Array {
  const t = tf.tidy(fn);
  const out = Float64Array.from(t.dataSync());
  t.dispose();
  return out;
}

/** Expects `fn` to throw a ShapeError whose message contains every fragment. */
export function expectShapeError(fn: () => unknown, ...fragments: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a ShapeError').toBeInstanceOf(Error);
  expect((err as Error).name).toBe('ShapeError');
  for (const f of fragments) expect((err as Error).message).toContain(f);
}
