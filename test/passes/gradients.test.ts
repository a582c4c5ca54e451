/**
 * Gradient rules, op by op: autodiff's gradient through the float64 interpreter must equal central
 * finite differences of the same interpreter. Every registered op is either in CASES, marked 'none'
 * in GRADIENTS with a reason in NO_GRADIENT, or in REJECTED (a rule that refuses with a GraphError).
 */
import { describe, expect, it } from 'vitest';
import { getOp, interpret, opNames, validate, GraphError, type Attrs, type Graph, type NDArray, type ValueRef } from '../../src/ir/index.js';
import { GraphBuilder } from '../../src/passes/builder.js';
import { autodiff } from '../../src/passes/autodiff.js';
import { GRADIENTS } from '../../src/passes/gradients/index.js';
import { bodyAttr } from '../../src/ir/ops/fused.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';
import { RNN_SEQUENCE_CASES } from './recurrent-grad-cases.js';

/** Central differences in float64 with h = 1e-5·max(1, |x|): truncation ~1e-10, rounding ~1e-10. */
const TOL = { rtol: 1e-5, atol: 1e-7 };

/** One input: a differentiated float weight unless `fixed`, int32 or bool (constants). */
interface Spec {
  readonly shape: number[];
  readonly dtype?: 'float32' | 'int32' | 'bool';
  readonly lo?: number;
  readonly hi?: number;
  readonly values?: number[];
  /** Resample values this rejects (kinks and discontinuities, where differences do not apply). */
  readonly avoid?: (v: number) => boolean;
  readonly fixed?: boolean;
}
interface Case {
  readonly inputs: Spec[];
  readonly attrs?: Attrs;
  /** Outputs the loss reads (default: all). */
  readonly outputs?: number[];
}

const f = (shape: number[], lo = -2, hi = 2, avoid?: (v: number) => boolean): Spec => ({ shape, lo, hi, avoid });
const fixed = (shape: number[], lo = -2, hi = 2): Spec => ({ shape, lo, hi, fixed: true });
const ints = (shape: number[], values: number[]): Spec => ({ shape, dtype: 'int32', values });
const flag = (on: boolean): Spec => ({ shape: [], dtype: 'bool', values: [on ? 1 : 0] });
const bools = (shape: number[], values: number[]): Spec => ({ shape, dtype: 'bool', values });
/** Rejects values within 1e-3 of any of the points. */
const near = (...points: number[]) => (v: number) => points.some((p) => Math.abs(v - p) < 1e-3);
const nearInt = (v: number) => Math.abs(v - Math.round(v)) < 1e-3;
const nearHalf = (v: number) => nearInt(v - 0.5);

const unary = (lo = -2, hi = 2, avoid?: (v: number) => boolean, attrs?: Attrs): Case[] => [{ inputs: [f([3, 4], lo, hi, avoid)], attrs }];
/** Same shapes, a trailing-vector broadcast, both sides broadcast, and a scalar. */
const binary = (a: [number, number] = [-2, 2], b: [number, number] = [-2, 2]): Case[] =>
  [[[3, 4], [3, 4]], [[2, 3, 4], [4]], [[3, 1], [1, 4]], [[], [2, 3]]].map(([sa, sb]) => ({ inputs: [f(sa, ...a), f(sb, ...b)] }));

