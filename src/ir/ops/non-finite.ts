/** nonFiniteCount: how many elements of its inputs are NaN or ±∞ (a mixed-precision step's overflow test). */
import type { OpDef } from '../registry.js';
import { defineOp, expectDtype, tensor } from './common.js';
import { alloc } from './indexing.js';

/** Registry row for nonFiniteCount: any number of float32 tensors in, one float32 scalar out. */
export const nonFiniteOps: OpDef[] = [
  defineOp({
    name: 'nonFiniteCount',
    arity: [1, Infinity],
    attrs: {},
    infer: (xs) => {
      xs.forEach((x, i) => expectDtype('nonFiniteCount', `input ${i}`, x, 'float'));
      return [tensor([], 'float32')];
    },
    reference: (xs, _, ctx) => {
      const out = alloc(ctx, [], 'float32');
      let count = 0;
      for (const x of xs) for (let i = 0; i < x.data.length; i++) if (!Number.isFinite(x.data[i])) count++;
      out.data[0] = count;
      return [out];
    },
  }),
];
