/**
 * Custom training loops, the GradientTape way: `trainStep` compiles one step from a user's loss
 * function over several models and optimizers (a GAN's generator and discriminator) into one graph
 * (forward, every loss's gradients, every optimizer's update) that runs in one submit.
 */
import type { Layer, Update } from '../frontend/layer.js';
import { Input } from '../frontend/input.js';
import { SymbolicTensor, type TraceNode } from '../frontend/symbolic.js';
import { traceGraph, weightValues } from '../frontend/trace.js';
import type { LayerVariable } from '../frontend/variables.js';
import { getOptimizer, type Optimizer, type OptimizerIdentifier } from '../frontend/optimizers.js';
import { formatShape, ModelError } from '../ir/errors.js';
import { ndarray } from '../ir/ndarray.js';
import type { Graph, ValueRef } from '../ir/types.js';
import { GraphBuilder } from '../passes/builder.js';
import { runPipeline } from '../passes/pipelines.js';
import { gradName } from '../passes/autodiff.js';
import { applyOptimizer, optimizerStateNames } from '../passes/optimizer.js';
import type { PassContext, Program } from '../passes/program.js';
import { buildBundle } from '../codegen/bundle.js';
import { profileForAdapter, type Precision } from '../codegen/profile.js';
import { warnIfFloat32 } from '../codegen/compile.js';
import { differentiateLoss, lossScaleOf } from './loss-scaling.js';
import { Net, type TensorData } from '../runtime/net.js';
import { openDevice, type GpuContext } from '../runtime/gpu.js';
import { dropoutPerStep, FORWARD_PASSES, FUSION_PASSES } from './session.js';

/** A batch input: its per-sample shape (float32), or its shape and dtype. */
export type BatchInputSpec = readonly number[] | { readonly shape: readonly number[]; readonly dtype?: 'float32' | 'int32' };

/** What `trainStep` takes. */
export interface TrainStepArgs {
  /** The models whose weights train; models[i]'s trainable weights are optimizers[i]'s. */
  readonly models: readonly Layer[];
  /** One optimizer per model; optimizer i minimizes the i-th loss the loss function returns. */
  readonly optimizers: readonly OptimizerIdentifier[];
  /** The batch's inputs by name, with their per-sample shapes. */
  readonly inputs: Readonly<Record<string, BatchInputSpec>>;
  /** Builds scalar losses, by name, from the symbolic batch; call the models and ops here. */
  readonly loss: (batch: Record<string, SymbolicTensor>) => Record<string, SymbolicTensor>;
  /** Names the step in errors and bundles (default 'train_step'). */
  readonly name?: string;
  /** The device to run on; default: one opened on first use and shared by every trainStep. */
  readonly gpu?: GpuContext;
  /** GEMM arithmetic: 'float32' (default) or 'mixed', with each loss scaled dynamically for its optimizer (docs/training.md). */
  readonly precision?: Precision;
}

/** Options of `TrainStep.run`. */
export interface TrainStepRunOptions {
  /** Samples in the batch; default: the first input's length over its per-sample size. */
  readonly batchSize?: number;
  /** Read the losses back (default true); false runs the step without waiting for the GPU. */
  readonly read?: boolean;
}

/** The step's graph before batch specialization, and what it trains. */
export interface TrainStepObjective {
  /** Outputs: one scalar per loss, by name; updates: the batch-norm statistics of every call inside. */
  readonly program: Program;
  readonly name: string;
  /** Graph input names (the keys of `inputs`). */
  readonly inputs: readonly string[];
  /** Loss names, in the order the optimizers take them. */
  readonly losses: readonly string[];
  /** Per optimizer: the trainable weights it updates (its model's, owned and reached by its loss). */
  readonly wrt: readonly (readonly string[])[];
  readonly optimizers: readonly Optimizer[];
  /** Per optimizer: the prefix of its state names (its name, made unique). */
  readonly prefixes: readonly string[];
  /** Every variable the graph reads, models' weights and batch-norm statistics. */
  readonly variables: readonly LayerVariable[];
  /** GEMM arithmetic of the compiled steps. */
  readonly precision: Precision;
}

/** The state weight holding the value of a loss at the last step. */
export const lastLossOf = (name: string) => `__loss/${name}`;

/**
 * Traces the loss function on symbolic batch inputs and checks it: every loss a float scalar, one loss
 * per optimizer, each optimizer's model with trainable weights its loss reaches. A weight in two
 * models belongs to the first that lists it.
 */
