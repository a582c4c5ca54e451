/** scatterAdd: the transpose of gather (its gradient), summing the updates that share an index. */
import type { OpDef } from '../registry.js';
import type { Attrs, Dim, TensorType } from '../types.js';
import { sizeOf } from '../ndarray.js';
import { InputError, formatShape } from '../errors.js';
import { attrInt, defineOp, dimsCompatible, expectDtype, fail, tensor } from './common.js';
import { alloc } from './indexing.js';

/** Output shape: updates[:axis] + [size] + updates[axis + indices.rank:], after checking the indices' dims. */
function scatterShape([updates, indices]: readonly TensorType[], attrs: Attrs): { shape: Dim[]; axis: number } {
  expectDtype('scatterAdd', 'updates', updates, 'numeric');
  expectDtype('scatterAdd', 'indices', indices, 'int32');
  const size = attrInt('scatterAdd', attrs, 'size');
  const axis = attrInt('scatterAdd', attrs, 'axis');
  const r = indices.shape.length;
  if (size < 1) fail('scatterAdd', `size must be ≥ 1, got ${size}`);
  if (axis < 0 || axis + r > updates.shape.length) {
    fail('scatterAdd', `axis ${axis} with indices ${formatShape(indices.shape)} does not fit updates ${formatShape(updates.shape)}`, { axis });
  }
  const mid = updates.shape.slice(axis, axis + r);
  if (!mid.every((d, i) => dimsCompatible(d, indices.shape[i]))) {
    fail('scatterAdd', `updates ${formatShape(updates.shape)} dims ${axis}..${axis + r - 1} must equal indices ${formatShape(indices.shape)}`, { axis });
  }
  return { shape: [...updates.shape.slice(0, axis), size, ...updates.shape.slice(axis + r)], axis };
}

/** Registry row for scatterAdd. */
export const scatterOps: OpDef[] = [
  defineOp({
    name: 'scatterAdd',
    arity: 2,
    attrs: { axis: { kind: 'int', default: 0 }, size: { kind: 'int' } },
    infer: (inputs, attrs) => [tensor(scatterShape(inputs, attrs).shape, inputs[0].dtype)],
    reference: ([updates, indices], attrs, ctx) => {
      const { shape, axis } = scatterShape([updates, indices], attrs);
      const out = alloc(ctx, shape as number[], updates.dtype);
      const size = shape[axis] as number;
      const outer = sizeOf(updates.shape.slice(0, axis));
      const inner = sizeOf(updates.shape.slice(axis + indices.shape.length));
      const n = indices.data.length;
      for (let k = 0; k < n; k++) {
        const ix = indices.data[k];
        if (ix < 0 || ix >= size) {
          throw new InputError(`scatterAdd: index ${ix} is out of range [0, ${size}) for axis ${axis}`, { op: 'scatterAdd', index: ix });
        }
      }
      // Accumulate in float64 whatever the storage, then store once (int32 wraps on the store).
      const acc = new Float64Array(out.data.length);
      for (let o = 0; o < outer; o++) {
        for (let k = 0; k < n; k++) {
          const to = (o * size + indices.data[k]) * inner;
          const from = (o * n + k) * inner;
          for (let i = 0; i < inner; i++) acc[to + i] += updates.data[from + i];
        }
      }
      out.data.set(acc);
      return [out];
    },
  }),
];
