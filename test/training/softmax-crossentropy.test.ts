/**
 * Cross-entropy of a softmax output reads the softmax's logits, as Keras's TensorFlow backend does:
 * no clipped log in the step, and the loss of saturated predictions stays finite and exact.
 */
import { describe, expect, it } from 'vitest';
import { Input, Model, clearSession, layers, optimizers } from '../../src/index.js';
import { trainingObjective } from '../../src/training/program.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { interpret } from '../../src/ir/index.js';

describe('cross-entropy on a softmax output', () => {
  for (const loss of ['categoricalCrossentropy', 'sparseCategoricalCrossentropy'] as const) {
    it(`${loss}: uses logSoftmax of the logits, and gives log-sum-exp − logit exactly where the clipped form would saturate`, () => {
      clearSession();
      const x = Input({ shape: [2] });
      const model = new Model({ inputs: x, outputs: layers.Dense(3, { activation: 'softmax', kernelInitializer: 'ones', biasInitializer: 'zeros' })(x) });
      const { program } = trainingObjective(model, resolveCompileArgs(model, { optimizer: optimizers.SGD(), loss }));
      const ops = new Set(program.graph.nodes.map((n) => n.op));
      expect(ops).toContain('logSoftmax');
      expect(ops).not.toContain('log');
      // Logits 40·(1, 2, 3)/... : class 0's probability is e^-80, far below the clip's 1e-7.
      model.setWeights([Float32Array.of(0, 20, 40, 0, 20, 40), new Float32Array(3)]);
      const target = loss === 'categoricalCrossentropy' ? { shape: [1, 3], dtype: 'float32' as const, data: Float32Array.of(1, 0, 0) } : { shape: [1], dtype: 'float32' as const, data: Float32Array.of(0) };
      const inputs = program.graph.nodes.filter((n) => n.op === 'input').map((n) => n.attrs.name as string);
      const feeds = { [inputs[0]]: { shape: [1, 2], dtype: 'float32' as const, data: Float32Array.of(1, 1) }, [inputs[1]]: target };
      const got = interpret(program.graph, feeds, { weights: model.weightValues() }).outputs.loss.data[0];
      expect(got).toBeCloseTo(80, 6);
    });
  }
});
