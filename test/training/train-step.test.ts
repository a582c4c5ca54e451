/**
 * trainStep, custom training steps over several models and optimizers: one model matches
 * trainOnBatch on the GPU; two models with two optimizers match the float64 interpreter running the
 * same step program, and each optimizer moves only its own model (checked against w − lr·∂loss/∂w);
 * the GAN sample trains; mistakes in the loss function are ModelErrors that name them.
 */
import { describe, expect, it } from 'vitest';
import { Input, Model, Sequential, layers, losses, ops, optimizers, clearSession, trainStep, type SymbolicTensor } from '../../src/index.js';
import { interpret, ModelError, type NDArray } from '../../src/ir/index.js';
import type { GpuContext } from '../../src/runtime/index.js';
import { runPipeline } from '../../src/passes/pipelines.js';
import { autodiff, gradName } from '../../src/passes/autodiff.js';
import { applyOptimizer } from '../../src/passes/optimizer.js';
import { FORWARD_PASSES } from '../../src/training/session.js';
import type { Program } from '../../src/passes/program.js';
import { testGpu } from '../support/gpu.js';
import { randomData, randomInts } from '../support/random.js';
import { expectClose } from '../support/close.js';

const bce = losses.binaryCrossentropy({ fromLogits: true });
const f64 = (a: NDArray): NDArray => ({ shape: a.shape, dtype: a.dtype, data: Float64Array.from(a.data as ArrayLike<number>) });

/** Runs a step program on the float64 interpreter `steps` times, feeding updates back; the weights after each step. */
function interpretSteps(program: Program, feeds: Record<string, Float32Array>[]): Map<string, NDArray>[] {
  const weights = new Map([...program.weights].map(([k, v]) => [k, f64(v)]));
  return feeds.map((f) => {
    const r = interpret(program.graph, f, { weights, precision: 'float64' });
    for (const [k, v] of Object.entries(r.updates)) weights.set(k, v);
    return new Map(weights);
  });
}

describe('trainStep with one model and one optimizer', () => {
  it('gives the weights and loss of model.trainOnBatch after two steps (both on the GPU)', async () => {
    clearSession();
    const make = (name: string) => new Sequential({ name, layers: [layers.Dense(6, { activation: 'relu', inputShape: [4] }), layers.Dense(3, { activation: 'softmax' })] });
    const fitted = make('fitted');
    const stepped = make('stepped');
    stepped.setWeights(fitted.getWeights());
    fitted.compile({ optimizer: optimizers.Adam({ learningRate: 0.01 }), loss: 'categoricalCrossentropy' });
    const step = trainStep({
      models: [stepped],
      optimizers: [optimizers.Adam({ learningRate: 0.01 })],
      inputs: { x: [4], y: [3] },
      loss: ({ x, y }) => ({ loss: losses.categoricalCrossentropy(y, stepped(x)) }),
      gpu: await testGpu(),
    });
    const batch = 5;
    for (let k = 0; k < 2; k++) {
      const x = randomData(batch * 4, 11 + k);
      const y = new Float32Array(batch * 3);
      randomInts(batch, 3, 21 + k).forEach((c, r) => (y[r * 3 + c] = 1));
      const [want] = await fitted.trainOnBatch(x, y);
      const got = await step.run({ x, y });
      expect(Math.abs(got.loss - want), `step ${k}: loss ${got.loss} vs trainOnBatch ${want}`).toBeLessThanOrEqual(1e-5 * Math.abs(want));
    }
    expect(step.steps).toBe(2);
    await step.pullWeights();
    fitted.weights.forEach((w, i) => expectClose(stepped.weights[i].read(), w.read(), { rtol: 1e-5, atol: 1e-7 }, `weight '${w.name}'`));
    step.destroy();
  });
});

