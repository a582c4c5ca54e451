/** Elementwise unary ops: one data table, name → scalar function, as docs/ops.md lists them. */
import type { OpDef, AttrSpec } from '../registry.js';
import { attrFloat, defineOp, expectDtype, tensor, type DtypeClass } from './common.js';
import { alloc } from './indexing.js';
import { erf, erfc } from './special.js';

/** Keras's SELU constants (Klambauer et al. 2017). */
export const SELU_ALPHA = 1.6732632423543772848170429916717;
export const SELU_SCALE = 1.0507009873554804934193349852946;

const SQRT_HALF = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** One row: the scalar function (alpha is the op's `alpha` attr where it has one) and the dtype it takes. */
export interface UnaryRow {
  readonly fn: (x: number, alpha: number) => number;
  /** Input dtype class; the output has the input's dtype. Float unless said. */
  readonly dtype?: DtypeClass;
  /** Default of the `alpha` attr, for the ops that take one. */
  readonly alpha?: number;
}

/** sigmoid without overflow: exp only ever sees a non-positive argument. */
function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Rounds half to even, as TF and WGSL's round() do; a zero result keeps x's sign (round(−0.4) = −0). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  const r = d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return r === 0 ? x * 0 : r;
}

/** The unary table. Definitions follow TF.js layers (see docs/ops.md). */
export const UNARY: Readonly<Record<string, UnaryRow>> = {
  identity: { fn: (x) => x, dtype: 'any' },
  neg: { fn: (x) => -x },
  abs: { fn: Math.abs },
  sign: { fn: Math.sign },
  exp: { fn: Math.exp },
  log: { fn: Math.log },
  sqrt: { fn: Math.sqrt },
  rsqrt: { fn: (x) => 1 / Math.sqrt(x) },
  square: { fn: (x) => x * x },
  reciprocal: { fn: (x) => 1 / x },
  floor: { fn: Math.floor },
  ceil: { fn: Math.ceil },
  round: { fn: roundHalfEven },
  sin: { fn: Math.sin },
  cos: { fn: Math.cos },
  tanh: { fn: Math.tanh },
  sigmoid: { fn: sigmoid },
  relu: { fn: (x) => (x > 0 ? x : 0) },
  relu6: { fn: (x) => Math.min(Math.max(x, 0), 6) },
  elu: { fn: (x, a) => (x > 0 ? x : a * Math.expm1(x)), alpha: 1 },
  selu: { fn: (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)) },
  // erfc(−x/√2) = 1 + erf(x/√2) without cancellation for very negative x.
  gelu: { fn: (x) => 0.5 * x * erfc(-x * SQRT_HALF) },
  geluTanh: { fn: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))) },
  // log(1 + eˣ) = max(x, 0) + log1p(e^{−|x|}): exact for large |x| in both directions.
  softplus: { fn: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))) },
  softsign: { fn: (x) => x / (1 + Math.abs(x)) },
  hardSigmoid: { fn: (x) => Math.min(Math.max(0.2 * x + 0.5, 0), 1) },
  swish: { fn: (x) => x * sigmoid(x) },
  erf: { fn: erf },
  leakyRelu: { fn: (x, a) => (x >= 0 ? x : a * x), alpha: 0.2 },
  logicalNot: { fn: (x) => (x ? 0 : 1), dtype: 'bool' },
};

function unaryOp(name: string, row: UnaryRow): OpDef {
  const attrs: Record<string, AttrSpec> = row.alpha === undefined ? {} : { alpha: { kind: 'float', default: row.alpha } };
  const alphaOf = row.alpha === undefined ? () => 0 : (a: Parameters<OpDef['infer']>[1]) => attrFloat(name, a, 'alpha');
  return defineOp({
    name,
    arity: 1,
    attrs,
    infer: ([x], a) => {
      expectDtype(name, 'x', x, row.dtype ?? 'float');
      alphaOf(a);
      return [tensor(x.shape, x.dtype)];
    },
    reference: ([x], a, ctx) => {
      const alpha = alphaOf(a);
      const out = alloc(ctx, x.shape, x.dtype);
      const src = x.data;
      const dst = out.data;
      for (let i = 0; i < src.length; i++) dst[i] = row.fn(src[i], alpha);
      return [out];
    },
  });
}

/** Registry rows built from the unary table. */
export const unaryOps: OpDef[] = Object.entries(UNARY).map(([name, row]) => unaryOp(name, row));
