import { experimentEnv } from './experiment-env.js';

/**
 * What codegen tunes for, since a bundle is compiled ahead of the device it runs on. A GPU wants many
 * workgroups to fill its units; a CPU adapter (lavapipe, SwiftShader) runs a few threads, each best
 * with large blocks of work.
 */
export interface TargetProfile {
  readonly name: 'gpu' | 'cpu';
  /** The fewest workgroups a GEMM may use before smaller tiles are preferred. */
  readonly minWorkgroups: number;
  /** GEMMs (matmul, conv) in f32, or with f16 operands and f32 accumulation ('mixed', opt-in). */
  readonly precision?: Precision;
  /** WebGPU features the target has (mixed precision needs 'shader-f16'; tensor cores 'chromium-experimental-subgroup-matrix'). */
  readonly features?: readonly string[];
  /** Bytes of workgroup memory a kernel may use: the device's limit when compiled for one (tensor-core tilings need more than WebGPU's default 16 KiB). */
  readonly workgroupStorage?: number;
  /** The largest storage buffer binding, in bytes: the device's limit when compiled for one; no binding of the arena covers more. */
  readonly maxBindingBytes?: number;
  /** The largest buffer, in bytes: the device's maxBufferSize when compiled for one; an arena page is no larger. */
  readonly maxBufferBytes?: number;
}

/** WebGPU's default maxComputeWorkgroupStorageSize: what a target without a device's limit is assumed to give. */
export const DEFAULT_WORKGROUP_STORAGE = 16384;
/** WebGPU's default maxStorageBufferBindingSize, which every device offers: the binding window of a bundle compiled for no device in particular. */
export const DEFAULT_BINDING_BYTES = 128 * 2 ** 20;
/** WebGPU's default maxBufferSize, likewise. */
export const DEFAULT_BUFFER_BYTES = 256 * 2 ** 20;
/** The largest arena page kiln allocates as one buffer, whatever the device allows: one huge allocation fails more readily than several. */
export const PAGE_CAP_BYTES = 8 * 2 ** 30;

const floor256 = (n: number) => Math.floor(n / 256) * 256;

/**
 * How a profile lays out a large arena: `windowBytes`, the most one binding covers (the binding limit,
 * or the KILN_ARENA_WINDOW_BYTES experiment knob if smaller), and `pageBytes`, the size of each
 * buffer: the largest power of two within the buffer limit (KILN_ARENA_PAGE_BYTES if smaller) and
 * PAGE_CAP_BYTES, but never less than a window. Powers of two, because values often are: four 512 MiB
 * activations fit an 8 GiB page sixteen times, and a page one window wide (2 GiB less 4 bytes) three times.
 */
export function arenaLayoutBytes(profile: TargetProfile): { windowBytes: number; pageBytes: number } {
  const knob = (name: string) => Number(experimentEnv(name) ?? Infinity);
  const windowBytes = floor256(Math.min(knob('KILN_ARENA_WINDOW_BYTES'), profile.maxBindingBytes ?? DEFAULT_BINDING_BYTES));
  const bufferBytes = Math.min(knob('KILN_ARENA_PAGE_BYTES'), profile.maxBufferBytes ?? DEFAULT_BUFFER_BYTES, PAGE_CAP_BYTES);
  return { windowBytes, pageBytes: Math.max(windowBytes, 2 ** Math.floor(Math.log2(bufferBytes))) };
}

/** Arithmetic of GEMMs: 'float32' (default, the reference) or 'mixed' (f16 operands, f32 accumulation). */
export type Precision = 'float32' | 'mixed';

/** Features a tensor-core (subgroup-matrix) GEMM needs, as WebGPU names them. */
export const MMA_FEATURES = ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'] as const;

/** How GEMMs run on a profile: f32 tiles, f16 tiles (f32 accumulation), or tensor cores. */
export function gemmPrecision(profile: TargetProfile): 'f32' | 'f16' | 'mma' {
  if (profile.precision !== 'mixed') return 'f32';
  const has = (f: string) => profile.features?.includes(f) ?? false;
  if (MMA_FEATURES.every(has)) return 'mma';
  return has('shader-f16') ? 'f16' : 'f32';
}

/** The profiles kiln knows, by name. */
export const PROFILES: Readonly<Record<TargetProfile['name'], TargetProfile>> = {
  gpu: { name: 'gpu', minWorkgroups: 128 },
  cpu: { name: 'cpu', minWorkgroups: 2 },
};

/** The profile for an adapter (software adapters run on the CPU), with its GEMMs in `precision`. */
export function profileForAdapter(adapter: { isFallback: boolean; architecture?: string; features?: readonly string[]; workgroupStorage?: number; maxBindingBytes?: number; maxBufferBytes?: number }, precision: Precision = 'float32'): TargetProfile {
  const base = adapter.isFallback || adapter.architecture === 'software' ? PROFILES.cpu : PROFILES.gpu;
  return {
    ...base,
    ...(precision === 'mixed' ? { precision } : {}),
    ...(adapter.features ? { features: adapter.features } : {}),
    // A CPU adapter keeps WebGPU's default, so the largest tilings stay off it: lavapipe takes most of a minute to compile a 128×256 GEMM.
    ...(adapter.workgroupStorage && base === PROFILES.gpu ? { workgroupStorage: adapter.workgroupStorage } : {}),
    ...(adapter.maxBindingBytes ? { maxBindingBytes: adapter.maxBindingBytes } : {}),
    ...(adapter.maxBufferBytes ? { maxBufferBytes: adapter.maxBufferBytes } : {}),
  };
}
