/**
 * WGSL for every elementwise op of the IR, one row each: the expression of the result from the
 * operand expressions. Helper functions some rows need (erf, a stable pow) are in WGSL_HELPERS.
 */
import type { DType } from '../ir/types.js';

/** `{x}`/`{a}`/`{b}`/`{c}` are operand expressions, `{alpha}` the op's alpha, `{T}` the element type. */
export const UNARY_WGSL: Readonly<Record<string, string>> = {
  identity: '{x}',
  neg: '-{x}',
  abs: 'abs({x})',
  sign: 'sign({x})',
  exp: 'exp({x})',
  log: 'log({x})',
  sqrt: 'sqrt({x})',
  rsqrt: 'inverseSqrt({x})',
  square: '({x} * {x})',
  reciprocal: '(1.0 / {x})',
  floor: 'floor({x})',
  ceil: 'ceil({x})',
  round: 'round({x})',
  sin: 'sin({x})',
  cos: 'cos({x})',
  // tanh is exactly ±1 in f32 beyond |x| = 15, and some drivers overflow in exp() past that.
  tanh: 'tanh(clamp({x}, -15.0, 15.0))',
  sigmoid: 'k_sigmoid({x})',
  relu: 'max({x}, 0.0)',
  relu6: 'clamp({x}, 0.0, 6.0)',
  elu: 'select({alpha} * (exp({x}) - 1.0), {x}, {x} > 0.0)',
  selu: '(1.0507009873554805 * select(1.6732632423543772 * (exp({x}) - 1.0), {x}, {x} > 0.0))',
  gelu: '(0.5 * {x} * (1.0 + k_erf({x} * 0.7071067811865476)))',
  geluTanh: '(0.5 * {x} * (1.0 + tanh(clamp(0.7978845608028654 * ({x} + 0.044715 * {x} * {x} * {x}), -15.0, 15.0))))',
  softplus: '(max({x}, 0.0) + log(1.0 + exp(-abs({x}))))',
  softsign: '({x} / (1.0 + abs({x})))',
  hardSigmoid: 'clamp(0.2 * {x} + 0.5, 0.0, 1.0)',
  swish: '({x} * k_sigmoid({x}))',
  erf: 'k_erf({x})',
  leakyRelu: 'select({alpha} * {x}, {x}, {x} >= 0.0)',
  logicalNot: 'select(1i, 0i, {x} != 0i)',
};

/** Binary rows; comparisons and logical ops produce bool stored as i32 0/1. */
export const BINARY_WGSL: Readonly<Record<string, string>> = {
  add: '({a} + {b})',
  sub: '({a} - {b})',
  mul: '({a} * {b})',
  div: '({a} / {b})',
  pow: 'k_pow({a}, {b})',
  maximum: 'max({a}, {b})',
  minimum: 'min({a}, {b})',
  squaredDifference: '(({a} - {b}) * ({a} - {b}))',
  equal: 'select(0i, 1i, {a} == {b})',
  notEqual: 'select(0i, 1i, {a} != {b})',
  less: 'select(0i, 1i, {a} < {b})',
  lessEqual: 'select(0i, 1i, {a} <= {b})',
  greater: 'select(0i, 1i, {a} > {b})',
  greaterEqual: 'select(0i, 1i, {a} >= {b})',
  reluGrad: 'select(0.0, {a}, {b} > 0.0)',
  logicalAnd: 'select(0i, 1i, {a} != 0i && {b} != 0i)',
  logicalOr: 'select(0i, 1i, {a} != 0i || {b} != 0i)',
};

/** Integer versions where WGSL's i32 operators differ from the IR's semantics. */
export const BINARY_WGSL_INT: Readonly<Record<string, string>> = {
  div: 'k_floordiv({a}, {b})',
  pow: 'i32(k_pow(f32({a}), f32({b})))',
};

/** Casts: from element type to dtype. */
export function castWgsl(x: string, from: DType, to: DType): string {
  if (to === 'bool') return from === 'float32' ? `select(0i, 1i, ${x} != 0.0)` : `select(0i, 1i, ${x} != 0i)`;
  if (to === 'int32') return from === 'float32' ? `i32(${x})` : x;
  return from === 'float32' ? x : `f32(${x})`;
}

/** WGSL functions the rows above call; only the ones a kernel uses are emitted. */
export const WGSL_HELPERS: Readonly<Record<string, string>> = {
  // WGSL rejects non-finite constant expressions, so NaN and ±inf are made at run time.
  k_nan: 'fn k_nan() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }',
  k_inf: 'fn k_inf() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }',
  k_sigmoid: 'fn k_sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }',
  // Abramowitz–Stegun 7.1.26: |error| < 1.5e-7, within f32 tolerance.
  k_erf: `fn k_erf(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return sign(x) * y;
}`,
  // TF semantics: a negative base with an integral exponent keeps its sign; WGSL's pow is undefined there.
  k_pow: `fn k_pow(a: f32, b: f32) -> f32 {
  if (a >= 0.0) { return pow(a, b); }
  if (b != floor(b)) { return k_nan(); }
  let m = pow(-a, b);
  return select(m, -m, fract(b * 0.5) != 0.0);
}`,
  // The counter-based hash of src/ir/random.ts, bit for bit.
  k_pcg: `fn k_pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}`,
  k_uniform: 'fn k_uniform(seed: u32, index: u32) -> f32 { return f32(k_pcg(index + k_pcg(seed)) >> 8u) * (1.0 / 16777216.0); }',
  k_floordiv: `fn k_floordiv(a: i32, b: i32) -> i32 {
  if (b == 0i) { return 0i; }
  let q = a / b;
  return select(q, q - 1i, (a % b != 0i) && ((a < 0i) != (b < 0i)));
}`,
};

/** The WGSL element type that stores a dtype (bool as i32 0/1). */
export function wgslType(dtype: DType): 'f32' | 'i32' {
  return dtype === 'float32' || dtype === 'float16' ? 'f32' : 'i32';
}

/** A WGSL literal of a number in a dtype. */
export function literal(value: number, dtype: DType): string {
  if (wgslType(dtype) === 'i32') return `${Math.trunc(value)}i`;
  if (Number.isNaN(value)) return 'k_nan()';
  if (!Number.isFinite(value)) return value > 0 ? 'k_inf()' : '(-k_inf())';
  const s = String(Math.fround(value));
  return /[.eE]/.test(s) ? s.replace(/e(\d)/, 'e+$1') : `${s}.0`;
}

/** Names of the helpers code calls, directly or through other helpers, so only those are emitted. */
export function helpersUsed(code: string): string[] {
  const used = new Set<string>();
  const visit = (text: string) => {
    for (const h of Object.keys(WGSL_HELPERS)) {
      if (!used.has(h) && text.includes(`${h}(`)) {
        used.add(h);
        visit(WGSL_HELPERS[h]);
      }
    }
  };
  visit(code);
  return Object.keys(WGSL_HELPERS).filter((h) => used.has(h));
}
