import { BINDING_ALIGNMENT, BINDINGS, callBatch, callSignature, type Bundle, type Manifest, type StateEntry, type TensorSignature } from './format.js';
import { BundleError, OutOfMemoryError, PredictInputError, RunError } from './errors.js';
import { openDevice, type AdapterDescription, type GpuContext } from './gpu.js';
import { Arena, kernelLayouts } from './arena.js';
import { timestampRunner } from './timestamps.js';

/** Typed data for one tensor: Float32Array for float32, Int32Array for int32 and bool. */
export type TensorData = Float32Array | Int32Array;

/** Inputs or outputs of a call, by name. */
export type TensorMap = Record<string, TensorData>;

/**
 * What a predict takes for one input: host values, or a GPUBuffer of this Net's device already
 * holding them (COPY_SRC usage, at least the input's bytes from offset 0), which the call copies on the
 * GPU instead of uploading: how models chain, and how TF.js tensors (`dataToGPU`) feed kiln.
 */
export type PredictInput = TensorData | readonly number[] | GPUBuffer;

/** Whether a predict input is a GPUBuffer (duck-typed: Node's and browsers' GPUBuffer classes differ). */
const isGpuBuffer = (x: unknown): x is GPUBuffer => typeof x === 'object' && x !== null && typeof (x as GPUBuffer).mapAsync === 'function' && typeof (x as GPUBuffer).usage === 'number';

const ARRAY_OF = { float32: Float32Array, int32: Int32Array, bool: Int32Array } as const;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Host inputs from this many bytes go through a mapped staging buffer of their own, kept and mapped
 * again after each call: queue.writeBuffer took 4.5 ms for 12 MiB on an H200 where the mapped copy
 * took 1.0 ms (`bench/upload.ts`), while below about 2 MiB writeBuffer was the faster.
 */
export const MAPPED_UPLOAD_FROM = 2 * 1024 * 1024;

/** How a Net is made: whether it owns the device it was given, and how host inputs reach the GPU. */
export interface NetOptions {
  /** The Net destroys the device with itself (it always does with one it opened). */
  readonly ownsDevice?: boolean;
  /** Host inputs from this many bytes go through mapped staging buffers, smaller ones through writeBuffer (default `MAPPED_UPLOAD_FROM`). */
  readonly mappedUploadFrom?: number;
}

/** A mapped staging buffer for one input, and the promise of its next mapping. */
interface Upload {
  readonly buffer: GPUBuffer;
  ready: Promise<undefined>;
}

/** A GPUBuffer a call copies an input from, from byte `offset` (a micro-batch's place in a call's input). */
interface GpuSlice {
  readonly buffer: GPUBuffer;
  readonly offset: number;
}

/** A GPUBuffer input of one call, for the input `s`. */
interface GpuSource extends GpuSlice {
  readonly s: TensorSignature;
}

/** What one run of the steps takes for an input: host values, or a slice of a GPUBuffer. */
type CallInput = TensorData | GpuSlice;

const isSlice = (x: CallInput): x is GpuSlice => !ArrayBuffer.isView(x);

/** Staging buffers per large input, used in turn, so a call need not wait for the previous one's GPU work. */
const UPLOAD_RING = 2;

/** Where a call's outputs are copied for reading back: the Net's readback buffer, or a batch's place in a larger one. */
interface ReadTarget {
  readonly buffer: GPUBuffer;
  readonly base: number;
}

/**
 * A loaded bundle on one GPU device: buffers, pipelines and bind groups are made once; each
 * `predict` writes the inputs, records every step into one command buffer, submits once, and reads
 * back only the outputs. Calls are queued, so concurrent predicts are safe.
 */
export class Net {
  /** Queue submissions made so far (one per predict). */
  submits = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private destroyed = false;
  /** A call the GPU refused that nobody has heard of yet (one that read nothing back): the next call, or flush, rejects with it. */
  private refused: RunError | undefined;
  /** Settles once the verdict on the last call that read nothing back is recorded in `refused`. */
  private lastCheck: Promise<void> = Promise.resolve();
  private readonly uploads = new Map<TensorSignature, { ring: Upload[]; next: number }>();
  /** The command buffer of the next call, encoded while this one ran, and the kind of call it serves. */
  private ahead: { key: string; sources: readonly GpuSource[]; commands: GPUCommandBuffer } | undefined;
  /** Host inputs from this many bytes go through mapped staging buffers (`NetOptions.mappedUploadFrom`). */
  private mappedUploadFrom = MAPPED_UPLOAD_FROM;
  /** The outputs' places in the readback buffer, laid out at the first call that reads them. */
  private readback: { slices: readonly { o: TensorSignature; at: number; bytes: number }[]; at: number } | undefined;
  /** Where a call of several batches gathers their outputs (see runBatches), grown as calls need. */
  private batchReadback: GPUBuffer | undefined;

