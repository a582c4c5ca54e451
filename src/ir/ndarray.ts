import type { DType } from './types.js';
import { InputError } from './errors.js';

/** Typed storage for one dtype. Floats are Float32Array or Float64Array depending on interpreter precision. */
export type Storage = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A concrete tensor: row-major data with a fully known shape. */
export interface NDArray {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly data: Storage;
}

/** Number of elements of a concrete shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a concrete shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Float precision the interpreter computes and stores in. */
export type Precision = 'float32' | 'float64';

/** Allocates storage of the right typed-array class for a dtype at a precision. */
export function allocStorage(dtype: DType, size: number, precision: Precision): Storage {
  if (dtype === 'int32') return new Int32Array(size);
  if (dtype === 'bool') return new Uint8Array(size);
  return precision === 'float64' ? new Float64Array(size) : new Float32Array(size);
}

/** Builds an NDArray, checking that data length matches the shape. */
export function ndarray(shape: readonly number[], dtype: DType, data: Storage | readonly number[], precision: Precision = 'float32'): NDArray {
  const size = sizeOf(shape);
  let storage: Storage;
  if (ArrayBuffer.isView(data)) storage = data as Storage;
  else {
    storage = allocStorage(dtype, data.length, precision);
    storage.set(data as number[]);
  }
  if (storage.length !== size) {
    throw new InputError(`tensor of shape [${shape.join(', ')}] needs ${size} elements, got ${storage.length}`, { shape, length: storage.length });
  }
  return { shape: [...shape], dtype, data: storage };
}

/** Converts a concrete tensor to the given float precision (ints and bools are left as they are). */
export function toPrecision(x: NDArray, precision: Precision): NDArray {
  if (x.dtype === 'int32' || x.dtype === 'bool') return x;
  const want = precision === 'float64' ? Float64Array : Float32Array;
  return x.data instanceof want ? x : { ...x, data: want.from(x.data as ArrayLike<number>) };
}
