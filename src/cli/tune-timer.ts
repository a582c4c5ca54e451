/**
 * Times some steps of a bundle on the GPU for `kiln tune`: the steps' kernels get their own buffers
 * (an arena of the bundle's size, its weights, their params) and are dispatched many times in one
 * pass, timed by GPU timestamps when the adapter has `timestamp-query`, else by wall time.
 */
import { BINDING_ALIGNMENT, BINDINGS, type Bundle } from '../runtime/format.js';
import { AdapterError, BundleError } from '../runtime/errors.js';
import { OPTIONAL_FEATURES, describeDevice, getGpu, type GpuContext } from '../runtime/gpu.js';
import { Arena, kernelLayouts } from '../runtime/arena.js';
import { timestampRunner } from '../runtime/timestamps.js';

/** How steps are timed: GPU timestamps around the pass, or the wall time of a submit and its wait. */
export type TimingMethod = 'timestamp' | 'wall';

/** A device opened for tuning, with timestamps when the adapter has them. */
export interface TuningDevice extends GpuContext {
  readonly method: TimingMethod;
}

const LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY'] as const;

/**
 * Opens the default adapter as openDevice does, with the optional features it has (a mixed bundle's
 * f16 and subgroup matrices), `timestamp-query` left out when `wallOnly`.
 */
export async function openTuningDevice(options: { wallOnly?: boolean } = {}): Promise<TuningDevice> {
  const adapter = await (await getGpu()).requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new AdapterError('kiln tune needs a WebGPU adapter, and found none (see `kiln run --help` for setup)');
  const timestamps = !options.wallOnly && adapter.features.has('timestamp-query');
  const requiredLimits = Object.fromEntries(LIMITS.map((k) => [k, adapter.limits[k]]));
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && (timestamps || f !== 'timestamp-query')) as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  return { device, method: timestamps ? 'timestamp' : 'wall', adapter: { ...describeDevice(adapter, device), features: [...device.features].sort() } };
}

/** Wall milliseconds of warm-up before a measurement counts, by default: a GPU that was idle ran a new kernel's first 0.1–0.3 s up to 4× slower on the H100 (bench/results/2026-11-22-h100-session8-gemm-windows.log). */
export const WARMUP_MS = 500;
/** Wall milliseconds after which warm-up stops even if the windows still disagree. */
const MAX_WARMUP_MS = 5000;

/**
 * Runs `measure` for at least `minMs` of wall time and until two windows in a row agree within 5%
 * (at most MAX_WARMUP_MS); returns every window's value. Agreement alone is not enough: short windows
 * of a GPU still clocking up agree with each other (kiln tune timed a 17 µs GEMM at 82 µs that way,
 * bench/results/2026-11-22-h100-session9-tune-vs-profile.log).
 */
export async function warmUp(measure: () => Promise<number>, minMs = WARMUP_MS): Promise<number[]> {
  const start = performance.now();
  const windows = [await measure()];
  for (;;) {
    windows.push(await measure());
    const [a, b] = windows.slice(-2);
    const elapsed = performance.now() - start;
    if ((Math.abs(a - b) <= 0.05 * Math.min(a, b) && elapsed >= minMs) || elapsed >= MAX_WARMUP_MS) return windows;
  }
}

/** Options of timing. */
export interface TimeOptions {
  /** GPU milliseconds one measurement aims for (more dispatches for fast kernels); default 20. */
  readonly targetMs?: number;
  /** Measurements taken; the median is kept (default 3). */
  readonly samples?: number;
  /** Wall milliseconds of warm-up before the first measurement (default WARMUP_MS). */
  readonly warmupMs?: number;
}

/**
 * Milliseconds one run of `steps` (indices into the bundle's steps, in order) takes on the GPU. Arena
 * contents are whatever is there (zeros): tiling changes no arithmetic, only its order.
 */
