/**
 * applyOptimizer: 3 steps of each optimizer and option through the interpreter (updates fed back into
 * the weight map), against Keras 3's formulas in closed form (float64, tight) and TF.js's optimizers
 * (float32). TF.js differs from Keras 3 in two places, and kiln follows Keras 3 in both: Adam adds ε
 * to √v̂ rather than √v (so TF.js is run with ε = 1e-12, where the two coincide), and centered
 * RMSprop subtracts ε under the root (run with ε = 0).
 */
import { describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { optimizers } from '../../src/index.js';
import type { Optimizer } from '../../src/frontend/optimizers.js';
import { interpret, ModelError, ShapeError, validate, type NDArray } from '../../src/ir/index.js';
import { GraphBuilder } from '../../src/passes/builder.js';
import { applyOptimizer, ITERATIONS, LEARNING_RATE } from '../../src/passes/optimizer.js';
import type { Program } from '../../src/passes/program.js';
import { tfjs } from '../support/tfjs.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const SHAPES: Record<string, number[]> = { 'fc/kernel': [3, 2], 'fc/bias': [4] };
const NAMES = Object.keys(SHAPES);
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const INIT = Object.fromEntries(NAMES.map((n, i) => [n, randomData(size(SHAPES[n]), 40 + i)]));
/** Gradients of 3 steps, in [−2, 2): norms above 1, so clipnorm 1 bites. */
const GRADS = [0, 1, 2].map((k) => Object.fromEntries(NAMES.map((n, i) => [n, randomData(size(SHAPES[n]), 50 + 10 * k + i, -2, 2)])));
const KERAS = { rtol: 1e-9, atol: 1e-12 };
const TFJS = { rtol: 2e-5, atol: 2e-6 };

/** Weights, a loss output, and gradients fed as graph inputs named `grad/<weight>`, also outputs of that name. */
function tinyProgram(): Program {
  const b = new GraphBuilder();
  const outputs = NAMES.map((n) => ({ name: `grad/${n}`, value: b.add('input', [], { name: `grad/${n}`, shape: SHAPES[n], dtype: 'float32' }, `grad/${n}`)[0] }));
  const ws = NAMES.map((n) => b.add('weight', [], { name: n, shape: SHAPES[n], dtype: 'float32', trainable: true }, n)[0]);
  const loss = b.add('reduceSum', [ws[0]], { axes: [], keepDims: false }, 'loss')[0];
  return { graph: b.build([{ name: 'loss', value: loss }, ...outputs], []), weights: new Map(NAMES.map((n) => [n, { shape: SHAPES[n], dtype: 'float32' as const, data: INIT[n] }])) };
}

const f64 = (x: number): NDArray => ({ shape: [], dtype: 'float32', data: Float64Array.of(x) });

/** Weights after each step on the interpreter; the host writes `learning_rate` before each, as the fit loop does. */
function runKiln(opt: Optimizer): Record<string, ArrayLike<number>>[] {
  const p = applyOptimizer(tinyProgram(), { optimizer: opt, grads: Object.fromEntries(NAMES.map((n) => [n, `grad/${n}`])) });
  validate(p.graph);
  const weights = new Map(p.weights);
  return GRADS.map((g, k) => {
    weights.set(LEARNING_RATE, f64(opt.learningRateAt(k)));
    const r = interpret(p.graph, Object.fromEntries(NAMES.map((n) => [`grad/${n}`, { shape: SHAPES[n], dtype: 'float32' as const, data: g[n] }])), { weights, precision: 'float64' });
    for (const [name, v] of Object.entries(r.updates)) weights.set(name, v);
    expect(weights.get(ITERATIONS)!.data[0]).toBe(k + 1);
    return Object.fromEntries(NAMES.map((n) => [n, weights.get(n)!.data]));
  });
}

type Arr = Float64Array<ArrayBufferLike>;
const map = (a: ArrayLike<number>, f: (x: number, i: number) => number): Arr => Float64Array.from(a, f);
const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));

