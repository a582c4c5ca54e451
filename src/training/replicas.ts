/**
 * Synchronous data-parallel training (as MirroredStrategy): one replica of the training step per
 * device, each on an equal slice of the batch. A step submits every replica's gradient phase, reads
 * all gradients, losses and metrics back at once (the readbacks overlap), averages them on the host,
 * writes the mean into every replica and submits the update phases, which read nothing back. The next
 * step's inputs are sliced while the GPUs work; steps run strictly one after another.
 *
 * A slice larger than one arena holds runs as micro-batches (src/training/micro-batch.ts): each
 * replica runs its gradient phase on consecutive equal sub-slices, queued together so every replica's
 * next micro-batch is submitted as soon as its previous readback is in, and the host sums them before
 * the mean; one update covers the whole batch. One device works too: a single-device step that needs
 * micro-batches.
 */
import { warnIfFloat32 } from '../codegen/compile.js';
import type { Model } from '../frontend/model.js';
import { ModelError } from '../ir/errors.js';
import { buildBundle } from '../codegen/bundle.js';
import { profileForAdapter } from '../codegen/profile.js';
import { Net, type TensorData, type TensorMap } from '../runtime/net.js';
import type { GpuContext } from '../runtime/gpu.js';
import type { Bundle } from '../runtime/format.js';
import { NAN_STEP, STEPS, sumOf } from './accumulate.js';
import { REDUCED, dataParallelProgram, type DataParallelStep, type Exchange } from './data-parallel.js';
import { chooseMicroBatch, type MicroBatch } from './micro-batch.js';
import { ValueTooLargeError } from '../codegen/plan.js';
import { TrainingSession, type CompiledStep } from './session.js';
import { OutOfMemoryError } from '../runtime/errors.js';
import type { CompiledConfig } from './config.js';

/** Options of DataParallelSession.create. */
export interface DataParallelOptions {
  /** Resolve each step with the mean loss (it is read back with the gradients anyway). */
  readonly readLoss?: boolean;
  /** Destroy the devices with the session. */
  readonly ownDevices?: boolean;
  /** Samples per compiled micro-batch of each replica; default 'auto': the whole slice when its step fits (see chooseMicroBatch), else the largest divisor of it that does. */
  readonly microBatch?: MicroBatch;
  /** The most bytes one arena may take (a memory budget); default: none, the arena is paged at the devices' binding limit. */
  readonly arenaLimit?: number;
}

/** A replica's step compiled at its micro-batch, before it is loaded anywhere. */
export interface DataParallelPlan {
  readonly step: DataParallelStep;
  readonly bundle: Bundle;
  /** The first step of the update phase. */
  readonly splitStep: number;
  /** Samples per compiled micro-batch. */
  readonly microBatch: number;
}

/** Compiles a replica's step for batch / devices.length samples, at the micro-batch the options ask for or the largest that fits. */
export function planDataParallel(model: Model, config: CompiledConfig, batch: number, devices: readonly GpuContext[], options: DataParallelOptions = {}): DataParallelPlan {
  const n = devices.length;
  if (!Number.isInteger(batch / n) || batch < n) throw new ModelError(`batch ${batch} does not split evenly over ${n} replicas: use a multiple of ${n}`, { model: model.name });
  const profile = profileForAdapter(devices[0].adapter, config.precision);
  warnIfFloat32(profile, devices[0].adapter.description);
  const target = { model: model.name, batch, replicas: n, limit: options.arenaLimit ?? Infinity };
  const { microBatch, compiled } = chooseMicroBatch(batch / n, options.microBatch ?? 'auto', target, (b) => {
    const step = dataParallelProgram(model, config, b);
    const { bundle, report } = buildBundle(step.program.graph, step.program.weights, model.name, b, { mode: 'training', profile, splitAt: step.updateStart });
    return { step, bundle, splitStep: report.splitStep!, arenaBytes: bundle.manifest.arena.size };
  });
  return { ...compiled, microBatch };
}

/**
 * The session for training on these devices: on one device, the single-submit TrainingSession when no
 * micro-batch is asked for and the whole batch fits one arena (no host round trip per step); otherwise
 * a DataParallelSession, micro-batched as `options.microBatch` says, or as 'auto' chooses when one
 * device cannot hold the whole batch's step. (A TrainingSession never owns its device.)
 */