export function trainStepObjective(args: TrainStepArgs): TrainStepObjective {
  const name = args.name ?? 'train_step';
  const fail = (message: string, context: Record<string, unknown> = {}): never => {
    throw new ModelError(`trainStep '${name}': ${message}`, { trainStep: name, ...context });
  };
  if (!args.models?.length) fail('give at least one model in `models`');
  if (args.optimizers?.length !== args.models.length) {
    fail(`got ${args.models.length} model(s) but ${args.optimizers?.length ?? 0} optimizer(s); optimizer i trains models[i]`);
  }
  const optimizers = args.optimizers.map((o) => getOptimizer(o));
  const inputNames = Object.keys(args.inputs ?? {});
  if (!inputNames.length) fail('give the batch inputs, e.g. `inputs: { x: [784] }`');
  const batch = Object.fromEntries(
    inputNames.map((n) => {
      const spec = args.inputs[n];
      const { shape, dtype } = Array.isArray(spec) ? { shape: spec as readonly number[], dtype: 'float32' as const } : (spec as { shape: readonly number[]; dtype?: 'float32' | 'int32' });
      return [n, Input({ shape: [...shape], name: n, dtype: dtype ?? 'float32' })];
    }),
  );

  const returned: unknown = args.loss(batch);
  if (returned === null || typeof returned !== 'object' || returned instanceof SymbolicTensor || Array.isArray(returned)) {
    fail(`the loss function must return an object of named scalar losses, e.g. { gLoss, dLoss }; got ${describe(returned)}`);
  }
  const entries = Object.entries(returned as Record<string, unknown>);
  for (const [key, t] of entries) {
    if (!(t instanceof SymbolicTensor)) fail(`loss '${key}' is ${describe(t)}, not a symbolic tensor`, { loss: key });
    const s = t as SymbolicTensor;
    if (s.dtype !== 'float32' || !s.shape.every((d) => d === 1)) {
      fail(`loss '${key}' must be a float32 scalar, got shape ${formatShape(s.shape)} ${s.dtype}; reduce it, e.g. with ops.mean`, { loss: key, shape: s.shape });
    }
  }
  if (entries.length !== optimizers.length) {
    fail(`the loss function returned ${entries.length} loss(es) (${entries.map(([k]) => k).join(', ') || 'none'}) for ${optimizers.length} optimizer(s); optimizer i minimizes the i-th loss`, { losses: entries.map(([k]) => k) });
  }
  const losses = entries.map(([k]) => k);
  const tensors = entries.map(([, t]) => t as SymbolicTensor);
  const { graph, variables } = traceGraph({
    model: name,
    inputs: inputNames.map((n) => batch[n]),
    outputs: losses.map((k, i) => ({ name: k, tensor: tensors[i] })),
    updates: updatesReaching(tensors),
  });

  // Each trainable weight belongs to the first model that lists it.
  const owner = new Map<string, number>();
  args.models.forEach((m, i) => m.trainableWeights.forEach((w) => owner.has(w.name) || owner.set(w.name, i)));
  const wrt = args.models.map((m, i) => {
    const reached = weightsReaching(graph, losses[i]);
    const mine = m.trainableWeights.filter((w) => owner.get(w.name) === i).map((w) => w.name);
    const used = mine.filter((w) => reached.has(w));
    if (!used.length) {
      const why = !m.trainableWeights.length
        ? `model '${m.name}' has no trainable weights`
        : !mine.length
          ? `every trainable weight of model '${m.name}' belongs to an earlier model in the list`
          : `none of model '${m.name}''s trainable weights (${mine.join(', ')}) affects loss '${losses[i]}'`;
      fail(`optimizer ${i} ('${optimizers[i].name}') minimizes loss '${losses[i]}' over model '${m.name}', but ${why}`, { model: m.name, loss: losses[i] });
    }
    return used;
  });

  const prefixes: string[] = [];
  for (const o of optimizers) {
    let p = o.name;
    for (let k = 1; prefixes.includes(p); k++) p = `${o.name}_${k}`;
    prefixes.push(p);
  }
  const precision = args.precision ?? 'float32';
  if (precision !== 'float32' && precision !== 'mixed') fail(`precision must be 'float32' or 'mixed', got '${String(precision)}'`);
  return { program: { graph, weights: weightValues(variables) }, name, inputs: inputNames, losses, wrt, optimizers, prefixes, variables, precision };
}

/**
 * The step's program for a batch size: the forward graph settled, dropout seeded by the first
 * optimizer's counter, one autodiff per loss (all gradients from this step's weights, as two tapes
 * in Keras), one optimizer update per loss, the losses kept as state, then fused.
 */
