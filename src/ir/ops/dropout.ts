/** Dropout kept whole, with its learning-phase input; the mask comes from the counter-based hash. */
import type { OpDef } from '../registry.js';
import { uniform } from '../random.js';
import { attrFloat, attrInt, defineOp, expectBoolScalar, expectDtype, fail, tensor } from './common.js';
import { alloc } from './indexing.js';

/** Golden-ratio stride that spreads training steps over unrelated seeds. */
export const STEP_STRIDE = 0x9e3779b9;

/** The seed a dropout uses at a training step: the node's seed advanced by the step (u32 arithmetic). */
export function stepSeed(seed: number, step: number): number {
  return (seed + Math.imul(step >>> 0, STEP_STRIDE)) >>> 0;
}

/**
 * Registry row for dropout. An optional third input, the training step (a float32 scalar counter),
 * gives every step its own mask, as Keras draws a new one per step; without it the mask is fixed.
 */
export const dropoutOps: OpDef[] = [
  defineOp({
    name: 'dropout',
    arity: [2, 3],
    attrs: { rate: { kind: 'float' }, seed: { kind: 'int', default: 0 } },
    infer: ([x, training, step], attrs) => {
      expectDtype('dropout', 'x', x, 'float');
      expectBoolScalar('dropout', 'training', training);
      if (step) {
        expectDtype('dropout', 'step', step, 'float');
        if (!step.shape.every((d) => d === 1)) fail('dropout', `step must be a scalar, got shape (${step.shape.join(', ')})`);
      }
      const rate = attrFloat('dropout', attrs, 'rate');
      // rate 1 would scale by 1/0; Keras rejects it too.
      if (!(rate >= 0 && rate < 1)) fail('dropout', `rate must be in [0, 1), got ${rate}`, { rate });
      attrInt('dropout', attrs, 'seed');
      return [tensor(x.shape, x.dtype)];
    },
    reference: ([x, training, step], attrs, ctx) => {
      const out = alloc(ctx, x.shape, x.dtype);
      const rate = attrFloat('dropout', attrs, 'rate');
      const seed = stepSeed(attrInt('dropout', attrs, 'seed'), step ? Math.round(step.data[0]) : 0);
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
