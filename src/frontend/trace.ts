import type { Graph, Node, ValueRef } from '../ir/types.js';
import { LEARNING_PHASE } from '../ir/types.js';
import { ModelError } from '../ir/errors.js';
import type { NDArray } from '../ir/ndarray.js';
import type { Update } from './layer.js';
import type { SymbolicTensor, TraceNode } from './symbolic.js';
import { variableOf, type LayerVariable } from './variables.js';

/** What to cut out of the traced definitions: graph inputs, named outputs, state updates. */
export interface TraceSpec {
  readonly inputs: readonly SymbolicTensor[];
  readonly outputs: readonly { name: string; tensor: SymbolicTensor }[];
  readonly updates?: readonly Update[];
  /** Names the model in errors. */
  readonly model: string;
}

/** A traced graph and the variables whose values its weight nodes read. */
export interface Traced {
  readonly graph: Graph;
  readonly variables: readonly LayerVariable[];
}

/**
 * Turns symbolic tensors into an IR graph: walks back from outputs and updates to the given inputs,
 * numbering nodes in topological order. Reaching an input the model was not given is Keras's
 * "graph disconnected" error.
 */
export function traceGraph(spec: TraceSpec): Traced {
  const ids = new Map<TraceNode, number>();
  const nodes: Node[] = [];
  const variables: LayerVariable[] = [];
  const inputRefs = new Map<SymbolicTensor, ValueRef>();

  const add = (node: Omit<Node, 'id'>): number => {
    const id = nodes.length;
    nodes.push({ id, ...node });
    return id;
  };
  spec.inputs.forEach((t, i) => {
    if (t.node.op === 'input' && t.node.outputs.length === 1) {
      const id = add(plain(t.node, []));
      ids.set(t.node, id);
      inputRefs.set(t, { node: id, output: 0 });
    } else {
      const name = `${spec.model}_input_${i}`;
      const id = add({ op: 'input', inputs: [], attrs: { name, shape: [...t.shape], dtype: t.dtype }, outputs: [t.type], name });
      inputRefs.set(t, { node: id, output: 0 });
    }
  });

  const refOf = (t: SymbolicTensor): ValueRef => inputRefs.get(t) ?? { node: visit(t.node), output: t.index };
  function visit(node: TraceNode): number {
    const known = ids.get(node);
    if (known !== undefined) return known;
    if (node.op === 'input' && node.attrs.name !== LEARNING_PHASE) {
      throw new ModelError(
        `model '${spec.model}': graph disconnected: an output depends on input '${node.attrs.name}', which is not among the model's inputs (${spec.inputs.map((t) => t.name).join(', ') || 'none'})`,
        { model: spec.model, input: node.attrs.name },
      );
    }
    const inputs = node.inputs.map(refOf);
    let attrs = node.attrs;
    const variable = node.op === 'weight' ? variableOf(node.id) : undefined;
    if (variable) {
      const reg = variable.regularizer;
      attrs = { ...attrs, trainable: variable.trainable };
      if (reg) attrs = { ...attrs, regularizer: { className: reg.className, config: { ...reg.getConfig() } } };
      variables.push(variable);
    }
    const id = add({ ...plain(node, inputs), attrs });
    ids.set(node, id);
    return id;
  }

  const outputs = spec.outputs.map((o) => ({ name: o.name, value: refOf(o.tensor) }));
  const updates = (spec.updates ?? []).map((u) => ({ weight: u.variable.name, value: refOf(u.value), ...(u.inference ? { inference: true } : {}) }));
  return { graph: { nodes, outputs, updates }, variables };
}

function plain(node: TraceNode, inputs: ValueRef[]): Omit<Node, 'id'> {
  return { op: node.op, inputs, attrs: node.attrs, outputs: node.outputs, name: node.name, ...(node.device ? { device: node.device } : {}) };
}

/** Current values of variables as concrete tensors, by weight name (the interpreter's weight map). */
export function weightValues(variables: readonly LayerVariable[]): Map<string, NDArray> {
  return new Map(variables.map((v) => [v.name, { shape: v.shape, dtype: v.dtype, data: v.read() }]));
}
