/**
 * A training step through MultiHeadAttention on the GPU against Keras's computation written with
 * TF.js ops, differentiated by tf.variableGrads and stepped by plain SGD with the same weights.
 */
import { describe, expect, it } from 'vitest';
import { Input, Model, layers, optimizers, clearSession, type SymbolicTensor } from '../../src/index.js';
import type { MultiHeadAttentionCallArgs } from '../../src/frontend/layers/attention.js';
import { tfjs } from '../support/tfjs.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';
import { kerasMha, type MhaWeights } from '../support/attention-reference.js';

const LR = 0.1;
let variables = 0;
const BATCH = 4;
const OUT = 3;

interface Case {
  readonly q: number[];
  readonly v: number[];
  readonly mask: boolean;
  readonly call: MultiHeadAttentionCallArgs;
  readonly returnScores?: boolean;
}

const CASES: Record<string, Case> = {
  'self-attention with a causal mask (fused attention op)': { q: [5, 6], v: [5, 6], mask: false, call: { useCausalMask: true } },
  'cross-attention with an attention mask input (fused attention op)': { q: [3, 4], v: [5, 4], mask: true, call: {} },
  'self-attention returning its scores (primitive ops)': { q: [4, 4], v: [4, 4], mask: false, call: { returnAttentionScores: true } },
};

describe('MultiHeadAttention training step (MSE, SGD 0.1, two steps) against TF.js variableGrads', () => {
  for (const [what, c] of Object.entries(CASES)) {
    it(what, async () => {
      const tf = await tfjs();
      clearSession();
      const [q, v] = [Input({ shape: c.q }), Input({ shape: c.v })];
      const m = c.mask ? Input({ shape: [c.q[0], c.v[0]] }) : undefined;
      const mha = layers.MultiHeadAttention({ numHeads: 2, keyDim: 3, biasInitializer: { className: 'RandomUniform', config: { minval: -0.3, maxval: 0.3, seed: 2 } } });
      const called = mha.apply([q, v], { ...c.call, attentionMask: m });
      const attended = Array.isArray(called) ? called[0] : called;
      const dense = layers.Dense(OUT);
      const y = dense(layers.Flatten()(attended) as SymbolicTensor) as SymbolicTensor;
      const inputs = m ? [q, v, m] : [q, v];
      const model = new Model({ inputs, outputs: y });
      model.compile({ optimizer: optimizers.SGD({ learningRate: LR }), loss: 'meanSquaredError' });

      const vars = model.weights.map((w) => tf.variable(tf.tensor(w.read(), w.shape as number[]), true, `mha_train_${variables++}`));
      const weights: MhaWeights = { query: [vars[0], vars[1]], key: [vars[2], vars[3]], value: [vars[4], vars[5]], output: [vars[6], vars[7]] };
      const [dk, db] = [vars[8], vars[9]];
      for (let step = 0; step < 2; step++) {
        const xq = randomData(BATCH * c.q[0] * c.q[1], 3 + step);
        const xv = randomData(BATCH * c.v[0] * c.v[1], 5 + step);
        const xm = Float32Array.from(randomData(BATCH * c.q[0] * c.v[0], 7 + step), (r, n) => (n % c.v[0] === 0 || r > -0.2 ? 1 : 0));
        const target = randomData(BATCH * OUT, 11 + step);
        const [loss] = await model.trainOnBatch(m ? [xq, xv, xm] : [xq, xv], target);

        const [tq, tv, tt] = [tf.tensor(xq, [BATCH, ...c.q]), tf.tensor(xv, [BATCH, ...c.v]), tf.tensor(target, [BATCH, OUT])];
        const mask = m ? tf.tensor(xm, [BATCH, c.q[0], c.v[0]]) : undefined;
        const lossFn = () => {
          const [out] = kerasMha(tf, tq, tv, tv, weights, { keyDim: 3, mask, causal: c.call.useCausalMask });
          const pred = out.reshape([BATCH, -1]).matMul(dk).add(db);
          return tf.mean(tf.square(pred.sub(tt))) as import('@tensorflow/tfjs').Scalar;
        };
        const { value, grads } = tf.variableGrads(lossFn, vars);
        const tfLoss = (await value.data())[0];
        expect(Math.abs(loss - tfLoss), `step ${step} loss ${loss} vs TF.js ${tfLoss}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(tfLoss)));
        vars.forEach((t) => t.assign(t.sub(grads[t.name].mul(LR))));
      }
      for (const [i, w] of model.weights.entries()) expectClose(w.read(), await vars[i].data(), { rtol: 1e-3, atol: 2e-5 }, `weight '${w.name}'`);
    });
  }
});
