/**
 * What a training step fuses, asserted: relu stays in the epilogue of the matmul that feeds it (its
 * gradient reads relu's output, so the pre-activation is never stored), and the loss of a softmax
 * output comes from its logits; the bench MLP’s whole SGD step is at most 28 kernels (the backward dropouts run inside the gradient kernels).
 */
import { describe, expect, it } from 'vitest';
import { Sequential, clearSession, layers, optimizers } from '../../src/index.js';
import { trainingProgram } from '../../src/training/session.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { buildBundle } from '../../src/codegen/bundle.js';

describe('a training step fuses like inference where it can', () => {
  it('the bench MLP (Dense relu, Dropout, Dense relu, Dropout, Dense softmax) is at most 28 kernels per SGD step, with no standalone relu or backward dropout', () => {
    clearSession();
    const model = new Sequential([
      layers.Dense(512, { activation: 'relu', inputShape: [784] }),
      layers.Dropout(0.2),
      layers.Dense(512, { activation: 'relu' }),
      layers.Dropout(0.2),
      layers.Dense(10, { activation: 'softmax' }),
    ]);
    const config = resolveCompileArgs(model, { optimizer: optimizers.SGD({ learningRate: 0.01 }), loss: 'categoricalCrossentropy' });
    const { program } = trainingProgram(model, config, 8);
    expect(program.graph.nodes.filter((n) => n.op === 'relu')).toEqual([]);
    const { bundle } = buildBundle(program.graph, program.weights, 'mlp', 8, { mode: 'training' });
    expect(bundle.manifest.steps.length).toBeLessThanOrEqual(28);
  });
});
