/** The halo-tiled direct conv kernel, in each of its shapes, against the float64 interpreter. */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession, type Layer, type SymbolicTensor } from '../../src/index.js';
import { HALO_SHAPES } from '../../src/codegen/lower/conv-halo.js';
import { expectGpuMatchesInterpreter, type GpuRun } from '../support/gpu.js';
import { randomData } from '../support/random.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));
beforeEach(() => {
  clearSession();
  process.env.KILN_CONV = 'halo';
});
afterEach(() => {
  delete process.env.KILN_CONV;
  delete process.env.KILN_HALO;
});

const TOL = { rtol: 1e-4, atol: 1e-5 };

function randomize(layer: Layer, seed: number): Layer {
  layer.setWeights(layer.weights.map((w, k) => randomData(w.size, seed + k, -0.8, 0.8)));
  return layer;
}

/** The WGSL of a run's kernels, joined. */
const kernelText = (run: GpuRun) => [...run.compiled.bundle.files].filter(([name]) => name.endsWith('.wgsl')).map(([, bytes]) => new TextDecoder().decode(bytes)).join('\n');

async function check(model: Model, batch = 2): Promise<GpuRun> {
  const run = await expectGpuMatchesInterpreter(model, { batch, ...TOL });
  runs.push(run);
  expect(kernelText(run)).toContain('var<workgroup> tileW');
  return run;
}

/** A conv on an input of `shape`, then relu, its weights random. */
function single(args: Record<string, unknown>, shape: number[], seed = 3): Model {
  const x = Input({ shape });
  const conv = layers.Conv2D(args as never);
  const model = new Model({ inputs: x, outputs: layers.Activation('relu')(conv.apply(x) as SymbolicTensor) });
  randomize(conv, seed);
  return model;
}

describe('halo conv kernel', () => {
  it.each([
    ['3×3 same; 40 filters (two channel blocks, the second partial); 19 wide (two column tiles)', { filters: 40, kernelSize: 3, padding: 'same' }, [11, 19, 6]],
    ['valid, strides 2; 3 input channels (a chunk that is not a power of 2)', { filters: 12, kernelSize: 3, padding: 'valid', strides: 2 }, [13, 14, 3]],
    ['5×5 same, dilation 2; 37 wide (more column tiles than fit one workgroup row)', { filters: 8, kernelSize: 5, padding: 'same', dilationRate: 2 }, [9, 37, 5]],
    ['rectangular [2, 3], strides [1, 2]', { filters: 7, kernelSize: [2, 3], padding: 'same', strides: [1, 2] }, [7, 9, 9]],
  ] as const)('%s', async (_, args, shape) => {
    await check(single(args, [...shape]));
  });

  it('drops the staging tests that cannot fail: 32 filters over whole chunks of 32 input channels read every weight unguarded', async () => {
    const run = await check(single({ filters: 32, kernelSize: 3, padding: 'same' }, [12, 16, 32]));
    const wgsl = kernelText(run);
    expect(wgsl).toContain('if (true) { v =');
    expect(wgsl).not.toContain('c < CIN');
  });

  it('writes four channels at once where one chunk holds every input channel (an RGB stem), with bias and relu', async () => {
    const run = await check(single({ filters: 12, kernelSize: 3, padding: 'same' }, [10, 19, 3]));
    const wgsl = kernelText(run);
    expect(wgsl).toMatch(/out0q\(/);
    expect(wgsl).toContain('res[lane] = ');
  });

  it('keeps scalar stores where the input channels take several chunks', async () => {
    const run = await check(single({ filters: 8, kernelSize: 3, padding: 'same' }, [6, 9, 9]));
    const wgsl = kernelText(run);
    expect(wgsl).not.toMatch(/out0q\(/);
  });

  it('fuses a residual block (conv-bn-relu-conv-bn + add + relu) into its second conv', async () => {
    const x = Input({ shape: [10, 12, 8] });
    const [c1, c2] = [layers.Conv2D(8, 3, { padding: 'same', useBias: false }), layers.Conv2D(8, 3, { padding: 'same', useBias: false })];
    const [b1, b2] = [layers.BatchNormalization(), layers.BatchNormalization()];
    const y = b2.apply(c2.apply(layers.Activation('relu')(b1.apply(c1.apply(x) as SymbolicTensor) as SymbolicTensor)) as SymbolicTensor) as SymbolicTensor;
    const model = new Model({ inputs: x, outputs: layers.Activation('relu')(layers.Add()([x, y])) });
    randomize(c1, 1);
    randomize(c2, 2);
    for (const bn of [b1, b2]) bn.setWeights([randomData(8, 5, 0.5, 1.5), randomData(8, 6, -0.5, 0.5), randomData(8, 7, -0.3, 0.3), randomData(8, 8, 0.5, 2)]);
    const run = await check(model);
    expect(run.compiled.report.steps).toHaveLength(2);
  });

  for (const [k, s] of HALO_SHAPES.entries()) {
    it(`shape ${k}: ${s.threads} invocations of ${s.pixels} pixels × ${s.channels} channels, chunks of ${s.chunk}`, async () => {
      process.env.KILN_HALO = String(k);
      await check(single({ filters: 36, kernelSize: 3, padding: 'same' }, [9, 21, 6], 9 + k));
    });
  }
});
