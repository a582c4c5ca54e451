/**
 * The training step of data-parallel replicas, in two phases: the gradient phase (forward, backward)
 * ends with each replica's gradients, loss and metrics as outputs; the host averages them over the
 * replicas (and over the micro-batches of each replica's slice, src/training/micro-batch.ts) and writes
 * the means into every replica's `__reduced/…` inputs; the update phase (the optimizer, and the
 * running sums of loss and metrics) reads only those, so every replica applies the same update, keeps
 * the same sums, and the weights stay identical. State the model itself updates (BatchNorm's moving
 * statistics) is averaged the same way, as MirroredStrategy's MEAN aggregation does. One graph,
 * ordered so the update phase's nodes come last: one bundle whose steps split at one index.
 */
import { differentiateLoss, lossScaleOf } from './loss-scaling.js';
import type { Model } from '../frontend/model.js';
import type { Graph, Node, ValueRef } from '../ir/types.js';
import { ModelError } from '../ir/errors.js';
import { GraphBuilder } from '../passes/builder.js';
import { runPipeline } from '../passes/pipelines.js';
import { autodiff } from '../passes/autodiff.js';
import { applyOptimizer } from '../passes/optimizer.js';
import type { PassContext, Program } from '../passes/program.js';
import { accumulateOutputs } from './accumulate.js';
import { trainingObjective } from './program.js';
import { FORWARD_PASSES, fusionPasses, dropoutPerStep } from './session.js';
import type { PhaseOf } from '../passes/fuse-scalars.js';
import type { CompiledConfig } from './config.js';

/** Inputs of the update phase start with this; the host writes the replicas' mean there. */
export const REDUCED = '__reduced/';
/** Outputs of the gradient phase holding a model update's new value (a moving mean), to be averaged. */
export const STATE_OUT = '__state/';

/** One value averaged over the replicas between the phases: read from `output`, written to `input`. */
export interface Exchange {
  readonly output: string;
  readonly input: string;
}

/** A data-parallel training step: the ordered program, where its update phase starts, and what crosses between. */
export interface DataParallelStep {
  readonly program: Program;
  /** Index of the first node of the update phase. */
  readonly updateStart: number;
  readonly exchange: readonly Exchange[];
  readonly metrics: readonly string[];
  readonly trainable: readonly string[];
}

/**
 * The passes of a replica's training step for its slice (or micro-batch) of `batch` samples: as
 * trainingProgram, except that the optimizer reads averaged gradients from inputs, model updates take
 * averaged values, and the running sums of loss and metrics add averaged values (so a step of several
 * micro-batches counts once, each micro-batch weighing the same).
 */
