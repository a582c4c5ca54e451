/**
 * recordRecurrentStates: a training step's recurrent gradient reads what its forward recorded (each step's
 * dropped state, gate pre-activations, cell states) instead of running the recurrence a second time.
 */
import { describe, expect, it } from 'vitest';
import { Sequential, layers, optimizers, clearSession } from '../../src/index.js';
import { trainingProgram } from '../../src/training/session.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { recordRecurrentStates } from '../../src/passes/record-recurrent.js';
import { buildBundle } from '../../src/codegen/index.js';

function lstmStep() {
  clearSession();
  const model = new Sequential([layers.LSTM(6, { inputShape: [5, 4], recurrentDropout: 0.2 }), layers.Dense(3, { activation: 'softmax' })]);
  const config = resolveCompileArgs(model, { optimizer: optimizers.SGD({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' });
  return trainingProgram(model, config, 2, true).program;
}

describe('recordRecurrentStates', () => {
  it('makes the forward record and its gradient read the records: h, the gates and c for an LSTM', () => {
    const { graph } = lstmStep();
    const [forward] = graph.nodes.filter((n) => n.op === 'rnnSequence');
    const [grad] = graph.nodes.filter((n) => n.op === 'rnnSequenceGrad');
    expect(forward.attrs.record).toBe(true);
    expect(grad.attrs.recorded).toBe(true);
    // y, hT, cT, then the records [T, B, U], [T, B, 4U], [T + 1, B, U].
    expect(forward.outputs.map((t) => t.shape)).toEqual([[2, 6], [2, 6], [2, 6], [5, 2, 6], [5, 2, 24], [6, 2, 6]]);
    expect(grad.inputs.slice(-3)).toEqual([3, 4, 5].map((output) => ({ node: forward.id, output })));
  });

  it('leaves a graph without a recurrent gradient as it was, and is idempotent', () => {
    const program = lstmStep();
    expect(recordRecurrentStates.run(program, { phase: 'training', batch: 2 })).toBe(program);
  });

  it('takes the replay out of the compiled step', () => {
    const { graph, weights } = lstmStep();
    const names = buildBundle(graph, weights, 'lstm_step', 2, { mode: 'training' }).bundle.manifest.steps.map((s) => s.name);
    expect(names.some((n) => n.endsWith('/replay'))).toBe(false);
    expect(names.filter((n) => n.includes('through-time'))).toHaveLength(1);
  });
});
