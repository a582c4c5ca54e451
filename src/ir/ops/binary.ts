/** Elementwise binary ops with NumPy broadcasting: one data table, name → scalar function. */
import type { OpDef } from '../registry.js';
import type { DType } from '../types.js';
import { defineOp, expectDtype, expectSameDtype, tensor, type DtypeClass } from './common.js';
import { alloc, at, broadcastMap, broadcastShapes } from './indexing.js';

/** One row of the binary table. */
export interface BinaryRow {
  /** Scalar function on doubles (floats, and ints where `int` is absent). */
  readonly fn: (a: number, b: number) => number;
  /** int32 version where double arithmetic would not wrap like 32-bit integers. */
  readonly int?: (a: number, b: number) => number;
  /** Dtype class both inputs share. */
  readonly dtype: DtypeClass;
  /** Output dtype: the inputs' (default) or bool for comparisons. */
  readonly out?: 'bool';
}

const b01 = (c: boolean) => (c ? 1 : 0);

/** int32 division floors like TF.js's tf.div on int32 (floorDiv); x/0 is 0 rather than undefined. */
function intDiv(a: number, b: number): number {
  return b === 0 ? 0 : Math.floor(a / b);
}

/** The binary table (docs/ops.md). Results are stored through typed arrays, so int32 wraps mod 2³². */
export const BINARY: Readonly<Record<string, BinaryRow>> = {
  add: { fn: (a, b) => a + b, dtype: 'numeric' },
  sub: { fn: (a, b) => a - b, dtype: 'numeric' },
  mul: { fn: (a, b) => a * b, int: Math.imul, dtype: 'numeric' },
  div: { fn: (a, b) => a / b, int: intDiv, dtype: 'numeric' },
  pow: { fn: Math.pow, dtype: 'numeric' },
  maximum: { fn: Math.max, dtype: 'numeric' },
  minimum: { fn: Math.min, dtype: 'numeric' },
  squaredDifference: { fn: (a, b) => (a - b) * (a - b), int: (a, b) => Math.imul((a - b) | 0, (a - b) | 0), dtype: 'numeric' },
  equal: { fn: (a, b) => b01(a === b), dtype: 'any', out: 'bool' },
  notEqual: { fn: (a, b) => b01(a !== b), dtype: 'any', out: 'bool' },
  less: { fn: (a, b) => b01(a < b), dtype: 'any', out: 'bool' },
  lessEqual: { fn: (a, b) => b01(a <= b), dtype: 'any', out: 'bool' },
  greater: { fn: (a, b) => b01(a > b), dtype: 'any', out: 'bool' },
  greaterEqual: { fn: (a, b) => b01(a >= b), dtype: 'any', out: 'bool' },
  // relu's gradient: dy (a) where relu's output (b) is positive, as TF's ReluGrad; one op, so it fuses into epilogues.
  reluGrad: { fn: (a, b) => (b > 0 ? a : 0), dtype: 'float' },
  logicalAnd: { fn: (a, b) => b01(a !== 0 && b !== 0), dtype: 'bool' },
  logicalOr: { fn: (a, b) => b01(a !== 0 || b !== 0), dtype: 'bool' },
};

function binaryOp(name: string, row: BinaryRow): OpDef {
  const outDtype = (d: DType): DType => (row.out === 'bool' ? 'bool' : d);
  return defineOp({
    name,
    arity: 2,
    attrs: {},
    infer: ([a, b]) => {
      expectDtype(name, 'a', a, row.dtype);
      expectDtype(name, 'b', b, row.dtype);
      expectSameDtype(name, a, b);
      return [tensor(broadcastShapes(name, [a.shape, b.shape], ['a', 'b']), outDtype(a.dtype))];
    },
    reference: ([a, b], _, ctx) => {
      const shape = broadcastShapes(name, [a.shape, b.shape], ['a', 'b']) as number[];
      const out = alloc(ctx, shape, outDtype(a.dtype));
      const fn = a.dtype === 'int32' && row.int ? row.int : row.fn;
      const ma = broadcastMap(a.shape, shape);
      const mb = broadcastMap(b.shape, shape);
      const da = a.data;
      const db = b.data;
      const dst = out.data;
      for (let i = 0; i < dst.length; i++) dst[i] = fn(da[at(ma, i)], db[at(mb, i)]);
      return [out];
    },
  });
}

/** Registry rows built from the binary table. */
export const binaryOps: OpDef[] = Object.entries(BINARY).map(([name, row]) => binaryOp(name, row));
