/**
 * Mixed-precision checks shared by the lavapipe suite (f16 tiles) and the GPU machine's suite (tensor
 * cores, test/device): compile with precision 'mixed', run with NaN-poisoned buffers, compare with the
 * float32 interpreter. Asserts with node:assert, so that both vitest and node:test run it.
 */
import assert from 'node:assert/strict';
import type { Model } from '../../src/index.js';
import { compileBundle } from '../../src/codegen/compile.js';
import { PROFILES, profileForAdapter, type TargetProfile } from '../../src/codegen/profile.js';
import { interpretModel } from '../../src/frontend/run.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from './gpu.js';
import { randomData } from './random.js';
import { expectClose } from './close.js';

/** The nearest float16 value (round to nearest; ties do not occur for random data). */
export function f16round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  const ulp = 2 ** (Math.max(Math.floor(Math.log2(a)), -14) - 10);
  return Math.sign(x) * Math.round(a / ulp) * ulp;
}

/** The test adapter's profile with its features: the CPU profile on lavapipe, the GPU's elsewhere. */
export async function mixedProfile(): Promise<TargetProfile> {
  const gpu = await testGpu();
  return gpu.adapter.isFallback || gpu.adapter.architecture === 'software' ? { ...PROFILES.cpu, features: gpu.adapter.features } : profileForAdapter(gpu.adapter);
}

/** What a mixed check compiled: its GEMM kernels' WGSL, joined. */
export interface MixedRun {
  readonly wgsl: string;
}

/**
 * Compiles `model` mixed (its weights first rounded to f16 where `exact`), runs it on the test GPU with
 * NaN-poisoned buffers on inputs in [-1, 1] (also rounded where `exact`), and compares every output with
 * the float32 interpreter. The bundle must need exactly `features`, and its GEMMs must enable f16.
 */
export async function expectMixed(model: Model, batch: number, tolerance: { rtol: number; atol: number }, exact: boolean, features: readonly string[] = ['shader-f16'], nets: Net[] = []): Promise<MixedRun> {
  if (exact) model.setWeights(model.getWeights().map((w) => Float32Array.from(w, f16round)));
  const compiled = compileBundle(model, { batch, precision: 'mixed', profile: await mixedProfile(), check: true });
  assert.deepEqual(compiled.bundle.manifest.features, features);
  const gemms = compiled.report.kernels.filter((k) => k.features?.includes('shader-f16'));
  assert.ok(gemms.length > 0, 'no kernel uses shader-f16');
  for (const k of gemms) assert.match(k.wgsl, /^enable f16;/m);
  const net = await Net.create(compiled.bundle, await testGpu());
  nets.push(net);
  const sigs = compiled.bundle.manifest.model.inputs;
  const xs = sigs.map((sig, k) => Float32Array.from(randomData(sig.shape.reduce((a, b) => a * b, 1), 5 + k, -1, 1), exact ? f16round : (v) => v));
  await net.fill(NaN);
  const got = await net.predict(Object.fromEntries(sigs.map((sig, k) => [sig.name, xs[k]])));
  const want = interpretModel(model, sigs.map((sig, k) => ({ shape: sig.shape, dtype: 'float32' as const, data: xs[k] })));
  for (const [name, v] of Object.entries(want.outputs)) expectClose(got[name], v.data, tolerance, `output '${name}'`);
  return { wgsl: gemms.map((k) => k.wgsl).join('\n') };
}
