// Scaling from one GPU to several: predict and the training step of the bench models (samples/mlp,
// cnn, resnet) at one whole batch (default 4096), with 1 and 2 replicas, each replica on its own
// adapter (opened through Mesa's device-select layer, see README "Several GPUs"). A training step
// whose arena would pass the device's storage buffer limit runs in micro-batches (gradients summed
// on the host, one update per whole batch; src/training/micro-batch.ts), so the resnet trains at 4096
// too; one replica is the single-submit step when its whole batch fits. While it runs,
// `nvidia-smi --query-gpu=index,utilization.gpu,memory.used` is sampled in the background, and each
// sample is tagged with the run it fell in, so the table shows that every GPU of a run worked.
// Usage (on the GPU machine: bash ../shared/device/pack.sh, carry .devpack, then):
//   . .devpack/setup.sh && node --import tsx bench/replicas.ts [--batch 4096] [--train-batch N] [--micro-batch auto|N] [--iters 10] [--models mlp,cnn,resnet] [--replicas 1,2]
// Prints a table; with $OUT set, writes $OUT/replicas.json and $OUT/nvidia-smi.csv.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { optimizers, type Model } from '../src/index.js';
import { compile } from '../src/codegen/index.js';
import { openAdapters, describeAdapters, listPciGpus, findDeviceSelectLayer, type OpenAdapter, type TensorMap } from '../src/runtime/index.js';
import { DataParallelSession, trainingSessionFor } from '../src/training/replicas.js';
import type { MicroBatch } from '../src/training/micro-batch.js';
import { resolveCompileArgs } from '../src/training/config.js';

const { values: opt } = parseArgs({
  options: {
    batch: { type: 'string', default: '4096' },
    // The training step's whole batch, when it should differ from predict's.
    'train-batch': { type: 'string' },
    // Samples per compiled micro-batch of each replica, or 'auto': the largest that fits the device.
    'micro-batch': { type: 'string', default: 'auto' },
    iters: { type: 'string', default: '10' },
    models: { type: 'string', default: 'mlp,cnn,resnet' },
    replicas: { type: 'string', default: '1,2' },
    'sample-ms': { type: 'string', default: '200' },
  },
});
const batch = Number(opt.batch);
const trainBatch = Number(opt['train-batch'] ?? opt.batch);
const microBatch: MicroBatch = opt['micro-batch'] === 'auto' ? 'auto' : Number(opt['micro-batch']);
const iters = Number(opt.iters);
const counts = opt.replicas.split(',').map(Number);

const SAMPLES: Record<string, () => Promise<Model>> = {
  mlp: async () => (await import('../samples/mlp.js')).model,
  cnn: async () => (await import('../samples/cnn.js')).model,
  resnet: async () => (await import('../samples/resnet.js')).model,
};

/** One nvidia-smi sample, tagged with the run going on when it came. */
interface GpuSample { t: number; run: string; index: number; util: number; memMiB: number }
const samples: GpuSample[] = [];
let current = 'setup';

/** Starts nvidia-smi looping every `ms` in the background; undefined where there is none. */
function sampleGpus(ms: number): ChildProcess | undefined {
  const child = spawn('nvidia-smi', ['--query-gpu=index,utilization.gpu,memory.used', '--format=csv,noheader,nounits', `--loop-ms=${ms}`], { stdio: ['ignore', 'pipe', 'ignore'] });
  let ok = true;
  child.on('error', () => (ok = false));
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      const [index, util, mem] = line.split(',').map((s) => Number(s.trim()));
      if (Number.isFinite(index)) samples.push({ t: Date.now(), run: current, index, util, memMiB: mem });
    }
  });
  return ok ? child : undefined;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fill = (n: number, seed: number) => {
  let s = seed;
  return new Float32Array(n).map(() => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
};
const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Times `fn` `iters` times after 3 untimed warm-ups; the median in ms. */
async function time(fn: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < iters + 3; i++) {
    const t = performance.now();
    await fn();
    if (i >= 3) ms.push(performance.now() - t);
  }
  return median(ms);
}

