/** The small vocabulary gradient rules are written in: ops on values, numbers as scalar constants. */
import type { Attrs, Dim, DType, TensorType, ValueRef } from '../../ir/types.js';
import type { GradContext, GradientRule } from '../../ir/registry.js';
import { GraphError } from '../../ir/errors.js';
import { normalizeAxis } from '../../ir/ops/common.js';

/** An operand: a value of the graph being built, or a number that becomes a scalar constant. */
export type Operand = ValueRef | number;

/**
 * Emits ops into the graph a gradient rule is building. Numbers become scalar constants of the dtype
 * of the first non-bool value among the operands (float32 when there is none); broadcasting does the rest.
 */
export class Ops {
  constructor(readonly ctx: GradContext) {}

  /** The static type of a value. */
  type(v: ValueRef): TensorType {
    return this.ctx.type(v);
  }

  /** The static shape of a value. */
  shape(v: ValueRef): readonly Dim[] {
    return this.ctx.type(v).shape;
  }

  /** A scalar constant. */
  scalar(value: number, dtype: DType = 'float32'): ValueRef {
    return this.ctx.emit('constant', [], { shape: [], dtype, value: [value] })[0];
  }

  /** Any op with one output; numbers among the inputs become scalars. */
  op(name: string, inputs: readonly Operand[], attrs: Attrs = {}): ValueRef {
    const like = inputs.find((x): x is ValueRef => typeof x !== 'number' && this.type(x).dtype !== 'bool');
    const dtype = like ? this.type(like).dtype : 'float32';
    return this.ctx.emit(name, inputs.map((x) => (typeof x === 'number' ? this.scalar(x, dtype) : x)), attrs)[0];
  }

  /** a + b, and likewise sub, mul, div (broadcasting). */
  add(a: Operand, b: Operand): ValueRef {
    return this.op('add', [a, b]);
  }
  sub(a: Operand, b: Operand): ValueRef {
    return this.op('sub', [a, b]);
  }
  mul(a: Operand, b: Operand): ValueRef {
    return this.op('mul', [a, b]);
  }
  div(a: Operand, b: Operand): ValueRef {
    return this.op('div', [a, b]);
  }
  /** A unary table op (`f('exp', x)`). */
  f(name: string, x: ValueRef, attrs: Attrs = {}): ValueRef {
    return this.op(name, [x], attrs);
  }
  /** Broadcasting select. */
  where(cond: ValueRef, a: Operand, b: Operand): ValueRef {
    return this.op('where', [cond, a, b]);
  }
  /** A comparison (`cmp('greater', x, 0)`), bool. */
  cmp(name: string, a: Operand, b: Operand): ValueRef {
    return this.op(name, [a, b]);
  }
  /** reduceSum over axes. */
  sum(x: ValueRef, axes: readonly number[], keepDims: boolean): ValueRef {
    return this.op('reduceSum', [x], { axes: [...axes], keepDims });
  }
  /** reduceMean over axes. */
  mean(x: ValueRef, axes: readonly number[], keepDims: boolean): ValueRef {
    return this.op('reduceMean', [x], { axes: [...axes], keepDims });
  }

  /** Reshapes to a static shape; one unknown dim becomes -1, more than one cannot be expressed. */
  reshape(x: ValueRef, shape: readonly Dim[]): ValueRef {
    if (sameShape(this.shape(x), shape)) return x;
    const unknown = shape.filter((d) => d === null).length;
    if (unknown > 1) throw new GraphError(`gradient of '${this.ctx.node.name}': cannot reshape to ${JSON.stringify(shape)}, which has more than one unknown dim`, { node: this.ctx.node.name });
    return this.op('reshape', [x], { shape: shape.map((d) => d ?? -1) });
  }

  /**
   * `v` broadcast to the shape of `like`, as where(true, v, like): one elementwise op that works with
   * unknown dims too; `like`'s values are never read.
   */
  broadcastLike(v: ValueRef, like: ValueRef): ValueRef {
    if (sameShape(this.shape(v), this.shape(like))) return v;
    return this.op('where', [this.scalar(1, 'bool'), v, like]);
  }

  /** The number of elements along `axes` of `x`: a constant when known, else counted at run time. */
  count(x: ValueRef, axes: readonly number[]): Operand {
    const dims = axes.map((a) => this.shape(x)[a]);
    if (dims.every((d) => d !== null)) return (dims as number[]).reduce((p, d) => p * d, 1);
    return this.sum(this.broadcastLike(this.scalar(1, this.type(x).dtype), x), axes, true);
  }
}

/** Two static shapes are the same (unknown dims match only unknown dims). */
export function sameShape(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Undoes broadcasting: sums `grad` (shaped like a broadcast result) down to `target`, the shape of
 * the input that was broadcast. Axes where the target has 1 are summed keeping their dim; leading
 * axes the target lacks are summed away.
 */
export function unbroadcast(e: Ops, grad: ValueRef, target: readonly Dim[]): ValueRef {
  const shape = e.shape(grad);
  const lead = shape.length - target.length;
  const ones = target.flatMap((d, i) => (d === 1 && shape[lead + i] !== 1 ? [lead + i] : []));
  let g = ones.length ? e.sum(grad, ones, true) : grad;
  if (lead > 0) g = e.sum(g, Array.from({ length: lead }, (_, i) => i), false);
  return g;
}

/** Normalized, sorted reduction axes of a reduce op's attrs for an input shape (empty = all). */
export function reductionAxes(attrs: Attrs, shape: readonly Dim[]): number[] {
  const axes = (attrs.axes as number[] | undefined) ?? [];
  return axes.length === 0 ? shape.map((_, i) => i) : axes.map((a) => normalizeAxis('reduce', a, shape)).sort((a, b) => a - b);
}

/** `shape` with the given axes set to 1 (what keepDims would give). */
export function keptShape(shape: readonly Dim[], axes: readonly number[]): Dim[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/**
 * A rule from a function of the ops helper and the forward node's values; it is called only when
 * some output has a gradient, and every output gradient it reads is there when it reads `dy`.
 */
export function gradRule(fn: (e: Ops, ctx: GradContext) => (ValueRef | null)[]): GradientRule {
  return (ctx) => fn(new Ops(ctx), ctx);
}

/** The gradient of a single-output op's output (rules run only when it exists). */
export function dyOf(ctx: GradContext): ValueRef {
  const dy = ctx.grads[0];
  if (!dy) throw new GraphError(`gradient of '${ctx.node.name}' (${ctx.node.op}) asked for without an output gradient`, { node: ctx.node.name });
  return dy;
}
