import type { Attrs, AttrValue, Dim, DType, TensorType } from '../types.js';
import type { OpDef } from '../registry.js';
import { withDefaults } from '../registry.js';
import { GraphError, ShapeError, formatShape } from '../errors.js';

/** Dtype families an op input may belong to. `float` includes float16 (typed, not yet executable). */
export type DtypeClass = 'float' | 'int32' | 'numeric' | 'bool' | 'any';

const CLASS_MEMBERS: Record<DtypeClass, readonly DType[]> = {
  float: ['float32', 'float16'],
  int32: ['int32'],
  numeric: ['float32', 'float16', 'int32'],
  bool: ['bool'],
  any: ['float32', 'float16', 'int32', 'bool'],
};

/** Whether a dtype holds floats. */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16';
}

/** Throws the ShapeError every infer uses: the message starts with the op name. */
export function fail(op: string, message: string, context: Record<string, unknown> = {}): never {
  throw new ShapeError(`${op}: ${message}`, { op, ...context });
}

/** Shorthand for a TensorType. */
export function tensor(shape: readonly Dim[], dtype: DType): TensorType {
  return { shape: [...shape], dtype };
}

/** Checks that an input's dtype is in a class; `role` names the input in the message. */
export function expectDtype(op: string, role: string, t: TensorType, cls: DtypeClass): void {
  if (!CLASS_MEMBERS[cls].includes(t.dtype)) {
    fail(op, `${role} must be ${cls === 'any' ? 'a tensor' : cls}, got ${t.dtype} ${formatShape(t.shape)}`, { role, dtype: t.dtype });
  }
}

/** Checks that two inputs share a dtype (binary arithmetic, where, concat). */
export function expectSameDtype(op: string, a: TensorType, b: TensorType, roles = ['a', 'b']): void {
  if (a.dtype !== b.dtype) {
    fail(op, `dtypes differ: ${roles[0]} ${a.dtype} ${formatShape(a.shape)} vs ${roles[1]} ${b.dtype} ${formatShape(b.shape)}`);
  }
}

/** Checks an input's rank: exact, or at least `min` when given as [min]. */
export function expectRank(op: string, role: string, t: TensorType, rank: number | readonly [number]): void {
  const ok = typeof rank === 'number' ? t.shape.length === rank : t.shape.length >= rank[0];
  if (!ok) {
    const want = typeof rank === 'number' ? `rank ${rank}` : `rank ≥ ${rank[0]}`;
    fail(op, `${role} must have ${want}, got ${formatShape(t.shape)}`, { role, shape: t.shape });
  }
}

/** Checks the learning-phase input of batchNorm/dropout: a bool with one element. */
export function expectBoolScalar(op: string, role: string, t: TensorType): void {
  expectDtype(op, role, t, 'bool');
  if (!t.shape.every((d) => d === 1)) fail(op, `${role} must be a bool scalar, got ${formatShape(t.shape)}`);
}

/** Resolves a possibly negative axis against a shape; out of range is a ShapeError naming both. */
export function normalizeAxis(op: string, axis: number, shape: readonly Dim[], what = 'axis'): number {
  const rank = shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    fail(op, `${what} ${axis} is out of range for input ${formatShape(shape)} of rank ${rank}`, { axis, shape });
  }
  return axis < 0 ? axis + rank : axis;
}

/** Product of the dims, or null when any is unknown. */
export function knownSize(shape: readonly Dim[]): number | null {
  let n = 1;
  for (const d of shape) {
    if (d === null) return null;
    n *= d;
  }
  return n;
}

/** Two static dims agree unless both are known and differ. */
export function dimsCompatible(a: Dim, b: Dim): boolean {
  return a === null || b === null || a === b;
}

/** The more informative of two compatible dims. */
export function mergeDim(a: Dim, b: Dim): Dim {
  return a === null ? b : a;
}

function attrValue(op: string, attrs: Attrs, key: string): AttrValue {
  const v = attrs[key];
  if (v === undefined) throw new GraphError(`${op}: missing attribute '${key}'`, { op, attr: key });
  return v;
}

function badAttr(op: string, key: string, want: string, v: AttrValue): never {
  throw new GraphError(`${op}: attribute '${key}' must be ${want}, got ${JSON.stringify(v)}`, { op, attr: key });
}

/** Reads an integer attribute. */
export function attrInt(op: string, attrs: Attrs, key: string): number {
  const v = attrValue(op, attrs, key);
  return typeof v === 'number' && Number.isInteger(v) ? v : badAttr(op, key, 'an integer', v);
}

/** Reads a number attribute. */
export function attrFloat(op: string, attrs: Attrs, key: string): number {
  const v = attrValue(op, attrs, key);
  return typeof v === 'number' ? v : badAttr(op, key, 'a number', v);
}

/** Reads a boolean attribute. */
export function attrBool(op: string, attrs: Attrs, key: string): boolean {
  const v = attrValue(op, attrs, key);
  return typeof v === 'boolean' ? v : badAttr(op, key, 'a boolean', v);
}

/** Reads a string attribute. */
export function attrString(op: string, attrs: Attrs, key: string): string {
  const v = attrValue(op, attrs, key);
  return typeof v === 'string' ? v : badAttr(op, key, 'a string', v);
}

/** Reads a list of integers. */
export function attrInts(op: string, attrs: Attrs, key: string): number[] {
  const v = attrValue(op, attrs, key);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) return badAttr(op, key, 'a list of integers', v);
  return v as number[];
}

/** Reads a list of numbers. */
export function attrFloats(op: string, attrs: Attrs, key: string): number[] {
  const v = attrValue(op, attrs, key);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) return badAttr(op, key, 'a list of numbers', v);
  return v as number[];
}

/** Reads a shape attribute: integers ≥ 0 or null. */
export function attrShape(op: string, attrs: Attrs, key: string): Dim[] {
  const v = attrValue(op, attrs, key);
  const ok = Array.isArray(v) && v.every((d) => d === null || (typeof d === 'number' && Number.isInteger(d) && d >= 0));
  return ok ? (v as Dim[]) : badAttr(op, key, 'a shape (integers ≥ 0 or null)', v);
}

/** Reads a dtype attribute. */
export function attrDtype(op: string, attrs: Attrs, key: string): DType {
  const v = attrValue(op, attrs, key);
  return CLASS_MEMBERS.any.includes(v as DType) ? (v as DType) : badAttr(op, key, 'a dtype', v);
}

/** Reads a string attribute restricted to the spec's `oneOf`. */
export function attrEnum<T extends string>(op: string, attrs: Attrs, key: string, allowed: readonly T[]): T {
  const v = attrString(op, attrs, key);
  if (!allowed.includes(v as T)) fail(op, `attribute '${key}' must be one of ${allowed.map((s) => `'${s}'`).join(', ')}, got '${v}'`);
  return v as T;
}

/** Finishes a registry row: infer and reference see attrs with schema defaults filled in, whoever calls them. */
export function defineOp(def: OpDef): OpDef {
  return {
    ...def,
    infer: (inputs, attrs) => {
      const arity = def.arity;
      const [lo, hi] = typeof arity === 'number' ? [arity, arity] : arity;
      if (inputs.length < lo || inputs.length > hi) {
        const want = lo === hi ? `${lo}` : hi === Infinity ? `at least ${lo}` : `${lo} to ${hi}`;
        fail(def.name, `expects ${want} inputs, got ${inputs.length}`);
      }
      return def.infer(inputs, withDefaults(def, attrs));
    },
    reference: (inputs, attrs, ctx) => def.reference(inputs, withDefaults(def, attrs), ctx),
  };
}
