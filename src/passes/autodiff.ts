/** Reverse-mode automatic differentiation of a program's scalar loss (docs/training.md). */
import type { Graph, Node, TensorType, ValueRef } from '../ir/types.js';
import type { GradContext } from '../ir/registry.js';
import { getOp, withDefaults } from '../ir/registry.js';
import { GraphError, KilnError, formatShape } from '../ir/errors.js';
import { nodeIndex, refKey, typeOf } from '../ir/graph.js';
import { isFloat } from '../ir/ops/common.js';
import { GraphBuilder } from './builder.js';
import type { Program } from './program.js';
import { GRADIENTS } from './gradients/index.js';

/** What to differentiate: the graph output holding the loss, and the weights to differentiate it by. */
export interface AutodiffOptions {
  /** Name of a graph output with one float element (shape [] or all 1s). */
  readonly loss: string;
  /** Names of `weight` nodes; each gets an output `grad/<name>`. */
  readonly wrt: readonly string[];
  /** A float32 scalar weight the loss's gradient starts at instead of 1 (a loss scale: src/passes/loss-scale.ts). */
  readonly seed?: string;
}

/** The output name of a weight's gradient. */
export const gradName = (weight: string): string => `grad/${weight}`;

const sameType = (a: TensorType, b: TensorType) => a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
const fits = (g: TensorType, x: TensorType) =>
  g.dtype === x.dtype && g.shape.length === x.shape.length && g.shape.every((d, i) => d === null || x.shape[i] === null || d === x.shape[i]);

function fail(message: string, context: Record<string, unknown> = {}): never {
  throw new GraphError(`autodiff: ${message}`, context);
}

/** The loss output's value, checked: present, float, one element. */
function lossValue(graph: Graph, loss: string): ValueRef {
  const out = graph.outputs.find((o) => o.name === loss);
  if (!out) fail(`the graph has no output named '${loss}' (outputs: ${graph.outputs.map((o) => `'${o.name}'`).join(', ') || 'none'})`, { loss });
  const t = typeOf(graph, out.value);
  if (!isFloat(t.dtype) || !t.shape.every((d) => d === 1)) {
    fail(`the loss '${loss}' must be a float scalar, got ${formatShape(t.shape)} ${t.dtype}`, { loss, shape: t.shape, dtype: t.dtype });
  }
  return out.value;
}

/** The weight nodes to differentiate by, by name, checked: each exists once and holds floats. */
function wrtNodes(graph: Graph, wrt: readonly string[]): Map<string, Node> {
  const weights = new Map(graph.nodes.filter((n) => n.op === 'weight').map((n) => [n.attrs.name as string, n]));
  const out = new Map<string, Node>();
  for (const name of wrt) {
    const n = weights.get(name);
    if (!n) fail(`'${name}' is not a weight of the graph`, { weight: name });
    if (out.has(name)) fail(`weight '${name}' is listed twice in wrt`, { weight: name });
    if (!isFloat(n.outputs[0].dtype)) fail(`weight '${name}' holds ${n.outputs[0].dtype}, which has no gradient`, { weight: name });
    out.set(name, n);
  }
  return out;
}

/** Keeps every node before `first` and, from `first` on, only nodes an output or update reads. */
function pruneFrom(graph: Graph, first: number): Graph {
  const live = new Set<number>();
  [...graph.outputs.map((o) => o.value), ...graph.updates.map((u) => u.value)].forEach((r) => live.add(r.node));
  for (let i = graph.nodes.length - 1; i >= first; i--) if (live.has(i)) graph.nodes[i].inputs.forEach((r) => live.add(r.node));
  const id = new Map<number, number>();
  const nodes: Node[] = [];
  for (const n of graph.nodes) {
    if (n.id >= first && !live.has(n.id)) continue;
    id.set(n.id, nodes.length);
    nodes.push({ ...n, id: nodes.length, inputs: n.inputs.map((r) => ({ node: id.get(r.node)!, output: r.output })) });
  }
  const remap = (r: ValueRef) => ({ node: id.get(r.node)!, output: r.output });
  return { nodes, outputs: graph.outputs.map((o) => ({ ...o, value: remap(o.value) })), updates: graph.updates.map((u) => ({ ...u, value: remap(u.value) })) };
}

/** The loss's gradient: 1, or the `seed` weight's value shaped like the loss. */
function seedOf(graph: Graph, b: GraphBuilder, map: ReadonlyMap<string, ValueRef>, lossType: TensorType, options: AutodiffOptions): ValueRef {
  const name = `gradients/${options.loss}/seed`;
  if (options.seed === undefined) return b.add('constant', [], { shape: [...lossType.shape], dtype: lossType.dtype, value: [1] }, name)[0];
  const node = graph.nodes.find((n) => n.op === 'weight' && n.attrs.name === options.seed);
  if (!node) fail(`the seed '${options.seed}' is not a weight of the graph`, { seed: options.seed });
  const t = node.outputs[0];
  if (t.dtype !== lossType.dtype || t.shape.length !== 0) fail(`the seed '${options.seed}' must be a ${lossType.dtype} scalar, got ${formatShape(t.shape)} ${t.dtype}`, { seed: options.seed });
  const value = map.get(`${node.id}:0`)!;
  return lossType.shape.length ? b.add('reshape', [value], { shape: [...lossType.shape] }, name)[0] : value;
}

