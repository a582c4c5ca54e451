/**
 * Merge layers, called on a list of tensors: Add, Subtract, Multiply, Average, Maximum, Minimum
 * (elementwise, with Keras's broadcasting of sample shapes) and Concatenate. One base class; each
 * elementwise layer is a row of a table (how to fold its inputs, how many it takes).
 */
import type { Dim } from '../../ir/types.js';
import { formatShape, ModelError, ShapeError } from '../../ir/errors.js';
import { Layer, type LayerArgs } from '../layer.js';
import * as ops from '../ops.js';
import type { SymbolicTensor } from '../symbolic.js';

/** How an elementwise merge combines its inputs, and how many it accepts. */
export interface MergeRule {
  readonly fold: (xs: SymbolicTensor[]) => SymbolicTensor;
  readonly minInputs: number;
  readonly maxInputs: number;
}

const chain = (f: (a: SymbolicTensor, b: SymbolicTensor) => SymbolicTensor) => (xs: SymbolicTensor[]) =>
  xs.slice(1).reduce((acc, x) => f(acc, x), xs[0]);
const many = (fold: MergeRule['fold']): MergeRule => ({ fold, minInputs: 2, maxInputs: Infinity });

/** Every elementwise merge, by Keras class name. */
export const MERGE_RULES = {
  Add: many(chain(ops.add)),
  Subtract: { fold: chain(ops.sub), minInputs: 2, maxInputs: 2 },
  Multiply: many(chain(ops.mul)),
  Average: many((xs) => ops.div(chain(ops.add)(xs), xs.length)),
  Maximum: many(chain(ops.maximum)),
  Minimum: many(chain(ops.minimum)),
} satisfies Record<string, MergeRule>;

/** "(a), (b) and (c)": every input shape, for error messages. */
function listShapes(shapes: readonly Dim[][]): string {
  const f = shapes.map(formatShape);
  return f.length < 2 ? f.join('') : `${f.slice(0, -1).join(', ')} and ${f.at(-1)}`;
}

/** Keras's merge rule for one pair of dims: equal, or one is 1; unknown (null) fits anything. */
function mergeDims(a: Dim, b: Dim): Dim | undefined {
  if (a === null || b === null) return null;
  if (a === 1 || b === 1 || a === b) return a === 1 ? b : a;
  return undefined;
}

/**
 * Base of the merge layers: checks that it is called on a list of the right length, checks the
 * shapes (`checkShapes`), then combines the inputs (`merge`).
 */
export abstract class Merge extends Layer {
  /** The elementwise rule; Concatenate overrides `checkShapes` and `merge` instead. */
  protected abstract readonly rule: MergeRule;

  override call(inputs: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
    if (!Array.isArray(inputs)) {
      throw new ModelError(`a merge layer must be called on a list of tensors, got one tensor of shape ${formatShape((inputs as SymbolicTensor).shape)}`);
    }
    const shapes = inputs.map((t) => t.shape);
    const { minInputs, maxInputs } = this.rule;
    if (inputs.length < minInputs || inputs.length > maxInputs) {
      const want = minInputs === maxInputs ? `exactly ${minInputs}` : `at least ${minInputs}`;
      throw new ModelError(`expects ${want} inputs, got ${inputs.length}: ${listShapes(shapes)}`);
    }
    this.checkShapes(shapes);
    return this.merge(inputs);
  }

  /** Keras's elementwise check: batch sizes agree, sample shapes broadcast (right-aligned). */
  protected checkShapes(shapes: Dim[][]): void {
    const batches = new Set(shapes.map((s) => s[0]).filter((d) => d !== null && d !== undefined));
    if (batches.size > 1) throw new ShapeError(`inputs have different batch sizes: ${listShapes(shapes)}`);
    shapes.reduce<Dim[]>((acc, s) => {
      const [long, short] = acc.length >= s.length - 1 ? [acc, s.slice(1)] : [s.slice(1), acc];
      const head = long.slice(0, long.length - short.length);
      const tail = short.map((d, i) => mergeDims(long[head.length + i], d));
      if (tail.includes(undefined)) throw new ShapeError(`inputs have incompatible shapes ${listShapes(shapes)}`);
      return [...head, ...(tail as Dim[])];
    }, shapes[0].slice(1));
  }

