import type { Graph, Node, TensorType } from '../ir/types.js';
import { refKey } from '../ir/graph.js';
import type { Pass } from './program.js';
import { rewrite, rule } from './rewrite.js';
import { consumersOf } from './util.js';

/** What joins a batchNormTraining: the add of a side input (its other operand) and the relu after it, each optional. */
interface Joined {
  readonly add?: Node;
  readonly side?: { node: number; output: number };
  readonly relu?: Node;
}

const sameType = (a: TensorType, b: TensorType) => a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);

/**
 * For each batchNormTraining without a side input or an activation: the add that alone reads its y
 * (whose other operand, of y's type, exists before the batch norm, so the fused node can take it where
 * the batch norm was) and the relu that alone reads the add's result or y.
 */
function plan(graph: Graph): Map<number, Joined> {
  const readers = consumersOf(graph);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const position = new Map(graph.nodes.map((n, i) => [n.id, i]));
  const onlyReader = (n: Node) => {
    const rs = readers.get(refKey({ node: n.id, output: 0 })) ?? [];
    const next = rs.length === 1 && rs[0] >= 0 ? byId.get(rs[0])! : undefined;
    return next?.device === n.device ? next : undefined;
  };
  const out = new Map<number, Joined>();
  for (const n of graph.nodes) {
    if (n.op !== 'batchNormTraining' || n.inputs.length > 3 || (n.attrs.activation ?? 'linear') !== 'linear') continue;
    let next = onlyReader(n);
    let joined: Joined = {};
    if (next?.op === 'add' && next.inputs.filter((r) => r.node === n.id).length === 1) {
      const side = next.inputs.find((r) => r.node !== n.id)!;
      const before = position.get(side.node)! < position.get(n.id)!;
      if (before && sameType(byId.get(side.node)!.outputs[side.output], n.outputs[0])) {
        joined = { add: next, side };
        next = onlyReader(next);
      }
    }
    if (next?.op === 'relu') joined = { ...joined, relu: next };
    if (joined.add || joined.relu) out.set(n.id, joined);
  }
  return out;
}

/**
 * fuseBatchNormActivation (training, before autodiff): a batchNormTraining takes in the add of a side
 * input that alone reads its y (a residual) and the relu after it, as TF's fused batch norm does, so
 * its elementwise pass writes relu(bn(x) + side) and the passes of the add and the relu over the
 * whole tensor go. Its gradient masks dy by y > 0, as relu's own rule does, and passes that to the side.
 */
export const fuseBatchNormActivation: Pass = {
  name: 'fuseBatchNormActivation',
  run(program, ctx) {
    const joins = plan(program.graph);
    if (joins.size === 0) return program;
    const absorbed = new Set([...joins.values()].flatMap((j) => [j.add?.id, j.relu?.id]).filter((id): id is number => id !== undefined));
    const fusedOf = new Map([...joins.entries()].flatMap(([bn, j]) => [j.add, j.relu].filter((n): n is Node => !!n).map((n) => [n.id, bn] as const)));
    return rewrite('fuseBatchNormActivation', [
      rule({ op: 'batchNormTraining', when: (n) => joins.has(n.id) }, (n, c) => {
        const j = joins.get(n.id)!;
        const inputs = j.side ? [...c.inputs, c.value(j.side)!] : c.inputs;
        return c.builder.add(n.op, inputs, { ...n.attrs, activation: j.relu ? 'relu' : 'linear' }, n.name, { device: n.device });
      }),
      // The add and the relu now stand for the fused node's y.
      rule({ when: (n) => absorbed.has(n.id) }, (n, c) => [c.value({ node: fusedOf.get(n.id)!, output: 0 })!]),
    ]).run(program, ctx);
  },
};