/** Keras 3 `update_step` in closed form: (w, g, slots, lr, t, config) → new w, slots updated in place. */
const KERAS_STEP: Record<string, (w: Arr, g: Arr, s: Record<string, Arr>, lr: number, t: number, c: Record<string, number & boolean>) => Arr> = {
  SGD: (w, g, s, lr, _, c) => {
    if (!c.momentum) return map(w, (x, i) => x - g[i] * lr);
    s.m = map(s.m, (m, i) => m * c.momentum - g[i] * lr);
    return map(w, (x, i) => (c.nesterov ? x + s.m[i] * c.momentum - g[i] * lr : x + s.m[i]));
  },
  Adam: (w, g, s, lr, t, c) => {
    const alpha = (lr * Math.sqrt(1 - c.beta_2 ** t)) / (1 - c.beta_1 ** t);
    s.m = map(s.m, (m, i) => m + (g[i] - m) * (1 - c.beta_1));
    s.v = map(s.v, (v, i) => v + (g[i] * g[i] - v) * (1 - c.beta_2));
    if (c.amsgrad) s.vhat = map(s.vhat, (vh, i) => Math.max(vh, s.v[i]));
    const v = c.amsgrad ? s.vhat : s.v;
    return map(w, (x, i) => x - (s.m[i] * alpha) / (Math.sqrt(v[i]) + c.epsilon));
  },
  RMSprop: (w, g, s, lr, _, c) => {
    s.rms = map(s.rms, (r, i) => c.rho * r + (1 - c.rho) * g[i] * g[i]);
    s.mg = map(s.mg, (m, i) => c.rho * m + (1 - c.rho) * g[i]);
    const inc = map(g, (gi, i) => (lr * gi) / Math.sqrt(c.centered ? s.rms[i] - s.mg[i] ** 2 + c.epsilon : s.rms[i] + c.epsilon));
    s.mom = map(s.mom, (m, i) => c.momentum * m + inc[i]);
    return map(w, (x, i) => x - (c.momentum > 0 ? s.mom[i] : inc[i]));
  },
  Adagrad: (w, g, s, lr, _, c) => {
    s.acc ??= map(w, () => Math.fround(c.initial_accumulator_value)); // state weights are float32
    s.acc = map(s.acc, (a, i) => a + g[i] * g[i]);
    return map(w, (x, i) => x - (lr * g[i]) / Math.sqrt(s.acc[i] + c.epsilon));
  },
};
KERAS_STEP.AdamW = KERAS_STEP.Adam;

/** Keras 3 `apply`: clip gradients, decay weights, update; weights after each step. */
function kerasReference(opt: Optimizer): Record<string, Arr>[] {
  const c = opt.getConfig() as Record<string, number & boolean>;
  const w: Record<string, Arr> = Object.fromEntries(NAMES.map((n) => [n, Float64Array.from(INIT[n])]));
  const zeros = (n: string) => new Float64Array(size(SHAPES[n]));
  const slots = Object.fromEntries(NAMES.map((n) => [n, { m: zeros(n), v: zeros(n), vhat: zeros(n), rms: zeros(n), mg: zeros(n), mom: zeros(n) } as Record<string, Arr>]));
  return GRADS.map((gs, k) => {
    const lr = opt.learningRateAt(k);
    let g: Record<string, Arr> = Object.fromEntries(NAMES.map((n) => [n, Float64Array.from(gs[n])]));
    const globalScale = c.global_clipnorm ? c.global_clipnorm * Math.min(1 / norm(NAMES.flatMap((n) => [...g[n]])), 1 / c.global_clipnorm) : 1;
    g = Object.fromEntries(NAMES.map((n) => {
      const x = g[n];
      if (c.clipnorm) return [n, map(x, (v) => (v * c.clipnorm) / Math.max(norm(x), c.clipnorm))];
      if (c.clipvalue) return [n, map(x, (v) => Math.min(Math.max(v, -c.clipvalue), c.clipvalue))];
      return [n, map(x, (v) => v * globalScale)];
    }));
    for (const n of NAMES) {
      const decayed = c.weight_decay ? map(w[n], (x) => x - x * c.weight_decay * lr) : w[n];
      w[n] = KERAS_STEP[opt.className](decayed, g[n], slots[n], lr, k + 1, c);
    }
    return Object.fromEntries(NAMES.map((n) => [n, Float64Array.from(w[n])]));
  });
}

/** TF.js's optimizer on tf.variables; `prepare` may transform gradients or weights before each step. */
async function runTfjs(make: (tf: typeof TF) => TF.Optimizer, prepare?: (tf: typeof TF, g: Record<string, TF.Tensor>, vars: Record<string, TF.Variable>, step: number) => Record<string, TF.Tensor>) {
  const tf = await tfjs();
  const opt = make(tf);
  const id = Math.random().toString(36).slice(2);
  const vars = Object.fromEntries(NAMES.map((n) => [n, tf.variable(tf.tensor(INIT[n], SHAPES[n]), true, `${id}/${n}`)]));
  return GRADS.map((gs, k) => {
    tf.tidy(() => {
      let g: Record<string, TF.Tensor> = Object.fromEntries(NAMES.map((n) => [n, tf.tensor(gs[n], SHAPES[n])]));
      if (prepare) g = prepare(tf, g, vars, k);
      opt.applyGradients(Object.fromEntries(NAMES.map((n) => [`${id}/${n}`, g[n]])));
    });
    return Object.fromEntries(NAMES.map((n) => [n, vars[n].dataSync()]));
  });
}

