/**
 * Lowers an optimizer config into the training graph: per trainable weight, elementwise ops that
 * compute its new value and its new optimizer state from the gradient outputs `grad/<weight>` that
 * autodiff added, following Keras 3's `update_step` formulas exactly. State lives in non-trainable
 * `weight` nodes (`<weight>/m`, …), plus the scalars `iterations` (steps taken, float32) and
 * `learning_rate` (written by the host, so schedules need no recompile); `graph.updates` carries
 * every new value back, and the consumed `grad/*` outputs are removed.
 */
import type { Attrs, Graph, ValueRef } from '../ir/types.js';
import { ModelError, ShapeError, formatShape } from '../ir/errors.js';
import { ndarray, type NDArray } from '../ir/ndarray.js';
import { refKey } from '../ir/graph.js';
import { GraphBuilder } from './builder.js';
import type { Pass, Program } from './program.js';
import { lossScaleNames, unscaleGradients, type LossScaleOptions } from './loss-scale.js';

/** The step counter's weight name (float32 scalar, starts at 0, +1 per step). */
export const ITERATIONS = 'iterations';
/** The learning rate's weight name (float32 scalar; the host writes a schedule's value before each step). */
export const LEARNING_RATE = 'learning_rate';

/**
 * Names of an optimizer's state weights. Without a prefix they are the single-optimizer names fit uses
 * (`iterations`, `learning_rate`, `<weight>/<slot>`); with one, every name starts `<prefix>/`, so several
 * optimizers in one graph (a GAN's) keep apart: `gen_opt/iterations`, `gen_opt/<weight>/m`.
 */
export function optimizerStateNames(prefix?: string): { iterations: string; learningRate: string; slot: (weight: string, slot: string) => string } {
  const p = prefix ? `${prefix}/` : '';
  return { iterations: `${p}${ITERATIONS}`, learningRate: `${p}${LEARNING_RATE}`, slot: (w, s) => `${p}${w}/${s}` };
}

/** What applyOptimizer reads of an optimizer; the frontend's `Optimizer` is one. */
export interface OptimizerSpec {
  /** Keras class name: SGD, Adam, AdamW, RMSprop, Adagrad. */
  readonly className: string;
  /** Keras 3 config (snake_case): momentum, beta_1, epsilon, clipnorm, weight_decay, … */
  getConfig(): Record<string, unknown>;
  /** The learning rate at a step; step 0 gives `learning_rate`'s initial value. */
  learningRateAt(step: number): number;
}

/** Options of applyOptimizer. */
export interface ApplyOptimizerOptions {
  readonly optimizer: OptimizerSpec;
  /** Weight name → name of the graph output holding its gradient; default: every `grad/<weight>` output. */
  readonly grads?: Readonly<Record<string, string>>;
  /** Prefix of the optimizer's state names (see optimizerStateNames); none: fit's single-optimizer names. */
  readonly prefix?: string;
  /**
   * The gradients come from a loss scaled by the graph's `dynamic_scale` weight (addLossScale, then
   * autodiff's `seed`): unscale them, and apply the update only when all are finite (src/passes/loss-scale.ts).
   */
  readonly lossScale?: LossScaleOptions;
}

/** An operand: a graph value or a number (a float32 scalar constant). */
type V = ValueRef | number;

/** Emits float32 elementwise ops under one name scope; numbers become (shared) scalar constants. */
class Emitter {
  private readonly consts = new Map<number, ValueRef>();
  constructor(private readonly b: GraphBuilder, private readonly scope: string) {}
  private ref(v: V): ValueRef {
    if (typeof v !== 'number') return v;
    let c = this.consts.get(v);
    if (!c) this.consts.set(v, (c = this.b.add('constant', [], { shape: [], dtype: 'float32', value: [v] }, `${this.scope}/const`)[0]));
    return c;
  }
  op(op: string, inputs: readonly V[], attrs: Attrs = {}): ValueRef {
    return this.b.add(op, inputs.map((v) => this.ref(v)), attrs, `${this.scope}/${op}`)[0];
  }
  within(scope: string): Emitter {
    const e = new Emitter(this.b, scope);
    for (const [k, v] of this.consts) e.consts.set(k, v);
    return e;
  }
  add = (a: V, b: V) => this.op('add', [a, b]);
  sub = (a: V, b: V) => this.op('sub', [a, b]);
  mul = (a: V, b: V) => this.op('mul', [a, b]);
  div = (a: V, b: V) => this.op('div', [a, b]);
  pow = (a: V, b: V) => this.op('pow', [a, b]);
  max = (a: V, b: V) => this.op('maximum', [a, b]);
  min = (a: V, b: V) => this.op('minimum', [a, b]);
  sqrt = (a: V) => this.op('sqrt', [a]);
  square = (a: V) => this.op('square', [a]);
  sumAll = (a: V) => this.op('reduceSum', [a], { axes: [], keepDims: false });
}

