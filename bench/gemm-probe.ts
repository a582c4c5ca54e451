// The shared setup of the GEMM probes (bench/mma-split.ts, bench/alloc-probe.ts): a device opened
// with the mixed-precision toggles and one SIZE³ GEMM (a Dense layer, no bias) compiled for it.
import { Input, Model, clearSession, layers } from '../src/index.js';
import { compileBundle, type Compiled } from '../src/codegen/index.js';
import { profileForAdapter, type Precision } from '../src/codegen/profile.js';
import { openDevice, type GpuContext } from '../src/runtime/index.js';
import { dawnFlags, installDawn } from './common.js';

/** The device, the GEMM's size and its compiled bundle; SIZE (default 4096) from the environment. */
export async function gemmProbe(precision: Precision): Promise<{ gpu: GpuContext; size: number; compiled: Compiled }> {
  await installDawn(dawnFlags(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']));
  const gpu = await openDevice();
  const size = Number(process.env.SIZE ?? 4096);
  clearSession();
  const x = Input({ shape: [size] });
  const model = new Model({ inputs: x, outputs: layers.Dense(size, { useBias: false })(x) });
  return { gpu, size, compiled: compileBundle(model, { batch: size, profile: profileForAdapter(gpu.adapter), precision }) };
}

/** A line naming a measurement, its milliseconds and the GEMM's TFLOP/s. */
export const tflopsLine = (what: string, ms: number, size: number) => `${what.padEnd(48)} ${ms.toFixed(3)} ms ${((2 * size ** 3) / (ms * 1e9)).toFixed(1)} TFLOP/s`;
