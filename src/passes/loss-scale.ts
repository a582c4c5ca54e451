/**
 * Dynamic loss scaling for mixed-precision training, as Keras 3's `LossScaleOptimizer`: the loss's
 * gradient starts at `dynamic_scale` instead of 1, so gradients small enough to vanish in an f16 GEMM
 * operand keep their digits; the optimizer divides them back, and applies them only when every one is
 * finite. A step with an inf or NaN gradient changes no weight, halves the scale and restarts the
 * count; after `growthSteps` finite steps in a row the scale doubles.
 */
import type { Attrs, ValueRef } from '../ir/types.js';
import { ModelError } from '../ir/errors.js';
import { ndarray } from '../ir/ndarray.js';
import { GraphBuilder } from './builder.js';
import type { Program } from './program.js';

/** Keras 3's defaults: `initial_scale` 2¹⁵, `dynamic_growth_steps` 2000. */
export const LOSS_SCALE_DEFAULTS = { initialScale: 2 ** 15, growthSteps: 2000 } as const;

/** How the optimizer treats a scaled loss. */
export interface LossScaleOptions {
  /** Finite steps in a row after which the scale doubles. */
  readonly growthSteps: number;
}

/** Names of the loss-scale state, under an optimizer's prefix as its other state. */
export function lossScaleNames(prefix?: string): { scale: string; counter: string } {
  const p = prefix ? `${prefix}/` : '';
  return { scale: `${p}dynamic_scale`, counter: `${p}step_counter` };
}

/**
 * Adds the scale, a non-trainable float32 scalar weight starting at `initialScale`, for autodiff's
 * `seed` to read (a graph that has it keeps its value). Pure: returns a new program.
 */
export function addLossScale(program: Program, options: { prefix?: string; initialScale?: number } = {}): Program {
  const { scale } = lossScaleNames(options.prefix);
  const initial = options.initialScale ?? LOSS_SCALE_DEFAULTS.initialScale;
  if (!(initial > 0) || !Number.isFinite(initial)) throw new ModelError(`loss scaling: the initial scale must be a positive finite number, got ${initial}`);
  if (program.graph.nodes.some((n) => n.op === 'weight' && n.attrs.name === scale)) return program;
  const b = new GraphBuilder();
  for (const n of program.graph.nodes) b.copy(n, n.inputs);
  b.add('weight', [], { name: scale, shape: [], dtype: 'float32', trainable: false }, scale);
  const weights = new Map(program.weights);
  weights.set(scale, ndarray([], 'float32', [initial]));
  return { graph: b.build(program.graph.outputs, program.graph.updates), weights };
}

/** What the optimizer emits with: elementwise ops on values and float32 scalar constants. */
export interface ScaleEmitter {
  op(op: string, inputs: readonly (ValueRef | number)[], attrs?: Attrs): ValueRef;
}

/**
 * The unscaled gradients, the flag "every gradient element is finite" (bool scalar, Keras's
 * `check_finite`), and the scale's and counter's new values.
 */
export function unscaleGradients(e: ScaleEmitter, grads: readonly ValueRef[], scale: ValueRef, counter: ValueRef, options: LossScaleOptions): { grads: ValueRef[]; finite: ValueRef; scale: ValueRef; counter: ValueRef } {
  const inverse = e.op('div', [1, scale]);
  const unscaled = grads.map((g) => e.op('mul', [g, inverse]));
  // The scaled gradients are tested, so the unscaling stays an elementwise link of the update's fused kernel.
  const finite = e.op('equal', [e.op('nonFiniteCount', grads), 0]);
  const grow = e.op('greaterEqual', [counter, options.growthSteps - 1]);
  const onFinite = { scale: e.op('where', [grow, e.op('mul', [scale, 2]), scale]), counter: e.op('where', [grow, 0, e.op('add', [counter, 1])]) };
  return {
    grads: unscaled,
    finite,
    scale: e.op('where', [finite, onFinite.scale, e.op('mul', [scale, 0.5])]),
    counter: e.op('where', [finite, onFinite.counter, 0]),
  };
}