function expectSteps(got: Record<string, ArrayLike<number>>[], want: Record<string, ArrayLike<number>>[], tol: { rtol: number; atol: number }, what: string) {
  expect(got).toHaveLength(want.length);
  got.forEach((step, k) => NAMES.forEach((n) => expectClose(step[n], want[k][n], tol, `${what} step ${k + 1} ${n}`)));
  // The update must move the weights: guards against a rule that silently does nothing.
  expect(Math.abs(got[2][NAMES[0]][0] - INIT[NAMES[0]][0])).toBeGreaterThan(1e-4);
}

const clipNorm = (tf: typeof TF, g: Record<string, TF.Tensor>, c: number) => Object.fromEntries(Object.entries(g).map(([n, x]) => [n, x.mul(c).div(tf.maximum(tf.norm(x), c))]));

const CASES: [string, () => Optimizer, ((tf: typeof TF) => TF.Optimizer) | null, Parameters<typeof runTfjs>[1]?][] = [
  ['SGD', () => optimizers.SGD({ learningRate: 0.1 }), (tf) => tf.train.sgd(0.1)],
  ['SGD momentum', () => optimizers.SGD({ learningRate: 0.1, momentum: 0.9 }), (tf) => tf.train.momentum(0.1, 0.9)],
  ['SGD nesterov', () => optimizers.SGD({ learningRate: 0.1, momentum: 0.9, nesterov: true }), (tf) => tf.train.momentum(0.1, 0.9, true)],
  ['SGD momentum clipnorm', () => optimizers.SGD({ learningRate: 0.1, momentum: 0.5, clipnorm: 1 }), (tf) => tf.train.momentum(0.1, 0.5), (tf, g) => clipNorm(tf, g, 1)],
  ['SGD clipvalue', () => optimizers.SGD({ learningRate: 0.1, clipvalue: 0.5 }), (tf) => tf.train.sgd(0.1), (tf, g) => Object.fromEntries(Object.entries(g).map(([n, x]) => [n, tf.clipByValue(x, -0.5, 0.5)]))],
  ['SGD globalClipnorm', () => optimizers.SGD({ learningRate: 0.1, globalClipnorm: 1.5 }), (tf) => tf.train.sgd(0.1),
    (tf, g) => { const G = tf.sqrt(tf.addN(Object.values(g).map((x) => x.square().sum()))); return Object.fromEntries(Object.entries(g).map(([n, x]) => [n, x.mul(tf.minimum(G.reciprocal(), 1 / 1.5).mul(1.5))])); }],
  ['SGD exponentialDecay schedule', () => optimizers.SGD({ learningRate: optimizers.exponentialDecay({ initialLearningRate: 0.2, decaySteps: 1, decayRate: 0.5 }) }), (tf) => tf.train.sgd(0.2),
    (_, g, __, k) => Object.fromEntries(Object.entries(g).map(([n, x]) => [n, x.mul(0.5 ** k)]))],
  ['Adam', () => optimizers.Adam({ learningRate: 0.1 }), null],
  ['Adam ε → 0 (= TF.js)', () => optimizers.Adam({ learningRate: 0.1, epsilon: 1e-12 }), (tf) => tf.train.adam(0.1, 0.9, 0.999, 1e-12)],
  ['Adam amsgrad', () => optimizers.Adam({ learningRate: 0.1, amsgrad: true, beta2: 0.5 }), null],
  ['Adam clipnorm', () => optimizers.Adam({ learningRate: 0.1, clipnorm: 1, epsilon: 1e-12 }), (tf) => tf.train.adam(0.1, 0.9, 0.999, 1e-12), (tf, g) => clipNorm(tf, g, 1)],
  ['AdamW', () => optimizers.AdamW({ learningRate: 0.1, weightDecay: 0.05, epsilon: 1e-12 }), (tf) => tf.train.adam(0.1, 0.9, 0.999, 1e-12),
    (tf, g, vars) => { for (const v of Object.values(vars)) v.assign(v.sub(v.mul(0.05).mul(0.1))); return g; }],
  ['RMSprop', () => optimizers.RMSprop({ learningRate: 0.01 }), (tf) => tf.train.rmsprop(0.01, 0.9, 0, 1e-7)],
  ['RMSprop momentum', () => optimizers.RMSprop({ learningRate: 0.01, momentum: 0.8, rho: 0.8 }), (tf) => tf.train.rmsprop(0.01, 0.8, 0.8, 1e-7)],
  ['RMSprop centered', () => optimizers.RMSprop({ learningRate: 0.01, centered: true }), null],
  ['RMSprop centered ε = 0 (= TF.js)', () => optimizers.RMSprop({ learningRate: 0.01, centered: true, epsilon: 0, momentum: 0.5 }), (tf) => tf.train.rmsprop(0.01, 0.9, 0.5, 0, true)],
  ['Adagrad', () => optimizers.Adagrad({ learningRate: 0.1 }), (tf) => tf.train.adagrad(0.1, 0.1)],
];

