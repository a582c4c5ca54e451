/** Dropout kept whole, with its learning-phase input; the mask comes from the counter-based hash. */
import type { OpDef } from '../registry.js';
import { uniform } from '../random.js';
import { attrFloat, attrInt, defineOp, expectBoolScalar, expectDtype, fail, tensor } from './common.js';
import { alloc } from './indexing.js';

/** Registry row for dropout. */
export const dropoutOps: OpDef[] = [
  defineOp({
    name: 'dropout',
    arity: 2,
    attrs: { rate: { kind: 'float' }, seed: { kind: 'int', default: 0 } },
    infer: ([x, training], attrs) => {
      expectDtype('dropout', 'x', x, 'float');
      expectBoolScalar('dropout', 'training', training);
      const rate = attrFloat('dropout', attrs, 'rate');
      // rate 1 would scale by 1/0; Keras rejects it too.
      if (!(rate >= 0 && rate < 1)) fail('dropout', `rate must be in [0, 1), got ${rate}`, { rate });
      attrInt('dropout', attrs, 'seed');
      return [tensor(x.shape, x.dtype)];
    },
    reference: ([x, training], attrs, ctx) => {
      const out = alloc(ctx, x.shape, x.dtype);
      const rate = attrFloat('dropout', attrs, 'rate');
      const seed = attrInt('dropout', attrs, 'seed');
      if (training.data[0] === 0) {
        out.data.set(x.data);
        return [out];
      }
      const scale = 1 / (1 - rate);
      for (let i = 0; i < x.data.length; i++) out.data[i] = uniform(seed, i) >= rate ? x.data[i] * scale : 0;
      return [out];
    },
  }),
];