  /** Combines checked inputs; lower-rank inputs first get size-1 axes after the batch, as Keras does. */
  protected merge(inputs: SymbolicTensor[]): SymbolicTensor {
    const rank = Math.max(...inputs.map((t) => t.rank));
    return this.rule.fold(inputs.map((t) => (t.rank === rank ? t : expandAfterBatch(t, rank))));
  }
}

/** Inserts size-1 axes after the batch until `x` has `rank` axes. */
function expandAfterBatch(x: SymbolicTensor, rank: number): SymbolicTensor {
  const ones = new Array<number>(rank - x.rank).fill(1);
  const [batch, ...rest] = x.shape;
  if (rest.every((d) => d !== null)) return ops.reshape(x, [-1, ...ones, ...(rest as number[])]);
  if (batch !== null && rest.filter((d) => d === null).length === 1) return ops.reshape(x, [batch, ...ones, ...rest.map((d) => d ?? -1)]);
  throw new ShapeError(`cannot broadcast input ${formatShape(x.shape)} to rank ${rank}: too many unknown dims to reshape it`);
}

/** Sums its inputs elementwise. */
export class Add extends Merge {
  static override className = 'Add';
  protected readonly rule = MERGE_RULES.Add;
}

/** Subtracts its second input from its first (exactly two inputs). */
export class Subtract extends Merge {
  static override className = 'Subtract';
  protected readonly rule = MERGE_RULES.Subtract;
}

/** Multiplies its inputs elementwise. */
export class Multiply extends Merge {
  static override className = 'Multiply';
  protected readonly rule = MERGE_RULES.Multiply;
}

/** Averages its inputs elementwise. */
export class Average extends Merge {
  static override className = 'Average';
  protected readonly rule = MERGE_RULES.Average;
}

/** Elementwise maximum of its inputs. */
export class Maximum extends Merge {
  static override className = 'Maximum';
  protected readonly rule = MERGE_RULES.Maximum;
}

/** Elementwise minimum of its inputs. */
export class Minimum extends Merge {
  static override className = 'Minimum';
  protected readonly rule = MERGE_RULES.Minimum;
}

/** Options of Concatenate. */
export interface ConcatenateArgs extends LayerArgs {
  /** Axis to join along, counting the batch as axis 0; negative counts from the end. Default -1. */
  axis?: number;
}

/** Joins its inputs along `axis`; every other dim must match. */
export class Concatenate extends Merge {
  static override className = 'Concatenate';
  protected readonly rule: MergeRule = { fold: (xs) => ops.concat(xs, this.axis), minInputs: 2, maxInputs: Infinity };
  readonly axis: number;

  constructor(axis: number | ConcatenateArgs = {}, args: ConcatenateArgs = {}) {
    const a = typeof axis === 'number' ? { ...args, axis } : axis;
    super(a);
    if (a.axis !== undefined && !Number.isInteger(a.axis)) throw new ModelError(`Concatenate '${this.name}': axis must be an integer, got ${JSON.stringify(a.axis)}`, { layer: this.name });
    this.axis = a.axis ?? -1;
  }

  protected override checkShapes(shapes: Dim[][]): void {
    const rank = shapes[0].length;
    const all = listShapes(shapes);
    if (shapes.some((s) => s.length !== rank)) throw new ShapeError(`inputs must all have the same rank, got shapes ${all}`);
    const axis = this.axis < 0 ? this.axis + rank : this.axis;
    if (axis < 0 || axis >= rank) throw new ShapeError(`axis ${this.axis} is out of range for inputs of rank ${rank}: ${all}`);
    for (let i = 0; i < rank; i++) {
      const known = new Set(shapes.map((s) => s[i]).filter((d) => d !== null));
      if (i !== axis && known.size > 1) throw new ShapeError(`inputs must match on every axis but the concat axis ${this.axis}, got shapes ${all}`);
    }
  }

  protected override merge(inputs: SymbolicTensor[]): SymbolicTensor {
    return this.rule.fold(inputs);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis };
  }
}
