import { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { compileBundle } from '../codegen/compile.js';
import { profileForAdapter } from '../codegen/profile.js';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, loadFashionMnist, toUnitFloats, type FashionMnist } from '../data/fashion-mnist.js';
import type { Model } from '../frontend/model.js';
import { interpretModel } from '../frontend/run.js';
import { Net } from '../runtime/net.js';
import { optimizers } from '../frontend/index.js';
import { setGlobalSeed } from '../frontend/prng.js';
import type { LearningRate } from '../frontend/optimizers.js';
import { useTrainingDevice } from '../training/fit.js';
import { compareOutput, DEFAULT_TOLERANCE } from './check.js';
import { fmtMs, kernelCount } from './describe.js';
import { CliError } from './errors.js';
import { isSoftwareAdapter, openGpu } from './gpu.js';
import { importFile, isModel } from './load-model.js';
import { intOption } from './options.js';

/** The sample models the demo can train, by name. */
const SAMPLES: Record<string, string> = { mlp: 'samples/mlp.ts', cnn: 'samples/cnn.ts' };
const samplePath = (name: string) => fileURLToPath(new URL(`../../${SAMPLES[name]}`, import.meta.url));
/**
 * Adam's peak learning rate per sample (cosine-decayed to 0): what the same model and recipe needed in
 * PyTorch to reach the issue's accuracy in 5 epochs (bench/accuracy_torch.py; BENCHMARKS.md has the runs).
 */
const LEARNING_RATES: Record<string, number> = { mlp: 1e-3, cnn: 2e-3 };

/** Rows of the per-image table; accuracy counts every image. */
const SHOWN = 16;

/** Images the demo classifies by default on a software adapter (lavapipe): it runs kernels at CPU speed. */
const SOFTWARE_COUNT = 1000;

/** Training on a software adapter uses a subset and fewer epochs, so the demo ends in a few minutes on a CPU. */
const TRAINING = { gpu: { samples: 60_000, epochs: 5 }, software: { samples: 12_000, epochs: 3 } };

interface DemoOptions {
  count?: number;
  batch?: number;
  predictBatch: number;
  dataDir?: string;
  interpret?: boolean;
  epochs?: number;
  trainCount?: number;
  train: boolean;
  model: string;
  seed: number;
  lrSchedule: string;
  learningRate?: number;
}

const log = (line: string) => console.log(line);

/** `kiln demo`: the quick-start demo, the sample MLP compiled and run on the GPU on Fashion-MNIST test images. */
export function demoCommand(): Command {
  return new Command('demo')
    .description('quick-start demo: compile the sample MLP (samples/mlp.ts) and classify Fashion-MNIST test images on the GPU')
    .option('-n, --count <n>', `how many test images to classify (default: all on a GPU, ${SOFTWARE_COUNT} on a software adapter, 16 with --interpret)`, intOption(1, 1_000_000))
    .option('-b, --batch <n>', 'batch size compiled into the training step (default 32, as Keras; 128 on a software adapter)', intOption(1, 4096))
    .option('--predict-batch <n>', 'batch size compiled into the inference bundle', intOption(1, 4096), 256)
    .option('--data-dir <dir>', `folder with the Fashion-MNIST IDX files (default: $KILN_FASHION_MNIST_DIR or ${FASHION_MNIST_DIR})`)
    .option('--interpret', "run on kiln's reference interpreter (plain TypeScript, float64) instead of the GPU, untrained")
    .option('-e, --epochs <n>', `training epochs (default ${TRAINING.gpu.epochs} on a GPU, ${TRAINING.software.epochs} on a software adapter)`, intOption(1, 1000))
    .option('--train-count <n>', `training images (default all ${TRAINING.gpu.samples} on a GPU, ${TRAINING.software.samples} on a software adapter)`, intOption(1, 60_000))
    .option('--no-train', 'skip training: classify with the untrained weights')
    .option('--lr-schedule <name>', "Adam's learning rate: 'cosine' (decayed to 0 over the run, Keras's CosineDecay) or 'constant'", 'cosine')
    .option('--learning-rate <lr>', `Adam's (peak) learning rate (default ${Object.entries(LEARNING_RATES).map(([m, lr]) => `${lr} for ${m}`).join(', ')})`, parseFloat)
    .option('--seed <n>', 'seed of the weight initialization and of the epoch shuffles', intOption(0, 2 ** 31 - 1), 1)
    .option('-m, --model <name>', `which sample to train: ${Object.keys(SAMPLES).join(' or ')}`, 'mlp')
    .action(async (opts: DemoOptions) => {
      const data = loadFashionMnist({ split: 'test', dir: opts.dataDir, limit: opts.count ?? (opts.interpret ? 16 : undefined) });
      if (!SAMPLES[opts.model]) throw new CliError(`unknown --model '${opts.model}'; the demo trains ${Object.keys(SAMPLES).join(' or ')}`);
      // Before the sample is imported: its layers draw their initial weights from the global seed.
      setGlobalSeed(opts.seed);
      const mod = await importFile(samplePath(opts.model), SAMPLES[opts.model]);
      const model = mod.model;
      if (!isModel(model)) throw new CliError(`${SAMPLES[opts.model]} no longer exports \`model\` as a kiln Model`);
      if (opts.interpret) return interpreterDemo(model, data);
      return gpuDemo(model, data, opts);
    });
}

