/**
 * A model placed on several devices (model parallel): its parts run one after another, each a Net
 * on its device; a value one part hands to a later one is read back through the first device's
 * staging buffer and written into the next device's arena (WebGPU has no copy between devices).
 */
import type { Bundle, TensorSignature } from './format.js';
import { PredictInputError } from './errors.js';
import type { GpuContext } from './gpu.js';
import { Net, type TensorData, type TensorMap } from './net.js';

/** One part to load: its bundle and the device index it runs on. */
export interface PartBundle {
  readonly bundle: Bundle;
  readonly device: number;
}

/** The parts of a placed model, loaded on their devices. */
export class PlacedNet {
  private destroyed = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    /** The parts in the order they run. */
    readonly parts: readonly { net: Net; device: number }[],
    /** The model's outputs, by name (each from the part that computes it). */
    readonly outputs: readonly TensorSignature[],
    readonly inputs: readonly TensorSignature[],
    private readonly ownedDevices: readonly GPUDevice[],
  ) {}

  /** Loads every part on its device (`devices[part.device]`), all in parallel. */
  static async create(parts: readonly PartBundle[], devices: readonly GpuContext[], options: { outputs: readonly string[]; ownDevices?: boolean }): Promise<PlacedNet> {
    const nets = await Promise.all(parts.map(async (p) => ({ net: await Net.create(p.bundle, devices[p.device]), device: p.device })));
    const isTransfer = (name: string) => name.startsWith('__transfer/');
    const inputs = new Map<string, TensorSignature>();
    for (const { net } of nets) for (const s of net.inputs) if (!isTransfer(s.name) && !inputs.has(s.name)) inputs.set(s.name, s);
    const outputs = options.outputs.map((name) => nets.flatMap(({ net }) => net.outputs).find((s) => s.name === name)!);
    return new PlacedNet(nets, outputs, [...inputs.values()], options.ownDevices ? devices.map((d) => d.device) : []);
  }

  /** The first part's manifest (its name and batch are the model's). */
  get manifest(): Net['manifest'] {
    return this.parts[0].net.manifest;
  }

  /** Runs the parts in order, carrying each transfer from the part that computes it to those that read it. */
  predict(inputs: Record<string, TensorData | readonly number[]>): Promise<TensorMap> {
    if (this.destroyed) return Promise.reject(new PredictInputError(`model '${this.manifest.model.name}' was destroyed`));
    const known = new Set(this.inputs.map((s) => s.name));
    for (const key of Object.keys(inputs)) {
      if (!known.has(key)) return Promise.reject(new PredictInputError(`unknown input '${key}'; model '${this.manifest.model.name}' takes ${[...known].map((n) => `'${n}'`).join(', ')}`, { input: key }));
    }
    const run = this.queue.then(async () => {
      const values: Record<string, TensorData | readonly number[]> = { ...inputs };
      for (const { net } of this.parts) {
        const out = await net.predict(Object.fromEntries(net.inputs.map((s) => [s.name, values[s.name]])));
        Object.assign(values, out);
      }
      return Object.fromEntries(this.outputs.map((s) => [s.name, values[s.name] as TensorData]));
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves when every part has finished. */
  async flush(): Promise<void> {
    await this.queue;
    await Promise.all(this.parts.map((p) => p.net.flush()));
  }

  /** Frees every part (and the devices, when they were opened for it). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.parts) p.net.destroy();
    for (const d of this.ownedDevices) d.destroy();
  }
}
