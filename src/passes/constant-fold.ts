import type { Node, ValueRef } from '../ir/types.js';
import { getOp, withDefaults, type RefContext } from '../ir/registry.js';
import { allocStorage, ndarray, sizeOf } from '../ir/ndarray.js';
import { rewrite, rule, type RuleContext } from './rewrite.js';
import type { Pass } from './program.js';
import { constantValue, foldedWeightAttrs, freshWeightName, staticValue } from './util.js';

/** Largest result (elements per output) folded into a constant: bigger ones would bloat the graph. */
export const MAX_FOLDED_ELEMENTS = 4096;

const REF: RefContext = { precision: 'float64', alloc: (dtype, size) => allocStorage(dtype, size, 'float64') };

const constNode = (ctx: RuleContext, ref: ValueRef): Node | undefined => {
  const n = ctx.builder.node(ref);
  return n.op === 'constant' ? n : undefined;
};

/** Whether a (new-graph) value is a constant whose every element is false/0. */
function isConstFalse(ctx: RuleContext, ref: ValueRef): boolean {
  const n = constNode(ctx, ref);
  return !!n && constantValue(n).data.every((v) => v === 0);
}

/** Evaluates a node whose inputs are all constants through its registry reference. */
function foldConstants(node: Node, ctx: RuleContext): ValueRef[] | null {
  const consts = ctx.inputs.map((r) => constNode(ctx, r));
  if (consts.some((c) => !c)) return null;
  if (node.outputs.some((t) => t.shape.some((d) => d === null) || sizeOf(t.shape as number[]) > MAX_FOLDED_ELEMENTS)) return null;
  const def = getOp(node.op);
  const outs = def.reference(consts.map((c) => constantValue(c!)), withDefaults(def, node.attrs), REF);
  // JSON attrs cannot hold NaN or ±Infinity.
  if (outs.some((o) => !o.data.every(Number.isFinite))) return null;
  return outs.flatMap((o, i) => {
    const name = outs.length === 1 ? node.name : `${node.name}:${i}`;
    return ctx.builder.add('constant', [], { shape: [...o.shape], dtype: o.dtype, value: Array.from(o.data) }, name, { device: node.device });
  });
}

/** Inference batchNorm with known statistics → x·s + t, s = γ/√(var+ε), t = β − mean·s as new weights. */
function batchNormAsScaleShift(node: Node, ctx: RuleContext): ValueRef[] | null {
  if (ctx.phase !== 'inference' || !isConstFalse(ctx, ctx.inputs[5])) return null;
  const [gamma, beta, mean, variance] = ctx.inputs.slice(1, 5).map((r) => staticValue(ctx.builder.node(r), ctx.weights));
  if (!gamma || !beta || !mean || !variance) return null;
  const { axis, epsilon } = withDefaults(getOp('batchNorm'), node.attrs) as { axis: number; epsilon: number };
  const x = ctx.builder.type(ctx.inputs[0]);
  const rank = x.shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  const c = gamma.data.length;
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const s = gamma.data[i] / Math.sqrt(variance.data[i] + epsilon);
    scale[i] = s;
    shift[i] = beta.data[i] - mean.data[i] * s;
  }
  // Trailing ones broadcast the per-channel vector along a non-last channel axis.
  const shape = [c, ...new Array<number>(rank - 1 - ax).fill(1)];
  const base = node.name.includes('/') ? node.name.slice(0, node.name.lastIndexOf('/')) : node.name;
  const weight = (suffix: string, data: Float32Array): ValueRef => {
    const name = freshWeightName(ctx.weights, `${base}/${suffix}`);
    ctx.setWeight(name, ndarray(shape, 'float32', data));
    return ctx.builder.add('weight', [], foldedWeightAttrs(name, shape), name, { device: node.device })[0];
  };
  const [s, t] = [weight('folded_scale', scale), weight('folded_shift', shift)];
  const [scaled] = ctx.builder.add('mul', [ctx.inputs[0], s], {}, `${base}/scale`, { device: node.device });
  const [y] = ctx.builder.add('add', [scaled, t], {}, `${base}/shift`, { device: node.device });
  // In inference the moving statistics pass through unchanged.
  return [y, ctx.inputs[3], ctx.inputs[4]];
}

const folding = rewrite('constantFold', [
  rule({ when: (n) => n.inputs.length > 0 }, foldConstants),
  rule({ op: 'dropout' }, (_, ctx) => (isConstFalse(ctx, ctx.inputs[1]) ? [ctx.inputs[0]] : null)),
  rule({ op: 'batchNorm' }, batchNormAsScaleShift),
]);

/**
 * constantFold: ops on constants become constants (up to MAX_FOLDED_ELEMENTS), dropout with a false
 * training flag becomes its input, and inference batchNorm becomes a per-channel scale and shift.
 * Inference graphs also lose their training-only `updates` (moving statistics); a stateful RNN's
 * state updates (`inference: true`) stay.
 */
export const constantFold: Pass = {
  name: 'constantFold',
  run(program, ctx) {
    const out = folding.run(program, ctx);
    return ctx.phase === 'inference' ? { ...out, graph: { ...out.graph, updates: out.graph.updates.filter((u) => u.inference) } } : out;
  },
};