  private constructor(
    readonly manifest: Manifest,
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
    private readonly arena: Arena,
    private readonly weights: GPUBuffer,
    private readonly staging: GPUBuffer,
    private readonly params: GPUBuffer,
    private readonly steps: readonly { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; dispatch: readonly [number, number, number] }[],
    private readonly ownsDevice: boolean,
    private readonly scratch?: GPUBuffer,
  ) {}

  /**
   * Creates buffers, uploads weights and builds every pipeline in parallel, on `gpu` (else a device it
   * opens). The Net destroys the device with itself when it opened it, or when `ownsDevice` hands it over.
   */
  static async create(bundle: Bundle, gpu?: GpuContext, options: NetOptions = {}): Promise<Net> {
    const ctx = gpu ?? (await openDevice());
    const owns = !gpu || options.ownsDevice === true;
    const { device } = ctx;
    const m = bundle.manifest;
    const missing = (m.features ?? []).filter((f) => !device.features.has(f));
    if (missing.length) {
      if (owns) device.destroy();
      throw new BundleError(`bundle '${m.model.name}' needs WebGPU features this device lacks: ${missing.join(', ')} (compiled with precision 'mixed' for another adapter; recompile for this one, or without mixed precision)`, { missing });
    }
    let buffers: { arena: Arena; weights: GPUBuffer };
    try {
      buffers = await allocate(device, m);
    } catch (e) {
      if (owns) device.destroy();
      throw e;
    }
    const { arena, weights } = buffers;
    device.pushErrorScope('validation');
    const weightBytes = bundle.files.get(m.weights.file);
    if (weightBytes && weightBytes.byteLength) device.queue.writeBuffer(weights, 0, padded(weightBytes) as Uint8Array<ArrayBuffer>);
    // A training bundle's state starts from its initial values in weights.bin.
    for (const e of m.state ?? []) {
      const at = arena.at(e.offset, e.size);
      device.queue.writeBuffer(at.buffer, at.offset, weightBytes!.buffer, weightBytes!.byteOffset + e.init, e.size);
    }
    const outBytes = m.model.outputs.reduce((n, o) => n + 4 * sizeOf(o.shape), 0);
    const staging = device.createBuffer({ size: Math.max(16, outBytes), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'kiln readback' });
    // Each step's operand offsets get an aligned block of one uniform buffer.
    const blockSize = (n: number) => Math.max(16, Math.ceil((4 * n) / 16) * 16);
    // A step with many operands (the update of every weight) takes several aligned blocks.
    const blockOffsets = m.steps.reduce<number[]>((acc, s) => [...acc, acc[acc.length - 1] + Math.ceil(blockSize(s.params.length) / BINDING_ALIGNMENT) * BINDING_ALIGNMENT], [0]);
    const paramsBytes = new Uint8Array(Math.max(BINDING_ALIGNMENT, blockOffsets[m.steps.length]));
    m.steps.forEach((s, i) => new Uint32Array(paramsBytes.buffer, blockOffsets[i], s.params.length).set(s.params));
    const params = device.createBuffer({ size: paramsBytes.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'kiln params' });
    device.queue.writeBuffer(params, 0, paramsBytes);
    const layoutFor = kernelLayouts(device);
    const slotsOf = new Map(m.kernels.map((k) => [k.id, k.arenaSlots ?? 1]));
    const decoder = new TextDecoder();
    const pipelines = new Map(
      await Promise.all(
        m.kernels.map(async (k) => {
          const code = bundle.files.get(k.file);
          if (!code) throw new BundleError(`bundle has no kernel file '${k.file}'`, { file: k.file });
          // The module's own scope catches its compile error, which the pipeline's error only refers to.
          device.pushErrorScope('validation');
          const module = device.createShaderModule({ code: decoder.decode(code), label: k.id });
          const moduleError = device.popErrorScope();
          const layout = device.createPipelineLayout({ bindGroupLayouts: [layoutFor(k.arenaSlots ?? 1)] });
          const pipeline = await device.createComputePipelineAsync({ layout, compute: { module, entryPoint: k.entryPoint }, label: k.id }).catch(async (e) => {
            const info = await module.getCompilationInfo();
            const messages = info.messages.map((msg) => `  ${msg.lineNum}:${msg.linePos} ${msg.message}`).join('\n');
            const cause = (await moduleError)?.message ?? '';
            throw new BundleError(`kernel '${k.id}' (${k.file}) failed to compile: ${(e as Error).message}\n${cause}${messages}`, { kernel: k.id });
          });
          return [k.id, pipeline] as const;
        }),
      ),
    );
    const steps = m.steps.map((s, i) => {
      const pipeline = pipelines.get(s.kernel);
      if (!pipeline) throw new BundleError(`step '${s.name}' uses unknown kernel '${s.kernel}'`);
      const slots = slotsOf.get(s.kernel)!;
      const bindGroup = device.createBindGroup({
        layout: layoutFor(slots),
        entries: [
          ...arena.entries(s, slots),
          { binding: BINDINGS.weights, resource: { buffer: weights } },
          { binding: BINDINGS.params, resource: { buffer: params, offset: blockOffsets[i], size: blockSize(s.params.length) } },
        ],
        label: s.name,
      });
      return { pipeline, bindGroup, dispatch: s.dispatch };
    });
    // Bindings that alias are refused only when a dispatch uses them: encode every step once (never submitted), so they fail here, not in a call.
    const check = device.createCommandEncoder({ label: 'kiln check' });
    const pass = check.beginComputePass();
    for (const step of steps) {
      pass.setPipeline(step.pipeline);
      pass.setBindGroup(0, step.bindGroup);
      pass.dispatchWorkgroups(1);
    }
    pass.end();
    check.finish();
    const error = await device.popErrorScope();
    if (error) throw new BundleError(`bundle '${m.model.name}' could not be set up on this device: ${error.message}`);
    const copyBytes = (m.copies ?? []).reduce((a, c) => a + c.size, 0);
    const scratch = copyBytes ? device.createBuffer({ size: copyBytes, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: 'kiln state scratch' }) : undefined;
    const net = new Net(m, device, ctx.adapter, arena, weights, staging, params, steps, owns, scratch);
    net.mappedUploadFrom = options.mappedUploadFrom ?? MAPPED_UPLOAD_FROM;
    return net;
  }

