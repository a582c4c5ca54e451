import { Model } from '../frontend/model.js';
import { KilnError, ModelError } from '../ir/errors.js';
import { compileBundle } from '../codegen/compile.js';
import { profileForAdapter } from '../codegen/profile.js';
import { Net } from '../runtime/net.js';
import { openDevice, type GpuContext } from '../runtime/gpu.js';
import type { TensorMap } from '../runtime/net.js';
import { resolveCompileArgs, type CompileArgs, type CompiledConfig } from './config.js';
import { trainingObjective } from './program.js';
import { TrainingSession } from './session.js';
import { DataParallelSession, trainingSessionFor } from './replicas.js';
import type { MicroBatch } from './micro-batch.js';
import { NetCache } from './net-cache.js';
import { openAdapters, type DeviceCount } from '../runtime/adapters.js';
import { replicaCount } from '../runtime/replicas.js';
import { gather, permutation, sliceColumn, toColumns, type Column, type DataArg } from './data.js';
import { callAll, type Callback, type Logs, type TrainingControl } from './callbacks/base.js';
import { TerminateOnNaN, withDefaultCallbacks, type History } from './callbacks/index.js';

/** A loss that stopped being finite; names where. */
export class NaNLossError extends KilnError {}

/** Options of `fit`, as Keras names them. */
export interface FitArgs {
  epochs?: number;
  batchSize?: number;
  shuffle?: boolean;
  validationSplit?: number;
  validationData?: [DataArg, DataArg];
  initialEpoch?: number;
  verbose?: 0 | 1 | 2;
  callbacks?: Callback[];
  /** Seed of the epoch shuffles. */
  seed?: number;
  /**
   * Data-parallel replicas (synchronous, as MirroredStrategy): each of n devices (one per adapter with
   * 'all') trains on batchSize / n samples of every batch; gradients are averaged, so the weights stay
   * identical. One replica (the default) is the ordinary single-device step.
   */
  replicas?: DeviceCount;
  /**
   * Samples per compiled micro-batch of each replica (gradient accumulation: still one update per
   * batch). Default with replicas: 'auto', the whole slice when its step fits the device's largest
   * storage buffer, else the largest divisor of it that does; on one device, only when given.
   */
  microBatch?: MicroBatch;
}

interface TrainingState {
  config: CompiledConfig;
  /** By batch size, and replica count where more than one. */
  sessions: Map<string, TrainingSession | DataParallelSession>;
  /** Learning rate the next steps use (the GPU holds it as state). */
  learningRate: number;
  /** Optimizer steps taken, over all fits. */
  steps: number;
  /** Compiled evaluation Nets, kept between evaluate calls (see NetCache). */
  evaluateNets: NetCache;
}

const states = new WeakMap<Model, TrainingState>();
let gpu: Promise<GpuContext> | undefined;
/** The device training and evaluation share, opened on first use. */
const device = () => (gpu ??= openDevice());

/** Makes fit/evaluate/predict use an already open device (one the caller chose or opened to print its name). */
export function useTrainingDevice(ctx: GpuContext): void {
  gpu = Promise.resolve(ctx);
}

function stateOf(model: Model): TrainingState {
  const s = states.get(model);
  if (!s) throw new ModelError(`model '${model.name}' must be compiled before training or evaluation: call model.compile({ optimizer, loss, metrics })`, { model: model.name });
  return s;
}

const numel = (shape: readonly (number | null)[]) => shape.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
const learningRateAt = (config: CompiledConfig, step: number): number => {
  const lr = config.optimizer.learningRate as number | { valueAt(step: number): number };
  return typeof lr === 'number' ? lr : lr.valueAt(step);
};

/** `model.compile(...)`: resolves optimizer, losses and metrics; compiling to kernels happens on the first fit. */
export function compileModel(model: Model, args: CompileArgs): void {
  const config = resolveCompileArgs(model, args);
  releaseTraining(model);
  states.set(model, { config, sessions: new Map(), learningRate: learningRateAt(config, 0), steps: 0, evaluateNets: new NetCache() });
}

