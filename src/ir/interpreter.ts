import type { Graph, Node, TensorType } from './types.js';
import { LEARNING_PHASE } from './types.js';
import { getOp, withDefaults, type RefContext } from './registry.js';
import { allocStorage, ndarray, sizeOf, toPrecision, type NDArray, type Precision, type Storage } from './ndarray.js';
import { formatShape, InputError, KilnError } from './errors.js';
import { refKey } from './graph.js';
import './ops/index.js';

/** Values of a graph's weights, by weight name. */
export type WeightValues = ReadonlyMap<string, NDArray> | { readonly [name: string]: NDArray };

/** A value fed to a graph input: a concrete tensor, or flat data shaped by the input's static shape and the batch. */
export type Feed = NDArray | Storage | readonly number[];

/** Options of one interpreter run. */
export interface InterpretOptions {
  readonly weights?: WeightValues;
  /** Float precision of every intermediate value (default float64, the reference). */
  readonly precision?: Precision;
  /** The learning phase (default false: inference), unless fed explicitly. */
  readonly training?: boolean;
}

/** What a run produces: named outputs, and the new values of updated weights. */
export interface InterpretResult {
  readonly outputs: Record<string, NDArray>;
  readonly updates: Record<string, NDArray>;
}

function lookupWeight(weights: WeightValues | undefined, name: string): NDArray | undefined {
  if (!weights) return undefined;
  return weights instanceof Map ? weights.get(name) : (weights as Record<string, NDArray>)[name];
}

function fits(type: TensorType, shape: readonly number[]): boolean {
  return type.shape.length === shape.length && type.shape.every((d, i) => d === null || d === shape[i]);
}

function feedInput(node: Node, feed: Feed | undefined, precision: Precision): NDArray {
  const type = node.outputs[0];
  const name = node.attrs.name as string;
  if (feed === undefined) throw new InputError(`no value fed for input '${name}' ${formatShape(type.shape)}`, { input: name });
  let arr: NDArray;
  if ('shape' in feed && 'data' in feed) arr = feed as NDArray;
  else {
    const data = feed as Storage | readonly number[];
    const known = sizeOf(type.shape.map((d) => d ?? 1));
    const unknown = type.shape.filter((d) => d === null).length;
    if (unknown > 1 || data.length % known !== 0) {
      throw new InputError(`input '${name}' ${formatShape(type.shape)}: ${data.length} values do not fill whole samples`, { input: name });
    }
    const shape = type.shape.map((d) => d ?? data.length / known);
    arr = ndarray(shape, type.dtype, ArrayBuffer.isView(data) ? data : Array.from(data), precision);
  }
  if (!fits(type, arr.shape)) {
    throw new InputError(`input '${name}' expects shape ${formatShape(type.shape)}, got ${formatShape(arr.shape)}`, { input: name });
  }
  return toPrecision(arr, precision);
}

/**
 * Runs a graph exactly, in plain TypeScript: the reference every kernel is compared with. Inputs are
 * fed by name; the learning phase defaults to inference. Throws InputError for a missing or
 * mis-shaped feed or weight.
 */
export function interpret(graph: Graph, feeds: Record<string, Feed>, options: InterpretOptions = {}): InterpretResult {
  const precision = options.precision ?? 'float64';
  const ctx: RefContext = { precision, alloc: (dtype, size) => allocStorage(dtype, size, precision) };
  const values = new Map<string, NDArray>();
  for (const node of graph.nodes) {
    let outs: NDArray[];
    if (node.op === 'input') {
      const name = node.attrs.name as string;
      const feed = feeds[name] ?? (name === LEARNING_PHASE ? ndarray([], 'bool', [options.training ? 1 : 0]) : undefined);
      outs = [feedInput(node, feed, precision)];
    } else if (node.op === 'weight') {
      const name = node.attrs.name as string;
      const w = lookupWeight(options.weights, name);
      if (!w) throw new InputError(`no value for weight '${name}' ${formatShape(node.outputs[0].shape)}`, { weight: name });
      if (!fits(node.outputs[0], w.shape)) {
        throw new InputError(`weight '${name}' expects shape ${formatShape(node.outputs[0].shape)}, got ${formatShape(w.shape)}`, { weight: name });
      }
      outs = [toPrecision(w, precision)];
    } else {
      const def = getOp(node.op);
      const inputs = node.inputs.map((r) => values.get(refKey(r))!);
      try {
        outs = def.reference(inputs, withDefaults(def, node.attrs), ctx);
      } catch (e) {
        if (e instanceof KilnError && !(e.message.includes(node.name))) throw new (e.constructor as typeof KilnError)(`node '${node.name}' (${node.op}): ${e.message}`, { ...e.context, node: node.name });
        throw e;
      }
    }
    outs.forEach((v, i) => values.set(`${node.id}:${i}`, v));
  }
  const outputs: Record<string, NDArray> = {};
  for (const o of graph.outputs) outputs[o.name] = values.get(refKey(o.value))!;
  const updates: Record<string, NDArray> = {};
  for (const u of graph.updates) updates[u.weight] = values.get(refKey(u.value))!;
  return { outputs, updates };
}