interface Row {
  model: string;
  replicas: number;
  predictMs?: number;
  trainStepMs?: number;
  trainPipelinedMs?: number;
  /** Samples per compiled micro-batch and micro-batches per replica per step (1: the whole slice at once). */
  microBatch?: number;
  microBatches?: number;
  error?: string;
  /** Mean utilization (%) and peak memory (MiB) per GPU index while this run's predict and train ran. */
  gpus?: Record<number, { util: number; memMiB: number }>;
}

async function runOne(name: string, n: number, devices: OpenAdapter[]): Promise<Row> {
  const row: Row = { model: name, replicas: n };
  const use = devices.slice(0, n);
  current = `${name} x${n}`;
  const model = await SAMPLES[name]();
  const net = await compile(model, { batch, replicas: n, devices: use });
  const inputs = Object.fromEntries(net.inputs.map((s, k) => [s.name, fill(numel(s.shape), 7 + k)]));
  row.predictMs = await time(() => net.predict(inputs));
  net.destroy();

  try {
    await trainOne(row, name, n, use, net.inputs.map((s) => ({ name: s.name, perSample: numel(s.shape) / batch })));
  } catch (e) {
    row.error = `train step: ${(e as Error).message.split('\n')[0]}`;
  }
  return row;
}

async function trainOne(row: Row, name: string, n: number, use: OpenAdapter[], inputs: { name: string; perSample: number }[]): Promise<void> {
  const fresh = await SAMPLES[name]();
  const config = resolveCompileArgs(fresh, { optimizer: optimizers.SGD({ learningRate: 0.01 }), loss: 'categoricalCrossentropy' });
  const session = await trainingSessionFor(fresh, config, trainBatch, use, { readLoss: true, microBatch });
  [row.microBatch, row.microBatches] = session instanceof DataParallelSession ? [session.microBatch, session.microBatches] : [trainBatch, 1];
  const y = new Float32Array(trainBatch * 10).map((_, i) => (i % 10 === Math.floor(i / 10) % 10 ? 1 : 0));
  const feeds: Record<string, Float32Array> = Object.fromEntries(session.inputNames.map((k, i) => [k, i < inputs.length ? fill(inputs[i].perSample * trainBatch, 7 + i) : y]));
  // Each step reads its loss back, as the peers' train steps do.
  row.trainStepMs = await time(() => session.step(feeds) as Promise<TensorMap | unknown>);
  const t = performance.now();
  for (let i = 0; i < iters; i++) void session.step(feeds);
  await session.flush();
  row.trainPipelinedMs = (performance.now() - t) / iters;
  session.destroy();
}

