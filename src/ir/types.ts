/** Element types a tensor can hold. float16 is planned for mixed precision and not yet executable. */
export type DType = 'float32' | 'int32' | 'bool' | 'float16';

/** One dimension of a shape: a size, or null where it is unknown until run time (the batch, as Keras's None). */
export type Dim = number | null;

/** The static type of a value in the graph. */
export interface TensorType {
  readonly shape: readonly Dim[];
  readonly dtype: DType;
}

/** A reference to one output of one node. */
export interface ValueRef {
  readonly node: number;
  readonly output: number;
}

/** Attribute values are plain JSON data so graphs serialize without loss. */
export type AttrValue = number | string | boolean | null | readonly AttrValue[] | { readonly [k: string]: AttrValue };

/** Attributes of a node, checked against its op's schema by `validate`. */
export type Attrs = { readonly [k: string]: AttrValue };

/** One operation in the graph: immutable plain data. */
export interface Node {
  readonly id: number;
  readonly op: string;
  readonly inputs: readonly ValueRef[];
  readonly attrs: Attrs;
  readonly outputs: readonly TensorType[];
  /** Keras-style hierarchical name, e.g. `block1/fc/MatMul`; weights use their variable name. */
  readonly name: string;
  /** Device scope the node was created under (`gpu:1`), for placement. */
  readonly device?: string;
}

/** A named output of the graph. */
export interface GraphOutput {
  readonly name: string;
  readonly value: ValueRef;
}

/** A state update run after a step: `weight` takes the value of `value` (batch-norm moving statistics). */
export interface GraphUpdate {
  readonly weight: string;
  readonly value: ValueRef;
  /** Also applied at inference (a stateful RNN's state), not only while training (batch-norm statistics). */
  readonly inference?: boolean;
}

/**
 * A whole model as data. Nodes are in topological order; graph inputs are `input` nodes, weights are
 * `weight` nodes whose values live outside the graph (a WeightValues map keyed by weight name).
 */
export interface Graph {
  readonly nodes: readonly Node[];
  readonly outputs: readonly GraphOutput[];
  readonly updates: readonly GraphUpdate[];
}

/** The name of the graph input that carries the learning phase (true while training), as `K.learning_phase()`. */
export const LEARNING_PHASE = 'keras_learning_phase';
