import type { Graph, Node, TensorType } from '../ir/types.js';
import { refKey } from '../ir/graph.js';
import { fusionPass, type Group } from './fusion.js';
import { consumersOf, isEpilogueLink, isGlobalMean, PRODUCERS } from './util.js';

/** Rows up to this long keep a whole softmax row in one workgroup's memory (16 KiB of f32). */
export const MAX_SOFTMAX_ROW = 4096;

/** A softmax over the last axis of a matmul result can end its epilogue: one workgroup owns each row. */
function endsWithRowSoftmax(p: Node, next: Node | undefined): boolean {
  if (!next || p.op !== 'matmul' || (next.op !== 'softmax' && next.op !== 'logSoftmax')) return false;
  const shape = next.outputs[0].shape;
  const axis = (next.attrs.axis as number | undefined) ?? -1;
  return (axis === -1 || axis === shape.length - 1) && (shape.at(-1) ?? Infinity) <= MAX_SOFTMAX_ROW;
}

const sameType = (a: TensorType, b: TensorType) => a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);

/**
 * Ops that start an epilogue group: the forward producers, and the input gradients of a conv and a
 * pooling, whose chains in a training step are the gradient's accumulation and relu's mask (reluGrad).
 */
export const EPILOGUE_PRODUCERS: readonly string[] = [...PRODUCERS, 'conv2dBackpropInput', 'maxPool2dGrad', 'avgPool2dGrad'];

/** Poolings a matmul reads through (its A operand gathers each window's max or mean). */
const READ_THROUGH = new Set(['maxPool2d', 'avgPool2d']);

/**
 * The pooling (and the reshape after it, a Flatten) that only `mm` reads, as its A operand: they join
 * the matmul's group, so the pooled tensor is never written. A global average pooling joins only a
 * head that ends in a row softmax (`rowSoftmax`): that kernel gives each row a workgroup, which stages
 * the row's means once; read element by element, each mean would walk the whole image. Ids in graph
 * order; [] when there is none.
 */
function poolPrologue(mm: Node, byId: Map<number, Node>, readers: Map<string, number[]>, claimed: Set<number>, rowSoftmax: boolean): number[] {
  if (mm.op !== 'matmul' || mm.attrs.transposeA === true) return [];
  const onlyReader = (n: Node, reader: Node) => (readers.get(refKey({ node: n.id, output: 0 })) ?? []).every((r) => r === reader.id) && !claimed.has(n.id) && n.device === mm.device;
  const a = byId.get(mm.inputs[0].node)!;
  const reshape = a.op === 'reshape' && onlyReader(a, mm) ? a : undefined;
  const pool = reshape ? byId.get(reshape.inputs[0].node)! : a;
  const globalMean = () => pool.op === 'reduceMean' && isGlobalMean(pool, byId.get(pool.inputs[0].node)!.outputs[pool.inputs[0].output].shape);
  const readable = READ_THROUGH.has(pool.op) || (rowSoftmax && mm.outputs[0].shape.length === 2 && globalMean());
  if (!readable || !onlyReader(pool, reshape ?? mm) || pool.outputs[0].dtype !== 'float32') return [];
  return reshape ? [pool.id, reshape.id] : [pool.id];
}

/**
 * Groups of a producer and the chain of elementwise ops that follows it: each link is the only reader
 * of the one before, and keeps the producer's output type (its other operand, a bias, a residual or a
 * scalar, broadcasts without enlarging), optionally closed by a row softmax. A matmul's group also
 * takes a pooling its A operand alone reads (through a Flatten): see poolPrologue. Later producers
 * choose first, so a residual add joining two producers lands in the later one's group.
 */
export function planEpilogues(graph: Graph): Group[] {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const readers = consumersOf(graph);
  const claimed = new Set<number>();
  const groups: Group[] = [];
  const producers = graph.nodes.filter((n) => EPILOGUE_PRODUCERS.includes(n.op)).reverse();
  for (const p of producers) {
    const chain: Node[] = [p];
    for (;;) {
      const rs = readers.get(refKey({ node: chain.at(-1)!.id, output: 0 })) ?? [];
      const next = rs.length === 1 && rs[0] >= 0 ? byId.get(rs[0])! : undefined;
      const fits = next && !claimed.has(next.id) && isEpilogueLink(next.op) && next.device === p.device && sameType(next.outputs[0], p.outputs[0]);
      if (!fits) {
        if (next && !claimed.has(next.id) && next.device === p.device && endsWithRowSoftmax(p, next)) chain.push(next);
        break;
      }
      chain.push(next);
    }
    const last = chain.at(-1)!;
    const prologue = poolPrologue(p, byId, readers, claimed, last.op === 'softmax' || last.op === 'logSoftmax');
    if (chain.length + prologue.length < 2) continue;
    const group = [...prologue, ...chain.map((n) => n.id)];
    group.forEach((id) => claimed.add(id));
    groups.push(group);
  }
  return groups;
}

/**
 * fuseEpilogues: matmul/conv2d/depthwiseConv2d/conv2dBackpropInput plus its following elementwise
 * chain (bias add, activation, residual add, a gradient's accumulation and mask, …) becomes one `fused`
 * node of kind 'epilogue'; a matmul's chain may end
 * in a softmax over its rows (the classifier head), which then needs no kernel of its own, and may
 * start with the pooling that feeds it (the CNN's max-pool, read through by the Dense after Flatten; the
 * ResNet's global average pooling, staged per row by its softmax head).
 */
export const fuseEpilogues = fusionPass('fuseEpilogues', 'epilogue', planEpilogues);
