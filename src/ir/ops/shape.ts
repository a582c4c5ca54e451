/** Data-movement ops: reshape, transpose, concat, slice, pad, gather, oneHot. */
import type { OpDef } from '../registry.js';
import type { Dim } from '../types.js';
import { InputError, formatShape } from '../errors.js';
import { sizeOf, stridesOf } from '../ndarray.js';
import {
  attrFloat, attrInt, attrInts, defineOp, dimsCompatible, expectDtype, expectSameDtype, fail, knownSize, mergeDim, normalizeAxis, tensor,
} from './common.js';
import { alloc, gatherOffsets } from './indexing.js';

const list = (xs: readonly number[]) => `[${xs.join(', ')}]`;

/** Output shape of reshape; the -1 is resolved when the input size is known, else left null. */
function reshapeShape(shape: readonly Dim[], target: readonly number[]): Dim[] {
  const holes = target.filter((d) => d === -1).length;
  if (holes > 1 || target.some((d) => d < -1)) fail('reshape', `shape ${list(target)} may hold only dims ≥ 0 and at most one -1`);
  const rest = sizeOf(target.filter((d) => d !== -1));
  const size = knownSize(shape);
  const mismatch = (): never => fail('reshape', `cannot reshape ${formatShape(shape)} (${size ?? '?'} elements) into ${list(target)}`, { shape, target });
  if (holes === 1) {
    if (size === null) return target.map((d) => (d === -1 ? null : d));
    if (rest === 0 || size % rest !== 0) mismatch();
    return target.map((d) => (d === -1 ? size / rest : d));
  }
  if (size !== null && size !== rest) mismatch();
  // With an unknown dim the known part must still divide the target size.
  const knownPart = sizeOf(shape.filter((d): d is number => d !== null));
  if (size === null && knownPart !== 0 && rest % knownPart !== 0) mismatch();
  return [...target];
}

function checkPerm(shape: readonly Dim[], perm: readonly number[]): void {
  const seen = new Set(perm);
  if (perm.length !== shape.length || seen.size !== perm.length || perm.some((p) => p < 0 || p >= shape.length)) {
    fail('transpose', `perm ${list(perm)} is not a permutation of the axes of ${formatShape(shape)}`, { perm, shape });
  }
}

/** Static concat shape: every dim but `axis` must agree; the axis dims add up. */
function concatShape(shapes: readonly (readonly Dim[])[], axisAttr: number): { shape: Dim[]; axis: number } {
  const first = shapes[0];
  const axis = normalizeAxis('concat', axisAttr, first);
  const all = () => shapes.map(formatShape).join(', ');
  const out: Dim[] = [...first];
  for (const s of shapes.slice(1)) {
    if (s.length !== first.length) fail('concat', `inputs differ in rank: ${all()}`, { shapes });
    s.forEach((d, i) => {
      if (i === axis) out[i] = out[i] === null || d === null ? null : (out[i] as number) + d;
      else if (!dimsCompatible(out[i], d)) fail('concat', `dim ${i} differs off the concat axis ${axis}: ${all()}`, { shapes });
      else out[i] = mergeDim(out[i], d);
    });
  }
  return { shape: out, axis };
}

function sliceShape(shape: readonly Dim[], begin: readonly number[], size: readonly number[]): Dim[] {
  const bad = (why: string): never => fail('slice', `begin ${list(begin)} and size ${list(size)} ${why} for input ${formatShape(shape)}`, { shape, begin, size });
  if (begin.length !== shape.length || size.length !== shape.length) bad('must each have one entry per dim');
  return shape.map((d, i) => {
    if (begin[i] < 0 || size[i] < -1) bad(`are out of range at dim ${i}`);
    if (d !== null && begin[i] + Math.max(size[i], 0) > d) bad(`run past dim ${i}`);
    if (size[i] !== -1) return size[i];
    return d === null ? null : d - begin[i];
  });
}

function padShape(shape: readonly Dim[], paddings: readonly number[]): Dim[] {
  if (paddings.length !== 2 * shape.length || paddings.some((p) => p < 0)) {
    fail('pad', `paddings ${list(paddings)} must be ${2 * shape.length} non-negative ints (before, after per dim) for ${formatShape(shape)}`, { shape, paddings });
  }
  return shape.map((d, i) => (d === null ? null : d + paddings[2 * i] + paddings[2 * i + 1]));
}

