import { createHash } from 'node:crypto';
import type { Graph, Node, ValueRef } from '../ir/types.js';
import type { NDArray } from '../ir/ndarray.js';
import { nodeIndex } from '../ir/graph.js';
import { BINDING_ALIGNMENT, BUNDLE_FORMAT, BUNDLE_VERSION, type Bundle, type BundleDType, type KernelEntry, type Manifest, type Step, type WeightEntry } from '../runtime/format.js';
import type { KernelSpec, LowerContext, Operand } from './kernel.js';
import { ALIASING_OPS, SOURCE_OPS, lowerNode } from './lower/index.js';
import { planMemory } from './plan.js';
import { arenaSlots } from './arena-slots.js';
import { ArenaPlan } from './arena-layout.js';
import { numel } from './indexing.js';
import { KILN_VERSION } from './version.js';
import { arenaLayoutBytes, gemmPrecision, PROFILES, type TargetProfile } from './profile.js';
import { graphToJSON } from '../ir/json.js';
import { CodegenError } from './errors.js';

export { CodegenError };

const sha = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const align = (n: number) => Math.ceil(n / BINDING_ALIGNMENT) * BINDING_ALIGNMENT;

function bundleDType(dtype: string, what: string): BundleDType {
  if (dtype === 'float32' || dtype === 'int32' || dtype === 'bool') return dtype;
  throw new CodegenError(`${what} has dtype ${dtype}, which kiln cannot run yet`, { what });
}

/** What went into a bundle, for inspection and tests. */
export interface BundleReport {
  /** One entry per step: the kernel it runs and the node(s) it covers. */
  readonly steps: readonly { kernel: string; name: string }[];
  readonly kernels: readonly KernelSpec[];
  /** With `splitAt`: the index of the first step of the nodes from `splitAt` on (a training step's update phase). */
  readonly splitStep?: number;
}

/**
 * Lowers a compiled (specialized, fused) graph and its weights into a bundle: weights laid out in
 * weights.bin, values in one arena, each node's kernels deduplicated by the hash of their WGSL.
 */
