/**
 * fuseOptimizer: the optimizer update of every weight in one kernel (PyTorch's "multi-tensor apply").
 * After fuseElementwise a weight's Adam update is still three kernels (m, v and w, since m and v are
 * each read twice). This pass first joins each connected cluster of same-shape elementwise nodes whose
 * values only feed `graph.updates` into one multi-output elementwise body; clusters with equal bodies
 * (every weight's, for one optimizer) then become one `fusedSegments` node. Updates already in a
 * producer's epilogue (plain SGD's `w − lr·xᵀdy`) stay there: that costs no kernel at all.
 */
import type { Graph, Node, TensorType, ValueRef } from '../ir/types.js';
import { refKey } from '../ir/graph.js';
import { sizeOf } from '../ir/ndarray.js';
import { bodyAttr, fusedBody, type FusedBody } from '../ir/ops/fused.js';
import { GraphBuilder } from './builder.js';
import { isElementwise } from './util.js';
import type { Pass } from './program.js';

/** A cluster: member nodes in graph order, its inputs from outside, its body, and the values it returns. */
export interface Cluster {
  readonly members: readonly Node[];
  readonly inputs: readonly ValueRef[];
  readonly body: FusedBody;
  readonly returns: readonly ValueRef[];
}

const numel = (t: TensorType) => sizeOf(t.shape as number[]);
const shapeKey = (t: TensorType) => t.shape.join(',');

/** Elementwise work (a fused elementwise node or a plain elementwise op) whose outputs share one non-scalar float32 shape. */
function isCandidate(n: Node): boolean {
  const elementwise = (n.op === 'fused' && n.attrs.kind === 'elementwise') || isElementwise(n.op);
  return elementwise && n.outputs.every((t) => t.dtype === 'float32' && numel(t) > 1 && shapeKey(t) === shapeKey(n.outputs[0]));
}

/** Connected groups of candidates (edges between candidates of one shape and device) whose values leave only through updates. */
function findClusters(graph: Graph): Node[][] {
  const updated = new Set(graph.updates.map((u) => refKey(u.value)));
  const returned = new Set(graph.outputs.map((o) => refKey(o.value)));
  const readers = new Map<string, number[]>();
  for (const n of graph.nodes) for (const r of n.inputs) readers.set(refKey(r), [...(readers.get(refKey(r)) ?? []), n.id]);
  const parent = new Map<number, number>();
  const find = (x: number): number => (parent.get(x) === x ? x : find(parent.get(x)!));
  for (const n of graph.nodes) if (isCandidate(n)) parent.set(n.id, n.id);
  for (const n of graph.nodes) {
    if (!parent.has(n.id)) continue;
    for (const r of n.inputs) {
      const m = graph.nodes[r.node];
      if (parent.has(m.id) && m.device === n.device && shapeKey(m.outputs[0]) === shapeKey(n.outputs[0])) parent.set(find(n.id), find(m.id));
    }
  }
  const components = new Map<number, Node[]>();
  for (const id of parent.keys()) components.set(find(id), [...(components.get(find(id)) ?? []), graph.nodes[id]]);
  return [...components.values()].filter((members) => {
    const inside = new Set(members.map((m) => m.id));
    const outs = members.flatMap((m) => m.outputs.map((_, k) => refKey({ node: m.id, output: k })));
    return outs.some((k) => updated.has(k)) && outs.every((k) => !returned.has(k) && (readers.get(k) ?? []).every((id) => inside.has(id)));
  }).map((members) => members.sort((a, b) => a.id - b.id));
}

/**
 * One body for a cluster: outside values become params, member bodies are inlined, and the values
 * `returned` picks (by default those that update a weight) are returned.
 */
