import type { Node, ValueRef } from '../ir/types.js';
import { refKey } from '../ir/graph.js';
import { RNN_ATTRS } from '../ir/ops/recurrent.js';
import { forwardCount } from '../ir/ops/recurrent-grad.js';
import { rewrite, rule } from './rewrite.js';
import type { Pass, Program, PassContext } from './program.js';

/** Whether two recurrent nodes run the same recurrence: the same forward inputs and cell attributes. */
function sameRecurrence(forward: Node, grad: Node): boolean {
  const n = forwardCount(grad.inputs.length, grad.attrs);
  if (n !== forward.inputs.length || forward.inputs.some((r, i) => refKey(r) !== refKey(grad.inputs[i]))) return false;
  return Object.keys(RNN_ATTRS).every((k) => JSON.stringify(forward.attrs[k]) === JSON.stringify(grad.attrs[k]));
}

/**
 * recordRecurrentStates: an rnnSequenceGrad whose forward rnnSequence is in the same graph reads what the
 * forward records (`record`: each step's dropped state, gate pre-activations, cell states) instead of
 * running the recurrence again (`recorded`), as cuDNN keeps its reserve space. The records live from the
 * forward to the walk back, in the arena like any value. Runs after autodiff.
 */
export const recordRecurrentStates: Pass = {
  name: 'recordRecurrentStates',
  run(program: Program, ctx: PassContext): Program {
    const forwards = program.graph.nodes.filter((n) => n.op === 'rnnSequence' && !n.attrs.record);
    const forwardOf = new Map<number, Node>();
    for (const g of program.graph.nodes) {
      if (g.op !== 'rnnSequenceGrad' || g.attrs.recorded) continue;
      const f = forwards.find((n) => sameRecurrence(n, g));
      if (f) forwardOf.set(g.id, f);
    }
    if (forwardOf.size === 0) return program;
    const recorded = new Set([...forwardOf.values()].map((f) => f.id));
    const records = new Map<number, ValueRef[]>();
    return rewrite('recordRecurrentStates', [
      rule({ op: 'rnnSequence', when: (n) => recorded.has(n.id) }, (node, rc) => {
        const outs = rc.builder.add(node.op, rc.inputs, { ...node.attrs, record: true }, node.name, { device: node.device });
        records.set(node.id, outs.slice(node.outputs.length));
        return outs.slice(0, node.outputs.length);
      }),
      rule({ op: 'rnnSequenceGrad', when: (n) => forwardOf.has(n.id) }, (node, rc) =>
        rc.builder.add(node.op, [...rc.inputs, ...records.get(forwardOf.get(node.id)!.id)!], { ...node.attrs, recorded: true }, node.name, { device: node.device }),
      ),
    ]).run(program, ctx);
  },
};