export function buildBundle(
  graph: Graph,
  weights: ReadonlyMap<string, NDArray>,
  modelName: string,
  batch: number,
  options: { mode?: 'inference' | 'training'; profile?: TargetProfile; splitAt?: number; microBatches?: number } = {},
): { bundle: Bundle; report: BundleReport } {
  const training = options.mode === 'training';
  // State an inference bundle carries from call to call (a stateful RNN's), updated at the end of each.
  const carried = new Set(graph.updates.filter((u) => u.inference).map((u) => u.weight));
  const byId = nodeIndex(graph);
  const rootNode = (r: ValueRef): { node: Node; ref: ValueRef } => {
    let ref = r;
    let node = byId.get(ref.node)!;
    while (ALIASING_OPS.has(node.op)) {
      ref = node.inputs[0];
      node = byId.get(ref.node)!;
    }
    return { node, ref };
  };

  // Weights and constants read by kernels live in the weights buffer.
  const weightData = new Map<string, NDArray>(weights);
  const constName = (n: Node) => `__const_${n.id}`;
  for (const n of graph.nodes) {
    if (n.op !== 'constant') continue;
    const shape = n.outputs[0].shape as number[];
    const values = n.attrs.value as number[];
    const data = new Float32Array(numel(shape)).map((_, i) => values[values.length === 1 ? 0 : i]);
    weightData.set(constName(n), { shape, dtype: n.outputs[0].dtype, data: n.outputs[0].dtype === 'float32' ? data : Int32Array.from(data) });
  }
  const operand = (r: ValueRef): Operand => {
    const { node, ref } = rootNode(r);
    // Training updates weights, and inference a stateful layer's state, so those live in the (writable) arena.
    if (node.op === 'weight') return training || carried.has(node.attrs.name as string) ? { kind: 'value', ref } : { kind: 'weight', name: node.attrs.name as string };
    if (node.op === 'constant') return { kind: 'weight', name: constName(node) };
    return { kind: 'value', ref };
  };

  // Scratch ranges restart at 0 for each node; one region at the end of the arena fits the largest node's total.
  let scratchUsed = 0;
  let scratchSize = 0;
  const scratch = (bytes: number): Operand => {
    const offset = scratchUsed;
    scratchUsed = align(offset + bytes);
    scratchSize = Math.max(scratchSize, scratchUsed);
    return { kind: 'scratch', offset, size: bytes };
  };
  const profile = options.profile ?? PROFILES.gpu;
  const isState = (n: Node) => n.op === 'weight' && (training || carried.has(n.attrs.name as string));
  const stateNodes = graph.nodes.filter(isState);
  const { windowBytes, pageBytes } = arenaLayoutBytes(profile);
  const arena = new ArenaPlan(
    planMemory(graph, {
      isAlias: (n) => ALIASING_OPS.has(n.op),
      inArena: (n) => !SOURCE_OPS.has(n.op) || n.op === 'input' || isState(n),
      pinned: isState,
      keepAlive: graph.updates.map((u) => u.value),
      pageBytes,
      windowBytes,
    }),
    windowBytes,
    pageBytes,
  );
  const slotOf = (ref: ValueRef, what: string) => arena.slot(ref, what);
  const lowerAll = () => {
    scratchSize = 0;
    const layout = arena.layout;
    const ctx: LowerContext = { graph, type: (r) => byId.get(r.node)!.outputs[r.output], operand, weights: weightData, profile, scratch, ...(layout ? { arena: layout } : {}) };
    return graph.nodes.map((n) => {
      scratchUsed = 0;
      return lowerNode(n, ctx);
    });
  };
  // Lowered again when the scratch region it asked for pages the arena or moves to a page of its own.
  let perNode = lowerAll();
  while (arena.settle(scratchSize)) perNode = lowerAll();
  const used = new Set<string>();
  for (const specs of perNode) for (const s of specs) for (const b of s.operands) if (b.operand.kind === 'weight') used.add(b.operand.name);

  for (const n of stateNodes) used.add(n.attrs.name as string);
  const entries: WeightEntry[] = [];
  let wsize = 0;
  for (const name of used) {
    const w = weightData.get(name);
    if (!w) throw new CodegenError(`no value for weight '${name}'`, { weight: name });
    entries.push({ name, shape: [...w.shape], dtype: bundleDType(w.dtype, `weight '${name}'`), offset: wsize, size: 4 * w.data.length });
    wsize = align(wsize + 4 * w.data.length);
  }
  const weightBytes = new Uint8Array(wsize);
  for (const e of entries) {
    const w = weightData.get(e.name)!;
    const typed = e.dtype === 'float32' ? Float32Array.from(w.data as ArrayLike<number>) : Int32Array.from(w.data as ArrayLike<number>);
    weightBytes.set(new Uint8Array(typed.buffer), e.offset);
  }
  const weightAt = new Map(entries.map((e) => [e.name, e]));

  const arenaSize = arena.size(scratchSize);
  const paged = arena.paged;

  const kernels = new Map<string, KernelEntry>();
  const files = new Map<string, Uint8Array>();
  const steps: Step[] = [];
  const report: { kernel: string; name: string }[] = [];
  const allSpecs: KernelSpec[] = [];
  for (const spec of perNode.flat()) {
    allSpecs.push(spec);
    const hash = sha(`${spec.entryPoint}\n${spec.wgsl}`);
    const { slots, slotOf: slotIndex } = arenaSlots(spec.operands, arena.layout);
    const id = hash.slice(0, 16);
    if (!kernels.has(id)) {
      const file = `kernels/${id}.wgsl`;
      const bytes = new TextEncoder().encode(spec.wgsl);
      files.set(file, bytes);
      kernels.set(id, { id, file, sha256: sha(bytes), entryPoint: spec.entryPoint, workgroupSize: [...spec.workgroupSize] as [number, number, number], ...(slots.length > 1 ? { arenaSlots: slots.length } : {}) });
    }
    const params = spec.operands.map((b, i) => (b.operand.kind === 'weight' ? weightAt.get(b.operand.name)!.offset / 4 : arena.offsetOf(b.operand, slots[slotIndex[i]], `a value of '${spec.name}'`) / 4));
    if (spec.quads && params.some((o) => o % 4 !== 0)) throw new Error(`kernel of '${spec.name}' reads vec4s, but an operand starts at element ${params.find((o) => o % 4 !== 0)}, not a multiple of 4`);
    steps.push({ kernel: id, name: spec.name, dispatch: [...spec.dispatch] as [number, number, number], params, ...(paged ? { slots } : {}) });
    report.push({ kernel: id, name: spec.name });
  }

  const inputs = graph.nodes.filter((n) => n.op === 'input').map((n) => ({
    name: n.attrs.name as string,
    shape: n.outputs[0].shape as number[],
    dtype: bundleDType(n.outputs[0].dtype, `input '${n.attrs.name}'`),
    offset: slotOf({ node: n.id, output: 0 }, `input '${n.attrs.name}'`).offset,
  }));
  const outputs = graph.outputs.map((o) => {
    const { ref } = rootNode(o.value);
    const t = byId.get(o.value.node)!.outputs[o.value.output];
    if (operand(o.value).kind === 'weight') throw new CodegenError(`output '${o.name}' is a weight or constant, not computed; kiln bundles compute their outputs`, { output: o.name });
    return { name: o.name, shape: t.shape as number[], dtype: bundleDType(t.dtype, `output '${o.name}'`), offset: slotOf(ref, `output '${o.name}'`).offset };
  });

  const weightNodeOf = new Map(stateNodes.map((n) => [n.attrs.name as string, n]));
  const state = stateNodes.map((n) => {
    const name = n.attrs.name as string;
    const e = weightAt.get(name)!;
    return { name, shape: e.shape, dtype: e.dtype, offset: slotOf({ node: n.id, output: 0 }, `weight '${name}'`).offset, init: e.offset, size: e.size };
  });
  const copies = stateNodes.length
    ? graph.updates.flatMap((u) => {
        const target = weightNodeOf.get(u.weight);
        if (!target) throw new CodegenError(`update of '${u.weight}', which is not a weight of the graph`, { weight: u.weight });
        const from = operand(u.value);
        if (from.kind !== 'value') throw new CodegenError(`update of '${u.weight}' takes a constant value; nothing to compute`, { weight: u.weight });
        const src = slotOf(from.ref, `the new value of '${u.weight}'`);
        const dst = slotOf({ node: target.id, output: 0 }, `weight '${u.weight}'`);
        return src.offset === dst.offset ? [] : [{ from: src.offset, to: dst.offset, size: dst.size }];
      })
    : [];
  const trainingOnly = graph.updates.filter((u) => !u.inference);
  if (!training && trainingOnly.length) throw new CodegenError(`an inference bundle cannot apply training updates (${trainingOnly.map((u) => u.weight).join(', ')}); compile with mode 'training'`);
  files.set('weights.bin', weightBytes);
  const features = [...new Set(allSpecs.flatMap((k) => k.features ?? []))].sort();
  const graphBytes = new TextEncoder().encode(graphToJSON(graph));
  files.set('graph.json', graphBytes);
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    kiln: KILN_VERSION,
    mode: training ? 'training' : 'inference',
    model: { name: modelName, batch, inputs, outputs, ...((options.microBatches ?? 1) > 1 ? { microBatches: options.microBatches } : {}) },
    arena: { size: arenaSize, ...(paged ? { pageBytes, windowBytes } : {}) },
    weights: { file: 'weights.bin', size: wsize, sha256: sha(weightBytes), entries },
    kernels: [...kernels.values()],
    steps,
    ...(stateNodes.length ? { state, copies } : {}),
    graph: { file: 'graph.json', sha256: sha(graphBytes) },
    ...(features.length ? { features } : {}),
    // What the GEMMs compute in, not what was asked: a mixed request without shader-f16 builds float32.
    ...(gemmPrecision(profile) !== 'f32' ? { precision: 'mixed' as const } : {}),
  };
  files.set('manifest.json', new TextEncoder().encode(JSON.stringify(manifest, null, 1)));
  // Steps follow node order, so the nodes before `splitAt` are the steps before splitStep.
  const splitStep = options.splitAt === undefined ? undefined : perNode.slice(0, options.splitAt).reduce((a, specs) => a + specs.length, 0);
  return { bundle: { manifest, files }, report: { steps: report, kernels: allSpecs, ...(splitStep === undefined ? {} : { splitStep }) } };
}
