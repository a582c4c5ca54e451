/**
 * Inference replicas (data parallel): one bundle loaded on several devices, each holding the weights;
 * a call splits the batch into equal slices along the first axis, submits every replica before
 * reading any back (so they compute at the same time), and gathers the outputs in replica order.
 */
import type { Bundle, TensorSignature } from './format.js';
import { PredictInputError, BundleError } from './errors.js';
import type { GpuContext } from './gpu.js';
import { Net, type TensorData, type TensorMap } from './net.js';
import { adapters, openAdapters, type DeviceCount } from './adapters.js';

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A tensor of the whole batch: a replica's signature with the batch axis multiplied by the replica count. */
export interface BatchSignature {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: TensorSignature['dtype'];
}

/**
 * Several replicas of one bundle, one per device. The bundle is compiled for the per-replica batch
 * `b`; `predict` takes the whole batch, `replicas × b` samples, and returns outputs of the whole batch.
 */
export class ReplicatedNet {
  private destroyed = false;

  private constructor(
    /** One Net per device, in replica order; replica r computes samples [r·b, (r+1)·b). */
    readonly replicas: readonly Net[],
    private readonly ownedDevices: readonly GPUDevice[],
  ) {}

  /** Loads `bundle` on every device in parallel; `ownDevices` destroys them with the replicas. */
  static async create(bundle: Bundle, devices: readonly GpuContext[], options: { ownDevices?: boolean } = {}): Promise<ReplicatedNet> {
    const m = bundle.manifest;
    const b = m.model.batch;
    // Replicas of a training step must exchange gradients, or their weights drift apart.
    if (m.mode === 'training') throw new BundleError(`bundle '${m.model.name}' is a training step; replicas of one would train apart: use model.fit({ replicas }) for data-parallel training`, { model: m.model.name });
    for (const s of [...m.model.inputs, ...m.model.outputs]) {
      if (s.shape[0] !== b) throw new BundleError(`replicas split the batch along the first axis, but '${s.name}' of model '${m.model.name}' has shape [${s.shape.join(', ')}], whose first axis is not the batch (${b})`, { tensor: s.name });
    }
    const replicas = await Promise.all(devices.map((d) => Net.create(bundle, d)));
    return new ReplicatedNet(replicas, options.ownDevices ? devices.map((d) => d.device) : []);
  }

  /** The bundle's manifest (of one replica: its batch is the per-replica batch). */
  get manifest(): Net['manifest'] {
    return this.replicas[0].manifest;
  }
  /** Inputs of the whole batch. */
  get inputs(): BatchSignature[] {
    return this.replicas[0].inputs.map((s) => this.whole(s));
  }
  /** Outputs of the whole batch. */
  get outputs(): BatchSignature[] {
    return this.replicas[0].outputs.map((s) => this.whole(s));
  }
  /** Samples per call: replicas × each replica's batch (its micro-batches included). */
  get batch(): number {
    return this.replicas.length * this.replicas[0].batch;
  }

  private whole(s: TensorSignature): BatchSignature {
    return { name: s.name, shape: [s.shape[0] * this.replicas.length, ...s.shape.slice(1)], dtype: s.dtype };
  }

  /** Runs the whole batch: every replica is submitted before any is read back; outputs come back in sample order. */
  async predict(inputs: Record<string, TensorData | readonly number[]>): Promise<TensorMap> {
    if (this.destroyed) throw new PredictInputError(`model '${this.manifest.model.name}' was destroyed`);
    const n = this.replicas.length;
    const slices: TensorMap[] = Array.from({ length: n }, () => ({}));
    for (const s of this.inputs) {
      const given = inputs[s.name];
      if (given === undefined) throw new PredictInputError(`missing input '${s.name}': expected ${sizeOf(s.shape)} ${s.dtype} values (shape [${s.shape.join(', ')}], ${n} replicas of batch ${this.replicas[0].batch})`, { input: s.name });
      const data = Array.isArray(given) ? (s.dtype === 'float32' ? Float32Array.from(given) : Int32Array.from(given)) : (given as TensorData);
      if (data.length !== sizeOf(s.shape)) {
        throw new PredictInputError(`input '${s.name}' expects ${sizeOf(s.shape)} values (shape [${s.shape.join(', ')}]: ${n} replicas × batch ${this.replicas[0].batch}), got ${data.length}`, { input: s.name });
      }
      const per = data.length / n;
      for (let r = 0; r < n; r++) slices[r][s.name] = data.subarray(r * per, (r + 1) * per);
    }
    // Each predict submits in the same microtask turn, before any of them awaits its readback.
    const results = await Promise.all(this.replicas.map((net, r) => net.predict(slices[r])));
    return gatherOutputs(results);
  }

  /** Resolves when every replica has finished its work. */
  async flush(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.flush()));
  }

  /** Frees every replica's buffers (and the devices, when they were opened for these replicas). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const r of this.replicas) r.destroy();
    for (const d of this.ownedDevices) d.destroy();
  }
}

/** Concatenates each output of the replicas along the first axis, in replica order. */
export function gatherOutputs(results: readonly TensorMap[]): TensorMap {
  const out: TensorMap = {};
  for (const name of Object.keys(results[0])) {
    const parts = results.map((r) => r[name]);
    const whole = new (parts[0].constructor as Float32ArrayConstructor | Int32ArrayConstructor)(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      whole.set(p, at);
      at += p.length;
    }
    out[name] = whole;
  }
  return out;
}

/** Where replicas run: how many (one per adapter with 'all'), or the devices themselves. */
export interface ReplicaOptions {
  readonly replicas?: DeviceCount;
  /** Already open devices, one per replica (tests open two on one adapter). */
  readonly devices?: readonly GpuContext[];
  /** Where warnings go (default console.warn). */
  readonly warn?: (message: string) => void;
}

/** How many replicas the options ask for, without opening anything. */
export async function replicaCount(options: ReplicaOptions): Promise<number> {
  if (options.devices) return options.devices.length;
  const r = options.replicas ?? 1;
  return r === 'all' ? (await adapters({ warn: options.warn })).length : r;
}

/**
 * Loads a bundle as replicas: one replica is the ordinary Net (on `devices[0]` or the default
 * adapter), with nothing in between; more are a ReplicatedNet on devices opened for it.
 */
export async function loadReplicas(bundle: Bundle, options: ReplicaOptions): Promise<Net | ReplicatedNet> {
  const n = await replicaCount(options);
  if (n === 1) return Net.create(bundle, options.devices?.[0]);
  if (options.devices) return ReplicatedNet.create(bundle, options.devices);
  return ReplicatedNet.create(bundle, await openAdapters(n, { warn: options.warn }), { ownDevices: true });
}
