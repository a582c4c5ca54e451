import type { DType, Node, TensorType, ValueRef } from '../ir/types.js';
import { BINARY_WGSL, BINARY_WGSL_INT, UNARY_WGSL, castWgsl, literal, wgslType } from './wgsl-ops.js';
import { broadcastIndex, sameShape } from './indexing.js';
import { STEP_STRIDE } from '../ir/ops/dropout.js';

/** A fused body (or one op seen as a body): nodes whose sources are `param`s, and its outputs. */
export interface Body {
  readonly nodes: readonly Node[];
  readonly outputs: readonly ValueRef[];
}

/** Ops a chain evaluates per element. */
export const PRODUCERS = new Set(['matmul', 'conv2d', 'depthwiseConv2d', 'conv2dBackpropInput', 'maxPool2dGrad', 'avgPool2dGrad']);

/** One op as a body: its inputs become params 0..n-1. */
export function asBody(node: Node, inputTypes: readonly TensorType[]): Body {
  const params: Node[] = inputTypes.map((t, i) => ({ id: i, op: 'param', inputs: [], attrs: { index: i, shape: [...t.shape], dtype: t.dtype }, outputs: [t], name: `param${i}` }));
  const op: Node = { ...node, id: params.length, inputs: params.map((p) => ({ node: p.id, output: 0 })) };
  return { nodes: [...params, op], outputs: node.outputs.map((_, output) => ({ node: op.id, output })) };
}

/** A fused node's body, or the node itself as a body. */
export function bodyOf(node: Node, inputTypes: readonly TensorType[]): Body {
  return node.op === 'fused' ? (node.attrs.body as unknown as Body) : asBody(node, inputTypes);
}

/** The producer node of an epilogue body, if it has one. */
export function producerOf(body: Body): Node | undefined {
  return body.nodes.find((n) => PRODUCERS.has(n.op));
}

/**
 * Dropout at flat element `i`: kept when the counter-based uniform of (seed + step·stride, i) reaches
 * the rate (src/ir/ops/dropout.ts draws the same), scaled by 1 / (1 − rate); x itself when not training.
 */
export function dropoutWgsl(n: Node, x: string, training: string, step: string | undefined): string {
  const rate = n.attrs.rate as number;
  const seed = ((n.attrs.seed as number | undefined) ?? 0) >>> 0;
  const s = step === undefined ? `${seed}u` : `(${seed}u + u32(round(${step})) * ${STEP_STRIDE}u)`;
  return `select(${x}, select(0.0, ${x} * ${literal(1 / (1 - rate), 'float32')}, k_uniform(${s}, i) >= ${literal(rate, 'float32')}), ${training} != 0i)`;
}

const fill = (template: string, vars: Record<string, string>) => template.replace(/\{(\w+)\}/g, (_, k: string) => vars[k]);

/** How a chain reads its params: WGSL for param `index` at the current output element. */
export type ParamReader = (index: number) => string;

/**
 * WGSL lines evaluating a body element by element: params come from `read`, the producer's value
 * is `acc`, each op becomes one `let`. Returns the lines and the expression of each body output.
 */
export function chainLines(body: Body, read: ParamReader, moduleConsts: string[]): { lines: string[]; results: string[] } {
  const env = new Map<string, string>();
  const lines: string[] = [];
  const key = (r: ValueRef) => `${r.node}:${r.output}`;
  for (const n of body.nodes) {
    const args = n.inputs.map((r) => env.get(key(r))!);
    const dtype = n.outputs[0].dtype;
    let expr: string;
    if (n.op === 'param') {
      expr = read(n.attrs.index as number);
    } else if (PRODUCERS.has(n.op)) {
      expr = 'acc';
    } else if (n.op === 'constant') {
      const values = n.attrs.value as number[];
      if (values.length === 1) expr = literal(values[0], dtype);
      else {
        const name = `k_const${n.id}`;
        moduleConsts.push(`const ${name} = array<${wgslType(dtype)}, ${values.length}>(${values.map((v) => literal(v, dtype)).join(', ')});`);
        expr = `${name}[i]`;
      }
    } else if (n.op in UNARY_WGSL) {
      expr = fill(UNARY_WGSL[n.op], { x: args[0], alpha: literal((n.attrs.alpha as number | undefined) ?? 0, 'float32') });
    } else if (n.op in BINARY_WGSL) {
      const intRow = wgslType(n.inputs.length ? typeOfInput(body, n, 0) : dtype) === 'i32' ? BINARY_WGSL_INT[n.op] : undefined;
      expr = fill(intRow ?? BINARY_WGSL[n.op], { a: args[0], b: args[1] });
    } else if (n.op === 'cast') {
      expr = castWgsl(args[0], typeOfInput(body, n, 0), n.attrs.dtype as DType);
    } else if (n.op === 'where') {
      expr = `select(${args[2]}, ${args[1]}, ${args[0]} != 0i)`;
    } else if (n.op === 'dropout') {
      expr = dropoutWgsl(n, args[0], args[1], args[2]);
    } else {
      throw new Error(`op '${n.op}' cannot run inside an elementwise chain`);
    }
    if (n.op === 'param' || n.op === 'constant' || expr === 'acc') env.set(key({ node: n.id, output: 0 }), expr);
    else {
      lines.push(`let v${n.id} = ${expr};`);
      env.set(key({ node: n.id, output: 0 }), `v${n.id}`);
    }
  }
  return { lines, results: body.outputs.map((r) => env.get(key(r))!) };
}

function typeOfInput(body: Body, n: Node, i: number): DType {
  const r = n.inputs[i];
  return body.nodes.find((m) => m.id === r.node)!.outputs[r.output].dtype;
}

/** Reads a param bound as `name` with shape `shape`, broadcast to the output: flat index when shapes match. */
export function broadcastRead(name: string, shape: readonly number[], outShape: readonly number[]): string {
  return sameShape(shape, outShape) ? `${name}(i)` : `${name}(${broadcastIndex(shape, outShape)})`;
}
