/** Batch normalization kept whole, with its learning-phase input and moving-statistics outputs. */
import type { OpDef } from '../registry.js';
import type { Dim } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { sizeOf } from '../ndarray.js';
import { formatShape } from '../errors.js';
import { attrFloat, attrInt, defineOp, dimsCompatible, expectBoolScalar, expectDtype, expectRank, fail, mergeDim, normalizeAxis, tensor } from './common.js';
import { alloc } from './indexing.js';

const PARAMS = ['gamma', 'beta', 'movingMean', 'movingVar'] as const;


/** Registry row for batchNorm. */
export const batchNormOps: OpDef[] = [
  defineOp({
    name: 'batchNorm',
    arity: 6,
    attrs: { axis: { kind: 'int', default: -1 }, epsilon: { kind: 'float', default: 1e-3 }, momentum: { kind: 'float', default: 0.99 } },
    infer: ([x, ...rest], attrs) => {
      expectDtype('batchNorm', 'x', x, 'float');
      expectRank('batchNorm', 'x', x, [1]);
      const axis = normalizeAxis('batchNorm', attrInt('batchNorm', attrs, 'axis'), x.shape);
      let channels: Dim = x.shape[axis];
      PARAMS.forEach((role, i) => {
        const p = rest[i];
        expectDtype('batchNorm', role, p, 'float');
        if (p.shape.length !== 1 || !dimsCompatible(p.shape[0], channels)) {
          fail('batchNorm', `${role} ${formatShape(p.shape)} must be a vector of the ${x.shape[axis]} channels on axis ${axis} of x ${formatShape(x.shape)}`, { role, x: x.shape, param: p.shape });
        }
        channels = mergeDim(channels, p.shape[0]);
      });
      expectBoolScalar('batchNorm', 'training', rest[4]);
      const epsilon = attrFloat('batchNorm', attrs, 'epsilon');
      if (!(epsilon > 0)) fail('batchNorm', `epsilon must be > 0, got ${epsilon}`);
      const stats = tensor([channels], rest[2].dtype);
      return [tensor(x.shape, x.dtype), stats, { ...stats }];
    },
    reference: ([x, gamma, beta, movingMean, movingVar, training], attrs, ctx) => {
      const axis = normalizeAxis('batchNorm', attrInt('batchNorm', attrs, 'axis'), x.shape);
      const eps = attrFloat('batchNorm', attrs, 'epsilon');
      const momentum = attrFloat('batchNorm', attrs, 'momentum');
      const c = x.shape[axis];
      const outer = sizeOf(x.shape.slice(0, axis));
      const inner = sizeOf(x.shape.slice(axis + 1));
      const at = (o: number, ch: number, i: number) => (o * c + ch) * inner + i;
      const y = alloc(ctx, x.shape, x.dtype);
      const newMean = alloc(ctx, [c], movingMean.dtype);
      const newVar = alloc(ctx, [c], movingVar.dtype);
      const isTraining = training.data[0] !== 0;
      const n = outer * inner;
      for (let ch = 0; ch < c; ch++) {
        let mean = movingMean.data[ch];
        let variance = movingVar.data[ch];
        if (isTraining) {
          // Two passes over the channel: mean first, then the biased variance around it.
          let sum = 0;
          for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) sum += x.data[at(o, ch, i)];
          mean = sum / n;
          let sq = 0;
          for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) sq += (x.data[at(o, ch, i)] - mean) ** 2;
          variance = sq / n;
          newMean.data[ch] = movingMean.data[ch] * momentum + mean * (1 - momentum);
          newVar.data[ch] = movingVar.data[ch] * momentum + variance * (1 - momentum);
        } else {
          newMean.data[ch] = movingMean.data[ch];
          newVar.data[ch] = movingVar.data[ch];
        }
        const scale = gamma.data[ch] / Math.sqrt(variance + eps);
        for (let o = 0; o < outer; o++) {
          for (let i = 0; i < inner; i++) {
            const k = at(o, ch, i);
            y.data[k] = (x.data[k] - mean) * scale + beta.data[ch];
          }
        }
      }
      return [y, newMean, newVar] as NDArray[];
    },
  }),
];
