import type { Attrs, DType, Dim, TensorType } from '../ir/types.js';
import { getOp, withDefaults } from '../ir/registry.js';
import { currentDevice } from './scopes.js';
import '../ir/ops/index.js';

let nextId = 0;

/** A node recorded while tracing: like an IR node, but holding its input tensors directly. */
export interface TraceNode {
  readonly id: number;
  readonly op: string;
  readonly inputs: readonly SymbolicTensor[];
  readonly attrs: Attrs;
  readonly outputs: readonly TensorType[];
  readonly name: string;
  readonly device?: string;
}

/** Where a tensor came from at the Keras level: which call of which layer, and which of its outputs. */
export interface KerasHistory {
  readonly call: import('./layer.js').LayerCall;
  readonly index: number;
}

/**
 * A tensor in a model definition: a shape (with null for the unknown batch), a dtype, and the node
 * that makes it. Layers are called on these; nothing is computed until the model is compiled or run.
 */
export class SymbolicTensor {
  /** Set when a layer call produced this tensor (used to walk the layer graph). */
  history?: KerasHistory;

  constructor(readonly node: TraceNode, readonly index: number) {}

  get type(): TensorType {
    return this.node.outputs[this.index];
  }
  get shape(): Dim[] {
    return [...this.type.shape];
  }
  get dtype(): DType {
    return this.type.dtype;
  }
  get rank(): number {
    return this.type.shape.length;
  }
  get name(): string {
    return this.node.outputs.length > 1 ? `${this.node.name}:${this.index}` : this.node.name;
  }
  toString(): string {
    return `SymbolicTensor(${this.name}, shape=[${this.shape.map((d) => d ?? 'None').join(', ')}], ${this.dtype})`;
  }
}

/** Layer-scoped prefix for op names, set by Layer.apply while a layer's `call` runs. */
let opPrefix = '';

/** The current op-name prefix (`model/dense/` while Dense runs inside a model's call). */
export function currentOpPrefix(): string {
  return opPrefix;
}

/** Runs `fn` with op names prefixed by `prefix` (e.g. `block1/dense/`). */
export function withOpPrefix<T>(prefix: string, fn: () => T): T {
  const saved = opPrefix;
  opPrefix = prefix;
  try {
    return fn();
  } finally {
    opPrefix = saved;
  }
}

/**
 * Records one op applied to symbolic tensors; shapes and dtypes come from the op registry, which
 * throws ShapeError at definition time when they do not fit.
 */
export function emit(op: string, inputs: readonly SymbolicTensor[], attrs: Attrs = {}, name?: string): SymbolicTensor[] {
  const def = getOp(op);
  const outputs = def.infer(inputs.map((t) => t.type), withDefaults(def, attrs));
  const device = currentDevice();
  const node: TraceNode = { id: nextId++, op, inputs, attrs, outputs, name: `${opPrefix}${name ?? op}`, ...(device ? { device } : {}) };
  return outputs.map((_, i) => new SymbolicTensor(node, i));
}

/** Records a source node (input, weight, constant) with an explicit name and type. */
export function emitSource(op: 'input' | 'weight' | 'constant', attrs: Attrs, name: string): SymbolicTensor {
  const def = getOp(op);
  const outputs = def.infer([], withDefaults(def, attrs));
  const device = currentDevice();
  const node: TraceNode = { id: nextId++, op, inputs: [], attrs, outputs, name, ...(device ? { device } : {}) };
  return new SymbolicTensor(node, 0);
}
