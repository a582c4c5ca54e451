/** Dtype conversion and broadcasting select. */
import type { OpDef } from '../registry.js';
import { attrDtype, defineOp, expectDtype, expectSameDtype, tensor } from './common.js';
import { alloc, at, broadcastMap, broadcastShapes } from './indexing.js';

/** Registry rows for cast and where. */
export const selectOps: OpDef[] = [
  defineOp({
    name: 'cast',
    arity: 1,
    attrs: { dtype: { kind: 'dtype' } },
    infer: ([x], attrs) => [tensor(x.shape, attrDtype('cast', attrs, 'dtype'))],
    reference: ([x], attrs, ctx) => {
      const dtype = attrDtype('cast', attrs, 'dtype');
      const out = alloc(ctx, x.shape, dtype);
      const src = x.data;
      const dst = out.data;
      // Int32Array stores truncate toward zero, float storage rounds to its precision; bool needs x ≠ 0.
      if (dtype === 'bool') for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
      else dst.set(src);
      return [out];
    },
  }),
  defineOp({
    name: 'where',
    arity: 3,
    attrs: {},
    infer: ([cond, a, b]) => {
      expectDtype('where', 'cond', cond, 'bool');
      expectSameDtype('where', a, b);
      return [tensor(broadcastShapes('where', [cond.shape, a.shape, b.shape], ['cond', 'a', 'b']), a.dtype)];
    },
    reference: ([cond, a, b], _, ctx) => {
      const shape = broadcastShapes('where', [cond.shape, a.shape, b.shape], ['cond', 'a', 'b']) as number[];
      const out = alloc(ctx, shape, a.dtype);
      const [mc, ma, mb] = [cond, a, b].map((t) => broadcastMap(t.shape, shape));
      const dst = out.data;
      for (let i = 0; i < dst.length; i++) dst[i] = cond.data[at(mc, i)] ? a.data[at(ma, i)] : b.data[at(mb, i)];
      return [out];
    },
  }),
];
