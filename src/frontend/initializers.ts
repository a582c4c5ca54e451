/**
 * Weight initializers with Keras semantics and TF.js camelCase config names, so a Keras or TF.js
 * JSON `{className, config}` maps one to one. Values come from kiln's own PRNG (./prng.ts): the
 * distributions match Keras, the exact numbers do not.
 */
import { ModelError, ShapeError, formatShape } from '../ir/errors.js';
import { Prng, nextGlobalSeed } from './prng.js';

/** Produces the initial values of one weight. */
export interface Initializer {
  /** Keras class name, e.g. `'GlorotUniform'`. */
  readonly className: string;
  /** Constructor arguments, TF.js camelCase names; `getInitializer({className, config})` rebuilds it. */
  getConfig(): Record<string, unknown>;
  /** Values for a weight of `shape`, row-major. A seeded initializer returns the same values on every call. */
  init(shape: readonly number[], dtype?: 'float32'): Float32Array;
}

/** Serialized initializer, as in Keras/TF.js JSON (`class_name` is accepted too). */
export interface InitializerConfig {
  className: string;
  config?: Record<string, unknown>;
}

/** Anything `getInitializer` accepts. */
export type InitializerIdentifier = string | Initializer | InitializerConfig;

/** Seed option: a number, or null/undefined to draw one from the global source at each `init`. */
export type Seed = number | null | undefined;

/** Keras `VarianceScaling` fan mode (snake_case spellings are accepted and normalized). */
export type FanMode = 'fanIn' | 'fanOut' | 'fanAvg';

/**
 * Keras `VarianceScaling` distribution. As in Keras, `'normal'` means a truncated normal whose stddev is
 * corrected so the result has variance `scale / fan`; `'untruncatedNormal'` is a plain normal.
 * (TF.js 4.x does not apply the correction, so its normal variants are ~12% narrower.)
 */
export type Distribution = 'normal' | 'truncatedNormal' | 'untruncatedNormal' | 'uniform';

/** Number of elements, checking that every dimension is a non-negative integer. */
function sizeOf(shape: readonly number[]): number {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(`initializer shape ${formatShape(shape)} must hold non-negative integers`, { shape });
  }
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Keras fan computation. Rank 0: 1/1; rank 1: n/n; rank 2 `[in, out]`; higher ranks are channels-last
 * conv kernels `[...receptive, in, out]` with fanIn = receptive·in, fanOut = receptive·out.
 */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  sizeOf(shape);
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  const receptive = sizeOf(shape.slice(0, -2));
  return { fanIn: receptive * shape[shape.length - 2]!, fanOut: receptive * shape[shape.length - 1]! };
}

/** Fills a new array with `draw()` for each element. */
function fill(shape: readonly number[], draw: () => number): Float32Array {
  const out = new Float32Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = draw();
  return out;
}

function num(cfg: Record<string, unknown>, key: string, dflt: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelError(`initializer option '${key}' must be a finite number, got ${JSON.stringify(v)}`, { [key]: v });
  return v;
}

function seedOf(cfg: Record<string, unknown>): number | null {
  const s = cfg.seed;
  if (s === undefined || s === null) return null;
  if (typeof s !== 'number' || !Number.isFinite(s)) throw new ModelError(`initializer seed must be a finite number or null, got ${JSON.stringify(s)}`, { seed: s });
  return s;
}

/** A fixed-value or random initializer described by a class name, its config and a draw function. */
class Simple implements Initializer {
  constructor(
    readonly className: string,
    private readonly config: Record<string, unknown>,
    private readonly make: (shape: readonly number[], rng: () => Prng) => Float32Array,
  ) {}
  getConfig(): Record<string, unknown> {
    return { ...this.config };
  }
  init(shape: readonly number[], dtype: 'float32' = 'float32'): Float32Array {
    if (dtype !== 'float32') throw new ModelError(`${this.className} initializer supports float32 only, got ${String(dtype)}`, { dtype });
    // Seeded: restart from the seed every call (Keras); unseeded: a fresh global seed per call.
    const seed = this.config.seed as number | null | undefined;
    return this.make(shape, () => new Prng(seed ?? nextGlobalSeed()));
  }
}

/** All zeros. */
export function zeros(): Initializer {
  return new Simple('Zeros', {}, (s) => fill(s, () => 0));
}