function releaseTraining(model: Model): void {
  const old = states.get(model);
  for (const s of old?.sessions.values() ?? []) s.destroy();
  old?.evaluateNets.clear();
}

/**
 * `model.dispose()`: frees the GPU memory the model's compiled steps and kept inference Nets hold;
 * the weights stay, and the next fit, evaluate or predict compiles again.
 */
export function disposeModel(model: Model): void {
  releaseTraining(model);
  const old = states.get(model);
  if (old) states.set(model, { ...old, sessions: new Map(), evaluateNets: new NetCache() });
  predictNets.get(model)?.clear();
  predictNets.delete(model);
}

function inputSlots(model: Model) {
  return model.inputs.map((t, i) => ({ name: model.inputNames[i], perSample: numel(t.shape), dtype: t.dtype }));
}
function targetSlots(model: Model, config: CompiledConfig) {
  return model.outputs.map((o, i) => ({ name: `${model.outputNames[i]}_target`, perSample: numel(config.targetShape(i, o.shape)), dtype: 'float32' as const }));
}

/** Input and output bytes one call of a compiled inference Net may hold before the rest goes to the next call. */
const CALL_BYTES = 64 * 2 ** 20;

/**
 * Runs compiled inference (or evaluation) over all samples in batches; a last partial batch gets a
 * Net of its own size. Whole batches go to the Net several at a time (up to CALL_BYTES), so each
 * batch's upload overlaps the GPU's work on the one before; a Net that carries state runs one a call.
 * `each` gets the outputs of `samples` samples from `start`, in batches of `batch`.
 */
async function runBatched(
  netFor: (batch: number) => Promise<Net>,
  columns: Column[],
  count: number,
  batchSize: number,
  each: (out: TensorMap, start: number, samples: number, batch: number) => void,
  finish?: (nets: readonly Net[]) => Promise<void>,
): Promise<void> {
  const used = new Set<Net>();
  const inBytes = columns.reduce((a, c) => a + 4 * c.perSample, 0);
  for (let start = 0; start < count; ) {
    const batch = Math.min(batchSize, count - start);
    const net = await netFor(batch);
    used.add(net);
    const outBytes = net.outputs.reduce((a, o) => a + 4 * o.shape.reduce((x, y) => x * y, 1), 0);
    const whole = Math.floor((count - start) / batch);
    const batches = net.carriesState ? 1 : Math.max(1, Math.min(whole, Math.floor(CALL_BYTES / (batch * inBytes + outBytes))));
    const samples = batches * batch;
    const feeds = Object.fromEntries(columns.map((c, i) => [net.inputs[i].name, sliceColumn(c, start, start + samples).data]));
    each(await net.predict(feeds), start, samples, batch);
    start += samples;
  }
  await finish?.([...used]);
}

const deviceIds = new WeakMap<GPUDevice, number>();
let nextDeviceId = 0;
/** A number per device, for the kept Nets' keys: after useTrainingDevice, a Net on the old device is not reused. */
function deviceId(ctx: GpuContext): number {
  let id = deviceIds.get(ctx.device);
  if (id === undefined) deviceIds.set(ctx.device, (id = nextDeviceId++));
  return id;
}

/** The inference Nets a model keeps for predict, by batch and precision (evaluate's live in its TrainingState). */
const predictNets = new WeakMap<Model, NetCache>();

/** `model.evaluate(x, y)`: inference-mode loss and metrics over all samples, as Keras's `[loss, ...metrics]`. */
export async function evaluateModel(model: Model, x: DataArg, y: DataArg, args: { batchSize?: number } = {}): Promise<number[]> {
  const logs = await evaluateLogs(model, x, y, args.batchSize ?? 32);
  return Object.values(logs);
}