export function trainStepProgram(objective: TrainStepObjective, batch: number, options: { check?: boolean; fuse?: boolean } = {}): Program {
  const ctx: PassContext = { phase: 'training', batch };
  const check = options.check ?? false;
  let p = runPipeline({ graph: objective.program.graph, weights: weightValues(objective.variables) }, FORWARD_PASSES, ctx, { check });
  p = dropoutPerStep(p, optimizerStateNames(objective.prefixes[0]).iterations);
  // Passes may drop what only a folded branch read; differentiate what is left.
  const wrt = objective.losses.map((loss, i) => {
    const reached = weightsReaching(p.graph, loss);
    return objective.wrt[i].filter((w) => reached.has(w));
  });
  // In mixed precision each loss starts its gradients from its optimizer's own scale, as a LossScaleOptimizer each.
  objective.losses.forEach((loss, i) => (p = differentiateLoss(p, objective, wrt[i], { loss, prefix: objective.prefixes[i] })));
  objective.optimizers.forEach((optimizer, i) => {
    p = applyOptimizer(p, { optimizer, prefix: objective.prefixes[i], grads: Object.fromEntries(wrt[i].map((w) => [w, gradName(w)])), lossScale: lossScaleOf(objective) });
  });
  p = keepLosses(p);
  return options.fuse === false ? p : runPipeline(p, FUSION_PASSES, ctx, { check });
}

let sharedGpu: Promise<GpuContext> | undefined;

/**
 * A compiled training step over several models and optimizers. The models' weights and the
 * optimizers' state live on the GPU between runs: `run` uploads the models' weights on its first
 * call, `pullWeights` copies them back into the models, `pushWeights` sends them again (after
 * `setWeights`). A new batch size compiles once more and carries the state over.
 */
export class TrainStep {
  /** Runs taken so far (every optimizer's `iterations`). */
  steps = 0;
  private readonly nets = new Map<number, Net>();
  private current?: Net;
  private queue: Promise<unknown> = Promise.resolve();
  private gpu?: Promise<GpuContext>;

  constructor(readonly objective: TrainStepObjective, gpu?: GpuContext) {
    if (gpu) this.gpu = Promise.resolve(gpu);
  }

  /** Names of the losses, as the loss function returned them. */
  get lossNames(): readonly string[] {
    return this.objective.losses;
  }

  /** Names of optimizer i's `iterations` and `learning_rate` state. */
  optimizerState(i: number): { iterations: string; learningRate: string } {
    const { iterations, learningRate } = optimizerStateNames(this.objective.prefixes[i]);
    return { iterations, learningRate };
  }

  /** The program that runs for a batch size (for inspection and the interpreter). */
  program(batch: number, options: { check?: boolean; fuse?: boolean } = {}): Program {
    return trainStepProgram(this.objective, batch, options);
  }

  /** One step on a batch, one submit: every optimizer updates its model. Resolves to the losses unless `read: false`. */
  run(feeds: Record<string, TensorData>, options: TrainStepRunOptions & { read: false }): Promise<void>;
  run(feeds: Record<string, TensorData>, options?: TrainStepRunOptions): Promise<Record<string, number>>;
  run(feeds: Record<string, TensorData>, options: TrainStepRunOptions = {}): Promise<Record<string, number> | void> {
    return this.enqueue(async () => {
      const net = await this.netFor(options.batchSize ?? this.batchOf(feeds));
      this.objective.optimizers.forEach((o, i) => {
        if (typeof o.learningRate !== 'number') net.writeState(this.optimizerState(i).learningRate, [o.learningRateAt(this.steps)]);
      });
      // A batch input the losses never read is compiled away; its feed is not an error.
      const compiled = new Set(net.inputs.map((s) => s.name));
      await net.predict(Object.fromEntries(Object.entries(feeds).filter(([k]) => compiled.has(k) || !this.objective.inputs.includes(k))));
      this.steps++;
      if (options.read !== false) return this.lossesOf(net);
    });
  }

  /** The losses of the last step (NaN before the first). */
  readLosses(): Promise<Record<string, number>> {
    return this.enqueue(async () => (this.current ? this.lossesOf(this.current) : Object.fromEntries(this.lossNames.map((n) => [n, NaN]))));
  }

  /** Copies the weights on the GPU (trained weights, batch-norm statistics) back into the models' variables. */
  pullWeights(): Promise<void> {
    return this.enqueue(async () => {
      if (!this.current) return;
      const names = new Set(this.current.stateNames);
      const wanted = this.objective.variables.filter((v) => names.has(v.name));
      const values = await this.current.readState(wanted.map((v) => v.name));
      for (const v of wanted) v.write(values[v.name]);
    });
  }

  /** Uploads the models' current weights (after setWeights); the first run does this itself. */
  pushWeights(): Promise<void> {
    return this.enqueue(async () => {
      if (this.current) this.upload(this.current);
    });
  }

