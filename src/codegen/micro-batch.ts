import { LEARNING_PHASE, type Graph, type Node, type TensorType } from '../ir/types.js';
import { ModelError } from '../ir/errors.js';

/** How a predict bundle runs its batch: 'auto' (the rule below decides), or the samples of one micro-batch. */
export type PredictMicroBatch = number | 'auto';

/**
 * When `compile` runs a predict in micro-batches on its own, and how large they are. A micro-batch's host
 * copy into staging then overlaps the GPU's copy and kernels of the one before, and copies of a few MiB
 * run faster than one of tens (6–12 GB/s, BENCHMARKS.md); each extra run costs smaller GEMMs, which
 * shows when the input is already on the GPU. Measured on the H100, each variant alternating call by
 * call in one process (`bench/micro-ab.ts`, `…-session19-micro-ab-{1,2,mixed}.log`), at batch 4096:
 * - the bench ResNet (9,400 GEMM FLOPs an input byte, 48 MiB): from the host 23.0–23.3 ms in one run,
 *   17.2 as 4 × 1024, 16.9 as 8 × 512; from the GPU 13.8, 14.2, 14.9. Mixed: 15.4–15.6, 10.9–11.4,
 *   10.2–10.4; from the GPU 6.4, 6.8, 7.5. f16 kernels take half the time, so smaller micro-batches
 *   hide more of the upload;
 * - the mlp (430, 12.25 MiB), cnn (160) and LSTM (96, 20 MiB), float32 and mixed, against one run: as
 *   2 × 2048 3–25% faster from the host, and from the GPU 8% faster to 18% slower; as 4 × 1024 9–20%
 *   faster from the host and 22–52% slower from the GPU;
 * - at batch 2048 the LSTM (10 MiB) gained 4% from the host as 2 × 1024 and lost 5% from the GPU; at
 *   batch 256 every cut of the ResNet lost (`…-micro-sweep.log`).
 */
export const MICRO_BATCH_RULE = {
  /** Host input bytes of a call below which one batch stays one run. */
  minCallInputBytes: 8 * 2 ** 20,
  /** GEMM FLOPs per input byte from which a model's kernels hide most of its upload (the ResNet's side of the data above). */
  heavyFlopsPerInputByte: 2000,
  /** Input bytes a micro-batch aims at: light models, and heavy ones by their GEMMs' arithmetic. */
  targetInputBytes: { light: 12 * 2 ** 20, heavy: { f32: 12 * 2 ** 20, f16: 6 * 2 ** 20, mma: 6 * 2 ** 20 } },
} as const;

const numel = (t: TensorType) => t.shape.reduce<number>((a, d) => a * (d ?? 1), 1);

/** The graph's data inputs: the learning phase is folded into a constant before any bundle sees it. */
const dataInputs = (graph: Graph) => graph.nodes.filter((n) => n.op === 'input' && n.attrs.name !== LEARNING_PHASE);

/** FLOPs of one node per sample (the batch dimension counted as 1), by op: GEMM-like ops only, the rest are memory-bound. */
const FLOPS: Record<string, (node: Node, input: (i: number) => TensorType) => number> = {
  matmul: (n, input) => {
    const a = input(0).shape;
    const k = n.attrs.transposeA === true ? a[a.length - 2] : a[a.length - 1];
    return 2 * numel(n.outputs[0]) * (k ?? 1);
  },
  conv2d: (n, input) => {
    const [kh, kw, cin] = input(1).shape;
    return 2 * numel(n.outputs[0]) * (kh ?? 1) * (kw ?? 1) * (cin ?? 1);
  },
  depthwiseConv2d: (n, input) => {
    const [kh, kw] = input(1).shape;
    return 2 * numel(n.outputs[0]) * (kh ?? 1) * (kw ?? 1);
  },
  rnnSequence: (_n, input) => {
    const [, t, f] = input(0).shape;
    const [u, cols] = input(2).shape;
    return 2 * (t ?? 1) * ((f ?? 1) + (u ?? 1)) * (cols ?? 1);
  },
};

/** The model's GEMM FLOPs and host input bytes per sample, from its graph before the batch is bound. */
export function perSampleCost(graph: Graph): { flops: number; inputBytes: number } {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  let flops = 0;
  let inputBytes = 0;
  for (const n of dataInputs(graph)) inputBytes += 4 * numel(n.outputs[0]);
  for (const n of graph.nodes) {
    const rule = FLOPS[n.op];
    if (rule) flops += rule(n, (i) => byId.get(n.inputs[i].node)!.outputs[n.inputs[i].output]);
  }
  return { flops, inputBytes };
}

/** Whether every input and output has the batch as its first dimension, so a call can be cut into micro-batches. */
function batchMajor(graph: Graph): boolean {
  const inputs = dataInputs(graph).map((n) => n.outputs[0]);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const outputs = graph.outputs.map((o) => byId.get(o.value.node)!.outputs[o.value.output]);
  return [...inputs, ...outputs].every((t) => t.shape.length > 0 && t.shape[0] === null);
}

/**
 * The samples of one micro-batch of a predict of `batch` (the batch itself: one run). A number must
 * divide the batch. 'auto' applies MICRO_BATCH_RULE for GEMMs in `gemms`' arithmetic, and never cuts a model that carries state between
 * calls or whose inputs and outputs are not all batch-major.
 */
export function chooseMicroBatch(graph: Graph, batch: number, wanted: PredictMicroBatch = 'auto', gemms: 'f32' | 'f16' | 'mma' = 'f32'): number {
  if (wanted !== 'auto') {
    if (!Number.isInteger(wanted) || wanted < 1 || batch % wanted !== 0) throw new ModelError(`microBatch must be a whole number of samples that divides the batch ${batch}, got ${wanted}`, { microBatch: wanted, batch });
    if (wanted < batch && graph.updates.some((u) => u.inference)) throw new ModelError(`this model carries state from call to call (a stateful layer), so it runs its batch of ${batch} whole; got microBatch ${wanted}`, { microBatch: wanted });
    if (wanted < batch && !batchMajor(graph)) throw new ModelError(`microBatch ${wanted} needs every input and output to have the batch first`, { microBatch: wanted });
    return wanted;
  }
  if (graph.updates.some((u) => u.inference) || !batchMajor(graph)) return batch;
  const { flops, inputBytes } = perSampleCost(graph);
  const rule = MICRO_BATCH_RULE;
  if (inputBytes === 0 || batch * inputBytes < rule.minCallInputBytes) return batch;
  const target = flops / inputBytes >= rule.heavyFlopsPerInputByte ? rule.targetInputBytes.heavy[gemms] : rule.targetInputBytes.light;
  const most = Math.max(1, Math.floor(target / inputBytes));
  let micro = Math.min(most, batch);
  while (batch % micro !== 0) micro--;
  return micro;
}
