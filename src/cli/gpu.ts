/** The GPU side of the commands that run bundles (`kiln run`, `kiln demo`): open a device, say which, run once. */
import type { NDArray } from '../ir/ndarray.js';
import type { Bundle } from '../runtime/format.js';
import { describeAdapter, openDevice, type AdapterDescription, type GpuContext } from '../runtime/gpu.js';
import { Net, type TensorData } from '../runtime/net.js';
import type { RandomInput } from './random-input.js';

/** Software adapters: Dawn flags SwiftShader as a fallback; Mesa's lavapipe (llvmpipe) it may not. */
export function isSoftwareAdapter(a: AdapterDescription): boolean {
  return a.isFallback || /llvmpipe|lavapipe|swiftshader/i.test(`${a.description} ${a.device} ${a.architecture}`);
}

/** Lines naming the adapter, and saying plainly when it is a CPU running WebGPU in software. */
export function adapterLines(a: AdapterDescription): string[] {
  const lines = [`adapter: ${describeAdapter(a)}`];
  if (isSoftwareAdapter(a)) {
    const which = /llvmpipe|lavapipe/i.test(`${a.description} ${a.device}`) ? "Mesa's lavapipe, Vulkan on the CPU" : 'WebGPU emulated on the CPU';
    lines.push(`  this is a software adapter (${which}), not a GPU: it computes the same results, at CPU speed`);
  }
  return lines;
}

/** Opens the default adapter and prints which it is; no adapter fails with the setup instructions. */
export async function openGpu(log: (line: string) => void = console.log): Promise<GpuContext> {
  const gpu = await openDevice();
  for (const line of adapterLines(gpu.adapter)) log(line);
  return gpu;
}

/** GPU data for an input: float32 as Float32Array, int32 and bool as Int32Array (bool is a u32 on the GPU). */
export function gpuData(x: NDArray): TensorData {
  if (x.dtype === 'float32') return x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
  return x.data instanceof Int32Array ? x.data : Int32Array.from(x.data);
}

/** What one GPU run of a bundle gave. */
export interface GpuRunResult {
  readonly outputs: Record<string, NDArray>;
  /** Creating buffers and pipelines. */
  readonly setupMs: number;
  /** One predict: write inputs, one submit, read back. */
  readonly predictMs: number;
}

/** Loads `bundle` on `gpu`, optionally fills the arena with NaN, runs one predict, and frees the buffers. */
export async function runOnce(bundle: Bundle, gpu: GpuContext, inputs: readonly RandomInput[], options: { poison?: boolean } = {}): Promise<GpuRunResult> {
  const t0 = performance.now();
  const net = await Net.create(bundle, gpu);
  try {
    const setupMs = performance.now() - t0;
    if (options.poison) await net.fill(NaN);
    const t1 = performance.now();
    const got = await net.predict(Object.fromEntries(inputs.map((x) => [x.name, gpuData(x.value)])));
    const predictMs = performance.now() - t1;
    const outputs = Object.fromEntries(net.outputs.map((o) => [o.name, { shape: [...o.shape], dtype: o.dtype, data: got[o.name] } satisfies NDArray]));
    return { outputs, setupMs, predictMs };
  } finally {
    net.destroy();
  }
}
