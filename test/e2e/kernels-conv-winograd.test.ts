/** The Winograd F(2×2, 3×3) conv kernel, in each tile block and staging plan, against the float64 interpreter. */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession, type Layer, type SymbolicTensor } from '../../src/index.js';
import { expectGpuMatchesInterpreter, type GpuRun } from '../support/gpu.js';
import { randomData } from '../support/random.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));
beforeEach(() => {
  clearSession();
  process.env.KILN_CONV = 'winograd';
});
afterEach(() => {
  delete process.env.KILN_CONV;
});

// The transforms add and halve sums of up to 16 products per channel: a few float32 roundings more than the direct sum.
const TOL = { rtol: 1e-4, atol: 2e-5 };

function randomize(layer: Layer, seed: number): Layer {
  layer.setWeights(layer.weights.map((w, k) => randomData(w.size, seed + k, -0.8, 0.8)));
  return layer;
}

async function check(model: Model, batch = 2): Promise<GpuRun> {
  const run = await expectGpuMatchesInterpreter(model, { batch, ...TOL });
  runs.push(run);
  const wgsl = [...run.compiled.bundle.files].filter(([name]) => name.endsWith('.wgsl')).map(([, bytes]) => new TextDecoder().decode(bytes));
  expect(wgsl.some((text) => text.includes('const KQ ='))).toBe(true);
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

describe('Winograd conv kernel', () => {
  it.each([
    ['same; 40 filters (two channel blocks, the second partial); 19 wide and 11 high (partial tiles and blocks)', { filters: 40, kernelSize: 3, padding: 'same' }, [11, 19, 8]],
    ['valid; 12 input channels (a chunk past the channels)', { filters: 12, kernelSize: 3, padding: 'valid' }, [13, 14, 12]],
    ['same on a narrow input (8 wide: 4×4 tiles), 4 channels each way', { filters: 4, kernelSize: 3, padding: 'same' }, [9, 8, 4]],
    ['valid on a 5-wide output (8×2 tiles), 64 input channels', { filters: 8, kernelSize: 3, padding: 'valid' }, [12, 7, 64]],
  ] as const)('%s', async (_, args, shape) => {
    await check(single(args, [...shape]));
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
    // Each conv is its kernel's transform, then the conv with its epilogue.
    expect(run.compiled.report.steps).toHaveLength(4);
  });
});
