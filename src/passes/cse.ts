import type { ValueRef } from '../ir/types.js';
import { refKey } from '../ir/graph.js';
import { rewrite, rule } from './rewrite.js';
import type { Pass } from './program.js';

/** Ops never merged: inputs and weights are the graph's signature and state, each one of a kind. */
const UNIQUE = new Set(['input', 'weight', 'param']);

/**
 * cse: `identity` nodes are removed (readers take their input), then nodes with the same op, attrs,
 * device and (already merged) inputs become one. Names of the first occurrence are kept.
 */
export const cse: Pass = {
  name: 'cse',
  run(program, ctx) {
    const seen = new Map<string, ValueRef[]>();
    return rewrite('cse', [
      rule({ op: 'identity' }, (_, c) => [c.inputs[0]]),
      rule({ when: (n) => !UNIQUE.has(n.op) }, (node, c) => {
        const key = JSON.stringify([node.op, node.attrs, node.device ?? null, c.inputs.map(refKey)]);
        const known = seen.get(key);
        if (known) return known;
        const outs = c.builder.copy(node, c.inputs);
        seen.set(key, outs);
        return outs;
      }),
    ]).run(program, ctx);
  },
};
