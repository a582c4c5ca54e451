/** The shared half of the fusion passes: turning a planned group of nodes into one `fused` node. */
import type { Graph, Node, ValueRef } from '../ir/types.js';
import { refKey } from '../ir/graph.js';
import { bodyAttr, type FusedBody } from '../ir/ops/fused.js';
import { sizeOf } from '../ir/ndarray.js';
import { rewrite, rule, type RuleContext } from './rewrite.js';
import type { Pass } from './program.js';
import { PRODUCERS } from './util.js';

/** A planned group: old-graph node ids in graph order; the last one's output is the group's result. */
export type Group = readonly number[];

/** Where a body operand comes from: a fused-node input (param) or an inlined scalar constant. */
type Source = { kind: 'param'; ref: ValueRef } | { kind: 'constant'; node: Node };

/** Builds the fused node for one group at the position of its last member. */
function emitGroup(members: readonly Node[], kind: string, byId: Map<number, Node>, ctx: RuleContext): ValueRef[] {
  const inGroup = new Set(members.map((m) => m.id));
  const sources = new Map<string, Source>();
  for (const m of members) {
    for (const r of m.inputs) {
      if (inGroup.has(r.node) || sources.has(refKey(r))) continue;
      const src = byId.get(r.node)!;
      // Scalar constants live in the body (as WGSL literals), not as kernel inputs.
      const scalar = src.op === 'constant' && sizeOf(src.outputs[0].shape as number[]) === 1;
      sources.set(refKey(r), scalar ? { kind: 'constant', node: src } : { kind: 'param', ref: r });
    }
  }
  const entries = [...sources.entries()].sort(([, a], [, b]) => (a.kind === b.kind ? 0 : a.kind === 'param' ? -1 : 1));
  const nodes: Node[] = [];
  const local = new Map<string, ValueRef>();
  const inputs: ValueRef[] = [];
  for (const [key, src] of entries) {
    const id = nodes.length;
    if (src.kind === 'param') {
      const ref = ctx.value(src.ref)!;
      const t = ctx.builder.type(ref);
      nodes.push({ id, op: 'param', inputs: [], attrs: { index: inputs.length, shape: [...t.shape], dtype: t.dtype }, outputs: [t], name: `param${inputs.length}` });
      inputs.push(ref);
    } else nodes.push({ ...src.node, id, inputs: [] });
    local.set(key, { node: id, output: 0 });
  }
  for (const m of members) {
    const id = nodes.length;
    nodes.push({ id, op: m.op, inputs: m.inputs.map((r) => local.get(refKey(r))!), attrs: m.attrs, outputs: m.outputs, name: m.name });
    m.outputs.forEach((_, i) => local.set(`${m.id}:${i}`, { node: id, output: i }));
  }
  const last = members[members.length - 1];
  const body: FusedBody = { nodes: nodes.map(({ device: _, ...n }) => n), outputs: last.outputs.map((_, i) => local.get(`${last.id}:${i}`)!) };
  // Named after its producer (a Dense read through a pooling is still the Dense), else its first op.
  const named = members.find((m) => PRODUCERS.includes(m.op)) ?? members[0];
  return ctx.builder.add('fused', inputs, { kind, body: bodyAttr(body) }, named.name, { device: members[0].device });
}

/**
 * A fusion pass: `plan` picks disjoint groups on the input graph; each group becomes one `fused`
 * node of `kind` where its last member was, and its other members disappear.
 */
export function fusionPass(name: string, kind: string, plan: (graph: Graph) => readonly Group[]): Pass {
  return {
    name,
    run(program, ctx) {
      const byId = new Map(program.graph.nodes.map((n) => [n.id, n]));
      const groupOf = new Map<number, Group>();
      for (const g of plan(program.graph)) for (const id of g) groupOf.set(id, g);
      const isLast = (id: number) => groupOf.get(id)!.at(-1) === id;
      return rewrite(name, [
        rule({ when: (n) => groupOf.has(n.id) && !isLast(n.id) }, () => []),
        rule({ when: (n) => groupOf.has(n.id) }, (n, c) => emitGroup(groupOf.get(n.id)!.map((id) => byId.get(id)!), kind, byId, c)),
      ]).run(program, ctx);
    },
  };
}
