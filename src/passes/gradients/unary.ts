/** Gradients of the unary table: one row per op, dx from x, y = f(x) and dy, written with ops. */
import type { ValueRef } from '../../ir/types.js';
import type { GradientRule } from '../../ir/registry.js';
import { SELU_ALPHA, SELU_SCALE } from '../../ir/ops/unary.js';
import { dyOf, gradRule, type Ops } from './expr.js';

/** What a unary row sees: the input, the output, the output's gradient and the `alpha` attr (0 when none). */
export interface UnaryValues {
  readonly x: ValueRef;
  readonly y: ValueRef;
  readonly dy: ValueRef;
  readonly alpha: number;
}

/** dx for one unary op, or null where the derivative is zero almost everywhere (piecewise constant). */
export type UnaryGrad = (e: Ops, v: UnaryValues) => ValueRef | null;

const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

/** Piecewise constant ops (sign, floor, ceil, round): no gradient flows, as in TF. */
const zero: UnaryGrad = () => null;

/** One row per op of the unary table, except logicalNot (bool: see GRADIENTS). */
export const UNARY_GRADS: Readonly<Record<string, UnaryGrad>> = {
  identity: (_, { dy }) => dy,
  neg: (e, { dy }) => e.f('neg', dy),
  abs: (e, { x, dy }) => e.mul(dy, e.f('sign', x)),
  sign: zero,
  exp: (e, { y, dy }) => e.mul(dy, y),
  log: (e, { x, dy }) => e.div(dy, x),
  sqrt: (e, { y, dy }) => e.div(e.mul(dy, 0.5), y),
  // d/dx x^(-1/2) = -y / (2x)
  rsqrt: (e, { x, y, dy }) => e.mul(dy, e.div(e.mul(y, -0.5), x)),
  square: (e, { x, dy }) => e.mul(dy, e.mul(x, 2)),
  reciprocal: (e, { y, dy }) => e.f('neg', e.mul(dy, e.f('square', y))),
  floor: zero,
  ceil: zero,
  round: zero,
  sin: (e, { x, dy }) => e.mul(dy, e.f('cos', x)),
  cos: (e, { x, dy }) => e.mul(dy, e.f('neg', e.f('sin', x))),
  tanh: (e, { y, dy }) => e.mul(dy, e.sub(1, e.f('square', y))),
  sigmoid: (e, { y, dy }) => e.mul(dy, e.mul(y, e.sub(1, y))),
  // The step at 0 takes the left side, as TF: relu'(0) = 0. Read from y (y > 0 ⟺ x > 0), so the
  // pre-activation need not be kept and relu fuses into the matmul or conv epilogue in training too.
  relu: (e, { y, dy }) => e.op('reluGrad', [dy, y]),
  relu6: (e, { x, dy }) => e.where(e.op('logicalAnd', [e.cmp('greater', x, 0), e.cmp('lessEqual', x, 6)]), dy, 0),
  // For x ≤ 0: y = α(eˣ − 1), so y' = y + α.
  elu: (e, { x, y, dy, alpha }) => e.where(e.cmp('greater', x, 0), dy, e.mul(dy, e.add(y, alpha))),
  selu: (e, { x, y, dy }) => e.mul(dy, e.where(e.cmp('greater', x, 0), SELU_SCALE, e.add(y, SELU_SCALE * SELU_ALPHA))),
  // Φ(x) + x·φ(x)
  gelu: (e, { x, dy }) => {
    const cdf = e.mul(e.add(e.f('erf', e.mul(x, SQRT_HALF)), 1), 0.5);
    const pdf = e.mul(e.f('exp', e.mul(e.f('square', x), -0.5)), INV_SQRT_2PI);
    return e.mul(dy, e.add(cdf, e.mul(x, pdf)));
  },
  // With t = tanh(c(x + kx³)): ½(1 + t) + ½x(1 − t²)·c(1 + 3kx²)
  geluTanh: (e, { x, dy }) => {
    const x2 = e.f('square', x);
    const t = e.f('tanh', e.mul(e.mul(x, e.add(e.mul(x2, GELU_K), 1)), SQRT_2_OVER_PI));
    const inner = e.mul(e.add(e.mul(x2, 3 * GELU_K), 1), SQRT_2_OVER_PI);
    const d = e.add(e.mul(e.add(t, 1), 0.5), e.mul(e.mul(e.mul(x, 0.5), e.sub(1, e.f('square', t))), inner));
    return e.mul(dy, d);
  },
  softplus: (e, { x, dy }) => e.mul(dy, e.f('sigmoid', x)),
  softsign: (e, { x, dy }) => e.div(dy, e.f('square', e.add(e.f('abs', x), 1))),
  // Slope 0.2 where the clip is inactive, |x| < 2.5.
  hardSigmoid: (e, { x, dy }) => e.where(e.op('logicalAnd', [e.cmp('greater', x, -2.5), e.cmp('less', x, 2.5)]), e.mul(dy, 0.2), 0),
  // (x·s)' = s + x·s(1 − s) = y + s(1 − y)
  swish: (e, { x, y, dy }) => {
    const s = e.f('sigmoid', x);
    return e.mul(dy, e.add(y, e.mul(s, e.sub(1, y))));
  },
  erf: (e, { x, dy }) => e.mul(dy, e.mul(e.f('exp', e.f('neg', e.f('square', x))), TWO_OVER_SQRT_PI)),
  // The forward keeps x where x ≥ 0, so the slope at 0 is 1.
  leakyRelu: (e, { x, dy, alpha }) => e.where(e.cmp('greaterEqual', x, 0), dy, e.mul(dy, alpha)),
};

/** A registry-shaped rule from a unary row. */
export function unaryRule(g: UnaryGrad): GradientRule {
  return gradRule((e, ctx) => [g(e, { x: ctx.inputs[0], y: ctx.outputs[0], dy: dyOf(ctx), alpha: (ctx.attrs.alpha as number | undefined) ?? 0 })]);
}
