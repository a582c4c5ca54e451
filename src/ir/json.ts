import type { Graph } from './types.js';
import { GraphError } from './errors.js';
import { validate } from './validate.js';

/** Format tag and version of serialized graphs; readers refuse other versions. */
export const GRAPH_FORMAT = { format: 'kiln-graph', version: 1 } as const;

/** Serializes a graph to JSON text (weights values are not part of a graph). */
export function graphToJSON(graph: Graph): string {
  return JSON.stringify({ ...GRAPH_FORMAT, nodes: graph.nodes, outputs: graph.outputs, updates: graph.updates });
}

/** Parses and validates a graph written by graphToJSON; `source` names the file in errors. */
export function graphFromJSON(text: string, source = 'graph JSON'): Graph {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new GraphError(`${source}: not valid JSON (${(e as Error).message})`, { source });
  }
  if (data?.format !== GRAPH_FORMAT.format) throw new GraphError(`${source}: not a kiln graph (format is ${JSON.stringify(data?.format)})`, { source });
  if (data.version !== GRAPH_FORMAT.version) {
    throw new GraphError(`${source}: graph format version ${data.version}, this kiln reads version ${GRAPH_FORMAT.version}`, { source });
  }
  const graph = { nodes: data.nodes, outputs: data.outputs, updates: data.updates ?? [] } as Graph;
  if (!Array.isArray(graph.nodes) || !Array.isArray(graph.outputs)) throw new GraphError(`${source}: missing nodes or outputs`, { source });
  validate(graph);
  return graph;
}
