import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { expectClose, expectShapeError, F32, infer, nd, phase, randomNd, rng, run, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

/** x of shape [2, 3, 4, 5] normalized over `axis`, with its four parameter vectors. */
function setup(seed: number, axis: number) {
  const next = rng(seed);
  const x = randomNd(next, [2, 3, 4, 5], -3, 3);
  const c = x.shape[axis];
  return { x, gamma: randomNd(next, [c], 0.5, 2), beta: randomNd(next, [c]), mean: randomNd(next, [c]), variance: randomNd(next, [c], 0.2, 2) };
}

/** Reshapes a per-channel vector so it broadcasts against x along `axis`. */
const along = (v: TF.Tensor, axis: number) => tf.reshape(v, [0, 1, 2, 3].map((i) => (i === axis ? -1 : 1)));

/**
 * tf.batchNorm, spelled out in broadcasting ops: the CPU kernel indexes its parameters modulo
 * their length, which is only right when the channels are the last axis.
 */
const tfBatchNorm = (x: TF.Tensor, mean: TF.Tensor, variance: TF.Tensor, beta: TF.Tensor, gamma: TF.Tensor, eps: number) =>
  tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);

describe('batchNorm', () => {
  for (const axis of [3, 1]) {
    it(`inference matches tf.batchNorm with the moving statistics (axis ${axis}), which pass through`, () => {
      const p = setup(axis, axis);
      const [y, m, v] = run('batchNorm', [p.x, p.gamma, p.beta, p.mean, p.variance, phase(false)], { axis, epsilon: 1e-3 });
      const want = tfValues(() => (axis === 3 ? tf.batchNorm : tfBatchNorm)(toTf(p.x), along(toTf(p.mean), axis), along(toTf(p.variance), axis), along(toTf(p.beta), axis), along(toTf(p.gamma), axis), 1e-3));
      expectClose(y.data, want, F32);
      expect(m.data).toEqual(p.mean.data);
      expect(v.data).toEqual(p.variance.data);
    });

    it(`training normalizes with the batch statistics, as TF.js does (axis ${axis})`, () => {
      const p = setup(10 + axis, axis);
      const [y] = run('batchNorm', [p.x, p.gamma, p.beta, p.mean, p.variance, phase(true)], { axis });
      const reduce = [0, 1, 2, 3].filter((i) => i !== axis);
      const want = tfValues(() => {
        const { mean, variance } = tf.moments(toTf(p.x), reduce, true);
        return tfBatchNorm(toTf(p.x), mean, variance, along(toTf(p.beta), axis), along(toTf(p.gamma), axis), 1e-3);
      });
      expectClose(y.data, want, { rtol: 1e-4, atol: 1e-5 });
    });
  }

  it('training updates the moving statistics: mean by momentum, variance biased, as TF.js (hand-checked)', () => {
    // One channel, batch [1, 2, 3, 6]: mean 3, biased variance 14/4 = 3.5.
    const x = nd([4, 1], [1, 2, 3, 6]);
    const [y, m, v] = run('batchNorm', [x, nd([1], [2]), nd([1], [0.5]), nd([1], [1]), nd([1], [2]), phase(true)], { momentum: 0.75, epsilon: 0.5 });
    expectClose(m.data, [1 * 0.75 + 3 * 0.25], { rtol: 1e-15, atol: 0 });
    expectClose(v.data, [2 * 0.75 + 3.5 * 0.25], { rtol: 1e-15, atol: 0 });
    // y = γ(x − 3)/√(3.5 + 0.5) + β = (x − 3) + 0.5.
    expectClose(y.data, [-1.5, -0.5, 0.5, 3.5], { rtol: 1e-15, atol: 0 });
  });

  it('infers y and two channel vectors with an unknown batch', () => {
    const vec = tt([16]);
    expect(infer('batchNorm', [tt([null, 8, 8, 16]), vec, vec, vec, vec, tt([], 'bool')])).toEqual([tt([null, 8, 8, 16]), vec, vec]);
    expect(infer('batchNorm', [tt([null, 16, 5]), vec, vec, vec, vec, tt([], 'bool')], { axis: 1 })).toEqual([tt([null, 16, 5]), vec, vec]);
  });

  it('rejects parameters of the wrong length, a non-bool phase and a bad axis', () => {
    const v = tt([16]);
    const b = tt([], 'bool');
    expectShapeError(() => infer('batchNorm', [tt([null, 8]), v, v, v, v, b]), 'batchNorm', 'gamma (16,)', '(None, 8)');
    expectShapeError(() => infer('batchNorm', [tt([null, 16]), v, v, v, tt([16, 1]), b]), 'batchNorm', 'movingVar (16, 1)');
    expectShapeError(() => infer('batchNorm', [tt([null, 16]), v, v, v, v, tt([])]), 'batchNorm', 'training', 'bool');
    expectShapeError(() => infer('batchNorm', [tt([null, 16]), v, v, v, v, tt([2], 'bool')]), 'batchNorm', 'training', 'scalar', '(2,)');
    expectShapeError(() => infer('batchNorm', [tt([null, 16]), v, v, v, v, b], { axis: 2 }), 'batchNorm', 'axis 2', '(None, 16)');
  });
});

