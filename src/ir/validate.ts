import type { Attrs, AttrValue, Graph, TensorType } from './types.js';
import { getOp, withDefaults, type AttrSpec } from './registry.js';
import { GraphError, KilnError } from './errors.js';
import { refKey } from './graph.js';

const DTYPES = new Set(['float32', 'int32', 'bool', 'float16']);

const isInt = (v: AttrValue | undefined) => typeof v === 'number' && Number.isInteger(v);
const kindCheck: Record<AttrSpec['kind'], (v: AttrValue | undefined) => boolean> = {
  int: isInt,
  ints: (v) => Array.isArray(v) && v.every(isInt),
  float: (v) => typeof v === 'number',
  floats: (v) => Array.isArray(v) && v.every((x) => typeof x === 'number'),
  bool: (v) => typeof v === 'boolean',
  string: (v) => typeof v === 'string',
  dtype: (v) => typeof v === 'string' && DTYPES.has(v),
  shape: (v) => Array.isArray(v) && v.every((d) => d === null || (isInt(d) && (d as number) >= 0)),
  json: () => true,
};

function sameType(a: TensorType, b: TensorType): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

function checkAttrs(op: string, name: string, schema: Record<string, AttrSpec>, attrs: Attrs): void {
  for (const key of Object.keys(attrs)) {
    if (!(key in schema)) throw new GraphError(`node '${name}' (${op}): unknown attribute '${key}'`, { node: name, op });
  }
  for (const [key, spec] of Object.entries(schema)) {
    const v = attrs[key];
    if (v === undefined) {
      if (spec.default === undefined) throw new GraphError(`node '${name}' (${op}): missing attribute '${key}'`, { node: name, op });
      continue;
    }
    if (!kindCheck[spec.kind](v)) {
      throw new GraphError(`node '${name}' (${op}): attribute '${key}' should be ${spec.kind}, got ${JSON.stringify(v)}`, { node: name, op });
    }
    if (spec.oneOf && !spec.oneOf.includes(v as string)) {
      throw new GraphError(`node '${name}' (${op}): attribute '${key}' is '${v}', expected one of ${spec.oneOf.join(', ')}`, { node: name, op });
    }
  }
}

/**
 * Checks every invariant of a graph: known ops, attrs match their schema, inputs refer to earlier
 * nodes (topological order), arity, unique ids and weight names, and that each node's recorded
 * output types equal what its op infers. Throws GraphError naming the first node that fails.
 */
export function validate(graph: Graph): void {
  const seen = new Map<number, readonly TensorType[]>();
  const weightNames = new Set<string>();
  const inputNames = new Set<string>();
  for (const node of graph.nodes) {
    if (seen.has(node.id)) throw new GraphError(`duplicate node id ${node.id} ('${node.name}')`, { node: node.name });
    const def = getOp(node.op);
    checkAttrs(node.op, node.name, def.attrs, node.attrs);
    const [min, max] = typeof def.arity === 'number' ? [def.arity, def.arity] : def.arity;
    if (node.inputs.length < min || node.inputs.length > max) {
      throw new GraphError(`node '${node.name}' (${node.op}): ${node.inputs.length} inputs, expected ${min === max ? min : `${min}..${max}`}`, { node: node.name });
    }
    const inTypes = node.inputs.map((ref) => {
      const outs = seen.get(ref.node);
      if (!outs) throw new GraphError(`node '${node.name}' reads ${refKey(ref)}, which is not an earlier node`, { node: node.name, ref });
      const t = outs[ref.output];
      if (!t) throw new GraphError(`node '${node.name}' reads output ${ref.output} of node ${ref.node}, which has ${outs.length}`, { node: node.name });
      return t;
    });
    let inferred: TensorType[];
    try {
      inferred = def.infer(inTypes, withDefaults(def, node.attrs));
    } catch (e) {
      if (e instanceof KilnError) throw new GraphError(`node '${node.name}': ${e.message}`, { node: node.name, cause: e });
      throw e;
    }
    if (inferred.length !== node.outputs.length || !inferred.every((t, i) => sameType(t, node.outputs[i]))) {
      throw new GraphError(`node '${node.name}' (${node.op}): recorded outputs ${JSON.stringify(node.outputs)} differ from inferred ${JSON.stringify(inferred)}`, { node: node.name });
    }
    const unique = node.op === 'weight' ? weightNames : node.op === 'input' ? inputNames : null;
    if (unique) {
      const n = node.attrs.name as string;
      if (unique.has(n)) throw new GraphError(`two ${node.op} nodes are named '${n}'`, { node: node.name });
      unique.add(n);
    }
    seen.set(node.id, node.outputs);
  }
  for (const r of [...graph.outputs.map((o) => o.value), ...graph.updates.map((u) => u.value)]) {
    if (!seen.get(r.node)?.[r.output]) throw new GraphError(`graph output/update refers to missing value ${refKey(r)}`, { ref: r });
  }
  for (const u of graph.updates) {
    if (!weightNames.has(u.weight)) throw new GraphError(`update targets unknown weight '${u.weight}'`, { weight: u.weight });
  }
}
