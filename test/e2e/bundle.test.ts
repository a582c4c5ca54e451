import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sequential, layers, clearSession, compile, compileBundle, writeBundle, interpretModel } from '../../src/index.js';
import { loadBundle, readBundle, BundleError, type LoadOptions } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'kiln-bundle-'));
  dirs.push(d);
  return d;
}

function model() {
  clearSession();
  return new Sequential([layers.Dense(6, { activation: 'tanh', inputShape: [5], name: 'hidden' }), layers.Dense(3, { activation: 'softmax', name: 'probs' })]);
}
const x = randomData(4 * 5, 9);

describe('bundles on disk', () => {
  it('a folder bundle and a single-file bundle load and give the interpreter’s result', async () => {
    const m = model();
    const { bundle } = compileBundle(m, { batch: 4 });
    const want = interpretModel(m, x).outputs.probs.data;
    const dir = await tempDir();
    await writeBundle(bundle, join(dir, 'mlp.kiln'));
    await writeBundle(bundle, join(dir, 'mlp.single.kiln'), { singleFile: true });
    for (const path of [join(dir, 'mlp.kiln'), join(dir, 'mlp.single.kiln')]) {
      const net = await loadBundle(path, { gpu: await testGpu() });
      expectClose((await net.predict({ input_layer: x })).probs, want, { rtol: 1e-5, atol: 1e-6 }, path);
      net.destroy();
    }
  });

  it('holds a manifest, kernels, weights and a typed loader whose predict takes the model’s names', async () => {
    const m = model();
    const dir = await tempDir();
    await writeBundle(compileBundle(m, { batch: 4 }).bundle, dir, { overwrite: true });
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.model.inputs).toEqual([expect.objectContaining({ name: 'input_layer', shape: [4, 5], dtype: 'float32' })]);
    expect(manifest.model.outputs).toEqual([expect.objectContaining({ name: 'probs', shape: [4, 3], dtype: 'float32' })]);
    const dts = await readFile(join(dir, 'index.d.ts'), 'utf8');
    expect(dts).toContain('readonly "input_layer": Float32Array | GPUBuffer;');
    expect(dts).toContain('readonly "probs": Float32Array;');
    const loader = await import(join(dir, 'index.ts'));
    const typed = await loader.load(dir, { gpu: await testGpu() });
    expectClose((await typed.predict({ input_layer: x })).probs, interpretModel(m, x).outputs.probs.data, { rtol: 1e-5, atol: 1e-6 });
    typed.destroy();
  });

  it('refuses a bundle of another format version, and a corrupted weights file, by name', async () => {
    const dir = await tempDir();
    await writeBundle(compileBundle(model(), { batch: 2 }).bundle, dir, { overwrite: true });
    const manifestPath = join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    await writeFile(manifestPath, JSON.stringify({ ...manifest, version: 99, kiln: '9.0.0' }));
    await expect(readBundle(dir)).rejects.toThrow(/format version 99 \(written by kiln 9\.0\.0\); this kiln reads versions 1 and 2: compile the model again/);
    // Version 1 is version 2 without arena pages: an unpaged bundle reads the same either way.
    await writeFile(manifestPath, JSON.stringify({ ...manifest, version: 1 }));
    expect((await readBundle(dir)).manifest.version).toBe(1);
    await writeFile(manifestPath, JSON.stringify(manifest));
    const weights = await readFile(join(dir, 'weights.bin'));
    weights[5] ^= 0xff;
    await writeFile(join(dir, 'weights.bin'), weights);
    await expect(readBundle(dir)).rejects.toThrow(/weights file 'weights.bin' is corrupted/);
    await expect(readBundle(join(dir, 'nope'))).rejects.toThrow(BundleError);
  });

  it('without a device, opens one while it reads the bundle, owns it, and reports each phase', async () => {
    const m = model();
    const dir = await tempDir();
    await writeBundle(compileBundle(m, { batch: 4 }).bundle, join(dir, 'mlp.kiln'));
    const phases: LoadOptions['phases'] = {};
    const net = await loadBundle(join(dir, 'mlp.kiln'), { phases });
    expect(Object.keys(phases).sort()).toEqual(['device', 'read', 'setup']);
    expect(Object.values(phases).every((ms) => ms! >= 0)).toBe(true);
    expectClose((await net.predict({ input_layer: x })).probs, interpretModel(m, x).outputs.probs.data, { rtol: 1e-5, atol: 1e-6 });
    const lost = net.device.lost;
    net.destroy();
    expect((await lost).reason).toBe('destroyed');
    // A bundle that cannot be read still fails by name, the device opened meanwhile given back.
    await expect(loadBundle(join(dir, 'nope'))).rejects.toThrow(BundleError);
  });

  it('refuses to overwrite a path that is not a bundle', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await expect(writeBundle(compileBundle(model(), { batch: 1 }).bundle, join(dir, 'notes.txt'))).rejects.toThrow(/not a kiln bundle; refusing to overwrite/);
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('compile() straight from code', () => {
  it('returns a net that predicts', async () => {
    const m = model();
    const net = await compile(m, { batch: 4, gpu: await testGpu() });
    expectClose((await net.predict({ input_layer: x })).probs, interpretModel(m, x).outputs.probs.data, { rtol: 1e-5, atol: 1e-6 });
    net.destroy();
  });
});
