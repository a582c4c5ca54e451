import { describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession } from '../../src/index.js';
import { specializeBatch, foldLearningPhase, expandBatchNorm, runPipeline, type PassContext } from '../../src/passes/index.js';
import { programOf, randomFeeds, expectSameResults } from './helpers.js';
import { randomData } from '../support/random.js';

const TRAIN: PassContext = { phase: 'training', batch: 3 };

describe('expandBatchNorm', () => {
  for (const [what, shape, axis] of [['dense features, last axis', [6], -1], ['images, channels last', [4, 5, 3], -1], ['images, axis 1', [3, 4, 5], 1]] as const) {
    it(`turns a training batchNorm into batchNormTraining and vector moving averages, with the same y and moving statistics: ${what}`, () => {
      clearSession();
      const x = Input({ shape: [...shape] });
      const bn = layers.BatchNormalization({ axis, momentum: 0.9 });
      const model = new Model({ inputs: x, outputs: bn(x) });
      const c = axis < 0 ? shape[shape.length + axis] : shape[axis - 1];
      bn.setWeights([randomData(c, 1, 0.5, 1.5), randomData(c, 2, -0.5, 0.5), randomData(c, 3, -0.3, 0.3), randomData(c, 4, 0.5, 2)]);
      const before = runPipeline(programOf(model), [specializeBatch, foldLearningPhase], TRAIN, { check: true });
      const after = runPipeline(before, [expandBatchNorm], TRAIN, { check: true });
      expect(after.graph.nodes.some((n) => n.op === 'batchNorm')).toBe(false);
      expect(after.graph.nodes.filter((n) => n.op === 'batchNormTraining')).toHaveLength(1);
      expect(after.graph.updates).toHaveLength(2);
      expectSameResults(before, after, randomFeeds(before.graph, 3), what, true);
    });
  }
});
