/** Helpers the passes share: use counts, the elementwise op sets, constant values, fresh weight names. */
import type { Graph, Node, ValueRef } from '../ir/types.js';
import type { NDArray } from '../ir/ndarray.js';
import { refKey } from '../ir/graph.js';
import { UNARY } from '../ir/ops/unary.js';
import { BINARY } from '../ir/ops/binary.js';
import { attrDtype, attrFloats, attrShape } from '../ir/ops/common.js';
import { ndarray, sizeOf } from '../ir/ndarray.js';

/** Unary table ops (docs/ops.md, `src/ir/ops/unary.ts`). */
export const isUnary = (op: string): boolean => op in UNARY;
/** Binary table ops with broadcasting (`src/ir/ops/binary.ts`). */
export const isBinary = (op: string): boolean => op in BINARY;
/**
 * Every elementwise op a fused elementwise kernel may hold: the two tables, cast, where and dropout
 * (its mask is a hash of the element's flat index, so any kernel that knows the index can draw it).
 */
export const isElementwise = (op: string): boolean => isUnary(op) || isBinary(op) || op === 'cast' || op === 'where' || op === 'dropout';
/** Ops an epilogue chain may add after its producer: the two tables and dropout. */
export const isEpilogueLink = (op: string): boolean => isUnary(op) || isBinary(op) || op === 'dropout';
/** Ops that start an epilogue group. */
export const PRODUCERS: readonly string[] = ['matmul', 'conv2d', 'depthwiseConv2d'];

/** A mean over the height and width of an NHWC tensor (GlobalAveragePooling2D), whose input has `inShape`. */
export function isGlobalMean(n: Node, inShape: readonly unknown[]): boolean {
  if (n.op !== 'reduceMean' || inShape.length !== 4) return false;
  const axes = ((n.attrs.axes as number[] | undefined) ?? []).map((a) => (a < 0 ? a + 4 : a)).sort();
  return axes.length === 2 && axes[0] === 1 && axes[1] === 2;
}

/** Where each value is read: consumer node ids, with -1 for a graph output or update. */
export function consumersOf(graph: Graph): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const use = (r: ValueRef, id: number) => {
    const k = refKey(r);
    out.set(k, [...(out.get(k) ?? []), id]);
  };
  for (const n of graph.nodes) for (const r of n.inputs) use(r, n.id);
  for (const r of [...graph.outputs.map((o) => o.value), ...graph.updates.map((u) => u.value)]) use(r, -1);
  return out;
}

/** The concrete value of a `constant` node. */
export function constantValue(node: Node): NDArray {
  const shape = attrShape('constant', node.attrs, 'shape') as number[];
  const value = attrFloats('constant', node.attrs, 'value');
  const size = sizeOf(shape);
  const data = value.length === size ? value : new Array<number>(size).fill(value[0]);
  return ndarray(shape, attrDtype('constant', node.attrs, 'dtype'), data, 'float64');
}

/** The value behind a weight or constant node, or undefined for anything computed. */
export function staticValue(node: Node, weights: ReadonlyMap<string, NDArray>): NDArray | undefined {
  if (node.op === 'constant') return constantValue(node);
  if (node.op === 'weight') return weights.get(node.attrs.name as string);
  return undefined;
}

/** `base`, or `base_1`, `base_2`… when the weight map already holds that name. */
export function freshWeightName(weights: ReadonlyMap<string, NDArray>, base: string): string {
  let name = base;
  for (let i = 1; weights.has(name); i++) name = `${base}_${i}`;
  return name;
}

/** Attrs of a non-trainable float32 weight node holding a folded value. */
export function foldedWeightAttrs(name: string, shape: readonly number[]) {
  return { name, shape: [...shape], dtype: 'float32', trainable: false };
}