/** Argmax of each row of `probs` ([rows, classes]). */
function argmaxRows(probs: ArrayLike<number>, rows: number, classes: number): number[] {
  return Array.from({ length: rows }, (_, i) => {
    let best = 0;
    for (let k = 1; k < classes; k++) if (probs[i * classes + k] > probs[i * classes + best]) best = k;
    return best;
  });
}

/** Prints the per-image table (the first SHOWN rows) and the accuracy over every image. */
function report(data: FashionMnist, predicted: number[], confidence: number[], trained = false): void {
  const shown = Math.min(SHOWN, data.count);
  log(`\n${data.count} test images (28×28, scaled to [0, 1])${shown < data.count ? `, the first ${shown}:` : ':'}`);
  log(`  ${'#'.padStart(4)}  ${'label'.padEnd(12)}  ${'predicted'.padEnd(12)}  p`);
  for (let i = 0; i < shown; i++) {
    const label = data.labels[i];
    const best = predicted[i];
    log(`  ${String(i).padStart(4)}  ${FASHION_MNIST_CLASSES[label].padEnd(12)}  ${(FASHION_MNIST_CLASSES[best] ?? String(best)).padEnd(12)}  ${confidence[i].toFixed(3)}  ${best === label ? 'ok' : '--'}`);
  }
  const correct = predicted.filter((p, i) => p === data.labels[i]).length;
  const pct = ((100 * correct) / data.count).toFixed(1);
  log(`\ntest accuracy: ${correct}/${data.count} (${pct}%)${trained ? '' : '. The weights are untrained (random initialization), so this is about chance (10%)'}.`);
}

/** The demo's learning rates, by `--lr-schedule`, for a run of `steps` steps. */
const LR_SCHEDULES: Record<string, (peak: number, steps: number) => LearningRate> = {
  constant: (peak) => peak,
  cosine: (peak, steps) => optimizers.cosineDecay({ initialLearningRate: peak, decaySteps: steps }),
};