/** A window op's three gradient-family cases: forward, input gradient, filter gradient, with shapes from infer. */
function convFamily(fwd: string, x: number[], k: number[], attrs: Attrs): Record<string, Case[]> {
  const [y] = getOp(fwd).infer([{ shape: x, dtype: 'float32' }, { shape: k, dtype: 'float32' }], attrs);
  const dy = y.shape as number[];
  return {
    [fwd]: [{ inputs: [f(x), f(k)], attrs }],
    [`${fwd}BackpropInput`]: [{ inputs: [f(dy), f(k)], attrs: { ...attrs, inputSize: x.slice(1, 3) } }],
    [`${fwd}BackpropFilter`]: [{ inputs: [f(x), f(dy)], attrs: { ...attrs, kernelSize: k.slice(0, 2) } }],
  };
}
const CONV_WINDOWS: [number[], number[], Attrs][] = [
  [[2, 5, 5, 2], [3, 3, 2, 3], { padding: 'same' }],
  [[1, 7, 6, 2], [3, 2, 2, 2], { strides: [2, 2], padding: 'same' }],
  [[1, 7, 7, 1], [3, 3, 1, 2], { strides: [2, 1], padding: 'valid' }],
  [[1, 7, 8, 2], [2, 3, 2, 2], { dilations: [2, 2], padding: 'same' }],
];
function convCases(fwd: string): Record<string, Case[]> {
  const out: Record<string, Case[]> = {};
  for (const [x, k, attrs] of CONV_WINDOWS) for (const [op, cs] of Object.entries(convFamily(fwd, x, k, attrs))) (out[op] ??= []).push(...cs);
  return out;
}
const POOL_WINDOWS: [number[], Attrs][] = [
  [[2, 6, 6, 2], { poolSize: [2, 2], strides: [2, 2], padding: 'valid' }],
  [[1, 5, 5, 2], { poolSize: [3, 3], strides: [2, 2], padding: 'same' }],
  [[1, 5, 6, 1], { poolSize: [2, 3], strides: [1, 2], padding: 'same' }],
];
const poolCases = (op: string): Case[] => POOL_WINDOWS.map(([x, attrs]) => ({ inputs: [f(x)], attrs }));
const avgPoolGradCases: Case[] = POOL_WINDOWS.map(([x, attrs]) => {
  const [y] = getOp('avgPool2d').infer([{ shape: x, dtype: 'float32' }], attrs);
  return { inputs: [f(y.shape as number[])], attrs: { ...attrs, inputSize: x.slice(1, 3) } };
});
const reductions = (extra: Case[] = []): Case[] => [
  { inputs: [f([3, 4, 5])], attrs: { axes: [1] } },
  { inputs: [f([3, 4, 5])], attrs: { axes: [] } },
  { inputs: [f([3, 4, 5])], attrs: { axes: [0, -1], keepDims: true } },
  { inputs: [f([3, 4, 5])], attrs: { axes: [2, 0] } },
  ...extra,
];
const bn = (x: number[], axis: number, training: boolean): Case => {
  const c = x[axis < 0 ? x.length + axis : axis];
  return { inputs: [f(x), f([c], 0.5, 1.5), f([c]), fixed([c], -0.5, 0.5), fixed([c], 0.5, 2), flag(training)], attrs: { axis }, outputs: [0] };
};

