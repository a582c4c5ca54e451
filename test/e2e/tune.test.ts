/**
 * `kiln tune` on lavapipe with tiny shapes: it times the candidates of each GEMM, the bundle rebuilt
 * with the winners still matches the interpreter, and a later compile for the adapter uses the cache.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Input, Model, clearSession, interpretModel, layers } from '../../src/index.js';
import { compile, compileBundle, writeBundle } from '../../src/codegen/index.js';
import { GEMM_TILINGS, gemmTiles } from '../../src/codegen/lower/gemm.js';
import { HALO_SHAPES } from '../../src/codegen/lower/conv-halo.js';
import { PROFILES } from '../../src/codegen/profile.js';
import { adapterKey, emptyTuning, gemmKey, saveCachedTuning } from '../../src/codegen/tuning.js';
import { Net, readBundle, type TensorMap } from '../../src/runtime/index.js';
import { TUNING_FILE, tuneBundle } from '../../src/cli/tune.js';
import { openTuningDevice, timeSteps } from '../../src/cli/tune-timer.js';
import { main } from '../../src/cli/main.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-tune-'));
const cacheEnv = join(dir, 'cache');
vi.stubEnv('KILN_TUNING_DIR', cacheEnv);
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

const BATCH = 12;
/** A Dense GEMM (12×20·20×24, more rows than the GEMV path takes) and a conv (implicit GEMM or halo kernel) in one model. */
function tinyModel(): Model {
  clearSession();
  const x = Input({ shape: [6, 6, 2] });
  const c = layers.Conv2D(8, 3, { activation: 'relu' })(x);
  const f = layers.Flatten()(c);
  return new Model({ inputs: x, outputs: layers.Dense(24, { activation: 'tanh' })(f) });
}

/** Runs a bundle on NaN-poisoned memory and checks it against the float64 interpreter. */
async function expectMatchesInterpreter(model: Model, net: Net): Promise<void> {
  const s = net.inputs[0];
  const feeds: TensorMap = { [s.name]: randomData(s.shape.reduce((a, b) => a * b, 1), 3) };
  await net.fill(NaN);
  const got = await net.predict(feeds);
  const want = interpretModel(model, [{ shape: s.shape, dtype: 'float32', data: feeds[s.name] }]);
  for (const [name, value] of Object.entries(want.outputs)) expectClose(got[name], value.data, { rtol: 1e-4, atol: 1e-5 }, `output '${name}'`);
}