/** All ones. */
export function ones(): Initializer {
  return new Simple('Ones', {}, (s) => fill(s, () => 1));
}

/** Every element equal to `value` (default 0). */
export function constant(args: { value?: number } = {}): Initializer {
  const value = num(args, 'value', 0);
  return new Simple('Constant', { value }, (s) => fill(s, () => value));
}

/** Normal draws, default mean 0 and stddev 0.05 (Keras defaults). */
export function randomNormal(args: { mean?: number; stddev?: number; seed?: Seed } = {}): Initializer {
  const mean = num(args, 'mean', 0), stddev = num(args, 'stddev', 0.05), seed = seedOf(args);
  return new Simple('RandomNormal', { mean, stddev, seed }, (s, rng) => {
    const r = rng();
    return fill(s, () => r.normal(mean, stddev));
  });
}

/** Uniform draws in [minval, maxval), default [-0.05, 0.05) (Keras defaults). */
export function randomUniform(args: { minval?: number; maxval?: number; seed?: Seed } = {}): Initializer {
  const minval = num(args, 'minval', -0.05), maxval = num(args, 'maxval', 0.05), seed = seedOf(args);
  return new Simple('RandomUniform', { minval, maxval, seed }, (s, rng) => {
    const r = rng();
    return fill(s, () => r.uniform(minval, maxval));
  });
}

/** Normal draws redrawn until within 2·stddev of the mean; defaults mean 0, stddev 0.05. */
export function truncatedNormal(args: { mean?: number; stddev?: number; seed?: Seed } = {}): Initializer {
  const mean = num(args, 'mean', 0), stddev = num(args, 'stddev', 0.05), seed = seedOf(args);
  return new Simple('TruncatedNormal', { mean, stddev, seed }, (s, rng) => {
    const r = rng();
    return fill(s, () => r.truncatedNormal(mean, stddev));
  });
}

/** stddev of a standard normal truncated to [-2, 2]; Keras divides by it so the result has the asked variance. */
export const TRUNCATED_NORMAL_STDDEV_CORRECTION = 0.87962566103423978;

const FAN_MODES: Record<string, FanMode> = { fanin: 'fanIn', fanout: 'fanOut', fanavg: 'fanAvg' };
const DISTRIBUTIONS: Record<string, Distribution> = {
  normal: 'normal', truncatednormal: 'truncatedNormal', untruncatednormal: 'untruncatedNormal', uniform: 'uniform',
};

/** Maps 'fan_in' / 'fanIn' / 'FAN_IN' to its canonical spelling, or throws listing the allowed values. */
function pick<T>(table: Record<string, T>, what: string, v: unknown, dflt: T): T {
  if (v === undefined || v === null) return dflt;
  const hit = typeof v === 'string' ? table[v.replace(/_/g, '').toLowerCase()] : undefined;
  if (hit === undefined) throw new ModelError(`VarianceScaling ${what} ${JSON.stringify(v)} is not one of ${Object.values(table).join(', ')}`, { [what]: v });
  return hit;
}

/** Arguments of `varianceScaling`, TF.js names. */
export interface VarianceScalingArgs {
  scale?: number;
  mode?: FanMode | 'fan_in' | 'fan_out' | 'fan_avg';
  distribution?: Distribution | 'truncated_normal' | 'untruncated_normal';
  seed?: Seed;
}

/**
 * Keras `VarianceScaling`: variance `scale / n`, n = fanIn, fanOut or (fanIn+fanOut)/2 (each at least 1).
 * Uniform draws lie in ±sqrt(3·scale/n); truncated normals use stddev sqrt(scale/n)/0.8796….
 * `className` lets the Glorot/He/LeCun presets reuse it; presets serialize only `{seed}`, as Keras does.
 */