/** The cases, by op. */
const CASES: Record<string, Case[]> = {
  identity: unary(), neg: unary(), abs: unary(-2, 2, near(0)), sign: unary(-2, 2, near(0)), exp: unary(), log: unary(0.2, 3),
  sqrt: unary(0.2, 3), rsqrt: unary(0.2, 3), square: unary(), reciprocal: unary(-3, 3, (v) => Math.abs(v) < 0.3),
  floor: unary(-3, 3, nearInt), ceil: unary(-3, 3, nearInt), round: unary(-3, 3, nearHalf), sin: unary(-3, 3), cos: unary(-3, 3),
  tanh: unary(-3, 3), sigmoid: unary(-4, 4), relu: unary(-2, 2, near(0)), relu6: unary(-2, 8, near(0, 6)),
  elu: [...unary(-2, 2, near(0)), ...unary(-2, 2, near(0), { alpha: 0.5 })], selu: unary(-2, 2, near(0)), gelu: unary(-4, 4),
  geluTanh: unary(-4, 4), softplus: unary(-6, 6), softsign: unary(-3, 3, near(0)), hardSigmoid: unary(-4, 4, near(-2.5, 2.5)),
  swish: unary(-4, 4), erf: unary(-2.5, 2.5), leakyRelu: [...unary(-2, 2, near(0)), ...unary(-2, 2, near(0), { alpha: 0.1 })],
  add: binary(), sub: binary(), mul: binary(), div: binary([-2, 2], [0.5, 2]), pow: binary([0.5, 2], [-2, 2]),
  maximum: binary(), minimum: binary(), squaredDifference: binary(),
  // b away from relu's kink at 0.
  reluGrad: binary([-2, 2], [-2, 2]).map((c) => ({ ...c, inputs: [c.inputs[0], { ...c.inputs[1], avoid: near(0) }] })),
  cast: [{ inputs: [f([3, 4])], attrs: { dtype: 'float32' } }],
  where: [{ inputs: [bools([3, 4], [1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0]), f([3, 4]), f([4])] }, { inputs: [bools([3, 1], [1, 0, 1]), f([]), f([1, 4])] }],
  matmul: [
    ...[[false, false, [3, 4], [4, 5]], [false, true, [3, 4], [5, 4]], [true, false, [4, 3], [4, 5]], [true, true, [4, 3], [5, 4]]].map(
      ([transposeA, transposeB, a, b]) => ({ inputs: [f(a as number[]), f(b as number[])], attrs: { transposeA, transposeB } }),
    ),
    { inputs: [f([2, 3, 4]), f([2, 4, 5])] },
    { inputs: [f([2, 3, 4]), f([4, 5])] },
    { inputs: [f([1, 3, 4]), f([2, 5, 4])], attrs: { transposeB: true } },
    { inputs: [f([2, 1, 4, 3]), f([3, 4, 2])], attrs: { transposeA: true } },
  ],
  reshape: [{ inputs: [f([2, 3, 4])], attrs: { shape: [6, 4] } }, { inputs: [f([2, 3, 4])], attrs: { shape: [-1, 2] } }],
  transpose: [{ inputs: [f([2, 3, 4])], attrs: { perm: [2, 0, 1] } }],
  concat: [{ inputs: [f([2, 3]), f([2, 1]), f([2, 2])], attrs: { axis: 1 } }, { inputs: [f([1, 3]), f([2, 3])], attrs: { axis: -2 } }],
  slice: [{ inputs: [f([4, 5])], attrs: { begin: [1, 2], size: [2, -1] } }, { inputs: [f([2, 3, 4])], attrs: { begin: [0, 1, 1], size: [2, 1, 2] } }],
  pad: [{ inputs: [f([3, 4])], attrs: { paddings: [1, 0, 2, 1], value: 0.5 } }],
  gather: [{ inputs: [f([5, 3]), ints([4], [0, 3, 3, 1])] }, { inputs: [f([2, 5, 3]), ints([2, 2], [4, 0, 4, 4])], attrs: { axis: 1 } }],
  scatterAdd: [{ inputs: [f([4, 3]), ints([4], [0, 2, 2, 4])], attrs: { size: 5 } }, { inputs: [f([2, 2, 2, 3]), ints([2, 2], [1, 0, 1, 1])], attrs: { axis: 1, size: 3 } }],
  reduceSum: reductions(), reduceMean: reductions(), reduceMax: reductions(), reduceMin: reductions(),
  reduceProd: reductions([
    // Rows with no zero, one zero and two zeros: differences are exact there (the product is linear in each element).
    { inputs: [{ shape: [3, 3], values: [0.5, -1.5, 2, 0, 1.25, -0.75, 0, 1.5, 0] }], attrs: { axes: [1] } },
  ]),
  softmax: [{ inputs: [f([3, 5])] }, { inputs: [f([2, 3, 4])], attrs: { axis: 1 } }],
  logSoftmax: [{ inputs: [f([3, 5])] }, { inputs: [f([2, 3, 4])], attrs: { axis: 1 } }],
  ...convCases('conv2d'),
  ...convCases('depthwiseConv2d'),
  maxPool2d: poolCases('maxPool2d'), avgPool2d: poolCases('avgPool2d'), avgPool2dGrad: avgPoolGradCases,
  batchNorm: [bn([4, 3], -1, true), bn([2, 3, 4], 1, true), bn([4, 3], -1, false)],
  // The batch mean and variance outputs feed only the moving statistics, so the loss reads y alone.
  batchNormTraining: [
    { inputs: [f([4, 3]), f([3], 0.5, 1.5), f([3])], outputs: [0] },
    { inputs: [f([2, 3, 4]), f([3], 0.5, 1.5), f([3])], attrs: { axis: 1, epsilon: 0.01 }, outputs: [0] },
    // beta near 0 keeps normalized values off relu's kink at 0 for these inputs.
    { inputs: [f([4, 3]), f([3], 0.5, 1.5), f([3], -0.1, 0.1)], attrs: { activation: 'relu' }, outputs: [0] },
    { inputs: [f([4, 3]), f([3], 0.5, 1.5), f([3], -0.1, 0.1), f([4, 3])], attrs: { activation: 'relu' }, outputs: [0] },
    { inputs: [f([2, 3, 2]), f([3], 0.5, 1.5), f([3]), f([2, 3, 2])], attrs: { axis: 1 }, outputs: [0] },
  ],
  dropout: [{ inputs: [f([4, 5]), flag(true)], attrs: { rate: 0.3, seed: 7 } }, { inputs: [f([4, 5]), flag(false)], attrs: { rate: 0.3, seed: 7 } }],
  layerNorm: [
    { inputs: [f([3, 5]), f([5], 0.5, 1.5), f([5])] },
    { inputs: [f([2, 3, 4]), f([3, 4], 0.5, 1.5), f([3, 4])], attrs: { axes: [1, 2], epsilon: 0.01 } },
    { inputs: [f([2, 3, 4]), f([3], 0.5, 1.5), f([3])], attrs: { axes: [1] } },
    { inputs: [f([2, 3]), f([2, 3], 0.5, 1.5), f([2, 3])], attrs: { axes: [0, 1] } },
  ],
  attention: [
    { inputs: [f([2, 3, 2, 4]), f([2, 5, 2, 4]), f([2, 5, 2, 3])], attrs: { scale: 0.5 } },
    { inputs: [f([1, 4, 2, 3]), f([1, 4, 2, 3]), f([1, 4, 2, 2])], attrs: { scale: 0.6, causal: true } },
    { inputs: [f([2, 3, 1, 2]), f([2, 4, 1, 2]), f([2, 4, 1, 3]), { shape: [2, 1, 4], values: [1, 0, 1, 1, 0, 1, 1, 0], fixed: true }], attrs: { scale: 0.7, causal: true } },
  ],
  rnnSequence: RNN_SEQUENCE_CASES,
};

