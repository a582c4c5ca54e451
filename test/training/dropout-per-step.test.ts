/**
 * dropoutPerStep: every dropout draw in a training step — Dropout layers and recurrent layers with
 * (recurrent) dropout — reads the optimizer's step counter, so each step draws new masks as Keras does.
 */
import { describe, expect, it } from 'vitest';
import { Sequential, layers, optimizers, clearSession } from '../../src/index.js';
import { trainingProgram } from '../../src/training/session.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { rnnLayout } from '../../src/ir/ops/recurrent.js';
import { interpret } from '../../src/ir/index.js';
import { ITERATIONS } from '../../src/passes/optimizer.js';
import { randomData } from '../support/random.js';

describe('dropoutPerStep', () => {
  it('gives Dropout and an LSTM with dropout and recurrentDropout the step counter, and two steps draw different masks', () => {
    clearSession();
    const model = new Sequential([
      layers.LSTM(6, { inputShape: [5, 4], dropout: 0.3, recurrentDropout: 0.3 }),
      layers.Dropout(0.5),
      layers.Dense(3, { activation: 'softmax' }),
    ]);
    const config = resolveCompileArgs(model, { optimizer: optimizers.SGD({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' });
    const { program } = trainingProgram(model, config, 2);
    const counter = program.graph.nodes.find((n) => n.op === 'weight' && n.attrs.name === ITERATIONS)!;
    const rnn = program.graph.nodes.filter((n) => n.op === 'rnnSequence');
    expect(rnn).toHaveLength(1);
    const L = rnnLayout(rnn[0].attrs, rnn[0].inputs.length);
    expect(L.step).toBeGreaterThanOrEqual(0);
    expect(rnn[0].inputs[L.step].node).toBe(counter.id);

    const feeds = Object.fromEntries(program.graph.nodes.filter((n) => n.op === 'input').map((n) => {
      const shape = n.outputs[0].shape as number[];
      return [n.attrs.name as string, { shape, dtype: n.outputs[0].dtype, data: randomData(shape.reduce((a, b) => a * b, 1), 4, 0, 1) }];
    }));
    const newKernelAt = (step: number) => {
      const weights = new Map(program.weights);
      weights.set(ITERATIONS, { shape: [], dtype: 'float32', data: Float32Array.of(step) });
      // The new LSTM kernel depends on the masks of both the recurrent layer and the Dropout after it.
      return Array.from(interpret(program.graph, feeds, { weights, training: true }).updates['lstm/kernel'].data);
    };
    const [a, b, again] = [newKernelAt(0), newKernelAt(1), newKernelAt(0)];
    expect(again).toEqual(a);
    expect(b).not.toEqual(a);
  });
});
