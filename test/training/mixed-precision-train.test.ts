/**
 * Training in mixed precision (`model.compile({ ..., precision: 'mixed' })`) on the GPU (lavapipe in
 * CI: shader-f16, so f16-tile GEMMs with f32 accumulation): the step's GEMMs take f16 operands, the
 * loss is scaled dynamically as Keras's LossScaleOptimizer does, and the result is the float32 step's
 * within an f16 tolerance. A step whose gradients are not finite changes nothing but the scale.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Sequential, layers, optimizers, clearSession, ops, type Model, type SymbolicTensor } from '../../src/index.js';
import { resolveCompileArgs, type CompileArgs } from '../../src/training/config.js';
import { TrainingSession } from '../../src/training/session.js';
import { lossScaleNames, LOSS_SCALE_DEFAULTS } from '../../src/passes/loss-scale.js';
import { ITERATIONS } from '../../src/passes/optimizer.js';
import { testGpu } from '../support/gpu.js';
import { randomData, randomInts } from '../support/random.js';
import { expectClose } from '../support/close.js';
import { trainingProgram } from '../../src/training/session.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { MMA_FEATURES, PROFILES } from '../../src/codegen/profile.js';

const sessions: TrainingSession[] = [];
afterAll(() => sessions.forEach((s) => s.net.destroy()));

const BATCH = 32;
const mlp = (name: string) =>
  new Sequential({ name, layers: [layers.Dense(48, { activation: 'relu', inputShape: [20], name: `${name}_h` }), layers.Dense(36, { activation: 'tanh', name: `${name}_h2` }), layers.Dense(5, { activation: 'softmax', name: `${name}_out` })] });

async function session(model: Model, args: CompileArgs): Promise<TrainingSession> {
  const s = await TrainingSession.create(model, resolveCompileArgs(model, args), BATCH, await testGpu());
  sessions.push(s);
  s.pushWeights();
  return s;
}

function batch(seed: number) {
  const y = new Float32Array(BATCH * 5);
  randomInts(BATCH, 5, seed + 50).forEach((c, r) => (y[r * 5 + c] = 1));
  return { x: randomData(BATCH * 20, seed), y };
}

describe("training with precision 'mixed'", () => {
  it('runs its GEMMs on f16 operands, scales the loss from 2¹⁵, and follows the float32 steps within an f16 tolerance', async () => {
    clearSession();
    const [f32, mixed] = [mlp('f32'), mlp('mixed')];
    mixed.setWeights(f32.getWeights());
    // SGD, whose update is linear in the gradient (Adam's sign-like steps would magnify rounding in near-zero gradients).
    const args: CompileArgs = { optimizer: optimizers.SGD({ learningRate: 0.5, momentum: 0.9 }), loss: 'categoricalCrossentropy' };
    const a = await session(f32, args);
    const b = await session(mixed, { ...args, precision: 'mixed' });
    const wgsl = b.bundle.manifest.kernels.map((k) => new TextDecoder().decode(b.bundle.files.get(k.file)!)).join('\n');
    expect(wgsl).toMatch(/enable f16;/);
    expect(b.bundle.manifest.precision).toBe('mixed');
    for (let k = 0; k < 4; k++) {
      const { x, y } = batch(k);
      for (const s of [a, b]) await s.step({ [s.inputNames[0]]: x, [s.inputNames[1]]: y });
    }
    await a.pullWeights();
    await b.pullWeights();
    f32.weights.forEach((w, i) => expectClose(mixed.weights[i].read(), w.read(), { rtol: 0, atol: 1e-3 }, `weight '${w.name}'`));
    const state = await b.net.readState([lossScaleNames().scale, lossScaleNames().counter, ITERATIONS]);
    expect(state[lossScaleNames().scale][0]).toBe(LOSS_SCALE_DEFAULTS.initialScale);
    expect(state[lossScaleNames().counter][0]).toBe(4);
    expect(state[ITERATIONS][0]).toBe(4);
  });

  it('skips a step whose gradient is infinite: weights, slots and step count stay, the scale halves', async () => {
    clearSession();
    // d/dp √|p − y| is infinite where p = y exactly: at the zero targets of an all-zero tanh output.
    const sqrtLoss = (yTrue: SymbolicTensor, yPred: SymbolicTensor) => ops.mean(ops.sqrt(ops.abs(ops.sub(yPred, yTrue))));
    const zeroOut = new Sequential({ name: 'zero', layers: [layers.Dense(5, { inputShape: [20], kernelInitializer: 'zeros', biasInitializer: 'zeros', name: 'zero_out' })] });
    const s = await session(zeroOut, { optimizer: optimizers.Adam({ learningRate: 0.01 }), loss: sqrtLoss, precision: 'mixed' });
    const before = await s.net.readState();
    await s.step({ [s.inputNames[0]]: randomData(BATCH * 20, 3), [s.inputNames[1]]: new Float32Array(BATCH * 5) });
    const after = await s.net.readState();
    for (const name of ['zero_out/kernel', 'zero_out/bias', 'zero_out/kernel/m', 'zero_out/kernel/v', ITERATIONS]) expect(Array.from(after[name]), name).toEqual(Array.from(before[name]));
    expect(after[lossScaleNames().scale][0]).toBe(LOSS_SCALE_DEFAULTS.initialScale / 2);
    expect(after[lossScaleNames().counter][0]).toBe(0);
  });

  it('on a GPU with tensor cores, compiles the forward convs and the stride-1 input gradients to the halo-staged tensor-core conv, and the stride-1 filter gradients to the tensor-core filter gradient', () => {
    clearSession();
    const model = new Sequential({ name: 'tc', layers: [
      layers.Conv2D(32, 3, { padding: 'same', activation: 'relu', inputShape: [16, 16, 16] }),
      layers.Conv2D(32, 3, { padding: 'same', activation: 'relu' }),
      layers.Conv2D(32, 3, { strides: 2, padding: 'same', activation: 'relu' }),
      layers.GlobalAveragePooling2D(), layers.Dense(10, { activation: 'softmax' }),
    ] });
    const { program } = trainingProgram(model, resolveCompileArgs(model, { optimizer: optimizers.SGD(), loss: 'categoricalCrossentropy', precision: 'mixed' }), 256);
    const { report } = buildBundle(program.graph, program.weights, 'tc', 256, { mode: 'training', profile: { ...PROFILES.gpu, workgroupStorage: 49152, precision: 'mixed', features: [...MMA_FEATURES] } });
    const haloStaged = (name: string) => report.kernels.filter((k) => k.name.startsWith(name) && /subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>\(&tileX/.test(k.wgsl)).length;
    expect(haloStaged('conv2d/conv2d')).toBe(1);
    expect(haloStaged('conv2d_1/conv2d')).toBe(1);
    expect(haloStaged('gradients/conv2d_1/conv2d/conv2dBackpropInput')).toBe(1);
    // The strided conv's input gradient is no forward conv: it keeps its implicit GEMM.
    expect(haloStaged('gradients/conv2d_2/conv2d/conv2dBackpropInput')).toBe(0);
    // Stride-1 filter gradients stage rows and read their left operands column-major; the strided one keeps f32.
    const filterMma = (name: string) => report.kernels.filter((k) => k.name === `${name} (partial)` && /subgroup_matrix_left<f16, 16, 16>, col_major>\(&tileX/.test(k.wgsl)).length;
    expect(filterMma('gradients/conv2d/conv2d/conv2dBackpropFilter')).toBe(1);
    expect(filterMma('gradients/conv2d_1/conv2d/conv2dBackpropFilter')).toBe(1);
    expect(filterMma('gradients/conv2d_2/conv2d/conv2dBackpropFilter')).toBe(0);
  });
});

