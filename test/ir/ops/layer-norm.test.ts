import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { expectClose, expectShapeError, F32, infer, randomNd, rng, run, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

/** Layer norm in TF.js ops: tf.moments over the axes, then scale and shift broadcast along them. */
function tfLayerNorm(x: TF.Tensor, gamma: TF.Tensor, beta: TF.Tensor, axes: number[], eps: number): TF.Tensor {
  const { mean, variance } = tf.moments(x, axes, true);
  const spread = x.shape.map((d, i) => (axes.includes(i) ? d : 1));
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma.reshape(spread)), beta.reshape(spread));
}

describe('layerNorm', () => {
  const cases: [number[], number[], number][] = [
    [[3, 7], [1], 1e-3],
    [[2, 3, 4], [2], 1e-5],
    [[2, 3, 4], [1, 2], 1e-3],
    [[2, 3, 4], [1], 0.1],
    [[2, 3, 2, 4], [1, 3], 1e-3],
  ];
  for (const [shape, axes, epsilon] of cases) {
    it(`matches tf.moments-based normalization over axes [${axes}] of [${shape}] (ε ${epsilon})`, () => {
      const next = rng(shape.length * 10 + axes[0]);
      const x = randomNd(next, shape, -3, 3);
      const pshape = axes.map((a) => shape[a]);
      const gamma = randomNd(next, pshape, 0.5, 2);
      const beta = randomNd(next, pshape);
      const y = run1('layerNorm', [x, gamma, beta], { axes, epsilon });
      expectClose(y.data, tfValues(() => tfLayerNorm(toTf(x), toTf(gamma), toTf(beta), axes, epsilon)), F32);
      expect(run1('layerNorm', [x, gamma, beta], { axes: axes.map((a) => a - shape.length), epsilon }).data).toEqual(y.data);
    });
  }
  it('layerNormGrad gives dx, dγ, dβ as tf.grads of the TF.js normalization does', () => {
    const next = rng(77);
    const [shape, axes] = [[2, 3, 4], [1, 2]];
    const x = randomNd(next, shape, -3, 3);
    const gamma = randomNd(next, [3, 4], 0.5, 2);
    const beta = randomNd(next, [3, 4]);
    const dy = randomNd(next, shape);
    const [dx, dGamma, dBeta] = run('layerNormGrad', [x, gamma, dy], { axes, epsilon: 1e-3 });
    const grads = tf.grads((a: TF.Tensor, g: TF.Tensor, b: TF.Tensor) => tfLayerNorm(a, g, b, axes, 1e-3));
    const want = grads([toTf(x), toTf(gamma), toTf(beta)], toTf(dy));
    expectClose(dx.data, want[0].dataSync(), F32);
    expectClose(dGamma.data, want[1].dataSync(), F32);
    expectClose(dBeta.data, want[2].dataSync(), F32);
    expect(dGamma.shape).toEqual([3, 4]);
  });
  it('infers the input type, with an unknown batch', () => {
    expect(infer('layerNorm', [tt([null, 5, 8]), tt([8]), tt([8])])).toEqual([tt([null, 5, 8])]);
    expect(infer('layerNorm', [tt([null, 5, 8]), tt([5, 8]), tt([5, 8])], { axes: [-2, -1] })).toEqual([tt([null, 5, 8])]);
  });
  it('rejects parameters not shaped like the normalized dims, repeated axes and a bad epsilon', () => {
    expectShapeError(() => infer('layerNorm', [tt([2, 5, 8]), tt([5]), tt([8])]), 'layerNorm', 'gamma (5,)', 'normalized axes [2]');
    expectShapeError(() => infer('layerNorm', [tt([2, 8]), tt([8]), tt([8])], { axes: [1, -1] }), 'layerNorm', 'repeat');
    expectShapeError(() => infer('layerNorm', [tt([2, 8]), tt([8]), tt([8])], { axes: [2] }), 'layerNorm', 'out of range');
    expectShapeError(() => infer('layerNorm', [tt([2, 8]), tt([8]), tt([8])], { epsilon: 0 }), 'layerNorm', 'epsilon');
  });
});