export function varianceScaling(args: VarianceScalingArgs = {}, className = 'VarianceScaling'): Initializer {
  const scale = num(args as Record<string, unknown>, 'scale', 1);
  if (!(scale > 0)) throw new ModelError(`VarianceScaling scale must be positive, got ${scale}`, { scale });
  const mode = pick(FAN_MODES, 'mode', args.mode, 'fanIn');
  const distribution = pick(DISTRIBUTIONS, 'distribution', args.distribution, 'normal');
  const seed = seedOf(args as Record<string, unknown>);
  const config = className === 'VarianceScaling' ? { scale, mode, distribution, seed } : { seed };
  return new Simple(className, config, (shape, rng) => {
    const { fanIn, fanOut } = computeFans(shape);
    const n = Math.max(1, mode === 'fanIn' ? fanIn : mode === 'fanOut' ? fanOut : (fanIn + fanOut) / 2);
    const r = rng();
    if (distribution === 'uniform') {
      const limit = Math.sqrt((3 * scale) / n);
      return fill(shape, () => r.uniform(-limit, limit));
    }
    if (distribution === 'untruncatedNormal') {
      const stddev = Math.sqrt(scale / n);
      return fill(shape, () => r.normal(0, stddev));
    }
    const stddev = Math.sqrt(scale / n) / TRUNCATED_NORMAL_STDDEV_CORRECTION;
    return fill(shape, () => r.truncatedNormal(0, stddev));
  });
}

/** Glorot/Xavier uniform: limit sqrt(6 / (fanIn + fanOut)). */
export const glorotUniform = (a: { seed?: Seed } = {}) => varianceScaling({ scale: 1, mode: 'fanAvg', distribution: 'uniform', seed: a.seed }, 'GlorotUniform');
/** Glorot/Xavier normal: truncated normal with variance 2 / (fanIn + fanOut). */
export const glorotNormal = (a: { seed?: Seed } = {}) => varianceScaling({ scale: 1, mode: 'fanAvg', distribution: 'truncatedNormal', seed: a.seed }, 'GlorotNormal');
/** He uniform: limit sqrt(6 / fanIn). */
export const heUniform = (a: { seed?: Seed } = {}) => varianceScaling({ scale: 2, mode: 'fanIn', distribution: 'uniform', seed: a.seed }, 'HeUniform');
/** He normal: truncated normal with variance 2 / fanIn. */
export const heNormal = (a: { seed?: Seed } = {}) => varianceScaling({ scale: 2, mode: 'fanIn', distribution: 'truncatedNormal', seed: a.seed }, 'HeNormal');
/** LeCun uniform: limit sqrt(3 / fanIn). */
export const lecunUniform = (a: { seed?: Seed } = {}) => varianceScaling({ scale: 1, mode: 'fanIn', distribution: 'uniform', seed: a.seed }, 'LecunUniform');
/** LeCun normal: truncated normal with variance 1 / fanIn. */
export const lecunNormal = (a: { seed?: Seed } = {}) => varianceScaling({ scale: 1, mode: 'fanIn', distribution: 'truncatedNormal', seed: a.seed }, 'LecunNormal');

/**
 * Keras `Orthogonal`: the shape is flattened to [prod(shape[:-1]), shape[-1]]; a normal matrix of the taller
 * orientation is QR-factored, Q's columns are sign-corrected by diag(R) (unique QR), transposed back if wide,
 * and scaled by `gain`. So WᵀW = gain²·I when rows ≥ cols, and WWᵀ = gain²·I otherwise.
 */
export function orthogonal(args: { gain?: number; seed?: Seed } = {}): Initializer {
  const gain = num(args, 'gain', 1), seed = seedOf(args);
  return new Simple('Orthogonal', { gain, seed }, (shape, rng) => {
    if (shape.length < 2) throw new ShapeError(`Orthogonal initializer needs a shape of rank >= 2, got ${formatShape(shape)}`, { shape });
    const rows = sizeOf(shape.slice(0, -1)), cols = shape[shape.length - 1]!;
    const m = Math.max(rows, cols), n = Math.min(rows, cols);
    const r = rng();
    // q[j] is column j of the m×n matrix, in float64 for a clean factorization.
    const q: Float64Array[] = [];
    for (let j = 0; j < n; j++) q.push(Float64Array.from({ length: m }, () => 0));
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) q[j]![i] = r.normal();
    // Modified Gram-Schmidt, run twice for orthogonality to float64 precision; R's diagonal stays > 0,
    // which is exactly what Keras's sign correction produces from any QR.
    for (let j = 0; j < n; j++) {
      const v = q[j]!;
      for (let pass = 0; pass < 2; pass++) {
        for (let k = 0; k < j; k++) {
          const u = q[k]!;
          let d = 0;
          for (let i = 0; i < m; i++) d += u[i]! * v[i]!;
          for (let i = 0; i < m; i++) v[i] = v[i]! - d * u[i]!;
        }
      }
      let norm = 0;
      for (let i = 0; i < m; i++) norm += v[i]! * v[i]!;
      norm = Math.sqrt(norm);
      for (let i = 0; i < m; i++) v[i] = v[i]! / norm;
    }
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) out[i * cols + j] = gain * (rows >= cols ? q[j]![i]! : q[i]![j]!);
    }
    return out;
  });
}

