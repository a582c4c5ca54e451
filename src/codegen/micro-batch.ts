import { LEARNING_PHASE, type Graph, type Node, type TensorType } from '../ir/types.js';
import { ModelError } from '../ir/errors.js';

/** How a predict bundle runs its batch: 'auto' (the rule below decides), or the samples of one micro-batch. */
export type PredictMicroBatch = number | 'auto';

/**
 * When `compile` runs a predict in micro-batches on its own: a call's host upload is long enough to be
 * worth hiding, and the model's kernels are heavy enough, per input byte, to hide the next micro-batch's
 * upload. On the H100 the host copies 6–12 GB/s into staging while the ResNet's convs run at ~20
 * TFLOP/s, so about 2000 FLOPs per byte break even. Measured there (`…-session19-micro-sweep.log`, one
 * process each, so ±10%): the bench ResNet (9,400 FLOPs a byte) at batch 4096 took 23.2 ms from the host
 * in one run, 16.9 in 4 micro-batches and 16.7 in 8, and in mixed precision 18.1, 13.0 and 11.0; with its
 * input already on the GPU the micro-batches cost 4–16% (13.6 against 14.3 and 14.9 ms; mixed 6.5, 7.1,
 * 7.5). So float32 GEMMs, which hide the upload anyway, take the larger micro-batches (their [gpu-input]
 * row costs less), and f16 ones, whose kernels take half the time, the smaller (their host row gains
 * 15%). At batch 256 (3 MiB) every cut lost (1.46 ms whole, 1.58–1.89 cut). The mlp (430), cnn (160)
 * and LSTM (96) moved either way between runs from the host (−26% to +34%, BENCHMARKS.md) and lost
 * 29–59% as 4 × 1024 with their input on the GPU, so they stay whole.
 */
export const MICRO_BATCH_RULE = {
  /** Host input bytes of a call below which one batch stays one run. */
  minCallInputBytes: 8 * 2 ** 20,
  /** FLOPs per input byte below which the uploads, not the kernels, set the pace. */
  minFlopsPerInputByte: 2000,
  /** Input bytes a micro-batch aims at, by the GEMMs' arithmetic: enough work to fill the GPU, and a short first upload. */
  targetInputBytes: { f32: 12 * 2 ** 20, f16: 6 * 2 ** 20, mma: 6 * 2 ** 20 },
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
  if (inputBytes === 0 || batch * inputBytes < rule.minCallInputBytes || flops / inputBytes < rule.minFlopsPerInputByte) return batch;
  const most = Math.max(1, Math.floor(rule.targetInputBytes[gemms] / inputBytes));
  let micro = Math.min(most, batch);
  while (batch % micro !== 0) micro--;
  return micro;
}
