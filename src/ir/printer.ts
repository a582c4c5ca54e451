import type { AttrValue, Graph, TensorType, ValueRef } from './types.js';
import { formatShape } from './errors.js';

const ref = (r: ValueRef) => (r.output === 0 ? `%${r.node}` : `%${r.node}:${r.output}`);
const type = (t: TensorType) => `${formatShape(t.shape)} ${t.dtype}`;

function attr(v: AttrValue): string {
  if (Array.isArray(v)) return `[${v.map(attr).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${attr(x)}`).join(', ')}}`;
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** A readable listing of a graph: one line per node, then its outputs and updates. */
export function printGraph(graph: Graph): string {
  const lines = graph.nodes.map((n) => {
    const attrs = Object.entries(n.attrs).filter(([k]) => !(n.op === 'constant' && k === 'value' && (n.attrs.value as unknown[]).length > 8));
    const a = attrs.length ? ` {${attrs.map(([k, v]) => `${k}: ${attr(v)}`).join(', ')}}` : '';
    const outs = n.outputs.map(type).join(', ');
    const where = n.device ? `  @${n.device}` : '';
    return `  %${n.id} = ${n.op}(${n.inputs.map(ref).join(', ')})${a} : ${outs}  # ${n.name}${where}`;
  });
  const outputs = graph.outputs.map((o) => `  ${o.name} = ${ref(o.value)}`);
  const updates = graph.updates.map((u) => `  ${u.weight} <- ${ref(u.value)}`);
  return ['graph {', ...lines, 'outputs:', ...outputs, ...(updates.length ? ['updates:', ...updates] : []), '}'].join('\n');
}
