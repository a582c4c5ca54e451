import type { Graph } from '../ir/types.js';
import { refKey } from '../ir/graph.js';
import type { Pass } from './program.js';
import { rewrite, rule } from './rewrite.js';
import { consumersOf } from './util.js';

/** The batchNormTraining nodes whose y only a relu on the same device reads, and those relus, by id. */
function planPairs(graph: Graph): { norms: Set<number>; relus: Set<number> } {
  const readers = consumersOf(graph);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const norms = new Set<number>();
  const relus = new Set<number>();
  for (const n of graph.nodes) {
    if (n.op !== 'batchNormTraining' || (n.attrs.activation ?? 'linear') !== 'linear') continue;
    const rs = readers.get(refKey({ node: n.id, output: 0 })) ?? [];
    const next = rs.length === 1 && rs[0] >= 0 ? byId.get(rs[0])! : undefined;
    if (next?.op !== 'relu' || next.device !== n.device) continue;
    norms.add(n.id);
    relus.add(next.id);
  }
  return { norms, relus };
}

/**
 * fuseBatchNormActivation (training, before autodiff): a batchNormTraining whose y feeds only a relu
 * takes the relu in (`activation: 'relu'`), as TF's fused batch norm does, so its elementwise pass
 * writes the activation and the relu's pass over the whole tensor goes. Its gradient masks dy by
 * y > 0, as relu's own rule does.
 */
export const fuseBatchNormActivation: Pass = {
  name: 'fuseBatchNormActivation',
  run(program, ctx) {
    const { norms, relus } = planPairs(program.graph);
    if (norms.size === 0) return program;
    return rewrite('fuseBatchNormActivation', [
      rule({ op: 'batchNormTraining', when: (n) => norms.has(n.id) }, (n, c) => c.builder.add(n.op, c.inputs, { ...n.attrs, activation: 'relu' }, n.name, { device: n.device })),
      rule({ op: 'relu', when: (n) => relus.has(n.id) }, (_, c) => [c.inputs[0]]),
    ]).run(program, ctx);
  },
};