describe('batchNormTraining', () => {
  for (const axis of [3, 1]) {
    it(`gives batchNorm's training y, and the batch mean and biased variance as tf.moments (axis ${axis})`, () => {
      const p = setup(20 + axis, axis);
      const [y, mean, variance] = run('batchNormTraining', [p.x, p.gamma, p.beta], { axis });
      const [want] = run('batchNorm', [p.x, p.gamma, p.beta, p.mean, p.variance, phase(true)], { axis });
      expectClose(y.data, want.data, { rtol: 1e-12, atol: 1e-12 });
      const reduce = [0, 1, 2, 3].filter((i) => i !== axis);
      expectClose(mean.data, tfValues(() => tf.moments(toTf(p.x), reduce).mean), { rtol: 1e-5, atol: 1e-6 });
      expectClose(variance.data, tfValues(() => tf.moments(toTf(p.x), reduce).variance), { rtol: 1e-5, atol: 1e-6 });
    });
  }

  it('rejects parameters of the wrong length, a bad axis and ε ≤ 0', () => {
    const v = tt([16]);
    expectShapeError(() => infer('batchNormTraining', [tt([null, 8]), v, v]), 'batchNormTraining', 'gamma (16,)', '(None, 8)');
    expectShapeError(() => infer('batchNormTraining', [tt([null, 16]), v, tt([15])]), 'batchNormTraining', 'beta (15,)');
    expectShapeError(() => infer('batchNormTraining', [tt([null, 16]), v, v], { axis: 2 }), 'batchNormTraining', 'axis 2', '(None, 16)');
    expectShapeError(() => infer('batchNormTraining', [tt([null, 16]), v, v], { epsilon: 0 }), 'batchNormTraining', 'epsilon');
  });
});

describe('batchNormTrainingGrad', () => {
  it('infers dx like x and dγ, dβ like the channels; rejects a dy not shaped like x and a bad statistics vector', () => {
    const v = tt([16]);
    expect(infer('batchNormTrainingGrad', [tt([null, 4, 16]), v, v, v, tt([null, 4, 16])])).toEqual([tt([null, 4, 16]), v, v]);
    expectShapeError(() => infer('batchNormTrainingGrad', [tt([null, 16]), v, v, v, tt([null, 15])]), 'batchNormTrainingGrad', 'dy (None, 15)', 'x (None, 16)');
    expectShapeError(() => infer('batchNormTrainingGrad', [tt([null, 16]), v, tt([8]), v, tt([null, 16])]), 'batchNormTrainingGrad', 'mean (8,)');
  });
});