/** Keras `Identity` for 2-D shapes: `gain` on the diagonal (non-square allowed), 0 elsewhere. */
export function identity(args: { gain?: number } = {}): Initializer {
  const gain = num(args, 'gain', 1);
  return new Simple('Identity', { gain }, (shape) => {
    if (shape.length !== 2) throw new ShapeError(`Identity initializer needs a 2-D shape, got ${formatShape(shape)}`, { shape });
    const [rows, cols] = shape as [number, number];
    const out = new Float32Array(sizeOf(shape));
    for (let i = 0; i < Math.min(rows, cols); i++) out[i * cols + i] = gain;
    return out;
  });
}

type Factory = (config: Record<string, unknown>) => Initializer;

/** Keras class name → factory. Config keys not listed by a factory are ignored (e.g. `dtype`). */
const CLASSES: Record<string, Factory> = {
  Zeros: zeros, Ones: ones, Constant: constant, RandomNormal: randomNormal, RandomUniform: randomUniform,
  TruncatedNormal: truncatedNormal, VarianceScaling: (c) => varianceScaling(c as VarianceScalingArgs),
  GlorotUniform: glorotUniform, GlorotNormal: glorotNormal, HeUniform: heUniform, HeNormal: heNormal,
  LecunUniform: lecunUniform, LecunNormal: lecunNormal, Orthogonal: orthogonal, Identity: identity,
};

/** Short aliases Keras accepts besides the class names in snake/camel case. */
const ALIASES: Record<string, string> = { zero: 'Zeros', one: 'Ones', uniform: 'RandomUniform', normal: 'RandomNormal' };

/** Lookup key: case and underscores removed, so 'glorot_uniform', 'glorotUniform', 'GlorotUniform' meet. */
const keyOf = (name: string) => name.replace(/_/g, '').toLowerCase();
const BY_KEY = new Map<string, string>([
  ...Object.keys(CLASSES).map((c) => [keyOf(c), c] as [string, string]),
  ...Object.entries(ALIASES),
]);

/** Names accepted by `getInitializer`, in Keras snake_case. */
export const INITIALIZER_NAMES: readonly string[] = [
  ...Object.keys(CLASSES).map((c) => c.replace(/(?<=[a-z])([A-Z])/g, '_$1').toLowerCase()),
  ...Object.keys(ALIASES),
];

function unknown(identifier: unknown): never {
  throw new ModelError(
    `unknown initializer ${JSON.stringify(identifier)}; known: ${INITIALIZER_NAMES.join(', ')} ` +
      `(snake_case or camelCase), or {className, config} with one of ${Object.keys(CLASSES).join(', ')}`,
    { identifier },
  );
}

/**
 * Resolves an initializer from a name ('glorot_uniform', 'glorotUniform', 'GlorotUniform', 'leCunNormal'),
 * a config `{className, config}` (or Keras `{class_name, config}`), or an instance (returned as is).
 * Unknown names throw ModelError listing the known ones.
 */
export function getInitializer(identifier: InitializerIdentifier): Initializer {
  if (typeof identifier === 'string') {
    const cls = BY_KEY.get(keyOf(identifier));
    return cls ? CLASSES[cls]!({}) : unknown(identifier);
  }
  if (identifier !== null && typeof identifier === 'object') {
    if ('init' in identifier && typeof identifier.init === 'function') return identifier as Initializer;
    const raw = identifier as unknown as Record<string, unknown>;
    const name = raw.className ?? raw.class_name;
    const cls = typeof name === 'string' ? BY_KEY.get(keyOf(name)) : undefined;
    if (!cls) return unknown(name ?? identifier);
    const cfg = raw.config ?? {};
    if (typeof cfg !== 'object' || cfg === null) throw new ModelError(`initializer ${cls} config must be an object`, { config: cfg });
    return CLASSES[cls]!(cfg as Record<string, unknown>);
  }
  return unknown(identifier);
}