describe('trainStep with two models and two optimizers', () => {
  /** A tiny GAN: G: [3] → 4 relu → 5 sigmoid; D: [5] → 4 → BatchNorm → elu → 1 logit. */
  function tinyGan(gpu?: GpuContext, precision?: 'mixed') {
    clearSession();
    const z = Input({ shape: [3], name: 'z_in' });
    const generator = new Model({ name: 'g', inputs: z, outputs: layers.Dense(5, { activation: 'sigmoid', name: 'g2' })(layers.Dense(4, { activation: 'relu', name: 'g1' })(z)) });
    const img = Input({ shape: [5], name: 'img_in' });
    const h = layers.Activation('elu')(layers.BatchNormalization({ name: 'd_bn' })(layers.Dense(4, { name: 'd1' })(img)));
    const discriminator = new Model({ name: 'd', inputs: img, outputs: layers.Dense(1, { name: 'd2' })(h) });
    const gLr = 0.5;
    const step = trainStep({
      name: 'tiny_gan',
      gpu,
      precision,
      models: [generator, discriminator],
      optimizers: [optimizers.SGD({ learningRate: gLr, name: 'g_opt' }), optimizers.SGD({ learningRate: 0.1, momentum: 0.9, name: 'd_opt' })],
      inputs: { noise: [3], real: [5] },
      loss: ({ noise, real }) => {
        const fakeLogits = discriminator(generator(noise));
        return {
          gLoss: bce(ops.constant(1, [1, 1]), fakeLogits),
          dLoss: ops.add(bce(ops.constant(1, [1, 1]), discriminator(real)), bce(ops.constant(0, [1, 1]), fakeLogits)),
        };
      },
    });
    return { generator, discriminator, step, gLr };
  }
  const batch = 4;
  const feeds = [0, 1].map((k) => ({ noise: randomData(batch * 3, 31 + k), real: randomData(batch * 5, 41 + k, 0, 1) }));

  it('keeps each optimizer’s state apart, updates every weight and batch-norm statistic, reads nothing back', () => {
    const { step, generator, discriminator } = tinyGan();
    const p = step.program(batch, { check: true });
    const state = [...p.weights.keys()];
    expect(state).toEqual(expect.arrayContaining(['g_opt/iterations', 'g_opt/learning_rate', 'd_opt/iterations', 'd_opt/learning_rate', '__loss/gLoss', '__loss/dLoss']));
    for (const w of discriminator.trainableWeights) expect(state).toContain(`d_opt/${w.name}/momentum`);
    expect(state.filter((n) => n.startsWith('g_opt/') && n.endsWith('/momentum'))).toEqual([]);
    const updated = new Set(p.graph.updates.map((u) => u.weight));
    for (const w of [...generator.trainableWeights, ...discriminator.weights]) expect(updated.has(w.name), w.name).toBe(true);
    expect(p.graph.outputs).toEqual([]);
  });

  it("in mixed precision scales each loss for its own optimizer, and two GPU steps follow the float64 interpreter within f16 rounding", async () => {
    const { generator, discriminator, step } = tinyGan(await testGpu(), 'mixed');
    const program = step.program(batch, { check: true });
    const state = [...program.weights.keys()];
    expect(state).toEqual(expect.arrayContaining(['g_opt/dynamic_scale', 'g_opt/step_counter', 'd_opt/dynamic_scale', 'd_opt/step_counter']));
    expect(program.weights.get('g_opt/dynamic_scale')!.data[0]).toBe(2 ** 15);
    const want = interpretSteps(program, feeds);
    for (const f of feeds) await step.run(f);
    await step.pullWeights();
    for (const v of [...generator.weights, ...discriminator.weights]) {
      expectClose(v.read(), want[1].get(v.name)!.data as ArrayLike<number>, { rtol: 1e-2, atol: 2e-3 }, `weight '${v.name}'`);
    }
    expect(want[1].get('d_opt/step_counter')!.data[0]).toBe(2);
    step.destroy();
  }, 180_000);

  it('matches the float64 interpreter on the same program for two steps; the generator moves only by gOpt', async () => {
    const { generator, discriminator, step, gLr } = tinyGan(await testGpu());
    const program = step.program(batch, { check: true });
    const want = interpretSteps(program, feeds);

    // By hand: generator weights after each step are w − lr·∂gLoss/∂w, from the weights before it.
    const settled = runPipeline(step.objective.program, FORWARD_PASSES, { phase: 'training', batch }, { check: true });
    const genNames = generator.trainableWeights.map((w) => w.name);
    const gradsOf = (loss: string, weights: ReadonlyMap<string, NDArray>, f: Record<string, Float32Array>) =>
      interpret(autodiff(settled, { loss, wrt: genNames }).graph, f, { weights, precision: 'float64' }).outputs;
    let before = new Map([...program.weights].map(([k, v]) => [k, f64(v)]));
    for (const [k, after] of want.entries()) {
      const g = gradsOf('gLoss', before, feeds[k]);
      for (const w of genNames) {
        const expected = Float64Array.from(before.get(w)!.data as ArrayLike<number>, (x, i) => x - gLr * (g[gradName(w)].data[i] as number));
        expectClose(after.get(w)!.data as ArrayLike<number>, expected, { rtol: 1e-9, atol: 1e-12 }, `step ${k + 1}: generator '${w}'`);
      }
      // dLoss does depend on the generator: had dOpt used that gradient, the check above would fail.
      const dg = gradsOf('dLoss', before, feeds[k]);
      expect(genNames.some((w) => Array.from(dg[gradName(w)].data as ArrayLike<number>).some((x) => Math.abs(x) > 1e-4)), 'dLoss reaches the generator').toBe(true);
      before = after;
    }

    for (const f of feeds) {
      const logs = await step.run(f);
      expect(Number.isFinite(logs.gLoss) && Number.isFinite(logs.dLoss), JSON.stringify(logs)).toBe(true);
    }
    await step.pullWeights();
    const last = want[1];
    for (const v of [...generator.weights, ...discriminator.weights]) {
      expectClose(v.read(), last.get(v.name)!.data as ArrayLike<number>, { rtol: 1e-4, atol: 1e-6 }, `weight '${v.name}'`);
    }
    // Batch-norm moving statistics were updated (they start at 0 and 1).
    const mean = discriminator.getLayer('d_bn').weights.find((w) => w.name.endsWith('moving_mean'))!;
    expect(Array.from(mean.read()).some((x) => x !== 0)).toBe(true);
    step.destroy();
  });

  it('gives dropout the first optimizer’s counter, so masks change per step', () => {
    clearSession();
    const a = new Sequential({ name: 'a', layers: [layers.Dense(4, { inputShape: [3] }), layers.Dropout(0.5), layers.Dense(1)] });
    const b = new Sequential({ name: 'b', layers: [layers.Dense(1, { inputShape: [3] })] });
    const step = trainStep({
      models: [a, b],
      optimizers: [optimizers.SGD({ name: 'first' }), optimizers.SGD({ name: 'second' })],
      inputs: { x: [3] },
      loss: ({ x }) => ({ la: ops.mean(a(x)), lb: ops.mean(b(x)) }),
    });
    const p = step.program(2, { check: true, fuse: false });
    const dropout = p.graph.nodes.find((n) => n.op === 'dropout')!;
    expect(dropout.inputs).toHaveLength(3);
    expect(p.graph.nodes[dropout.inputs[2].node].attrs.name).toBe('first/iterations');
    // Two optimizers of one name get distinct state.
    const same = trainStep({ models: [a, b], optimizers: ['adam', 'adam'], inputs: { x: [3] }, loss: ({ x }) => ({ la: ops.mean(a(x)), lb: ops.mean(b(x)) }) });
    expect(same.optimizerState(0).iterations).toBe('adam/iterations');
    expect(same.optimizerState(1).iterations).toBe('adam_1/iterations');
  });
});

