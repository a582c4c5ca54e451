/**
 * An arena larger than the device's largest storage binding is split into pages, each its own
 * buffer: no value crosses a page, each kernel binds windows (at most one binding wide) of the pages
 * its operands lie on, and a paged bundle computes exactly what the one-buffer bundle computes, for
 * predict and for training steps. Tests force limits of a few KiB on small models so the whole path
 * runs on lavapipe.
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
import { arenaLayoutNote } from '../../src/cli/describe.js';
import { randomData } from '../support/random.js';

const nets: { destroy(): void }[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

/** A conv net with a skip and a dense head: values of 0.4–3 KiB a sample, several pages' worth at once. */
function convNet(): Model {
  clearSession();
  const x = Input({ shape: [8, 8, 2], name: 'x' });
  const a = layers.Conv2D(6, 3, { padding: 'same', activation: 'relu' })(x);
  const b = layers.Conv2D(6, 3, { padding: 'same' })(a);
  const pooled = layers.MaxPooling2D(2)(layers.Add()([a, b]));
  const hidden = layers.Dense(24, { activation: 'tanh' })(layers.Flatten()(pooled));
  return new Model({ inputs: x, outputs: layers.Dense(5, { activation: 'softmax' })(hidden), name: 'paged' });
}

/** Arena layouts forced by device limits far below the real ones: bindings of `window` bytes, buffers of `buffer`. */
const LAYOUTS = [
  { name: 'pages one binding wide', window: 8192, buffer: 8192, batch: 4, pages: (n: number) => n >= 2 },
  { name: 'windows of one page', window: 4096, buffer: undefined, batch: 2, pages: (n: number) => n === 1 },
  { name: 'windows of several pages', window: 12288, buffer: 16384, batch: 8, pages: (n: number) => n >= 2 },
] as const;

const limited = (l: (typeof LAYOUTS)[number]): TargetProfile => ({ ...PROFILES.cpu, maxBindingBytes: l.window, ...(l.buffer ? { maxBufferBytes: l.buffer } : {}) });

describe.each(LAYOUTS)('a paged arena: $name', (l) => {
  it('keeps every value inside one page and every kernel operand inside one of its bindings', () => {
    const compiled = compileBundle(convNet(), { batch: l.batch, profile: limited(l) });
    const m = compiled.bundle.manifest;
    expect(m.arena.windowBytes).toBe(l.window);
    const pageBytes = m.arena.pageBytes!;
    expect(l.pages(Math.ceil(m.arena.size / pageBytes)), `${m.arena.size} bytes in pages of ${pageBytes}`).toBe(true);
    const graph = compiled.program.graph;
    const plan = planMemory(graph, { isAlias: (n) => ALIASING_OPS.has(n.op), inArena: (n) => !SOURCE_OPS.has(n.op) || n.op === 'input', pageBytes, windowBytes: l.window });
    for (const [value, slot] of plan.slots) expect(Math.floor(slot.offset / pageBytes), value).toBe(Math.floor((slot.offset + slot.size - 1) / pageBytes));
    for (const s of m.steps) {
      const kernel = m.kernels.find((k) => k.id === s.kernel)!;
      expect(s.slots?.length, s.name).toBe(kernel.arenaSlots ?? 1);
      for (const w of s.slots!) {
        expect(w.offset % 256, s.name).toBe(0);
        expect(w.size, s.name).toBeLessThanOrEqual(l.window);
      }
      // WebGPU refuses two writable bindings of one buffer whose ranges overlap.
      const ranges = [...s.slots!].sort((a, b) => a.page - b.page || a.offset - b.offset);
      ranges.slice(1).forEach((w, k) => w.page === ranges[k].page && expect(w.offset, s.name).toBeGreaterThanOrEqual(ranges[k].offset + ranges[k].size));
    }
    expect(m.kernels.some((k) => (k.arenaSlots ?? 1) > 1)).toBe(true);
    const wgsl = new TextDecoder().decode(compiled.bundle.files.get(m.kernels.find((k) => (k.arenaSlots ?? 1) > 1)!.file)!);
    expect(wgsl).toMatch(/@group\(0\) @binding\(3\) var<storage, read_write> arena1: array<f32>;/);
  });

  it('predicts exactly what one buffer does, with every page poisoned with NaN first', async () => {
    const gpu = await testGpu();
    const model = convNet();
    const [whole, paged] = await Promise.all([compileBundle(model, { batch: l.batch, profile: PROFILES.cpu }), compileBundle(model, { batch: l.batch, profile: limited(l) })].map((c) => Net.create(c.bundle, gpu)));
    nets.push(whole, paged);
    await paged.fill(NaN);
    const x = randomData(l.batch * 8 * 8 * 2, 3);
    const [want, got] = [await whole.predict({ x }), await paged.predict({ x })];
    expect(Array.from(Object.values(got)[0])).toEqual(Array.from(Object.values(want)[0]));
    expect(Object.values(got)[0].every(Number.isFinite)).toBe(true);
  }, 180_000);
});

