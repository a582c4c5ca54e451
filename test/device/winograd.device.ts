/**
 * The Winograd conv kernel in the layout a GPU with 48 KiB of workgroup memory gets (8-channel chunks,
 * two output passes), against the float64 interpreter. lavapipe allows 32 KiB, so CI runs the kernel's
 * 32 KiB layout (test/e2e/kernels-conv-winograd.test.ts) and this suite runs the larger one, on the GPU
 * machine: `. .devpack/setup.sh && node --import tsx --test test/device/winograd.device.ts`. On an
 * adapter with less workgroup memory every test fails, saying so.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { Input, Model, layers, clearSession, type Layer, type SymbolicTensor } from '../../src/index.js';
import { profileForAdapter } from '../../src/codegen/index.js';
import { winogradTile } from '../../src/codegen/lower/conv-winograd.js';
import { convGeometry } from '../../src/codegen/lower/conv.js';
import { expectGpuMatchesInterpreter, testGpu, type GpuRun } from '../support/gpu.js';
import { randomData } from '../support/random.js';

const runs: GpuRun[] = [];
after(() => runs.forEach((r) => r.net.destroy()));
beforeEach(() => {
  clearSession();
  process.env.KILN_CONV = 'winograd';
});
afterEach(() => delete process.env.KILN_CONV);

const TOL = { rtol: 1e-4, atol: 1e-5 };

before(async () => {
  const { adapter } = await testGpu();
  const tile = winogradTile(convGeometry({ op: 'conv2d', attrs: { padding: 'same' } } as never, [2, 32, 32, 32], [3, 3, 32, 32]), adapter.workgroupStorage ?? 0);
  if (tile?.chunk !== 8) throw new Error(`this suite needs 36 KiB of workgroup memory for 8-channel chunks; ${adapter.description} allows ${adapter.workgroupStorage} bytes`);
});

function randomize(layer: Layer, seed: number): Layer {
  layer.setWeights(layer.weights.map((w, k) => randomData(w.size, seed + k, -0.8, 0.8)));
  return layer;
}

async function check(model: Model, batch: number): Promise<GpuRun> {
  const { adapter } = await testGpu();
  const run = await expectGpuMatchesInterpreter(model, { batch, profile: profileForAdapter(adapter), ...TOL });
  runs.push(run);
  const wgsl = [...run.compiled.bundle.files].filter(([name]) => name.endsWith('.wgsl')).map(([, bytes]) => new TextDecoder().decode(bytes));
  assert.ok(wgsl.some((text) => text.includes('const CK = 8u')), 'no 8-channel Winograd kernel');
  return run;
}

describe('Winograd conv, 48 KiB layout', () => {
  it('a 3×3 same conv with partial tiles, chunks and channel blocks', async () => {
    const x = Input({ shape: [11, 19, 13] });
    const conv = randomize(layers.Conv2D({ filters: 40, kernelSize: 3, padding: 'same' }), 3);
    await check(new Model({ inputs: x, outputs: layers.Activation('relu')(conv.apply(x) as SymbolicTensor) }), 3);
  });

  it('the bench ResNet\'s residual block (32 channels, 32×32), conv-bn-relu-conv-bn + add + relu', async () => {
    const x = Input({ shape: [32, 32, 32] });
    const [c1, c2] = [layers.Conv2D(32, 3, { padding: 'same', useBias: false }), layers.Conv2D(32, 3, { padding: 'same', useBias: false })];
    const [b1, b2] = [layers.BatchNormalization(), layers.BatchNormalization()];
    const y = b2.apply(c2.apply(layers.Activation('relu')(b1.apply(c1.apply(x) as SymbolicTensor) as SymbolicTensor)) as SymbolicTensor) as SymbolicTensor;
    const model = new Model({ inputs: x, outputs: layers.Activation('relu')(layers.Add()([x, y])) });
    randomize(c1, 1);
    randomize(c2, 2);
    for (const bn of [b1, b2]) bn.setWeights([randomData(32, 5, 0.5, 1.5), randomData(32, 6, -0.5, 0.5), randomData(32, 7, -0.3, 0.3), randomData(32, 8, 0.5, 2)]);
    await check(model, 4);
  });
});