describe('applyOptimizer with a prefix', () => {
  it('names iterations, learning_rate and slots under it; without one, the names fit uses', () => {
    clearSession();
    const m = new Sequential({ name: 'p', layers: [layers.Dense(2, { inputShape: [3] })] });
    const objective = trainStep({ models: [m], optimizers: ['sgd'], inputs: { x: [3] }, loss: ({ x }) => ({ l: ops.mean(m(x)) }) }).objective;
    let p = runPipeline(objective.program, FORWARD_PASSES, { phase: 'training', batch: 2 });
    p = autodiff(p, { loss: 'l', wrt: objective.wrt[0] });
    const opt = optimizers.Adam();
    const grads = Object.fromEntries(objective.wrt[0].map((w) => [w, gradName(w)]));
    const named = applyOptimizer(p, { optimizer: opt, grads, prefix: 'g' });
    const plain = applyOptimizer(p, { optimizer: opt, grads });
    const kernel = objective.wrt[0][0];
    expect([...named.weights.keys()]).toEqual(expect.arrayContaining(['g/iterations', 'g/learning_rate', `g/${kernel}/m`, `g/${kernel}/v`]));
    expect([...plain.weights.keys()]).toEqual(expect.arrayContaining(['iterations', 'learning_rate', `${kernel}/m`, `${kernel}/v`]));
    expect([...named.weights.keys()].filter((k) => k === 'iterations')).toEqual([]);
  });
});