describe('kiln tune', { timeout: 300_000 }, () => {
  it('times every candidate of each GEMM (and every halo shape of a conv), keeps the fastest, and the rebuilt bundle still matches the interpreter', async () => {
    const model = tinyModel();
    const compiled = compileBundle(model, { batch: BATCH, profile: PROFILES.cpu });
    const tdev = await openTuningDevice();
    const result = await tuneBundle(compiled.bundle, tdev, { targetMs: 1, samples: 1, warmupMs: 50 });
    // The conv (1 image of 4×4 pixels × 12 = 192 rows, 8 channels) and the Dense (12 rows, 24 columns).
    expect(result.problems.map((p) => p.key).sort()).toEqual([gemmKey(12, 24, 1, 128), gemmKey(192, 8, 1, 18)]);
    for (const p of result.problems) {
      // A convolution has no double-buffered kernel: those tilings build its single-buffered twin, timed once.
      expect(p.tried).toHaveLength(p.key === gemmKey(192, 8, 1, 18) ? GEMM_TILINGS.filter((t) => !t.DB).length + HALO_SHAPES.length : GEMM_TILINGS.length);
      const timed = p.tried.filter((t) => t.ms !== undefined);
      expect(timed.length).toBeGreaterThan(1);
      expect(Math.min(...timed.map((t) => t.ms!))).toBe(timed.find((t) => t.tiles === p.winner)!.ms);
      expect(result.table.gemm[p.key]).toEqual(p.winner);
    }
    expect(result.table.adapter).toBe(adapterKey(tdev.adapter));
    expect(JSON.parse(new TextDecoder().decode(result.bundle.files.get(TUNING_FILE)!))).toEqual(result.table);
    // The rebuilt bundle is what compiling with the winners gives.
    const again = compileBundle(model, { batch: BATCH, profile: PROFILES.cpu, tuning: result.table });
    expect(result.bundle.manifest.steps).toEqual(again.bundle.manifest.steps);
    const net = await Net.create(result.bundle, tdev);
    await expectMatchesInterpreter(model, net);
    net.destroy();
    tdev.device.destroy();
  });

  it('a mixed-precision bundle stays mixed: its f16 GEMMs are tuned as f16 GEMMs and it still matches the interpreter within f16 rounding', async () => {
    const model = tinyModel();
    const tdev = await openTuningDevice();
    expect(tdev.adapter.features).toContain('shader-f16');
    const compiled = compileBundle(model, { batch: BATCH, precision: 'mixed', profile: { ...PROFILES.cpu, features: tdev.adapter.features } });
    expect(compiled.bundle.manifest.precision).toBe('mixed');
    // Two candidates keep lavapipe's f16 pipeline builds short; which ones does not matter here.
    const result = await tuneBundle(compiled.bundle, tdev, { targetMs: 1, samples: 1, warmupMs: 50, candidates: GEMM_TILINGS.slice(0, 2) });
    expect(result.problems.length).toBeGreaterThan(0);
    const { manifest, files } = result.bundle;
    expect(manifest.precision).toBe('mixed');
    expect(manifest.features).toEqual(['shader-f16']);
    const dense = manifest.steps.find((st) => st.name.includes('dense'))!;
    expect(new TextDecoder().decode(files.get(manifest.kernels.find((k) => k.id === dense.kernel)!.file))).toMatch(/^enable f16;/m);
    const net = await Net.create(result.bundle, tdev);
    const s = net.inputs[0];
    const x = randomData(s.shape.reduce((a, b) => a * b, 1), 3);
    const got = await net.predict({ [s.name]: x });
    const want = interpretModel(model, [{ shape: s.shape, dtype: 'float32', data: x }]);
    for (const [name, value] of Object.entries(want.outputs)) expectClose(got[name], value.data, { rtol: 1e-2, atol: 2e-3 }, `output '${name}'`);
    net.destroy();
    tdev.device.destroy();
  });

  it('a GEMM split along K under one tiling and whole under another is timed with all of its steps, whatever their number', async () => {
    // The bench mlp's first Dense at batch 256: a GPU profile splits it along K in 4 (a partial GEMM, then a
    // reduction); a tuned tiling for the split GEMM that does not fill the GPU leaves it whole, one step.
    clearSession();
    const x = Input({ shape: [784] });
    const model = new Model({ inputs: x, outputs: layers.Dense(512, { activation: 'relu' })(x) });
    const real = await openTuningDevice();
    // Tuned as on a GPU, whose profile (128 workgroups to fill) is the one that splits.
    const tdev = { ...real, adapter: { ...real.adapter, isFallback: false, architecture: 'test-gpu' } };
    const storage = real.adapter.workgroupStorage;
    const compiled = compileBundle(model, { batch: 256, profile: { ...PROFILES.gpu, workgroupStorage: storage } });
    expect(compiled.bundle.manifest.steps.map((s) => s.name)).toEqual(['dense/matmul', 'dense/matmul']);
    const split = gemmTiles(256, 512, 4, 128, 196, storage);
    const whole = GEMM_TILINGS[0];
    const result = await tuneBundle(compiled.bundle, tdev, { targetMs: 1, samples: 1, warmupMs: 50, candidates: [split, whole] });
    const key = gemmKey(256, 512, 4, 196);
    expect(result.problems.map((p) => p.key)).toEqual([key]);
    expect(result.problems[0].steps).toEqual(['dense/matmul']);
    expect(result.problems[0].tried.map((t) => [t.tiles, t.error])).toEqual([[split, undefined], [whole, undefined]]);
    const net = await Net.create(result.bundle, real);
    await expectMatchesInterpreter(model, net);
    net.destroy();
  });

  it('compile() for an adapter uses the winners cached for it', async () => {
    const model = tinyModel();
    const tdev = await openTuningDevice({ wallOnly: true });
    const key = gemmKey(192, 8, 1, 18);
    const untuned = gemmTiles(192, 8, 1, PROFILES.cpu.minWorkgroups);
    // A tiling the arithmetic would not pick, so only the cache can have chosen it.
    const forced = GEMM_TILINGS.find((t) => t.WX * t.TN === 16 && JSON.stringify(t) !== JSON.stringify(untuned))!;
    saveCachedTuning(tdev.adapter, { ...emptyTuning(tdev.adapter), gemm: { [key]: forced } });
    const net = await compile(model, { batch: BATCH, gpu: tdev });
    const conv = net.manifest.steps.find((s) => s.name.includes('conv2d'))!;
    expect(conv.dispatch).toEqual([Math.ceil(8 / (forced.WX * forced.TN)), Math.ceil(192 / (forced.WY * forced.TM)), 1]);
    expect(net.manifest.kernels.find((k) => k.id === conv.kernel)!.workgroupSize).toEqual([forced.WX, forced.WY, 1]);
    await expectMatchesInterpreter(model, net);
    net.destroy();
    tdev.device.destroy();
  });

  it('a candidate the device refuses (a dispatch past its limits) is an error, not a 0 ms winner', async () => {
    const compiled = compileBundle(tinyModel(), { batch: BATCH, profile: PROFILES.cpu });
    const m = compiled.bundle.manifest;
    const steps = m.steps.map((s, i) => (i === 0 ? { ...s, dispatch: [70000, 1, 1] as [number, number, number] } : s));
    const tdev = await openTuningDevice({ wallOnly: true });
    await expect(timeSteps(tdev, { ...compiled.bundle, manifest: { ...m, steps } }, [0], { targetMs: 1, samples: 1, warmupMs: 50 })).rejects.toThrow(/refused by the device/);
    tdev.device.destroy();
  });

  it('a cached halo winner gives the conv that halo shape', async () => {
    const model = tinyModel();
    const tdev = await openTuningDevice({ wallOnly: true });
    saveCachedTuning(tdev.adapter, { ...emptyTuning(tdev.adapter), gemm: { [gemmKey(192, 8, 1, 18)]: { halo: 1 } } });
    const net = await compile(model, { batch: BATCH, gpu: tdev });
    const conv = net.manifest.steps.find((s) => s.name.includes('conv2d'))!;
    // Shape 1: 8 channels per invocation, so 4 channel groups × 32 pixel groups.
    expect(net.manifest.kernels.find((k) => k.id === conv.kernel)!.workgroupSize).toEqual([4, 32, 1]);
    await expectMatchesInterpreter(model, net);
    net.destroy();
    tdev.device.destroy();
  });

  it('the command rewrites a bundle folder with its winners next to the manifest and caches them', async () => {
    const model = tinyModel();
    const path = join(dir, 'tiny.kiln');
    await writeBundle(compileBundle(model, { batch: BATCH, profile: PROFILES.cpu }).bundle, path);
    let stdout = '';
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${a.join(' ')}\n`));
    const code = await main(['tune', path, '--target-ms', '1']);
    log.mockRestore();
    expect(code).toBe(0);
    expect(stdout).toMatch(/gemm:192x8x1:k18 +(\d+×\d+·\d+×\d+·\d+|halo \d) +[\d.]+ ms/);
    expect(stdout).toMatch(/rewrote .*tiny\.kiln with the winners/);
    const table = JSON.parse(readFileSync(join(path, TUNING_FILE), 'utf8'));
    expect(Object.keys(table.gemm).sort()).toEqual([gemmKey(12, 24, 1, 128), gemmKey(192, 8, 1, 18)]);
    expect(existsSync(join(cacheEnv, `${table.adapter}.json`))).toBe(true);
    const net = await Net.create(await readBundle(path));
    await expectMatchesInterpreter(model, net);
    net.destroy();
  });
});
