import { Command, InvalidArgumentError, Option } from 'commander';
import { compileBundle } from '../codegen/compile.js';
import { interpretModel } from '../frontend/run.js';
import type { Model } from '../frontend/model.js';
import { formatShape } from '../ir/errors.js';
import { interpret } from '../ir/interpreter.js';
import type { NDArray } from '../ir/ndarray.js';
import { callBatch, callSignature, type Bundle, type Manifest } from '../runtime/format.js';
import { readBundle } from '../runtime/load.js';
import { bundleGraph, bundleWeights, isBundleKind, pathKind } from './bundle-files.js';
import { checkOutputs, DEFAULT_TOLERANCE, type Tolerance } from './check.js';
import { fmtMs, kernelCount, microNote } from './describe.js';
import { CliError } from './errors.js';
import { openGpu, runOnce } from './gpu.js';
import { loadModel } from './load-model.js';
import { EXPORT_HELP, intOption } from './options.js';
import { graphIntBound, intBound, outputLines, randomFeeds, randomInputs, type RandomInput } from './random-input.js';

interface RunOptions {
  export?: string;
  interpret?: boolean;
  randomInput?: boolean;
  batch?: number;
  seed: number;
  training?: boolean;
  precision: 'float32' | 'float64';
  check?: boolean;
  poison?: boolean;
  rtol: number;
  atol: number;
}

/** The batch `kiln run <model.ts>` uses when --batch is not given. */
const DEFAULT_BATCH = 2;

function positiveNumber(value: string): number {
  const x = Number(value);
  if (!Number.isFinite(x) || x < 0 || value.trim() === '') throw new InvalidArgumentError(`expected a number ≥ 0, got '${value}'`);
  return x;
}

const log = (line: string) => console.log(line);

/**
 * `kiln run <bundle|model.ts> --random-input`: one run on seeded random inputs, printed as shapes and
 * checksums. A bundle runs on the GPU; a model file is compiled in memory and run on the GPU, or runs
 * on the reference interpreter with --interpret. --check compares the GPU with the interpreter.
 */
export function runCommand(): Command {
  return new Command('run')
    .description("run a compiled bundle (or a model file, compiled in memory) on the GPU on seeded random inputs, and print each output's shape, dtype and a checksum")
    .argument('<bundle|model.ts>', 'a bundle written by `kiln compile` (folder or single file), or a TypeScript file that exports a Model')
    .option('-e, --export <name>', EXPORT_HELP)
    .option('--random-input', 'feed seeded random inputs (floats uniform in [-1, 1), never 0; small ints for int32 inputs)')
    .option('-s, --seed <n>', 'seed of the random inputs', intOption(0), 0)
    .option('-b, --batch <n>', `batch size for a model file (default ${DEFAULT_BATCH}); a bundle runs the batch it was compiled for`, intOption(1, 1 << 20))
    .option('--check', 'also run the reference interpreter (float64) and compare every output: PASS, or FAIL with exit status 1 (implies --poison)')
    .option('--poison', 'fill the GPU arena with NaN before running, so anything a kernel leaves unwritten shows')
    .option('--rtol <x>', 'relative tolerance of --check', positiveNumber, DEFAULT_TOLERANCE.rtol)
    .option('--atol <x>', 'absolute tolerance of --check', positiveNumber, DEFAULT_TOLERANCE.atol)
    .option('--interpret', 'run on the reference interpreter (plain TypeScript) instead of the GPU')
    .option('--training', 'with --interpret: run in the training phase (Dropout drops, BatchNorm uses batch statistics)')
    .addOption(new Option('--precision <p>', 'interpreter float precision, with --interpret').choices(['float32', 'float64']).default('float64'))
    .action(async (target: string, opts: RunOptions) => {
      if (!opts.randomInput) throw new CliError('run needs --random-input: feeding inputs from files is not supported yet');
      if (opts.training && !opts.interpret) throw new CliError('--training runs on the reference interpreter only (kiln compiles inference until training lands): add --interpret');
      const kind = pathKind(target);
      if (isBundleKind(kind)) await runBundle(target, opts);
      else if (kind === 'folder' || kind === 'empty-folder') throw new CliError(`${target} is a folder but not a kiln bundle (no manifest.json); give a bundle written by \`kiln compile\`, or a model file`, { file: target });
      else {
        const loaded = await loadModel(target, opts.export);
        if (opts.interpret) runInterpreter(loaded.model, `export '${loaded.exportName}' of ${target}`, opts);
        else await runModelOnGpu(loaded.model, `export '${loaded.exportName}' of ${target}`, opts);
      }
    });
}

/** `kiln run <model.ts> --interpret`: the reference interpreter only. */
function runInterpreter(model: Model, from: string, opts: RunOptions): void {
  if (opts.check) throw new CliError('--check compares the GPU with the interpreter; with --interpret there is no GPU run to check (drop --interpret)');
  const inputs = randomInputs(model, { batch: opts.batch ?? DEFAULT_BATCH, seed: opts.seed });
  const phase = opts.training ? 'training' : 'inference';
  log(`model '${model.name}' (${from}) on the reference interpreter: ${phase}, ${opts.precision}, seed ${opts.seed}`);
  printInputs(inputs);
  const t0 = performance.now();
  const result = interpretModel(model, inputs.map((x) => x.value), { training: opts.training, precision: opts.precision });
  const ms = performance.now() - t0;
  for (const [name, value] of Object.entries(result.outputs)) outputLines(name, value).forEach(log);
  const updates = Object.keys(result.updates);
  if (updates.length) log(`updates (applied by a training step, not here): ${updates.join(', ')}`);
  log(`interpreted in ${ms.toFixed(1)} ms`);
}