export async function trainingSessionFor(model: Model, config: CompiledConfig, batch: number, devices: readonly GpuContext[], options: DataParallelOptions = {}): Promise<TrainingSession | DataParallelSession> {
  if (devices.length === 1 && options.microBatch === undefined) {
    let step: CompiledStep | undefined;
    try {
      step = TrainingSession.compile(model, config, batch, devices[0], { readLoss: options.readLoss });
    } catch (e) {
      if (!(e instanceof ValueTooLargeError)) throw e;
    }
    if (step && step.bundle.manifest.arena.size <= (options.arenaLimit ?? Infinity)) {
      try {
        return await TrainingSession.load(model, step, devices[0]);
      } catch (e) {
        if (!(e instanceof OutOfMemoryError)) throw e;
        options = { ...options, arenaLimit: step.bundle.manifest.arena.size - 1 };
      }
    }
    // Over the arena limit, past the device's memory, or a value past its storage-binding limit: micro-batches, with one update per step, rather than an error.
    options = { ...options, microBatch: 'auto' };
  }
  for (;;) {
    const plan = planDataParallel(model, config, batch, devices, options);
    try {
      if (devices.length === 1 && plan.microBatch === batch) return await TrainingSession.create(model, config, batch, devices[0], { readLoss: options.readLoss });
      return await DataParallelSession.load(model, batch, devices, plan, options);
    } catch (e) {
      // An automatic micro-batch the devices cannot allocate tries the next smaller one that gives a smaller arena.
      if (!(e instanceof OutOfMemoryError) || (options.microBatch ?? 'auto') !== 'auto' || plan.microBatch === 1) throw e;
      options = { ...options, arenaLimit: plan.bundle.manifest.arena.size - 1 };
    }
  }
}

/** Training replicas of one model, one per device, kept identical step after step. */
export class DataParallelSession {
  private queue: Promise<unknown> = Promise.resolve();
  /** Input slices of earlier steps, by replica then micro-batch, ready to be filled again. */
  private readonly freeSlices: TensorMap[][][] = [];

  private constructor(
    readonly model: Model,
    /** One Net per device, in replica order. */
    readonly replicas: readonly Net[],
    readonly bundle: Bundle,
    readonly metrics: readonly string[],
    /** The whole batch: replicas × micro-batches × the bundle's batch. */
    readonly batch: number,
    /** Samples of each compiled micro-batch (the bundle's batch). */
    readonly microBatch: number,
    /** The first step of the update phase. */
    readonly splitStep: number,
    readonly exchange: readonly Exchange[],
    private readonly readLoss: boolean,
    private readonly ownedDevices: readonly GPUDevice[],
  ) {}

  /**
   * Compiles one replica's step for its slice, batch / devices.length samples, or for micro-batches
   * of it (see DataParallelOptions.microBatch), and loads it on every device.
   */
  static async create(model: Model, config: CompiledConfig, batch: number, devices: readonly GpuContext[], options: DataParallelOptions = {}): Promise<DataParallelSession> {
    return DataParallelSession.load(model, batch, devices, planDataParallel(model, config, batch, devices, options), options);
  }