/** Ops marked 'none', and why no gradient can flow through them. */
const NO_GRADIENT: Record<string, string> = {
  input: 'a source', weight: 'a source: the gradient stops here and becomes grad/<name>', constant: 'a source', param: 'only inside fused bodies',
  logicalNot: 'bool', equal: 'bool output', notEqual: 'bool output', less: 'bool output', lessEqual: 'bool output',
  greater: 'bool output', greaterEqual: 'bool output', logicalAnd: 'bool', logicalOr: 'bool', argMax: 'int32 output', oneHot: 'int32 input',
  nonFiniteCount: 'a count: piecewise constant',
};

/** Ops whose rule refuses, with a graph that reaches it. */
const REJECTED: Record<string, () => Case> = {
  fused: () => ({ inputs: [f([2, 3])], attrs: { kind: 'elementwise', body: bodyAttr({ nodes: [
    { id: 0, op: 'param', inputs: [], attrs: { index: 0, shape: [2, 3], dtype: 'float32' }, outputs: [{ shape: [2, 3], dtype: 'float32' }], name: 'p' },
    { id: 1, op: 'exp', inputs: [{ node: 0, output: 0 }], attrs: {}, outputs: [{ shape: [2, 3], dtype: 'float32' }], name: 'exp' },
  ], outputs: [{ node: 1, output: 0 }] }) } }),
  fusedSegments: () => ({ inputs: [f([2, 3]), f([4])], attrs: { segments: 2, arity: 1, body: bodyAttr({ nodes: [
    { id: 0, op: 'param', inputs: [], attrs: { index: 0, shape: [2, 3], dtype: 'float32' }, outputs: [{ shape: [2, 3], dtype: 'float32' }], name: 'p' },
    { id: 1, op: 'exp', inputs: [{ node: 0, output: 0 }], attrs: {}, outputs: [{ shape: [2, 3], dtype: 'float32' }], name: 'exp' },
  ], outputs: [{ node: 1, output: 0 }] }) } }),
  maxPool2dGrad: () => ({ inputs: [f([1, 4, 4, 1]), f([1, 2, 2, 1])], attrs: { poolSize: [2, 2], strides: [2, 2] } }),
  layerNormGrad: () => ({ inputs: [f([3, 4]), f([4]), f([3, 4])] }),
  batchNormTrainingGrad: () => ({ inputs: [f([3, 4]), f([4]), f([4]), f([4], 0.5, 2), f([3, 4])] }),
  attentionGrad: () => ({ inputs: [f([1, 2, 1, 2]), f([1, 3, 1, 2]), f([1, 3, 1, 2]), f([1, 2, 1, 2])] }),
  rnnSequenceGrad: () => ({ inputs: [f([1, 2, 1]), f([1, 1]), f([1, 1]), f([1]), f([1, 1])], attrs: { cell: 'simple' } }),
};

