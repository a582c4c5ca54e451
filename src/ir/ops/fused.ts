/** Fused groups: a `fused` node runs a small body graph whose sources are `param` nodes (docs/ops.md). */
import type { OpDef } from '../registry.js';
import { getOp, withDefaults } from '../registry.js';
import type { Attrs, AttrValue, Node, TensorType, ValueRef } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { GraphError, KilnError, formatShape } from '../errors.js';
import { attrDtype, attrInt, attrShape, defineOp, dimsCompatible, fail, tensor } from './common.js';

/** The kinds of fused group the passes make and codegen lowers. */
export const FUSED_KINDS = ['epilogue', 'elementwise', 'reduction'] as const;

/** The body of a fused node: local nodes (ids 0..n-1, in order) and the values it returns. */
export interface FusedBody {
  readonly nodes: readonly Node[];
  readonly outputs: readonly ValueRef[];
}

/** The body of a fused node, read from its attrs. */
export function fusedBody(attrs: Attrs): FusedBody {
  const body = attrs.body as unknown as FusedBody | undefined;
  if (!body || !Array.isArray(body.nodes) || !Array.isArray(body.outputs)) fail('fused', `attribute 'body' must be {nodes, outputs}`);
  return body;
}

/** A fused body as an attribute value (bodies are plain JSON data like every attr). */
export function bodyAttr(body: FusedBody): AttrValue {
  return body as unknown as AttrValue;
}

function sameType(a: TensorType, b: TensorType): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

/** Reads a body value produced by an earlier body node; anything else is a GraphError. */
function bodyValue<T>(values: readonly (readonly T[] | undefined)[], ref: ValueRef, where: string): T {
  const v = values[ref.node]?.[ref.output];
  if (v === undefined) throw new GraphError(`fused: ${where} reads ${ref.node}:${ref.output}, which is not an earlier body value`, { ref });
  return v;
}

/** The type of the fused node's input `index`, checked against what the param declares. */
function paramType(node: Node, inputs: readonly TensorType[], check: boolean): TensorType {
  const index = attrInt('param', node.attrs, 'index');
  const t = inputs[index];
  if (!t) fail('fused', `param '${node.name}' reads input ${index}, the node has ${inputs.length}`);
  if (!check) return t;
  const shape = attrShape('param', node.attrs, 'shape');
  const ok = t.dtype === attrDtype('param', node.attrs, 'dtype') && shape.length === t.shape.length && shape.every((d, i) => dimsCompatible(d, t.shape[i]));
  if (!ok) fail('fused', `param '${node.name}' declares ${formatShape(shape)} ${node.attrs.dtype}, input ${index} is ${formatShape(t.shape)} ${t.dtype}`);
  return t;
}

/** Re-infers every body node from the fused node's input types; `check` compares with the recorded types. */
function walkBody(body: FusedBody, inputs: readonly TensorType[], check: boolean): TensorType[][] {
  const types: TensorType[][] = [];
  body.nodes.forEach((node, i) => {
    if (node.id !== i) fail('fused', `body node '${node.name}' has id ${node.id}, expected ${i} (ids are positions)`);
    let outs: TensorType[];
    if (node.op === 'param') outs = [paramType(node, inputs, check)];
    else {
      const def = getOp(node.op);
      if (def.arity === 0 && node.op !== 'constant') fail('fused', `body node '${node.name}' is a ${node.op}: body sources are params and constants`);
      const inTypes = node.inputs.map((r) => bodyValue(types, r, `body node '${node.name}'`));
      try {
        outs = def.infer(inTypes, withDefaults(def, node.attrs));
      } catch (e) {
        if (e instanceof KilnError) throw new GraphError(`fused body node '${node.name}': ${e.message}`, { node: node.name, cause: e });
        throw e;
      }
    }
    if (check && (outs.length !== node.outputs.length || !outs.every((t, k) => sameType(t, node.outputs[k])))) {
      fail('fused', `body node '${node.name}' (${node.op}) records ${JSON.stringify(node.outputs)}, infers ${JSON.stringify(outs)}`);
    }
    types.push(outs);
  });
  return types;
}

/** Re-infers a body from the fused node's input types and checks every recorded type; returns the output types. */
function inferBody(body: FusedBody, inputs: readonly TensorType[]): TensorType[] {
  const types = walkBody(body, inputs, true);
  if (body.outputs.length === 0) fail('fused', 'body has no outputs');
  return body.outputs.map((r) => {
    const t = bodyValue(types, r, 'body output');
    return tensor(t.shape, t.dtype);
  });
}

/** The same body typed for new input types (params restate them; every node's outputs are inferred again). */
export function retypeBody(body: FusedBody, inputs: readonly TensorType[]): FusedBody {
  const types = walkBody(body, inputs, false);
  const nodes = body.nodes.map((n, i) => {
    const attrs = n.op === 'param' ? { ...n.attrs, shape: [...types[i][0].shape], dtype: types[i][0].dtype } : n.attrs;
    return { ...n, attrs, outputs: types[i] };
  });
  return { nodes, outputs: body.outputs };
}

export const fusedOps: OpDef[] = [
  defineOp({
    name: 'param',
    arity: 0,
    attrs: { index: { kind: 'int' }, shape: { kind: 'shape' }, dtype: { kind: 'dtype', default: 'float32' } },
    infer: (_, attrs) => [tensor(attrShape('param', attrs, 'shape'), attrDtype('param', attrs, 'dtype'))],
    reference: () => {
      throw new GraphError('param: only valid inside a fused body, where the fused node supplies its value', { op: 'param' });
    },
  }),
  defineOp({
    name: 'fused',
    arity: [0, Infinity],
    attrs: { kind: { kind: 'string', oneOf: FUSED_KINDS }, body: { kind: 'json' } },
    infer: (inputs, attrs) => inferBody(fusedBody(attrs), inputs),
    reference: (inputs, attrs, ctx) => {
      const body = fusedBody(attrs);
      const values: NDArray[][] = [];
      for (const node of body.nodes) {
        if (node.op === 'param') {
          values.push([inputs[attrInt('param', node.attrs, 'index')]]);
          continue;
        }
        const def = getOp(node.op);
        const args = node.inputs.map((r) => bodyValue(values, r, `body node '${node.name}'`));
        values.push(def.reference(args, withDefaults(def, node.attrs), ctx));
      }
      return body.outputs.map((r) => bodyValue(values, r, 'body output'));
    },
  }),
];
