import type { Model } from '../frontend/model.js';
import { warnIfFloat32 } from '../codegen/compile.js';
import { differentiateLoss, lossScaleOf } from './loss-scaling.js';
import { ndarray } from '../ir/ndarray.js';
import type { Node } from '../ir/types.js';
import { rnnLayout } from '../ir/ops/recurrent.js';
import { GraphBuilder } from '../passes/builder.js';
import { runPipeline } from '../passes/pipelines.js';
import { specializeBatch } from '../passes/bind-batch.js';
import { foldLearningPhase } from '../passes/learning-phase.js';
import { constantFold } from '../passes/constant-fold.js';
import { expandBatchNorm } from '../passes/expand-batchnorm.js';
import { fuseBatchNormActivation } from '../passes/fuse-batchnorm-activation.js';
import { cse } from '../passes/cse.js';
import { dce } from '../passes/dce.js';
import { fuseEpilogues } from '../passes/fuse-epilogues.js';
import { fuseElementwise } from '../passes/fuse-elementwise.js';
import { fuseOptimizer } from '../passes/fuse-optimizer.js';
import { fuseScalars, fuseScalarsBy, type PhaseOf } from '../passes/fuse-scalars.js';
import { autodiff } from '../passes/autodiff.js';
import { recordRecurrentStates } from '../passes/record-recurrent.js';
import { applyOptimizer, ITERATIONS } from '../passes/optimizer.js';
import type { Pass, PassContext, Program } from '../passes/program.js';
import { buildBundle } from '../codegen/bundle.js';
import { Net, type PredictInput } from '../runtime/net.js';
import { openDevice, type GpuContext } from '../runtime/gpu.js';
import { profileForAdapter } from '../codegen/profile.js';
import type { Bundle } from '../runtime/format.js';
import { accumulateOutputs, NAN_STEP, STEPS, sumOf } from './accumulate.js';
import { trainingObjective } from './program.js';
import type { CompiledConfig } from './config.js';

/** The passes that settle a training step's forward graph before differentiation. */
export const FORWARD_PASSES: readonly Pass[] = [specializeBatch, foldLearningPhase, constantFold, expandBatchNorm, cse, dce, fuseBatchNormActivation];
/** The passes that clean up and fuse a training step once its updates are in; `phaseOf` keeps phases' scalar work apart. */
export const fusionPasses = (phaseOf?: PhaseOf): readonly Pass[] => [constantFold, cse, dce, fuseEpilogues, fuseElementwise, fuseOptimizer, phaseOf ? fuseScalarsBy(phaseOf) : fuseScalars, dce];
/** The passes that clean up and fuse a training step once its updates are in. */
export const FUSION_PASSES: readonly Pass[] = fusionPasses();

/**
 * Gives every dropout (and every recurrent layer with dropout) the optimizer's step counter as its last input, so each step draws a new mask
 * (Keras's behaviour); the counter is the `iterations` weight that applyOptimizer advances (with
 * several optimizers, the first one's, named by `counterName`).
 */
export function dropoutPerStep(program: Program, counterName: string = ITERATIONS): Program {
  const { graph } = program;
  // Recurrent layers with (recurrent) dropout draw their masks from the step counter too, when they take one.
  const drawsPerStep = (n: Node, inputs: readonly unknown[]) =>
    (n.op === 'dropout' && inputs.length === 2) || (n.op === 'rnnSequence' && rnnLayout(n.attrs, inputs.length).training >= 0 && rnnLayout(n.attrs, inputs.length).step < 0);
  if (!graph.nodes.some((n) => drawsPerStep(n, n.inputs))) return program;
  const b = new GraphBuilder();
  const weights = new Map(program.weights);
  const counter = graph.nodes.find((n) => n.op === 'weight' && n.attrs.name === counterName);
  const map = new Map<number, number>();
  let step: { node: number; output: number } | undefined;
  if (!counter) {
    weights.set(counterName, ndarray([], 'float32', [0]));
    step = b.add('weight', [], { name: counterName, shape: [], dtype: 'float32', trainable: false }, counterName)[0];
  }
  for (const n of graph.nodes) {
    const inputs = n.inputs.map((r) => ({ node: map.get(r.node)!, output: r.output }));
    const out = drawsPerStep(n, inputs) ? b.add(n.op, [...inputs, step ?? { node: map.get(counter!.id)!, output: 0 }], n.attrs, n.name) : b.copy(n, inputs);
    map.set(n.id, out[0].node);
  }
  const remap = (r: { node: number; output: number }) => ({ node: map.get(r.node)!, output: r.output });
  return { graph: b.build(graph.outputs.map((o) => ({ ...o, value: remap(o.value) })), graph.updates.map((u) => ({ ...u, value: remap(u.value) }))), weights };
}