describe('applyOptimizer: 3 steps vs Keras 3 closed form and TF.js', () => {
  it.each(CASES)('%s', async (what, make, tfOpt, prepare) => {
    const got = runKiln(make());
    expectSteps(got, kerasReference(make()), KERAS, `${what} vs Keras 3`);
    if (tfOpt) expectSteps(got, await runTfjs(tfOpt, prepare), TFJS, `${what} vs TF.js`);
  });
});

describe('applyOptimizer: the program it makes', () => {
  it('adds state weights, updates every weight, slot and iterations, and drops grad outputs; input untouched', () => {
    const before = tinyProgram();
    const snapshot = JSON.stringify(before.graph);
    const p = applyOptimizer(before, { optimizer: optimizers.RMSprop({ momentum: 0.5, centered: true, learningRate: 0.02 }) });
    expect(JSON.stringify(before.graph)).toBe(snapshot);
    expect(before.weights.size).toBe(2);
    validate(p.graph);
    expect(p.graph.outputs.map((o) => o.name)).toEqual(['loss']);
    const slots = NAMES.flatMap((n) => ['rms', 'momentum', 'mg'].map((s) => `${n}/${s}`));
    expect(p.graph.updates.map((u) => u.weight).sort()).toEqual([...NAMES, ...slots, ITERATIONS].sort());
    for (const s of [...slots, ITERATIONS, LEARNING_RATE]) {
      const node = p.graph.nodes.find((n) => n.op === 'weight' && n.attrs.name === s)!;
      expect(node.attrs.trainable, s).toBe(false);
    }
    expect(Array.from(p.weights.get(LEARNING_RATE)!.data)).toEqual([Math.fround(0.02)]);
    expect(Array.from(p.weights.get(ITERATIONS)!.data)).toEqual([0]);
    expect(p.weights.get('fc/kernel/rms')!.shape).toEqual([3, 2]);
  });
  it('initial slot values: Adagrad accumulator starts at initialAccumulatorValue', () => {
    const p = applyOptimizer(tinyProgram(), { optimizer: optimizers.Adagrad({ initialAccumulatorValue: 0.25 }) });
    expect(Array.from(p.weights.get('fc/bias/accumulator')!.data)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });
  it('reuses an iterations weight the graph already has (dropout seeds read it)', () => {
    const base = tinyProgram();
    const b = new GraphBuilder();
    base.graph.nodes.forEach((n) => b.copy(n, n.inputs));
    b.add('weight', [], { name: ITERATIONS, shape: [], dtype: 'float32', trainable: false }, ITERATIONS);
    const withCounter = { graph: b.build(base.graph.outputs, []), weights: new Map([...base.weights, [ITERATIONS, f64(7)]]) };
    const p = applyOptimizer(withCounter, { optimizer: optimizers.SGD() });
    validate(p.graph);
    expect(p.graph.nodes.filter((n) => n.op === 'weight' && n.attrs.name === ITERATIONS)).toHaveLength(1);
    expect(p.weights.get(ITERATIONS)!.data[0]).toBe(7);
  });
  it('errors name what is wrong', () => {
    const opt = optimizers.SGD();
    expect(() => applyOptimizer(tinyProgram(), { optimizer: opt, grads: { 'fc/kernel': 'grad/nope' } })).toThrow(/no graph output 'grad\/nope'/);
    expect(() => applyOptimizer(tinyProgram(), { optimizer: opt, grads: { 'fc/nope': 'grad/fc/bias' } })).toThrow(/no weight named 'fc\/nope'/);
    expect(() => applyOptimizer(tinyProgram(), { optimizer: opt, grads: { 'fc/kernel': 'grad/fc/bias' } })).toThrow(ShapeError);
    expect(() => applyOptimizer(tinyProgram(), { optimizer: { className: 'Lion', getConfig: () => ({}), learningRateAt: () => 1 } })).toThrow(/Lion.*SGD, Adam/);
  });
});

describe('optimizer configs', () => {
  it('Keras 3 defaults and config names', () => {
    expect(optimizers.getOptimizer('adam').getConfig()).toMatchObject({ name: 'adam', learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false, weight_decay: null, clipnorm: null });
    expect(optimizers.getOptimizer('sgd').getConfig()).toMatchObject({ name: 'SGD', learning_rate: 0.01, momentum: 0, nesterov: false });
    expect(optimizers.getOptimizer('AdamW').getConfig()).toMatchObject({ name: 'adamw', weight_decay: 0.004 });
    expect(optimizers.getOptimizer('rmsprop').getConfig()).toMatchObject({ learning_rate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false });
    expect(optimizers.getOptimizer('adagrad').getConfig()).toMatchObject({ learning_rate: 0.001, initial_accumulator_value: 0.1, epsilon: 1e-7 });
    expect(optimizers.RMSprop().className).toBe('RMSprop');
  });
  it('configs round-trip, schedules included', () => {
    const opt = optimizers.Adam({ learningRate: optimizers.piecewiseConstantDecay({ boundaries: [2, 5], values: [0.1, 0.01, 0.001] }), beta1: 0.8, clipvalue: 0.5 });
    const back = optimizers.getOptimizer(JSON.parse(JSON.stringify({ class_name: opt.className, config: opt.getConfig() })));
    expect(back.getConfig()).toEqual(opt.getConfig());
    expect([0, 2, 3, 5, 6].map((s) => back.learningRateAt(s))).toEqual([0.1, 0.1, 0.01, 0.01, 0.001]);
  });
  it('schedules: exponential (staircase) and inverse time', () => {
    const e = optimizers.exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true });
    expect([0, 9, 10, 25].map((s) => e.valueAt(s))).toEqual([0.1, 0.1, 0.05, 0.025]);
    expect(optimizers.exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 }).valueAt(5)).toBeCloseTo(0.1 * 0.5 ** 0.5, 15);
    expect(optimizers.inverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 4, decayRate: 0.5 }).valueAt(6)).toBeCloseTo(0.1 / 1.75, 15);
  });
  it('schedules: cosine decay as Keras 3 (floor alpha, linear warmup), and its config round-trips', () => {
    const c = optimizers.cosineDecay({ initialLearningRate: 0.1, decaySteps: 10, alpha: 0.1 });
    expect(c.valueAt(0)).toBeCloseTo(0.1, 15);
    expect(c.valueAt(5)).toBeCloseTo(0.1 * (0.9 * 0.5 + 0.1), 15);
    expect([10, 20].map((s) => c.valueAt(s))).toEqual([0.1 * 0.1, 0.1 * 0.1].map((v) => expect.closeTo(v, 15)));
    const w = optimizers.cosineDecay({ initialLearningRate: 0, decaySteps: 4, warmupTarget: 0.2, warmupSteps: 2 });
    expect([0, 1, 2, 4, 6].map((s) => w.valueAt(s))).toEqual([0, 0.1, 0.2, 0.1, 0].map((v) => expect.closeTo(v, 12)));
    const back = optimizers.getOptimizer(JSON.parse(JSON.stringify({ class_name: 'Adam', config: optimizers.Adam({ learningRate: w }).getConfig() })));
    expect([0, 1, 3, 5].map((s) => back.learningRateAt(s))).toEqual([0, 1, 3, 5].map((s) => w.valueAt(s)));
  });
  it('bad configs are ModelErrors', () => {
    expect(() => optimizers.SGD({ clipnorm: 1, clipvalue: 1 })).toThrow(/only one of clipnorm, clipvalue and globalClipnorm/);
    expect(() => optimizers.SGD({ momentum: 1.5 })).toThrow(ModelError);
    expect(() => optimizers.Adam({ learningRate: -1 })).toThrow(/learningRate/);
    expect(() => optimizers.SGD({ beta1: 0.9 } as never)).toThrow(/unknown option 'beta1'/);
    expect(() => optimizers.getOptimizer('adamax')).toThrow(/unknown optimizer 'adamax'.*adam/);
  });
});
