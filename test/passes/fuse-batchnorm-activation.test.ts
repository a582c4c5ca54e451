import { describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession, type SymbolicTensor } from '../../src/index.js';
import { specializeBatch, foldLearningPhase, expandBatchNorm, fuseBatchNormActivation, runPipeline, type PassContext } from '../../src/passes/index.js';
import { programOf, randomFeeds, expectSameResults } from './helpers.js';

const TRAIN: PassContext = { phase: 'training', batch: 4 };

/** A model's training graph with its batch norms as batchNormTraining, before and after the fusion. */
function fused(outputs: (x: SymbolicTensor) => SymbolicTensor | SymbolicTensor[]) {
  clearSession();
  const x = Input({ shape: [5, 3] });
  const model = new Model({ inputs: x, outputs: outputs(x) });
  const before = runPipeline(programOf(model), [specializeBatch, foldLearningPhase, expandBatchNorm], TRAIN, { check: true });
  const after = runPipeline(before, [fuseBatchNormActivation], TRAIN, { check: true });
  return { before, after, count: (op: string) => after.graph.nodes.filter((n) => n.op === op).length };
}

describe('fuseBatchNormActivation', () => {
  it('takes the relu that alone reads a training batch norm into it, with the same outputs and updates', () => {
    const { before, after, count } = fused((x) => layers.Activation('relu')(layers.BatchNormalization()(x)));
    expect(count('relu')).toBe(0);
    expect(after.graph.nodes.find((n) => n.op === 'batchNormTraining')?.attrs.activation).toBe('relu');
    expect(after.graph.updates).toHaveLength(2);
    expectSameResults(before, after, randomFeeds(before.graph, 4), 'bn → relu', true);
  });

  it('leaves the pair alone when something else reads the batch norm too (a residual, a second output)', () => {
    const { after, count } = fused((x) => {
      const y = layers.BatchNormalization()(x);
      return [layers.Activation('relu')(y), layers.Add()([y, x])];
    });
    expect(count('relu')).toBe(1);
    expect(after.graph.nodes.find((n) => n.op === 'batchNormTraining')?.attrs.activation ?? 'linear').toBe('linear');
  });

  it('leaves other activations alone (their gradients need the input, which the fused op would not keep)', () => {
    const { count } = fused((x) => layers.Activation('elu')(layers.BatchNormalization()(x)));
    expect(count('elu')).toBe(1);
  });
});
