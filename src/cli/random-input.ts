/** Seeded random inputs for a model (never zeros), and checksums of outputs, for `kiln run` and tests. */
import type { NDArray } from '../ir/ndarray.js';
import { formatShape } from '../ir/errors.js';
import { LEARNING_PHASE, type DType, type Graph, type Node } from '../ir/types.js';
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

/** Upper bound (exclusive) for int32 inputs: small ints, so that any index is valid in any vocabulary. */
export const INT_BOUND = 10;

/** Upper bound (exclusive) for int32 inputs: small ints, below every Embedding's inputDim in the model. */
export function intBound(model: Model): number {
  let bound = INT_BOUND;
  for (const layer of model.layers) {
    const dim = (layer as unknown as { inputDim?: unknown }).inputDim;
    if (typeof dim === 'number' && dim > 0) bound = Math.min(bound, dim);
  }
  return bound;
}

/** Upper bound for int32 inputs of a compiled graph: below the gathered axis of every gather (an Embedding's table). */
export function graphIntBound(graph: Graph): number {
  let bound = INT_BOUND;
  const visit = (nodes: readonly Node[]) => {
    for (const n of nodes) {
      if (n.op === 'gather') {
        const params = nodes.find((m) => m.id === n.inputs[0].node)?.outputs[n.inputs[0].output];
        const rank = params?.shape.length ?? 0;
        const axis = Number(n.attrs.axis ?? 0);
        const dim = params?.shape[axis < 0 ? axis + rank : axis];
        if (typeof dim === 'number' && dim > 0) bound = Math.min(bound, dim);
      }
      const body = (n.attrs as { body?: { nodes?: readonly Node[] } }).body;
      if (n.op === 'fused' && body?.nodes) visit(body.nodes);
    }
  };
  visit(graph.nodes);
  return bound;
}

/** What a random input is drawn for: a name, a static shape and a dtype. */
export interface InputSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/**
 * One random array per spec, in order, from one seeded stream: floats uniform in [-1, 1) (never
 * exactly 0), int32 in [0, intBound), bools 0/1. The same seed and shapes give the same values
 * whether they feed a model file or its compiled bundle.
 */
export function randomFeeds(specs: readonly InputSpec[], options: { seed?: number; intBound?: number } = {}): RandomInput[] {
  const prng = new Prng(options.seed ?? 0);
  return specs.map((s) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const { data, how } = draw(s.dtype, size, prng, options.intBound ?? INT_BOUND);
    return { name: s.name, value: { shape: [...s.shape], dtype: s.dtype, data }, how };
  });
}

/**
 * One random array per model input, in input order: floats uniform in [-1, 1) (never exactly 0),
 * int32 in [0, n) with n small and below every Embedding's vocabulary, bools 0/1. The first unknown
 * dim is the batch; any other unknown dim gets OTHER_UNKNOWN_DIM.
 */
export function randomInputs(model: Model, options: { batch?: number; seed?: number } = {}): RandomInput[] {
  const batch = options.batch ?? 2;
  const nodes = model.toGraph().nodes.filter((n) => n.op === 'input' && n.attrs.name !== LEARNING_PHASE).slice(0, model.inputs.length);
  const specs = nodes.map((node) => {
    const type = node.outputs[0];
    let seenBatch = false;
    const shape = type.shape.map((d) => {
      if (d !== null) return d;
      if (seenBatch) return OTHER_UNKNOWN_DIM;
      seenBatch = true;
      return batch;
    });
    return { name: node.attrs.name as string, shape, dtype: type.dtype };
  });
  return randomFeeds(specs, { seed: options.seed, intBound: intBound(model) });
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

/** The lines `kiln run` prints for one output: name, shape, dtype, then its checksum. */
export function outputLines(name: string, value: NDArray): string[] {
  const c = checksum(value);
  const lines = [
    `output '${name}': ${formatShape(value.shape)} ${value.dtype}`,
    `  sum ${fmtNumber(c.sum)}  sum|x| ${fmtNumber(c.absSum)}  first [${c.first.map(fmtNumber).join(', ')}${value.data.length > c.first.length ? ', ...' : ''}]`,
  ];
  if (c.nonFinite) lines.push(`  warning: ${c.nonFinite} non-finite value(s)`);
  return lines;
}