/** The optimizer's numeric and boolean options, read from its Keras config. */
type Config = Readonly<Record<string, number | boolean>>;

/** What an update rule gets for one weight: its value, gradient, the state slots, and shared scalars. */
interface StepArgs {
  readonly w: ValueRef;
  readonly g: ValueRef;
  readonly lr: ValueRef;
  /** `iterations + 1`, Keras 3's `local_step`. */
  readonly t: ValueRef;
  readonly s: Readonly<Record<string, ValueRef>>;
  readonly shared: Readonly<Record<string, ValueRef>>;
  readonly c: Config;
}

/** One optimizer: its state slots (name → initial value), scalars shared by all weights, and the update. */
interface UpdateRule {
  slots(c: Config): Record<string, number>;
  shared?(e: Emitter, lr: ValueRef, t: ValueRef, c: Config): Record<string, ValueRef>;
  step(e: Emitter, a: StepArgs): { w: ValueRef; s: Record<string, ValueRef> };
}

const num = (c: Config, k: string) => Number(c[k]);

/** Keras 3 Adam (AdamW is Adam with weight_decay set). */
const adam: UpdateRule = {
  slots: (c) => ({ m: 0, v: 0, ...(c.amsgrad ? { vhat: 0 } : {}) }),
  // α = lr·√(1 − β2^t) / (1 − β1^t): the bias correction, on the step count t = iterations + 1.
  shared: (e, lr, t, c) => ({
    alpha: e.div(e.mul(lr, e.sqrt(e.sub(1, e.pow(num(c, 'beta_2'), t)))), e.sub(1, e.pow(num(c, 'beta_1'), t))),
  }),
  // m += (g − m)(1 − β1); v += (g² − v)(1 − β2); amsgrad: v̂ = max(v̂, v); w −= m·α / (√v̂ + ε).
  // ε is added to the uncorrected √v, as Keras 3 does (TF.js adds it to the corrected √(v / (1 − β2^t))).
  step: (e, { w, g, s, shared, c }) => {
    const m = e.add(s.m, e.mul(e.sub(g, s.m), 1 - num(c, 'beta_1')));
    const v = e.add(s.v, e.mul(e.sub(e.square(g), s.v), 1 - num(c, 'beta_2')));
    const vhat = c.amsgrad ? e.max(s.vhat, v) : undefined;
    const next = e.sub(w, e.div(e.mul(m, shared.alpha), e.add(e.sqrt(vhat ?? v), num(c, 'epsilon'))));
    return { w: next, s: { m, v, ...(vhat ? { vhat } : {}) } };
  },
};

/** Update rules by Keras class name, each following Keras 3's `update_step`. */
const RULES: Record<string, UpdateRule> = {
  // m = μm − lr·g; w += m, or with Nesterov w += μm − lr·g; without momentum w −= lr·g.
  SGD: {
    slots: (c): Record<string, number> => (num(c, 'momentum') > 0 ? { momentum: 0 } : {}),
    step: (e, { w, g, lr, s, c }) => {
      const mu = num(c, 'momentum');
      if (!(mu > 0)) return { w: e.sub(w, e.mul(g, lr)), s: {} as Record<string, ValueRef> };
      const m = e.sub(e.mul(s.momentum, mu), e.mul(g, lr));
      return { w: c.nesterov ? e.add(w, e.sub(e.mul(m, mu), e.mul(g, lr))) : e.add(w, m), s: { momentum: m } };
    },
  },
  Adam: adam,
  AdamW: adam,
  // rms = ρ·rms + (1 − ρ)g²; centered: mg = ρ·mg + (1 − ρ)g and d = rms − mg² + ε, else d = rms + ε;
  // inc = lr·g / √d; with momentum: mom = μ·mom + inc, w −= mom; else w −= inc.
  RMSprop: {
    slots: (c) => ({ rms: 0, ...(num(c, 'momentum') > 0 ? { momentum: 0 } : {}), ...(c.centered ? { mg: 0 } : {}) }),
    step: (e, { w, g, lr, s, c }) => {
      const rho = num(c, 'rho');
      const rms = e.add(e.mul(s.rms, rho), e.mul(e.square(g), 1 - rho));
      const mg = c.centered ? e.add(e.mul(s.mg, rho), e.mul(g, 1 - rho)) : undefined;
      const d = mg ? e.add(e.sub(rms, e.square(mg)), num(c, 'epsilon')) : e.add(rms, num(c, 'epsilon'));
      const inc = e.div(e.mul(g, lr), e.sqrt(d));
      const mu = num(c, 'momentum');
      const mom = mu > 0 ? e.add(e.mul(s.momentum, mu), inc) : undefined;
      return { w: e.sub(w, mom ?? inc), s: { rms, ...(mom ? { momentum: mom } : {}), ...(mg ? { mg } : {}) } };
    },
  },
  // acc += g²; w −= lr·g / √(acc + ε).
  Adagrad: {
    slots: (c) => ({ accumulator: num(c, 'initial_accumulator_value') }),
    step: (e, { w, g, lr, s, c }) => {
      const acc = e.add(s.accumulator, e.square(g));
      return { w: e.sub(w, e.div(e.mul(g, lr), e.sqrt(e.add(acc, num(c, 'epsilon'))))), s: { accumulator: acc } };
    },
  },
};

