/**
 * Dynamic loss scaling (src/passes/loss-scale.ts), as Keras 3's LossScaleOptimizer: through the
 * interpreter, gradients of a loss scaled by `dynamic_scale` give the unscaled optimizer's weights; a
 * step with a NaN or infinite gradient changes no weight, slot or step count and halves the scale; the
 * scale doubles after `growthSteps` finite steps in a row.
 */
import { describe, expect, it } from 'vitest';
import { optimizers } from '../../src/index.js';
import { interpret, GraphError, validate, ModelError, type NDArray } from '../../src/ir/index.js';
import { GraphBuilder } from '../../src/passes/builder.js';
import { applyOptimizer, ITERATIONS } from '../../src/passes/optimizer.js';
import { autodiff } from '../../src/passes/autodiff.js';
import { addLossScale, lossScaleNames, LOSS_SCALE_DEFAULTS } from '../../src/passes/loss-scale.js';
import type { Program } from '../../src/passes/program.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const SHAPE = [3, 2];
const NAMES = lossScaleNames();
const nd = (shape: number[], data: ArrayLike<number>): NDArray => ({ shape, dtype: 'float32', data: Float32Array.from(data) });

/** One weight `w` and its gradient fed as the input (and output) `grad/w`. */
function tiny(): Program {
  const b = new GraphBuilder();
  const g = b.add('input', [], { name: 'grad/w', shape: SHAPE, dtype: 'float32' }, 'grad/w')[0];
  const w = b.add('weight', [], { name: 'w', shape: SHAPE, dtype: 'float32', trainable: true }, 'w')[0];
  const loss = b.add('reduceSum', [w], { axes: [], keepDims: false }, 'loss')[0];
  return { graph: b.build([{ name: 'loss', value: loss }, { name: 'grad/w', value: g }], []), weights: new Map([['w', nd(SHAPE, randomData(6, 1))]]) };
}

/** Runs steps with the given gradients (already multiplied by the scale, or not), returning the state after each. */
function run(p: Program, grads: Float32Array[]): Map<string, NDArray>[] {
  validate(p.graph);
  const weights = new Map(p.weights);
  return grads.map((g) => {
    const r = interpret(p.graph, { 'grad/w': nd(SHAPE, g) }, { weights });
    for (const [name, v] of Object.entries(r.updates)) weights.set(name, v);
    return new Map(weights);
  });
}

/** mean(tanh(x·k)) of an input x [2, 3] and a weight k [3, 2]. */
function tanhLayer(): Program {
  const b = new GraphBuilder();
  const x = b.add('input', [], { name: 'x', shape: [2, 3], dtype: 'float32' }, 'x')[0];
  const k = b.add('weight', [], { name: 'k', shape: [3, 2], dtype: 'float32', trainable: true }, 'k')[0];
  const y = b.add('tanh', [b.add('matmul', [x, k], {}, 'mm')[0]], {}, 't')[0];
  const loss = b.add('reduceMean', [y], { axes: [], keepDims: false }, 'loss')[0];
  return { graph: b.build([{ name: 'loss', value: loss }], []), weights: new Map([['k', nd([3, 2], randomData(6, 5))]]) };
}

const adam = () => optimizers.Adam({ learningRate: 0.1 });
const scalar = (state: Map<string, NDArray>, name: string) => state.get(name)!.data[0];

