/** The Winograd F(2×2, 3×3) conv kernel, in each of its workgroup-memory layouts, against the float64 interpreter. */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession, type Layer, type SymbolicTensor } from '../../src/index.js';
import { PROFILES } from '../../src/codegen/index.js';
import { winogradTile } from '../../src/codegen/lower/conv-winograd.js';
import { convGeometry } from '../../src/codegen/lower/conv.js';
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

const TOL = { rtol: 1e-4, atol: 1e-5 };
/** lavapipe's workgroup memory limit: 4-channel chunks in four output passes. */
const STORAGE = 32768;

function randomize(layer: Layer, seed: number): Layer {
  layer.setWeights(layer.weights.map((w, k) => randomData(w.size, seed + k, -0.8, 0.8)));
  return layer;
}

async function check(model: Model, storage = STORAGE, batch = 2): Promise<GpuRun> {
  const run = await expectGpuMatchesInterpreter(model, { batch, profile: { ...PROFILES.cpu, workgroupStorage: storage }, ...TOL });
  runs.push(run);
  const wgsl = [...run.compiled.bundle.files].filter(([name]) => name.endsWith('.wgsl')).map(([, bytes]) => new TextDecoder().decode(bytes));
  expect(wgsl.some((text) => text.includes('fn gRow'))).toBe(true);
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
    ['same; 40 filters (a partial second channel block); odd height and width (partial tiles)', { filters: 40, kernelSize: 3, padding: 'same' }, [11, 19, 6]],
    ['valid; 3 input channels (a partial chunk)', { filters: 12, kernelSize: 3, padding: 'valid' }, [13, 14, 3]],
    ['same; 37 wide (more tiles than one workgroup row); 9 input channels (two chunks, the second partial)', { filters: 8, kernelSize: 3, padding: 'same' }, [5, 37, 9]],
    ['same; one pixel wide (one tile column, 32 tile rows a workgroup)', { filters: 33, kernelSize: 3, padding: 'same' }, [40, 1, 16]],
  ] as const)('%s', async (_, args, shape) => {
    await check(single(args, [...shape]));
  });

  it('lays out 32 KiB as 4-channel chunks in four output passes', () => {
    const g = convGeometry({ op: 'conv2d', attrs: { padding: 'same' } } as never, [2, 32, 32, 32], [3, 3, 32, 32]);
    expect(winogradTile(g, STORAGE)).toMatchObject({ chunk: 4, rounds: 4 });
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

  it('stages 8-channel chunks in two output passes with 48 KiB (an NVIDIA GPU; test/device runs it there), in one with 68 KiB', () => {
    const g = convGeometry({ op: 'conv2d', attrs: { padding: 'same' } } as never, [2, 32, 32, 32], [3, 3, 32, 32]);
    expect(winogradTile(g, 49152)).toMatchObject({ chunk: 8, rounds: 2, rows: 4, cols: 8 });
    expect(winogradTile(g, 69632)).toMatchObject({ chunk: 8, rounds: 1 });
  });

  it('runs only 3×3, stride-1, undilated convs, and needs 18.5 KiB of workgroup memory', () => {
    const geometry = (attrs: Record<string, unknown>, w = [3, 3, 4, 8]) => convGeometry({ op: 'conv2d', attrs } as never, [1, 8, 8, 4], w);
    expect(winogradTile(geometry({ padding: 'same' }), 65536)).toBeDefined();
    expect(winogradTile(geometry({ padding: 'same', strides: [2, 2] }), 65536)).toBeUndefined();
    expect(winogradTile(geometry({ padding: 'same', dilations: [2, 2] }), 65536)).toBeUndefined();
    expect(winogradTile(geometry({ padding: 'same' }, [5, 5, 4, 8]), 65536)).toBeUndefined();
    expect(winogradTile(geometry({ padding: 'same' }), 16384)).toBeUndefined();
    expect(winogradTile(geometry({ padding: 'same' }), 18944)).toMatchObject({ chunk: 4, rounds: 4 });
  });
});
