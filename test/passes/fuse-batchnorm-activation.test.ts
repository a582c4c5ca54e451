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
  const countIn = (p: typeof before, op: string) => p.graph.nodes.filter((n) => n.op === op).length;
  // How many `op` nodes the pass removed.
  const removed = (op: string) => countIn(before, op) - countIn(after, op);
  return { before, after, count: (op: string) => countIn(after, op), removed };
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

  it('takes in a residual add and the relu after it (a ResNet block\'s end): relu(bn(x) + side)', () => {
    const { before, after, count, removed } = fused((x) => {
      const r = layers.Activation('tanh')(x);
      return layers.Activation('relu')(layers.Add()([layers.BatchNormalization()(layers.Dense(3)(r)), r]));
    });
    expect([removed('add'), count('relu')]).toEqual([1, 0]);
    const bn = after.graph.nodes.find((n) => n.op === 'batchNormTraining')!;
    expect([bn.inputs.length, bn.attrs.activation]).toEqual([4, 'relu']);
    expectSameResults(before, after, randomFeeds(before.graph, 4), 'relu(bn + side)', true);
  });

  it('takes in a residual add with no relu after it', () => {
    const { before, after, removed } = fused((x) => layers.Add()([x, layers.BatchNormalization()(layers.Dense(3)(x))]));
    expect(removed('add')).toBe(1);
    expect(after.graph.nodes.find((n) => n.op === 'batchNormTraining')?.attrs.activation).toBe('linear');
    expectSameResults(before, after, randomFeeds(before.graph, 4), 'bn + side', true);
  });

  it('leaves an add whose other operand comes after the batch norm alone (the fused node stands where the batch norm was)', () => {
    const later = fused((x) => {
      const y = layers.BatchNormalization()(x);
      return layers.Add()([y, layers.Activation('tanh')(x)]);
    });
    expect(later.removed('add')).toBe(0);
  });

  it('leaves other activations alone (their gradients need the input, which the fused op would not keep)', () => {
    const { count } = fused((x) => layers.Activation('elu')(layers.BatchNormalization()(x)));
    expect(count('elu')).toBe(1);
  });
});