describe('dynamic loss scaling', () => {
  it('starts at Keras\'s 2¹⁵, and gradients of the scaled loss give the unscaled update', () => {
    const grads = [0, 1, 2].map((k) => randomData(6, 10 + k, -1, 1));
    const plain = run(applyOptimizer(tiny(), { optimizer: adam() }), grads);
    const scaledProgram = applyOptimizer(addLossScale(tiny()), { optimizer: adam(), lossScale: { growthSteps: 100 } });
    expect(scaledProgram.weights.get(NAMES.scale)!.data[0]).toBe(LOSS_SCALE_DEFAULTS.initialScale);
    const scaled = run(scaledProgram, grads.map((g) => g.map((x) => x * 2 ** 15)));
    scaled.forEach((s, k) => {
      expectClose(s.get('w')!.data, plain[k].get('w')!.data, { rtol: 1e-6, atol: 1e-7 }, `w after step ${k + 1}`);
      expect(scalar(s, ITERATIONS)).toBe(k + 1);
      expect(scalar(s, NAMES.counter)).toBe(k + 1);
      expect(scalar(s, NAMES.scale)).toBe(2 ** 15);
    });
  });

  for (const [what, bad] of [['a NaN', NaN], ['an infinite', Infinity]] as const) {
    it(`a step with ${what} gradient element keeps every weight, slot and the step count, halves the scale and restarts the count`, () => {
      const p = applyOptimizer(addLossScale(tiny()), { optimizer: adam(), lossScale: { growthSteps: 100 } });
      const good = randomData(6, 3, -1, 1);
      const broken = Float32Array.from(good);
      broken[4] = bad;
      const [first, second] = run(p, [good, broken]);
      for (const name of ['w', 'w/m', 'w/v', ITERATIONS]) expect(Array.from(second.get(name)!.data), name).toEqual(Array.from(first.get(name)!.data));
      expect(scalar(first, NAMES.counter)).toBe(1);
      expect(scalar(second, NAMES.counter)).toBe(0);
      expect(scalar(second, NAMES.scale)).toBe(2 ** 14);
    });
  }

  it('doubles the scale after growthSteps finite steps in a row, and counts again from 0', () => {
    const p = applyOptimizer(addLossScale(tiny(), { initialScale: 4 }), { optimizer: optimizers.SGD({ learningRate: 0.1 }), lossScale: { growthSteps: 3 } });
    const states = run(p, [0, 1, 2, 3].map((k) => randomData(6, 20 + k, -1, 1)));
    expect(states.map((s) => scalar(s, NAMES.scale))).toEqual([4, 4, 8, 8]);
    expect(states.map((s) => scalar(s, NAMES.counter))).toEqual([1, 2, 0, 1]);
  });

  it('autodiff starts from the seed weight: every gradient is the seed times the unseeded one', () => {
    const feeds = { x: nd([2, 3], randomData(6, 6)) };
    const gradOf = (p: Program) => interpret(p.graph, feeds, { weights: p.weights }).outputs['grad/k'].data;
    const plain = gradOf(autodiff(tanhLayer(), { loss: 'loss', wrt: ['k'] }));
    const seeded = gradOf(autodiff(addLossScale(tanhLayer(), { initialScale: 256 }), { loss: 'loss', wrt: ['k'], seed: NAMES.scale }));
    expectClose(seeded, Array.from(plain, (g) => g * 256), { rtol: 1e-6, atol: 0 }, 'seeded gradient');
  });

  it('names what is missing: a seed that is not a weight, and loss scaling without the scale', () => {
    expect(() => autodiff(tanhLayer(), { loss: 'loss', wrt: ['k'], seed: 'nope' })).toThrow(GraphError);
    expect(() => autodiff(tanhLayer(), { loss: 'loss', wrt: ['k'], seed: 'nope' })).toThrow(/seed 'nope' is not a weight/);
    expect(() => autodiff(tanhLayer(), { loss: 'loss', wrt: ['k'], seed: 'k' })).toThrow(/must be a float32 scalar, got \(3, 2\)/);
    expect(() => applyOptimizer(tiny(), { optimizer: adam(), lossScale: { growthSteps: 10 } })).toThrow(ModelError);
    expect(() => applyOptimizer(tiny(), { optimizer: adam(), lossScale: { growthSteps: 10 } })).toThrow(/needs the weight 'dynamic_scale'/);
    expect(() => addLossScale(tiny(), { initialScale: 0 })).toThrow(/positive finite/);
  });
});