export function clusterBody(graph: Graph, members: readonly Node[], returned?: (key: string) => boolean): Cluster {
  const updated = new Set(graph.updates.map((u) => refKey(u.value)));
  const leaves = returned ?? ((key: string) => updated.has(key));
  const inside = new Set(members.map((m) => m.id));
  const inputs: ValueRef[] = [];
  const nodes: Node[] = [];
  const local = new Map<string, ValueRef>();
  const push = (n: Omit<Node, 'id'>): ValueRef => {
    nodes.push({ ...n, id: nodes.length } as Node);
    return { node: nodes.length - 1, output: 0 };
  };
  for (const m of members) {
    for (const r of m.inputs) {
      if (inside.has(r.node) || local.has(refKey(r))) continue;
      const t = graph.nodes[r.node].outputs[r.output];
      local.set(refKey(r), push({ op: 'param', inputs: [], attrs: { index: inputs.length, shape: [...t.shape], dtype: t.dtype }, outputs: [t], name: `param${inputs.length}` }));
      inputs.push(r);
    }
  }
  for (const m of members) {
    const args = m.inputs.map((r) => local.get(refKey(r))!);
    if (m.op !== 'fused') {
      const id = nodes.length;
      nodes.push({ id, op: m.op, inputs: args, attrs: m.attrs, outputs: m.outputs, name: m.name });
      m.outputs.forEach((_, k) => local.set(refKey({ node: m.id, output: k }), { node: id, output: k }));
      continue;
    }
    const body = fusedBody(m.attrs);
    const inner = new Map<number, number>();
    for (const bn of body.nodes) {
      if (bn.op === 'param') {
        const arg = args[bn.attrs.index as number];
        inner.set(bn.id, arg.node);
        continue;
      }
      const id = nodes.length;
      nodes.push({ ...bn, id, inputs: bn.inputs.map((r) => ({ node: inner.get(r.node)!, output: r.output })) });
      inner.set(bn.id, id);
    }
    body.outputs.forEach((r, k) => local.set(refKey({ node: m.id, output: k }), { node: inner.get(r.node)!, output: r.output }));
  }
  const returns = members.flatMap((m) => m.outputs.map((_, k) => ({ node: m.id, output: k }))).filter((r) => leaves(refKey(r)));
  return { members, inputs, body: { nodes, outputs: returns.map((r) => local.get(refKey(r))!) }, returns };
}

/** The body with shapes abstracted to 'scalar' or 'full': equal keys, one kernel body for all segments. */
function bodyKey(c: Cluster, graph: Graph): string {
  const nodes = c.body.nodes.map((n) => ({
    op: n.op,
    inputs: n.inputs,
    attrs: n.op === 'param' ? { index: n.attrs.index, scalar: numel(n.outputs[0]) === 1 } : n.attrs,
  }));
  const inputsFull = c.inputs.map((r) => numel(graph.nodes[r.node].outputs[r.output]) !== 1 && shapeKey(graph.nodes[r.node].outputs[r.output]) === shapeKey(c.members[0].outputs[0]));
  return JSON.stringify({ device: c.members[0].device ?? '', nodes, outputs: c.body.outputs, inputsFull });
}

/** Clusters grouped by body, in graph order of their first member. */
export function planOptimizerGroups(graph: Graph): Cluster[][] {
  const groups = new Map<string, Cluster[]>();
  for (const members of findClusters(graph)) {
    const c = clusterBody(graph, members);
    const key = bodyKey(c, graph);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()];
}

export const fuseOptimizer: Pass = {
  name: 'fuseOptimizer',
  run(program) {
    const { graph } = program;
    // Segments read every input at the element index or at 0: a broadcast input keeps its cluster on its own.
    const full = (c: Cluster, r: ValueRef) => {
      const t = graph.nodes[r.node].outputs[r.output];
      return numel(t) === 1 || shapeKey(t) === shapeKey(c.members[0].outputs[0]);
    };
    const groups = planOptimizerGroups(graph)
      .flatMap((g) => (g.every((c) => c.inputs.every((r) => full(c, r))) ? [g] : g.map((c) => [c])))
      .filter((g) => g.length > 1 || g[0].members.length > 1);
    if (groups.length === 0) return program;
    // Each group is emitted where its last member was: every member's inputs exist by then.
    const lastOf = new Map<number, Cluster[]>();
    const dropped = new Set<number>();
    for (const g of groups) {
      const ids = g.flatMap((c) => c.members.map((m) => m.id));
      ids.forEach((id) => dropped.add(id));
      lastOf.set(Math.max(...ids), g);
    }
    const b = new GraphBuilder();
    const map = new Map<string, ValueRef>();
    const remap = (r: ValueRef) => map.get(refKey(r))!;
    for (const n of graph.nodes) {
      const group = lastOf.get(n.id);
      if (group) {
        const [first] = group;
        const attrs = { body: bodyAttr(first.body), segments: group.length, arity: first.inputs.length };
        const outs =
          group.length > 1
            ? b.add('fusedSegments', group.flatMap((c) => c.inputs.map(remap)), attrs, `${first.members[0].name}/all_weights`, { device: first.members[0].device })
            : b.add('fused', first.inputs.map(remap), { kind: 'elementwise', body: attrs.body }, first.members[0].name, { device: first.members[0].device });
        let k = 0;
        for (const c of group) for (const r of c.returns) map.set(refKey(r), outs[k++]);
        continue;
      }
      if (dropped.has(n.id)) continue;
      b.copy(n, n.inputs.map(remap)).forEach((ref, k) => map.set(refKey({ node: n.id, output: k }), ref));
    }
    const next = b.build(
      graph.outputs.map((o) => ({ ...o, value: remap(o.value) })),
      graph.updates.map((u) => ({ ...u, value: remap(u.value) })),
    );
    return { graph: next, weights: program.weights };
  },
};
