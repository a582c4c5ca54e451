// The shared setup of the GEMM probes (bench/mma-split.ts, bench/alloc-probe.ts): a device opened
// with the mixed-precision toggles and one SIZE³ GEMM (a Dense layer, no bias) compiled for it.
import { Input, Model, clearSession, layers } from '../src/index.js';
import { compileBundle, type Compiled } from '../src/codegen/index.js';
import { profileForAdapter, type Precision } from '../src/codegen/profile.js';
import { Net, openDevice, type GpuContext } from '../src/runtime/index.js';
import { dawnFlags, installDawn } from './common.js';

/** The device, the GEMM's size and its compiled bundle; SIZE (default 4096) from the environment. */
export async function gemmProbe(precision: Precision): Promise<{ gpu: GpuContext; size: number; compiled: Compiled }> {
  await installDawn(dawnFlags(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']));
  const gpu = await openDevice();
  const size = Number(process.env.SIZE ?? 4096);
  clearSession();
  const x = Input({ shape: [size] });
  const model = new Model({ inputs: x, outputs: layers.Dense(size, { useBias: false })(x) });
  return { gpu, size, compiled: compileBundle(model, { batch: size, microBatch: size, profile: profileForAdapter(gpu.adapter), precision }) };
}

/** A line naming a measurement, its milliseconds and the GEMM's TFLOP/s. */
export const tflopsLine = (what: string, ms: number, size: number) => `${what.padEnd(48)} ${ms.toFixed(3)} ms ${((2 * size ** 3) / (ms * 1e9)).toFixed(1)} TFLOP/s`;

/** The probe GEMM's WGSL, as compiled. */
export function probeWgsl(compiled: Compiled): string {
  const file = [...compiled.bundle.files.keys()].find((f) => f.endsWith('.wgsl'))!;
  return new TextDecoder().decode(compiled.bundle.files.get(file)!);
}

/** Times each variant (an edit of the probe's WGSL) alone by GPU timestamps, one line each; `label` prefixes the names. */
export async function timeVariants(probe: { gpu: GpuContext; size: number; compiled: Compiled }, variants: Record<string, (wgsl: string) => string>, label = ''): Promise<void> {
  const { gpu, size, compiled } = probe;
  const file = [...compiled.bundle.files.keys()].find((f) => f.endsWith('.wgsl'))!;
  const base = probeWgsl(compiled);
  for (const [name, edit] of Object.entries(variants)) {
    const files = new Map(compiled.bundle.files);
    files.set(file, new TextEncoder().encode(edit(base)));
    try {
      const net = await Net.create({ ...compiled.bundle, files }, gpu);
      await net.timeSteps(3);
      const ms = (await net.timeSteps(20)).reduce((a, t) => a + t.ms, 0);
      console.log(tflopsLine(`${label}${name}`, ms, size));
      net.destroy();
    } catch (e) {
      console.log(`${label}${name}: ${(e as Error).message.slice(0, 300)}`);
    }
  }
}