  /** Frees every compiled step. */
  destroy(): void {
    for (const n of this.nets.values()) n.destroy();
    this.nets.clear();
    this.current = undefined;
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private batchOf(feeds: Record<string, TensorData>): number {
    const name = this.objective.inputs[0];
    const data = feeds[name];
    if (!data) throw new ModelError(`trainStep '${this.objective.name}': missing input '${name}' (it takes ${this.objective.inputs.join(', ')})`, { input: name });
    const node = this.objective.program.graph.nodes.find((n) => n.op === 'input' && n.attrs.name === name)!;
    const perSample = (node.outputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
    const batch = data.length / perSample;
    if (!Number.isInteger(batch) || batch < 1) {
      throw new ModelError(`trainStep '${this.objective.name}': input '${name}' has ${data.length} values, not a whole number of samples of ${perSample}`, { input: name });
    }
    return batch;
  }

  private upload(net: Net): void {
    const names = new Set(net.stateNames);
    for (const v of this.objective.variables) if (names.has(v.name)) net.writeState(v.name, v.read());
  }

  /** The net for a batch size, compiled on first use; state moves to it from the net used last. */
  private async netFor(batch: number): Promise<Net> {
    let net = this.nets.get(batch);
    if (!net) {
      this.gpu ??= sharedGpu ??= openDevice();
      const ctx = await this.gpu;
      const p = this.program(batch);
      const profile = profileForAdapter(ctx.adapter, this.objective.precision);
      warnIfFloat32(profile, ctx.adapter.description);
      const { bundle } = buildBundle(p.graph, p.weights, this.objective.name, batch, { mode: 'training', profile });
      net = await Net.create(bundle, ctx);
      this.nets.set(batch, net);
      if (!this.current) this.upload(net);
    }
    if (this.current && this.current !== net) {
      const names = new Set(net.stateNames);
      const state = await this.current.readState(this.current.stateNames.filter((n) => names.has(n)));
      for (const [n, v] of Object.entries(state)) net.writeState(n, v);
    }
    this.current = net;
    return net;
  }

  private async lossesOf(net: Net): Promise<Record<string, number>> {
    const state = await net.readState(this.lossNames.map(lastLossOf));
    return Object.fromEntries(this.lossNames.map((n) => [n, state[lastLossOf(n)][0]]));
  }
}

/**
 * A custom training step, as a Keras `train_step` with GradientTape: the loss function builds named
 * scalar losses from the symbolic batch by calling the models; optimizer i minimizes the i-th loss
 * (in the object's key order) over the trainable weights of models[i] only (a weight in two models
 * belongs to the first that lists it). All gradients come from the weights before the step; batch-norm
 * statistics of every call inside are updated (a layer called twice keeps its last call's); dropout
 * draws new masks each step. Regularization penalties are not added: add them to a loss yourself.
 */
export function trainStep(args: TrainStepArgs): TrainStep {
  return new TrainStep(trainStepObjective(args), args.gpu);
}

/** The batch-norm updates recorded by the layer calls the losses depend on, in call order; one per variable (the last). */
function updatesReaching(tensors: readonly SymbolicTensor[]): Update[] {
  const found = new Set<Update>();
  const seen = new Set<TraceNode>();
  const stack = [...tensors];
  while (stack.length) {
    const t = stack.pop()!;
    for (const u of t.history?.call.updates ?? []) found.add(u);
    if (seen.has(t.node)) continue;
    seen.add(t.node);
    stack.push(...t.node.inputs);
  }
  const byVariable = new Map<LayerVariable, Update>();
  for (const u of [...found].sort((a, b) => a.value.node.id - b.value.node.id)) {
    byVariable.delete(u.variable);
    byVariable.set(u.variable, u);
  }
  return [...byVariable.values()];
}

/** Names of the weights an output depends on. */
function weightsReaching(graph: Graph, output: string): Set<string> {
  const out = graph.outputs.find((o) => o.name === output)!;
  const live = new Set<number>([out.value.node]);
  const names = new Set<string>();
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (!live.has(n.id)) continue;
    if (n.op === 'weight') names.add(n.attrs.name as string);
    for (const r of n.inputs) live.add(r.node);
  }
  return names;
}

/** Moves each loss output into state `__loss/<name>` (its value at the last step), so a step reads nothing back. */
function keepLosses(program: Program): Program {
  const { graph } = program;
  const b = new GraphBuilder();
  for (const n of graph.nodes) b.copy(n, n.inputs);
  const weights = new Map(program.weights);
  const updates = [...graph.updates];
  for (const o of graph.outputs) {
    const name = lastLossOf(o.name);
    weights.set(name, ndarray([], 'float32', [NaN]));
    b.add('weight', [], { name, shape: [], dtype: 'float32', trainable: false }, name);
    const value: ValueRef = b.type(o.value).shape.length ? b.add('reshape', [o.value], { shape: [] }, `${name}/scalar`)[0] : o.value;
    updates.push({ weight: name, value });
  }
  return { graph: b.build([], updates), weights };
}

function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (x instanceof SymbolicTensor) return `a single tensor (${x}); name it: { loss: ... }`;
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'object' ? (x.constructor?.name ?? 'object') : typeof x;
}
