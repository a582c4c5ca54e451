/**
 * fuseOptimizer: the update of every weight is one `fusedSegments` kernel, and a training step
 * through it on the GPU gives the float64 interpreter's new weights and optimizer slots.
 */
import { describe, expect, it } from 'vitest';
import { Sequential, layers, optimizers, clearSession } from '../../src/index.js';
import { trainingProgram } from '../../src/training/session.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { interpret } from '../../src/ir/index.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const OPTIMIZERS = {
  Adam: () => optimizers.Adam({ learningRate: 0.01 }),
  AdamW: () => optimizers.AdamW({ learningRate: 0.01, weightDecay: 0.004 }),
  RMSprop: () => optimizers.RMSprop({ learningRate: 0.01, momentum: 0.5, centered: true }),
  Adagrad: () => optimizers.Adagrad({ learningRate: 0.05 }),
  'SGD momentum': () => optimizers.SGD({ learningRate: 0.1, momentum: 0.9, nesterov: true }),
};

/** A model with weights of four shapes and a batch norm (whose moving averages are updates too, but not the optimizer's). */
const model = () =>
  new Sequential([
    layers.Conv2D(3, 3, { inputShape: [6, 6, 2], activation: 'relu' }),
    layers.Flatten(),
    // No bias before the batch norm: its gradient is 0 up to rounding, which Adam would blow up to ±lr.
    layers.Dense(7, { useBias: false }),
    layers.BatchNormalization(),
    layers.Activation('relu'),
    layers.Dense(4, { activation: 'softmax' }),
  ]);

describe('fuseOptimizer puts the update of every weight in one kernel', () => {
  for (const [name, make] of Object.entries(OPTIMIZERS)) {
    it(`${name}: one fusedSegments node over all trainable weights, and the GPU step matches the interpreter`, async () => {
      clearSession();
      const m = model();
      const config = resolveCompileArgs(m, { optimizer: make() as never, loss: 'categoricalCrossentropy' });
      const batch = 5;
      const { program, trainable } = trainingProgram(m, config, batch);
      const updatedBy = new Map(program.graph.updates.map((u) => [u.weight, program.graph.nodes[u.value.node]]));
      // Every weight and slot is written by one segmented kernel shared with other weights.
      const kernels = new Set(trainable.map((w) => updatedBy.get(w)!));
      for (const k of kernels) expect(k.op, `update kernel '${k.name}'`).toBe('fusedSegments');
      // SGD's `lr·g` lands in the epilogue of the matmul that makes dense gradients, so dense weights get a body of their own.
      expect(kernels.size).toBe(name.startsWith('SGD') ? 2 : 1);
      expect([...kernels].reduce((n, k) => n + (k.attrs.segments as number), 0)).toBe(trainable.length);

      const { bundle } = buildBundle(program.graph, program.weights, 'fused-optimizer', batch, { mode: 'training' });
      const net = await Net.create(bundle, await testGpu());
      const feeds = Object.fromEntries(net.inputs.map((s, k) => [s.name, randomData(s.shape.reduce((a, b) => a * b, 1), 11 + k, 0, 1)]));
      await net.predict(feeds);
      const state = [...program.graph.updates.map((u) => u.weight)];
      const got = await net.readState(state);
      const want = interpret(program.graph, feeds, { weights: program.weights, training: true, precision: 'float64' }).updates;
      for (const w of state) expectClose(got[w], want[w].data, { rtol: 1e-4, atol: 1e-5 }, `new '${w}'`);
      net.destroy();
    });
  }
});