/** `kiln run <model.ts>`: compile in memory for the batch, run on the GPU, optionally check against the interpreter on the model. */
async function runModelOnGpu(model: Model, from: string, opts: RunOptions): Promise<void> {
  const batch = opts.batch ?? DEFAULT_BATCH;
  const compiled = compileBundle(model, { batch });
  const m = compiled.bundle.manifest;
  log(`model '${model.name}' (${from}) compiled in memory for batch ${batch}: ${kernelCount(m)} in ${fmtMs(compiled.millis)}`);
  const inputs = randomFeeds(m.model.inputs.map((s) => callSignature(m, s)), { seed: opts.seed, intBound: intBound(model) });
  await runOnGpu(compiled.bundle, inputs, opts, () => interpretModel(model, inputs.map((x) => x.value)).outputs);
}

/** The bundle's graph (shaped for one run of its steps) interpreted once per micro-batch, outputs joined in order. */
function interpretRuns(graph: ReturnType<typeof bundleGraph>, m: Manifest, inputs: readonly RandomInput[], weights: ReturnType<typeof bundleWeights>, precision: 'float32' | 'float64'): Record<string, NDArray> {
  const k = m.model.microBatches ?? 1;
  const slice = (x: NDArray, r: number) => {
    const n = x.data.length / k;
    return { ...x, shape: [x.shape[0] / k, ...x.shape.slice(1)], data: x.data.subarray(r * n, (r + 1) * n) } as NDArray;
  };
  const runs = Array.from({ length: k }, (_, r) => interpret(graph, Object.fromEntries(inputs.map((x) => [x.name, slice(x.value, r)])), { weights, precision }).outputs);
  return Object.fromEntries(Object.keys(runs[0]).map((name) => {
    const parts = runs.map((o) => o[name]);
    const data = new (parts[0].data.constructor as new (n: number) => NDArray['data'])(parts.reduce((a, p) => a + p.data.length, 0));
    parts.reduce((at, p) => (data.set(p.data as never, at), at + p.data.length), 0);
    return [name, { ...parts[0], shape: [parts[0].shape[0] * k, ...parts[0].shape.slice(1)], data } as NDArray];
  }));
}

/** `kiln run <bundle>`: load it, run on the GPU, optionally check against the interpreter on its graph.json and weights. */
async function runBundle(path: string, opts: RunOptions): Promise<void> {
  if (opts.export !== undefined) throw new CliError('--export picks a model in a model file; a bundle holds one model');
  const bundle = await readBundle(path);
  const m = bundle.manifest;
  if (opts.batch !== undefined && opts.batch !== callBatch(m)) {
    throw new CliError(`${path} was compiled for batch ${callBatch(m)}, not ${opts.batch}: compile the model again with --batch ${opts.batch}`, { file: path });
  }
  const graph = () => bundleGraph(bundle, path);
  const hasGraph = !!m.graph && bundle.files.has(m.graph.file);
  const inputs = randomFeeds(m.model.inputs.map((s) => callSignature(m, s)), { seed: opts.seed, intBound: hasGraph ? graphIntBound(graph()) : undefined });
  const reference = (precision: 'float32' | 'float64' = 'float64') => interpretRuns(graph(), m, inputs, bundleWeights(bundle), precision);
  if (opts.interpret) {
    if (opts.check) throw new CliError('--check compares the GPU with the interpreter; with --interpret there is no GPU run to check (drop --interpret)');
    log(`bundle ${path}: model '${m.model.name}', batch ${callBatch(m)}, on the reference interpreter (its graph.json): ${opts.precision}, seed ${opts.seed}`);
    printInputs(inputs);
    const t0 = performance.now();
    const outputs = reference(opts.precision);
    const ms = performance.now() - t0;
    for (const [name, value] of Object.entries(outputs)) outputLines(name, value).forEach(log);
    log(`interpreted in ${ms.toFixed(1)} ms`);
    return;
  }
  log(`bundle ${path}: model '${m.model.name}', batch ${callBatch(m)}${microNote(m)}, ${kernelCount(m)}`);
  await runOnGpu(bundle, inputs, opts, reference);
}

/** The GPU run both paths share: adapter, inputs, one predict, outputs, then the check. */
async function runOnGpu(bundle: Bundle, inputs: RandomInput[], opts: RunOptions, reference: () => Record<string, NDArray>): Promise<void> {
  const gpu = await openGpu(log);
  try {
    const poison = opts.poison || opts.check;
    log(`seed ${opts.seed}${poison ? ', arena poisoned with NaN before the run' : ''}`);
    printInputs(inputs);
    const run = await runOnce(bundle, gpu, inputs, { poison });
    for (const [name, value] of Object.entries(run.outputs)) outputLines(name, value).forEach(log);
    log(`ran on the GPU in ${fmtMs(run.predictMs)} (one submit; loading the pipelines took ${fmtMs(run.setupMs)})`);
    if (opts.check) {
      const tol: Tolerance = { rtol: opts.rtol, atol: opts.atol };
      checkOutputs(Object.fromEntries(Object.entries(run.outputs).map(([k, v]) => [k, v.data])), reference(), tol, log);
    }
  } finally {
    gpu.device.destroy();
  }
}

function printInputs(inputs: readonly RandomInput[]): void {
  for (const x of inputs) log(`input  '${x.name}': ${formatShape(x.value.shape)} ${x.value.dtype}, ${x.how}`);
}
