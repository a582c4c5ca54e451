import { InputError } from '../ir/errors.js';
import { hashU32 } from '../ir/random.js';

/** Data for one model input or target: flat values, or `{ shape, data }`. */
export type ArrayData = Float32Array | Int32Array | readonly number[] | { readonly shape: readonly number[]; readonly data: ArrayLike<number> };

/** Data for all inputs (or targets): one array, a list in model order, or by name. */
export type DataArg = ArrayData | ArrayData[] | Record<string, ArrayData>;

/** One named tensor's samples, flat, with the size of one sample. */
export interface Column {
  readonly name: string;
  readonly data: Float32Array | Int32Array;
  readonly perSample: number;
  readonly dtype: 'float32' | 'int32';
}

const isArrayData = (x: unknown): x is ArrayData => ArrayBuffer.isView(x) || (Array.isArray(x) && (x.length === 0 || typeof x[0] === 'number')) || (typeof x === 'object' && x !== null && 'shape' in x && 'data' in x);

/**
 * Matches user data to named slots (`what` names them in errors: "input", "target"), checking every
 * slot gets whole samples and all agree on the sample count. Returns the columns and that count.
 */
export function toColumns(arg: DataArg, slots: readonly { name: string; perSample: number; dtype: string }[], what: string): { columns: Column[]; count: number } {
  let list: ArrayData[];
  if (isArrayData(arg)) list = [arg];
  else if (Array.isArray(arg)) list = arg as ArrayData[];
  else {
    const byName = arg as Record<string, ArrayData>;
    list = slots.map((s) => {
      if (!(s.name in byName)) throw new InputError(`no ${what} data for '${s.name}' (got ${Object.keys(byName).join(', ')})`, { [what]: s.name });
      return byName[s.name];
    });
  }
  if (list.length !== slots.length) throw new InputError(`expected ${slots.length} ${what} array(s) (${slots.map((s) => s.name).join(', ')}), got ${list.length}`);
  let count = -1;
  const columns = slots.map((s, i) => {
    const raw = list[i];
    const values = ArrayBuffer.isView(raw) || Array.isArray(raw) ? (raw as ArrayLike<number>) : (raw as { data: ArrayLike<number> }).data;
    const dtype: Column['dtype'] = s.dtype === 'float32' || s.dtype === 'float16' ? 'float32' : 'int32';
    const data = dtype === 'float32' ? (values instanceof Float32Array ? values : Float32Array.from(values)) : values instanceof Int32Array ? values : Int32Array.from(values);
    if (data.length % s.perSample !== 0) {
      throw new InputError(`${what} '${s.name}': ${data.length} values are not whole samples of ${s.perSample}`, { [what]: s.name });
    }
    const n = data.length / s.perSample;
    if (count >= 0 && n !== count) throw new InputError(`${what} '${s.name}' has ${n} samples, but the others have ${count}`, { [what]: s.name });
    count = n;
    return { name: s.name, data, perSample: s.perSample, dtype };
  });
  return { columns, count };
}

/** A seeded permutation of 0..n−1 (Fisher–Yates driven by the counter-based hash of src/ir/random.ts). */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n).map((_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    // High-quality bits scaled to [0, i]: an LCG's low bits (s % (i+1)) repeat with short periods.
    const j = Math.floor((hashU32(seed, i) / 4294967296) * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Copies the samples at `indices[from..from+count)` of a column into `out`. */
export function gather(column: Column, indices: ArrayLike<number>, from: number, count: number, out: Float32Array | Int32Array): void {
  const k = column.perSample;
  for (let r = 0; r < count; r++) {
    const src = indices[from + r] * k;
    out.set(column.data.subarray(src, src + k), r * k);
  }
}

/** The first `count` samples of a column, or its samples from `start`. */
export function sliceColumn(c: Column, start: number, end: number): Column {
  return { ...c, data: c.data.subarray(start * c.perSample, end * c.perSample) };
}