export async function timeSteps(tdev: TuningDevice, bundle: Bundle, steps: readonly number[], options: TimeOptions = {}): Promise<number> {
  const { device } = tdev;
  const m = bundle.manifest;
  const decoder = new TextDecoder();
  const arena = new Arena(device, m, GPUBufferUsage.STORAGE);
  device.pushErrorScope('validation');
  // Whole vec4s, as Net sizes them: a kernel may declare the buffers as vec4 arrays.
  const weights = device.createBuffer({ size: Math.max(16, Math.ceil(m.weights.size / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const wbytes = bundle.files.get(m.weights.file);
  if (wbytes && wbytes.byteLength % 4 === 0 && wbytes.byteLength) device.queue.writeBuffer(weights, 0, wbytes as Uint8Array<ArrayBuffer>);
  const params = device.createBuffer({ size: Math.max(1, steps.length) * BINDING_ALIGNMENT, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const layoutFor = kernelLayouts(device);
  const slotsOf = (id: string) => m.kernels.find((x) => x.id === id)?.arenaSlots ?? 1;
  const pipelines = new Map<string, Promise<GPUComputePipeline>>();
  const pipelineOf = (id: string) => {
    if (!pipelines.has(id)) {
      const k = m.kernels.find((x) => x.id === id);
      const code = k && bundle.files.get(k.file);
      if (!k || !code) throw new BundleError(`bundle has no kernel '${id}'`, { kernel: id });
      const layout = device.createPipelineLayout({ bindGroupLayouts: [layoutFor(k.arenaSlots ?? 1)] });
      pipelines.set(id, device.createComputePipelineAsync({ layout, compute: { module: device.createShaderModule({ code: decoder.decode(code) }), entryPoint: k.entryPoint } }));
    }
    return pipelines.get(id)!;
  };
  const work = await Promise.all(
    steps.map(async (i, slot) => {
      const s = m.steps[i];
      if (s.params.length * 4 > BINDING_ALIGNMENT) throw new BundleError(`step '${s.name}' has more operands than kiln tune times`, { step: s.name });
      device.queue.writeBuffer(params, slot * BINDING_ALIGNMENT, new Uint32Array(s.params));
      const slots = slotsOf(s.kernel);
      const bindGroup = device.createBindGroup({
        layout: layoutFor(slots),
        entries: [
          ...arena.entries(s, slots),
          { binding: BINDINGS.weights, resource: { buffer: weights } },
          { binding: BINDINGS.params, resource: { buffer: params, offset: slot * BINDING_ALIGNMENT, size: Math.max(16, Math.ceil((4 * s.params.length) / 16) * 16) } },
        ],
      });
      return { pipeline: await pipelineOf(s.kernel), bindGroup, dispatch: s.dispatch };
    }),
  );
  const error = await device.popErrorScope();
  const destroy = () => [arena, weights, params].forEach((b) => b.destroy());
  if (error) {
    destroy();
    throw new BundleError(`steps ${steps.join(', ')} of '${m.model.name}' could not be set up: ${error.message}`);
  }
  const timer = tdev.method === 'timestamp' ? timestampRunner(device) : undefined;
  /** GPU ms of `n` runs of the steps. */
  const run = async (n: number): Promise<number> => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass(timer ? { timestampWrites: timer.writes } : {});
    for (let r = 0; r < n; r++) {
      for (const w of work) {
        pass.setPipeline(w.pipeline);
        pass.setBindGroup(0, w.bindGroup);
        pass.dispatchWorkgroups(w.dispatch[0], w.dispatch[1], w.dispatch[2]);
      }
    }
    pass.end();
    if (timer) return timer.read(encoder);
    const t = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t;
  };
  try {
    // A candidate the device refuses (a dispatch past its limits) records nothing and would time as 0 ms.
    device.pushErrorScope('validation');
    const first = await run(1);
    const refused = await device.popErrorScope();
    if (refused) throw new BundleError(`steps ${steps.join(', ')} of '${m.model.name}' were refused by the device: ${refused.message.split('\n')[0]}`);
    if (!(first > 0)) throw new BundleError(`steps ${steps.join(', ')} of '${m.model.name}' timed as ${first} ms: no GPU work was measured`);
    const target = options.targetMs ?? 20;
    const n = Math.max(2, Math.min(1000, Math.ceil(target / Math.max(first, 1e-3))));
    const measure = async () => (timer ? (await run(n)) / n : ((await run(2 * n)) - (await run(n))) / n);
    await warmUp(measure, options.warmupMs);
    const per: number[] = [];
    for (let k = 0; k < (options.samples ?? 3); k++) {
      // Wall time: the difference of two runs cancels a submit's fixed cost and its wait.
      per.push(await measure());
    }
    return per.sort((a, b) => a - b)[per.length >> 1];
  } finally {
    timer?.destroy();
    destroy();
  }
}
