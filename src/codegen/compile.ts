import type { Model } from '../frontend/model.js';
import { ModelError } from '../ir/errors.js';
import { inference, runPipeline } from '../passes/pipelines.js';
import type { Program } from '../passes/program.js';
import type { Bundle } from '../runtime/format.js';
import { buildBundle, type BundleReport } from './bundle.js';
import { Net } from '../runtime/net.js';
import { openDevice, type GpuContext } from '../runtime/gpu.js';
import { gemmPrecision, profileForAdapter, PROFILES, type Precision, type TargetProfile } from './profile.js';
import { compileOnDevices, warnUnplaced, type DeviceOptions } from './compile-devices.js';
import type { ReplicatedNet } from '../runtime/replicas.js';
import type { PlacedNet } from '../runtime/placed.js';
import { loadCachedTuning, withTuning, type TuningTable } from './tuning.js';
import { policyPrecision } from '../frontend/policy.js';
import { chooseMicroBatch, type PredictMicroBatch } from './micro-batch.js';

/** Options of compiling a model. */
export interface CompileOptions {
  /** Only inference is compiled so far; training arrives with the training issue. */
  mode?: 'inference';
  /** The batch size baked into every shape (default 1). A bundle runs exactly this batch. */
  batch?: number;
  /** Validate the graph after every pass. */
  check?: boolean;
  /** Called with each pass's name and its result (`kiln compile --dump-after`). */
  onPass?: (name: string, program: Program) => void;
  /** What to tune the kernels for (default: a GPU). */
  profile?: TargetProfile;
  /** Tile choices timed on an adapter (`kiln tune`); `compile` with a device reads that adapter's cache by default. */
  tuning?: TuningTable;
  /**
   * GEMM arithmetic (matmul, conv2d): 'float32' (default, the reference) or 'mixed', f16 operands with f32
   * accumulation, on tensor cores where the target has subgroup matrices, else in f16 tiles; without
   * 'shader-f16' it falls back to float32 and `compile` says so.
   */
  precision?: Precision;
  /**
   * Samples of one run of the steps (default 'auto'): a call of `batch` samples runs batch / microBatch
   * of them, each micro-batch's host upload written while the GPU computes the one before. 'auto' cuts a
   * call only where that pays (MICRO_BATCH_RULE: a large upload and heavy kernels); `microBatch: batch`
   * keeps one run. The Net still takes and returns the whole batch.
   */
  microBatch?: PredictMicroBatch;
}

/** A compiled model in memory, with what went into it. */
export interface Compiled {
  readonly bundle: Bundle;
  readonly program: Program;
  readonly report: BundleReport;
  /** Milliseconds from the traced graph to the finished bundle. */
  readonly millis: number;
}

/** Compiles a model (or an already traced program) into a bundle in memory: passes, then codegen. */
export function compileBundle(model: Model | { name: string; program: Program }, options: CompileOptions = {}): Compiled {
  const mode = options.mode ?? 'inference';
  if (mode !== 'inference') throw new ModelError(`compile mode '${mode}' is not supported yet: kiln compiles inference only until training lands`);
  const batch = options.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new ModelError(`batch must be a positive integer, got ${batch}`);
  const start = performance.now();
  const source = 'program' in model ? model.program : { graph: model.toGraph(), weights: model.weightValues() };
  const name = model.name;
  // A model with Keras mixed_float16 layers compiles mixed unless the options say otherwise.
  const precision = options.precision ?? ('program' in model ? undefined : asMixed(policyPrecision(model)));
  const profile = precision ? { ...(options.profile ?? PROFILES.gpu), precision } : options.profile;
  // A traced program (an evaluation objective) is cut only when asked.
  const micro = 'program' in model && options.microBatch === undefined ? batch : chooseMicroBatch(source.graph, batch, options.microBatch, gemmPrecision(profile ?? PROFILES.gpu));
  const program = runPipeline(source, inference, { phase: 'inference', batch: micro }, { check: options.check, onPass: options.onPass });
  const { bundle, report } = withTuning(options.tuning, () => buildBundle(program.graph, program.weights, name, micro, { profile, microBatches: batch / micro }));
  return { bundle, program, report, millis: performance.now() - start };
}

/** 'mixed' stays, 'float32' is no request at all (the profile's own precision holds). */
const asMixed = (p: 'float32' | 'mixed') => (p === 'mixed' ? p : undefined);

/** Says so when a profile asked for mixed precision runs its GEMMs in float32 (the adapter lacks 'shader-f16'). */
export function warnIfFloat32(profile: TargetProfile, adapterDescription: string | undefined, warn: (message: string) => void = console.warn): void {
  if (profile.precision === 'mixed' && gemmPrecision(profile) === 'f32') {
    warn(`kiln: precision 'mixed' needs the WebGPU feature 'shader-f16', which ${adapterDescription || 'this adapter'} lacks; compiling in float32`);
  }
}

/** Compiles a model and loads it on the GPU straight from code, no files: `const net = await compile(model, { batch: 256 })`. */
export async function compile(model: Model, options?: CompileOptions & { gpu?: GpuContext; warn?: (message: string) => void; replicas?: undefined; devices?: undefined }): Promise<Net>;
/**
 * With replicas (`{ batch: 4096, replicas: 'all' }`) the batch is split over the adapters; with devices
 * (`{ devices: 'all' }`) a model's device scopes put its parts on gpu:0, gpu:1, … (soft placement:
 * everything on gpu:0, with a warning, where there is one GPU).
 */
export async function compile(model: Model, options: CompileOptions & DeviceOptions & { gpu?: GpuContext }): Promise<Net | ReplicatedNet | PlacedNet>;
export async function compile(model: Model, options: CompileOptions & DeviceOptions & { gpu?: GpuContext } = {}): Promise<Net | ReplicatedNet | PlacedNet> {
  if (options.replicas !== undefined || options.devices !== undefined) return compileOnDevices(model, options);
  warnUnplaced(model, options.warn);
  const gpu = options.gpu ?? (await openDevice());
  const profile = options.profile ?? profileForAdapter(gpu.adapter);
  if ((options.precision ?? policyPrecision(model)) === 'mixed') warnIfFloat32({ ...profile, precision: 'mixed' }, gpu.adapter.description, options.warn);
  return Net.create(compileBundle(model, { tuning: loadCachedTuning(gpu.adapter), ...options, profile }).bundle, gpu);
}