async function evaluateLogs(model: Model, x: DataArg, y: DataArg, batchSize: number): Promise<Logs> {
  const state = stateOf(model);
  const xs = toColumns(x, inputSlots(model), 'input');
  const ys = toColumns(y, targetSlots(model, state.config), 'target');
  if (xs.count !== ys.count) throw new ModelError(`evaluate got ${xs.count} input samples but ${ys.count} targets`);
  const objective = trainingObjective(model, state.config);
  const names = ['loss', ...objective.metrics];
  const sums = Object.fromEntries(names.map((n) => [n, 0]));
  const gpuCtx = await device();
  const precision = state.config.precision;
  const variables = model.toTraced().variables;
  await runBatched(
    (batch) => state.evaluateNets.get(`${deviceId(gpuCtx)}/${batch}/${precision}`, variables, () => Net.create(compileBundle({ name: model.name, program: objective.program }, { batch, profile: profileForAdapter(gpuCtx.adapter, precision) }).bundle, gpuCtx)),
    [...xs.columns, ...ys.columns],
    xs.count,
    batchSize,
    // One loss (and metric) value a batch, each the batch's mean.
    (out, _start, _samples, batch) => {
      for (const n of names) for (const v of out[n]) sums[n] += v * batch;
    },
  );
  return Object.fromEntries(names.map((n) => [n, sums[n] / xs.count]));
}

/** `model.predict(x)`: inference over any number of samples, batched; one Float32Array per output (one output: just it). */
export async function predictModel(model: Model, x: DataArg, args: { batchSize?: number } = {}): Promise<Float32Array | Float32Array[]> {
  const xs = toColumns(x, inputSlots(model), 'input');
  const outs = model.outputs.map((o) => new Float32Array(xs.count * numel(o.shape)));
  const names = model.outputNames;
  const gpuCtx = await device();
  // A stateful layer's state, carried on the GPU from batch to batch, goes back to its variables at the end (Keras keeps it until reset_states).
  const traced = model.toTraced();
  const carried = new Set(traced.graph.updates.filter((u) => u.inference).map((u) => u.weight));
  const stateVariables = traced.variables.filter((v) => carried.has(v.name));
  const keepState = async (nets: readonly Net[]) => {
    for (const net of nets) {
      const values = await net.readState(stateVariables.map((v) => v.name));
      for (const v of stateVariables) v.write(values[v.name]);
    }
  };
  // A model compiled for mixed-precision training predicts in mixed precision too, as Keras's policy does.
  const precision = states.get(model)?.config.precision;
  let nets = predictNets.get(model);
  if (!nets) predictNets.set(model, (nets = new NetCache()));
  const cache = nets;
  const netFor = (batch: number) => cache.get(`${deviceId(gpuCtx)}/${batch}/${precision ?? 'policy'}`, traced.variables, () => Net.create(compileBundle(model, { batch, profile: profileForAdapter(gpuCtx.adapter, precision) }).bundle, gpuCtx));
  await runBatched(netFor, xs.columns, xs.count, args.batchSize ?? 32, (out, start) => {
    names.forEach((n, i) => outs[i].set(out[n] as Float32Array, start * (outs[i].length / xs.count)));
  }, stateVariables.length ? keepState : undefined);
  return outs.length === 1 ? outs[0] : outs;
}

async function sessionFor(model: Model, state: TrainingState, batch: number, replicas: DeviceCount = 1, microBatch?: MicroBatch): Promise<TrainingSession | DataParallelSession> {
  const n = await replicaCount({ replicas });
  const key = n > 1 || microBatch !== undefined ? `${batch}x${n}/${microBatch ?? 'auto'}` : `${batch}`;
  let s = state.sessions.get(key);
  if (!s) {
    s = n > 1 ? await DataParallelSession.create(model, state.config, batch, await openAdapters(n), { ownDevices: true, microBatch }) : await trainingSessionFor(model, state.config, batch, [await device()], { microBatch });
    state.sessions.set(key, s);
  }
  return s;
}

/**
 * `model.fit(x, y, ...)`: compiles the whole training step (forward, backward, optimizer) for the batch
 * size, then runs epochs of steps, one submit each, reading the running loss and metrics back only
 * when logs are needed. The last partial batch of an epoch is left out (its samples come back in
 * other epochs through shuffling); validation covers every sample.
 */
