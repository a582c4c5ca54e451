import type { Graph, Node } from '../ir/types.js';
import { refKey } from '../ir/graph.js';
import { fusionPass, type Group } from './fusion.js';
import { consumersOf, isElementwise } from './util.js';

/** Most ops one elementwise kernel takes: keeps bodies (and WGSL) small. */
export const MAX_ELEMENTWISE_GROUP = 32;

const sameShape = (a: Node, b: Node) => a.outputs[0].shape.length === b.outputs[0].shape.length && a.outputs[0].shape.every((d, i) => d === b.outputs[0].shape[i]);

/**
 * Groups of elementwise ops, grown backwards from a root (visited last to first): an op joins when
 * every reader of its output is already in the group (so only the root's value leaves it), it has
 * the root's shape and device. Ops already fused are not elementwise and stay out.
 */
export function planElementwise(graph: Graph): Group[] {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const readers = consumersOf(graph);
  const claimed = new Set<number>();
  const groups: Group[] = [];
  const eligible = (n: Node, root: Node) => isElementwise(n.op) && !claimed.has(n.id) && n.device === root.device && sameShape(n, root);
  for (const root of [...graph.nodes].reverse()) {
    if (!isElementwise(root.op) || claimed.has(root.id)) continue;
    const group = new Set([root.id]);
    const candidates = new Set<number>(root.inputs.map((r) => r.node));
    // Highest id first: every reader of a candidate has been decided before the candidate is.
    while (candidates.size > 0 && group.size < MAX_ELEMENTWISE_GROUP) {
      const id = Math.max(...candidates);
      candidates.delete(id);
      const n = byId.get(id)!;
      const rs = readers.get(refKey({ node: id, output: 0 })) ?? [];
      if (!eligible(n, root) || !rs.every((r) => group.has(r))) continue;
      group.add(id);
      n.inputs.forEach((r) => !group.has(r.node) && candidates.add(r.node));
    }
    group.forEach((id) => claimed.add(id));
    if (group.size > 1) groups.push([...group].sort((a, b) => a - b));
  }
  return groups;
}

/** fuseElementwise: maximal groups of elementwise ops not fused yet become `fused` nodes of kind 'elementwise'; a lone op stays plain. */
export const fuseElementwise = fusionPass('fuseElementwise', 'elementwise', planElementwise);