/** Random values for a spec, resampling rejected ones. */
function valuesOf(spec: Spec, seed: number): number[] {
  if (spec.values) return spec.values;
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = Array.from(randomData(n, seed, spec.lo ?? -2, spec.hi ?? 2));
  return out.map((v, i) => {
    for (let k = 1; spec.avoid?.(v) || v === 0; k++) v = randomData(1, seed * 977 + i * 31 + k, spec.lo ?? -2, spec.hi ?? 2)[0];
    return v;
  });
}

/** op(inputs) with loss = Σ_outputs Σ out·cotangent; float inputs are weights `w<i>` (the values to differentiate). */
function caseProgram(op: string, c: Case, seed: number): { graph: Graph; weights: Map<string, NDArray>; wrt: string[] } {
  const b = new GraphBuilder();
  const weights = new Map<string, NDArray>();
  const refs = c.inputs.map((s, i) => {
    const dtype = s.dtype ?? 'float32';
    const value = valuesOf(s, seed + i);
    if (dtype !== 'float32' || s.fixed) return b.add('constant', [], { shape: s.shape, dtype, value }, `c${i}`)[0];
    weights.set(`w${i}`, { shape: s.shape, dtype, data: Float64Array.from(value) });
    return b.add('weight', [], { name: `w${i}`, shape: s.shape, dtype }, `w${i}`)[0];
  });
  const outs = b.add(op, refs, c.attrs ?? {}, 'op');
  let loss: ValueRef | undefined;
  for (const o of c.outputs ?? outs.map((_, i) => i)) {
    const shape = b.type(outs[o]).shape as number[];
    const cot = b.add('constant', [], { shape, dtype: 'float32', value: valuesOf(f(shape, -1, 1), seed + 100 + o) }, `cot${o}`)[0];
    const term = b.add('reduceSum', [b.add('mul', [outs[o], cot], {}, `dot${o}`)[0]], {}, `sum${o}`)[0];
    loss = loss ? b.add('add', [loss, term], {}, 'loss_add')[0] : term;
  }
  return { graph: b.build([{ name: 'loss', value: loss! }], []), weights, wrt: [...weights.keys()] };
}

const lossAt = (graph: Graph, weights: Map<string, NDArray>) => interpret(graph, {}, { weights, precision: 'float64' }).outputs.loss.data[0];