export async function fitModel(model: Model, x: DataArg, y: DataArg, args: FitArgs = {}): Promise<History> {
  const state = stateOf(model);
  const epochs = args.epochs ?? 1;
  const batchSize = args.batchSize ?? 32;
  const verbose = args.verbose ?? 1;
  let xs = toColumns(x, inputSlots(model), 'input');
  let ys = toColumns(y, targetSlots(model, state.config), 'target');
  if (xs.count !== ys.count) throw new ModelError(`fit got ${xs.count} input samples but ${ys.count} targets`);
  let validation: [DataArg, DataArg] | undefined = args.validationData;
  if (!validation && args.validationSplit) {
    // Keras takes the validation samples from the end, before any shuffling.
    const cut = Math.floor(xs.count * (1 - args.validationSplit));
    validation = [xs.columns.map((c) => sliceColumn(c, cut, xs.count).data), ys.columns.map((c) => sliceColumn(c, cut, ys.count).data)];
    xs = { columns: xs.columns.map((c) => sliceColumn(c, 0, cut)), count: cut };
    ys = { columns: ys.columns.map((c) => sliceColumn(c, 0, cut)), count: cut };
  }
  const steps = Math.floor(xs.count / batchSize);
  if (steps === 0) throw new ModelError(`fit: ${xs.count} training samples make no full batch of ${batchSize}; use a smaller batchSize`);

  const session = await sessionFor(model, state, batchSize, args.replicas, args.microBatch);
  session.pushWeights();
  session.setLearningRate(state.learningRate);
  // Keras's order: the user's callbacks, then History, then the progress bar.
  const { callbacks, history } = withDefaultCallbacks(args.callbacks ?? [], verbose);
  const control: TrainingControl = {
    stopTraining: false,
    getLearningRate: () => state.learningRate,
    setLearningRate: (v) => {
      state.learningRate = v;
      session.setLearningRate(v);
    },
    syncWeights: () => session.pullWeights(),
  };
  const metricNames = ['loss', ...session.metrics];
  const params = { epochs, steps, batchSize, verbose, metrics: [...metricNames, ...(validation ? metricNames.map((m) => `val_${m}`) : [])] };
  for (const cb of callbacks) {
    cb.setModel(model);
    cb.setParams(params);
    cb.setControl(control);
  }
  const everyBatch = callbacks.some((c) => c.wantsEveryBatch);
  const logEvery = everyBatch ? 1 : verbose === 1 ? Math.max(1, Math.floor(steps / 20)) : Infinity;
  const schedule = typeof state.config.optimizer.learningRate !== 'number';
  const buffers = [...xs.columns, ...ys.columns].map((c) => (c.dtype === 'float32' ? new Float32Array(batchSize * c.perSample) : new Int32Array(batchSize * c.perSample)));
  const names = session.inputNames;

  await callAll(callbacks, 'onTrainBegin');
  let logs: Logs = {};
  for (let epoch = args.initialEpoch ?? 0; epoch < epochs && !control.stopTraining; epoch++) {
    await callAll(callbacks, 'onEpochBegin', epoch);
    session.resetLogs();
    const order = args.shuffle === false ? new Uint32Array(xs.count).map((_, i) => i) : permutation(xs.count, (args.seed ?? 1) + epoch);
    let batchLogs: Logs = {};
    for (let step = 0; step < steps && !control.stopTraining; step++) {
      await callAll(callbacks, 'onTrainBatchBegin', step, batchLogs);
      [...xs.columns, ...ys.columns].forEach((c, k) => gather(c, order, step * batchSize, batchSize, buffers[k]));
      if (schedule) session.setLearningRate((state.learningRate = learningRateAt(state.config, state.steps)));
      void session.step(Object.fromEntries(names.map((n, k) => [n, buffers[k]])));
      state.steps++;
      if ((step + 1) % logEvery === 0 || step === steps - 1) {
        const read = await session.readLogs();
        checkFinite(read.nanStep, epoch, callbacks, control);
        batchLogs = read.logs;
      } else if (step % 16 === 15) await session.flush();
      await callAll(callbacks, 'onTrainBatchEnd', step, batchLogs);
    }
    const read = await session.readLogs();
    checkFinite(read.nanStep, epoch, callbacks, control);
    logs = { ...read.logs };
    if (validation) {
      await session.pullWeights();
      const val = await evaluateLogs(model, validation[0], validation[1], batchSize);
      for (const [k, v] of Object.entries(val)) logs[`val_${k}`] = v;
    }
    await callAll(callbacks, 'onEpochEnd', epoch, logs);
  }
  await session.pullWeights();
  await callAll(callbacks, 'onTrainEnd', logs);
  return history;
}

