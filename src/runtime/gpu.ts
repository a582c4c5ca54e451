import { AdapterError } from './errors.js';

/** What the runtime learned about the adapter it opened. */
export interface AdapterDescription {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** True for software adapters (lavapipe, SwiftShader). */
  readonly isFallback: boolean;
  /** The features the device was opened with. */
  readonly features?: readonly string[];
  /** The device's maxComputeWorkgroupStorageSize, in bytes (opened with the adapter's). */
  readonly workgroupStorage?: number;
  /** The largest buffer a kernel may bind as storage, in bytes: min(maxStorageBufferBindingSize, maxBufferSize) of the device. */
  readonly maxBindingBytes?: number;
  /** The device's maxBufferSize, in bytes. */
  readonly maxBufferBytes?: number;
}

/** An open device and the adapter behind it. */
export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapter: AdapterDescription;
}

const INSTALL_HELP = [
  'kiln needs a WebGPU adapter, and found none.',
  '  On Debian/Ubuntu without a GPU: run `bash scripts/setup.sh` in the kiln folder (as root it installs',
  '  Mesa ≥ 24 lavapipe: `apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1` on bookworm).',
  '  Elsewhere: install a Vulkan driver (your GPU vendor\'s, or Mesa ≥ 24 lavapipe) and the Vulkan loader',
  '  (libvulkan1 / vulkan-loader), and set XDG_RUNTIME_DIR if it is unset.',
].join('\n');

const BROWSER_HELP = 'kiln needs WebGPU, and this browser has none (no navigator.gpu): use a browser with WebGPU enabled, on a secure context (https or localhost).';

/** True in Node (and runtimes that mimic it), where Dawn and the file system are available. */
export function isNode(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
}

let gpuPromise: Promise<GPU> | undefined;

/**
 * Dawn instance flags in Node: NVIDIA's Vulkan driver reports `shader-f16` and subgroup matrices
 * (tensor cores from WGSL) only with the enabled toggles; features are still requested only when a
 * bundle is mixed precision. Timestamps keep their full precision (browsers coarsen them against
 * timing attacks; kiln's profilers and `kiln tune` read them).
 */
export const DAWN_FLAGS: readonly string[] = ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia', 'disable-dawn-features=timestamp_quantization'];

/** Features a device is opened with when its adapter has them: mixed-precision kernels and GPU timestamps. */
export const OPTIONAL_FEATURES: readonly string[] = ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix', 'timestamp-query'];

/** WebGPU's entry point: the browser's `navigator.gpu`, else Dawn through the `webgpu` package in Node. */
export function getGpu(): Promise<GPU> {
  gpuPromise ??= (async () => {
    const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
    if (nav?.gpu) return nav.gpu;
    // Only Node goes on to Dawn; a browser without navigator.gpu must never reach the `webgpu` import.
    if (!isNode()) throw new AdapterError(BROWSER_HELP);
    return (await loadDawn())([...DAWN_FLAGS]);
  })();
  return gpuPromise;
}

/** Dawn's `create(flags)` from the `webgpu` package (Node only); its globals (GPUBufferUsage, …) are installed once. */
export async function loadDawn(): Promise<(flags: string[]) => GPU> {
  process.env.XDG_RUNTIME_DIR ??= `/tmp/runtime-${process.getuid?.() ?? 0}`;
  const dawn = 'webgpu';
  const { create, globals } = (await import(/* @vite-ignore */ dawn)) as { create: (flags: string[]) => GPU; globals: object };
  Object.assign(globalThis, globals);
  return create;
}

/** Opens a device on the default adapter with the adapter's own limits; fails with install instructions when there is none. */
export async function openDevice(options: { powerPreference?: GPUPowerPreference; gpu?: GPU; adapter?: GPUAdapter } = {}): Promise<GpuContext> {
  const adapter = options.adapter ?? (await (options.gpu ?? (await getGpu())).requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' }));
  if (!adapter) throw new AdapterError(INSTALL_HELP);
  const wanted: Record<string, number> = {};
  for (const key of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY'] as const) {
    wanted[key] = adapter.limits[key];
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredLimits: wanted, requiredFeatures });
  return { device, adapter: { ...describeDevice(adapter, device), features: [...device.features].sort() } };
}

/** What codegen needs to know of an opened device: the adapter's identity and the device's limits. */
export function describeDevice(adapter: GPUAdapter, device: GPUDevice): AdapterDescription {
  const info = adapter.info;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallback: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
    workgroupStorage: device.limits.maxComputeWorkgroupStorageSize,
    maxBindingBytes: Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize),
    maxBufferBytes: device.limits.maxBufferSize,
  };
}

/** One line naming an adapter, for logs: `mesa llvmpipe (software)`. */
export function describeAdapter(a: AdapterDescription): string {
  const name = a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' ');
  return `${name}${a.isFallback ? ' (software adapter)' : ''}`;
}