/** Keras 3 `_clip_gradients`: per-weight norm, global norm, or value (at most one is set). */
function clipGradients(e: Emitter, grads: ValueRef[], c: Config): ValueRef[] {
  const positive = (k: string) => typeof c[k] === 'number' && (c[k] as number) > 0;
  // g·c / max(‖g‖, c) (Keras 3 `_clip_by_norm`; its where() guards only matter for gradients of the clip).
  if (positive('clipnorm')) return grads.map((g) => e.div(e.mul(g, num(c, 'clipnorm')), e.max(e.sqrt(e.sumAll(e.square(g))), num(c, 'clipnorm'))));
  if (positive('global_clipnorm')) {
    // scale = c·min(1/‖G‖, 1/c) + (‖G‖ − ‖G‖): NaN when the norm is not finite, as Keras 3 `clip_by_global_norm`.
    const norm = e.sqrt(grads.map((g) => e.sumAll(e.square(g))).reduce((a, b) => e.add(a, b)));
    const cn = num(c, 'global_clipnorm');
    const scale = e.add(e.mul(e.min(e.div(1, norm), 1 / cn), cn), e.sub(norm, norm));
    return grads.map((g) => e.mul(g, scale));
  }
  if (positive('clipvalue')) return grads.map((g) => e.min(e.max(g, -num(c, 'clipvalue')), num(c, 'clipvalue')));
  return grads;
}

/** The optimizer's scalar options from its config (schedules and nulls dropped). */
function scalarConfig(spec: OptimizerSpec): Config {
  return Object.fromEntries(Object.entries(spec.getConfig()).filter(([, v]) => typeof v === 'number' || typeof v === 'boolean')) as Config;
}

/**
 * Adds the optimizer's update to a program whose graph has gradient outputs: per weight in `grads`,
 * clipping, Keras 3 decoupled weight decay (w ← w − w·wd·lr, before the update) and the update rule;
 * state weights with their initial values; `iterations ← iterations + 1`. Reuses an `iterations`
 * or `learning_rate` weight (of its prefix) the graph already has. Pure: returns a new program.
 */
