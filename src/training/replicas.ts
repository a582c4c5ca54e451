/**
 * Synchronous data-parallel training (as MirroredStrategy): one replica of the training step per
 * device, each on an equal slice of the batch. A step submits every replica's gradient phase, reads
 * all gradients back at once (the readbacks overlap), averages them on the host, writes the mean into
 * every replica and submits the update phases, which read nothing back. The next step's inputs are
 * sliced while the GPUs work; steps run strictly one after another.
 */
import type { Model } from '../frontend/model.js';
import { ModelError } from '../ir/errors.js';
import { buildBundle } from '../codegen/bundle.js';
import { profileForAdapter } from '../codegen/profile.js';
import { Net, type TensorData, type TensorMap } from '../runtime/net.js';
import type { GpuContext } from '../runtime/gpu.js';
import type { Bundle } from '../runtime/format.js';
import { NAN_STEP, STEPS, sumOf } from './accumulate.js';
import { REDUCED, dataParallelProgram, type Exchange } from './data-parallel.js';
import type { CompiledConfig } from './config.js';

/** Training replicas of one model, one per device, kept identical step after step. */
export class DataParallelSession {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly freeSlices: TensorMap[][] = [];

  private constructor(
    readonly model: Model,
    /** One Net per device, in replica order. */
    readonly replicas: readonly Net[],
    readonly bundle: Bundle,
    readonly metrics: readonly string[],
    /** The whole batch: replicas × the bundle's batch. */
    readonly batch: number,
    /** The first step of the update phase. */
    readonly splitStep: number,
    readonly exchange: readonly Exchange[],
    private readonly ownedDevices: readonly GPUDevice[],
  ) {}

  /** Compiles one replica's step for batch / devices.length samples and loads it on every device. */
  static async create(model: Model, config: CompiledConfig, batch: number, devices: readonly GpuContext[], options: { readLoss?: boolean; ownDevices?: boolean } = {}): Promise<DataParallelSession> {
    const n = devices.length;
    if (!Number.isInteger(batch / n) || batch < n) throw new ModelError(`batch ${batch} does not split evenly over ${n} replicas: use a multiple of ${n}`, { model: model.name });
    const step = dataParallelProgram(model, config, batch / n, false, options.readLoss);
    const { bundle, report } = buildBundle(step.program.graph, step.program.weights, model.name, batch / n, { mode: 'training', profile: profileForAdapter(devices[0].adapter), splitAt: step.updateStart });
    const replicas = await Promise.all(devices.map((d) => Net.create(bundle, d)));
    return new DataParallelSession(model, replicas, bundle, step.metrics, batch, report.splitStep!, step.exchange, options.ownDevices ? devices.map((d) => d.device) : []);
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
    const n = this.replicas.length;
    // Slices are copied into arrays of an earlier step when one is free: no allocation per step.
    const slices: TensorMap[] = this.freeSlices.pop() ?? Array.from({ length: n }, () => ({}));
    for (const name of this.inputNames) {
      const data = inputs[name];
      const whole = this.replicas[0].inputs.find((s) => s.name === name)!.shape.reduce((a, b) => a * b, 1) * n;
      if (!data || data.length !== whole) return Promise.reject(new ModelError(`training step input '${name}' expects ${whole} values (${n} replicas × batch ${this.batch / n}), got ${data?.length ?? 'none'}`, { input: name }));
      const per = data.length / n;
      for (let r = 0; r < n; r++) {
        const have = slices[r][name];
        if (have && have.length === per && have.constructor === data.constructor) have.set(data.subarray(r * per, (r + 1) * per));
        else slices[r][name] = data.slice(r * per, (r + 1) * per) as TensorData;
      }
    }
    const run = this.queue.then(() => this.run(slices));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(slices: TensorMap[]): Promise<TensorMap> {
    const total = this.bundle.manifest.steps.length;
    // Every replica's gradient phase is submitted before any readback is awaited.
    const outs = await Promise.all(this.replicas.map((net, r) => net.runSteps(0, this.splitStep, slices[r], { copies: false, read: true })));
    // The slices were written to the devices before the gradient phase was submitted.
    this.freeSlices.push(slices);
    const reduced: TensorMap = {};
    for (const e of this.exchange) reduced[e.input] = meanOf(outs.map((o) => o[e.output] as Float32Array));
    for (const net of this.replicas) void net.runSteps(this.splitStep, total, reduced, { copies: true, read: false });
    return 'loss' in outs[0] ? { loss: meanOf(outs.map((o) => o.loss as Float32Array)) } : {};
  }

  /** The epoch's running means so far (averaged over the replicas' equal slices), and the first step whose loss was not finite (−1 if none). */
  async readLogs(): Promise<{ logs: Record<string, number>; steps: number; nanStep: number }> {
    await this.flush();
    const names = ['loss', ...this.metrics];
    const states = await Promise.all(this.replicas.map((r) => r.readState([STEPS, NAN_STEP, ...names.map(sumOf)])));
    const steps = states[0][STEPS][0];
    const logs = Object.fromEntries(names.map((k) => [k, steps ? states.reduce((a, s) => a + s[sumOf(k)][0], 0) / (steps * states.length) : NaN]));
    const nans = states.map((s) => s[NAN_STEP][0]).filter((v) => v >= 0);
    return { logs, steps, nanStep: nans.length ? Math.min(...nans) : -1 };
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

/** The elementwise mean of equal-length arrays (for two, (a + b)·½ in float32 is the correctly rounded mean). */
function meanOf(parts: readonly Float32Array[]): Float32Array {
  const out = Float32Array.from(parts[0]);
  for (const p of parts.slice(1)) for (let i = 0; i < p.length; i++) out[i] += p[i];
  const scale = 1 / parts.length;
  for (let i = 0; i < out.length; i++) out[i] *= scale;
  return out;
}
