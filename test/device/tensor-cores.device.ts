/**
 * The tensor-core kernels (WGSL subgroup matrices) against the float32 interpreter, on the GPU machine:
 * lavapipe has no subgroup matrices, so CI compiles these kernels but cannot run them. Run there with
 * `. .devpack/setup.sh && node --import tsx --test test/device/tensor-cores.device.ts` (node:test: the
 * device pack carries no vitest); on an adapter without subgroup matrices every test fails, saying
 * so. Operands rounded to f16 give the float32 result up to summation order; any operands give it
 * within f16 rounding.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Input, Model, Sequential, layers, clearSession, type SymbolicTensor } from '../../src/index.js';
import { MMA_FEATURES } from '../../src/codegen/profile.js';
import { MMA_TILINGS } from '../../src/codegen/lower/gemm-mma.js';
import { CONV_MMA_SHAPES } from '../../src/codegen/lower/conv-mma.js';
import type { Net } from '../../src/runtime/index.js';
import { Product } from '../support/products.js';
import { testGpu } from '../support/gpu.js';
import { expectMixed } from '../support/mixed.js';
import { optimizers } from '../../src/index.js';
import { resolveCompileArgs, type CompileArgs } from '../../src/training/config.js';
import { TrainingSession } from '../../src/training/session.js';
import { lossScaleNames } from '../../src/passes/loss-scale.js';
import { randomData, randomInts } from '../support/random.js';
import { trainingObjective } from '../../src/training/program.js';
import { FORWARD_PASSES, FUSION_PASSES } from '../../src/training/session.js';
import { autodiff, runPipeline } from '../../src/passes/index.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { PROFILES } from '../../src/codegen/profile.js';
import { interpret } from '../../src/ir/index.js';
import { Net as RuntimeNet } from '../../src/runtime/index.js';

const nets: Net[] = [];
after(() => nets.forEach((n) => n.destroy()));
const FEATURES = [...MMA_FEATURES].sort();
const EXACT = { rtol: 1e-5, atol: 1e-5 };
const tensorCores = (wgsl: string) => assert.match(wgsl, /subgroupMatrixMultiplyAccumulate/, 'no tensor-core kernel');
/** The conv ran on shaders/conv-mma.wgsl.hbs: its left operands come straight out of the staged f16 halo. */
const haloStaged = (wgsl: string) => assert.match(wgsl, /subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>\(&tileX/, 'not the halo-staged tensor-core conv');

/** A fresh residual block over a size×size×channels input: a 3×3 conv, batch norm (folded at compile), the add, relu. */
function residualBlock(size: number, channels: number): Model {
  clearSession();
  const x = Input({ shape: [size, size, channels] });
  let y: SymbolicTensor = layers.Conv2D(channels, 3, { padding: 'same', useBias: false })(x);
  y = layers.BatchNormalization()(y);
  return new Model({ inputs: x, outputs: layers.Activation('relu')(layers.Add()([x, y])) });
}

/** Runs `body` with an experiment variable set, restoring it after. */
async function withEnv(name: string, value: string, body: () => Promise<void>) {
  process.env[name] = value;
  try {
    await body();
  } finally {
    delete process.env[name];
  }
}

before(async () => {
  const { adapter } = await testGpu();
  const missing = MMA_FEATURES.filter((f) => !adapter.features?.includes(f));
  if (missing.length) throw new Error(`this suite needs an adapter with subgroup matrices; ${adapter.description} lacks ${missing.join(', ')} (run it on the GPU machine)`);
});

describe('tensor-core matmuls', () => {
  it('Dense + bias + relu with no dimension a multiple of the tiles, on f16-exact operands, gives the float32 result', async () => {
    clearSession();
    const x = Input({ shape: [200] });
    tensorCores((await expectMixed(new Model({ inputs: x, outputs: layers.Dense(130, { activation: 'relu' })(x) }), 300, EXACT, true, FEATURES, nets)).wgsl);
  });

  it('every tiling of MMA_TILINGS, with both operands staged as vec4 quads, gives the float32 result', async () => {
    for (const t of MMA_TILINGS) {
      await withEnv('KILN_MMA_TILES', [t.GM, t.GN, t.SM, t.SN, t.KS, ...(t.R ? [t.R] : [])].join(','), async () => {
        clearSession();
        const x = Input({ shape: [96] });
        const { wgsl } = await expectMixed(new Model({ inputs: x, outputs: layers.Dense(72, { activation: 'relu' })(x) }), 300, EXACT, true, FEATURES, nets);
        tensorCores(wgsl);
        assert.match(wgsl, /loadA4[\s\S]*loadB4/);
      });
    }
  });

  it('a batched matmul of two inputs gives the float32 result', async () => {
    clearSession();
    const [a, b] = [Input({ shape: [70, 48] }), Input({ shape: [48, 40] })];
    tensorCores((await expectMixed(new Model({ inputs: [a, b], outputs: new Product()([a, b]) }), 5, EXACT, true, FEATURES, nets)).wgsl);
  });

  it('a Dense on any operands stays within f16 rounding of the float32 result', async () => {
    clearSession();
    const x = Input({ shape: [512] });
    tensorCores((await expectMixed(new Model({ inputs: x, outputs: layers.Dense(256)(x) }), 512, { rtol: 1e-2, atol: 2e-2 }, false, FEATURES, nets)).wgsl);
  });
});

describe('tensor-core convolutions', () => {
  it('Conv2D 3×3 same + bias + relu (masked taps) gives the float32 result', async () => {
    clearSession();
    const x = Input({ shape: [16, 16, 8] });
    tensorCores((await expectMixed(new Model({ inputs: x, outputs: layers.Conv2D(96, 3, { padding: 'same', activation: 'relu' })(x) }), 8, EXACT, true, FEATURES, nets)).wgsl);
  });

  it('Conv2D 7×7 valid, strided (more taps than a mask holds) gives the float32 result', async () => {
    clearSession();
    const x = Input({ shape: [30, 30, 4] });
    tensorCores((await expectMixed(new Model({ inputs: x, outputs: layers.Conv2D(80, 7, { strides: 2 })(x) }), 16, EXACT, true, FEATURES, nets)).wgsl);
  });

  it('a residual block (conv, batch norm folded, add, relu) forced onto the implicit GEMM stays within f16 rounding (folding takes the weights off the f16 grid)', async () => {
    await withEnv('KILN_CONV', 'gemm', async () => {
      tensorCores((await expectMixed(residualBlock(16, 64), 32, { rtol: 1e-2, atol: 2e-3 }, true, FEATURES, nets)).wgsl);
    });
  });

  it('a 3×3 same conv over 48 channels to 40 (three staged chunks, a channel block cut short, image edges inside tiles) on the halo-staged tensor-core kernel gives the float32 result', async () => {
    await withEnv('KILN_CONV', 'mma', async () => {
      clearSession();
      const x = Input({ shape: [13, 21, 48] });
      const { wgsl } = await expectMixed(new Model({ inputs: x, outputs: layers.Conv2D(40, 3, { padding: 'same', activation: 'relu' })(x) }), 3, EXACT, true, FEATURES, nets);
      tensorCores(wgsl);
      haloStaged(wgsl);
    });
  });

  it('every shape of CONV_MMA_SHAPES gives the float32 result on a ResNet-style 32-channel conv', async () => {
    for (const k of CONV_MMA_SHAPES.keys()) {
      await withEnv('KILN_CONV_MMA', String(k), () =>
        withEnv('KILN_CONV', 'mma', async () => {
          clearSession();
          const x = Input({ shape: [20, 36, 32] });
          haloStaged((await expectMixed(new Model({ inputs: x, outputs: layers.Conv2D(32, 3, { padding: 'same' })(x) }), 4, EXACT, true, FEATURES, nets)).wgsl);
        }),
      );
    }
  });

  it('strided, dilated and 5×5 convs, and input channels not a whole chunk, on the halo-staged tensor-core kernel give the float32 result', async () => {
    await withEnv('KILN_CONV', 'mma', async () => {
      const cases: [number[], Parameters<typeof layers.Conv2D>[2] & object, number, number][] = [
        [[17, 19, 16], { strides: 2 }, 24, 3],
        [[18, 18, 16], { dilationRate: 2, padding: 'same' }, 16, 3],
        [[15, 14, 20], { padding: 'same' }, 64, 5],
      ];
      for (const [shape, options, filters, size] of cases) {
        clearSession();
        const x = Input({ shape });
        haloStaged((await expectMixed(new Model({ inputs: x, outputs: layers.Conv2D(filters, size, options)(x) }), 2, EXACT, true, FEATURES, nets)).wgsl);
      }
    });
  });

  it('a residual block (conv, batch norm folded, add, relu) chosen onto the halo-staged tensor-core kernel at batch 256 stays within f16 rounding', async () => {
    haloStaged((await expectMixed(residualBlock(16, 32), 256, { rtol: 1e-2, atol: 2e-3 }, true, FEATURES, nets)).wgsl);
  });

  it('a CNN on any operands stays within f16 rounding of the float32 result', async () => {
    clearSession();
    const model = new Sequential([
      layers.Conv2D(96, 3, { activation: 'relu', inputShape: [12, 12, 3] }),
      layers.MaxPooling2D(2),
      layers.Flatten(),
      layers.Dense(10, { activation: 'softmax' }),
    ]);
    tensorCores((await expectMixed(model, 64, { rtol: 1e-2, atol: 2e-3 }, false, FEATURES, nets)).wgsl);
  });
});

describe('training in mixed precision', () => {
  it('the gradients of a valid and a same 3×3 conv (input and filter gradients on tensor cores, relu masks and the residual sum fused) stay within f16 rounding of the interpreter', async () => {
    clearSession();
    const x = Input({ shape: [18, 18, 16] });
    const c1 = layers.Conv2D(32, 3, { padding: 'valid', activation: 'relu' })(x);
    const c2 = layers.Conv2D(32, 3, { padding: 'same' })(c1);
    const y = layers.Dense(10, { activation: 'softmax' })(layers.GlobalAveragePooling2D()(layers.Activation('relu')(layers.Add()([c1, c2]))));
    const model = new Model({ inputs: x, outputs: y });
    const batch = 256;
    const config = resolveCompileArgs(model, { optimizer: optimizers.SGD(), loss: 'categoricalCrossentropy' });
    const objective = trainingObjective(model, config);
    const ctx = { phase: 'training' as const, batch };
    const forward = runPipeline(objective.program, FORWARD_PASSES, ctx);
    const withGrads = autodiff(forward, { loss: 'loss', wrt: objective.trainable });
    const grads = { ...withGrads, graph: { ...withGrads.graph, outputs: withGrads.graph.outputs.filter((o) => o.name.startsWith('grad/')), updates: [] } };
    const fused = runPipeline(grads, FUSION_PASSES, ctx);
    const { adapter } = await testGpu();
    const { bundle, report } = buildBundle(fused.graph, fused.weights, 'grads', batch, { profile: { ...PROFILES.gpu, workgroupStorage: adapter.workgroupStorage, precision: 'mixed', features: FEATURES } });
    const inputGrads = report.kernels.filter((k) => k.name.includes('conv2dBackpropInput') && !k.name.includes('flipped'));
    assert.ok(inputGrads.length > 0, 'no input gradient kernel');
    for (const k of inputGrads) haloStaged(k.wgsl);
    const filterGrads = report.kernels.filter((k) => k.name.includes('conv2dBackpropFilter (partial)'));
    assert.equal(filterGrads.length, 2, 'both filter gradients');
    for (const k of filterGrads) assert.match(k.wgsl, /subgroup_matrix_left<f16, 16, 16>, col_major>\(&tileX/, 'not the tensor-core filter gradient');
    const net = await RuntimeNet.create(bundle, await testGpu());
    nets.push(net);
    const xs = randomData(batch * 18 * 18 * 16, 70);
    const ys = new Float32Array(batch * 10);
    randomInts(batch, 10, 71).forEach((c, r) => (ys[r * 10 + c] = 1));
    const feeds = { [net.inputs[0].name]: xs, [net.inputs[1].name]: ys };
    await net.fill(NaN);
    const got = await net.predict(feeds);
    const want = interpret(withGrads.graph, Object.fromEntries(net.inputs.map((s) => [s.name, { shape: s.shape, dtype: 'float32' as const, data: feeds[s.name] }])), { weights: withGrads.weights, training: true }).outputs;
    for (const name of objective.trainable) {
      const [g, w] = [got[`grad/${name}`], want[`grad/${name}`].data];
      const scale = Math.max(...Array.from(w, Math.abs));
      const worst = Array.from(g).reduce((m, v, j) => Math.max(m, Math.abs(v - w[j])), 0);
      assert.ok(worst <= 1e-2 * scale, `grad/${name}: max |GPU − interpreter| ${worst} against max |grad| ${scale}`);
    }
  });

  it('a CNN\'s train steps run their forward conv and matmuls on tensor cores and follow the float32 steps within f16 rounding', async () => {
    clearSession();
    const make = (name: string) => new Sequential({ name, layers: [
      layers.Conv2D(32, 3, { activation: 'relu', padding: 'same', inputShape: [16, 16, 16], name: `${name}_c` }),
      layers.Conv2D(32, 3, { activation: 'relu', padding: 'same', name: `${name}_c2` }),
      layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(64, { activation: 'relu', name: `${name}_d` }), layers.Dense(10, { activation: 'softmax', name: `${name}_o` }),
    ] });
    const [f32, mixed] = [make('f32'), make('mixed')];
    mixed.setWeights(f32.getWeights());
    const args: CompileArgs = { optimizer: optimizers.SGD({ learningRate: 0.1, momentum: 0.9 }), loss: 'categoricalCrossentropy' };
    const { adapter } = await testGpu();
    const batch = 256;
    const sessions = await Promise.all([TrainingSession.create(f32, resolveCompileArgs(f32, args), batch, await testGpu()), TrainingSession.create(mixed, resolveCompileArgs(mixed, { ...args, precision: 'mixed' }), batch, await testGpu())]);
    try {
      const wgsl = sessions[1].bundle.manifest.kernels.map((k) => new TextDecoder().decode(sessions[1].bundle.files.get(k.file)!)).join('\n');
      tensorCores(wgsl);
      haloStaged(wgsl);
      for (const s of sessions) s.pushWeights();
      for (let k = 0; k < 4; k++) {
        const y = new Float32Array(batch * 10);
        randomInts(batch, 10, 90 + k).forEach((c, r) => (y[r * 10 + c] = 1));
        const x = randomData(batch * 16 * 16 * 16, 80 + k);
        for (const s of sessions) await s.step({ [s.inputNames[0]]: x, [s.inputNames[1]]: y });
      }
      for (const s of sessions) await s.pullWeights();
      f32.weights.forEach((w, i) => {
        const [a, b] = [w.read(), mixed.weights[i].read()];
        const worst = a.reduce((m, v, j) => Math.max(m, Math.abs(v - b[j])), 0);
        assert.ok(worst < 2e-3, `weight '${w.name}' differs from float32 by ${worst} (on ${adapter.description})`);
      });
      const state = await sessions[1].net.readState([lossScaleNames().scale, lossScaleNames().counter]);
      assert.equal(state[lossScaleNames().counter][0], 4, 'four finite steps in a row');
      assert.equal(state[lossScaleNames().scale][0], 2 ** 15);
    } finally {
      for (const s of sessions) s.destroy();
    }
  });
});
