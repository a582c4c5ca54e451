/**
 * Placement (model parallel): splits a compiled inference graph by the devices its nodes were
 * created under (`deviceScope('gpu:1', …)`) into parts that run one after another, each on one
 * device, with explicit transfers at the cuts: a value one part computes and a later part reads
 * leaves the first as an output named `__transfer/<node>:<output>` and enters the second as an input
 * of the same name. Sources (inputs, weights, constants) go with every part that reads them.
 * Unplaced nodes run on gpu:0, as TensorFlow's default device; a device that is not there (a second
 * GPU on a one-GPU machine, or a CPU) is replaced by gpu:0 with a warning (soft placement).
 */
import type { Graph, Node, ValueRef } from '../ir/types.js';
import { GraphError } from '../ir/errors.js';
import type { NDArray } from '../ir/ndarray.js';
import { GraphBuilder } from './builder.js';
import type { Program } from './program.js';

/** One part of a placed graph: a program of its own, run on one device. */
export interface PlacedPart {
  /** Index of the device (gpu:N) it runs on. */
  readonly device: number;
  readonly program: Program;
}

/** A value carried from one part to a later one (through the host: read back, written again). */
export interface Transfer {
  /** The output name in part `from` and the input name in part `to`. */
  readonly name: string;
  readonly from: number;
  readonly to: number;
}

/** A graph split by device: parts in the order they run, and the transfers between them. */
export interface Placement {
  readonly parts: readonly PlacedPart[];
  readonly transfers: readonly Transfer[];
}

const SOURCES = new Set(['input', 'weight', 'constant']);
const GPU = /^gpu:(\d+)$/;

/** True when some node of the graph asks for a device other than gpu:0. */
export function hasPlacement(graph: Graph): boolean {
  return graph.nodes.some((n) => n.device !== undefined && n.device !== 'gpu:0');
}

/** The device index of every compute node: its scope's gpu:N, gpu:0 unplaced, gpu:0 (with a warning) where gpu:N is not there. */
function deviceIndex(graph: Graph, devices: number, warn: (message: string) => void): Map<number, number> {
  const moved = new Set<string>();
  const index = new Map<number, number>();
  for (const n of graph.nodes) {
    if (SOURCES.has(n.op)) continue;
    const m = n.device ? GPU.exec(n.device) : null;
    const wanted = n.device === undefined ? 0 : m ? Number(m[1]) : -1;
    if (wanted < 0 || wanted >= devices) moved.add(n.device!);
    index.set(n.id, wanted < 0 || wanted >= devices ? 0 : wanted);
  }
  const cpus = [...moved].filter((d) => d.startsWith('cpu:')).sort();
  const gpus = [...moved].filter((d) => !d.startsWith('cpu:')).sort();
  if (gpus.length) {
    warn(`kiln: soft placement: ${gpus.join(', ')} ${gpus.length > 1 ? 'are' : 'is'} not available (${devices} GPU${devices > 1 ? 's' : ''} found: gpu:0${devices > 1 ? `…gpu:${devices - 1}` : ''}); those nodes run on gpu:0`);
  }
  // kiln compiles every node to WGSL, so a CPU scope (the Keras FAQ merges replicas on /cpu:0) runs on gpu:0 too.
  if (cpus.length) warn(`kiln: soft placement: nodes on ${cpus.join(', ')} run on gpu:0 (kiln runs every node on a GPU)`);
  return index;
}

/**
 * Splits `program` into parts of consecutive nodes (in graph order) on one device each; with
 * everything on one device it is one part, the program as it was.
 */
export function placeGraph(program: Program, options: { devices: number; warn?: (message: string) => void }): Placement {
  const { graph } = program;
  const warn = options.warn ?? console.warn;
  const device = deviceIndex(graph, options.devices, warn);
  if (new Set(device.values()).size <= 1) return { parts: [{ device: [...device.values()][0] ?? 0, program }], transfers: [] };

  // Consecutive compute nodes on one device form a part.
  const partOf = new Map<number, number>();
  const partDevice: number[] = [];
  for (const n of graph.nodes) {
    if (SOURCES.has(n.op)) continue;
    const d = device.get(n.id)!;
    if (partDevice.at(-1) !== d) partDevice.push(d);
    partOf.set(n.id, partDevice.length - 1);
  }
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const transferName = (r: ValueRef) => `__transfer/${r.node}:${r.output}`;
  const transfers = new Map<string, Transfer>();
  // Values a part must hand on: read by a later part, or a graph output.
  const exported = partDevice.map(() => new Map<string, ValueRef>());
  for (const n of graph.nodes) {
    if (!partOf.has(n.id)) continue;
    for (const r of n.inputs) {
      const from = partOf.get(r.node);
      if (from === undefined || from === partOf.get(n.id)) continue;
      const name = transferName(r);
      exported[from].set(name, r);
      if (!transfers.has(`${name}>${partOf.get(n.id)}`)) transfers.set(`${name}>${partOf.get(n.id)}`, { name, from, to: partOf.get(n.id)! });
    }
  }
  for (const o of graph.outputs) {
    const from = partOf.get(o.value.node);
    if (from === undefined) throw new GraphError(`output '${o.name}' is a graph input, weight or constant; a placed graph's outputs must be computed`, { output: o.name });
    exported[from].set(o.name, o.value);
  }

  const parts = partDevice.map((d, p) => {
    const b = new GraphBuilder();
    const local = new Map<string, ValueRef>();
    const weights = new Map<string, NDArray>();
    const key = (r: ValueRef) => `${r.node}:${r.output}`;
    const source = (r: ValueRef): ValueRef => {
      const have = local.get(key(r));
      if (have) return have;
      const n = byId.get(r.node)!;
      let made: ValueRef;
      if (SOURCES.has(n.op)) {
        made = b.copy(n, [])[r.output];
        if (n.op === 'weight') weights.set(n.attrs.name as string, program.weights.get(n.attrs.name as string)!);
      } else {
        // A value from an earlier part arrives as an input.
        const t = n.outputs[r.output];
        made = b.add('input', [], { name: transferName(r), shape: [...t.shape], dtype: t.dtype }, transferName(r))[0];
      }
      local.set(key(r), made);
      return made;
    };
    const mine: Node[] = graph.nodes.filter((n) => partOf.get(n.id) === p);
    // The graph's own inputs this part reads come first, in graph order, so its signature is stable.
    for (const n of graph.nodes) if (n.op === 'input' && mine.some((m) => m.inputs.some((r) => r.node === n.id))) source({ node: n.id, output: 0 });
    for (const n of mine) {
      const outs = b.copy(n, n.inputs.map(source));
      outs.forEach((r, i) => local.set(key({ node: n.id, output: i }), r));
    }
    const outputs = [...exported[p]].map(([name, r]) => ({ name, value: local.get(key(r))! }));
    return { device: d, program: { graph: b.build(outputs, []), weights } };
  });
  if (graph.updates.length) throw new GraphError(`a placed inference graph has no state updates, but this one updates ${graph.updates.map((u) => u.weight).join(', ')}`);
  return { parts, transfers: [...transfers.values()] };
}
