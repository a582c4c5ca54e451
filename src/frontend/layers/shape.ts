/** Layers that only move data: Flatten, Reshape, Permute (Keras semantics, TF.js config names). */
import { formatShape, ModelError, ShapeError } from '../../ir/errors.js';
import { Layer, type LayerArgs } from '../layer.js';
import * as ops from '../ops.js';
import type { SymbolicTensor } from '../symbolic.js';

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Options of Flatten. */
export interface FlattenArgs extends LayerArgs {
  /** Only 'channelsLast' is supported (kiln's images are NHWC). */
  dataFormat?: 'channelsLast' | 'channelsFirst';
}

/** Flattens every axis but the batch into one: `(batch, ...)` → `(batch, product)`. */
export class Flatten extends Layer {
  static override className = 'Flatten';
  readonly dataFormat: 'channelsLast';

  constructor(dataFormat: FlattenArgs | FlattenArgs['dataFormat'] = {}, args: FlattenArgs = {}) {
    const a = typeof dataFormat === 'string' ? { ...args, dataFormat } : (dataFormat ?? {});
    super(a);
    const df = a.dataFormat ?? 'channelsLast';
    if (df !== 'channelsLast') throw new ModelError(`Flatten '${this.name}': dataFormat must be 'channelsLast' (kiln is NHWC), got ${JSON.stringify(df)}`, { layer: this.name });
    this.dataFormat = df;
    this.inputSpec = { minNdim: 1 };
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    const rest = x.shape.slice(1);
    if (rest.some((d) => d === null)) {
      throw new ShapeError(`the shape of the input is not fully defined: got ${formatShape(x.shape)}; give every non-batch dim (a complete inputShape or batchInputShape)`);
    }
    // A rank-1 input becomes (batch, 1), as Keras does.
    return ops.reshape(x, [-1, product(rest as number[])]);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), dataFormat: this.dataFormat };
  }
}

/** Options of Reshape. */
export interface ReshapeArgs extends LayerArgs {
  /** Shape of one sample, without the batch; may contain one -1, inferred from the input size. */
  targetShape?: number[];
}

/** Reshapes each sample to `targetShape`; the batch axis stays. */
export class Reshape extends Layer {
  static override className = 'Reshape';
  readonly targetShape: number[];

  constructor(targetShape: number[] | ReshapeArgs, args: ReshapeArgs = {}) {
    const a = Array.isArray(targetShape) ? { ...args, targetShape } : targetShape;
    super(a);
    const t = a.targetShape;
    if (!Array.isArray(t) || t.some((d) => !Number.isInteger(d) || (d < 1 && d !== -1))) {
      throw new ModelError(`Reshape '${this.name}': targetShape must be a list of positive integers (one may be -1), got ${JSON.stringify(t)}`, { layer: this.name });
    }
    if (t.filter((d) => d === -1).length > 1) throw new ModelError(`Reshape '${this.name}': targetShape may contain only one -1, got ${JSON.stringify(t)}`, { layer: this.name });
    this.targetShape = [...t];
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    const rest = x.shape.slice(1);
    const target = this.targetShape;
    const hole = target.indexOf(-1);
    const known = product(target.filter((d) => d !== -1));
    const mismatch = (why: string): never => {
      throw new ShapeError(`cannot reshape input ${formatShape(x.shape)} to target shape ${formatShape(target)}: ${why}`);
    };
    if (rest.every((d) => d !== null)) {
      const size = product(rest as number[]);
      if (hole < 0 && size !== known) mismatch(`a sample has ${size} elements, the target ${known}`);
      if (hole >= 0 && (known === 0 || size % known !== 0)) mismatch(`a sample has ${size} elements, not a multiple of ${known}`);
      const resolved = target.map((d) => (d === -1 ? size / known : d));
      return ops.reshape(x, [-1, ...resolved]);
    }
    if (hole < 0) return ops.reshape(x, [-1, ...target]);
    // Two unknowns (batch and -1) need a known batch; Keras would resolve both at run time.
    const batch = x.shape[0];
    if (batch === null) mismatch('the -1 cannot be inferred while both the batch and a sample dim are unknown');
    return ops.reshape(x, [batch as number, ...target]);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), targetShape: [...this.targetShape] };
  }
}

/** Options of Permute. */
export interface PermuteArgs extends LayerArgs {
  /** Permutation of the non-batch axes, 1-based as in Keras: `[2, 1]` swaps the two axes after the batch. */
  dims?: number[];
}

/** Permutes the non-batch axes: output axis i (1-based) is input axis `dims[i − 1]`. */
export class Permute extends Layer {
  static override className = 'Permute';
  readonly dims: number[];

  constructor(dims: number[] | PermuteArgs, args: PermuteArgs = {}) {
    const a = Array.isArray(dims) ? { ...args, dims } : dims;
    super(a);
    const d = a.dims;
    const sorted = Array.isArray(d) ? [...d].sort((p, q) => p - q) : [];
    if (!Array.isArray(d) || d.length === 0 || sorted.some((v, i) => v !== i + 1)) {
      throw new ModelError(`Permute '${this.name}': dims must be a permutation of 1..n over the non-batch axes (1-based), got ${JSON.stringify(d)}`, { layer: this.name });
    }
    this.dims = [...d];
    this.inputSpec = { ndim: d.length + 1 };
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    return ops.transpose(x, [0, ...this.dims]);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), dims: [...this.dims] };
  }
}