/** Trains the model on Fashion-MNIST training images (a subset on a software adapter, and says so). */
async function train(model: Model, opts: DemoOptions, software: boolean, batch: number): Promise<void> {
  const plan = software ? TRAINING.software : TRAINING.gpu;
  const samples = opts.trainCount ?? plan.samples;
  const epochs = opts.epochs ?? plan.epochs;
  const data = loadFashionMnist({ split: 'train', dir: opts.dataDir, limit: samples });
  if (software && opts.trainCount === undefined) log(`  on this software adapter the demo trains on the first ${data.count} of the 60000 training images for ${epochs} epochs (--train-count 60000 --epochs 5 for the full run)`);
  const steps = Math.floor(data.count / batch) * epochs;
  const peak = opts.learningRate ?? LEARNING_RATES[opts.model];
  if (!(peak > 0)) throw new CliError(`--learning-rate must be a positive number, got ${opts.learningRate}`);
  const learningRate = LR_SCHEDULES[opts.lrSchedule]?.(peak, steps);
  if (learningRate === undefined) throw new CliError(`unknown --lr-schedule '${opts.lrSchedule}'; known: ${Object.keys(LR_SCHEDULES).join(', ')}`);
  const lrText = typeof learningRate === 'number' ? `Adam ${peak}` : `Adam ${peak} with cosine decay to 0 over ${steps} steps`;
  log(`\ntraining on ${data.count} images, ${epochs} epoch${epochs === 1 ? '' : 's'}, batch ${batch}, ${lrText}, sparse categorical cross-entropy, seed ${opts.seed}:`);
  model.compile({ optimizer: optimizers.Adam({ learningRate }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const t0 = performance.now();
  await model.fit(toUnitFloats(data.images), Float32Array.from(data.labels), { epochs, batchSize: batch, seed: opts.seed, verbose: 1 });
  const ms = performance.now() - t0;
  log(`trained in ${fmtMs(ms)} (${steps} steps, ${(ms / steps).toFixed(1)} ms per step, compile included; one submit per step)`);
}

/** Compiles the MLP for `batch`, runs every image through it on the GPU (one submit per batch), and checks the first batch against the interpreter. */
async function gpuDemo(model: Model, all: FashionMnist, opts: DemoOptions): Promise<void> {
  const batch = opts.predictBatch;
  const defaultCount = opts.count === undefined;
  log(`kiln demo: the bench ${opts.model.toUpperCase()} from ${SAMPLES[opts.model]}, compiled to WebGPU kernels, ${opts.train ? 'trained on Fashion-MNIST, then ' : ''}classifying Fashion-MNIST test images\n`);
  model.summary(log);
  log('');
  const gpu = await openGpu(log);
  useTrainingDevice(gpu);
  try {
    const software = isSoftwareAdapter(gpu.adapter);
    if (opts.train) await train(model, opts, software, opts.batch ?? (software ? 128 : 32));
    let data = all;
    if (defaultCount && isSoftwareAdapter(gpu.adapter) && all.count > SOFTWARE_COUNT) {
      const pixels = all.rows * all.cols;
      data = { ...all, count: SOFTWARE_COUNT, images: all.images.subarray(0, SOFTWARE_COUNT * pixels), labels: all.labels.subarray(0, SOFTWARE_COUNT) };
      log(`  so the demo classifies the first ${SOFTWARE_COUNT} of the ${all.count} test images (--count ${all.count} for all of them)`);
    }
    const compiled = compileBundle(model, { batch, profile: profileForAdapter(gpu.adapter) });
    log(`compiled for batch ${batch}: ${kernelCount(compiled.bundle.manifest)} in ${fmtMs(compiled.millis)}`);
    const t0 = performance.now();
    const net = await Net.create(compiled.bundle, gpu);
    log(`pipelines ready in ${fmtMs(performance.now() - t0)}`);
    try {
      const pixels = data.rows * data.cols;
      const x = toUnitFloats(data.images);
      const input = net.inputs[0].name;
      const output = net.outputs[0];
      const classes = output.shape[1];
      const predicted: number[] = [];
      const confidence: number[] = [];
      const batches = Math.ceil(data.count / batch);
      let firstBatch: { x: Float32Array; probs: Float32Array } | undefined;
      // Drivers may finish compiling a pipeline on its first dispatch; keep that out of the timing.
      await net.predict({ [input]: new Float32Array(batch * pixels) });
      const t1 = performance.now();
      for (let b = 0; b < batches; b++) {
        const rows = Math.min(batch, data.count - b * batch);
        // The bundle runs exactly `batch` rows: the last batch is padded with blank images, their results dropped.
        const xb = new Float32Array(batch * pixels);
        xb.set(x.subarray(b * batch * pixels, (b * batch + rows) * pixels));
        const probs = (await net.predict({ [input]: xb }))[output.name];
        firstBatch ??= { x: xb, probs: probs as Float32Array };
        for (const [i, k] of argmaxRows(probs, rows, classes).entries()) {
          predicted.push(k);
          confidence.push(probs[i * classes + k]);
        }
      }
      const ms = performance.now() - t1;
      report(data, predicted, confidence, opts.train);
      const perSecond = (data.count / ms) * 1000;
      log(`Predict time (wall clock, reading each batch's results back and taking its argmax): ${fmtMs(ms)} for ${data.count} images, ${batches} batch${batches === 1 ? '' : 'es'} of ${batch} (one submit each): ${perSecond.toFixed(0)} images/s.`);
      if (firstBatch) {
        const want = interpretModel(model, { shape: [...net.inputs[0].shape], dtype: 'float32', data: firstBatch.x }).outputs[output.name];
        const c = compareOutput(output.name, firstBatch.probs, want.data, DEFAULT_TOLERANCE);
        log(`The first batch ${c.bad ? 'DIFFERS from' : 'matches'} kiln's reference interpreter (max |diff| ${c.maxAbs.toExponential(2)}; rtol ${DEFAULT_TOLERANCE.rtol}, atol ${DEFAULT_TOLERANCE.atol}).`);
        if (c.bad) throw new CliError(`the GPU's results differ from the reference interpreter in ${c.bad} of ${c.size} values: a kernel bug; please report it with \`kiln run ${SAMPLES[opts.model]} --random-input --check\``);
      }
    } finally {
      net.destroy();
    }
  } finally {
    gpu.device.destroy();
  }
}

/** The demo on the reference interpreter (`--interpret`): no GPU needed. */
function interpreterDemo(model: Model, data: FashionMnist): void {
  log('kiln demo: the bench model, classifying Fashion-MNIST test images on the reference interpreter\n');
  model.summary(log);
  const pixels = data.rows * data.cols;
  const t0 = performance.now();
  const result = interpretModel(model, [{ shape: [data.count, pixels], dtype: 'float32', data: toUnitFloats(data.images) }]);
  const ms = performance.now() - t0;
  const probs = Object.values(result.outputs)[0];
  const classes = probs.shape[1];
  const predicted = argmaxRows(probs.data, data.count, classes);
  report(data, predicted, predicted.map((k, i) => probs.data[i * classes + k]));
  log(`This ran on kiln's reference interpreter (plain TypeScript, float64) in ${fmtMs(ms)}; without --interpret it trains and runs compiled on the GPU.`);
}
