/**
 * Ops for custom layers and models: each records one node of the IR on symbolic tensors, as the
 * Keras backend functions (`K.dot`, `tf.add`, ...) do. Shapes are checked when the op is recorded.
 */
import { emit, type SymbolicTensor } from './symbolic.js';
import { constant, toTensor, type TensorLike } from './tensors.js';
import type { DType } from '../ir/types.js';
import { formatShape, ShapeError } from '../ir/errors.js';

export { constant, type TensorLike };

const one = (op: string, attrs = {}) => (x: TensorLike): SymbolicTensor => emit(op, [toTensor(x)], attrs)[0];
function two(op: string) {
  return (a: TensorLike, b: TensorLike): SymbolicTensor => {
    const ta = typeof a === 'number' && typeof b !== 'number' ? toTensor(a, toTensor(b)) : toTensor(a);
    return emit(op, [ta, toTensor(b, ta)])[0];
  };
}

export const add = two('add');
export const sub = two('sub');
export const mul = two('mul');
export const div = two('div');
export const pow = two('pow');
export const maximum = two('maximum');
export const minimum = two('minimum');
export const squaredDifference = two('squaredDifference');
export const equal = two('equal');
export const notEqual = two('notEqual');
export const less = two('less');
export const lessEqual = two('lessEqual');
export const greater = two('greater');
export const greaterEqual = two('greaterEqual');
export const logicalAnd = two('logicalAnd');
export const logicalOr = two('logicalOr');

export const identity = one('identity');
export const neg = one('neg');
export const abs = one('abs');
export const sign = one('sign');
export const exp = one('exp');
export const log = one('log');
export const sqrt = one('sqrt');
export const rsqrt = one('rsqrt');
export const square = one('square');
export const reciprocal = one('reciprocal');
export const floor = one('floor');
export const ceil = one('ceil');
export const round = one('round');
export const sin = one('sin');
export const cos = one('cos');
export const tanh = one('tanh');
export const sigmoid = one('sigmoid');
export const relu = one('relu');
export const relu6 = one('relu6');
export const selu = one('selu');
export const gelu = one('gelu');
export const softplus = one('softplus');
export const softsign = one('softsign');
export const hardSigmoid = one('hardSigmoid');
export const swish = one('swish');
export const erf = one('erf');
export const logicalNot = one('logicalNot');

/** ELU with slope `alpha` for negative inputs. */
export const elu = (x: TensorLike, alpha = 1) => emit('elu', [toTensor(x)], { alpha })[0];
/** Leaky ReLU with slope `alpha` for negative inputs. */
export const leakyRelu = (x: TensorLike, alpha = 0.2) => emit('leakyRelu', [toTensor(x)], { alpha })[0];

/** Matrix product over the last two axes, batched over the others. */
export function matmul(a: TensorLike, b: TensorLike, transposeA = false, transposeB = false): SymbolicTensor {
  return emit('matmul', [toTensor(a), toTensor(b)], { transposeA, transposeB })[0];
}

/** Softmax along `axis` (last by default). */
export const softmax = (x: TensorLike, axis = -1) => emit('softmax', [toTensor(x)], { axis })[0];
/** Log-softmax along `axis` (last by default). */
export const logSoftmax = (x: TensorLike, axis = -1) => emit('logSoftmax', [toTensor(x)], { axis })[0];

const reduce = (op: string) => (x: TensorLike, axes: number | readonly number[] = [], keepDims = false): SymbolicTensor =>
  emit(op, [toTensor(x)], { axes: typeof axes === 'number' ? [axes] : [...axes], keepDims })[0];
export const sum = reduce('reduceSum');
export const mean = reduce('reduceMean');
export const max = reduce('reduceMax');
export const min = reduce('reduceMin');
export const prod = reduce('reduceProd');

/** Index of the largest value along `axis`. */
export const argMax = (x: TensorLike, axis = -1) => emit('argMax', [toTensor(x)], { axis })[0];

