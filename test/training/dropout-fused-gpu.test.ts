/**
 * Dropout is an elementwise op to fusion: in a training step its backward masks run inside the
 * gradient matmul epilogues and elementwise groups, drawing from each element's flat index exactly
 * as the float64 interpreter does, so two GPU steps give the interpreter's weights.
 */
import { describe, expect, it } from 'vitest';
import { Sequential, layers, losses, optimizers, clearSession, trainStep } from '../../src/index.js';
import { interpret, type NDArray } from '../../src/ir/index.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { testGpu } from '../support/gpu.js';
import { randomData, randomInts } from '../support/random.js';
import { expectClose } from '../support/close.js';

const f64 = (a: NDArray): NDArray => ({ shape: a.shape, dtype: a.dtype, data: Float64Array.from(a.data as ArrayLike<number>) });

describe('dropout fused into training kernels', () => {
  it('two SGD steps of Dense relu → Dropout → Dense relu → Dropout → Dense softmax match the interpreter, with no backward dropout kernel', async () => {
    clearSession();
    const model = new Sequential({
      name: 'drop',
      layers: [layers.Dense(24, { activation: 'relu', inputShape: [10] }), layers.Dropout(0.5), layers.Dense(16, { activation: 'relu' }), layers.Dropout(0.3), layers.Dense(3, { activation: 'softmax' })],
    });
    const step = trainStep({
      models: [model],
      optimizers: [optimizers.SGD({ learningRate: 0.5 })],
      inputs: { x: [10], y: [3] },
      loss: ({ x, y }) => ({ loss: losses.categoricalCrossentropy(y, model(x)) }),
      gpu: await testGpu(),
    });
    const batch = 37;
    const program = step.program(batch, { check: true });
    const { bundle } = buildBundle(program.graph, program.weights, 'drop', batch, { mode: 'training' });
    // The forward dropouts read relu outputs the backward also reads, so they stay kernels of their own; the backward ones fuse.
    expect(bundle.manifest.steps.filter((s) => s.name.includes('dropout')).map((s) => s.name)).toEqual(['drop/dropout/dropout', 'drop/dropout_1/dropout']);

    const feeds = [0, 1].map((k) => {
      const y = new Float32Array(batch * 3);
      randomInts(batch, 3, 40 + k).forEach((c, r) => (y[r * 3 + c] = 1));
      return { x: randomData(batch * 10, 30 + k), y };
    });
    const weights = new Map([...program.weights].map(([k, v]) => [k, f64(v)]));
    for (const f of feeds) {
      for (const [k, v] of Object.entries(interpret(program.graph, f, { weights, precision: 'float64' }).updates)) weights.set(k, v);
      await step.run(f);
    }
    await step.pullWeights();
    for (const w of model.weights) expectClose(w.read(), weights.get(w.name)!.data as ArrayLike<number>, { rtol: 1e-4, atol: 1e-6 }, `weight '${w.name}'`);
    step.destroy();
  });
});
