import type { Graph, Node, TensorType, ValueRef } from './types.js';
import { GraphError } from './errors.js';

/** Index of a graph's nodes by id. */
export function nodeIndex(graph: Graph): Map<number, Node> {
  return new Map(graph.nodes.map((n) => [n.id, n]));
}

/** The static type of a value. */
export function typeOf(graph: Graph | Map<number, Node>, ref: ValueRef): TensorType {
  const index = graph instanceof Map ? graph : nodeIndex(graph);
  const node = index.get(ref.node);
  const type = node?.outputs[ref.output];
  if (!type) throw new GraphError(`no value ${ref.node}:${ref.output} in graph`, { ref });
  return type;
}

/** The graph's `input` nodes, in order. */
export function graphInputs(graph: Graph): Node[] {
  return graph.nodes.filter((n) => n.op === 'input');
}

/** The graph's `weight` nodes, in order. */
export function graphWeights(graph: Graph): Node[] {
  return graph.nodes.filter((n) => n.op === 'weight');
}

/** A stable string key for a value reference. */
export function refKey(ref: ValueRef): string {
  return `${ref.node}:${ref.output}`;
}
