/**
 * Weight regularizers with Keras semantics and TF.js config names. A regularizer is a config: the
 * training graph lowers it to ops (penalty = l1·Σ|w| + l2·Σw², added to the loss). `regularizerPenalty`
 * is the plain-TypeScript reference that lowering is tested against.
 */
import { ModelError } from '../ir/errors.js';

/** Keras `L1L2` regularizer: penalty l1·Σ|w| + l2·Σw². */
export interface Regularizer {
  /** Keras class name; always `'L1L2'` (Keras 3 `L1`/`L2` configs load into it). */
  readonly className: 'L1L2';
  /** TF.js/Keras config; `getRegularizer({className, config})` rebuilds it. */
  getConfig(): { l1: number; l2: number };
  /** Human-readable penalty formula, e.g. `0.01·Σ|w| + 0.01·Σw²`, for summaries and errors. */
  describe(): string;
}

/** Serialized regularizer, as in Keras/TF.js JSON (`class_name` is accepted too). */
export interface RegularizerConfig {
  className: string;
  config?: Record<string, unknown>;
}

/** Anything `getRegularizer` accepts; null/undefined means "no regularizer". */
export type RegularizerIdentifier = string | Regularizer | RegularizerConfig | null | undefined;

function factor(v: unknown, name: string, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new ModelError(`regularizer factor '${name}' must be a finite number >= 0, got ${JSON.stringify(v)}`, { [name]: v });
  }
  return v;
}

class L1L2 implements Regularizer {
  readonly className = 'L1L2' as const;
  constructor(readonly l1: number, readonly l2: number) {}
  getConfig(): { l1: number; l2: number } {
    return { l1: this.l1, l2: this.l2 };
  }
  describe(): string {
    const terms = [this.l1 ? `${this.l1}·Σ|w|` : '', this.l2 ? `${this.l2}·Σw²` : ''].filter(Boolean);
    return terms.length ? terms.join(' + ') : '0';
  }
}

/** `l1` may be given as a number (Keras `l1(0.01)`) or an object (TF.js `l1({l1: 0.01})`). */
export function l1(args: number | { l1?: number } = {}): Regularizer {
  return new L1L2(factor(typeof args === 'number' ? args : args.l1, 'l1', 0.01), 0);
}

/** `l2` may be given as a number (Keras `l2(0.01)`) or an object (TF.js `l2({l2: 0.01})`). */
export function l2(args: number | { l2?: number } = {}): Regularizer {
  return new L1L2(0, factor(typeof args === 'number' ? args : args.l2, 'l2', 0.01));
}

/** Both terms; each defaults to 0.01 (TF.js `l1l2`, tf.keras `l1_l2`). Keras 3's bare `L1L2()` defaults to 0. */
export function l1l2(args: { l1?: number; l2?: number } = {}): Regularizer {
  return new L1L2(factor(args.l1, 'l1', 0.01), factor(args.l2, 'l2', 0.01));
}

/** Accepted string names and class names (compared without case or underscores). */
const BY_KEY: Record<string, (c: Record<string, unknown>) => Regularizer> = {
  l1: (c) => new L1L2(factor(c.l1, 'l1', 0.01), 0),
  l2: (c) => new L1L2(0, factor(c.l2, 'l2', 0.01)),
  l1l2: (c) => new L1L2(factor(c.l1, 'l1', 0.01), factor(c.l2, 'l2', 0.01)),
};

/** Names accepted by `getRegularizer`. */
export const REGULARIZER_NAMES: readonly string[] = ['l1', 'l2', 'l1_l2', 'l1l2', 'L1', 'L2', 'L1L2'];

function unknown(identifier: unknown): never {
  throw new ModelError(
    `unknown regularizer ${JSON.stringify(identifier)}; known: ${REGULARIZER_NAMES.join(', ')}, ` +
      `or {className: 'L1L2', config: {l1, l2}}`,
    { identifier },
  );
}

/**
 * Resolves a regularizer from a name ('l1', 'l2', 'l1_l2', 'l1l2'), a config `{className: 'L1L2', config:
 * {l1, l2}}` (also Keras 3 `L1`/`L2`, and `class_name`), or an instance; null/undefined give null.
 */
export function getRegularizer(identifier: RegularizerIdentifier): Regularizer | null {
  if (identifier === null || identifier === undefined) return null;
  if (typeof identifier === 'string') {
    const make = BY_KEY[identifier.replace(/_/g, '').toLowerCase()];
    return make ? make({}) : unknown(identifier);
  }
  if (typeof identifier === 'object') {
    if ('getConfig' in identifier && typeof identifier.getConfig === 'function') return identifier as Regularizer;
    const raw = identifier as unknown as Record<string, unknown>;
    const name = raw.className ?? raw.class_name;
    const make = typeof name === 'string' ? BY_KEY[name.replace(/_/g, '').toLowerCase()] : undefined;
    if (!make) return unknown(name ?? identifier);
    const cfg = raw.config ?? {};
    if (typeof cfg !== 'object' || cfg === null) throw new ModelError(`regularizer ${String(name)} config must be an object`, { config: cfg });
    return make(cfg as Record<string, unknown>);
  }
  return unknown(identifier);
}

/** Reference penalty l1·Σ|w| + l2·Σw², summed in float64. */
export function regularizerPenalty(reg: Regularizer | null, values: Float32Array): number {
  if (reg === null) return 0;
  const { l1: a, l2: b } = reg.getConfig();
  let s1 = 0, s2 = 0;
  for (let i = 0; i < values.length; i++) {
    const w = values[i]!;
    s1 += Math.abs(w);
    s2 += w * w;
  }
  return a * s1 + b * s2;
}