// What the driver sees, next to what kiln opens below (the PCI addresses should match).
await new Promise<void>((done) => {
  const child = spawn('nvidia-smi', ['--query-gpu=index,pci.bus_id,name,memory.total', '--format=csv,noheader'], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.stdout!.on('data', (d: Buffer) => process.stdout.write(d.toString().replace(/^/gm, 'nvidia-smi: ')));
  child.on('error', () => done());
  child.on('close', () => done());
});
const gpus = await listPciGpus();
console.log(`PCI display controllers: ${gpus.map((g) => `${g.address} (${g.vendor})`).join(', ') || 'none'}`);
console.log(`device-select layer: ${(await findDeviceSelectLayer()) ?? 'not found (one adapter only)'}`);
const smi = sampleGpus(Number(opt['sample-ms']));
const devices = await openAdapters(Math.max(...counts));
for (const line of describeAdapters(devices)) console.log(`adapter ${line}`);

const rows: Row[] = [];
for (const name of opt.models.split(',')) {
  if (!SAMPLES[name]) {
    console.log(`${name}: no such bench model (have ${Object.keys(SAMPLES).join(', ')})`);
    continue;
  }
  for (const n of counts) {
    let row: Row;
    try {
      row = await runOne(name, n, devices);
    } catch (e) {
      row = { model: name, replicas: n, error: (e as Error).message.split('\n')[0] };
    }
    current = 'idle';
    // Let the last samples of the run arrive before summarizing them.
    await new Promise((r) => setTimeout(r, Number(opt['sample-ms']) * 2));
    const mine = samples.filter((s) => s.run === `${name} x${n}`);
    row.gpus = {};
    for (const index of [...new Set(mine.map((s) => s.index))]) {
      const of = mine.filter((s) => s.index === index);
      row.gpus[index] = { util: of.reduce((a, s) => a + s.util, 0) / of.length, memMiB: Math.max(...of.map((s) => s.memMiB)) };
    }
    rows.push(row);
    const one = rows.find((r) => r.model === name && r.replicas === 1);
    const scale = (k: 'predictMs' | 'trainStepMs' | 'trainPipelinedMs') => (one?.[k] && row[k] ? ` (${(one[k]! / row[k]!).toFixed(2)}x)` : '');
    const g = Object.entries(row.gpus).map(([i, v]) => `gpu${i} ${v.util.toFixed(0)}% ${v.memMiB}MiB`).join(', ');
    const ms = (k: 'predictMs' | 'trainStepMs' | 'trainPipelinedMs') => (row[k] === undefined ? '-' : `${row[k]!.toFixed(2)}${scale(k)}`);
    const micro = row.microBatch ? ` micro_batch=${row.microBatch}×${row.microBatches}` : '';
    console.log(`${name} replicas=${n} batch=${batch} train_batch=${trainBatch}${micro} predict_ms=${ms('predictMs')} train_step_ms=${ms('trainStepMs')} train_pipelined_ms=${ms('trainPipelinedMs')}${g ? ` | ${g}` : ''}${row.error ? ` | error: ${row.error}` : ''}`);
  }
}
smi?.kill();
for (const d of devices) d.device.destroy();

// The table: throughput in samples/s and the scaling over one replica.
const perSec = (ms: number | undefined, b = batch) => (ms ? ((b / ms) * 1000).toFixed(0) : '-');
console.log(`\npredict at batch ${batch}, train step at batch ${trainBatch} (whole batch, split over the replicas; micro-batch: samples × micro-batches per replica per step)`);
console.log(`\n| model | replicas | predict samples/s | scaling | micro-batch | train step samples/s | scaling | train (pipelined) samples/s | scaling |`);
console.log(`| --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
for (const r of rows) {
  const one = rows.find((x) => x.model === r.model && x.replicas === 1);
  const s = (k: 'predictMs' | 'trainStepMs' | 'trainPipelinedMs') => (one?.[k] && r[k] ? `${(one[k]! / r[k]!).toFixed(2)}×` : '-');
  const micro = r.microBatch ? `${r.microBatch} × ${r.microBatches}` : '-';
  console.log(`| ${r.model} | ${r.replicas} | ${perSec(r.predictMs)} | ${s('predictMs')} | ${micro} | ${perSec(r.trainStepMs, trainBatch)} | ${s('trainStepMs')} | ${perSec(r.trainPipelinedMs, trainBatch)} | ${s('trainPipelinedMs')} |${r.error ? ` error: ${r.error}` : ''}`);
}

if (process.env.OUT) {
  mkdirSync(process.env.OUT, { recursive: true });
  const adapters = devices.map((d, i) => ({ gpu: i, pci: d.pci ?? null, description: d.adapter.description, vendor: d.adapter.vendor }));
  writeFileSync(`${process.env.OUT}/replicas.json`, JSON.stringify({ batch, trainBatch, microBatch, iters, adapters, rows }, null, 1));
  writeFileSync(`${process.env.OUT}/nvidia-smi.csv`, ['t_ms,run,index,utilization_gpu,memory_used_mib', ...samples.map((s) => `${s.t},${s.run},${s.index},${s.util},${s.memMiB}`)].join('\n'));
  console.log(`wrote ${process.env.OUT}/replicas.json and nvidia-smi.csv (${samples.length} samples)`);
}