  /** The model's input signature, as a call takes it (micro-batches included). */
  get inputs(): readonly TensorSignature[] {
    return this.manifest.model.inputs.map((s) => callSignature(this.manifest, s));
  }
  /** The model's output signature, as a call returns it (micro-batches included). */
  get outputs(): readonly TensorSignature[] {
    return this.manifest.model.outputs.map((s) => callSignature(this.manifest, s));
  }
  /** Samples a call takes (a whole number of calls' worth of host values also runs, in turn). */
  get batch(): number {
    return callBatch(this.manifest);
  }

  /** Whether the model carries state from call to call (a stateful RNN): such a Net runs one batch a call. */
  get carriesState(): boolean {
    return (this.manifest.copies?.length ?? 0) > 0;
  }

  /**
   * Runs the model on one batch (host values or GPUBuffers, see PredictInput); resolves to the outputs by
   * name. Host inputs that hold a whole number k > 1 of batches run as k batches in one call, as Keras's
   * predict runs batches: each batch's upload is written while the GPU computes the one before, and the
   * outputs come back together, k batches long.
   */
  predict(inputs: Record<string, PredictInput>): Promise<TensorMap> {
    let runs: Map<TensorSignature, CallInput>[];
    try {
      runs = this.runsOf(inputs);
    } catch (e) {
      return Promise.reject(e);
    }
    const run = this.queue.then(() => (runs.length === 1 ? this.run(runs[0]) : this.runBatches(runs)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * A call's inputs checked against the call's signature, then cut into the runs of the steps: one,
   * or one per micro-batch, and host values holding j > 1 calls' worth run j times that.
   */
  private runsOf(inputs: Record<string, PredictInput>): Map<TensorSignature, CallInput>[] {
    if (this.destroyed) throw new PredictInputError(`model '${this.manifest.model.name}' was destroyed`);
    const m = this.manifest;
    const k = m.model.microBatches ?? 1;
    const names = m.model.inputs.map((s) => s.name);
    for (const key of Object.keys(inputs)) {
      if (!names.includes(key)) throw new PredictInputError(`unknown input '${key}'; model '${m.model.name}' takes ${names.map((n) => `'${n}'`).join(', ')}`, { input: key });
    }
    const given = m.model.inputs.map((s) => this.checkInput(s, inputs[s.name]));
    // Runs each input holds: a GPUBuffer one call's micro-batches, host values a whole number of calls' worth.
    const counts = given.map((g, i) => (ArrayBuffer.isView(g) ? (g.length / sizeOf(m.model.inputs[i].shape)) : k));
    const runs = counts[0];
    const odd = counts.findIndex((c) => c !== runs);
    if (odd >= 0) {
      const wrong = counts.findIndex((c) => c !== k);
      throw this.sizeError(m.model.inputs[wrong], (given[wrong] as TensorData).length);
    }
    if (runs > k && this.carriesState) {
      throw new PredictInputError(`model '${m.model.name}' carries state from call to call, so it runs one batch of ${callBatch(m)} a call; got ${runs / k} batches`, { batches: runs / k });
    }
    return Array.from({ length: runs }, (_, r) =>
      new Map(m.model.inputs.map((s, i) => {
        const g = given[i];
        const n = sizeOf(s.shape);
        return [s, ArrayBuffer.isView(g) ? g.subarray(r * n, (r + 1) * n) : { buffer: g, offset: r * 4 * n }] as const;
      })),
    );
  }

  /** One input of a call: a GPUBuffer large enough for the call, or host values of a whole number of calls. */
  private checkInput(s: TensorSignature, given: PredictInput | undefined): TensorData | GPUBuffer {
    const call = callSignature(this.manifest, s);
    const want = `${sizeOf(call.shape)} ${s.dtype} values (shape [${call.shape.join(', ')}])`;
    if (given === undefined) throw new PredictInputError(`missing input '${s.name}': expected ${want}`, { input: s.name });
    if (isGpuBuffer(given)) {
      const bytes = 4 * sizeOf(call.shape);
      if (!(given.usage & GPUBufferUsage.COPY_SRC)) throw new PredictInputError(`input '${s.name}': a GPUBuffer input needs COPY_SRC usage (net.createInputBuffer makes one)`, { input: s.name });
      if (given.size < bytes) throw new PredictInputError(`input '${s.name}' expects ${want}, ${bytes} bytes, got a GPUBuffer of ${given.size} bytes`, { input: s.name });
      return given;
    }
    const Ctor = ARRAY_OF[s.dtype];
    let data: TensorData;
    if (Array.isArray(given)) data = Ctor.from(given as number[]);
    else if (given instanceof Ctor) data = given as TensorData;
    else throw new PredictInputError(`input '${s.name}' must be a ${Ctor.name} of ${want}, got ${(given as object).constructor?.name ?? typeof given}`, { input: s.name });
    const n = sizeOf(call.shape);
    if (data.length === 0 || data.length % n !== 0) throw this.sizeError(s, data.length);
    return data;
  }

  /** The error of host values that are not one call's worth, with the batch they hold where they hold a whole one. */
  private sizeError(s: TensorSignature, length: number): PredictInputError {
    const call = callSignature(this.manifest, s);
    const want = `${sizeOf(call.shape)} ${s.dtype} values (shape [${call.shape.join(', ')}])`;
    const perSample = sizeOf(s.shape.slice(1));
    const hint = length % perSample === 0 ? `; that is a batch of ${length / perSample}, but this bundle was compiled for batch ${callBatch(this.manifest)}: compile again with that batch` : '';
    return new PredictInputError(`input '${s.name}' expects ${want}, got ${length}${hint}`, { input: s.name });
  }

  /**
   * Several batches in one call: each is written and submitted without waiting for the one before (a
   * large host input's staging ring holds the writes back only when the GPU lags two batches), its
   * outputs copied by its own command buffer to their place in one readback buffer, read once at the end.
   */
  private async runBatches(batches: readonly Map<TensorSignature, CallInput>[]): Promise<TensorMap> {
    const { slices, at } = this.readSlices(true);
    const watched = batches.some((b) => [...b.values()].some(isSlice));
    if (watched) this.device.pushErrorScope('validation');
    const bytes = Math.max(4, batches.length * at);
    if (!this.batchReadback || this.batchReadback.size < bytes) {
      this.batchReadback?.destroy();
      this.batchReadback = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'kiln batches readback' });
    }
    const readback = this.batchReadback;
    // Each batch's own command buffer ends with its outputs' copies to their place: one submit a batch.
    try {
      for (const [i, batch] of batches.entries()) await this.record(batch, 0, this.steps.length, true, true, { buffer: readback, base: i * at });
    } catch (e) {
      if (watched) void this.device.popErrorScope();
      throw e;
    }
    const check = watched ? this.device.popErrorScope().then((error) => (error ? this.refusal(batches[0], error) : undefined)) : undefined;
    const [, error] = await Promise.all([readback.mapAsync(GPUMapMode.READ, 0, bytes), check]);
    if (error) {
      readback.unmap();
      throw error;
    }
    const mapped = readback.getMappedRange(0, bytes);
    const result: TensorMap = {};
    for (const { o, at: off, bytes: n } of slices) {
      const Ctor = ARRAY_OF[o.dtype];
      const out = new Ctor((n / 4) * batches.length);
      for (let i = 0; i < batches.length; i++) out.set(new Ctor(mapped, i * at + off, n / 4), (i * n) / 4);
      result[o.name] = out;
    }
    readback.unmap();
    return result;
  }

  /**
   * Runs only steps [from, to) on the inputs given (any of them, by name; the arena keeps the rest),
   * then the state copies when `copies`, reading back the outputs when `read`: for runtimes that run
   * one call in phases (data-parallel training: gradients, then the update, with a reduction between).
   */
  runSteps(from: number, to: number, inputs: TensorMap, options: { copies: boolean; read: boolean }): Promise<TensorMap> {
    if ((this.manifest.model.microBatches ?? 1) > 1) return Promise.reject(new PredictInputError(`model '${this.manifest.model.name}' runs in micro-batches: runSteps takes bundles of one batch a call`));
    const checked = new Map<TensorSignature, CallInput>();
    for (const [name, data] of Object.entries(inputs)) {
      const s = this.manifest.model.inputs.find((x) => x.name === name);
      if (!s) return Promise.reject(new PredictInputError(`unknown input '${name}' of model '${this.manifest.model.name}'`, { input: name }));
      if (data.length !== sizeOf(s.shape)) return Promise.reject(new PredictInputError(`input '${name}' expects ${sizeOf(s.shape)} values (shape [${s.shape.join(', ')}]), got ${data.length}`, { input: name }));
      checked.set(s, data);
    }
    const run = this.queue.then(() => this.run(checked, from, to, options.copies, options.read));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * A GPUBuffer on this Net's device sized for input `name` (STORAGE | COPY_SRC | COPY_DST), holding
   * `data` when given: upload once, then pass it to `predict` as often as needed.
   */
  createInputBuffer(name: string, data?: TensorData): GPUBuffer {
    const s = this.inputs.find((x) => x.name === name);
    if (!s) throw new PredictInputError(`unknown input '${name}'; model '${this.manifest.model.name}' takes ${this.manifest.model.inputs.map((x) => `'${x.name}'`).join(', ')}`, { input: name });
    const bytes = 4 * sizeOf(s.shape);
    if (data && data.byteLength !== bytes) throw new PredictInputError(`input '${name}' expects ${sizeOf(s.shape)} values (shape [${s.shape.join(', ')}]), got ${data.length}`, { input: name });
    const buffer = this.device.createBuffer({ size: Math.max(16, bytes), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: `kiln input '${name}'` });
    if (data) this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  /** Fills every intermediate and output with a value (NaN in tests, so anything left unwritten shows); state is kept. */
  async fill(value: number): Promise<void> {
    const state = [...(this.manifest.state ?? [])].sort((a, b) => a.offset - b.offset);
    let at = 0;
    for (const gap of [...state, { offset: this.arena.size, size: 0 }]) {
      for (const r of gap.offset > at ? this.arena.ranges(at, gap.offset) : []) this.device.queue.writeBuffer(r.buffer, r.offset, new Float32Array(r.size / 4).fill(value));
      at = Math.max(at, gap.offset + gap.size);
    }
    await this.device.queue.onSubmittedWorkDone();
  }

  /** Names of the state a training bundle keeps between calls (weights, optimizer slots, counters). */
  get stateNames(): string[] {
    return (this.manifest.state ?? []).map((e) => e.name);
  }

  /** Reads state values back from the GPU, by name (all of them by default). */
  readState(names: readonly string[] = this.stateNames): Promise<Record<string, Float32Array>> {
    const entries = names.map((n) => this.stateEntry(n));
    const run = this.queue.then(() => this.copyOut(entries));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async copyOut(entries: readonly StateEntry[]): Promise<Record<string, Float32Array>> {
    const size = entries.reduce((a, e) => a + e.size, 0);
    const read = this.device.createBuffer({ size: Math.max(4, size), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    let at = 0;
    const places = entries.map((e) => {
      const from = this.arena.at(e.offset, e.size);
      encoder.copyBufferToBuffer(from.buffer, from.offset, read, at, e.size);
      const place = { e, at };
      at += e.size;
      return place;
    });
    this.device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const mapped = read.getMappedRange();
    const out = Object.fromEntries(places.map(({ e, at: off }) => [e.name, new Float32Array(mapped.slice(off, off + e.size))]));
    read.unmap();
    read.destroy();
    return out;
  }

  /** Overwrites one state value on the GPU (a learning rate from a schedule, loaded weights). */
  writeState(name: string, data: Float32Array | readonly number[]): void {
    const e = this.stateEntry(name);
    const values = Float32Array.from(data);
    if (values.byteLength !== e.size) throw new PredictInputError(`state '${name}' holds ${e.size / 4} values (shape [${e.shape.join(', ')}]), got ${values.length}`, { state: name });
    const to = this.arena.at(e.offset, e.size);
    this.device.queue.writeBuffer(to.buffer, to.offset, values);
  }

  private stateEntry(name: string) {
    const e = (this.manifest.state ?? []).find((x) => x.name === name);
    if (!e) throw new PredictInputError(`model '${this.manifest.model.name}' keeps no state named '${name}' (it has: ${this.stateNames.join(', ') || 'none'})`, { state: name });
    return e;
  }

  /**
   * Milliseconds each step takes on the GPU, measured by recording it `repeats` times in one submit
   * (for profiling; the arena holds whatever the last predict left). A bundle in micro-batches times one
   * micro-batch's steps: compile with `microBatch: batch` to time the whole batch's kernels.
   */
  async timeSteps(repeats = 50): Promise<{ name: string; ms: number }[]> {
    const out: { name: string; ms: number }[] = [];
    for (const [i, step] of this.steps.entries()) out.push({ name: this.manifest.steps[i].name, ms: await this.timeRepeated([step], repeats) });
    return out;
  }

  /**
   * Milliseconds the whole chain of steps takes on the GPU, recorded `repeats` times in one submit: what
   * a call's kernels cost together (caches and barriers as in a call), to set against `timeSteps`' sum.
   * One micro-batch's, in a bundle that has them (see timeSteps).
   */
  timeChain(repeats = 50): Promise<number> {
    return this.timeRepeated(this.steps, repeats);
  }

  /**
   * GPU milliseconds of one run of `steps` in order, recorded `repeats` times in one pass: from GPU
   * timestamps around the pass where the device has `timestamp-query`, else from the wall time of
   * runs recorded `repeats` and 2·`repeats` times (whose difference cancels a submit's fixed cost, but
   * not a hiccup of the host in either: one GEMM window on the H100 timed 2.5× faster than its twins).
   */
  private async timeRepeated(steps: Net['steps'], repeats: number): Promise<number> {
    const timer = this.device.features.has('timestamp-query') ? timestampRunner(this.device) : undefined;
    const run = async (n: number) => {
      const encoder = this.device.createCommandEncoder();
      const pass = encoder.beginComputePass(timer ? { timestampWrites: timer.writes } : {});
      for (let k = 0; k < n; k++) {
        for (const step of steps) {
          pass.setPipeline(step.pipeline);
          pass.setBindGroup(0, step.bindGroup);
          pass.dispatchWorkgroups(step.dispatch[0], step.dispatch[1], step.dispatch[2]);
        }
      }
      pass.end();
      if (timer) return timer.read(encoder);
      const t = performance.now();
      this.device.queue.submit([encoder.finish()]);
      await this.device.queue.onSubmittedWorkDone();
      return performance.now() - t;
    };
    try {
      await run(2);
      return timer ? (await run(repeats)) / repeats : ((await run(repeats * 2)) - (await run(repeats))) / repeats;
    } finally {
      timer?.destroy();
    }
  }

  /** Resolves when every call submitted so far has finished on the GPU. */
  async flush(): Promise<void> {
    await this.queue;
    await this.device.queue.onSubmittedWorkDone();
    // The verdict's handler (in run) has recorded a refusal by the time this await returns.
    await this.lastCheck;
    const refused = this.refused;
    this.refused = undefined;
    if (refused) throw refused;
  }

  /** Frees the buffers (and the device, when the net opened it). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.arena.destroy();
    for (const b of [this.weights, this.staging, this.params, this.scratch, this.batchReadback, ...[...this.uploads.values()].flatMap((u) => u.ring.map((r) => r.buffer))]) b?.destroy();
    if (this.ownsDevice) this.device.destroy();
  }

  /** The next mapped staging buffer of a large host input; the ring is made (mapped) at its first use. */
  private uploadFor(s: TensorSignature, bytes: number): Upload {
    let entry = this.uploads.get(s);
    if (!entry) {
      const ring = Array.from({ length: UPLOAD_RING }, (_, k) => ({
        buffer: this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true, label: `kiln upload '${s.name}' ${k}` }),
        ready: Promise.resolve(undefined),
      }));
      entry = { ring, next: 0 };
      this.uploads.set(s, entry);
    }
    const up = entry.ring[entry.next];
    entry.next = (entry.next + 1) % UPLOAD_RING;
    return up;
  }

  /**
   * One call. A call with GPUBuffer inputs is recorded and submitted under a validation scope, so one
   * the GPU refuses (such an input destroyed, or from another device) rejects with a RunError instead of
   * resolving with the last call's outputs; a call that reads nothing back does not wait for the
   * verdict, and a refusal rejects the next call, or flush. Host inputs are checked before they are
   * written and the Net's own buffers at load, so those calls skip the scope: with it on every call the
   * tiny model ran 14–16 µs beyond the bare round trip, against −11 in run M (host figures that swing
   * by tens of µs between runs; `bench/results/2026-11-22-h100-session6-overhead-check*.log`).
   */
  private async run(inputs: Map<TensorSignature, CallInput>, from = 0, to = this.steps.length, copies = true, read = true): Promise<TensorMap> {
    const refused = this.refused;
    if (refused) {
      this.refused = undefined;
      throw refused;
    }
    const { device } = this;
    let watched = false;
    for (const data of inputs.values()) watched ||= isSlice(data);
    if (watched) device.pushErrorScope('validation');
    let recorded: Awaited<ReturnType<Net['record']>>;
    try {
      recorded = await this.record(inputs, from, to, copies, read);
    } catch (e) {
      if (watched) void device.popErrorScope();
      throw e;
    }
    const check = watched ? device.popErrorScope().then((error) => (error ? this.refusal(inputs, error) : undefined)) : undefined;
    const { slices, at, key, sources } = recorded;
    // A step with nothing to read (a training step) does not wait for the GPU, nor for the verdict.
    if (!slices.length) {
      if (check) {
        this.lastCheck = check.then((e) => {
          if (e) this.refused ??= e;
        });
      }
      return {};
    }
    const mapping = this.staging.mapAsync(GPUMapMode.READ, 0, Math.max(4, at));
    this.encodeAhead(key, from, to, copies, read, sources);
    if (check) {
      const [, error] = await Promise.all([mapping, check]);
      if (error) {
        this.staging.unmap();
        throw error;
      }
    } else await mapping;
    const mapped = this.staging.getMappedRange(0, Math.max(4, at));
    const result: TensorMap = {};
    for (const { o, at: off, bytes } of slices) result[o.name] = new ARRAY_OF[o.dtype](mapped.slice(off, off + bytes));
    this.staging.unmap();
    return result;
  }

  /** The error of a call the GPU refused, naming its GPUBuffer inputs, the likely cause. */
  private refusal(inputs: Map<TensorSignature, CallInput>, error: GPUError): RunError {
    const names = [...inputs].filter(([, data]) => isSlice(data)).map(([s]) => `'${s.name}'`);
    return new RunError(`model '${this.manifest.model.name}': the GPU refused a call (GPUBuffer input ${names.join(', ')}: destroyed, or made on another device?): ${error.message}`, { inputs: names });
  }

  /**
   * Records one call and submits it: host inputs written to the queue (large ones copied by a small
   * command buffer of their own), then the copies of GPUBuffer inputs, the steps, state copies and
   * output copies, from a command buffer encoded while the previous call's GPU work ran when one for
   * the same kind of call and the same GPUBuffers is waiting (see `encodeAhead`).
   */
  private async record(inputs: Map<TensorSignature, CallInput>, from: number, to: number, copies: boolean, read: boolean, readTo?: ReadTarget) {
    const { device } = this;
    let inputEncoder: GPUCommandEncoder | undefined;
    const copier = () => (inputEncoder ??= device.createCommandEncoder({ label: 'kiln inputs' }));
    const remap: Upload[] = [];
    // GPUBuffer inputs are copied in by the call's own command buffer, so one encoded ahead serves a call with the same buffers.
    const sources: GpuSource[] = [];
    for (const [s, data] of inputs) {
      if (isSlice(data)) {
        sources.push({ s, ...data });
        continue;
      }
      const to = this.arena.at(s.offset, 4 * sizeOf(s.shape));
      if (data.byteLength >= this.mappedUploadFrom) {
        const up = this.uploadFor(s, data.byteLength);
        await up.ready;
        new Uint8Array(up.buffer.getMappedRange(0, data.byteLength)).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        up.buffer.unmap();
        copier().copyBufferToBuffer(up.buffer, 0, to.buffer, to.offset, data.byteLength);
        remap.push(up);
      } else device.queue.writeBuffer(to.buffer, to.offset, data.buffer, data.byteOffset, data.byteLength);
    }
    // A command buffer encoded ahead reads into the call's own readback buffer, never a batch's place.
    const key = `${from}:${to}:${copies}:${read}${readTo ? `:${readTo.base}` : ''}`;
    const ahead = this.ahead;
    this.ahead = undefined;
    const reuse = ahead && ahead.key === key && ahead.sources.length === sources.length && ahead.sources.every((a, k) => a.s === sources[k].s && a.buffer === sources[k].buffer && a.offset === sources[k].offset);
    const commands = reuse && !readTo ? ahead.commands : this.encodeCall(from, to, copies, read, sources, readTo);
    const { slices, at } = this.readSlices(read);
    device.queue.submit(inputEncoder ? [inputEncoder.finish(), commands] : [commands]);
    this.submits++;
    // Mapped again while the GPU works; the next call waits for it. Marked handled here, so a buffer
    // destroyed before its mapping resolves raises nothing unless a call still needs it.
    for (const up of remap) {
      up.ready = up.buffer.mapAsync(GPUMapMode.WRITE);
      up.ready.catch(() => undefined);
    }
    return { slices, at, key, sources };
  }

  /**
   * Encodes the command buffer of a call like the one just submitted, for the next: a predict's host
   * waits for the GPU anyway, and recording costs 3–5 µs a step plus 12–20 µs a pass on the H100's host
   * (bench/encode-cost.ts), time the next call then need not spend before its submit. It serves a call
   * of the same kind with the same GPUBuffer inputs, if any.
   */
  private encodeAhead(key: string, from: number, to: number, copies: boolean, read: boolean, sources: readonly GpuSource[]): void {
    if (!this.destroyed) this.ahead = { key, sources, commands: this.encodeCall(from, to, copies, read, sources) };
  }

  /** Where each output lands in the readback buffer, and the bytes read back (none unless `read`). */
  private readSlices(read: boolean): { slices: readonly { o: TensorSignature; at: number; bytes: number }[]; at: number } {
    if (!read) return { slices: [], at: 0 };
    if (!this.readback) {
      let at = 0;
      const slices = this.manifest.model.outputs.map((o) => {
        const slice = { o, at, bytes: 4 * sizeOf(o.shape) };
        at += slice.bytes;
        return slice;
      });
      this.readback = { slices, at };
    }
    return this.readback;
  }

  /** The copies of GPUBuffer inputs, the steps [from, to), the state copies when `copies`, and the output copies when `read`, as one command buffer. */
  private encodeCall(from: number, to: number, copies: boolean, read: boolean, sources: readonly GpuSource[], readTo: ReadTarget = { buffer: this.staging, base: 0 }): GPUCommandBuffer {
    const encoder = this.device.createCommandEncoder({ label: 'kiln predict' });
    for (const { s, buffer, offset } of sources) {
      const bytes = 4 * sizeOf(s.shape);
      const at = this.arena.at(s.offset, bytes);
      encoder.copyBufferToBuffer(buffer, offset, at.buffer, at.offset, bytes);
    }
    const pass = encoder.beginComputePass();
    // Indexed, not sliced: a predict allocates nothing it can reuse.
    for (let i = from; i < to; i++) {
      const step = this.steps[i];
      pass.setPipeline(step.pipeline);
      pass.setBindGroup(0, step.bindGroup);
      pass.dispatchWorkgroups(step.dispatch[0], step.dispatch[1], step.dispatch[2]);
    }
    pass.end();
    // WebGPU copies never stay inside one buffer, so new state goes out to scratch and back.
    if (this.scratch && copies) {
      let at = 0;
      for (const c of this.manifest.copies ?? []) {
        const from = this.arena.at(c.from, c.size);
        encoder.copyBufferToBuffer(from.buffer, from.offset, this.scratch, at, c.size);
        at += c.size;
      }
      at = 0;
      for (const c of this.manifest.copies ?? []) {
        const to = this.arena.at(c.to, c.size);
        encoder.copyBufferToBuffer(this.scratch, at, to.buffer, to.offset, c.size);
        at += c.size;
      }
    }
    for (const { o, at, bytes } of this.readSlices(read).slices) {
      const from = this.arena.at(o.offset, bytes);
      encoder.copyBufferToBuffer(from.buffer, from.offset, readTo.buffer, readTo.base + at, bytes);
    }
    return encoder.finish();
  }
}

function align16(n: number): number {
  return Math.ceil(n / 16) * 16;
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function padded(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength % 4 === 0) return bytes;
  const out = new Uint8Array(align4(bytes.byteLength));
  out.set(bytes);
  return out;
}

export { BundleError };

/**
 * Waits until Dawn has released the memory of buffers destroyed so far: it frees them once a submit
 * after their destruction completes, so one empty submit is made and waited for. Without it, a load
 * that follows a destroyed session, or a failed larger load, can run out of memory that is already free.
 */
export async function releaseDestroyed(device: GPUDevice): Promise<void> {
  device.queue.submit([device.createCommandEncoder({ label: 'kiln release' }).finish()]);
  await device.queue.onSubmittedWorkDone();
}

/**
 * The arena's pages and the weights buffer. An allocation that runs out of memory is tried once more
 * after Dawn releases what was destroyed (see releaseDestroyed), then fails with an OutOfMemoryError.
 */
async function allocate(device: GPUDevice, m: Manifest): Promise<{ arena: Arena; weights: GPUBuffer }> {
  for (let attempt = 0; ; attempt++) {
    device.pushErrorScope('out-of-memory');
    let arena: Arena;
    try {
      arena = new Arena(device, m, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC);
    } catch (e) {
      await device.popErrorScope();
      throw e;
    }
    // Sizes in whole vec4s: kernels may declare the buffers as arrays of vec4<f32>.
    const weights = device.createBuffer({ size: Math.max(16, align16(m.weights.size)), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label: 'kiln weights' });
    const outOfMemory = await device.popErrorScope();
    if (!outOfMemory) return { arena, weights };
    arena.destroy();
    weights.destroy();
    await releaseDestroyed(device);
    if (attempt === 1) {
      const bytes = m.arena.size + m.weights.size;
      throw new OutOfMemoryError(`bundle '${m.model.name}' needs ${(bytes / 2 ** 30).toFixed(2)} GiB of GPU memory (arena ${m.arena.size} bytes, weights ${m.weights.size}), more than the device could allocate: ${outOfMemory.message}`, { bytes });
    }
  }
}