  /** Loads a compiled plan on every device. */
  static async load(model: Model, batch: number, devices: readonly GpuContext[], plan: DataParallelPlan, options: DataParallelOptions = {}): Promise<DataParallelSession> {
    const loaded = await Promise.allSettled(devices.map((d) => Net.create(plan.bundle, d)));
    const failed = loaded.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // One device's failure (out of memory) frees what the others allocated.
      for (const r of loaded) if (r.status === 'fulfilled') r.value.destroy();
      throw failed.reason;
    }
    const replicas = loaded.map((r) => (r as PromiseFulfilledResult<Net>).value);
    const { step, bundle, splitStep, microBatch } = plan;
    return new DataParallelSession(model, replicas, bundle, step.metrics, batch, microBatch, splitStep, step.exchange, options.readLoss ?? false, options.ownDevices ? devices.map((d) => d.device) : []);
  }

  /** Micro-batches per replica per step. */
  get microBatches(): number {
    return this.batch / (this.replicas.length * this.microBatch);
  }

  /** Names of the inputs a step takes: the model's inputs, then one target per output. */
  get inputNames(): string[] {
    return this.replicas[0].inputs.map((s) => s.name).filter((n) => !n.startsWith(REDUCED));
  }

  /** Uploads the model's current weights to every replica. */
  pushWeights(): void {
    const names = new Set(this.replicas[0].stateNames);
    const values = this.model.weights.filter((w) => names.has(w.name)).map((w) => [w.name, w.read()] as const);
    this.inOrder((net) => values.forEach(([name, v]) => net.writeState(name, v)));
  }

  /** Writes state after every step asked for so far has submitted its update (a step waits on its readback before it does). */
  private inOrder(write: (net: Net) => void): void {
    this.queue = this.queue.then(() => this.replicas.forEach(write));
  }

  /** Copies the trained weights (the same on every replica) back into the model's variables. */
  async pullWeights(): Promise<void> {
    await this.flush();
    const names = new Set(this.replicas[0].stateNames);
    const wanted = this.model.weights.filter((w) => names.has(w.name));
    const values = await this.replicas[0].readState(wanted.map((w) => w.name));
    for (const w of wanted) w.write(values[w.name]);
  }

  /** Reads every replica's weights and optimizer state (to check that they stay identical). */
  async readReplicaStates(names?: readonly string[]): Promise<Record<string, Float32Array>[]> {
    await this.flush();
    return Promise.all(this.replicas.map((r) => r.readState(names)));
  }

  /**
   * One step on the whole batch (the inputs are sliced at once, so the caller may reuse its arrays);
   * resolves after the update phase is submitted, with the mean loss when created with `readLoss`.
   */
  step(inputs: Record<string, Float32Array | Int32Array>): Promise<TensorMap> {
    const [n, m] = [this.replicas.length, this.microBatches];
    // Slices are copied into arrays of an earlier step when one is free: no allocation per step.
    const slices: TensorMap[][] = this.freeSlices.pop() ?? Array.from({ length: n }, () => Array.from({ length: m }, () => ({})));
    for (const name of this.inputNames) {
      const data = inputs[name];
      const whole = this.replicas[0].inputs.find((s) => s.name === name)!.shape.reduce((a, b) => a * b, 1) * n * m;
      if (!data || data.length !== whole) return Promise.reject(new ModelError(`training step input '${name}' expects ${whole} values (${n} replicas × ${m} micro-batches × batch ${this.microBatch}), got ${data?.length ?? 'none'}`, { input: name }));
      const per = data.length / (n * m);
      // Replica r takes samples [r·b/n, (r+1)·b/n), its micro-batch k the k-th part of those.
      for (let r = 0; r < n; r++) {
        for (let k = 0; k < m; k++) {
          const [from, have] = [(r * m + k) * per, slices[r][k][name]];
          if (have && have.length === per && have.constructor === data.constructor) have.set(data.subarray(from, from + per));
          else slices[r][k][name] = data.slice(from, from + per) as TensorData;
        }
      }
    }
    const run = this.queue.then(() => this.run(slices));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(slices: TensorMap[][]): Promise<TensorMap> {
    const total = this.bundle.manifest.steps.length;
    // Every replica's gradient phases are queued before any readback is awaited.
    const sums = await Promise.all(this.replicas.map((net, r) => this.gradients(net, slices[r])));
    // The slices were written to the devices before the last gradient phase was submitted.
    this.freeSlices.push(slices);
    const scale = 1 / (this.replicas.length * this.microBatches);
    const reduced: TensorMap = {};
    // Plain loops: TypedArray.from with a map function ran 100 ms for the MLP's 670K values.
    for (const e of this.exchange) {
      const parts = sums.map((s) => s[e.output]);
      const mean = new Float32Array(parts[0].length);
      for (let i = 0; i < mean.length; i++) {
        let v = 0;
        for (const p of parts) v += p[i];
        mean[i] = v * scale;
      }
      reduced[e.input] = mean;
    }
    for (const net of this.replicas) void net.runSteps(this.splitStep, total, reduced, { copies: true, read: false });
    return this.readLoss ? { loss: reduced[`${REDUCED}loss`] } : {};
  }

  /** One replica's exchanged outputs summed over its micro-batches, in order (float64 sums: deterministic, and one rounding). */
  private async gradients(net: Net, micro: readonly TensorMap[]): Promise<Record<string, Float64Array>> {
    const reads = micro.map((inputs) => net.runSteps(0, this.splitStep, inputs, { copies: false, read: true }));
    // A failed read rejects the step below; the later ones must not go unhandled meanwhile.
    for (const r of reads) r.catch(() => undefined);
    const sums: Record<string, Float64Array> = {};
    for (const read of reads) {
      const out = await read;
      for (const { output } of this.exchange) {
        const part = out[output];
        const sum = (sums[output] ??= new Float64Array(part.length));
        for (let i = 0; i < part.length; i++) sum[i] += part[i];
      }
    }
    return sums;
  }

  /** The epoch's running means so far (every replica keeps the same sums of averaged values), and the first step whose loss was not finite (−1 if none). */
  async readLogs(): Promise<{ logs: Record<string, number>; steps: number; nanStep: number }> {
    await this.flush();
    const names = ['loss', ...this.metrics];
    const state = await this.replicas[0].readState([STEPS, NAN_STEP, ...names.map(sumOf)]);
    const steps = state[STEPS][0];
    const logs = Object.fromEntries(names.map((k) => [k, steps ? state[sumOf(k)][0] / steps : NaN]));
    return { logs, steps, nanStep: state[NAN_STEP][0] };
  }

  /** Zeroes the running sums of every replica. */
  resetLogs(): void {
    this.inOrder((net) => {
      for (const k of ['loss', ...this.metrics]) net.writeState(sumOf(k), [0]);
      net.writeState(STEPS, [0]);
      net.writeState(NAN_STEP, [-1]);
    });
  }

  /** Sets the learning rate every replica's next steps use. */
  setLearningRate(value: number): void {
    this.inOrder((net) => net.writeState('learning_rate', [value]));
  }

  /** Resolves when every step so far has finished on every device. */
  async flush(): Promise<void> {
    await this.queue;
    await Promise.all(this.replicas.map((r) => r.flush()));
  }

  destroy(): void {
    for (const r of this.replicas) r.destroy();
    for (const d of this.ownedDevices) d.destroy();
  }
}