export function applyOptimizer(program: Program, options: ApplyOptimizerOptions): Program {
  const { optimizer } = options;
  const rule = RULES[optimizer.className];
  if (!rule) throw new ModelError(`applyOptimizer: no update rule for optimizer '${optimizer.className}'; known: ${Object.keys(RULES).join(', ')}`);
  const { graph } = program;
  const grads = options.grads ?? Object.fromEntries(graph.outputs.filter((o) => o.name.startsWith('grad/')).map((o) => [o.name.slice(5), o.name]));
  const c = scalarConfig(optimizer);

  const b = new GraphBuilder();
  const map = new Map<string, ValueRef>();
  const weightRefs = new Map<string, ValueRef>();
  for (const n of graph.nodes) {
    const outs = b.copy(n, n.inputs.map((r) => map.get(refKey(r))!));
    outs.forEach((r, i) => map.set(`${n.id}:${i}`, r));
    if (n.op === 'weight') weightRefs.set(n.attrs.name as string, outs[0]);
  }
  const weights = new Map<string, NDArray>(program.weights);
  const newWeight = (name: string, shape: readonly number[], init: number): ValueRef => {
    if (weightRefs.has(name)) throw new ModelError(`applyOptimizer: the graph already has a weight named '${name}', which the optimizer's state needs`, { weight: name });
    weights.set(name, ndarray(shape, 'float32', new Float32Array(shape.reduce((a, d) => a * d, 1)).fill(init)));
    const ref = b.add('weight', [], { name, shape: [...shape], dtype: 'float32', trainable: false }, name)[0];
    weightRefs.set(name, ref);
    return ref;
  };
  const scalarWeight = (name: string, init: number) => {
    const ref = weightRefs.get(name);
    if (ref) {
      if (!weights.has(name)) weights.set(name, ndarray([], 'float32', [init]));
      return ref;
    }
    return newWeight(name, [], init);
  };

  const names = Object.keys(grads);
  const gradRefs = names.map((w) => {
    const out = graph.outputs.find((o) => o.name === grads[w]);
    if (!out) throw new ModelError(`applyOptimizer: no graph output '${grads[w]}' with the gradient of '${w}'; outputs: ${graph.outputs.map((o) => o.name).join(', ')}`, { weight: w });
    const wRef = weightRefs.get(w);
    if (!wRef) throw new ModelError(`applyOptimizer: no weight named '${w}' in the graph`, { weight: w });
    const wt = b.type(wRef);
    const g = map.get(refKey(out.value))!;
    const gt = b.type(g);
    if (wt.dtype !== 'float32' || gt.dtype !== 'float32') throw new ModelError(`applyOptimizer: weight '${w}' and its gradient must be float32, got ${wt.dtype} and ${gt.dtype}`, { weight: w });
    if (gt.shape.length !== wt.shape.length || gt.shape.some((d, i) => d !== wt.shape[i])) {
      throw new ShapeError(`applyOptimizer: gradient '${grads[w]}' has shape ${formatShape(gt.shape)}, weight '${w}' has ${formatShape(wt.shape)}`, { weight: w });
    }
    if (graph.updates.some((u) => u.weight === w)) throw new ModelError(`applyOptimizer: weight '${w}' already has an update in the graph`, { weight: w });
    return g;
  });

  const state = optimizerStateNames(options.prefix);
  const scope = options.prefix ?? optimizer.className;
  const iterations = scalarWeight(state.iterations, 0);
  const lr = scalarWeight(state.learningRate, optimizer.learningRateAt(0));
  const e = new Emitter(b, scope);
  const t = e.add(iterations, 1);
  const shared = rule.shared?.(e, lr, t, c) ?? {};
  const scaling = options.lossScale && lossScaling(e, weightRefs, scalarWeight, options.lossScale, gradRefs, options.prefix);
  const clipped = clipGradients(e, scaling ? scaling.grads : gradRefs, c);
  const wd = typeof c.weight_decay === 'number' && c.weight_decay > 0 ? c.weight_decay : 0;
  const updates = [...graph.updates.map((u) => ({ ...u, value: map.get(refKey(u.value))! }))];
  names.forEach((w, i) => {
    const we = e.within(`${scope}/${w}`);
    const shape = b.type(weightRefs.get(w)!).shape as number[];
    const slots = Object.fromEntries(Object.entries(rule.slots(c)).map(([s, init]) => [s, newWeight(state.slot(w, s), shape, init)]));
    const w0 = weightRefs.get(w)!;
    const decayed = wd ? we.sub(w0, we.mul(we.mul(w0, wd), lr)) : w0;
    const out = rule.step(we, { w: decayed, g: clipped[i], lr, t, s: slots, shared, c });
    updates.push({ weight: w, value: out.w });
    for (const [s, v] of Object.entries(out.s)) updates.push({ weight: state.slot(w, s), value: v });
  });
  updates.push({ weight: state.iterations, value: t });
  if (scaling) {
    // A step with a non-finite gradient keeps every weight and slot, and the step count, as they were.
    for (let i = graph.updates.length; i < updates.length; i++) {
      const u = updates[i];
      updates[i] = { ...u, value: e.op('where', [scaling.finite, u.value, weightRefs.get(u.weight)!]) };
    }
    const names = lossScaleNames(options.prefix);
    updates.push({ weight: names.scale, value: scaling.scale }, { weight: names.counter, value: scaling.counter });
  }

  const consumed = new Set(Object.values(grads));
  const outputs = graph.outputs.filter((o) => !consumed.has(o.name)).map((o) => ({ name: o.name, value: map.get(refKey(o.value))! }));
  const out: Graph = b.build(outputs, updates);
  return { graph: out, weights };
}

/** The loss-scale state (the scale must exist: addLossScale) and the unscaled gradients with their finite flag. */
function lossScaling(e: Emitter, weightRefs: ReadonlyMap<string, ValueRef>, scalarWeight: (name: string, init: number) => ValueRef, lossScale: LossScaleOptions, grads: ValueRef[], prefix?: string) {
  const names = lossScaleNames(prefix);
  const scale = weightRefs.get(names.scale);
  if (!scale) throw new ModelError(`applyOptimizer: loss scaling needs the weight '${names.scale}' that addLossScale adds before autodiff`, { weight: names.scale });
  return unscaleGradients(e, grads, scale, scalarWeight(names.counter, 0), lossScale);
}

/** applyOptimizer as a pass of a pipeline. */
export function optimizerPass(options: ApplyOptimizerOptions): Pass {
  return { name: 'applyOptimizer', run: (program) => applyOptimizer(program, options) };
}
