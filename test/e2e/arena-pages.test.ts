/**
 * An arena larger than the device's largest storage binding is split into pages, each its own
 * buffer: no value crosses a page, each kernel binds the pages its operands lie on, and a paged
 * bundle computes exactly what the one-buffer bundle computes, for predict and for training steps.
 * Tests force pages of a few KiB on small models so the whole path runs on lavapipe.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Input, Model, clearSession, layers, optimizers } from '../../src/index.js';
import { compileBundle } from '../../src/codegen/index.js';
import { planMemory, ValueTooLargeError } from '../../src/codegen/plan.js';
import { ALIASING_OPS, SOURCE_OPS } from '../../src/codegen/lower/index.js';
import { PROFILES, type TargetProfile } from '../../src/codegen/profile.js';
import { BundleError, Net, type GpuContext } from '../../src/runtime/index.js';
import { TrainingSession } from '../../src/training/session.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';

const PAGE = 8192;
const nets: { destroy(): void }[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

/** A conv net with a skip and a dense head: several values of 1–3 KiB at batch 4, a few pages' worth at once. */
function convNet(): Model {
  clearSession();
  const x = Input({ shape: [8, 8, 2], name: 'x' });
  const a = layers.Conv2D(6, 3, { padding: 'same', activation: 'relu' })(x);
  const b = layers.Conv2D(6, 3, { padding: 'same' })(a);
  const pooled = layers.MaxPooling2D(2)(layers.Add()([a, b]));
  const hidden = layers.Dense(24, { activation: 'tanh' })(layers.Flatten()(pooled));
  return new Model({ inputs: x, outputs: layers.Dense(5, { activation: 'softmax' })(hidden), name: 'paged' });
}

/** The same device, described as one that binds at most `bytes` per storage buffer. */
const withBindingLimit = (gpu: GpuContext, bytes: number): GpuContext => ({ ...gpu, adapter: { ...gpu.adapter, maxBindingBytes: bytes } });
const small: TargetProfile = { ...PROFILES.cpu, maxBindingBytes: PAGE };

describe('a paged arena', () => {
  it('keeps every value inside one page and gives each kernel the pages it touches', () => {
    const compiled = compileBundle(convNet(), { batch: 4, profile: small });
    const m = compiled.bundle.manifest;
    expect(m.arena.pageBytes).toBe(PAGE);
    expect(m.arena.size).toBeGreaterThan(PAGE);
    const graph = compiled.program.graph;
    const plan = planMemory(graph, { isAlias: (n) => ALIASING_OPS.has(n.op), inArena: (n) => !SOURCE_OPS.has(n.op) || n.op === 'input', pageBytes: PAGE });
    for (const [value, slot] of plan.slots) expect(Math.floor(slot.offset / PAGE), value).toBe(Math.floor((slot.offset + slot.size - 1) / PAGE));
    for (const s of m.steps) {
      const kernel = m.kernels.find((k) => k.id === s.kernel)!;
      expect(s.pages?.length, s.name).toBe(kernel.arenaSlots ?? 1);
      expect(new Set(s.pages).size, s.name).toBe(s.pages!.length);
      for (const offset of s.params) expect(offset * 4, s.name).toBeLessThan(Math.max(PAGE, m.weights.size));
    }
    expect(m.kernels.some((k) => (k.arenaSlots ?? 1) > 1)).toBe(true);
    const wgsl = new TextDecoder().decode(compiled.bundle.files.get(m.kernels.find((k) => (k.arenaSlots ?? 1) > 1)!.file)!);
    expect(wgsl).toMatch(/@group\(0\) @binding\(3\) var<storage, read_write> arena1: array<f32>;/);
  });

  it('leaves an arena that fits one page exactly as it was: one buffer, no pages in the manifest', () => {
    const m = compileBundle(convNet(), { batch: 4, profile: PROFILES.cpu }).bundle.manifest;
    expect(m.arena.pageBytes).toBeUndefined();
    expect(m.steps.every((s) => s.pages === undefined)).toBe(true);
    expect(m.kernels.every((k) => k.arenaSlots === undefined)).toBe(true);
  });

  it('predicts exactly what one buffer does, with every page poisoned with NaN first', async () => {
    const gpu = await testGpu();
    const model = convNet();
    const [whole, paged] = await Promise.all([compileBundle(model, { batch: 4, profile: PROFILES.cpu }), compileBundle(model, { batch: 4, profile: small })].map((c) => Net.create(c.bundle, gpu)));
    nets.push(whole, paged);
    await paged.fill(NaN);
    const x = randomData(4 * 8 * 8 * 2, 3);
    const [want, got] = [await whole.predict({ x }), await paged.predict({ x })];
    expect(Array.from(Object.values(got)[0])).toEqual(Array.from(Object.values(want)[0]));
    expect(Object.values(got)[0].every(Number.isFinite)).toBe(true);
  });

  it('trains exactly as one buffer does: the same weights after three Adam steps', async () => {
    const gpu = await testGpu();
    const [one, many] = [convNet(), convNet()];
    many.setWeights(one.getWeights());
    const config = (m: Model) => resolveCompileArgs(m, { optimizer: optimizers.Adam({ learningRate: 0.01 }), loss: 'categoricalCrossentropy' });
    const a = await TrainingSession.create(one, config(one), 4, gpu);
    const b = await TrainingSession.create(many, config(many), 4, withBindingLimit(gpu, 2 * PAGE));
    nets.push(a, b);
    expect(b.bundle.manifest.arena.pageBytes).toBe(2 * PAGE);
    expect(a.bundle.manifest.arena.pageBytes).toBeUndefined();
    const y = Float32Array.from({ length: 20 }, (_, i) => Number(i % 5 === Math.floor(i / 5) % 5));
    for (let k = 0; k < 3; k++) {
      const x = randomData(4 * 8 * 8 * 2, 11 + k);
      for (const s of [a, b]) await s.step(Object.fromEntries(s.inputNames.map((n, j) => [n, j === 0 ? x : y])));
    }
    await a.pullWeights();
    await b.pullWeights();
    one.weights.forEach((w, i) => expect(Array.from(many.weights[i].read()), w.name).toEqual(Array.from(w.read())));
  });

  it('refuses a value larger than a page, naming it and both sizes', () => {
    expect(() => compileBundle(convNet(), { batch: 64, profile: small })).toThrow(ValueTooLargeError);
    expect(() => compileBundle(convNet(), { batch: 64, profile: small })).toThrow(/value '.*' \(output 0\) takes \d+ bytes, more than one arena page of 8192/);
  });

  it('is refused at load by a device that cannot bind its pages, with what to do', async () => {
    const gpu = await testGpu();
    const { bundle } = compileBundle(convNet(), { batch: 4, profile: small });
    const limit = gpu.device.limits.maxStorageBufferBindingSize;
    const huge = { ...bundle, manifest: { ...bundle.manifest, arena: { size: 2 * (limit + 256), pageBytes: limit + 256 } } };
    await expect(Net.create(huge, gpu)).rejects.toThrow(BundleError);
    await expect(Net.create(huge, gpu)).rejects.toThrow(/needs arena pages of \d+ bytes, more than this device's largest storage binding .*compile it for this device/);
  });
});
