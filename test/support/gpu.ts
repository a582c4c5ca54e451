/**
 * GPU test harness: compile a model, run the bundle on the machine's WebGPU adapter (lavapipe in
 * CI) with the arena poisoned with NaN, and compare with the reference interpreter.
 */
import { interpretModel, type Model } from '../../src/index.js';
import { compileBundle, type Compiled, type CompileOptions } from '../../src/codegen/index.js';
import { Net, openDevice, type GpuContext, type TensorMap } from '../../src/runtime/index.js';
import { randomData, randomInts } from './random.js';
import { expectClose } from './close.js';

let gpu: Promise<GpuContext> | undefined;

/** One device per test file, opened on first use; a missing adapter fails with the setup instructions. */
export function testGpu(): Promise<GpuContext> {
  gpu ??= openDevice();
  return gpu;
}

/** Seeded random feeds for every input of a compiled bundle (ints in [0, intRange) for int32 inputs). */
export function randomFeeds(compiled: Compiled, seed = 7, intRange = 10): TensorMap {
  return Object.fromEntries(
    compiled.bundle.manifest.model.inputs.map((s, k) => {
      const size = s.shape.reduce((a, b) => a * b, 1);
      return [s.name, s.dtype === 'float32' ? randomData(size, seed + k) : randomInts(size, intRange, seed + k)];
    }),
  );
}

/** What a GPU check returns, for further assertions. */
export interface GpuRun {
  readonly compiled: Compiled;
  readonly net: Net;
  readonly got: TensorMap;
  readonly feeds: TensorMap;
}

/**
 * Compiles `model` for `batch`, runs it on the GPU with a NaN-poisoned arena, and checks every output
 * against the float64 interpreter: |got − want| ≤ atol + rtol·|want|.
 */
export async function expectGpuMatchesInterpreter(
  model: Model,
  options: CompileOptions & { batch: number; rtol?: number; atol?: number; seed?: number; intRange?: number },
): Promise<GpuRun> {
  const compiled = compileBundle(model, { ...options, check: true });
  const net = await Net.create(compiled.bundle, await testGpu());
  const feeds = randomFeeds(compiled, options.seed, options.intRange);
  await net.fill(NaN);
  const got = await net.predict(feeds);
  const names = compiled.bundle.manifest.model.inputs.map((s) => s.name);
  const want = interpretModel(model, names.map((n, k) => ({ shape: compiled.bundle.manifest.model.inputs[k].shape, dtype: compiled.bundle.manifest.model.inputs[k].dtype, data: feeds[n] })));
  for (const [name, value] of Object.entries(want.outputs)) {
    expectClose(got[name], value.data, { rtol: options.rtol ?? 1e-4, atol: options.atol ?? 1e-5 }, `output '${name}'`);
  }
  return { compiled, net, got, feeds };
}
