import type { DType } from '../ir/types.js';
import { formatShape, ModelError } from '../ir/errors.js';
import type { Regularizer } from './regularizers.js';
import { emitSource, type SymbolicTensor } from './symbolic.js';
import { uniqueName } from './scopes.js';

/** Something that owns variables and can be frozen (a layer); kept abstract to avoid an import cycle. */
export interface VariableOwner {
  readonly name: string;
  readonly trainable: boolean;
}

/** Options of a new variable. */
export interface VariableOptions {
  readonly dtype?: DType;
  readonly trainable?: boolean;
  readonly regularizer?: Regularizer | null;
}

const variableOfNode = new Map<number, LayerVariable>();

/**
 * A layer's weight: a full Keras name (`block1/fc/kernel`), a shape, a value held on the host,
 * and the `weight` node that reads it in traced graphs. Every call of the layer reads this one node,
 * which is how a shared layer shares its weights.
 */
export class LayerVariable {
  readonly name: string;
  readonly tensor: SymbolicTensor;
  private data: Float32Array;
  private writes = 0;

  constructor(
    name: string,
    readonly shape: readonly number[],
    value: Float32Array,
    readonly owner: VariableOwner,
    private readonly options: VariableOptions = {},
  ) {
    this.name = uniqueName(name, 'variable');
    this.data = value;
    this.checkSize(value);
    this.tensor = emitSource('weight', { name: this.name, shape: [...shape], dtype: this.dtype, trainable: this.options.trainable ?? true }, this.name);
    variableOfNode.set(this.tensor.node.id, this);
  }

  get dtype(): DType {
    return this.options.dtype ?? 'float32';
  }
  /** Trainable unless created non-trainable (moving statistics) or its layer is frozen. */
  get trainable(): boolean {
    return (this.options.trainable ?? true) && this.owner.trainable;
  }
  get regularizer(): Regularizer | null {
    return this.options.regularizer ?? null;
  }
  get size(): number {
    return this.data.length;
  }

  /** How many times the value was replaced: compiled inference that folded the value in is stale once it moves. */
  get version(): number {
    return this.writes;
  }

  /** A copy of the current value. */
  read(): Float32Array {
    return this.data.slice();
  }

  /** Replaces the value; the length must match the shape. */
  write(value: Float32Array | readonly number[]): void {
    const next = Float32Array.from(value);
    this.checkSize(next);
    this.data = next;
    this.writes++;
  }

  private checkSize(value: Float32Array): void {
    const size = this.shape.reduce((a, b) => a * b, 1);
    if (value.length !== size) {
      throw new ModelError(`weight '${this.name}' has shape ${formatShape(this.shape)} (${size} values), got ${value.length} values`, { weight: this.name });
    }
  }
}

/** The variable a traced `weight` node reads, if it is one. */
export function variableOf(nodeId: number): LayerVariable | undefined {
  return variableOfNode.get(nodeId);
}