/** The same values in a new shape (the batch included; one -1 is inferred). */
export const reshape = (x: TensorLike, shape: readonly number[]) => emit('reshape', [toTensor(x)], { shape: [...shape] })[0];
/** Permutes axes: output axis i is input axis perm[i]. */
export const transpose = (x: TensorLike, perm: readonly number[]) => emit('transpose', [toTensor(x)], { perm: [...perm] })[0];
/** Joins tensors along `axis`. */
export const concat = (xs: readonly TensorLike[], axis = -1) => emit('concat', xs.map((x) => toTensor(x)), { axis })[0];
/** A contiguous block; size -1 runs to the end of that axis. */
export const slice = (x: TensorLike, begin: readonly number[], size: readonly number[]) =>
  emit('slice', [toTensor(x)], { begin: [...begin], size: [...size] })[0];
/** Constant padding: `paddings[i] = [before, after]` for axis i. */
export const pad = (x: TensorLike, paddings: readonly (readonly [number, number])[], value = 0) =>
  emit('pad', [toTensor(x)], { paddings: paddings.flat(), value })[0];
/** Rows of `params` picked by int32 `indices` along `axis`. */
export const gather = (params: TensorLike, indices: TensorLike, axis = 0) => emit('gather', [toTensor(params), toTensor(indices)], { axis })[0];
/** One-hot float32 vectors of length `depth` from int32 indices. */
export const oneHot = (indices: TensorLike, depth: number) => emit('oneHot', [toTensor(indices)], { depth })[0];
/** Converts to another dtype. */
export const cast = (x: TensorLike, dtype: DType) => emit('cast', [toTensor(x)], { dtype })[0];
/** Elementwise choice: `a` where `cond` is true, else `b`. */
export const where = (cond: TensorLike, a: TensorLike, b: TensorLike) => emit('where', [toTensor(cond), toTensor(a), toTensor(b)])[0];

/** A shape for reshape: the unknown batch (or any one unknown dim) as -1. */
function reshapeTarget(op: string, shape: readonly (number | null)[]): number[] {
  if (shape.filter((d) => d === null).length > 1) throw new ShapeError(`${op}: cannot reshape a tensor with more than one unknown dim, got ${formatShape(shape)}`);
  return shape.map((d) => d ?? -1);
}

/** Inserts a dim of size 1 at `axis` (negative counts from the end of the result), as `K.expand_dims`. */
export function expandDims(x: TensorLike, axis = -1): SymbolicTensor {
  const t = toTensor(x);
  const rank = t.rank + 1;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new ShapeError(`expandDims: axis ${axis} is out of range for a result of rank ${rank} (input ${formatShape(t.shape)})`);
  const a = axis < 0 ? axis + rank : axis;
  const shape = [...t.shape.slice(0, a), 1, ...t.shape.slice(a)];
  return reshape(t, reshapeTarget('expandDims', shape));
}

/** Removes dims of size 1: `axis` only when given (it must be 1), else every one, as `K.squeeze` / `tf.squeeze`. */
export function squeeze(x: TensorLike, axis?: number | readonly number[]): SymbolicTensor {
  const t = toTensor(x);
  const given = axis === undefined ? null : (typeof axis === 'number' ? [axis] : [...axis]).map((a) => (a < 0 ? a + t.rank : a));
  given?.forEach((a) => {
    if (!(a >= 0 && a < t.rank) || t.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of ${formatShape(t.shape)} is not a dim of size 1`);
  });
  const shape = t.shape.filter((d, i) => (given ? !given.includes(i) : d !== 1));
  return reshape(t, reshapeTarget('squeeze', shape));
}

/** `x` repeated along its size-1 dims (and new leading dims) to `shape`, as `tf.broadcastTo`. */
export function broadcastTo(x: TensorLike, shape: readonly number[]): SymbolicTensor {
  const t = toTensor(x);
  // where(true, x, zeros) is one broadcasting elementwise op, as the gradient rules broadcast.
  return where(constant(1, [], 'bool'), t, constant(0, [...shape], t.dtype));
}