export function dataParallelProgram(model: Model, config: CompiledConfig, batch: number, check = false): DataParallelStep {
  const objective = trainingObjective(model, config);
  const ctx: PassContext = { phase: 'training', batch };
  let p = runPipeline(objective.program, FORWARD_PASSES, ctx, { check });
  p = dropoutPerStep(p);
  p = differentiateLoss(p, config, objective.trainable);
  const modelUpdates = p.graph.updates;
  const isGrad = (name: string) => name.startsWith('grad/');
  const b = new GraphBuilder();
  // Copied in order into an empty builder, every node keeps its id.
  for (const n of p.graph.nodes) b.copy(n, n.inputs);
  const exchange: Exchange[] = [];
  const reducedInput = (into: GraphBuilder, name: string, like: ValueRef) => {
    const t = into.type(like);
    return into.add('input', [], { name: `${REDUCED}${name}`, shape: [...t.shape], dtype: t.dtype }, `${REDUCED}${name}`)[0];
  };
  // Loss and metrics leave the gradient phase as outputs; their running sums add the averaged values.
  const logs = p.graph.outputs.filter((o) => !isGrad(o.name));
  const averagedLogs = logs.map((o) => ({ name: o.name, value: reducedInput(b, o.name, o.value) }));
  for (const o of logs) exchange.push({ output: o.name, input: `${REDUCED}${o.name}` });
  const summed = accumulateOutputs({ graph: b.build(averagedLogs, []), weights: p.weights });
  const next = new GraphBuilder();
  for (const n of summed.graph.nodes) next.copy(n, n.inputs);
  // accumulateOutputs copies the nodes it was given first, in order, so earlier refs still name them.
  const at = (r: ValueRef): ValueRef => {
    if (summed.graph.nodes[r.node]?.name !== p.graph.nodes[r.node].name) throw new ModelError(`data-parallel step: node ${r.node} moved while adding running sums`);
    return r;
  };
  const outputs = logs.map((o) => ({ name: o.name, value: at(o.value) }));
  const grads: Record<string, string> = {};
  for (const o of p.graph.outputs.filter((x) => isGrad(x.name))) {
    const value = at(o.value);
    outputs.push({ name: o.name, value });
    outputs.push({ name: `${REDUCED}${o.name}`, value: reducedInput(next, o.name, value) });
    exchange.push({ output: o.name, input: `${REDUCED}${o.name}` });
    grads[o.name.slice('grad/'.length)] = `${REDUCED}${o.name}`;
  }
  const updates = [...summed.graph.updates];
  for (const u of modelUpdates) {
    const value = at(u.value);
    outputs.push({ name: `${STATE_OUT}${u.weight}`, value });
    updates.push({ weight: u.weight, value: reducedInput(next, u.weight, value) });
    exchange.push({ output: `${STATE_OUT}${u.weight}`, input: `${REDUCED}${u.weight}` });
  }
  p = { graph: next.build(outputs, updates), weights: summed.weights };
  p = applyOptimizer(p, { optimizer: config.optimizer, grads, lossScale: lossScaleOf(config) });
  p = runPipeline(p, fusionPasses(updatePhase), ctx, { check });
  const ordered = orderPhases(p, exchange);
  return { ...ordered, exchange, metrics: objective.metrics, trainable: objective.trainable };
}

/** The nodes of the update phase: those that depend on a `__reduced/` input (an averaged value). */
function updateNodes(graph: Graph): Set<number> {
  const late = new Set<number>();
  for (const n of graph.nodes) {
    if ((n.op === 'input' && String(n.attrs.name).startsWith(REDUCED)) || n.inputs.some((r) => late.has(r.node))) late.add(n.id);
  }
  return late;
}

/** Scalar work is fused within a phase, never across: the host reads the gradient phase's values before the update phase runs. */
const updatePhase: PhaseOf = (graph) => {
  const late = updateNodes(graph);
  return (n) => (late.has(n.id) ? 'update' : 'gradients');
};

/**
 * Moves every node that depends on a `__reduced/` input after all that do not (a stable partition,
 * so the order stays topological); the values the host reads between the phases must come first.
 */
export function orderPhases(program: Program, exchange: readonly Exchange[]): { program: Program; updateStart: number } {
  const { graph } = program;
  const late = updateNodes(graph);
  const order: Node[] = [...graph.nodes.filter((n) => !late.has(n.id)), ...graph.nodes.filter((n) => late.has(n.id))];
  const b = new GraphBuilder();
  const map = new Map<number, number>();
  for (const n of order) map.set(n.id, b.copy(n, n.inputs.map((r) => ({ node: map.get(r.node)!, output: r.output })))[0].node);
  const remap = (r: ValueRef) => ({ node: map.get(r.node)!, output: r.output });
  for (const e of exchange) {
    const o = graph.outputs.find((x) => x.name === e.output);
    if (!o || late.has(o.value.node)) throw new ModelError(`data-parallel step: '${e.output}' must be computed before the update phase, but ${o ? 'it depends on averaged values' : 'it is not an output'}`, { output: e.output });
  }
  const built = b.build(graph.outputs.map((o) => ({ ...o, value: remap(o.value) })), graph.updates.map((u) => ({ ...u, value: remap(u.value) })));
  return { program: { graph: built, weights: program.weights }, updateStart: graph.nodes.length - late.size };
}
