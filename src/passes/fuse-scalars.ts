/**
 * fuseScalars: a training step's scalar bookkeeping in as few kernels as its order allows. After the
 * other fusions a step still ran one single-invocation kernel per scalar op: the loss's sum and mean
 * and their gradient seeds, the optimizer's step count, and in mixed precision the loss scale's
 * reciprocal, finite test, growth counter and new scale (the cnn's mixed step: 10 of its 32 kernels, now 2).
 * Scalar elementwise work joins a cluster when one place exists for the cluster that comes after every
 * value it reads from outside and before every outside reader of its values; each cluster becomes one
 * multi-output elementwise node at that place.
 */
import type { Graph, Node, ValueRef } from '../ir/types.js';
import { refKey } from '../ir/graph.js';
import { sizeOf } from '../ir/ndarray.js';
import { bodyAttr } from '../ir/ops/fused.js';
import { GraphBuilder } from './builder.js';
import { clusterBody } from './fuse-optimizer.js';
import { isElementwise } from './util.js';
import type { Pass, Program } from './program.js';

/** Elementwise work (a plain op or a fused elementwise node) all of whose outputs hold one element. */
export function isScalarWork(n: Node): boolean {
  const elementwise = (n.op === 'fused' && n.attrs.kind === 'elementwise') || isElementwise(n.op);
  return elementwise && n.op !== 'dropout' && n.outputs.every((t) => sizeOf(t.shape as number[]) === 1);
}

/** A value no kernel makes (a weight, a constant, an input): the emitter copies it where a cluster first needs it. */
const isSource = (n: Node) => n.inputs.length === 0 && SOURCES.has(n.op);
const SOURCES = new Set(['weight', 'constant', 'input']);

/** A planned cluster: its members (ids in graph order) and the node after which it is emitted (-1: first). */
export interface ScalarCluster {
  readonly members: readonly number[];
  readonly after: number;
}

/** Which nodes may share a cluster: the same key (and device). A data-parallel step keeps its phases apart. */
export type PhaseOf = (graph: Graph) => (n: Node) => string;

/**
 * Clusters of scalar work, grown in graph order: a node joins the cluster being grown for its device
 * and phase when that cluster still has a place with it (the last value it reads from outside is made
 * before the first outside reader of its values), else it starts the next one and the one before is
 * final. A value a final cluster makes counts as made where that cluster is emitted, and a cluster is
 * final once another phase's node reads it. Clusters of one node are left alone.
 */
export function planScalarClusters(graph: Graph, phaseOf: PhaseOf = () => () => ''): ScalarCluster[] {
  const phase = phaseOf(graph);
  const readers = new Map<number, number[]>();
  for (const n of graph.nodes) for (const r of n.inputs) readers.set(r.node, [...(readers.get(r.node) ?? []), n.id]);
  /** Where a final cluster of several nodes moved each member's value; a source's value is there from the start. */
  const madeAt = new Map<number, number>(graph.nodes.filter(isSource).map((n) => [n.id, -1]));
  const place = (members: ReadonlySet<number>) => {
    let after = -1;
    let before = Infinity;
    for (const id of members) {
      for (const r of graph.nodes[id].inputs) if (!members.has(r.node)) after = Math.max(after, madeAt.get(r.node) ?? r.node);
      for (const reader of readers.get(id) ?? []) if (!members.has(reader)) before = Math.min(before, reader);
    }
    return after < before ? after : undefined;
  };
  const done: ScalarCluster[] = [];
  const growing = new Map<string, { members: Set<number>; after: number }>();
  const finish = (key: string) => {
    const c = growing.get(key);
    growing.delete(key);
    if (!c || c.members.size < 2) return;
    const cluster = { members: [...c.members].sort((a, b) => a - b), after: c.after };
    for (const id of cluster.members) madeAt.set(id, cluster.after);
    done.push(cluster);
  };
  for (const n of graph.nodes) {
    if (!isScalarWork(n)) continue;
    const key = `${n.device ?? ''}|${phase(n)}`;
    for (const [other, c] of [...growing]) if (other !== key && n.inputs.some((r) => c.members.has(r.node))) finish(other);
    const c = growing.get(key);
    const after = c && place(new Set([...c.members, n.id]));
    if (c && after !== undefined) {
      c.members.add(n.id);
      c.after = after;
      continue;
    }
    finish(key);
    growing.set(key, { members: new Set([n.id]), after: -1 });
  }
  for (const key of [...growing.keys()]) finish(key);
  return done;
}

/** fuseScalars with nodes of different phases (`phaseOf`) kept in different clusters. */
export function fuseScalarsBy(phaseOf: PhaseOf): Pass {
  return { name: 'fuseScalars', run: (program) => fuseScalarClusters(program, planScalarClusters(program.graph, phaseOf)) };
}

/** Scalar work of a whole step clustered together: one phase. */
export const fuseScalars: Pass = fuseScalarsBy(() => () => '');

/** Each cluster becomes one multi-output elementwise node after its `after` node; its members go. */
function fuseScalarClusters(program: Program, clusters: readonly ScalarCluster[]): Program {
  const { graph } = program;
  if (clusters.length === 0) return program;
  const leaving = new Set([...graph.outputs.map((o) => refKey(o.value)), ...graph.updates.map((u) => refKey(u.value))]);
  const readers = new Map<string, number[]>();
  for (const n of graph.nodes) for (const r of n.inputs) readers.set(refKey(r), [...(readers.get(refKey(r)) ?? []), n.id]);
  const planned = clusters.map((c) => {
    const inside = new Set(c.members);
    const returned = (key: string) => leaving.has(key) || (readers.get(key) ?? []).some((id) => !inside.has(id));
    return { ...c, body: clusterBody(graph, c.members.map((id) => graph.nodes[id]), returned) };
  });
  const dropped = new Set(clusters.flatMap((c) => c.members));
  const b = new GraphBuilder();
  const map = new Map<string, ValueRef>();
  const remap = (r: ValueRef) => map.get(refKey(r))!;
  const copy = (n: Node) => b.copy(n, n.inputs.map(remap)).forEach((ref, k) => map.set(refKey({ node: n.id, output: k }), ref));
  const emit = (after: number) => {
    for (const c of planned.filter((p) => p.after === after)) {
      const first = graph.nodes[c.members[0]];
      // A weight or constant the cluster reads is copied where the cluster first needs it.
      for (const r of c.body.inputs) if (!map.has(refKey(r))) copy(graph.nodes[r.node]);
      const outs = b.add('fused', c.body.inputs.map(remap), { kind: 'elementwise', body: bodyAttr(c.body.body) }, first.name, { device: first.device });
      c.body.returns.forEach((r, k) => map.set(refKey(r), outs[k]));
    }
  };
  emit(-1);
  for (const n of graph.nodes) {
    if (!dropped.has(n.id) && !map.has(refKey({ node: n.id, output: 0 }))) copy(n);
    emit(n.id);
  }
  const next = b.build(
    graph.outputs.map((o) => ({ ...o, value: remap(o.value) })),
    graph.updates.map((u) => ({ ...u, value: remap(u.value) })),
  );
  return { graph: next, weights: program.weights };
}
