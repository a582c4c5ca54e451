import type { Node, ValueRef } from '../ir/types.js';
import type { NDArray } from '../ir/ndarray.js';
import { ndarray, sizeOf } from '../ir/ndarray.js';
import { nodeIndex, refKey } from '../ir/graph.js';
import { rewrite, rule, type RuleContext } from './rewrite.js';
import type { Pass } from './program.js';
import { consumersOf, foldedWeightAttrs, freshWeightName, PRODUCERS, staticValue } from './util.js';

/** What the pattern found: producer, its kernel and optional bias, and the per-channel scale and shift. */
interface Match {
  readonly producer: Node;
  readonly kernel: NDArray;
  readonly kernelName: string;
  readonly bias?: NDArray;
  readonly scale: NDArray;
  readonly shift: NDArray;
}

/** The old graph seen from a rule: nodes by id, readers of each value, weight values. */
interface OldGraph {
  readonly byId: Map<number, Node>;
  readonly readers: Map<string, number[]>;
}

const single = (g: OldGraph, ref: ValueRef) => (g.readers.get(refKey(ref)) ?? []).length === 1;

/** A per-channel vector for n channels: size n (or 1), every dim but the last 1, no higher rank than the output. */
function perChannel(v: NDArray | undefined, n: number, rank: number): NDArray | undefined {
  if (!v || v.dtype !== 'float32' || v.shape.length > rank) return undefined;
  const size = sizeOf(v.shape);
  const lastOnly = v.shape.slice(0, -1).every((d) => d === 1);
  return lastOnly && (size === n || size === 1) ? v : undefined;
}

/** Splits a commutative binary node into (value from a matching node, the other operand). */
function split(g: OldGraph, node: Node, ok: (n: Node) => boolean): [Node, ValueRef] | undefined {
  for (const [a, b] of [[0, 1], [1, 0]]) {
    const n = g.byId.get(node.inputs[a].node)!;
    if (ok(n) && single(g, node.inputs[a])) return [n, node.inputs[b]];
  }
  return undefined;
}

/** Follows single-use identity nodes back to what they forward. */
function skipIdentity(g: OldGraph, n: Node): Node {
  while (n.op === 'identity' && single(g, n.inputs[0])) n = g.byId.get(n.inputs[0].node)!;
  return n;
}

/** Matches add(mul(producer [+ bias], s), t) on the old graph. */
function match(g: OldGraph, add: Node, weights: ReadonlyMap<string, NDArray>): Match | undefined {
  const value = (r: ValueRef) => staticValue(g.byId.get(r.node)!, weights);
  const outer = split(g, add, (n) => n.op === 'mul');
  const inner = outer && split(g, outer[0], (n) => PRODUCERS.includes(skipIdentity(g, n).op) || skipIdentity(g, n).op === 'add');
  if (!outer || !inner) return undefined;
  let top = skipIdentity(g, inner[0]);
  let bias: NDArray | undefined;
  if (top.op === 'add') {
    const b = split(g, top, (n) => PRODUCERS.includes(n.op));
    if (!b) return undefined;
    [top, bias] = [b[0], value(b[1])];
    if (!bias) return undefined;
  }
  const rank = top.outputs[0].shape.length;
  const n = top.outputs[0].shape[rank - 1] as number;
  const kernelNode = g.byId.get(top.inputs[1].node)!;
  const kernel = kernelNode.op === 'weight' && single(g, top.inputs[1]) ? weights.get(kernelNode.attrs.name as string) : undefined;
  const [scale, shift] = [perChannel(value(inner[1]), n, rank), perChannel(value(outer[1]), n, rank)];
  if (!kernel || kernel.dtype !== 'float32' || !scale || !shift || (bias && !perChannel(bias, n, rank))) return undefined;
  if (top.op === 'matmul' && kernel.shape.length !== 2) return undefined;
  return { producer: top, kernel, kernelName: kernelNode.attrs.name as string, bias, scale, shift };
}

/** Output channel of each kernel element: the last axis (depthwise: the last two flattened), or rows of a transposed matmul kernel. */
function channelOf(m: Match): (i: number) => number {
  const n = m.producer.outputs[0].shape.at(-1) as number;
  if (m.producer.op === 'matmul' && m.producer.attrs.transposeB === true) return (i) => Math.floor(i / m.kernel.shape[1]);
  return (i) => i % n;
}

/** Emits producer(x, kernel·s) + (b·s + t) with the folded weights. */
function fold(m: Match, node: Node, ctx: RuleContext): ValueRef[] | null {
  const x = ctx.value(m.producer.inputs[0]);
  if (!x) return null;
  const n = m.producer.outputs[0].shape.at(-1) as number;
  const at = (v: NDArray, c: number) => v.data[v.data.length === 1 ? 0 : c];
  const ch = channelOf(m);
  const kernel = Float32Array.from(m.kernel.data, (k, i) => k * at(m.scale, ch(i)));
  const bias = Float32Array.from({ length: n }, (_, c) => (m.bias ? at(m.bias, c) : 0) * at(m.scale, c) + at(m.shift, c));
  const prefix = m.kernelName.includes('/') ? m.kernelName.slice(0, m.kernelName.lastIndexOf('/')) : m.kernelName;
  const weight = (suffix: string, shape: readonly number[], data: Float32Array): ValueRef => {
    const name = freshWeightName(ctx.weights, `${prefix}/${suffix}`);
    ctx.setWeight(name, ndarray(shape, 'float32', data));
    return ctx.builder.add('weight', [], foldedWeightAttrs(name, shape), name, { device: m.producer.device })[0];
  };
  const w = weight('folded_kernel', m.kernel.shape, kernel);
  const b = weight('folded_bias', [n], bias);
  const [y] = ctx.builder.add(m.producer.op, [x, w], m.producer.attrs, m.producer.name, { device: m.producer.device });
  return ctx.builder.add('add', [y, b], {}, node.name, { device: node.device });
}

/**
 * foldBatchNorm: `mul` by a per-channel weight then `add` of one (the scale and shift constantFold
 * leaves of an inference BatchNorm), after a matmul/conv2d/depthwiseConv2d whose kernel weight is read
 * only there (and its optional bias add), becomes the producer with kernel·s plus one bias b·s + t.
 */
export const foldBatchNorm: Pass = {
  name: 'foldBatchNorm',
  run(program, ctx) {
    const g: OldGraph = { byId: nodeIndex(program.graph), readers: consumersOf(program.graph) };
    return rewrite('foldBatchNorm', [
      rule({ op: 'add' }, (node, rc) => {
        const m = match(g, node, program.weights);
        return m ? fold(m, node, rc) : null;
      }),
    ]).run(program, ctx);
  },
};