function checkFinite(nanStep: number, epoch: number, callbacks: readonly Callback[], control: TrainingControl): void {
  if (nanStep < 0) return;
  const where = `epoch ${epoch + 1}, step ${nanStep + 1}`;
  if (callbacks.some((c) => c instanceof TerminateOnNaN)) {
    // TerminateOnNaN says so itself when it sees the epoch's logs.
    control.stopTraining = true;
    return;
  }
  throw new NaNLossError(`the loss became NaN or infinite at ${where}: lower the learning rate, check the data for NaN, or add callbacks.TerminateOnNaN() to stop quietly`, { epoch: epoch + 1, step: nanStep + 1 });
}

/** `model.trainOnBatch(x, y)`: one optimizer step on exactly these samples; returns [loss, ...metrics] as Keras does. */
export async function trainOnBatchModel(model: Model, x: DataArg, y: DataArg): Promise<number[]> {
  const state = stateOf(model);
  const xs = toColumns(x, inputSlots(model), 'input');
  const ys = toColumns(y, targetSlots(model, state.config), 'target');
  const session = await sessionFor(model, state, xs.count);
  session.pushWeights();
  session.setLearningRate(state.learningRate);
  session.resetLogs();
  await session.step(Object.fromEntries(session.inputNames.map((n, k) => [n, [...xs.columns, ...ys.columns][k].data])));
  state.steps++;
  const read = await session.readLogs();
  await session.pullWeights();
  return Object.values(read.logs);
}

declare module '../frontend/model.js' {
  interface Model {
    /** Configures training, as Keras's `model.compile`. */
    compile(args: CompileArgs): void;
    /** Trains the model, as Keras's `model.fit`. */
    fit(x: DataArg, y: DataArg, args?: FitArgs): Promise<History>;
    /** Loss and metrics in inference mode: `[loss, ...metrics]`. */
    evaluate(x: DataArg, y: DataArg, args?: { batchSize?: number }): Promise<number[]>;
    /** Outputs for any number of samples, in batches. */
    predict(x: DataArg, args?: { batchSize?: number }): Promise<Float32Array | Float32Array[]>;
    /** One optimizer step on one batch: `[loss, ...metrics]`. */
    trainOnBatch(x: DataArg, y: DataArg): Promise<number[]>;
    /** Frees the GPU memory of the model's compiled steps and kept predict/evaluate Nets, as TF.js's `dispose`; the weights stay. */
    dispose(): void;
  }
}

Object.assign(Model.prototype, {
  compile(this: Model, args: CompileArgs) {
    compileModel(this, args);
  },
  fit(this: Model, x: DataArg, y: DataArg, args?: FitArgs) {
    return fitModel(this, x, y, args);
  },
  evaluate(this: Model, x: DataArg, y: DataArg, args?: { batchSize?: number }) {
    return evaluateModel(this, x, y, args);
  },
  predict(this: Model, x: DataArg, args?: { batchSize?: number }) {
    return predictModel(this, x, args);
  },
  trainOnBatch(this: Model, x: DataArg, y: DataArg) {
    return trainOnBatchModel(this, x, y);
  },
  dispose(this: Model) {
    disposeModel(this);
  },
});
