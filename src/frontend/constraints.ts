/**
 * Weight constraints (applied to a weight after each optimizer step) with Keras semantics and TF.js config
 * names. Like regularizers they are configs the training graph lowers to ops; `apply` is the
 * plain-TypeScript reference that lowering is tested against.
 */
import { ModelError, ShapeError, formatShape } from '../ir/errors.js';

/** Keras backend epsilon, added to norms before dividing (as Keras/TF.js do). */
const EPSILON = 1e-7;

/** A projection applied to a weight after each update. */
export interface Constraint {
  /** Keras class name: `'MaxNorm'`, `'NonNeg'`, `'UnitNorm'` or `'MinMaxNorm'`. */
  readonly className: string;
  /** TF.js camelCase config; `getConstraint({className, config})` rebuilds it. */
  getConfig(): Record<string, unknown>;
  /** Reference implementation: the constrained copy of `values` (row-major, of `shape`). */
  apply(values: Float32Array, shape: readonly number[]): Float32Array;
}

/** Serialized constraint, as in Keras/TF.js JSON (`class_name` is accepted too). */
export interface ConstraintConfig {
  className: string;
  config?: Record<string, unknown>;
}

/** Anything `getConstraint` accepts; null/undefined means "no constraint". */
export type ConstraintIdentifier = string | Constraint | ConstraintConfig | null | undefined;

type Axis = number | number[];

function num(c: Record<string, unknown>, key: string, dflt: number): number {
  const v = c[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelError(`constraint option '${key}' must be a finite number, got ${JSON.stringify(v)}`, { [key]: v });
  return v;
}

function axisOf(c: Record<string, unknown>): Axis {
  const a = c.axis ?? 0;
  const ok = (x: unknown) => Number.isInteger(x);
  if (ok(a) || (Array.isArray(a) && a.every(ok))) return a as Axis;
  throw new ModelError(`constraint axis must be an integer or a list of integers, got ${JSON.stringify(a)}`, { axis: a });
}

/** L2 norm of each slice over `axis` (keepdims), broadcast back to one value per element. */
function norms(values: Float32Array, shape: readonly number[], axis: Axis): Float64Array {
  const rank = shape.length;
  const axes = new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)));
  for (const a of axes) if (a < 0 || a >= rank) throw new ShapeError(`constraint axis ${[...axes]} out of range for ${formatShape(shape)}`, { shape, axis });
  if (shape.reduce((p, d) => p * d, 1) !== values.length) throw new ShapeError(`constraint values (${values.length}) do not fit ${formatShape(shape)}`, { shape });
  // group[i] = flat index of element i with the reduced dims set to 0.
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const group = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    let g = 0;
    for (let d = 0; d < rank; d++) if (!axes.has(d)) g += (Math.floor(i / strides[d]!) % shape[d]!) * strides[d]!;
    group[i] = g;
  }
  const sq = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) sq[group[i]!] = sq[group[i]!]! + values[i]! * values[i]!;
  return Float64Array.from(group, (g) => Math.sqrt(sq[g]!));
}

class NormConstraint implements Constraint {
  constructor(
    readonly className: string,
    private readonly config: Record<string, unknown>,
    private readonly desired: (norm: number) => number,
  ) {}
  getConfig(): Record<string, unknown> {
    return { ...this.config };
  }
  apply(values: Float32Array, shape: readonly number[]): Float32Array {
    const n = norms(values, shape, this.config.axis as Axis);
    return values.map((w, i) => w * (this.desired(n[i]!) / (EPSILON + n[i]!)));
  }
}

/** Keras `MaxNorm`: rescales slices over `axis` whose L2 norm exceeds `maxValue` (default 2, axis 0). */
export function maxNorm(args: { maxValue?: number; axis?: Axis } = {}): Constraint {
  const maxValue = num(args, 'maxValue', 2), axis = axisOf(args);
  return new NormConstraint('MaxNorm', { maxValue, axis }, (n) => Math.min(Math.max(n, 0), maxValue));
}

/** Keras `UnitNorm`: divides each slice over `axis` (default 0) by its L2 norm. */
export function unitNorm(args: { axis?: Axis } = {}): Constraint {
  return new NormConstraint('UnitNorm', { axis: axisOf(args) }, () => 1);
}

/** Keras `MinMaxNorm`: moves slice norms into [minValue, maxValue] at `rate` (defaults 0, 1, 1, axis 0). */
export function minMaxNorm(args: { minValue?: number; maxValue?: number; rate?: number; axis?: Axis } = {}): Constraint {
  const minValue = num(args, 'minValue', 0), maxValue = num(args, 'maxValue', 1), rate = num(args, 'rate', 1);
  return new NormConstraint('MinMaxNorm', { minValue, maxValue, rate, axis: axisOf(args) },
    (n) => rate * Math.min(Math.max(n, minValue), maxValue) + (1 - rate) * n);
}

/** Keras `NonNeg`: zeroes negative weights. */
export function nonNeg(): Constraint {
  return { className: 'NonNeg', getConfig: () => ({}), apply: (v) => v.map((w) => (w >= 0 ? w : 0)) };
}

/** Class names and aliases, compared without case or underscores. */
const BY_KEY: Record<string, (c: Record<string, unknown>) => Constraint> = {
  maxnorm: (c) => maxNorm(c), unitnorm: (c) => unitNorm(c), minmaxnorm: (c) => minMaxNorm(c), nonneg: () => nonNeg(),
};

/** Names accepted by `getConstraint`, in Keras snake_case (camelCase and class names work too). */
export const CONSTRAINT_NAMES: readonly string[] = ['max_norm', 'non_neg', 'unit_norm', 'min_max_norm'];

function unknown(identifier: unknown): never {
  throw new ModelError(`unknown constraint ${JSON.stringify(identifier)}; known: ${CONSTRAINT_NAMES.join(', ')} (snake_case or camelCase), or {className, config}`, { identifier });
}

/** Resolves a constraint from a name, a `{className, config}` (or `class_name`), or an instance; null/undefined give null. */
export function getConstraint(identifier: ConstraintIdentifier): Constraint | null {
  if (identifier === null || identifier === undefined) return null;
  const key = (s: string) => s.replace(/_/g, '').toLowerCase();
  if (typeof identifier === 'string') return BY_KEY[key(identifier)]?.({}) ?? unknown(identifier);
  if (typeof identifier !== 'object') return unknown(identifier);
  if ('apply' in identifier && typeof identifier.apply === 'function') return identifier as Constraint;
  const raw = identifier as unknown as Record<string, unknown>;
  const name = raw.className ?? raw.class_name;
  const make = typeof name === 'string' ? BY_KEY[key(name)] : undefined;
  if (!make) return unknown(name ?? identifier);
  const cfg = raw.config ?? {};
  if (typeof cfg !== 'object' || cfg === null) throw new ModelError(`constraint ${String(name)} config must be an object`, { config: cfg });
  return make(cfg as Record<string, unknown>);
}