/** The same device, described as one that binds at most `window` bytes and allocates buffers of at most `buffer`. */
const withLimits = (gpu: GpuContext, window: number, buffer: number): GpuContext => ({ ...gpu, adapter: { ...gpu.adapter, maxBindingBytes: window, maxBufferBytes: buffer } });

describe('a paged arena', () => {
  it('is described on the arena line of kiln compile and kiln inspect', () => {
    expect(arenaLayoutNote({ size: 20401094656, pageBytes: 2 ** 33, windowBytes: 2147483392 })).toBe(' in 3 pages of 8.00 GiB, bound at most 2.00 GiB at a time');
    expect(arenaLayoutNote({ size: 7168 })).toBe('');
  });

  it('leaves an arena that fits one binding exactly as it was: one buffer, no pages in the manifest', () => {
    const m = compileBundle(convNet(), { batch: 4, profile: PROFILES.cpu }).bundle.manifest;
    expect(m.arena.pageBytes).toBeUndefined();
    expect(m.steps.every((s) => s.slots === undefined)).toBe(true);
    expect(m.kernels.every((k) => k.arenaSlots === undefined)).toBe(true);
  });

  it('trains exactly as one buffer does: the same weights after three Adam steps over windows of several pages', async () => {
    const gpu = await testGpu();
    const [one, many] = [convNet(), convNet()];
    many.setWeights(one.getWeights());
    const config = (m: Model) => resolveCompileArgs(m, { optimizer: optimizers.Adam({ learningRate: 0.01 }), loss: 'categoricalCrossentropy' });
    const a = await TrainingSession.create(one, config(one), 4, gpu);
    const b = await TrainingSession.create(many, config(many), 4, withLimits(gpu, 16384, 32768));
    nets.push(a, b);
    expect(b.bundle.manifest.arena).toMatchObject({ windowBytes: 16384, pageBytes: 32768 });
    expect(b.bundle.manifest.arena.size).toBeGreaterThan(32768);
    expect(a.bundle.manifest.arena.pageBytes).toBeUndefined();
    const y = Float32Array.from({ length: 20 }, (_, i) => Number(i % 5 === Math.floor(i / 5) % 5));
    for (let k = 0; k < 3; k++) {
      const x = randomData(4 * 8 * 8 * 2, 11 + k);
      for (const s of [a, b]) await s.step(Object.fromEntries(s.inputNames.map((n, j) => [n, j === 0 ? x : y])));
    }
    await a.pullWeights();
    await b.pullWeights();
    one.weights.forEach((w, i) => expect(Array.from(many.weights[i].read()), w.name).toEqual(Array.from(w.read())));
  }, 180_000);

  it('refuses a value larger than one binding, naming it and both sizes', () => {
    const small: TargetProfile = { ...PROFILES.cpu, maxBindingBytes: 8192 };
    expect(() => compileBundle(convNet(), { batch: 64, profile: small })).toThrow(ValueTooLargeError);
    expect(() => compileBundle(convNet(), { batch: 64, profile: small })).toThrow(/value '.*' \(output 0\) takes \d+ bytes, more than one binding of 8192/);
  });

  it("is refused at load, not at a call, when two of a step's windows overlap", async () => {
    const gpu = await testGpu();
    const { bundle } = compileBundle(convNet(), { batch: 2, profile: { ...PROFILES.cpu, maxBindingBytes: 4096 } });
    const k = bundle.manifest.steps.findIndex((s) => (s.slots?.length ?? 1) > 1);
    const overlapping = bundle.manifest.steps.map((s, i) => (i === k ? { ...s, slots: s.slots!.map((w) => ({ ...w, offset: 0, size: 1024 })) } : s));
    const damaged = { ...bundle, manifest: { ...bundle.manifest, steps: overlapping } };
    await expect(Net.create(damaged, gpu)).rejects.toThrow(/could not be set up on this device: .*aliasing/s);
  });

  it('is refused at load by a device that cannot bind its windows, with what to do', async () => {
    const gpu = await testGpu();
    const { bundle } = compileBundle(convNet(), { batch: 4, profile: { ...PROFILES.cpu, maxBindingBytes: 8192 } });
    const limit = gpu.device.limits.maxStorageBufferBindingSize;
    const huge = { ...bundle, manifest: { ...bundle.manifest, arena: { size: 2 * (limit + 256), pageBytes: 4 * (limit + 256), windowBytes: limit + 256 } } };
    await expect(Net.create(huge, gpu)).rejects.toThrow(BundleError);
    await expect(Net.create(huge, gpu)).rejects.toThrow(/needs arena pages of \d+ bytes bound \d+ at a time, more than this device's largest buffer .* or storage binding .*compile it for this device/);
  });
});
