/**
 * Compiling for several devices: replicas (the batch split over devices that each hold the weights)
 * and placement (device scopes: parts of the graph on different devices, run in order).
 */
import type { Model } from '../frontend/model.js';
import { ModelError } from '../ir/errors.js';
import { inference, runPipeline } from '../passes/pipelines.js';
import { hasPlacement, placeGraph } from '../passes/place.js';
import { buildBundle } from './bundle.js';
import { compileBundle, type CompileOptions } from './compile.js';
import { profileForAdapter } from './profile.js';
import { loadCachedTuning, withTuning } from './tuning.js';
import { Net } from '../runtime/net.js';
import type { GpuContext } from '../runtime/gpu.js';
import { openAdapters, type DeviceCount } from '../runtime/adapters.js';
import { ReplicatedNet, replicaCount } from '../runtime/replicas.js';
import { PlacedNet } from '../runtime/placed.js';

/** Options of compiling for several devices. */
export interface DeviceOptions {
  /**
   * Replicas (data parallel): `batch` is the whole batch, split evenly over n devices (one per
   * adapter with 'all'); each replica's bundle is compiled for batch / n. One replica is the ordinary Net.
   */
  replicas?: DeviceCount;
  /** Already open devices: the replicas' (with `replicas`), else gpu:0, gpu:1, … of device scopes; 'all': every adapter. */
  devices?: readonly GpuContext[] | 'all';
  /** Where warnings go (soft placement, devices sharing an adapter); default console.warn. */
  warn?: (message: string) => void;
}

/** A model with device scopes compiled for one device runs whole on it: says so, and how to place it. */
export function warnUnplaced(model: Model, warn: (message: string) => void = console.warn): void {
  const graph = model.toGraph();
  if (!hasPlacement(graph)) return;
  const scopes = [...new Set(graph.nodes.map((n) => n.device).filter((d) => d && d !== 'gpu:0'))].join(', ');
  warn(`kiln: soft placement: model '${model.name}' has nodes on ${scopes}, compiled for one device: everything runs on gpu:0 (compile with { devices: 'all' } to place them on the adapters)`);
}

/** Compiles a model for replicas or for its device scopes, and loads it. */
export async function compileOnDevices(model: Model, options: CompileOptions & DeviceOptions): Promise<Net | ReplicatedNet | PlacedNet> {
  const { replicas, devices, warn, ...compileOptions } = options;
  const given = devices === 'all' ? undefined : devices;
  if (replicas !== undefined) {
    if (hasPlacement(model.toGraph())) throw new ModelError(`model '${model.name}' has device scopes, and replicas were asked for: use one or the other (replicas copy the whole model to every device)`, { model: model.name });
    const n = await replicaCount({ replicas, devices: given, warn });
    const batch = compileOptions.batch ?? n;
    if (!Number.isInteger(batch) || batch % n !== 0) throw new ModelError(`batch ${batch} does not split evenly over ${n} replicas: use a multiple of ${n}`, { model: model.name });
    const opened = given ?? (await openAdapters(n, { warn }));
    const bundle = compileBundle(model, { profile: profileForAdapter(opened[0].adapter), tuning: loadCachedTuning(opened[0].adapter), ...compileOptions, batch: batch / n }).bundle;
    if (n === 1) return Net.create(bundle, opened[0]);
    return ReplicatedNet.create(bundle, opened, { ownDevices: !given });
  }
  const opened = given ?? (await openAdapters('all', { warn }));
  const batch = compileOptions.batch ?? 1;
  const program = runPipeline({ graph: model.toGraph(), weights: model.weightValues() }, inference, { phase: 'inference', batch }, { check: compileOptions.check, onPass: compileOptions.onPass });
  const placement = placeGraph(program, { devices: opened.length, warn });
  const adapterProfile = compileOptions.profile ?? profileForAdapter(opened[0].adapter);
  const profile = compileOptions.precision ? { ...adapterProfile, precision: compileOptions.precision } : adapterProfile;
  const tuning = compileOptions.tuning ?? loadCachedTuning(opened[0].adapter);
  const parts = placement.parts.map((p, i) => ({
    bundle: withTuning(tuning, () => buildBundle(p.program.graph, p.program.weights, placement.parts.length > 1 ? `${model.name}/part${i}` : model.name, batch, { profile })).bundle,
    device: p.device,
  }));
  if (parts.length === 1) return Net.create(parts[0].bundle, opened[parts[0].device]);
  return PlacedNet.create(parts, opened, { outputs: program.graph.outputs.map((o) => o.name), ownDevices: !given });
}