/** Central differences of the loss in every element of every weight. */
function finiteDifferences(graph: Graph, weights: Map<string, NDArray>, name: string): Float64Array {
  const w = weights.get(name)!;
  const out = new Float64Array(w.data.length);
  for (let i = 0; i < out.length; i++) {
    const data = Float64Array.from(w.data);
    const h = 1e-5 * Math.max(1, Math.abs(data[i]));
    const [up, down] = [data[i] + h, data[i] - h];
    data[i] = up;
    const lp = lossAt(graph, new Map(weights).set(name, { ...w, data: Float64Array.from(data) }));
    data[i] = down;
    const lm = lossAt(graph, new Map(weights).set(name, { ...w, data }));
    out[i] = (lp - lm) / (up - down);
  }
  return out;
}

describe('gradient rules match finite differences of the interpreter', () => {
  for (const [op, cases] of Object.entries(CASES)) {
    cases.forEach((c, k) => {
      it(`${op} #${k} ${JSON.stringify(c.attrs ?? {}).slice(0, 60)}`, () => {
        const { graph, weights, wrt } = caseProgram(op, c, 1000 + 17 * k + op.length);
        const diffed = autodiff({ graph, weights }, { loss: 'loss', wrt });
        validate(diffed.graph);
        const got = interpret(diffed.graph, {}, { weights, precision: 'float64' }).outputs;
        for (const name of wrt) {
          expect(got[`grad/${name}`].shape, `${op} grad/${name} shape`).toEqual(weights.get(name)!.shape);
          expectClose(got[`grad/${name}`].data, finiteDifferences(graph, weights, name), TOL, `${op} #${k} grad/${name}`);
        }
      });
    });
  }
});

describe('the gradient table', () => {
  it('covers every registered op: a case, a reason for none, or a refusal', () => {
    expect(Object.keys(GRADIENTS).sort()).toEqual(opNames());
    for (const op of opNames()) {
      if (GRADIENTS[op] === 'none') expect(NO_GRADIENT[op], `why ${op} has no gradient`).toBeTruthy();
      else expect(CASES[op]?.length || REJECTED[op], `${op} has a rule but no case`).toBeTruthy();
    }
    for (const op of Object.keys(NO_GRADIENT)) expect(GRADIENTS[op], op).toBe('none');
  });

  for (const [op, make] of Object.entries(REJECTED)) {
    it(`${op} refuses with a GraphError naming the node`, () => {
      const { graph, weights, wrt } = caseProgram(op, make(), 5);
      expect(() => autodiff({ graph, weights }, { loss: 'loss', wrt })).toThrow(GraphError);
      expect(() => autodiff({ graph, weights }, { loss: 'loss', wrt })).toThrow(/'op'/);
    });
  }

  it("ops marked 'none' pass nothing back: a loss through argMax and a comparison has zero gradient", () => {
    const b = new GraphBuilder();
    const [w] = b.add('weight', [], { name: 'w', shape: [3, 4], dtype: 'float32' }, 'w');
    const [am] = b.add('cast', [b.add('argMax', [w], { axis: 1 }, 'am')[0]], { dtype: 'float32' }, 'amf');
    const [gt] = b.add('cast', [b.add('greater', [w, b.add('constant', [], { shape: [], value: [0] }, 'z')[0]], {}, 'gt')[0]], { dtype: 'float32' }, 'gtf');
    const [loss] = b.add('add', [b.add('reduceSum', [am], {}, 's1')[0], b.add('reduceSum', [gt], {}, 's2')[0]], {}, 'loss');
    const weights = new Map([['w', { shape: [3, 4], dtype: 'float32' as const, data: Float64Array.from(valuesOf(f([3, 4]), 3)) }]]);
    const out = autodiff({ graph: b.build([{ name: 'loss', value: loss }], []), weights }, { loss: 'loss', wrt: ['w'] });
    expect(Array.from(interpret(out.graph, {}, { weights }).outputs['grad/w'].data)).toEqual(new Array(12).fill(0));
  });
});