/** The passes of a training step, in order: the forward graph settled, then differentiated, then fused. */
export function trainingProgram(model: Model, config: CompiledConfig, batch: number, check = false, keepLoss = false): { program: Program; metrics: readonly string[]; trainable: readonly string[] } {
  const objective = trainingObjective(model, config);
  const ctx: PassContext = { phase: 'training', batch };
  let p = runPipeline(objective.program, FORWARD_PASSES, ctx, { check });
  p = dropoutPerStep(p);
  p = differentiateLoss(p, config, objective.trainable);
  p = runPipeline(p, [recordRecurrentStates], ctx, { check });
  p = applyOptimizer(p, { optimizer: config.optimizer, grads: Object.fromEntries(objective.trainable.map((w) => [w, `grad/${w}`])), lossScale: lossScaleOf(config) });
  p = accumulateOutputs(p, { keepLoss });
  p = runPipeline(p, FUSION_PASSES, ctx, { check });
  return { program: p, metrics: objective.metrics, trainable: objective.trainable };
}

/** A training step compiled for one batch size (TrainingSession.compile). */
export interface CompiledStep {
  readonly bundle: Bundle;
  readonly metrics: readonly string[];
  readonly batch: number;
}

/** One compiled training step on a GPU, with the model's weights and the optimizer's state on it. */
export class TrainingSession {
  private constructor(
    readonly model: Model,
    readonly net: Net,
    readonly bundle: Bundle,
    readonly metrics: readonly string[],
    readonly batch: number,
  ) {}

  /** Compiles the model's training step for a batch size and loads it. */
  static async create(model: Model, config: CompiledConfig, batch: number, gpu?: GpuContext, options: { readLoss?: boolean } = {}): Promise<TrainingSession> {
    const ctx = gpu ?? (await openDevice());
    return TrainingSession.load(model, TrainingSession.compile(model, config, batch, ctx, options), ctx);
  }

  /** The model's training step for a batch size, compiled for a device's adapter but not loaded (its arena's size can be checked first). */
  static compile(model: Model, config: CompiledConfig, batch: number, gpu: GpuContext, options: { readLoss?: boolean } = {}): CompiledStep {
    const { program, metrics } = trainingProgram(model, config, batch, false, options.readLoss);
    const profile = profileForAdapter(gpu.adapter, config.precision);
    warnIfFloat32(profile, gpu.adapter.description);
    const { bundle } = buildBundle(program.graph, program.weights, model.name, batch, { mode: 'training', profile });
    return { bundle, metrics, batch };
  }

  /** Loads a compiled step on a device. */
  static async load(model: Model, step: CompiledStep, gpu: GpuContext): Promise<TrainingSession> {
    return new TrainingSession(model, await Net.create(step.bundle, gpu), step.bundle, step.metrics, step.batch);
  }

  /** Names of the inputs a step takes: the model's inputs, then one target per output. */
  get inputNames(): string[] {
    return this.net.inputs.map((s) => s.name);
  }

  /** Uploads the model's current weights (after setWeights, or a previous fit of another batch size). */
  pushWeights(): void {
    const names = new Set(this.net.stateNames);
    for (const w of this.model.weights) if (names.has(w.name)) this.net.writeState(w.name, w.read());
  }

  /** Copies the trained weights back into the model's variables. */
  async pullWeights(): Promise<void> {
    const names = new Set(this.net.stateNames);
    const wanted = this.model.weights.filter((w) => names.has(w.name));
    const values = await this.net.readState(wanted.map((w) => w.name));
    for (const w of wanted) w.write(values[w.name]);
  }

  /**
   * Runs one step on a batch (host values, or GPUBuffers on this session's device: see PredictInput):
   * nothing is read back (unless created with `readLoss`: then the loss, in the same submit).
   */
  step(inputs: Record<string, PredictInput>): Promise<unknown> {
    return this.net.predict(inputs);
  }

  /** The epoch's running means so far, and the first step whose loss was not finite (−1 if none). */
  async readLogs(): Promise<{ logs: Record<string, number>; steps: number; nanStep: number }> {
    const names = ['loss', ...this.metrics];
    const state = await this.net.readState([STEPS, NAN_STEP, ...names.map(sumOf)]);
    const steps = state[STEPS][0];
    const logs = Object.fromEntries(names.map((n) => [n, steps ? state[sumOf(n)][0] / steps : NaN]));
    return { logs, steps, nanStep: state[NAN_STEP][0] };
  }

  /** Zeroes the running sums (at the start of an epoch). */
  resetLogs(): void {
    for (const n of ['loss', ...this.metrics]) this.net.writeState(sumOf(n), [0]);
    this.net.writeState(STEPS, [0]);
    this.net.writeState(NAN_STEP, [-1]);
  }

  /** Sets the learning rate the next steps use. */
  setLearningRate(value: number): void {
    this.net.writeState('learning_rate', [value]);
  }

  /** Resolves when every step so far has finished on the GPU. */
  flush(): Promise<void> {
    return this.net.flush();
  }

  destroy(): void {
    this.net.destroy();
  }
}