describe('the GAN sample', () => {
  it('trains 20 steps on random images: losses stay finite, both models change', async () => {
    const gan = await import('../../samples/gan.js');
    const images = randomData(32 * 784, 5, 0, 1);
    const g0 = gan.generator.getWeights();
    const d0 = gan.discriminator.getWeights();
    const history = await gan.trainGan(images, { steps: 20, batchSize: 8, logEvery: 5 });
    expect(history.step).toEqual([5, 10, 15, 20]);
    for (const v of [...history.dLoss, ...history.gLoss]) expect(Number.isFinite(v), `losses ${JSON.stringify(history)}`).toBe(true);
    for (const [model, before] of [[gan.generator, g0], [gan.discriminator, d0]] as const) {
      const after = model.getWeights();
      for (const w of after) expect(w.every(Number.isFinite), `${model.name} weights finite`).toBe(true);
      expect(after.some((w, i) => w.some((x, k) => x !== before[i][k])), `${model.name} trained`).toBe(true);
    }
  }, 180_000);
});

describe('trainStep errors', () => {
  function two() {
    clearSession();
    const a = new Sequential({ name: 'model_a', layers: [layers.Dense(2, { inputShape: [3] })] });
    const b = new Sequential({ name: 'model_b', layers: [layers.Dense(2, { inputShape: [3] })] });
    return { a, b };
  }
  const catchError = (fn: () => unknown): Error => {
    try {
      fn();
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected an error');
  };

  it('a loss function that returns a tensor, not an object of losses', () => {
    const { a } = two();
    const e = catchError(() => trainStep({ models: [a], optimizers: ['sgd'], inputs: { x: [3] }, loss: ({ x }) => ops.mean(a(x)) as never }));
    expect(e).toBeInstanceOf(ModelError);
    expect(e.message).toMatch(/must return an object of named scalar losses.*single tensor/);
    const e2 = catchError(() => trainStep({ models: [a], optimizers: ['sgd'], inputs: { x: [3] }, loss: () => ({ loss: 3 }) as never }));
    expect(e2.message).toMatch(/loss 'loss' is number, not a symbolic tensor/);
  });

  it('a loss that is not a scalar', () => {
    const { a } = two();
    const e = catchError(() => trainStep({ models: [a], optimizers: ['sgd'], inputs: { x: [3] }, loss: ({ x }) => ({ perSample: a(x) }) }));
    expect(e).toBeInstanceOf(ModelError);
    expect(e.message).toMatch(/loss 'perSample' must be a float32 scalar, got shape \(None, 2\)/);
  });

  it('more losses than optimizers', () => {
    const { a } = two();
    const e = catchError(() => trainStep({ models: [a], optimizers: ['sgd'], inputs: { x: [3] }, loss: ({ x }) => ({ l1: ops.mean(a(x)), l2: ops.mean(a(x)) }) }));
    expect(e).toBeInstanceOf(ModelError);
    expect(e.message).toMatch(/returned 2 loss\(es\) \(l1, l2\) for 1 optimizer/);
  });

  it('an optimizer whose model’s weights its loss does not reach', () => {
    const { a, b } = two();
    const loss = ({ x }: Record<string, SymbolicTensor>) => ({ la: ops.mean(a(x)), lb: ops.mean(a(x)) });
    const e = catchError(() => trainStep({ models: [a, b], optimizers: ['sgd', 'adam'], inputs: { x: [3] }, loss }));
    expect(e).toBeInstanceOf(ModelError);
    expect(e.message).toMatch(/optimizer 1 \('adam'\) minimizes loss 'lb' over model 'model_b', but none of model 'model_b''s trainable weights .* affects loss 'lb'/);
    b.trainable = false;
    const frozen = catchError(() => trainStep({ models: [a, b], optimizers: ['sgd', 'adam'], inputs: { x: [3] }, loss: ({ x }) => ({ la: ops.mean(a(x)), lb: ops.mean(b(x)) }) }));
    expect(frozen.message).toMatch(/model 'model_b' has no trainable weights/);
  });

  it('models and optimizers of different counts', () => {
    const { a, b } = two();
    const e = catchError(() => trainStep({ models: [a, b], optimizers: ['sgd'], inputs: { x: [3] }, loss: ({ x }) => ({ l: ops.mean(a(x)) }) }));
    expect(e).toBeInstanceOf(ModelError);
    expect(e.message).toMatch(/2 model\(s\) but 1 optimizer/);
  });
});
