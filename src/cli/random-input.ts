/** Seeded random inputs for a model (never zeros), and checksums of outputs, for `kiln run` and tests. */
import type { NDArray } from '../ir/ndarray.js';
import { LEARNING_PHASE, type DType } from '../ir/types.js';
import type { Model } from '../frontend/model.js';
import { Prng } from '../frontend/prng.js';

/** A generated input: its graph name and how it was drawn, for printing. */
export interface RandomInput {
  readonly name: string;
  readonly value: NDArray;
  readonly how: string;
}

/** Size used for unknown dims other than the batch (a sequence length, say). */
export const OTHER_UNKNOWN_DIM = 4;

/** Upper bound (exclusive) for int32 inputs: small ints, below every Embedding's inputDim in the model. */
function intBound(model: Model): number {
  let bound = 10;
  for (const layer of model.layers) {
    const dim = (layer as unknown as { inputDim?: unknown }).inputDim;
    if (typeof dim === 'number' && dim > 0) bound = Math.min(bound, dim);
  }
  return bound;
}

/**
 * One random array per model input, in input order: floats uniform in [-1, 1) (never exactly 0),
 * int32 in [0, n) with n small and below every Embedding's vocabulary, bools 0/1. The first unknown
 * dim is the batch; any other unknown dim gets OTHER_UNKNOWN_DIM.
 */
export function randomInputs(model: Model, options: { batch?: number; seed?: number } = {}): RandomInput[] {
  const batch = options.batch ?? 2;
  const prng = new Prng(options.seed ?? 0);
  const nodes = model.toGraph().nodes.filter((n) => n.op === 'input' && n.attrs.name !== LEARNING_PHASE).slice(0, model.inputs.length);
  return nodes.map((node) => {
    const type = node.outputs[0];
    let seenBatch = false;
    const shape = type.shape.map((d) => {
      if (d !== null) return d;
      if (seenBatch) return OTHER_UNKNOWN_DIM;
      seenBatch = true;
      return batch;
    });
    const size = shape.reduce((a, b) => a * b, 1);
    const { data, how } = draw(type.dtype, size, prng, intBound(model));
    return { name: node.attrs.name as string, value: { shape, dtype: type.dtype, data }, how };
  });
}

function draw(dtype: DType, size: number, prng: Prng, n: number): { data: NDArray['data']; how: string } {
  if (dtype === 'int32') return { data: Int32Array.from({ length: size }, () => Math.floor(prng.uniform(0, n))), how: `integers in [0, ${n})` };
  if (dtype === 'bool') return { data: Uint8Array.from({ length: size }, () => (prng.uniform() < 0.5 ? 0 : 1)), how: 'booleans' };
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    let x = 0;
    while (x === 0) x = prng.uniform(-1, 1);
    data[i] = x;
  }
  return { data, how: 'uniform in [-1, 1)' };
}

/** Sum, sum of absolute values, and the first values of an array. */
export interface Checksum {
  readonly sum: number;
  readonly absSum: number;
  readonly first: number[];
  readonly nonFinite: number;
}

/** Checksum of an output, in float64. */
export function checksum(x: NDArray, firstCount = 6): Checksum {
  let sum = 0;
  let absSum = 0;
  let nonFinite = 0;
  for (let i = 0; i < x.data.length; i++) {
    const v = x.data[i];
    if (!Number.isFinite(v)) nonFinite++;
    sum += v;
    absSum += Math.abs(v);
  }
  return { sum, absSum, first: Array.from(x.data.subarray(0, firstCount)), nonFinite };
}

/** A number for printing: integers as they are, others with 8 significant digits. */
export function fmtNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  if (!Number.isFinite(x)) return String(x);
  return Number(x.toPrecision(8)).toString();
}