/** Registry rows for reshape, transpose, concat, slice, pad, gather and oneHot. */
export const shapeOps: OpDef[] = [
  defineOp({
    name: 'reshape',
    arity: 1,
    attrs: { shape: { kind: 'ints' } },
    infer: ([x], attrs) => [tensor(reshapeShape(x.shape, attrInts('reshape', attrs, 'shape')), x.dtype)],
    reference: ([x], attrs, ctx) => {
      const out = alloc(ctx, reshapeShape(x.shape, attrInts('reshape', attrs, 'shape')) as number[], x.dtype);
      out.data.set(x.data);
      return [out];
    },
  }),
  defineOp({
    name: 'transpose',
    arity: 1,
    attrs: { perm: { kind: 'ints' } },
    infer: ([x], attrs) => {
      const perm = attrInts('transpose', attrs, 'perm');
      checkPerm(x.shape, perm);
      return [tensor(perm.map((p) => x.shape[p]), x.dtype)];
    },
    reference: ([x], attrs, ctx) => {
      const perm = attrInts('transpose', attrs, 'perm');
      checkPerm(x.shape, perm);
      const out = alloc(ctx, perm.map((p) => x.shape[p]), x.dtype);
      const s = stridesOf(x.shape);
      const src = gatherOffsets(out.shape, perm.map((p) => s[p]), 0);
      for (let i = 0; i < src.length; i++) out.data[i] = x.data[src[i]];
      return [out];
    },
  }),
  defineOp({
    name: 'concat',
    arity: [1, Infinity],
    attrs: { axis: { kind: 'int' } },
    infer: (xs, attrs) => {
      xs.slice(1).forEach((x) => expectSameDtype('concat', xs[0], x, ['input 0', 'input']));
      return [tensor(concatShape(xs.map((x) => x.shape), attrInt('concat', attrs, 'axis')).shape, xs[0].dtype)];
    },
    reference: (xs, attrs, ctx) => {
      const { shape, axis } = concatShape(xs.map((x) => x.shape), attrInt('concat', attrs, 'axis'));
      const out = alloc(ctx, shape as number[], xs[0].dtype);
      // Row-major: each input contributes a run of axis·inner elements per outer index.
      const outer = sizeOf(out.shape.slice(0, axis));
      const inner = sizeOf(out.shape.slice(axis + 1));
      const rowLen = out.shape[axis] * inner;
      let col = 0;
      for (const x of xs) {
        const run = x.shape[axis] * inner;
        for (let o = 0; o < outer; o++) out.data.set(x.data.subarray(o * run, (o + 1) * run), o * rowLen + col);
        col += run;
      }
      return [out];
    },
  }),
  defineOp({
    name: 'slice',
    arity: 1,
    attrs: { begin: { kind: 'ints' }, size: { kind: 'ints' } },
    infer: ([x], attrs) => [tensor(sliceShape(x.shape, attrInts('slice', attrs, 'begin'), attrInts('slice', attrs, 'size')), x.dtype)],
    reference: ([x], attrs, ctx) => {
      const begin = attrInts('slice', attrs, 'begin');
      const out = alloc(ctx, sliceShape(x.shape, begin, attrInts('slice', attrs, 'size')) as number[], x.dtype);
      const s = stridesOf(x.shape);
      const src = gatherOffsets(out.shape, s, begin.reduce((acc, b, i) => acc + b * s[i], 0));
      for (let i = 0; i < src.length; i++) out.data[i] = x.data[src[i]];
      return [out];
    },
  }),
  defineOp({
    name: 'pad',
    arity: 1,
    attrs: { paddings: { kind: 'ints' }, value: { kind: 'float', default: 0 } },
    infer: ([x], attrs) => [tensor(padShape(x.shape, attrInts('pad', attrs, 'paddings')), x.dtype)],
    reference: ([x], attrs, ctx) => {
      const paddings = attrInts('pad', attrs, 'paddings');
      const out = alloc(ctx, padShape(x.shape, paddings) as number[], x.dtype);
      out.data.fill(attrFloat('pad', attrs, 'value'));
      // Scatter x into the interior: the input's index map, written through the output's strides.
      const s = stridesOf(out.shape);
      const dst = gatherOffsets(x.shape, s, paddings.reduce((acc, p, i) => (i % 2 === 0 ? acc + p * s[i / 2] : acc), 0));
      for (let i = 0; i < dst.length; i++) out.data[dst[i]] = x.data[i];
      return [out];
    },
  }),
  defineOp({
    name: 'gather',
    arity: 2,
    attrs: { axis: { kind: 'int', default: 0 } },
    infer: ([params, indices], attrs) => {
      expectDtype('gather', 'indices', indices, 'int32');
      const axis = normalizeAxis('gather', attrInt('gather', attrs, 'axis'), params.shape);
      return [tensor([...params.shape.slice(0, axis), ...indices.shape, ...params.shape.slice(axis + 1)], params.dtype)];
    },
    reference: ([params, indices], attrs, ctx) => {
      const axis = normalizeAxis('gather', attrInt('gather', attrs, 'axis'), params.shape);
      const shape = [...params.shape.slice(0, axis), ...indices.shape, ...params.shape.slice(axis + 1)];
      const out = alloc(ctx, shape, params.dtype);
      const outer = sizeOf(params.shape.slice(0, axis));
      const inner = sizeOf(params.shape.slice(axis + 1));
      const dim = params.shape[axis];
      const n = indices.data.length;
      for (let k = 0; k < n; k++) {
        const ix = indices.data[k];
        if (ix < 0 || ix >= dim) {
          throw new InputError(`gather: index ${ix} is out of range [0, ${dim}) for axis ${axis} of params ${formatShape(params.shape)}`, { op: 'gather', index: ix });
        }
      }
      for (let o = 0; o < outer; o++) {
        for (let k = 0; k < n; k++) {
          const from = (o * dim + indices.data[k]) * inner;
          out.data.set(params.data.subarray(from, from + inner), (o * n + k) * inner);
        }
      }
      return [out];
    },
  }),
  defineOp({
    name: 'oneHot',
    arity: 1,
    attrs: { depth: { kind: 'int' }, on: { kind: 'float', default: 1 }, off: { kind: 'float', default: 0 } },
    infer: ([indices], attrs) => {
      expectDtype('oneHot', 'indices', indices, 'int32');
      const depth = attrInt('oneHot', attrs, 'depth');
      if (depth < 1) fail('oneHot', `depth must be ≥ 1, got ${depth}`);
      return [tensor([...indices.shape, depth], 'float32')];
    },
    reference: ([indices], attrs, ctx) => {
      const depth = attrInt('oneHot', attrs, 'depth');
      const out = alloc(ctx, [...indices.shape, depth], 'float32');
      out.data.fill(attrFloat('oneHot', attrs, 'off'));
      const on = attrFloat('oneHot', attrs, 'on');
      // Out-of-range indices give a row of `off`, as tf.oneHot does.
      indices.data.forEach((ix, k) => {
        if (ix >= 0 && ix < depth) out.data[k * depth + ix] = on;
      });
      return [out];
    },
  }),
];
