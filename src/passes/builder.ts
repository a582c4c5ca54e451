import type { Attrs, Graph, GraphOutput, GraphUpdate, Node, TensorType, ValueRef } from '../ir/types.js';
import { getOp, withDefaults } from '../ir/registry.js';

/**
 * Builds a new graph node by node, inferring each node's output types from the registry. Passes
 * copy the nodes they keep and add the ones they make through this, so ids stay dense and ordered.
 */
export class GraphBuilder {
  private readonly nodes: Node[] = [];

  /** Adds a node; its outputs are inferred unless given. */
  add(op: string, inputs: readonly ValueRef[], attrs: Attrs, name: string, extra: { device?: string; outputs?: readonly TensorType[] } = {}): ValueRef[] {
    const def = getOp(op);
    const outputs = extra.outputs ?? def.infer(inputs.map((r) => this.type(r)), withDefaults(def, attrs));
    const id = this.nodes.length;
    this.nodes.push({ id, op, inputs: [...inputs], attrs, outputs: [...outputs], name, ...(extra.device ? { device: extra.device } : {}) });
    return outputs.map((_, output) => ({ node: id, output }));
  }

  /** Copies a node of another graph with remapped inputs, keeping its recorded types. */
  copy(node: Node, inputs: readonly ValueRef[]): ValueRef[] {
    return this.add(node.op, inputs, node.attrs, node.name, { device: node.device, outputs: node.outputs });
  }

  /** The static type of a value built so far. */
  type(ref: ValueRef): TensorType {
    return this.nodes[ref.node].outputs[ref.output];
  }

  /** The node behind a value built so far. */
  node(ref: ValueRef): Node {
    return this.nodes[ref.node];
  }

  /** Finishes the graph. */
  build(outputs: readonly GraphOutput[], updates: readonly GraphUpdate[]): Graph {
    return { nodes: [...this.nodes], outputs: [...outputs], updates: [...updates] };
  }
}