/**
 * autodiff: walks the graph backwards from the scalar output `loss`, calling each node's rule from
 * GRADIENTS (src/passes/gradients) and summing (`add`) the gradients that meet at a value, and adds
 * an output `grad/<weight>` for every weight in `wrt`, shaped like the weight. A weight the loss does
 * not depend on gets zeros (a constant), not an error. Existing outputs, updates and weight values
 * are kept; the backward nodes nothing reads are dropped.
 *
 * Only float values carry gradients. An op on the path from a `wrt` weight to the loss without a
 * GRADIENTS entry is a GraphError naming the op and the node; ops marked 'none' pass nothing back.
 */
export function autodiff(program: Program, options: AutodiffOptions): Program {
  const { graph } = program;
  const loss = lossValue(graph, options.loss);
  const wrt = wrtNodes(graph, options.wrt);
  const taken = [...wrt.keys()].find((w) => graph.outputs.some((o) => o.name === gradName(w)));
  if (taken) fail(`the graph already has an output named '${gradName(taken)}'`, { weight: taken });
  const index = nodeIndex(graph);

  // The forward graph, copied as it is; backward nodes follow it.
  const b = new GraphBuilder();
  const map = new Map<string, ValueRef>();
  for (const n of graph.nodes) b.copy(n, n.inputs.map((r) => map.get(refKey(r))!)).forEach((r, i) => map.set(`${n.id}:${i}`, r));
  const forwardCount = graph.nodes.length;

  // Values that depend on a wrt weight: only these need (and get) gradients.
  const active = new Set<string>();
  const wrtIds = new Set([...wrt.values()].map((n) => n.id));
  for (const n of graph.nodes) {
    if (!wrtIds.has(n.id) && !n.inputs.some((r) => active.has(refKey(r)))) continue;
    n.outputs.forEach((t, i) => isFloat(t.dtype) && active.add(`${n.id}:${i}`));
  }

  const grads = new Map<string, ValueRef>();
  const lossType = typeOf(index, loss);
  if (active.has(refKey(loss))) grads.set(refKey(loss), seedOf(graph, b, map, lossType, options));

  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k];
    const outGrads = node.outputs.map((_, i) => grads.get(`${node.id}:${i}`) ?? null);
    if (outGrads.every((g) => g === null) || !node.inputs.some((r) => active.has(refKey(r)))) continue;
    const rule = GRADIENTS[node.op];
    if (rule === undefined) fail(`op '${node.op}' (node '${node.name}') has no gradient rule, and it lies on the path to the loss '${options.loss}'`, { op: node.op, node: node.name });
    if (rule === 'none') continue;
    const name = `gradients/${node.name}`;
    const ctx: GradContext = {
      node,
      attrs: withDefaults(getOp(node.op), node.attrs),
      inputs: node.inputs.map((r) => map.get(refKey(r))!),
      outputs: node.outputs.map((_, i) => map.get(`${node.id}:${i}`)!),
      grads: outGrads,
      emit: (op, inputs, attrs = {}) => b.add(op, inputs, attrs, `${name}/${op}`, { device: node.device }),
      type: (r) => b.type(r),
    };
    let inGrads: (ValueRef | null)[];
    try {
      inGrads = rule(ctx);
    } catch (e) {
      if (e instanceof KilnError && !(e instanceof GraphError)) fail(`gradient of node '${node.name}' (${node.op}): ${e.message}`, { node: node.name, op: node.op, cause: e });
      throw e;
    }
    if (inGrads.length !== node.inputs.length) fail(`the ${node.op} rule returned ${inGrads.length} gradients for ${node.inputs.length} inputs (node '${node.name}')`, { node: node.name });
    inGrads.forEach((g, i) => {
      const key = refKey(node.inputs[i]);
      if (!g || !active.has(key)) return;
      const want = typeOf(index, node.inputs[i]);
      if (!fits(b.type(g), want)) {
        fail(`the ${node.op} rule gave input ${i} of node '${node.name}' a gradient of ${formatShape(b.type(g).shape)} ${b.type(g).dtype}, the input is ${formatShape(want.shape)} ${want.dtype}`, { node: node.name });
      }
      const prev = grads.get(key);
      grads.set(key, prev ? b.add('add', [prev, g], {}, `gradients/${index.get(node.inputs[i].node)!.name}/accumulate`, { device: node.device })[0] : g);
    });
  }

  const gradOutputs = [...wrt].map(([weight, n]) => {
    const t = n.outputs[0];
    let g = grads.get(`${n.id}:0`);
    if (!g) g = b.add('constant', [], { shape: [...t.shape], dtype: t.dtype, value: [0] }, gradName(weight))[0];
    else if (!sameType(b.type(g), t)) g = b.add('reshape', [g], { shape: [...t.shape] }, `${gradName(weight)}/reshape`)[0];
    return { name: gradName(weight), value: g };
  });
  const remap = (r: ValueRef) => map.get(refKey(r))!;
  const built = b.build(
    [...graph.outputs.map((o) => ({ name: o.name, value: remap(o.value) })), ...gradOutputs],
    graph.updates.map((u) => ({ ...u, value: remap(u.value) })),
  );
  return { graph: pruneFrom(built, forwardCount), weights: program.weights };
}
