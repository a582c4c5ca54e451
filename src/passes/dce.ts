import type { ValueRef } from '../ir/types.js';
import { graphWeights } from '../ir/graph.js';
import { rewrite, rule } from './rewrite.js';
import type { Pass } from './program.js';

/**
 * dce: drops every node whose outputs reach no graph output or update, and the values of weights no
 * node reads any more. Graph inputs always stay, used or not: they are the compiled signature.
 */
export const dce: Pass = {
  name: 'dce',
  run(program, ctx) {
    const { graph } = program;
    const live = new Set<number>();
    const mark = (r: ValueRef) => live.add(r.node);
    graph.outputs.forEach((o) => mark(o.value));
    graph.updates.forEach((u) => mark(u.value));
    // An update's target weight must stay declared even when nothing reads it.
    const targets = new Set(graph.updates.map((u) => u.weight));
    graph.nodes.forEach((n) => n.op === 'weight' && targets.has(n.attrs.name as string) && live.add(n.id));
    for (let i = graph.nodes.length - 1; i >= 0; i--) {
      const n = graph.nodes[i];
      if (live.has(n.id)) n.inputs.forEach(mark);
    }
    const out = rewrite('dce', [rule({ when: (n) => !live.has(n.id) && n.op !== 'input' }, () => [])]).run(program, ctx);
    const kept = new Set(graphWeights(out.graph).map((n) => n.attrs.name as string));
    return { graph: out.graph, weights: new Map([...out.weights].filter(([name]) => kept.has(name))) };
  },
};
