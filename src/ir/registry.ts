import type { Attrs, AttrValue, Node, TensorType, ValueRef } from './types.js';
import type { NDArray, Precision, Storage } from './ndarray.js';
import type { DType } from './types.js';
import { GraphError } from './errors.js';

/** The kind of value an attribute holds; `validate` checks nodes against it. */
export type AttrKind = 'int' | 'ints' | 'float' | 'floats' | 'bool' | 'string' | 'dtype' | 'shape' | 'json';

/** One attribute of an op: its kind, and a default when it may be left out. */
export interface AttrSpec {
  readonly kind: AttrKind;
  readonly default?: AttrValue;
  /** For strings: the allowed values. */
  readonly oneOf?: readonly string[];
}

/** What a reference implementation gets besides its inputs. */
export interface RefContext {
  readonly precision: Precision;
  /** Allocates output storage in the interpreter's precision. */
  alloc(dtype: DType, size: number): Storage;
}

/** What a gradient rule sees: the forward node's values in the graph being built, and a way to add ops. */
export interface GradContext {
  /** The forward node (its attrs, with defaults filled in). */
  readonly node: Node;
  readonly attrs: Attrs;
  /** The forward node's inputs and outputs, as values of the graph being built. */
  readonly inputs: readonly ValueRef[];
  readonly outputs: readonly ValueRef[];
  /** The gradient of the loss with respect to each output (null: the output does not reach the loss). */
  readonly grads: readonly (ValueRef | null)[];
  /** Adds a node to the graph being built; its types are inferred. */
  emit(op: string, inputs: readonly ValueRef[], attrs?: Attrs): ValueRef[];
  /** The static type of a value of the graph being built. */
  type(ref: ValueRef): TensorType;
}

/**
 * Reverse-mode gradient rule: returns one gradient per input, shaped like that input (null where the
 * input is not differentiable or gets no gradient).
 */
export type GradientRule = (ctx: GradContext) => (ValueRef | null)[];

/** Everything kiln knows about one op: one row of the registry table. */
export interface OpDef {
  readonly name: string;
  /** Number of inputs: exact, or [min, max] (max Infinity for variadic). */
  readonly arity: number | readonly [number, number];
  readonly attrs: { readonly [k: string]: AttrSpec };
  /** Output types from input types and attrs; throws ShapeError on a mismatch. Dims may be null (unknown batch). */
  infer(inputs: readonly TensorType[], attrs: Attrs): TensorType[];
  /** Exact reference semantics on concrete tensors. */
  reference(inputs: readonly NDArray[], attrs: Attrs, ctx: RefContext): NDArray[];
  gradient?: GradientRule;
}

const table = new Map<string, OpDef>();

/** Adds ops to the registry; a duplicate name is a programming error. */
export function registerOps(defs: readonly OpDef[]): void {
  for (const def of defs) {
    if (table.has(def.name)) throw new GraphError(`op '${def.name}' is registered twice`);
    table.set(def.name, def);
  }
}

/** The registry row for an op, or a GraphError naming the unknown op. */
export function getOp(name: string): OpDef {
  const def = table.get(name);
  if (!def) throw new GraphError(`unknown op '${name}'`, { op: name, known: [...table.keys()] });
  return def;
}

/** Whether an op is registered. */
export function hasOp(name: string): boolean {
  return table.has(name);
}

/** All registered op names, sorted. */
export function opNames(): string[] {
  return [...table.keys()].sort();
}

/** Attrs with schema defaults filled in for those left out. */
export function withDefaults(def: OpDef, attrs: Attrs): Attrs {
  const out: Record<string, AttrValue> = { ...attrs };
  for (const [k, spec] of Object.entries(def.attrs)) {
    if (out[k] === undefined && spec.default !== undefined) out[k] = spec.default;
  }
  return out;
}
